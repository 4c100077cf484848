//! Bucket lifecycle over HTTP: the AbortIncompleteMultipartUpload rule is stored, returned,
//! survives a restart, aborts due uploads (freeing their parts) under its prefix only, and
//! DeleteBucketLifecycle removes it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
};
use copyflow_s3::{Clock, S3Server, ServerConfig};

/// A clock the test moves forward, in whole days.
#[derive(Clone, Default)]
struct TestClock(Arc<AtomicI64>);

impl TestClock {
    fn clock(&self) -> Clock {
        let days = self.0.clone();
        Clock::from_fn(move || {
            time::OffsetDateTime::now_utc() + time::Duration::days(days.load(Ordering::SeqCst))
        })
    }

    fn advance_days(&self, days: i64) {
        self.0.fetch_add(days, Ordering::SeqCst);
    }
}

async fn start(dir: &std::path::Path, clock: &TestClock) -> (S3Server, Client) {
    let server = S3Server::start(ServerConfig {
        clock: clock.clock(),
        ..ServerConfig::new(dir)
    })
    .await
    .unwrap();
    let c = server.config();
    let client = support::client(&server.endpoint(), &c.access_key, &c.secret_key, &c.region);
    (server, client)
}

fn abort_rule(id: &str, prefix: &str, days: i32) -> LifecycleRule {
    LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(days)
                .build(),
        )
        .build()
        .unwrap()
}

async fn put_rules(c: &Client, bucket: &str, rules: Vec<LifecycleRule>) -> Result<(), String> {
    c.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .set_rules(Some(rules))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            let e = e.into_service_error();
            format!("{}: {}", e.code().unwrap_or(""), e.message().unwrap_or(""))
        })
}

async fn upload_with_a_part(c: &Client, bucket: &str, key: &str) -> String {
    let up = c
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap().to_owned();
    c.upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(&id)
        .part_number(1)
        .body(ByteStream::from(vec![7u8; 1024]))
        .send()
        .await
        .unwrap();
    id
}

async fn uploads(c: &Client, bucket: &str) -> Vec<String> {
    c.list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .uploads()
        .iter()
        .map(|u| u.key().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_abort_incomplete_multipart_upload_rule_aborts_due_uploads_under_its_prefix_only() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::default();
    let (server, c) = start(dir.path(), &clock).await;
    c.create_bucket().bucket("life").send().await.unwrap();

    let missing = c
        .get_bucket_lifecycle_configuration()
        .bucket("life")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(missing.code(), Some("NoSuchLifecycleConfiguration"));
    assert_eq!(
        missing.message(),
        Some("The lifecycle configuration does not exist")
    );

    put_rules(&c, "life", vec![abort_rule("tmp-uploads", "tmp/", 2)])
        .await
        .unwrap();
    let got = c
        .get_bucket_lifecycle_configuration()
        .bucket("life")
        .send()
        .await
        .unwrap();
    assert_eq!(got.rules(), [abort_rule("tmp-uploads", "tmp/", 2)]);

    upload_with_a_part(&c, "life", "tmp/abandoned").await;
    upload_with_a_part(&c, "life", "keep/in-progress").await;
    assert_eq!(support::stored_segments(dir.path()), 2);

    assert_eq!(server.sweep_lifecycle_now().await, 0, "not due yet");
    clock.advance_days(1);
    assert_eq!(server.sweep_lifecycle_now().await, 0, "one day is not two");
    clock.advance_days(2); // past initiation + 2 days rounded up to midnight UTC
    assert_eq!(server.sweep_lifecycle_now().await, 1);
    assert_eq!(uploads(&c, "life").await, ["keep/in-progress"]);
    assert_eq!(
        support::stored_segments(dir.path()),
        1,
        "the aborted upload's part is gone"
    );

    c.delete_bucket_lifecycle()
        .bucket("life")
        .send()
        .await
        .unwrap();
    let gone = c
        .get_bucket_lifecycle_configuration()
        .bucket("life")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(gone.code(), Some("NoSuchLifecycleConfiguration"));
    server.shutdown().await;
}

#[tokio::test]
async fn the_lifecycle_configuration_survives_a_restart_and_the_startup_sweep_applies_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::default();
    {
        let (server, c) = start(dir.path(), &clock).await;
        c.create_bucket().bucket("life").send().await.unwrap();
        put_rules(&c, "life", vec![abort_rule("all", "", 1)])
            .await
            .unwrap();
        upload_with_a_part(&c, "life", "any/key").await;
        server.shutdown().await;
    }
    clock.advance_days(3);
    let (server, c) = start(dir.path(), &clock).await;
    let got = c
        .get_bucket_lifecycle_configuration()
        .bucket("life")
        .send()
        .await
        .unwrap();
    assert_eq!(got.rules(), [abort_rule("all", "", 1)]);
    // The sweep at startup runs in the background; wait for it briefly.
    for _ in 0..50 {
        if uploads(&c, "life").await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(uploads(&c, "life").await.is_empty());
    assert_eq!(support::stored_segments(dir.path()), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn unsupported_or_invalid_lifecycle_rules_get_aws_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (server, c) = start(dir.path(), &TestClock::default()).await;
    c.create_bucket().bucket("life").send().await.unwrap();

    let err = put_rules(&c, "life", vec![abort_rule("zero", "p/", 0)])
        .await
        .unwrap_err();
    assert_eq!(
        err,
        "InvalidArgument: 'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer"
    );
    let expiring = LifecycleRule::builder()
        .id("expire")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("p/").build())
        .expiration(LifecycleExpiration::builder().days(30).build())
        .build()
        .unwrap();
    let err = put_rules(&c, "life", vec![expiring]).await.unwrap_err();
    assert!(err.starts_with("NotImplemented: "), "{err}");
    assert!(
        err.contains("only the AbortIncompleteMultipartUpload"),
        "{err}"
    );
    let err = c
        .get_bucket_lifecycle_configuration()
        .bucket("life")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(
        err.code(),
        Some("NoSuchLifecycleConfiguration"),
        "nothing was stored"
    );
    server.shutdown().await;
}
