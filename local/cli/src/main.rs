//! `copyflow`: verified S3-to-S3 copies, run locally or inspected on AWS.

mod backfill;
mod config;
mod console_cmd;
mod demo;
mod priority;
mod redrive;
mod replay_dlq;
mod run;
mod stats_cmd;
mod up;
mod views;

pub use copyflow::{CliResult, render, sfn_api};

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: see the workspace Cargo.toml for why.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(version, about = "Event-driven, verified S3-to-S3 copies")]
struct Cli {
    /// The pipeline settings.
    #[arg(long, global = true, default_value = copyflow_core::SETTINGS_FILE)]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole pipeline on a sample tree of files, on loopback, and show every execution.
    Demo,
    /// Run the local stack (S3 + Step Functions API) until Ctrl-C; data under local.dataDir.
    Up {
        /// Inject S3 faults into the embedded server, e.g. 'slowdown=5%,internal=3%,drop=2%,latency=10%:50ms'.
        #[arg(long)]
        faults: Option<String>,
        /// The seed of the fault injection (the same seed replays the same faults).
        #[arg(long, default_value_t = 0, requires = "faults")]
        fault_seed: u64,
        /// Run the steps as the Lambda binaries in DIR (DIR/validate-key or
        /// DIR/validate-key/bootstrap, ...; e.g. target/debug after cargo build --bins) under a
        /// local Lambda Runtime API, instead of in-process.
        #[arg(long, value_name = "DIR")]
        lambda_binaries: Option<PathBuf>,
        /// Sandboxes each function may run at once with --lambda-binaries.
        #[arg(long, default_value_t = copyflow::lambda_host::DEFAULT_CONCURRENCY, requires = "lambda_binaries")]
        lambda_concurrency: usize,
    },
    /// List executions (status, outcome, duration, object), newest first.
    Executions {
        #[command(flatten)]
        target: views::Target,
        #[arg(long, default_value_t = 20)]
        limit: i32,
        #[command(flatten)]
        filter: views::Filter,
    },
    /// Show one execution's path through the states and its full event history.
    History {
        /// Execution name or ARN, or an object key (its newest execution).
        execution: String,
        #[command(flatten)]
        target: views::Target,
    },
    /// Start executions for objects already in the source bucket.
    Backfill {
        #[command(flatten)]
        target: views::Target,
        #[command(flatten)]
        source: backfill::Source,
    },
    /// Run unsuccessful executions again from the state they stopped in (RedriveExecution).
    Redrive {
        #[command(flatten)]
        which: redrive::Which,
        #[command(flatten)]
        target: views::Target,
    },
    /// Executions by outcome, copies per minute, bytes, failures by error, latency p50/p99/max.
    Stats(stats_cmd::StatsArgs),
    /// Start an execution for each event in the EventBridge rule's dead-letter queue (--aws).
    ReplayDlq(replay_dlq::ReplayArgs),
    /// Run one execution for an EventBridge event file.
    Run(run::RunArgs),
    /// Serve the web console over a deployed pipeline (--aws) or a Step Functions endpoint.
    Console(console_cmd::ConsoleArgs),
}

fn main() -> ExitCode {
    // s3s logs every S3 error answer (a HEAD of a missing key, a NotImplemented) at error
    // level; they are answers, not faults of ours: RUST_LOG=s3s=debug shows them.
    let default_level = "warn,s3s::ops=off";
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_level.into()),
        )
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal, never in a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let up = matches!(cli.command, Command::Up { .. });
    let runtimes = match Runtimes::build(up) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = runtimes.server.as_ref().map(|r| r.handle().clone());
    let outcome = runtimes.main.block_on(execute(cli, server));
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The runtimes of one command: `up` serves the embedded S3 server on a runtime of its own,
/// at the process's priority, and runs everything else on lowered threads (see
/// [`priority`]); every other command has one runtime.
struct Runtimes {
    main: tokio::runtime::Runtime,
    server: Option<tokio::runtime::Runtime>,
}

impl Runtimes {
    fn build(up: bool) -> std::io::Result<Runtimes> {
        // Built first, from this thread, so its threads keep this thread's priority.
        let server = match up {
            true => Some(
                tokio::runtime::Builder::new_multi_thread()
                    .thread_name("copyflow-s3")
                    .enable_all()
                    .build()?,
            ),
            false => None,
        };
        let mut main = tokio::runtime::Builder::new_multi_thread();
        main.enable_all();
        if up {
            main.on_thread_start(priority::lower_current_thread);
        }
        Ok(Runtimes {
            main: main.build()?,
            server,
        })
    }
}

async fn execute(cli: Cli, server_runtime: Option<tokio::runtime::Handle>) -> CliResult<bool> {
    let settings = config::load(&cli.config)?;
    let sfn_local = settings.sfn_address().to_string();
    let stack = copyflow::deploy::stack_name(&settings);
    match cli.command {
        Command::Demo => demo::run(settings).await,
        Command::Up {
            faults,
            fault_seed,
            lambda_binaries,
            lambda_concurrency,
        } => {
            let faults = faults
                .map(|spec| copyflow_s3::faults::FaultPlan::parse_spec(&spec, fault_seed))
                .transpose()
                .map_err(|e| format!("--faults: {e}"))?;
            let binaries = lambda_binaries.map(|dir| {
                let mut b = copyflow::lambda_host::LambdaBinaries::new(dir);
                b.concurrency = lambda_concurrency.max(1);
                b
            });
            up::run(settings, faults, binaries, server_runtime)
                .await
                .map(|()| true)
        }
        Command::Executions {
            target,
            limit,
            filter,
        } => views::executions(
            &target.with_stack_default(stack),
            &sfn_local,
            limit,
            &filter,
        )
        .await
        .map(|()| true),
        Command::History { execution, target } => {
            views::show(&target.with_stack_default(stack), &sfn_local, &execution)
                .await
                .map(|()| true)
        }
        Command::Backfill { target, source } => {
            backfill::run(&settings, &target.with_stack_default(stack), &source)
                .await
                .map(|()| true)
        }
        Command::Redrive { which, target } => {
            redrive::run(&target.with_stack_default(stack), &sfn_local, &which).await
        }
        Command::Stats(mut args) => {
            args.target = args.target.with_stack_default(stack);
            stats_cmd::run(&args, &sfn_local).await.map(|()| true)
        }
        Command::ReplayDlq(mut args) => {
            args.target = args.target.with_stack_default(stack);
            replay_dlq::run(&args, &sfn_local).await
        }
        Command::Run(args) => run::run(settings, &args).await,
        Command::Console(mut args) => {
            args.target = args.target.with_stack_default(stack);
            console_cmd::run(&settings, &args).await.map(|()| true)
        }
    }
}
