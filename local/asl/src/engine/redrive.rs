//! RedriveExecution: an unsuccessful execution (FAILED, TIMED_OUT or ABORTED, ended at most
//! 14 days ago) runs again under its own ARN from the top-level state it stopped in, with the
//! input that state had; the states before it are not run again and its history continues
//! with an `ExecutionRedriven` event. As on AWS, an execution that ended in a Fail state
//! re-enters that Fail state: a redrive helps where a Task failed without a Catch, or the
//! execution timed out or was stopped.
//!
//! Not modelled: only the failed branches of a Parallel or Map are run again on AWS; here the
//! whole top-level state is. The definition is the state machine's current one, not the one
//! the execution first ran with.

use std::sync::Arc;

use time::OffsetDateTime;

use super::{Engine, nanos, stored_record, write};
use crate::durable::{Checkpoint, Write};
use crate::execution::{ExecutionRecord, ExecutionStatus};
use crate::history::{EventDetails, EventType};

/// The most events an execution's history can hold (AWS: 25,000); one that has reached it
/// cannot be redriven.
pub(crate) const HISTORY_EVENT_LIMIT: u64 = 25_000;

/// Why RedriveExecution was refused (the names are the Step Functions API exceptions).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedriveError {
    /// No execution has this ARN.
    #[error("ExecutionDoesNotExist: Execution Does Not Exist: '{0}'")]
    ExecutionDoesNotExist(String),
    /// It is running or succeeded, ended too long ago, or its history is full.
    #[error("ExecutionNotRedrivable: {0}")]
    ExecutionNotRedrivable(String),
    /// The execution store could not be read.
    #[error("the execution store failed: {0}")]
    Store(String),
    /// RedriveExecution was called outside a tokio runtime.
    #[error("no tokio runtime: call redrive from within a tokio runtime")]
    NoRuntime,
}

fn not_redrivable(reason: &str) -> RedriveError {
    RedriveError::ExecutionNotRedrivable(reason.to_owned())
}

/// Reported for an execution whose end kept no resume point (recorded by an earlier version).
const NO_RESUME_POINT: &str = "Execution was started before the launch of RedriveExecution";

/// A record about to run again, where, and as which redrive.
struct Reopened {
    record: Arc<ExecutionRecord>,
    from: Checkpoint,
    count: u32,
}

impl Engine {
    /// `RedriveExecution`: runs an unsuccessful execution again from the state it stopped in.
    /// Returns the redrive date. Must be called within a tokio runtime.
    pub async fn redrive(&self, execution_arn: &str) -> Result<OffsetDateTime, RedriveError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| RedriveError::NoRuntime)?;
        if let Some(store) = &self.shared.store {
            // The end being redriven must be on disk before the record is read back.
            store
                .barrier()
                .await
                .map_err(|e| RedriveError::Store(e.to_string()))?;
        }
        let now = self.shared.clock.now();
        let reopened = match &self.shared.store {
            None => self.reopen_in_memory(execution_arn, now)?,
            Some(_) => self.reopen_stored(execution_arn, now)?,
        };
        let Reopened {
            record,
            from,
            count,
        } = reopened;
        let machine = self
            .machine(&record.state_machine_arn)
            .ok_or_else(|| not_redrivable("State machine does not exist"))?;
        record.push(
            EventType::ExecutionRedriven,
            EventDetails::ExecutionRedriven {
                redrive_count: count,
            },
            record.last_event_id(),
            now,
        );
        let input = serde_json::from_str(&record.input).unwrap_or(serde_json::Value::Null);
        self.launch(&runtime, &record, &machine, input, Some(from));
        Ok(now)
    }

    /// Without a store every record stays in memory: reopen it in place.
    fn reopen_in_memory(&self, arn: &str, now: OffsetDateTime) -> Result<Reopened, RedriveError> {
        let record = self
            .record(arn)
            .ok_or_else(|| RedriveError::ExecutionDoesNotExist(arn.to_owned()))?;
        record.describe().redrivable(now).map_err(not_redrivable)?;
        if record.last_event_id() >= HISTORY_EVENT_LIMIT {
            return Err(not_redrivable("Execution history event limit exceeded"));
        }
        let (state, input) = record
            .resume_point()
            .ok_or_else(|| not_redrivable(NO_RESUME_POINT))?;
        let count = record
            .reopen(now)
            .ok_or_else(|| not_redrivable("Execution is RUNNING and cannot be redriven"))?;
        Ok(Reopened {
            record,
            from: fresh_checkpoint(state, input),
            count,
        })
    }

    /// With a store a finished execution lives only there: read it back into a new record
    /// that continues its history.
    fn reopen_stored(&self, arn: &str, now: OffsetDateTime) -> Result<Reopened, RedriveError> {
        let store = self.shared.store.clone().ok_or(RedriveError::NoRuntime)?;
        let failed = |e: crate::durable::StoreError| RedriveError::Store(e.to_string());
        let stored = store
            .execution(arn)
            .map_err(failed)?
            .ok_or_else(|| RedriveError::ExecutionDoesNotExist(arn.to_owned()))?;
        stored.description.redrivable(now).map_err(not_redrivable)?;
        let base = store.last_event_id(stored.seq).map_err(failed)?;
        if base >= HISTORY_EVENT_LIMIT {
            return Err(not_redrivable("Execution history event limit exceeded"));
        }
        let stopped_in = store
            .checkpoint(stored.seq)
            .map_err(failed)?
            .ok_or_else(|| not_redrivable(NO_RESUME_POINT))?;
        let from = fresh_checkpoint(stopped_in.state, stopped_in.input);
        let count = stored.description.redrive_count.saturating_add(1);
        let record = stored_record(&stored, base, Some(from.state.clone()), &store);
        record.set_redrives(count, Some(now));
        {
            let mut executions = write(&self.shared.executions);
            if let Some(current) = executions.by_arn.get(arn)
                && current.status() == ExecutionStatus::Running
            {
                return Err(not_redrivable(
                    "Execution is RUNNING and cannot be redriven",
                ));
            }
            executions.by_arn.insert(arn.to_owned(), record.clone());
            executions.order.insert(stored.seq, record.clone());
        }
        store.send(Write::Redrive {
            seq: stored.seq,
            redrive_count: count,
            redrive_ns: nanos(now),
            checkpoint: from.clone().into_stored(),
        });
        Ok(Reopened {
            record,
            from,
            count,
        })
    }
}

/// The state is entered anew, with fresh retry counters.
fn fresh_checkpoint(state: String, input: String) -> Checkpoint {
    Checkpoint {
        state,
        input,
        entered_id: 0,
        entered_ns: 0,
        retry: None,
    }
}
