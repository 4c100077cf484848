//! Task states that call Lambda functions, with Retry, Catch and `TimeoutSeconds`.
//!
//! Event sequences as AWS records them
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html>):
//! - `lambda:invoke`: `TaskScheduled` → `TaskStarted` → `TaskSucceeded` | `TaskFailed` |
//!   `TaskTimedOut`;
//! - a function ARN: `LambdaFunctionScheduled` → `LambdaFunctionStarted` →
//!   `LambdaFunctionSucceeded` | `LambdaFunctionFailed` | `LambdaFunctionTimedOut`.
//!
//! A result over 256 KiB fails the attempt with a catchable `States.DataLimitExceeded`. Each
//! attempt re-evaluates `Parameters` (so `$$.State.RetryCount` counts retries); between attempts
//! the retrier's delay is slept on the injected clock. A caught error leaves the state with
//! `{"Error", "Cause"}` placed by the catcher's `ResultPath` (the state's `OutputPath` does not
//! apply). Handlers run as their own tokio task, so a slow or panicking handler cannot stall
//! or crash the execution.

use std::time::Duration;

use serde_json::Value;

use super::{Entered, Halt, Runner, Step, locate, next_of};
use crate::clock::{format_timestamp, uuid_v4};
use crate::dataflow;
use crate::durable::PendingRetry;
use crate::error::{Failure, PAYLOAD_LIMIT_BYTES, names};
use crate::history::{EventDetails, EventType};
use crate::json::to_text;
use crate::lambda::{self, LambdaHandler};
use crate::model::{Resource, Seconds, TaskState};
use crate::retry::RetryState;

enum CallError {
    TimedOut,
    Failed(Failure),
}

impl Runner {
    pub(super) async fn run_task<'a>(
        &'a self,
        entered: Entered<'a>,
        task: &'a TaskState,
        input: Value,
        resumed: Option<PendingRetry>,
    ) -> Result<Step<'a>, Halt> {
        let state = entered.state;
        let effective = {
            let ctx = self.context(&entered, Some(0));
            // Borrowed for the usual `$`: the input stays whole for ResultPath.
            dataflow::select_ref(&state.input_path, &input, &ctx)
        }
        .map_err(|f| locate(&entered, f))?;
        let mut retries = match &resumed {
            Some(r) => RetryState::restored(task.retry.len(), &r.attempts),
            None => RetryState::new(task.retry.len()),
        };
        if let Some(r) = &resumed {
            // A back-off that was running when the engine stopped: wait for what is left.
            let due = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(r.due_ns))
                .unwrap_or_else(|_| self.shared.clock.now());
            let left = Duration::try_from(due - self.shared.clock.now()).unwrap_or(Duration::ZERO);
            if !left.is_zero() {
                self.shared.clock.sleep(left).await;
            }
        }
        let mut last = entered.id;
        loop {
            let retry_count = retries.total();
            let (parameters, timeout) = {
                let ctx = self.context(&entered, Some(retry_count));
                let scope = self.scope(&effective, &ctx);
                let parameters = match &task.processing.parameters {
                    Some(t) => t.eval(&scope),
                    None => Ok(effective.as_ref().clone()),
                };
                let timeout = match &task.timeout {
                    None => Ok(None),
                    Some(Seconds::Fixed(s)) => Ok(Some(*s)),
                    Some(Seconds::Path(p)) => match scope.select(p) {
                        Ok(v) => v.as_u64().filter(|n| *n > 0).map(Some).ok_or_else(|| {
                            Failure::runtime(format!(
                                "The TimeoutSecondsPath parameter does not reference a positive integer: {} == {}",
                                p.text(),
                                to_text(&v)
                            ))
                        }),
                        Err(m) => Err(Failure::runtime(format!(
                            "Invalid path '{}' : {}",
                            p.text(),
                            m.detail
                        ))),
                    },
                };
                parameters.and_then(|p| timeout.map(|t| (p, t)))
            }
            .map_err(|f| locate(&entered, f))?;
            let (outcome, after) = self.invoke(task, parameters, timeout, last).await;
            last = after;
            match outcome {
                Ok(result) => {
                    return self.finish_result(
                        &entered,
                        &task.processing,
                        &input,
                        result,
                        Some(retry_count),
                        last,
                        next_of(&task.transition),
                    );
                }
                Err(failure) => {
                    let recovered = self
                        .recover(
                            &entered,
                            &mut retries,
                            &task.retry,
                            &task.catch,
                            &input,
                            failure,
                            last,
                            None,
                        )
                        .await?;
                    if let Some(step) = recovered {
                        return Ok(step);
                    }
                }
            }
        }
    }

    /// One attempt: record the scheduling events, call the function, record the outcome.
    async fn invoke(
        &self,
        task: &TaskState,
        parameters: Value,
        timeout: Option<u64>,
        prev: u64,
    ) -> (Result<Value, Failure>, u64) {
        let request_id = uuid_v4(&*self.shared.random).to_string();
        match &task.resource {
            Resource::LambdaInvoke | Resource::StartExecutionSync2 => {
                let lambda = task.resource == Resource::LambdaInvoke;
                let kind = || match lambda {
                    true => ("lambda".to_owned(), "invoke".to_owned()),
                    false => ("states".to_owned(), "startExecution.sync:2".to_owned()),
                };
                let (resource_type, resource) = kind();
                let scheduled = self.emit(
                    EventType::TaskScheduled,
                    EventDetails::TaskScheduled {
                        resource_type,
                        resource,
                        region: self.shared.config.region.clone(),
                        parameters: to_text(&parameters),
                        timeout_in_seconds: timeout,
                    },
                    prev,
                );
                let (resource_type, resource) = kind();
                let started = self.emit(
                    EventType::TaskStarted,
                    EventDetails::TaskStarted {
                        resource_type,
                        resource,
                    },
                    scheduled,
                );
                let called = match lambda {
                    false => self.start_sync(&parameters, timeout).await,
                    true => match lambda::invoke_request(&parameters) {
                        Ok((function, payload, tail)) => self
                            .call(&function, payload, timeout, &request_id)
                            .await
                            .map(|out| {
                                let date = format_timestamp(self.shared.clock.now());
                                lambda::invoke_result(out, &request_id, &date, tail)
                            }),
                        Err(f) => Err(CallError::Failed(f)),
                    },
                };
                let failure = match called {
                    Ok(result) => {
                        let text = to_text(&result);
                        if text.len() > PAYLOAD_LIMIT_BYTES {
                            CallError::Failed(result_too_large("lambda"))
                        } else {
                            let (resource_type, resource) = kind();
                            let id = self.emit(
                                EventType::TaskSucceeded,
                                EventDetails::TaskSucceeded {
                                    resource_type,
                                    resource,
                                    output: text,
                                },
                                started,
                            );
                            return (Ok(result), id);
                        }
                    }
                    Err(e) => e,
                };
                let (resource_type, resource) = kind();
                match failure {
                    CallError::TimedOut => {
                        let id = self.emit(
                            EventType::TaskTimedOut,
                            EventDetails::TaskFailed {
                                resource_type,
                                resource,
                                error: Some(names::TIMEOUT.to_owned()),
                                cause: None,
                            },
                            started,
                        );
                        (Err(timed_out()), id)
                    }
                    CallError::Failed(f) => {
                        let id = self.emit(
                            EventType::TaskFailed,
                            EventDetails::TaskFailed {
                                resource_type,
                                resource,
                                error: non_empty(&f.error),
                                cause: f.cause.clone(),
                            },
                            started,
                        );
                        (Err(f), id)
                    }
                }
            }
            Resource::LambdaFunction { arn, function } => {
                let scheduled = self.emit(
                    EventType::LambdaFunctionScheduled,
                    EventDetails::LambdaFunctionScheduled {
                        resource: arn.clone(),
                        input: to_text(&parameters),
                        timeout_in_seconds: timeout,
                    },
                    prev,
                );
                let started = self.emit(
                    EventType::LambdaFunctionStarted,
                    EventDetails::None,
                    scheduled,
                );
                let failure = match self.call(function, parameters, timeout, &request_id).await {
                    Ok(result) => {
                        let text = to_text(&result);
                        if text.len() > PAYLOAD_LIMIT_BYTES {
                            CallError::Failed(result_too_large(arn))
                        } else {
                            let id = self.emit(
                                EventType::LambdaFunctionSucceeded,
                                EventDetails::LambdaFunctionSucceeded { output: text },
                                started,
                            );
                            return (Ok(result), id);
                        }
                    }
                    Err(e) => e,
                };
                match failure {
                    CallError::TimedOut => {
                        let id = self.emit(
                            EventType::LambdaFunctionTimedOut,
                            EventDetails::LambdaFunctionFailed {
                                error: Some(names::TIMEOUT.to_owned()),
                                cause: None,
                            },
                            started,
                        );
                        (Err(timed_out()), id)
                    }
                    CallError::Failed(f) => {
                        let id = self.emit(
                            EventType::LambdaFunctionFailed,
                            EventDetails::LambdaFunctionFailed {
                                error: non_empty(&f.error),
                                cause: f.cause.clone(),
                            },
                            started,
                        );
                        (Err(f), id)
                    }
                }
            }
        }
    }

    /// `startExecution.sync:2`: start the state machine of `StateMachineArn` in this engine
    /// with `Input` (JSON, or JSON text) and optional `Name`, and wait for its end
    /// (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html>).
    /// The result is its DescribeExecution in PascalCase with `Input`/`Output` as JSON; a
    /// child that does not succeed fails the task with `States.TaskFailed` and that JSON as
    /// the cause (its `Error` and `Cause` inside), as AWS reports it. A timeout stops the child.
    async fn start_sync(
        &self,
        parameters: &Value,
        timeout: Option<u64>,
    ) -> Result<Value, CallError> {
        let failed =
            |error: &str, cause: String| CallError::Failed(Failure::new(error, Some(cause)));
        let Some(machine) = parameters["StateMachineArn"].as_str() else {
            return Err(failed(
                "StepFunctions.InvalidArnException",
                "StateMachineArn must be a state machine ARN".to_owned(),
            ));
        };
        let input = match parameters.get("Input") {
            None | Some(Value::Null) => "{}".to_owned(),
            Some(Value::String(text)) => text.clone(),
            Some(other) => to_text(other),
        };
        let engine = crate::engine::Engine::of(self.shared.clone());
        let started = engine
            .start_execution(machine, parameters["Name"].as_str(), &input)
            .map_err(|e| {
                use crate::engine::StartError as E;
                let name = match &e {
                    E::StateMachineDoesNotExist(_) => {
                        "StepFunctions.StateMachineDoesNotExistException"
                    }
                    E::InvalidName(_) => "StepFunctions.InvalidNameException",
                    E::ExecutionAlreadyExists(_) => "StepFunctions.ExecutionAlreadyExistsException",
                    E::InvalidExecutionInput(_) => "StepFunctions.InvalidExecutionInputException",
                    E::Store(_) | E::NoRuntime => "StepFunctions.SfnException",
                };
                failed(name, e.to_string())
            })?;
        let arn = started.execution_arn;
        let waited = engine.wait_for(&arn);
        let described = match timeout {
            None => waited.await,
            Some(seconds) => {
                let sleep = self.shared.clock.sleep(Duration::from_secs(seconds));
                match futures::future::select(Box::pin(waited), sleep).await {
                    futures::future::Either::Left((d, _)) => d,
                    futures::future::Either::Right(((), _)) => {
                        engine.stop_execution(&arn, None, None);
                        return Err(CallError::TimedOut);
                    }
                }
            }
        };
        let Some(d) = described else {
            return Err(failed(
                "StepFunctions.ExecutionDoesNotExistException",
                format!("Execution Does Not Exist: '{arn}'"),
            ));
        };
        let output = sync2_output(&d);
        match d.status {
            crate::execution::ExecutionStatus::Succeeded => Ok(output),
            _ => Err(failed(names::TASK_FAILED, to_text(&output))),
        }
    }

    /// Call a registered function, with an optional timeout on the injected clock.
    async fn call(
        &self,
        function: &str,
        payload: Value,
        timeout: Option<u64>,
        request_id: &str,
    ) -> Result<Value, CallError> {
        let Some(handler) = self.shared.handler(function) else {
            return Err(CallError::Failed(lambda::not_found(
                &self.shared.config.region,
                &self.shared.config.account_id,
                function,
                request_id,
            )));
        };
        let job = tokio::spawn(LambdaHandler::invoke(&*handler, payload));
        let abort = job.abort_handle();
        let joined = match timeout {
            None => job.await,
            Some(seconds) => {
                let sleep = self.shared.clock.sleep(Duration::from_secs(seconds));
                match futures::future::select(job, sleep).await {
                    futures::future::Either::Left((joined, _)) => joined,
                    futures::future::Either::Right(((), _)) => {
                        abort.abort();
                        return Err(CallError::TimedOut);
                    }
                }
            }
        };
        match joined {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(CallError::Failed(error.to_failure())),
            Err(join_error) => Err(CallError::Failed(Failure::new(
                "Lambda.Unknown",
                Some(format!(
                    "The function '{function}' did not complete: {join_error}"
                )),
            ))),
        }
    }
}

/// A child execution as `startExecution.sync:2` returns it.
fn sync2_output(d: &crate::execution::ExecutionDescription) -> Value {
    let json_of = |text: &str| serde_json::from_str(text).unwrap_or(Value::String(text.to_owned()));
    let millis = |t: time::OffsetDateTime| {
        serde_json::json!(i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0))
    };
    let mut m = serde_json::Map::new();
    m.insert(
        "ExecutionArn".into(),
        Value::String(d.execution_arn.clone()),
    );
    m.insert("Input".into(), json_of(&d.input));
    m.insert("InputDetails".into(), serde_json::json!({"Included": true}));
    m.insert("Name".into(), Value::String(d.name.clone()));
    if let Some(output) = &d.output {
        m.insert("Output".into(), json_of(output));
        m.insert(
            "OutputDetails".into(),
            serde_json::json!({"Included": true}),
        );
    }
    if let Some(error) = &d.error {
        m.insert("Error".into(), Value::String(error.clone()));
    }
    if let Some(cause) = &d.cause {
        m.insert("Cause".into(), Value::String(cause.clone()));
    }
    m.insert("RedriveCount".into(), serde_json::json!(d.redrive_count));
    m.insert("StartDate".into(), millis(d.start_date));
    m.insert(
        "StateMachineArn".into(),
        Value::String(d.state_machine_arn.clone()),
    );
    m.insert("Status".into(), Value::String(d.status.as_str().to_owned()));
    if let Some(stop) = d.stop_date {
        m.insert("StopDate".into(), millis(stop));
    }
    Value::Object(m)
}

fn timed_out() -> Failure {
    Failure::new(names::TIMEOUT, Some(String::new()))
}

fn result_too_large(subject: &str) -> Failure {
    Failure {
        terminal: false,
        ..Failure::data_limit(subject)
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}
