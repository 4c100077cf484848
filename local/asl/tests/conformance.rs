//! Conformance with AWS Step Functions: runs every case of the recorded corpus
//! (`tests/fixtures/asl/cases.json` at the repository root, see the README beside it) on the
//! engine and compares the results with what AWS recorded.
//!
//! Prints `asl conformance: N passed, M failed` over the whole corpus at the (type, details)
//! tier, and the stricter id/previousEventId tier. Fails if a case outside
//! `tests/expected_failures.txt` fails, or if a listed case passes (so the list only shrinks).
//! `ASL_CONFORMANCE_CASES` overrides the corpus path; `ASL_CONFORMANCE_VERBOSE=1` prints every
//! failure's first difference; `ASL_CONFORMANCE_ONLY=<substring>` runs matching cases only.
//! A corpus that cannot be read fails the test with where it was looked for and how to
//! restore it; it never passes by running nothing.
//!
//! Each case runs on its own current-thread runtime with paused tokio time and a
//! [`VirtualClock`] starting at the case's recording date, so waits, retries and the
//! `sleep_60s` timeout take no real time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "conformance/compare.rs"]
mod compare;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use copyflow_asl::clock::{Clock, SeededRandom, VirtualClock};
use copyflow_asl::{Engine, EngineConfig, ExecutionStatus, LambdaError};
use serde_json::{Value, json};
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

const EXPECTED_FAILURES: &str = include_str!("expected_failures.txt");

/// The corpus committed in the repository, relative to this crate.
const COMMITTED_CORPUS: &str = "../../tests/fixtures/asl/cases.json";

/// Where the corpus is read from: `ASL_CONFORMANCE_CASES` if set, else the committed copy.
/// The second value says which, for the message when it cannot be read.
fn corpus_path() -> (PathBuf, &'static str) {
    match std::env::var_os("ASL_CONFORMANCE_CASES") {
        Some(p) => (
            PathBuf::from(p),
            "the path ASL_CONFORMANCE_CASES names; unset it to use the copy committed at \
             tests/fixtures/asl/cases.json",
        ),
        None => (
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(COMMITTED_CORPUS),
            "the copy committed at tests/fixtures/asl/cases.json",
        ),
    }
}

/// The corpus cases; fails the test, saying what is missing, where it was looked for and
/// how to get it back, when the file cannot be read or is not the corpus.
fn load_corpus() -> Vec<Value> {
    let (path, which) = corpus_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the ASL conformance corpus is missing: cannot read {} ({which}): {e}.\n\
             The corpus is 772 executions recorded on AWS Step Functions (derived from \
             LocalStack's snapshot tests, Apache-2.0; see tests/fixtures/asl/README.md) and \
             is part of the repository. Restore it with \
             `git checkout -- tests/fixtures/asl/cases.json` from the repository root, or \
             set ASL_CONFORMANCE_CASES to the path of a copy of cases.json.",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "the ASL conformance corpus at {} ({which}) is not a JSON array of cases: {e}. \
             Restore it with `git checkout -- tests/fixtures/asl/cases.json` from the \
             repository root.",
            path.display()
        )
    })
}

/// Python's `json.dumps` default formatting (`", "` and `": "` separators, non-ASCII escaped):
/// the recordings passed inputs to StartExecution that way, and AWS echoes the input text
/// verbatim in `ExecutionStarted`.
fn python_json(value: &Value) -> String {
    struct PyFormatter;
    impl serde_json::ser::Formatter for PyFormatter {
        fn begin_array_value<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> std::io::Result<()> {
            if first { Ok(()) } else { w.write_all(b", ") }
        }
        fn begin_object_key<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> std::io::Result<()> {
            if first { Ok(()) } else { w.write_all(b", ") }
        }
        fn begin_object_value<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
        ) -> std::io::Result<()> {
            w.write_all(b": ")
        }
        fn write_string_fragment<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
            fragment: &str,
        ) -> std::io::Result<()> {
            for c in fragment.chars() {
                if c.is_ascii() {
                    w.write_all(&[c as u8])?;
                } else {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        write!(w, "\\u{unit:04x}")?;
                    }
                }
            }
            Ok(())
        }
    }
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PyFormatter);
    serde::Serialize::serialize(value, &mut ser).unwrap();
    String::from_utf8(out).unwrap()
}

fn recorded_at(case: &Value) -> OffsetDateTime {
    let format = format_description!("[day]-[month]-[year], [hour]:[minute]:[second]");
    case["recorded_date"]
        .as_str()
        .and_then(|s| PrimitiveDateTime::parse(s, &format).ok())
        .map(|t| t.assume_utc())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Function names a case's tasks may call: from Resource ARNs and `FunctionName` values.
fn function_names(case: &Value) -> HashSet<String> {
    fn walk(v: &Value, out: &mut HashSet<String>) {
        match v {
            Value::String(s) => {
                if let Some(i) = s.find(":function:") {
                    let name = s[i + 10..].split(':').next().unwrap_or_default();
                    out.insert(name.to_owned());
                } else if s.contains("func") && !s.contains(' ') && !s.contains('$') {
                    out.insert(s.clone());
                }
            }
            Value::Array(items) => items.iter().for_each(|x| walk(x, out)),
            Value::Object(map) => map.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = HashSet::new();
    walk(&case["definition"], &mut out);
    walk(&case["input"], &mut out);
    out
}

/// The fake functions the README describes, reproducing what the recorded Python functions
/// returned (including the Python runtime's error payload).
fn register_handlers(engine: &Engine, case: &Value, clock: Arc<VirtualClock>) {
    let handler = case["lambda_handler"].as_str().unwrap_or("");
    if handler == "missing_function" || handler.is_empty() {
        return;
    }
    for name in function_names(case) {
        if name.starts_with("no_such_") {
            continue;
        }
        let clock = clock.clone();
        let kind = handler.to_owned();
        engine.register_function(name, move |payload: Value| {
            let kind = kind.clone();
            let clock = clock.clone();
            async move {
                let request_id = "00000000-0000-4000-8000-000000000000";
                match kind.as_str() {
                    "identity" => Ok(payload),
                    "raise_exception" => Err(LambdaError::from_body(json!({
                        "errorMessage": "Some exception was raised.",
                        "errorType": "Exception",
                        "requestId": request_id,
                        "stackTrace": ["  File \"/var/task/handler.py\", line 2, in handler\n    raise Exception(\"Some exception was raised.\")\n"]
                    }))),
                    "raise_custom_exception" => Err(LambdaError::from_body(json!({
                        "errorMessage": "",
                        "errorType": "CustomException",
                        "requestId": request_id,
                        "stackTrace": ["  File \"/var/task/handler.py\", line 9, in handler\n    raise CustomException()\n"]
                    }))),
                    "large_output_257kib" => Ok(Value::String("a".repeat(257 * 1024))),
                    "return_hello_world_string" => Ok(json!("HelloWorld!")),
                    "sleep_60s" => {
                        clock.sleep(Duration::from_secs(60)).await;
                        Ok(payload)
                    }
                    other => Err(LambdaError::new("UnknownFakeHandler", other)),
                }
            }
        });
    }
}

struct Outcome {
    tier1: bool,
    tier2: bool,
    difference: Option<String>,
}

fn run_case(case: &Value) -> Outcome {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let clock = Arc::new(VirtualClock::starting_at(recorded_at(case)));
        let engine = Engine::builder()
            .config(EngineConfig {
                region: "us-east-1".into(),
                account_id: "111111111111".into(),
                role_arn: "arn:aws:iam::111111111111:role/snf-role".into(),
            })
            .clock(clock.clone())
            .random(Arc::new(SeededRandom::new(42)))
            .build();
        register_handlers(&engine, case, clock);
        let definition = case["definition"].to_string();
        let arn = match engine.create_state_machine("sm-conformance", &definition, &HashMap::new()) {
            Ok(arn) => arn,
            Err(e) => {
                return Outcome {
                    tier1: false,
                    tier2: false,
                    difference: Some(format!("load error: {e}")),
                };
            }
        };
        let input = python_json(&case["input"]);
        let started = match engine.start_execution(&arn, None, &input) {
            Ok(s) => s,
            Err(e) => {
                return Outcome {
                    tier1: false,
                    tier2: false,
                    difference: Some(format!("start error: {e}")),
                };
            }
        };
        let finished = engine.wait_for(&started.execution_arn).await.unwrap();
        let expected = &case["expected"];
        match expected["kind"].as_str() {
            Some("output") => {
                let ok = finished.status == ExecutionStatus::Succeeded
                    && finished
                        .output
                        .as_deref()
                        .and_then(|o| serde_json::from_str::<Value>(o).ok())
                        .is_some_and(|o| compare::matches(&expected["output"], &o));
                Outcome {
                    tier1: ok,
                    tier2: ok,
                    difference: (!ok).then(|| {
                        format!(
                            "expected output {} but the execution ended {} with output {:?} error {:?} cause {:?}",
                            expected["output"],
                            finished.status.as_str(),
                            finished.output,
                            finished.error,
                            finished.cause
                        )
                    }),
                }
            }
            _ => {
                let history = engine.get_execution_history(&started.execution_arn).unwrap();
                let skip: Vec<String> = case["skip_verify_paths"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default();
                let prepare = |events: Vec<Value>| -> Vec<Value> {
                    let mut events: Vec<Value> = events
                        .into_iter()
                        .map(|mut e| {
                            compare::parse_braced_details(&mut e);
                            e
                        })
                        .collect();
                    let mut doc = json!({"events": std::mem::take(&mut events)});
                    compare::drop_paths(&mut doc, &skip);
                    match doc {
                        Value::Object(mut m) => match m.shift_remove("events") {
                            Some(Value::Array(events)) => events,
                            _ => Vec::new(),
                        },
                        _ => Vec::new(),
                    }
                };
                let ours = prepare(history.iter().map(|e| e.to_json()).collect());
                let theirs = prepare(expected["events"].as_array().cloned().unwrap_or_default());
                if skip.iter().any(|p| p == "$..events") {
                    return Outcome {
                        tier1: true,
                        tier2: true,
                        difference: None,
                    };
                }
                let (theirs, ours) = compare::align(theirs, ours);
                let (tier1, tier2, difference) = compare::compare_histories(&theirs, &ours);
                let difference = difference.or_else(|| {
                    (!tier2)
                        .then(|| compare::first_id_difference(&theirs, &ours))
                        .flatten()
                        .map(|d| format!("ids: {d}"))
                });
                Outcome {
                    tier1,
                    tier2,
                    difference,
                }
            }
        }
    })
}

fn expected_failures() -> BTreeMap<String, String> {
    EXPECTED_FAILURES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((id, reason)) => (id.to_owned(), reason.trim().to_owned()),
            None => (l.to_owned(), String::new()),
        })
        .collect()
}

#[test]
fn engine_matches_the_recorded_aws_executions() {
    let cases = load_corpus();
    let only = std::env::var("ASL_CONFORMANCE_ONLY").ok();
    let verbose = std::env::var_os("ASL_CONFORMANCE_VERBOSE").is_some();
    let listed = expected_failures();
    let (mut passed, mut failed, mut ids_passed, mut history_cases, mut history_ids_passed) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut unexpected_failures = Vec::new();
    let mut unexpected_passes = Vec::new();
    let mut ran = HashSet::new();
    for case in &cases {
        let id = case["id"].as_str().unwrap_or_default().to_owned();
        if only.as_ref().is_some_and(|o| !id.contains(o.as_str())) {
            continue;
        }
        ran.insert(id.clone());
        let outcome = run_case(case);
        let is_history = case["expected"]["kind"] == "history";
        if outcome.tier1 {
            passed += 1;
        } else {
            failed += 1;
        }
        if outcome.tier1 && outcome.tier2 {
            ids_passed += 1;
        }
        if is_history {
            history_cases += 1;
            if outcome.tier1 && outcome.tier2 {
                history_ids_passed += 1;
            }
        }
        if verbose && (!outcome.tier1 || !outcome.tier2) {
            println!(
                "{} {id}\n    {}",
                if outcome.tier1 { "IDS " } else { "FAIL" },
                outcome.difference.as_deref().unwrap_or("")
            );
        }
        match (outcome.tier1, listed.contains_key(&id)) {
            (false, false) => unexpected_failures.push(format!(
                "{id}\n    {}",
                outcome.difference.unwrap_or_default()
            )),
            (true, true) => unexpected_passes.push(id),
            _ => {}
        }
    }
    // Written to the process's stderr directly (not `println!`), so the summary shows in the
    // test command's output even though the test passes and libtest captures `print!`.
    let summary = format!(
        "asl conformance: {passed} passed, {failed} failed\nasl conformance (id/previousEventId tier): {ids_passed} passed, {} failed ({history_ids_passed} of {history_cases} histories)\n",
        passed + failed - ids_passed
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), summary.as_bytes());
    let stale: Vec<&String> = listed
        .keys()
        .filter(|id| only.is_none() && !ran.contains(*id))
        .collect();
    assert!(
        stale.is_empty(),
        "expected_failures.txt lists ids that are not in the corpus: {stale:?}"
    );
    assert!(
        unexpected_passes.is_empty(),
        "these listed cases now pass: remove them from tests/expected_failures.txt:\n{}",
        unexpected_passes.join("\n")
    );
    assert!(
        unexpected_failures.is_empty(),
        "{} cases failed that are not in tests/expected_failures.txt:\n{}",
        unexpected_failures.len(),
        unexpected_failures.join("\n")
    );
}
