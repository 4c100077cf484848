//! When a step must hand back control: the Lambda invocation deadline minus a safety margin.
//! A multipart copy stops starting parts once the margin is reached and returns a checkpoint
//! that the state machine feeds to the next invocation.

use std::time::{Duration, Instant};

/// The instant after which a step starts no new S3 work, so it returns a checkpoint before
/// Lambda times the invocation out (a timed-out invocation returns nothing: no checkpoint,
/// and its multipart upload is not aborted).
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    at: Option<Instant>,
    margin: Duration,
}

impl Deadline {
    /// No deadline (local runs without a budget).
    pub const fn none() -> Deadline {
        Deadline {
            at: None,
            margin: Duration::ZERO,
        }
    }

    /// Stop starting work `margin` before `at`.
    pub const fn at(at: Instant, margin: Duration) -> Deadline {
        Deadline {
            at: Some(at),
            margin,
        }
    }

    /// From a Lambda context deadline (milliseconds since the Unix epoch).
    pub fn from_epoch_millis(deadline_ms: u64, margin: Duration) -> Deadline {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
        Deadline::at(Instant::now() + left, margin)
    }

    /// True once no new work should start.
    pub fn reached(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() + self.margin >= at)
    }
}
