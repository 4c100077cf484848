//! The host API: register Lambda handlers, create state machines, start executions, and read
//! them back (list, describe, history, live event stream), as the Step Functions API does.
//!
//! Every execution runs as its own tokio task, so a slow task blocks nothing but its own
//! execution. ARNs have the AWS forms
//! (`arn:aws:states:<region>:<account>:stateMachine:<name>`,
//! `arn:aws:states:<region>:<account>:execution:<machine>:<execution>`), and StartExecution's
//! rules apply: names are 1-80 characters without whitespace, brackets, wildcards or control
//! characters; starting an existing name with the same input while it runs returns the running
//! execution (idempotent), anything else is `ExecutionAlreadyExists`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::Value;
use time::OffsetDateTime;

use crate::clock::{Clock, RandomSource, SeededRandom, SystemClock, format_timestamp, uuid_v4};
use crate::context::ExecutionContext;
use crate::durable::{Checkpoint, ExecutionFilter, Store, StoreError, StoredExecution, Write};
use crate::error::{Failure, LoadError, PAYLOAD_LIMIT_BYTES, names};
use crate::exec::Runner;
use crate::execution::{
    Ending, EventStream, ExecutionDescription, ExecutionRecord, ExecutionStatus,
};
use crate::history::{EventDetails, EventType, HistoryEvent};
use crate::lambda::LambdaHandler;
use crate::map_run::{MapRunDescription, MapRunRecord};
use crate::model::StateMachine;
use crate::parse;

mod redrive;
pub use redrive::RedriveError;

/// Where the engine pretends to run: used in ARNs, the context object and task events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// The region (default `us-east-1`).
    pub region: String,
    /// The account id (default `000000000000`).
    pub account_id: String,
    /// The execution role reported in `ExecutionStarted` and `$$.Execution.RoleArn`.
    pub role_arn: String,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            region: "us-east-1".to_owned(),
            account_id: "000000000000".to_owned(),
            role_arn: "arn:aws:iam::000000000000:role/copyflow-local".to_owned(),
        }
    }
}

/// Builds an [`Engine`] with an injected clock, random source and configuration.
/// Derives a label from an execution's input (copyflow: the object key), stored with the
/// execution so the host can filter by it.
pub type Labeler = Arc<dyn Fn(&Value) -> Option<String> + Send + Sync>;

/// Builds an [`Engine`] with injected time, randomness, storage and labels; see
/// [`Engine::builder`]. Anything not set gets the default (real time, real entropy, memory only).
#[derive(Default)]
pub struct EngineBuilder {
    config: EngineConfig,
    clock: Option<Arc<dyn Clock>>,
    random: Option<Arc<dyn RandomSource>>,
    store: Option<Store>,
    labeler: Option<Labeler>,
}

impl std::fmt::Debug for EngineBuilder {
    // The clock, randomness and labeler are trait objects: show only whether they are set.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("config", &self.config)
            .field("clock", &self.clock.is_some())
            .field("random", &self.random.is_some())
            .field("store", &self.store)
            .field("labeler", &self.labeler.is_some())
            .finish()
    }
}

impl EngineBuilder {
    /// Region, account and role.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// The clock for waits, retries, timeouts and timestamps (default: [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The random source for jitter, UUIDs and generated names (default: from entropy).
    pub fn random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = Some(random);
        self
    }

    /// Record executions in `store`: they survive a restart ([`Engine::resume`]), finished
    /// ones leave memory, and execution names stay taken.
    pub fn store(mut self, store: Store) -> Self {
        self.store = Some(store);
        self
    }

    /// Label each execution from its input.
    pub fn labeler(mut self, labeler: Labeler) -> Self {
        self.labeler = Some(labeler);
        self
    }

    /// Build the engine.
    pub fn build(self) -> Engine {
        let next_seq = self.store.as_ref().map_or(1, |s| s.opened_max_seq() + 1);
        Engine {
            shared: Arc::new(Shared {
                config: self.config,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                random: self
                    .random
                    .unwrap_or_else(|| Arc::new(SeededRandom::from_entropy())),
                handlers: RwLock::new(HashMap::new()),
                integrations: RwLock::new(HashMap::new()),
                map_runs: RwLock::new(Vec::new()),
                machines: RwLock::new(HashMap::new()),
                executions: RwLock::new(Executions::default()),
                store: self.store,
                labeler: self.labeler,
                next_seq: AtomicU64::new(next_seq),
            }),
        }
    }
}

/// A state machine the engine knows.
#[derive(Debug, Clone)]
pub struct StateMachineInfo {
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// When it was created (or last replaced).
    pub creation_date: OffsetDateTime,
    /// The loaded definition (internal: the parsed model is not part of the public API).
    pub(crate) definition: Arc<StateMachine>,
}

/// Why StartExecution was refused (the names are the Step Functions API exceptions).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// No state machine has this name or ARN.
    #[error("StateMachineDoesNotExist: no state machine '{0}': create it first")]
    StateMachineDoesNotExist(String),
    /// The execution name breaks the naming rules.
    #[error("InvalidName: {0}")]
    InvalidName(String),
    /// The name is taken by a finished execution, or by a running one with another input.
    #[error("ExecutionAlreadyExists: an execution named '{0}' already exists")]
    ExecutionAlreadyExists(String),
    /// The input is not JSON or is larger than 256 KiB.
    #[error("InvalidExecutionInput: {0}")]
    InvalidExecutionInput(String),
    /// The execution store could not be read.
    #[error("the execution store failed: {0}")]
    Store(String),
    /// StartExecution was called outside a tokio runtime.
    #[error("no tokio runtime: call start_execution from within a tokio runtime")]
    NoRuntime,
}

/// A started execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedExecution {
    /// Its ARN.
    pub execution_arn: String,
    /// When it started.
    pub start_date: OffsetDateTime,
}

/// The executions in memory: all of them without a store, the running ones with one.
#[derive(Default)]
struct Executions {
    by_arn: HashMap<String, Arc<ExecutionRecord>>,
    order: BTreeMap<u64, Arc<ExecutionRecord>>,
}

/// What every execution of an engine shares.
pub(crate) struct Shared {
    pub config: EngineConfig,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn RandomSource>,
    handlers: RwLock<HashMap<String, Arc<dyn LambdaHandler>>>,
    integrations: RwLock<HashMap<String, Arc<dyn LambdaHandler>>>,
    map_runs: RwLock<Vec<Arc<MapRunRecord>>>,
    machines: RwLock<HashMap<String, StateMachineInfo>>,
    executions: RwLock<Executions>,
    pub store: Option<Store>,
    labeler: Option<Labeler>,
    next_seq: AtomicU64,
}

impl Shared {
    pub(crate) fn handler(&self, function: &str) -> Option<Arc<dyn LambdaHandler>> {
        read(&self.handlers).get(function).cloned()
    }

    /// The handler the host registered for a service integration `resource`.
    pub(crate) fn integration(&self, resource: &str) -> Option<Arc<dyn LambdaHandler>> {
        read(&self.integrations).get(resource).cloned()
    }

    /// Records a Map Run so DescribeMapRun and ListMapRuns find it.
    pub(crate) fn add_map_run(&self, run: Arc<MapRunRecord>) {
        write(&self.map_runs).push(run);
    }

    fn map_run_child(&self, execution_arn: &str) -> Option<Arc<ExecutionRecord>> {
        if !execution_arn.contains('/') {
            return None;
        }
        read(&self.map_runs)
            .iter()
            .rev()
            .find_map(|r| r.child(execution_arn))
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    match lock.read() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    match lock.write() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// A local Step Functions service. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Engine {
    // Handlers, machines and executions are behind locks: show the configuration only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.shared.config)
            .field("store", &self.shared.store)
            .finish_non_exhaustive()
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::builder().build()
    }
}

impl Engine {
    /// An engine with real time, entropy and the default configuration.
    pub fn new() -> Self {
        Engine::default()
    }

    /// A builder to inject a clock, a random source or a configuration.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The engine's time now (its clock: real, or a test's).
    pub fn now(&self) -> OffsetDateTime {
        self.shared.clock.now()
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// Register (or replace) the handler of a Lambda function, by function name. Task states
    /// reach it through `arn:aws:states:::lambda:invoke` (`FunctionName` may be the name or any
    /// ARN of the function) or a function ARN resource.
    pub fn register_function(&self, name: impl Into<String>, handler: impl LambdaHandler) {
        write(&self.shared.handlers).insert(name.into(), Arc::new(handler));
    }

    /// Register (or replace) the handler of a service integration that a Distributed Map
    /// calls, by its resource ARN: `arn:aws:states:::s3:listObjectsV2` for an `ItemReader`
    /// (called with `{"Bucket", "Prefix"?, "ContinuationToken"?}`, it answers as
    /// ListObjectsV2 does: `{"Contents": [{"Key", "Size", "ETag", "LastModified",
    /// "StorageClass"}], "NextContinuationToken"?}`) and `arn:aws:states:::s3:putObject` for
    /// a `ResultWriter` (called with `{"Bucket", "Key", "Body"}`). The engine stays S3-free:
    /// the host decides how to reach the bucket. A handler's error fails the Map state with
    /// its `error_type` as the error name.
    pub fn register_integration(&self, resource: impl Into<String>, handler: impl LambdaHandler) {
        write(&self.shared.integrations).insert(resource.into(), Arc::new(handler));
    }

    /// `DescribeMapRun`.
    pub fn describe_map_run(&self, map_run_arn: &str) -> Option<MapRunDescription> {
        read(&self.shared.map_runs)
            .iter()
            .find(|r| r.arn == map_run_arn)
            .map(|r| r.describe())
    }

    /// `ListMapRuns`: the Map Runs an execution started, oldest first.
    pub fn list_map_runs(&self, execution_arn: &str) -> Vec<MapRunDescription> {
        read(&self.shared.map_runs)
            .iter()
            .filter(|r| r.execution_arn == execution_arn)
            .map(|r| r.describe())
            .collect()
    }

    /// `ListExecutions` with a `mapRunArn`: the Map Run's child executions, newest first,
    /// optionally of one status. None when the Map Run is unknown.
    pub fn list_map_run_executions(
        &self,
        map_run_arn: &str,
        status: Option<ExecutionStatus>,
    ) -> Option<Vec<ExecutionDescription>> {
        let run = read(&self.shared.map_runs)
            .iter()
            .find(|r| r.arn == map_run_arn)
            .cloned()?;
        Some(
            run.children()
                .into_iter()
                .filter(|d| status.is_none_or(|s| d.status == s))
                .collect(),
        )
    }

    /// Load a definition (after `${Name}` substitutions) and register it under `name`,
    /// replacing any previous definition of that name. Returns its ARN.
    pub fn create_state_machine(
        &self,
        name: &str,
        definition: &str,
        substitutions: &HashMap<String, String>,
    ) -> Result<String, LoadError> {
        validate_name(name).map_err(|m| LoadError::new("", m))?;
        let machine = parse::load(definition, substitutions)?;
        let arn = format!(
            "arn:aws:states:{}:{}:stateMachine:{name}",
            self.shared.config.region, self.shared.config.account_id
        );
        write(&self.shared.machines).insert(
            name.to_owned(),
            StateMachineInfo {
                name: name.to_owned(),
                arn: arn.clone(),
                creation_date: self.shared.clock.now(),
                definition: Arc::new(machine),
            },
        );
        Ok(arn)
    }

    /// The state machines, by name.
    pub fn list_state_machines(&self) -> Vec<StateMachineInfo> {
        let mut all: Vec<_> = read(&self.shared.machines).values().cloned().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    fn machine(&self, name_or_arn: &str) -> Option<StateMachineInfo> {
        let machines = read(&self.shared.machines);
        machines
            .get(name_or_arn)
            .cloned()
            .or_else(|| machines.values().find(|m| m.arn == name_or_arn).cloned())
    }

    /// Start an execution of `state_machine` (name or ARN). `name` defaults to a UUID; `input`
    /// is JSON text (as StartExecution takes it) and is recorded verbatim in
    /// `ExecutionStarted`. Must be called within a tokio runtime.
    pub fn start_execution(
        &self,
        state_machine: &str,
        name: Option<&str>,
        input: &str,
    ) -> Result<StartedExecution, StartError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| StartError::NoRuntime)?;
        let machine = self
            .machine(state_machine)
            .ok_or_else(|| StartError::StateMachineDoesNotExist(state_machine.to_owned()))?;
        let name = match name {
            Some(n) => {
                validate_name(n).map_err(StartError::InvalidName)?;
                n.to_owned()
            }
            None => uuid_v4(&*self.shared.random).to_string(),
        };
        if input.len() > PAYLOAD_LIMIT_BYTES {
            return Err(StartError::InvalidExecutionInput(format!(
                "the input is {} bytes; the limit is {PAYLOAD_LIMIT_BYTES}",
                input.len()
            )));
        }
        let parsed: Value = serde_json::from_str(input).map_err(|e| {
            StartError::InvalidExecutionInput(format!("the input is not JSON: {e}"))
        })?;
        let config = &self.shared.config;
        let arn = format!(
            "arn:aws:states:{}:{}:execution:{}:{name}",
            config.region, config.account_id, machine.name
        );
        let start = self.shared.clock.now();
        let store = self.shared.store.clone();
        let record = {
            let mut executions = write(&self.shared.executions);
            if let Some(existing) = executions.by_arn.get(&arn) {
                if existing.status() == ExecutionStatus::Running && existing.input == input {
                    return Ok(StartedExecution {
                        execution_arn: arn,
                        start_date: existing.start_date,
                    });
                }
                return Err(StartError::ExecutionAlreadyExists(name));
            }
            if let Some(store) = &store {
                // Names stay taken across restarts, as on AWS (90 days after the end there).
                match store.exists(&arn) {
                    Ok(false) => {}
                    Ok(true) => return Err(StartError::ExecutionAlreadyExists(name)),
                    Err(e) => return Err(StartError::Store(e.to_string())),
                }
            }
            let seq = self.shared.next_seq.fetch_add(1, Ordering::Relaxed);
            if let Some(store) = &store {
                store.send(Write::Start {
                    seq,
                    arn: arn.clone(),
                    name: name.clone(),
                    machine_arn: machine.arn.clone(),
                    start_ns: nanos(start),
                    input: input.to_owned(),
                    label: self.shared.labeler.as_ref().and_then(|l| l(&parsed)),
                    checkpoint: Checkpoint {
                        state: machine.definition.start_at.clone(),
                        input: input.to_owned(),
                        entered_id: 0,
                        entered_ns: 0,
                        retry: None,
                    }
                    .into_stored(),
                });
            }
            let record = Arc::new(ExecutionRecord::durable(
                arn.clone(),
                name.clone(),
                machine.arn.clone(),
                input.to_owned(),
                start,
                (seq, 0, None),
                store,
            ));
            executions.by_arn.insert(arn.clone(), record.clone());
            executions.order.insert(seq, record.clone());
            record
        };
        record.push(
            EventType::ExecutionStarted,
            EventDetails::ExecutionStarted {
                input: input.to_owned(),
                role_arn: config.role_arn.clone(),
            },
            0,
            start,
        );
        self.launch(&runtime, &record, &machine, parsed, None);
        Ok(StartedExecution {
            execution_arn: arn,
            start_date: start,
        })
    }

    /// Resume the executions of `state_machine` (name or ARN) that were running when the
    /// store was last written: each continues from its last checkpoint (a Task that was in
    /// flight is invoked again, a Wait or a retry back-off waits only for what is left).
    /// Returns the resumed executions. Must be called within a tokio runtime, after the state
    /// machine was created.
    pub fn resume(&self, state_machine: &str) -> Result<Vec<StartedExecution>, StartError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| StartError::NoRuntime)?;
        let machine = self
            .machine(state_machine)
            .ok_or_else(|| StartError::StateMachineDoesNotExist(state_machine.to_owned()))?;
        let Some(store) = self.shared.store.clone() else {
            return Ok(Vec::new());
        };
        let running = store
            .running(&machine.arn)
            .map_err(|e| StartError::Store(e.to_string()))?;
        let mut resumed = Vec::new();
        for (stored, checkpoint) in running {
            let d = &stored.description;
            if self.record(&d.execution_arn).is_some() {
                continue;
            }
            let base = store
                .last_event_id(stored.seq)
                .map_err(|e| StartError::Store(e.to_string()))?;
            let parsed: Value = serde_json::from_str(&d.input).unwrap_or(Value::Null);
            let resumed_in = checkpoint.as_ref().map(|c| c.state.clone());
            let record = stored_record(&stored, base, resumed_in, &store);
            {
                let mut executions = write(&self.shared.executions);
                executions
                    .by_arn
                    .insert(d.execution_arn.clone(), record.clone());
                executions.order.insert(stored.seq, record.clone());
            }
            let resume = checkpoint.unwrap_or_else(|| Checkpoint {
                state: machine.definition.start_at.clone(),
                input: d.input.clone(),
                entered_id: 0,
                entered_ns: 0,
                retry: None,
            });
            self.launch(&runtime, &record, &machine, parsed, Some(resume));
            resumed.push(StartedExecution {
                execution_arn: d.execution_arn.clone(),
                start_date: d.start_date,
            });
        }
        Ok(resumed)
    }

    /// Waits until everything recorded so far is in the store (a no-op without one).
    pub async fn flush(&self) -> Result<(), StoreError> {
        match &self.shared.store {
            Some(store) => store.barrier().await,
            None => Ok(()),
        }
    }

    /// The store, if the engine has one.
    pub fn store(&self) -> Option<&Store> {
        self.shared.store.as_ref()
    }

    /// One execution as the store (or memory) knows it, with its label and last state.
    pub fn stored_execution(&self, execution_arn: &str) -> Option<StoredExecution> {
        if let Some(r) = self.record(execution_arn) {
            return Some(self.stored_of(&r));
        }
        let store = self.shared.store.as_ref()?;
        store.execution(execution_arn).ok().flatten()
    }

    fn stored_of(&self, r: &ExecutionRecord) -> StoredExecution {
        let description = r.describe();
        StoredExecution {
            seq: r.seq,
            label: self
                .shared
                .labeler
                .as_ref()
                .and_then(|l| serde_json::from_str(&r.input).ok().and_then(|v| l(&v))),
            last_state: r.ended_in(),
            description,
        }
    }

    /// A page of executions, newest first, as summaries (input, output and cause left out):
    /// from the store when there is one (running executions whose latest state is still in
    /// memory are shown from memory), else from memory.
    pub fn list_page(
        &self,
        filter: &ExecutionFilter<'_>,
    ) -> Result<Vec<StoredExecution>, StoreError> {
        let Some(store) = &self.shared.store else {
            let machine = self.machine(filter.machine_arn).map(|m| m.arn);
            let arn = machine.as_deref().unwrap_or(filter.machine_arn);
            let records: Vec<Arc<ExecutionRecord>> = read(&self.shared.executions)
                .order
                .range(..filter.before_seq.unwrap_or(u64::MAX))
                .rev()
                .map(|(_, r)| r.clone())
                .filter(|r| r.state_machine_arn == arn)
                .collect();
            let mut out = Vec::new();
            for r in records {
                let s = self.stored_of(&r);
                let label = s.label.as_deref().unwrap_or_default();
                if filter.status.is_some_and(|st| st != s.description.status)
                    || filter.label_prefix.is_some_and(|p| !label.starts_with(p))
                    || filter.label_contains.is_some_and(|p| !label.contains(p))
                {
                    continue;
                }
                out.push(StoredExecution {
                    description: summary(s.description),
                    ..s
                });
                if out.len() as u64 >= filter.limit {
                    break;
                }
            }
            return Ok(out);
        };
        let mut page = store.list(filter)?;
        for item in &mut page {
            if item.description.status == ExecutionStatus::Running
                && let Some(r) = self.record(&item.description.execution_arn)
            {
                item.description = summary(r.describe());
            }
        }
        Ok(page)
    }

    /// A page of one execution's history (wire JSON): events with ids in
    /// `(after, after + limit]`.
    pub fn history_page(&self, execution_arn: &str, after: u64, limit: u64) -> Option<Vec<Value>> {
        let parse = |texts: Vec<String>| -> Vec<Value> {
            texts
                .iter()
                .filter_map(|t| serde_json::from_str(t).ok())
                .collect()
        };
        if let Some(r) = self
            .record(execution_arn)
            .or_else(|| self.shared.map_run_child(execution_arn))
        {
            let mut out = Vec::new();
            if after < r.base
                && let Some(store) = &self.shared.store
            {
                out = parse(
                    store
                        .history(r.seq, after, limit.min(r.base - after))
                        .ok()?,
                );
            }
            let from = after.saturating_sub(r.base) as usize;
            let room = (limit as usize).saturating_sub(out.len());
            out.extend(r.events().iter().skip(from).take(room).map(|e| e.to_json()));
            return Some(out);
        }
        let store = self.shared.store.as_ref()?;
        let stored = store.execution(execution_arn).ok()??;
        Some(parse(store.history(stored.seq, after, limit).ok()?))
    }

    /// Drop a finished execution from memory once the store has it.
    /// Runs `record` on its own task, from the start or from `resume`.
    fn launch(
        &self,
        runtime: &tokio::runtime::Handle,
        record: &Arc<ExecutionRecord>,
        machine: &StateMachineInfo,
        input: Value,
        resume: Option<Checkpoint>,
    ) {
        let runner = Runner {
            shared: self.shared.clone(),
            record: record.clone(),
            execution: ExecutionContext {
                id: record.arn.clone(),
                name: record.name.clone(),
                role_arn: self.shared.config.role_arn.clone(),
                start_time: format_timestamp(record.start_date),
                input: input.clone(),
                state_machine_id: machine.arn.clone(),
                state_machine_name: machine.name.clone(),
            },
        };
        let handle = runtime.spawn(run(runner, machine.definition.clone(), input, resume));
        record.set_task(handle.abort_handle());
    }

    /// Drops a finished record from memory (the store has it), unless another record of the
    /// same execution (a redrive) has taken its place.
    fn forget(&self, record: &ExecutionRecord) {
        let mut executions = write(&self.shared.executions);
        let same = |r: &Arc<ExecutionRecord>| std::ptr::eq(Arc::as_ptr(r), record);
        if executions.by_arn.get(&record.arn).is_some_and(same) {
            executions.by_arn.remove(&record.arn);
        }
        if executions.order.get(&record.seq).is_some_and(same) {
            executions.order.remove(&record.seq);
        }
    }

    fn record(&self, execution_arn: &str) -> Option<Arc<ExecutionRecord>> {
        read(&self.shared.executions)
            .by_arn
            .get(execution_arn)
            .cloned()
    }

    /// The engine whose shared state this is (a task that starts executions).
    pub(crate) fn of(shared: Arc<Shared>) -> Engine {
        Engine { shared }
    }

    /// `DescribeExecution`.
    pub fn describe_execution(&self, execution_arn: &str) -> Option<ExecutionDescription> {
        match self.record(execution_arn) {
            Some(r) => Some(r.describe()),
            None => self
                .shared
                .store
                .as_ref()
                .and_then(|s| s.execution(execution_arn).ok().flatten())
                .map(|s| s.description)
                .or_else(|| {
                    self.shared
                        .map_run_child(execution_arn)
                        .map(|r| r.describe())
                }),
        }
    }

    /// `ListExecutions`: newest first, optionally for one state machine (name or ARN) and one
    /// status.
    pub fn list_executions(
        &self,
        state_machine: Option<&str>,
        status: Option<ExecutionStatus>,
    ) -> Vec<ExecutionDescription> {
        let machine_arn = state_machine.map(|m| {
            self.machine(m)
                .map(|info| info.arn)
                .unwrap_or_else(|| m.to_owned())
        });
        let records: Vec<Arc<ExecutionRecord>> = read(&self.shared.executions)
            .order
            .values()
            .rev()
            .filter(|r| {
                machine_arn
                    .as_ref()
                    .is_none_or(|arn| &r.state_machine_arn == arn)
            })
            .cloned()
            .collect();
        records
            .iter()
            .map(|r| r.describe())
            .filter(|d| status.is_none_or(|s| d.status == s))
            .collect()
    }

    /// `GetExecutionHistory` (all events, oldest first).
    pub fn get_execution_history(&self, execution_arn: &str) -> Option<Vec<HistoryEvent>> {
        self.record(execution_arn)
            .or_else(|| self.shared.map_run_child(execution_arn))
            .map(|r| r.events())
    }

    /// Follow an execution's events: the ones so far, then each new one as it happens.
    pub fn subscribe(&self, execution_arn: &str) -> Option<EventStream> {
        self.record(execution_arn).map(EventStream::new)
    }

    /// Wait until the execution ends and describe it.
    pub async fn wait_for(&self, execution_arn: &str) -> Option<ExecutionDescription> {
        let Some(record) = self.record(execution_arn) else {
            // Finished and already out of memory: the store has its end.
            return self.describe_execution(execution_arn);
        };
        until_finished(&record).await;
        Some(record.describe())
    }

    /// Waits until the execution ends, then hands its description and history to `read`
    /// straight from memory. None when the engine no longer holds it (finished and
    /// forgotten): read the store then.
    pub async fn wait_then<R>(
        &self,
        execution_arn: &str,
        read: impl FnOnce(&ExecutionDescription, &[HistoryEvent]) -> R,
    ) -> Option<R> {
        let record = self.record(execution_arn)?;
        until_finished(&record).await;
        let description = record.describe();
        Some(record.with_events(|events| read(&description, events)))
    }

    /// `StopExecution`: abort a running execution (`ExecutionAborted`). Returns false if it is
    /// unknown or already finished.
    pub fn stop_execution(
        &self,
        execution_arn: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> bool {
        let Some(record) = self.record(execution_arn) else {
            return false;
        };
        let stopped = record.finish(
            Ending::Aborted {
                error: error.map(str::to_owned),
                cause: cause.map(str::to_owned),
            },
            None,
            self.shared.clock.now(),
        );
        // Dropping the task drops the running step's future: a step that holds a resource
        // (copyflow: a multipart upload) releases it in its drop guard.
        record.abort_task();
        if stopped
            && let Some(store) = record.store().cloned()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let engine = self.clone();
            runtime.spawn(async move {
                if store.barrier().await.is_ok() {
                    engine.forget(&record);
                }
            });
        }
        stopped
    }

    /// Number of executions the engine holds (finished ones included).
    pub fn execution_count(&self) -> usize {
        read(&self.shared.executions).order.len()
    }

    /// Drop finished executions (and their histories); returns how many were dropped.
    pub fn forget_finished(&self) -> usize {
        let mut executions = write(&self.shared.executions);
        let before = executions.order.len();
        executions
            .order
            .retain(|_, r| r.status() == ExecutionStatus::Running);
        let keep: std::collections::HashSet<String> =
            executions.order.values().map(|r| r.arn.clone()).collect();
        executions.by_arn.retain(|arn, _| keep.contains(arn));
        before - executions.order.len()
    }
}

/// The in-memory record of a stored execution that runs again (resumed or redriven); its
/// first `base` events stay in the store.
fn stored_record(
    stored: &StoredExecution,
    base: u64,
    resumed_in: Option<String>,
    store: &Store,
) -> Arc<ExecutionRecord> {
    let d = &stored.description;
    let record = ExecutionRecord::durable(
        d.execution_arn.clone(),
        d.name.clone(),
        d.state_machine_arn.clone(),
        d.input.clone(),
        d.start_date,
        (stored.seq, base, resumed_in),
        Some(store.clone()),
    );
    record.set_redrives(d.redrive_count, d.redrive_date);
    Arc::new(record)
}

/// A page entry: the description without its (possibly large) input, output and cause.
fn summary(d: ExecutionDescription) -> ExecutionDescription {
    ExecutionDescription {
        input: String::new(),
        output: None,
        cause: None,
        ..d
    }
}

fn nanos(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

/// Drive one execution to its end (from `resume`, if it was recorded running) and record it;
/// with a store, it leaves memory once its end is on disk.
async fn run(runner: Runner, machine: Arc<StateMachine>, input: Value, resume: Option<Checkpoint>) {
    finish(&runner, &machine, input, resume).await;
    if let Some(store) = runner.record.store() {
        if let Err(e) = store.barrier().await {
            tracing::error!(execution = %runner.record.arn, error = %e, "could not record the end of an execution");
            return;
        }
        Engine {
            shared: runner.shared.clone(),
        }
        .forget(&runner.record);
    }
}

async fn finish(runner: &Runner, machine: &StateMachine, input: Value, resume: Option<Checkpoint>) {
    let clock = runner.shared.clock.clone();
    let outcome = {
        let execution = runner.run_machine_resumed(machine, input, resume);
        match machine.timeout_seconds {
            None => Some(execution.await),
            Some(seconds) => {
                let timer = clock.sleep(std::time::Duration::from_secs(seconds));
                match futures::future::select(execution, timer).await {
                    futures::future::Either::Left((outcome, _)) => Some(outcome),
                    futures::future::Either::Right(_) => None,
                }
            }
        }
    };
    let now = clock.now();
    match outcome {
        Some(Ok(flow)) => {
            runner.record.finish(
                Ending::Succeeded {
                    output: flow.output_text,
                },
                Some(flow.last),
                now,
            );
        }
        Some(Err(halt)) => {
            let Failure { error, cause, .. } = halt.failure;
            runner.record.finish(
                Ending::Failed {
                    error: (!error.is_empty()).then_some(error),
                    cause,
                },
                Some(halt.last),
                now,
            );
        }
        None => {
            runner.record.finish(
                Ending::TimedOut {
                    error: Some(names::TIMEOUT.to_owned()),
                    cause: Some(format!(
                        "The execution exceeded the state machine's TimeoutSeconds of {}",
                        machine.timeout_seconds.unwrap_or_default()
                    )),
                },
                None,
                now,
            );
        }
    }
}

/// StartExecution's name rules.
fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > 80 {
        return Err(format!("'{name}' must be 1 to 80 characters long"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(*c))
    {
        return Err(format!(
            "'{name}' contains the character {c:?}, which is not allowed"
        ));
    }
    Ok(())
}

/// Returns once the execution is no longer running (or its record is dropped).
async fn until_finished(record: &ExecutionRecord) {
    let mut changed = record.subscribe();
    loop {
        changed.borrow_and_update();
        if record.status() != ExecutionStatus::Running || changed.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn execution_names_follow_start_execution_rules() {
        assert!(validate_name("copy-0a1b_2").is_ok());
        for bad in ["", "has space", "a/b", "a:b", "x*", &"n".repeat(81)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }
}
