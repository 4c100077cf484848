//! The durable event outbox seen through the S3 API: every object-creating request leaves
//! its event in the outbox before it is acknowledged, unacknowledged events come back after
//! a restart, acknowledged ones do not, and recovery drops events of objects never committed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use copyflow_s3::{OutboxEntry, S3Server, ServerConfig};

async fn start(dir: &std::path::Path) -> (S3Server, aws_sdk_s3::Client) {
    let server = S3Server::start(ServerConfig::new(dir)).await.unwrap();
    let c = server.config();
    let client = support::client(&server.endpoint(), &c.access_key, &c.secret_key, &c.region);
    (server, client)
}

async fn batch(server: &S3Server, max: usize) -> Vec<OutboxEntry> {
    let outbox = server.outbox().expect("durable events are on by default");
    tokio::time::timeout(Duration::from_secs(5), outbox.recv_batch(max))
        .await
        .expect("outbox entries within 5 s")
}

async fn put(c: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &'static [u8]) -> String {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from_static(body))
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .trim_matches('"')
        .to_owned()
}

#[tokio::test]
async fn put_copy_and_complete_multipart_upload_each_leave_their_event_in_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let (server, c) = start(dir.path()).await;
    c.create_bucket().bucket("box").send().await.unwrap();

    let put_etag = put(&c, "box", "put me", b"hello").await;
    c.copy_object()
        .bucket("box")
        .key("copied")
        .copy_source("box/put%20me")
        .send()
        .await
        .unwrap();
    let up = c
        .create_multipart_upload()
        .bucket("box")
        .key("mp")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let part = c
        .upload_part()
        .bucket("box")
        .key("mp")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from_static(b"part one"))
        .send()
        .await
        .unwrap();
    c.complete_multipart_upload()
        .bucket("box")
        .key("mp")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(part.e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();

    let outbox = server.outbox().unwrap();
    assert_eq!(outbox.pending().unwrap(), 3);
    let entries = batch(&server, 10).await;
    let seen: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e.event.detail.reason.clone().unwrap_or_default(),
                e.event.detail.object.key.clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("PutObject".to_owned(), "put me".to_owned()),
            ("CopyObject".to_owned(), "copied".to_owned()),
            ("CompleteMultipartUpload".to_owned(), "mp".to_owned()),
        ]
    );
    assert_eq!(entries[0].event.detail.object.etag, Some(put_etag));
    assert!(
        entries.windows(2).all(|w| w[0].seq < w[1].seq),
        "oldest first"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn recv_batch_waits_for_a_new_entry_and_hands_each_entry_out_once() {
    let dir = tempfile::tempdir().unwrap();
    let (server, c) = start(dir.path()).await;
    c.create_bucket().bucket("box").send().await.unwrap();
    put(&c, "box", "one", b"1").await;
    put(&c, "box", "two", b"2").await;
    let first = batch(&server, 1).await;
    assert_eq!(first.len(), 1, "at most max entries");
    let second = batch(&server, 10).await;
    assert_eq!(second.len(), 1, "the rest, without the one handed out");
    assert!(first[0].seq < second[0].seq);

    let outbox = server.outbox().unwrap();
    let waiting = tokio::spawn(async move { outbox.recv_batch(10).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "nothing new to hand out yet");
    put(&c, "box", "three", b"3").await;
    let third = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("woken by the new entry")
        .unwrap();
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].event.detail.object.key, "three");
    server.shutdown().await;
}

#[tokio::test]
async fn unacknowledged_entries_are_handed_out_again_after_a_restart_and_acknowledged_ones_are_not()
{
    let dir = tempfile::tempdir().unwrap();
    {
        let (server, c) = start(dir.path()).await;
        c.create_bucket().bucket("box").send().await.unwrap();
        put(&c, "box", "acked", b"a").await;
        put(&c, "box", "pending", b"p").await;
        let entries = batch(&server, 10).await;
        assert_eq!(entries.len(), 2);
        let outbox = server.outbox().unwrap();
        outbox.ack(&[entries[0].seq]).unwrap();
        assert_eq!(outbox.pending().unwrap(), 1);
        server.shutdown().await;
    }
    let (server, c) = start(dir.path()).await;
    let again = batch(&server, 10).await;
    let keys: Vec<&str> = again
        .iter()
        .map(|e| e.event.detail.object.key.as_str())
        .collect();
    assert_eq!(keys, ["pending"]);
    // New entries after a restart come after the old ones.
    put(&c, "box", "later", b"l").await;
    let later = batch(&server, 10).await;
    assert_eq!(later[0].event.detail.object.key, "later");
    assert!(later[0].seq > again[0].seq);
    let outbox = server.outbox().unwrap();
    outbox.ack(&[again[0].seq, later[0].seq]).unwrap();
    assert_eq!(outbox.pending().unwrap(), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn recovery_drops_an_entry_whose_object_was_never_committed() {
    let dir = tempfile::tempdir().unwrap();
    let event_json = {
        let (server, c) = start(dir.path()).await;
        c.create_bucket().bucket("box").send().await.unwrap();
        put(&c, "box", "real", b"committed").await;
        let entries = batch(&server, 10).await;
        server.shutdown().await;
        serde_json::to_value(&*entries[0].event).unwrap()
    };
    // Simulate a crash between the outbox insert and the key record: write rows straight
    // into the database (the server is stopped) for objects that were never committed.
    {
        let db = rusqlite::Connection::open(dir.path().join("events.sqlite3")).unwrap();
        let mut ghost = event_json.clone();
        ghost["detail"]["object"]["key"] = "never+committed".into();
        db.execute(
            "INSERT INTO events (seq, event) VALUES (100, ?1)",
            [ghost.to_string()],
        )
        .unwrap();
        let mut other_bytes = event_json.clone();
        other_bytes["detail"]["object"]["etag"] = "0123456789abcdef0123456789abcdef".into();
        db.execute(
            "INSERT INTO events (seq, event) VALUES (101, ?1)",
            [other_bytes.to_string()],
        )
        .unwrap();
        let count: i64 = db
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 3);
    }
    let (server, _c) = start(dir.path()).await;
    let outbox = server.outbox().unwrap();
    assert_eq!(
        outbox.pending().unwrap(),
        1,
        "only the committed object's event"
    );
    let entries = batch(&server, 10).await;
    assert_eq!(entries[0].event.detail.object.key, "real");
    server.shutdown().await;
}

#[tokio::test]
async fn without_durable_events_there_is_no_outbox_and_the_live_bus_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let server = S3Server::start(ServerConfig {
        durable_events: false,
        ..ServerConfig::new(dir.path())
    })
    .await
    .unwrap();
    assert!(server.outbox().is_none());
    let c = server.config();
    let client = support::client(&server.endpoint(), &c.access_key, &c.secret_key, &c.region);
    client.create_bucket().bucket("box").send().await.unwrap();
    let mut rx = server.subscribe();
    put(&client, "box", "k", b"x").await;
    let e = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.detail.object.key, "k");
    assert!(!dir.path().join("events.sqlite3").exists());
    server.shutdown().await;
}
