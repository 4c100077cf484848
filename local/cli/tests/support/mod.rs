//! What the tests that run the `copyflow` binary share: free ports, a config file with the
//! local addresses, a `copyflow up` child process that is killed when dropped, and clients.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

pub(crate) const MACHINE: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:copyflow";

/// The repository's copyflow.json with fresh loopback ports and `data` as the data dir,
/// edited by `edit`, written into `dir`. Returns (config path, S3 endpoint, SFN endpoint).
pub(crate) fn config(dir: &Path, edit: impl FnOnce(&mut Value)) -> (PathBuf, String, String) {
    let (s3_port, sfn_port) = (free_port(), free_port());
    let mut settings: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../copyflow.json"))
            .unwrap(),
    )
    .unwrap();
    settings["local"] = json!({"s3Address": format!("127.0.0.1:{s3_port}"), "sfnAddress": format!("127.0.0.1:{sfn_port}"), "consoleAddress": "127.0.0.1:0", "dataDir": "data"});
    edit(&mut settings);
    let path = dir.join("copyflow.json");
    std::fs::write(&path, settings.to_string()).unwrap();
    (
        path,
        format!("http://127.0.0.1:{s3_port}"),
        format!("http://127.0.0.1:{sfn_port}"),
    )
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `copyflow up`, killed when dropped.
pub(crate) struct Up(pub Child);

impl Drop for Up {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

pub(crate) fn up(config: &Path) -> Up {
    let mut child = Command::new(env!("CARGO_BIN_EXE_copyflow"))
        .arg("--config")
        .arg(config)
        .arg("up")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Up(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("waiting for objects") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("copyflow up became ready");
    child
}

pub(crate) fn s3(endpoint: &str) -> aws_sdk_s3::Client {
    copyflow_core::s3::client_for_endpoint(endpoint, "copyflow", "copyflow-secret", "us-east-1")
}

pub(crate) fn sfn(endpoint: &str) -> aws_sdk_sfn::Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
        .http_client(copyflow_core::s3::https_client())
        .credentials_provider(aws_sdk_sfn::config::Credentials::new(
            "copyflow",
            "copyflow-secret",
            None,
            None,
            "test",
        ))
        .region(aws_sdk_sfn::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_sfn::Client::from_conf(config)
}

/// The local state machine's executions, newest first (the first page).
pub(crate) async fn executions(
    client: &aws_sdk_sfn::Client,
) -> Vec<aws_sdk_sfn::types::ExecutionListItem> {
    client
        .list_executions()
        .state_machine_arn(MACHINE)
        .send()
        .await
        .unwrap()
        .executions()
        .to_vec()
}

/// Runs the `copyflow` binary with `--config config`; returns (success, stdout + stderr).
pub(crate) fn copyflow(config: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_copyflow"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.success(),
        text + &String::from_utf8_lossy(&out.stderr),
    )
}

/// LocalStack's endpoint for a test of `what`; None (said loudly) only when
/// `COPYFLOW_SKIP_LOCALSTACK=1`; a panic with what to do when it is simply missing.
pub(crate) fn localstack_endpoint(what: &str) -> Option<String> {
    match std::env::var("COPYFLOW_LOCALSTACK_ENDPOINT") {
        Ok(e) => Some(e),
        Err(_) if std::env::var("COPYFLOW_SKIP_LOCALSTACK").as_deref() == Ok("1") => {
            eprintln!("COPYFLOW_SKIP_LOCALSTACK=1: {what} was NOT checked");
            None
        }
        Err(_) => panic!(
            "COPYFLOW_LOCALSTACK_ENDPOINT is not set: run ./scripts/test.sh (or source \
             scripts/localstack.sh; localstack_install && localstack_start). Set \
             COPYFLOW_SKIP_LOCALSTACK=1 to skip."
        ),
    }
}

/// An SDK configuration for LocalStack at `endpoint` (its test credentials, us-east-1).
pub(crate) fn localstack_config(endpoint: &str) -> aws_config::SdkConfig {
    use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(copyflow_core::s3::https_client())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test",
            "test",
            None,
            None,
            "localstack",
        )))
        .endpoint_url(endpoint)
        .build()
}
