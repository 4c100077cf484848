//! The backfill state machine (`statemachine/backfill.asl.json`) on the local engine: a
//! Distributed Map lists a source bucket of 2,000 objects that no event announced, starts the
//! copyflow state machine for each (startExecution.sync:2) and writes a report of the objects
//! whose execution failed. Some objects are already copied, some keys break the key rules, one
//! object takes the multipart path; a second run copies nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use copyflow::pipeline::{Pipeline, PipelineOptions, S3Target};
use copyflow_asl::{ExecutionStatus, MapRunStatus};
use copyflow_core::{SettingsDocument, SettingsOrigin};
use copyflow_s3::event::{EventFactory, KeyEncoding, ObjectCreated, Reason};
use copyflow_s3::{S3Server, ServerConfig};
use serde_json::Value;

const SRC: &str = "copyflow-source";
const DST: &str = "copyflow-destination";
const OBJECTS: usize = 2_000;
const REJECTED: usize = 20;
const ALREADY_COPIED: usize = 50;
const BIG_KEY: &str = "Big/2020-04-06/12/multipart.bin";
const MIB: u64 = 1024 * 1024;

struct Env {
    pipeline: Arc<Pipeline>,
    _server: S3Server,
    _dir: tempfile::TempDir,
}

/// A pipeline on an S3 server whose events nobody routes: the objects are "already there".
async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let server = S3Server::start(ServerConfig::new(dir.path().join("s3")))
        .await
        .unwrap();
    let c = server.config();
    let mut document = SettingsDocument::new(SRC, DST);
    document.keys.pattern = Some(
        r"(?P<employee>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<hour>\d{2})/(?P<file>[^/]+)"
            .to_owned(),
    );
    document.copy.multipart_threshold_bytes = 8 * MIB;
    document.copy.part_size_bytes = 5 * MIB;
    let options = PipelineOptions {
        settings: document.check(SettingsOrigin::Built).unwrap(),
        s3: S3Target::External {
            endpoint: server.endpoint(),
            access_key: c.access_key.clone(),
            secret_key: c.secret_key.clone(),
            region: c.region.clone(),
        },
        executions_dir: None,
        max_running: copyflow::pipeline::DEFAULT_MAX_RUNNING,
        lambda_binaries: None,
        server_runtime: None,
    };
    let (pipeline, _started) = Pipeline::start(options).await.unwrap();
    let s3 = pipeline.s3();
    for bucket in [SRC, DST, copyflow::backfill_machine::REPORT_BUCKET] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    // Versioned like the deployed buckets: a rewrite of a copy would add a version.
    for bucket in [SRC, DST] {
        use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
        s3.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    Env {
        pipeline,
        _server: server,
        _dir: dir,
    }
}

fn valid_key(i: usize) -> String {
    format!("Employee{}/2020-04-06/12/file-{i:04}.txt", i % 7)
}

fn rejected_key(i: usize) -> String {
    // February 30th: the key rules reject the date.
    format!("Employee{i}/2020-02-30/12/rejected-{i:02}.txt")
}

impl Env {
    async fn put(&self, key: &str, body: Vec<u8>) {
        self.pipeline
            .s3()
            .put_object()
            .bucket(SRC)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
    }

    /// Runs the copyflow state machine on `key` as an S3 event would (the per-object path).
    async fn copy_one(&self, key: &str) {
        let head = self
            .pipeline
            .s3()
            .head_object()
            .bucket(SRC)
            .key(key)
            .send()
            .await
            .unwrap();
        let event = EventFactory::new("000000000000", "us-east-1", "test", KeyEncoding::Raw).build(
            ObjectCreated {
                bucket: SRC.to_owned(),
                key: key.to_owned(),
                size: head.content_length().unwrap() as u64,
                etag: head.e_tag().unwrap().to_owned(),
                version_id: None,
                reason: Reason::PutObject,
                request_id: "test".to_owned(),
                source_ip: "127.0.0.1".to_owned(),
            },
        );
        let started = self
            .pipeline
            .start_execution(
                self.pipeline.machine_arn(),
                None,
                &serde_json::to_string(&event).unwrap(),
            )
            .unwrap();
        let d = self
            .pipeline
            .executions()
            .engine()
            .wait_for(&started.execution_arn)
            .await
            .unwrap();
        assert_eq!(d.status, ExecutionStatus::Succeeded, "{d:?}");
    }

    async fn get_json(&self, bucket: &str, key: &str) -> Value {
        let got = self
            .pipeline
            .s3()
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        serde_json::from_slice(&got.body.collect().await.unwrap().into_bytes()).unwrap()
    }

    async fn keys(&self, bucket: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut pages = self
            .pipeline
            .s3()
            .list_objects_v2()
            .bucket(bucket)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for o in page.unwrap().contents() {
                out.insert(o.key().unwrap().to_owned());
            }
        }
        out
    }

    /// Runs the backfill state machine to its end: its output, Map Run and report files.
    async fn backfill(&self) -> Backfill {
        let engine = self.pipeline.executions().engine().clone();
        let started = self
            .pipeline
            .start_execution(self.pipeline.backfill_machine_arn(), None, "{}")
            .unwrap();
        let d = tokio::time::timeout(
            Duration::from_secs(600),
            engine.wait_for(&started.execution_arn),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(d.status, ExecutionStatus::Succeeded, "{d:?}");
        let runs = engine.list_map_runs(&started.execution_arn);
        assert_eq!(runs.len(), 1);
        let run = runs[0].clone();
        let output: Value = serde_json::from_str(d.output.as_deref().unwrap()).unwrap();
        assert_eq!(output["MapRunArn"], run.map_run_arn.as_str());
        let details = &output["ResultWriterDetails"];
        let manifest = self
            .get_json(
                details["Bucket"].as_str().unwrap(),
                details["Key"].as_str().unwrap(),
            )
            .await;
        let files = |kind: &str| {
            manifest["ResultFiles"][kind]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["Key"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        let (failed_files, succeeded_files) = (files("FAILED"), files("SUCCEEDED"));
        let mut failed = Vec::new();
        for f in failed_files {
            failed.extend(
                self.get_json(copyflow::backfill_machine::REPORT_BUCKET, &f)
                    .await
                    .as_array()
                    .unwrap()
                    .clone(),
            );
        }
        let mut succeeded = Vec::new();
        for f in succeeded_files {
            succeeded.extend(
                self.get_json(copyflow::backfill_machine::REPORT_BUCKET, &f)
                    .await
                    .as_array()
                    .unwrap()
                    .clone(),
            );
        }
        let history = engine
            .get_execution_history(&started.execution_arn)
            .unwrap();
        let types: Vec<&str> = history.iter().map(|e| e.event_type.name()).collect();
        assert!(
            types.contains(&"MapRunStarted") && types.contains(&"MapRunSucceeded"),
            "{types:?}"
        );
        Backfill {
            run,
            failed,
            succeeded,
        }
    }
}

struct Backfill {
    run: copyflow_asl::MapRunDescription,
    failed: Vec<Value>,
    succeeded: Vec<Value>,
}

/// The key in a report entry's input (the Object Created event).
fn key_of(entry: &Value) -> String {
    let input: Value = serde_json::from_str(entry["Input"].as_str().unwrap()).unwrap();
    input["detail"]["object"]["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The copyflow execution's output inside a succeeded item's startExecution.sync:2 result.
fn copyflow_output(entry: &Value) -> Value {
    let output: Value = serde_json::from_str(entry["Output"].as_str().unwrap()).unwrap();
    output["Output"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_copies_every_valid_object_reports_the_rejected_ones_and_a_rerun_copies_nothing()
{
    let e = env().await;
    let valid = OBJECTS - REJECTED - 1;
    for i in 0..valid {
        e.put(&valid_key(i), format!("object {i}").into_bytes())
            .await;
    }
    for i in 0..REJECTED {
        e.put(&rejected_key(i), b"rejected".to_vec()).await;
    }
    let big: Vec<u8> = (0..12 * MIB).map(|i| (i % 251) as u8).collect();
    e.put(BIG_KEY, big).await;
    for i in 0..ALREADY_COPIED {
        e.copy_one(&valid_key(i)).await;
    }
    let mut expected_copies: BTreeSet<String> = (0..valid).map(valid_key).collect();
    expected_copies.insert(BIG_KEY.to_owned());
    let rejected: BTreeSet<String> = (0..REJECTED).map(rejected_key).collect();

    let first = e.backfill().await;
    assert_eq!(first.run.status, MapRunStatus::Succeeded);
    let counts = first.run.item_counts;
    assert_eq!(
        (
            counts.total,
            counts.succeeded,
            counts.failed,
            counts.pending,
            counts.running
        ),
        (
            OBJECTS as u64,
            (OBJECTS - REJECTED) as u64,
            REJECTED as u64,
            0,
            0
        )
    );
    assert_eq!(counts.results_written, OBJECTS as u64);
    // The report lists exactly the rejected keys, each with the copyflow execution's error.
    let reported: BTreeSet<String> = first.failed.iter().map(key_of).collect();
    assert_eq!(reported, rejected);
    for entry in &first.failed {
        assert_eq!(entry["Error"], "States.TaskFailed");
        let cause: Value = serde_json::from_str(entry["Cause"].as_str().unwrap()).unwrap();
        assert_eq!(cause["Status"], "FAILED");
        assert_eq!(cause["Error"], "KeyRejected", "{cause}");
    }
    // Every valid object is copied and verified; the already-copied ones cost no copy.
    assert_eq!(e.keys(DST).await, expected_copies);
    assert_eq!(first.succeeded.len(), OBJECTS - REJECTED);
    let mut already_present = 0;
    for entry in &first.succeeded {
        let out = copyflow_output(entry);
        assert_eq!(out["verify"]["verdict"], "identical", "{out}");
        let key = key_of(entry);
        match out["copy"]["status"].as_str().unwrap() {
            "already-present" => already_present += 1,
            "copied" => {}
            other => panic!("{key}: copy status {other}"),
        }
        if key == BIG_KEY {
            assert_eq!(out["copy"]["method"], "multipart", "{out}");
        }
    }
    assert_eq!(already_present, ALREADY_COPIED);
    let versions_before = e
        .pipeline
        .s3()
        .list_object_versions()
        .bucket(DST)
        .send()
        .await
        .unwrap()
        .versions()
        .len();

    // A second run copies nothing: every object is already present.
    let second = e.backfill().await;
    let reported: BTreeSet<String> = second.failed.iter().map(key_of).collect();
    assert_eq!(reported, rejected);
    assert_eq!(second.succeeded.len(), OBJECTS - REJECTED);
    for entry in &second.succeeded {
        let out = copyflow_output(entry);
        assert_eq!(out["copy"]["status"], "already-present", "{out}");
        assert_eq!(out["verify"]["verdict"], "identical", "{out}");
    }
    let versions_after = e
        .pipeline
        .s3()
        .list_object_versions()
        .bucket(DST)
        .send()
        .await
        .unwrap()
        .versions()
        .len();
    assert_eq!(versions_before, versions_after);
}
