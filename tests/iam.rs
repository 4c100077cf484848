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

/// What a scenario ended in: an outcome of the state machine, or the step error that ended
/// it (`AccessDenied(s3:Action)` naming the refused action when S3's message does).
type Ending = String;

fn ending_of(e: &copyflow_core::StepError) -> Ending {
    let text = e.to_string();
    match (e.name(), text.split_once("perform: ")) {
        ("AccessDenied", Some((_, rest))) => {
            format!("AccessDenied({})", rest.split(' ').next().unwrap_or(""))
        }
        (name, _) => name.to_owned(),
    }
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
        tamper: Option<&str>,
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
        if let Some(key) = tamper {
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
        self.steps.verify_copy(doc, Deadline::none()).await
    }

    /// A source uploaded in parts with a COMPOSITE checksum, as the aws cli does.
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
        let p = self
            .admin
            .upload_part()
            .bucket(SRC)
            .key(key)
            .upload_id(id)
            .part_number(1)
            .checksum_algorithm(algorithm)
            .body(ByteStream::from(data.to_vec()))
            .send()
            .await
            .unwrap();
        let part = CompletedPart::builder()
            .part_number(1)
            .e_tag(p.e_tag().unwrap())
            .set_checksum_crc32(p.checksum_crc32().map(str::to_owned))
            .set_checksum_sha256(p.checksum_sha256().map(str::to_owned))
            .build();
        self.admin
            .complete_multipart_upload()
            .bucket(SRC)
            .key(key)
            .upload_id(id)
            .multipart_upload(CompletedMultipartUpload::builder().parts(part).build())
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
                Some("identical") => "Copied".to_owned(),
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

        // A COMPOSITE CRC32 source: verified from its part CRCs (GetObjectAttributes).
        let event = self
            .put_composite(
                "Ajay/2020-04-06/14/composite.bin",
                &[3; 2048],
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
        let ended = end(self.run(&event, None, Some(key)).await);
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
        endings
    }
}

/// How each scenario ends with the deployed policies.
fn baseline() -> BTreeMap<&'static str, Ending> {
    [
        ("copied", "Copied"),
        ("already-present", "Copied"),
        ("multipart-checkpointed", "Copied"),
        ("composite-source", "Copied"),
        ("computed-verify", "Copied"),
        ("superseded", "SourceChanged"),
        ("source-deleted", "SourceNotFound"),
        ("verification-failed", "VerificationFailed"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

fn deployed() -> Vec<(String, Value)> {
    step_keys::policy_documents(&settings())
}

/// `policies` with `action` taken out of `state`'s statements (a statement left with no
/// action goes too).
fn without(policies: &[(String, Value)], state: &str, action: &str) -> Vec<(String, Value)> {
    let mut out = policies.to_vec();
    let (_, document) = out.iter_mut().find(|(s, _)| s == state).unwrap();
    let statements = document["Statement"].as_array_mut().unwrap();
    for statement in statements.iter_mut() {
        let actions: Vec<Value> = match &statement["Action"] {
            Value::String(a) => vec![Value::from(a.as_str())],
            Value::Array(a) => a.clone(),
            _ => unreachable!(),
        };
        statement["Action"] = Value::Array(actions.into_iter().filter(|a| a != action).collect());
    }
    statements.retain(|s| !s["Action"].as_array().unwrap().is_empty());
    out
}

/// Every (step, action) pair of the deployed policies.
fn actions(policies: &[(String, Value)]) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for (state, document) in policies {
        for statement in document["Statement"].as_array().unwrap() {
            let list = match &statement["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
                _ => unreachable!(),
            };
            for action in list {
                let pair = (state.clone(), action);
                if !pairs.contains(&pair) {
                    pairs.push(pair);
                }
            }
        }
    }
    pairs
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

/// What breaks when one action is taken out of one step's deployed policy: the scenarios
/// (versioned / unversioned buckets) that no longer end as they do with the full policy, and
/// how they end instead.
const MINIMALITY: &[(&str, &str, &[&str])] = &[];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_of_every_step_policy_is_needed_by_some_path() {
    let policies = deployed();
    let mut observed = Vec::new();
    for (state, action) in actions(&policies) {
        let broke = broken(&without(&policies, &state, &action)).await;
        println!("{state} {action}: {broke:?}");
        observed.push((state, action, broke));
    }
    let table: Vec<(String, String, Vec<String>)> = MINIMALITY
        .iter()
        .map(|(s, a, b)| {
            (
                s.to_string(),
                a.to_string(),
                b.iter().map(|x| x.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(observed, table);
    for (state, action, broke) in &observed {
        assert!(!broke.is_empty(), "{state} does not need {action}");
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
