//! The execution views through the real binary against a running `up`: keys are printed
//! with their control characters escaped, `history` finds an execution by object key,
//! `executions` filters by outcome and prefix, and a closed pipe ends the output quietly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;

mod support;
use support::{MACHINE, copyflow, s3, sfn, up};

const EVIL: &str = "Mallory/2020-04-06/12/\u{1b}[2J\u{1b}]0;owned\u{7}.txt";
const PLAIN: &str = "AjayMuralidhar/2020-04-06/12/plain.txt";

#[test]
fn views_escape_keys_find_executions_by_key_filter_and_survive_a_closed_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let (config, s3_endpoint, sfn_endpoint) = support::config(dir.path(), |_| {});
    let _up = up(&config);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = s3(&s3_endpoint);
        for key in [EVIL, PLAIN] {
            client
                .put_object()
                .bucket("copyflow-source")
                .key(key)
                .body(ByteStream::from_static(b"x"))
                .send()
                .await
                .unwrap();
        }
        let sfnc = sfn(&sfn_endpoint);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let list = sfnc
                .list_executions()
                .state_machine_arn(MACHINE)
                .send()
                .await
                .unwrap();
            if list.executions().len() == 2
                && list
                    .executions()
                    .iter()
                    .all(|e| e.status() != &aws_sdk_sfn::types::ExecutionStatus::Running)
            {
                break;
            }
            assert!(Instant::now() < deadline, "executions did not finish");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });

    runtime.block_on(async {
        let sfnc = sfn(&sfn_endpoint);
        let machine = sfnc
            .describe_state_machine()
            .state_machine_arn(MACHINE)
            .send()
            .await
            .unwrap();
        assert!(
            !machine.definition().contains("${"),
            "placeholders are filled in: {}",
            machine.definition()
        );
        assert!(
            machine
                .definition()
                .contains("function:copyflow-copy-object")
        );
        let e = sfnc
            .list_executions()
            .state_machine_arn(MACHINE)
            .send()
            .await
            .unwrap();
        let arn = e.executions()[0].execution_arn();
        let for_execution = sfnc
            .describe_state_machine_for_execution()
            .execution_arn(arn)
            .send()
            .await
            .unwrap();
        assert_eq!(for_execution.state_machine_arn(), MACHINE);
        let history = sfnc
            .get_execution_history()
            .execution_arn(arn)
            .include_execution_data(false)
            .send()
            .await
            .unwrap();
        let entered = history
            .events()
            .iter()
            .find_map(|h| h.state_entered_event_details())
            .unwrap();
        assert!(entered.input().is_none(), "no execution data: {entered:?}");
    });

    let (ok, listing) = copyflow(&config, &["executions"]);
    assert!(ok, "{listing}");
    assert!(
        !listing.contains('\u{1b}') && !listing.contains('\u{7}'),
        "raw control characters reached the terminal: {listing:?}"
    );
    assert!(
        listing.contains("\\u{1b}[2J"),
        "the key is shown escaped: {listing}"
    );

    let (ok, rejected) = copyflow(&config, &["executions", "--outcome", "KeyRejected"]);
    assert!(ok, "{rejected}");
    assert!(
        rejected.contains("Mallory/") && !rejected.contains(PLAIN),
        "{rejected}"
    );
    let (ok, by_prefix) = copyflow(&config, &["executions", "--prefix", "AjayMuralidhar/"]);
    assert!(ok, "{by_prefix}");
    assert!(
        by_prefix.contains(PLAIN) && !by_prefix.contains("Mallory/"),
        "{by_prefix}"
    );

    let (ok, history) = copyflow(&config, &["history", PLAIN]);
    assert!(ok, "{history}");
    assert!(history.contains("outcome Copied"), "{history}");
    let (ok, history) = copyflow(&config, &["history", EVIL]);
    assert!(ok, "{history}");
    assert!(!history.contains('\u{1b}'), "{history:?}");
    assert!(history.contains("KeyRejected"), "{history}");

    // `copyflow executions | head -1`: the reader is gone before the output is written
    // (the read end is closed right after the spawn, while the CLI still lists).
    let mut child = Command::new(env!("CARGO_BIN_EXE_copyflow"))
        .arg("--config")
        .arg(&config)
        .arg("executions")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "exit {:?} writing to a closed pipe: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
