//! End to end with a client that is not ours: `copyflow up` driven by the AWS CLI (PyPI
//! `awscli`, installed by the test command; its path in COPYFLOW_AWS_CLI). Uploads files,
//! waits for the executions, checks the destination byte for byte, compares what
//! `aws stepfunctions` and `copyflow executions/history` show, then restarts `up` and finds
//! the objects and execution histories again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const MACHINE: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:copyflow";

fn aws_cli() -> Option<PathBuf> {
    match std::env::var_os("COPYFLOW_AWS_CLI") {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("COPYFLOW_SKIP_AWSCLI").is_some() => None,
        None => panic!(
            "COPYFLOW_AWS_CLI is not set: run ./scripts/test.sh (it installs the AWS CLI), or set COPYFLOW_SKIP_AWSCLI=1 to skip"
        ),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Stack {
    dir: tempfile::TempDir,
    s3: String,
    sfn: String,
    aws: PathBuf,
}

/// A running `copyflow up`; killed if the test fails before stopping it, so no server
/// outlives the test.
struct Up(Child);

impl Drop for Up {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Stack {
    fn config(&self) -> PathBuf {
        self.dir.path().join("copyflow.json")
    }

    fn up(&self) -> Up {
        let mut child = Command::new(env!("CARGO_BIN_EXE_copyflow"))
            .arg("--config")
            .arg(self.config())
            .arg("up")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let child = Up(child);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("[up] {line}");
                if line.contains("waiting for objects") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(30))
            .expect("copyflow up became ready");
        child
    }

    /// Ctrl-C, as a user would; it must stop by itself.
    fn stop(mut up: Up) {
        let _ = Command::new("kill")
            .args(["-INT", &up.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if up.0.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("copyflow up did not stop on Ctrl-C");
    }

    fn aws(&self, endpoint: &str, args: &[&str]) -> std::process::Output {
        let out = Command::new(&self.aws)
            .arg("--endpoint-url")
            .arg(endpoint)
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "copyflow")
            .env("AWS_SECRET_ACCESS_KEY", "copyflow-secret")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn sfn_json(&self, args: &[&str]) -> Value {
        serde_json::from_slice(&self.aws(&self.sfn.clone(), args).stdout).unwrap()
    }

    fn copyflow(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_copyflow"))
            .arg("--config")
            .arg(self.config())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "copyflow {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn aws_cli_uploads_are_copied_verified_listed_and_kept_across_a_restart() {
    let Some(aws) = aws_cli() else {
        println!("SKIPPED: COPYFLOW_SKIP_AWSCLI is set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (s3_port, sfn_port) = (free_port(), free_port());
    let mut settings: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../copyflow.json"))
            .unwrap(),
    )
    .unwrap();
    settings["local"] = serde_json::json!({"s3Address": format!("127.0.0.1:{s3_port}"), "sfnAddress": format!("127.0.0.1:{sfn_port}"), "consoleAddress": "127.0.0.1:0", "dataDir": "data"});
    std::fs::write(dir.path().join("copyflow.json"), settings.to_string()).unwrap();
    let stack = Stack {
        s3: format!("http://127.0.0.1:{s3_port}"),
        sfn: format!("http://127.0.0.1:{sfn_port}"),
        aws,
        dir,
    };

    let mut rng = fastrand::Rng::with_seed(3);
    let big: Vec<u8> = (0..12_000_000).map(|_| rng.u8(..)).collect();
    let files = [
        (
            "AjayMuralidhar/2020-04-06/12/my report.txt",
            b"the quarterly report\n".to_vec(),
        ),
        (
            "PriyaNair/2020-04-07/09/data+set.csv",
            b"a,b\n1,2\n".to_vec(),
        ),
        ("ChenWei/2020-04-08/17/recording.bin", big), // the AWS CLI uploads this in parts
    ];
    let up = stack.up();
    for (i, (key, bytes)) in files.iter().enumerate() {
        let local = write(stack.dir.path(), &format!("upload-{i}"), bytes);
        stack.aws(
            &stack.s3,
            &[
                "s3",
                "cp",
                local.to_str().unwrap(),
                &format!("s3://copyflow-source/{key}"),
            ],
        );
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let executions = loop {
        let list = stack.sfn_json(&[
            "stepfunctions",
            "list-executions",
            "--state-machine-arn",
            MACHINE,
        ]);
        let items = list["executions"].as_array().unwrap().clone();
        if items.len() == files.len() && items.iter().all(|e| e["status"] != "RUNNING") {
            break items;
        }
        assert!(
            Instant::now() < deadline,
            "executions did not finish: {list}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        executions.iter().all(|e| e["status"] == "SUCCEEDED"),
        "{executions:?}"
    );

    for (i, (key, bytes)) in files.iter().enumerate() {
        let back = stack.dir.path().join(format!("download-{i}"));
        stack.aws(
            &stack.s3,
            &[
                "s3",
                "cp",
                &format!("s3://copyflow-destination/{key}"),
                back.to_str().unwrap(),
            ],
        );
        assert_eq!(
            &std::fs::read(&back).unwrap(),
            bytes,
            "{key} copied byte for byte"
        );
    }

    let listed = stack.copyflow(&["executions"]);
    for e in &executions {
        let name = e["name"].as_str().unwrap();
        let history = stack.sfn_json(&[
            "stepfunctions",
            "get-execution-history",
            "--execution-arn",
            e["executionArn"].as_str().unwrap(),
        ]);
        let entered: Vec<&str> = history["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|ev| ev["type"].as_str().unwrap().ends_with("StateEntered"))
            .map(|ev| ev["stateEnteredEventDetails"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            entered,
            [
                "ValidateKey",
                "IsCopyNeeded",
                "CopyObject",
                "IsCopyFinished",
                "VerifyCopy",
                "IsVerifyFinished",
                "Copied"
            ]
        );
        let shown = stack.copyflow(&["history", name]);
        let path = shown
            .lines()
            .find_map(|l| l.strip_prefix("path"))
            .unwrap()
            .trim()
            .to_owned();
        let states: Vec<&str> = path
            .split(" → ")
            .map(|s| s.split(' ').next().unwrap())
            .collect();
        assert_eq!(
            states, entered,
            "copyflow history shows the path aws stepfunctions records"
        );
        let events_shown = shown
            .lines()
            .filter(|l| {
                l.trim_start()
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit())
            })
            .count();
        assert_eq!(
            events_shown,
            history["events"].as_array().unwrap().len(),
            "every history event is listed"
        );
        let row = listed
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in copyflow executions:\n{listed}"));
        assert!(row.contains("SUCCEEDED") && row.contains("Copied"), "{row}");
    }
    Stack::stop(up);

    // Restart: objects and execution histories are still there.
    let up = stack.up();
    stack.aws(
        &stack.s3,
        &[
            "s3api",
            "head-object",
            "--bucket",
            "copyflow-destination",
            "--key",
            files[0].0,
        ],
    );
    let again = stack.sfn_json(&[
        "stepfunctions",
        "list-executions",
        "--state-machine-arn",
        MACHINE,
    ]);
    let mut before: Vec<&str> = executions
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    let mut after: Vec<&str> = again["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    before.sort();
    after.sort();
    assert_eq!(before, after);
    let history = stack.sfn_json(&[
        "stepfunctions",
        "get-execution-history",
        "--execution-arn",
        executions[0]["executionArn"].as_str().unwrap(),
    ]);
    assert_eq!(
        history["events"].as_array().unwrap().last().unwrap()["type"],
        "ExecutionSucceeded"
    );

    // Backfill: one execution per existing object, each finding its copy already in place;
    // a second backfill starts nothing.
    let first = stack.copyflow(&["backfill", "--per-object"]);
    assert!(first.contains("3 executions started"), "{first}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = stack.sfn_json(&[
            "stepfunctions",
            "list-executions",
            "--state-machine-arn",
            MACHINE,
        ]);
        let backfilled: Vec<&Value> = list["executions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["name"].as_str().unwrap().starts_with("backfill-"))
            .collect();
        if backfilled.len() == 3 && backfilled.iter().all(|e| e["status"] == "SUCCEEDED") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "backfill executions did not succeed: {list}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let second = stack.copyflow(&["backfill", "--per-object"]);
    assert!(
        second.contains("0 executions started, 3 objects already backfilled"),
        "{second}"
    );
    Stack::stop(up);
}
