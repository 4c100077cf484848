//! `copyflow executions` and `copyflow history`: read executions through the Step Functions
//! API with aws-sdk-sfn, so the same commands work against a local `copyflow up` and a
//! pipeline deployed on AWS.

use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sfn::types::HistoryEvent;

use crate::{CliResult, render};

/// Which Step Functions to talk to.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// Step Functions endpoint (default: the local one from copyflow.json).
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// Talk to AWS itself (credentials and region from the usual AWS environment).
    #[arg(long, conflicts_with = "endpoint_url")]
    pub aws: bool,
    #[arg(long)]
    pub region: Option<String>,
    /// The state machine (default: the one named "copyflow", or whose name contains it).
    #[arg(long)]
    pub state_machine_arn: Option<String>,
}

pub async fn client(target: &Target, local_default: &str) -> Client {
    if target.aws {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(copyflow_core::s3::https_client());
        if let Some(r) = &target.region {
            loader = loader.region(Region::new(r.clone()));
        }
        return Client::new(&loader.load().await);
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

pub async fn machine_arn(client: &Client, target: &Target) -> CliResult<String> {
    if let Some(arn) = &target.state_machine_arn {
        return Ok(arn.clone());
    }
    let out = client.list_state_machines().send().await.map_err(|e| format!("ListStateMachines failed ({}): is `copyflow up` running, or pass --aws / --endpoint-url", aws_smithy_types::error::display::DisplayErrorContext(&e)))?;
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

/// One history event in the renderer's terms.
pub fn event(e: &HistoryEvent) -> render::Event {
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

pub async fn history(client: &Client, arn: &str) -> CliResult<Vec<HistoryEvent>> {
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
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                )
            })?;
        events.extend(page.events().iter().cloned());
        match page.next_token() {
            Some(t) => next = Some(t.to_owned()),
            None => return Ok(events),
        }
    }
}

fn object_key(input: Option<&str>) -> String {
    let input: serde_json::Value = input
        .and_then(|i| serde_json::from_str(i).ok())
        .unwrap_or_default();
    let raw = input["detail"]["object"]["key"]
        .as_str()
        .unwrap_or_default();
    copyflow_core::keys::form_decode(raw).unwrap_or_else(|_| raw.to_owned())
}

/// `copyflow executions`: newest first.
pub async fn executions(target: &Target, local_default: &str, limit: i32) -> CliResult<()> {
    let client = client(target, local_default).await;
    let machine = machine_arn(&client, target).await?;
    let list = client
        .list_executions()
        .state_machine_arn(&machine)
        .max_results(limit)
        .send()
        .await
        .map_err(|e| {
            format!(
                "ListExecutions: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            )
        })?;
    println!(
        "{:<38} {:<10} {:<19} {:>9}  object",
        "execution", "status", "outcome", "duration"
    );
    for e in list.executions() {
        let d = client
            .describe_execution()
            .execution_arn(e.execution_arn())
            .send()
            .await
            .map_err(|err| {
                format!(
                    "DescribeExecution: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&err)
                )
            })?;
        let events: Vec<render::Event> = history(&client, e.execution_arn())
            .await?
            .iter()
            .map(event)
            .collect();
        let path = render::path(&events);
        let duration = e.stop_date().map_or_else(
            || "running".to_owned(),
            |stop| render::duration(stop.as_secs_f64() - e.start_date().as_secs_f64()),
        );
        println!(
            "{:<38} {:<10} {:<19} {:>9}  {}",
            e.name(),
            e.status().as_str(),
            path.outcome(),
            duration,
            object_key(d.input())
        );
    }
    Ok(())
}

/// `copyflow history <execution>`: the path through the states, then every event.
pub async fn show(target: &Target, local_default: &str, execution: &str) -> CliResult<()> {
    let client = client(target, local_default).await;
    let arn = if execution.starts_with("arn:") {
        execution.to_owned()
    } else {
        let machine = machine_arn(&client, target).await?;
        format!(
            "{}:{execution}",
            machine.replace(":stateMachine:", ":execution:")
        )
    };
    let d = client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .map_err(|e| {
            format!(
                "DescribeExecution {arn}: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            )
        })?;
    let raw = history(&client, &arn).await?;
    let events: Vec<render::Event> = raw.iter().map(event).collect();
    let path = render::path(&events);
    println!("execution  {}", d.name().unwrap_or(execution));
    println!("object     {}", object_key(d.input()));
    println!(
        "status     {}  outcome {}  {}",
        d.status().as_str(),
        path.outcome(),
        path.seconds.map_or_else(String::new, render::duration)
    );
    println!("path       {}", path.one_line());
    if let (Some(e), Some(c)) = (&path.error, &path.cause) {
        println!("error      {e}: {c}");
    }
    if let Some(out) = d.output() {
        println!("output     {out}");
    }
    println!(
        "\n{:>4} {:>4} {:>9}  {:<28} detail",
        "id", "prev", "+time", "type"
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
        println!(
            "{:>4} {:>4} {:>9}  {:<28} {}",
            e.id(),
            e.previous_event_id(),
            render::duration(ev.timestamp - start),
            ev.kind,
            detail
        );
    }
    Ok(())
}
