//! The sandboxes of one function: warm ones reused, new ones started on demand (cold
//! starts) up to the function's concurrency; an invocation beyond it waits for a sandbox,
//! as Step Functions' retries would wait out Lambda's throttling.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use copyflow_asl::LambdaError;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::protocol::InvocationHeaders;
use super::sandbox::{Launch, Sandbox};

/// The sandboxes of one function.
#[derive(Debug)]
pub(crate) struct Pool {
    launch: Launch,
    timeout: Duration,
    /// One permit per sandbox that may run.
    slots: Semaphore,
    /// Sandboxes waiting for an event.
    idle: Mutex<Vec<Sandbox>>,
    /// How many sandboxes were started (cold starts).
    cold_starts: std::sync::atomic::AtomicU64,
}

impl Pool {
    pub(crate) fn new(launch: Launch, timeout: Duration, concurrency: usize) -> Pool {
        Pool {
            launch,
            timeout,
            slots: Semaphore::new(concurrency.max(1)),
            idle: Mutex::new(Vec::new()),
            cold_starts: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The function's timeout: the invocation's budget and its deadline header.
    pub(crate) const fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The binary and its environment.
    pub(crate) fn launch(&self) -> (&std::path::Path, &[(String, String)]) {
        (&self.launch.binary, &self.launch.env)
    }

    /// Sandboxes started so far.
    pub(crate) fn cold_starts(&self) -> u64 {
        self.cold_starts.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A warm sandbox, or a new one.
    async fn sandbox(&self) -> Result<Sandbox, LambdaError> {
        loop {
            let warm = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            match warm {
                Some(s) if s.alive() => return Ok(s),
                // Died while idle (killed, crashed): dropped, try the next.
                Some(_) => continue,
                None => break,
            }
        }
        self.cold_starts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Sandbox::start(&self.launch).await
    }

    /// Runs one invocation in a sandbox of this function.
    pub(crate) async fn invoke(
        &self,
        headers: InvocationHeaders,
        body: Bytes,
    ) -> Result<Value, LambdaError> {
        let Ok(_slot) = self.slots.acquire().await else {
            return Err(LambdaError::new(
                "Lambda.ServiceException",
                "the local Lambda host is shutting down",
            ));
        };
        let sandbox = self.sandbox().await?;
        let (result, reusable) = sandbox.invoke(headers, body, self.timeout).await;
        if reusable && sandbox.alive() {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(sandbox);
        }
        result
    }

    /// Starts a sandbox and returns how long its runtime took to ask for its first event
    /// (None if it exited first); the sandbox is kept warm.
    pub(crate) async fn cold_start(&self) -> Result<Option<Duration>, LambdaError> {
        let Ok(_slot) = self.slots.acquire().await else {
            return Ok(None);
        };
        self.cold_starts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let sandbox = Sandbox::start(&self.launch).await?;
        let took = sandbox.cold_start().await;
        if took.is_some() {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(sandbox);
        }
        Ok(took)
    }

    /// Kills every idle sandbox (running ones are killed when their invocation ends or the
    /// pool is dropped with them).
    pub(crate) fn shutdown(&self) {
        self.slots.close();
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
