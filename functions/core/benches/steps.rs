//! Benchmark of the three steps against the embedded S3 server (run:
//! `cargo bench -p copyflow-core`).
//!
//! Reports, in one run:
//! - 1,000 small objects through validate -> copy -> verify (16 objects in flight): objects
//!   per second, and S3 requests per object as counted by the server (not by the steps);
//!   target: at most 4 on the happy path of a small object;
//! - one 1 GiB object copied by the multipart path (64 MiB parts, 8 in flight) and verified,
//!   beside a plain file copy of the same bytes on the same disk, each bracketed by `sync`.
//!
//! COPYFLOW_BENCH_MIB changes the large object's size (default 1024).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumAlgorithm;
use copyflow_core::deadline::Deadline;
use copyflow_core::{SettingsDocument, SettingsOrigin, Steps};
use copyflow_s3::faults::{FaultPlan, Operation};
use copyflow_s3::{S3Server, ServerConfig};
use futures::StreamExt;
use serde_json::Value;

fn sync_all() {
    let _ = std::process::Command::new("sync").status();
}

async fn run_steps(steps: &Steps, event: &Value) -> Value {
    let validated = steps.validate_key(event).unwrap();
    let mut doc = steps
        .copy_object(validated, Deadline::none())
        .await
        .unwrap();
    while doc["copy"]["status"] == "in-progress" {
        doc = steps.copy_object(doc, Deadline::none()).await.unwrap();
    }
    steps.verify_copy(doc, Deadline::none()).await.unwrap()
}

#[tokio::main]
async fn main() {
    let mib: u64 = std::env::var("COPYFLOW_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-tmp");
    std::fs::create_dir_all(&base).unwrap();
    let work = tempfile::tempdir_in(&base).unwrap();
    let server = S3Server::start(ServerConfig::new(work.path().join("s3")))
        .await
        .unwrap();
    let c = server.config();
    let client = copyflow_core::s3::client_for_endpoint(
        &server.endpoint(),
        &c.access_key,
        &c.secret_key,
        &c.region,
    );
    client
        .create_bucket()
        .bucket("copyflow-source")
        .send()
        .await
        .unwrap();
    client
        .create_bucket()
        .bucket("copyflow-destination")
        .send()
        .await
        .unwrap();
    let mut document = SettingsDocument::new("copyflow-source", "copyflow-destination");
    document.copy.part_size_bytes = 64 * 1024 * 1024;
    let settings = document.check(SettingsOrigin::Built).unwrap();
    let steps = Steps::new(client.clone(), settings);
    let mut events = server.subscribe();

    // 1,000 small objects: upload them first, then time only the pipeline.
    let n = 1000usize;
    for i in 0..n {
        let key = format!(
            "Employee{}/2020-04-{:02}/{:02}/task-{i}.txt",
            i % 10,
            1 + i % 28,
            i % 24
        );
        client
            .put_object()
            .bucket("copyflow-source")
            .key(key)
            .body(ByteStream::from(vec![b'x'; 1024]))
            .send()
            .await
            .unwrap();
    }
    let mut source_events = Vec::with_capacity(n);
    while source_events.len() < n {
        let e = events.recv().await.unwrap();
        source_events.push(serde_json::to_value(&*e).unwrap());
    }
    server.faults().set_plan(Some(FaultPlan::new(0))); // no faults: only counts requests
    let t = Instant::now();
    let outcomes: Vec<Value> = futures::stream::iter(source_events.iter())
        .map(|e| run_steps(&steps, e))
        .buffer_unordered(16)
        .collect()
        .await;
    let small = t.elapsed();
    let requests: u64 = Operation::ALL
        .iter()
        .map(|op| server.faults().requests_seen(*op))
        .sum();
    let zero_read = outcomes
        .iter()
        .filter(|o| o["verify"]["bytesRead"] == 0)
        .count();
    server.faults().set_plan(None);

    // One large object through the multipart path.
    let source = work.path().join("large.bin");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&source).unwrap());
        let mut rng = fastrand::Rng::with_seed(9);
        let mut chunk = vec![0u8; 1 << 20];
        for _ in 0..mib {
            rng.fill(&mut chunk);
            f.write_all(&chunk).unwrap();
        }
    }
    client
        .put_object()
        .bucket("copyflow-source")
        .key("Big/2020-04-06/12/large.bin")
        .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
        .body(ByteStream::from_path(&source).await.unwrap())
        .send()
        .await
        .unwrap();
    let event = loop {
        let e = events.recv().await.unwrap();
        if e.detail.object.key.starts_with("Big/") {
            break serde_json::to_value(&*e).unwrap();
        }
    };
    let mut document = SettingsDocument::new("copyflow-source", "copyflow-destination");
    document.copy.multipart_threshold_bytes = 64 * 1024 * 1024;
    document.copy.part_size_bytes = 64 * 1024 * 1024;
    let settings = document.check(SettingsOrigin::Built).unwrap();
    let big_steps = Steps::new(client.clone(), settings);
    sync_all();
    let t = Instant::now();
    let out = run_steps(&big_steps, &event).await;
    sync_all();
    let multipart = t.elapsed();
    assert_eq!(out["copy"]["method"], "multipart");
    let t = Instant::now();
    std::fs::copy(&source, work.path().join("large-copy.bin")).unwrap();
    sync_all();
    let file_copy = t.elapsed();
    server.shutdown().await;

    let per_s = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "copyflow steps benchmark ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| what | result |");
    println!("|---|---|");
    println!(
        "| {n} small objects, validate -> copy -> verify, 16 in flight | {:.3} s, {:.0} objects/s |",
        small.as_secs_f64(),
        per_s(small)
    );
    println!(
        "| S3 requests per small object (counted by the server) | {:.2} (target <= 4) |",
        requests as f64 / n as f64
    );
    println!("| small objects verified with zero bytes read | {zero_read} of {n} |");
    println!(
        "| {mib} MiB multipart copy + verify ({} parts) | {:.3} s, {:.0} MiB/s |",
        out["copy"]["partsTotal"],
        multipart.as_secs_f64(),
        mib as f64 / multipart.as_secs_f64()
    );
    println!(
        "| plain file copy of the same bytes | {:.3} s, {:.0} MiB/s |",
        file_copy.as_secs_f64(),
        mib as f64 / file_copy.as_secs_f64()
    );
    println!(
        "| multipart copy / file copy | {:.2}x |",
        multipart.as_secs_f64() / file_copy.as_secs_f64()
    );
}
