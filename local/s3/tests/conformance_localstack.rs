//! The S3 conformance suite (`tests/conformance/`) against LocalStack's S3 provider, an
//! independent S3 implementation run on the host. `./scripts/test.sh` installs and starts it
//! and exports `COPYFLOW_LOCALSTACK_ENDPOINT`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[path = "conformance/harness.rs"]
mod harness;
#[path = "conformance/checks.rs"]
mod checks;
#[path = "conformance/known_differences.rs"]
mod known_differences;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_against_localstack() {
    let Ok(endpoint) = std::env::var("COPYFLOW_LOCALSTACK_ENDPOINT") else {
        if std::env::var("COPYFLOW_SKIP_LOCALSTACK").as_deref() == Ok("1") {
            // Straight to the process's stderr, past the test harness's output capture.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "\n{bar}\n## SKIPPED: S3 conformance against LocalStack \
                 (COPYFLOW_SKIP_LOCALSTACK=1).\n## Nothing was checked against the independent \
                 S3 implementation.\n{bar}\n",
                bar = "#".repeat(78)
            );
            return;
        }
        panic!(
            "COPYFLOW_LOCALSTACK_ENDPOINT is not set: run ./scripts/test.sh, which installs and \
             starts LocalStack's S3 and sets it (or source scripts/localstack.sh and run \
             localstack_install && localstack_start). Set COPYFLOW_SKIP_LOCALSTACK=1 to skip."
        );
    };
    let target = harness::Target {
        name: "localstack",
        endpoint,
        // LocalStack accepts any credentials and region.
        access_key: "test".to_owned(),
        secret_key: "test".to_owned(),
        region: "us-east-1".to_owned(),
    };
    let outcome =
        harness::run_suite(target, &checks::all(), known_differences::KNOWN_DIFFERENCES).await;
    if let Err(problems) = outcome {
        panic!("{problems}");
    }
}
