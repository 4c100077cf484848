//! `copyflow stats`: the dashboard's figures (executions by outcome, copies per minute, bytes
//! copied, failures by error name, event-to-verified latency p50/p99/max) from the recorded
//! executions, over all of them or `--since DURATION`.
//!
//! It reads through the Step Functions API (ListExecutions, then DescribeExecution for each,
//! and for a failed one the newest page of its history, for the Fail state it ended in),
//! so it works against a running `copyflow up` (which holds the execution store) and, with
//! `--aws`, against the deployed state machine; there it reads the newest `--limit` (1,000)
//! executions rather than the CloudWatch metrics (that would take another SDK crate), and
//! Express state machines, which Step Functions keeps no execution list for, are refused.

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use copyflow::outln;
use copyflow::stats::{Record, Stats, aggregate, parse_duration};

use crate::CliResult;
use crate::views::{self, Target};

/// What `copyflow stats` reads.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct StatsArgs {
    #[command(flatten)]
    pub target: Target,
    /// Only executions started within this long before now (e.g. 15m, 2h, 1d).
    #[arg(long, value_parser = parse_duration)]
    pub since: Option<f64>,
    /// Read at most this many executions, newest first (default 10,000; with --aws 1,000:
    /// DescribeExecution is throttled to a few tens a second once its burst is spent).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Print the figures as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub(crate) async fn run(args: &StatsArgs, local_default: &str) -> CliResult<()> {
    let client = views::client(&args.target, local_default).await;
    let machine = views::machine_arn(&client, &args.target).await?;
    views::require_standard(&client, &machine).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let cutoff = args.since.map(|s| now - s);
    let limit = args
        .limit
        .unwrap_or(if args.target.aws { 1_000 } else { 10_000 });
    let mut records = Vec::new();
    let mut next = None;
    'pages: loop {
        let page = views::executions_page(&client, &machine, None, next).await?;
        for e in page.executions() {
            let start = e.start_date().as_secs_f64();
            if cutoff.is_some_and(|c| start < c) || records.len() >= limit {
                break 'pages;
            }
            let d = views::describe(&client, e.execution_arn()).await?;
            let parse = |s: Option<&str>| s.and_then(|s| serde_json::from_str(s).ok());
            let (input, output) = (parse(d.input()), parse(d.output()));
            let fail_state = match d.status() {
                ExecutionStatus::Failed => fail_state(&client, e.execution_arn()).await?,
                _ => None,
            };
            records.push(Record::from_description(
                d.status().as_str(),
                input.as_ref(),
                output.as_ref(),
                d.error(),
                fail_state.as_deref(),
                start,
                d.stop_date().map(|t| t.as_secs_f64()),
            ));
        }
        match page.next_token() {
            Some(t) => next = Some(t.to_owned()),
            None => break,
        }
    }
    let stats = aggregate(&records, args.since);
    if args.json {
        outln!("{}", serde_json::to_string(&stats)?);
    } else {
        print_human(&stats, args.since.is_some());
    }
    Ok(())
}

/// The Fail state a failed execution ended in: the newest FailStateEntered of its history,
/// read newest first (one short page; the error name alone would merge `CopyFailed` and
/// `ValidationFailed`).
async fn fail_state(client: &aws_sdk_sfn::Client, arn: &str) -> CliResult<Option<String>> {
    let page = client
        .get_execution_history()
        .execution_arn(arn)
        .reverse_order(true)
        .max_results(10)
        .send()
        .await
        .map_err(|e| {
            format!(
                "GetExecutionHistory {arn}: {}",
                copyflow::sdk_error::one_line(&e)
            )
        })?;
    Ok(page
        .events()
        .iter()
        .find(|e| *e.r#type() == HistoryEventType::FailStateEntered)
        .and_then(|e| e.state_entered_event_details())
        .map(|d| d.name().to_owned()))
}

fn print_human(s: &Stats, since: bool) {
    let over = if since { "the last" } else { "a span of" };
    outln!(
        "executions {}   copies {} ({:.1}/min over {over} {})   bytes copied {}",
        s.executions,
        s.copies,
        s.copies_per_minute,
        copyflow::render::duration(s.window_seconds),
        copyflow::console::progress::human_bytes(s.bytes_copied as f64),
    );
    let list = |m: &std::collections::BTreeMap<String, u64>| {
        if m.is_empty() {
            return "none".to_owned();
        }
        m.iter()
            .map(|(k, n)| format!("{} {n}", copyflow::output::escape(k)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    outln!("by outcome        {}", list(&s.by_outcome));
    outln!("failures by error {}", list(&s.failures_by_error));
    match &s.latency {
        Some(l) => outln!(
            "latency (S3 event -> verified, {} copies)  p50 {}  p99 {}  max {}",
            l.count,
            copyflow::render::duration(l.p50),
            copyflow::render::duration(l.p99),
            copyflow::render::duration(l.max),
        ),
        None => outln!("latency           no copies to measure"),
    }
}
