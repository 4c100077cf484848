//! The demo's closing report: a pure function from each execution's typed result to the
//! lines printed, and whether every execution ended as expected (the exit status).

use std::collections::BTreeMap;

use super::outcome::{Outcome, Output};
use super::scenarios::Expectation;
use crate::render;

/// The width of the object column; longer keys are cut with an ellipsis.
const KEY_WIDTH: usize = 52;

/// One finished execution, with what it should have ended as.
#[derive(Clone, Debug)]
pub(super) struct Ended {
    /// The object key from the execution's event.
    pub key: String,
    pub outcome: Outcome,
    /// `None` for an execution the demo did not cause.
    pub expected: Option<Expectation>,
    pub output: Output,
}

/// The lines to print, and whether the demo succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Report {
    pub lines: Vec<String>,
    pub ok: bool,
}

/// The table of executions against their expectations, then the summary.
pub(super) fn report(ended: &[Ended], elapsed_seconds: f64) -> Report {
    let mut lines = vec![
        String::new(),
        format!("{:<11} {:<KEY_WIDTH$} expected", "outcome", "object"),
    ];
    let mut ok = true;
    for e in ended {
        ok &= row(e, &mut lines);
    }
    lines.extend(summary(ended, elapsed_seconds, ok));
    Report { lines, ok }
}

/// Pushes the execution's row (and a line for output it cannot read); true if it ended as
/// expected with an output the demo can read: an unreadable one means the demo and the
/// steps' types disagree, which must fail the run, not pass it quietly.
fn row(e: &Ended, lines: &mut Vec<String>) -> bool {
    let good = e.expected.as_ref().is_some_and(|x| x.outcome == e.outcome);
    let verdict = match (&e.expected, good) {
        (Some(x), true) => format!("ok {}", x.why),
        (Some(x), false) => format!("MISMATCH, expected {}", x.outcome),
        (None, _) => "MISMATCH, expected ?".to_owned(),
    };
    let key = truncate(&copyflow::output::escape(&e.key), KEY_WIDTH);
    lines.push(format!("{:<11} {key:<KEY_WIDTH$} {verdict}", e.outcome));
    if let Output::Unreadable(why) = &e.output {
        lines.push(format!(
            "            output not readable as a final state: {why}"
        ));
        return false;
    }
    good
}

/// Outcome counts, bytes copied and verification methods over all executions.
fn summary(ended: &[Ended], elapsed_seconds: f64, ok: bool) -> Vec<String> {
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut methods: BTreeMap<String, usize> = BTreeMap::new();
    let mut bytes = 0u64;
    for e in ended {
        *outcomes.entry(e.outcome.as_str()).or_default() += 1;
        if let Output::Read(state) = &e.output {
            bytes += state.bytes_copied();
            if let Some(m) = state.verify_method() {
                *methods.entry(m).or_default() += 1;
            }
        }
    }
    let join = |parts: Vec<String>| parts.join(", ");
    vec![
        String::new(),
        format!(
            "summary: {} executions in {}",
            ended.len(),
            render::duration(elapsed_seconds)
        ),
        format!(
            "  outcomes: {}",
            join(outcomes.iter().map(|(k, v)| format!("{k} {v}")).collect())
        ),
        format!("  bytes copied: {bytes}"),
        format!(
            "  copies verified identical: {}",
            join(methods.iter().map(|(k, v)| format!("{v} by {k}")).collect())
        ),
        format!(
            "  {}",
            if ok {
                "every execution ended as expected"
            } else {
                "SOME EXECUTIONS ENDED UNEXPECTEDLY"
            }
        ),
    ]
}

/// `s` cut to `n` characters, the last one an ellipsis when anything was cut.
fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A Copied execution's output as the state machine leaves it (fields the report does not
    /// read trimmed to what the types require).
    const COPIED: &str = r#"{
        "job": {"ignored": true},
        "copy": {"status": "copied", "method": "multipart",
                 "source": {"key": "k", "size": 1000, "etag": "e", "headers": {}},
                 "destinationKey": "k", "partsTotal": 2, "partsDone": 2, "requests": 5},
        "verify": {"verdict": "identical", "method": "stored-checksum", "algorithm": "CRC64NVME",
                   "sourceChecksum": "a", "destinationChecksum": "a", "size": 1000,
                   "compared": [], "bytesRead": 0, "requests": 2}
    }"#;

    fn ended(key: &str, outcome: Outcome, expected: Option<Outcome>, output: Output) -> Ended {
        Ended {
            key: key.to_owned(),
            outcome,
            expected: expected.map(|outcome| Expectation {
                outcome,
                why: "because",
            }),
            output,
        }
    }

    #[test]
    fn executions_that_end_as_expected_make_a_successful_report() {
        let copied = Output::parse(Some(COPIED));
        let again = Output::parse(Some(&COPIED.replace(r#""copied""#, r#""already-present""#)));
        let r = report(
            &[
                ended("a/b", Outcome::Copied, Some(Outcome::Copied), copied),
                ended("a/b", Outcome::Copied, Some(Outcome::Copied), again),
                ended(
                    "x",
                    Outcome::KeyRejected,
                    Some(Outcome::KeyRejected),
                    Output::Absent,
                ),
            ],
            1.5,
        );
        assert!(r.ok);
        assert_eq!(
            r.lines[1].trim_end(),
            format!("outcome     {:<52} expected", "object")
        );
        assert_eq!(r.lines[2], format!("Copied      {:<52} ok because", "a/b"));
        assert!(
            r.lines
                .contains(&"  outcomes: Copied 2, KeyRejected 1".to_owned())
        );
        assert!(
            r.lines.contains(&"  bytes copied: 1000".to_owned()),
            "already-present copies nothing"
        );
        assert!(
            r.lines
                .contains(&"  copies verified identical: 2 by stored-checksum".to_owned())
        );
        assert_eq!(
            r.lines.last().unwrap(),
            "  every execution ended as expected"
        );
    }

    #[test]
    fn a_wrong_or_unexpected_outcome_fails_the_report() {
        let r = report(
            &[
                ended(
                    "a",
                    Outcome::Copied,
                    Some(Outcome::Superseded),
                    Output::Absent,
                ),
                ended(
                    "b",
                    Outcome::Other("CopyFailed".into()),
                    None,
                    Output::Absent,
                ),
            ],
            0.0,
        );
        assert!(!r.ok);
        assert!(r.lines[2].ends_with("MISMATCH, expected Superseded"));
        assert!(r.lines[3].starts_with("CopyFailed "));
        assert!(r.lines[3].ends_with("MISMATCH, expected ?"));
        assert_eq!(
            r.lines.last().unwrap(),
            "  SOME EXECUTIONS ENDED UNEXPECTEDLY"
        );
    }

    #[test]
    fn unreadable_output_is_a_line_of_the_report_and_fails_it_not_a_panic() {
        let output = Output::parse(Some(r#"{"copy": 7}"#));
        let r = report(
            &[ended("a", Outcome::Copied, Some(Outcome::Copied), output)],
            0.0,
        );
        assert!(
            r.lines[3].contains("output not readable as a final state"),
            "{:?}",
            r.lines
        );
        assert!(r.lines.contains(&"  bytes copied: 0".to_owned()));
        assert!(!r.ok, "an output the demo cannot read fails the run");
    }

    #[test]
    fn long_keys_are_cut_with_an_ellipsis() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abcd", 4), "abcd");
    }
}
