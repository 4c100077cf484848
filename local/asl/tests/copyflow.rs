//! `statemachine/copyflow.asl.json` loads with its `${...FunctionArn}` substitutions and runs end
//! to end with stub handlers, through every outcome: Copied (directly and after a multipart
//! checkpoint loop, and after a verification checkpoint loop), Skipped, KeyRejected,
//! InvalidEvent (for any input, object or not), ConfigurationError, ValidationFailed (Internal,
//! timeout), Superseded, CopyFailed (non-retryable, retries exhausted, unexpected error),
//! VerificationFailed and DestinationChanged. Paused tokio time: the retry back-off
//! costs no real time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use copyflow_asl::clock::{SeededRandom, VirtualClock};
use copyflow_asl::{
    Engine, EventDetails, EventType, ExecutionDescription, ExecutionStatus, LambdaError,
};
use serde_json::{Value, json};
use time::macros::datetime;

fn definition() -> String {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../statemachine/copyflow.asl.json");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn substitutions() -> HashMap<String, String> {
    ["ValidateKey", "CopyObject", "VerifyCopy"]
        .iter()
        .map(|step| {
            let function = match *step {
                "ValidateKey" => "validate-key",
                "CopyObject" => "copy-object",
                _ => "verify-copy",
            };
            (
                format!("{step}FunctionArn"),
                format!("arn:aws:lambda:us-east-1:000000000000:function:{function}"),
            )
        })
        .collect()
}

type Step = Arc<dyn Fn(Value, usize) -> Result<Value, LambdaError> + Send + Sync>;

/// Register a stub for `function`: `step(document, call_number)`.
fn stub(engine: &Engine, function: &str, step: Step) -> Arc<AtomicUsize> {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    engine.register_function(function, move |document: Value| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let result = step(document, n);
        async move { result }
    });
    calls
}

fn with(mut document: Value, key: &str, value: Value) -> Value {
    if let Value::Object(map) = &mut document {
        map.insert(key.to_owned(), value);
    }
    document
}

fn validate_ok() -> Step {
    Arc::new(|d, _| Ok(with(d, "action", json!("copy"))))
}

fn copy_done() -> Step {
    Arc::new(|d, _| {
        Ok(with(
            d,
            "copy",
            json!({"status": "done", "method": "CopyObject"}),
        ))
    })
}

fn verify_ok() -> Step {
    Arc::new(|d, _| {
        Ok(with(
            d,
            "verify",
            json!({"verdict": "identical", "method": "stored"}),
        ))
    })
}

fn fails(error: &'static str) -> Step {
    Arc::new(move |_, _| Err(LambdaError::new(error, format!("{error} from the stub"))))
}

struct Run {
    description: ExecutionDescription,
    path: Vec<String>,
}

fn event() -> Value {
    json!({
        "version": "0", "source": "aws.s3", "detail-type": "Object Created",
        "detail": {"bucket": {"name": "src"}, "object": {"key": "a/b.txt", "size": 5, "etag": "e"}}
    })
}

fn engine() -> Engine {
    Engine::builder()
        .clock(Arc::new(VirtualClock::starting_at(
            datetime!(2025-01-01 00:00 UTC),
        )))
        .random(Arc::new(SeededRandom::new(3)))
        .build()
}

async fn run(validate: Step, copy: Step, verify: Step) -> (Run, [usize; 3]) {
    run_input(&event(), validate, copy, verify).await
}

/// Runs the definition on `input` (the execution input, any JSON) with the three stubs.
async fn run_input(input: &Value, validate: Step, copy: Step, verify: Step) -> (Run, [usize; 3]) {
    let engine = engine();
    let calls = [
        stub(&engine, "validate-key", validate),
        stub(&engine, "copy-object", copy),
        stub(&engine, "verify-copy", verify),
    ];
    let run = execute(&engine, input).await;
    (run, calls.map(|c| c.load(Ordering::SeqCst)))
}

async fn execute(engine: &Engine, input: &Value) -> Run {
    let arn = engine
        .create_state_machine("copyflow", &definition(), &substitutions())
        .unwrap();
    let started = engine
        .start_execution(&arn, None, &input.to_string())
        .unwrap();
    let description = engine.wait_for(&started.execution_arn).await.unwrap();
    let path = engine
        .get_execution_history(&started.execution_arn)
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.event_type, EventType::StateEntered(_)))
        .filter_map(|e| match e.details {
            EventDetails::StateEntered { name, .. } => Some(name),
            _ => None,
        })
        .collect();
    Run { description, path }
}

fn output(run: &Run) -> Value {
    serde_json::from_str(run.description.output.as_deref().unwrap_or("null")).unwrap()
}

#[test]
fn the_definition_loads_with_its_substitutions_and_refuses_to_load_without_them() {
    let engine = Engine::new();
    assert!(
        engine
            .create_state_machine("copyflow", &definition(), &substitutions())
            .is_ok()
    );
    let error = engine
        .create_state_machine("copyflow", &definition(), &HashMap::new())
        .unwrap_err();
    assert!(error.message.contains("ValidateKeyFunctionArn"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_valid_key_is_copied_and_verified() {
    let (run, calls) = run(validate_ok(), copy_done(), verify_ok()).await;
    assert_eq!(run.description.status, ExecutionStatus::Succeeded);
    assert_eq!(
        run.path,
        [
            "ValidateKey",
            "IsCopyNeeded",
            "CopyObject",
            "IsCopyFinished",
            "VerifyCopy",
            "IsVerifyFinished",
            "Copied"
        ]
    );
    assert_eq!(output(&run)["verify"]["verdict"], json!("identical"));
    assert_eq!(output(&run)["detail"]["object"]["key"], json!("a/b.txt"));
    assert_eq!(calls, [1, 1, 1]);
}

#[tokio::test(start_paused = true)]
async fn an_unfinished_computed_verification_loops_back_until_verified() {
    let verify: Step = Arc::new(|d, n| {
        let v = if n < 1 {
            json!({"status": "in-progress", "verdict": "in-progress", "checkpoint": {"source": {"crc": 7, "nextStart": 5}}})
        } else {
            json!({"status": "verified", "verdict": "identical", "method": "computed-checksum"})
        };
        Ok(with(d, "verify", v))
    });
    let (run, calls) = run(validate_ok(), copy_done(), verify).await;
    assert_eq!(run.description.status, ExecutionStatus::Succeeded);
    assert_eq!(
        run.path,
        [
            "ValidateKey",
            "IsCopyNeeded",
            "CopyObject",
            "IsCopyFinished",
            "VerifyCopy",
            "IsVerifyFinished",
            "VerifyCopy",
            "IsVerifyFinished",
            "Copied"
        ]
    );
    assert_eq!(calls, [1, 1, 2]);
}

#[tokio::test(start_paused = true)]
async fn a_checkpointed_multipart_copy_loops_back_until_finished() {
    let copy: Step = Arc::new(|d, n| {
        let status = if n < 2 { "in-progress" } else { "done" };
        Ok(with(
            d,
            "copy",
            json!({"status": status, "uploadId": "u1", "partsDone": n + 1}),
        ))
    });
    let (run, calls) = run(validate_ok(), copy, verify_ok()).await;
    assert_eq!(run.description.status, ExecutionStatus::Succeeded);
    assert_eq!(
        run.path,
        [
            "ValidateKey",
            "IsCopyNeeded",
            "CopyObject",
            "IsCopyFinished",
            "CopyObject",
            "IsCopyFinished",
            "CopyObject",
            "IsCopyFinished",
            "VerifyCopy",
            "IsVerifyFinished",
            "Copied"
        ]
    );
    assert_eq!(calls, [1, 3, 1]);
}

#[tokio::test(start_paused = true)]
async fn lambda_service_errors_are_retried() {
    let validate: Step = Arc::new(|d, n| {
        if n == 0 {
            Err(LambdaError::new("Lambda.ServiceException", "try again"))
        } else {
            Ok(with(d, "action", json!("copy")))
        }
    });
    let (run, calls) = run(validate, copy_done(), verify_ok()).await;
    assert_eq!(run.description.status, ExecutionStatus::Succeeded);
    assert_eq!(calls[0], 2);
}

#[tokio::test(start_paused = true)]
async fn skips_end_in_skipped() {
    let validate: Step = Arc::new(|d, _| {
        Ok(with(
            with(d, "action", json!("skip")),
            "reason",
            json!("folder marker"),
        ))
    });
    let (run, calls) = run(validate, copy_done(), verify_ok()).await;
    assert_eq!(run.description.status, ExecutionStatus::Succeeded);
    assert_eq!(run.path, ["ValidateKey", "IsCopyNeeded", "Skipped"]);
    assert_eq!(calls, [1, 0, 0]);
}

#[tokio::test(start_paused = true)]
async fn rejected_keys_fail_as_key_rejected() {
    let (run, calls) = run(fails("KeyRejected"), copy_done(), verify_ok()).await;
    assert_eq!(run.description.status, ExecutionStatus::Failed);
    assert_eq!(run.path, ["ValidateKey", "KeyRejected"]);
    assert_eq!(run.description.error.as_deref(), Some("KeyRejected"));
    let cause: Value = serde_json::from_str(run.description.cause.as_deref().unwrap()).unwrap();
    assert_eq!(cause["errorType"], json!("KeyRejected"));
    assert_eq!(calls, [1, 0, 0]);
}

/// The validate step's answer to input that is not an event (`null` arrives as `{}`), as
/// `copyflow_core` gives it.
fn rejects_non_objects() -> Step {
    Arc::new(|d, _| {
        if d.get("detail").is_some() {
            Ok(with(d, "action", json!("copy")))
        } else {
            Err(LambdaError::new(
                "InvalidEvent",
                "invalid event: the input is an array, not a JSON object",
            ))
        }
    })
}

#[tokio::test(start_paused = true)]
async fn an_input_that_is_not_an_object_ends_in_invalid_event_whatever_its_type() {
    // An array or null reaches the function, which answers InvalidEvent; the Catch replaces
    // the state (ResultPath "$"), so no path is applied to the array. A string never reaches
    // it: Lambda cannot parse the body, which the same Catch names InvalidEvent too.
    for input in [json!([1, 2, 3]), Value::Null, json!("string"), json!(7)] {
        let (run, calls) = run_input(&input, rejects_non_objects(), copy_done(), verify_ok()).await;
        assert_eq!(run.description.status, ExecutionStatus::Failed, "{input}");
        assert_eq!(run.path, ["ValidateKey", "InvalidEvent"], "{input}");
        assert_eq!(
            run.description.error.as_deref(),
            Some("InvalidEvent"),
            "{input}"
        );
        assert!(run.description.cause.is_some(), "{input}");
        assert_eq!(calls[1..], [0, 0], "{input}");
    }
}

#[tokio::test(start_paused = true)]
async fn invalid_events_and_configuration_errors_end_in_fail_states_of_their_own() {
    for name in ["InvalidEvent", "ConfigurationError"] {
        let (r, _) = run(fails(name), copy_done(), verify_ok()).await;
        assert_eq!(r.path, ["ValidateKey", name]);
        assert_eq!(r.description.error.as_deref(), Some(name));
        let cause: Value = serde_json::from_str(r.description.cause.as_deref().unwrap()).unwrap();
        assert_eq!(cause["errorType"], json!(name));
        let (r, _) = run(validate_ok(), fails(name), verify_ok()).await;
        assert_eq!(r.path, ["ValidateKey", "IsCopyNeeded", "CopyObject", name]);
        assert_eq!(r.description.error.as_deref(), Some(name));
        let (r, _) = run(validate_ok(), copy_done(), fails(name)).await;
        assert_eq!(r.path.last().map(String::as_str), Some(name));
    }
}

#[tokio::test(start_paused = true)]
async fn an_internal_error_in_validate_key_ends_in_validation_failed() {
    for name in ["Internal", "SomethingElse"] {
        let (run, calls) = run(fails(name), copy_done(), verify_ok()).await;
        assert_eq!(run.description.status, ExecutionStatus::Failed);
        assert_eq!(run.path, ["ValidateKey", "ValidationFailed"]);
        assert_eq!(run.description.error.as_deref(), Some(name));
        assert_eq!(calls, [1, 0, 0]);
    }
}

#[tokio::test(start_paused = true)]
async fn a_validate_key_timeout_ends_in_validation_failed() {
    let engine = engine();
    engine.register_function("validate-key", |d: Value| async move {
        tokio::time::sleep(std::time::Duration::from_secs(31)).await;
        Ok::<Value, LambdaError>(d)
    });
    stub(&engine, "copy-object", copy_done());
    stub(&engine, "verify-copy", verify_ok());
    let run = execute(&engine, &event()).await;
    assert_eq!(run.description.status, ExecutionStatus::Failed);
    assert_eq!(run.path, ["ValidateKey", "ValidationFailed"]);
    assert_eq!(run.description.error.as_deref(), Some("States.Timeout"));
}

#[tokio::test(start_paused = true)]
async fn a_destination_changed_before_verification_fails_as_destination_changed() {
    let (run, calls) = run(validate_ok(), copy_done(), fails("DestinationChanged")).await;
    assert_eq!(run.description.status, ExecutionStatus::Failed);
    assert_eq!(
        run.path,
        [
            "ValidateKey",
            "IsCopyNeeded",
            "CopyObject",
            "IsCopyFinished",
            "VerifyCopy",
            "DestinationChanged"
        ]
    );
    assert_eq!(run.description.error.as_deref(), Some("DestinationChanged"));
    // Not retried: verify would read the same replaced object again.
    assert_eq!(calls, [1, 1, 1]);
}

#[tokio::test(start_paused = true)]
async fn a_source_overwritten_during_the_copy_is_superseded() {
    let (run, _) = run(validate_ok(), fails("SourceChanged"), verify_ok()).await;
    assert_eq!(run.description.status, ExecutionStatus::Succeeded);
    assert_eq!(
        run.path,
        ["ValidateKey", "IsCopyNeeded", "CopyObject", "Superseded"]
    );
    assert_eq!(output(&run)["error"]["Error"], json!("SourceChanged"));
}

#[tokio::test(start_paused = true)]
async fn a_source_overwritten_before_verification_is_superseded() {
    let (run, _) = run(validate_ok(), copy_done(), fails("SourceChanged")).await;
    assert_eq!(run.description.status, ExecutionStatus::Succeeded);
    assert_eq!(run.path.last().map(String::as_str), Some("Superseded"));
}

#[tokio::test(start_paused = true)]
async fn non_retryable_copy_errors_fail_as_copy_failed() {
    let (run, calls) = run(validate_ok(), fails("AccessDenied"), verify_ok()).await;
    assert_eq!(run.description.status, ExecutionStatus::Failed);
    assert_eq!(
        run.path,
        ["ValidateKey", "IsCopyNeeded", "CopyObject", "CopyFailed"]
    );
    assert_eq!(run.description.error.as_deref(), Some("AccessDenied"));
    assert_eq!(calls, [1, 1, 0]);
}

#[tokio::test(start_paused = true)]
async fn transient_copy_errors_are_retried_then_fail_as_copy_failed() {
    let (run, calls) = run(validate_ok(), fails("S3Transient"), verify_ok()).await;
    assert_eq!(run.description.status, ExecutionStatus::Failed);
    assert_eq!(run.path.last().map(String::as_str), Some("CopyFailed"));
    assert_eq!(run.description.error.as_deref(), Some("S3Transient"));
    // One attempt plus MaxAttempts = 5 retries.
    assert_eq!(calls[1], 6);
}

#[tokio::test(start_paused = true)]
async fn unexpected_errors_are_caught_as_copy_failed() {
    let (run, _) = run(validate_ok(), fails("SomethingElse"), verify_ok()).await;
    assert_eq!(run.description.status, ExecutionStatus::Failed);
    assert_eq!(run.path.last().map(String::as_str), Some("CopyFailed"));
    assert_eq!(run.description.error.as_deref(), Some("SomethingElse"));
}

#[tokio::test(start_paused = true)]
async fn a_checksum_mismatch_fails_as_verification_failed() {
    let (run, calls) = run(validate_ok(), copy_done(), fails("ChecksumMismatch")).await;
    assert_eq!(run.description.status, ExecutionStatus::Failed);
    assert_eq!(
        run.path,
        [
            "ValidateKey",
            "IsCopyNeeded",
            "CopyObject",
            "IsCopyFinished",
            "VerifyCopy",
            "VerificationFailed"
        ]
    );
    assert_eq!(run.description.error.as_deref(), Some("ChecksumMismatch"));
    assert_eq!(calls, [1, 1, 1]);
}
