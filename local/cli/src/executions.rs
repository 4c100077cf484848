//! The executions of the local runtime: the engine, built with its durable store under
//! `<dataDir>/executions/` (or in memory for a throwaway run), and the views the CLI and the
//! Step Functions API read from it. Every execution is labelled with its object key, so
//! lookups and filters by key are index reads.

use std::path::Path;

use copyflow_asl::{Engine, EngineConfig, ExecutionFilter, Labeler, Store, StoreError};
use serde_json::Value;

/// The engine and its reads.
#[derive(Debug)]
pub struct Executions {
    engine: Engine,
}

/// The object key of an execution's input (an EventBridge `Object Created` event), as the
/// event carries it: un-encoded from EventBridge and from the embedded server's default
/// (`raw`); the validate step, not the views, resolves other encodings.
pub fn object_key(input: &Value) -> Option<String> {
    input["detail"]["object"]["key"].as_str().map(str::to_owned)
}

impl Executions {
    /// An engine recording into `dir/executions.sqlite3` (None: memory only).
    pub fn open(config: EngineConfig, dir: Option<&Path>) -> Result<Executions, StoreError> {
        let labeler: Labeler = std::sync::Arc::new(object_key);
        let mut builder = Engine::builder().config(config).labeler(labeler);
        if let Some(dir) = dir {
            builder = builder.store(Store::open(&dir.join("executions.sqlite3"))?);
        }
        Ok(Executions {
            engine: builder.build(),
        })
    }

    /// The engine itself.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// DescribeExecution body.
    pub fn describe(&self, arn: &str) -> Option<Value> {
        self.engine
            .describe_execution(arn)
            .map(|d| d.to_json(self.engine.now()))
    }

    /// GetExecutionHistory events, all of them.
    pub fn history(&self, arn: &str) -> Option<Vec<Value>> {
        self.engine.history_page(arn, 0, u64::MAX >> 1)
    }

    /// A page of executions, newest first.
    pub fn page(&self, filter: &ExecutionFilter<'_>) -> Vec<copyflow_asl::StoredExecution> {
        self.engine.list_page(filter).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not list executions");
            Vec::new()
        })
    }

    /// How many executions the state machine has (all statuses).
    pub fn count(&self, machine_arn: &str) -> u64 {
        match self.engine.store() {
            Some(store) => store
                .count_by_status(machine_arn)
                .map(|counts| counts.iter().map(|(_, n)| n).sum())
                .unwrap_or(0),
            None => self.engine.list_executions(Some(machine_arn), None).len() as u64,
        }
    }
}
