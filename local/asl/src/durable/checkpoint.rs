//! Where a running execution resumes after a restart: the top-level state it was in, that
//! state's input and the event that entered it, plus, for a Task between attempts, the retry
//! counters and when the next attempt is due (so a back-off survives a restart instead of
//! starting over).

use serde::{Deserialize, Serialize};

/// The resume point of a running execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    /// The top-level state the execution is in.
    pub state: String,
    /// That state's input (JSON text).
    pub input: String,
    /// The id of its `<Type>StateEntered` event (0: not entered yet, the execution just started).
    pub entered_id: u64,
    /// When it was entered (unix nanoseconds): a resumed Wait waits only for what is left.
    pub entered_ns: i64,
    /// A Task's retry in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<PendingRetry>,
}

/// A Task that failed and waits for its next attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PendingRetry {
    /// Attempts made per retrier, in `Retry` order.
    pub attempts: Vec<u32>,
    /// When the next attempt is due (unix nanoseconds).
    pub due_ns: i64,
}

impl Checkpoint {
    /// The JSON text stored in the executions table.
    pub(crate) fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a stored checkpoint; `None` if it does not parse (treated as "no resume point").
    pub(crate) fn from_text(text: &str) -> Option<Checkpoint> {
        serde_json::from_str(text).ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_round_trip_through_their_text() {
        let c = Checkpoint {
            state: "CopyObject".into(),
            input: r#"{"a":1}"#.into(),
            entered_id: 7,
            entered_ns: 1_700_000_000_000_000_000,
            retry: Some(PendingRetry {
                attempts: vec![0, 2],
                due_ns: 1_700_000_001_000_000_000,
            }),
        };
        assert_eq!(Checkpoint::from_text(&c.to_text()), Some(c));
        assert_eq!(Checkpoint::from_text("not json"), None);
    }
}
