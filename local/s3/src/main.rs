//! `copyflow-s3`: the embedded S3 server, standalone, as a local S3 for any tool.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
#[cfg(feature = "faults")]
use copyflow_s3::faults::{FaultPlan, FaultSpecError};
use copyflow_s3::{KeyEncoding, S3Server, ServerConfig};

/// A local S3-compatible server (path-style addressing, SigV4).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on; keep it on loopback.
    #[arg(long, default_value = "127.0.0.1:9000")]
    address: SocketAddr,
    /// Directory that holds buckets and objects (created if missing).
    #[arg(long, default_value = ".copyflow/s3")]
    data: PathBuf,
    #[arg(long, default_value = copyflow_s3::DEFAULT_ACCESS_KEY)]
    access_key: String,
    #[arg(long, default_value = copyflow_s3::DEFAULT_SECRET_KEY)]
    secret_key: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// How object keys are written in Object Created events: raw (unencoded, as EventBridge
    /// is reported to send them), form (as S3 notifications) or percent (as LocalStack).
    #[arg(long, default_value = "raw")]
    event_key_encoding: KeyEncoding,
    /// Print every Object Created event as JSON on stdout.
    #[arg(long)]
    print_events: bool,
    /// Record every Object Created event in the durable outbox (`events.sqlite3`) until a
    /// consumer acknowledges it. Off by default: the standalone server has no consumer, so
    /// the outbox would only grow.
    #[arg(long)]
    durable_events: bool,
    /// Send events only for buckets whose notification configuration turns EventBridge on
    /// (PutBucketNotificationConfiguration), as S3 does; without it every bucket sends them.
    #[arg(long)]
    events_only_when_enabled: bool,
    /// Disconnect a client that sends nothing for this many seconds (before its first
    /// byte, in its headers, between requests, or in the middle of a body).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout_secs: u64,
    #[cfg(feature = "faults")]
    #[command(flatten)]
    faults: FaultArgs,
}

/// The fault-injection flags; the binary has them only when built with the `faults` feature.
#[cfg(feature = "faults")]
#[derive(Debug, clap::Args)]
struct FaultArgs {
    /// Inject faults into every operation, e.g.
    /// slowdown=5%,internal=3%,drop=2%,latency=10%:50ms (kinds optional, any order).
    #[arg(long, value_name = "SPEC")]
    faults: Option<String>,
    /// Seed of the fault decisions (the same seed replays the same faults).
    #[arg(long, value_name = "N", default_value_t = 0, requires = "faults")]
    fault_seed: u64,
}

#[cfg(feature = "faults")]
impl FaultArgs {
    fn plan(&self) -> Result<Option<FaultPlan>, FaultSpecError> {
        self.faults
            .as_deref()
            .map(|spec| FaultPlan::parse_spec(spec, self.fault_seed))
            .transpose()
    }

    /// Installs the plan on the running server and says so.
    fn install(&self, plan: Option<FaultPlan>, server: &S3Server) {
        if let Some(plan) = plan {
            println!(
                "  injecting faults: {} (seed {})",
                self.faults.as_deref().unwrap_or(""),
                plan.seed
            );
            server.faults().set_plan(Some(plan));
        }
    }

    /// What was injected, once the server is asked to stop.
    fn report(server: &S3Server) {
        if server.faults().plan().is_some() {
            println!("{}", server.faults().summary());
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    #[cfg(feature = "faults")]
    let plan = match args.faults.plan() {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("error: --faults: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = ServerConfig {
        address: args.address,
        data_dir: args.data,
        access_key: args.access_key,
        secret_key: args.secret_key,
        region: args.region,
        key_encoding: args.event_key_encoding,
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
        durable_events: args.durable_events,
        events_by_default: !args.events_only_when_enabled,
        ..ServerConfig::new(PathBuf::new())
    };
    let server = match S3Server::start(config.clone()).await {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!(
                "error: {} is already in use: stop the other server or pass --address 127.0.0.1:<free port>",
                config.address
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!(
                "error: could not start on {} with data in {}: {e}",
                config.address,
                config.data_dir.display()
            );
            return ExitCode::FAILURE;
        }
    };
    println!(
        "copyflow-s3 serving {} (data: {})",
        server.endpoint(),
        config.data_dir.display()
    );
    println!(
        "  AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_REGION={}",
        config.access_key, config.secret_key, config.region
    );
    println!("  aws --endpoint-url {} s3 ls", server.endpoint());
    #[cfg(feature = "faults")]
    args.faults.install(plan, &server);
    if args.print_events {
        let mut events = server.subscribe();
        tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                if let Ok(json) = serde_json::to_string(&*e) {
                    println!("{json}");
                }
            }
        });
    }
    let _ = tokio::signal::ctrl_c().await;
    #[cfg(feature = "faults")]
    FaultArgs::report(&server);
    println!("stopping");
    server.shutdown().await;
    ExitCode::SUCCESS
}
