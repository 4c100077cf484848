//! Choice rules: comparison operators (each with its `...Path` variant), `And`/`Or`/`Not`,
//! `IsPresent`, `IsNull` and the type tests, and glob `StringMatches`.
//!
//! Semantics per <https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html>:
//! a comparison whose operand has the wrong type is simply false (`NumericEquals` on a string
//! does not match); a `Variable` that selects nothing is a `States.Runtime` error, except for
//! `IsPresent`. Strings compare by UTF-16 code units (as Java does), numbers by value,
//! timestamps after parsing (both sides must be ISO-8601 extended offset date-times).

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::context::Scope;
use crate::error::{Failure, LoadError};
use crate::json::as_f64;
use crate::path::Path;
use crate::timestamp;

/// A top-level Choice rule: a condition and the state to go to when it holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChoiceRule {
    /// The condition.
    pub condition: Condition,
    /// The state to transition to.
    pub next: String,
}

/// A boolean condition over the state input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Condition {
    /// All of the conditions hold.
    And(Vec<Condition>),
    /// At least one condition holds.
    Or(Vec<Condition>),
    /// The condition does not hold.
    Not(Box<Condition>),
    /// A test of the value selected by `variable`.
    Test {
        /// The `Variable` path.
        variable: Path,
        /// What is tested.
        test: Test,
    },
}

/// One operator applied to a variable.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Test {
    /// `IsPresent`: the variable selects something.
    IsPresent(bool),
    /// `IsNull`.
    IsNull(bool),
    /// `IsNumeric`.
    IsNumeric(bool),
    /// `IsString`.
    IsString(bool),
    /// `IsBoolean`.
    IsBoolean(bool),
    /// `IsTimestamp`.
    IsTimestamp(bool),
    /// `StringMatches` with a glob pattern (`*` wildcard, `\*` and `\\` escapes).
    StringMatches(String),
    /// `String*`, `Numeric*`, `Boolean*`, `Timestamp*` comparisons.
    Compare {
        /// The value type compared.
        kind: Kind,
        /// The comparison.
        op: Op,
        /// The right-hand side.
        operand: Operand,
    },
}

/// The value type of a comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `String*`.
    String,
    /// `Numeric*`.
    Numeric,
    /// `Boolean*`.
    Boolean,
    /// `Timestamp*`.
    Timestamp,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `...Equals`.
    Equals,
    /// `...LessThan`.
    LessThan,
    /// `...GreaterThan`.
    GreaterThan,
    /// `...LessThanEquals`.
    LessThanEquals,
    /// `...GreaterThanEquals`.
    GreaterThanEquals,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    /// A literal from the definition.
    Literal(Value),
    /// A `...Path` operator's path.
    Path(Path),
}

fn parse_operator(name: &str) -> Option<(Kind, Op, bool)> {
    let (base, is_path) = match name.strip_suffix("Path") {
        Some(b) => (b, true),
        None => (name, false),
    };
    let (kind, rest) = if let Some(r) = base.strip_prefix("String") {
        (Kind::String, r)
    } else if let Some(r) = base.strip_prefix("Numeric") {
        (Kind::Numeric, r)
    } else if let Some(r) = base.strip_prefix("Boolean") {
        (Kind::Boolean, r)
    } else if let Some(r) = base.strip_prefix("Timestamp") {
        (Kind::Timestamp, r)
    } else {
        return None;
    };
    let op = match rest {
        "Equals" => Op::Equals,
        "LessThan" => Op::LessThan,
        "GreaterThan" => Op::GreaterThan,
        "LessThanEquals" => Op::LessThanEquals,
        "GreaterThanEquals" => Op::GreaterThanEquals,
        _ => return None,
    };
    if kind == Kind::Boolean && op != Op::Equals {
        return None;
    }
    Some((kind, op, is_path))
}

impl ChoiceRule {
    /// Compile one entry of `Choices`.
    pub(crate) fn compile(value: &Value, location: &str) -> Result<ChoiceRule, LoadError> {
        let map = value
            .as_object()
            .ok_or_else(|| LoadError::new(location, "a Choice rule must be an object"))?;
        let next = match map.get("Next") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                return Err(LoadError::new(
                    format!("{location}/Next"),
                    "must be a string",
                ));
            }
            None => {
                return Err(LoadError::new(
                    location,
                    "a top-level Choice rule needs a 'Next' field",
                ));
            }
        };
        let condition = compile_condition(map, location, true)?;
        Ok(ChoiceRule { condition, next })
    }
}

fn compile_condition(
    map: &Map<String, Value>,
    location: &str,
    top_level: bool,
) -> Result<Condition, LoadError> {
    let mut variable: Option<Path> = None;
    let mut found: Option<Condition> = None;
    let mut test: Option<Test> = None;
    let set_once = |slot: bool, key: &str| -> Result<(), LoadError> {
        if slot {
            Err(LoadError::new(
                format!("{location}/{key}"),
                "a Choice rule must have exactly one operator",
            ))
        } else {
            Ok(())
        }
    };
    for (key, value) in map {
        let here = format!("{location}/{key}");
        match key.as_str() {
            "Next" if top_level => {}
            "Comment" => {}
            "Variable" => {
                let text = value
                    .as_str()
                    .ok_or_else(|| LoadError::new(&here, "must be a JSONPath string"))?;
                variable =
                    Some(Path::parse(text).map_err(|e| LoadError::new(&here, e.to_string()))?);
            }
            "And" | "Or" => {
                set_once(found.is_some() || test.is_some(), key)?;
                let items = value
                    .as_array()
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| LoadError::new(&here, "must be a non-empty array of rules"))?;
                let mut conditions = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let m = item.as_object().ok_or_else(|| {
                        LoadError::new(format!("{here}/{i}"), "must be a rule object")
                    })?;
                    conditions.push(compile_condition(m, &format!("{here}/{i}"), false)?);
                }
                found = Some(if key == "And" {
                    Condition::And(conditions)
                } else {
                    Condition::Or(conditions)
                });
            }
            "Not" => {
                set_once(found.is_some() || test.is_some(), key)?;
                let m = value
                    .as_object()
                    .ok_or_else(|| LoadError::new(&here, "must be a rule object"))?;
                found = Some(Condition::Not(Box::new(compile_condition(
                    m, &here, false,
                )?)));
            }
            "IsPresent" | "IsNull" | "IsNumeric" | "IsString" | "IsBoolean" | "IsTimestamp" => {
                set_once(found.is_some() || test.is_some(), key)?;
                let b = value
                    .as_bool()
                    .ok_or_else(|| LoadError::new(&here, "must be true or false"))?;
                test = Some(match key.as_str() {
                    "IsPresent" => Test::IsPresent(b),
                    "IsNull" => Test::IsNull(b),
                    "IsNumeric" => Test::IsNumeric(b),
                    "IsString" => Test::IsString(b),
                    "IsBoolean" => Test::IsBoolean(b),
                    _ => Test::IsTimestamp(b),
                });
            }
            "StringMatches" => {
                set_once(found.is_some() || test.is_some(), key)?;
                let pattern = value
                    .as_str()
                    .ok_or_else(|| LoadError::new(&here, "must be a string pattern"))?;
                test = Some(Test::StringMatches(pattern.to_owned()));
            }
            other => {
                let Some((kind, op, is_path)) = parse_operator(other) else {
                    return Err(LoadError::new(
                        &here,
                        format!("unknown or unsupported Choice rule field '{other}'"),
                    ));
                };
                set_once(found.is_some() || test.is_some(), key)?;
                let operand = if is_path {
                    let text = value
                        .as_str()
                        .ok_or_else(|| LoadError::new(&here, "must be a JSONPath string"))?;
                    Operand::Path(
                        Path::parse(text).map_err(|e| LoadError::new(&here, e.to_string()))?,
                    )
                } else {
                    let ok = match kind {
                        Kind::String => value.is_string(),
                        Kind::Numeric => value.is_number(),
                        Kind::Boolean => value.is_boolean(),
                        Kind::Timestamp => value
                            .as_str()
                            .is_some_and(|s| timestamp::parse(s).is_some()),
                    };
                    if !ok {
                        return Err(LoadError::new(
                            &here,
                            format!("the operand of {other} has the wrong type"),
                        ));
                    }
                    Operand::Literal(value.clone())
                };
                test = Some(Test::Compare { kind, op, operand });
            }
        }
    }
    match (found, test, variable) {
        (Some(c), None, None) => Ok(c),
        (Some(_), None, Some(_)) => Err(LoadError::new(
            format!("{location}/Variable"),
            "And/Or/Not rules take no 'Variable'",
        )),
        (None, Some(test), Some(variable)) => Ok(Condition::Test { variable, test }),
        (None, Some(_), None) => Err(LoadError::new(
            location,
            "a comparison rule needs a 'Variable' field",
        )),
        _ => Err(LoadError::new(
            location,
            "a Choice rule needs exactly one operator (e.g. StringEquals, And, IsPresent)",
        )),
    }
}

impl Condition {
    /// Evaluate against `scope` (the Choice state's effective input).
    pub(crate) fn eval(&self, scope: &Scope<'_>) -> Result<bool, Failure> {
        match self {
            Condition::And(cs) => {
                for c in cs {
                    if !c.eval(scope)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Condition::Or(cs) => {
                for c in cs {
                    if c.eval(scope)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Condition::Not(c) => Ok(!c.eval(scope)?),
            Condition::Test { variable, test } => {
                let value = scope.select(variable);
                if let Test::IsPresent(expected) = test {
                    return Ok(value.is_ok() == *expected);
                }
                let value = value.map_err(|m| {
                    Failure::runtime(format!("Invalid path '{}' : {}", variable.text(), m.detail))
                })?;
                test.eval(&value, scope)
            }
        }
    }
}

impl Test {
    fn eval(&self, value: &Value, scope: &Scope<'_>) -> Result<bool, Failure> {
        Ok(match self {
            Test::IsPresent(_) => true,
            Test::IsNull(b) => value.is_null() == *b,
            Test::IsNumeric(b) => value.is_number() == *b,
            Test::IsString(b) => value.is_string() == *b,
            Test::IsBoolean(b) => value.is_boolean() == *b,
            Test::IsTimestamp(b) => {
                value
                    .as_str()
                    .is_some_and(|s| timestamp::parse(s).is_some())
                    == *b
            }
            Test::StringMatches(pattern) => value.as_str().is_some_and(|s| glob(pattern, s)),
            Test::Compare { kind, op, operand } => {
                let right = match operand {
                    Operand::Literal(v) => v.clone(),
                    Operand::Path(p) => scope.select(p).map_err(|m| {
                        Failure::runtime(format!("Invalid path '{}' : {}", p.text(), m.detail))
                    })?,
                };
                match compare(*kind, value, &right) {
                    Some(ordering) => match op {
                        Op::Equals => ordering == Ordering::Equal,
                        Op::LessThan => ordering == Ordering::Less,
                        Op::GreaterThan => ordering == Ordering::Greater,
                        Op::LessThanEquals => ordering != Ordering::Greater,
                        Op::GreaterThanEquals => ordering != Ordering::Less,
                    },
                    None => false,
                }
            }
        })
    }
}

/// Order two values of `kind`; `None` when either has the wrong type.
fn compare(kind: Kind, left: &Value, right: &Value) -> Option<Ordering> {
    match (kind, left, right) {
        (Kind::String, Value::String(a), Value::String(b)) => {
            Some(a.encode_utf16().cmp(b.encode_utf16()))
        }
        (Kind::Numeric, Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => as_f64(a).partial_cmp(&as_f64(b)),
        },
        (Kind::Boolean, Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Kind::Timestamp, Value::String(a), Value::String(b)) => {
            let (x, y) = (timestamp::parse(a)?, timestamp::parse(b)?);
            Some(x.cmp(&y))
        }
        _ => None,
    }
}

/// Glob match for `StringMatches`: `*` matches any run of characters; `\*` and `\\` are a
/// literal star and backslash.
fn glob(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Star,
        Char(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) => toks.push(Tok::Char(e)),
                None => toks.push(Tok::Char('\\')),
            },
            '*' => toks.push(Tok::Star),
            other => toks.push(Tok::Char(other)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Iterative matcher with single-star backtracking.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Tok::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|t| *t == Tok::Star)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::clock::SeededRandom;
    use crate::context::{ContextObject, ExecutionContext};
    use serde_json::json;

    fn check(rule: Value, input: Value) -> Result<bool, Failure> {
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
        let mut rule = rule;
        rule["Next"] = json!("X");
        ChoiceRule::compile(&rule, "/Choices/0")
            .unwrap()
            .condition
            .eval(&scope)
    }

    #[test]
    fn comparisons_on_the_wrong_type_are_false() {
        assert!(
            !check(
                json!({"Variable": "$.v", "NumericEquals": 1}),
                json!({"v": "1"})
            )
            .unwrap()
        );
        assert!(
            !check(
                json!({"Variable": "$.v", "StringEquals": "1"}),
                json!({"v": 1})
            )
            .unwrap()
        );
        assert!(
            !check(
                json!({"Variable": "$.v", "BooleanEquals": true}),
                json!({"v": null})
            )
            .unwrap()
        );
    }

    #[test]
    fn numeric_comparisons_compare_by_value() {
        assert!(
            check(
                json!({"Variable": "$.v", "NumericEquals": 1}),
                json!({"v": 1.0})
            )
            .unwrap()
        );
        assert!(
            check(
                json!({"Variable": "$.v", "NumericLessThanEqualsPath": "$.w"}),
                json!({"v": 0, "w": 1})
            )
            .unwrap()
        );
        assert!(
            !check(
                json!({"Variable": "$.v", "NumericGreaterThan": 2.5}),
                json!({"v": 2.5})
            )
            .unwrap()
        );
    }

    #[test]
    fn string_and_timestamp_ordering() {
        assert!(
            check(
                json!({"Variable": "$.v", "StringLessThan": "AB"}),
                json!({"v": "A"})
            )
            .unwrap()
        );
        assert!(
            check(
                json!({"Variable": "$.v", "StringGreaterThanEquals": ""}),
                json!({"v": ""})
            )
            .unwrap()
        );
        assert!(
            check(
                json!({"Variable": "$.v", "TimestampGreaterThan": "2012-10-09T19:00:55Z"}),
                json!({"v": "2012-10-09T19:00:56Z"})
            )
            .unwrap()
        );
        assert!(
            !check(
                json!({"Variable": "$.v", "TimestampEquals": "2012-10-09T19:00:55Z"}),
                json!({"v": "2023-02-24 12:15:56.832957"})
            )
            .unwrap()
        );
    }

    #[test]
    fn presence_null_and_type_tests() {
        assert!(check(json!({"Variable": "$.v", "IsPresent": false}), json!({})).unwrap());
        assert!(
            check(
                json!({"Variable": "$.v", "IsPresent": true}),
                json!({"v": null})
            )
            .unwrap()
        );
        assert!(
            check(
                json!({"Variable": "$.v", "IsNull": true}),
                json!({"v": null})
            )
            .unwrap()
        );
        assert!(
            check(
                json!({"Variable": "$.v", "IsNumeric": true}),
                json!({"v": 1.5})
            )
            .unwrap()
        );
        assert!(
            check(
                json!({"Variable": "$.v", "IsString": false}),
                json!({"v": []})
            )
            .unwrap()
        );
        assert!(
            check(
                json!({"Variable": "$.v", "IsTimestamp": true}),
                json!({"v": "2016-03-14T01:59:00Z"})
            )
            .unwrap()
        );
    }

    #[test]
    fn missing_variables_are_runtime_errors_except_for_is_present() {
        let err = check(json!({"Variable": "$.v", "StringEquals": "x"}), json!({})).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
    }

    #[test]
    fn compound_rules_combine_conditions() {
        let rule = json!({"And": [
            {"Variable": "$.v", "NumericGreaterThanEquals": 20},
            {"Not": {"Variable": "$.v", "NumericLessThan": 25}},
            {"Or": [{"Variable": "$.t", "StringEquals": "a"}, {"Variable": "$.t", "StringEquals": "b"}]}
        ]});
        assert!(check(rule.clone(), json!({"v": 26, "t": "b"})).unwrap());
        assert!(!check(rule, json!({"v": 22, "t": "b"})).unwrap());
    }

    #[test]
    fn string_matches_is_a_glob_with_escapes() {
        assert!(glob("log-*.txt", "log-2024.txt"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b", "aXXc"));
        assert!(glob("a\\*", "a*"));
        assert!(!glob("a\\*", "ab"));
    }

    #[test]
    fn malformed_rules_are_load_errors() {
        for bad in [
            json!({"Variable": "$.v", "Next": "X"}),
            json!({"Variable": "$.v", "StringEquals": "a", "NumericEquals": 1, "Next": "X"}),
            json!({"Variable": "$.v", "StringEqualz": "a", "Next": "X"}),
            json!({"Variable": "$.v", "NumericEquals": "1", "Next": "X"}),
            json!({"Variable": "$.v", "BooleanLessThan": true, "Next": "X"}),
            json!({"And": [], "Next": "X"}),
            json!({"StringEquals": "a", "Next": "X"}),
        ] {
            assert!(ChoiceRule::compile(&bad, "/Choices/0").is_err(), "{bad}");
        }
    }
}
