//! `copyflow run --event event.json`: one execution for a given EventBridge event, against
//! the embedded server or any S3 endpoint given by flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use copyflow_core::Settings;

use crate::{CliResult, render};
use copyflow::pipeline::{Pipeline, PipelineOptions, S3Target};

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
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
}

pub async fn run(settings: Settings, config_path: &Path, args: &RunArgs) -> CliResult<bool> {
    let input = std::fs::read_to_string(&args.event)
        .map_err(|e| format!("cannot read {}: {e}", args.event.display()))?;
    serde_json::from_str::<serde_json::Value>(&input)
        .map_err(|e| format!("{} is not JSON: {e}", args.event.display()))?;
    let s3 = match &args.s3_endpoint {
        Some(endpoint) => S3Target::External {
            endpoint: endpoint.clone(),
            access_key: args.access_key.clone(),
            secret_key: args.secret_key.clone(),
            region: args.region.clone(),
        },
        None => S3Target::Embedded {
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: crate::config::data_dir(&settings, config_path).join("s3"),
        },
    };
    let (pipeline, _) = Pipeline::start(PipelineOptions {
        settings,
        s3,
        executions_dir: None,
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
    let path = render::path(&events);
    println!(
        "{} {}  [{}]",
        path.outcome(),
        done.status.as_str(),
        path.seconds.map_or_else(String::new, render::duration)
    );
    println!("  {}", path.one_line());
    let output = done
        .output
        .as_deref()
        .and_then(|o| serde_json::from_str(o).ok());
    if let Some(line) = render::summary(output.as_ref(), &path) {
        println!("  {line}");
    }
    if let Some(out) = &done.output {
        println!("{out}");
    }
    pipeline.shutdown().await;
    Ok(path.status == "SUCCEEDED")
}
