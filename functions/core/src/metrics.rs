//! The per-execution metrics verify-copy emits: how long an object took from its S3 event to a
//! verified copy, how many bytes were copied, and how the execution ended, as one line of
//! CloudWatch Embedded Metric Format (EMF) on stdout. CloudWatch Logs turns such a line into
//! metrics with no API call and no IAM beyond the log group the function already writes
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>).
//!
//! What the specification requires, and this module holds to (tests below):
//! - the line is one JSON object with nothing before or after it;
//! - `_aws.Timestamp` is milliseconds since the epoch; `_aws.CloudWatchMetrics` is an array of
//!   metric directives, each with a `Namespace`, `Dimensions` (an array of dimension sets, each
//!   an array of at most 30 keys) and `Metrics` (at most 100 definitions, each a `Name` and an
//!   optional `Unit` from CloudWatch's unit list);
//! - every dimension key and metric name referenced is a member of the root: dimension values
//!   are strings, metric values numbers.
//!
//! The line is built here, purely; [`crate::Steps`] prints it only inside a Lambda function
//! (see [`emf_enabled`]), so the local runtime, which runs the same step in-process, does not
//! write metric lines to the terminal.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The CloudWatch namespace of copyflow's metrics.
pub const NAMESPACE: &str = "Copyflow";
/// The dimension that splits every metric by how the execution ended.
pub const OUTCOME_DIMENSION: &str = "Outcome";
/// The dimension that tells deployments apart: the verify-copy function's name, unique per
/// stack, so two pipelines in one account and Region never share a latency percentile.
pub const FUNCTION_DIMENSION: &str = "FunctionName";
/// Seconds from the S3 event's `time` to the end of verification.
pub const LATENCY_METRIC: &str = "EventToVerifiedLatency";
/// Bytes the copy step wrote (0 when the destination already held the object).
pub const BYTES_METRIC: &str = "BytesCopied";
/// 1 per verified (or refused) execution: its sum per minute is copies per minute.
pub const EXECUTIONS_METRIC: &str = "Executions";
/// The outcome of an execution whose copy was verified identical (the `Copied` state).
pub const COPIED: &str = "Copied";

/// What one execution's verify step came to, in the figures the metrics carry.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedExecution {
    /// `Copied`, or the error name the step failed with (`ChecksumMismatch`, ...).
    pub outcome: String,
    /// Seconds from the event to now; None when the event time could not be read (then the
    /// line carries no latency rather than a wrong one).
    pub latency_seconds: Option<f64>,
    /// Bytes the copy wrote.
    pub bytes_copied: u64,
    /// The object key, as a searchable log property (not a dimension: keys are unbounded).
    pub key: String,
    /// The verify-copy function's name (`AWS_LAMBDA_FUNCTION_NAME`): the deployment.
    pub function: String,
}

/// Seconds from `event_time` (RFC 3339, as the job carries it) to `now`; never negative (a
/// clock a little behind EventBridge's is not a negative latency).
pub fn latency_seconds(event_time: &str, now: OffsetDateTime) -> Option<f64> {
    let at = OffsetDateTime::parse(event_time, &Rfc3339).ok()?;
    Some((now - at).as_seconds_f64().max(0.0))
}

/// The EMF document for one execution at `timestamp` (the time the metrics are for).
pub fn emf_document(execution: &VerifiedExecution, timestamp: OffsetDateTime) -> Value {
    let mut metrics = Vec::with_capacity(3);
    if execution.latency_seconds.is_some() {
        metrics.push(json!({"Name": LATENCY_METRIC, "Unit": "Seconds"}));
    }
    metrics.push(json!({"Name": BYTES_METRIC, "Unit": "Bytes"}));
    metrics.push(json!({"Name": EXECUTIONS_METRIC, "Unit": "Count"}));
    let millis = timestamp.unix_timestamp_nanos() / 1_000_000;
    let mut doc = json!({
        "_aws": {
            "Timestamp": i64::try_from(millis).unwrap_or(i64::MAX),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                // Per deployment by outcome, and per deployment over every outcome.
                "Dimensions": [[FUNCTION_DIMENSION, OUTCOME_DIMENSION], [FUNCTION_DIMENSION]],
                "Metrics": metrics,
            }],
        },
        FUNCTION_DIMENSION: execution.function,
        OUTCOME_DIMENSION: execution.outcome,
        BYTES_METRIC: execution.bytes_copied,
        EXECUTIONS_METRIC: 1,
        "key": execution.key,
    });
    if let Some(seconds) = execution.latency_seconds {
        doc[LATENCY_METRIC] = json!(seconds);
    }
    doc
}

/// The EMF line (one JSON object, no newline) for one execution.
pub fn emf_line(execution: &VerifiedExecution, timestamp: OffsetDateTime) -> String {
    emf_document(execution, timestamp).to_string()
}

/// Whether this process is a Lambda function, the only place an EMF line on stdout becomes a
/// metric: Lambda sets `AWS_LAMBDA_FUNCTION_NAME` in every function's environment
/// (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>);
/// the local runtime does not.
pub fn emf_enabled() -> bool {
    lambda_function_name().is_some()
}

/// `AWS_LAMBDA_FUNCTION_NAME`, when this process is a Lambda function.
pub fn lambda_function_name() -> Option<String> {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME")
        .ok()
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// CloudWatch's unit names (PutMetricData `StandardUnit`).
    const UNITS: &[&str] = &[
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ];

    fn copied() -> VerifiedExecution {
        VerifiedExecution {
            outcome: COPIED.to_owned(),
            latency_seconds: Some(12.5),
            bytes_copied: 1024,
            key: "a/b.txt".to_owned(),
            function: "Copyflow-VerifyCopy1234".to_owned(),
        }
    }

    /// Checks `line` against the EMF specification's structure rules and returns the document.
    fn assert_valid_emf(line: &str) -> Value {
        assert!(!line.contains('\n'), "one line: {line}");
        let doc: Value = serde_json::from_str(line).unwrap();
        let root = doc.as_object().unwrap();
        let aws = root["_aws"].as_object().unwrap();
        assert!(aws["Timestamp"].is_i64(), "Timestamp is a number of ms");
        let directives = aws["CloudWatchMetrics"].as_array().unwrap();
        assert!(!directives.is_empty());
        for d in directives {
            let d = d.as_object().unwrap();
            let ns = d["Namespace"].as_str().unwrap();
            assert!(!ns.is_empty() && ns.len() <= 1024);
            for set in d["Dimensions"].as_array().unwrap() {
                let set = set.as_array().unwrap();
                assert!(set.len() <= 30);
                for key in set {
                    let key = key.as_str().unwrap();
                    assert!(root[key].is_string(), "dimension {key} is a string member");
                }
            }
            let metrics = d["Metrics"].as_array().unwrap();
            assert!(!metrics.is_empty() && metrics.len() <= 100);
            for m in metrics {
                let name = m["Name"].as_str().unwrap();
                assert!(!name.is_empty() && name.len() <= 1024);
                assert!(root[name].is_number(), "metric {name} is a number member");
                if let Some(unit) = m.get("Unit") {
                    assert!(UNITS.contains(&unit.as_str().unwrap()), "{unit} is a unit");
                }
            }
        }
        doc
    }

    #[test]
    fn a_verified_copy_is_one_valid_emf_line_with_latency_bytes_and_outcome() {
        let at = datetime!(2026-01-02 03:04:05.678 UTC);
        let doc = assert_valid_emf(&emf_line(&copied(), at));
        assert_eq!(doc["_aws"]["Timestamp"], 1_767_323_045_678_i64);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(
            directive["Dimensions"],
            json!([["FunctionName", "Outcome"], ["FunctionName"]])
        );
        assert_eq!(doc["FunctionName"], "Copyflow-VerifyCopy1234");
        assert_eq!(
            directive["Metrics"],
            json!([
                {"Name": "EventToVerifiedLatency", "Unit": "Seconds"},
                {"Name": "BytesCopied", "Unit": "Bytes"},
                {"Name": "Executions", "Unit": "Count"},
            ])
        );
        assert_eq!(doc["Outcome"], "Copied");
        assert_eq!(doc["EventToVerifiedLatency"], 12.5);
        assert_eq!(doc["BytesCopied"], 1024);
        assert_eq!(doc["Executions"], 1);
        assert_eq!(doc["key"], "a/b.txt");
    }

    #[test]
    fn an_unreadable_event_time_leaves_the_latency_out_rather_than_wrong() {
        let mut e = copied();
        e.latency_seconds = None;
        e.outcome = "ChecksumMismatch".to_owned();
        let doc = assert_valid_emf(&emf_line(&e, OffsetDateTime::UNIX_EPOCH));
        assert!(doc.get(LATENCY_METRIC).is_none());
        let names: Vec<&str> = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["BytesCopied", "Executions"]);
        assert_eq!(doc["Outcome"], "ChecksumMismatch");
    }

    #[test]
    fn latency_is_measured_from_the_event_time_and_never_negative() {
        let now = datetime!(2020-04-06 12:35:06.250 UTC);
        assert_eq!(latency_seconds("2020-04-06T12:34:56Z", now), Some(10.25));
        assert_eq!(latency_seconds("2020-04-06T12:34:56.250Z", now), Some(10.0));
        assert_eq!(latency_seconds("2020-04-06T12:40:00Z", now), Some(0.0));
        assert_eq!(latency_seconds("yesterday", now), None);
    }

    #[test]
    fn keys_with_quotes_and_newlines_stay_on_one_line() {
        let mut e = copied();
        e.key = "we\"ird\nkey".to_owned();
        let doc = assert_valid_emf(&emf_line(&e, OffsetDateTime::UNIX_EPOCH));
        assert_eq!(doc["key"], "we\"ird\nkey");
    }
}
