//! `copyflow console`: the web console over a deployed pipeline (`--aws`) or any Step
//! Functions API (`--endpoint-url`). `copyflow up` serves the same console over the local
//! runtime by itself.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use copyflow::console::{self, source::aws::AwsSource};
use copyflow::outln;
use copyflow_core::Settings;

use crate::{CliResult, views};

/// Where the console reads from and where it listens.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ConsoleArgs {
    #[command(flatten)]
    pub target: views::Target,
    /// Where to serve it (default: local.consoleAddress).
    #[arg(long)]
    pub address: Option<SocketAddr>,
    /// Without --aws: the S3 endpoint live progress reads (default: local.s3Address).
    #[arg(long, conflicts_with = "aws")]
    pub s3_endpoint_url: Option<String>,
}

/// How often the live feed reads ListExecutions: AWS allows about 2 a second per account.
const AWS_POLL: Duration = Duration::from_secs(3);
const LOCAL_POLL: Duration = Duration::from_secs(1);

pub(crate) async fn run(settings: &Settings, args: &ConsoleArgs) -> CliResult<()> {
    let target = &args.target;
    let sfn_local = settings.sfn_address().to_string();
    let sfn = views::client(target, &sfn_local).await;
    let machine = views::machine_arn(&sfn, target).await?;
    let s3 = if target.aws {
        aws_sdk_s3::Client::new(&views::aws_config(target).await)
    } else {
        let endpoint = args
            .s3_endpoint_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", settings.s3_address()));
        copyflow_core::s3::client_for_endpoint(
            &endpoint,
            copyflow_s3::DEFAULT_ACCESS_KEY,
            copyflow_s3::DEFAULT_SECRET_KEY,
            target.region.as_deref().unwrap_or("us-east-1"),
        )
    };
    let source = Arc::new(AwsSource::new(sfn, s3, machine.clone()));
    let address = args.address.unwrap_or_else(|| settings.console_address());
    let poll = if target.aws { AWS_POLL } else { LOCAL_POLL };
    let (bound, task) = console::serve(address, source, poll).await.map_err(|e| {
        format!(
            "cannot listen on {address}: {e}. A running `copyflow up` serves the console there already; or pass --address"
        )
    })?;
    outln!("console for {machine}");
    outln!("  http://{bound}/   (Ctrl-C stops)");
    let _ = tokio::signal::ctrl_c().await;
    task.abort();
    Ok(())
}
