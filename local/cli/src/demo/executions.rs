//! Waiting for the demo's executions: each one's path is printed as it ends, and its result
//! is kept, typed, for the report.

use std::sync::Arc;

use copyflow::outln;
use copyflow::pipeline::Pipeline;
use copyflow_asl::StartedExecution;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinSet;

use super::outcome::{Outcome, Output};
use crate::render;

/// An execution that ended.
pub(super) struct Finished {
    pub name: String,
    /// The object key from its event.
    pub key: String,
    pub path: render::Path,
    /// The output as JSON, for the per-execution summary line.
    output_json: Option<Value>,
    pub output: Output,
}

impl Finished {
    pub(super) fn outcome(&self) -> Outcome {
        Outcome::from_state(self.path.outcome())
    }
}

/// Waits for the next `count` executions to start and finish, printing each path as it ends.
pub(super) async fn wait_all(
    pipeline: &Arc<Pipeline>,
    started: &mut UnboundedReceiver<StartedExecution>,
    count: usize,
) -> Vec<Finished> {
    let mut set = JoinSet::new();
    for _ in 0..count {
        let Some(s) = started.recv().await else { break };
        let p = pipeline.clone();
        set.spawn(async move { finish(&p, &s.execution_arn).await });
    }
    let mut out = Vec::new();
    while let Some(Ok(f)) = set.join_next().await {
        print_path(&f);
        out.push(f);
    }
    out
}

/// Waits for one execution and reads its event key, path and output.
async fn finish(pipeline: &Pipeline, arn: &str) -> Finished {
    let executions = pipeline.executions();
    let d = executions.engine().wait_for(arn).await;
    let events: Vec<render::Event> = executions
        .history(arn)
        .unwrap_or_default()
        .iter()
        .map(render::Event::from_json)
        .collect();
    let key = d
        .as_ref()
        .and_then(|d| serde_json::from_str::<Value>(&d.input).ok())
        .and_then(|input| Some(input.pointer("/detail/object/key")?.as_str()?.to_owned()))
        .unwrap_or_default();
    let output = d.as_ref().and_then(|d| d.output.as_deref());
    Finished {
        name: d.as_ref().map(|d| d.name.clone()).unwrap_or_default(),
        key,
        path: render::path(&events),
        output_json: output.and_then(|o| serde_json::from_str(o).ok()),
        output: Output::parse(output),
    }
}

/// `✔ Copied  key  [12ms]`, the path through the states, and what the execution did.
fn print_path(f: &Finished) {
    let mark = if f.path.status == "SUCCEEDED" {
        "✔"
    } else {
        "✘"
    };
    outln!(
        "{mark} {:<11} {}  [{}]",
        f.path.outcome(),
        copyflow::output::escape(&f.key),
        f.path.seconds.map_or_else(String::new, render::duration)
    );
    outln!("    {}", f.path.one_line());
    if let Some(line) = render::summary(f.output_json.as_ref(), &f.path) {
        outln!("    {line}");
    }
}

/// The input an execution of the demo's state machine was started with, by its name; empty
/// when there is no such execution.
pub(super) fn input_of(pipeline: &Pipeline, name: &str) -> String {
    let arn = format!(
        "{}:{name}",
        pipeline
            .machine_arn()
            .replace(":stateMachine:", ":execution:")
    );
    pipeline
        .executions()
        .engine()
        .describe_execution(&arn)
        .map(|d| d.input)
        .unwrap_or_default()
}
