//! Error values: load errors (the definition is refused) and runtime failures (a state or the
//! execution fails with an error name and a cause).
//!
//! Error names follow the Step Functions error-handling rules
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>):
//! `States.Runtime` and a state's own `States.DataLimitExceeded` are terminal (never retried or
//! caught, even when named); everything else is matched by name, `States.ALL` and
//! `States.TaskFailed` (which excludes `States.Timeout`).

use std::fmt;

/// Error names defined by the Amazon States Language.
// The whole ASL vocabulary in one place: some names are never raised by this engine.
#[allow(dead_code)]
pub(crate) mod names {
    /// Wildcard that matches every catchable error.
    pub(crate) const ALL: &str = "States.ALL";
    /// Wildcard for task failures: every catchable error except `States.Timeout`.
    pub(crate) const TASK_FAILED: &str = "States.TaskFailed";
    /// A task ran longer than `TimeoutSeconds`, or the execution exceeded its own timeout.
    pub(crate) const TIMEOUT: &str = "States.Timeout";
    /// An unprocessable situation (bad path, wrong type); never retried or caught.
    pub(crate) const RUNTIME: &str = "States.Runtime";
    /// A payload over 256 KiB.
    pub(crate) const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    /// An intrinsic function failed at run time.
    pub(crate) const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    /// Every branch or iteration failed (or more than the tolerated share of Map items).
    pub(crate) const EXCEEDED_TOLERATED_FAILURE_THRESHOLD: &str =
        "States.ExceedToleratedFailureThreshold";
    /// Missing permissions (never raised locally, accepted in `ErrorEquals`).
    pub(crate) const PERMISSIONS: &str = "States.Permissions";
    /// Branch or iteration failed (accepted in `ErrorEquals`).
    pub(crate) const BRANCH_FAILED: &str = "States.BranchFailed";
    /// No Choice rule matched and there is no `Default`.
    pub(crate) const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    /// A `ResultPath` could not be applied.
    pub(crate) const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    /// A `Parameters` field could not be evaluated.
    pub(crate) const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    /// A heartbeat did not arrive in time.
    pub(crate) const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    /// The unknown-function error of the Lambda integration.
    pub(crate) const LAMBDA_RESOURCE_NOT_FOUND: &str = "Lambda.ResourceNotFoundException";
}

/// The payload limit of state input and output, in bytes (UTF-8): 256 KiB.
pub(crate) const PAYLOAD_LIMIT_BYTES: usize = 256 * 1024;

/// A definition that cannot be loaded: the parser fails closed, so anything it does not
/// implement (an unknown field or state type) is reported here instead of being ignored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid state machine definition at {location}: {message}")]
pub struct LoadError {
    /// Where in the definition, as a JSON pointer (`/States/CopyObject/Retry/0/MaxAttempts`).
    pub location: String,
    /// What is wrong and, where useful, what to write instead.
    pub message: String,
}

impl LoadError {
    pub(crate) fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            message: message.into(),
        }
    }
}

/// A runtime failure: an error name and an optional cause, as they appear in
/// `executionFailedEventDetails` and in a Catch's `{"Error", "Cause"}` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The error name (`States.Timeout`, `SourceChanged`, ...); empty when a Fail state names
    /// no error (the history then has no `error` field).
    pub error: String,
    /// Human-readable detail; for Lambda errors the function's error payload as JSON text.
    pub cause: Option<String>,
    /// Terminal failures end the execution: no Retry or Catch applies to them.
    pub terminal: bool,
}

impl Failure {
    /// A catchable failure.
    pub fn new(error: impl Into<String>, cause: Option<String>) -> Self {
        Self {
            error: error.into(),
            cause,
            terminal: false,
        }
    }

    /// A `States.Runtime` failure (terminal).
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self {
            error: names::RUNTIME.to_owned(),
            cause: Some(cause.into()),
            terminal: true,
        }
    }

    /// A state input or output over the payload limit (terminal).
    pub fn data_limit(subject: &str) -> Self {
        Self {
            error: names::DATA_LIMIT_EXCEEDED.to_owned(),
            cause: Some(format!(
                "The state/task '{subject}' returned a result with a size exceeding the maximum number of bytes service limit."
            )),
            terminal: true,
        }
    }

    /// A `States.IntrinsicFailure` raised while evaluating an intrinsic function.
    pub fn intrinsic(cause: impl Into<String>) -> Self {
        Self::new(names::INTRINSIC_FAILURE, Some(cause.into()))
    }

    /// Prefix the cause with the state context AWS adds to runtime errors:
    /// `An error occurred while executing the state 'X' (entered at the event id #N). ...`.
    pub(crate) fn in_state(mut self, state: &str, entered_event_id: u64) -> Self {
        let detail = self.cause.take().unwrap_or_default();
        self.cause = Some(format!(
            "An error occurred while executing the state '{state}' (entered at the event id #{entered_event_id}). {detail}"
        ));
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Some(cause) => write!(f, "{}: {cause}", self.error),
            None => f.write_str(&self.error),
        }
    }
}

impl std::error::Error for Failure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_failures_are_terminal_and_named_states_runtime() {
        let f = Failure::runtime("bad path");
        assert_eq!(f.error, "States.Runtime");
        assert!(f.terminal);
    }

    #[test]
    fn state_context_is_prefixed_to_the_cause() {
        let f = Failure::runtime("Invalid path").in_state("Pass", 2);
        assert_eq!(
            f.cause.as_deref(),
            Some(
                "An error occurred while executing the state 'Pass' (entered at the event id #2). Invalid path"
            )
        );
    }

    #[test]
    fn data_limit_cause_names_the_state() {
        let f = Failure::data_limit("State_1");
        assert_eq!(f.error, "States.DataLimitExceeded");
        assert!(f.cause.unwrap_or_default().contains("'State_1'"));
    }
}
