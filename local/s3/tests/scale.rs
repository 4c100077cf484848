//! Memory and restart cost of many small objects (run:
//! `cargo test -p copyflow-s3 --test scale -- --ignored --nocapture`;
//! `COPYFLOW_SCALE_N` sets N, default 50,000).
//!
//! The store used to keep every key's metadata in memory, so RSS grew with the object count
//! and a restart re-read one file per key. This PUTs N 100-byte objects through aws-sdk-s3
//! (32 in flight), prints the process RSS (`VmRSS`) at N/2 and N, then the time
//! `S3Server::start` takes to reopen the same directory, and lists the bucket once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use copyflow_s3::{S3Server, ServerConfig};
use futures::StreamExt;

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

async fn put_range(client: &aws_sdk_s3::Client, from: usize, to: usize) {
    futures::stream::iter(from..to)
        .map(|i| {
            let client = client.clone();
            async move {
                client
                    .put_object()
                    .bucket("scale")
                    .key(format!("dir{:03}/object-{i:08}", i % 100))
                    .body(ByteStream::from(vec![b'x'; 100]))
                    .send()
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: slow, prints figures"]
async fn rss_and_restart_time_with_many_small_objects() {
    let n: usize = std::env::var("COPYFLOW_SCALE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path());
    config.durable_events = false;
    let server = S3Server::start(config.clone()).await.unwrap();
    let c = server.config();
    let client = support::client(&server.endpoint(), &c.access_key, &c.secret_key, &c.region);
    client.create_bucket().bucket("scale").send().await.unwrap();
    println!("start: rss {:.1} MiB", rss_mib());
    let t = Instant::now();
    put_range(&client, 0, n / 2).await;
    let half = rss_mib();
    put_range(&client, n / 2, n).await;
    let full = rss_mib();
    let put_s = t.elapsed().as_secs_f64();
    println!(
        "N={n}: rss at N/2 {half:.1} MiB, at N {full:.1} MiB ({:+.1}%), {:.0} PUT/s",
        (full - half) / half * 100.0,
        n as f64 / put_s
    );
    server.shutdown().await;
    drop(client);
    let t = Instant::now();
    let server = S3Server::start(config).await.unwrap();
    println!(
        "restart with {n} objects: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let c = server.config();
    let client = support::client(&server.endpoint(), &c.access_key, &c.secret_key, &c.region);
    let t = Instant::now();
    let mut listed = 0;
    let mut pages = client
        .list_objects_v2()
        .bucket("scale")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        listed += page.unwrap().contents().len();
    }
    assert_eq!(listed, n);
    println!(
        "listed {listed} keys in {:.2} s; rss after restart and list {:.1} MiB",
        t.elapsed().as_secs_f64(),
        rss_mib()
    );
    server.shutdown().await;
}
