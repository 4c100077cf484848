//! `copyflow backfill`: copies the objects already in the source bucket through the same
//! steps as new ones.
//!
//! By default it starts the backfill state machine (`statemachine/backfill.asl.json`: a
//! Distributed Map that lists the bucket and runs the copyflow state machine once per object)
//! and follows its Map Run until it ends: items listed, done, failed, rate and ETA from
//! DescribeMapRun's item counts; at the end, where the report of the failed objects is. Run
//! again, it copies nothing that is already in place (CopyObject answers already-present) and
//! tries the failed objects again.
//!
//! With `--per-object` (or `--retry-failed`) it starts one execution of the copyflow state
//! machine per object from this machine instead, with the same `Object Created` event shape S3
//! sends. Execution names derive from bucket, key and ETag, so running it again starts
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
    /// Start objects again whose last backfill execution did not succeed (per object).
    #[arg(long)]
    pub retry_failed: bool,
    /// Start one execution per object from here instead of the backfill state machine.
    #[arg(long)]
    pub per_object: bool,
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
    if source.per_object || source.retry_failed {
        return per_object(settings, target, source).await;
    }
    if !source.prefix.is_empty() || source.s3_endpoint.is_some() {
        return Err("--prefix and --s3-endpoint apply to --per-object: the backfill state machine lists the configured source prefix itself".into());
    }
    distributed(settings, target).await
}

/// How often the progress line is printed.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Starts the backfill state machine and follows its Map Run to the end.
async fn distributed(settings: &Settings, target: &Target) -> CliResult<()> {
    let sfn = views::client(target, &settings.sfn_address().to_string()).await;
    let machine = backfill_machine_arn(&sfn, target).await?;
    let started = sfn
        .start_execution()
        .state_machine_arn(&machine)
        .input("{}")
        .send()
        .await
        .map_err(|e| {
            format!(
                "StartExecution {machine}: {}",
                copyflow::sdk_error::one_line(&e)
            )
        })?;
    let execution = started.execution_arn().to_owned();
    outln!("backfill started: {execution}");
    let began = std::time::Instant::now();
    let mut last_line = String::new();
    loop {
        let d = views::describe(&sfn, &execution).await?;
        if let Some(counts) = map_run_counts(&sfn, &execution).await? {
            let line = progress_line(&counts, began.elapsed().as_secs_f64());
            if line != last_line {
                outln!("{line}");
                last_line = line;
            }
        }
        if d.status() != &aws_sdk_sfn::types::ExecutionStatus::Running {
            return finished(&d);
        }
        tokio::time::sleep(PROGRESS_EVERY.min(std::time::Duration::from_millis(
            200 + began.elapsed().as_millis().min(1800) as u64,
        )))
        .await;
    }
}

/// The backfill machine: `--state-machine-arn`, the stack's `BackfillStateMachineArn`, or
/// the local one.
async fn backfill_machine_arn(sfn: &aws_sdk_sfn::Client, target: &Target) -> CliResult<String> {
    if let Some(arn) = &target.state_machine_arn {
        return Ok(arn.clone());
    }
    if target.aws {
        return views::stack_output(target, "BackfillStateMachineArn").await;
    }
    let out = sfn.list_state_machines().send().await.map_err(|e| {
        format!(
            "ListStateMachines failed ({}): is `copyflow up` running?",
            copyflow::sdk_error::one_line(&e)
        )
    })?;
    out.state_machines()
        .iter()
        .find(|m| m.name() == copyflow::backfill_machine::BACKFILL_STATE_MACHINE)
        .map(|m| m.state_machine_arn().to_owned())
        .ok_or_else(|| "no copyflow-backfill state machine: restart `copyflow up` with this version, or pass --per-object".into())
}

/// Item counts of the execution's Map Run, once it has one.
async fn map_run_counts(sfn: &aws_sdk_sfn::Client, execution: &str) -> CliResult<Option<Counts>> {
    let runs = sfn
        .list_map_runs()
        .execution_arn(execution)
        .send()
        .await
        .map_err(|e| format!("ListMapRuns: {}", copyflow::sdk_error::one_line(&e)))?;
    let Some(run) = runs.map_runs().first() else {
        return Ok(None);
    };
    let d = sfn
        .describe_map_run()
        .map_run_arn(run.map_run_arn())
        .send()
        .await
        .map_err(|e| format!("DescribeMapRun: {}", copyflow::sdk_error::one_line(&e)))?;
    Ok(d.item_counts().map(|c| Counts {
        total: c.total(),
        succeeded: c.succeeded(),
        failed: c.failed() + c.timed_out() + c.aborted(),
        running: c.running(),
    }))
}

/// DescribeMapRun's item counts, as the progress line needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    total: i64,
    succeeded: i64,
    failed: i64,
    running: i64,
}

/// `listed 2000, done 1500 (1490 copied or skipped, 10 failed), running 100, 312.4 objects/s, ETA 2s`.
fn progress_line(c: &Counts, elapsed_seconds: f64) -> String {
    let done = c.succeeded + c.failed;
    let rate = if elapsed_seconds > 0.0 {
        done as f64 / elapsed_seconds
    } else {
        0.0
    };
    let left = (c.total - done).max(0);
    let eta = match (left, rate > 0.0) {
        (0, _) => "done".to_owned(),
        (_, true) => format!("ETA {}s", (left as f64 / rate).ceil() as u64),
        (_, false) => "ETA unknown".to_owned(),
    };
    format!(
        "listed {}, done {done} ({} copied or skipped, {} failed), running {}, {rate:.1} objects/s, {eta}",
        c.total, c.succeeded, c.failed, c.running
    )
}

/// The last lines: how the backfill ended and where its report is.
fn finished(
    d: &aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput,
) -> CliResult<()> {
    let status = d.status().as_str();
    let report = d
        .output()
        .and_then(|o| serde_json::from_str::<serde_json::Value>(o).ok())
        .and_then(|o| {
            let details = &o["ResultWriterDetails"];
            Some(format!(
                "s3://{}/{}",
                details["Bucket"].as_str()?,
                details["Key"].as_str()?
            ))
        });
    if let Some(report) = &report {
        outln!(
            "report (FAILED_0.json lists the objects that did not end copied or skipped): {report}"
        );
    }
    match d.status() {
        aws_sdk_sfn::types::ExecutionStatus::Succeeded => {
            outln!("backfill {status}");
            Ok(())
        }
        _ => Err(format!(
            "backfill {status}: {} {}",
            d.error().unwrap_or_default(),
            d.cause().unwrap_or_default()
        )
        .into()),
    }
}

/// The per-object path: one StartExecution of the copyflow state machine per listed object.
async fn per_object(settings: &Settings, target: &Target, source: &Source) -> CliResult<()> {
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
    use super::{Counts, attempt_name, execution_name, progress_line, summary};

    #[test]
    fn progress_shows_counts_rate_and_eta() {
        let c = Counts {
            total: 100,
            succeeded: 40,
            failed: 10,
            running: 5,
        };
        assert_eq!(
            progress_line(&c, 10.0),
            "listed 100, done 50 (40 copied or skipped, 10 failed), running 5, 5.0 objects/s, ETA 10s"
        );
        let all = Counts {
            succeeded: 100,
            failed: 0,
            ..c
        };
        assert!(progress_line(&all, 1.0).ends_with("done"));
        let none = Counts {
            succeeded: 0,
            failed: 0,
            ..c
        };
        assert!(progress_line(&none, 0.0).ends_with("ETA unknown"));
    }

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
