//! Loading a definition: `${Name}` substitutions, then a fail-closed parse into [`model`].
//!
//! Fail closed means a field, state type, resource or option this engine does not implement is
//! a [`LoadError`] naming its location, never silently ignored: a definition that loads here
//! runs with the semantics AWS gives it. Structural rules checked at load follow the ASL
//! specification (<https://states-language.net/spec.html>): `StartAt` and every `Next`,
//! `Default` and catcher target name a state of the same (sub-)machine; non-terminal states
//! have exactly one of `Next` / `End: true`; `States.ALL` stands alone, in the last retrier and
//! catcher; state names are unique across the whole definition.
//!
//! Substitutions work as CloudFormation's `DefinitionSubstitutions`: each `${Name}` inside a
//! string is replaced by its value before parsing; a placeholder left without a value is a load
//! error rather than a string that would fail later.
//!
//! [`model`]: crate::model

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::choice::ChoiceRule;
use crate::error::{LoadError, names};
use crate::intrinsics::{self, Call};
use crate::model::{
    Concurrency, Distributed, ErrorSource, Integration, MapState, ParallelState, PathField,
    Processing, Resource, ResultPath, Seconds, State, StateKind, StateMachine, StateType,
    TaskState, Tolerance, Transition, WaitFor,
};
use crate::path::Path;
use crate::retry::{Catcher, Jitter, Retrier};
use crate::template::Template;
use crate::timestamp;

/// The Lambda request-response integration.
pub(crate) const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";
/// The Step Functions integration that starts a state machine and waits for its end, with
/// its output as JSON.
pub(crate) const START_EXECUTION_SYNC_2: &str = "arn:aws:states:::states:startExecution.sync:2";
/// The only `ItemReader` resource this engine reads: a bucket listing.
pub(crate) const S3_LIST_OBJECTS_V2: &str = "arn:aws:states:::s3:listObjectsV2";
/// The only `ResultWriter` resource: result files written with PutObject.
pub(crate) const S3_PUT_OBJECT: &str = "arn:aws:states:::s3:putObject";

/// Parse a definition (JSON text) after applying `substitutions`.
pub(crate) fn load(
    definition: &str,
    substitutions: &HashMap<String, String>,
) -> Result<StateMachine, LoadError> {
    let mut value: Value = serde_json::from_str(definition)
        .map_err(|e| LoadError::new("", format!("the definition is not valid JSON: {e}")))?;
    substitute(&mut value, substitutions, "")?;
    load_value(&value)
}

/// Parse a definition that is already JSON (no substitutions).
pub(crate) fn load_value(value: &Value) -> Result<StateMachine, LoadError> {
    let map = value
        .as_object()
        .ok_or_else(|| LoadError::new("", "the definition must be a JSON object"))?;
    check_keys(
        map,
        "",
        &[
            "StartAt",
            "States",
            "Comment",
            "Version",
            "TimeoutSeconds",
            "QueryLanguage",
        ],
        "the state machine",
    )?;
    check_query_language(map, "")?;
    if let Some(v) = map.get("Version")
        && v.as_str() != Some("1.0")
    {
        return Err(LoadError::new("/Version", "only version \"1.0\" exists"));
    }
    let timeout_seconds = match map.get("TimeoutSeconds") {
        None => None,
        Some(v) => Some(positive_int(v, "/TimeoutSeconds")?),
    };
    let mut names_seen = HashSet::new();
    let mut machine = machine(map, "", &mut names_seen)?;
    machine.timeout_seconds = timeout_seconds;
    Ok(machine)
}

/// Replace `${Name}` placeholders in every string (keys included).
fn substitute(
    value: &mut Value,
    substitutions: &HashMap<String, String>,
    location: &str,
) -> Result<(), LoadError> {
    match value {
        Value::String(s) => {
            *s = substitute_str(s, substitutions, location)?;
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                substitute(item, substitutions, &format!("{location}/{i}"))?;
            }
        }
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (key, mut v) in old {
                let here = format!("{location}/{key}");
                let key = substitute_str(&key, substitutions, &here)?;
                substitute(&mut v, substitutions, &here)?;
                map.insert(key, v);
            }
        }
        _ => {}
    }
    Ok(())
}

fn substitute_str(
    s: &str,
    substitutions: &HashMap<String, String>,
    location: &str,
) -> Result<String, LoadError> {
    if !s.contains("${") {
        return Ok(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}');
        let name = end.map(|e| &after[..e]);
        match name {
            Some(name)
                if !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.') =>
            {
                match substitutions.get(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        return Err(LoadError::new(
                            location,
                            format!(
                                "the definition substitution '${{{name}}}' has no value: pass it in the substitutions map"
                            ),
                        ));
                    }
                }
                rest = &after[name.len() + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn check_query_language(map: &Map<String, Value>, location: &str) -> Result<(), LoadError> {
    match map.get("QueryLanguage") {
        None => Ok(()),
        Some(Value::String(s)) if s == "JSONPath" => Ok(()),
        Some(_) => Err(LoadError::new(
            format!("{location}/QueryLanguage"),
            "only the JSONPath query language is supported (JSONata is not)",
        )),
    }
}

fn unsupported(key: &str, what: &str) -> String {
    match key {
        "Assign" | "Output" | "Arguments" => format!(
            "'{key}' belongs to variables / JSONata, which this engine does not support: use Parameters, ResultSelector, ResultPath and OutputPath"
        ),
        "HeartbeatSeconds" | "HeartbeatSecondsPath" => format!(
            "'{key}' only applies to callback and activity tasks, which this engine does not run"
        ),
        "Credentials" => "cross-account task credentials are not supported".to_owned(),
        "ItemReader" | "ItemBatcher" | "ResultWriter" | "Label" => format!(
            "'{key}' is a Distributed Map field: set ItemProcessor.ProcessorConfig.Mode to DISTRIBUTED"
        ),
        _ => format!("unknown or unsupported field '{key}' for {what}"),
    }
}

fn check_keys(
    map: &Map<String, Value>,
    location: &str,
    allowed: &[&str],
    what: &str,
) -> Result<(), LoadError> {
    for key in map.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(LoadError::new(
                format!("{location}/{key}"),
                unsupported(key, what),
            ));
        }
    }
    Ok(())
}

fn machine(
    map: &Map<String, Value>,
    location: &str,
    names_seen: &mut HashSet<String>,
) -> Result<StateMachine, LoadError> {
    let start_at = string(map.get("StartAt"), &format!("{location}/StartAt"))?;
    let states_map = map
        .get("States")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            LoadError::new(format!("{location}/States"), "must be an object of states")
        })?;
    if states_map.is_empty() {
        return Err(LoadError::new(
            format!("{location}/States"),
            "must not be empty",
        ));
    }
    let mut states = HashMap::with_capacity(states_map.len());
    for (name, value) in states_map {
        let here = format!("{location}/States/{name}");
        if !names_seen.insert(name.clone()) {
            return Err(LoadError::new(
                here,
                "state names must be unique across the whole state machine",
            ));
        }
        states.insert(name.clone(), state(name, value, &here, names_seen)?);
    }
    if !states.contains_key(&start_at) {
        return Err(LoadError::new(
            format!("{location}/StartAt"),
            format!("'{start_at}' is not a state of this machine"),
        ));
    }
    for (name, state) in &states {
        for (field, target) in targets(state) {
            if !states.contains_key(target) {
                return Err(LoadError::new(
                    format!("{location}/States/{name}/{field}"),
                    format!("'{target}' is not a state of this (sub-)machine"),
                ));
            }
        }
    }
    Ok(StateMachine {
        start_at,
        states,
        timeout_seconds: None,
    })
}

fn targets(state: &State) -> Vec<(&'static str, &str)> {
    let mut out = Vec::new();
    let (transition, catch): (Option<&Transition>, &[Catcher]) = match &state.kind {
        StateKind::Pass { transition, .. } | StateKind::Wait { transition, .. } => {
            (Some(transition), &[])
        }
        StateKind::Task(t) => (Some(&t.transition), &t.catch),
        StateKind::Parallel(p) => (Some(&p.transition), &p.catch),
        StateKind::Map(m) => (Some(&m.transition), &m.catch),
        StateKind::Choice { choices, default } => {
            for c in choices {
                out.push(("Choices", c.next.as_str()));
            }
            if let Some(d) = default {
                out.push(("Default", d.as_str()));
            }
            (None, &[])
        }
        StateKind::Succeed | StateKind::Fail { .. } => (None, &[]),
    };
    if let Some(Transition::Next(n)) = transition {
        out.push(("Next", n.as_str()));
    }
    for c in catch {
        out.push(("Catch", c.next.as_str()));
    }
    out
}

/// Fields every state may have, whatever its type.
const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];
/// `InputPath` and `OutputPath`: every kind but Fail.
const FILTER_FIELDS: &[&str] = &["InputPath", "OutputPath"];
/// Result processing of Task, Parallel and Map (Pass has `Result` and no `ResultSelector`).
const RESULT_FIELDS: &[&str] = &["ResultPath", "Parameters", "ResultSelector"];
/// Error handling of Task, Parallel and Map.
const RECOVERY_FIELDS: &[&str] = &["Retry", "Catch"];
/// `Next` / `End`: every kind but Choice, Succeed and Fail.
const TRANSITION_FIELDS: &[&str] = &["Next", "End"];

/// A state's JSON object while it is parsed: its fields, its type and where it sits.
#[derive(Clone, Copy)]
struct StateObject<'a> {
    map: &'a Map<String, Value>,
    location: &'a str,
    state_type: StateType,
}

/// `InputPath` and `OutputPath` (Fail states allow neither, so theirs are always `Whole`).
struct Filters {
    input_path: PathField,
    output_path: PathField,
}

/// What a per-kind parser returns: the shared filters and the kind's own fields.
type Parsed = Result<(Filters, StateKind), LoadError>;

impl StateObject<'_> {
    /// Refuses every field outside [`COMMON`] and the `allowed` groups (the kind's own), then
    /// reads the fields all kinds share. Each kind calls it before reading its own fields, so
    /// which error comes first does not depend on the kind.
    fn filters(&self, allowed: &[&[&str]]) -> Result<Filters, LoadError> {
        let StateObject {
            map,
            location,
            state_type,
        } = *self;
        for key in map.keys() {
            let key_str = key.as_str();
            if !COMMON.contains(&key_str) && !allowed.iter().any(|g| g.contains(&key_str)) {
                return Err(LoadError::new(
                    format!("{location}/{key}"),
                    unsupported(key, &format!("a {} state", state_type.name())),
                ));
            }
        }
        if let Some(c) = map.get("Comment")
            && !c.is_string()
        {
            return Err(LoadError::new(
                format!("{location}/Comment"),
                "must be a string",
            ));
        }
        Ok(Filters {
            input_path: path_field(map, "InputPath", location)?,
            output_path: path_field(map, "OutputPath", location)?,
        })
    }
}

fn state(
    name: &str,
    value: &Value,
    location: &str,
    names_seen: &mut HashSet<String>,
) -> Result<State, LoadError> {
    let map = value
        .as_object()
        .ok_or_else(|| LoadError::new(location, "a state must be an object"))?;
    check_query_language(map, location)?;
    let object = StateObject {
        map,
        location,
        state_type: state_type(map, location)?,
    };
    let (filters, kind) = match object.state_type {
        StateType::Pass => pass(object),
        StateType::Task => task(object),
        StateType::Choice => choice(object),
        StateType::Wait => wait(object),
        StateType::Succeed => succeed(object),
        StateType::Fail => fail(object),
        StateType::Parallel => parallel(object, names_seen),
        StateType::Map => map_state(object, names_seen),
    }?;
    Ok(State {
        name: name.to_owned(),
        kind,
        input_path: filters.input_path,
        output_path: filters.output_path,
    })
}

fn state_type(map: &Map<String, Value>, location: &str) -> Result<StateType, LoadError> {
    let here = format!("{location}/Type");
    let name = string(map.get("Type"), &here)?;
    StateType::from_name(&name).ok_or_else(|| {
        LoadError::new(
            here,
            format!(
                "unknown state type '{name}' (expected Pass, Task, Choice, Wait, Succeed, Fail, Parallel or Map)"
            ),
        )
    })
}

fn pass(object: StateObject<'_>) -> Parsed {
    let filters = object.filters(&[
        FILTER_FIELDS,
        &["ResultPath", "Parameters", "Result"],
        TRANSITION_FIELDS,
    ])?;
    let StateObject { map, location, .. } = object;
    let kind = StateKind::Pass {
        result: map.get("Result").cloned(),
        processing: processing(map, location, true, false)?,
        transition: transition(map, location)?,
    };
    Ok((filters, kind))
}

fn task(object: StateObject<'_>) -> Parsed {
    let filters = object.filters(&[
        FILTER_FIELDS,
        RESULT_FIELDS,
        &["Resource", "TimeoutSeconds", "TimeoutSecondsPath"],
        RECOVERY_FIELDS,
        TRANSITION_FIELDS,
    ])?;
    let StateObject { map, location, .. } = object;
    let resource_text = string(map.get("Resource"), &format!("{location}/Resource"))?;
    let resource = resource(&resource_text, &format!("{location}/Resource"))?;
    let processing = processing(map, location, true, true)?;
    match resource {
        Resource::StartExecutionSync2 => {
            require_parameter(map, location, "StateMachineArn", "startExecution.sync:2")?;
        }
        Resource::LambdaInvoke => {
            require_parameter(map, location, "FunctionName", "lambda:invoke")?
        }
        _ => {}
    }
    let timeout = match (map.get("TimeoutSeconds"), map.get("TimeoutSecondsPath")) {
        (Some(_), Some(_)) => {
            return Err(LoadError::new(
                format!("{location}/TimeoutSecondsPath"),
                "use either TimeoutSeconds or TimeoutSecondsPath, not both",
            ));
        }
        (Some(v), None) => Some(Seconds::Fixed(positive_int(
            v,
            &format!("{location}/TimeoutSeconds"),
        )?)),
        (None, Some(v)) => Some(Seconds::Path(path(
            v,
            &format!("{location}/TimeoutSecondsPath"),
        )?)),
        (None, None) => None,
    };
    let task = TaskState {
        resource,
        processing,
        timeout,
        retry: retriers(map, location)?,
        catch: catchers(map, location)?,
        transition: transition(map, location)?,
    };
    Ok((filters, StateKind::Task(Box::new(task))))
}

fn choice(object: StateObject<'_>) -> Parsed {
    let filters = object.filters(&[FILTER_FIELDS, &["Choices", "Default"]])?;
    let StateObject { map, location, .. } = object;
    let items = map
        .get("Choices")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            LoadError::new(
                format!("{location}/Choices"),
                "must be a non-empty array of rules",
            )
        })?;
    let choices = items
        .iter()
        .enumerate()
        .map(|(i, r)| ChoiceRule::compile(r, &format!("{location}/Choices/{i}")))
        .collect::<Result<Vec<_>, _>>()?;
    let default = match map.get("Default") {
        None => None,
        Some(v) => Some(string(Some(v), &format!("{location}/Default"))?),
    };
    Ok((filters, StateKind::Choice { choices, default }))
}

fn wait(object: StateObject<'_>) -> Parsed {
    let filters = object.filters(&[
        FILTER_FIELDS,
        &["Seconds", "SecondsPath", "Timestamp", "TimestampPath"],
        TRANSITION_FIELDS,
    ])?;
    let StateObject { map, location, .. } = object;
    let kind = StateKind::Wait {
        wait: wait_for(map, location)?,
        transition: transition(map, location)?,
    };
    Ok((filters, kind))
}

fn succeed(object: StateObject<'_>) -> Parsed {
    let filters = object.filters(&[FILTER_FIELDS])?;
    Ok((filters, StateKind::Succeed))
}

fn fail(object: StateObject<'_>) -> Parsed {
    let filters = object.filters(&[&["Error", "ErrorPath", "Cause", "CausePath"]])?;
    let StateObject { map, location, .. } = object;
    let kind = StateKind::Fail {
        error: error_source(map, "Error", "ErrorPath", location)?,
        cause: error_source(map, "Cause", "CausePath", location)?,
    };
    Ok((filters, kind))
}

fn parallel(object: StateObject<'_>, names_seen: &mut HashSet<String>) -> Parsed {
    let filters = object.filters(&[
        FILTER_FIELDS,
        RESULT_FIELDS,
        &["Branches"],
        RECOVERY_FIELDS,
        TRANSITION_FIELDS,
    ])?;
    let StateObject { map, location, .. } = object;
    let branches_v = map
        .get("Branches")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            LoadError::new(
                format!("{location}/Branches"),
                "must be a non-empty array of state machines",
            )
        })?;
    let mut branches = Vec::with_capacity(branches_v.len());
    for (i, b) in branches_v.iter().enumerate() {
        let here = format!("{location}/Branches/{i}");
        let bm = b
            .as_object()
            .ok_or_else(|| LoadError::new(&here, "a branch must be an object"))?;
        check_keys(
            bm,
            &here,
            &["StartAt", "States", "Comment"],
            "a Parallel branch",
        )?;
        branches.push(machine(bm, &here, names_seen)?);
    }
    let parallel = ParallelState {
        branches,
        processing: processing(map, location, true, true)?,
        retry: retriers(map, location)?,
        catch: catchers(map, location)?,
        transition: transition(map, location)?,
    };
    Ok((filters, StateKind::Parallel(Box::new(parallel))))
}

/// Classify a Task `Resource`.
fn resource(text: &str, location: &str) -> Result<Resource, LoadError> {
    if text == LAMBDA_INVOKE {
        return Ok(Resource::LambdaInvoke);
    }
    if text == START_EXECUTION_SYNC_2 {
        return Ok(Resource::StartExecutionSync2);
    }
    if text.starts_with("arn:aws:states:::states:") {
        return Err(LoadError::new(
            location,
            format!(
                "unsupported Step Functions integration '{text}': only '{START_EXECUTION_SYNC_2}' is supported"
            ),
        ));
    }
    if text.starts_with("arn:aws:states:::lambda:invoke.") {
        return Err(LoadError::new(
            location,
            "callback (.waitForTaskToken) Lambda integrations are not supported: use arn:aws:states:::lambda:invoke",
        ));
    }
    if let Some(function) = function_name_from_arn(text)
        && text.starts_with("arn:")
        && text.contains(":lambda:")
    {
        return Ok(Resource::LambdaFunction {
            arn: text.to_owned(),
            function,
        });
    }
    Err(LoadError::new(
        location,
        format!(
            "unsupported Task resource '{text}': only Lambda functions are supported ('{LAMBDA_INVOKE}' or a function ARN)"
        ),
    ))
}

/// The function name inside a function name, partial ARN or full ARN (qualifier removed).
pub(crate) fn function_name_from_arn(text: &str) -> Option<String> {
    match text.find("function:") {
        Some(i) => {
            let rest = &text[i + "function:".len()..];
            let name = rest.split(':').next().unwrap_or_default();
            (!name.is_empty()).then(|| name.to_owned())
        }
        None if !text.contains(':') && !text.is_empty() => Some(text.to_owned()),
        None => {
            // `name:qualifier`
            let mut parts = text.split(':');
            let name = parts.next().unwrap_or_default();
            (parts.count() == 1 && !name.is_empty()).then(|| name.to_owned())
        }
    }
}

fn map_state(object: StateObject<'_>, names_seen: &mut HashSet<String>) -> Parsed {
    let filters = object.filters(&[
        FILTER_FIELDS,
        RESULT_FIELDS,
        &[
            "ItemsPath",
            "ItemSelector",
            "Iterator",
            "ItemProcessor",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "Label",
        ],
        RECOVERY_FIELDS,
        TRANSITION_FIELDS,
    ])?;
    let StateObject { map, location, .. } = object;
    let (processor, is_distributed) = item_processor(map, location, names_seen)?;
    let distributed = match is_distributed {
        true => Some(distributed(map, location)?),
        false => {
            for key in ["ItemReader", "ItemBatcher", "ResultWriter", "Label"] {
                if map.contains_key(key) {
                    return Err(LoadError::new(
                        format!("{location}/{key}"),
                        unsupported(key, "an inline Map state"),
                    ));
                }
            }
            None
        }
    };
    let item_selector = match (map.get("ItemSelector"), map.get("Parameters")) {
        (Some(_), Some(_)) => {
            return Err(LoadError::new(
                format!("{location}/Parameters"),
                "use ItemSelector or the legacy Parameters, not both",
            ));
        }
        (Some(v), None) => Some(Template::compile(v, &format!("{location}/ItemSelector"))?),
        (None, Some(v)) => Some(Template::compile(v, &format!("{location}/Parameters"))?),
        (None, None) => None,
    };
    let items_path = match map.get("ItemsPath") {
        None => None,
        Some(v) => Some(path(v, &format!("{location}/ItemsPath"))?),
    };
    let max_concurrency = max_concurrency(map, location)?;
    let tolerated_failure_percentage =
        tolerance(map, "ToleratedFailurePercentage", location, Some(100.0))?;
    let tolerated_failure_count = tolerance(map, "ToleratedFailureCount", location, None)?;
    let map_state = MapState {
        processor,
        items_path,
        item_selector,
        max_concurrency,
        tolerated_failure_percentage,
        tolerated_failure_count,
        distributed,
        processing: processing(map, location, false, true)?,
        retry: retriers(map, location)?,
        catch: catchers(map, location)?,
        transition: transition(map, location)?,
    };
    Ok((filters, StateKind::Map(Box::new(map_state))))
}

/// A Distributed Map's own fields: `ItemReader`, `ItemBatcher`, `ResultWriter`, `Label`
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html>).
/// What this engine does not run (reading CSV/JSON files or inventory manifests, batch
/// size limits in bytes, `BatchInput`, `WriterConfig`) is refused by name.
fn distributed(map: &Map<String, Value>, location: &str) -> Result<Distributed, LoadError> {
    let mut out = Distributed {
        reader: None,
        max_items: None,
        max_items_per_batch: None,
        writer: None,
        label: None,
    };
    if let Some(v) = map.get("ItemReader") {
        let here = format!("{location}/ItemReader");
        if map.contains_key("ItemsPath") {
            return Err(LoadError::new(
                format!("{location}/ItemsPath"),
                "use either ItemReader or ItemsPath, not both",
            ));
        }
        let m = v
            .as_object()
            .ok_or_else(|| LoadError::new(&here, "must be an object"))?;
        check_keys(
            m,
            &here,
            &["Resource", "Parameters", "ReaderConfig"],
            "an ItemReader",
        )?;
        out.reader = Some(integration(m, &here, S3_LIST_OBJECTS_V2, "an ItemReader")?);
        if let Some(config) = m.get("ReaderConfig") {
            let config_here = format!("{here}/ReaderConfig");
            let cm = config
                .as_object()
                .ok_or_else(|| LoadError::new(&config_here, "must be an object"))?;
            check_keys(
                cm,
                &config_here,
                &["MaxItems"],
                "a ReaderConfig (only MaxItems is supported: a listObjectsV2 reader reads no files)",
            )?;
            if let Some(n) = cm.get("MaxItems") {
                out.max_items = Some(positive_int(n, &format!("{config_here}/MaxItems"))?);
            }
        }
    }
    if let Some(v) = map.get("ItemBatcher") {
        let here = format!("{location}/ItemBatcher");
        let m = v
            .as_object()
            .ok_or_else(|| LoadError::new(&here, "must be an object"))?;
        check_keys(
            m,
            &here,
            &["MaxItemsPerBatch"],
            "an ItemBatcher (only MaxItemsPerBatch is supported)",
        )?;
        let n = m.get("MaxItemsPerBatch").ok_or_else(|| {
            LoadError::new(
                &here,
                "needs MaxItemsPerBatch (the only batch limit supported)",
            )
        })?;
        out.max_items_per_batch = Some(positive_int(n, &format!("{here}/MaxItemsPerBatch"))?);
    }
    if let Some(v) = map.get("ResultWriter") {
        let here = format!("{location}/ResultWriter");
        let m = v
            .as_object()
            .ok_or_else(|| LoadError::new(&here, "must be an object"))?;
        check_keys(m, &here, &["Resource", "Parameters"], "a ResultWriter")?;
        out.writer = Some(integration(m, &here, S3_PUT_OBJECT, "a ResultWriter")?);
    }
    if let Some(v) = map.get("Label") {
        let here = format!("{location}/Label");
        let label = string(Some(v), &here)?;
        if label.is_empty()
            || label.chars().count() > 40
            || label.chars().any(|c| {
                c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
            })
        {
            return Err(LoadError::new(
                here,
                "must be 1 to 40 characters, without whitespace, brackets, wildcards, punctuation such as :/ or control characters",
            ));
        }
        out.label = Some(label);
    }
    Ok(out)
}

/// The `Resource` and `Parameters` of an `ItemReader` or `ResultWriter`.
fn integration(
    m: &Map<String, Value>,
    location: &str,
    expected: &str,
    what: &str,
) -> Result<Integration, LoadError> {
    let resource = string(m.get("Resource"), &format!("{location}/Resource"))?;
    if resource != expected {
        return Err(LoadError::new(
            format!("{location}/Resource"),
            format!("unsupported resource '{resource}' for {what}: only '{expected}' is supported"),
        ));
    }
    let parameters_v = m
        .get("Parameters")
        .ok_or_else(|| LoadError::new(location, "needs Parameters with a Bucket"))?;
    let has_bucket = parameters_v
        .as_object()
        .is_some_and(|p| p.contains_key("Bucket") || p.contains_key("Bucket.$"));
    if !has_bucket {
        return Err(LoadError::new(
            format!("{location}/Parameters"),
            "needs a 'Bucket' (or 'Bucket.$')",
        ));
    }
    Ok(Integration {
        resource,
        parameters: Template::compile(parameters_v, &format!("{location}/Parameters"))?,
    })
}

/// A Map state's `ItemProcessor` (or legacy `Iterator`): a sub-machine, and whether it runs
/// DISTRIBUTED (each item a child execution of a Map Run).
fn item_processor(
    map: &Map<String, Value>,
    location: &str,
    names_seen: &mut HashSet<String>,
) -> Result<(StateMachine, bool), LoadError> {
    let (key, processor_v) = match (map.get("ItemProcessor"), map.get("Iterator")) {
        (Some(_), Some(_)) => {
            return Err(LoadError::new(
                format!("{location}/Iterator"),
                "use ItemProcessor or the legacy Iterator, not both",
            ));
        }
        (Some(p), None) => ("ItemProcessor", p),
        (None, Some(p)) => ("Iterator", p),
        (None, None) => {
            return Err(LoadError::new(
                location,
                "a Map state needs an ItemProcessor",
            ));
        }
    };
    let here = format!("{location}/{key}");
    let pm = processor_v
        .as_object()
        .ok_or_else(|| LoadError::new(&here, "must be an object"))?;
    check_keys(
        pm,
        &here,
        &["StartAt", "States", "Comment", "ProcessorConfig"],
        "an item processor",
    )?;
    let mut distributed = false;
    if let Some(config) = pm.get("ProcessorConfig") {
        let config_here = format!("{here}/ProcessorConfig");
        let cm = config
            .as_object()
            .ok_or_else(|| LoadError::new(&config_here, "must be an object"))?;
        check_keys(
            cm,
            &config_here,
            &["Mode", "ExecutionType"],
            "ProcessorConfig",
        )?;
        distributed = match cm.get("Mode").and_then(Value::as_str) {
            None | Some("INLINE") => false,
            Some("DISTRIBUTED") => true,
            Some(_) => {
                return Err(LoadError::new(
                    format!("{config_here}/Mode"),
                    "must be \"INLINE\" or \"DISTRIBUTED\"",
                ));
            }
        };
        match (distributed, cm.get("ExecutionType")) {
            (false, Some(_)) => {
                return Err(LoadError::new(
                    format!("{config_here}/ExecutionType"),
                    "ExecutionType applies to DISTRIBUTED Map states only",
                ));
            }
            (true, None) => {
                return Err(LoadError::new(
                    &config_here,
                    "a DISTRIBUTED Map needs an ExecutionType (only STANDARD is supported)",
                ));
            }
            (true, Some(t)) if t.as_str() != Some("STANDARD") => {
                return Err(LoadError::new(
                    format!("{config_here}/ExecutionType"),
                    "only STANDARD child executions are supported (EXPRESS is not)",
                ));
            }
            _ => {}
        }
    }
    Ok((machine(pm, &here, names_seen)?, distributed))
}

fn max_concurrency(map: &Map<String, Value>, location: &str) -> Result<Concurrency, LoadError> {
    match (map.get("MaxConcurrency"), map.get("MaxConcurrencyPath")) {
        (Some(_), Some(_)) => Err(LoadError::new(
            format!("{location}/MaxConcurrencyPath"),
            "use either MaxConcurrency or MaxConcurrencyPath, not both",
        )),
        (Some(v), None) => v.as_u64().map(Concurrency::Fixed).ok_or_else(|| {
            LoadError::new(
                format!("{location}/MaxConcurrency"),
                "must be a non-negative integer",
            )
        }),
        (None, Some(v)) => Ok(Concurrency::Path(path(
            v,
            &format!("{location}/MaxConcurrencyPath"),
        )?)),
        (None, None) => Ok(Concurrency::Fixed(0)),
    }
}

fn tolerance(
    map: &Map<String, Value>,
    key: &str,
    location: &str,
    max: Option<f64>,
) -> Result<Option<Tolerance>, LoadError> {
    let path_key = format!("{key}Path");
    match (map.get(key), map.get(&path_key)) {
        (Some(_), Some(_)) => Err(LoadError::new(
            format!("{location}/{path_key}"),
            format!("use either {key} or {path_key}, not both"),
        )),
        (Some(v), None) => {
            let n = v
                .as_f64()
                .filter(|n| *n >= 0.0 && max.is_none_or(|m| *n <= m))
                .ok_or_else(|| {
                    LoadError::new(format!("{location}/{key}"), "must be a non-negative number")
                })?;
            Ok(Some(Tolerance::Fixed(n)))
        }
        (None, Some(v)) => Ok(Some(Tolerance::Path(path(
            v,
            &format!("{location}/{path_key}"),
        )?))),
        (None, None) => Ok(None),
    }
}

fn wait_for(map: &Map<String, Value>, location: &str) -> Result<WaitFor, LoadError> {
    let fields: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
        .into_iter()
        .filter(|k| map.contains_key(*k))
        .collect();
    if fields.len() != 1 {
        return Err(LoadError::new(
            location,
            "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
        ));
    }
    let key = fields[0];
    let here = format!("{location}/{key}");
    let v = map.get(key).unwrap_or(&Value::Null);
    Ok(match key {
        "Seconds" => WaitFor::Seconds(
            v.as_u64()
                .ok_or_else(|| LoadError::new(&here, "must be a non-negative integer"))?,
        ),
        "SecondsPath" => WaitFor::SecondsPath(path(v, &here)?),
        "Timestamp" => {
            WaitFor::Timestamp(v.as_str().and_then(timestamp::parse).ok_or_else(|| {
                LoadError::new(
                    &here,
                    "must be an ISO-8601 timestamp such as 2016-03-14T01:59:00Z",
                )
            })?)
        }
        _ => WaitFor::TimestampPath(path(v, &here)?),
    })
}

fn error_source(
    map: &Map<String, Value>,
    key: &str,
    path_key: &str,
    location: &str,
) -> Result<Option<ErrorSource>, LoadError> {
    match (map.get(key), map.get(path_key)) {
        (Some(_), Some(_)) => Err(LoadError::new(
            format!("{location}/{path_key}"),
            format!("use either {key} or {path_key}, not both"),
        )),
        (Some(v), None) => Ok(Some(ErrorSource::Literal(string(
            Some(v),
            &format!("{location}/{key}"),
        )?))),
        (None, Some(v)) => {
            let here = format!("{location}/{path_key}");
            let text = v
                .as_str()
                .ok_or_else(|| LoadError::new(&here, "must be a string"))?;
            if intrinsics::looks_like_call(text) {
                Ok(Some(ErrorSource::Call(
                    Call::parse(text).map_err(|e| LoadError::new(&here, e))?,
                )))
            } else {
                Ok(Some(ErrorSource::Path(
                    Path::parse(text).map_err(|e| LoadError::new(&here, e.to_string()))?,
                )))
            }
        }
        (None, None) => Ok(None),
    }
}

fn processing(
    map: &Map<String, Value>,
    location: &str,
    with_parameters: bool,
    with_result_selector: bool,
) -> Result<Processing, LoadError> {
    let parameters = match map.get("Parameters") {
        Some(v) if with_parameters => {
            Some(Template::compile(v, &format!("{location}/Parameters"))?)
        }
        _ => None,
    };
    let result_selector = match map.get("ResultSelector") {
        Some(v) if with_result_selector => {
            Some(Template::compile(v, &format!("{location}/ResultSelector"))?)
        }
        _ => None,
    };
    let result_path = result_path(map.get("ResultPath"), &format!("{location}/ResultPath"))?;
    Ok(Processing {
        parameters,
        result_selector,
        result_path,
    })
}

fn result_path(v: Option<&Value>, location: &str) -> Result<ResultPath, LoadError> {
    match v {
        None => Ok(ResultPath::Replace),
        Some(Value::Null) => Ok(ResultPath::Discard),
        Some(Value::String(s)) => {
            let p =
                Path::parse_reference(s).map_err(|e| LoadError::new(location, e.to_string()))?;
            Ok(if p.is_root() {
                ResultPath::Replace
            } else {
                ResultPath::At(p)
            })
        }
        Some(_) => Err(LoadError::new(location, "must be a reference path or null")),
    }
}

fn path_field(map: &Map<String, Value>, key: &str, location: &str) -> Result<PathField, LoadError> {
    match map.get(key) {
        None => Ok(PathField::Whole),
        Some(Value::Null) => Ok(PathField::Empty),
        Some(v) => {
            let p = path(v, &format!("{location}/{key}"))?;
            Ok(if p.is_root() && p.root() == crate::path::Root::Input {
                PathField::Whole
            } else {
                PathField::Path(p)
            })
        }
    }
}

fn path(v: &Value, location: &str) -> Result<Path, LoadError> {
    let text = v
        .as_str()
        .ok_or_else(|| LoadError::new(location, "must be a JSONPath string"))?;
    Path::parse(text).map_err(|e| LoadError::new(location, e.to_string()))
}

fn transition(map: &Map<String, Value>, location: &str) -> Result<Transition, LoadError> {
    match (map.get("Next"), map.get("End")) {
        (Some(next), None) => Ok(Transition::Next(string(
            Some(next),
            &format!("{location}/Next"),
        )?)),
        (None, Some(Value::Bool(true))) => Ok(Transition::End),
        (Some(_), Some(_)) => Err(LoadError::new(
            location,
            "a state has either 'Next' or 'End': true, not both",
        )),
        (None, Some(_)) => Err(LoadError::new(
            format!("{location}/End"),
            "'End' must be true (or use 'Next')",
        )),
        (None, None) => Err(LoadError::new(
            location,
            "this state needs 'Next' or 'End': true",
        )),
    }
}

fn string(v: Option<&Value>, location: &str) -> Result<String, LoadError> {
    match v {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(LoadError::new(location, "must be a string")),
        None => Err(LoadError::new(location, "is required")),
    }
}

fn positive_int(v: &Value, location: &str) -> Result<u64, LoadError> {
    v.as_u64()
        .filter(|n| *n > 0)
        .ok_or_else(|| LoadError::new(location, "must be a positive integer"))
}

fn error_equals(v: Option<&Value>, location: &str) -> Result<Vec<String>, LoadError> {
    let items = v
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| LoadError::new(location, "must be a non-empty array of error names"))?;
    let names_list = items
        .iter()
        .map(|n| {
            n.as_str()
                .map(str::to_owned)
                .ok_or_else(|| LoadError::new(location, "error names must be strings"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if names_list.len() > 1 && names_list.iter().any(|n| n == names::ALL) {
        return Err(LoadError::new(
            location,
            "States.ALL must appear alone in ErrorEquals",
        ));
    }
    Ok(names_list)
}

fn retriers(map: &Map<String, Value>, location: &str) -> Result<Vec<Retrier>, LoadError> {
    let Some(v) = map.get("Retry") else {
        return Ok(Vec::new());
    };
    let here = format!("{location}/Retry");
    let items = v
        .as_array()
        .ok_or_else(|| LoadError::new(&here, "must be an array of retriers"))?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("{here}/{i}");
        let m = item
            .as_object()
            .ok_or_else(|| LoadError::new(&at, "a retrier must be an object"))?;
        check_keys(
            m,
            &at,
            &[
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            ],
            "a retrier",
        )?;
        let mut r = Retrier {
            error_equals: error_equals(m.get("ErrorEquals"), &format!("{at}/ErrorEquals"))?,
            ..Retrier::default()
        };
        if let Some(v) = m.get("IntervalSeconds") {
            r.interval_seconds = positive_int(v, &format!("{at}/IntervalSeconds"))?;
        }
        if let Some(v) = m.get("MaxAttempts") {
            r.max_attempts = v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    LoadError::new(
                        format!("{at}/MaxAttempts"),
                        "must be a non-negative integer",
                    )
                })?;
        }
        if let Some(v) = m.get("BackoffRate") {
            r.backoff_rate = v.as_f64().filter(|b| *b >= 1.0).ok_or_else(|| {
                LoadError::new(format!("{at}/BackoffRate"), "must be a number >= 1.0")
            })?;
        }
        if let Some(v) = m.get("MaxDelaySeconds") {
            r.max_delay_seconds = Some(positive_int(v, &format!("{at}/MaxDelaySeconds"))?);
        }
        if let Some(v) = m.get("JitterStrategy") {
            r.jitter = match v.as_str() {
                Some("FULL") => Jitter::Full,
                Some("NONE") => Jitter::None,
                _ => {
                    return Err(LoadError::new(
                        format!("{at}/JitterStrategy"),
                        "must be \"FULL\" or \"NONE\"",
                    ));
                }
            };
        }
        if r.error_equals.iter().any(|n| n == names::ALL) && i + 1 != items.len() {
            return Err(LoadError::new(
                format!("{at}/ErrorEquals"),
                "a retrier with States.ALL must be the last one",
            ));
        }
        out.push(r);
    }
    Ok(out)
}

fn catchers(map: &Map<String, Value>, location: &str) -> Result<Vec<Catcher>, LoadError> {
    let Some(v) = map.get("Catch") else {
        return Ok(Vec::new());
    };
    let here = format!("{location}/Catch");
    let items = v
        .as_array()
        .ok_or_else(|| LoadError::new(&here, "must be an array of catchers"))?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("{here}/{i}");
        let m = item
            .as_object()
            .ok_or_else(|| LoadError::new(&at, "a catcher must be an object"))?;
        check_keys(
            m,
            &at,
            &["ErrorEquals", "Next", "ResultPath", "Comment"],
            "a catcher",
        )?;
        let error_equals = error_equals(m.get("ErrorEquals"), &format!("{at}/ErrorEquals"))?;
        if error_equals.iter().any(|n| n == names::ALL) && i + 1 != items.len() {
            return Err(LoadError::new(
                format!("{at}/ErrorEquals"),
                "a catcher with States.ALL must be the last one",
            ));
        }
        let result_path = result_path(m.get("ResultPath"), &format!("{at}/ResultPath"))?;
        out.push(Catcher {
            error_equals,
            next: string(m.get("Next"), &format!("{at}/Next"))?,
            result_path,
        });
    }
    Ok(out)
}

/// An integration's required parameter: `Parameters` must name `field` (or `field.$`).
fn require_parameter(
    map: &serde_json::Map<String, Value>,
    location: &str,
    field: &str,
    integration: &str,
) -> Result<(), LoadError> {
    let present = map
        .get("Parameters")
        .and_then(Value::as_object)
        .is_some_and(|p| p.contains_key(field) || p.contains_key(&format!("{field}.$")));
    if present {
        return Ok(());
    }
    Err(LoadError::new(
        format!("{location}/Parameters"),
        format!("{integration} needs Parameters with a '{field}' (or '{field}.$')"),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load_json(v: Value) -> Result<StateMachine, LoadError> {
        load(&v.to_string(), &HashMap::new())
    }

    #[test]
    fn a_minimal_pass_machine_loads() {
        let m = load_json(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}))
            .unwrap();
        assert_eq!(m.start_at, "A");
        assert_eq!(m.states["A"].kind.state_type().name(), "Pass");
    }

    #[test]
    fn unknown_fields_are_load_errors_naming_the_field() {
        let e = load_json(
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "Bogus": 1}}}),
        )
        .unwrap_err();
        assert_eq!(e.location, "/States/A/Bogus");
        let e = load_json(json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true, "HeartbeatSeconds": 5}}}))
            .unwrap_err();
        assert_eq!(e.location, "/States/A/HeartbeatSeconds");
        let e = load_json(
            json!({"StartAt": "A", "Bogus": true, "States": {"A": {"Type": "Pass", "End": true}}}),
        )
        .unwrap_err();
        assert_eq!(e.location, "/Bogus");
    }

    #[test]
    fn each_state_kind_refuses_the_fields_of_other_kinds() {
        let e = load_json(json!({"StartAt": "A", "States": {"A": {"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true, "Result": 1}}}))
        .unwrap_err();
        assert_eq!(e.location, "/States/A/Result");
        assert_eq!(
            e.message,
            "unknown or unsupported field 'Result' for a Task state"
        );
        let e =
            load_json(json!({"StartAt": "A", "States": {"A": {"Type": "Fail", "InputPath": "$"}}}))
                .unwrap_err();
        assert_eq!(
            e.message,
            "unknown or unsupported field 'InputPath' for a Fail state"
        );
    }

    #[test]
    fn the_field_check_comes_before_the_kinds_own_fields() {
        // The unknown field is reported, not the missing `Next`/`End`.
        let e = load_json(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Bogus": 1}}}))
            .unwrap_err();
        assert_eq!(e.location, "/States/A/Bogus");
    }

    #[test]
    fn unknown_state_types_and_resources_are_load_errors() {
        let e =
            load_json(json!({"StartAt": "A", "States": {"A": {"Type": "Teleport", "End": true}}}))
                .unwrap_err();
        assert_eq!(e.location, "/States/A/Type");
        let e = load_json(json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "End": true}}}))
            .unwrap_err();
        assert_eq!(e.location, "/States/A/Resource");
    }

    #[test]
    fn jsonata_and_express_distributed_maps_are_refused() {
        assert!(load_json(json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}})).is_err());
        assert!(load_json(json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}})).is_err());
    }

    #[test]
    fn transitions_must_name_states_of_the_same_machine() {
        assert!(
            load_json(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}))
                .is_err()
        );
        assert!(
            load_json(json!({"StartAt": "Z", "States": {"A": {"Type": "Pass", "End": true}}}))
                .is_err()
        );
        assert!(load_json(json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "Next": "Out"}}}]},
            "Out": {"Type": "Succeed"}}})).is_err());
    }

    #[test]
    fn next_and_end_are_mutually_exclusive_and_required() {
        assert!(load_json(json!({"StartAt": "A", "States": {"A": {"Type": "Pass"}}})).is_err());
        assert!(
            load_json(
                json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A", "End": true}}})
            )
            .is_err()
        );
    }

    #[test]
    fn states_all_must_be_alone_and_last() {
        let task = |retry: Value| {
            json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true, "Retry": retry}}})
        };
        assert!(load_json(task(json!([{"ErrorEquals": ["States.ALL", "X"]}]))).is_err());
        assert!(
            load_json(task(
                json!([{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}])
            ))
            .is_err()
        );
        assert!(
            load_json(task(
                json!([{"ErrorEquals": ["X"]}, {"ErrorEquals": ["States.ALL"]}])
            ))
            .is_ok()
        );
        assert!(load_json(task(json!([{"ErrorEquals": ["X"], "BackoffRate": 0.5}]))).is_err());
        assert!(
            load_json(task(
                json!([{"ErrorEquals": ["X"], "JitterStrategy": "HALF"}])
            ))
            .is_err()
        );
    }

    #[test]
    fn substitutions_replace_placeholders_and_missing_ones_fail() {
        let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${FnArn}", "Payload.$": "$"}, "End": true}}})
        .to_string();
        let mut subs = HashMap::new();
        assert!(load(&def, &subs).is_err());
        subs.insert(
            "FnArn".to_owned(),
            "arn:aws:lambda:us-east-1:000000000000:function:copy".to_owned(),
        );
        assert!(load(&def, &subs).is_ok());
    }

    #[test]
    fn function_names_come_out_of_arns_and_partial_arns() {
        assert_eq!(
            function_name_from_arn("arn:aws:lambda:us-east-1:1:function:copy:$LATEST").as_deref(),
            Some("copy")
        );
        assert_eq!(function_name_from_arn("copy").as_deref(), Some("copy"));
        assert_eq!(
            function_name_from_arn("1:function:copy").as_deref(),
            Some("copy")
        );
        assert_eq!(function_name_from_arn("copy:prod").as_deref(), Some("copy"));
    }

    #[test]
    fn lambda_invoke_requires_a_function_name() {
        assert!(
            load_json(json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}))
            .is_err()
        );
    }

    #[test]
    fn duplicate_state_names_across_branches_are_refused() {
        assert!(load_json(json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Next": "A", "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}]},
            "A": {"Type": "Succeed"}}})).is_err());
    }
}
