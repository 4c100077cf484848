//! Inline Map states: run the item processor once per item of `ItemsPath`, at most
//! `MaxConcurrency` at a time (0 = unlimited), and collect the outputs in item order
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html>).
//!
//! Each item's input is the item itself, or `ItemSelector` (legacy `Parameters`) evaluated
//! against the Map's effective input with `$$.Map.Item.Index` / `$$.Map.Item.Value` set. Events:
//! `MapStateEntered` → `MapStateStarted {length}` → per item `MapIterationStarted`, the
//! processor's events, `MapIterationSucceeded` | `MapIterationFailed` → `MapStateSucceeded` →
//! `MapStateExited`. The first failed item fails the Map (the others are stopped) unless
//! `ToleratedFailureCount` / `ToleratedFailurePercentage` allow it; tolerated failures leave
//! their `{"Error", "Cause"}` in the result array. Retries record a new `MapStateStarted`;
//! `MapStateFailed` is recorded once no retrier applies.

use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use serde_json::Value;

use super::{Entered, Halt, Runner, Step, locate, next_of};
use crate::dataflow;
use crate::error::{Failure, names};
use crate::history::{EventDetails, EventType};
use crate::json::{as_f64, java_to_string, to_text};
use crate::model::{Concurrency, MapState, Tolerance};
use crate::retry::RetryState;

pub(super) struct Plan {
    pub(super) effective: Value,
    pub(super) items: Vec<Value>,
    pub(super) limit: usize,
    pub(super) tolerated_count: Option<f64>,
    pub(super) tolerated_percentage: Option<f64>,
}

impl Runner {
    pub(super) async fn run_map<'a>(
        &'a self,
        entered: Entered<'a>,
        map: &'a MapState,
        input: Value,
    ) -> Result<Step<'a>, Halt> {
        if let Some(distributed) = &map.distributed {
            return self.run_distributed(entered, map, distributed, input).await;
        }
        let plan = self
            .plan(&entered, map, &input)
            .map_err(|f| locate(&entered, f))?;
        let mut retries = RetryState::new(map.retry.len());
        let mut last = entered.id;
        loop {
            let started = self.emit(
                EventType::MapStateStarted,
                EventDetails::MapStateStarted {
                    length: plan.items.len(),
                },
                last,
            );
            match self.iterate(&entered, map, &plan, started).await {
                Ok((results, last_iteration)) => {
                    // AWS chains both MapStateSucceeded and MapStateExited to the last
                    // iteration event.
                    self.emit(
                        EventType::MapStateSucceeded,
                        EventDetails::None,
                        last_iteration,
                    );
                    return self.finish_result(
                        &entered,
                        &map.processing,
                        &input,
                        Value::Array(results),
                        None,
                        last_iteration,
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

    /// Effective input, items, concurrency and tolerances (all from paths evaluated once).
    pub(super) fn plan(
        &self,
        entered: &Entered<'_>,
        map: &MapState,
        input: &Value,
    ) -> Result<Plan, Failure> {
        let ctx = self.context(entered, None);
        let effective = dataflow::select(&entered.state.input_path, input, &ctx)?;
        let scope = self.scope(&effective, &ctx);
        let reads = map.distributed.as_ref().is_some_and(|d| d.reader.is_some());
        let items = match &map.items_path {
            // An ItemReader supplies the items.
            None if reads => Value::Array(Vec::new()),
            None => effective.clone(),
            Some(path) => scope.select(path).map_err(|m| {
                Failure::runtime(format!("Invalid path '{}' : {}", path.text(), m.detail))
            })?,
        };
        let Value::Array(items) = items else {
            return Err(Failure::runtime(format!(
                "Invalid path '{}' : The ItemsPath value must be an array, got {}",
                map.items_path.as_ref().map_or("$", |p| p.text()),
                to_text(&items)
            )));
        };
        let limit = match &map.max_concurrency {
            Concurrency::Fixed(n) => *n,
            Concurrency::Path(path) => {
                let value = scope.select(path).map_err(|m| {
                    Failure::runtime(format!("Invalid path '{}' : {}", path.text(), m.detail))
                })?;
                match value.as_u64() {
                    Some(n) if n <= u64::from(u32::MAX) => n,
                    _ => {
                        return Err(Failure::runtime(format!(
                            "The MaxConcurrencyPath field refers to value \"{}\" which is not a valid integer: {}",
                            java_to_string(&value),
                            path.text()
                        )));
                    }
                }
            }
        };
        let tolerance = |t: &Option<Tolerance>, field: &str| -> Result<Option<f64>, Failure> {
            match t {
                None => Ok(None),
                Some(Tolerance::Fixed(n)) => Ok(Some(*n)),
                Some(Tolerance::Path(path)) => {
                    let value = scope.select(path).map_err(|m| {
                        Failure::runtime(format!("Invalid path '{}' : {}", path.text(), m.detail))
                    })?;
                    match &value {
                        Value::Number(n) if as_f64(n) >= 0.0 => Ok(Some(as_f64(n))),
                        _ => Err(Failure::runtime(format!(
                            "The {field} field refers to value \"{}\" which is not a valid number: {}",
                            java_to_string(&value),
                            path.text()
                        ))),
                    }
                }
            }
        };
        Ok(Plan {
            tolerated_count: tolerance(&map.tolerated_failure_count, "ToleratedFailureCountPath")?,
            tolerated_percentage: tolerance(
                &map.tolerated_failure_percentage,
                "ToleratedFailurePercentagePath",
            )?,
            effective,
            items,
            limit: if limit == 0 {
                usize::MAX
            } else {
                usize::try_from(limit).unwrap_or(usize::MAX)
            },
        })
    }

    /// Run every item; returns the outputs in item order and the last iteration event.
    async fn iterate(
        &self,
        entered: &Entered<'_>,
        map: &MapState,
        plan: &Plan,
        started: u64,
    ) -> Result<(Vec<Value>, u64), Halt> {
        let tolerant = plan.tolerated_count.is_some() || plan.tolerated_percentage.is_some();
        // Each MapIterationStarted follows the last state event of the iteration that finished
        // before it (the Map's `MapStateStarted` for the first).
        let cursor = AtomicU64::new(started);
        // Build the futures eagerly: a lazily mapped stream of borrowing futures trips rustc's
        // higher-ranked `Send` inference.
        let iterations: Vec<_> = plan
            .items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                self.iteration(entered, map, &plan.effective, index, item, &cursor)
            })
            .collect();
        let mut stream = futures::stream::iter(iterations).buffered(plan.limit.max(1));
        let mut results = Vec::with_capacity(plan.items.len());
        let mut failures = 0usize;
        let mut first_failure: Option<Halt> = None;
        let mut last = started;
        while let Some(outcome) = stream.next().await {
            match outcome {
                Ok((output, id)) => {
                    last = last.max(id);
                    results.push(output);
                }
                Err(halt) if tolerant && !halt.failure.terminal => {
                    last = last.max(halt.last);
                    failures += 1;
                    results.push(dataflow::error_output(&halt.failure));
                    first_failure.get_or_insert(halt);
                }
                Err(halt) => return Err(halt),
            }
        }
        if failures > 0 {
            let total = plan.items.len().max(1) as f64;
            let within_count = plan.tolerated_count.is_some_and(|n| failures as f64 <= n);
            let within_percentage = plan
                .tolerated_percentage
                .is_some_and(|p| failures as f64 * 100.0 / total <= p);
            if !(within_count || within_percentage) {
                let cause = first_failure
                    .and_then(|h| h.failure.cause)
                    .unwrap_or_else(|| "The tolerated failure threshold was exceeded".to_owned());
                return Err(Halt {
                    failure: Failure::new(names::EXCEEDED_TOLERATED_FAILURE_THRESHOLD, Some(cause)),
                    last,
                });
            }
        }
        Ok((results, last))
    }

    async fn iteration(
        &self,
        entered: &Entered<'_>,
        map: &MapState,
        effective: &Value,
        index: usize,
        item: &Value,
        cursor: &AtomicU64,
    ) -> Result<(Value, u64), Halt> {
        let item_input = match &map.item_selector {
            None => item.clone(),
            Some(selector) => {
                let ctx = self.context(entered, None);
                let ctx = ctx.with_map_item(index, item);
                selector
                    .eval(&self.scope(effective, &ctx))
                    .map_err(|f| locate(entered, f))?
            }
        };
        let name = entered.state.name.clone();
        let iteration_started = self.emit(
            EventType::MapIterationStarted,
            EventDetails::MapIteration {
                name: name.clone(),
                index,
            },
            cursor.load(Ordering::Relaxed),
        );
        match self
            .run_machine(&map.processor, item_input, iteration_started)
            .await
        {
            Ok(flow) => {
                cursor.store(flow.last, Ordering::Relaxed);
                let id = self.emit(
                    EventType::MapIterationSucceeded,
                    EventDetails::MapIteration { name, index },
                    flow.last,
                );
                Ok((flow.output, id))
            }
            Err(halt) => {
                cursor.store(halt.last, Ordering::Relaxed);
                // MapStateFailed and a retry's MapStateStarted follow the failed state's
                // event, not MapIterationFailed.
                self.emit(
                    EventType::MapIterationFailed,
                    EventDetails::MapIteration { name, index },
                    halt.last,
                );
                Err(halt)
            }
        }
    }
}
