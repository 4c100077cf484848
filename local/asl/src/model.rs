//! The loaded state machine: every field the engine implements, already validated and compiled
//! (paths parsed, templates and intrinsic calls compiled, transitions checked).
//!
//! Field defaults follow the ASL specification (<https://states-language.net/spec.html>) and
//! <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html>:
//! `InputPath`, `OutputPath` and `ResultPath` default to `$`; an explicit `null` means "an empty
//! object" for `InputPath`/`OutputPath` and "discard the result" for `ResultPath`.

use std::collections::HashMap;

use serde_json::Value;
use time::OffsetDateTime;

use crate::choice::ChoiceRule;
use crate::intrinsics::Call;
use crate::path::Path;
use crate::retry::{Catcher, Retrier};
use crate::template::Template;

/// A state machine, or a Parallel branch, or a Map item processor.
#[derive(Debug, Clone)]
pub(crate) struct StateMachine {
    /// `StartAt`.
    pub start_at: String,
    /// The states by name.
    pub states: HashMap<String, State>,
    /// Top-level `TimeoutSeconds` (only on the root machine).
    pub timeout_seconds: Option<u64>,
}

/// One state.
#[derive(Debug, Clone)]
pub(crate) struct State {
    /// Its name.
    pub name: String,
    /// Its type and type-specific fields.
    pub kind: StateKind,
    /// `InputPath`.
    pub input_path: PathField,
    /// `OutputPath`.
    pub output_path: PathField,
}

/// `InputPath` / `OutputPath`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PathField {
    /// Absent: `$`.
    Whole,
    /// `null`: an empty object.
    Empty,
    /// A path.
    Path(Path),
}

/// `ResultPath`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ResultPath {
    /// Absent or `$`: the result replaces the input.
    Replace,
    /// `null`: the result is discarded and the input passes through.
    Discard,
    /// A reference path into the input.
    At(Path),
}

/// `Next` or `End`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transition {
    /// `"Next": "..."`.
    Next(String),
    /// `"End": true`.
    End,
}

/// Result processing shared by Pass, Task, Parallel and Map.
#[derive(Debug, Clone)]
pub(crate) struct Processing {
    /// `Parameters` (Map: `ItemSelector` lives on [`MapState`] instead).
    pub parameters: Option<Template>,
    /// `ResultSelector`.
    pub result_selector: Option<Template>,
    /// `ResultPath`.
    pub result_path: ResultPath,
}

/// Type-specific parts of a state.
#[derive(Debug, Clone)]
pub(crate) enum StateKind {
    /// `Pass`.
    Pass {
        /// `Result`, if any.
        result: Option<Value>,
        /// Parameters and ResultPath.
        processing: Processing,
        /// Where to go.
        transition: Transition,
    },
    /// `Task`.
    Task(Box<TaskState>),
    /// `Choice`.
    Choice {
        /// `Choices`.
        choices: Vec<ChoiceRule>,
        /// `Default`.
        default: Option<String>,
    },
    /// `Wait`.
    Wait {
        /// How long to wait.
        wait: WaitFor,
        /// Where to go.
        transition: Transition,
    },
    /// `Succeed`.
    Succeed,
    /// `Fail`.
    Fail {
        /// `Error` / `ErrorPath`.
        error: Option<ErrorSource>,
        /// `Cause` / `CausePath`.
        cause: Option<ErrorSource>,
    },
    /// `Parallel`.
    Parallel(Box<ParallelState>),
    /// `Map` (inline).
    Map(Box<MapState>),
}

impl StateKind {
    /// The state's `Type`, used in history event names.
    pub(crate) fn state_type(&self) -> StateType {
        match self {
            StateKind::Pass { .. } => StateType::Pass,
            StateKind::Task(_) => StateType::Task,
            StateKind::Choice { .. } => StateType::Choice,
            StateKind::Wait { .. } => StateType::Wait,
            StateKind::Succeed => StateType::Succeed,
            StateKind::Fail { .. } => StateType::Fail,
            StateKind::Parallel(_) => StateType::Parallel,
            StateKind::Map(_) => StateType::Map,
        }
    }
}

/// A state's `Type`: what the parser dispatches on and what `<Type>StateEntered` /
/// `<Type>StateExited` history events are named after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateType {
    /// `Pass`.
    Pass,
    /// `Task`.
    Task,
    /// `Choice`.
    Choice,
    /// `Wait`.
    Wait,
    /// `Succeed`.
    Succeed,
    /// `Fail`.
    Fail,
    /// `Parallel`.
    Parallel,
    /// `Map`.
    Map,
}

impl StateType {
    /// The type name as written in ASL (`"Type": "Pass"`).
    pub fn name(self) -> &'static str {
        match self {
            StateType::Pass => "Pass",
            StateType::Task => "Task",
            StateType::Choice => "Choice",
            StateType::Wait => "Wait",
            StateType::Succeed => "Succeed",
            StateType::Fail => "Fail",
            StateType::Parallel => "Parallel",
            StateType::Map => "Map",
        }
    }

    /// The type an ASL `Type` names, if this engine knows it (names are case-sensitive).
    pub fn from_name(name: &str) -> Option<StateType> {
        Some(match name {
            "Pass" => StateType::Pass,
            "Task" => StateType::Task,
            "Choice" => StateType::Choice,
            "Wait" => StateType::Wait,
            "Succeed" => StateType::Succeed,
            "Fail" => StateType::Fail,
            "Parallel" => StateType::Parallel,
            "Map" => StateType::Map,
            _ => return None,
        })
    }
}

/// A Task state.
#[derive(Debug, Clone)]
pub(crate) struct TaskState {
    /// What the task calls.
    pub resource: Resource,
    /// Parameters, ResultSelector, ResultPath.
    pub processing: Processing,
    /// `TimeoutSeconds` / `TimeoutSecondsPath`.
    pub timeout: Option<Seconds>,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
    /// Where to go.
    pub transition: Transition,
}

/// The resource of a Task state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resource {
    /// `arn:aws:states:::lambda:invoke`: the function comes from `Parameters.FunctionName` and
    /// the result is wrapped (`Payload`, `StatusCode`, `ExecutedVersion`, ...).
    LambdaInvoke,
    /// A Lambda function ARN: the effective input is the payload and the result is the
    /// function's output.
    LambdaFunction {
        /// The ARN as written.
        arn: String,
        /// The function name extracted from the ARN.
        function: String,
    },
    /// `arn:aws:states:::states:startExecution.sync:2`: start a state machine of this engine,
    /// wait for its end; the result is its DescribeExecution with `Input`/`Output` as JSON.
    StartExecutionSync2,
}

/// A duration in seconds, fixed or read from the input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seconds {
    /// A literal number of seconds.
    Fixed(u64),
    /// A path to a number of seconds.
    Path(Path),
}

/// What a Wait state waits for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WaitFor {
    /// `Seconds`.
    Seconds(u64),
    /// `SecondsPath`.
    SecondsPath(Path),
    /// `Timestamp`.
    Timestamp(OffsetDateTime),
    /// `TimestampPath`.
    TimestampPath(Path),
}

/// Where a Fail state takes its error or cause.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ErrorSource {
    /// A literal string.
    Literal(String),
    /// A path into the input (`ErrorPath` / `CausePath`).
    Path(Path),
    /// An intrinsic function call (`ErrorPath` / `CausePath`).
    Call(Call),
}

/// A Parallel state.
#[derive(Debug, Clone)]
pub(crate) struct ParallelState {
    /// `Branches`.
    pub branches: Vec<StateMachine>,
    /// Parameters, ResultSelector, ResultPath.
    pub processing: Processing,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
    /// Where to go.
    pub transition: Transition,
}

/// An inline Map state.
#[derive(Debug, Clone)]
pub(crate) struct MapState {
    /// `ItemProcessor` (or the legacy `Iterator`).
    pub processor: StateMachine,
    /// `ItemsPath` (default `$`).
    pub items_path: Option<Path>,
    /// `ItemSelector` (or the legacy `Parameters`).
    pub item_selector: Option<Template>,
    /// `MaxConcurrency` / `MaxConcurrencyPath` (0 = unlimited).
    pub max_concurrency: Concurrency,
    /// `ToleratedFailurePercentage` / `...Path`.
    pub tolerated_failure_percentage: Option<Tolerance>,
    /// `ToleratedFailureCount` / `...Path`.
    pub tolerated_failure_count: Option<Tolerance>,
    /// The Distributed Map fields, when `ProcessorConfig.Mode` is `DISTRIBUTED`.
    pub distributed: Option<Distributed>,
    /// ResultSelector and ResultPath (`parameters` is unused: see `item_selector`).
    pub processing: Processing,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
    /// Where to go.
    pub transition: Transition,
}

/// What a Distributed Map adds to a Map: where its items come from, how they are batched,
/// where its results go and what its Map Run is called.
#[derive(Debug, Clone)]
pub(crate) struct Distributed {
    /// `ItemReader` (None: the items come from `ItemsPath`, as inline).
    pub reader: Option<Integration>,
    /// `ItemReader.ReaderConfig.MaxItems`.
    pub max_items: Option<u64>,
    /// `ItemBatcher.MaxItemsPerBatch`.
    pub max_items_per_batch: Option<u64>,
    /// `ResultWriter`.
    pub writer: Option<Integration>,
    /// `Label`.
    pub label: Option<String>,
}

/// A service integration a Distributed Map calls (`ItemReader`, `ResultWriter`): the host
/// registers its handler under `resource`.
#[derive(Debug, Clone)]
pub(crate) struct Integration {
    /// `Resource`, e.g. `arn:aws:states:::s3:listObjectsV2`.
    pub resource: String,
    /// `Parameters`, evaluated against the Map's effective input.
    pub parameters: Template,
}

/// `MaxConcurrency`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Concurrency {
    /// A literal limit (0 = unlimited).
    Fixed(u64),
    /// `MaxConcurrencyPath`.
    Path(Path),
}

/// A tolerated-failure threshold.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tolerance {
    /// A literal.
    Fixed(f64),
    /// A path to the number.
    Path(Path),
}

#[cfg(test)]
mod tests {
    use super::StateType;

    #[test]
    fn state_type_names_round_trip() {
        use StateType::*;
        for t in [Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map] {
            assert_eq!(StateType::from_name(t.name()), Some(t));
        }
        assert_eq!(StateType::from_name("pass"), None);
    }
}
