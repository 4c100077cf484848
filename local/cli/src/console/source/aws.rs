//! The console over a deployed pipeline: Step Functions' ListExecutions, DescribeExecution,
//! GetExecutionHistory, RedriveExecution and StartExecution through aws-sdk-sfn, with the
//! user's credentials. ListExecutions knows no object keys, so each row is described (and,
//! once ended, cached); key and outcome filters read up to [`SCAN_LIMIT`] executions and say
//! so. The same code reads a local `copyflow up` through its Step Functions API
//! (`--endpoint-url`), which is how the tests exercise it.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_sfn::Client;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use serde_json::{Map, Value, json};

use super::{Described, ListQuery, Machine, Page, Row, Source, SourceError, key_and_size};

/// The most executions one filtered page reads.
pub const SCAN_LIMIT: usize = 1_000;
/// Describe calls in flight at once (DescribeExecution's rate is 15 a second, bucket 250).
const DESCRIBE_CONCURRENCY: usize = 8;

/// A deployed (or any API-reachable) state machine as a console source.
#[derive(Debug)]
pub struct AwsSource {
    sfn: Client,
    s3: aws_sdk_s3::Client,
    machine_arn: String,
    /// Rows of ended executions: they do not change.
    ended: Mutex<HashMap<String, Row>>,
}

impl AwsSource {
    /// Reads `machine_arn` through `sfn`; progress through `s3`.
    pub fn new(sfn: Client, s3: aws_sdk_s3::Client, machine_arn: String) -> AwsSource {
        AwsSource {
            sfn,
            s3,
            machine_arn,
            ended: Mutex::new(HashMap::new()),
        }
    }

    async fn row(&self, arn: &str) -> Result<Row, SourceError> {
        if let Some(row) = self.ended.lock().ok().and_then(|m| m.get(arn).cloned()) {
            return Ok(row);
        }
        let d = self
            .describe(arn)
            .await?
            .ok_or_else(|| SourceError::new("ExecutionDoesNotExist", arn.to_owned()))?;
        let mut row = d.row;
        if row.status != "RUNNING" {
            row.outcome = self.outcome(arn).await?;
            if let Ok(mut m) = self.ended.lock() {
                m.insert(arn.to_owned(), row.clone());
            }
        }
        Ok(row)
    }

    /// The last state the execution entered: its newest history events, read backwards.
    async fn outcome(&self, arn: &str) -> Result<Option<String>, SourceError> {
        let out = self
            .sfn
            .get_execution_history()
            .execution_arn(arn)
            .reverse_order(true)
            .max_results(10)
            .include_execution_data(false)
            .send()
            .await
            .map_err(api)?;
        Ok(out
            .events()
            .iter()
            .find_map(|e| e.state_entered_event_details().map(|d| d.name().to_owned())))
    }
}

fn api<E>(
    e: aws_sdk_sfn::error::SdkError<E, aws_sdk_sfn::config::http::HttpResponse>,
) -> SourceError
where
    E: aws_sdk_sfn::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = match &e {
        aws_sdk_sfn::error::SdkError::ServiceError(s) => s.err().code().unwrap_or("Unknown"),
        _ => "ServiceUnavailable",
    }
    .to_owned();
    SourceError::new(code, crate::sdk_error::one_line(&e))
}

fn epoch(t: &aws_smithy_types::DateTime) -> f64 {
    t.as_secs_f64()
}

#[async_trait::async_trait]
impl Source for AwsSource {
    async fn machine(&self) -> Result<Machine, SourceError> {
        let d = self
            .sfn
            .describe_state_machine()
            .state_machine_arn(&self.machine_arn)
            .send()
            .await
            .map_err(api)?;
        Ok(Machine {
            arn: d.state_machine_arn().to_owned(),
            name: d.name().to_owned(),
            kind: d.r#type().as_str().to_owned(),
            definition: d.definition().to_owned(),
            origin: "aws",
        })
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, SourceError> {
        let filtered = query.outcome.is_some()
            || query.key_prefix.as_deref().is_some_and(|p| !p.is_empty())
            || query.key_contains.as_deref().is_some_and(|p| !p.is_empty());
        let limit = query.page_size() as usize;
        let status = query.status.as_deref().map(ExecutionStatus::from);
        let mut token = query.next.clone();
        let (mut rows, mut read) = (Vec::new(), 0usize);
        loop {
            let page_size = if filtered { 100 } else { limit as i32 };
            let out = self
                .sfn
                .list_executions()
                .state_machine_arn(&self.machine_arn)
                .set_status_filter(status.clone())
                .set_next_token(token.clone())
                .max_results(page_size)
                .send()
                .await
                .map_err(api)?;
            let arns: Vec<String> = out
                .executions()
                .iter()
                .map(|e| e.execution_arn().to_owned())
                .collect();
            read += arns.len();
            for chunk in arns.chunks(DESCRIBE_CONCURRENCY) {
                let described =
                    futures::future::join_all(chunk.iter().map(|arn| self.row(arn))).await;
                for row in described {
                    let row = row?;
                    if query.matches(&row) {
                        rows.push(row);
                    }
                }
            }
            token = out.next_token().map(str::to_owned);
            if !filtered || token.is_none() || rows.len() >= limit || read >= SCAN_LIMIT {
                break;
            }
        }
        let note = (filtered && token.is_some()).then(|| {
            format!(
                "Step Functions cannot filter by key or outcome: this page read {read} executions; the next page reads on"
            )
        });
        Ok(Page {
            rows,
            next: token,
            note,
        })
    }

    async fn describe(&self, arn: &str) -> Result<Option<Described>, SourceError> {
        let d = match self
            .sfn
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
        {
            Ok(d) => d,
            Err(e) => {
                let err = api(e);
                return if err.code == "ExecutionDoesNotExist" {
                    Ok(None)
                } else {
                    Err(err)
                };
            }
        };
        let input = d.input().unwrap_or_default().to_owned();
        let (key, size) = key_and_size(&input);
        Ok(Some(Described {
            row: Row {
                arn: d.execution_arn().to_owned(),
                name: d.name().unwrap_or_default().to_owned(),
                status: d.status().as_str().to_owned(),
                outcome: None,
                key,
                size,
                start: epoch(d.start_date()),
                stop: d.stop_date().map(epoch),
            },
            input,
            output: d.output().map(str::to_owned),
            error: d.error().map(str::to_owned),
            cause: d.cause().map(str::to_owned),
            redrive_count: d.redrive_count().unwrap_or(0).try_into().unwrap_or(0),
        }))
    }

    async fn history(&self, arn: &str) -> Result<Vec<Value>, SourceError> {
        let mut events = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .sfn
                .get_execution_history()
                .execution_arn(arn)
                .max_results(1000)
                .set_next_token(token)
                .send()
                .await
                .map_err(api)?;
            events.extend(out.events().iter().map(event_json));
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(events);
            }
        }
    }

    async fn redrive(&self, arn: &str) -> Result<(), SourceError> {
        self.sfn
            .redrive_execution()
            .execution_arn(arn)
            .send()
            .await
            .map(|_| ())
            .map_err(api)
    }

    async fn start(&self, name: &str, input: &str) -> Result<String, SourceError> {
        let out = self
            .sfn
            .start_execution()
            .state_machine_arn(&self.machine_arn)
            .name(name)
            .input(input)
            .send()
            .await
            .map_err(api)?;
        Ok(out.execution_arn().to_owned())
    }

    fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    fn part_size_hint(&self) -> Option<u64> {
        None
    }
}

fn put(m: &mut Map<String, Value>, k: &str, v: Option<&str>) {
    if let Some(v) = v {
        m.insert(k.to_owned(), Value::String(v.to_owned()));
    }
}

/// One SDK history event in the GetExecutionHistory JSON shape (the details the console
/// reads: names, inputs, outputs, errors, causes, resources).
pub fn event_json(e: &HistoryEvent) -> Value {
    let mut d = Map::new();
    let key: Option<&str> = if let Some(x) = e.state_entered_event_details() {
        put(&mut d, "name", Some(x.name()));
        put(&mut d, "input", x.input());
        Some("stateEnteredEventDetails")
    } else if let Some(x) = e.state_exited_event_details() {
        put(&mut d, "name", Some(x.name()));
        put(&mut d, "output", x.output());
        Some("stateExitedEventDetails")
    } else if let Some(x) = e.execution_started_event_details() {
        put(&mut d, "input", x.input());
        put(&mut d, "roleArn", x.role_arn());
        Some("executionStartedEventDetails")
    } else if let Some(x) = e.execution_succeeded_event_details() {
        put(&mut d, "output", x.output());
        Some("executionSucceededEventDetails")
    } else if let Some(x) = e.execution_failed_event_details() {
        put(&mut d, "error", x.error());
        put(&mut d, "cause", x.cause());
        Some("executionFailedEventDetails")
    } else if let Some(x) = e.execution_aborted_event_details() {
        put(&mut d, "error", x.error());
        put(&mut d, "cause", x.cause());
        Some("executionAbortedEventDetails")
    } else if let Some(x) = e.execution_timed_out_event_details() {
        put(&mut d, "error", x.error());
        put(&mut d, "cause", x.cause());
        Some("executionTimedOutEventDetails")
    } else if let Some(x) = e.execution_redriven_event_details() {
        d.insert("redriveCount".into(), json!(x.redrive_count()));
        Some("executionRedrivenEventDetails")
    } else if let Some(x) = e.task_scheduled_event_details() {
        put(&mut d, "resourceType", Some(x.resource_type()));
        put(&mut d, "resource", Some(x.resource()));
        put(&mut d, "region", Some(x.region()));
        put(&mut d, "parameters", Some(x.parameters()));
        Some("taskScheduledEventDetails")
    } else if let Some(x) = e.task_started_event_details() {
        put(&mut d, "resourceType", Some(x.resource_type()));
        put(&mut d, "resource", Some(x.resource()));
        Some("taskStartedEventDetails")
    } else if let Some(x) = e.task_succeeded_event_details() {
        put(&mut d, "resourceType", Some(x.resource_type()));
        put(&mut d, "resource", Some(x.resource()));
        put(&mut d, "output", x.output());
        Some("taskSucceededEventDetails")
    } else if let Some(x) = e.task_failed_event_details() {
        put(&mut d, "resourceType", Some(x.resource_type()));
        put(&mut d, "resource", Some(x.resource()));
        put(&mut d, "error", x.error());
        put(&mut d, "cause", x.cause());
        Some("taskFailedEventDetails")
    } else if let Some(x) = e.task_timed_out_event_details() {
        put(&mut d, "resourceType", Some(x.resource_type()));
        put(&mut d, "resource", Some(x.resource()));
        put(&mut d, "error", x.error());
        put(&mut d, "cause", x.cause());
        Some("taskTimedOutEventDetails")
    } else if let Some(x) = e.lambda_function_failed_event_details() {
        put(&mut d, "error", x.error());
        put(&mut d, "cause", x.cause());
        Some("lambdaFunctionFailedEventDetails")
    } else if let Some(x) = e.lambda_function_succeeded_event_details() {
        put(&mut d, "output", x.output());
        Some("lambdaFunctionSucceededEventDetails")
    } else if let Some(x) = e.lambda_function_scheduled_event_details() {
        put(&mut d, "resource", Some(x.resource()));
        put(&mut d, "input", x.input());
        Some("lambdaFunctionScheduledEventDetails")
    } else {
        None
    };
    let mut event = json!({
        "id": e.id(),
        "previousEventId": e.previous_event_id(),
        "timestamp": epoch(e.timestamp()),
        "type": e.r#type().as_str(),
    });
    if let (Some(key), Some(m)) = (key, event.as_object_mut()) {
        m.insert(key.to_owned(), Value::Object(d));
    }
    event
}
