//! The figures of `copyflow stats`, computed from execution descriptions: executions by
//! outcome, copies per minute, bytes copied, failures by error name, and the event-to-verified
//! latency (the S3 event's `time` to the execution's stop) at p50, p99 and max. They are the
//! figures the deployed dashboard shows from verify-copy's EMF metrics
//! (`copyflow_core::metrics`), computed here from what Step Functions records, so a local run
//! and a deployed pipeline are read the same way.
//!
//! Pure: the command reads the descriptions (ListExecutions + DescribeExecution) and hands them
//! to [`Record::from_description`] and [`aggregate`].

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One execution as the statistics see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED.
    pub status: String,
    /// The terminal state it ended in (Copied, Skipped, Superseded, KeyRejected, CopyFailed,
    /// VerificationFailed, ...); the status for timed-out, aborted and running ones.
    pub outcome: String,
    /// The error name a failed execution ended with (`SourceNotFound` for a `CopyFailed`,
    /// `ChecksumMismatch` for a `VerificationFailed`, ...); the status for timed-out and
    /// aborted ones; None otherwise.
    pub error: Option<String>,
    /// The S3 event's `time`, seconds since the epoch, when the input carries one.
    pub event_time: Option<f64>,
    /// When the execution started, seconds since the epoch.
    pub start: f64,
    /// When it stopped, if it has.
    pub stop: Option<f64>,
    /// Bytes the copy step wrote (0 when the destination already held the object).
    pub bytes_copied: u64,
}

impl Record {
    /// The record of one DescribeExecution answer (`input` and `output` parsed, the error
    /// name of a failed one, start and stop in seconds since the epoch) and, for a failed
    /// one, the Fail state it ended in (from its history; without it the error name stands
    /// in).
    pub fn from_description(
        status: &str,
        input: Option<&Value>,
        output: Option<&Value>,
        error: Option<&str>,
        fail_state: Option<&str>,
        start: f64,
        stop: Option<f64>,
    ) -> Record {
        let error = error.filter(|e| !e.is_empty());
        let (outcome, error) = match (status, output) {
            ("SUCCEEDED", Some(out)) => (success_outcome(out), None),
            ("SUCCEEDED", None) => ("Copied", None),
            ("FAILED", _) => {
                let error = error.unwrap_or("FAILED");
                (fail_state.unwrap_or(error), Some(error))
            }
            ("TIMED_OUT" | "ABORTED", _) => (status, Some(status)),
            (other, _) => (other, None),
        };
        let bytes_copied = output
            .map(|out| &out["copy"])
            .filter(|copy| copy["status"] == "copied")
            .and_then(|copy| copy["source"]["size"].as_u64())
            .unwrap_or(0);
        Record {
            status: status.to_owned(),
            outcome: outcome.to_owned(),
            error: error.map(str::to_owned),
            event_time: input
                .and_then(|i| i["time"].as_str())
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                .map(|t| t.unix_timestamp_nanos() as f64 / 1e9),
            start,
            stop,
            bytes_copied,
        }
    }
}

/// Which Succeed state a successful execution's output came from: verified (`Copied`), a
/// skip (`Skipped`: validate-key's `action` is `skip`), or neither (`Superseded`: the source
/// changed before the copy).
fn success_outcome(output: &Value) -> &'static str {
    if output.get("verify").is_some_and(|v| !v.is_null()) {
        "Copied"
    } else if output["action"] == "skip" {
        "Skipped"
    } else {
        "Superseded"
    }
}

/// Latency percentiles, seconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Latency {
    /// Executions measured (Copied ones with an event time and a stop).
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// The slowest.
    pub max: f64,
}

/// What `copyflow stats` reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Executions counted.
    pub executions: u64,
    /// Executions by outcome.
    pub by_outcome: BTreeMap<String, u64>,
    /// Unsuccessful executions by error name (timed-out and aborted ones under their status).
    pub failures_by_error: BTreeMap<String, u64>,
    /// Copied executions.
    pub copies: u64,
    /// Copied executions per minute over [`Stats::window_seconds`].
    pub copies_per_minute: f64,
    /// The time the rate is over: the `--since` duration, or from the first execution's
    /// start to the last one's stop.
    pub window_seconds: f64,
    /// Bytes the copies wrote.
    pub bytes_copied: u64,
    /// Event-to-verified latency of the Copied executions; None when there is none.
    pub latency: Option<Latency>,
}

/// The figures over `records`. `window` is the `--since` duration in seconds, if one was given
/// (the records are already those that started within it).
pub fn aggregate(records: &[Record], window: Option<f64>) -> Stats {
    let mut by_outcome = BTreeMap::new();
    let mut failures_by_error = BTreeMap::new();
    let mut latencies = Vec::new();
    let (mut copies, mut bytes_copied) = (0, 0);
    for r in records {
        *by_outcome.entry(r.outcome.clone()).or_insert(0) += 1;
        if let Some(error) = &r.error {
            *failures_by_error.entry(error.clone()).or_insert(0) += 1;
        }
        bytes_copied += r.bytes_copied;
        if r.outcome == "Copied" {
            copies += 1;
            if let (Some(event), Some(stop)) = (r.event_time, r.stop) {
                latencies.push((stop - event).max(0.0));
            }
        }
    }
    let window_seconds = window.unwrap_or_else(|| {
        let first = records.iter().map(|r| r.start).reduce(f64::min);
        let last = records.iter().filter_map(|r| r.stop).reduce(f64::max);
        match (first, last) {
            (Some(first), Some(last)) => (last - first).max(0.0),
            _ => 0.0,
        }
    });
    // Under a second of activity is a burst, not a rate: count it as one second.
    let copies_per_minute = copies as f64 * 60.0 / window_seconds.max(1.0);
    Stats {
        executions: records.len() as u64,
        by_outcome,
        failures_by_error,
        copies,
        copies_per_minute,
        window_seconds,
        bytes_copied,
        latency: latency(latencies),
    }
}

fn latency(mut values: Vec<f64>) -> Option<Latency> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(Latency {
        count: values.len() as u64,
        p50: percentile(&values, 50.0),
        p99: percentile(&values, 99.0),
        max: values[values.len() - 1],
    })
}

/// The nearest-rank percentile of sorted, non-empty `values`: the smallest value with at
/// least `p` percent of the values at or below it.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// `15m`, `2h`, `30s`, `1d` (or a bare number of seconds) in seconds.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => {
            return Err(format!(
                "{text:?}: use a number with s, m, h or d (e.g. 15m)"
            ));
        }
    };
    match number.parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() => Ok(n * scale),
        _ => Err(format!(
            "{text:?}: use a positive number with s, m, h or d (e.g. 15m)"
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn copied(event: f64, stop: f64, bytes: u64) -> Record {
        Record {
            status: "SUCCEEDED".into(),
            outcome: "Copied".into(),
            error: None,
            event_time: Some(event),
            start: event + 0.1,
            stop: Some(stop),
            bytes_copied: bytes,
        }
    }

    #[test]
    fn outcomes_come_from_the_output_of_a_success_and_the_error_of_a_failure() {
        let input = json!({"time": "2020-04-06T12:34:56Z"});
        let out = json!({"job": {}, "copy": {"status": "copied", "source": {"size": 42}}, "verify": {"status": "verified"}});
        let r = Record::from_description(
            "SUCCEEDED",
            Some(&input),
            Some(&out),
            None,
            None,
            1.0,
            Some(2.0),
        );
        assert_eq!(r.outcome, "Copied");
        assert_eq!(r.bytes_copied, 42);
        assert_eq!(r.event_time, Some(1_586_176_496.0));
        let present =
            json!({"copy": {"status": "already-present", "source": {"size": 42}}, "verify": {}});
        let r = Record::from_description(
            "SUCCEEDED",
            None,
            Some(&present),
            None,
            None,
            1.0,
            Some(2.0),
        );
        assert_eq!((r.outcome.as_str(), r.bytes_copied), ("Copied", 0));
        let skip = json!({"action": "skip", "reason": "folder marker"});
        let r =
            Record::from_description("SUCCEEDED", None, Some(&skip), None, None, 1.0, Some(2.0));
        assert_eq!(r.outcome, "Skipped");
        let superseded = json!({"action": "copy", "error": {"Error": "SourceChanged"}});
        let r =
            Record::from_description("SUCCEEDED", None, Some(&superseded), None, None, 1.0, None);
        assert_eq!(r.outcome, "Superseded");
        let r = Record::from_description(
            "FAILED",
            Some(&input),
            None,
            Some("SourceNotFound"),
            Some("CopyFailed"),
            1.0,
            Some(2.0),
        );
        assert_eq!(
            (r.outcome.as_str(), r.error.as_deref()),
            ("CopyFailed", Some("SourceNotFound"))
        );
        let r =
            Record::from_description("FAILED", None, None, Some("KeyRejected"), None, 1.0, None);
        assert_eq!(
            (r.outcome.as_str(), r.error.as_deref()),
            ("KeyRejected", Some("KeyRejected"))
        );
        let r = Record::from_description("TIMED_OUT", None, None, None, None, 1.0, Some(2.0));
        assert_eq!(
            (r.outcome.as_str(), r.error.as_deref()),
            ("TIMED_OUT", Some("TIMED_OUT"))
        );
        let r = Record::from_description("RUNNING", None, None, None, None, 1.0, None);
        assert_eq!((r.outcome.as_str(), r.error), ("RUNNING", None));
    }

    #[test]
    fn aggregates_counts_rate_bytes_failures_and_latency_percentiles() {
        let mut records: Vec<Record> = (0..100)
            .map(|i| copied(1000.0, 1000.0 + f64::from(i + 1), 10))
            .collect();
        records.push(Record {
            status: "FAILED".into(),
            outcome: "CopyFailed".into(),
            error: Some("SourceNotFound".into()),
            event_time: Some(1000.0),
            start: 1000.0,
            stop: Some(1001.0),
            bytes_copied: 0,
        });
        records.push(Record {
            status: "SUCCEEDED".into(),
            outcome: "Skipped".into(),
            error: None,
            event_time: Some(1000.0),
            start: 1000.0,
            stop: Some(1000.5),
            bytes_copied: 0,
        });
        let s = aggregate(&records, None);
        assert_eq!(s.executions, 102);
        assert_eq!(s.copies, 100);
        assert_eq!(s.bytes_copied, 1000);
        assert_eq!(s.by_outcome["Copied"], 100);
        assert_eq!(s.by_outcome["Skipped"], 1);
        assert_eq!(s.by_outcome["CopyFailed"], 1);
        assert_eq!(
            s.failures_by_error,
            BTreeMap::from([("SourceNotFound".to_owned(), 1)])
        );
        let l = s.latency.unwrap();
        assert_eq!((l.count, l.p50, l.p99, l.max), (100, 50.0, 99.0, 100.0));
        assert_eq!(s.window_seconds, 100.0);
        assert_eq!(s.copies_per_minute, 60.0);
        assert_eq!(aggregate(&records, Some(600.0)).copies_per_minute, 10.0);
    }

    #[test]
    fn nothing_recorded_is_zeroes_and_no_latency() {
        let s = aggregate(&[], None);
        assert_eq!((s.executions, s.copies, s.bytes_copied), (0, 0, 0));
        assert_eq!(s.copies_per_minute, 0.0);
        assert!(s.latency.is_none());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[1.0, 2.0], 50.0), 1.0);
        assert_eq!(percentile(&[1.0, 2.0], 99.0), 2.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.0), 1.0);
    }

    #[test]
    fn durations_take_seconds_minutes_hours_and_days() {
        assert_eq!(parse_duration("15m"), Ok(900.0));
        assert_eq!(parse_duration("2h"), Ok(7200.0));
        assert_eq!(parse_duration("1d"), Ok(86400.0));
        assert_eq!(parse_duration("30"), Ok(30.0));
        assert_eq!(parse_duration("1.5m"), Ok(90.0));
        assert!(parse_duration("15 minutes").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("").is_err());
    }
}
