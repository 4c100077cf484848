//! Parallel states: every branch runs on the same effective input, concurrently; the result is
//! the array of branch outputs in branch order
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/state-parallel.html>).
//!
//! Events: `ParallelStateEntered` → `ParallelStateStarted` → the branches' events →
//! `ParallelStateSucceeded` → `ParallelStateExited`. If a branch fails the others are stopped;
//! each retry records a new `ParallelStateStarted`, and once no retrier applies
//! `ParallelStateFailed` is recorded before the catcher (→ `ParallelStateExited`) or the
//! execution failure.

use futures::future::try_join_all;
use serde_json::Value;

use super::{Entered, Halt, Runner, Step, locate, next_of};
use crate::dataflow;
use crate::history::{EventDetails, EventType};
use crate::model::ParallelState;
use crate::retry::RetryState;

impl Runner {
    pub(super) async fn run_parallel<'a>(
        &'a self,
        entered: Entered<'a>,
        parallel: &'a ParallelState,
        input: Value,
    ) -> Result<Step<'a>, Halt> {
        let state = entered.state;
        let effective = {
            let ctx = self.context(&entered, None);
            dataflow::select(&state.input_path, &input, &ctx).and_then(|effective| match &parallel
                .processing
                .parameters
            {
                Some(t) => t.eval(&self.scope(&effective, &ctx)),
                None => Ok(effective),
            })
        }
        .map_err(|f| locate(&entered, f))?;
        let mut retries = RetryState::new(parallel.retry.len());
        let mut last = entered.id;
        loop {
            let started = self.emit(EventType::ParallelStateStarted, EventDetails::None, last);
            let branches: Vec<_> = parallel
                .branches
                .iter()
                .map(|branch| self.run_machine(branch, effective.clone(), started))
                .collect();
            match try_join_all(branches).await {
                Ok(flows) => {
                    let last_branch = flows.iter().map(|f| f.last).max().unwrap_or(started);
                    let results = flows.into_iter().map(|f| f.output).collect();
                    // As for Map, both ParallelStateSucceeded and ParallelStateExited follow
                    // the last branch event.
                    self.emit(
                        EventType::ParallelStateSucceeded,
                        EventDetails::None,
                        last_branch,
                    );
                    return self.finish_result(
                        &entered,
                        &parallel.processing,
                        &input,
                        Value::Array(results),
                        None,
                        last_branch,
                        next_of(&parallel.transition),
                    );
                }
                Err(halt) => {
                    last = halt.last;
                    let recovered = self
                        .recover(
                            &entered,
                            &mut retries,
                            &parallel.retry,
                            &parallel.catch,
                            &input,
                            halt.failure,
                            last,
                            Some(EventType::ParallelStateFailed),
                        )
                        .await?;
                    if let Some(step) = recovered {
                        return Ok(step);
                    }
                }
            }
        }
    }
}
