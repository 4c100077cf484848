//! copyflow-asl: a local AWS Step Functions engine.
//!
//! Loads Amazon States Language definitions (JSONPath query language), runs executions on
//! tokio, and records each execution's history in the `GetExecutionHistory` shape, so a state
//! machine can run and be inspected on a laptop the way AWS runs it. Generic: it knows nothing
//! about the work its tasks do; Task states call Lambda handlers the host registers.
//!
//! - **Fail closed** ([`parse`]): a field, state type or resource the engine does not implement
//!   is a [`LoadError`] naming its location, never silently ignored.
//! - **AWS semantics**: data flow in AWS order (`InputPath` → `Parameters` → task →
//!   `ResultSelector` → `ResultPath` → `OutputPath`, see [`model`]), JSONPath with
//!   Jayway's rules ([`path`]), intrinsic functions ([`intrinsics`]), Choice rules
//!   ([`choice`]), Retry/Catch and error names ([`retry`], [`error`]), Lambda integrations
//!   ([`lambda`]). Checked against 772 executions recorded on AWS (`tests/conformance.rs`).
//! - **History** ([`history`], [`execution`]): AWS event names, ids and `previousEventId`
//!   chaining, `DescribeExecution`/`ListExecutions`-shaped summaries, live event streams.
//! - **Injected time and randomness** ([`clock`]): waits, back-off and timeouts run instantly
//!   and deterministically under a [`VirtualClock`](clock::VirtualClock) on paused tokio time.
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

pub mod choice;
pub mod clock;
pub(crate) mod context;
pub(crate) mod dataflow;
pub mod durable;
pub mod engine;
pub mod error;
pub(crate) mod exec;
pub mod execution;
pub mod history;
pub mod intrinsics;
pub mod json;
pub mod lambda;
pub mod model;
pub mod parse;
pub mod path;
pub mod retry;
pub mod template;
pub mod timestamp;

pub use durable::{ExecutionFilter, Store, StoreError, StoredExecution};
pub use engine::{
    Engine, EngineBuilder, EngineConfig, Labeler, RedriveError, StartError, StartedExecution,
    StateMachineInfo,
};
pub use error::{Failure, LoadError};
pub use execution::{EventStream, ExecutionDescription, ExecutionStatus};
pub use history::{EventDetails, EventType, HistoryEvent, StateType};
pub use lambda::{LambdaError, LambdaHandler};
