//! Intrinsic functions (`States.Format(...)`, `States.MathAdd(...)`, ...).
//!
//! Rules from <https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html>:
//! arguments are string literals in single quotes (where `\'`, `\{`, `\}` and `\\` are
//! escapes), numbers, `true`/`false`/`null`, paths (`$.x`, `$$.x`) or nested calls. Calls are
//! parsed and arity-checked at load; argument types are checked at run time and a bad argument
//! fails the state with `States.IntrinsicFailure`. Behaviours the corpus pins down: `MathAdd`
//! rounds each operand half-up (Java `Math.round`) before adding; `StringSplit` splits on any
//! of the delimiter characters and drops empty pieces; `Format` renders objects Java-style
//! (`{k=v}`); `StringToJson` of blank text is `null`.

use md5::Md5;
use serde_json::{Map, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::clock::uuid_v4;
use crate::context::Scope;
use crate::json::{as_f64, java_to_string, to_text, type_name};
use crate::path::{Missing, Path};

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    function: Function,
    args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    /// A string literal: the raw text between the quotes (escapes kept, for `Format`) and
    /// its unescaped value.
    Str {
        raw: String,
        value: String,
    },
    Literal(Value),
    Path(Path),
    Call(Call),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Function {
    fn from_name(name: &str) -> Option<(Function, usize, usize)> {
        use Function::*;
        // (function, min args, max args)
        Some(match name {
            "States.Format" => (Format, 1, usize::MAX),
            "States.StringToJson" => (StringToJson, 1, 1),
            "States.JsonToString" => (JsonToString, 1, 1),
            "States.Array" => (Array, 0, usize::MAX),
            "States.ArrayPartition" => (ArrayPartition, 2, 2),
            "States.ArrayContains" => (ArrayContains, 2, 2),
            "States.ArrayRange" => (ArrayRange, 3, 3),
            "States.ArrayGetItem" => (ArrayGetItem, 2, 2),
            "States.ArrayLength" => (ArrayLength, 1, 1),
            "States.ArrayUnique" => (ArrayUnique, 1, 1),
            "States.Base64Encode" => (Base64Encode, 1, 1),
            "States.Base64Decode" => (Base64Decode, 1, 1),
            "States.Hash" => (Hash, 2, 2),
            "States.JsonMerge" => (JsonMerge, 3, 3),
            "States.MathRandom" => (MathRandom, 2, 3),
            "States.MathAdd" => (MathAdd, 2, 2),
            "States.StringSplit" => (StringSplit, 2, 2),
            "States.UUID" => (Uuid, 0, 0),
            _ => return None,
        })
    }
}

/// Why an evaluation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EvalError {
    /// A path argument selected nothing.
    Missing { path: String, detail: String },
    /// A function rejected its arguments (`States.IntrinsicFailure`).
    Failure(String),
}

/// True when a `.$` value is an intrinsic call rather than a path.
pub(crate) fn looks_like_call(text: &str) -> bool {
    text.trim_start().starts_with("States.")
}

impl Call {
    /// Parse `States.Name(args...)`.
    pub(crate) fn parse(text: &str) -> Result<Call, String> {
        let chars: Vec<char> = text.chars().collect();
        let mut p = CallParser {
            chars: &chars,
            pos: 0,
            text,
        };
        let call = p.call()?;
        p.skip_ws();
        if p.pos != chars.len() {
            return Err(p.error("unexpected text after the closing ')'"));
        }
        Ok(call)
    }

    /// Evaluate the call.
    pub(crate) fn eval(&self, scope: &Scope<'_>) -> Result<Value, EvalError> {
        let mut args = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            args.push(match arg {
                Arg::Str { value, .. } => Value::String(value.clone()),
                Arg::Literal(v) => v.clone(),
                Arg::Path(p) => {
                    scope
                        .select(p)
                        .map_err(|Missing { detail }| EvalError::Missing {
                            path: p.text().to_owned(),
                            detail,
                        })?
                }
                Arg::Call(c) => c.eval(scope)?,
            });
        }
        self.apply(args, scope).map_err(EvalError::Failure)
    }

    fn apply(&self, args: Vec<Value>, scope: &Scope<'_>) -> Result<Value, String> {
        use Function::*;
        let name = self.name();
        match self.function {
            Format => {
                let template = match self.args.first() {
                    Some(Arg::Str { raw, .. }) => raw.clone(),
                    _ => match args.first() {
                        Some(Value::String(s)) => escape_for_format(s),
                        _ => return Err(format!("{name}: the first argument must be a string")),
                    },
                };
                format(&template, &args[1..]).map_err(|e| format!("{name}: {e}"))
            }
            StringToJson => {
                let s = string_arg(&args[0], name)?;
                if s.trim().is_empty() {
                    return Ok(Value::Null);
                }
                serde_json::from_str(s)
                    .map_err(|e| format!("{name}: the argument is not valid JSON ({e})"))
            }
            JsonToString => Ok(Value::String(to_text(&args[0]))),
            Array => Ok(Value::Array(args)),
            ArrayPartition => {
                let items = array_arg(&args[0], name)?;
                let size = int_arg(&args[1], name)?;
                if size <= 0 {
                    return Err(format!("{name}: the chunk size must be positive"));
                }
                let size = usize::try_from(size).map_err(|e| e.to_string())?;
                Ok(Value::Array(
                    items
                        .chunks(size)
                        .map(|c| Value::Array(c.to_vec()))
                        .collect(),
                ))
            }
            ArrayContains => {
                let items = array_arg(&args[0], name)?;
                Ok(Value::Bool(items.iter().any(|v| json_eq(v, &args[1]))))
            }
            ArrayRange => {
                let start = int_arg(&args[0], name)?;
                let end = int_arg(&args[1], name)?;
                let step = int_arg(&args[2], name)?;
                if step == 0 {
                    return Err(format!("{name}: the step must not be 0"));
                }
                let mut out = Vec::new();
                let mut i = start;
                while (step > 0 && i <= end) || (step < 0 && i >= end) {
                    out.push(Value::from(i));
                    if out.len() > 1000 {
                        return Err(format!("{name}: the range has more than 1000 items"));
                    }
                    i += step;
                }
                Ok(Value::Array(out))
            }
            ArrayGetItem => {
                let items = array_arg(&args[0], name)?;
                let index = int_arg(&args[1], name)?;
                usize::try_from(index)
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned()
                    .ok_or_else(|| format!("{name}: index {index} is out of bounds"))
            }
            ArrayLength => Ok(Value::from(array_arg(&args[0], name)?.len())),
            ArrayUnique => {
                let items = array_arg(&args[0], name)?;
                let mut out: Vec<Value> = Vec::new();
                for v in items {
                    if !out.iter().any(|o| json_eq(o, v)) {
                        out.push(v.clone());
                    }
                }
                Ok(Value::Array(out))
            }
            Base64Encode => {
                let s = string_arg(&args[0], name)?;
                Ok(Value::String(
                    base64_simd::STANDARD.encode_to_string(s.as_bytes()),
                ))
            }
            Base64Decode => {
                let s = string_arg(&args[0], name)?;
                let bytes = base64_simd::STANDARD
                    .decode_to_vec(s.as_bytes())
                    .map_err(|_| format!("{name}: the argument is not valid base64"))?;
                String::from_utf8(bytes)
                    .map(Value::String)
                    .map_err(|_| format!("{name}: the decoded bytes are not UTF-8"))
            }
            Hash => {
                let data = match &args[0] {
                    Value::String(s) => s.clone(),
                    other => to_text(other),
                };
                let algorithm = string_arg(&args[1], name)?;
                let digest: Vec<u8> = match algorithm {
                    "MD5" => Md5::digest(data.as_bytes()).to_vec(),
                    "SHA-1" => Sha1::digest(data.as_bytes()).to_vec(),
                    "SHA-256" => Sha256::digest(data.as_bytes()).to_vec(),
                    "SHA-384" => Sha384::digest(data.as_bytes()).to_vec(),
                    "SHA-512" => Sha512::digest(data.as_bytes()).to_vec(),
                    other => {
                        return Err(format!(
                            "{name}: unsupported algorithm '{other}' (use MD5, SHA-1, SHA-256, SHA-384 or SHA-512)"
                        ));
                    }
                };
                Ok(Value::String(hex_simd::encode_to_string(
                    &digest,
                    hex_simd::AsciiCase::Lower,
                )))
            }
            JsonMerge => {
                let (Value::Object(a), Value::Object(b)) = (&args[0], &args[1]) else {
                    return Err(format!("{name}: both arguments must be objects"));
                };
                if args[2] != Value::Bool(false) {
                    return Err(format!(
                        "{name}: only shallow merges are supported: the third argument must be false"
                    ));
                }
                let mut merged: Map<String, Value> = a.clone();
                for (k, v) in b {
                    merged.insert(k.clone(), v.clone());
                }
                Ok(Value::Object(merged))
            }
            MathRandom => {
                // Bounds are truncated to integers (the service accepts 12.5 as 12).
                let start = number_arg(&args[0], name)?.trunc() as i64;
                let end = number_arg(&args[1], name)?.trunc() as i64;
                if end <= start {
                    return Err(format!("{name}: the end must be greater than the start"));
                }
                let span = u64::try_from(end - start).map_err(|e| e.to_string())?;
                let draw = match args.get(2) {
                    Some(seed) => {
                        fastrand::Rng::with_seed(int_arg(seed, name)?.unsigned_abs()).u64(..span)
                    }
                    None => scope.random.next_u64() % span,
                };
                Ok(Value::from(
                    start + i64::try_from(draw).map_err(|e| e.to_string())?,
                ))
            }
            MathAdd => {
                let a = number_arg(&args[0], name)?;
                let b = number_arg(&args[1], name)?;
                let sum = java_round(a) + java_round(b);
                Ok(Value::from(sum))
            }
            StringSplit => {
                let s = string_arg(&args[0], name)?;
                let delimiters = string_arg(&args[1], name)?;
                Ok(Value::Array(
                    s.split(|c: char| delimiters.contains(c))
                        .filter(|piece| !piece.is_empty())
                        .map(|piece| Value::String(piece.to_owned()))
                        .collect(),
                ))
            }
            Uuid => Ok(Value::String(uuid_v4(scope.random).to_string())),
        }
    }

    fn name(&self) -> &'static str {
        use Function::*;
        match self.function {
            Format => "States.Format",
            StringToJson => "States.StringToJson",
            JsonToString => "States.JsonToString",
            Array => "States.Array",
            ArrayPartition => "States.ArrayPartition",
            ArrayContains => "States.ArrayContains",
            ArrayRange => "States.ArrayRange",
            ArrayGetItem => "States.ArrayGetItem",
            ArrayLength => "States.ArrayLength",
            ArrayUnique => "States.ArrayUnique",
            Base64Encode => "States.Base64Encode",
            Base64Decode => "States.Base64Decode",
            Hash => "States.Hash",
            JsonMerge => "States.JsonMerge",
            MathRandom => "States.MathRandom",
            MathAdd => "States.MathAdd",
            StringSplit => "States.StringSplit",
            Uuid => "States.UUID",
        }
    }
}

/// Java's `Math.round`: half-up towards positive infinity.
fn java_round(x: f64) -> i64 {
    (x + 0.5).floor() as i64
}

/// JSON equality that compares numbers by value (`1 == 1.0`).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => as_f64(x) == as_f64(y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn string_arg<'v>(v: &'v Value, name: &str) -> Result<&'v str, String> {
    v.as_str()
        .ok_or_else(|| format!("{name}: expected a string, got {}", type_name(v)))
}

fn array_arg<'v>(v: &'v Value, name: &str) -> Result<&'v Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("{name}: expected an array, got {}", type_name(v)))
}

fn number_arg(v: &Value, name: &str) -> Result<f64, String> {
    match v {
        Value::Number(n) => Ok(as_f64(n)),
        other => Err(format!(
            "{name}: expected a number, got {}",
            type_name(other)
        )),
    }
}

fn int_arg(v: &Value, name: &str) -> Result<i64, String> {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(i),
            None => {
                let f = as_f64(n);
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    Ok(f as i64)
                } else {
                    Err(format!("{name}: expected an integer, got {n}"))
                }
            }
        },
        other => Err(format!(
            "{name}: expected an integer, got {}",
            type_name(other)
        )),
    }
}

fn escape_for_format(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Fill the `{}` placeholders of a raw (still escaped) format string.
fn format(raw: &str, args: &[Value]) -> Result<Value, String> {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) => out.push(e),
                None => out.push('\\'),
            },
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let arg = args.get(next).ok_or_else(|| {
                    format!(
                        "the format string has more placeholders than the {} arguments given",
                        args.len()
                    )
                })?;
                out.push_str(&java_to_string(arg));
                next += 1;
            }
            other => out.push(other),
        }
    }
    if next != args.len() {
        return Err(format!(
            "the format string has {next} placeholders but {} arguments were given",
            args.len()
        ));
    }
    Ok(Value::String(out))
}

struct CallParser<'a> {
    chars: &'a [char],
    pos: usize,
    text: &'a str,
}

impl CallParser<'_> {
    fn error(&self, what: &str) -> String {
        format!("invalid intrinsic function call '{}': {what}", self.text)
    }

    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn call(&mut self) -> Result<Call, String> {
        self.skip_ws();
        let start = self.pos;
        while self
            .chars
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '.')
        {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        let (function, min, max) = Function::from_name(&name)
            .ok_or_else(|| self.error(&format!("unknown function '{name}'")))?;
        self.skip_ws();
        if self.chars.get(self.pos) != Some(&'(') {
            return Err(self.error("expected '('"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.chars.get(self.pos) == Some(&')') {
            self.pos += 1;
        } else {
            loop {
                args.push(self.arg()?);
                self.skip_ws();
                match self.chars.get(self.pos) {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.error("expected ',' or ')'")),
                }
            }
        }
        if args.len() < min || args.len() > max {
            return Err(self.error(&format!(
                "{name} takes {} arguments, got {}",
                if min == max {
                    min.to_string()
                } else if max == usize::MAX {
                    format!("at least {min}")
                } else {
                    format!("{min} to {max}")
                },
                args.len()
            )));
        }
        Ok(Call { function, args })
    }

    fn arg(&mut self) -> Result<Arg, String> {
        self.skip_ws();
        match self.chars.get(self.pos) {
            Some('\'') => self.string(),
            Some('$') => {
                let start = self.pos;
                let mut depth = 0usize;
                let mut quote: Option<char> = None;
                while let Some(&c) = self.chars.get(self.pos) {
                    match quote {
                        Some(q) if c == q => quote = None,
                        Some(_) => {}
                        None => match c {
                            '\'' | '"' => quote = Some(c),
                            '[' | '(' => depth += 1,
                            ']' => depth = depth.saturating_sub(1),
                            ')' if depth == 0 => break,
                            ')' => depth -= 1,
                            ',' if depth == 0 => break,
                            _ => {}
                        },
                    }
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                Ok(Arg::Path(
                    Path::parse(text.trim_end()).map_err(|e| e.to_string())?,
                ))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self
                    .chars
                    .get(self.pos)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '.')
                {
                    self.pos += 1;
                }
                let word: String = self.chars[start..self.pos].iter().collect();
                match word.as_str() {
                    "true" => Ok(Arg::Literal(Value::Bool(true))),
                    "false" => Ok(Arg::Literal(Value::Bool(false))),
                    "null" => Ok(Arg::Literal(Value::Null)),
                    _ => {
                        self.pos = start;
                        Ok(Arg::Call(self.call()?))
                    }
                }
            }
            Some(c) if *c == '-' || c.is_ascii_digit() => {
                let start = self.pos;
                while self
                    .chars
                    .get(self.pos)
                    .is_some_and(|c| c.is_ascii_digit() || "+-.eE".contains(*c))
                {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                match serde_json::from_str::<Value>(&text) {
                    Ok(v @ Value::Number(_)) => Ok(Arg::Literal(v)),
                    _ => Err(self.error(&format!("'{text}' is not a number"))),
                }
            }
            _ => Err(self.error("expected an argument")),
        }
    }

    fn string(&mut self) -> Result<Arg, String> {
        self.pos += 1; // opening quote
        let mut raw = String::new();
        let mut value = String::new();
        loop {
            match self.chars.get(self.pos) {
                None => return Err(self.error("unterminated string literal")),
                Some('\\') => {
                    let next = self.chars.get(self.pos + 1).copied();
                    match next {
                        Some(e @ ('\'' | '{' | '}' | '\\')) => {
                            raw.push('\\');
                            raw.push(e);
                            value.push(e);
                            self.pos += 2;
                        }
                        _ => {
                            // Not an escape: keep the backslash literally.
                            raw.push_str("\\\\");
                            value.push('\\');
                            self.pos += 1;
                        }
                    }
                }
                Some('\'') => {
                    self.pos += 1;
                    return Ok(Arg::Str { raw, value });
                }
                Some(&c) => {
                    raw.push(c);
                    value.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::clock::SeededRandom;
    use crate::context::{ContextObject, ExecutionContext};
    use serde_json::json;

    fn eval(expr: &str, input: Value) -> Result<Value, EvalError> {
        let execution = ExecutionContext {
            id: "arn:aws:states:us-east-1:1:execution:my-machine:e".into(),
            name: "e".into(),
            role_arn: "r".into(),
            start_time: "t".into(),
            input: input.clone(),
            state_machine_id: "arn:aws:states:us-east-1:1:stateMachine:my-machine".into(),
            state_machine_name: "my-machine".into(),
        };
        let ctx = ContextObject::new(&execution, "S", "t", None);
        let random = SeededRandom::new(1);
        let scope = Scope {
            input: &input,
            context: &ctx,
            random: &random,
        };
        Call::parse(expr).unwrap().eval(&scope)
    }

    #[test]
    fn format_fills_placeholders_and_renders_objects_java_style() {
        assert_eq!(
            eval(
                "States.Format('a={} b={}.', $.a, $.b)",
                json!({"a": "x", "b": {"k": [1]}})
            )
            .unwrap(),
            json!("a=x b={k=[1]}.")
        );
        assert_eq!(
            eval("States.Format('\\{\\} {}', $.a)", json!({"a": null})).unwrap(),
            json!("{} null")
        );
    }

    #[test]
    fn format_with_wrong_placeholder_count_fails() {
        assert!(matches!(
            eval("States.Format('{} {}', $.a)", json!({"a": 1})),
            Err(EvalError::Failure(_))
        ));
    }

    #[test]
    fn math_add_rounds_each_operand_half_up() {
        for (a, b, sum) in [
            (1.49, 1.5, 3),
            (-1.5, 0.0, -1),
            (-1.51, 0.0, -2),
            (-2.5, 0.0, -2),
            (2.5, 0.0, 3),
            (-0.5, 0.0, 0),
        ] {
            assert_eq!(
                eval("States.MathAdd($.a, $.b)", json!({"a": a, "b": b})).unwrap(),
                json!(sum),
                "{a} + {b}"
            );
        }
    }

    #[test]
    fn string_split_uses_every_delimiter_character_and_drops_empty_pieces() {
        assert_eq!(
            eval(
                "States.StringSplit($.s, '.+,=')",
                json!({"s": "This.is+a,test=string"})
            )
            .unwrap(),
            json!(["This", "is", "a", "test", "string"])
        );
        assert_eq!(
            eval("States.StringSplit($.s, ',')", json!({"s": ", , ,"})).unwrap(),
            json!([" ", " "])
        );
    }

    #[test]
    fn array_functions_follow_the_documented_rules() {
        let input = json!({"a": [0, 1, 2, 3], "d": [1, 1.0, "x", "x"]});
        assert_eq!(
            eval("States.ArrayPartition($.a, 3)", input.clone()).unwrap(),
            json!([[0, 1, 2], [3]])
        );
        assert_eq!(
            eval("States.ArrayRange(0, 10, 3)", input.clone()).unwrap(),
            json!([0, 3, 6, 9])
        );
        assert_eq!(
            eval("States.ArrayGetItem($.a, 2)", input.clone()).unwrap(),
            json!(2)
        );
        assert_eq!(
            eval("States.ArrayUnique($.d)", input.clone()).unwrap(),
            json!([1, "x"])
        );
        assert_eq!(
            eval("States.ArrayContains($.a, 3)", input.clone()).unwrap(),
            json!(true)
        );
        assert_eq!(eval("States.ArrayLength($.a)", input).unwrap(), json!(4));
    }

    #[test]
    fn nested_calls_and_context_paths_evaluate_inside_out() {
        assert_eq!(
            eval(
                "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))",
                json!({})
            )
            .unwrap(),
            json!("machine")
        );
    }

    #[test]
    fn json_conversions_round_trip() {
        assert_eq!(
            eval("States.JsonToString($.v)", json!({"v": {"a": 1, "b": []}})).unwrap(),
            json!("{\"a\":1,\"b\":[]}")
        );
        assert_eq!(
            eval("States.StringToJson($.v)", json!({"v": " "})).unwrap(),
            json!(null)
        );
        assert_eq!(
            eval("States.StringToJson('{\"a\": [1]}')", json!({})).unwrap(),
            json!({"a": [1]})
        );
    }

    #[test]
    fn hashes_and_base64_match_known_values() {
        assert_eq!(
            eval("States.Hash('input data', 'SHA-1')", json!({})).unwrap(),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
        );
        assert_eq!(
            eval("States.Hash('input data', 'MD5')", json!({})).unwrap(),
            json!("812f45842bc6d66ee14572ce20db8e86")
        );
        assert_eq!(
            eval("States.Base64Encode('Data to encode')", json!({})).unwrap(),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
        assert_eq!(
            eval("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", json!({})).unwrap(),
            json!("Data to encode")
        );
    }

    #[test]
    fn json_merge_is_shallow_and_keeps_first_object_order() {
        assert_eq!(
            eval(
                "States.JsonMerge($.a, $.b, false)",
                json!({"a": {"x": {"p": 1}, "y": 2}, "b": {"x": {"q": 1}, "z": 3}})
            )
            .unwrap(),
            json!({"x": {"q": 1}, "y": 2, "z": 3})
        );
    }

    #[test]
    fn random_and_uuid_come_from_the_injected_source() {
        let v = eval("States.MathRandom(1, 10)", json!({})).unwrap();
        assert!((1..10).contains(&v.as_i64().unwrap()));
        let u = eval("States.UUID()", json!({})).unwrap();
        assert_eq!(u.as_str().unwrap().len(), 36);
    }

    #[test]
    fn unknown_functions_and_wrong_arity_are_load_errors() {
        assert!(Call::parse("States.Nope(1)").is_err());
        assert!(Call::parse("States.MathAdd(1)").is_err());
        assert!(Call::parse("States.UUID(1)").is_err());
        assert!(Call::parse("States.Format('x'").is_err());
    }

    #[test]
    fn missing_path_arguments_are_reported_with_the_path() {
        assert!(matches!(
            eval("States.ArrayLength($.nope)", json!({})),
            Err(EvalError::Missing { path, .. }) if path == "$.nope"
        ));
    }
}
