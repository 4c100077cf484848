//! What an execution of the demo ended as, typed: the terminal state it reached and the
//! sections of its final state document that the report reads.

use std::fmt;

use copyflow_core::copy::{CopyOutcome, CopyStatus};
use copyflow_core::verify::VerifyOutcome;
use serde::Deserialize;

/// The terminal state an execution ended in (the state machine's outcome names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    Copied,
    Skipped,
    Superseded,
    KeyRejected,
    /// Any other state name (CopyFailed, ...), or empty while no state was entered: the
    /// workload never expects one, so naming them all here would buy nothing.
    Other(String),
}

impl Outcome {
    /// The outcome named by the last state an execution entered.
    pub(super) fn from_state(state: &str) -> Self {
        match state {
            "Copied" => Self::Copied,
            "Skipped" => Self::Skipped,
            "Superseded" => Self::Superseded,
            "KeyRejected" => Self::KeyRejected,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The state name.
    pub(super) fn as_str(&self) -> &str {
        match self {
            Self::Copied => "Copied",
            Self::Skipped => "Skipped",
            Self::Superseded => "Superseded",
            Self::KeyRejected => "KeyRejected",
            Self::Other(name) => name,
        }
    }
}

impl fmt::Display for Outcome {
    /// Pads, so the report can align outcomes in a column.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The sections of a final state the report reads; every other field is ignored, so this
/// reads the output of every Succeed state (Copied, Skipped, Superseded).
#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct FinalState {
    /// The copy step's section (absent when no copy ran).
    #[serde(default)]
    pub copy: Option<CopyOutcome>,
    /// The verify step's section (absent when nothing was verified).
    #[serde(default)]
    pub verify: Option<VerifyOutcome>,
}

impl FinalState {
    /// Bytes this execution wrote to the destination: a copy that found the object already
    /// there wrote none.
    pub(super) fn bytes_copied(&self) -> u64 {
        self.copy
            .as_ref()
            .filter(|c| c.status == CopyStatus::Copied)
            .map_or(0, |c| c.source.size)
    }

    /// How the copy was proven identical, by its wire name (`stored-checksum`, ...).
    pub(super) fn verify_method(&self) -> Option<String> {
        let method = self.verify.as_ref()?.method;
        // The serde name, so the report says what the execution output says.
        serde_json::to_value(method)
            .ok()?
            .as_str()
            .map(str::to_owned)
    }
}

/// An execution's output, read.
#[derive(Clone, Debug)]
pub(super) enum Output {
    /// No output: failed executions, or one that did not finish.
    Absent,
    Read(Box<FinalState>),
    /// Output that is not a final state this report can read, with the reason.
    Unreadable(String),
}

impl Output {
    /// Reads the output text of an execution.
    pub(super) fn parse(text: Option<&str>) -> Self {
        match text.map(serde_json::from_str::<FinalState>) {
            None => Self::Absent,
            Some(Ok(state)) => Self::Read(Box::new(state)),
            Some(Err(e)) => Self::Unreadable(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip_through_outcomes() {
        for name in [
            "Copied",
            "Skipped",
            "Superseded",
            "KeyRejected",
            "CopyFailed",
            "",
        ] {
            assert_eq!(Outcome::from_state(name).as_str(), name);
        }
        assert_eq!(format!("{:<8}|", Outcome::Copied), "Copied  |");
    }

    #[test]
    fn a_skip_output_reads_as_a_state_without_copy_or_verify() {
        let Output::Read(state) = Output::parse(Some(
            r#"{"action": "skip", "reason": "folder-marker", "message": "a folder"}"#,
        )) else {
            panic!("a skip output is readable");
        };
        assert_eq!(state.bytes_copied(), 0);
        assert_eq!(state.verify_method(), None);
    }

    #[test]
    fn output_that_is_not_a_final_state_is_unreadable_not_a_panic() {
        assert!(matches!(
            Output::parse(Some("not json")),
            Output::Unreadable(_)
        ));
        assert!(matches!(
            Output::parse(Some(r#"{"copy": {"status": "teleported"}}"#)),
            Output::Unreadable(_)
        ));
        assert!(matches!(Output::parse(None), Output::Absent));
    }
}
