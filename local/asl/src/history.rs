//! Execution history in the `GetExecutionHistory` shape.
//!
//! Event type names are AWS's `HistoryEventType` values
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html>);
//! each event has an `id` (1-based, in order), a `previousEventId`, a `timestamp` and at most
//! one `<x>EventDetails` object whose `input`/`output`/`parameters` are JSON *text*, with
//! `inputDetails`/`outputDetails` `{"truncated": false}`. [`HistoryEvent::to_json`] produces that
//! wire shape (timestamps as epoch seconds, as the Step Functions JSON protocol sends them).

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::Value;
use time::OffsetDateTime;

pub use crate::model::StateType;

/// A history event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum EventType {
    ExecutionStarted,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionAborted,
    ExecutionTimedOut,
    ExecutionRedriven,
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
    MapRunStarted,
    MapRunSucceeded,
    MapRunFailed,
    MapRunAborted,
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
            ExecutionRedriven => "ExecutionRedriven",
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
            MapRunStarted => "MapRunStarted",
            MapRunSucceeded => "MapRunSucceeded",
            MapRunFailed => "MapRunFailed",
            MapRunAborted => "MapRunAborted",
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
    /// `executionRedrivenEventDetails`.
    ExecutionRedriven {
        /// How many times the execution has been redriven, this time included.
        redrive_count: u32,
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
    /// `mapRunStartedEventDetails`.
    MapRunStarted {
        /// The Map Run's ARN.
        map_run_arn: String,
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
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The event as compact JSON text (what the store records), written straight from the
    /// event: no intermediate `Value`, whose copies of every payload string cost more than
    /// the text itself.
    pub fn to_json_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The state document or Lambda payload the event carries (an input, output or the
    /// parameters), if any: each event type carries at most one.
    pub(crate) fn payload(&self) -> Option<&str> {
        match &self.details {
            EventDetails::ExecutionStarted { input, .. }
            | EventDetails::StateEntered { input, .. }
            | EventDetails::LambdaFunctionScheduled { input, .. } => Some(input),
            EventDetails::ExecutionSucceeded { output }
            | EventDetails::LambdaFunctionSucceeded { output }
            | EventDetails::StateExited { output, .. }
            | EventDetails::TaskSucceeded { output, .. } => Some(output),
            EventDetails::TaskScheduled { parameters, .. } => Some(parameters),
            _ => None,
        }
    }

    /// [`HistoryEvent::to_json_text`] with the [`HistoryEvent::payload`] written as
    /// [`PAYLOAD_PLACEHOLDER`], so the store can keep the payload unescaped beside it.
    pub(crate) fn skeleton_text(&self) -> String {
        serde_json::to_string(&EventJson(self, PayloadForm::Placeholder)).unwrap_or_default()
    }
}

/// How the payload of an event is written: as its text (a JSON string) or as a placeholder.
#[derive(Clone, Copy, PartialEq)]
enum PayloadForm {
    Text,
    Placeholder,
}

/// The JSON string (a lone NUL) that stands for a payload in a
/// [`HistoryEvent::skeleton_text`].
pub(crate) const PAYLOAD_PLACEHOLDER: &str = r#""\u0000""#;

impl PayloadForm {
    fn write(self, payload: &str) -> &str {
        match self {
            PayloadForm::Text => payload,
            PayloadForm::Placeholder => "\0",
        }
    }
}

/// `{"truncated": false}`: payloads are never truncated locally.
struct Untruncated;

impl Serialize for Untruncated {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(Some(1))?;
        m.serialize_entry("truncated", &false)?;
        m.end()
    }
}

/// The details object of an event, fields in the order AWS returns them.
struct DetailsJson<'a>(&'a EventDetails, PayloadForm);

impl Serialize for DetailsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(None)?;
        let form = self.1;
        match self.0 {
            EventDetails::None => {}
            EventDetails::ExecutionStarted { input, role_arn } => {
                m.serialize_entry("input", form.write(input))?;
                m.serialize_entry("inputDetails", &Untruncated)?;
                m.serialize_entry("roleArn", role_arn)?;
            }
            EventDetails::ExecutionSucceeded { output }
            | EventDetails::LambdaFunctionSucceeded { output } => {
                m.serialize_entry("output", form.write(output))?;
                m.serialize_entry("outputDetails", &Untruncated)?;
            }
            EventDetails::ExecutionFailed { error, cause }
            | EventDetails::LambdaFunctionFailed { error, cause } => {
                optional(&mut m, "error", error)?;
                optional(&mut m, "cause", cause)?;
            }
            EventDetails::ExecutionRedriven { redrive_count } => {
                m.serialize_entry("redriveCount", redrive_count)?;
            }
            EventDetails::StateEntered { name, input } => {
                m.serialize_entry("name", name)?;
                m.serialize_entry("input", form.write(input))?;
                m.serialize_entry("inputDetails", &Untruncated)?;
            }
            EventDetails::StateExited { name, output } => {
                m.serialize_entry("name", name)?;
                m.serialize_entry("output", form.write(output))?;
                m.serialize_entry("outputDetails", &Untruncated)?;
            }
            EventDetails::TaskScheduled {
                resource_type,
                resource,
                region,
                parameters,
                timeout_in_seconds,
            } => {
                m.serialize_entry("resourceType", resource_type)?;
                m.serialize_entry("resource", resource)?;
                m.serialize_entry("region", region)?;
                m.serialize_entry("parameters", form.write(parameters))?;
                if let Some(t) = timeout_in_seconds {
                    m.serialize_entry("timeoutInSeconds", t)?;
                }
            }
            EventDetails::TaskStarted {
                resource_type,
                resource,
            } => {
                m.serialize_entry("resourceType", resource_type)?;
                m.serialize_entry("resource", resource)?;
            }
            EventDetails::TaskSucceeded {
                resource_type,
                resource,
                output,
            } => {
                m.serialize_entry("resourceType", resource_type)?;
                m.serialize_entry("resource", resource)?;
                m.serialize_entry("output", form.write(output))?;
                m.serialize_entry("outputDetails", &Untruncated)?;
            }
            EventDetails::TaskFailed {
                resource_type,
                resource,
                error,
                cause,
            } => {
                m.serialize_entry("resourceType", resource_type)?;
                m.serialize_entry("resource", resource)?;
                optional(&mut m, "error", error)?;
                optional(&mut m, "cause", cause)?;
            }
            EventDetails::LambdaFunctionScheduled {
                resource,
                input,
                timeout_in_seconds,
            } => {
                m.serialize_entry("resource", resource)?;
                m.serialize_entry("input", form.write(input))?;
                m.serialize_entry("inputDetails", &Untruncated)?;
                if let Some(t) = timeout_in_seconds {
                    m.serialize_entry("timeoutInSeconds", t)?;
                }
            }
            EventDetails::MapRunStarted { map_run_arn } => {
                m.serialize_entry("mapRunArn", map_run_arn)?;
            }
            EventDetails::MapStateStarted { length } => {
                m.serialize_entry("length", length)?;
            }
            EventDetails::MapIteration { name, index } => {
                m.serialize_entry("name", name)?;
                m.serialize_entry("index", index)?;
            }
        }
        m.end()
    }
}

fn optional<M: SerializeMap>(m: &mut M, key: &str, value: &Option<String>) -> Result<(), M::Error> {
    match value {
        Some(v) => m.serialize_entry(key, v),
        None => Ok(()),
    }
}

impl Serialize for HistoryEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        EventJson(self, PayloadForm::Text).serialize(serializer)
    }
}

/// An event in the `GetExecutionHistory` shape, its payload written in `form`.
struct EventJson<'a>(&'a HistoryEvent, PayloadForm);

impl Serialize for EventJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let EventJson(event, form) = *self;
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry(
            "timestamp",
            &(event.timestamp.unix_timestamp_nanos() as f64 / 1e9),
        )?;
        m.serialize_entry("type", event.event_type.name())?;
        m.serialize_entry("id", &event.id)?;
        m.serialize_entry("previousEventId", &event.previous_event_id)?;
        if !matches!(event.details, EventDetails::None) {
            m.serialize_entry(
                &event.event_type.details_key(),
                &DetailsJson(&event.details, form),
            )?;
        }
        m.end()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;
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
