//! Object Created events from the embedded server: the right event, in AWS's shape, for
//! PUT, COPY and CompleteMultipartUpload; none for failed or non-creating requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use serde_json::Value;

async fn next_event(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<std::sync::Arc<copyflow_s3::ObjectCreatedEvent>>,
) -> Value {
    let e = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("an event within 5 s")
        .expect("bus open");
    serde_json::to_value(&*e).unwrap()
}

fn assert_no_event(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<std::sync::Arc<copyflow_s3::ObjectCreatedEvent>>,
) {
    if let Ok(e) = rx.try_recv() {
        panic!("unexpected event: {}", serde_json::to_string(&*e).unwrap());
    }
}

#[tokio::test]
async fn put_copy_and_multipart_each_emit_one_object_created_event_in_aws_shape() {
    let s = support::embedded().await;
    let c = &s.client;
    c.create_bucket().bucket("src").send().await.unwrap();
    let mut rx = s.server.subscribe();

    let key = "AjayMuralidhar/2020-04-06/12/my task+1.txt";
    let put = c
        .put_object()
        .bucket("src")
        .key(key)
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .unwrap();
    let e = next_event(&mut rx).await;
    assert_eq!(e["version"], "0");
    assert_eq!(e["detail-type"], "Object Created");
    assert_eq!(e["source"], "aws.s3");
    assert_eq!(e["region"], "us-east-1");
    assert_eq!(e["resources"][0], "arn:aws:s3:::src");
    assert!(e["id"].as_str().unwrap().len() == 36);
    assert!(e["time"].as_str().unwrap().ends_with('Z'));
    let d = &e["detail"];
    assert_eq!(d["bucket"]["name"], "src");
    // Unencoded by default, as EventBridge is reported to send keys (KeyEncoding docs).
    assert_eq!(d["object"]["key"], key);
    assert_eq!(d["object"]["size"], 5);
    assert_eq!(
        format!("\"{}\"", d["object"]["etag"].as_str().unwrap()),
        put.e_tag().unwrap()
    );
    assert!(
        d["object"].get("version-id").is_none(),
        "unversioned bucket has no version-id"
    );
    assert_eq!(d["reason"], "PutObject");
    assert_eq!(d["source-ip-address"], "127.0.0.1");
    assert!(!d["request-id"].as_str().unwrap().is_empty());
    assert!(d["requester"].is_string());
    let first_seq = d["object"]["sequencer"].as_str().unwrap().to_owned();

    c.copy_object()
        .bucket("src")
        .key("copy.txt")
        .copy_source("src/AjayMuralidhar/2020-04-06/12/my%20task%2B1.txt")
        .send()
        .await
        .unwrap();
    let e = next_event(&mut rx).await;
    assert_eq!(e["detail"]["reason"], "CopyObject");
    assert_eq!(e["detail"]["object"]["key"], "copy.txt");

    let up = c
        .create_multipart_upload()
        .bucket("src")
        .key("big.bin")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let part = c
        .upload_part()
        .bucket("src")
        .key("big.bin")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from(vec![7u8; 1024]))
        .send()
        .await
        .unwrap();
    assert_no_event(&mut rx);
    let done = CompletedMultipartUpload::builder()
        .parts(
            CompletedPart::builder()
                .part_number(1)
                .e_tag(part.e_tag().unwrap())
                .build(),
        )
        .build();
    c.complete_multipart_upload()
        .bucket("src")
        .key("big.bin")
        .upload_id(id)
        .multipart_upload(done)
        .send()
        .await
        .unwrap();
    let e = next_event(&mut rx).await;
    assert_eq!(e["detail"]["reason"], "CompleteMultipartUpload");
    assert!(
        e["detail"]["object"]["etag"]
            .as_str()
            .unwrap()
            .ends_with("-1")
    );

    // Overwriting the same key: the sequencer grows.
    c.put_object()
        .bucket("src")
        .key(key)
        .body(ByteStream::from_static(b"again"))
        .send()
        .await
        .unwrap();
    let e = next_event(&mut rx).await;
    let seq = e["detail"]["object"]["sequencer"].as_str().unwrap();
    assert!(seq > first_seq.as_str(), "{seq} > {first_seq}");
}

#[tokio::test]
async fn versioned_buckets_carry_the_version_id() {
    let s = support::embedded().await;
    let c = &s.client;
    c.create_bucket().bucket("ver").send().await.unwrap();
    let cfg = aws_sdk_s3::types::VersioningConfiguration::builder()
        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
        .build();
    c.put_bucket_versioning()
        .bucket("ver")
        .versioning_configuration(cfg)
        .send()
        .await
        .unwrap();
    let mut rx = s.server.subscribe();
    let put = c
        .put_object()
        .bucket("ver")
        .key("k")
        .body(ByteStream::from_static(b"v1"))
        .send()
        .await
        .unwrap();
    let e = next_event(&mut rx).await;
    assert_eq!(
        e["detail"]["object"]["version-id"].as_str(),
        put.version_id()
    );
}

#[tokio::test]
async fn failed_and_non_creating_requests_emit_nothing() {
    let s = support::embedded().await;
    let c = &s.client;
    c.create_bucket().bucket("bkt").send().await.unwrap();
    c.put_object()
        .bucket("bkt")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let mut rx = s.server.subscribe();
    // Conditional PUT refused, copy refused by its source condition, GET, DELETE, tagging.
    assert!(
        c.put_object()
            .bucket("bkt")
            .key("k")
            .if_none_match("*")
            .body(ByteStream::from_static(b"y"))
            .send()
            .await
            .is_err()
    );
    assert!(
        c.copy_object()
            .bucket("bkt")
            .key("k2")
            .copy_source("bkt/k")
            .copy_source_if_match("\"nope\"")
            .send()
            .await
            .is_err()
    );
    assert!(
        c.put_object()
            .bucket("missing")
            .key("k")
            .body(ByteStream::from_static(b"y"))
            .send()
            .await
            .is_err()
    );
    c.get_object().bucket("bkt").key("k").send().await.unwrap();
    c.delete_object()
        .bucket("bkt")
        .key("k")
        .send()
        .await
        .unwrap();
    let up = c
        .create_multipart_upload()
        .bucket("bkt")
        .key("m")
        .send()
        .await
        .unwrap();
    c.abort_multipart_upload()
        .bucket("bkt")
        .key("m")
        .upload_id(up.upload_id().unwrap())
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_no_event(&mut rx);
}

/// AWS's rule when the server is told to follow it (`events_by_default: false`, as `copyflow
/// up` runs it): a bucket sends events only once EventBridge is turned on in its notification
/// configuration; the setting reads back, survives a restart, and turns off again.
#[tokio::test]
async fn only_buckets_with_eventbridge_turned_on_send_events() {
    use aws_sdk_s3::types::{
        EventBridgeConfiguration, NotificationConfiguration, TopicConfiguration,
    };
    let dir = tempfile::tempdir().unwrap();
    let start = || async {
        let config = copyflow_s3::ServerConfig {
            events_by_default: false,
            ..copyflow_s3::ServerConfig::new(dir.path())
        };
        let server = copyflow_s3::S3Server::start(config).await.unwrap();
        let c = server.config();
        let client = support::client(&server.endpoint(), &c.access_key, &c.secret_key, &c.region);
        (server, client)
    };
    let put = |c: &aws_sdk_s3::Client, bucket: &'static str, key: &'static str| {
        let c = c.clone();
        async move {
            c.put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from_static(b"x"))
                .send()
                .await
                .unwrap();
        }
    };
    let eventbridge = |on: bool| {
        NotificationConfiguration::builder()
            .set_event_bridge_configuration(on.then(|| EventBridgeConfiguration::builder().build()))
            .build()
    };
    let (server, c) = start().await;
    c.create_bucket().bucket("quiet").send().await.unwrap();
    c.create_bucket().bucket("loud").send().await.unwrap();
    let mut rx = server.subscribe();
    put(&c, "quiet", "a").await;
    assert_no_event(&mut rx);
    let read = c
        .get_bucket_notification_configuration()
        .bucket("quiet")
        .send()
        .await
        .unwrap();
    assert!(read.event_bridge_configuration().is_none());

    c.put_bucket_notification_configuration()
        .bucket("loud")
        .notification_configuration(eventbridge(true))
        .send()
        .await
        .unwrap();
    put(&c, "loud", "b").await;
    assert_eq!(next_event(&mut rx).await["detail"]["object"]["key"], "b");
    put(&c, "quiet", "c").await;
    assert_no_event(&mut rx);

    // SNS, SQS and Lambda destinations are refused, not silently ignored.
    let topic = NotificationConfiguration::builder()
        .topic_configurations(
            TopicConfiguration::builder()
                .topic_arn("arn:aws:sns:us-east-1:000000000000:t")
                .events(aws_sdk_s3::types::Event::S3ObjectCreated)
                .build()
                .unwrap(),
        )
        .build();
    let refused = c
        .put_bucket_notification_configuration()
        .bucket("quiet")
        .notification_configuration(topic)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&refused.into_service_error()),
        Some("NotImplemented")
    );

    server.shutdown().await;
    let (server, c) = start().await;
    let mut rx = server.subscribe();
    let read = c
        .get_bucket_notification_configuration()
        .bucket("loud")
        .send()
        .await
        .unwrap();
    assert!(
        read.event_bridge_configuration().is_some(),
        "kept across a restart"
    );
    put(&c, "loud", "d").await;
    assert_eq!(next_event(&mut rx).await["detail"]["object"]["key"], "d");
    c.put_bucket_notification_configuration()
        .bucket("loud")
        .notification_configuration(eventbridge(false))
        .send()
        .await
        .unwrap();
    put(&c, "loud", "e").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_no_event(&mut rx);
}
