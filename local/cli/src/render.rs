//! An execution's path through the state graph, from its history: the terminal counterpart
//! of the Step Functions console's graph view. Pure: the same code renders histories from
//! the local engine and from AWS (via aws-sdk-sfn).

use std::fmt::Write as _;

use serde_json::Value;

/// The parts of a history event the path needs (from the GetExecutionHistory shape).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event id (1, 2, ...).
    pub id: i64,
    /// Seconds since the epoch.
    pub timestamp: f64,
    /// The event type (`TaskStateEntered`, ...).
    pub kind: String,
    /// The state name, on StateEntered/StateExited events.
    pub state: Option<String>,
    /// Error name on failure events.
    pub error: Option<String>,
    /// The cause on failure events.
    pub cause: Option<String>,
}

impl Event {
    /// From one GetExecutionHistory event in JSON form.
    pub fn from_json(v: &Value) -> Event {
        let details = v.as_object().and_then(|o| {
            o.iter()
                .find(|(k, _)| k.ends_with("EventDetails"))
                .map(|(_, d)| d)
        });
        let text = |k: &str| {
            details
                .and_then(|d| d.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Event {
            id: v["id"].as_i64().unwrap_or(0),
            timestamp: v["timestamp"].as_f64().unwrap_or(0.0),
            kind: v["type"].as_str().unwrap_or_default().to_owned(),
            state: text("name"),
            error: text("error"),
            cause: text("cause"),
        }
    }
}

impl Event {
    /// From one event of the local engine's history, read in place (no JSON in between).
    pub fn from_history(e: &copyflow_asl::HistoryEvent) -> Event {
        use copyflow_asl::EventDetails as D;
        let (state, error, cause) = match &e.details {
            D::StateEntered { name, .. } | D::StateExited { name, .. } => {
                (Some(name.clone()), None, None)
            }
            D::ExecutionFailed { error, cause }
            | D::TaskFailed { error, cause, .. }
            | D::LambdaFunctionFailed { error, cause } => (None, error.clone(), cause.clone()),
            _ => (None, None, None),
        };
        Event {
            id: e.id as i64,
            timestamp: e.timestamp.unix_timestamp_nanos() as f64 / 1e9,
            kind: e.event_type.name().to_owned(),
            state,
            error,
            cause,
        }
    }
}

/// One visit of a state.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    /// The state name.
    pub state: String,
    /// Its type, from the entered event (`Task`, `Choice`, ...).
    pub kind: String,
    /// From entered to exited, when it exited.
    pub seconds: Option<f64>,
    /// Failed task attempts that were retried (or caught).
    pub failed_attempts: Vec<String>,
}

/// The whole path plus how the execution ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// The states in the order they were entered.
    pub visits: Vec<Visit>,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
    pub status: String,
    /// The execution's error, when it failed.
    pub error: Option<String>,
    /// The execution's cause, when it failed.
    pub cause: Option<String>,
    /// From start to end, when it ended.
    pub seconds: Option<f64>,
}

/// The path an execution took, from its history events in order.
pub fn path(events: &[Event]) -> Path {
    let mut visits: Vec<Visit> = Vec::new();
    let mut open: Option<(usize, f64)> = None;
    let mut status = "RUNNING".to_owned();
    let (mut error, mut cause) = (None, None);
    let start = events.first().map(|e| e.timestamp);
    let mut end = None;
    for e in events {
        if let Some(kind) = e.kind.strip_suffix("StateEntered") {
            visits.push(Visit {
                state: e.state.clone().unwrap_or_default(),
                kind: kind.to_owned(),
                seconds: None,
                failed_attempts: Vec::new(),
            });
            open = Some((visits.len() - 1, e.timestamp));
        } else if e.kind.ends_with("StateExited") {
            if let Some((i, t)) = open.take() {
                visits[i].seconds = Some(e.timestamp - t);
            }
        } else if (e.kind.ends_with("Failed") || e.kind.ends_with("TimedOut"))
            && !e.kind.starts_with("Execution")
            && let (Some((i, _)), Some(err)) = (open, &e.error)
        {
            visits[i].failed_attempts.push(err.clone());
        }
        match e.kind.as_str() {
            "ExecutionSucceeded" => status = "SUCCEEDED".into(),
            "ExecutionFailed" => status = "FAILED".into(),
            "ExecutionTimedOut" => status = "TIMED_OUT".into(),
            "ExecutionAborted" => status = "ABORTED".into(),
            _ => continue,
        }
        error = e.error.clone();
        cause = e.cause.clone();
        end = Some(e.timestamp);
    }
    Path {
        visits,
        status,
        error,
        cause,
        seconds: start.zip(end).map(|(s, e)| e - s),
    }
}

impl Path {
    /// The terminal state (the outcome name: Copied, Skipped, KeyRejected, ...).
    pub fn outcome(&self) -> &str {
        self.visits.last().map_or("", |v| v.state.as_str())
    }

    /// `ValidateKey 3ms → IsCopyNeeded → CopyObject 12ms (retried: S3Transient) → ... → Copied`
    pub fn one_line(&self) -> String {
        let mut out = String::new();
        for (i, v) in self.visits.iter().enumerate() {
            if i > 0 {
                out.push_str(" → ");
            }
            out.push_str(&v.state);
            if v.kind == "Task"
                && let Some(s) = v.seconds
            {
                let _ = write!(out, " {}", duration(s));
            }
            if !v.failed_attempts.is_empty() {
                let _ = write!(out, " (failed: {})", v.failed_attempts.join(", "));
            }
        }
        out
    }
}

/// A duration for people: `12ms` under a second, else seconds with one decimal.
pub fn duration(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.0}ms", seconds * 1000.0)
    } else {
        format!("{seconds:.2}s")
    }
}

/// What the step outputs say about a finished execution: how it was copied and proven.
pub fn summary(output: Option<&Value>, path: &Path) -> Option<String> {
    if let (Some(e), Some(c)) = (&path.error, &path.cause) {
        // A Lambda error's cause is its error JSON: show the message, whole.
        let message = serde_json::from_str::<Value>(c)
            .ok()
            .and_then(|v| v["errorMessage"].as_str().map(str::to_owned))
            .unwrap_or_else(|| c.clone());
        return Some(format!(
            "{}: {}",
            crate::output::escape(e),
            crate::output::escape(&message)
        ));
    }
    let out = output?;
    if out["action"] == "skip" {
        return out["message"].as_str().map(str::to_owned);
    }
    let copy = &out["copy"];
    let how = match copy["status"].as_str()? {
        "already-present" => "already in the destination, nothing copied".to_owned(),
        _ if copy["method"] == "multipart" => {
            format!("multipart copy, {} parts", copy["partsTotal"])
        }
        _ => "CopyObject".to_owned(),
    };
    let verify = &out["verify"];
    let proof = match verify["method"].as_str() {
        Some("stored-checksum") => format!(
            "verified by stored {} ({} bytes read)",
            verify["algorithm"].as_str().unwrap_or_default(),
            verify["bytesRead"]
        ),
        Some(m) => format!(
            "verified by {m} {} ({} bytes read)",
            verify["algorithm"].as_str().unwrap_or_default(),
            verify["bytesRead"]
        ),
        None => String::new(),
    };
    // Versioned buckets: the copy read exactly the event's version and wrote a new one.
    let versions = match (
        copy["source"]["versionId"].as_str(),
        copy["destination"]["versionId"].as_str(),
    ) {
        (Some(from), Some(to)) => format!(
            ", version {} → {}",
            crate::output::escape(from),
            crate::output::escape(to)
        ),
        (Some(from), None) => format!(", version {}", crate::output::escape(from)),
        _ => String::new(),
    };
    Some(format!(
        "{} bytes, {how}{versions}; {proof}",
        copy["source"]["size"]
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_versions_a_pinned_copy_read_and_wrote() {
        let done = path(&[ev(1, 0.0, "ExecutionSucceeded", None, None)]);
        let output = serde_json::json!({
            "copy": {"status": "copied", "method": "copy-object",
                     "source": {"size": 4, "versionId": "v-src"},
                     "destination": {"versionId": "v-dst"}},
            "verify": {"method": "stored-checksum", "algorithm": "CRC32", "bytesRead": 0}
        });
        assert_eq!(
            summary(Some(&output), &done).unwrap(),
            "4 bytes, CopyObject, version v-src → v-dst; verified by stored CRC32 (0 bytes read)"
        );
        let unversioned = serde_json::json!({
            "copy": {"status": "copied", "method": "copy-object", "source": {"size": 4}, "destination": {}},
            "verify": {"method": "stored-checksum", "algorithm": "CRC32", "bytesRead": 0}
        });
        assert_eq!(
            summary(Some(&unversioned), &done).unwrap(),
            "4 bytes, CopyObject; verified by stored CRC32 (0 bytes read)"
        );
    }

    fn ev(id: i64, t: f64, kind: &str, state: Option<&str>, error: Option<&str>) -> Event {
        Event {
            id,
            timestamp: t,
            kind: kind.into(),
            state: state.map(Into::into),
            error: error.map(Into::into),
            cause: None,
        }
    }

    #[test]
    fn a_copied_execution_renders_its_states_in_order_with_task_timings() {
        let events = [
            ev(1, 0.0, "ExecutionStarted", None, None),
            ev(2, 0.0, "TaskStateEntered", Some("ValidateKey"), None),
            ev(3, 0.004, "TaskStateExited", Some("ValidateKey"), None),
            ev(4, 0.004, "ChoiceStateEntered", Some("IsCopyNeeded"), None),
            ev(5, 0.004, "ChoiceStateExited", Some("IsCopyNeeded"), None),
            ev(6, 0.004, "TaskStateEntered", Some("CopyObject"), None),
            ev(7, 0.010, "LambdaFunctionFailed", None, Some("S3Transient")),
            ev(8, 0.030, "TaskStateExited", Some("CopyObject"), None),
            ev(9, 0.030, "SucceedStateEntered", Some("Copied"), None),
            ev(10, 0.030, "SucceedStateExited", Some("Copied"), None),
            ev(11, 0.031, "ExecutionSucceeded", None, None),
        ];
        let p = path(&events);
        assert_eq!(p.status, "SUCCEEDED");
        assert_eq!(p.outcome(), "Copied");
        assert_eq!(
            p.one_line(),
            "ValidateKey 4ms → IsCopyNeeded → CopyObject 26ms (failed: S3Transient) → Copied"
        );
        assert!((p.seconds.unwrap() - 0.031).abs() < 1e-9);
    }

    #[test]
    fn a_failed_execution_keeps_its_error_and_cause() {
        let mut end = ev(4, 1.0, "ExecutionFailed", None, Some("KeyRejected"));
        end.cause = Some("key rejected".into());
        let events = [
            ev(1, 0.0, "ExecutionStarted", None, None),
            ev(2, 0.0, "FailStateEntered", Some("KeyRejected"), None),
            end,
        ];
        let p = path(&events);
        assert_eq!(
            (p.status.as_str(), p.error.as_deref(), p.cause.as_deref()),
            ("FAILED", Some("KeyRejected"), Some("key rejected"))
        );
    }

    #[test]
    fn events_are_read_from_the_get_execution_history_json_shape() {
        let v = serde_json::json!({"id": 2, "timestamp": 1.5, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "ValidateKey", "input": "{}"}});
        let e = Event::from_json(&v);
        assert_eq!(
            (e.id, e.kind.as_str(), e.state.as_deref()),
            (2, "TaskStateEntered", Some("ValidateKey"))
        );
    }
}
