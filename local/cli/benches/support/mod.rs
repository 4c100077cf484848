//! What the benchmarks that run the pipeline in their own process share: a pipeline on a
//! data directory (embedded S3, the execution store, the steps in-process) and the number
//! of executions it has finished.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use copyflow::pipeline::{DEFAULT_MAX_RUNNING, Pipeline, PipelineOptions, S3Target};
use copyflow_core::{SettingsDocument, SettingsOrigin};

/// The pipeline with its data (objects and executions) under `dir`.
pub(crate) async fn start(dir: &Path) -> Arc<Pipeline> {
    let options = PipelineOptions {
        settings: SettingsDocument::new("copyflow-source", "copyflow-destination")
            .check(SettingsOrigin::Built)
            .unwrap(),
        s3: S3Target::Embedded {
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.join("s3"),
        },
        executions_dir: Some(dir.join("executions")),
        max_running: DEFAULT_MAX_RUNNING,
        lambda_binaries: None,
        server_runtime: None,
    };
    Pipeline::start(options).await.unwrap().0
}

/// Executions of the pipeline's state machine that have ended, from the store.
pub(crate) fn finished(p: &Pipeline) -> u64 {
    p.executions()
        .engine()
        .store()
        .unwrap()
        .count_by_status(p.machine_arn())
        .unwrap()
        .iter()
        .filter(|(s, _)| *s != copyflow_asl::ExecutionStatus::Running)
        .map(|(_, n)| n)
        .sum()
}
