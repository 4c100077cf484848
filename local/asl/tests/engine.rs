//! The engine end to end through its host API, on paused tokio time with a virtual clock:
//! retries, waits and timeouts take no real time, and their virtual durations are checked
//! through event timestamps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use copyflow_asl::clock::{Clock, SeededRandom, VirtualClock};
use copyflow_asl::{
    Engine, EventDetails, EventType, ExecutionStatus, HistoryEvent, LambdaError, StateType,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

const START: OffsetDateTime = datetime!(2024-06-01 12:00 UTC);

fn engine() -> (Engine, Arc<VirtualClock>) {
    let clock = Arc::new(VirtualClock::starting_at(START));
    let engine = Engine::builder()
        .clock(clock.clone())
        .random(Arc::new(SeededRandom::new(7)))
        .build();
    (engine, clock)
}

fn machine(engine: &Engine, definition: Value) -> String {
    engine
        .create_state_machine("test", &definition.to_string(), &HashMap::new())
        .unwrap()
}

async fn run(
    engine: &Engine,
    arn: &str,
    input: Value,
) -> (copyflow_asl::ExecutionDescription, Vec<HistoryEvent>) {
    let started = engine
        .start_execution(arn, None, &input.to_string())
        .unwrap();
    let done = engine.wait_for(&started.execution_arn).await.unwrap();
    let history = engine
        .get_execution_history(&started.execution_arn)
        .unwrap();
    (done, history)
}

fn types(history: &[HistoryEvent]) -> Vec<&'static str> {
    history.iter().map(|e| e.event_type.name()).collect()
}

fn output(d: &copyflow_asl::ExecutionDescription) -> Value {
    serde_json::from_str(d.output.as_deref().unwrap_or("null")).unwrap()
}

fn task(resource_function: &str, extra: Value) -> Value {
    let mut t = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": resource_function, "Payload.$": "$"},
        "ResultSelector": {"value.$": "$.Payload"},
        "End": true
    });
    if let (Value::Object(t), Value::Object(extra)) = (&mut t, extra) {
        t.extend(extra);
    }
    t
}

#[tokio::test(start_paused = true)]
async fn a_task_and_choice_machine_runs_and_records_aws_shaped_history() {
    let (engine, _) = engine();
    engine.register_function("double", |p: Value| async move {
        Ok::<_, LambdaError>(json!({"n": p["n"].as_i64().unwrap_or(0) * 2}))
    });
    let arn = machine(
        &engine,
        json!({
            "StartAt": "Double",
            "States": {
                "Double": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:double", "Payload.$": "$"},
                    "OutputPath": "$.Payload", "Next": "Big?"},
                "Big?": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"}], "Default": "Small"},
                "Big": {"Type": "Succeed"},
                "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "End": true}
            }
        }),
    );
    let (done, history) = run(&engine, &arn, json!({"n": 3})).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(output(&done), json!({"n": 6, "size": "small"}));
    assert_eq!(
        types(&history),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    let ids: Vec<(u64, u64)> = history
        .iter()
        .map(|e| (e.id, e.previous_event_id))
        .collect();
    assert_eq!(ids[..3], [(1, 0), (2, 0), (3, 2)]);
    let json = history[2].to_json();
    assert_eq!(
        json["taskScheduledEventDetails"]["resource"],
        json!("invoke")
    );
    assert_eq!(
        json["taskScheduledEventDetails"]["resourceType"],
        json!("lambda")
    );
    let described = done.to_json(engine.now());
    assert_eq!(described["status"], json!("SUCCEEDED"));
    assert_eq!(described["input"], json!("{\"n\":3}"));
}

#[tokio::test(start_paused = true)]
async fn retries_sleep_the_backoff_delay_on_the_virtual_clock() {
    let (engine, _) = engine();
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    engine.register_function("flaky", move |p: Value| {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < 3 {
                Err(LambdaError::new("S3Transient", "try again"))
            } else {
                Ok(p)
            }
        }
    });
    let arn = machine(
        &engine,
        json!({"StartAt": "T", "States": {"T": task("flaky", json!({
            "Retry": [{"ErrorEquals": ["S3Transient"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 5, "MaxDelaySeconds": 10}]
        }))}}),
    );
    let wall = std::time::Instant::now();
    let (done, history) = run(&engine, &arn, json!({"k": 1})).await;
    assert!(
        wall.elapsed() < Duration::from_secs(5),
        "virtual time must not sleep for real"
    );
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    let scheduled: Vec<OffsetDateTime> = history
        .iter()
        .filter(|e| e.event_type == EventType::TaskScheduled)
        .map(|e| e.timestamp)
        .collect();
    let gaps: Vec<i64> = scheduled
        .windows(2)
        .map(|w| (w[1] - w[0]).whole_seconds())
        .collect();
    // 2 s, 2×3 = 6 s, then 18 s capped by MaxDelaySeconds at 10 s.
    assert_eq!(gaps, [2, 6, 10]);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[tokio::test(start_paused = true)]
async fn retry_count_is_visible_in_the_context_object() {
    let (engine, _) = engine();
    engine.register_function("echo", |p: Value| async move {
        if p["attempt"].as_u64() == Some(2) {
            Ok(p)
        } else {
            Err(LambdaError::new("Again", ""))
        }
    });
    let arn = machine(
        &engine,
        json!({"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:echo",
            "Parameters": {"attempt.$": "$$.State.RetryCount"},
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1}],
            "End": true}}}),
    );
    let (done, _) = run(&engine, &arn, json!({})).await;
    assert_eq!(output(&done), json!({"attempt": 2}));
}

#[tokio::test(start_paused = true)]
async fn full_jitter_delays_stay_between_zero_and_the_computed_delay() {
    let (engine, _) = engine();
    engine.register_function("fail", |_p: Value| async move {
        Err::<Value, _>(LambdaError::new("Boom", ""))
    });
    let arn = machine(
        &engine,
        json!({"StartAt": "T", "States": {"T": task("fail", json!({
            "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 8, "BackoffRate": 2, "MaxAttempts": 6, "JitterStrategy": "FULL"}]
        }))}}),
    );
    let (done, history) = run(&engine, &arn, json!({})).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("Boom"));
    let scheduled: Vec<OffsetDateTime> = history
        .iter()
        .filter(|e| e.event_type == EventType::TaskScheduled)
        .map(|e| e.timestamp)
        .collect();
    assert_eq!(scheduled.len(), 7);
    for (i, w) in scheduled.windows(2).enumerate() {
        let gap = (w[1] - w[0]).as_seconds_f64();
        let bound = 8.0 * 2f64.powi(i as i32);
        assert!(
            (0.0..=bound).contains(&gap),
            "retry {i}: {gap} not in [0, {bound}]"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn task_timeouts_fire_on_the_virtual_clock_and_can_be_caught() {
    let (engine, clock) = engine();
    let sleeper = clock.clone();
    engine.register_function("slow", move |p: Value| {
        let sleep = sleeper.sleep(Duration::from_secs(60));
        async move {
            sleep.await;
            Ok(p)
        }
    });
    let arn = machine(
        &engine,
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "slow", "Payload.$": "$"},
                "TimeoutSecondsPath": "$.timeout",
                "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "TimedOut"}],
                "End": true},
            "TimedOut": {"Type": "Pass", "End": true}}}),
    );
    let (done, history) = run(&engine, &arn, json!({"timeout": 5})).await;
    assert_eq!(
        output(&done),
        json!({"timeout": 5, "error": {"Error": "States.Timeout", "Cause": ""}})
    );
    let timed_out = history
        .iter()
        .find(|e| e.event_type == EventType::TaskTimedOut)
        .unwrap();
    assert_eq!((timed_out.timestamp - START).whole_seconds(), 5);
    let scheduled = history[2].to_json();
    assert_eq!(
        scheduled["taskScheduledEventDetails"]["timeoutInSeconds"],
        json!(5)
    );
}

#[tokio::test(start_paused = true)]
async fn execution_timeout_ends_the_execution_as_timed_out() {
    let (engine, _) = engine();
    let arn = machine(
        &engine,
        json!({"TimeoutSeconds": 30, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}),
    );
    let (done, history) = run(&engine, &arn, json!({})).await;
    assert_eq!(done.status, ExecutionStatus::TimedOut);
    assert_eq!(done.error.as_deref(), Some("States.Timeout"));
    assert_eq!(
        history.last().unwrap().event_type,
        EventType::ExecutionTimedOut
    );
    assert_eq!((done.stop_date.unwrap() - START).whole_seconds(), 30);
}

#[tokio::test(start_paused = true)]
async fn waits_last_their_virtual_duration() {
    let (engine, _) = engine();
    let arn = machine(
        &engine,
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "SecondsPath": "$.s", "Next": "U"},
            "U": {"Type": "Wait", "Timestamp": "2024-06-01T14:00:00Z", "End": true}}}),
    );
    let (done, history) = run(&engine, &arn, json!({"s": 600})).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    let exited: Vec<i64> = history
        .iter()
        .filter(|e| e.event_type == EventType::StateExited(StateType::Wait))
        .map(|e| (e.timestamp - START).whole_seconds())
        .collect();
    assert_eq!(exited, [600, 7200]);
}

#[tokio::test(start_paused = true)]
async fn unknown_functions_fail_with_resource_not_found() {
    let (engine, _) = engine();
    let arn = machine(
        &engine,
        json!({"StartAt": "T", "States": {"T": task("nobody", json!({}))}}),
    );
    let (done, _) = run(&engine, &arn, json!({})).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(
        done.error.as_deref(),
        Some("Lambda.ResourceNotFoundException")
    );
    assert!(done.cause.unwrap().contains("function:nobody"));
}

#[tokio::test(start_paused = true)]
async fn function_errors_carry_their_type_and_payload_as_error_and_cause() {
    let (engine, _) = engine();
    engine.register_function("reject", |_p: Value| async move {
        Err::<Value, _>(LambdaError::new("KeyRejected", "control character in key"))
    });
    let arn = machine(
        &engine,
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:reject",
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "F"}], "End": true},
            "F": {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Cause"}}}),
    );
    let (done, history) = run(&engine, &arn, json!({})).await;
    assert_eq!(done.error.as_deref(), Some("KeyRejected"));
    assert_eq!(
        done.cause.as_deref(),
        Some(r#"{"errorType":"KeyRejected","errorMessage":"control character in key"}"#)
    );
    assert!(
        history
            .iter()
            .any(|e| e.event_type == EventType::LambdaFunctionFailed)
    );
}

#[tokio::test(start_paused = true)]
async fn oversized_results_fail_with_data_limit_exceeded() {
    let (engine, _) = engine();
    engine.register_function("big", |_p: Value| async move {
        Ok::<_, LambdaError>(Value::String("x".repeat(300 * 1024)))
    });
    let arn = machine(
        &engine,
        json!({"StartAt": "T", "States": {"T": task("big", json!({}))}}),
    );
    let (done, _) = run(&engine, &arn, json!({})).await;
    assert_eq!(done.error.as_deref(), Some("States.DataLimitExceeded"));
}

#[tokio::test(start_paused = true)]
async fn runtime_errors_name_the_state_and_are_never_caught() {
    let (engine, _) = engine();
    let arn = machine(
        &engine,
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Pass", "InputPath": "$.missing", "End": true}}}),
    );
    let (done, _) = run(&engine, &arn, json!({})).await;
    assert_eq!(done.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        done.cause.as_deref(),
        Some(
            "An error occurred while executing the state 'P' (entered at the event id #2). Invalid path '$.missing' : No results for path: $['missing']"
        )
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_task_does_not_block_other_executions() {
    let (engine, clock) = engine();
    let sleeper = clock.clone();
    engine.register_function("slow", move |p: Value| {
        let sleep = sleeper.sleep(Duration::from_secs(3600));
        async move {
            sleep.await;
            Ok(p)
        }
    });
    engine.register_function("fast", |p: Value| async move { Ok::<_, LambdaError>(p) });
    let slow = machine(
        &engine,
        json!({"StartAt": "T", "States": {"T": task("slow", json!({}))}}),
    );
    let fast = engine
        .create_state_machine(
            "fast",
            &json!({"StartAt": "T", "States": {"T": task("fast", json!({}))}}).to_string(),
            &HashMap::new(),
        )
        .unwrap();
    let slow_run = engine.start_execution(&slow, None, "{}").unwrap();
    let fast_run = engine.start_execution(&fast, None, "{}").unwrap();
    let done = engine.wait_for(&fast_run.execution_arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!((done.stop_date.unwrap() - START).whole_seconds(), 0);
    assert_eq!(
        engine
            .describe_execution(&slow_run.execution_arn)
            .unwrap()
            .status,
        ExecutionStatus::Running
    );
    let running = engine.list_executions(None, Some(ExecutionStatus::Running));
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].execution_arn, slow_run.execution_arn);
    let slow_done = engine.wait_for(&slow_run.execution_arn).await.unwrap();
    assert_eq!((slow_done.stop_date.unwrap() - START).whole_seconds(), 3600);
}

#[tokio::test(start_paused = true)]
async fn stop_execution_aborts_a_running_execution() {
    let (engine, _) = engine();
    let arn = machine(
        &engine,
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}}),
    );
    let started = engine.start_execution(&arn, Some("stop-me"), "{}").unwrap();
    tokio::task::yield_now().await;
    assert!(engine.stop_execution(
        &started.execution_arn,
        Some("Operator"),
        Some("no longer needed")
    ));
    let done = engine.describe_execution(&started.execution_arn).unwrap();
    assert_eq!(done.status, ExecutionStatus::Aborted);
    assert_eq!(done.error.as_deref(), Some("Operator"));
    let history = engine
        .get_execution_history(&started.execution_arn)
        .unwrap();
    assert_eq!(
        history.last().unwrap().event_type,
        EventType::ExecutionAborted
    );
    assert!(!engine.stop_execution(&started.execution_arn, None, None));
}

#[tokio::test(start_paused = true)]
async fn subscribers_receive_past_and_live_events_until_the_end() {
    let (engine, _) = engine();
    let arn = machine(
        &engine,
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "Next": "P"}, "P": {"Type": "Pass", "End": true}}}),
    );
    let started = engine.start_execution(&arn, None, "{}").unwrap();
    let mut stream = engine.subscribe(&started.execution_arn).unwrap();
    let mut seen = Vec::new();
    while let Some(event) = stream.next().await {
        seen.push(event.event_type.name());
    }
    assert_eq!(
        seen,
        [
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn execution_names_are_idempotent_while_running_and_unique_afterwards() {
    let (engine, _) = engine();
    let arn = machine(
        &engine,
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}}),
    );
    let a = engine
        .start_execution(&arn, Some("same"), "{\"a\":1}")
        .unwrap();
    let b = engine
        .start_execution(&arn, Some("same"), "{\"a\":1}")
        .unwrap();
    assert_eq!(a, b);
    assert!(
        engine
            .start_execution(&arn, Some("same"), "{\"a\":2}")
            .is_err()
    );
    engine.wait_for(&a.execution_arn).await;
    assert!(
        engine
            .start_execution(&arn, Some("same"), "{\"a\":1}")
            .is_err()
    );
    assert!(
        engine
            .start_execution(&arn, Some("bad name"), "{}")
            .is_err()
    );
    assert!(engine.start_execution(&arn, None, "not json").is_err());
    assert!(engine.start_execution("nope", None, "{}").is_err());
    assert!(a.execution_arn.ends_with(":execution:test:same"));
}

#[tokio::test(start_paused = true)]
async fn list_executions_is_newest_first_and_filters_by_machine() {
    let (engine, _) = engine();
    let a = machine(
        &engine,
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    );
    let b = engine
        .create_state_machine(
            "other",
            &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string(),
            &HashMap::new(),
        )
        .unwrap();
    let first = engine.start_execution(&a, Some("first"), "{}").unwrap();
    let second = engine.start_execution(&a, Some("second"), "{}").unwrap();
    engine.start_execution(&b, Some("third"), "{}").unwrap();
    engine.wait_for(&second.execution_arn).await;
    engine.wait_for(&first.execution_arn).await;
    let listed = engine.list_executions(Some("test"), None);
    let names: Vec<&str> = listed.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["second", "first"]);
    assert_eq!(engine.list_executions(None, None).len(), 3);
    assert_eq!(listed[0].list_item()["stateMachineArn"], json!(a));
}

#[tokio::test(start_paused = true)]
async fn map_keeps_item_order_and_respects_max_concurrency() {
    let (engine, clock) = engine();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (f, p, c) = (in_flight.clone(), peak.clone(), clock.clone());
    engine.register_function("work", move |item: Value| {
        let now = f.fetch_add(1, Ordering::SeqCst) + 1;
        p.fetch_max(now, Ordering::SeqCst);
        // Later items finish first.
        let delay = 10 - item.as_u64().unwrap_or(0);
        let sleep = c.sleep(Duration::from_secs(delay));
        let f = f.clone();
        async move {
            sleep.await;
            f.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, LambdaError>(json!(item.as_u64().unwrap_or(0) * 10))
        }
    });
    let arn = machine(
        &engine,
        json!({"StartAt": "M", "States": {"M": {
            "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
            "ItemProcessor": {"StartAt": "W", "States": {"W": {
                "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:work", "End": true}}},
            "End": true}}}),
    );
    let (done, history) = run(&engine, &arn, json!({"items": [1, 2, 3, 4, 5]})).await;
    assert_eq!(output(&done), json!([10, 20, 30, 40, 50]));
    assert_eq!(peak.load(Ordering::SeqCst), 2);
    let started = history
        .iter()
        .find(|e| e.event_type == EventType::MapStateStarted)
        .unwrap();
    assert_eq!(started.details, EventDetails::MapStateStarted { length: 5 });
}

#[tokio::test(start_paused = true)]
async fn map_tolerated_failures_let_the_map_succeed_until_the_threshold() {
    let (engine, _) = engine();
    engine.register_function("odd", |item: Value| async move {
        if item.as_u64().unwrap_or(0) % 2 == 1 {
            Err(LambdaError::new("Odd", "odd item"))
        } else {
            Ok(item)
        }
    });
    let definition = |tolerated: u64| {
        json!({"StartAt": "M", "States": {"M": {
            "Type": "Map", "ToleratedFailureCount": tolerated,
            "ItemProcessor": {"StartAt": "W", "States": {"W": {
                "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:odd", "End": true}}},
            "End": true}}})
    };
    let arn = machine(&engine, definition(2));
    let (done, _) = run(&engine, &arn, json!([1, 2, 3, 4])).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    let out = output(&done);
    assert_eq!(out[1], json!(2));
    assert_eq!(out[0]["Error"], json!("Odd"));
    let arn = machine(&engine, definition(1));
    let (done, _) = run(&engine, &arn, json!([1, 2, 3, 4])).await;
    assert_eq!(
        done.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
}

#[tokio::test(start_paused = true)]
async fn parallel_results_come_in_branch_order_and_failures_are_caught() {
    let (engine, _) = engine();
    let arn = machine(
        &engine,
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Next": "Q", "ResultPath": "$.p", "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 5, "Next": "A2"}, "A2": {"Type": "Pass", "Result": "a", "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": "b", "End": true}}}
            ]},
            "Q": {"Type": "Parallel", "End": true, "ResultPath": "$.q",
                "Catch": [{"ErrorEquals": ["Nope"], "ResultPath": "$.caught", "Next": "Done"}],
                "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Nope", "Cause": "because"}}}]},
            "Done": {"Type": "Succeed"}}}),
    );
    let (done, _) = run(&engine, &arn, json!({})).await;
    assert_eq!(
        output(&done),
        json!({"p": ["a", "b"], "caught": {"Error": "Nope", "Cause": "because"}})
    );
}

#[tokio::test(start_paused = true)]
async fn substitutions_fill_function_arns_at_load() {
    let (engine, _) = engine();
    engine.register_function("copy", |p: Value| async move { Ok::<_, LambdaError>(p) });
    let definition = json!({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "${CopyObjectFunctionArn}", "Payload.$": "$"},
        "OutputPath": "$.Payload", "End": true}}})
    .to_string();
    let subs = HashMap::from([(
        "CopyObjectFunctionArn".to_owned(),
        "arn:aws:lambda:us-east-1:000000000000:function:copy".to_owned(),
    )]);
    assert!(
        engine
            .create_state_machine("s", &definition, &HashMap::new())
            .is_err()
    );
    let arn = engine
        .create_state_machine("s", &definition, &subs)
        .unwrap();
    let (done, _) = run(&engine, &arn, json!({"k": "v"})).await;
    assert_eq!(output(&done), json!({"k": "v"}));
}
