//! Distributed Map states: a Map Run whose items each run as a child execution
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html>).
//!
//! - **Items**: from `ItemReader` (`s3:listObjectsV2`, through the integration the host
//!   registers, page by page with `ContinuationToken`, at most `ReaderConfig.MaxItems`), each
//!   item shaped as AWS gives it: `{"Etag", "Key", "LastModified", "Size", "StorageClass"}`;
//!   or from `ItemsPath` as inline. `ItemSelector` runs on each item (`$$.Map.Item.*`), then
//!   `ItemBatcher.MaxItemsPerBatch` groups them as `{"Items": [...]}`.
//! - **Children**: one STANDARD child execution per item (or batch), at most
//!   `MaxConcurrency` at a time (0: AWS's 10,000), with its own history; the parent's
//!   history has `MapStateStarted` → `MapRunStarted` → `MapRunSucceeded` | `MapRunFailed`.
//! - **Failures**: more failed children than `ToleratedFailureCount` / `...Percentage`
//!   allow (none when neither is set) fails the Map Run with
//!   `States.ExceededToleratedFailureThreshold`; no more children start.
//! - **ResultWriter** (`s3:putObject`): `<Prefix>/<map run id>/SUCCEEDED_0.json`,
//!   `FAILED_0.json`, `PENDING_0.json` (each a JSON array of child executions; only the
//!   non-empty ones) and `manifest.json` naming them, written even when the Map Run fails;
//!   the state's result is then `{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}`,
//!   else the array of the children's outputs in item order.

use std::sync::Arc;

use futures::StreamExt;
use serde_json::{Map, Value, json};

use super::{Entered, Halt, Runner, Step, locate, next_of};
use crate::clock::{format_timestamp, uuid_v4};
use crate::context::ExecutionContext;
use crate::dataflow;
use crate::error::{Failure, names};
use crate::execution::{Ending, ExecutionDescription, ExecutionRecord, ExecutionStatus};
use crate::history::{EventDetails, EventType};
use crate::json::to_text;
use crate::lambda::LambdaHandler;
use crate::map_run::{MapRunRecord, MapRunStatus};
use crate::model::{Distributed, Integration, MapState, StateMachine};
use crate::retry::RetryState;

/// AWS's limit on a Distributed Map's concurrent child executions.
const MAX_CHILDREN: usize = 10_000;
const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";

/// How one child ended.
struct Child {
    index: usize,
    description: ExecutionDescription,
}

impl Runner {
    pub(super) async fn run_distributed<'a>(
        &'a self,
        entered: Entered<'a>,
        map: &'a MapState,
        distributed: &'a Distributed,
        input: Value,
    ) -> Result<Step<'a>, Halt> {
        let mut retries = RetryState::new(map.retry.len());
        let mut last = entered.id;
        loop {
            match self.map_run(&entered, map, distributed, &input, last).await {
                Ok((result, id)) => {
                    let id = self.emit(EventType::MapStateSucceeded, EventDetails::None, id);
                    return self.finish_result(
                        &entered,
                        &map.processing,
                        &input,
                        result,
                        None,
                        id,
                        next_of(&map.transition),
                    );
                }
                Err(halt) => {
                    last = halt.last;
                    let recovered = self
                        .recover(
                            &entered,
                            &mut retries,
                            &map.retry,
                            &map.catch,
                            &input,
                            halt.failure,
                            last,
                            Some(EventType::MapStateFailed),
                        )
                        .await?;
                    if let Some(step) = recovered {
                        return Ok(step);
                    }
                }
            }
        }
    }

    /// One Map Run: read the items, run the children, write the results.
    async fn map_run(
        &self,
        entered: &Entered<'_>,
        map: &MapState,
        distributed: &Distributed,
        input: &Value,
        prev: u64,
    ) -> Result<(Value, u64), Halt> {
        let plan = self.plan(entered, map, input).map_err(|f| Halt {
            last: prev,
            ..locate(entered, f)
        })?;
        // The context object is not Send: evaluate everything that needs it between awaits.
        let locate_here = |f: Failure| Halt {
            last: prev,
            ..locate(entered, f)
        };
        let (reader_parameters, writer_parameters) = {
            let ctx = self.context(entered, None);
            let scope = self.scope(&plan.effective, &ctx);
            let eval = |i: &Option<Integration>| match i {
                None => Ok(Value::Null),
                Some(i) => i.parameters.eval(&scope),
            };
            (
                eval(&distributed.reader).map_err(locate_here)?,
                eval(&distributed.writer).map_err(locate_here)?,
            )
        };
        let items = match &distributed.reader {
            None => plan.items.clone(),
            Some(reader) => self
                .read_items(reader, distributed.max_items, reader_parameters)
                .await
                .map_err(|failure| Halt {
                    failure,
                    last: prev,
                })?,
        };
        let inputs = {
            let ctx = self.context(entered, None);
            let mut inputs = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let selected = match &map.item_selector {
                    None => item.clone(),
                    Some(selector) => {
                        let ctx = ctx.with_map_item(index, item);
                        selector
                            .eval(&self.scope(&plan.effective, &ctx))
                            .map_err(locate_here)?
                    }
                };
                inputs.push(selected);
            }
            inputs
        };
        let inputs = match distributed.max_items_per_batch {
            None => inputs,
            Some(n) => inputs
                .chunks(usize::try_from(n).unwrap_or(usize::MAX).max(1))
                .map(|c| json!({ "Items": c }))
                .collect(),
        };
        let started = self.emit(
            EventType::MapStateStarted,
            EventDetails::MapStateStarted {
                length: inputs.len(),
            },
            prev,
        );
        let random = &*self.shared.random;
        let run_id = uuid_v4(random).to_string();
        let label = distributed
            .label
            .clone()
            .unwrap_or_else(|| label_of(&entered.state.name));
        let config = &self.shared.config;
        let machine = &self.execution.state_machine_name;
        let child_machine = format!("{machine}/{label}");
        let run = Arc::new(MapRunRecord::new(
            format!(
                "arn:aws:states:{}:{}:mapRun:{child_machine}:{run_id}",
                config.region, config.account_id
            ),
            self.record.arn.clone(),
            format!(
                "arn:aws:states:{}:{}:stateMachine:{child_machine}",
                config.region, config.account_id
            ),
            self.shared.clock.now(),
            u64::try_from(plan.limit)
                .unwrap_or(0)
                .min(MAX_CHILDREN as u64),
            plan.tolerated_percentage.unwrap_or(0.0),
            plan.tolerated_count.unwrap_or(0.0) as u64,
            inputs.len() as u64,
        ));
        self.shared.add_map_run(run.clone());
        let mut last = self.emit(
            EventType::MapRunStarted,
            EventDetails::MapRunStarted {
                map_run_arn: run.arn.clone(),
            },
            started,
        );
        let total = inputs.len();
        // What a PENDING result entry shows: the child input that never ran.
        let pending_inputs: Vec<String> = match distributed.writer {
            Some(_) => inputs.iter().map(to_text).collect(),
            None => Vec::new(),
        };
        let children: Vec<_> = inputs
            .into_iter()
            .enumerate()
            .map(|(index, input)| self.child(&run, &map.processor, &child_machine, index, input))
            .collect();
        let mut stream =
            futures::stream::iter(children).buffer_unordered(plan.limit.clamp(1, MAX_CHILDREN));
        let mut ended: Vec<Option<ExecutionDescription>> = vec![None; total];
        let mut failures = 0usize;
        let mut exceeded = false;
        while let Some(child) = stream.next().await {
            let Child { index, description } = child;
            if description.status != ExecutionStatus::Succeeded {
                failures += 1;
                exceeded = exceeds(
                    failures,
                    total,
                    plan.tolerated_count,
                    plan.tolerated_percentage,
                );
            }
            if let Some(slot) = ended.get_mut(index) {
                *slot = Some(description);
            }
            if exceeded {
                break;
            }
        }
        drop(stream);
        let written = match &distributed.writer {
            None => None,
            Some(writer) => Some(
                self.write_results(
                    writer,
                    writer_parameters,
                    &run,
                    &run_id,
                    &ended,
                    &pending_inputs,
                )
                .await,
            ),
        };
        let now = self.shared.clock.now();
        let failure = match (&written, exceeded) {
            (Some(Err(f)), _) => Some(f.clone()),
            (_, true) => Some(Failure::new(
                names::EXCEEDED_TOLERATED_FAILURE_THRESHOLD,
                Some("The specified tolerated failure threshold was exceeded".to_owned()),
            )),
            _ => None,
        };
        if let Some(failure) = failure {
            run.finish(MapRunStatus::Failed, now);
            last = self.emit(
                EventType::MapRunFailed,
                EventDetails::ExecutionFailed {
                    error: Some(failure.error.clone()),
                    cause: failure.cause.clone(),
                },
                last,
            );
            return Err(Halt { failure, last });
        }
        run.finish(MapRunStatus::Succeeded, now);
        last = self.emit(EventType::MapRunSucceeded, EventDetails::None, last);
        let result = match written {
            Some(Ok(details)) => json!({ "MapRunArn": run.arn, "ResultWriterDetails": details }),
            _ => Value::Array(
                ended
                    .into_iter()
                    .map(|d| match d {
                        Some(d) if d.status == ExecutionStatus::Succeeded => d
                            .output
                            .as_deref()
                            .and_then(|o| serde_json::from_str(o).ok())
                            .unwrap_or(Value::Null),
                        Some(d) => dataflow::error_output(&Failure::new(
                            d.error.unwrap_or_default(),
                            d.cause,
                        )),
                        None => Value::Null,
                    })
                    .collect(),
            ),
        };
        Ok((result, last))
    }

    /// Every item the reader lists, page by page.
    async fn read_items(
        &self,
        reader: &Integration,
        max_items: Option<u64>,
        parameters: Value,
    ) -> Result<Vec<Value>, Failure> {
        let handler = self.integration(&reader.resource, ITEM_READER_FAILED)?;
        let max = max_items.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut request = parameters.clone();
            if let (Some(t), Some(m)) = (&token, request.as_object_mut()) {
                m.insert("ContinuationToken".into(), json!(t));
            }
            let page = handler
                .invoke(request)
                .await
                .map_err(|e| reader_failure(&e.to_failure()))?;
            for object in page["Contents"].as_array().into_iter().flatten() {
                if items.len() >= max {
                    return Ok(items);
                }
                items.push(json!({
                    "Etag": object["ETag"],
                    "Key": object["Key"],
                    "LastModified": object["LastModified"],
                    "Size": object["Size"],
                    "StorageClass": object["StorageClass"],
                }));
            }
            token = page["NextContinuationToken"].as_str().map(str::to_owned);
            if token.is_none() {
                return Ok(items);
            }
        }
    }

    fn integration(&self, resource: &str, error: &str) -> Result<Arc<dyn LambdaHandler>, Failure> {
        self.shared.integration(resource).ok_or_else(|| {
            Failure::new(
                error,
                Some(format!(
                    "No handler is registered for '{resource}': the host registers one with Engine::register_integration"
                )),
            )
        })
    }

    /// Runs one child execution to its end.
    async fn child(
        &self,
        run: &MapRunRecord,
        processor: &StateMachine,
        child_machine: &str,
        index: usize,
        input: Value,
    ) -> Child {
        let name = uuid_v4(&*self.shared.random).to_string();
        let config = &self.shared.config;
        let arn = format!(
            "arn:aws:states:{}:{}:execution:{child_machine}:{name}",
            config.region, config.account_id
        );
        let start = self.shared.clock.now();
        let text = to_text(&input);
        let record = Arc::new(ExecutionRecord::durable(
            arn.clone(),
            name.clone(),
            run.state_machine_arn.clone(),
            text.clone(),
            start,
            (0, 0, None),
            None,
        ));
        let first = record.push(
            EventType::ExecutionStarted,
            EventDetails::ExecutionStarted {
                input: text,
                role_arn: config.role_arn.clone(),
            },
            0,
            start,
        );
        run.child_started(record.clone());
        let runner = Runner {
            shared: self.shared.clone(),
            record: record.clone(),
            execution: ExecutionContext {
                id: arn,
                name,
                role_arn: config.role_arn.clone(),
                start_time: format_timestamp(start),
                input: input.clone(),
                state_machine_id: run.state_machine_arn.clone(),
                state_machine_name: child_machine.to_owned(),
            },
        };
        let outcome = runner.run_machine(processor, input, first).await;
        let now = self.shared.clock.now();
        match outcome {
            Ok(flow) => record.finish(
                Ending::Succeeded {
                    output: to_text(&flow.output),
                },
                Some(flow.last),
                now,
            ),
            Err(halt) => record.finish(
                Ending::Failed {
                    error: (!halt.failure.error.is_empty()).then_some(halt.failure.error),
                    cause: halt.failure.cause,
                },
                Some(halt.last),
                now,
            ),
        };
        let description = record.describe();
        run.child_ended(description.status);
        Child { index, description }
    }

    /// Writes the result files and the manifest; returns `{"Bucket", "Key"}` of the manifest.
    async fn write_results(
        &self,
        writer: &Integration,
        parameters: Value,
        run: &MapRunRecord,
        run_id: &str,
        ended: &[Option<ExecutionDescription>],
        pending_inputs: &[String],
    ) -> Result<Value, Failure> {
        let handler = self.integration(&writer.resource, RESULT_WRITER_FAILED)?;
        let bucket = parameters["Bucket"].as_str().unwrap_or_default().to_owned();
        let prefix = parameters["Prefix"].as_str().unwrap_or_default();
        let base = match prefix.trim_end_matches('/') {
            "" => run_id.to_owned(),
            p => format!("{p}/{run_id}"),
        };
        let mut succeeded = Vec::new();
        let mut failed = Vec::new();
        let mut pending = Vec::new();
        for (index, description) in ended.iter().enumerate() {
            match description {
                Some(d) if d.status == ExecutionStatus::Succeeded => {
                    succeeded.push(result_entry(d))
                }
                Some(d) => failed.push(result_entry(d)),
                None => pending.push(json!({
                    "Input": pending_inputs.get(index).map_or("null", String::as_str),
                    "InputDetails": {"Included": true},
                })),
            }
        }
        let mut files = Map::new();
        let mut written = 0u64;
        for (kind, entries) in [
            ("FAILED", failed),
            ("PENDING", pending),
            ("SUCCEEDED", succeeded),
        ] {
            let mut listed = Vec::new();
            if !entries.is_empty() {
                let key = format!("{base}/{kind}_0.json");
                let body = to_text(&Value::Array(entries.clone()));
                let size = body.len();
                self.put(&*handler, &bucket, &key, body).await?;
                if kind != "PENDING" {
                    written += entries.len() as u64;
                }
                listed.push(json!({"Key": key, "Size": size}));
            }
            files.insert(kind.to_owned(), Value::Array(listed));
        }
        let manifest_key = format!("{base}/manifest.json");
        let manifest = json!({
            "DestinationBucket": bucket,
            "MapRunArn": run.arn,
            "ResultFiles": files,
        });
        self.put(&*handler, &bucket, &manifest_key, to_text(&manifest))
            .await?;
        run.set_results_written(written);
        Ok(json!({"Bucket": bucket, "Key": manifest_key}))
    }

    async fn put(
        &self,
        handler: &dyn LambdaHandler,
        bucket: &str,
        key: &str,
        body: String,
    ) -> Result<(), Failure> {
        handler
            .invoke(json!({"Bucket": bucket, "Key": key, "Body": body}))
            .await
            .map(|_| ())
            .map_err(|e| {
                let f = e.to_failure();
                Failure::new(
                    RESULT_WRITER_FAILED,
                    Some(format!(
                        "Writing s3://{bucket}/{key} failed: {}: {}",
                        f.error,
                        f.cause.unwrap_or_default()
                    )),
                )
            })
    }
}

/// Whether `failures` of `total` children exceed the tolerated threshold.
fn exceeds(failures: usize, total: usize, count: Option<f64>, percentage: Option<f64>) -> bool {
    let within_count = count.is_some_and(|n| failures as f64 <= n);
    let within_percentage =
        percentage.is_some_and(|p| failures as f64 * 100.0 / total.max(1) as f64 <= p);
    !(within_count || within_percentage)
}

fn reader_failure(f: &Failure) -> Failure {
    Failure::new(
        ITEM_READER_FAILED,
        Some(format!(
            "Listing the items failed: {}: {}",
            f.error,
            f.cause.clone().unwrap_or_default()
        )),
    )
}

/// A Map Run label from a state name: at most 40 characters of the allowed ones.
fn label_of(state: &str) -> String {
    let label: String = state
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    if label.is_empty() {
        "map".to_owned()
    } else {
        label
    }
}

/// A child execution in a ResultWriter file, as AWS writes it.
fn result_entry(d: &ExecutionDescription) -> Value {
    let mut m = Map::new();
    m.insert("ExecutionArn".into(), json!(d.execution_arn));
    m.insert("Input".into(), json!(d.input));
    m.insert("InputDetails".into(), json!({"Included": true}));
    m.insert("Name".into(), json!(d.name));
    if let Some(output) = &d.output {
        m.insert("Output".into(), json!(output));
        m.insert("OutputDetails".into(), json!({"Included": true}));
    }
    if let Some(error) = &d.error {
        m.insert("Error".into(), json!(error));
    }
    if let Some(cause) = &d.cause {
        m.insert("Cause".into(), json!(cause));
    }
    m.insert("RedriveCount".into(), json!(0));
    m.insert("StartDate".into(), json!(format_timestamp(d.start_date)));
    m.insert("StateMachineArn".into(), json!(d.state_machine_arn));
    m.insert("Status".into(), json!(d.status.as_str()));
    if let Some(stop) = d.stop_date {
        m.insert("StopDate".into(), json!(format_timestamp(stop)));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::{exceeds, label_of};

    #[test]
    fn no_tolerance_means_the_first_failure_exceeds_it() {
        assert!(exceeds(1, 10, None, None));
        assert!(!exceeds(1, 10, Some(1.0), None));
        assert!(exceeds(2, 10, Some(1.0), None));
        assert!(!exceeds(2, 10, None, Some(20.0)));
        assert!(exceeds(3, 10, None, Some(20.0)));
    }

    #[test]
    fn labels_keep_allowed_characters_only() {
        assert_eq!(label_of("Copy each object"), "Copy-each-object");
        assert_eq!(label_of(&"x".repeat(50)).len(), 40);
    }
}
