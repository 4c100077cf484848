//! Small helpers over `serde_json::Value`: compact text (the form Step Functions puts in
//! history events and measures against the 256 KiB limit), JSON type names for error messages,
//! number helpers, and the Java-style rendering `States.Format` uses for objects and arrays.

use serde_json::{Number, Value};

/// Compact JSON text, the form Step Functions stores in history events (`{"a":1}`).
pub(crate) fn to_text(value: &Value) -> String {
    // Serializing a `Value` cannot fail (keys are always strings).
    serde_json::to_string(value).unwrap_or_default()
}

/// Size in bytes of the compact UTF-8 text of `value`, without building the string.
pub(crate) fn text_len(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing into a counter cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// The JSON type of a value, as used in error messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A number as `f64` (every JSON number has one).
pub(crate) fn as_f64(n: &Number) -> f64 {
    n.as_f64().unwrap_or(f64::NAN)
}

/// An integral JSON number from an `f64`, falling back to a float when it is not integral.
// No caller in the engine (hidden while this module was public); kept with its test.
#[allow(dead_code)]
pub(crate) fn number_from_f64(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        // Exact: |x| < 2^53.
        Value::from(x as i64)
    } else {
        Number::from_f64(x)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// Render a value the way the Java service renders it inside `States.Format`: strings bare,
/// objects as `{k=v, k2=v2}`, arrays as `[a, b]`, everything else as JSON.
pub(crate) fn java_to_string(value: &Value) -> String {
    let mut out = String::new();
    write_java(value, &mut out);
    out
}

fn write_java(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_java(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                write_java(v, out);
            }
            out.push('}');
        }
        other => out.push_str(&to_text(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_is_compact_and_keeps_key_order() {
        let v: Value = serde_json::from_str(r#"{"b": 1, "a": [1, 2]}"#).unwrap_or(Value::Null);
        assert_eq!(to_text(&v), r#"{"b":1,"a":[1,2]}"#);
    }

    #[test]
    fn text_len_counts_utf8_bytes() {
        let v = json!({"k": "é"});
        assert_eq!(text_len(&v), to_text(&v).len());
    }

    #[test]
    fn java_rendering_matches_states_format_output() {
        let v = json!({"Arg1": 1, "Arg2": [], "s": "x", "n": null});
        assert_eq!(java_to_string(&v), "{Arg1=1, Arg2=[], s=x, n=null}");
        assert_eq!(java_to_string(&json!([1, "a"])), "[1, a]");
    }

    #[test]
    fn integral_floats_become_integers() {
        assert_eq!(number_from_f64(3.0), json!(3));
        assert_eq!(number_from_f64(1.5), json!(1.5));
    }
}
