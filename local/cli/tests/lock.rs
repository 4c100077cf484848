//! One owner per data directory, through the real binary: a second `copyflow up` on the same
//! `local.dataDir` is refused and told who holds it; `copyflow run` without `--s3-endpoint`
//! starts its execution on the running `up` (same objects, recorded in the same history)
//! instead of opening the store behind its back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;

mod support;
use support::{s3, sfn, up};

#[test]
fn a_second_up_is_refused_and_run_uses_the_running_up() {
    let dir = tempfile::tempdir().unwrap();
    let (config, s3_endpoint, sfn_endpoint) = support::config(dir.path(), |_| {});
    let running = up(&config);

    let second = Command::new(env!("CARGO_BIN_EXE_copyflow"))
        .arg("--config")
        .arg(&config)
        .arg("up")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "a second up started: {stderr}");
    let pid = running.0.id().to_string();
    assert!(
        stderr.contains("`copyflow up`") && stderr.contains(&pid),
        "the refusal names the holder: {stderr}"
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let key = "AjayMuralidhar/2020-04-06/12/beside-up.txt";
    let event = runtime.block_on(async {
        s3(&s3_endpoint)
            .put_object()
            .bucket("copyflow-source")
            .key(key)
            .body(ByteStream::from_static(b"one owner"))
            .send()
            .await
            .unwrap();
        let client = sfn(&sfn_endpoint);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let list = support::executions(&client).await;
            if let Some(e) = list.first()
                && e.status() != &aws_sdk_sfn::types::ExecutionStatus::Running
            {
                let d = client
                    .describe_execution()
                    .execution_arn(e.execution_arn())
                    .send()
                    .await
                    .unwrap();
                break d.input().unwrap().to_owned();
            }
            assert!(Instant::now() < deadline, "up did not copy the object");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let event_file = dir.path().join("event.json");
    std::fs::write(&event_file, event).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_copyflow"))
        .arg("--config")
        .arg(&config)
        .args(["run", "--event"])
        .arg(&event_file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("using the running copyflow up"), "{stdout}");
    assert!(stdout.contains("Copied SUCCEEDED"), "{stdout}");
    let recorded = runtime.block_on(async { support::executions(&sfn(&sfn_endpoint)).await.len() });
    assert_eq!(recorded, 2, "run's execution is in up's history");
    drop(running);
}
