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
