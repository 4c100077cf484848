//! copyflow-asl: a local AWS Step Functions engine.
//!
//! Loads Amazon States Language definitions (JSONPath query language), runs executions on
//! tokio, and records each execution's history in the `GetExecutionHistory` shape, so a state
//! machine can run and be inspected on a laptop the way AWS runs it. Generic: it knows nothing
//! about the work its tasks do; Task states call Lambda handlers the host registers.
//!
//! - **Fail closed** (`parse.rs`): a field, state type or resource the engine does not
//!   implement is a [`LoadError`] naming its location, never silently ignored.
//! - **AWS semantics**: data flow in AWS order (`InputPath` → `Parameters` → task →
//!   `ResultSelector` → `ResultPath` → `OutputPath`, `model.rs`), JSONPath with Jayway's rules
//!   (`path/`), intrinsic functions (`intrinsics.rs`), Choice rules (`choice.rs`), Retry/Catch
//!   and error names (`retry.rs`, `error.rs`), Lambda integrations (`lambda.rs`). Checked
//!   against 772 executions recorded on AWS (`tests/conformance.rs`).
//! - **History** ([`HistoryEvent`], [`ExecutionDescription`]): AWS event names, ids and
//!   `previousEventId` chaining, `DescribeExecution`/`ListExecutions`-shaped summaries, live
//!   event streams.
//! - **Injected time and randomness** ([`clock`]): waits, back-off and timeouts run instantly
//!   and deterministically under a [`VirtualClock`](clock::VirtualClock) on paused tokio time.
//!
//! The public API is the [`Engine`] (built with [`EngineBuilder`]), its optional durable
//! [`Store`], the types its methods take and return (re-exported here), and [`clock`]. The
//! parser, the model and the interpreter are private: a host loads definitions through
//! [`Engine::create_state_machine`] and never needs them directly.
//!
//! ```
//! use std::collections::HashMap;
//! use copyflow_asl::{Engine, ExecutionStatus, LambdaError};
//! use serde_json::{json, Value};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let engine = Engine::new();
//! engine.register_function("greet", |event: Value| async move {
//!     let name = event["name"].as_str().unwrap_or("nobody").to_owned();
//!     Ok::<_, LambdaError>(json!({ "greeting": format!("hello {name}") }))
//! });
//! let definition = r#"{"StartAt": "Greet", "States": {"Greet": {
//!     "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
//!     "Parameters": {"FunctionName": "${GreetFunctionArn}", "Payload.$": "$"},
//!     "OutputPath": "$.Payload", "End": true}}}"#;
//! let substitutions = HashMap::from([(
//!     "GreetFunctionArn".to_owned(),
//!     "arn:aws:lambda:us-east-1:000000000000:function:greet".to_owned(),
//! )]);
//! let machine = engine
//!     .create_state_machine("hello", definition, &substitutions)
//!     .expect("valid definition");
//! let started = engine
//!     .start_execution(&machine, None, r#"{"name": "world"}"#)
//!     .expect("started");
//! let done = engine.wait_for(&started.execution_arn).await.expect("known execution");
//! assert_eq!(done.status, ExecutionStatus::Succeeded);
//! assert_eq!(done.output.as_deref(), Some(r#"{"greeting":"hello world"}"#));
//! let history = engine.get_execution_history(&started.execution_arn).expect("known");
//! assert_eq!(history[1].event_type.name(), "TaskStateEntered");
//! # }
//! ```

#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]

mod choice;
pub mod clock;
mod context;
mod dataflow;
mod durable;
mod engine;
mod error;
mod exec;
mod execution;
mod history;
mod intrinsics;
mod json;
mod lambda;
mod map_run;
mod model;
mod parse;
mod path;
mod retry;
mod template;
mod timestamp;

pub use durable::{ExecutionFilter, Store, StoreError, StoredExecution};
pub use engine::{
    Engine, EngineBuilder, EngineConfig, Labeler, RedriveError, StartError, StartedExecution,
    StateMachineInfo,
};
pub use error::{Failure, LoadError};
pub use execution::{EventStream, ExecutionDescription, ExecutionStatus};
pub use history::{EventDetails, EventType, HistoryEvent, StateType};
pub use lambda::{LambdaError, LambdaHandler};
pub use map_run::{ItemCounts, MapRunDescription, MapRunStatus};
