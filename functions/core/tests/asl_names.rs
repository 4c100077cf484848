//! The state machine and the step errors speak one vocabulary: every error name the ASL
//! matches is a `StepError` name (or a Step Functions / Lambda service name), every
//! `StepError` name is matched somewhere, and the ASL retries exactly the retryable ones.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use copyflow_core::StepError;
use serde_json::Value;

fn definition() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../statemachine/copyflow.asl.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Our own names in `field` ("Retry" or "Catch") of every state (service names excluded).
fn names_in(def: &Value, field: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for state in def["States"].as_object().unwrap().values() {
        for rule in state[field].as_array().into_iter().flatten() {
            for name in rule["ErrorEquals"].as_array().unwrap() {
                let name = name.as_str().unwrap();
                if !name.starts_with("States.") && !name.starts_with("Lambda.") {
                    out.insert(name.to_owned());
                }
            }
        }
    }
    out
}

#[test]
fn every_error_name_the_asl_matches_is_a_step_error_and_vice_versa() {
    let def = definition();
    let matched: BTreeSet<String> = names_in(&def, "Retry")
        .union(&names_in(&def, "Catch"))
        .cloned()
        .collect();
    let ours: BTreeSet<String> = StepError::ALL_NAMES
        .iter()
        .map(|n| (*n).to_owned())
        .collect();
    assert_eq!(matched, ours, "ASL names vs StepError::ALL_NAMES");
}

#[test]
fn the_asl_retries_exactly_the_retryable_step_errors() {
    let retried = names_in(&definition(), "Retry");
    let retryable: BTreeSet<String> = StepError::RETRYABLE_NAMES
        .iter()
        .map(|n| (*n).to_owned())
        .collect();
    assert_eq!(retried, retryable);
}

#[test]
fn every_task_retries_lambda_service_errors_with_full_jitter() {
    let def = definition();
    for (name, state) in def["States"].as_object().unwrap() {
        if state["Type"] != "Task" {
            continue;
        }
        let retriers = state["Retry"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no Retry"));
        let lambda = retriers
            .iter()
            .find(|r| {
                r["ErrorEquals"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|n| n == "Lambda.ServiceException")
            })
            .unwrap_or_else(|| panic!("{name} does not retry Lambda errors"));
        for n in [
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
        ] {
            assert!(
                lambda["ErrorEquals"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x == n),
                "{name} misses {n}"
            );
        }
        for r in retriers {
            assert_eq!(r["JitterStrategy"], "FULL", "{name}");
            assert!(r["MaxDelaySeconds"].is_u64(), "{name}");
        }
    }
}

/// The Fail state `next` reads the error from: `$` for `$.Error`, `$.error` for `$.error.Cause`.
fn fail_state_reads_from(def: &Value, next: &str) -> String {
    let state = &def["States"][next];
    let path = state["CausePath"]
        .as_str()
        .unwrap_or_else(|| panic!("{next} has no CausePath"));
    path.strip_suffix(".Cause")
        .unwrap_or_else(|| panic!("{next}: CausePath {path}"))
        .to_owned()
}

#[test]
fn every_catcher_puts_the_error_where_its_fail_state_reads_it() {
    let def = definition();
    for (name, state) in def["States"].as_object().unwrap() {
        for rule in state["Catch"].as_array().into_iter().flatten() {
            let next = rule["Next"].as_str().unwrap();
            if def["States"][next]["Type"] != "Fail" {
                continue;
            }
            assert_eq!(
                rule["ResultPath"].as_str().unwrap(),
                fail_state_reads_from(&def, next),
                "{name} -> {next}"
            );
        }
    }
}

#[test]
fn validate_key_catches_every_error_whatever_the_input_and_ends_in_a_named_fail_state() {
    let def = definition();
    let catchers = def["States"]["ValidateKey"]["Catch"].as_array().unwrap();
    let last = catchers.last().unwrap();
    assert_eq!(last["ErrorEquals"], serde_json::json!(["States.ALL"]));
    assert_eq!(last["Next"], "ValidationFailed");
    for rule in catchers {
        // A ResultPath into the input would fail on an array or a string input.
        assert_eq!(rule["ResultPath"], "$", "{rule}");
        assert_eq!(
            def["States"][rule["Next"].as_str().unwrap()]["Type"],
            "Fail"
        );
    }
}

#[test]
fn invalid_event_and_configuration_error_end_in_fail_states_of_their_own_from_every_task() {
    let def = definition();
    for name in ["InvalidEvent", "ConfigurationError", "DestinationChanged"] {
        assert_eq!(def["States"][name]["Type"], "Fail", "{name}");
        assert_eq!(def["States"][name]["Error"], name, "{name}");
    }
    for (task, state) in def["States"].as_object().unwrap() {
        if state["Type"] != "Task" {
            continue;
        }
        for name in ["InvalidEvent", "ConfigurationError"] {
            let rule = state["Catch"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| {
                    r["ErrorEquals"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|n| n == name)
                })
                .unwrap_or_else(|| panic!("{task} does not catch {name}"));
            assert_eq!(rule["Next"], name, "{task}");
        }
    }
    let verify = &def["States"]["VerifyCopy"]["Catch"];
    let changed = verify
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ErrorEquals"] == serde_json::json!(["DestinationChanged"]))
        .unwrap();
    assert_eq!(changed["Next"], "DestinationChanged");
}
