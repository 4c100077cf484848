//! `copyflow demo`: the whole pipeline on loopback, on a realistic tree of files, with every
//! outcome the state machine has, printed as each execution's path through the states.
//! Exit code 0 only if every execution ends in the outcome it should.
//!
//! [`scenarios`] says what to upload and what each execution must end as, [`executions`]
//! waits for them, and [`report`] compares, as a pure function of the typed results.

mod executions;
mod outcome;
mod report;
mod scenarios;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use copyflow::outln;
use copyflow::pipeline::{Pipeline, PipelineOptions, S3Target};
use copyflow_asl::StartedExecution;
use copyflow_core::Settings;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::CliResult;
use executions::{Finished, input_of, wait_all};
use scenarios::{LATE_EVENT, OVERWRITTEN_BODIES, OVERWRITTEN_KEY, REDELIVERED, Scenario};

type Started = UnboundedReceiver<StartedExecution>;

pub(crate) async fn run(settings: Settings) -> CliResult<bool> {
    let settings = lowered_thresholds(&settings)?;
    let dir = tempfile::tempdir()?;
    let started_at = Instant::now();
    let (pipeline, mut started) = Pipeline::start(options(&settings, dir.path())).await?;
    print_header(&pipeline, &settings);

    let workload = scenarios::workload(scenarios::LARGE_BYTES);
    let mut finished = upload(&pipeline, &settings, &workload, &mut started).await?;
    let again = redeliver(&pipeline, &workload, &finished, &mut started).await?;
    finished.extend(again);
    finished.extend(overwrite(&pipeline, &settings, &mut started).await?);

    let report = report::report(
        &judge(&workload, finished),
        started_at.elapsed().as_secs_f64(),
    );
    for line in &report.lines {
        outln!("{line}");
    }
    pipeline.shutdown().await;
    Ok(report.ok)
}

/// Pairs each finished execution with what its scenario says it must end as.
fn judge(workload: &[Scenario], finished: Vec<Finished>) -> Vec<report::Ended> {
    finished
        .into_iter()
        .map(|f| report::Ended {
            expected: scenarios::expectation(workload, &f.name, &f.key),
            outcome: f.outcome(),
            key: f.key,
            output: f.output,
        })
        .collect()
}

/// The settings with a multipart threshold a quick demo still crosses.
fn lowered_thresholds(settings: &Settings) -> CliResult<Settings> {
    let mut document = settings.document().clone();
    document.copy.multipart_threshold_bytes = 16 * 1024 * 1024;
    document.copy.part_size_bytes = 8 * 1024 * 1024;
    Ok(document.check(settings.origin().clone())?)
}

/// An embedded S3 server on a free loopback port, everything kept under `dir`.
fn options(settings: &Settings, dir: &Path) -> PipelineOptions {
    PipelineOptions {
        settings: settings.clone(),
        s3: S3Target::Embedded {
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.join("s3"),
        },
        executions_dir: Some(dir.join("executions")),
        max_running: copyflow::pipeline::DEFAULT_MAX_RUNNING,
        lambda_binaries: None,
        server_runtime: None,
    }
}

fn print_header(pipeline: &Pipeline, settings: &Settings) {
    outln!("copyflow demo");
    outln!("  S3 (embedded)          {}", pipeline.s3_endpoint());
    outln!(
        "  state machine          {} (statemachine/copyflow.asl.json)",
        pipeline.machine_arn()
    );
    outln!(
        "  source -> destination  s3://{} -> s3://{}",
        settings.source_bucket(),
        settings.destination_bucket()
    );
    outln!(
        "  multipart above        {} MiB (lowered for the demo), parts of {} MiB",
        settings.plan_options().multipart_threshold() >> 20,
        settings.plan_options().part_size() >> 20
    );
}

/// Uploads every scenario's object and waits for the executions their events start.
async fn upload(
    pipeline: &Arc<Pipeline>,
    settings: &Settings,
    workload: &[Scenario],
    started: &mut Started,
) -> CliResult<Vec<Finished>> {
    outln!(
        "\nuploading {} objects to s3://{} ...\n",
        workload.len(),
        settings.source_bucket()
    );
    for (i, s) in workload.iter().enumerate() {
        let body = ByteStream::from(scenarios::body(s.size, i));
        put(pipeline, settings, &s.key, body).await?;
    }
    Ok(wait_all(pipeline, started, workload.len()).await)
}

/// At-least-once delivery: starts the first object's execution again with the same event.
async fn redeliver(
    pipeline: &Arc<Pipeline>,
    workload: &[Scenario],
    finished: &[Finished],
    started: &mut Started,
) -> CliResult<Vec<Finished>> {
    let first = workload.first().map(|s| s.key.as_str());
    let name = finished
        .iter()
        .find(|f| Some(f.key.as_str()) == first)
        .map(|f| f.name.as_str())
        .unwrap_or_default();
    let input = input_of(pipeline, name);
    pipeline.start_execution(pipeline.machine_arn(), Some(REDELIVERED.name), &input)?;
    Ok(wait_all(pipeline, started, 1).await)
}

/// Writes two versions of one object, each copied by its own event, then replays the first
/// version's event: it must end Superseded.
async fn overwrite(
    pipeline: &Arc<Pipeline>,
    settings: &Settings,
    started: &mut Started,
) -> CliResult<Vec<Finished>> {
    let [one, two] = OVERWRITTEN_BODIES;
    put(
        pipeline,
        settings,
        OVERWRITTEN_KEY,
        ByteStream::from_static(one),
    )
    .await?;
    let mut finished = wait_all(pipeline, started, 1).await;
    let first_input = finished
        .first()
        .map(|f| input_of(pipeline, &f.name))
        .unwrap_or_default();
    put(
        pipeline,
        settings,
        OVERWRITTEN_KEY,
        ByteStream::from_static(two),
    )
    .await?;
    finished.extend(wait_all(pipeline, started, 1).await);
    pipeline.start_execution(pipeline.machine_arn(), Some(LATE_EVENT.name), &first_input)?;
    finished.extend(wait_all(pipeline, started, 1).await);
    Ok(finished)
}

async fn put(
    pipeline: &Pipeline,
    settings: &Settings,
    key: &str,
    body: ByteStream,
) -> CliResult<()> {
    pipeline
        .s3()
        .put_object()
        .bucket(settings.source_bucket())
        .key(key)
        .body(body)
        .send()
        .await?;
    Ok(())
}
