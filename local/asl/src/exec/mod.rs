//! The interpreter: walks a state machine from `StartAt`, runs each state, records its events
//! and follows `Next` until a terminal state or an uncaught error.
//!
//! This module runs the simple states (Pass, Choice, Wait, Succeed, Fail) and holds what every
//! state shares: entering (`<Type>StateEntered`), leaving (`<Type>StateExited`, after the
//! 256 KiB output check) and locating runtime errors in their state, as AWS words them
//! (`An error occurred while executing the state 'X' (entered at the event id #N). ...`).
//! Task, Parallel and Map live in their own modules. Event chaining: each event's
//! `previousEventId` is the event it follows from in its own thread of execution (0 for the
//! first state of the execution).

mod distributed;
mod map;
mod parallel;
mod task;

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::clock::format_timestamp;
use crate::context::{ContextObject, ExecutionContext, Scope};
use crate::dataflow;
use crate::durable::{Checkpoint, PendingRetry, Write};
use crate::engine::Shared;
use crate::error::{Failure, PAYLOAD_LIMIT_BYTES, names};
use crate::execution::ExecutionRecord;
use crate::history::{EventDetails, EventType};
use crate::json::{java_to_string, to_text};
use crate::model::{ErrorSource, Processing, State, StateKind, StateMachine, Transition, WaitFor};
use crate::path::Path;
use crate::retry::{Catcher, Retrier, RetryState, find_catcher};
use crate::timestamp;

/// An uncaught failure and the last event of the thread it stopped.
pub(crate) struct Halt {
    pub failure: Failure,
    pub last: u64,
}

/// A finished (sub-)machine: its output and its last event.
pub(crate) struct Flow {
    pub output: Value,
    /// `output` as JSON text (what its last StateExited event recorded).
    pub output_text: String,
    pub last: u64,
}

/// A finished state: where to go, its output and its last event.
pub(crate) struct Step<'a> {
    next: Option<&'a str>,
    output: Value,
    /// `output` as JSON text, as its StateExited event recorded it: the next state's input
    /// text, so the document is not serialized again.
    output_text: String,
    last: u64,
}

/// A state that has been entered.
pub(crate) struct Entered<'a> {
    state: &'a State,
    id: u64,
    time: String,
    at: time::OffsetDateTime,
    /// A state of the execution's own machine (not of a Parallel branch or Map iteration):
    /// the level at which executions are checkpointed and resumed.
    top: bool,
}

/// Runs one execution.
pub(crate) struct Runner {
    pub shared: Arc<Shared>,
    pub record: Arc<ExecutionRecord>,
    pub execution: ExecutionContext,
}

/// The longest Wait AWS accepts: the delay must fit a signed 32-bit number of seconds.
const MAX_WAIT_SECONDS: u64 = i32::MAX as u64;

impl Runner {
    fn emit(&self, event_type: EventType, details: EventDetails, prev: u64) -> u64 {
        self.record
            .push(event_type, details, prev, self.shared.clock.now())
    }

    fn context<'s>(
        &'s self,
        entered: &'s Entered<'s>,
        retry_count: Option<u32>,
    ) -> ContextObject<'s> {
        ContextObject::new(
            &self.execution,
            &entered.state.name,
            &entered.time,
            retry_count,
        )
    }

    fn scope<'s>(&'s self, input: &'s Value, context: &'s ContextObject<'s>) -> Scope<'s> {
        Scope {
            input,
            context,
            random: &*self.shared.random,
        }
    }

    /// Run a branch or iteration `machine` on `input`; `prev` is the event the first state
    /// follows from.
    pub(crate) fn run_machine<'a>(
        &'a self,
        machine: &'a StateMachine,
        input: Value,
        prev: u64,
    ) -> BoxFuture<'a, Result<Flow, Halt>> {
        self.walk(machine, &machine.start_at, input, prev, false, None)
    }

    /// Run the execution's own machine, from the start or from a recorded checkpoint.
    pub(crate) fn run_machine_resumed<'a>(
        &'a self,
        machine: &'a StateMachine,
        input: Value,
        resume: Option<Checkpoint>,
    ) -> BoxFuture<'a, Result<Flow, Halt>> {
        match resume {
            None => self.walk(machine, &machine.start_at, input, 0, true, None),
            Some(c) => {
                let input = serde_json::from_str(&c.input).unwrap_or(input);
                // A resumed execution follows its last stored event, a redriven one its
                // ExecutionRedriven event.
                let prev = self.record.last_event_id();
                let Some((name, _)) = machine.states.get_key_value(c.state.as_str()) else {
                    let missing = c.state.clone();
                    return Box::pin(async move {
                        Err(Halt {
                            failure: Failure::runtime(format!(
                                "The state '{missing}' does not exist"
                            )),
                            last: prev,
                        })
                    });
                };
                self.walk(machine, name, input, prev, true, Some(c))
            }
        }
    }

    fn walk<'a>(
        &'a self,
        machine: &'a StateMachine,
        start: &'a str,
        input: Value,
        prev: u64,
        top: bool,
        mut resume: Option<Checkpoint>,
    ) -> BoxFuture<'a, Result<Flow, Halt>> {
        Box::pin(async move {
            let mut name: &str = start;
            let mut input = input;
            // The text of `input` when the state before recorded it.
            let mut input_text: Option<String> = None;
            let mut prev = prev;
            loop {
                let Some(state) = machine.states.get(name) else {
                    return Err(Halt {
                        failure: Failure::runtime(format!("The state '{name}' does not exist")),
                        last: prev,
                    });
                };
                let step = match resume.take() {
                    Some(c) if c.entered_id > 0 => {
                        let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(
                            c.entered_ns,
                        ))
                        .unwrap_or_else(|_| self.shared.clock.now());
                        let entered = Entered {
                            state,
                            id: c.entered_id,
                            time: format_timestamp(at),
                            at,
                            top,
                        };
                        self.run_entered(entered, input, c.retry).await?
                    }
                    _ => {
                        let text = input_text.take().unwrap_or_else(|| to_text(&input));
                        if top {
                            self.checkpoint_before(state, &text).await;
                        }
                        let entered = self.enter(state, text, prev, top);
                        self.run_entered(entered, input, None).await?
                    }
                };
                prev = step.last;
                match step.next {
                    Some(next) => {
                        name = next;
                        input = step.output;
                        input_text = Some(step.output_text);
                    }
                    None => {
                        return Ok(Flow {
                            output: step.output,
                            output_text: step.output_text,
                            last: prev,
                        });
                    }
                }
            }
        })
    }

    /// Records where the execution is about to go, then waits until its history so far is
    /// on disk: a state never starts before what led to it is recorded.
    async fn checkpoint_before(&self, state: &State, input: &str) {
        self.record.set_resume_point(&state.name, input);
        let Some(store) = self.record.store() else {
            return;
        };
        store.send(Write::Checkpoint {
            seq: self.record.seq,
            checkpoint: Checkpoint {
                state: state.name.clone(),
                input: input.to_owned(),
                entered_id: 0,
                entered_ns: 0,
                retry: None,
            }
            .into_stored(),
        });
        if let Err(e) = store.barrier().await {
            tracing::error!(execution = %self.record.arn, error = %e, "could not record the execution's progress");
        }
    }

    /// Records a Task's retry counters and when its next attempt is due, so a restart
    /// neither forgets the attempts made nor starts the back-off over.
    fn checkpoint_retry(
        &self,
        entered: &Entered<'_>,
        input: &Value,
        retries: &RetryState,
        due: time::OffsetDateTime,
    ) {
        let Some(store) = self.record.store().filter(|_| entered.top) else {
            return;
        };
        store.send(Write::Checkpoint {
            seq: self.record.seq,
            checkpoint: Checkpoint {
                state: entered.state.name.clone(),
                input: to_text(input),
                entered_id: entered.id,
                entered_ns: nanos(entered.at),
                retry: Some(PendingRetry {
                    attempts: retries.attempts().to_vec(),
                    due_ns: nanos(due),
                }),
            }
            .into_stored(),
        });
    }

    async fn run_entered<'a>(
        &'a self,
        entered: Entered<'a>,
        input: Value,
        retry: Option<PendingRetry>,
    ) -> Result<Step<'a>, Halt> {
        let state = entered.state;
        match &state.kind {
            StateKind::Pass {
                result,
                processing,
                transition,
            } => {
                let output = (|| {
                    let ctx = self.context(&entered, None);
                    let effective = dataflow::select(&state.input_path, &input, &ctx)?;
                    let effective = match &processing.parameters {
                        Some(t) => t.eval(&self.scope(&effective, &ctx))?,
                        None => effective,
                    };
                    let result = result.clone().unwrap_or(effective);
                    let combined = dataflow::combine(&processing.result_path, &input, result)?;
                    dataflow::select_owned(&state.output_path, combined, &ctx)
                })()
                .map_err(|f| locate(&entered, f))?;
                self.exit(&entered, output, entered.id, next_of(transition))
            }
            StateKind::Choice { choices, default } => {
                let (next, output) = (|| {
                    let ctx = self.context(&entered, None);
                    let effective = dataflow::select(&state.input_path, &input, &ctx)?;
                    let scope = self.scope(&effective, &ctx);
                    let mut next = None;
                    for rule in choices {
                        if rule.condition.eval(&scope)? {
                            next = Some(rule.next.as_str());
                            break;
                        }
                    }
                    let next = match next.or(default.as_deref()) {
                        Some(n) => n,
                        None => {
                            return Err(Failure::new(
                                names::NO_CHOICE_MATCHED,
                                Some(format!(
                                    "No Choice rule matched and there is no Default in the state '{}'",
                                    state.name
                                )),
                            ));
                        }
                    };
                    let output = dataflow::select_owned(&state.output_path, effective, &ctx)?;
                    Ok((next, output))
                })()
                .map_err(|f| locate(&entered, f))?;
                self.exit(&entered, output, entered.id, Some(next))
            }
            StateKind::Wait { wait, transition } => {
                let (delay, effective) = (|| {
                    let ctx = self.context(&entered, None);
                    let effective = dataflow::select(&state.input_path, &input, &ctx)?;
                    let scope = self.scope(&effective, &ctx);
                    let delay = self.wait_delay(wait, &scope)?;
                    Ok((delay, effective))
                })()
                .map_err(|f| locate(&entered, f))?;
                // A resumed Wait waits only for what is left of it.
                let waited = Duration::try_from(self.shared.clock.now() - entered.at)
                    .unwrap_or(Duration::ZERO);
                let delay = delay.saturating_sub(waited);
                if !delay.is_zero() {
                    self.shared.clock.sleep(delay).await;
                }
                let output = {
                    let ctx = self.context(&entered, None);
                    dataflow::select_owned(&state.output_path, effective, &ctx)
                }
                .map_err(|f| locate(&entered, f))?;
                self.exit(&entered, output, entered.id, next_of(transition))
            }
            StateKind::Succeed => {
                let output = (|| {
                    let ctx = self.context(&entered, None);
                    let effective = dataflow::select(&state.input_path, &input, &ctx)?;
                    dataflow::select_owned(&state.output_path, effective, &ctx)
                })()
                .map_err(|f| locate(&entered, f))?;
                self.exit(&entered, output, entered.id, None)
            }
            StateKind::Fail { error, cause } => {
                let failure = (|| {
                    let ctx = self.context(&entered, None);
                    let scope = self.scope(&input, &ctx);
                    let error = resolve_error_source(error.as_ref(), "ErrorPath", &scope)?;
                    let cause = resolve_error_source(cause.as_ref(), "CausePath", &scope)?;
                    Ok(Failure::new(error.unwrap_or_default(), cause))
                })()
                .map_err(|f| locate(&entered, f))?;
                Err(Halt {
                    failure,
                    last: entered.id,
                })
            }
            StateKind::Task(task) => self.run_task(entered, task, input, retry).await,
            StateKind::Parallel(parallel) => self.run_parallel(entered, parallel, input).await,
            StateKind::Map(map) => self.run_map(entered, map, input).await,
        }
    }

    fn enter<'a>(&self, state: &'a State, input: String, prev: u64, top: bool) -> Entered<'a> {
        let now = self.shared.clock.now();
        let id = self.record.push(
            EventType::StateEntered(state.kind.state_type()),
            EventDetails::StateEntered {
                name: state.name.clone(),
                input,
            },
            prev,
            now,
        );
        if top && let Some(store) = self.record.store() {
            store.send(Write::Entered {
                seq: self.record.seq,
                entered_id: id,
                entered_ns: nanos(now),
            });
        }
        Entered {
            state,
            id,
            time: format_timestamp(now),
            at: now,
            top,
        }
    }

    /// Record `<Type>StateExited` (after the payload limit check).
    fn exit<'a>(
        &self,
        entered: &Entered<'a>,
        output: Value,
        prev: u64,
        next: Option<&'a str>,
    ) -> Result<Step<'a>, Halt> {
        let text = to_text(&output);
        if text.len() > PAYLOAD_LIMIT_BYTES {
            return Err(Halt {
                failure: Failure::data_limit(&entered.state.name),
                last: prev,
            });
        }
        let last = self.emit(
            EventType::StateExited(entered.state.kind.state_type()),
            EventDetails::StateExited {
                name: entered.state.name.clone(),
                output: text.clone(),
            },
            prev,
        );
        Ok(Step {
            next,
            output,
            output_text: text,
            last,
        })
    }

    /// The success tail of Task, Parallel and Map: `ResultSelector` → `ResultPath` →
    /// `OutputPath`, then `<Type>StateExited`.
    #[allow(clippy::too_many_arguments)]
    fn finish_result<'a>(
        &self,
        entered: &Entered<'a>,
        processing: &Processing,
        input: &Value,
        result: Value,
        retry_count: Option<u32>,
        last: u64,
        next: Option<&'a str>,
    ) -> Result<Step<'a>, Halt> {
        let output = {
            let ctx = self.context(entered, retry_count);
            (|| {
                let result = match &processing.result_selector {
                    Some(t) => t.eval(&self.scope(&result, &ctx))?,
                    None => result,
                };
                let combined = dataflow::combine(&processing.result_path, input, result)?;
                dataflow::select_owned(&entered.state.output_path, combined, &ctx)
            })()
        }
        .map_err(|f| Halt {
            last,
            ..locate(entered, f)
        })?;
        self.exit(entered, output, last, next)
    }

    /// After a failed attempt of a state with Retry/Catch: `Ok(None)` to try again (the
    /// retrier's delay has been slept), `Ok(Some(step))` when a catcher took the error, `Err`
    /// to propagate it. `failed_event` (`ParallelStateFailed`, `MapStateFailed`) is recorded
    /// once no retry applies.
    #[allow(clippy::too_many_arguments)]
    async fn recover<'a>(
        &self,
        entered: &Entered<'a>,
        retries: &mut RetryState,
        retriers: &[Retrier],
        catchers: &'a [Catcher],
        input: &Value,
        failure: Failure,
        last: u64,
        failed_event: Option<EventType>,
    ) -> Result<Option<Step<'a>>, Halt> {
        if let Some((retrier, attempt)) = retries.next_retry(retriers, &failure) {
            let delay = retrier.delay(attempt, self.shared.random.next_f64());
            self.checkpoint_retry(entered, input, retries, self.shared.clock.now() + delay);
            if !delay.is_zero() {
                self.shared.clock.sleep(delay).await;
            }
            return Ok(None);
        }
        let last = match failed_event {
            Some(event) => self.emit(event, EventDetails::None, last),
            None => last,
        };
        match find_catcher(catchers, &failure) {
            Some(catcher) => {
                let output = dataflow::combine(
                    &catcher.result_path,
                    input,
                    dataflow::error_output(&failure),
                )
                .map_err(|f| Halt {
                    last,
                    ..locate(entered, f)
                })?;
                self.exit(entered, output, last, Some(catcher.next.as_str()))
                    .map(Some)
            }
            None => Err(Halt { failure, last }),
        }
    }

    fn wait_delay(&self, wait: &WaitFor, scope: &Scope<'_>) -> Result<Duration, Failure> {
        let seconds = match wait {
            WaitFor::Seconds(s) => *s,
            WaitFor::SecondsPath(path) => {
                let value = select_path(path, scope)?;
                match value.as_i64() {
                    Some(n) if n < 0 => {
                        return Err(Failure::runtime(format!(
                            "The SecondsPath parameter references a negative value: {} == {}",
                            path.text(),
                            java_to_string(&value)
                        )));
                    }
                    Some(n) => n.unsigned_abs(),
                    None => {
                        return Err(Failure::runtime(format!(
                            "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                            path.text(),
                            java_to_string(&value)
                        )));
                    }
                }
            }
            WaitFor::Timestamp(t) => return self.until(*t),
            WaitFor::TimestampPath(path) => {
                let value = select_path(path, scope)?;
                let Some(t) = value.as_str().and_then(timestamp::parse) else {
                    return Err(Failure::runtime(format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                        path.text(),
                        java_to_string(&value)
                    )));
                };
                return self.until(t);
            }
        };
        if seconds > MAX_WAIT_SECONDS {
            return Err(Failure::runtime("Wait state delay is too long."));
        }
        Ok(Duration::from_secs(seconds))
    }

    fn until(&self, t: time::OffsetDateTime) -> Result<Duration, Failure> {
        let delta = t - self.shared.clock.now();
        if delta.whole_seconds() > MAX_WAIT_SECONDS as i64 {
            return Err(Failure::runtime("Wait state delay is too long."));
        }
        Ok(Duration::try_from(delta).unwrap_or(Duration::ZERO))
    }
}

fn select_path(path: &Path, scope: &Scope<'_>) -> Result<Value, Failure> {
    scope
        .select(path)
        .map_err(|m| Failure::runtime(format!("Invalid path '{}' : {}", path.text(), m.detail)))
}

fn resolve_error_source(
    source: Option<&ErrorSource>,
    field: &str,
    scope: &Scope<'_>,
) -> Result<Option<String>, Failure> {
    let value = match source {
        None => return Ok(None),
        Some(ErrorSource::Literal(s)) => return Ok(Some(s.clone())),
        Some(ErrorSource::Path(path)) => scope.select(path).map_err(|_| {
            Failure::runtime(format!(
                "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                path.text(),
                to_text(scope.input)
            ))
        })?,
        Some(ErrorSource::Call(call)) => call.eval(scope).map_err(|e| match e {
            crate::intrinsics::EvalError::Missing { path, .. } => Failure::runtime(format!(
                "The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{}'",
                to_text(scope.input)
            )),
            crate::intrinsics::EvalError::Failure(m) => Failure::intrinsic(m),
        })?,
    };
    match value {
        Value::String(s) => Ok(Some(s)),
        other => Err(Failure::runtime(format!(
            "The value of the field '{field}' must be a string, got {}",
            to_text(&other)
        ))),
    }
}

/// Attach a runtime failure to the state it happened in.
fn locate(entered: &Entered<'_>, failure: Failure) -> Halt {
    let failure = if failure.error == names::RUNTIME {
        failure.in_state(&entered.state.name, entered.id)
    } else {
        failure
    };
    Halt {
        failure,
        last: entered.id,
    }
}

fn nanos(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

fn next_of(transition: &Transition) -> Option<&str> {
    match transition {
        Transition::Next(n) => Some(n),
        Transition::End => None,
    }
}
