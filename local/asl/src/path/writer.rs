//! Writing a `ResultPath`: put a value at a reference path, creating missing parent objects.

use serde_json::{Map, Value};

use super::{Path, Segment, resolve_index};

/// Why a `ResultPath` could not be written (the cause of `States.ResultPathMatchFailure`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WriteError {
    /// A step of the path meets a value of the wrong type (a name into a non-object, an index
    /// into a non-array).
    #[error("Unable to apply ResultPath \"{path}\" to a {found} value")]
    WrongType {
        /// The path as written.
        path: String,
        /// The JSON type found (`string`, `array`, ...).
        found: &'static str,
    },
    /// An index step names no element of the array.
    #[error("index {index} is out of bounds")]
    IndexOutOfBounds {
        /// The index as written.
        index: i64,
    },
    /// The path has a step other than a name or an index.
    #[error("not a reference path")]
    NotAReference,
}

impl Path {
    /// Write `value` at this reference path inside `target`, creating missing intermediate
    /// objects. `$` replaces the whole document.
    pub(crate) fn write(&self, target: &mut Value, value: Value) -> Result<(), WriteError> {
        let Some((last, parents)) = self.segments.split_last() else {
            *target = value;
            return Ok(());
        };
        let mut node = target;
        for segment in parents {
            node = match segment {
                Segment::Name(name) => match node {
                    Value::Object(map) => map
                        .entry(name.clone())
                        .or_insert_with(|| Value::Object(Map::new())),
                    other => return Err(cannot_write(self, other)),
                },
                Segment::Index(index) => match node {
                    Value::Array(items) => {
                        let len = items.len();
                        match resolve_index(*index, len) {
                            Some(i) => &mut items[i],
                            None => return Err(WriteError::IndexOutOfBounds { index: *index }),
                        }
                    }
                    other => return Err(cannot_write(self, other)),
                },
                _ => return Err(WriteError::NotAReference),
            };
        }
        match (last, node) {
            (Segment::Name(name), Value::Object(map)) => {
                map.insert(name.clone(), value);
                Ok(())
            }
            (Segment::Index(index), Value::Array(items)) => {
                let len = items.len();
                match resolve_index(*index, len) {
                    Some(i) => {
                        items[i] = value;
                        Ok(())
                    }
                    None => Err(WriteError::IndexOutOfBounds { index: *index }),
                }
            }
            (_, other) => Err(cannot_write(self, other)),
        }
    }
}

fn cannot_write(path: &Path, node: &Value) -> WriteError {
    WriteError::WrongType {
        path: path.text.clone(),
        found: crate::json::type_name(node),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reference_paths_write_and_create_parents() {
        let mut doc = json!({"a": 1});
        Path::parse_reference("$.x.y")
            .unwrap()
            .write(&mut doc, json!(2))
            .unwrap();
        assert_eq!(doc, json!({"a": 1, "x": {"y": 2}}));
        Path::parse_reference("$")
            .unwrap()
            .write(&mut doc, json!("r"))
            .unwrap();
        assert_eq!(doc, json!("r"));
    }

    #[test]
    fn writing_through_a_non_object_is_an_error() {
        let mut doc = json!({"a": "text"});
        assert!(
            Path::parse_reference("$.a.b")
                .unwrap()
                .write(&mut doc, json!(1))
                .is_err()
        );
    }

    #[test]
    fn write_errors_keep_the_wording_of_the_failure_cause() {
        let mut doc = json!({"a": "text", "list": [1]});
        let err = |path: &str, doc: &mut Value| {
            Path::parse_reference(path)
                .unwrap()
                .write(doc, json!(1))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("$.a.b", &mut doc),
            "Unable to apply ResultPath \"$.a.b\" to a string value"
        );
        assert_eq!(err("$.list[5]", &mut doc), "index 5 is out of bounds");
    }
}
