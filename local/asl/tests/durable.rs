//! The engine with a store: executions survive the process that ran them. A "crash" is a
//! tokio runtime dropped while executions run (every task stops where it is, as in a killed
//! process); a new engine then opens the same database file, as a restarted process would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use copyflow_asl::{Engine, ExecutionFilter, ExecutionStatus, LambdaError, StartError, Store};
use serde_json::{Value, json};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn engine(db: &Path) -> Engine {
    let label: copyflow_asl::Labeler =
        Arc::new(|input: &Value| input["key"].as_str().map(str::to_owned));
    Engine::builder()
        .store(Store::open(db).unwrap())
        .labeler(label)
        .build()
}

const FUNCTION: &str = "arn:aws:lambda:us-east-1:000000000000:function:work";

fn definition() -> String {
    json!({
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Result": "prepared", "ResultPath": "$.prepared", "Next": "Work"},
            "Work": {
                "Type": "Task", "Resource": FUNCTION, "ResultPath": "$.work",
                "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 3, "MaxAttempts": 2, "BackoffRate": 1.0}],
                "Next": "Pause"
            },
            "Pause": {"Type": "Wait", "SecondsPath": "$.pause", "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }
    })
    .to_string()
}

fn machine(engine: &Engine) -> String {
    engine
        .create_state_machine("durable", &definition(), &HashMap::new())
        .unwrap()
}

async fn history_types(engine: &Engine, arn: &str) -> Vec<String> {
    engine
        .history_page(arn, 0, 1000)
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn an_execution_killed_in_a_task_resumes_there_and_invokes_the_task_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("executions.sqlite3");
    let calls = Arc::new(AtomicUsize::new(0));
    let arn = {
        let rt = runtime();
        rt.block_on(async {
            let engine = engine(&db);
            let c = calls.clone();
            engine.register_function("work", move |_: Value| {
                c.fetch_add(1, Ordering::SeqCst);
                async move {
                    std::future::pending::<()>().await;
                    Ok::<_, LambdaError>(json!("never"))
                }
            });
            let m = machine(&engine);
            let started = engine
                .start_execution(&m, Some("one"), r#"{"key":"a/b.txt","pause":0}"#)
                .unwrap();
            while calls.load(Ordering::SeqCst) == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            engine.flush().await.unwrap();
            started.execution_arn
        })
        // The runtime is dropped here, in the middle of the Task: the "crash".
    };
    let rt = runtime();
    rt.block_on(async {
        let engine = engine(&db);
        engine.register_function("work", |_: Value| async move {
            Ok::<_, LambdaError>(json!("done"))
        });
        let m = machine(&engine);
        let running = engine.describe_execution(&arn).unwrap();
        assert_eq!(running.status, ExecutionStatus::Running);
        let resumed = engine.resume(&m).unwrap();
        assert_eq!(resumed.len(), 1);
        let done = engine.wait_for(&arn).await.unwrap();
        assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
        let output: Value = serde_json::from_str(done.output.as_deref().unwrap()).unwrap();
        assert_eq!(
            output["prepared"], "prepared",
            "the Pass state's work is kept"
        );
        assert_eq!(output["work"], "done");
        let types = history_types(&engine, &arn).await;
        assert_eq!(
            types,
            [
                "ExecutionStarted",
                "PassStateEntered",
                "PassStateExited",
                "TaskStateEntered",
                "LambdaFunctionScheduled",
                "LambdaFunctionStarted",
                // after the restart: the Task is invoked again, in the same state visit
                "LambdaFunctionScheduled",
                "LambdaFunctionStarted",
                "LambdaFunctionSucceeded",
                "TaskStateExited",
                "WaitStateEntered",
                "WaitStateExited",
                "SucceedStateEntered",
                "SucceedStateExited",
                "ExecutionSucceeded"
            ]
        );
        let ids: Vec<u64> = engine
            .history_page(&arn, 0, 1000)
            .unwrap()
            .iter()
            .map(|e| e["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids, (1..=15).collect::<Vec<u64>>(), "ids stay consecutive");
        let stored = engine.stored_execution(&arn).unwrap();
        assert_eq!(stored.label.as_deref(), Some("a/b.txt"));
        assert_eq!(stored.last_state.as_deref(), Some("Done"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_wait_interrupted_by_a_restart_waits_only_for_what_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("executions.sqlite3");
    let arn = runtime().block_on(async {
        let engine = engine(&db);
        engine.register_function(
            "work",
            |_: Value| async move { Ok::<_, LambdaError>(json!(1)) },
        );
        let m = machine(&engine);
        let started = engine
            .start_execution(&m, Some("wait"), r#"{"pause":3}"#)
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        engine.flush().await.unwrap();
        started.execution_arn
    });
    runtime().block_on(async {
        let engine = engine(&db);
        engine.register_function(
            "work",
            |_: Value| async move { Ok::<_, LambdaError>(json!(1)) },
        );
        let m = machine(&engine);
        let begun = Instant::now();
        engine.resume(&m).unwrap();
        let done = engine.wait_for(&arn).await.unwrap();
        assert_eq!(done.status, ExecutionStatus::Succeeded);
        let waited = begun.elapsed();
        assert!(
            waited < Duration::from_millis(2700),
            "a full 3 s wait started over: {waited:?}"
        );
    });
}

#[test]
fn a_retry_back_off_keeps_its_attempt_count_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("executions.sqlite3");
    let arn = runtime().block_on(async {
        let engine = engine(&db);
        engine.register_function("work", |_: Value| async move {
            Err::<Value, _>(LambdaError::new("Flaky", "try again"))
        });
        let m = machine(&engine);
        let started = engine
            .start_execution(&m, Some("retry"), r#"{"pause":0}"#)
            .unwrap();
        // First attempt fails at once; the back-off (3 s) is running when we "crash".
        tokio::time::sleep(Duration::from_millis(500)).await;
        engine.flush().await.unwrap();
        started.execution_arn
    });
    let calls = Arc::new(AtomicUsize::new(0));
    runtime().block_on(async {
        let engine = engine(&db);
        let c = calls.clone();
        engine.register_function("work", move |_: Value| {
            c.fetch_add(1, Ordering::SeqCst);
            async move { Err::<Value, _>(LambdaError::new("Flaky", "still failing")) }
        });
        let m = machine(&engine);
        let begun = Instant::now();
        engine.resume(&m).unwrap();
        let done = engine.wait_for(&arn).await.unwrap();
        assert_eq!(done.status, ExecutionStatus::Failed);
        assert_eq!(done.error.as_deref(), Some("Flaky"));
        // MaxAttempts 2: one retry was used before the restart, two are made in all after
        // it would mean the count started over.
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "1 retry after the restart, then the second"
        );
        assert!(
            begun.elapsed() >= Duration::from_millis(2000),
            "the back-off was skipped"
        );
    });
}

#[test]
fn names_stay_taken_and_finished_executions_leave_memory() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("executions.sqlite3");
    runtime().block_on(async {
        let engine = engine(&db);
        engine.register_function(
            "work",
            |_: Value| async move { Ok::<_, LambdaError>(json!(1)) },
        );
        let m = machine(&engine);
        for i in 0..30 {
            let s = engine
                .start_execution(
                    &m,
                    Some(&format!("n{i}")),
                    &json!({"key": format!("k/{i}"), "pause": 0}).to_string(),
                )
                .unwrap();
            engine.wait_for(&s.execution_arn).await.unwrap();
        }
        engine.flush().await.unwrap();
        // give the last execution's cleanup a moment
        for _ in 0..100 {
            if engine.execution_count() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            engine.execution_count(),
            0,
            "finished executions are only on disk"
        );
    });
    runtime().block_on(async {
        let engine = engine(&db);
        let m = machine(&engine);
        let again = engine.start_execution(&m, Some("n3"), r#"{"pause":0}"#);
        assert!(
            matches!(again, Err(StartError::ExecutionAlreadyExists(_))),
            "{again:?}"
        );
        let first = engine
            .list_page(&ExecutionFilter {
                machine_arn: &m,
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(first.len(), 10);
        assert_eq!(first[0].description.name, "n29", "newest first");
        let next = engine
            .list_page(&ExecutionFilter {
                machine_arn: &m,
                limit: 10,
                before_seq: Some(first[9].seq),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(next[0].description.name, "n19");
        let by_label = engine
            .list_page(&ExecutionFilter {
                machine_arn: &m,
                limit: 100,
                label_prefix: Some("k/1"),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(by_label.len(), 11, "k/1 and k/10..k/19");
        assert!(
            by_label
                .iter()
                .all(|e| e.last_state.as_deref() == Some("Done"))
        );
    });
}

/// Runs one execution of the durable machine to its end; returns its ARN and its full
/// history as the store returns it (read by another engine, as after a restart: JSON
/// numbers parsed from text may differ from the in-memory ones in the last bit).
fn one_finished_execution(db: &Path, name: &str) -> (String, Vec<Value>) {
    let rt = runtime();
    let arn = rt.block_on(async {
        let engine = engine(db);
        engine.register_function("work", |_: Value| async move {
            Ok::<_, LambdaError>(json!("done"))
        });
        let m = machine(&engine);
        let arn = engine
            .start_execution(&m, Some(name), r#"{"key":"a/b.txt","pause":0}"#)
            .unwrap()
            .execution_arn;
        engine.wait_for(&arn).await.unwrap();
        engine.flush().await.unwrap();
        arn
    });
    drop(rt);
    let history = runtime().block_on(async { engine(db).history_page(&arn, 0, 1000).unwrap() });
    (arn, history)
}

#[test]
fn history_pages_start_and_end_anywhere_inside_the_stored_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("executions.sqlite3");
    let (arn, all) = one_finished_execution(&db, "pages");
    assert!(all.len() > 8, "{all:?}");
    let ids: Vec<u64> = all.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=all.len() as u64).collect::<Vec<_>>());
    let rt = runtime();
    rt.block_on(async {
        let engine = engine(&db);
        for after in 0..all.len() {
            for limit in [1, 2, 3, 1000] {
                let page = engine.history_page(&arn, after as u64, limit).unwrap();
                let end = (after + limit as usize).min(all.len());
                assert_eq!(page, all[after..end], "after {after}, limit {limit}");
            }
        }
    });
}

#[test]
fn histories_recorded_one_row_per_event_by_earlier_versions_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("executions.sqlite3");
    let (arn, all) = one_finished_execution(&db, "legacy");
    {
        // Rewrite the history in the earlier layout: one `events` row per event, no chunks.
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute("DELETE FROM event_chunks", []).unwrap();
        let seq: i64 = conn
            .query_row("SELECT seq FROM executions WHERE arn = ?1", [&arn], |r| {
                r.get(0)
            })
            .unwrap();
        for e in &all {
            conn.execute(
                "INSERT INTO events (seq, id, event) VALUES (?1, ?2, ?3)",
                rusqlite::params![seq, e["id"].as_i64().unwrap(), e.to_string()],
            )
            .unwrap();
        }
    }
    let rt = runtime();
    rt.block_on(async {
        let engine = engine(&db);
        assert_eq!(engine.history_page(&arn, 0, 1000).unwrap(), all);
        assert_eq!(engine.history_page(&arn, 3, 2).unwrap(), all[3..5]);
    });
}
