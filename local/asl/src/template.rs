//! Payload templates: `Parameters`, `ResultSelector`, `ItemSelector`.
//!
//! Per <https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html>:
//! a key ending in `.$` takes its value from a path (`$...` against the effective input,
//! `$$...` against the context object) or an intrinsic function call, and loses the `.$`
//! suffix; every other value is copied as is, recursively through objects and arrays. A path
//! that selects nothing fails the state with `States.Runtime`. Templates are compiled once at
//! load, so a malformed path or call is a load error.

use serde_json::{Map, Value};

use crate::context::Scope;
use crate::error::{Failure, LoadError};
use crate::intrinsics::{self, Call, EvalError};
use crate::json::to_text;
use crate::path::Path;

/// A compiled payload template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Template {
    /// A subtree with no `.$` keys: copied as is.
    Literal(Value),
    /// An object with at least one dynamic field somewhere below.
    Object(Vec<(String, Field)>),
    /// An array with at least one dynamic element somewhere below.
    Array(Vec<Template>),
}

/// One field of a templated object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    /// A nested template.
    Nested(Template),
    /// `"key.$": "$.path"`; the original key (with `.$`) is kept for error messages.
    Path { source_key: String, path: Path },
    /// `"key.$": "States.Fn(...)"`.
    Call { source_key: String, call: Call },
}

impl Template {
    /// Compile `value`; `location` is the JSON pointer of the field for load errors.
    pub(crate) fn compile(value: &Value, location: &str) -> Result<Template, LoadError> {
        if !has_dynamic_keys(value) {
            return Ok(Template::Literal(value.clone()));
        }
        match value {
            Value::Object(map) => {
                let mut fields = Vec::with_capacity(map.len());
                for (key, v) in map {
                    let here = format!("{location}/{key}");
                    if let Some(stripped) = key.strip_suffix(".$") {
                        let Value::String(expr) = v else {
                            return Err(LoadError::new(
                                here,
                                "a field whose name ends in '.$' must be a string holding a JSONPath or an intrinsic function call",
                            ));
                        };
                        let field = if intrinsics::looks_like_call(expr) {
                            Field::Call {
                                source_key: key.clone(),
                                call: Call::parse(expr).map_err(|e| LoadError::new(&here, e))?,
                            }
                        } else {
                            Field::Path {
                                source_key: key.clone(),
                                path: Path::parse(expr)
                                    .map_err(|e| LoadError::new(&here, e.to_string()))?,
                            }
                        };
                        fields.push((stripped.to_owned(), field));
                    } else {
                        fields.push((key.clone(), Field::Nested(Template::compile(v, &here)?)));
                    }
                }
                Ok(Template::Object(fields))
            }
            Value::Array(items) => Ok(Template::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Template::compile(v, &format!("{location}/{i}")))
                    .collect::<Result<_, _>>()?,
            )),
            other => Ok(Template::Literal(other.clone())),
        }
    }

    /// Evaluate against a scope.
    pub(crate) fn eval(&self, scope: &Scope<'_>) -> Result<Value, Failure> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Array(items) => Ok(Value::Array(
                items
                    .iter()
                    .map(|t| t.eval(scope))
                    .collect::<Result<_, _>>()?,
            )),
            Template::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for (key, field) in fields {
                    let value = match field {
                        Field::Nested(t) => t.eval(scope)?,
                        Field::Path { source_key, path } => {
                            scope.select(path).map_err(|_| {
                                Failure::runtime(format!(
                                    "The JSONPath '{}' specified for the field '{source_key}' could not be found in the input '{}'",
                                    path.text(),
                                    to_text(scope.input)
                                ))
                            })?
                        }
                        Field::Call { source_key, call } => {
                            call.eval(scope).map_err(|e| match e {
                                EvalError::Missing { path, .. } => Failure::runtime(format!(
                                    "The JSONPath '{path}' specified for the field '{source_key}' could not be found in the input '{}'",
                                    to_text(scope.input)
                                )),
                                EvalError::Failure(message) => Failure::intrinsic(message),
                            })?
                        }
                    };
                    out.insert(key.clone(), value);
                }
                Ok(Value::Object(out))
            }
        }
    }
}

fn has_dynamic_keys(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.ends_with(".$") || has_dynamic_keys(v)),
        Value::Array(items) => items.iter().any(has_dynamic_keys),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::clock::SeededRandom;
    use crate::context::{ContextObject, ExecutionContext};
    use serde_json::json;

    fn run(template: Value, input: Value) -> Result<Value, Failure> {
        let execution = ExecutionContext {
            id: "id".into(),
            name: "n".into(),
            role_arn: "r".into(),
            start_time: "t".into(),
            input: input.clone(),
            state_machine_id: "sm".into(),
            state_machine_name: "sm".into(),
        };
        let ctx = ContextObject::new(&execution, "S", "t", None);
        let random = SeededRandom::new(1);
        let scope = Scope {
            input: &input,
            context: &ctx,
            random: &random,
        };
        Template::compile(&template, "/Parameters")
            .unwrap()
            .eval(&scope)
    }

    #[test]
    fn dollar_keys_take_values_from_paths_and_lose_the_suffix() {
        let out = run(
            json!({"a": "lit", "b.$": "$.x", "nested": [{"c.$": "$$.State.Name"}], "d.$": "States.Format('{}!', $.x)"}),
            json!({"x": 5}),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"a": "lit", "b": 5, "nested": [{"c": "S"}], "d": "5!"})
        );
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"a":"lit","b":5,"nested":[{"c":"S"}],"d":"5!"}"#
        );
    }

    #[test]
    fn literal_templates_are_copied_verbatim() {
        assert_eq!(
            run(json!({"a": [1, {"b": 2}]}), json!({})).unwrap(),
            json!({"a": [1, {"b": 2}]})
        );
    }

    #[test]
    fn missing_paths_fail_with_states_runtime_naming_the_field() {
        let f = run(
            json!({"value.$": "$.no_such_jsonpath"}),
            json!({"int-literal": 0}),
        )
        .unwrap_err();
        assert_eq!(f.error, "States.Runtime");
        assert_eq!(
            f.cause.unwrap(),
            "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '{\"int-literal\":0}'"
        );
    }

    #[test]
    fn bad_paths_and_non_string_dollar_values_are_load_errors() {
        assert!(Template::compile(&json!({"a.$": "nope"}), "/P").is_err());
        assert!(Template::compile(&json!({"a.$": 1}), "/P").is_err());
        assert!(Template::compile(&json!({"a.$": "States.Nope()"}), "/P").is_err());
    }
}
