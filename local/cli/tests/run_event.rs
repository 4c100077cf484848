//! `copyflow run --event`: one execution for an event file, against any S3 endpoint (here a
//! copyflow-s3 server started by the test, standing in for "another S3-compatible store").
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use aws_sdk_s3::primitives::ByteStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_copies_one_object_for_an_event_file_on_a_given_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        copyflow_s3::S3Server::start(copyflow_s3::ServerConfig::new(dir.path().join("s3")))
            .await
            .unwrap();
    let c = server.config();
    let s3 = copyflow_core::s3::client_for_endpoint(
        &server.endpoint(),
        &c.access_key,
        &c.secret_key,
        &c.region,
    );
    for b in ["copyflow-source", "copyflow-destination"] {
        s3.create_bucket().bucket(b).send().await.unwrap();
    }
    let mut events = server.subscribe();
    let key = "AjayMuralidhar/2020-04-06/12/from-an-event-file.txt";
    s3.put_object()
        .bucket("copyflow-source")
        .key(key)
        .body(ByteStream::from_static(b"copied by copyflow run"))
        .send()
        .await
        .unwrap();
    let event = events.recv().await.unwrap();
    let event_file = dir.path().join("event.json");
    std::fs::write(&event_file, serde_json::to_string_pretty(&*event).unwrap()).unwrap();

    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../copyflow.json");
    let endpoint = server.endpoint();
    // The server runs on this test's runtime: run the CLI on a blocking thread meanwhile.
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_copyflow"))
            .arg("--config")
            .arg(&config)
            .args(["run", "--event"])
            .arg(&event_file)
            .args(["--s3-endpoint", &endpoint])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("Copied SUCCEEDED"), "{stdout}");
    let copied = s3
        .get_object()
        .bucket("copyflow-destination")
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(copied.as_ref(), b"copied by copyflow run");
    server.shutdown().await;
}
