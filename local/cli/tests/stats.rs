//! `copyflow stats` against a real local pipeline: objects put into the embedded S3 run
//! through `copyflow up`, and the figures (counts by outcome, failures by error name, bytes
//! copied, latency from the S3 event to the verified copy) match what was put.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::Value;

mod support;
use support::{copyflow, s3, sfn, up};

#[test]
fn stats_report_outcomes_failures_bytes_and_latency_of_the_recorded_executions() {
    let dir = tempfile::tempdir().unwrap();
    let (config, s3_endpoint, sfn_endpoint) = support::config(dir.path(), |_| {});
    let _up = up(&config);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sizes = [10usize, 200, 3000];
    runtime.block_on(async {
        let s3 = s3(&s3_endpoint);
        for (i, size) in sizes.iter().enumerate() {
            s3.put_object()
                .bucket("copyflow-source")
                .key(format!("AjayMuralidhar/2020-04-06/12/stats-{i}.bin"))
                .body(ByteStream::from(vec![b'x'; *size]))
                .send()
                .await
                .unwrap();
        }
        // Not employee/date/hour/file: refused by the key rules.
        s3.put_object()
            .bucket("copyflow-source")
            .key("not-a-valid-key.txt")
            .body(ByteStream::from_static(b"no"))
            .send()
            .await
            .unwrap();
        let sfn = sfn(&sfn_endpoint);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let all = support::executions(&sfn).await;
            if all.len() == 4 && all.iter().all(|e| *e.status() != ExecutionStatus::Running) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "executions did not settle: {all:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });

    let (ok, out) = copyflow(&config, &["stats", "--json"]);
    assert!(ok, "{out}");
    let stats: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(stats["executions"], 4, "{stats}");
    assert_eq!(stats["copies"], 3, "{stats}");
    assert_eq!(stats["byOutcome"]["Copied"], 3, "{stats}");
    assert_eq!(stats["byOutcome"]["KeyRejected"], 1, "{stats}");
    assert_eq!(stats["failuresByError"]["KeyRejected"], 1, "{stats}");
    assert_eq!(stats["bytesCopied"], sizes.iter().sum::<usize>(), "{stats}");
    let latency = &stats["latency"];
    assert_eq!(latency["count"], 3, "{stats}");
    let (p50, p99, max) = (
        latency["p50"].as_f64().unwrap(),
        latency["p99"].as_f64().unwrap(),
        latency["max"].as_f64().unwrap(),
    );
    assert!(
        0.0 <= p50 && p50 <= p99 && p99 <= max && max < 60.0,
        "{stats}"
    );
    assert!(stats["copiesPerMinute"].as_f64().unwrap() > 0.0, "{stats}");

    // --since: an hour covers them all; the human form names every figure.
    let (ok, out) = copyflow(&config, &["stats", "--since", "1h"]);
    assert!(ok, "{out}");
    for wanted in [
        "executions 4",
        "copies 3",
        "Copied 3, KeyRejected 1",
        "failures by error KeyRejected 1",
        "latency (S3 event -> verified, 3 copies)",
        "p99",
    ] {
        assert!(out.contains(wanted), "{wanted:?} in {out}");
    }
    let (ok, out) = copyflow(&config, &["stats", "--since", "soon"]);
    assert!(!ok && out.contains("--since"), "{out}");
}
