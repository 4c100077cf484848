//! Map Runs: what a Distributed Map state starts, in the `DescribeMapRun` / `ListMapRuns`
//! shapes (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeMapRun.html>).
//!
//! A Map Run has an ARN `arn:aws:states:<region>:<account>:mapRun:<machine>/<label>:<id>`;
//! each item runs as a child execution
//! `arn:aws:states:<region>:<account>:execution:<machine>/<label>:<child>` of the state
//! machine `<machine>/<label>`, as on AWS. Map Runs and their children live in memory only:
//! after a restart, a resumed execution starts its Distributed Map over (a new Map Run).

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::execution::{ExecutionDescription, ExecutionRecord, ExecutionStatus};

/// A Map Run's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapRunStatus {
    /// Items are still running.
    Running,
    /// Every item ended and failures stayed within the tolerated threshold.
    Succeeded,
    /// The tolerated failure threshold was exceeded (or the results could not be written).
    Failed,
    /// The parent execution was stopped.
    Aborted,
}

impl MapRunStatus {
    /// The API name (`RUNNING`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            MapRunStatus::Running => "RUNNING",
            MapRunStatus::Succeeded => "SUCCEEDED",
            MapRunStatus::Failed => "FAILED",
            MapRunStatus::Aborted => "ABORTED",
        }
    }
}

/// `itemCounts` (this engine runs one child execution per item or batch, so
/// `executionCounts` are the same numbers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ItemCounts {
    /// Not started yet.
    pub pending: u64,
    /// Running.
    pub running: u64,
    /// Succeeded.
    pub succeeded: u64,
    /// Failed.
    pub failed: u64,
    /// Timed out.
    pub timed_out: u64,
    /// Aborted.
    pub aborted: u64,
    /// All of them.
    pub total: u64,
    /// Written to the ResultWriter's files.
    pub results_written: u64,
}

impl ItemCounts {
    fn to_json(self) -> Value {
        json!({
            "pending": self.pending, "running": self.running, "succeeded": self.succeeded,
            "failed": self.failed, "timedOut": self.timed_out, "aborted": self.aborted,
            "total": self.total, "resultsWritten": self.results_written,
            "failuresNotRedrivable": 0, "pendingRedrive": 0,
        })
    }
}

/// A `DescribeMapRun`-shaped description.
#[derive(Debug, Clone, PartialEq)]
pub struct MapRunDescription {
    /// The Map Run's ARN.
    pub map_run_arn: String,
    /// The execution whose Distributed Map started it.
    pub execution_arn: String,
    /// The child executions' state machine (`<machine>/<label>`).
    pub state_machine_arn: String,
    /// Its status.
    pub status: MapRunStatus,
    /// When it started.
    pub start_date: OffsetDateTime,
    /// When it ended.
    pub stop_date: Option<OffsetDateTime>,
    /// `MaxConcurrency` (0: unlimited).
    pub max_concurrency: u64,
    /// `ToleratedFailurePercentage` (0 when not set).
    pub tolerated_failure_percentage: f64,
    /// `ToleratedFailureCount` (0 when not set).
    pub tolerated_failure_count: u64,
    /// Items by state.
    pub item_counts: ItemCounts,
}

fn epoch(t: OffsetDateTime) -> Value {
    json!(t.unix_timestamp_nanos() as f64 / 1e9)
}

impl MapRunDescription {
    /// The `DescribeMapRun` response body.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "mapRunArn": self.map_run_arn,
            "executionArn": self.execution_arn,
            "status": self.status.as_str(),
            "startDate": epoch(self.start_date),
            "maxConcurrency": self.max_concurrency,
            "toleratedFailurePercentage": self.tolerated_failure_percentage,
            "toleratedFailureCount": self.tolerated_failure_count,
            "itemCounts": self.item_counts.to_json(),
            "executionCounts": self.item_counts.to_json(),
            "redriveCount": 0,
        });
        if let (Some(stop), Some(m)) = (self.stop_date, v.as_object_mut()) {
            m.insert("stopDate".into(), epoch(stop));
        }
        v
    }

    /// The `ListMapRuns` item.
    pub fn list_item(&self) -> Value {
        let mut v = json!({
            "executionArn": self.execution_arn,
            "mapRunArn": self.map_run_arn,
            "stateMachineArn": self.state_machine_arn,
            "startDate": epoch(self.start_date),
        });
        if let (Some(stop), Some(m)) = (self.stop_date, v.as_object_mut()) {
            m.insert("stopDate".into(), epoch(stop));
        }
        v
    }
}

/// The live record of one Map Run.
pub(crate) struct MapRunRecord {
    pub arn: String,
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub start_date: OffsetDateTime,
    pub max_concurrency: u64,
    pub tolerated_failure_percentage: f64,
    pub tolerated_failure_count: u64,
    state: Mutex<MapRunState>,
}

struct MapRunState {
    status: MapRunStatus,
    stop_date: Option<OffsetDateTime>,
    counts: ItemCounts,
    children: Vec<Arc<ExecutionRecord>>,
}

impl MapRunRecord {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        arn: String,
        execution_arn: String,
        state_machine_arn: String,
        start_date: OffsetDateTime,
        max_concurrency: u64,
        tolerated_failure_percentage: f64,
        tolerated_failure_count: u64,
        total: u64,
    ) -> Self {
        MapRunRecord {
            arn,
            execution_arn,
            state_machine_arn,
            start_date,
            max_concurrency,
            tolerated_failure_percentage,
            tolerated_failure_count,
            state: Mutex::new(MapRunState {
                status: MapRunStatus::Running,
                stop_date: None,
                counts: ItemCounts {
                    pending: total,
                    total,
                    ..ItemCounts::default()
                },
                children: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, MapRunState> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// A child execution started.
    pub(crate) fn child_started(&self, child: Arc<ExecutionRecord>) {
        let mut s = self.lock();
        s.counts.pending = s.counts.pending.saturating_sub(1);
        s.counts.running += 1;
        s.children.push(child);
    }

    /// A child execution ended with `status`.
    pub(crate) fn child_ended(&self, status: ExecutionStatus) {
        let mut s = self.lock();
        s.counts.running = s.counts.running.saturating_sub(1);
        match status {
            ExecutionStatus::Succeeded => s.counts.succeeded += 1,
            ExecutionStatus::Failed => s.counts.failed += 1,
            ExecutionStatus::TimedOut => s.counts.timed_out += 1,
            ExecutionStatus::Aborted | ExecutionStatus::Running => s.counts.aborted += 1,
        }
    }

    /// The results written so far.
    pub(crate) fn set_results_written(&self, n: u64) {
        self.lock().counts.results_written = n;
    }

    /// The Map Run ended.
    pub(crate) fn finish(&self, status: MapRunStatus, at: OffsetDateTime) {
        let mut s = self.lock();
        if s.status == MapRunStatus::Running {
            s.status = status;
            s.stop_date = Some(at);
        }
    }

    pub(crate) fn describe(&self) -> MapRunDescription {
        let s = self.lock();
        MapRunDescription {
            map_run_arn: self.arn.clone(),
            execution_arn: self.execution_arn.clone(),
            state_machine_arn: self.state_machine_arn.clone(),
            status: s.status,
            start_date: self.start_date,
            stop_date: s.stop_date,
            max_concurrency: self.max_concurrency,
            tolerated_failure_percentage: self.tolerated_failure_percentage,
            tolerated_failure_count: self.tolerated_failure_count,
            item_counts: s.counts,
        }
    }

    /// The child executions, newest first.
    pub(crate) fn children(&self) -> Vec<ExecutionDescription> {
        self.lock()
            .children
            .iter()
            .rev()
            .map(|c| c.describe())
            .collect()
    }

    /// One child's record.
    pub(crate) fn child(&self, execution_arn: &str) -> Option<Arc<ExecutionRecord>> {
        self.lock()
            .children
            .iter()
            .find(|c| c.arn == execution_arn)
            .cloned()
    }
}
