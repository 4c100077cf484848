//! `copyflow demo` (the README's first command) runs the whole pipeline and exits 0 only if
//! every execution ends in its expected outcome.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn the_demo_runs_every_outcome_and_exits_zero() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(env!("CARGO_BIN_EXE_copyflow"))
        .arg("--config")
        .arg(root.join("copyflow.json"))
        .arg("demo")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "demo exited {:?}", out.status);
    assert!(stdout.contains("every execution ended as expected"));
    for outcome in ["Copied", "KeyRejected", "Skipped", "Superseded"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(outcome)),
            "the demo shows a {outcome} execution"
        );
    }
    assert!(
        stdout.contains("multipart copy"),
        "the large object took the multipart path"
    );
    // The steps run in-process: verify-copy's EMF metrics line is for Lambda's log only.
    assert!(
        !stdout.contains("\"_aws\"") && !String::from_utf8_lossy(&out.stderr).contains("\"_aws\""),
        "no EMF line on the terminal"
    );
}

#[test]
fn a_missing_config_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_copyflow"))
        .args(["--config", "/nonexistent/copyflow.json", "demo"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not found") && stderr.contains("--config"),
        "{stderr}"
    );
}

#[test]
fn up_on_a_port_in_use_says_what_to_do() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut settings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("copyflow.json")).unwrap())
            .unwrap();
    settings["local"]["s3Address"] = serde_json::json!(busy.local_addr().unwrap().to_string());
    settings["local"]["dataDir"] = serde_json::json!("data");
    let config = dir.path().join("copyflow.json");
    std::fs::write(&config, settings.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_copyflow"))
        .arg("--config")
        .arg(&config)
        .arg("up")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot listen on") && stderr.contains("local.s3Address"),
        "{stderr}"
    );
}

#[test]
fn an_invalid_config_names_the_field_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("copyflow.json");
    std::fs::write(&config, r#"{"source": {"bucket": "a"}, "destination": {"bucket": "b"}, "copy": {"partSizeBytes": 12}}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_copyflow"))
        .arg("--config")
        .arg(&config)
        .arg("demo")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("partSizeBytes"), "{stderr}");
}
