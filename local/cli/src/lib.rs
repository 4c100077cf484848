//! The copyflow local runtime as a library: the pipeline wiring (embedded S3, the local
//! Step Functions engine, the three steps), the Step Functions API, execution records and
//! the execution-path renderer. The `copyflow` binary's commands are built on it, and the
//! cross-crate tests in `tests/` drive it directly.

pub mod backfill_machine;
pub mod console;
pub mod deploy;
pub mod executions;
pub mod lambda_host;
pub mod lock;
pub mod output;
pub mod pipeline;
pub mod render;
pub mod rule;
pub mod sdk_error;
pub mod sfn_api;
pub mod stats;
pub mod step_keys;

/// Errors of command code: reported as text, exit 1.
pub type CliResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;
