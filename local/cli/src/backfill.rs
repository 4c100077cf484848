//! `copyflow backfill`: starts an execution for every object already in the source bucket,
//! with the same `Object Created` event shape S3 sends, so existing data is copied by the
//! same steps. Execution names derive from bucket, key and ETag, so running it again starts
//! nothing new for objects already handled (StartExecution refuses a used name). With
//! `--retry-failed`, an object whose last backfill execution FAILED, TIMED_OUT or was ABORTED
//! gets a new execution named after the attempt (`-r1`, `-r2`, ...): after fixing a setting,
//! the failed objects go through the whole pipeline again, and only they do.

use aws_sdk_sfn::error::ProvideErrorMetadata;
use copyflow::outln;
use copyflow_core::Settings;
use copyflow_s3::event::{EventFactory, KeyEncoding, ObjectCreated, Reason};

use crate::CliResult;
use crate::views::{self, Target};

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Source {
    /// Only objects under this prefix (after the configured source prefix).
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// S3 endpoint to list (default: the local one from copyflow.json; with --aws: AWS).
    #[arg(long)]
    pub s3_endpoint: Option<String>,
    /// Start objects again whose last backfill execution did not succeed.
    #[arg(long)]
    pub retry_failed: bool,
}

/// The name of attempt `n` for an object version: the first has the plain name.
fn attempt_name(first: &str, n: u32) -> String {
    match n {
        0 => first.to_owned(),
        n => format!("{first}-r{n}"),
    }
}

/// More failed attempts than this for one object is a setting still wrong, not bad luck.
const MAX_ATTEMPTS: u32 = 100;

/// What backfilling one object did.
#[derive(Debug, PartialEq, Eq)]
enum Started {
    /// A first execution (attempt 0) or a retry (attempt > 0).
    Attempt(u32),
    /// Its last execution runs or succeeded, or it failed and retries were not asked for.
    AlreadyBackfilled,
}

/// A StartExecution name for an object version: at most 80 characters of [A-Za-z0-9-].
fn execution_name(bucket: &str, key: &str, etag: &str) -> String {
    let digest = copyflow_core::Digest::compute(
        copyflow_core::Algorithm::Sha256,
        format!("{bucket}\n{key}\n{etag}").as_bytes(),
    );
    let hex: String = digest
        .as_bytes()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("backfill-{hex}")
}

pub(crate) async fn run(settings: &Settings, target: &Target, source: &Source) -> CliResult<()> {
    let s3 = if target.aws && source.s3_endpoint.is_none() {
        copyflow_core::s3::client_from_env().await
    } else {
        let endpoint = source
            .s3_endpoint
            .clone()
            .unwrap_or_else(|| format!("http://{}", settings.s3_address()));
        copyflow_core::s3::client_for_endpoint(
            &endpoint,
            copyflow_s3::DEFAULT_ACCESS_KEY,
            copyflow_s3::DEFAULT_SECRET_KEY,
            target.region.as_deref().unwrap_or("us-east-1"),
        )
    };
    let sfn = views::client(target, &settings.sfn_address().to_string()).await;
    let machine = views::machine_arn(&sfn, target).await?;
    let bucket = settings.source_bucket();
    let prefix = format!("{}{}", settings.source_prefix(), source.prefix);
    let factory = EventFactory::new(
        copyflow_s3::LOCAL_ACCOUNT_ID,
        target.region.clone().unwrap_or_else(|| "us-east-1".into()),
        "copyflow-backfill",
        KeyEncoding::Form,
    );
    let (mut started, mut retried, mut existing) = (0, 0, 0);
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(&prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            format!(
                "listing s3://{bucket}/{prefix}: {}",
                copyflow::sdk_error::one_line(&e)
            )
        })?;
        for object in page.contents() {
            let key = object.key().unwrap_or_default();
            let etag = object.e_tag().unwrap_or_default().trim_matches('"');
            let event = factory.build(ObjectCreated {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                size: object
                    .size()
                    .and_then(|s| u64::try_from(s).ok())
                    .unwrap_or(0),
                etag: etag.to_owned(),
                version_id: None,
                reason: Reason::PutObject,
                request_id: "copyflow-backfill".to_owned(),
                source_ip: "127.0.0.1".to_owned(),
            });
            let input = serde_json::to_string(&event)?;
            let first = execution_name(bucket, key, etag);
            match start(&sfn, &machine, &first, &input, source.retry_failed).await {
                Ok(Started::Attempt(0)) => started += 1,
                Ok(Started::Attempt(_)) => (started, retried) = (started + 1, retried + 1),
                Ok(Started::AlreadyBackfilled) => existing += 1,
                Err(e) => {
                    return Err(format!(
                        "StartExecution for {}: {e}",
                        copyflow::output::escape(key)
                    )
                    .into());
                }
            }
        }
    }
    let retries = source.retry_failed.then_some(retried);
    outln!(
        "backfill of s3://{bucket}/{prefix}: {}",
        summary(started, retries, existing)
    );
    Ok(())
}

/// The backfill's last line; retries are counted only when they were asked for.
fn summary(started: usize, retried: Option<usize>, existing: usize) -> String {
    let retries = match retried {
        Some(n) => format!(" ({n} of them retries of failed ones)"),
        None => String::new(),
    };
    format!("{started} executions started{retries}, {existing} objects already backfilled")
}

/// Starts the first execution for an object version or, with `retry`, the attempt after its
/// last unsuccessful one.
async fn start(
    sfn: &aws_sdk_sfn::Client,
    machine: &str,
    first: &str,
    input: &str,
    retry: bool,
) -> Result<Started, String> {
    let executions = machine.replace(":stateMachine:", ":execution:");
    for n in 0..MAX_ATTEMPTS {
        let name = attempt_name(first, n);
        let result = sfn
            .start_execution()
            .state_machine_arn(machine)
            .name(&name)
            .input(input)
            .send()
            .await;
        match result {
            Ok(_) => return Ok(Started::Attempt(n)),
            Err(e) if e.code() == Some("ExecutionAlreadyExists") => {}
            Err(e) => return Err(copyflow::sdk_error::one_line(&e)),
        }
        if !retry {
            return Ok(Started::AlreadyBackfilled);
        }
        let arn = format!("{executions}:{name}");
        let status = views::describe(sfn, &arn)
            .await
            .map_err(|e| e.to_string())?
            .status()
            .clone();
        if !is_unsuccessful(&status) {
            return Ok(Started::AlreadyBackfilled);
        }
    }
    Err(format!(
        "{MAX_ATTEMPTS} attempts failed already: see `copyflow executions --status FAILED`"
    ))
}

fn is_unsuccessful(status: &aws_sdk_sfn::types::ExecutionStatus) -> bool {
    use aws_sdk_sfn::types::ExecutionStatus as S;
    matches!(status, S::Failed | S::TimedOut | S::Aborted)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{attempt_name, execution_name, summary};

    #[test]
    fn retries_are_counted_only_when_asked_for() {
        assert_eq!(
            summary(0, None, 3),
            "0 executions started, 3 objects already backfilled"
        );
        assert_eq!(
            summary(2, Some(1), 0),
            "2 executions started (1 of them retries of failed ones), 0 objects already backfilled"
        );
    }

    #[test]
    fn backfill_names_are_stable_valid_and_distinct_per_version() {
        let a = execution_name("b", "k", "e1");
        assert_eq!(a, execution_name("b", "k", "e1"));
        assert_ne!(a, execution_name("b", "k", "e2"));
        assert!(a.len() <= 80 && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }

    #[test]
    fn retries_are_named_after_their_attempt_and_stay_valid_names() {
        let first = execution_name("b", "k", "e1");
        assert_eq!(attempt_name(&first, 0), first);
        assert_eq!(attempt_name(&first, 1), format!("{first}-r1"));
        let last = attempt_name(&first, super::MAX_ATTEMPTS);
        assert!(last.len() <= 80, "{last}");
    }
}
