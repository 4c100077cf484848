//! `copyflow run --event event.json`: one execution for a given EventBridge event, against
//! the embedded server or any S3 endpoint given by flags.

use copyflow::outln;
use std::net::SocketAddr;
use std::path::PathBuf;

use copyflow_core::Settings;

use crate::{CliResult, render, views};
use copyflow::lock::DataDirLock;
use copyflow::pipeline::{DEFAULT_MAX_RUNNING, Pipeline, PipelineOptions, S3Target};

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RunArgs {
    /// The EventBridge `Object Created` event (JSON file).
    #[arg(long)]
    pub event: PathBuf,
    /// Use this S3 endpoint instead of the embedded server (e.g. LocalStack or MinIO).
    #[arg(long)]
    pub s3_endpoint: Option<String>,
    #[arg(long, default_value = copyflow_s3::DEFAULT_ACCESS_KEY)]
    pub access_key: String,
    #[arg(long, default_value = copyflow_s3::DEFAULT_SECRET_KEY)]
    pub secret_key: String,
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Run the steps as the Lambda binaries in DIR (see `up --lambda-binaries`).
    #[arg(long, value_name = "DIR")]
    pub lambda_binaries: Option<PathBuf>,
}

pub(crate) async fn run(settings: Settings, args: &RunArgs) -> CliResult<bool> {
    let input = std::fs::read_to_string(&args.event)
        .map_err(|e| format!("cannot read {}: {e}", args.event.display()))?;
    serde_json::from_str::<serde_json::Value>(&input)
        .map_err(|e| format!("{} is not JSON: {e}", args.event.display()))?;
    let data = settings.data_dir();
    // A running `up` owns the data directory: run the execution there, never behind its back.
    if args.s3_endpoint.is_none()
        && let Some(holder) = DataDirLock::holder(&data)
        && let Some(sfn) = &holder.sfn_address
    {
        return run_on_up(sfn, holder.pid, &input).await;
    }
    let _lock = match &args.s3_endpoint {
        None => Some(DataDirLock::acquire(&data, "run")?),
        Some(_) => None,
    };
    let s3 = match &args.s3_endpoint {
        Some(endpoint) => S3Target::External {
            endpoint: endpoint.clone(),
            access_key: args.access_key.clone(),
            secret_key: args.secret_key.clone(),
            region: args.region.clone(),
        },
        None => S3Target::Embedded {
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data.join("s3"),
        },
    };
    let (pipeline, _) = Pipeline::start(PipelineOptions {
        settings,
        s3,
        executions_dir: None,
        max_running: DEFAULT_MAX_RUNNING,
        lambda_binaries: args
            .lambda_binaries
            .as_ref()
            .map(copyflow::lambda_host::LambdaBinaries::new),
        server_runtime: None,
    })
    .await?;
    let started = pipeline.start_execution(pipeline.machine_arn(), None, &input)?;
    let done = pipeline
        .executions()
        .engine()
        .wait_for(&started.execution_arn)
        .await
        .ok_or("the execution vanished")?;
    let events: Vec<render::Event> = pipeline
        .executions()
        .history(&started.execution_arn)
        .unwrap_or_default()
        .iter()
        .map(render::Event::from_json)
        .collect();
    let succeeded = report(&events, done.status.as_str(), done.output.as_deref());
    pipeline.shutdown().await;
    Ok(succeeded)
}

/// Starts the execution on the running `up` through its Step Functions API and waits for it.
async fn run_on_up(sfn: &str, pid: u32, input: &str) -> CliResult<bool> {
    outln!("using the running copyflow up (pid {pid}, Step Functions API on {sfn})");
    let target = views::Target {
        endpoint_url: Some(format!("http://{sfn}")),
        aws: false,
        region: None,
        state_machine_arn: None,
        stack_name: None,
    };
    let client = views::client(&target, sfn).await;
    let machine = views::machine_arn(&client, &target).await?;
    let started = client
        .start_execution()
        .state_machine_arn(&machine)
        .input(input)
        .send()
        .await
        .map_err(|e| {
            format!(
                "StartExecution on the running up: {}",
                copyflow::sdk_error::one_line(&e)
            )
        })?;
    let arn = started.execution_arn().to_owned();
    let done = loop {
        let d = views::describe(&client, &arn).await?;
        if d.status() != &aws_sdk_sfn::types::ExecutionStatus::Running {
            break d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let events: Vec<render::Event> = views::history(&client, &arn)
        .await?
        .iter()
        .map(views::event)
        .collect();
    Ok(report(&events, done.status().as_str(), done.output()))
}

/// Prints the outcome, the path and the output; true if the execution succeeded.
fn report(events: &[render::Event], status: &str, output_text: Option<&str>) -> bool {
    let path = render::path(events);
    outln!(
        "{} {}  [{}]",
        path.outcome(),
        status,
        path.seconds.map_or_else(String::new, render::duration)
    );
    outln!("  {}", path.one_line());
    let output = output_text.and_then(|o| serde_json::from_str(o).ok());
    if let Some(line) = render::summary(output.as_ref(), &path) {
        outln!("  {line}");
    }
    if let Some(out) = output_text {
        outln!("{}", copyflow::output::escape(out));
    }
    path.status == "SUCCEEDED"
}
