//! What happened to each state of one execution, from its history: the colours of the graph,
//! the path to highlight and what a click on a state shows. Pure, over GetExecutionHistory
//! events in their JSON form (the local engine's, or AWS's converted by the AWS source).

use serde::Serialize;
use serde_json::Value;

/// How a state fared, as the graph colours it (a state not listed was not reached).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StateStatus {
    /// Entered and left normally, first try.
    Succeeded,
    /// Left normally after failed attempts that its Retry absorbed.
    Retried,
    /// Its last attempt failed and a Catch moved the execution on.
    Caught,
    /// The execution failed here (a Fail state, or an error nothing caught).
    Failed,
    /// Entered and not yet left.
    InProgress,
}

/// A failed attempt of a task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    /// The error name.
    pub error: Option<String>,
    /// The cause.
    pub cause: Option<String>,
}

/// One state's runs during the execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateRun {
    /// The state name.
    pub name: String,
    /// Its type, from the entered event (`Task`, `Choice`, `Fail`, ...).
    pub kind: String,
    /// What happened to it.
    pub status: StateStatus,
    /// How often it was entered (more than once in a loop).
    pub entered: u32,
    /// Seconds spent in it, over all its visits.
    pub seconds: f64,
    /// The input of its last visit.
    pub input: Option<String>,
    /// The output of its last visit.
    pub output: Option<String>,
    /// The error its last visit failed with.
    pub error: Option<String>,
    /// That error's cause.
    pub cause: Option<String>,
    /// Failed attempts (retried or caught), oldest first.
    pub failed_attempts: Vec<Attempt>,
}

/// The states an execution went through, in order, and each state's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// State names in the order they were entered (with repeats for loops).
    pub path: Vec<String>,
    /// One entry per state entered, in the order first entered.
    pub states: Vec<StateRun>,
}

fn details(event: &Value) -> Option<&Value> {
    event
        .as_object()?
        .iter()
        .find(|(k, _)| k.ends_with("EventDetails"))
        .map(|(_, d)| d)
}

fn text(details: Option<&Value>, field: &str) -> Option<String> {
    details?.get(field)?.as_str().map(str::to_owned)
}

/// Reads a history (events in id order).
pub fn analyse(events: &[Value]) -> Analysis {
    let mut path = Vec::new();
    let mut states: Vec<StateRun> = Vec::new();
    // The state currently entered: its index in `states`, when it was entered, and whether
    // the attempt under way has failed (until a success event clears it).
    let mut open: Option<(usize, f64, bool)> = None;
    for event in events {
        let kind = event["type"].as_str().unwrap_or_default();
        let at = event["timestamp"].as_f64().unwrap_or(0.0);
        let d = details(event);
        if let Some(state_kind) = kind.strip_suffix("StateEntered") {
            // Entering a state while another is open: that one's error was caught.
            if let Some((i, since, failing)) = open.take() {
                let run = &mut states[i];
                run.seconds += at - since;
                run.status = if failing {
                    StateStatus::Caught
                } else {
                    StateStatus::Succeeded
                };
            }
            let name = text(d, "name").unwrap_or_default();
            path.push(name.clone());
            let i = match states.iter().position(|s| s.name == name) {
                Some(i) => i,
                None => {
                    states.push(StateRun {
                        name,
                        kind: state_kind.to_owned(),
                        status: StateStatus::InProgress,
                        entered: 0,
                        seconds: 0.0,
                        input: None,
                        output: None,
                        error: None,
                        cause: None,
                        failed_attempts: Vec::new(),
                    });
                    states.len() - 1
                }
            };
            let run = &mut states[i];
            run.entered += 1;
            run.status = StateStatus::InProgress;
            run.input = text(d, "input");
            run.error = None;
            run.cause = None;
            open = Some((i, at, false));
        } else if kind.ends_with("StateExited") {
            if let Some((i, since, failing)) = open.take() {
                let run = &mut states[i];
                run.seconds += at - since;
                run.output = text(d, "output");
                // Step Functions exits a state whose error a Catch handled, too: the last
                // attempt's failure tells caught from retried.
                run.status = if failing {
                    StateStatus::Caught
                } else if run.failed_attempts.is_empty() {
                    StateStatus::Succeeded
                } else {
                    StateStatus::Retried
                };
            }
        } else if is_attempt_failure(kind) {
            if let Some((i, _, ref mut failing)) = open {
                *failing = true;
                let run = &mut states[i];
                run.error = text(d, "error");
                run.cause = text(d, "cause");
                run.failed_attempts.push(Attempt {
                    error: run.error.clone(),
                    cause: run.cause.clone(),
                });
            }
        } else if kind.ends_with("Succeeded") && !kind.starts_with("Execution") {
            if let Some((_, _, ref mut failing)) = open {
                *failing = false;
            }
        } else if matches!(
            kind,
            "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionAborted"
        ) {
            if let Some((i, since, _)) = open.take() {
                let run = &mut states[i];
                run.seconds += at - since;
                run.status = StateStatus::Failed;
                if run.error.is_none() {
                    run.error = text(d, "error");
                    run.cause = text(d, "cause");
                }
            }
        } else if kind == "ExecutionSucceeded" {
            // A Succeed state the history shows no exit for still succeeded.
            if let Some((i, since, _)) = open.take() {
                states[i].seconds += at - since;
                states[i].status = StateStatus::Succeeded;
            }
        } else if kind == "ExecutionRedriven" {
            // The redrive re-enters the state the execution stopped in: it counts afresh.
            open = None;
        }
    }
    Analysis { path, states }
}

/// A task attempt's failure: what a Retry or Catch reacts to.
fn is_attempt_failure(kind: &str) -> bool {
    !kind.starts_with("Execution")
        && (kind.ends_with("Failed")
            || kind.ends_with("TimedOut")
            || kind.ends_with("StartFailed")
            || kind.ends_with("SubmitFailed"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entered(id: u64, t: f64, kind: &str, name: &str) -> Value {
        json!({"id": id, "timestamp": t, "type": format!("{kind}StateEntered"),
               "stateEnteredEventDetails": {"name": name, "input": format!("in-{id}")}})
    }
    fn exited(id: u64, t: f64, kind: &str, name: &str) -> Value {
        json!({"id": id, "timestamp": t, "type": format!("{kind}StateExited"),
               "stateExitedEventDetails": {"name": name, "output": format!("out-{id}")}})
    }
    fn task_failed(id: u64, t: f64, error: &str) -> Value {
        json!({"id": id, "timestamp": t, "type": "TaskFailed",
               "taskFailedEventDetails": {"error": error, "cause": "{\"errorMessage\":\"x\"}"}})
    }
    fn ev(id: u64, t: f64, kind: &str) -> Value {
        json!({"id": id, "timestamp": t, "type": kind})
    }

    fn run<'a>(a: &'a Analysis, name: &str) -> &'a StateRun {
        a.states.iter().find(|s| s.name == name).unwrap()
    }

    #[test]
    fn a_copied_execution_with_a_loop_and_a_retry() {
        let events = vec![
            ev(1, 0.0, "ExecutionStarted"),
            entered(2, 0.0, "Task", "CopyObject"),
            task_failed(3, 0.1, "S3Transient"),
            ev(4, 0.5, "TaskSucceeded"),
            exited(5, 1.0, "Task", "CopyObject"),
            entered(6, 1.0, "Choice", "IsCopyFinished"),
            exited(7, 1.0, "Choice", "IsCopyFinished"),
            entered(8, 1.0, "Task", "CopyObject"),
            ev(9, 1.5, "TaskSucceeded"),
            exited(10, 2.0, "Task", "CopyObject"),
            entered(11, 2.0, "Succeed", "Copied"),
            exited(12, 2.0, "Succeed", "Copied"),
            ev(13, 2.0, "ExecutionSucceeded"),
        ];
        let a = analyse(&events);
        assert_eq!(
            a.path,
            ["CopyObject", "IsCopyFinished", "CopyObject", "Copied"]
        );
        let copy = run(&a, "CopyObject");
        assert_eq!(copy.entered, 2);
        assert_eq!(copy.status, StateStatus::Retried);
        assert_eq!(copy.failed_attempts.len(), 1);
        assert!((copy.seconds - 2.0).abs() < 1e-9);
        assert_eq!(copy.output.as_deref(), Some("out-10"));
        assert_eq!(run(&a, "Copied").status, StateStatus::Succeeded);
    }

    #[test]
    fn a_caught_error_colours_the_task_caught_and_the_fail_state_failed() {
        let events = vec![
            ev(1, 0.0, "ExecutionStarted"),
            entered(2, 0.0, "Task", "ValidateKey"),
            task_failed(3, 0.1, "KeyRejected"),
            entered(4, 0.1, "Fail", "KeyRejected"),
            ev(5, 0.1, "ExecutionFailed"),
        ];
        let a = analyse(&events);
        let validate = run(&a, "ValidateKey");
        assert_eq!(validate.status, StateStatus::Caught);
        assert_eq!(validate.error.as_deref(), Some("KeyRejected"));
        assert_eq!(run(&a, "KeyRejected").status, StateStatus::Failed);
        // The same with the exit event Step Functions writes for a caught error.
        let mut with_exit = events.clone();
        with_exit.insert(3, exited(9, 0.1, "Task", "ValidateKey"));
        assert_eq!(
            run(&analyse(&with_exit), "ValidateKey").status,
            StateStatus::Caught
        );
    }

    #[test]
    fn a_running_state_is_in_progress_and_a_stopped_one_failed() {
        let running = vec![
            ev(1, 0.0, "ExecutionStarted"),
            entered(2, 0.0, "Task", "CopyObject"),
        ];
        assert_eq!(
            run(&analyse(&running), "CopyObject").status,
            StateStatus::InProgress
        );
        let mut stopped = running.clone();
        stopped.push(ev(3, 1.0, "ExecutionAborted"));
        assert_eq!(
            run(&analyse(&stopped), "CopyObject").status,
            StateStatus::Failed
        );
    }

    #[test]
    fn a_redriven_execution_runs_the_stopped_state_again() {
        let events = vec![
            ev(1, 0.0, "ExecutionStarted"),
            entered(2, 0.0, "Task", "CopyObject"),
            ev(3, 1.0, "ExecutionAborted"),
            ev(4, 5.0, "ExecutionRedriven"),
            entered(5, 5.0, "Task", "CopyObject"),
            ev(6, 5.5, "TaskSucceeded"),
            exited(7, 6.0, "Task", "CopyObject"),
            entered(8, 6.0, "Succeed", "Copied"),
            exited(9, 6.0, "Succeed", "Copied"),
            ev(10, 6.0, "ExecutionSucceeded"),
        ];
        let a = analyse(&events);
        assert_eq!(run(&a, "CopyObject").status, StateStatus::Succeeded);
        assert_eq!(run(&a, "CopyObject").entered, 2);
        assert_eq!(a.path, ["CopyObject", "CopyObject", "Copied"]);
    }
}
