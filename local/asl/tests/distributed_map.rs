//! Distributed Map and `startExecution.sync:2` through the host API: each field the engine
//! runs (ItemReader over a host-registered listing, ItemSelector, ItemBatcher,
//! MaxConcurrency, tolerated failures, ResultWriter, Label, child executions, Map Run events
//! and descriptions), and a load-time error naming each field or option it does not run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use copyflow_asl::{Engine, ExecutionDescription, ExecutionStatus, LambdaError, MapRunStatus};
use serde_json::{Value, json};

const LIST: &str = "arn:aws:states:::s3:listObjectsV2";
const PUT: &str = "arn:aws:states:::s3:putObject";

/// A bucket listing served two keys per page, and the files "written" to it.
#[derive(Clone, Default)]
struct Bucket {
    keys: Vec<String>,
    written: Arc<Mutex<BTreeMap<String, String>>>,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl Bucket {
    fn with_keys(n: usize) -> Bucket {
        Bucket {
            keys: (0..n).map(|i| format!("in/k{i}")).collect(),
            ..Bucket::default()
        }
    }

    fn register(&self, engine: &Engine) {
        let b = self.clone();
        engine.register_integration(LIST, move |p: Value| {
            let b = b.clone();
            async move {
                b.requests.lock().unwrap().push(p.clone());
                let prefix = p["Prefix"].as_str().unwrap_or_default();
                let from: usize = p["ContinuationToken"]
                    .as_str()
                    .map_or(0, |t| t.parse().unwrap());
                let matching: Vec<&String> =
                    b.keys.iter().filter(|k| k.starts_with(prefix)).collect();
                let page: Vec<Value> = matching
                    .iter()
                    .skip(from)
                    .take(2)
                    .map(|k| json!({"Key": k, "Size": 3, "ETag": "\"e\"", "LastModified": 1_700_000_000, "StorageClass": "STANDARD"}))
                    .collect();
                let mut out = json!({"Contents": page});
                if from + 2 < matching.len() {
                    out["NextContinuationToken"] = json!((from + 2).to_string());
                }
                Ok::<_, LambdaError>(out)
            }
        });
        let b = self.clone();
        engine.register_integration(PUT, move |p: Value| {
            let b = b.clone();
            async move {
                b.written.lock().unwrap().insert(
                    format!(
                        "{}/{}",
                        p["Bucket"].as_str().unwrap(),
                        p["Key"].as_str().unwrap()
                    ),
                    p["Body"].as_str().unwrap().to_owned(),
                );
                Ok::<_, LambdaError>(json!({"ETag": "\"w\""}))
            }
        });
    }

    fn file(&self, suffix: &str) -> Value {
        let written = self.written.lock().unwrap();
        let (_, body) = written
            .iter()
            .find(|(k, _)| k.ends_with(suffix))
            .unwrap_or_else(|| panic!("no {suffix} in {:?}", written.keys()));
        serde_json::from_str(body).unwrap()
    }
}

/// A Distributed Map over `reader` whose processor is `processor`, with `extra` fields.
fn distributed(processor: Value, extra: Value) -> Value {
    let mut map = json!({
        "Type": "Map",
        "ItemReader": {"Resource": LIST, "Parameters": {"Bucket": "b", "Prefix": "in/"}},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P",
            "States": {"P": processor}
        },
        "End": true
    });
    for (k, v) in extra.as_object().unwrap() {
        map[k] = v.clone();
    }
    json!({"StartAt": "M", "States": {"M": map}})
}

fn pass() -> Value {
    json!({"Type": "Pass", "End": true})
}

fn load(
    engine: &Engine,
    name: &str,
    definition: &Value,
) -> Result<String, copyflow_asl::LoadError> {
    engine.create_state_machine(name, &definition.to_string(), &HashMap::new())
}

async fn run(engine: &Engine, definition: Value) -> (ExecutionDescription, Vec<&'static str>) {
    let arn = load(engine, "parent", &definition).unwrap();
    let started = engine.start_execution(&arn, None, "{}").unwrap();
    let d = tokio::time::timeout(
        Duration::from_secs(30),
        engine.wait_for(&started.execution_arn),
    )
    .await
    .unwrap()
    .unwrap();
    let types = engine
        .get_execution_history(&started.execution_arn)
        .unwrap()
        .iter()
        .map(|e| e.event_type.name())
        .collect();
    (d, types)
}

fn output(d: &ExecutionDescription) -> Value {
    serde_json::from_str(d.output.as_deref().unwrap()).unwrap()
}

#[tokio::test]
async fn item_reader_lists_every_page_and_gives_items_the_aws_shape() {
    let engine = Engine::new();
    let bucket = Bucket::with_keys(5);
    bucket.register(&engine);
    let (d, types) = run(&engine, distributed(pass(), json!({}))).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{d:?}");
    let items = output(&d);
    assert_eq!(items.as_array().unwrap().len(), 5);
    assert_eq!(
        items[0],
        json!({"Etag": "\"e\"", "Key": "in/k0", "LastModified": 1_700_000_000, "Size": 3, "StorageClass": "STANDARD"})
    );
    assert_eq!(items[4]["Key"], "in/k4");
    let requests = bucket.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_eq!(requests[1]["ContinuationToken"], "2");
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test]
async fn reader_config_max_items_stops_the_listing() {
    let engine = Engine::new();
    Bucket::with_keys(5).register(&engine);
    let mut def = distributed(pass(), json!({}));
    def["States"]["M"]["ItemReader"]["ReaderConfig"] = json!({"MaxItems": 3});
    let (d, _) = run(&engine, def).await;
    assert_eq!(output(&d).as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn an_unregistered_reader_fails_the_map_with_item_reader_failed() {
    let engine = Engine::new();
    let (d, _) = run(&engine, distributed(pass(), json!({}))).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("States.ItemReaderFailed"));
}

#[tokio::test]
async fn item_selector_shapes_each_item_from_the_context_object() {
    let engine = Engine::new();
    Bucket::with_keys(3).register(&engine);
    let def = distributed(
        pass(),
        json!({"ItemSelector": {"key.$": "$$.Map.Item.Value.Key", "index.$": "$$.Map.Item.Index", "fixed": 1}}),
    );
    let (d, _) = run(&engine, def).await;
    assert_eq!(
        output(&d)[2],
        json!({"key": "in/k2", "index": 2, "fixed": 1})
    );
}

#[tokio::test]
async fn item_batcher_groups_items_into_batches_of_max_items_per_batch() {
    let engine = Engine::new();
    Bucket::with_keys(5).register(&engine);
    let def = distributed(
        pass(),
        json!({"ItemSelector": {"k.$": "$$.Map.Item.Value.Key"}, "ItemBatcher": {"MaxItemsPerBatch": 2}}),
    );
    let (d, _) = run(&engine, def).await;
    let out = output(&d);
    assert_eq!(out.as_array().unwrap().len(), 3);
    assert_eq!(out[0], json!({"Items": [{"k": "in/k0"}, {"k": "in/k1"}]}));
    assert_eq!(out[2], json!({"Items": [{"k": "in/k4"}]}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrency_bounds_the_children_running_at_once() {
    let engine = Engine::new();
    Bucket::with_keys(12).register(&engine);
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (r, p) = (running.clone(), peak.clone());
    engine.register_function("slow", move |v: Value| {
        let (r, p) = (r.clone(), p.clone());
        async move {
            let now = r.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            r.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, LambdaError>(v)
        }
    });
    let task = json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:slow", "End": true});
    let (d, _) = run(&engine, distributed(task, json!({"MaxConcurrency": 3}))).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(peak.load(Ordering::SeqCst), 3);
    let run = &engine.list_map_runs(&d.execution_arn)[0];
    assert_eq!(run.max_concurrency, 3);
}

/// Items 0..n whose keys say whether their index is odd (`in/1-...`): the processor fails
/// those.
fn odd_bucket(n: usize) -> Bucket {
    Bucket {
        keys: (0..n).map(|i| format!("in/{}-{i}", i % 2)).collect(),
        ..Bucket::default()
    }
}

fn parity_map(extra: Value) -> Value {
    let mut def = distributed(pass(), extra);
    def["States"]["M"]["ItemSelector"] = json!({"key.$": "$$.Map.Item.Value.Key"});
    def["States"]["M"]["ItemProcessor"]["States"] = json!({
        "P": {"Type": "Choice", "Choices": [{"Variable": "$.key", "StringMatches": "in/1-*", "Next": "Bad"}], "Default": "Good"},
        "Bad": {"Type": "Fail", "Error": "Odd", "Cause": "odd item"},
        "Good": {"Type": "Succeed"}
    });
    def
}

#[tokio::test]
async fn without_a_tolerance_the_first_failed_child_fails_the_map_run() {
    let engine = Engine::new();
    odd_bucket(6).register(&engine);
    let (d, types) = run(&engine, parity_map(json!({"MaxConcurrency": 1}))).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(
        d.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    assert!(types.contains(&"MapRunFailed"), "{types:?}");
    let run = &engine.list_map_runs(&d.execution_arn)[0];
    assert_eq!(run.status, MapRunStatus::Failed);
    // One at a time: item 0 succeeded, item 1 failed, the rest never started.
    assert_eq!(
        (
            run.item_counts.succeeded,
            run.item_counts.failed,
            run.item_counts.pending
        ),
        (1, 1, 4)
    );
}

#[tokio::test]
async fn tolerated_failure_percentage_and_count_let_a_map_run_succeed() {
    for extra in [
        json!({"ToleratedFailurePercentage": 50}),
        json!({"ToleratedFailureCount": 3}),
    ] {
        let engine = Engine::new();
        odd_bucket(6).register(&engine);
        let (d, _) = run(&engine, parity_map(extra.clone())).await;
        assert_eq!(d.status, ExecutionStatus::Succeeded, "{extra}: {d:?}");
        let out = output(&d);
        assert_eq!(out[1]["Error"], "Odd", "{out}");
        let run = &engine.list_map_runs(&d.execution_arn)[0];
        assert_eq!((run.item_counts.succeeded, run.item_counts.failed), (3, 3));
    }
    let engine = Engine::new();
    odd_bucket(6).register(&engine);
    let (d, _) = run(
        &engine,
        parity_map(json!({"ToleratedFailurePercentage": 40})),
    )
    .await;
    assert_eq!(
        d.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
}

#[tokio::test]
async fn result_writer_writes_a_manifest_and_the_failed_items_with_input_error_and_cause() {
    let engine = Engine::new();
    let bucket = odd_bucket(4);
    bucket.register(&engine);
    let def = parity_map(json!({
        "ToleratedFailurePercentage": 100,
        "Label": "Backfill",
        "ResultWriter": {"Resource": PUT, "Parameters": {"Bucket": "reports", "Prefix": "runs/"}}
    }));
    let (d, _) = run(&engine, def).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{d:?}");
    let out = output(&d);
    let run = &engine.list_map_runs(&d.execution_arn)[0];
    assert!(
        run.map_run_arn
            .starts_with("arn:aws:states:us-east-1:000000000000:mapRun:parent/Backfill:"),
        "{}",
        run.map_run_arn
    );
    assert_eq!(out["MapRunArn"], run.map_run_arn.as_str());
    assert_eq!(out["ResultWriterDetails"]["Bucket"], "reports");
    let manifest_key = out["ResultWriterDetails"]["Key"].as_str().unwrap();
    assert!(manifest_key.starts_with("runs/") && manifest_key.ends_with("/manifest.json"));
    let manifest = bucket.file("manifest.json");
    assert_eq!(manifest["DestinationBucket"], "reports");
    assert_eq!(
        manifest["ResultFiles"]["FAILED"].as_array().unwrap().len(),
        1
    );
    let failed = bucket.file("FAILED_0.json");
    let failed = failed.as_array().unwrap();
    assert_eq!(failed.len(), 2);
    for f in failed {
        assert_eq!(f["Status"], "FAILED");
        assert_eq!(f["Error"], "Odd");
        assert_eq!(f["Cause"], "odd item");
        let input: Value = serde_json::from_str(f["Input"].as_str().unwrap()).unwrap();
        assert!(input["key"].as_str().unwrap().starts_with("in/1-"));
    }
    assert_eq!(bucket.file("SUCCEEDED_0.json").as_array().unwrap().len(), 2);
    assert_eq!(run.item_counts.results_written, 4);
}

#[tokio::test]
async fn a_failed_map_run_still_writes_its_results_with_the_items_never_started_as_pending() {
    let engine = Engine::new();
    let bucket = odd_bucket(6);
    bucket.register(&engine);
    let def = parity_map(json!({
        "MaxConcurrency": 1,
        "ResultWriter": {"Resource": PUT, "Parameters": {"Bucket": "reports"}}
    }));
    let (d, _) = run(&engine, def).await;
    assert_eq!(
        d.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    assert_eq!(bucket.file("FAILED_0.json").as_array().unwrap().len(), 1);
    let pending = bucket.file("PENDING_0.json");
    assert_eq!(pending.as_array().unwrap().len(), 4);
    assert_eq!(pending[0]["Input"], r#"{"key":"in/0-2"}"#);
    let manifest = bucket.file("manifest.json");
    assert_eq!(
        manifest["ResultFiles"]["PENDING"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn child_executions_are_listed_by_map_run_with_their_own_histories() {
    let engine = Engine::new();
    odd_bucket(4).register(&engine);
    let (d, _) = run(&engine, parity_map(json!({"ToleratedFailureCount": 4}))).await;
    let run = &engine.list_map_runs(&d.execution_arn)[0];
    let described = engine.describe_map_run(&run.map_run_arn).unwrap();
    assert_eq!(described.item_counts.total, 4);
    assert_eq!(described.to_json()["itemCounts"]["succeeded"], 2);
    let children = engine
        .list_map_run_executions(&run.map_run_arn, None)
        .unwrap();
    assert_eq!(children.len(), 4);
    let failed = engine
        .list_map_run_executions(&run.map_run_arn, Some(ExecutionStatus::Failed))
        .unwrap();
    assert_eq!(failed.len(), 2);
    let child = &failed[0];
    assert!(
        child.execution_arn.contains(":execution:parent/M:"),
        "{}",
        child.execution_arn
    );
    assert_eq!(
        engine
            .describe_execution(&child.execution_arn)
            .unwrap()
            .error
            .as_deref(),
        Some("Odd")
    );
    let history: Vec<&str> = engine
        .get_execution_history(&child.execution_arn)
        .unwrap()
        .iter()
        .map(|e| e.event_type.name())
        .collect();
    assert_eq!(history.first(), Some(&"ExecutionStarted"));
    assert_eq!(history.last(), Some(&"ExecutionFailed"));
}

#[tokio::test]
async fn items_path_feeds_a_distributed_map_without_a_reader() {
    let engine = Engine::new();
    let def = json!({"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "End": true,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let arn = load(&engine, "paths", &def).unwrap();
    let started = engine
        .start_execution(&arn, None, r#"{"items": [1, 2]}"#)
        .unwrap();
    let d = engine.wait_for(&started.execution_arn).await.unwrap();
    assert_eq!(output(&d), json!([1, 2]));
}

fn child_machine(engine: &Engine) -> String {
    let def = json!({"StartAt": "C", "States": {"C": {"Type": "Choice",
        "Choices": [{"Variable": "$.fail", "BooleanEquals": true, "Next": "No"}], "Default": "Yes"},
        "No": {"Type": "Fail", "Error": "ChildError", "Cause": "the child failed"},
        "Yes": {"Type": "Pass", "Result": {"done": true}, "End": true}}});
    load(engine, "child", &def).unwrap()
}

fn sync_parent(child: &str, fail: bool) -> Value {
    json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": child, "Input": {"fail": fail}, "Name": format!("run-{fail}")},
        "End": true}}})
}

#[tokio::test]
async fn start_execution_sync_2_waits_for_the_child_and_returns_its_output_as_json() {
    let engine = Engine::new();
    let child = child_machine(&engine);
    let (d, types) = run(&engine, sync_parent(&child, false)).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{d:?}");
    let out = output(&d);
    assert_eq!(out["Output"], json!({"done": true}));
    assert_eq!(out["Input"], json!({"fail": false}));
    assert_eq!(out["Status"], "SUCCEEDED");
    assert_eq!(out["Name"], "run-false");
    assert_eq!(out["StateMachineArn"], child.as_str());
    assert!(out["StartDate"].is_i64() && out["StopDate"].is_i64());
    assert!(types.contains(&"TaskSucceeded"), "{types:?}");
}

#[tokio::test]
async fn a_failed_child_fails_the_task_with_states_task_failed_and_its_description() {
    let engine = Engine::new();
    let child = child_machine(&engine);
    let (d, _) = run(&engine, sync_parent(&child, true)).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("States.TaskFailed"));
    let cause: Value = serde_json::from_str(d.cause.as_deref().unwrap()).unwrap();
    assert_eq!(cause["Status"], "FAILED");
    assert_eq!(cause["Error"], "ChildError");
    assert_eq!(cause["Cause"], "the child failed");
}

#[tokio::test]
async fn an_unknown_child_machine_is_a_catchable_step_functions_error() {
    let engine = Engine::new();
    let mut def = sync_parent(
        "arn:aws:states:us-east-1:000000000000:stateMachine:nope",
        false,
    );
    def["States"]["T"]["Catch"] = json!([{"ErrorEquals": ["StepFunctions.StateMachineDoesNotExistException"], "Next": "Caught"}]);
    def["States"]["Caught"] = json!({"Type": "Succeed"});
    let (d, _) = run(&engine, def).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{d:?}");
}

/// A change to a definition.
type Change = Box<dyn Fn(&mut Value)>;

/// Each Distributed Map field or option the engine does not run is a load error naming it.
#[test]
fn unimplemented_distributed_map_fields_are_load_errors_naming_them() {
    let engine = Engine::new();
    let base = distributed(pass(), json!({}));
    let cases: Vec<(&str, Change)> = vec![
        (
            "/States/M/ItemReader/Resource",
            Box::new(|d| {
                d["States"]["M"]["ItemReader"]["Resource"] = json!("arn:aws:states:::s3:getObject")
            }),
        ),
        (
            "/States/M/ItemReader/ReaderConfig/InputType",
            Box::new(|d| {
                d["States"]["M"]["ItemReader"]["ReaderConfig"] = json!({"InputType": "CSV"})
            }),
        ),
        (
            "/States/M/ItemReader/ReaderConfig/MaxItemsPath",
            Box::new(|d| {
                d["States"]["M"]["ItemReader"]["ReaderConfig"] = json!({"MaxItemsPath": "$.n"})
            }),
        ),
        (
            "/States/M/ItemBatcher/MaxInputBytesPerBatch",
            Box::new(|d| {
                d["States"]["M"]["ItemBatcher"] =
                    json!({"MaxItemsPerBatch": 2, "MaxInputBytesPerBatch": 1024})
            }),
        ),
        (
            "/States/M/ItemBatcher/BatchInput",
            Box::new(|d| {
                d["States"]["M"]["ItemBatcher"] = json!({"MaxItemsPerBatch": 2, "BatchInput": {}})
            }),
        ),
        (
            "/States/M/ItemBatcher/MaxItemsPerBatchPath",
            Box::new(|d| d["States"]["M"]["ItemBatcher"] = json!({"MaxItemsPerBatchPath": "$.n"})),
        ),
        (
            "/States/M/ResultWriter/WriterConfig",
            Box::new(
                |d| d["States"]["M"]["ResultWriter"] = json!({"Resource": PUT, "Parameters": {"Bucket": "b"}, "WriterConfig": {"OutputType": "JSONL"}}),
            ),
        ),
        (
            "/States/M/ResultWriter/Resource",
            Box::new(
                |d| d["States"]["M"]["ResultWriter"] = json!({"Resource": "arn:aws:states:::dynamodb:putItem", "Parameters": {"Bucket": "b"}}),
            ),
        ),
        (
            "/States/M/ItemProcessor/ProcessorConfig/ExecutionType",
            Box::new(|d| {
                d["States"]["M"]["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] =
                    json!("EXPRESS")
            }),
        ),
        (
            "/States/M/ItemsPath",
            Box::new(|d| d["States"]["M"]["ItemsPath"] = json!("$.items")),
        ),
        (
            "/States/M/ToleratedFailurePercentage",
            Box::new(|d| d["States"]["M"]["ToleratedFailurePercentage"] = json!(101)),
        ),
        (
            "/States/M/Label",
            Box::new(|d| d["States"]["M"]["Label"] = json!("has space")),
        ),
    ];
    for (location, change) in cases {
        let mut def = base.clone();
        change(&mut def);
        let e = load(&engine, "bad", &def).unwrap_err();
        assert_eq!(e.location, location, "{e}");
    }
    // Distributed Map fields on an inline Map.
    let inline = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemReader": {"Resource": LIST, "Parameters": {"Bucket": "b"}},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let e = load(&engine, "bad", &inline).unwrap_err();
    assert_eq!(e.location, "/States/M/ItemReader");
    assert!(e.message.contains("DISTRIBUTED"), "{e}");
    // Other Step Functions integrations.
    for resource in [
        "arn:aws:states:::states:startExecution",
        "arn:aws:states:::states:startExecution.sync",
        "arn:aws:states:::states:startExecution.waitForTaskToken",
    ] {
        let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource,
            "Parameters": {"StateMachineArn": "x"}, "End": true}}});
        let e = load(&engine, "bad", &def).unwrap_err();
        assert_eq!(e.location, "/States/T/Resource", "{resource}");
    }
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2", "Parameters": {}, "End": true}}});
    assert_eq!(
        load(&engine, "bad", &def).unwrap_err().location,
        "/States/T/Parameters"
    );
}
