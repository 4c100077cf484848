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
    #[serde(default)]
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

/// A checkpoint as the executions table holds it: its small fields as JSON, and the state
/// input, most of its bytes, as text of its own column. Inside the JSON the input would be
/// escaped on every write and parsed again by every `json_set` that records the entered
/// event (perf: the escaping alone was over 1% of `copyflow up`'s CPU).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredCheckpoint {
    /// `state`, `entered_id`, `entered_ns` and `retry`, as JSON.
    pub fields: String,
    /// The state input (JSON text).
    pub input: String,
}

/// The fields of a [`StoredCheckpoint`].
#[derive(Serialize)]
struct Fields<'a> {
    state: &'a str,
    entered_id: u64,
    entered_ns: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry: &'a Option<PendingRetry>,
}

impl Checkpoint {
    /// What the executions table stores.
    pub(crate) fn into_stored(self) -> StoredCheckpoint {
        let fields = Fields {
            state: &self.state,
            entered_id: self.entered_id,
            entered_ns: self.entered_ns,
            retry: &self.retry,
        };
        StoredCheckpoint {
            fields: serde_json::to_string(&fields).unwrap_or_default(),
            input: self.input,
        }
    }

    /// Reads a stored checkpoint back; `None` if its fields do not parse (treated as "no
    /// resume point"). Stores written before the input had a column of its own kept it in
    /// the JSON (`input` is then `None`).
    pub(crate) fn from_stored(fields: &str, input: Option<String>) -> Option<Checkpoint> {
        let mut checkpoint: Checkpoint = serde_json::from_str(fields).ok()?;
        if let Some(input) = input {
            checkpoint.input = input;
        }
        Some(checkpoint)
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
        let stored = c.clone().into_stored();
        assert!(!stored.fields.contains("input"), "{}", stored.fields);
        assert_eq!(stored.input, c.input);
        assert_eq!(
            Checkpoint::from_stored(&stored.fields, Some(stored.input.clone())),
            Some(c.clone())
        );
        assert_eq!(
            Checkpoint::from_stored("not json", Some(stored.input)),
            None
        );
    }

    #[test]
    fn a_checkpoint_from_before_the_input_column_keeps_its_input() {
        let old = r#"{"state":"VerifyCopy","input":"{\"a\":1}","entered_id":3,"entered_ns":4}"#;
        let c = Checkpoint::from_stored(old, None).unwrap();
        assert_eq!(c.state, "VerifyCopy");
        assert_eq!(c.input, r#"{"a":1}"#);
        assert_eq!((c.entered_id, c.entered_ns, c.retry), (3, 4, None));
    }
}
