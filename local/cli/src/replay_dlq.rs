//! `copyflow replay-dlq`: a way back in for the S3 events EventBridge could not deliver. The
//! rule's target sends what it gave up on (after its retry policy: by default 24 hours and
//! 185 attempts) to an SQS dead-letter queue, each message body the original event
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html>). This starts
//! an execution for each, then deletes the message, in that order, so an event is never lost:
//!
//! - The execution is named after the event id (`dlq-<id>`), so replaying the same message
//!   twice (a crash between start and delete, a second run) starts one execution: Step
//!   Functions answers ExecutionAlreadyExists for a name it has seen (Standard keeps names for
//!   90 days), which counts as done and deletes the message.
//! - A message whose execution does not start stays in the queue, made visible again at the
//!   end of the run, and the command exits 1; so does a body that is not an event.
//!
//! With `--aws` the queue is the deployed stack's `DeadLetterQueueUrl` output; `--queue-url`
//! names one directly (and `--sqs-endpoint-url` another SQS endpoint, as tests do).

use std::collections::BTreeMap;

use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sqs::config::Region;
use copyflow::outln;
use copyflow::output::escape;
use copyflow::sdk_error::one_line;
use serde_json::Value;

use crate::CliResult;
use crate::views::{self, Target};

/// Which queue, and which state machine the events start.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ReplayArgs {
    #[command(flatten)]
    pub target: Target,
    /// The dead-letter queue (default, with --aws: the stack's DeadLetterQueueUrl output).
    #[arg(long)]
    pub queue_url: Option<String>,
    /// The SQS endpoint (default: the AWS one for the region).
    #[arg(long)]
    pub sqs_endpoint_url: Option<String>,
}

/// How long a received message stays hidden from other readers while its execution starts.
const VISIBILITY_SECONDS: i32 = 300;

/// The execution name for an event: `dlq-` and its id, reduced to the characters Step
/// Functions allows in a name (letters, digits, `-`, `_`), at most 80 characters. None when the
/// event has no id (it cannot be replayed idempotently).
pub(crate) fn execution_name(event: &Value) -> Option<String> {
    let id = event["id"].as_str().filter(|id| !id.is_empty())?;
    let clean: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Some(format!("dlq-{clean}").chars().take(80).collect())
}

/// What happened to one message.
enum Replayed {
    Started,
    AlreadyStarted,
    /// Left in the queue: why.
    Kept(String),
}

async fn queue_url(args: &ReplayArgs) -> CliResult<String> {
    if let Some(url) = &args.queue_url {
        return Ok(url.clone());
    }
    if !args.target.aws {
        return Err("the local runtime has no dead-letter queue: pass --aws (the deployed stack's queue) or --queue-url".into());
    }
    let stack = args.target.stack_name.as_deref().unwrap_or("Copyflow");
    let cfn = aws_sdk_cloudformation::Client::new(&views::aws_config(&args.target).await);
    let out = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| {
            format!(
                "DescribeStacks {stack}: {} (deploy the stack, or pass --stack-name / --queue-url)",
                one_line(&e)
            )
        })?;
    out.stacks()
        .iter()
        .flat_map(|s| s.outputs())
        .find(|o| o.output_key() == Some("DeadLetterQueueUrl"))
        .and_then(|o| o.output_value())
        .map(str::to_owned)
        .ok_or_else(|| {
            format!("stack {stack} has no DeadLetterQueueUrl output: pass --queue-url").into()
        })
}

async fn sqs_client(args: &ReplayArgs) -> aws_sdk_sqs::Client {
    let config = views::aws_config(&args.target).await;
    let mut builder = aws_sdk_sqs::config::Builder::from(&config);
    if let Some(endpoint) = &args.sqs_endpoint_url {
        builder = builder.endpoint_url(endpoint);
    }
    if config.region().is_none() {
        builder = builder.region(Region::new("us-east-1"));
    }
    aws_sdk_sqs::Client::from_conf(builder.build())
}

async fn start(sfn: &aws_sdk_sfn::Client, machine: &str, body: &str) -> CliResult<Replayed> {
    let Some(name) = serde_json::from_str::<Value>(body)
        .ok()
        .as_ref()
        .and_then(execution_name)
    else {
        return Ok(Replayed::Kept(
            "the message body is not an EventBridge event with an id".to_owned(),
        ));
    };
    match sfn
        .start_execution()
        .state_machine_arn(machine)
        .name(&name)
        .input(body)
        .send()
        .await
    {
        Ok(_) => Ok(Replayed::Started),
        Err(e) if e.code() == Some("ExecutionAlreadyExists") => Ok(Replayed::AlreadyStarted),
        Err(e) => Ok(Replayed::Kept(format!("StartExecution: {}", one_line(&e)))),
    }
}

/// Returns whether every message was replayed (and deleted).
pub(crate) async fn run(args: &ReplayArgs, local_default: &str) -> CliResult<bool> {
    let url = queue_url(args).await?;
    let sqs = sqs_client(args).await;
    let sfn = views::client(&args.target, local_default).await;
    let machine = views::machine_arn(&sfn, &args.target).await?;
    let (mut started, mut already) = (0u64, 0u64);
    let mut kept: Vec<String> = Vec::new();
    let mut reasons = BTreeMap::<String, u64>::new();
    loop {
        let page = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .visibility_timeout(VISIBILITY_SECONDS)
            // Long polling asks every SQS server, so an empty answer means an empty queue.
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(|e| format!("ReceiveMessage {url}: {}", one_line(&e)))?;
        if page.messages().is_empty() {
            break;
        }
        for m in page.messages() {
            let (Some(body), Some(receipt)) = (m.body(), m.receipt_handle()) else {
                continue;
            };
            match start(&sfn, &machine, body).await? {
                Replayed::Kept(why) => {
                    *reasons.entry(why).or_default() += 1;
                    kept.push(receipt.to_owned());
                    continue;
                }
                Replayed::Started => started += 1,
                Replayed::AlreadyStarted => already += 1,
            }
            // Only now: the execution exists.
            sqs.delete_message()
                .queue_url(&url)
                .receipt_handle(receipt)
                .send()
                .await
                .map_err(|e| format!("DeleteMessage: {}", one_line(&e)))?;
        }
    }
    // What could not be replayed is visible again at once, for the next run and the DLQ alarm.
    for receipt in &kept {
        if let Err(e) = sqs
            .change_message_visibility()
            .queue_url(&url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
        {
            tracing::warn!(error = %one_line(&e), "could not make a kept message visible again");
        }
    }
    outln!(
        "replay-dlq: {started} executions started, {already} already started earlier, {} messages left in the queue",
        kept.len()
    );
    for (why, n) in &reasons {
        outln!("  {n}: {}", escape(why));
    }
    Ok(kept.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_execution_name_is_the_event_id_within_step_functions_rules() {
        let id = "17793124-05d4-b198-2fde-7ededc63b103";
        assert_eq!(
            execution_name(&json!({"id": id})).as_deref(),
            Some("dlq-17793124-05d4-b198-2fde-7ededc63b103")
        );
        assert_eq!(
            execution_name(&json!({"id": "a b:c"})).as_deref(),
            Some("dlq-a_b_c")
        );
        assert_eq!(
            execution_name(&json!({"id": "x".repeat(200)}))
                .unwrap()
                .len(),
            80
        );
        assert_eq!(execution_name(&json!({"id": ""})), None);
        assert_eq!(execution_name(&json!({"detail": {}})), None);
    }
}
