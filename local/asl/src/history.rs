//! Execution history in the `GetExecutionHistory` shape.
//!
//! Event type names are AWS's `HistoryEventType` values
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html>);
//! each event has an `id` (1-based, in order), a `previousEventId`, a `timestamp` and at most
//! one `<x>EventDetails` object whose `input`/`output`/`parameters` are JSON *text*, with
//! `inputDetails`/`outputDetails` `{"truncated": false}`. [`HistoryEvent::to_json`] produces that
//! wire shape (timestamps as epoch seconds, as the Step Functions JSON protocol sends them).

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// The state types, for `<Type>StateEntered` / `<Type>StateExited` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateType {
    /// `Pass`.
    Pass,
    /// `Task`.
    Task,
    /// `Choice`.
    Choice,
    /// `Wait`.
    Wait,
    /// `Succeed`.
    Succeed,
    /// `Fail`.
    Fail,
    /// `Parallel`.
    Parallel,
    /// `Map`.
    Map,
}

/// A history event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum EventType {
    ExecutionStarted,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionAborted,
    ExecutionTimedOut,
    StateEntered(StateType),
    StateExited(StateType),
    TaskScheduled,
    TaskStarted,
    TaskSucceeded,
    TaskFailed,
    TaskTimedOut,
    LambdaFunctionScheduled,
    LambdaFunctionStarted,
    LambdaFunctionSucceeded,
    LambdaFunctionFailed,
    LambdaFunctionTimedOut,
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    ParallelStateAborted,
    MapStateStarted,
    MapStateSucceeded,
    MapStateFailed,
    MapStateAborted,
    MapIterationStarted,
    MapIterationSucceeded,
    MapIterationFailed,
    MapIterationAborted,
}

impl EventType {
    /// The AWS name (`TaskStateEntered`, `LambdaFunctionFailed`, ...).
    pub fn name(self) -> &'static str {
        use EventType::*;
        use StateType as S;
        match self {
            ExecutionStarted => "ExecutionStarted",
            ExecutionSucceeded => "ExecutionSucceeded",
            ExecutionFailed => "ExecutionFailed",
            ExecutionAborted => "ExecutionAborted",
            ExecutionTimedOut => "ExecutionTimedOut",
            StateEntered(t) => match t {
                S::Pass => "PassStateEntered",
                S::Task => "TaskStateEntered",
                S::Choice => "ChoiceStateEntered",
                S::Wait => "WaitStateEntered",
                S::Succeed => "SucceedStateEntered",
                S::Fail => "FailStateEntered",
                S::Parallel => "ParallelStateEntered",
                S::Map => "MapStateEntered",
            },
            StateExited(t) => match t {
                S::Pass => "PassStateExited",
                S::Task => "TaskStateExited",
                S::Choice => "ChoiceStateExited",
                S::Wait => "WaitStateExited",
                S::Succeed => "SucceedStateExited",
                S::Fail => "FailStateExited",
                S::Parallel => "ParallelStateExited",
                S::Map => "MapStateExited",
            },
            TaskScheduled => "TaskScheduled",
            TaskStarted => "TaskStarted",
            TaskSucceeded => "TaskSucceeded",
            TaskFailed => "TaskFailed",
            TaskTimedOut => "TaskTimedOut",
            LambdaFunctionScheduled => "LambdaFunctionScheduled",
            LambdaFunctionStarted => "LambdaFunctionStarted",
            LambdaFunctionSucceeded => "LambdaFunctionSucceeded",
            LambdaFunctionFailed => "LambdaFunctionFailed",
            LambdaFunctionTimedOut => "LambdaFunctionTimedOut",
            ParallelStateStarted => "ParallelStateStarted",
            ParallelStateSucceeded => "ParallelStateSucceeded",
            ParallelStateFailed => "ParallelStateFailed",
            ParallelStateAborted => "ParallelStateAborted",
            MapStateStarted => "MapStateStarted",
            MapStateSucceeded => "MapStateSucceeded",
            MapStateFailed => "MapStateFailed",
            MapStateAborted => "MapStateAborted",
            MapIterationStarted => "MapIterationStarted",
            MapIterationSucceeded => "MapIterationSucceeded",
            MapIterationFailed => "MapIterationFailed",
            MapIterationAborted => "MapIterationAborted",
        }
    }

    /// The key of this event's details object (`taskFailedEventDetails`, ...).
    fn details_key(self) -> String {
        match self {
            EventType::StateEntered(_) => "stateEnteredEventDetails".to_owned(),
            EventType::StateExited(_) => "stateExitedEventDetails".to_owned(),
            other => {
                let name = other.name();
                let mut key = String::with_capacity(name.len() + 12);
                let mut chars = name.chars();
                if let Some(first) = chars.next() {
                    key.push(first.to_ascii_lowercase());
                }
                key.extend(chars);
                key.push_str("EventDetails");
                key
            }
        }
    }
}

/// The details of an event. JSON-valued fields hold compact JSON text, as AWS stores them.
#[derive(Debug, Clone, PartialEq)]
pub enum EventDetails {
    /// No details object (e.g. `LambdaFunctionStarted`, `MapStateSucceeded`).
    None,
    /// `executionStartedEventDetails`.
    ExecutionStarted {
        /// The execution input exactly as given to StartExecution.
        input: String,
        /// The execution role.
        role_arn: String,
    },
    /// `executionSucceededEventDetails`.
    ExecutionSucceeded {
        /// The execution output.
        output: String,
    },
    /// `executionFailedEventDetails`, `executionAbortedEventDetails`,
    /// `executionTimedOutEventDetails`.
    ExecutionFailed {
        /// The error name, if any.
        error: Option<String>,
        /// The cause, if any.
        cause: Option<String>,
    },
    /// `stateEnteredEventDetails`.
    StateEntered {
        /// The state name.
        name: String,
        /// The state input.
        input: String,
    },
    /// `stateExitedEventDetails`.
    StateExited {
        /// The state name.
        name: String,
        /// The state output.
        output: String,
    },
    /// `taskScheduledEventDetails`.
    TaskScheduled {
        /// `lambda`.
        resource_type: String,
        /// `invoke`.
        resource: String,
        /// The region.
        region: String,
        /// The evaluated `Parameters`.
        parameters: String,
        /// `TimeoutSeconds`, if set.
        timeout_in_seconds: Option<u64>,
    },
    /// `taskStartedEventDetails`.
    TaskStarted {
        /// `lambda`.
        resource_type: String,
        /// `invoke`.
        resource: String,
    },
    /// `taskSucceededEventDetails`.
    TaskSucceeded {
        /// `lambda`.
        resource_type: String,
        /// `invoke`.
        resource: String,
        /// The integration's result.
        output: String,
    },
    /// `taskFailedEventDetails`, `taskTimedOutEventDetails`.
    TaskFailed {
        /// `lambda`.
        resource_type: String,
        /// `invoke`.
        resource: String,
        /// The error name.
        error: Option<String>,
        /// The cause.
        cause: Option<String>,
    },
    /// `lambdaFunctionScheduledEventDetails`.
    LambdaFunctionScheduled {
        /// The function ARN.
        resource: String,
        /// The payload.
        input: String,
        /// `TimeoutSeconds`, if set.
        timeout_in_seconds: Option<u64>,
    },
    /// `lambdaFunctionSucceededEventDetails`.
    LambdaFunctionSucceeded {
        /// The function's output.
        output: String,
    },
    /// `lambdaFunctionFailedEventDetails`, `lambdaFunctionTimedOutEventDetails`.
    LambdaFunctionFailed {
        /// The error name.
        error: Option<String>,
        /// The cause.
        cause: Option<String>,
    },
    /// `mapStateStartedEventDetails`.
    MapStateStarted {
        /// Number of items.
        length: usize,
    },
    /// `mapIteration{Started,Succeeded,Failed,Aborted}EventDetails`.
    MapIteration {
        /// The Map state's name.
        name: String,
        /// The item index.
        index: usize,
    },
}

/// One history event.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    /// 1-based position in the history.
    pub id: u64,
    /// The event this one follows from (0 for none).
    pub previous_event_id: u64,
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// Its type.
    pub event_type: EventType,
    /// Its details.
    pub details: EventDetails,
}

impl HistoryEvent {
    /// The event in the `GetExecutionHistory` JSON shape.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert(
            "timestamp".into(),
            json!(self.timestamp.unix_timestamp_nanos() as f64 / 1e9),
        );
        out.insert("type".into(), Value::String(self.event_type.name().into()));
        out.insert("id".into(), Value::from(self.id));
        out.insert(
            "previousEventId".into(),
            Value::from(self.previous_event_id),
        );
        if let Some(details) = self.details_json() {
            out.insert(self.event_type.details_key(), details);
        }
        Value::Object(out)
    }

    fn details_json(&self) -> Option<Value> {
        fn put(m: &mut Map<String, Value>, k: &str, v: &str) {
            m.insert(k.into(), Value::String(v.to_owned()));
        }
        fn opt(m: &mut Map<String, Value>, k: &str, v: &Option<String>) {
            if let Some(v) = v {
                put(m, k, v);
            }
        }
        let untruncated = || json!({"truncated": false});
        let mut m = Map::new();
        match &self.details {
            EventDetails::None => return None,
            EventDetails::ExecutionStarted { input, role_arn } => {
                put(&mut m, "input", input);
                m.insert("inputDetails".into(), untruncated());
                put(&mut m, "roleArn", role_arn);
            }
            EventDetails::ExecutionSucceeded { output } => {
                put(&mut m, "output", output);
                m.insert("outputDetails".into(), untruncated());
            }
            EventDetails::ExecutionFailed { error, cause } => {
                opt(&mut m, "error", error);
                opt(&mut m, "cause", cause);
            }
            EventDetails::StateEntered { name, input } => {
                put(&mut m, "name", name);
                put(&mut m, "input", input);
                m.insert("inputDetails".into(), untruncated());
            }
            EventDetails::StateExited { name, output } => {
                put(&mut m, "name", name);
                put(&mut m, "output", output);
                m.insert("outputDetails".into(), untruncated());
            }
            EventDetails::TaskScheduled {
                resource_type,
                resource,
                region,
                parameters,
                timeout_in_seconds,
            } => {
                put(&mut m, "resourceType", resource_type);
                put(&mut m, "resource", resource);
                put(&mut m, "region", region);
                put(&mut m, "parameters", parameters);
                if let Some(t) = timeout_in_seconds {
                    m.insert("timeoutInSeconds".into(), Value::from(*t));
                }
            }
            EventDetails::TaskStarted {
                resource_type,
                resource,
            } => {
                put(&mut m, "resourceType", resource_type);
                put(&mut m, "resource", resource);
            }
            EventDetails::TaskSucceeded {
                resource_type,
                resource,
                output,
            } => {
                put(&mut m, "resourceType", resource_type);
                put(&mut m, "resource", resource);
                put(&mut m, "output", output);
                m.insert("outputDetails".into(), untruncated());
            }
            EventDetails::TaskFailed {
                resource_type,
                resource,
                error,
                cause,
            } => {
                put(&mut m, "resourceType", resource_type);
                put(&mut m, "resource", resource);
                opt(&mut m, "error", error);
                opt(&mut m, "cause", cause);
            }
            EventDetails::LambdaFunctionScheduled {
                resource,
                input,
                timeout_in_seconds,
            } => {
                put(&mut m, "resource", resource);
                put(&mut m, "input", input);
                m.insert("inputDetails".into(), untruncated());
                if let Some(t) = timeout_in_seconds {
                    m.insert("timeoutInSeconds".into(), Value::from(*t));
                }
            }
            EventDetails::LambdaFunctionSucceeded { output } => {
                put(&mut m, "output", output);
                m.insert("outputDetails".into(), untruncated());
            }
            EventDetails::LambdaFunctionFailed { error, cause } => {
                opt(&mut m, "error", error);
                opt(&mut m, "cause", cause);
            }
            EventDetails::MapStateStarted { length } => {
                m.insert("length".into(), Value::from(*length));
            }
            EventDetails::MapIteration { name, index } => {
                put(&mut m, "name", name);
                m.insert("index".into(), Value::from(*index));
            }
        }
        Some(Value::Object(m))
    }
}

impl serde::Serialize for HistoryEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn events_serialize_in_the_get_execution_history_shape() {
        let e = HistoryEvent {
            id: 2,
            previous_event_id: 0,
            timestamp: datetime!(2024-01-01 00:00:01 UTC),
            event_type: EventType::StateEntered(StateType::Task),
            details: EventDetails::StateEntered {
                name: "CopyObject".into(),
                input: "{}".into(),
            },
        };
        assert_eq!(
            e.to_json(),
            json!({
                "timestamp": 1704067201.0,
                "type": "TaskStateEntered",
                "id": 2,
                "previousEventId": 0,
                "stateEnteredEventDetails": {"name": "CopyObject", "input": "{}", "inputDetails": {"truncated": false}}
            })
        );
    }

    #[test]
    fn details_keys_follow_the_event_type_name() {
        assert_eq!(
            EventType::LambdaFunctionFailed.details_key(),
            "lambdaFunctionFailedEventDetails"
        );
        assert_eq!(
            EventType::MapIterationStarted.details_key(),
            "mapIterationStartedEventDetails"
        );
        assert_eq!(
            EventType::StateExited(StateType::Map).details_key(),
            "stateExitedEventDetails"
        );
        assert_eq!(
            EventType::StateExited(StateType::Map).name(),
            "MapStateExited"
        );
    }

    #[test]
    fn events_without_details_have_no_details_key() {
        let e = HistoryEvent {
            id: 4,
            previous_event_id: 3,
            timestamp: datetime!(2024-01-01 00:00 UTC),
            event_type: EventType::LambdaFunctionStarted,
            details: EventDetails::None,
        };
        assert_eq!(e.to_json().as_object().unwrap().len(), 4);
    }

    #[test]
    fn absent_error_and_cause_are_omitted() {
        let e = HistoryEvent {
            id: 3,
            previous_event_id: 2,
            timestamp: datetime!(2024-01-01 00:00 UTC),
            event_type: EventType::ExecutionFailed,
            details: EventDetails::ExecutionFailed {
                error: None,
                cause: None,
            },
        };
        assert_eq!(e.to_json()["executionFailedEventDetails"], json!({}));
    }
}
