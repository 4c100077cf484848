//! The ways back in after a failure, through the real binary against a running `up`:
//! `copyflow redrive` (RedriveExecution) continues an execution from the state it stopped in,
//! and `copyflow backfill --retry-failed` runs the pipeline again, after a setting was fixed,
//! for exactly the objects whose backfill failed, without clashing with the old names, which
//! stay taken across a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::{Value, json};

mod support;
use support::{MACHINE, copyflow, s3, sfn, up};

const KEY: &str = "AjayMuralidhar/2020-04-06/12/retry-me.txt";
const BODY: &[u8] = b"the bytes that must land";

/// Waits until `count` executions exist and none runs; returns (name, status) newest first.
async fn settled(client: &aws_sdk_sfn::Client, count: usize) -> Vec<(String, ExecutionStatus)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let all: Vec<(String, ExecutionStatus)> = support::executions(client)
            .await
            .iter()
            .map(|e| (e.name().to_owned(), e.status().clone()))
            .collect();
        if all.len() >= count && all.iter().all(|(_, s)| *s != ExecutionStatus::Running) {
            return all;
        }
        assert!(
            Instant::now() < deadline,
            "executions did not settle: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn set_pattern(config: &Path, pattern: &str) {
    let mut settings: Value =
        serde_json::from_str(&std::fs::read_to_string(config).unwrap()).unwrap();
    settings["keys"]["pattern"] = json!(pattern);
    std::fs::write(config, settings.to_string()).unwrap();
}

#[test]
fn redrive_resumes_a_failed_execution_and_backfill_retries_what_failed_after_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    let (config, s3_endpoint, sfn_endpoint) = support::config(dir.path(), |_| {});
    let good_pattern = {
        let s: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
        s["keys"]["pattern"].as_str().unwrap().to_owned()
    };
    set_pattern(&config, "Nobody/(?P<file>.+)");
    let runtime = tokio::runtime::Runtime::new().unwrap();

    {
        let _up = up(&config);
        let event_execution = runtime.block_on(async {
            s3(&s3_endpoint)
                .put_object()
                .bucket("copyflow-source")
                .key(KEY)
                .body(ByteStream::from_static(BODY))
                .send()
                .await
                .unwrap();
            let all = settled(&sfn(&sfn_endpoint), 1).await;
            assert_eq!(all[0].1, ExecutionStatus::Failed, "{all:?}");
            all[0].0.clone()
        });
        let (ok, out) = copyflow(&config, &["backfill", "--per-object"]);
        assert!(ok, "{out}");
        assert!(
            out.contains("1 executions started, 0 objects already backfilled"),
            "{out}"
        );
        runtime.block_on(settled(&sfn(&sfn_endpoint), 2));
        let (ok, out) = copyflow(&config, &["backfill", "--per-object"]);
        assert!(ok, "{out}");
        assert!(
            out.contains("0 executions started") && out.contains("1 objects already backfilled"),
            "a second run starts nothing: {out}"
        );

        // A redrive continues in the state the execution stopped in: the KeyRejected Fail
        // state, which fails it again; the history goes on under the same ARN.
        let (ok, out) = copyflow(&config, &["redrive", &event_execution]);
        assert!(ok, "{out}");
        assert!(
            out.contains(&format!("redriven {event_execution}")),
            "{out}"
        );
        runtime.block_on(async {
            let client = sfn(&sfn_endpoint);
            settled(&client, 2).await;
            let arn = format!(
                "{}:{event_execution}",
                MACHINE.replace(":stateMachine:", ":execution:")
            );
            let d = client
                .describe_execution()
                .execution_arn(&arn)
                .send()
                .await
                .unwrap();
            assert_eq!(d.status(), &ExecutionStatus::Failed);
            assert_eq!(d.redrive_count(), Some(1));
            let history = client
                .get_execution_history()
                .execution_arn(&arn)
                .send()
                .await
                .unwrap();
            let types: Vec<&str> = history
                .events()
                .iter()
                .map(|e| e.r#type().as_str())
                .collect();
            let at = types
                .iter()
                .position(|t| *t == "ExecutionRedriven")
                .unwrap();
            assert_eq!(
                types[at + 1..],
                ["FailStateEntered", "ExecutionFailed"],
                "{types:?}"
            );
        });
    }

    // The setting is fixed and `up` restarted: the old names stay taken, only a retry runs.
    set_pattern(&config, &good_pattern);
    let _up = up(&config);
    let (ok, out) = copyflow(&config, &["backfill", "--per-object"]);
    assert!(ok, "{out}");
    assert!(out.contains("0 executions started"), "{out}");
    let (ok, out) = copyflow(&config, &["backfill", "--retry-failed"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("1 executions started (1 of them retries of failed ones)"),
        "{out}"
    );
    runtime.block_on(async {
        let all = settled(&sfn(&sfn_endpoint), 3).await;
        let (retry, status) = &all[0];
        assert!(retry.ends_with("-r1"), "{all:?}");
        assert_eq!(status, &ExecutionStatus::Succeeded);
        let copied = s3(&s3_endpoint)
            .get_object()
            .bucket("copyflow-destination")
            .key(KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(copied.body.collect().await.unwrap().into_bytes(), BODY);
    });
    let (ok, out) = copyflow(&config, &["backfill", "--retry-failed"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("0 executions started") && out.contains("1 objects already backfilled"),
        "the retry succeeded, so nothing starts again: {out}"
    );

    let retry = runtime.block_on(settled(&sfn(&sfn_endpoint), 3))[0]
        .0
        .clone();
    let (ok, out) = copyflow(&config, &["redrive", &retry]);
    assert!(!ok, "a succeeded execution is not redriven: {out}");
    assert!(
        out.contains("Execution is SUCCEEDED and cannot be redriven"),
        "{out}"
    );
    let (ok, out) = copyflow(&config, &["redrive", "--failed"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("redrive: 2 executions redriven, 0 not redrivable"),
        "{out}"
    );
    runtime.block_on(settled(&sfn(&sfn_endpoint), 3));
}
