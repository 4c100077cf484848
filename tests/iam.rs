//! Each step held to the IAM policy the CDK app deploys for its role, by the embedded S3
//! server: every outcome path passes with exactly those permissions, and every S3 action in
//! them is needed by some path (the minimality table below says which, and what breaks
//! without it).
//!
//! The steps run as the Lambda functions run them (`Steps`, JSON in and out, the copy looping
//! on its checkpoint as the state machine does), each signing with its own key; the server
//! is configured as `copyflow up` configures it (`copyflow::step_keys`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart,
    VersioningConfiguration,
};
use copyflow::pipeline::{Pipeline, PipelineOptions, S3Target};
use copyflow::step_keys;
use copyflow_core::deadline::Deadline;
use copyflow_core::{Settings, SettingsDocument, SettingsOrigin, Steps};
use copyflow_s3::faults::{Fault, FaultPlan, Operation};
use copyflow_s3::{S3Server, ServerConfig};
use serde_json::Value;

const SRC: &str = "copyflow-source";
const DST: &str = "copyflow-destination";

fn settings() -> Settings {
    let mut document = SettingsDocument::new(SRC, DST);
    document.copy.multipart_threshold_bytes = 8 << 20;
    document.copy.part_size_bytes = 5 << 20;
    document.copy.max_concurrency = 1;
    document.check(SettingsOrigin::Built).unwrap()
}

/// A server enforcing `policies` for the step keys, buckets made by its full-access key.
struct Harness {
    server: S3Server,
    admin: Client,
    steps: Steps,
    events: tokio::sync::mpsc::UnboundedReceiver<std::sync::Arc<copyflow_s3::ObjectCreatedEvent>>,
    _dir: tempfile::TempDir,
}

async fn harness(policies: &[(String, Value)], versioned: bool) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let server = S3Server::start(ServerConfig {
        identities: step_keys::identities_from(policies).unwrap(),
        durable_events: false,
        ..ServerConfig::new(dir.path())
    })
    .await
    .unwrap();
    let c = server.config();
    let admin = copyflow_core::s3::client_for_endpoint(
        &server.endpoint(),
        &c.access_key,
        &c.secret_key,
        &c.region,
    );
    for bucket in [SRC, DST] {
        admin.create_bucket().bucket(bucket).send().await.unwrap();
        if versioned {
            admin
                .put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
    }
    let steps = step_keys::steps_with_own_keys(&server.endpoint(), "us-east-1", settings());
    let events = server.subscribe();
    Harness {
        server,
        admin,
        steps,
        events,
        _dir: dir,
    }
}

/// What happens to the destination between copy and verify.
#[derive(Clone, Copy)]
enum Tamper<'a> {
    Overwrite(&'a str),
    Delete(&'a str),
}

/// What a scenario ended in: an outcome of the state machine, or the step error that ended
/// it (`AccessDenied(s3:Action)` naming the refused action when S3's message does).
type Ending = String;

fn ending_of(e: &copyflow_core::StepError) -> Ending {
    let text = e.to_string();
    if e.name() != "AccessDenied" {
        return e.name().to_owned();
    }
    if let Some((_, rest)) = text.split_once("perform: ") {
        return format!("AccessDenied({})", rest.split(' ').next().unwrap_or(""));
    }
    // A HEAD answer has no body, so no message: name the request instead.
    let request = text
        .split_once(" s3://")
        .map(|(before, after)| {
            let operation = before.rsplit(' ').next().unwrap_or("");
            let bucket = after.split('/').next().unwrap_or("");
            format!("{operation} {bucket}")
        })
        .unwrap_or_default();
    format!("AccessDenied({request})")
}

impl Harness {
    async fn put(&mut self, key: &str, body: Vec<u8>, tags: Option<&str>) -> Value {
        self.admin
            .put_object()
            .bucket(SRC)
            .key(key)
            .set_tagging(tags.map(str::to_owned))
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
        self.next_event().await
    }

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

    /// validate -> copy (again while in progress) -> verify, with `first_deadline` for the
    /// first copy invocation; `tamper` runs between copy and verify.
    async fn run(
        &self,
        event: &Value,
        first_deadline: Option<Deadline>,
        tamper: Option<Tamper<'_>>,
    ) -> Result<Value, copyflow_core::StepError> {
        let job = self.steps.validate_key(event)?;
        assert_eq!(job["action"], "copy", "{job}");
        let checkpointed = first_deadline.is_some();
        let first_deadline = first_deadline.unwrap_or_else(Deadline::none);
        let mut doc = self.steps.copy_object(job, first_deadline).await?;
        let mut invocations = 1;
        while doc["copy"]["status"] == "in-progress" {
            doc = self.steps.copy_object(doc, Deadline::none()).await?;
            invocations += 1;
        }
        if checkpointed {
            assert!(invocations > 1, "the copy was not checkpointed: {doc}");
        }
        match tamper {
            Some(Tamper::Overwrite(key)) => {
                // A copy gone wrong: other bytes in the destination, reported as the copy's own.
                let bad = self
                    .admin
                    .put_object()
                    .bucket(DST)
                    .key(key)
                    .body(ByteStream::from_static(b"corrupted bytes"))
                    .send()
                    .await
                    .unwrap();
                let destination = &mut doc["copy"]["destination"];
                destination["etag"] = Value::from(bad.e_tag().unwrap().trim_matches('"'));
                destination["versionId"] = bad.version_id().map_or(Value::Null, Value::from);
            }
            Some(Tamper::Delete(key)) => {
                // The copy removed before verify ran (its version, when versioned).
                let version = doc["copy"]["destination"]["versionId"].as_str();
                self.admin
                    .delete_object()
                    .bucket(DST)
                    .key(key)
                    .set_version_id(version.map(str::to_owned))
                    .send()
                    .await
                    .unwrap();
            }
            None => {}
        }
        self.steps.verify_copy(doc, Deadline::none()).await
    }

    /// A source uploaded in 5 MiB parts with a COMPOSITE checksum, as the aws cli does.
    async fn put_composite(
        &mut self,
        key: &str,
        data: &[u8],
        algorithm: ChecksumAlgorithm,
    ) -> Value {
        let up = self
            .admin
            .create_multipart_upload()
            .bucket(SRC)
            .key(key)
            .checksum_algorithm(algorithm.clone())
            .send()
            .await
            .unwrap();
        let id = up.upload_id().unwrap();
        let mut parts = Vec::new();
        for (i, chunk) in data.chunks(5 << 20).enumerate() {
            let number = i32::try_from(i + 1).unwrap();
            let p = self
                .admin
                .upload_part()
                .bucket(SRC)
                .key(key)
                .upload_id(id)
                .part_number(number)
                .checksum_algorithm(algorithm.clone())
                .body(ByteStream::from(chunk.to_vec()))
                .send()
                .await
                .unwrap();
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .e_tag(p.e_tag().unwrap())
                    .set_checksum_crc32(p.checksum_crc32().map(str::to_owned))
                    .set_checksum_sha256(p.checksum_sha256().map(str::to_owned))
                    .build(),
            );
        }
        self.admin
            .complete_multipart_upload()
            .bucket(SRC)
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
        self.next_event().await
    }

    /// Every scenario, by name, with how it ended.
    async fn scenarios(&mut self) -> BTreeMap<&'static str, Ending> {
        let mut endings = BTreeMap::new();
        let end = |r: Result<Value, copyflow_core::StepError>| match r {
            Ok(doc) => match doc["verify"]["verdict"].as_str() {
                Some("identical") => format!(
                    "Copied ({})",
                    doc["verify"]["method"].as_str().unwrap_or("")
                ),
                other => format!("verdict {other:?}"),
            },
            Err(e) => ending_of(&e),
        };

        // Copied: a small tagged object (CopyObject, tags copied by S3).
        let event = self
            .put(
                "Ajay/2020-04-06/12/small.txt",
                b"small".to_vec(),
                Some("team=a"),
            )
            .await;
        endings.insert("copied", end(self.run(&event, None, None).await));
        // The same event again: the copy is already there (a HEAD of the destination).
        endings.insert("already-present", end(self.run(&event, None, None).await));

        // Multipart with the checkpoint loop: a tagged 11 MiB object in 3 parts, an upload a
        // killed invocation left on the key first, every part copy slow, a short deadline.
        let key = "Ajay/2020-04-06/13/large.bin";
        self.admin
            .create_multipart_upload()
            .bucket(DST)
            .key(key)
            .send()
            .await
            .unwrap();
        let event = self.put(key, vec![7; 11 << 20], Some("team=b")).await;
        self.server.faults().set_plan(Some(FaultPlan::new(3).fail(
            Operation::UploadPartCopy,
            Fault::Latency(Duration::from_millis(300)),
            1.0,
        )));
        let deadline = Deadline::at(Instant::now() + Duration::from_millis(450), Duration::ZERO);
        endings.insert(
            "multipart-checkpointed",
            end(self.run(&event, Some(deadline), None).await),
        );
        self.server.faults().set_plan(None);

        // A two-part COMPOSITE CRC32 source, copied by CopyObject into a FULL_OBJECT CRC32:
        // verified from its part CRCs (GetObjectAttributes).
        let event = self
            .put_composite(
                "Ajay/2020-04-06/14/composite.bin",
                &vec![3; (5 << 20) + 2048],
                ChecksumAlgorithm::Crc32,
            )
            .await;
        endings.insert("composite-source", end(self.run(&event, None, None).await));
        // A SHA-256 COMPOSITE source: verified by reading both objects' bytes.
        let event = self
            .put_composite(
                "Ajay/2020-04-06/15/sha.bin",
                &[5; 2048],
                ChecksumAlgorithm::Sha256,
            )
            .await;
        endings.insert("computed-verify", end(self.run(&event, None, None).await));

        // Superseded: the event of a version that is no longer current.
        let key = "Ajay/2020-04-06/16/revised.txt";
        let stale = self.put(key, b"first".to_vec(), None).await;
        self.put(key, b"second".to_vec(), None).await;
        endings.insert("superseded", end(self.run(&stale, None, None).await));

        // CopyFailed: the event of an object deleted since.
        let key = "Ajay/2020-04-06/17/gone.txt";
        let gone = self.put(key, b"gone".to_vec(), None).await;
        self.admin
            .delete_object()
            .bucket(SRC)
            .key(key)
            .send()
            .await
            .unwrap();
        endings.insert("source-deleted", end(self.run(&gone, None, None).await));

        // VerificationFailed: the destination holds other bytes; verify deletes the bad copy.
        let key = "Ajay/2020-04-06/18/corrupt.txt";
        let event = self.put(key, b"the real bytes".to_vec(), None).await;
        let ended = end(self.run(&event, None, Some(Tamper::Overwrite(key))).await);
        // Deleted: the key is gone (unversioned) or its good version is current again.
        let current = match self.admin.get_object().bucket(DST).key(key).send().await {
            Ok(out) => out.body.collect().await.unwrap().into_bytes().to_vec(),
            Err(_) => Vec::new(),
        };
        endings.insert(
            "verification-failed",
            match (ended.as_str(), current == b"corrupted bytes") {
                ("ChecksumMismatch", false) => "VerificationFailed".to_owned(),
                ("ChecksumMismatch", true) => "VerificationFailed, bad copy kept".to_owned(),
                _ => ended,
            },
        );

        // CopyFailed: the copy vanished before verify could read it.
        let key = "Ajay/2020-04-06/19/vanished.txt";
        let event = self.put(key, b"vanishing".to_vec(), None).await;
        endings.insert(
            "copy-vanished",
            end(self.run(&event, None, Some(Tamper::Delete(key))).await),
        );
        endings
    }
}

/// How each scenario ends with the deployed policies.
fn baseline() -> BTreeMap<&'static str, Ending> {
    [
        ("copied", "Copied (stored-checksum)"),
        ("already-present", "Copied (stored-checksum)"),
        ("multipart-checkpointed", "Copied (stored-checksum)"),
        ("composite-source", "Copied (combined-part-crcs)"),
        ("computed-verify", "Copied (computed-checksum)"),
        ("superseded", "SourceChanged"),
        ("source-deleted", "SourceNotFound"),
        ("verification-failed", "VerificationFailed"),
        ("copy-vanished", "CopyFailed"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

fn deployed() -> Vec<(String, Value)> {
    step_keys::policy_documents(&settings())
}

/// One permission of a deployed policy: a step's statement (by Sid), an action in it and a
/// resource of it.
type Grant = (String, String, String, String);

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
        _ => unreachable!("{value}"),
    }
}

/// Every grant of the deployed policies.
fn grants(policies: &[(String, Value)]) -> Vec<Grant> {
    let mut all = Vec::new();
    for (state, document) in policies {
        for statement in document["Statement"].as_array().unwrap() {
            let sid = statement["Sid"].as_str().unwrap().to_owned();
            for action in strings(&statement["Action"]) {
                for resource in strings(&statement["Resource"]) {
                    all.push((state.clone(), sid.clone(), action.clone(), resource));
                }
            }
        }
    }
    all
}

/// `policies` without one grant: its statement keeps its other actions, and the action keeps
/// the statement's other resources.
fn without(policies: &[(String, Value)], grant: &Grant) -> Vec<(String, Value)> {
    let (state, sid, action, resource) = grant;
    let mut out = policies.to_vec();
    let (_, document) = out.iter_mut().find(|(s, _)| s == state).unwrap();
    let statements = document["Statement"].as_array_mut().unwrap();
    let at = statements
        .iter()
        .position(|s| s["Sid"] == sid.as_str())
        .unwrap();
    let statement = statements.remove(at);
    let actions: Vec<String> = strings(&statement["Action"])
        .into_iter()
        .filter(|a| a != action)
        .collect();
    let resources: Vec<String> = strings(&statement["Resource"])
        .into_iter()
        .filter(|r| r != resource)
        .collect();
    if !actions.is_empty() {
        let mut rest = statement.clone();
        rest["Action"] = Value::from(actions);
        statements.push(rest);
    }
    if !resources.is_empty() {
        let mut rest = statement;
        rest["Sid"] = Value::from(format!("{sid}Rest"));
        rest["Action"] = Value::from(action.as_str());
        rest["Resource"] = Value::from(resources);
        statements.push(rest);
    }
    out
}

/// Scenario endings that differ from the baseline, as `variant/scenario: ending`.
async fn broken(policies: &[(String, Value)]) -> Vec<String> {
    let mut broken = Vec::new();
    for versioned in [true, false] {
        let mut h = harness(policies, versioned).await;
        let endings = h.scenarios().await;
        let variant = if versioned {
            "versioned"
        } else {
            "unversioned"
        };
        for (scenario, expected) in baseline() {
            let got = &endings[scenario];
            if *got != expected {
                broken.push(format!("{variant}/{scenario}: {got}"));
            }
        }
    }
    broken
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_outcome_path_passes_with_exactly_the_deployed_policies() {
    assert_eq!(broken(&deployed()).await, Vec::<String>::new());
}

/// What breaks without each grant of the deployed policies: (step, statement Sid, action,
/// resource, the paths that end otherwise as `ending [bucket versioning]: scenarios`).
/// A grant no path needs would show an empty list, and the test refuses it: remove it from
/// `cdk/lib/policies.ts`, or keep it here with the reason.
///
/// Two kinds of entry end in no failure, and are kept for that reason: without
/// `s3:GetObject(Version)Attributes` a COMPOSITE source is still verified, but by reading every
/// byte of both objects (`computed-checksum`) instead of from its part CRCs with none; without
/// `s3:DeleteObject(Version)` a copy proved bad is reported but left in place, where it passes
/// for a good one.
const MINIMALITY: &[(&str, &str, &str, &str, &[&str])] = &[
    (
        "CopyObject",
        "ReadSourceObjects",
        "s3:GetObject",
        "arn:aws:s3:::copyflow-source/*",
        &[
            "AccessDenied(HeadObject copyflow-source) [unversioned]: already-present composite-source computed-verify copied copy-vanished multipart-checkpointed source-deleted superseded verification-failed",
            "AccessDenied(HeadObject copyflow-source) [versioned]: already-present composite-source computed-verify copied copy-vanished multipart-checkpointed source-deleted superseded verification-failed",
        ],
    ),
    (
        "CopyObject",
        "ReadSourceObjects",
        "s3:GetObjectTagging",
        "arn:aws:s3:::copyflow-source/*",
        &[
            "AccessDenied(s3:GetObjectTagging) [unversioned]: already-present composite-source computed-verify copied copy-vanished multipart-checkpointed verification-failed",
        ],
    ),
    (
        "CopyObject",
        "ReadSourceObjects",
        "s3:GetObjectVersion",
        "arn:aws:s3:::copyflow-source/*",
        &[
            "AccessDenied(s3:GetObjectVersion) [versioned]: already-present composite-source computed-verify copied copy-vanished multipart-checkpointed verification-failed",
        ],
    ),
    (
        "CopyObject",
        "ReadSourceObjects",
        "s3:GetObjectVersionTagging",
        "arn:aws:s3:::copyflow-source/*",
        &[
            "AccessDenied(s3:GetObjectVersionTagging) [versioned]: already-present composite-source computed-verify copied copy-vanished multipart-checkpointed verification-failed",
        ],
    ),
    (
        "CopyObject",
        "WriteDestinationObjects",
        "s3:AbortMultipartUpload",
        "arn:aws:s3:::copyflow-destination/*",
        &[
            "AccessDenied(s3:AbortMultipartUpload) [unversioned]: multipart-checkpointed",
            "AccessDenied(s3:AbortMultipartUpload) [versioned]: multipart-checkpointed",
        ],
    ),
    (
        "CopyObject",
        "WriteDestinationObjects",
        "s3:GetObject",
        "arn:aws:s3:::copyflow-destination/*",
        &[
            "AccessDenied(HeadObject copyflow-destination) [unversioned]: already-present composite-source computed-verify copied copy-vanished multipart-checkpointed verification-failed",
            "AccessDenied(HeadObject copyflow-destination) [versioned]: already-present composite-source computed-verify copied copy-vanished multipart-checkpointed verification-failed",
        ],
    ),
    (
        "CopyObject",
        "WriteDestinationObjects",
        "s3:ListMultipartUploadParts",
        "arn:aws:s3:::copyflow-destination/*",
        &[
            "AccessDenied(s3:ListMultipartUploadParts) [unversioned]: multipart-checkpointed",
            "AccessDenied(s3:ListMultipartUploadParts) [versioned]: multipart-checkpointed",
        ],
    ),
    (
        "CopyObject",
        "WriteDestinationObjects",
        "s3:PutObject",
        "arn:aws:s3:::copyflow-destination/*",
        &[
            "AccessDenied(s3:PutObject) [unversioned]: already-present composite-source computed-verify copied copy-vanished multipart-checkpointed verification-failed",
            "AccessDenied(s3:PutObject) [versioned]: already-present composite-source computed-verify copied copy-vanished multipart-checkpointed verification-failed",
        ],
    ),
    (
        "CopyObject",
        "WriteDestinationObjects",
        "s3:PutObjectTagging",
        "arn:aws:s3:::copyflow-destination/*",
        &[
            "AccessDenied(s3:PutObjectTagging) [unversioned]: multipart-checkpointed",
            "AccessDenied(s3:PutObjectTagging) [versioned]: multipart-checkpointed",
        ],
    ),
    (
        "CopyObject",
        "HeadMissingKeysAs404",
        "s3:ListBucket",
        "arn:aws:s3:::copyflow-destination",
        &[
            "AccessDenied(HeadObject copyflow-destination) [unversioned]: already-present composite-source computed-verify copied copy-vanished multipart-checkpointed verification-failed",
            "AccessDenied(HeadObject copyflow-destination) [versioned]: already-present composite-source computed-verify copied copy-vanished multipart-checkpointed verification-failed",
        ],
    ),
    (
        "CopyObject",
        "HeadMissingKeysAs404",
        "s3:ListBucket",
        "arn:aws:s3:::copyflow-source",
        &[
            "AccessDenied(HeadObject copyflow-source) [unversioned]: source-deleted",
            "AccessDenied(HeadObject copyflow-source) [versioned]: source-deleted",
        ],
    ),
    (
        "CopyObject",
        "FindLeftoverUploads",
        "s3:ListBucketMultipartUploads",
        "arn:aws:s3:::copyflow-destination",
        &[
            "AccessDenied(s3:ListBucketMultipartUploads) [unversioned]: multipart-checkpointed",
            "AccessDenied(s3:ListBucketMultipartUploads) [versioned]: multipart-checkpointed",
        ],
    ),
    (
        "VerifyCopy",
        "ReadSourceObjects",
        "s3:GetObject",
        "arn:aws:s3:::copyflow-source/*",
        &["AccessDenied(s3:GetObject) [unversioned]: composite-source computed-verify"],
    ),
    (
        "VerifyCopy",
        "ReadSourceObjects",
        "s3:GetObjectAttributes",
        "arn:aws:s3:::copyflow-source/*",
        &["Copied (computed-checksum) [unversioned]: composite-source"],
    ),
    (
        "VerifyCopy",
        "ReadSourceObjects",
        "s3:GetObjectVersion",
        "arn:aws:s3:::copyflow-source/*",
        &["AccessDenied(s3:GetObjectVersion) [versioned]: composite-source computed-verify"],
    ),
    (
        "VerifyCopy",
        "ReadSourceObjects",
        "s3:GetObjectVersionAttributes",
        "arn:aws:s3:::copyflow-source/*",
        &["Copied (computed-checksum) [versioned]: composite-source"],
    ),
    (
        "VerifyCopy",
        "ReadDestinationObjects",
        "s3:GetObject",
        "arn:aws:s3:::copyflow-destination/*",
        &[
            "AccessDenied(HeadObject copyflow-destination) [unversioned]: already-present composite-source computed-verify copied copy-vanished multipart-checkpointed verification-failed",
        ],
    ),
    (
        "VerifyCopy",
        "ReadDestinationObjects",
        "s3:GetObjectTagging",
        "arn:aws:s3:::copyflow-destination/*",
        &["AccessDenied(s3:GetObjectTagging) [unversioned]: multipart-checkpointed"],
    ),
    (
        "VerifyCopy",
        "ReadDestinationObjects",
        "s3:GetObjectVersion",
        "arn:aws:s3:::copyflow-destination/*",
        &[
            "AccessDenied(HeadObject copyflow-destination) [versioned]: already-present composite-source computed-verify copied copy-vanished multipart-checkpointed verification-failed",
        ],
    ),
    (
        "VerifyCopy",
        "ReadDestinationObjects",
        "s3:GetObjectVersionTagging",
        "arn:aws:s3:::copyflow-destination/*",
        &["AccessDenied(s3:GetObjectVersionTagging) [versioned]: multipart-checkpointed"],
    ),
    (
        "VerifyCopy",
        "DeleteBadCopy",
        "s3:DeleteObject",
        "arn:aws:s3:::copyflow-destination/*",
        &["VerificationFailed, bad copy kept [unversioned]: verification-failed"],
    ),
    (
        "VerifyCopy",
        "DeleteBadCopy",
        "s3:DeleteObjectVersion",
        "arn:aws:s3:::copyflow-destination/*",
        &["VerificationFailed, bad copy kept [versioned]: verification-failed"],
    ),
    (
        "VerifyCopy",
        "HeadMissingKeysAs404",
        "s3:ListBucket",
        "arn:aws:s3:::copyflow-destination",
        &[
            "AccessDenied(HeadObject copyflow-destination) [unversioned]: copy-vanished",
            "AccessDenied(HeadObject copyflow-destination) [versioned]: copy-vanished",
        ],
    ),
];

/// Broken paths grouped by how they end, as the table writes them.
fn summary(broken: &[String]) -> Vec<String> {
    let mut groups: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for line in broken {
        let (path, ending) = line.split_once(": ").unwrap();
        let (variant, scenario) = path.split_once('/').unwrap();
        groups
            .entry((ending.to_owned(), variant.to_owned()))
            .or_default()
            .push(scenario.to_owned());
    }
    groups
        .into_iter()
        .map(|((ending, variant), scenarios)| {
            format!("{ending} [{variant}]: {}", scenarios.join(" "))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_grant_of_every_step_policy_is_needed_by_some_path() {
    let policies = deployed();
    let mut observed = Vec::new();
    for grant in grants(&policies) {
        let broke = summary(&broken(&without(&policies, &grant)).await);
        observed.push((grant, broke));
    }
    let table: Vec<(Grant, Vec<String>)> = MINIMALITY
        .iter()
        .map(|(state, sid, action, resource, broke)| {
            let grant = (
                state.to_string(),
                sid.to_string(),
                action.to_string(),
                resource.to_string(),
            );
            (grant, broke.iter().map(|b| b.to_string()).collect())
        })
        .collect();
    if observed != table {
        for ((state, sid, action, resource), broke) in &observed {
            println!(
                "    (\n        {state:?},\n        {sid:?},\n        {action:?},\n        {resource:?},\n        &{broke:#?},\n    ),"
            );
        }
    }
    assert_eq!(
        observed, table,
        "the minimality table is out of date (the observed table is printed above)"
    );
    for ((state, _, action, resource), broke) in &observed {
        assert!(
            !broke.is_empty(),
            "no path of {state} needs {action} on {resource}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_pipeline_holds_each_step_key_to_its_policy() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, _) = Pipeline::start(PipelineOptions {
        settings: settings(),
        s3: S3Target::Embedded {
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.path().join("s3"),
        },
        executions_dir: None,
        max_running: 4,
        lambda_binaries: None,
        server_runtime: None,
    })
    .await
    .unwrap();
    let as_step = |function: &str| {
        let (key, secret) = step_keys::credentials(function);
        copyflow_core::s3::client_for_endpoint(pipeline.s3_endpoint(), &key, &secret, "us-east-1")
    };
    pipeline
        .s3()
        .put_object()
        .bucket(SRC)
        .key("Ajay/2020-04-06/12/x.txt")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    // copy-object may read the source but not delete it; verify-copy may not write.
    let copy = as_step("copyflow-copy-object");
    copy.get_object()
        .bucket(SRC)
        .key("Ajay/2020-04-06/12/x.txt")
        .send()
        .await
        .unwrap();
    let denied = copy
        .delete_object()
        .bucket(SRC)
        .key("Ajay/2020-04-06/12/x.txt")
        .send()
        .await
        .unwrap_err();
    let e = denied.as_service_error().unwrap();
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(e),
        Some("AccessDenied")
    );
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::message(e),
        Some(
            "User: arn:aws:iam::000000000000:user/copyflow-copy-object is not authorized to \
             perform: s3:DeleteObject on resource: \"arn:aws:s3:::copyflow-source/Ajay/2020-04-06/12/x.txt\" \
             because no identity-based policy allows the s3:DeleteObject action"
        )
    );
    let verify = as_step("copyflow-verify-copy");
    assert!(
        verify
            .put_object()
            .bucket(DST)
            .key("Ajay/2020-04-06/12/x.txt")
            .body(ByteStream::from_static(b"y"))
            .send()
            .await
            .is_err()
    );
    // validate-key has no S3 access at all.
    assert!(
        as_step("copyflow-validate-key")
            .list_buckets()
            .send()
            .await
            .is_err()
    );
    pipeline.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforce_iam_false_runs_every_step_with_full_access() {
    let dir = tempfile::tempdir().unwrap();
    let mut document = SettingsDocument::new(SRC, DST);
    document.local.enforce_iam = false;
    let (pipeline, mut started) = Pipeline::start(PipelineOptions {
        settings: document.check(SettingsOrigin::Built).unwrap(),
        s3: S3Target::Embedded {
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.path().join("s3"),
        },
        executions_dir: None,
        max_running: 4,
        lambda_binaries: None,
        server_runtime: None,
    })
    .await
    .unwrap();
    // The step keys are not even known to the server...
    let (key, secret) = step_keys::credentials("copyflow-copy-object");
    let stranger =
        copyflow_core::s3::client_for_endpoint(pipeline.s3_endpoint(), &key, &secret, "us-east-1");
    assert!(stranger.list_buckets().send().await.is_err());
    // ...and the steps still copy, signing with the full-access key.
    pipeline
        .s3()
        .put_object()
        .bucket(SRC)
        .key("Ajay/2020-04-06/12/open.txt")
        .body(ByteStream::from_static(b"open"))
        .send()
        .await
        .unwrap();
    let s = tokio::time::timeout(Duration::from_secs(10), started.recv())
        .await
        .unwrap()
        .unwrap();
    let engine = pipeline.executions().engine();
    tokio::time::timeout(Duration::from_secs(30), engine.wait_for(&s.execution_arn))
        .await
        .unwrap();
    let d = pipeline.executions().describe(&s.execution_arn).unwrap();
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    pipeline.shutdown().await;
}
