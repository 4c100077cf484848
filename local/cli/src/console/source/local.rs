//! The console over the local runtime: pages and filters are queries on the execution
//! index (by status, key prefix or substring, end state; paged by start order), so a page
//! costs the same with 100 executions or 100,000.

use std::sync::Arc;

use copyflow_asl::{ExecutionFilter, ExecutionStatus, RedriveError, StartError};
use serde_json::Value;

use super::{Described, ListQuery, Machine, Page, Row, Source, SourceError, key_and_size};
use crate::pipeline::Pipeline;

/// The local runtime as a console source.
#[derive(Debug)]
pub struct LocalSource {
    pipeline: Arc<Pipeline>,
    part_size: u64,
}

impl LocalSource {
    /// Reads from (and starts executions on) this pipeline.
    pub fn new(pipeline: Arc<Pipeline>, part_size: u64) -> LocalSource {
        LocalSource {
            pipeline,
            part_size,
        }
    }
}

fn epoch(t: time::OffsetDateTime) -> f64 {
    t.unix_timestamp_nanos() as f64 / 1e9
}

fn row_of(e: &copyflow_asl::StoredExecution, size: Option<u64>) -> Row {
    let d = &e.description;
    Row {
        arn: d.execution_arn.clone(),
        name: d.name.clone(),
        status: d.status.as_str().to_owned(),
        outcome: e
            .last_state
            .clone()
            .filter(|_| d.status != ExecutionStatus::Running),
        key: e.label.clone(),
        size,
        start: epoch(d.start_date),
        stop: d.stop_date.map(epoch),
    }
}

fn bad_request(message: impl Into<String>) -> SourceError {
    SourceError::new("ValidationException", message)
}

#[async_trait::async_trait]
impl Source for LocalSource {
    async fn machine(&self) -> Result<Machine, SourceError> {
        Ok(Machine {
            arn: self.pipeline.machine_arn().to_owned(),
            name: crate::pipeline::STATE_MACHINE.to_owned(),
            kind: "STANDARD".to_owned(),
            definition: self.pipeline.deployed_definition(),
            origin: "local",
        })
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, SourceError> {
        let status = match &query.status {
            None => None,
            Some(s) => Some(
                ExecutionStatus::parse(s)
                    .ok_or_else(|| bad_request(format!("unknown status {s:?}")))?,
            ),
        };
        let before_seq = match &query.next {
            None => None,
            Some(t) => Some(
                t.parse::<u64>()
                    .map_err(|_| bad_request("the page token is not one this console gave"))?,
            ),
        };
        let limit = u64::from(query.page_size());
        let machine = self.pipeline.machine_arn();
        let executions = self.pipeline.executions();
        let mut page = executions.page(&ExecutionFilter {
            machine_arn: machine,
            status,
            label_prefix: query.key_prefix.as_deref().filter(|p| !p.is_empty()),
            label_contains: query.key_contains.as_deref().filter(|p| !p.is_empty()),
            last_state: query.outcome.as_deref().filter(|p| !p.is_empty()),
            before_seq,
            limit: limit + 1,
        });
        let more = page.len() as u64 > limit;
        page.truncate(limit as usize);
        let next = more
            .then(|| page.last().map(|e| e.seq.to_string()))
            .flatten();
        // Summaries carry no input: the size is one lookup by ARN per row of the page.
        let engine = executions.engine();
        let rows = page
            .iter()
            .map(|e| {
                let size = engine
                    .stored_execution(&e.description.execution_arn)
                    .and_then(|full| key_and_size(&full.description.input).1);
                row_of(e, size)
            })
            .collect();
        Ok(Page {
            rows,
            next,
            note: None,
        })
    }

    async fn describe(&self, arn: &str) -> Result<Option<Described>, SourceError> {
        let Some(e) = self.pipeline.executions().engine().stored_execution(arn) else {
            return Ok(None);
        };
        let d = &e.description;
        let size = key_and_size(&d.input).1;
        Ok(Some(Described {
            row: row_of(&e, size),
            input: d.input.clone(),
            output: d.output.clone(),
            error: d.error.clone(),
            cause: d.cause.clone(),
            redrive_count: d.redrive_count,
        }))
    }

    async fn history(&self, arn: &str) -> Result<Vec<Value>, SourceError> {
        self.pipeline.executions().history(arn).ok_or_else(|| {
            SourceError::new(
                "ExecutionDoesNotExist",
                format!("Execution Does Not Exist: '{arn}'"),
            )
        })
    }

    async fn redrive(&self, arn: &str) -> Result<(), SourceError> {
        let engine = self.pipeline.executions().engine();
        engine.redrive(arn).await.map_err(|e| match e {
            RedriveError::ExecutionDoesNotExist(_) => SourceError::new(
                "ExecutionDoesNotExist",
                format!("Execution Does Not Exist: '{arn}'"),
            ),
            RedriveError::ExecutionNotRedrivable(reason) => {
                SourceError::new("ExecutionNotRedrivable", reason)
            }
            other => SourceError::new("InternalFailure", other.to_string()),
        })?;
        engine
            .flush()
            .await
            .map_err(|e| SourceError::new("InternalFailure", e.to_string()))
    }

    async fn start(&self, name: &str, input: &str) -> Result<String, SourceError> {
        let started = self
            .pipeline
            .start_execution(self.pipeline.machine_arn(), Some(name), input)
            .map_err(|e| {
                let code = match e {
                    StartError::InvalidExecutionInput(_) => "InvalidExecutionInput",
                    StartError::ExecutionAlreadyExists(_) => "ExecutionAlreadyExists",
                    _ => "InternalFailure",
                };
                SourceError::new(code, e.to_string())
            })?;
        self.pipeline
            .executions()
            .engine()
            .flush()
            .await
            .map_err(|e| SourceError::new("InternalFailure", e.to_string()))?;
        Ok(started.execution_arn)
    }

    fn s3(&self) -> &aws_sdk_s3::Client {
        self.pipeline.s3()
    }

    fn part_size_hint(&self) -> Option<u64> {
        Some(self.part_size)
    }
}
