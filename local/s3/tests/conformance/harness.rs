//! The conformance harness: a list of named checks, each an async function of a [`Ctx`], run
//! against one S3 endpoint with bounded concurrency, one line per check, a count per client
//! the checks speak through (`conformance(<target>, <client>): ...`) and a closing
//! `conformance(<target>): N passed, M failed` line.
//!
//! Checks return `Err(reason)` on a deviation from AWS S3's documented behaviour. A failing
//! check is tolerated only when `known_differences.rs` lists it for that target, and a listed
//! check that passes fails the run (the table must not go stale).

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// What every check returns: `Err` carries the reason it failed.
pub(crate) type Outcome = Result<(), String>;
pub(crate) type CheckFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// One behaviour of S3, named as a sentence (`copy_source_if_match_mismatch_is_412`).
#[derive(Clone, Copy)]
pub(crate) struct Check {
    pub name: &'static str,
    /// The client the check speaks through (`aws-sdk-s3`, `boto3`, `aws-cli`).
    pub client: &'static str,
    pub run: fn(Ctx) -> CheckFuture,
}

/// Where the suite runs: an S3 endpoint and the keys it accepts.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// `embedded` or `localstack`: the first column of the known-differences table.
    pub name: &'static str,
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

/// What a check gets: a client for the target and a source of unique bucket names.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub s3: Client,
    pub target: Arc<Target>,
    run_id: Arc<str>,
    buckets: Arc<AtomicU32>,
    /// Every bucket name handed out, for the clean-up after the run.
    names: Arc<Mutex<Vec<String>>>,
}

impl Ctx {
    /// A client with the target's settings, adjusted by `tune` (e.g. another region or
    /// `request_checksum_calculation`).
    pub(crate) fn client_with(
        &self,
        tune: impl FnOnce(aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder,
    ) -> Client {
        Client::from_conf(tune(client_config(&self.target)).build())
    }

    /// A bucket name no other check (nor an earlier run) uses.
    pub(crate) fn unique_bucket_name(&self) -> String {
        let n = self.buckets.fetch_add(1, Ordering::Relaxed);
        let name = format!("cf-conf-{}-{n:03}", self.run_id);
        self.names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(name.clone());
        name
    }

    /// Creates a fresh bucket for this check.
    pub(crate) async fn bucket(&self) -> Result<String, String> {
        let name = self.unique_bucket_name();
        self.s3
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .or_fail(&format!("CreateBucket {name}"))?;
        Ok(name)
    }

    /// A fresh bucket with versioning enabled.
    pub(crate) async fn versioned_bucket(&self) -> Result<String, String> {
        let name = self.bucket().await?;
        self.s3
            .put_bucket_versioning()
            .bucket(&name)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .or_fail("PutBucketVersioning Enabled")?;
        Ok(name)
    }
}

/// The SDK configuration for a target: plain HTTP (aws-sdk-s3 is built without its default
/// HTTPS client), static keys, path-style addressing.
pub(crate) fn client_config(target: &Target) -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .credentials_provider(Credentials::new(
            target.access_key.clone(),
            target.secret_key.clone(),
            None,
            None,
            "copyflow-conformance",
        ))
        .region(Region::new(target.region.clone()))
        .endpoint_url(target.endpoint.clone())
        .force_path_style(true)
}

/// How an S3 call failed, as far as a check cares: HTTP status and S3 error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: Option<String>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self
            .status
            .map_or("no HTTP status".to_owned(), |s| s.to_string());
        write!(
            f,
            "HTTP {status} {} ({})",
            self.code.as_deref().unwrap_or("<no code>"),
            self.message.as_deref().unwrap_or("")
        )
    }
}

pub(crate) fn failure<E: ProvideErrorMetadata + std::error::Error + 'static>(
    error: &SdkError<E>,
) -> Failure {
    let status = error.raw_response().map(|r| r.status().as_u16());
    match error {
        SdkError::ServiceError(service) => Failure {
            status,
            code: service.err().code().map(str::to_owned),
            message: service.err().message().map(str::to_owned),
        },
        other => Failure {
            status,
            code: None,
            message: Some(format!("{}", aws_sdk_s3::error::DisplayErrorContext(other))),
        },
    }
}

/// `?`-friendly conversion of SDK results into check failures that say what was attempted.
pub(crate) trait OrFail<T> {
    fn or_fail(self, what: &str) -> Result<T, String>;
}

impl<T, E: ProvideErrorMetadata + std::error::Error + 'static> OrFail<T>
    for Result<T, SdkError<E>>
{
    fn or_fail(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what} failed: {}", failure(&e)))
    }
}

/// Requires `result` to be an S3 error with this HTTP status and (when given) error code.
pub(crate) fn expect_error<T: Debug, E: ProvideErrorMetadata + std::error::Error + 'static>(
    what: &str,
    result: Result<T, SdkError<E>>,
    status: u16,
    code: Option<&str>,
) -> Outcome {
    match result {
        Ok(value) => Err(format!(
            "{what}: expected HTTP {status} {}, got success: {value:?}",
            code.unwrap_or("")
        )),
        Err(e) => {
            let got = failure(&e);
            if got.status == Some(status) && (code.is_none() || got.code.as_deref() == code) {
                Ok(())
            } else {
                Err(format!(
                    "{what}: expected HTTP {status} {}, got {got}",
                    code.unwrap_or("")
                ))
            }
        }
    }
}

/// `ensure_eq!(actual, expected, "what {}", args)`: fails the check with both values.
/// (Declare `harness` with `#[macro_use]` before the modules that use these macros.)
macro_rules! ensure_eq {
    ($actual:expr, $expected:expr, $($what:tt)+) => {{
        // A match keeps temporaries in the operands alive for the comparison.
        match (&$actual, &$expected) {
            (actual, expected) => {
                if actual != expected {
                    return Err(format!(
                        "{}: expected {:?}, got {:?}",
                        format!($($what)+),
                        expected,
                        actual
                    ));
                }
            }
        }
    }};
}

/// `ensure!(condition, "reason {}", args)`: fails the check with the reason.
macro_rules! ensure {
    ($condition:expr, $($reason:tt)+) => {{
        if !$condition {
            return Err(format!($($reason)+));
        }
    }};
}

/// The result of one check after the known-differences table is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Pass,
    Fail(String),
    /// Failed as the table says it does on this target.
    Known(String),
    /// Listed as a known difference but passed: the table is stale.
    UnexpectedPass(String),
}

const CONCURRENCY: usize = 8;
const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs every check against `target`, prints one line per check and the closing line, and
/// returns `Err` when a check failed that is not a known difference for this target, when a
/// known difference passed, or when the table names a check that does not exist.
pub(crate) async fn run_suite(
    target: Target,
    checks: &[Check],
    known_differences: &[(&str, &str, &str)],
) -> Result<(), String> {
    let started = Instant::now();
    let target = Arc::new(target);
    let run_id: Arc<str> = format!("{:08x}", fastrand::u32(..)).into();
    let ctx = Ctx {
        s3: Client::from_conf(client_config(&target).build()),
        target: target.clone(),
        run_id,
        buckets: Arc::new(AtomicU32::new(0)),
        names: Arc::new(Mutex::new(Vec::new())),
    };

    let mut problems = Vec::new();
    for (table_target, name, _) in known_differences {
        if !checks.iter().any(|c| c.name == *name) {
            problems.push(format!(
                "known_differences.rs lists {name} for {table_target}, but no such check exists"
            ));
        }
    }

    let limit = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut running = Vec::with_capacity(checks.len());
    for check in checks {
        let ctx = ctx.clone();
        let limit = limit.clone();
        let check = *check;
        running.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            let began = Instant::now();
            let outcome = match tokio::time::timeout(CHECK_TIMEOUT, (check.run)(ctx)).await {
                Ok(outcome) => outcome,
                Err(_) => Err(format!("timed out after {}s", CHECK_TIMEOUT.as_secs())),
            };
            (outcome, began.elapsed())
        }));
    }

    let (mut passed, mut failed, mut known) = (0, 0, 0);
    // Per client: (client, passed, failed, known), in the order clients first appear.
    let mut per_client: Vec<(&str, u32, u32, u32)> = Vec::new();
    for (check, handle) in checks.iter().zip(running) {
        let (outcome, took) = match handle.await {
            Ok(done) => done,
            Err(join) => (Err(format!("panicked: {join}")), Duration::ZERO),
        };
        let listed = known_differences
            .iter()
            .find(|(t, name, _)| *t == target.name && *name == check.name)
            .map(|(_, _, reason)| *reason);
        let verdict = match (outcome, listed) {
            (Ok(()), None) => Verdict::Pass,
            (Err(reason), None) => Verdict::Fail(reason),
            (Err(reason), Some(why)) => Verdict::Known(format!("{why} [observed: {reason}]")),
            (Ok(()), Some(why)) => Verdict::UnexpectedPass(why.to_owned()),
        };
        let ms = took.as_millis();
        let counts = match per_client.iter().position(|c| c.0 == check.client) {
            Some(i) => &mut per_client[i],
            None => {
                per_client.push((check.client, 0, 0, 0));
                let last = per_client.len() - 1;
                &mut per_client[last]
            }
        };
        match &verdict {
            Verdict::Pass => counts.1 += 1,
            Verdict::Fail(_) | Verdict::UnexpectedPass(_) => counts.2 += 1,
            Verdict::Known(_) => counts.3 += 1,
        }
        match verdict {
            Verdict::Pass => {
                passed += 1;
                println!("PASS {} ({ms} ms)", check.name);
            }
            Verdict::Fail(reason) => {
                failed += 1;
                println!("FAIL {}: {reason}", check.name);
                problems.push(format!("{} failed", check.name));
            }
            Verdict::Known(reason) => {
                known += 1;
                println!("KNOWN {}: {reason}", check.name);
            }
            Verdict::UnexpectedPass(why) => {
                failed += 1;
                println!(
                    "FAIL {}: passed, but known_differences.rs lists it for {} ({why}); remove the entry",
                    check.name, target.name
                );
                problems.push(format!("{} passed unexpectedly", check.name));
            }
        }
    }
    let names = std::mem::take(
        &mut *ctx
            .names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let left = clean_up(&ctx.s3, names).await;
    if left > 0 {
        println!("clean-up: {left} buckets could not be deleted (left for the server's data dir)");
    }
    println!(
        "{known} known differences for {} (see known_differences.rs); {:.1}s",
        target.name,
        started.elapsed().as_secs_f64()
    );
    for (client, p, f, k) in &per_client {
        println!(
            "conformance({}, {client}): {p} passed, {f} failed, {k} known differences",
            target.name
        );
    }
    println!(
        "conformance({}): {passed} passed, {failed} failed",
        target.name
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "conformance against {} ({}): {}",
            target.name,
            target.endpoint,
            problems.join("; ")
        ))
    }
}

/// Best effort: empties and deletes the run's buckets (all versions, open uploads), so a
/// long-lived server is not left with them. Returns how many still exist.
async fn clean_up(s3: &Client, names: Vec<String>) -> usize {
    let limit = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut running = Vec::with_capacity(names.len());
    for name in names {
        let (s3, limit) = (s3.clone(), limit.clone());
        running.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            delete_bucket_and_contents(&s3, &name).await
        }));
    }
    let mut left = 0;
    for handle in running {
        if !matches!(handle.await, Ok(true)) {
            left += 1;
        }
    }
    left
}

/// True when the bucket is gone afterwards (or never existed).
async fn delete_bucket_and_contents(s3: &Client, bucket: &str) -> bool {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    if let Ok(uploads) = s3.list_multipart_uploads().bucket(bucket).send().await {
        for upload in uploads.uploads() {
            let _ = s3
                .abort_multipart_upload()
                .bucket(bucket)
                .key(upload.key().unwrap_or_default())
                .upload_id(upload.upload_id().unwrap_or_default())
                .send()
                .await;
        }
    }
    // A few rounds: every version and delete marker, or plain keys where versions cannot be
    // listed.
    for _ in 0..10 {
        let mut doomed = Vec::new();
        if let Ok(versions) = s3.list_object_versions().bucket(bucket).send().await {
            for v in versions.versions() {
                doomed.push((
                    v.key().map(str::to_owned),
                    v.version_id().map(str::to_owned),
                ));
            }
            for m in versions.delete_markers() {
                doomed.push((
                    m.key().map(str::to_owned),
                    m.version_id().map(str::to_owned),
                ));
            }
        } else if let Ok(listed) = s3.list_objects_v2().bucket(bucket).send().await {
            for o in listed.contents() {
                doomed.push((o.key().map(str::to_owned), None));
            }
        }
        if doomed.is_empty() {
            break;
        }
        let objects: Vec<ObjectIdentifier> = doomed
            .into_iter()
            .filter_map(|(key, version)| {
                ObjectIdentifier::builder()
                    .set_key(key)
                    .set_version_id(version)
                    .build()
                    .ok()
            })
            .collect();
        let Ok(delete) = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
        else {
            break;
        };
        if s3
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .is_err()
        {
            break;
        }
    }
    match s3.delete_bucket().bucket(bucket).send().await {
        Ok(_) => true,
        Err(e) => failure(&e).status == Some(404),
    }
}
