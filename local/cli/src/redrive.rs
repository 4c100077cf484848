//! `copyflow redrive`: RedriveExecution for one execution (by ARN, name or object key) or, with
//! `--failed`, for every FAILED, TIMED_OUT and ABORTED one; locally or with `--aws`.
//!
//! A redrive continues from the state the execution stopped in. copyflow's named failures
//! (KeyRejected, CopyFailed, ...) are Fail states, so redriving one fails it again; to run
//! the pipeline again for such objects after fixing a setting, `copyflow backfill
//! --retry-failed` starts new executions. Redrive is for executions stopped or timed out
//! mid-copy, and Tasks that failed without a Catch.

use std::collections::BTreeMap;

use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::ExecutionStatus;
use copyflow::outln;
use copyflow::output::escape;
use copyflow::sdk_error::one_line;

use crate::CliResult;
use crate::views::{self, Target};

/// Which executions to redrive.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Which {
    /// Execution name or ARN, or an object key (its newest execution).
    #[arg(required_unless_present = "failed")]
    pub execution: Option<String>,
    /// Every FAILED, TIMED_OUT and ABORTED execution of the state machine instead.
    #[arg(long, conflicts_with = "execution")]
    pub failed: bool,
}

/// What one RedriveExecution did.
enum Redrive {
    Redriven,
    /// AWS's reason (ExecutionNotRedrivable).
    Refused(String),
}

async fn redrive(client: &Client, arn: &str) -> CliResult<Redrive> {
    match client.redrive_execution().execution_arn(arn).send().await {
        Ok(_) => Ok(Redrive::Redriven),
        Err(e) if e.code() == Some("ExecutionNotRedrivable") => Ok(Redrive::Refused(
            e.message().unwrap_or("not redrivable").to_owned(),
        )),
        Err(e) => Err(format!("RedriveExecution {}: {}", name_of(arn), one_line(&e)).into()),
    }
}

/// The execution name at the end of its ARN, safe to print.
fn name_of(arn: &str) -> String {
    escape(arn.rsplit(':').next().unwrap_or(arn)).into_owned()
}

/// Every unsuccessful execution, listed before any is redriven (a redriven one turns RUNNING
/// and would shift the pages being read).
async fn unsuccessful(client: &Client, machine: &str) -> CliResult<Vec<String>> {
    let mut arns = Vec::new();
    for status in [
        ExecutionStatus::Failed,
        ExecutionStatus::TimedOut,
        ExecutionStatus::Aborted,
    ] {
        let mut next = None;
        loop {
            let page = views::executions_page(client, machine, Some(status.clone()), next).await?;
            arns.extend(
                page.executions()
                    .iter()
                    .map(|e| e.execution_arn().to_owned()),
            );
            match page.next_token() {
                Some(t) => next = Some(t.to_owned()),
                None => break,
            }
        }
    }
    Ok(arns)
}

/// Returns whether everything asked for was redriven.
pub(crate) async fn run(target: &Target, local_default: &str, which: &Which) -> CliResult<bool> {
    let client = views::client(target, local_default).await;
    if let Some(execution) = &which.execution {
        let arn = views::resolve(&client, target, execution).await?;
        return match redrive(&client, &arn).await? {
            Redrive::Redriven => {
                outln!("redriven {}", name_of(&arn));
                Ok(true)
            }
            Redrive::Refused(reason) => {
                outln!("not redriven {}: {}", name_of(&arn), escape(&reason));
                Ok(false)
            }
        };
    }
    let machine = views::machine_arn(&client, target).await?;
    views::require_standard(&client, &machine).await?;
    let (mut redriven, mut refused) = (0u64, BTreeMap::<String, u64>::new());
    for arn in unsuccessful(&client, &machine).await? {
        match redrive(&client, &arn).await? {
            Redrive::Redriven => {
                redriven += 1;
                outln!("redriven {}", name_of(&arn));
            }
            Redrive::Refused(reason) => *refused.entry(reason).or_default() += 1,
        }
    }
    let not: u64 = refused.values().sum();
    outln!("redrive: {redriven} executions redriven, {not} not redrivable");
    for (reason, n) in &refused {
        outln!("  {n}: {}", escape(reason));
    }
    Ok(true)
}
