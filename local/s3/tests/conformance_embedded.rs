//! The S3 conformance suite (`tests/conformance/`) against the embedded server, started
//! in-process on a temp dir. The same checks run against LocalStack in
//! `conformance_localstack.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[path = "conformance/harness.rs"]
mod harness;
#[path = "conformance/checks.rs"]
mod checks;
#[path = "conformance/known_differences.rs"]
mod known_differences;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_against_the_embedded_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = copyflow_s3::S3Server::start(copyflow_s3::ServerConfig::new(dir.path()))
        .await
        .unwrap();
    let config = server.config();
    let target = harness::Target {
        name: "embedded",
        endpoint: server.endpoint(),
        access_key: config.access_key.clone(),
        secret_key: config.secret_key.clone(),
        region: config.region.clone(),
    };
    let outcome =
        harness::run_suite(target, &checks::all(), known_differences::KNOWN_DIFFERENCES).await;
    server.shutdown().await;
    if let Err(problems) = outcome {
        panic!("{problems}");
    }
}
