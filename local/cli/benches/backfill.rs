//! Backfill throughput on one machine: the same N small objects, already in a source bucket
//! that no event announced, copied and verified once through the backfill state machine (a
//! Distributed Map that starts the copyflow state machine per object with
//! startExecution.sync:2) and once through the per-object path (`copyflow backfill
//! --per-object`: list the bucket, one StartExecution per object, wait for all). The
//! destination is emptied between the two, so both do the same copies. Objects per second
//! for each, in one run (not a timed test: nothing passes or fails on a number).
//!
//! ```sh
//! cargo bench -p copyflow --bench backfill
//! ```
//! `COPYFLOW_BENCH_OBJECTS` (default 2000).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use copyflow::pipeline::{Pipeline, PipelineOptions, S3Target};
use copyflow_asl::ExecutionStatus;
use copyflow_core::{SettingsDocument, SettingsOrigin};
use copyflow_s3::event::{EventFactory, KeyEncoding, ObjectCreated, Reason};
use copyflow_s3::{S3Server, ServerConfig};

const SOURCE: &str = "bench-source";
const DESTINATION: &str = "bench-destination";
const UPLOAD_CONCURRENCY: usize = 32;

fn main() {
    let objects: usize = std::env::var("COPYFLOW_BENCH_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(bench(objects));
}

async fn bench(objects: usize) {
    let dir = tempfile::tempdir().unwrap();
    let server = S3Server::start(ServerConfig::new(dir.path().join("s3")))
        .await
        .unwrap();
    let c = server.config();
    let options = PipelineOptions {
        settings: SettingsDocument::new(SOURCE, DESTINATION)
            .check(SettingsOrigin::Built)
            .unwrap(),
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
    let s3 = pipeline.s3().clone();
    for bucket in [
        SOURCE,
        DESTINATION,
        copyflow::backfill_machine::REPORT_BUCKET,
    ] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    upload(&s3, objects).await;
    println!(
        "backfill of {objects} objects of 1-8 KiB (one machine, one run, debug or release as built)"
    );

    let started = Instant::now();
    let arn = pipeline
        .start_execution(pipeline.backfill_machine_arn(), None, "{}")
        .unwrap()
        .execution_arn;
    let d = pipeline.executions().engine().wait_for(&arn).await.unwrap();
    let distributed = started.elapsed();
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{d:?}");
    let run = &pipeline.executions().engine().list_map_runs(&arn)[0];
    assert_eq!(run.item_counts.succeeded as usize, objects);
    report(
        "Distributed Map (backfill state machine)",
        objects,
        distributed,
    );

    empty_destination(&s3).await;
    let started = Instant::now();
    per_object(&pipeline, &s3).await;
    let per_object = started.elapsed();
    report(
        "per-object StartExecution (--per-object)",
        objects,
        per_object,
    );
    println!(
        "  ratio: the Distributed Map takes {:.2}x the per-object path's time",
        distributed.as_secs_f64() / per_object.as_secs_f64()
    );
    pipeline.shutdown().await;
    server.shutdown().await;
}

fn report(what: &str, objects: usize, took: Duration) {
    println!(
        "  {what}: {:.1} s, {:.0} objects/s",
        took.as_secs_f64(),
        objects as f64 / took.as_secs_f64()
    );
}

async fn upload(s3: &aws_sdk_s3::Client, objects: usize) {
    let keys: Vec<usize> = (0..objects).collect();
    for chunk in keys.chunks(UPLOAD_CONCURRENCY) {
        let puts = chunk.iter().map(|i| {
            let body = vec![b'x'; 1024 + (i * 7919) % (7 * 1024)];
            s3.put_object()
                .bucket(SOURCE)
                .key(format!("Bench{}/2020-04-06/12/{i:06}.bin", i % 10))
                .body(ByteStream::from(body))
                .send()
        });
        for r in futures::future::join_all(puts).await {
            r.unwrap();
        }
    }
}

/// What `copyflow backfill --per-object` does, in process: list, one StartExecution per
/// object with its Object Created event, then wait for every execution.
async fn per_object(pipeline: &Arc<Pipeline>, s3: &aws_sdk_s3::Client) {
    let factory = EventFactory::new(
        copyflow_s3::LOCAL_ACCOUNT_ID,
        "us-east-1",
        "copyflow-backfill",
        KeyEncoding::Form,
    );
    let mut arns = Vec::new();
    let mut pages = s3.list_objects_v2().bucket(SOURCE).into_paginator().send();
    while let Some(page) = pages.next().await {
        for o in page.unwrap().contents() {
            let event = factory.build(ObjectCreated {
                bucket: SOURCE.to_owned(),
                key: o.key().unwrap().to_owned(),
                size: o.size().unwrap() as u64,
                etag: o.e_tag().unwrap().to_owned(),
                version_id: None,
                reason: Reason::PutObject,
                request_id: "copyflow-backfill".to_owned(),
                source_ip: "127.0.0.1".to_owned(),
            });
            let input = serde_json::to_string(&event).unwrap();
            arns.push(
                pipeline
                    .start_execution(pipeline.machine_arn(), None, &input)
                    .unwrap()
                    .execution_arn,
            );
        }
    }
    for arn in arns {
        let d = pipeline.executions().engine().wait_for(&arn).await.unwrap();
        assert_eq!(d.status, ExecutionStatus::Succeeded, "{d:?}");
    }
}

async fn empty_destination(s3: &aws_sdk_s3::Client) {
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(DESTINATION)
            .send()
            .await
            .unwrap();
        let ids: Vec<ObjectIdentifier> = page
            .contents()
            .iter()
            .map(|o| {
                ObjectIdentifier::builder()
                    .key(o.key().unwrap())
                    .build()
                    .unwrap()
            })
            .collect();
        if ids.is_empty() {
            return;
        }
        s3.delete_objects()
            .bucket(DESTINATION)
            .delete(Delete::builder().set_objects(Some(ids)).build().unwrap())
            .send()
            .await
            .unwrap();
    }
}
