//! Memory benchmark of the local runtime (not a timed test): N small-object executions
//! (default 100,000; `COPYFLOW_BENCH_OBJECTS`) through the whole pipeline in this process
//! (embedded S3, durable outbox, engine with its store, the three steps), RSS reported at
//! 10k, 50k and 100k finished executions, then the time to start again on the same data
//! directory with all of them on disk, and the time to page through them all.
//!
//! `cargo bench -p copyflow --bench memory` (release build).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{finished, start};

use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use copyflow_asl::ExecutionFilter;

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() {
    let total: u64 = std::env::var("COPYFLOW_BENCH_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    println!("memory benchmark: {total} small objects through the local runtime");
    println!("  RSS at start: {:.1} MB", rss_mb());
    let pipeline = start(dir.path()).await;
    let client = pipeline.s3().clone();
    let began = Instant::now();
    let uploader = tokio::spawn(async move {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..total {
            if tasks.len() >= 32 {
                tasks.join_next().await;
            }
            let client = client.clone();
            tasks.spawn(async move {
                let key = format!("Bench{}/2020-04-06/{:02}/object-{i}.txt", i % 50, i % 24);
                let body = format!("object {i}\n").repeat(1 + (i % 100) as usize);
                client
                    .put_object()
                    .bucket("copyflow-source")
                    .key(key)
                    .body(ByteStream::from(body.into_bytes()))
                    .send()
                    .await
                    .unwrap();
            });
        }
        while tasks.join_next().await.is_some() {}
    });
    let mut marks = [10_000u64, 50_000, 100_000]
        .into_iter()
        .filter(|m| *m <= total)
        .collect::<Vec<_>>();
    if marks.last() != Some(&total) {
        marks.push(total);
    }
    for mark in marks {
        while finished(&pipeline) < mark {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        println!(
            "  {mark:>7} executions finished: RSS {:.1} MB ({:.0} executions/s so far)",
            rss_mb(),
            mark as f64 / began.elapsed().as_secs_f64()
        );
    }
    uploader.await.unwrap();
    pipeline.shutdown().await;
    drop(pipeline);

    let t = Instant::now();
    let pipeline = start(dir.path()).await;
    println!(
        "  startup with {total} executions on disk: {:.2} s (RSS {:.1} MB)",
        t.elapsed().as_secs_f64(),
        rss_mb()
    );
    let t = Instant::now();
    let mut pages = 0;
    let mut before = None;
    loop {
        let page = pipeline.executions().page(&ExecutionFilter {
            machine_arn: pipeline.machine_arn(),
            before_seq: before,
            limit: 100,
            ..Default::default()
        });
        pages += 1;
        match page.last() {
            Some(last) if page.len() == 100 => before = Some(last.seq),
            _ => break,
        }
    }
    println!(
        "  paging through all executions, 100 a page: {pages} pages in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    pipeline.shutdown().await;
}
