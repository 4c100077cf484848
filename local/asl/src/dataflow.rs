//! Input and output processing in AWS order: `InputPath` → `Parameters` → (the work) →
//! `ResultSelector` → `ResultPath` → `OutputPath`
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html>).
//!
//! `InputPath` and `OutputPath` select from the state input (or `$$`); `null` gives `{}`.
//! `ResultPath` writes the result into the *raw* state input (before `InputPath`); `null` keeps
//! the input unchanged. A path that selects nothing is a `States.Runtime` error with Jayway's
//! wording (`Invalid path '$.x' : No results for path: $['x']`).

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::context::ContextObject;
use crate::error::{Failure, names};
use crate::model::{PathField, ResultPath};
use crate::path::{Missing, Path, Root};

/// Apply `InputPath` or `OutputPath` to `value`.
pub(crate) fn select(
    field: &PathField,
    value: &Value,
    context: &ContextObject<'_>,
) -> Result<Value, Failure> {
    match field {
        PathField::Whole => Ok(value.clone()),
        PathField::Empty => Ok(Value::Object(Map::new())),
        PathField::Path(path) => {
            let doc = match path.root() {
                Root::Context => context.value(),
                _ => value,
            };
            path.select_value(doc).map_err(|m| path_failure(path, &m))
        }
    }
}

/// [`select`] on a document the caller no longer needs: `$` (the default of both paths) moves
/// it, and a definite path such as `$.Payload` takes its value out, instead of copying it
/// (perf: the copies were a tenth of the engine's time).
pub(crate) fn select_owned(
    field: &PathField,
    value: Value,
    context: &ContextObject<'_>,
) -> Result<Value, Failure> {
    match field {
        PathField::Whole => Ok(value),
        PathField::Path(path) if path.root() != Root::Context => {
            path.take_value(value).map_err(|m| path_failure(path, &m))
        }
        _ => select(field, &value, context),
    }
}

/// [`select`] for a caller that only reads the selection: `$` borrows the document.
pub(crate) fn select_ref<'v>(
    field: &PathField,
    value: &'v Value,
    context: &ContextObject<'_>,
) -> Result<Cow<'v, Value>, Failure> {
    match field {
        PathField::Whole => Ok(Cow::Borrowed(value)),
        _ => select(field, value, context).map(Cow::Owned),
    }
}

fn path_failure(path: &Path, m: &Missing) -> Failure {
    Failure::runtime(format!("Invalid path '{}' : {}", path.text(), m.detail))
}

/// Apply `ResultPath`: combine `result` with the raw state input.
pub(crate) fn combine(
    result_path: &ResultPath,
    raw_input: &Value,
    result: Value,
) -> Result<Value, Failure> {
    match result_path {
        ResultPath::Replace => Ok(result),
        ResultPath::Discard => Ok(raw_input.clone()),
        ResultPath::At(path) => {
            let mut out = raw_input.clone();
            path.write(&mut out, result).map_err(|e| Failure {
                error: names::RESULT_PATH_MATCH_FAILURE.to_owned(),
                cause: Some(e.to_string()),
                terminal: true,
            })?;
            Ok(out)
        }
    }
}

/// The output of a caught error: `{"Error": ..., "Cause": ...}` (absent parts omitted).
pub(crate) fn error_output(failure: &Failure) -> Value {
    let mut m = Map::new();
    if !failure.error.is_empty() {
        m.insert("Error".into(), Value::String(failure.error.clone()));
    }
    if let Some(cause) = &failure.cause {
        m.insert("Cause".into(), Value::String(cause.clone()));
    }
    Value::Object(m)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::context::ExecutionContext;
    use crate::path::Path;
    use serde_json::json;

    fn execution() -> ExecutionContext {
        ExecutionContext {
            id: "id".into(),
            name: "n".into(),
            role_arn: "r".into(),
            start_time: "t".into(),
            input: json!({"x": 1}),
            state_machine_id: "sm".into(),
            state_machine_name: "sm".into(),
        }
    }

    #[test]
    fn input_path_null_gives_an_empty_object_and_paths_select() {
        let e = execution();
        let ctx = ContextObject::new(&e, "S", "t", None);
        let input = json!({"a": {"b": 2}});
        assert_eq!(select(&PathField::Empty, &input, &ctx).unwrap(), json!({}));
        assert_eq!(select(&PathField::Whole, &input, &ctx).unwrap(), input);
        let p = PathField::Path(Path::parse("$.a").unwrap());
        assert_eq!(select(&p, &input, &ctx).unwrap(), json!({"b": 2}));
        let ctx_path = PathField::Path(Path::parse("$$.Execution.Input").unwrap());
        assert_eq!(select(&ctx_path, &input, &ctx).unwrap(), json!({"x": 1}));
    }

    #[test]
    fn select_owned_moves_the_whole_document_and_selects_like_select() {
        let e = execution();
        let ctx = ContextObject::new(&e, "S", "t", None);
        let input = json!({"a": {"b": 2}});
        assert_eq!(
            select_owned(&PathField::Whole, input.clone(), &ctx).unwrap(),
            input
        );
        assert_eq!(
            select_owned(&PathField::Empty, input.clone(), &ctx).unwrap(),
            json!({})
        );
        let p = PathField::Path(Path::parse("$.a").unwrap());
        assert_eq!(
            select_owned(&p, input.clone(), &ctx).unwrap(),
            json!({"b": 2})
        );
        let missing = PathField::Path(Path::parse("$.x").unwrap());
        assert_eq!(
            select_owned(&missing, input, &ctx).unwrap_err().error,
            "States.Runtime"
        );
    }

    #[test]
    fn missing_input_path_is_a_runtime_error_in_jayway_words() {
        let e = execution();
        let ctx = ContextObject::new(&e, "S", "t", None);
        let p = PathField::Path(Path::parse("$.NoSuchInputPath").unwrap());
        let f = select(&p, &json!({"int-literal": 0}), &ctx).unwrap_err();
        assert_eq!(f.error, "States.Runtime");
        assert_eq!(
            f.cause.unwrap(),
            "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"
        );
    }

    #[test]
    fn result_path_replaces_discards_or_inserts() {
        let raw = json!({"in": 1});
        assert_eq!(
            combine(&ResultPath::Replace, &raw, json!(2)).unwrap(),
            json!(2)
        );
        assert_eq!(combine(&ResultPath::Discard, &raw, json!(2)).unwrap(), raw);
        let at = ResultPath::At(Path::parse_reference("$.out.r").unwrap());
        assert_eq!(
            combine(&at, &raw, json!(2)).unwrap(),
            json!({"in": 1, "out": {"r": 2}})
        );
    }

    #[test]
    fn result_path_into_a_non_object_fails() {
        let at = ResultPath::At(Path::parse_reference("$.out").unwrap());
        assert!(combine(&at, &json!("text"), json!(2)).is_err());
    }

    #[test]
    fn caught_errors_become_error_and_cause() {
        let f = Failure::new("X", Some("why".into()));
        assert_eq!(error_output(&f), json!({"Error": "X", "Cause": "why"}));
        assert_eq!(
            error_output(&Failure::new("X", None)),
            json!({"Error": "X"})
        );
    }
}
