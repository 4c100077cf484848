//! Storage-engine behaviour seen through the S3 API: persistence across a restart, migration
//! of the older one-file-per-key layout, the 5 GiB CopyObject source limit, and concurrent
//! writers of one key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use copyflow_s3::{S3Server, ServerConfig};

#[tokio::test]
async fn objects_versions_and_uploads_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (upload_id, v1) = {
        let server = S3Server::start(ServerConfig::new(dir.path()))
            .await
            .unwrap();
        let c = support::client(
            &server.endpoint(),
            "copyflow",
            "copyflow-secret",
            "us-east-1",
        );
        c.create_bucket().bucket("keep").send().await.unwrap();
        let cfg = aws_sdk_s3::types::VersioningConfiguration::builder()
            .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
            .build();
        c.put_bucket_versioning()
            .bucket("keep")
            .versioning_configuration(cfg)
            .send()
            .await
            .unwrap();
        let v1 = c
            .put_object()
            .bucket("keep")
            .key("a/b.txt")
            .body(ByteStream::from_static(b"one"))
            .send()
            .await
            .unwrap();
        c.put_object()
            .bucket("keep")
            .key("a/b.txt")
            .body(ByteStream::from_static(b"two"))
            .tagging("t=1")
            .send()
            .await
            .unwrap();
        let up = c
            .create_multipart_upload()
            .bucket("keep")
            .key("mp")
            .send()
            .await
            .unwrap();
        let id = up.upload_id().unwrap().to_owned();
        c.upload_part()
            .bucket("keep")
            .key("mp")
            .upload_id(&id)
            .part_number(1)
            .body(ByteStream::from_static(b"part"))
            .send()
            .await
            .unwrap();
        server.shutdown().await;
        (id, v1.version_id().unwrap().to_owned())
    };
    let server = S3Server::start(ServerConfig::new(dir.path()))
        .await
        .unwrap();
    let c = support::client(
        &server.endpoint(),
        "copyflow",
        "copyflow-secret",
        "us-east-1",
    );
    let now = c
        .get_object()
        .bucket("keep")
        .key("a/b.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(
        now.body.collect().await.unwrap().into_bytes().as_ref(),
        b"two"
    );
    let old = c
        .get_object()
        .bucket("keep")
        .key("a/b.txt")
        .version_id(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        old.body.collect().await.unwrap().into_bytes().as_ref(),
        b"one"
    );
    let tags = c
        .get_object_tagging()
        .bucket("keep")
        .key("a/b.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tag_set().len(), 1);
    let parts = c
        .list_parts()
        .bucket("keep")
        .key("mp")
        .upload_id(&upload_id)
        .send()
        .await
        .unwrap();
    assert_eq!(parts.parts().len(), 1);
    let status = c
        .get_bucket_versioning()
        .bucket("keep")
        .send()
        .await
        .unwrap();
    assert_eq!(status.status().map(|s| s.as_str()), Some("Enabled"));
    server.shutdown().await;
}

#[tokio::test]
async fn copy_object_refuses_a_source_over_5_gib_with_the_aws_error() {
    let s = support::embedded().await;
    s.client
        .create_bucket()
        .bucket("huge")
        .send()
        .await
        .unwrap();
    // Test-only sparse object (see insert_sparse_object_for_tests): 5 GiB + 1 byte.
    s.server
        .insert_sparse_object_for_tests("huge", "big", 5 * 1024 * 1024 * 1024 + 1)
        .await
        .unwrap();
    let err = s
        .client
        .copy_object()
        .bucket("huge")
        .key("copy")
        .copy_source("huge/big")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidRequest"));
    assert!(
        err.message()
            .unwrap_or_default()
            .contains("larger than the maximum allowable size for a copy source: 5368709120"),
        "{err:?}"
    );
    // Exactly 5 GiB is allowed by the limit (checked via a ranged part copy instead of
    // copying 5 GiB here): UploadPartCopy of the last byte works.
    let up = s
        .client
        .create_multipart_upload()
        .bucket("huge")
        .key("mp")
        .send()
        .await
        .unwrap();
    s.client
        .upload_part_copy()
        .bucket("huge")
        .key("mp")
        .upload_id(up.upload_id().unwrap())
        .part_number(1)
        .copy_source("huge/big")
        .copy_source_range("bytes=5368709119-5368709120")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn concurrent_writers_of_one_key_leave_one_whole_object() {
    let s = support::embedded().await;
    s.client
        .create_bucket()
        .bucket("race")
        .send()
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..16u8 {
        let c = s.client.clone();
        tasks.push(tokio::spawn(async move {
            c.put_object()
                .bucket("race")
                .key("same")
                .body(ByteStream::from(vec![i; 256 * 1024]))
                .send()
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let got = s
        .client
        .get_object()
        .bucket("race")
        .key("same")
        .send()
        .await
        .unwrap();
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.len(), 256 * 1024);
    assert!(
        bytes.iter().all(|b| *b == bytes[0]),
        "bytes from one writer only"
    );
    let listed = s
        .client
        .list_objects_v2()
        .bucket("race")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(1));
}

/// A body too big to be stored inline: the older layout kept every body in a file.
fn old_body(i: usize) -> String {
    format!("body {i} ").repeat(10_000)
}

/// Data dirs written before key metadata moved to `keys.sqlite3` hold one JSON file per key
/// (`buckets/<name>/keys/<sha256>.json`, the `KeyRecord` JSON): a start imports them.
#[tokio::test]
async fn key_files_of_the_older_layout_are_imported_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig::new(dir.path());
    {
        let server = S3Server::start(config.clone()).await.unwrap();
        let c = support::client(
            &server.endpoint(),
            "copyflow",
            "copyflow-secret",
            "us-east-1",
        );
        c.create_bucket().bucket("old").send().await.unwrap();
        for i in 0..3 {
            c.put_object()
                .bucket("old")
                .key(format!("k/{i}"))
                .body(ByteStream::from(old_body(i).into_bytes()))
                .send()
                .await
                .unwrap();
        }
        server.shutdown().await;
    }
    // Turn the data dir into the older layout: key files, no key database.
    let keys_dir = dir.path().join("buckets/old/keys");
    std::fs::create_dir_all(&keys_dir).unwrap();
    {
        let db = rusqlite::Connection::open(dir.path().join("keys.sqlite3")).unwrap();
        let mut stmt = db.prepare("SELECT record FROM keys").unwrap();
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rows.len(), 3);
        for (i, json) in rows.iter().enumerate() {
            std::fs::write(keys_dir.join(format!("{i:064}.json")), json).unwrap();
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("keys.sqlite3{suffix}")));
    }

    let server = S3Server::start(config).await.unwrap();
    let c = support::client(
        &server.endpoint(),
        "copyflow",
        "copyflow-secret",
        "us-east-1",
    );
    for i in 0..3 {
        let got = c
            .get_object()
            .bucket("old")
            .key(format!("k/{i}"))
            .send()
            .await
            .unwrap();
        let body = got.body.collect().await.unwrap().into_bytes();
        assert_eq!(&body[..], old_body(i).as_bytes());
    }
    let listed = c.list_objects_v2().bucket("old").send().await.unwrap();
    assert_eq!(listed.contents().len(), 3);
    assert!(!keys_dir.exists(), "imported key files are removed");
    // Nothing the imported records name was reclaimed as an orphan.
    assert_eq!(
        support::stored_segments(dir.path()),
        3,
        "one blob per object"
    );
    server.shutdown().await;
}
