//! `copyflow backfill` through the real binary against a running `up`: it starts the backfill
//! state machine, prints the Map Run's progress from DescribeMapRun and, at the end, where the
//! report is; DescribeMapRun and ListMapRuns answer through the local Step Functions API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;

mod support;
use support::{copyflow, s3, sfn, up};

const KEYS: [&str; 3] = [
    "AjayMuralidhar/2020-04-06/12/one.txt",
    "AjayMuralidhar/2020-04-06/12/two.txt",
    "BeaKowalski/2021-01-02/08/three.txt",
];

#[test]
fn backfill_runs_the_backfill_state_machine_and_shows_progress_and_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let (config, s3_endpoint, sfn_endpoint) = support::config(dir.path(), |_| {});
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _up = up(&config);
    runtime.block_on(async {
        let client = s3(&s3_endpoint);
        for key in KEYS {
            client
                .put_object()
                .bucket("copyflow-source")
                .key(key)
                .body(ByteStream::from_static(b"already here"))
                .send()
                .await
                .unwrap();
        }
        // The events copy them first; the backfill then finds every copy in place.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let all = support::executions(&sfn(&sfn_endpoint)).await;
            if all.len() == 3
                && all
                    .iter()
                    .all(|e| e.status() == &aws_sdk_sfn::types::ExecutionStatus::Succeeded)
            {
                break;
            }
            assert!(Instant::now() < deadline, "{all:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });

    let (ok, out) = copyflow(&config, &["backfill"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("listed 3, done 3 (3 copied or skipped, 0 failed)"),
        "{out}"
    );
    assert!(out.contains("s3://copyflow-reports/backfill/"), "{out}");
    assert!(out.contains("backfill SUCCEEDED"), "{out}");
    let execution = out
        .lines()
        .find_map(|l| l.strip_prefix("backfill started: "))
        .unwrap()
        .trim()
        .to_owned();
    runtime.block_on(async {
        let client = sfn(&sfn_endpoint);
        let runs = client
            .list_map_runs()
            .execution_arn(&execution)
            .send()
            .await
            .unwrap();
        let run = runs.map_runs().first().unwrap().map_run_arn().to_owned();
        let d = client
            .describe_map_run()
            .map_run_arn(&run)
            .send()
            .await
            .unwrap();
        let counts = d.item_counts().unwrap();
        assert_eq!(
            (counts.total(), counts.succeeded(), counts.failed()),
            (3, 3, 0)
        );
        assert_eq!(d.status(), &aws_sdk_sfn::types::MapRunStatus::Succeeded);
        let children = client
            .list_executions()
            .map_run_arn(&run)
            .send()
            .await
            .unwrap();
        assert_eq!(children.executions().len(), 3);
    });
    // The per-object path stays behind its flag, and --prefix only applies there.
    let (ok, out) = copyflow(&config, &["backfill", "--prefix", "Ajay"]);
    assert!(!ok && out.contains("--per-object"), "{out}");
}
