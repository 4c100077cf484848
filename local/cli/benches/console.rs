//! Console benchmark (not a timed test): how long the console's API takes to answer with
//! N executions on disk (default 100,000; `COPYFLOW_BENCH_OBJECTS`), each a real small-object
//! copy through the whole local pipeline. Reports the median of 5 requests for the first
//! page, each filter, a page deep in the list and one execution.
//!
//! `COPYFLOW_BENCH_DATA=DIR` keeps the data directory (and reuses it when it already holds
//! executions), so `copyflow up` can serve it afterwards for a browser measurement
//! (`node tests/console/measure-load.mjs URL`).
//!
//! `cargo bench -p copyflow --bench console` (release build).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{finished, start};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use copyflow::console::{self, source::local::LocalSource};
use copyflow::pipeline::Pipeline;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn fill(pipeline: &Pipeline, total: u64) {
    let client = pipeline.s3().clone();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        if tasks.len() >= 32 {
            tasks.join_next().await;
        }
        let client = client.clone();
        tasks.spawn(async move {
            let key = format!("Bench{}/2020-04-06/{:02}/object-{i}.txt", i % 50, i % 24);
            client
                .put_object()
                .bucket("copyflow-source")
                .key(key)
                .body(ByteStream::from(format!("object {i}\n").into_bytes()))
                .send()
                .await
                .unwrap();
        });
    }
    while tasks.join_next().await.is_some() {}
    while finished(pipeline) < total {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One GET; returns the body.
async fn get(address: SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{path}: {text}");
    text.split_once("\r\n\r\n").unwrap().1.to_owned()
}

/// The median of 5 timed GETs, in milliseconds, and the last body.
async fn timed(address: SocketAddr, path: &str) -> (f64, String) {
    let mut times = Vec::new();
    let mut body = String::new();
    for _ in 0..5 {
        let t = Instant::now();
        body = get(address, path).await;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    (times[2], body)
}

fn rows(body: &str) -> usize {
    serde_json::from_str::<serde_json::Value>(body).unwrap()["rows"]
        .as_array()
        .map_or(0, Vec::len)
}

#[tokio::main]
async fn main() {
    let total: u64 = std::env::var("COPYFLOW_BENCH_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let kept = std::env::var_os("COPYFLOW_BENCH_DATA").map(std::path::PathBuf::from);
    let temp = tempfile::tempdir().unwrap();
    let dir = kept.clone().unwrap_or_else(|| temp.path().to_owned());
    let pipeline = start(&dir).await;
    let already = pipeline.executions().count(pipeline.machine_arn());
    if already < total {
        let t = Instant::now();
        fill(&pipeline, total - already).await;
        println!(
            "filled {} executions in {:.0} s",
            total - already,
            t.elapsed().as_secs_f64()
        );
    }
    let count = pipeline.executions().count(pipeline.machine_arn());
    println!("console benchmark: {count} executions on disk, median of 5 requests each");
    let source = Arc::new(LocalSource::new(pipeline.clone(), 64 << 20));
    let (address, _task) = console::serve(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        source,
        Duration::from_secs(1),
    )
    .await
    .unwrap();
    let cases = [
        ("first page (50 rows)", "/api/executions".to_owned()),
        (
            "outcome filter (Copied)",
            "/api/executions?outcome=Copied".to_owned(),
        ),
        (
            "key prefix (Bench7/)",
            "/api/executions?keyPrefix=Bench7%2F".to_owned(),
        ),
        (
            "key substring, one match (object-12345.)",
            "/api/executions?keyContains=object-12345.".to_owned(),
        ),
        (
            "key substring, no match",
            "/api/executions?keyContains=nothing-like-this".to_owned(),
        ),
    ];
    for (what, path) in &cases {
        let (ms, body) = timed(address, path).await;
        println!("  {what:<42} {ms:>8.1} ms  ({} rows)", rows(&body));
    }
    // A page 1,000 pages deep: the token of the 1,000th page, then that page.
    let mut next: Option<String> = None;
    for _ in 0..1000.min(count / 50) {
        let path = match &next {
            None => "/api/executions".to_owned(),
            Some(t) => format!("/api/executions?next={t}"),
        };
        let body = get(address, &path).await;
        next = serde_json::from_str::<serde_json::Value>(&body).unwrap()["next"]
            .as_str()
            .map(str::to_owned);
    }
    if let Some(t) = &next {
        let (ms, body) = timed(address, &format!("/api/executions?next={t}")).await;
        println!(
            "  {:<42} {ms:>8.1} ms  ({} rows)",
            "a page 1,000 pages deep",
            rows(&body)
        );
    }
    let first = get(address, "/api/executions?limit=1").await;
    let arn = serde_json::from_str::<serde_json::Value>(&first).unwrap()["rows"][0]["arn"]
        .as_str()
        .unwrap()
        .replace(':', "%3A");
    let (ms, _) = timed(address, &format!("/api/execution?arn={arn}")).await;
    println!(
        "  {:<42} {ms:>8.1} ms",
        "one execution (history, graph data, card)"
    );
    let (ms, _) = timed(address, "/api/machine").await;
    println!("  {:<42} {ms:>8.1} ms", "the state machine and its layout");
    pipeline.shutdown().await;
}
