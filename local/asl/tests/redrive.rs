//! RedriveExecution through the engine's host API: an unsuccessful execution runs again from
//! the state it stopped in (the states before it are not run again), its history continues
//! with `ExecutionRedriven`, and AWS's refusals hold (running or succeeded executions, ends
//! older than 14 days, unknown ARNs). With a store, a redrive works after a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use copyflow_asl::clock::{SeededRandom, VirtualClock};
use copyflow_asl::{Engine, ExecutionStatus, LambdaError, RedriveError, Store};
use serde_json::{Value, json};
use time::macros::datetime;

const PREPARE: &str = "arn:aws:lambda:us-east-1:000000000000:function:prepare";
const FLAKY: &str = "arn:aws:lambda:us-east-1:000000000000:function:flaky";

/// Prepare (a Task) -> Flaky (a Task without Retry or Catch) -> Done.
fn two_tasks() -> String {
    json!({
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Task", "Resource": PREPARE, "ResultPath": "$.prepared", "Next": "Flaky"},
            "Flaky": {"Type": "Task", "Resource": FLAKY, "ResultPath": "$.flaky", "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }
    })
    .to_string()
}

/// Counts calls; `flaky` fails its first call only.
struct Calls {
    prepare: Arc<AtomicUsize>,
    flaky: Arc<AtomicUsize>,
}

fn register(engine: &Engine) -> Calls {
    let calls = Calls {
        prepare: Arc::new(AtomicUsize::new(0)),
        flaky: Arc::new(AtomicUsize::new(0)),
    };
    let prepare = calls.prepare.clone();
    engine.register_function("prepare", move |_: Value| {
        prepare.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, LambdaError>(json!("ready")) }
    });
    let flaky = calls.flaky.clone();
    engine.register_function("flaky", move |input: Value| {
        let n = flaky.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                Err(LambdaError::new("Outage", "the service was down"))
            } else {
                Ok(json!({"saw": input["prepared"]}))
            }
        }
    });
    calls
}

fn virtual_engine() -> Engine {
    Engine::builder()
        .clock(Arc::new(VirtualClock::starting_at(
            datetime!(2024-06-01 12:00 UTC),
        )))
        .random(Arc::new(SeededRandom::new(3)))
        .build()
}

fn types(engine: &Engine, arn: &str) -> Vec<String> {
    engine
        .history_page(arn, 0, 1000)
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_redrive_continues_from_the_failed_state_with_that_states_input() {
    let engine = virtual_engine();
    let calls = register(&engine);
    let machine = engine
        .create_state_machine("m", &two_tasks(), &HashMap::new())
        .unwrap();
    let started = engine
        .start_execution(&machine, Some("e1"), r#"{"k":1}"#)
        .unwrap();
    let failed = engine.wait_for(&started.execution_arn).await.unwrap();
    assert_eq!(failed.status, ExecutionStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("Outage"));
    assert_eq!(failed.to_json(engine.now())["redriveStatus"], "REDRIVABLE");

    let date = engine.redrive(&started.execution_arn).await.unwrap();
    let done = engine.wait_for(&started.execution_arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(
        calls.prepare.load(Ordering::SeqCst),
        1,
        "Prepare is not run again"
    );
    assert_eq!(calls.flaky.load(Ordering::SeqCst), 2);
    let output: Value = serde_json::from_str(done.output.as_deref().unwrap()).unwrap();
    assert_eq!(
        output["flaky"]["saw"], "ready",
        "Flaky ran on the input it had"
    );
    assert_eq!(done.redrive_count, 1);
    assert_eq!(done.redrive_date, Some(date));
    assert_eq!(done.to_json(engine.now())["redriveCount"], 1);

    let history = engine
        .history_page(&started.execution_arn, 0, 1000)
        .unwrap();
    let t = types(&engine, &started.execution_arn);
    let failed_at = t.iter().position(|x| x == "ExecutionFailed").unwrap();
    assert_eq!(t[failed_at + 1], "ExecutionRedriven");
    assert_eq!(
        history[failed_at + 1]["executionRedrivenEventDetails"]["redriveCount"],
        1
    );
    assert_eq!(t[failed_at + 2], "TaskStateEntered");
    assert_eq!(
        history[failed_at + 2]["stateEnteredEventDetails"]["name"],
        "Flaky"
    );
    assert_eq!(
        history[failed_at + 2]["previousEventId"],
        history[failed_at + 1]["id"]
    );
    assert_eq!(t.last().unwrap(), "ExecutionSucceeded");
    let ids: Vec<u64> = history.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn an_execution_that_ended_in_a_fail_state_fails_there_again() {
    let engine = virtual_engine();
    let definition = json!({
        "StartAt": "Mark",
        "States": {
            "Mark": {"Type": "Pass", "Result": 1, "ResultPath": "$.marked", "Next": "Rejected"},
            "Rejected": {"Type": "Fail", "Error": "KeyRejected", "Cause": "no"}
        }
    });
    let machine = engine
        .create_state_machine("f", &definition.to_string(), &HashMap::new())
        .unwrap();
    let arn = engine
        .start_execution(&machine, None, "{}")
        .unwrap()
        .execution_arn;
    engine.wait_for(&arn).await.unwrap();
    engine.redrive(&arn).await.unwrap();
    let again = engine.wait_for(&arn).await.unwrap();
    assert_eq!(again.status, ExecutionStatus::Failed);
    assert_eq!(again.error.as_deref(), Some("KeyRejected"));
    assert_eq!(again.redrive_count, 1);
    let t = types(&engine, &arn);
    let redriven = t.iter().position(|x| x == "ExecutionRedriven").unwrap();
    assert_eq!(
        t[redriven + 1..],
        ["FailStateEntered", "ExecutionFailed"],
        "{t:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn running_succeeded_unknown_and_old_executions_are_refused() {
    let engine = virtual_engine();
    let definition = json!({
        "StartAt": "Hold",
        "States": {
            "Hold": {"Type": "Wait", "Seconds": 100, "Next": "Check"},
            "Check": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": true, "Next": "Done"}], "Default": "No"},
            "Done": {"Type": "Succeed"},
            "No": {"Type": "Fail", "Error": "No"}
        }
    });
    let machine = engine
        .create_state_machine("r", &definition.to_string(), &HashMap::new())
        .unwrap();
    let ok = engine
        .start_execution(&machine, Some("ok"), r#"{"ok":true}"#)
        .unwrap()
        .execution_arn;
    let no = engine
        .start_execution(&machine, Some("no"), r#"{"ok":false}"#)
        .unwrap()
        .execution_arn;
    tokio::task::yield_now().await;
    let refusal = |e: RedriveError| match e {
        RedriveError::ExecutionNotRedrivable(reason) => reason,
        other => panic!("not ExecutionNotRedrivable: {other:?}"),
    };
    assert_eq!(
        refusal(engine.redrive(&ok).await.unwrap_err()),
        "Execution is RUNNING and cannot be redriven"
    );
    engine.wait_for(&ok).await.unwrap();
    engine.wait_for(&no).await.unwrap();
    assert_eq!(
        refusal(engine.redrive(&ok).await.unwrap_err()),
        "Execution is SUCCEEDED and cannot be redriven"
    );
    let missing = format!("{ok}-missing");
    assert_eq!(
        engine.redrive(&missing).await.unwrap_err(),
        RedriveError::ExecutionDoesNotExist(missing.clone())
    );
    tokio::time::advance(Duration::from_secs(15 * 24 * 3600)).await;
    assert_eq!(
        refusal(engine.redrive(&no).await.unwrap_err()),
        "Execution redrivable period exceeded"
    );
    let described = engine.describe_execution(&no).unwrap();
    assert_eq!(
        described.to_json(engine.now())["redriveStatus"],
        "NOT_REDRIVABLE"
    );
    assert_eq!(described.redrive_count, 0);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn with_a_store_a_failed_execution_is_redriven_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("executions.sqlite3");
    let flaky_calls = Arc::new(AtomicUsize::new(0));
    let durable = || Engine::builder().store(Store::open(&db).unwrap()).build();
    let arn = runtime().block_on(async {
        let engine = durable();
        let calls = register(&engine);
        let machine = engine
            .create_state_machine("d", &two_tasks(), &HashMap::new())
            .unwrap();
        let arn = engine
            .start_execution(&machine, Some("first"), "{}")
            .unwrap()
            .execution_arn;
        let failed = engine.wait_for(&arn).await.unwrap();
        assert_eq!(failed.status, ExecutionStatus::Failed);
        engine.flush().await.unwrap();
        flaky_calls.fetch_add(calls.flaky.load(Ordering::SeqCst), Ordering::SeqCst);
        arn
    });
    runtime().block_on(async {
        // A new process: flaky's next call succeeds because it counts from 1 here.
        let engine = durable();
        let calls = register(&engine);
        calls.flaky.store(1, Ordering::SeqCst);
        engine
            .create_state_machine("d", &two_tasks(), &HashMap::new())
            .unwrap();
        engine.redrive(&arn).await.unwrap();
        let done = engine.wait_for(&arn).await.unwrap();
        assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
        assert_eq!(
            calls.prepare.load(Ordering::SeqCst),
            0,
            "Prepare ran before"
        );
        assert_eq!(calls.flaky.load(Ordering::SeqCst), 2);
        engine.flush().await.unwrap();
        let t = types(&engine, &arn);
        assert_eq!(t.first().unwrap(), "ExecutionStarted");
        assert!(
            t.windows(2)
                .any(|w| w == ["ExecutionFailed", "ExecutionRedriven"]),
            "{t:?}"
        );
        assert_eq!(t.last().unwrap(), "ExecutionSucceeded");
    });
    assert_eq!(flaky_calls.load(Ordering::SeqCst), 1);
    runtime().block_on(async {
        let engine = durable();
        let d = engine.describe_execution(&arn).unwrap();
        assert_eq!(d.status, ExecutionStatus::Succeeded);
        assert_eq!(d.redrive_count, 1);
        assert!(d.redrive_date.is_some());
        assert_eq!(
            engine.redrive(&arn).await.unwrap_err().to_string(),
            "ExecutionNotRedrivable: Execution is SUCCEEDED and cannot be redriven"
        );
    });
}
