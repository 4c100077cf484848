//! The three steps against the embedded S3 server over HTTP: events come from the server
//! itself (its Object Created events), the steps run as library code, exactly as the
//! Lambda adapters and the local runner call them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode};
use copyflow_core::copy::{CopyContext, CopyDocument, CopyMethod, CopyStatus, copy};
use copyflow_core::deadline::Deadline;
use copyflow_core::verify::{VerifyContext, VerifyDocument, VerifyMethod, verify};
use copyflow_core::{
    Settings, SettingsDocument, SettingsOrigin, StepError, Steps, ValidateOutput, validate,
};
use copyflow_s3::event::KeyEncoding;
use copyflow_s3::faults::{Fault, FaultPlan, Operation};
use copyflow_s3::{ObjectCreatedEvent, S3Server, ServerConfig};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedReceiver;

const SRC: &str = "copyflow-source";
const DST: &str = "copyflow-destination";

struct Env {
    server: S3Server,
    client: Client,
    events: UnboundedReceiver<Arc<ObjectCreatedEvent>>,
    settings: Settings,
    _dir: tempfile::TempDir,
}

async fn env(configure: impl FnOnce(&mut SettingsDocument)) -> Env {
    env_encoding(KeyEncoding::default(), configure).await
}

/// [`env`] with a server that writes event keys in `encoding`.
async fn env_encoding(encoding: KeyEncoding, configure: impl FnOnce(&mut SettingsDocument)) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let server = S3Server::start(ServerConfig {
        key_encoding: encoding,
        ..ServerConfig::new(dir.path())
    })
    .await
    .unwrap();
    let c = server.config();
    let client = copyflow_core::s3::client_for_endpoint(
        &server.endpoint(),
        &c.access_key,
        &c.secret_key,
        &c.region,
    );
    client.create_bucket().bucket(SRC).send().await.unwrap();
    client.create_bucket().bucket(DST).send().await.unwrap();
    let events = server.subscribe();
    let mut document = SettingsDocument::new(SRC, DST);
    configure(&mut document);
    let settings = document.check(SettingsOrigin::Built).unwrap();
    Env {
        server,
        client,
        events,
        settings,
        _dir: dir,
    }
}

impl Env {
    async fn put(&mut self, key: &str, body: Vec<u8>) -> Value {
        self.client
            .put_object()
            .bucket(SRC)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
        self.next_event().await
    }

    /// The next Object Created event of the source bucket (destination writes are skipped,
    /// as the EventBridge rule's bucket filter does).
    async fn next_event(&mut self) -> Value {
        loop {
            let e = tokio::time::timeout(Duration::from_secs(5), self.events.recv())
                .await
                .unwrap()
                .unwrap();
            if e.detail.bucket.name == SRC {
                return serde_json::to_value(&*e).unwrap();
            }
        }
    }

    /// Destination writes announced so far (drains the channel).
    fn destination_writes(&mut self) -> usize {
        std::iter::from_fn(|| self.events.try_recv().ok())
            .filter(|e| e.detail.bucket.name == DST)
            .count()
    }

    fn validate(&self, event: &Value) -> ValidateOutput {
        validate(event, self.settings.key_rules()).unwrap()
    }

    fn job_doc(&self, event: &Value) -> CopyDocument {
        serde_json::from_value(serde_json::to_value(self.validate(event)).unwrap()).unwrap()
    }

    async fn copy(&self, doc: CopyDocument, deadline: Deadline) -> Result<CopyDocument, StepError> {
        copy(
            &CopyContext {
                client: &self.client,
                settings: &self.settings,
                deadline,
            },
            doc,
        )
        .await
    }

    async fn verify(&self, doc: CopyDocument) -> Result<VerifyDocument, StepError> {
        let doc: VerifyDocument =
            serde_json::from_value(serde_json::to_value(doc).unwrap()).unwrap();
        verify(
            &VerifyContext {
                client: &self.client,
                settings: &self.settings,
                deadline: Deadline::none(),
            },
            doc,
        )
        .await
    }

    /// validate -> copy (looping on checkpoints) -> verify, as the state machine runs them.
    async fn run(&self, event: &Value) -> Result<VerifyDocument, StepError> {
        let mut doc = self.copy(self.job_doc(event), Deadline::none()).await?;
        while doc.copy.as_ref().unwrap().status == CopyStatus::InProgress {
            doc = self.copy(doc, Deadline::none()).await?;
        }
        self.verify(doc).await
    }

    /// Uploads `data` as a multipart object with a COMPOSITE checksum in `algorithm` (parts
    /// of `part_size`), as the aws cli and boto3 do: a source with no full-object value to
    /// compare with.
    async fn put_composite(
        &self,
        key: &str,
        data: &[u8],
        part_size: usize,
        algorithm: ChecksumAlgorithm,
    ) {
        let up = self
            .client
            .create_multipart_upload()
            .bucket(SRC)
            .key(key)
            .checksum_algorithm(algorithm.clone())
            .send()
            .await
            .unwrap();
        let id = up.upload_id().unwrap();
        let mut parts = Vec::new();
        for (i, chunk) in data.chunks(part_size).enumerate() {
            let n = i32::try_from(i + 1).unwrap();
            let p = self
                .client
                .upload_part()
                .bucket(SRC)
                .key(key)
                .upload_id(id)
                .part_number(n)
                .checksum_algorithm(algorithm.clone())
                .body(ByteStream::from(chunk.to_vec()))
                .send()
                .await
                .unwrap();
            parts.push(
                aws_sdk_s3::types::CompletedPart::builder()
                    .part_number(n)
                    .e_tag(p.e_tag().unwrap())
                    .set_checksum_crc32(p.checksum_crc32().map(str::to_owned))
                    .set_checksum_crc32_c(p.checksum_crc32_c().map(str::to_owned))
                    .set_checksum_sha256(p.checksum_sha256().map(str::to_owned))
                    .build(),
            );
        }
        let all = aws_sdk_s3::types::CompletedMultipartUpload::builder()
            .set_parts(Some(parts))
            .build();
        self.client
            .complete_multipart_upload()
            .bucket(SRC)
            .key(key)
            .upload_id(id)
            .multipart_upload(all)
            .send()
            .await
            .unwrap();
    }

    async fn bytes(&self, bucket: &str, key: &str) -> Vec<u8> {
        self.client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .to_vec()
    }

    /// Keys of the destination's open multipart uploads.
    async fn open_upload_keys(&self) -> Vec<String> {
        let out = self
            .client
            .list_multipart_uploads()
            .bucket(DST)
            .send()
            .await
            .unwrap();
        assert_ne!(out.is_truncated(), Some(true), "one page is enough here");
        out.uploads()
            .iter()
            .map(|u| u.key().unwrap().to_owned())
            .collect()
    }

    /// Waits up to 5 s for the destination to have no open multipart upload.
    async fn until_no_open_uploads(&self) -> Vec<String> {
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            let open = self.open_upload_keys().await;
            if open.is_empty() || Instant::now() > until {
                return open;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What a copy invocation killed mid-copy leaves behind: an open upload of `key` on the
    /// destination with one part in it (and no checkpoint anywhere).
    async fn leave_upload(&self, key: &str) {
        let up = self
            .client
            .create_multipart_upload()
            .bucket(DST)
            .key(key)
            .send()
            .await
            .unwrap();
        self.client
            .upload_part()
            .bucket(DST)
            .key(key)
            .upload_id(up.upload_id().unwrap())
            .part_number(1)
            .body(ByteStream::from(body(1024 * 1024, 99)))
            .send()
            .await
            .unwrap();
    }

    async fn open_uploads(&self) -> usize {
        self.client
            .list_multipart_uploads()
            .bucket(DST)
            .send()
            .await
            .unwrap()
            .uploads()
            .len()
    }
}

fn body(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut v = vec![0u8; len];
    rng.fill(&mut v);
    v
}

#[tokio::test]
async fn small_object_is_copied_under_the_same_key_and_verified_with_zero_bytes_read() {
    let mut e = env(|_| {}).await;
    let key = "AjayMuralidhar/2020-04-06/12/my-task.txt";
    let event = e.put(key, b"write the report".to_vec()).await;
    // A plan without rules only counts the requests the server sees.
    e.server.faults().set_plan(Some(FaultPlan::new(0)));
    let done = e.run(&event).await.unwrap();
    let seen: u64 = Operation::ALL
        .iter()
        .map(|&op| e.server.faults().requests_seen(op))
        .sum();
    assert_eq!(seen, 4, "requests the server saw");
    assert_eq!(
        e.server
            .faults()
            .requests_seen(Operation::ListMultipartUploads),
        0,
        "no upload listing on the CopyObject path"
    );
    let copy = done.copy.clone();
    assert_eq!(copy.status, CopyStatus::Copied);
    assert_eq!(copy.method, CopyMethod::CopyObject);
    assert_eq!(copy.destination_key, key);
    let v = done.verify.unwrap();
    assert_eq!(v.method, VerifyMethod::StoredChecksum);
    assert_eq!(v.bytes_read, 0);
    assert_eq!(v.source_checksum, v.destination_checksum);
    assert_eq!(e.bytes(DST, key).await, b"write the report");
    // HEAD source, HEAD destination (absent), CopyObject; then verify's HEAD destination.
    assert_eq!(
        copy.requests + v.requests,
        4,
        "S3 requests on the happy path of a small object"
    );
}

#[tokio::test]
async fn large_object_goes_multipart_and_keeps_headers_metadata_tags_and_crc64nvme() {
    let mut e = env(|s| {
        s.copy.multipart_threshold_bytes = 16 * 1024 * 1024;
        s.copy.part_size_bytes = 8 * 1024 * 1024;
        s.copy.max_concurrency = 4;
    })
    .await;
    let key = "AjayMuralidhar/2020-04-06/13/big.bin";
    let data = body(64 * 1024 * 1024, 1);
    e.client
        .put_object()
        .bucket(SRC)
        .key(key)
        .body(ByteStream::from(data.clone()))
        .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
        .content_type("application/x-report")
        .cache_control("max-age=60")
        .content_disposition("attachment; filename=big.bin")
        .content_language("en")
        .metadata("employee", "AjayMuralidhar")
        .tagging("team=data&class=internal")
        .send()
        .await
        .unwrap();
    let event = e.next_event().await;
    let done = e.run(&event).await.unwrap();
    assert_eq!(done.copy.method, CopyMethod::Multipart);
    assert_eq!(done.copy.parts_total, 8);
    assert_eq!(
        done.verify.as_ref().unwrap().method,
        VerifyMethod::StoredChecksum
    );
    assert!(
        done.verify
            .as_ref()
            .unwrap()
            .compared
            .contains(&"tags".to_owned())
    );

    let head = |bucket: &'static str| {
        e.client
            .head_object()
            .bucket(bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
    };
    let (s, d) = (head(SRC).await.unwrap(), head(DST).await.unwrap());
    assert_eq!(
        s.checksum_crc64_nvme(),
        d.checksum_crc64_nvme(),
        "destination CRC64NVME equals the source's"
    );
    assert_eq!(d.checksum_type().map(|t| t.as_str()), Some("FULL_OBJECT"));
    assert_eq!(s.content_type(), d.content_type());
    assert_eq!(s.cache_control(), d.cache_control());
    assert_eq!(s.content_disposition(), d.content_disposition());
    assert_eq!(s.content_language(), d.content_language());
    assert_eq!(s.metadata(), d.metadata());
    let tags = |bucket: &'static str| e.client.get_object_tagging().bucket(bucket).key(key).send();
    let (st, dt) = (tags(SRC).await.unwrap(), tags(DST).await.unwrap());
    assert_eq!(st.tag_set(), dt.tag_set());
    assert!(
        d.e_tag().unwrap().ends_with("-8\""),
        "a multipart ETag: {:?}",
        d.e_tag()
    );
    assert_eq!(e.bytes(DST, key).await, data);
    assert_eq!(e.open_uploads().await, 0);
}

#[tokio::test]
async fn awkward_keys_and_a_zero_byte_object_are_copied_exactly() {
    let mut e = env(|s| s.keys.pattern = None).await;
    let long = format!("{}/{}", "d".repeat(500), "é".repeat(261)); // 500 + 1 + 522 = 1023 bytes
    let keys = [
        "a b/c+d/100%/x.txt".to_owned(),
        "ünï/cødé/日本語.txt".to_owned(),
        "k:=&?#/z".to_owned(),
        long,
    ];
    for key in &keys {
        let event = e.put(key, key.as_bytes().to_vec()).await;
        assert!(
            matches!(e.validate(&event), ValidateOutput::Copy { .. }),
            "{key}: {:?}",
            e.validate(&event)
        );
        let done = e.run(&event).await.unwrap();
        assert_eq!(&done.copy.destination_key, key);
        assert_eq!(e.bytes(DST, key).await, key.as_bytes());
    }
    let event = e.put("empty/file", Vec::new()).await;
    let done = e.run(&event).await.unwrap();
    assert_eq!(done.verify.unwrap().size, 0);
    assert!(e.bytes(DST, "empty/file").await.is_empty());
    let event = e.put("folder/", Vec::new()).await;
    assert!(
        matches!(e.validate(&event), ValidateOutput::Skip { .. }),
        "a folder marker is skipped"
    );
}

#[tokio::test]
async fn a_source_overwritten_after_its_event_fails_as_source_changed_and_leaves_the_destination_alone()
 {
    let mut e = env(|_| {}).await;
    let key = "AjayMuralidhar/2020-04-06/12/changed.txt";
    let first = e.put(key, b"version one".to_vec()).await;
    let _second = e.put(key, b"version two".to_vec()).await;
    let err = e
        .copy(e.job_doc(&first), Deadline::none())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "SourceChanged");
    let head = e.client.head_object().bucket(DST).key(key).send().await;
    assert!(head.is_err(), "destination untouched");
}

#[tokio::test]
async fn the_same_event_twice_copies_once() {
    let mut e = env(|_| {}).await;
    let key = "AjayMuralidhar/2020-04-06/12/twice.txt";
    let event = e.put(key, b"only once".to_vec()).await;
    e.run(&event).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        e.destination_writes(),
        1,
        "the first run wrote the destination"
    );
    let second = e.run(&event).await.unwrap();
    assert_eq!(second.copy.status, CopyStatus::AlreadyPresent);
    assert_eq!(second.verify.unwrap().method, VerifyMethod::StoredChecksum);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        e.destination_writes(),
        0,
        "no second write to the destination"
    );
}

#[tokio::test]
async fn a_destination_that_differs_from_its_source_fails_verification_and_is_removed() {
    let mut e = env(|_| {}).await;
    let key = "AjayMuralidhar/2020-04-06/12/corrupt.txt";
    let event = e.put(key, b"the real bytes".to_vec()).await;
    let mut doc = e.copy(e.job_doc(&event), Deadline::none()).await.unwrap();
    // Simulate a copy that went wrong: the destination holds other bytes, and the copy step
    // reported that write as its own (so verify cannot dismiss it as a later overwrite).
    let bad = e
        .client
        .put_object()
        .bucket(DST)
        .key(key)
        .body(ByteStream::from_static(b"corrupted bytes"))
        .send()
        .await
        .unwrap();
    doc.copy
        .as_mut()
        .unwrap()
        .destination
        .as_mut()
        .unwrap()
        .etag = bad.e_tag().unwrap().trim_matches('"').to_owned();
    let err = e.verify(doc).await.unwrap_err();
    assert_eq!(err.name(), "ChecksumMismatch");
    assert!(err.to_string().contains("size"), "{err}");
    assert!(
        e.client
            .head_object()
            .bucket(DST)
            .key(key)
            .send()
            .await
            .is_err(),
        "the bad copy was deleted"
    );
}

#[tokio::test]
async fn a_source_without_a_comparable_checksum_is_verified_by_computing_it() {
    let mut e = env(|s| s.verify.range_size_bytes = 5 * 1024 * 1024).await;
    let key = "AjayMuralidhar/2020-04-06/14/composite.bin";
    // A COMPOSITE SHA256 source (multipart, 2 parts): no full-object value to compare with,
    // and SHA part checksums do not combine.
    let data = body(12 * 1024 * 1024, 2);
    e.put_composite(key, &data, 6 * 1024 * 1024, ChecksumAlgorithm::Sha256)
        .await;
    let event = e.next_event().await;
    let done = e.run(&event).await.unwrap();
    let v = done.verify.unwrap();
    assert_eq!(v.method, VerifyMethod::ComputedChecksum);
    assert_eq!(v.bytes_read, data.len() as u64);
    assert_eq!(
        v.source_checksum,
        copyflow_checksum::Digest::compute(copyflow_checksum::Algorithm::Crc64Nvme, &data)
            .to_base64()
    );

    // And the computed path says "different" when the bytes differ.
    let mut doc = e.copy(e.job_doc(&event), Deadline::none()).await.unwrap();
    let bad = e
        .client
        .put_object()
        .bucket(DST)
        .key(key)
        .body(ByteStream::from(body(12 * 1024 * 1024, 3)))
        .send()
        .await
        .unwrap();
    doc.copy
        .as_mut()
        .unwrap()
        .destination
        .as_mut()
        .unwrap()
        .etag = bad.e_tag().unwrap().trim_matches('"').to_owned();
    assert_eq!(e.verify(doc).await.unwrap_err().name(), "ChecksumMismatch");
}

#[tokio::test]
async fn faults_during_a_multipart_copy_end_in_a_complete_copy_or_an_aborted_upload() {
    let mut e = env(|s| {
        s.copy.multipart_threshold_bytes = 8 * 1024 * 1024;
        s.copy.part_size_bytes = 5 * 1024 * 1024;
    })
    .await;
    let data = body(24 * 1024 * 1024, 4);
    let event = e
        .put("AjayMuralidhar/2020-04-06/15/retried.bin", data.clone())
        .await;
    // Transient faults the SDK retries: the copy completes.
    e.server.faults().set_plan(Some(
        FaultPlan::new(11)
            .fail(Operation::UploadPartCopy, Fault::SlowDown, 0.3)
            .fail(Operation::UploadPartCopy, Fault::DropConnection, 0.1),
    ));
    let done = e.run(&event).await.unwrap();
    assert!(
        e.server.faults().injected_total() > 0,
        "faults were injected"
    );
    assert_eq!(e.bytes(DST, &done.copy.destination_key).await, data);
    assert_eq!(e.open_uploads().await, 0);

    // A fault that outlasts the retries: the step fails and the upload is aborted.
    let event = e.put("AjayMuralidhar/2020-04-06/15/failed.bin", data).await;
    e.server.faults().set_plan(Some(FaultPlan::new(12).fail(
        Operation::CompleteMultipartUpload,
        Fault::InternalError,
        1.0,
    )));
    let err = e.run(&event).await.unwrap_err();
    assert_eq!(err.name(), "S3Transient");
    e.server.faults().set_plan(None);
    assert_eq!(e.open_uploads().await, 0, "no orphaned multipart upload");
}

#[tokio::test]
async fn a_copy_cut_short_by_the_deadline_resumes_without_recopying_parts() {
    let mut e = env(|s| {
        s.copy.multipart_threshold_bytes = 8 * 1024 * 1024;
        s.copy.part_size_bytes = 5 * 1024 * 1024;
        s.copy.max_concurrency = 2;
    })
    .await;
    let data = body(40 * 1024 * 1024, 5); // 8 parts
    let event = e
        .put("AjayMuralidhar/2020-04-06/16/slow.bin", data.clone())
        .await;
    e.server.faults().set_plan(Some(FaultPlan::new(1).fail(
        Operation::UploadPartCopy,
        Fault::Latency(Duration::from_millis(500)),
        1.0,
    )));
    let first = e
        .copy(
            e.job_doc(&event),
            Deadline::at(Instant::now() + Duration::from_millis(1200), Duration::ZERO),
        )
        .await
        .unwrap();
    let outcome = first.copy.clone().unwrap();
    assert_eq!(outcome.status, CopyStatus::InProgress);
    assert!(
        outcome.parts_done > 0 && outcome.parts_done < 8,
        "{} parts done",
        outcome.parts_done
    );
    assert!(outcome.checkpoint.is_some());
    let mut doc = first;
    while doc.copy.as_ref().unwrap().status == CopyStatus::InProgress {
        doc = e.copy(doc, Deadline::none()).await.unwrap();
    }
    assert_eq!(
        e.server.faults().requests_seen(Operation::UploadPartCopy),
        8,
        "each part copied exactly once"
    );
    let verified = e.verify(doc).await.unwrap();
    assert_eq!(
        verified.verify.unwrap().method,
        VerifyMethod::StoredChecksum
    );
    assert_eq!(
        e.bytes(DST, "AjayMuralidhar/2020-04-06/16/slow.bin").await,
        data
    );
}

#[tokio::test]
async fn a_transient_failure_in_a_resumed_copy_aborts_and_the_retry_starts_over_and_completes() {
    let mut e = env(|s| {
        s.copy.multipart_threshold_bytes = 8 * 1024 * 1024;
        s.copy.part_size_bytes = 5 * 1024 * 1024;
        s.copy.max_concurrency = 2;
    })
    .await;
    let data = body(30 * 1024 * 1024, 6); // 6 parts
    let key = "AjayMuralidhar/2020-04-06/17/resumed.bin";
    let event = e.put(key, data.clone()).await;
    e.server.faults().set_plan(Some(FaultPlan::new(2).fail(
        Operation::UploadPartCopy,
        Fault::Latency(Duration::from_millis(500)),
        1.0,
    )));
    let checkpointed = e
        .copy(
            e.job_doc(&event),
            Deadline::at(Instant::now() + Duration::from_millis(1200), Duration::ZERO),
        )
        .await
        .unwrap();
    assert_eq!(
        checkpointed.copy.as_ref().unwrap().status,
        CopyStatus::InProgress
    );
    // The next invocation meets a failure the SDK cannot absorb: it aborts the upload.
    e.server.faults().set_plan(Some(
        FaultPlan::new(3)
            .fail(Operation::UploadPartCopy, Fault::InternalError, 1.0)
            .fail(
                Operation::CompleteMultipartUpload,
                Fault::InternalError,
                1.0,
            ),
    ));
    let err = e
        .copy(checkpointed.clone(), Deadline::none())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "S3Transient");
    assert_eq!(e.open_uploads().await, 0, "aborted, not orphaned");
    // The state machine retries with the same input: the upload is gone, so it starts over.
    e.server.faults().set_plan(None);
    let mut doc = e.copy(checkpointed, Deadline::none()).await.unwrap();
    while doc.copy.as_ref().unwrap().status == CopyStatus::InProgress {
        doc = e.copy(doc, Deadline::none()).await.unwrap();
    }
    assert_eq!(doc.copy.as_ref().unwrap().status, CopyStatus::Copied);
    e.verify(doc).await.unwrap();
    assert_eq!(e.bytes(DST, key).await, data);
}

#[tokio::test]
async fn a_versioned_source_overwritten_during_a_long_copy_is_superseded_before_completion() {
    let mut e = env(|s| {
        s.copy.multipart_threshold_bytes = 8 * 1024 * 1024;
        s.copy.part_size_bytes = 5 * 1024 * 1024;
        s.copy.max_concurrency = 2;
    })
    .await;
    let enabled = aws_sdk_s3::types::VersioningConfiguration::builder()
        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
        .build();
    e.client
        .put_bucket_versioning()
        .bucket(SRC)
        .versioning_configuration(enabled)
        .send()
        .await
        .unwrap();
    let key = "ChenWei/2020-04-07/11/long.bin";
    let event = e.put(key, body(20 * 1024 * 1024, 7)).await;
    e.server.faults().set_plan(Some(FaultPlan::new(4).fail(
        Operation::UploadPartCopy,
        Fault::Latency(Duration::from_millis(500)),
        1.0,
    )));
    let checkpointed = e
        .copy(
            e.job_doc(&event),
            Deadline::at(Instant::now() + Duration::from_millis(700), Duration::ZERO),
        )
        .await
        .unwrap();
    assert_eq!(
        checkpointed.copy.as_ref().unwrap().status,
        CopyStatus::InProgress
    );
    e.server.faults().set_plan(None);
    // A newer version arrives; the old version's parts still copy (pinned by versionId)...
    e.put(key, b"version two".to_vec()).await;
    let err = e.copy(checkpointed, Deadline::none()).await.unwrap_err();
    // ...but the copy is refused before it could land over the newer object.
    assert_eq!(err.name(), "SourceChanged");
    assert_eq!(e.open_uploads().await, 0);
    assert!(
        e.client
            .head_object()
            .bucket(DST)
            .key(key)
            .send()
            .await
            .is_err(),
        "destination untouched"
    );
}

#[tokio::test]
async fn an_unencoded_event_key_is_copied_from_the_raw_key_when_the_decoded_one_is_another_object()
{
    let mut e = env(|_| {}).await;
    let raw_key = "AjayMuralidhar/2020-04-06/12/a+b.txt";
    let event = e.put(raw_key, b"the plus object".to_vec()).await;
    e.put(
        "AjayMuralidhar/2020-04-06/12/a b.txt",
        b"the space object".to_vec(),
    )
    .await;
    // As if EventBridge had sent the key without encoding it.
    let mut unencoded = event.clone();
    unencoded["detail"]["object"]["key"] = Value::String(raw_key.to_owned());
    let done = e.run(&unencoded).await.unwrap();
    assert_eq!(done.copy.destination_key, raw_key);
    assert_eq!(e.bytes(DST, raw_key).await, b"the plus object");
}

/// Keys that read differently under form-, percent- and no encoding: `+`, `%` (a valid
/// escape, an invalid one, one at the end), spaces and unicode.
const AWKWARD_KEYS: [&str; 6] = [
    "in/plus+and space.txt",
    "in/100% done/50%zz.txt",
    "in/literal%2Bescape%41.txt",
    "in/ünï/cødé/日本語 + mehr.txt",
    "in/trailing%",
    "in/a+b.txt",
];

#[tokio::test]
async fn every_event_key_encoding_copies_the_right_objects_with_an_extra_head_only_when_ambiguous()
{
    for encoding in [KeyEncoding::Form, KeyEncoding::Percent, KeyEncoding::Raw] {
        let mut e = env_encoding(encoding, |s| s.keys.pattern = None).await;
        // "in/a b.txt" also exists, with other bytes: the raw reading of "in/a+b.txt" when
        // the server sends it unencoded, decoded to the space key, finds another object.
        e.put("in/a b.txt", b"the space object".to_vec()).await;
        let plain = e.put("in/plain.txt", b"plain".to_vec()).await;
        let baseline = e.run(&plain).await.unwrap().copy.requests;
        for key in AWKWARD_KEYS {
            let body = format!("{encoding}: {key}").into_bytes();
            let event = e.put(key, body.clone()).await;
            let raw = event["detail"]["object"]["key"]
                .as_str()
                .unwrap()
                .to_owned();
            assert_eq!(raw, encoding.encode(key), "{encoding}");
            let done = e
                .run(&event)
                .await
                .unwrap_or_else(|err| panic!("{encoding} {key:?} (event key {raw:?}): {err}"));
            assert_eq!(done.copy.destination_key, key, "{encoding}");
            assert_eq!(e.bytes(DST, key).await, body, "{encoding} {key:?}");
            // A second HEAD only when the two readings differ and the decoded one is not
            // the event's object: that happens only for unencoded keys with `+` or `%XX`.
            let ambiguous = copyflow_core::keys::KeyEncoding::Form
                .decode(&raw)
                .is_ok_and(|d| d != raw);
            let extra = u32::from(encoding == KeyEncoding::Raw && ambiguous);
            assert_eq!(
                done.copy.requests,
                baseline + extra,
                "{encoding} {key:?} (event key {raw:?})"
            );
        }
        let space = e
            .client
            .head_object()
            .bucket(DST)
            .key("in/a b.txt")
            .send()
            .await;
        assert!(
            space.is_err(),
            "{encoding}: the plus key's copy went to its own key"
        );
    }
}

#[tokio::test]
async fn an_event_key_that_is_not_url_encoding_and_names_no_object_is_an_invalid_event() {
    let mut e = env_encoding(KeyEncoding::Form, |s| s.keys.pattern = None).await;
    let event = e.put("in/real.txt", b"x".to_vec()).await;
    let mut broken = event.clone();
    broken["detail"]["object"]["key"] = Value::String("in/real%zz.txt".to_owned());
    let err = e
        .copy(e.job_doc(&broken), Deadline::none())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidEvent", "{err}");
    let message = err.to_string();
    assert!(
        message.contains(
            r#"detail.object.key "in/real%zz.txt" is not URL-encoding (the `%` at byte 7 is not followed by two hex digits)"#
        ),
        "{message}"
    );
    // A control character never gets this far: validate rejects the key (KeyRejected).
    let mut control = event.clone();
    control["detail"]["object"]["key"] = Value::String("in/real%zz\u{7}.txt".to_owned());
    let rejected = validate(&control, e.settings.key_rules()).unwrap_err();
    assert_eq!(rejected.name(), "KeyRejected");
    assert!(!rejected.to_string().contains('\u{7}'), "{rejected}");
}

#[tokio::test]
async fn a_destination_overwritten_after_the_copy_fails_verification_as_destination_changed() {
    let mut e = env(|_| {}).await;
    let key = "AjayMuralidhar/2020-04-06/12/raced.txt";
    let event = e.put(key, b"the source bytes".to_vec()).await;
    let doc = e.copy(e.job_doc(&event), Deadline::none()).await.unwrap();
    e.client
        .put_object()
        .bucket(DST)
        .key(key)
        .body(ByteStream::from_static(b"another writer"))
        .send()
        .await
        .unwrap();
    let err = e.verify(doc).await.unwrap_err();
    assert_eq!(err.name(), "DestinationChanged", "{err}");
    assert!(!err.retryable());
    assert_eq!(
        e.bytes(DST, key).await,
        b"another writer",
        "the other writer's object is left alone"
    );
}

#[tokio::test]
async fn a_missing_destination_bucket_is_a_configuration_error() {
    let mut e = env(|s| s.destination.bucket = "no-such-bucket".to_owned()).await;
    let event = e
        .put("AjayMuralidhar/2020-04-06/12/x.txt", b"x".to_vec())
        .await;
    let err = e
        .copy(e.job_doc(&event), Deadline::none())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "ConfigurationError", "{err}");
}

#[tokio::test]
async fn an_https_client_sets_up_tls_on_its_first_request() {
    // The native roots load on the first request, not when the client is built: that request
    // must still open a TLS connection (a ClientHello: record type 0x16, version 3.x).
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("https://{}", listener.local_addr().unwrap());
    let client = copyflow_core::s3::client_for_endpoint(&endpoint, "k", "s", "us-east-1");
    let request = tokio::spawn(async move { client.head_bucket().bucket(SRC).send().await });
    let (mut conn, _) = listener.accept().await.unwrap();
    let mut hello = [0u8; 2];
    conn.read_exact(&mut hello).await.unwrap();
    assert_eq!(hello, [0x16, 0x03], "a TLS ClientHello");
    drop(conn);
    drop(listener);
    let err = request.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            aws_sdk_s3::error::SdkError::DispatchFailure(_)
                | aws_sdk_s3::error::SdkError::ResponseError(_)
        ),
        "{err:?}"
    );
}

/// A multipart source uploaded with a COMPOSITE CRC (the aws cli's and boto3's default) is
/// copied with a full-object checksum in the same algorithm and verified from its part CRCs
/// with no byte read; a copy differing in one byte is caught and deleted.
async fn composite_crc_source_is_verified_from_its_part_crcs(
    algorithm: ChecksumAlgorithm,
    multipart_copy: bool,
) {
    let mut e = env(|s| {
        if multipart_copy {
            s.copy.multipart_threshold_bytes = 8 * 1024 * 1024;
            s.copy.part_size_bytes = 5 * 1024 * 1024;
        }
    })
    .await;
    let alg = copyflow_checksum::Algorithm::from_s3_name(algorithm.as_str()).unwrap();
    let key = format!(
        "AjayMuralidhar/2020-04-06/15/parts-{}-{multipart_copy}.bin",
        alg.as_s3_name()
    );
    // Three parts of unequal size (5 + 5 + 2 MiB), so the part sizes matter.
    let data = body(12 * 1024 * 1024, 21);
    e.put_composite(&key, &data, 5 * 1024 * 1024, algorithm.clone())
        .await;
    let event = e.next_event().await;
    e.server.faults().set_plan(Some(FaultPlan::new(0)));
    let done = e.run(&event).await.unwrap();
    let faults = e.server.faults();
    assert_eq!(
        done.copy.method,
        if multipart_copy {
            CopyMethod::Multipart
        } else {
            CopyMethod::CopyObject
        }
    );
    let v = done.verify.clone().unwrap();
    assert_eq!(v.method, VerifyMethod::CombinedPartCrcs);
    assert_eq!(v.bytes_read, 0);
    assert_eq!(
        faults.requests_seen(Operation::GetObject),
        0,
        "no byte read"
    );
    assert_eq!(faults.requests_seen(Operation::GetObjectAttributes), 1);
    assert_eq!(v.algorithm, alg.as_s3_name());
    let full = copyflow_checksum::Digest::compute(alg, &data).to_base64();
    assert_eq!(v.source_checksum, full);
    assert_eq!(v.destination_checksum, full);
    // The copy carries a FULL_OBJECT checksum in the source's algorithm.
    let head = e
        .client
        .head_object()
        .bucket(DST)
        .key(&key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.checksum_type().map(|t| t.as_str()),
        Some("FULL_OBJECT")
    );
    let stored = match alg {
        copyflow_checksum::Algorithm::Crc32 => head.checksum_crc32(),
        _ => head.checksum_crc32_c(),
    };
    assert_eq!(stored, Some(full.as_str()));
    assert_eq!(e.bytes(DST, &key).await, data);

    // A copy differing in one byte (same size and headers), with a full-object checksum of
    // its own bytes, is caught without reading either object, and deleted.
    let mut doc = e.copy(e.job_doc(&event), Deadline::none()).await.unwrap();
    while doc.copy.as_ref().unwrap().status == CopyStatus::InProgress {
        doc = e.copy(doc, Deadline::none()).await.unwrap();
    }
    let mut corrupt = data.clone();
    corrupt[7 * 1024 * 1024] ^= 0x01;
    let bad = e
        .client
        .put_object()
        .bucket(DST)
        .key(&key)
        .checksum_algorithm(algorithm)
        .set_content_type(
            doc.copy
                .as_ref()
                .unwrap()
                .source
                .headers
                .content_type
                .clone(),
        )
        .body(ByteStream::from(corrupt))
        .send()
        .await
        .unwrap();
    doc.copy
        .as_mut()
        .unwrap()
        .destination
        .as_mut()
        .unwrap()
        .etag = bad.e_tag().unwrap().trim_matches('"').to_owned();
    let reads = faults.requests_seen(Operation::GetObject);
    let err = e.verify(doc).await.unwrap_err();
    assert_eq!(err.name(), "ChecksumMismatch", "{err}");
    assert!(err.to_string().contains("part checksums"), "{err}");
    assert_eq!(faults.requests_seen(Operation::GetObject), reads);
    assert!(
        e.client
            .head_object()
            .bucket(DST)
            .key(&key)
            .send()
            .await
            .is_err(),
        "the bad copy was deleted"
    );
}

#[tokio::test]
async fn a_composite_crc32_source_is_verified_from_its_part_crcs_with_zero_bytes_read() {
    composite_crc_source_is_verified_from_its_part_crcs(ChecksumAlgorithm::Crc32, false).await;
}

#[tokio::test]
async fn a_composite_crc32c_source_is_verified_from_its_part_crcs_with_zero_bytes_read() {
    composite_crc_source_is_verified_from_its_part_crcs(ChecksumAlgorithm::Crc32C, false).await;
}

#[tokio::test]
async fn a_composite_crc32c_source_copied_multipart_is_verified_from_its_part_crcs() {
    composite_crc_source_is_verified_from_its_part_crcs(ChecksumAlgorithm::Crc32C, true).await;
}

/// A multipart source in equal parts is copied in the same parts (not the configured part
/// size), so the copy has the source's ETag and each UploadPartCopy is exactly one source
/// part; a single-part source above the threshold takes the configured part size.
#[tokio::test]
async fn a_multipart_source_is_copied_in_its_own_parts_and_keeps_its_etag() {
    const MIB: u64 = 1024 * 1024;
    let mut e = env(|s| {
        s.copy.multipart_threshold_bytes = 8 * MIB;
        s.copy.part_size_bytes = 6 * MIB;
    })
    .await;
    let key = "AjayMuralidhar/2020-04-06/15/mirrored.bin";
    let data = body(12 * 1024 * 1024, 23);
    e.put_composite(key, &data, 5 * 1024 * 1024, ChecksumAlgorithm::Crc32)
        .await;
    let event = e.next_event().await;
    let done = e.run(&event).await.unwrap();
    assert_eq!(done.copy.method, CopyMethod::Multipart);
    assert_eq!(
        (done.copy.parts_total, done.copy.part_size_bytes),
        (3, Some(5 * MIB)),
        "the source's 5 + 5 + 2 MiB, not 6 + 6"
    );
    let etag = |bucket: &'static str| {
        let c = e.client.clone();
        async move {
            let h = c
                .head_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap();
            h.e_tag().unwrap().to_owned()
        }
    };
    assert_eq!(etag(DST).await, etag(SRC).await, "the source's ETag");
    assert!(etag(DST).await.ends_with("-3\""));
    let v = done.verify.unwrap();
    assert_eq!(
        (v.method, v.bytes_read),
        (VerifyMethod::CombinedPartCrcs, 0)
    );
    assert_eq!(e.bytes(DST, key).await, data);

    let single = "AjayMuralidhar/2020-04-06/15/single-put.bin";
    let event = e.put(single, data.clone()).await;
    let done = e.run(&event).await.unwrap();
    assert_eq!(
        (done.copy.parts_total, done.copy.part_size_bytes),
        (2, Some(6 * MIB)),
        "a single-part source: the configured part size"
    );
    assert_eq!(e.bytes(DST, single).await, data);
    assert_eq!(e.open_uploads().await, 0);
}

#[tokio::test]
async fn a_sha256_composite_source_still_reads_the_bytes() {
    let mut e = env(|_| {}).await;
    let key = "AjayMuralidhar/2020-04-06/16/sha-parts.bin";
    let data = body(11 * 1024 * 1024, 22);
    e.put_composite(key, &data, 5 * 1024 * 1024, ChecksumAlgorithm::Sha256)
        .await;
    let event = e.next_event().await;
    e.server.faults().set_plan(Some(FaultPlan::new(0)));
    let v = e.run(&event).await.unwrap().verify.unwrap();
    assert_eq!(v.method, VerifyMethod::ComputedChecksum);
    assert_eq!(v.bytes_read, data.len() as u64);
    assert!(e.server.faults().requests_seen(Operation::GetObject) > 0);
    assert_eq!(
        e.server
            .faults()
            .requests_seen(Operation::GetObjectAttributes),
        0
    );
}

#[tokio::test]
async fn a_computed_verification_cut_short_by_the_deadline_resumes_from_its_checkpoint() {
    let mut e = env(|s| {
        s.verify.range_size_bytes = 5 * 1024 * 1024;
        s.verify.max_concurrency = 1;
    })
    .await;
    let key = "AjayMuralidhar/2020-04-06/18/no-checksum-to-compare.bin";
    // A SHA256-composite source: verification must read it.
    let data = body(20 * 1024 * 1024, 8);
    e.put_composite(key, &data, 10 * 1024 * 1024, ChecksumAlgorithm::Sha256)
        .await;
    let event = e.next_event().await;
    let copied = e.copy(e.job_doc(&event), Deadline::none()).await.unwrap();
    let mut doc: VerifyDocument =
        serde_json::from_value(serde_json::to_value(copied).unwrap()).unwrap();
    // Each ranged GET takes 400 ms; the first invocation has 600 ms.
    e.server.faults().set_plan(Some(FaultPlan::new(6).fail(
        Operation::GetObject,
        Fault::Latency(Duration::from_millis(400)),
        1.0,
    )));
    let cx = |deadline| VerifyContext {
        client: &e.client,
        settings: &e.settings,
        deadline,
    };
    doc = verify(
        &cx(Deadline::at(
            Instant::now() + Duration::from_millis(600),
            Duration::ZERO,
        )),
        doc,
    )
    .await
    .unwrap();
    let first = doc.verify.clone().unwrap();
    assert_eq!(
        first.status,
        copyflow_core::verify::VerifyStatus::InProgress
    );
    let progress = first.checkpoint.unwrap().source.next_start;
    assert!(
        progress > 0 && progress < data.len() as u64,
        "{progress} bytes done"
    );
    e.server.faults().set_plan(None);
    doc = verify(&cx(Deadline::none()), doc).await.unwrap();
    let done = doc.verify.unwrap();
    assert_eq!(done.status, copyflow_core::verify::VerifyStatus::Verified);
    assert_eq!(done.method, VerifyMethod::ComputedChecksum);
    assert_eq!(
        done.bytes_read,
        data.len() as u64 - progress,
        "the second invocation read only the rest"
    );
    assert_eq!(
        done.source_checksum,
        copyflow_checksum::Digest::compute(copyflow_checksum::Algorithm::Crc64Nvme, &data)
            .to_base64()
    );
}

#[tokio::test]
async fn a_fresh_multipart_copy_first_aborts_the_upload_a_killed_invocation_left_on_its_key() {
    let mut e = env(|s| {
        s.copy.multipart_threshold_bytes = 8 * 1024 * 1024;
        s.copy.part_size_bytes = 5 * 1024 * 1024;
    })
    .await;
    let key = "AjayMuralidhar/2020-04-06/19/killed.bin";
    // Another key that merely starts with this one: its upload is not this copy's.
    let other = "AjayMuralidhar/2020-04-06/19/killed.bin.other";
    let data = body(12 * 1024 * 1024, 9);
    let event = e.put(key, data.clone()).await;
    e.leave_upload(key).await;
    e.leave_upload(other).await;
    let done = e.run(&event).await.unwrap();
    assert_eq!(done.copy.status, CopyStatus::Copied);
    assert_eq!(done.copy.method, CopyMethod::Multipart);
    assert_eq!(done.copy.aborted_stale_uploads, Some(1));
    assert_eq!(
        serde_json::to_value(&done.copy).unwrap()["abortedStaleUploads"],
        1,
        "reported in the step output"
    );
    assert_eq!(
        done.verify.as_ref().unwrap().method,
        VerifyMethod::StoredChecksum
    );
    assert_eq!(e.bytes(DST, key).await, data);
    assert_eq!(
        e.open_upload_keys().await,
        [other],
        "only the other key's upload is left"
    );

    // Nothing left over: nothing aborted, and the output does not mention it.
    let event = e.put("AjayMuralidhar/2020-04-06/19/clean.bin", data).await;
    let done = e.run(&event).await.unwrap();
    assert_eq!(done.copy.aborted_stale_uploads, None);
    let output = serde_json::to_value(&done.copy).unwrap();
    assert!(output.get("abortedStaleUploads").is_none(), "{output}");
}

#[tokio::test]
async fn a_failing_listing_of_leftover_uploads_fails_the_step_before_it_opens_an_upload() {
    let mut e = env(|s| {
        s.copy.multipart_threshold_bytes = 8 * 1024 * 1024;
        s.copy.part_size_bytes = 5 * 1024 * 1024;
    })
    .await;
    let event = e
        .put(
            "AjayMuralidhar/2020-04-06/19/unlisted.bin",
            body(12 * 1024 * 1024, 10),
        )
        .await;
    e.server.faults().set_plan(Some(FaultPlan::new(8).fail(
        Operation::ListMultipartUploads,
        Fault::InternalError,
        1.0,
    )));
    let err = e
        .copy(e.job_doc(&event), Deadline::none())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "S3Transient", "{err}");
    assert!(err.to_string().contains("ListMultipartUploads"), "{err}");
    assert_eq!(
        e.server
            .faults()
            .requests_seen(Operation::CreateMultipartUpload),
        0
    );
}

#[tokio::test]
async fn dropping_a_multipart_copy_mid_copy_aborts_its_upload() {
    let mut e = env(|s| {
        s.copy.multipart_threshold_bytes = 8 * 1024 * 1024;
        s.copy.part_size_bytes = 5 * 1024 * 1024;
        s.copy.max_concurrency = 2;
    })
    .await;
    let event = e
        .put(
            "AjayMuralidhar/2020-04-06/20/stopped.bin",
            body(20 * 1024 * 1024, 11),
        )
        .await;
    e.server.faults().set_plan(Some(FaultPlan::new(9).fail(
        Operation::UploadPartCopy,
        Fault::Latency(Duration::from_secs(2)),
        1.0,
    )));
    // As StopExecution or a timeout does in the local engine: the step's future is dropped.
    let steps = Steps::new(e.client.clone(), e.settings.clone());
    let payload = serde_json::to_value(e.job_doc(&event)).unwrap();
    let cut = tokio::time::timeout(
        Duration::from_millis(500),
        steps.copy_object(payload, Deadline::none()),
    )
    .await;
    assert!(cut.is_err(), "the copy was still running: {cut:?}");
    let faults = e.server.faults();
    assert_eq!(faults.requests_seen(Operation::CreateMultipartUpload), 1);
    assert!(
        faults.requests_seen(Operation::UploadPartCopy) > 0,
        "dropped while parts were being copied"
    );
    assert_eq!(
        e.until_no_open_uploads().await,
        Vec::<String>::new(),
        "the dropped copy's upload was aborted"
    );
    assert!(faults.requests_seen(Operation::AbortMultipartUpload) > 0);
}

#[tokio::test]
async fn dropping_a_resumed_copy_aborts_its_upload_and_the_next_invocation_starts_over() {
    let mut e = env(|s| {
        s.copy.multipart_threshold_bytes = 8 * 1024 * 1024;
        s.copy.part_size_bytes = 5 * 1024 * 1024;
        s.copy.max_concurrency = 2;
    })
    .await;
    let key = "AjayMuralidhar/2020-04-06/20/resumed-then-stopped.bin";
    let data = body(30 * 1024 * 1024, 12); // 6 parts
    let event = e.put(key, data.clone()).await;
    e.server.faults().set_plan(Some(FaultPlan::new(10).fail(
        Operation::UploadPartCopy,
        Fault::Latency(Duration::from_millis(500)),
        1.0,
    )));
    let checkpointed = e
        .copy(
            e.job_doc(&event),
            Deadline::at(Instant::now() + Duration::from_millis(700), Duration::ZERO),
        )
        .await
        .unwrap();
    assert_eq!(
        checkpointed.copy.as_ref().unwrap().status,
        CopyStatus::InProgress
    );
    let cut = tokio::time::timeout(
        Duration::from_millis(300),
        e.copy(checkpointed.clone(), Deadline::none()),
    )
    .await;
    assert!(cut.is_err(), "the resumed copy was still running");
    assert_eq!(e.until_no_open_uploads().await, Vec::<String>::new());
    // Invoked again with the same input (a retry): its upload is gone, so it starts over.
    e.server.faults().set_plan(None);
    let mut doc = e.copy(checkpointed, Deadline::none()).await.unwrap();
    while doc.copy.as_ref().unwrap().status == CopyStatus::InProgress {
        doc = e.copy(doc, Deadline::none()).await.unwrap();
    }
    assert_eq!(doc.copy.as_ref().unwrap().status, CopyStatus::Copied);
    e.verify(doc).await.unwrap();
    assert_eq!(e.bytes(DST, key).await, data);
    assert_eq!(e.open_uploads().await, 0);
}
