//! Fault injection through the real protocol path: injected faults reach the SDK as the S3
//! errors (and connection failures) it retries, and a seeded plan replays exactly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use copyflow_s3::faults::{Fault, FaultPlan, Operation};

fn client_with_attempts(s: &support::Embedded, attempts: u32) -> Client {
    let c = s.server.config();
    let retry = RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5));
    Client::from_conf(
        support::config(
            &s.server.endpoint(),
            &c.access_key,
            &c.secret_key,
            &c.region,
        )
        .retry_config(retry)
        .build(),
    )
}

async fn seeded(s: &support::Embedded) {
    s.client
        .create_bucket()
        .bucket("faults")
        .send()
        .await
        .unwrap();
    s.client
        .put_object()
        .bucket("faults")
        .key("k")
        .body(ByteStream::from_static(b"payload"))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn slow_down_is_a_503_the_sdk_retries_until_its_attempts_run_out() {
    let s = support::embedded().await;
    seeded(&s).await;
    s.server.faults().set_plan(Some(FaultPlan::new(1).fail(
        Operation::GetObject,
        Fault::SlowDown,
        1.0,
    )));
    let err = client_with_attempts(&s, 3)
        .get_object()
        .bucket("faults")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("SlowDown"));
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(503));
    assert_eq!(
        s.server.faults().requests_seen(Operation::GetObject),
        3,
        "the SDK retried twice"
    );
}

#[tokio::test]
async fn internal_error_is_a_500_the_sdk_retries() {
    let s = support::embedded().await;
    seeded(&s).await;
    s.server.faults().set_plan(Some(FaultPlan::new(1).fail(
        Operation::HeadObject,
        Fault::InternalError,
        1.0,
    )));
    let err = client_with_attempts(&s, 4)
        .head_object()
        .bucket("faults")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(500));
    assert_eq!(s.server.faults().requests_seen(Operation::HeadObject), 4);
}

#[tokio::test]
async fn dropped_connections_are_retried_as_transient_io_errors() {
    let s = support::embedded().await;
    seeded(&s).await;
    s.server.faults().set_plan(Some(FaultPlan::new(1).fail(
        Operation::GetObject,
        Fault::DropConnection,
        1.0,
    )));
    let err = client_with_attempts(&s, 3)
        .get_object()
        .bucket("faults")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert!(
        err.raw_response().is_none(),
        "no HTTP response for a dropped connection: {err:?}"
    );
    assert_eq!(s.server.faults().requests_seen(Operation::GetObject), 3);
    // Other operations are untouched by a plan aimed at GetObject.
    s.client
        .head_object()
        .bucket("faults")
        .key("k")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_share_of_failures_is_absorbed_by_retries_and_a_seed_replays_it() {
    let s = support::embedded().await;
    seeded(&s).await;
    let client = client_with_attempts(&s, 10);
    let plan = FaultPlan::new(42)
        .fail(Operation::PutObject, Fault::SlowDown, 0.2)
        .fail(Operation::PutObject, Fault::DropConnection, 0.1);
    let mut runs = Vec::new();
    for _ in 0..2 {
        s.server.faults().set_plan(Some(plan.clone()));
        for i in 0..40 {
            client
                .put_object()
                .bucket("faults")
                .key(format!("obj-{i}"))
                .body(ByteStream::from(vec![1u8; 100]))
                .send()
                .await
                .unwrap();
        }
        runs.push((
            s.server.faults().injected(),
            s.server.faults().requests_seen(Operation::PutObject),
        ));
    }
    s.server.faults().set_plan(None);
    assert!(
        runs[0].1 > 40,
        "some PUTs were retried: {} requests for 40 objects",
        runs[0].1
    );
    assert_eq!(runs[0], runs[1], "the same seed injects the same faults");
}

#[tokio::test]
async fn latency_delays_the_response() {
    let s = support::embedded().await;
    seeded(&s).await;
    s.server.faults().set_plan(Some(FaultPlan::new(3).fail(
        Operation::HeadObject,
        Fault::Latency(Duration::from_millis(300)),
        1.0,
    )));
    let started = Instant::now();
    s.client
        .head_object()
        .bucket("faults")
        .key("k")
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
}
