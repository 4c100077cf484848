//! CopyObject shares its source's bytes (hard links to the source's segment files; small
//! bodies, stored inline, are duplicated) and does not re-read what the server knows: seen
//! through the S3 API and the data directory.
//!
//! Sharing must be invisible: deleting or overwriting the source never changes the copy,
//! deleting the copy never changes the source, and the startup reclaim of unreferenced files
//! never removes bytes a key still uses. The bytes a copy reads and writes are counted with
//! the process's own I/O counters (`/proc/self/io`), so the tests of this file run one at a
//! time.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload,
    CompletedPart, VersioningConfiguration,
};
use copyflow_checksum::{Algorithm, Digest};
use copyflow_s3::{S3Server, ServerConfig};
use md5::Digest as _;

/// The I/O counters are per process: one test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const MIB: usize = 1024 * 1024;

struct Server {
    server: S3Server,
    client: Client,
    dir: tempfile::TempDir,
}

async fn start_in(dir: tempfile::TempDir) -> Server {
    let server = S3Server::start(ServerConfig::new(dir.path()))
        .await
        .unwrap();
    let c = server.config();
    let client = support::client(&server.endpoint(), &c.access_key, &c.secret_key, &c.region);
    Server {
        server,
        client,
        dir,
    }
}

async fn start() -> Server {
    let s = start_in(tempfile::tempdir().unwrap()).await;
    s.client
        .create_bucket()
        .bucket("share")
        .send()
        .await
        .unwrap();
    s
}

fn data(size: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut v = vec![0u8; size];
    rng.fill(&mut v);
    v
}

fn md5_etag(data: &[u8]) -> String {
    format!(
        "\"{}\"",
        hex_simd::encode_to_string(md5::Md5::digest(data), hex_simd::AsciiCase::Lower)
    )
}

fn checksum(a: Algorithm, data: &[u8]) -> String {
    Digest::compute(a, data).to_base64()
}

/// Every segment file under `blobs/`, by name, with its (device, inode) and link count.
fn blob_files(dir: &Path) -> BTreeMap<PathBuf, ((u64, u64), u64)> {
    let mut out = BTreeMap::new();
    for fan in std::fs::read_dir(dir.join("blobs")).unwrap() {
        for file in std::fs::read_dir(fan.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            let m = std::fs::metadata(&path).unwrap();
            out.insert(path, ((m.dev(), m.ino()), m.nlink()));
        }
    }
    out
}

/// Distinct files (inodes) under `blobs/`.
fn inodes(dir: &Path) -> usize {
    let mut ids: Vec<_> = blob_files(dir).values().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}

async fn put(c: &Client, key: &str, body: &[u8], alg: ChecksumAlgorithm) -> String {
    let out = c
        .put_object()
        .bucket("share")
        .key(key)
        .checksum_algorithm(alg)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .unwrap();
    out.e_tag().unwrap().to_owned()
}

async fn delete(c: &Client, key: &str) {
    c.delete_object()
        .bucket("share")
        .key(key)
        .send()
        .await
        .unwrap();
}

async fn get(c: &Client, key: &str) -> Vec<u8> {
    let out = c
        .get_object()
        .bucket("share")
        .key(key)
        .send()
        .await
        .unwrap();
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

async fn copy(c: &Client, from: &str, to: &str, alg: Option<ChecksumAlgorithm>) {
    c.copy_object()
        .bucket("share")
        .key(to)
        .copy_source(format!("share/{from}"))
        .set_checksum_algorithm(alg)
        .send()
        .await
        .unwrap();
}

/// (ETag, CRC32, CRC32C, CRC64NVME, SHA256, checksum type) as HeadObject reports them.
async fn head(c: &Client, key: &str) -> [Option<String>; 6] {
    let h = c
        .head_object()
        .bucket("share")
        .key(key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    [
        h.e_tag().map(str::to_owned),
        h.checksum_crc32().map(str::to_owned),
        h.checksum_crc32_c().map(str::to_owned),
        h.checksum_crc64_nvme().map(str::to_owned),
        h.checksum_sha256().map(str::to_owned),
        h.checksum_type().map(|t| t.as_str().to_owned()),
    ]
}

/// Bytes this process read and wrote through system calls (files, sockets, in-kernel
/// copies) while `f` ran.
async fn io_of<T>(f: impl std::future::Future<Output = T>) -> (T, u64, u64) {
    fn counters() -> (u64, u64) {
        let text = std::fs::read_to_string("/proc/self/io").unwrap();
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap()
        };
        (field("rchar:"), field("wchar:"))
    }
    let (r0, w0) = counters();
    let out = f.await;
    let (r1, w1) = counters();
    (out, r1 - r0, w1 - w0)
}

/// A multipart object of parts of `sizes` bytes, uploaded with COMPOSITE CRC32 checksums
/// (how the aws cli and boto3 upload by default).
async fn put_multipart(c: &Client, key: &str, body: &[u8], sizes: &[usize]) {
    let up = c
        .create_multipart_upload()
        .bucket("share")
        .key(key)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    let mut parts = Vec::new();
    let mut offset = 0;
    for (n, size) in (1..).zip(sizes) {
        let part = &body[offset..offset + size];
        offset += size;
        let out = c
            .upload_part()
            .bucket("share")
            .key(key)
            .upload_id(id)
            .part_number(n)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(ByteStream::from(part.to_vec()))
            .send()
            .await
            .unwrap();
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().unwrap())
                .checksum_crc32(out.checksum_crc32().unwrap())
                .build(),
        );
    }
    assert_eq!(offset, body.len());
    c.complete_multipart_upload()
        .bucket("share")
        .key(key)
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_copy_is_a_second_name_of_the_source_file() {
    let _serial = SERIAL.lock().await;
    let s = start().await;
    let body = data(MIB, 1);
    let etag = put(&s.client, "src", &body, ChecksumAlgorithm::Crc32).await;
    copy(&s.client, "src", "dst", None).await;
    let files = blob_files(s.dir.path());
    assert_eq!(files.len(), 2, "one name per version: {files:?}");
    assert_eq!(inodes(s.dir.path()), 1, "both names are one file");
    assert!(files.values().all(|(_, links)| *links == 2));
    assert_eq!(etag, md5_etag(&body));
    assert_eq!(head(&s.client, "dst").await, head(&s.client, "src").await);
    assert_eq!(get(&s.client, "dst").await, body);
    s.server.shutdown().await;
}

#[tokio::test]
async fn deleting_the_source_never_changes_the_copy() {
    let _serial = SERIAL.lock().await;
    let s = start().await;
    let body = data(MIB + 17, 2);
    put(&s.client, "src", &body, ChecksumAlgorithm::Crc32C).await;
    copy(&s.client, "src", "dst", None).await;
    let before = head(&s.client, "dst").await;
    delete(&s.client, "src").await;
    let files = blob_files(s.dir.path());
    assert_eq!(files.len(), 1, "the source's name is gone: {files:?}");
    assert!(files.values().all(|(_, links)| *links == 1));
    assert_eq!(get(&s.client, "dst").await, body);
    assert_eq!(head(&s.client, "dst").await, before);
    assert_eq!(before[2], Some(checksum(Algorithm::Crc32c, &body)));
    s.server.shutdown().await;
}

/// `src` now reads `now`, while `dst` still reads (and reports the ETag and CRC32 of) `copied`.
async fn assert_overwritten_and_copy_kept(c: &Client, now: &[u8], copied: &[u8]) {
    assert_eq!(get(c, "src").await, now);
    assert_eq!(get(c, "dst").await, copied);
    let dst = head(c, "dst").await;
    assert_eq!(dst[0], Some(md5_etag(copied)));
    assert_eq!(dst[1], Some(checksum(Algorithm::Crc32, copied)));
}

#[tokio::test]
async fn overwriting_the_source_never_changes_the_copy() {
    let _serial = SERIAL.lock().await;
    let s = start().await;
    let (one, two) = (data(MIB, 3), data(MIB / 2, 4));
    put(&s.client, "src", &one, ChecksumAlgorithm::Crc32).await;
    copy(&s.client, "src", "dst", None).await;
    put(&s.client, "src", &two, ChecksumAlgorithm::Crc32).await;
    assert_overwritten_and_copy_kept(&s.client, &two, &one).await;
    assert_eq!(
        inodes(s.dir.path()),
        2,
        "the old bytes live on for the copy alone"
    );
    s.server.shutdown().await;
}

#[tokio::test]
async fn deleting_the_copy_never_changes_the_source() {
    let _serial = SERIAL.lock().await;
    let s = start().await;
    let body = data(MIB, 5);
    put(&s.client, "src", &body, ChecksumAlgorithm::Sha256).await;
    let before = head(&s.client, "src").await;
    copy(&s.client, "src", "dst", None).await;
    copy(&s.client, "dst", "dst2", None).await;
    assert_eq!(inodes(s.dir.path()), 1);
    for key in ["dst", "dst2"] {
        delete(&s.client, key).await;
    }
    assert_eq!(get(&s.client, "src").await, body);
    assert_eq!(head(&s.client, "src").await, before);
    assert_eq!(before[4], Some(checksum(Algorithm::Sha256, &body)));
    let files = blob_files(s.dir.path());
    assert!(files.len() == 1 && files.values().all(|(_, links)| *links == 1));
    s.server.shutdown().await;
}

/// A versioned copy source pinned with `?versionId=`, then that version deleted for good.
#[tokio::test]
async fn deleting_the_copied_version_never_changes_the_copy() {
    let _serial = SERIAL.lock().await;
    let s = start().await;
    s.client
        .put_bucket_versioning()
        .bucket("share")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (one, two) = (data(MIB, 6), data(MIB, 7));
    let v1 = s
        .client
        .put_object()
        .bucket("share")
        .key("src")
        .body(ByteStream::from(one.clone()))
        .send()
        .await
        .unwrap()
        .version_id
        .unwrap();
    put(&s.client, "src", &two, ChecksumAlgorithm::Crc32).await;
    s.client
        .copy_object()
        .bucket("share")
        .key("dst")
        .copy_source(format!("share/src?versionId={v1}"))
        .send()
        .await
        .unwrap();
    s.client
        .delete_object()
        .bucket("share")
        .key("src")
        .version_id(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(get(&s.client, "dst").await, one);
    assert_eq!(get(&s.client, "src").await, two);
    s.server.shutdown().await;
}

/// A kill between making the link and committing the copy leaves a name no key uses; the
/// startup reclaim removes that name and nothing the source and copy share.
#[tokio::test]
async fn the_startup_reclaim_removes_an_unused_link_and_keeps_shared_bytes() {
    let _serial = SERIAL.lock().await;
    let s = start().await;
    let body = data(MIB, 8);
    put(&s.client, "src", &body, ChecksumAlgorithm::Crc32).await;
    copy(&s.client, "src", "dst", None).await;
    let kept = blob_files(s.dir.path());
    let (first, _) = kept.iter().next().unwrap();
    let orphan = first.with_file_name("ffffffffffffffffffffffffffffffff");
    std::fs::hard_link(first, &orphan).unwrap();
    s.server.shutdown().await;
    let s = start_in(s.dir).await;
    let files = blob_files(s.dir.path());
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        kept.keys().collect::<Vec<_>>(),
        "only the unused name was reclaimed"
    );
    assert!(files.values().all(|(_, links)| *links == 2));
    assert_eq!(get(&s.client, "src").await, body);
    assert_eq!(get(&s.client, "dst").await, body);
    s.server.shutdown().await;
}

/// A small body is a row of the key database, not a file; its copy gets a row of its own,
/// so deleting or overwriting the source never changes the copy, and the startup reclaim
/// removes a row no key names and keeps the rest.
#[tokio::test]
async fn small_objects_are_inline_rows_that_copies_never_share_changes_with() {
    let _serial = SERIAL.lock().await;
    let s = start().await;
    let (one, two) = (data(8 * 1024, 10), data(3 * 1024, 11));
    put(&s.client, "src", &one, ChecksumAlgorithm::Crc32).await;
    copy(&s.client, "src", "dst", None).await;
    copy(&s.client, "src", "dst2", None).await;
    assert!(blob_files(s.dir.path()).is_empty(), "no segment file");
    assert_eq!(support::inline_segments(s.dir.path()), 3);
    put(&s.client, "src", &two, ChecksumAlgorithm::Crc32).await;
    delete(&s.client, "dst2").await;
    assert_overwritten_and_copy_kept(&s.client, &two, &one).await;
    assert_eq!(
        support::inline_segments(s.dir.path()),
        2,
        "the replaced and the deleted rows are gone"
    );
    s.server.shutdown().await;
    // A row written by a PUT a kill cut short (its key record never committed).
    let db = rusqlite::Connection::open(s.dir.path().join("keys.sqlite3")).unwrap();
    db.execute(
        "INSERT INTO inline_blobs (id, bytes) VALUES ('orphan', x'00')",
        [],
    )
    .unwrap();
    drop(db);
    let s = start_in(s.dir).await;
    assert_eq!(support::inline_segments(s.dir.path()), 2);
    assert_eq!(get(&s.client, "src").await, two);
    assert_eq!(get(&s.client, "dst").await, one);
    s.server.shutdown().await;
}

/// Before: every CopyObject read and wrote the whole object (a kernel copy for single-part
/// sources, a hashing copy otherwise). Now a copy writes nothing, and reads the bytes once
/// only for what the server does not know.
#[tokio::test]
async fn a_copy_reads_only_what_the_server_does_not_know_and_writes_no_bytes() {
    let _serial = SERIAL.lock().await;
    let s = start().await;
    let size = 12 * MIB;
    let body = data(size, 9);
    put(&s.client, "single", &body, ChecksumAlgorithm::Crc32).await;
    put_multipart(&s.client, "multi", &body, &[5 * MIB, 5 * MIB, 2 * MIB]).await;
    let little = (MIB / 2) as u64;
    let whole = size as u64;

    // Same algorithm, single-part source: checksum and ETag are the source's.
    let ((), read, written) = io_of(copy(&s.client, "single", "c1", None)).await;
    assert!(
        read < little && written < little,
        "read {read}, wrote {written}"
    );
    let c1 = head(&s.client, "c1").await;
    assert_eq!(c1[0], Some(md5_etag(&body)));
    assert_eq!(c1[1], Some(checksum(Algorithm::Crc32, &body)));

    // CRC64NVME asked for: every version records it.
    let ((), read, written) = io_of(copy(
        &s.client,
        "single",
        "c2",
        Some(ChecksumAlgorithm::Crc64Nvme),
    ))
    .await;
    assert!(
        read < little && written < little,
        "read {read}, wrote {written}"
    );
    let c2 = head(&s.client, "c2").await;
    assert_eq!(c2[3], Some(checksum(Algorithm::Crc64Nvme, &body)));
    assert_eq!(c2[1], None, "only the asked algorithm");

    // Another algorithm asked for: computed by reading, still nothing written.
    for (alg, field, algorithm) in [
        (ChecksumAlgorithm::Sha256, 4, Algorithm::Sha256),
        (ChecksumAlgorithm::Crc32C, 2, Algorithm::Crc32c),
    ] {
        let key = format!("c-{}", algorithm.as_s3_name());
        let ((), read, written) = io_of(copy(&s.client, "single", &key, Some(alg))).await;
        assert!(
            read >= whole && written < little,
            "read {read}, wrote {written}"
        );
        let h = head(&s.client, &key).await;
        assert_eq!(h[field], Some(checksum(algorithm, &body)));
        assert_eq!(h[0], Some(md5_etag(&body)));
        assert_eq!(h[5].as_deref(), Some("FULL_OBJECT"));
    }

    // Multipart source (COMPOSITE CRC32): the copy's ETag is an MD5, so the bytes are read
    // once for it; its full-object CRC32 is combined from the part CRCs.
    let source = head(&s.client, "multi").await;
    assert!(source[0].as_deref().is_some_and(|e| e.ends_with("-3\"")));
    assert_eq!(source[5].as_deref(), Some("COMPOSITE"));
    let ((), read, written) = io_of(copy(&s.client, "multi", "m1", None)).await;
    assert!(read >= whole && read < whole + little, "read {read}");
    assert!(written < little, "wrote {written}");
    let m1 = head(&s.client, "m1").await;
    assert_eq!(m1[0], Some(md5_etag(&body)));
    assert_eq!(m1[1], Some(checksum(Algorithm::Crc32, &body)));
    assert_eq!(m1[5].as_deref(), Some("FULL_OBJECT"));
    assert_eq!(get(&s.client, "m1").await, body);

    // Deleting the multipart source leaves its copy whole.
    delete(&s.client, "multi").await;
    assert_eq!(get(&s.client, "m1").await, body);
    assert_eq!(head(&s.client, "m1").await, m1);
    s.server.shutdown().await;
}

/// UploadPartCopy of a range that is exactly one part of a multipart source (how copyflow's
/// copy step copies a source uploaded in equal parts) shares that part's file and knows its
/// ETag and checksums: nothing is read or written, and the assembled copy has the source's
/// ETag and a full-object CRC32 of its bytes. A range that is not one part is read.
#[tokio::test]
async fn a_part_copy_of_exactly_one_source_part_reads_and_writes_nothing() {
    let _serial = SERIAL.lock().await;
    let s = start().await;
    let sizes = [5 * MIB, 5 * MIB, 2 * MIB];
    let body = data(12 * MIB, 11);
    put_multipart(&s.client, "multi", &body, &sizes).await;
    let source = head(&s.client, "multi").await;
    let little = (MIB / 2) as u64;

    let copy_parts = |key: &'static str, ranges: Vec<(usize, usize)>| {
        let c = s.client.clone();
        let body = &body;
        async move {
            let up = c
                .create_multipart_upload()
                .bucket("share")
                .key(key)
                .checksum_algorithm(ChecksumAlgorithm::Crc32)
                .checksum_type(aws_sdk_s3::types::ChecksumType::FullObject)
                .send()
                .await
                .unwrap();
            let id = up.upload_id().unwrap().to_owned();
            let mut parts = Vec::new();
            let mut io = (0, 0);
            for (n, (start, end)) in (1..).zip(ranges) {
                let (out, read, written) = io_of(
                    c.upload_part_copy()
                        .bucket("share")
                        .key(key)
                        .upload_id(&id)
                        .part_number(n)
                        .copy_source("share/multi")
                        .copy_source_range(format!("bytes={start}-{}", end - 1))
                        .send(),
                )
                .await;
                let r = out.unwrap().copy_part_result.unwrap();
                assert_eq!(
                    r.e_tag(),
                    Some(md5_etag(&body[start..end]).as_str()),
                    "part {n}"
                );
                assert_eq!(
                    r.checksum_crc32(),
                    Some(checksum(Algorithm::Crc32, &body[start..end]).as_str())
                );
                io = (io.0 + read, io.1 + written);
                parts.push(
                    CompletedPart::builder()
                        .part_number(n)
                        .e_tag(r.e_tag().unwrap())
                        .checksum_crc32(r.checksum_crc32().unwrap())
                        .build(),
                );
            }
            c.complete_multipart_upload()
                .bucket("share")
                .key(key)
                .upload_id(&id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .unwrap();
            io
        }
    };

    let (read, written) = copy_parts(
        "mirrored",
        vec![(0, 5 * MIB), (5 * MIB, 10 * MIB), (10 * MIB, 12 * MIB)],
    )
    .await;
    assert!(
        read < little && written < little,
        "read {read}, wrote {written}"
    );
    let mirrored = head(&s.client, "mirrored").await;
    assert_eq!(mirrored[0], source[0], "the source's multipart ETag");
    assert_eq!(mirrored[1], Some(checksum(Algorithm::Crc32, &body)));
    assert_eq!(mirrored[5].as_deref(), Some("FULL_OBJECT"));
    assert_eq!(get(&s.client, "mirrored").await, body);

    // Parts that cut across the source's: read (and written) once.
    let (read, written) = copy_parts("cut", vec![(0, 6 * MIB), (6 * MIB, 12 * MIB)]).await;
    let whole = body.len() as u64;
    assert!(
        read >= whole && written >= whole,
        "read {read}, wrote {written}"
    );
    assert_eq!(get(&s.client, "cut").await, body);

    // The shared parts outlive the source.
    delete(&s.client, "multi").await;
    assert_eq!(get(&s.client, "mirrored").await, body);
    assert_eq!(head(&s.client, "mirrored").await, mirrored);
    s.server.shutdown().await;
}
