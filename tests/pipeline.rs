//! The state machine CDK deploys (`statemachine/copyflow.asl.json`), run by the local engine
//! with the real steps against the embedded S3 server: every outcome reachable through real
//! S3 behaviour, and transient S3 failures absorbed by the state machine's own retries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use copyflow::pipeline::{Pipeline, PipelineOptions, S3Target};
use copyflow::render;
use copyflow_asl::StartedExecution;
use copyflow_core::{SettingsDocument, SettingsOrigin};
use copyflow_s3::faults::{Fault, FaultPlan, Operation};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedReceiver;

const SRC: &str = "copyflow-source";

struct Env {
    pipeline: Arc<Pipeline>,
    started: UnboundedReceiver<StartedExecution>,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    env_with(SettingsDocument::new(SRC, "copyflow-destination")).await
}

async fn env_with(document: SettingsDocument) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let options = PipelineOptions {
        settings: document.check(SettingsOrigin::Built).unwrap(),
        s3: S3Target::Embedded {
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.path().join("s3"),
        },
        executions_dir: None,
        max_running: copyflow::pipeline::DEFAULT_MAX_RUNNING,
        lambda_binaries: None,
        server_runtime: None,
    };
    let (pipeline, started) = Pipeline::start(options).await.unwrap();
    Env {
        pipeline,
        started,
        _dir: dir,
    }
}

impl Env {
    async fn put(&self, key: &str, body: &'static [u8]) {
        self.pipeline
            .s3()
            .put_object()
            .bucket(SRC)
            .key(key)
            .body(ByteStream::from_static(body))
            .send()
            .await
            .unwrap();
    }

    /// The next execution to start, run to its end: (path, description JSON).
    async fn next_finished(&mut self) -> (render::Path, Value) {
        let s = tokio::time::timeout(Duration::from_secs(10), self.started.recv())
            .await
            .unwrap()
            .unwrap();
        self.finished(&s.execution_arn).await
    }

    async fn finished(&self, arn: &str) -> (render::Path, Value) {
        let ex = self.pipeline.executions();
        tokio::time::timeout(Duration::from_secs(30), ex.engine().wait_for(arn))
            .await
            .unwrap();
        let events: Vec<render::Event> = ex
            .history(arn)
            .unwrap()
            .iter()
            .map(render::Event::from_json)
            .collect();
        (render::path(&events), ex.describe(arn).unwrap())
    }

    /// Starts another execution with an earlier execution's event (a redelivery).
    async fn restart(&mut self, description: &Value, name: &str) -> String {
        let input = description["input"].as_str().unwrap();
        let arn = self
            .pipeline
            .start_execution(self.pipeline.machine_arn(), Some(name), input)
            .unwrap()
            .execution_arn;
        let announced = self.started.recv().await.unwrap();
        assert_eq!(announced.execution_arn, arn);
        arn
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_outcome_is_reached_through_real_s3_behaviour() {
    let mut e = env().await;
    e.put("AjayMuralidhar/2020-04-06/12/my-task.txt", b"task")
        .await;
    let (copied, first) = e.next_finished().await;
    assert_eq!(
        (copied.outcome(), copied.status.as_str()),
        ("Copied", "SUCCEEDED")
    );
    let output: Value = serde_json::from_str(first["output"].as_str().unwrap()).unwrap();
    assert_eq!(output["verify"]["verdict"], "identical");

    e.put("AjayMuralidhar/2020-04-06/", b"").await;
    assert_eq!(e.next_finished().await.0.outcome(), "Skipped");

    e.put("AjayMuralidhar/2020-02-30/12/no-such-day.txt", b"x")
        .await;
    let (rejected, _) = e.next_finished().await;
    assert_eq!(
        (rejected.outcome(), rejected.error.as_deref()),
        ("KeyRejected", Some("KeyRejected"))
    );

    // The first event again after the object was overwritten: Superseded, nothing touched.
    e.put("AjayMuralidhar/2020-04-06/12/my-task.txt", b"task, revised")
        .await;
    e.next_finished().await;
    let stale = e.restart(&first, "stale-event").await;
    assert_eq!(e.finished(&stale).await.0.outcome(), "Superseded");

    // The event of an object deleted since: CopyFailed with SourceNotFound.
    e.put("PriyaNair/2020-04-07/09/gone.txt", b"soon deleted")
        .await;
    let (_, gone) = e.next_finished().await;
    e.pipeline
        .s3()
        .delete_object()
        .bucket(SRC)
        .key("PriyaNair/2020-04-07/09/gone.txt")
        .send()
        .await
        .unwrap();
    let late = e.restart(&gone, "event-of-a-deleted-object").await;
    let (failed, _) = e.finished(&late).await;
    assert_eq!(
        (failed.outcome(), failed.error.as_deref()),
        ("CopyFailed", Some("SourceNotFound"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_that_are_not_events_end_in_invalid_event_with_the_real_steps() {
    let mut e = env().await;
    let machine = e.pipeline.machine_arn().to_owned();
    let not_urlencoded = r#"{"version": "0", "id": "e-1", "time": "2020-04-06T12:34:56Z",
        "source": "aws.s3", "detail-type": "Object Created",
        "detail": {"bucket": {"name": "copyflow-source"},
                   "object": {"key": "AjayMuralidhar/2020-04-06/12/50%zz.txt", "size": 1}}}"#;
    for (name, input) in [
        ("array", "[1,2,3]"),
        ("null", "null"),
        ("string", r#""string""#),
        ("empty-object", "{}"),
        ("invalid-percent-encoding", not_urlencoded),
    ] {
        let arn = e
            .pipeline
            .start_execution(&machine, Some(name), input)
            .unwrap()
            .execution_arn;
        assert_eq!(e.started.recv().await.unwrap().execution_arn, arn);
        let (path, description) = e.finished(&arn).await;
        assert_eq!(
            (path.outcome(), path.error.as_deref()),
            ("InvalidEvent", Some("InvalidEvent")),
            "{name}: {description}"
        );
        assert!(
            path.cause.as_deref().is_some_and(|c| !c.is_empty()),
            "{name}: {description}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_throttling_that_outlasts_the_sdk_retries_is_retried_by_the_state_machine() {
    let mut e = env().await;
    assert!(e.pipeline.with_faults(Some(FaultPlan::new(5).fail(
        Operation::HeadObject,
        Fault::SlowDown,
        1.0
    ))));
    e.put("ChenWei/2020-04-07/10/throttled.txt", b"eventually copied")
        .await;
    let s = tokio::time::timeout(Duration::from_secs(10), e.started.recv())
        .await
        .unwrap()
        .unwrap();
    // Wait until the copy step has failed with S3Transient once, then let S3 recover.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let history = e.pipeline.executions().history(&s.execution_arn).unwrap();
        if history.iter().any(|ev| {
            ev["type"] == "TaskFailed" && ev["taskFailedEventDetails"]["error"] == "S3Transient"
        }) {
            break;
        }
        assert!(Instant::now() < deadline, "no S3Transient failure surfaced");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    e.pipeline.with_faults(None);
    let (path, _) = e.finished(&s.execution_arn).await;
    assert_eq!(path.outcome(), "Copied");
    let copy = path
        .visits
        .iter()
        .find(|v| v.state == "CopyObject")
        .unwrap();
    assert!(
        copy.failed_attempts.iter().any(|f| f == "S3Transient"),
        "{:?}",
        path.visits
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_execution_cancels_a_running_multipart_copy_and_aborts_its_upload() {
    let mut settings = SettingsDocument::new(SRC, "copyflow-destination");
    settings.copy.multipart_threshold_bytes = 8 << 20;
    settings.copy.part_size_bytes = 5 << 20;
    settings.copy.max_concurrency = 1;
    let mut e = env_with(settings).await;
    // Every part copy takes a while, so the copy is surely running when it is stopped.
    e.pipeline.with_faults(Some(FaultPlan::new(11).fail(
        Operation::UploadPartCopy,
        Fault::Latency(Duration::from_millis(400)),
        1.0,
    )));
    let big = vec![7u8; 30 << 20];
    e.pipeline
        .s3()
        .put_object()
        .bucket(SRC)
        .key("ChenWei/2020-04-09/18/site-survey.mp4")
        .body(ByteStream::from(big))
        .send()
        .await
        .unwrap();
    let started = tokio::time::timeout(Duration::from_secs(10), e.started.recv())
        .await
        .unwrap()
        .unwrap();
    let uploads = || async {
        e.pipeline
            .s3()
            .list_multipart_uploads()
            .bucket("copyflow-destination")
            .send()
            .await
            .unwrap()
            .uploads()
            .len()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while uploads().await == 0 {
        assert!(
            Instant::now() < deadline,
            "the multipart copy never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let engine = e.pipeline.executions().engine();
    assert!(engine.stop_execution(&started.execution_arn, Some("Stopped"), Some("by the test")));
    let deadline = Instant::now() + Duration::from_secs(10);
    while uploads().await > 0 {
        assert!(
            Instant::now() < deadline,
            "the stopped copy left its upload behind"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let d = e
        .pipeline
        .executions()
        .describe(&started.execution_arn)
        .unwrap();
    assert_eq!(d["status"], "ABORTED");
    e.pipeline.with_faults(None);
}

/// 10% of S3 requests fail (SlowDown, InternalError, dropped connections, seeded) while 1,000
/// objects, some over the lowered multipart threshold, go through the pipeline: every object
/// still ends Copied and verified, and no upload is left. Prints what absorbed the faults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_objects_are_copied_through_ten_percent_s3_faults() {
    let mut settings = SettingsDocument::new(SRC, "copyflow-destination");
    settings.copy.multipart_threshold_bytes = 6 << 20;
    settings.copy.part_size_bytes = 5 << 20;
    let mut e = env_with(settings).await;
    let plan = FaultPlan::parse_spec("slowdown=4%,internal=4%,drop=2%", 2026).unwrap();
    e.pipeline.with_faults(Some(plan));
    let total = 1000;
    let s3 = e.pipeline.s3().clone();
    let uploader = tokio::spawn(async move {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..total {
            if tasks.len() >= 16 {
                tasks.join_next().await;
            }
            let s3 = s3.clone();
            tasks.spawn(async move {
                let key = format!("Faults{}/2020-04-06/{:02}/object-{i}.bin", i % 7, i % 24);
                let size = if i % 100 == 0 { 11 << 20 } else { 1 + i * 7 };
                let body = vec![(i % 251) as u8; size];
                // The uploader meets the same faults; it retries like any client would.
                for _ in 0..20 {
                    let put = s3
                        .put_object()
                        .bucket(SRC)
                        .key(&key)
                        .body(ByteStream::from(body.clone()))
                        .send()
                        .await;
                    if put.is_ok() {
                        return;
                    }
                }
                panic!("could not upload {key}");
            });
        }
        while tasks.join_next().await.is_some() {}
    });
    let mut arns = Vec::new();
    while arns.len() < total {
        let s = tokio::time::timeout(Duration::from_secs(60), e.started.recv())
            .await
            .unwrap()
            .unwrap();
        arns.push(s.execution_arn);
    }
    uploader.await.unwrap();
    let engine = e.pipeline.executions().engine().clone();
    let mut state_machine_retries = 0;
    let mut wrong = Vec::new();
    for arn in &arns {
        tokio::time::timeout(Duration::from_secs(300), engine.wait_for(arn))
            .await
            .unwrap();
        let (path, _) = e.finished(arn).await;
        if path.outcome() != "Copied" {
            wrong.push(format!("{arn}: {}", path.outcome()));
        }
        let history = e.pipeline.executions().history(arn).unwrap();
        let count = |t: &str| history.iter().filter(|h| h["type"] == t).count();
        state_machine_retries += count("TaskScheduled") - count("TaskStateEntered");
    }
    assert!(wrong.is_empty(), "not Copied: {wrong:?}");
    let summary = e.pipeline.fault_summary().unwrap();
    e.pipeline.with_faults(None);
    let uploads = e
        .pipeline
        .s3()
        .list_multipart_uploads()
        .bucket("copyflow-destination")
        .send()
        .await
        .unwrap();
    assert!(uploads.uploads().is_empty(), "{:?}", uploads.uploads());
    println!(
        "faults: {summary}; {state_machine_retries} absorbed by the state machine's retries, the rest by the SDK's (and the uploader's)"
    );
}
