//! Idle timeouts on client connections, so a stalled client cannot hold a connection (and a
//! half-written segment) for ever.
//!
//! Three places a client can go quiet, three guards:
//! - after connecting, before the first byte: [`first_byte`] (hyper-util's HTTP version
//!   detection would otherwise wait without limit);
//! - while sending request headers, or between keep-alive requests: hyper's
//!   `header_read_timeout` (set in the server);
//! - in the middle of a request body: [`IdleBody`], which fails the body when no frame
//!   arrives within the timeout while the server is waiting for one; the request then
//!   fails, its partial segment is removed, and the connection is closed.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// Waits until the client sent at least one byte (without consuming it); `false` when it
/// sent nothing within `timeout` or the connection closed.
pub(crate) async fn first_byte(stream: &TcpStream, timeout: Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(timeout, stream.peek(&mut byte)).await,
        Ok(Ok(n)) if n > 0
    )
}

/// Why an [`IdleBody`] failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IdleBodyError {
    #[error("request body: {0}")]
    Hyper(#[from] hyper::Error),
    #[error("request body: no data from the client for {0:?}")]
    Idle(Duration),
}

/// A request body that errors when the client sends nothing for `timeout`. Only time spent
/// waiting for the client counts: the clock starts when the server asks for the next frame
/// and none is ready, and stops when one arrives.
pub(crate) struct IdleBody {
    inner: Incoming,
    timeout: Duration,
    sleep: Pin<Box<Sleep>>,
    armed: bool,
}

impl IdleBody {
    pub(crate) fn new(inner: Incoming, timeout: Duration) -> IdleBody {
        IdleBody {
            inner,
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            armed: false,
        }
    }
}

impl Body for IdleBody {
    type Data = Bytes;
    type Error = IdleBodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, IdleBodyError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.armed = false;
                Poll::Ready(frame.map(|f| f.map_err(IdleBodyError::from)))
            }
            Poll::Pending => {
                if !this.armed {
                    this.armed = true;
                    let deadline = Instant::now() + this.timeout;
                    this.sleep.as_mut().reset(deadline);
                }
                match this.sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(IdleBodyError::Idle(this.timeout)))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
