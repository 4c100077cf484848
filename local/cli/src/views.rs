//! `copyflow executions` and `copyflow history`: read executions through the Step Functions
//! API with aws-sdk-sfn, so the same commands work against a local `copyflow up` and a
//! pipeline deployed on AWS.

use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sfn::types::HistoryEvent;
use copyflow::outln;

use crate::{CliResult, render};

/// Which Step Functions to talk to.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Target {
    /// Step Functions endpoint (default: the local one from copyflow.json).
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// Talk to AWS itself (credentials and region from the usual AWS environment).
    #[arg(long, conflicts_with = "endpoint_url")]
    pub aws: bool,
    #[arg(long)]
    pub region: Option<String>,
    /// The state machine (default: with --aws, the deployed stack's StateMachineArn output;
    /// locally, the one named "copyflow").
    #[arg(long)]
    pub state_machine_arn: Option<String>,
    /// With --aws: the deployed stack (default: deploy.stackName from copyflow.json).
    #[arg(long)]
    pub stack_name: Option<String>,
}

impl Target {
    /// Fills in the stack name from the settings when none was given.
    pub(crate) fn with_stack_default(mut self, stack_name: String) -> Self {
        self.stack_name.get_or_insert(stack_name);
        self
    }
}

/// The AWS configuration of the user's environment (credentials, region, endpoints).
pub(crate) async fn aws_config(target: &Target) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(copyflow_core::s3::https_client());
    if let Some(r) = &target.region {
        loader = loader.region(Region::new(r.clone()));
    }
    loader.load().await
}

pub(crate) async fn client(target: &Target, local_default: &str) -> Client {
    if target.aws {
        return Client::new(&aws_config(target).await);
    }
    let endpoint = target
        .endpoint_url
        .clone()
        .unwrap_or_else(|| format!("http://{local_default}"));
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(copyflow_core::s3::https_client())
        .credentials_provider(Credentials::new(
            copyflow_s3::DEFAULT_ACCESS_KEY,
            copyflow_s3::DEFAULT_SECRET_KEY,
            None,
            None,
            "copyflow-local",
        ))
        .region(Region::new(
            target
                .region
                .clone()
                .unwrap_or_else(|| "us-east-1".to_owned()),
        ))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(config)
}

pub(crate) async fn machine_arn(client: &Client, target: &Target) -> CliResult<String> {
    if let Some(arn) = &target.state_machine_arn {
        return Ok(arn.clone());
    }
    if target.aws {
        return stack_output(target, "StateMachineArn").await;
    }
    let out = client.list_state_machines().send().await.map_err(|e| {
        format!(
            "ListStateMachines failed ({}): is `copyflow up` running, or pass --aws / --endpoint-url",
            copyflow::sdk_error::one_line(&e)
        )
    })?;
    let machines = out.state_machines();
    machines
        .iter()
        .find(|m| m.name() == "copyflow")
        .or_else(|| {
            machines
                .iter()
                .find(|m| m.name().to_ascii_lowercase().contains("copyflow"))
        })
        .map(|m| m.state_machine_arn().to_owned())
        .ok_or_else(|| "no copyflow state machine found: pass --state-machine-arn".into())
}

/// An output of the deployed stack (`StateMachineArn`, `BackfillStateMachineArn`): the CDK app
/// names no state machine, so CloudFormation generates a name, and the stack is what knows it.
pub(crate) async fn stack_output(target: &Target, key: &str) -> CliResult<String> {
    let stack = target.stack_name.as_deref().unwrap_or("Copyflow");
    let cfn = aws_sdk_cloudformation::Client::new(&aws_config(target).await);
    let out = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| {
            format!(
                "DescribeStacks {stack}: {} (deploy the stack, or pass --stack-name / --state-machine-arn)",
                copyflow::sdk_error::one_line(&e)
            )
        })?;
    out.stacks()
        .iter()
        .flat_map(|s| s.outputs())
        .find(|o| o.output_key() == Some(key))
        .and_then(|o| o.output_value())
        .map(str::to_owned)
        .ok_or_else(|| {
            format!("stack {stack} has no {key} output: deploy the current CDK app, or pass --state-machine-arn").into()
        })
}

/// Refuses an Express state machine with where its executions are instead: Step Functions
/// keeps no history of them in its API (no ListExecutions, GetExecutionHistory or redrive).
pub(crate) async fn require_standard(client: &Client, machine: &str) -> CliResult<()> {
    let d = client
        .describe_state_machine()
        .state_machine_arn(machine)
        .send()
        .await
        .map_err(|e| {
            format!(
                "DescribeStateMachine {machine}: {}",
                copyflow::sdk_error::one_line(&e)
            )
        })?;
    if d.r#type() == &aws_sdk_sfn::types::StateMachineType::Express {
        let logs = d
            .logging_configuration()
            .and_then(|l| l.destinations().first())
            .and_then(|dest| dest.cloud_watch_logs_log_group())
            .and_then(|g| g.log_group_arn())
            .map_or_else(
                || "CloudWatch Logs, if logging is on".to_owned(),
                |arn| format!("CloudWatch Logs ({})", copyflow::output::escape(arn)),
            );
        return Err(format!(
            "{} is an EXPRESS state machine: Step Functions keeps no execution history for it in its API, so there is nothing to list, show or redrive here; its executions are in {logs}",
            d.name()
        )
        .into());
    }
    Ok(())
}

/// One execution's description.
pub(crate) async fn describe(
    client: &Client,
    arn: &str,
) -> CliResult<aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput> {
    client
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| {
            format!(
                "DescribeExecution {arn}: {}",
                copyflow::sdk_error::one_line(&e)
            )
            .into()
        })
}

/// One page (100) of a state machine's executions, newest first.
pub(crate) async fn executions_page(
    client: &Client,
    machine: &str,
    status: Option<aws_sdk_sfn::types::ExecutionStatus>,
    next: Option<String>,
) -> CliResult<aws_sdk_sfn::operation::list_executions::ListExecutionsOutput> {
    client
        .list_executions()
        .state_machine_arn(machine)
        .set_status_filter(status)
        .max_results(100)
        .set_next_token(next)
        .send()
        .await
        .map_err(|e| format!("ListExecutions: {}", copyflow::sdk_error::one_line(&e)).into())
}

/// One history event in the renderer's terms.
pub(crate) fn event(e: &HistoryEvent) -> render::Event {
    let state = e
        .state_entered_event_details()
        .map(|d| d.name().to_owned())
        .or_else(|| e.state_exited_event_details().map(|d| d.name().to_owned()));
    let (error, cause) = if let Some(d) = e.execution_failed_event_details() {
        (d.error(), d.cause())
    } else if let Some(d) = e.lambda_function_failed_event_details() {
        (d.error(), d.cause())
    } else if let Some(d) = e.lambda_function_timed_out_event_details() {
        (d.error(), d.cause())
    } else if let Some(d) = e.task_failed_event_details() {
        (d.error(), d.cause())
    } else if let Some(d) = e.execution_aborted_event_details() {
        (d.error(), d.cause())
    } else {
        (None, None)
    };
    render::Event {
        id: e.id(),
        timestamp: e.timestamp().as_secs_f64(),
        kind: e.r#type().as_str().to_owned(),
        state,
        error: error.map(str::to_owned),
        cause: cause.map(str::to_owned),
    }
}

pub(crate) async fn history(client: &Client, arn: &str) -> CliResult<Vec<HistoryEvent>> {
    let mut events = Vec::new();
    let mut next = None;
    loop {
        let page = client
            .get_execution_history()
            .execution_arn(arn)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "GetExecutionHistory {arn}: {}",
                    copyflow::sdk_error::one_line(&e)
                )
            })?;
        events.extend(page.events().iter().cloned());
        match page.next_token() {
            Some(t) => next = Some(t.to_owned()),
            None => return Ok(events),
        }
    }
}

/// The object key of an execution's input, decoded (not escaped: for comparing).
fn raw_object_key(input: Option<&str>) -> String {
    let input: serde_json::Value = input
        .and_then(|i| serde_json::from_str(i).ok())
        .unwrap_or_default();
    copyflow::executions::object_key(&input).unwrap_or_default()
}

/// The object key of an execution's input, safe to print.
fn object_key(input: Option<&str>) -> String {
    copyflow::output::escape(&raw_object_key(input)).into_owned()
}

/// The newest execution whose object has exactly this key.
async fn newest_for_key(client: &Client, machine: &str, key: &str) -> CliResult<Option<String>> {
    let (mut next, mut read) = (None, 0);
    loop {
        let page = executions_page(client, machine, None, next).await?;
        for e in page.executions() {
            read += 1;
            let d = describe(client, e.execution_arn()).await?;
            if raw_object_key(d.input()) == key {
                return Ok(Some(e.execution_arn().to_owned()));
            }
        }
        match page.next_token() {
            Some(t) if read < SCAN_LIMIT => next = Some(t.to_owned()),
            _ => return Ok(None),
        }
    }
}

/// Which executions `copyflow executions` shows.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct Filter {
    /// Only this status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED).
    #[arg(long)]
    pub status: Option<String>,
    /// Only this outcome (Copied, Skipped, Superseded, KeyRejected, CopyFailed, ...).
    #[arg(long)]
    pub outcome: Option<String>,
    /// Only objects whose key starts with this.
    #[arg(long)]
    pub prefix: Option<String>,
}

/// At most this many executions are read to find `limit` that match a client-side filter.
const SCAN_LIMIT: usize = 10_000;

/// One execution as the views show it.
struct Row {
    name: String,
    status: String,
    outcome: String,
    duration: String,
    key: String,
}

async fn row(client: &Client, e: &aws_sdk_sfn::types::ExecutionListItem) -> CliResult<Row> {
    let d = describe(client, e.execution_arn()).await?;
    let events: Vec<render::Event> = history(client, e.execution_arn())
        .await?
        .iter()
        .map(event)
        .collect();
    let path = render::path(&events);
    Ok(Row {
        name: e.name().to_owned(),
        status: e.status().as_str().to_owned(),
        outcome: path.outcome().to_owned(),
        duration: e.stop_date().map_or_else(
            || "running".to_owned(),
            |stop| render::duration(stop.as_secs_f64() - e.start_date().as_secs_f64()),
        ),
        key: raw_object_key(d.input()),
    })
}

/// The newest executions that pass `filter`, at most `limit` (reading at most SCAN_LIMIT).
async fn matching(
    client: &Client,
    machine: &str,
    filter: &Filter,
    limit: usize,
) -> CliResult<Vec<Row>> {
    let status = filter
        .status
        .as_deref()
        .map(|s| aws_sdk_sfn::types::ExecutionStatus::from(s.to_ascii_uppercase().as_str()));
    let mut rows = Vec::new();
    let (mut next, mut read) = (None, 0);
    loop {
        let page = executions_page(client, machine, status.clone(), next).await?;
        for e in page.executions() {
            read += 1;
            let r = row(client, e).await?;
            let wanted = filter
                .outcome
                .as_deref()
                .is_none_or(|o| r.outcome.eq_ignore_ascii_case(o))
                && filter
                    .prefix
                    .as_deref()
                    .is_none_or(|p| r.key.starts_with(p));
            if wanted {
                rows.push(r);
                if rows.len() >= limit {
                    return Ok(rows);
                }
            }
        }
        match page.next_token() {
            Some(t) if read < SCAN_LIMIT => next = Some(t.to_owned()),
            _ => return Ok(rows),
        }
    }
}

/// `copyflow executions`: newest first, optionally filtered.
pub(crate) async fn executions(
    target: &Target,
    local_default: &str,
    limit: i32,
    filter: &Filter,
) -> CliResult<()> {
    let client = client(target, local_default).await;
    let machine = machine_arn(&client, target).await?;
    require_standard(&client, &machine).await?;
    let rows = matching(
        &client,
        &machine,
        filter,
        usize::try_from(limit).unwrap_or(20),
    )
    .await?;
    outln!(
        "{:<38} {:<10} {:<19} {:>9}  object",
        "execution",
        "status",
        "outcome",
        "duration"
    );
    for r in rows {
        outln!(
            "{:<38} {:<10} {:<19} {:>9}  {}",
            r.name,
            r.status,
            r.outcome,
            r.duration,
            copyflow::output::escape(&r.key)
        );
    }
    Ok(())
}

/// The ARN of an execution given by ARN, by name, or by object key (its newest execution).
pub(crate) async fn resolve(
    client: &Client,
    target: &Target,
    execution: &str,
) -> CliResult<String> {
    if execution.starts_with("arn:") {
        return Ok(execution.to_owned());
    }
    let machine = machine_arn(client, target).await?;
    require_standard(client, &machine).await?;
    let by_name = format!(
        "{}:{execution}",
        machine.replace(":stateMachine:", ":execution:")
    );
    let named = client
        .describe_execution()
        .execution_arn(&by_name)
        .send()
        .await
        .is_ok();
    if named {
        return Ok(by_name);
    }
    // Not a name: an object key, whose newest execution is meant.
    newest_for_key(client, &machine, execution)
        .await?
        .ok_or_else(|| {
            format!(
                "no execution is named {0}, and none of the newest {SCAN_LIMIT} is for an object with that key",
                copyflow::output::escape(execution)
            )
            .into()
        })
}

/// `copyflow history <execution>`: the path through the states, then every event.
pub(crate) async fn show(target: &Target, local_default: &str, execution: &str) -> CliResult<()> {
    let client = client(target, local_default).await;
    let arn = resolve(&client, target, execution).await?;
    let d = describe(&client, &arn).await?;
    let raw = history(&client, &arn).await?;
    let events: Vec<render::Event> = raw.iter().map(event).collect();
    let path = render::path(&events);
    outln!("execution  {}", d.name().unwrap_or(execution));
    outln!("object     {}", object_key(d.input()));
    outln!(
        "status     {}  outcome {}  {}",
        d.status().as_str(),
        path.outcome(),
        path.seconds.map_or_else(String::new, render::duration)
    );
    outln!("path       {}", path.one_line());
    if let (Some(e), Some(c)) = (&path.error, &path.cause) {
        outln!(
            "error      {}: {}",
            copyflow::output::escape(e),
            copyflow::output::escape(c)
        );
    }
    if let Some(out) = d.output() {
        outln!("output     {}", copyflow::output::escape(out));
    }
    outln!(
        "\n{:>4} {:>4} {:>9}  {:<28} detail",
        "id",
        "prev",
        "+time",
        "type"
    );
    let start = events.first().map_or(0.0, |e| e.timestamp);
    for (e, ev) in raw.iter().zip(&events) {
        let detail = ev
            .state
            .clone()
            .or_else(|| {
                ev.error
                    .clone()
                    .map(|err| format!("{err}: {}", ev.cause.clone().unwrap_or_default()))
            })
            .unwrap_or_default();
        outln!(
            "{:>4} {:>4} {:>9}  {:<28} {}",
            e.id(),
            e.previous_event_id(),
            render::duration(ev.timestamp - start),
            ev.kind,
            copyflow::output::escape(&detail)
        );
    }
    Ok(())
}
