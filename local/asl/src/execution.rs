//! One execution's record: status, result and history, shared between the task running it and
//! the host reading it; plus the host-facing views of it (`DescribeExecution`- and
//! `ListExecutions`-shaped summaries, and a stream of its events).
//!
//! Shapes follow the Step Functions API reference
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html>):
//! status `RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED`, dates as epoch seconds.

use std::sync::{Mutex, MutexGuard};

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::durable::{Store, Write};
use crate::history::{EventDetails, EventType, HistoryEvent};

/// The status of an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionStatus {
    /// Still running.
    Running,
    /// Finished with an output.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Exceeded the state machine's `TimeoutSeconds`.
    TimedOut,
    /// Stopped by the host.
    Aborted,
}

impl ExecutionStatus {
    /// The API name (`RUNNING`, `SUCCEEDED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }

    /// Parse an API name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "RUNNING" => ExecutionStatus::Running,
            "SUCCEEDED" => ExecutionStatus::Succeeded,
            "FAILED" => ExecutionStatus::Failed,
            "TIMED_OUT" => ExecutionStatus::TimedOut,
            "ABORTED" => ExecutionStatus::Aborted,
            _ => return None,
        })
    }
}

/// A `DescribeExecution`-shaped summary.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionDescription {
    /// The execution ARN.
    pub execution_arn: String,
    /// The state machine ARN.
    pub state_machine_arn: String,
    /// The execution name.
    pub name: String,
    /// The status.
    pub status: ExecutionStatus,
    /// When it started.
    pub start_date: OffsetDateTime,
    /// When it finished.
    pub stop_date: Option<OffsetDateTime>,
    /// The input, exactly as given.
    pub input: String,
    /// The output (succeeded executions).
    pub output: Option<String>,
    /// The error name (failed, timed-out and aborted executions).
    pub error: Option<String>,
    /// The cause.
    pub cause: Option<String>,
    /// How many times it was redriven.
    pub redrive_count: u32,
    /// When it was redriven last.
    pub redrive_date: Option<OffsetDateTime>,
}

/// How long after its end an execution can be redriven (AWS: 14 days).
pub(crate) const REDRIVE_PERIOD: time::Duration = time::Duration::days(14);

fn epoch(t: OffsetDateTime) -> Value {
    json!(t.unix_timestamp_nanos() as f64 / 1e9)
}

impl ExecutionDescription {
    /// The `DescribeExecution` response body; `now` decides whether it can still be redriven.
    pub fn to_json(&self, now: OffsetDateTime) -> Value {
        let mut m = Map::new();
        m.insert("executionArn".into(), json!(self.execution_arn));
        m.insert("stateMachineArn".into(), json!(self.state_machine_arn));
        m.insert("name".into(), json!(self.name));
        m.insert("status".into(), json!(self.status.as_str()));
        m.insert("startDate".into(), epoch(self.start_date));
        if let Some(stop) = self.stop_date {
            m.insert("stopDate".into(), epoch(stop));
        }
        m.insert("input".into(), json!(self.input));
        m.insert("inputDetails".into(), json!({"included": true}));
        if let Some(output) = &self.output {
            m.insert("output".into(), json!(output));
            m.insert("outputDetails".into(), json!({"included": true}));
        }
        if let Some(error) = &self.error {
            m.insert("error".into(), json!(error));
        }
        if let Some(cause) = &self.cause {
            m.insert("cause".into(), json!(cause));
        }
        m.insert("redriveCount".into(), json!(self.redrive_count));
        if let Some(date) = self.redrive_date {
            m.insert("redriveDate".into(), epoch(date));
        }
        match self.redrivable(now) {
            Ok(()) => {
                m.insert("redriveStatus".into(), json!("REDRIVABLE"));
            }
            Err(reason) => {
                m.insert("redriveStatus".into(), json!("NOT_REDRIVABLE"));
                m.insert("redriveStatusReason".into(), json!(reason));
            }
        }
        Value::Object(m)
    }

    /// Whether RedriveExecution may restart it at `now`, or AWS's reason why not (the
    /// `redriveStatusReason` texts of DescribeExecution).
    pub fn redrivable(&self, now: OffsetDateTime) -> Result<(), &'static str> {
        match self.status {
            ExecutionStatus::Running => Err("Execution is RUNNING and cannot be redriven"),
            ExecutionStatus::Succeeded => Err("Execution is SUCCEEDED and cannot be redriven"),
            ExecutionStatus::Failed | ExecutionStatus::TimedOut | ExecutionStatus::Aborted => {
                match self.stop_date {
                    Some(stop) if now - stop > REDRIVE_PERIOD => {
                        Err("Execution redrivable period exceeded")
                    }
                    _ => Ok(()),
                }
            }
        }
    }

    /// The `ListExecutions` item for this execution.
    pub fn list_item(&self) -> Value {
        let mut m = Map::new();
        m.insert("executionArn".into(), json!(self.execution_arn));
        m.insert("stateMachineArn".into(), json!(self.state_machine_arn));
        m.insert("name".into(), json!(self.name));
        m.insert("status".into(), json!(self.status.as_str()));
        m.insert("startDate".into(), epoch(self.start_date));
        if let Some(stop) = self.stop_date {
            m.insert("stopDate".into(), epoch(stop));
        }
        m.insert("redriveCount".into(), json!(self.redrive_count));
        if let Some(date) = self.redrive_date {
            m.insert("redriveDate".into(), epoch(date));
        }
        Value::Object(m)
    }
}

struct Mutable {
    status: ExecutionStatus,
    stop_date: Option<OffsetDateTime>,
    output: Option<String>,
    error: Option<String>,
    cause: Option<String>,
    events: Vec<HistoryEvent>,
    redrive_count: u32,
    redrive_date: Option<OffsetDateTime>,
    /// The top-level state the execution is in and its input, kept here only without a store
    /// (with one, the store's checkpoint is the record): where a redrive starts.
    resume_point: Option<(String, String)>,
}

/// The shared record of one execution.
pub(crate) struct ExecutionRecord {
    pub arn: String,
    pub name: String,
    pub state_machine_arn: String,
    pub input: String,
    pub start_date: OffsetDateTime,
    /// The execution's sequence number (order of starts; the store's key).
    pub seq: u64,
    /// Events recorded by an earlier process (a resumed execution); memory holds the rest.
    pub base: u64,
    /// The state a resumed execution was in when it was recorded last.
    resumed_in: Option<String>,
    store: Option<Store>,
    state: Mutex<Mutable>,
    changed: watch::Sender<usize>,
    task: Mutex<Option<tokio::task::AbortHandle>>,
}

/// How an execution ended.
pub(crate) enum Ending {
    Succeeded {
        output: String,
    },
    Failed {
        error: Option<String>,
        cause: Option<String>,
    },
    TimedOut {
        error: Option<String>,
        cause: Option<String>,
    },
    Aborted {
        error: Option<String>,
        cause: Option<String>,
    },
}

impl ExecutionRecord {
    #[cfg(test)]
    pub(crate) fn new(
        arn: String,
        name: String,
        state_machine_arn: String,
        input: String,
        start_date: OffsetDateTime,
    ) -> Self {
        ExecutionRecord::durable(
            arn,
            name,
            state_machine_arn,
            input,
            start_date,
            (0, 0, None),
            None,
        )
    }

    /// A record whose events also go to `store`; `base` events were recorded before.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn durable(
        arn: String,
        name: String,
        state_machine_arn: String,
        input: String,
        start_date: OffsetDateTime,
        (seq, base, resumed_in): (u64, u64, Option<String>),
        store: Option<Store>,
    ) -> Self {
        ExecutionRecord {
            arn,
            name,
            state_machine_arn,
            input,
            start_date,
            seq,
            base,
            resumed_in,
            store,
            state: Mutex::new(Mutable {
                status: ExecutionStatus::Running,
                stop_date: None,
                output: None,
                error: None,
                cause: None,
                events: Vec::with_capacity(16),
                redrive_count: 0,
                redrive_date: None,
                resume_point: None,
            }),
            changed: watch::channel(0).0,
            task: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Mutable> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Append an event (ignored once the execution has ended); returns its id.
    pub(crate) fn push(
        &self,
        event_type: EventType,
        details: EventDetails,
        previous_event_id: u64,
        timestamp: OffsetDateTime,
    ) -> u64 {
        let mut s = self.lock();
        if s.status != ExecutionStatus::Running {
            return self.base + s.events.len() as u64;
        }
        let id = self.base + s.events.len() as u64 + 1;
        let event = HistoryEvent {
            id,
            previous_event_id,
            timestamp,
            event_type,
            details,
        };
        if let Some(store) = &self.store {
            store.send(Write::Event {
                seq: self.seq,
                event: event.clone(),
            });
        }
        s.events.push(event);
        let len = s.events.len();
        drop(s);
        self.changed.send_replace(len);
        id
    }

    /// The last state entered, once the execution ended.
    pub(crate) fn ended_in(&self) -> Option<String> {
        let s = self.lock();
        (s.status != ExecutionStatus::Running)
            .then(|| self.last_state(&s.events))
            .flatten()
    }

    /// The store this record writes to, if durable.
    pub(crate) fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// The name of the last state entered (copyflow: the outcome of a finished execution).
    fn last_state(&self, events: &[HistoryEvent]) -> Option<String> {
        events
            .iter()
            .rev()
            .find_map(|e| match &e.details {
                EventDetails::StateEntered { name, .. } => Some(name.clone()),
                _ => None,
            })
            .or_else(|| self.resumed_in.clone())
    }

    /// Record the end of the execution with its final event; a no-op if it already ended.
    pub(crate) fn finish(
        &self,
        ending: Ending,
        previous_event_id: Option<u64>,
        at: OffsetDateTime,
    ) -> bool {
        let mut s = self.lock();
        if s.status != ExecutionStatus::Running {
            return false;
        }
        let previous_event_id = previous_event_id.unwrap_or(self.base + s.events.len() as u64);
        let (status, event_type, details) = match ending {
            Ending::Succeeded { output } => {
                s.output = Some(output.clone());
                (
                    ExecutionStatus::Succeeded,
                    EventType::ExecutionSucceeded,
                    EventDetails::ExecutionSucceeded { output },
                )
            }
            Ending::Failed { error, cause } => {
                s.error.clone_from(&error);
                s.cause.clone_from(&cause);
                (
                    ExecutionStatus::Failed,
                    EventType::ExecutionFailed,
                    EventDetails::ExecutionFailed { error, cause },
                )
            }
            Ending::TimedOut { error, cause } => {
                s.error.clone_from(&error);
                s.cause.clone_from(&cause);
                (
                    ExecutionStatus::TimedOut,
                    EventType::ExecutionTimedOut,
                    EventDetails::ExecutionFailed { error, cause },
                )
            }
            Ending::Aborted { error, cause } => {
                s.error.clone_from(&error);
                s.cause.clone_from(&cause);
                (
                    ExecutionStatus::Aborted,
                    EventType::ExecutionAborted,
                    EventDetails::ExecutionFailed { error, cause },
                )
            }
        };
        let id = self.base + s.events.len() as u64 + 1;
        let event = HistoryEvent {
            id,
            previous_event_id,
            timestamp: at,
            event_type,
            details,
        };
        if let Some(store) = &self.store {
            store.send(Write::Event {
                seq: self.seq,
                event: event.clone(),
            });
            store.send(Write::Finish {
                seq: self.seq,
                status: status.as_str(),
                stop_ns: i64::try_from(at.unix_timestamp_nanos()).unwrap_or(i64::MAX),
                output: s.output.clone(),
                error: s.error.clone(),
                cause: s.cause.clone(),
                last_state: self.last_state(&s.events),
            });
        }
        s.events.push(event);
        s.status = status;
        s.stop_date = Some(at);
        let len = s.events.len();
        drop(s);
        self.changed.send_replace(len);
        if let Ok(mut task) = self.task.lock() {
            task.take();
        }
        true
    }

    pub(crate) fn set_task(&self, handle: tokio::task::AbortHandle) {
        if let Ok(mut task) = self.task.lock()
            && self.status() == ExecutionStatus::Running
        {
            *task = Some(handle);
        }
    }

    pub(crate) fn abort_task(&self) {
        if let Ok(mut task) = self.task.lock()
            && let Some(handle) = task.take()
        {
            handle.abort();
        }
    }

    pub(crate) fn status(&self) -> ExecutionStatus {
        self.lock().status
    }

    pub(crate) fn describe(&self) -> ExecutionDescription {
        let s = self.lock();
        ExecutionDescription {
            execution_arn: self.arn.clone(),
            state_machine_arn: self.state_machine_arn.clone(),
            name: self.name.clone(),
            status: s.status,
            start_date: self.start_date,
            stop_date: s.stop_date,
            input: self.input.clone(),
            output: s.output.clone(),
            error: s.error.clone(),
            cause: s.cause.clone(),
            redrive_count: s.redrive_count,
            redrive_date: s.redrive_date,
        }
    }

    /// Sets how often an execution loaded from the store was redriven before.
    pub(crate) fn set_redrives(&self, count: u32, last: Option<OffsetDateTime>) {
        let mut s = self.lock();
        s.redrive_count = count;
        s.redrive_date = last;
    }

    /// Remembers the top-level state about to run (records without a store only).
    pub(crate) fn set_resume_point(&self, state: &str, input: &str) {
        if self.store.is_none() {
            self.lock().resume_point = Some((state.to_owned(), input.to_owned()));
        }
    }

    /// The top-level state the execution was in and that state's input (records without a
    /// store only).
    pub(crate) fn resume_point(&self) -> Option<(String, String)> {
        self.lock().resume_point.clone()
    }

    /// Makes an unsuccessful execution run again (RedriveExecution): RUNNING, without its
    /// end, one more redrive. Returns the new redrive count, or `None` if it is running or
    /// succeeded.
    pub(crate) fn reopen(&self, at: OffsetDateTime) -> Option<u32> {
        let mut s = self.lock();
        if matches!(
            s.status,
            ExecutionStatus::Running | ExecutionStatus::Succeeded
        ) {
            return None;
        }
        s.status = ExecutionStatus::Running;
        s.stop_date = None;
        s.output = None;
        s.error = None;
        s.cause = None;
        s.redrive_count += 1;
        s.redrive_date = Some(at);
        Some(s.redrive_count)
    }

    /// The id of the last event recorded.
    pub(crate) fn last_event_id(&self) -> u64 {
        self.base + self.lock().events.len() as u64
    }

    pub(crate) fn events(&self) -> Vec<HistoryEvent> {
        self.lock().events.clone()
    }

    /// Reads the history in place, without copying it.
    pub(crate) fn with_events<R>(&self, read: impl FnOnce(&[HistoryEvent]) -> R) -> R {
        read(&self.lock().events)
    }

    fn event_at(&self, index: usize) -> Result<HistoryEvent, bool> {
        let s = self.lock();
        match s.events.get(index) {
            Some(e) => Ok(e.clone()),
            None => Err(s.status != ExecutionStatus::Running),
        }
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<usize> {
        self.changed.subscribe()
    }
}

/// The events of one execution, past and future, in order.
pub struct EventStream {
    record: std::sync::Arc<ExecutionRecord>,
    next: usize,
    changed: watch::Receiver<usize>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    pub(crate) fn new(record: std::sync::Arc<ExecutionRecord>) -> Self {
        let changed = record.subscribe();
        EventStream {
            record,
            next: 0,
            changed,
        }
    }

    /// The events as a [`futures::Stream`].
    pub fn into_stream(self) -> impl futures::Stream<Item = HistoryEvent> + Send {
        futures::stream::unfold(self, |mut stream| async move {
            stream.next().await.map(|event| (event, stream))
        })
    }

    /// The next event; waits for it while the execution runs. `None` once the execution has
    /// ended and every event was delivered.
    pub async fn next(&mut self) -> Option<HistoryEvent> {
        loop {
            self.changed.borrow_and_update();
            match self.record.event_at(self.next) {
                Ok(event) => {
                    self.next += 1;
                    return Some(event);
                }
                Err(true) => return None,
                Err(false) => {
                    if self.changed.changed().await.is_err() {
                        return None;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use time::macros::datetime;

    fn record() -> ExecutionRecord {
        ExecutionRecord::new(
            "arn:e".into(),
            "e".into(),
            "arn:sm".into(),
            "{}".into(),
            datetime!(2024-01-01 00:00 UTC),
        )
    }

    #[test]
    fn events_get_consecutive_ids_and_the_end_is_recorded_once() {
        let r = record();
        let t = datetime!(2024-01-01 00:00 UTC);
        assert_eq!(
            r.push(EventType::ExecutionStarted, EventDetails::None, 0, t),
            1
        );
        assert_eq!(
            r.push(EventType::LambdaFunctionStarted, EventDetails::None, 1, t),
            2
        );
        assert!(r.finish(Ending::Succeeded { output: "1".into() }, None, t));
        assert!(!r.finish(
            Ending::Failed {
                error: None,
                cause: None
            },
            None,
            t
        ));
        let d = r.describe();
        assert_eq!(d.status, ExecutionStatus::Succeeded);
        assert_eq!(d.output.as_deref(), Some("1"));
        let events = r.events();
        assert_eq!(events.len(), 3);
        assert_eq!(events[2].previous_event_id, 2);
        assert_eq!(d.to_json(t)["status"], json!("SUCCEEDED"));
    }

    #[tokio::test]
    async fn streams_replay_past_events_then_follow_live_ones_until_the_end() {
        let r = Arc::new(record());
        let t = datetime!(2024-01-01 00:00 UTC);
        r.push(EventType::ExecutionStarted, EventDetails::None, 0, t);
        let mut stream = EventStream::new(r.clone());
        assert_eq!(stream.next().await.map(|e| e.id), Some(1));
        let writer = r.clone();
        let task = tokio::spawn(async move {
            tokio::task::yield_now().await;
            writer.push(EventType::LambdaFunctionStarted, EventDetails::None, 1, t);
            writer.finish(
                Ending::Succeeded {
                    output: "{}".into(),
                },
                None,
                t,
            );
        });
        assert_eq!(stream.next().await.map(|e| e.id), Some(2));
        assert_eq!(stream.next().await.map(|e| e.id), Some(3));
        assert!(stream.next().await.is_none());
        task.await.unwrap();
        let all: Vec<u64> =
            futures::StreamExt::collect::<Vec<_>>(EventStream::new(r).into_stream())
                .await
                .into_iter()
                .map(|e| e.id)
                .collect();
        assert_eq!(all, [1, 2, 3]);
    }
}
