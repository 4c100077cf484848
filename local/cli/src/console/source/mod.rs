//! Where the console reads executions from: the local runtime's execution index
//! ([`local::LocalSource`]), or a deployed pipeline through the Step Functions and S3 APIs
//! ([`aws::AwsSource`]). Both hand the pages the same rows and the same history JSON, so
//! everything above them is shared.

pub mod aws;
pub mod local;

use serde::Serialize;
use serde_json::Value;

/// The state machine the console shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Machine {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// `STANDARD` or `EXPRESS`.
    pub kind: String,
    /// The ASL as deployed.
    pub definition: String,
    /// `local` or `aws`.
    pub origin: &'static str,
}

/// One execution in a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED.
    pub status: String,
    /// The state it ended in (copyflow's outcome), once it ended.
    pub outcome: Option<String>,
    /// The object key of its event.
    pub key: Option<String>,
    /// The object size of its event.
    pub size: Option<u64>,
    /// Start, seconds since the epoch.
    pub start: f64,
    /// End, seconds since the epoch.
    pub stop: Option<f64>,
}

/// Which executions a list holds.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// Only this status.
    pub status: Option<String>,
    /// Only this outcome (end state).
    pub outcome: Option<String>,
    /// Only keys starting with this.
    pub key_prefix: Option<String>,
    /// Only keys containing this.
    pub key_contains: Option<String>,
    /// The page token of the previous page.
    pub next: Option<String>,
    /// Rows per page.
    pub limit: Option<u32>,
}

impl ListQuery {
    /// Rows per page: 50 unless asked, at most 200.
    pub fn page_size(&self) -> u32 {
        self.limit.unwrap_or(50).clamp(1, 200)
    }

    /// Whether a row passes the filters (for sources that cannot filter in the query).
    pub fn matches(&self, row: &Row) -> bool {
        let key = row.key.as_deref().unwrap_or_default();
        self.status.as_ref().is_none_or(|s| *s == row.status)
            && self
                .outcome
                .as_ref()
                .is_none_or(|o| row.outcome.as_ref() == Some(o))
            && self
                .key_prefix
                .as_ref()
                .is_none_or(|p| key.starts_with(p.as_str()))
            && self
                .key_contains
                .as_ref()
                .is_none_or(|c| key.contains(c.as_str()))
    }
}

/// A page of rows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    /// Newest first.
    pub rows: Vec<Row>,
    /// The token of the next page, if there is one.
    pub next: Option<String>,
    /// How a source that filters by reading said how far it read.
    pub note: Option<String>,
}

/// One execution in full.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Described {
    /// The row.
    pub row: Row,
    /// Its input (the EventBridge event).
    pub input: String,
    /// Its output, when it succeeded.
    pub output: Option<String>,
    /// Its error, when it failed.
    pub error: Option<String>,
    /// Its cause.
    pub cause: Option<String>,
    /// Times redriven.
    pub redrive_count: u32,
}

/// A refusal from the source, with the API's error name.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct SourceError {
    /// The API's error name (`ExecutionNotRedrivable`, ...).
    pub code: String,
    /// Its message.
    pub message: String,
}

impl SourceError {
    /// An error with a name and a message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        SourceError {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// What the console needs from a pipeline.
#[async_trait::async_trait]
pub trait Source: Send + Sync + std::fmt::Debug + 'static {
    /// The state machine.
    async fn machine(&self) -> Result<Machine, SourceError>;
    /// A page of executions, newest first.
    async fn list(&self, query: &ListQuery) -> Result<Page, SourceError>;
    /// One execution, or None if there is no such execution.
    async fn describe(&self, arn: &str) -> Result<Option<Described>, SourceError>;
    /// Its history events, oldest first, in the GetExecutionHistory JSON shape.
    async fn history(&self, arn: &str) -> Result<Vec<Value>, SourceError>;
    /// RedriveExecution.
    async fn redrive(&self, arn: &str) -> Result<(), SourceError>;
    /// StartExecution with this name and input; returns the new ARN.
    async fn start(&self, name: &str, input: &str) -> Result<String, SourceError>;
    /// An S3 client with the pipeline's view of the buckets (for live progress).
    fn s3(&self) -> &aws_sdk_s3::Client;
    /// The configured multipart part size, if the source knows the settings.
    fn part_size_hint(&self) -> Option<u64>;
}

/// The object key and size an execution input (an S3 `Object Created` event) names.
pub fn key_and_size(input: &str) -> (Option<String>, Option<u64>) {
    // Read into structs, not a Value: `up` asks for every execution it starts, and the rest
    // of the event is skipped without being built.
    #[derive(serde::Deserialize)]
    struct Event {
        detail: Detail,
    }
    #[derive(serde::Deserialize)]
    struct Detail {
        object: Object,
    }
    #[derive(serde::Deserialize)]
    struct Object {
        #[serde(default)]
        key: Value,
        #[serde(default)]
        size: Value,
    }
    match serde_json::from_str::<Event>(input) {
        Ok(Event {
            detail: Detail { object },
        }) => (object.key.as_str().map(str::to_owned), object.size.as_u64()),
        Err(_) => (None, None),
    }
}

/// A name for a "copy again" execution: the original's, with a suffix that makes it new.
pub fn again_name(original: &str, now_ms: u128) -> String {
    // Execution names are at most 80 characters.
    let suffix = format!("-again-{}", now_ms % 1_000_000_000);
    let keep = 80usize.saturating_sub(suffix.len());
    let base: String = original.chars().take(keep).collect();
    format!("{base}{suffix}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn key_and_size_read_what_the_event_names_and_nothing_else() {
        let event = r#"{"detail-type":"Object Created","detail":{"bucket":{"name":"b"},
            "object":{"key":"a/b.txt","size":5,"etag":"e"}},"resources":[]}"#;
        assert_eq!(key_and_size(event), (Some("a/b.txt".into()), Some(5)));
        let odd = r#"{"detail":{"object":{"key":7,"size":"5"}}}"#;
        assert_eq!(key_and_size(odd), (None, None));
        assert_eq!(
            key_and_size(r#"{"detail":{"object":{"key":"k"}}}"#),
            (Some("k".into()), None)
        );
        for not_an_event in ["", "[]", r#"{"detail":{}}"#, r#"{"detail":"x"}"#] {
            assert_eq!(key_and_size(not_an_event), (None, None), "{not_an_event}");
        }
    }

    fn row(key: &str, status: &str, outcome: Option<&str>) -> Row {
        Row {
            arn: "a".into(),
            name: "n".into(),
            status: status.into(),
            outcome: outcome.map(str::to_owned),
            key: Some(key.into()),
            size: None,
            start: 0.0,
            stop: None,
        }
    }

    #[test]
    fn filters_combine() {
        let q = ListQuery {
            status: Some("FAILED".into()),
            key_contains: Some("2020".into()),
            ..Default::default()
        };
        assert!(q.matches(&row("a/2020-04-06/x", "FAILED", Some("KeyRejected"))));
        assert!(!q.matches(&row("a/2021/x", "FAILED", None)));
        assert!(!q.matches(&row("a/2020/x", "SUCCEEDED", Some("Copied"))));
        let o = ListQuery {
            outcome: Some("Copied".into()),
            key_prefix: Some("a/".into()),
            ..Default::default()
        };
        assert!(o.matches(&row("a/b", "SUCCEEDED", Some("Copied"))));
        assert!(!o.matches(&row("b/a/", "SUCCEEDED", Some("Copied"))));
    }

    #[test]
    fn the_event_names_key_and_size() {
        let input = r#"{"detail":{"object":{"key":"a/b.txt","size":12}}}"#;
        assert_eq!(key_and_size(input), (Some("a/b.txt".into()), Some(12)));
        assert_eq!(key_and_size("[]"), (None, None));
    }

    #[test]
    fn again_names_stay_within_80_characters() {
        let long = "x".repeat(80);
        let name = again_name(&long, 1_234_567_890_123);
        assert!(name.len() <= 80, "{name}");
        assert!(name.ends_with("-again-567890123"));
        assert_eq!(again_name("e1", 5), "e1-again-5");
    }
}
