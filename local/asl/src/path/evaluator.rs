//! Selecting from a document with a parsed [`Path`], with Jayway's results and error wording:
//! a definite path selects one value or is [`Missing`]; an indefinite one selects a list.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::Value;

use super::{CmpOp, Filter, Key, Operand, Path, Root, Segment, resolve_index};
use crate::json::as_f64;

/// What a path selected.
#[derive(Debug)]
pub(crate) enum Selected<'a> {
    /// A definite path found its value.
    One(&'a Value),
    /// An indefinite path's matches, in document order.
    Many(Vec<&'a Value>),
}

impl Selected<'_> {
    /// The selection as an owned value (`Many` becomes an array).
    pub(crate) fn into_value(self) -> Value {
        match self {
            Selected::One(v) => v.clone(),
            Selected::Many(vs) => Value::Array(vs.into_iter().cloned().collect()),
        }
    }
}

/// A definite path did not match; `detail` uses Jayway's wording, e.g.
/// `No results for path: $['a']` or `Missing property in path $['a']`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Missing {
    /// Jayway-style explanation.
    pub detail: String,
}

impl Path {
    /// Evaluate against `doc` (the document of this path's root).
    pub(crate) fn select<'a>(&self, doc: &'a Value) -> Result<Selected<'a>, Missing> {
        if self.is_definite() {
            self.select_definite(doc).map(Selected::One)
        } else {
            let mut current = vec![doc];
            for segment in &self.segments {
                let mut next = Vec::new();
                for node in current {
                    apply(segment, node, &mut next);
                }
                current = next;
            }
            Ok(Selected::Many(current))
        }
    }

    /// Evaluate and clone the selection.
    pub(crate) fn select_value(&self, doc: &Value) -> Result<Value, Missing> {
        self.select(doc).map(Selected::into_value)
    }

    /// [`Path::select_value`] on a document the caller no longer needs: a definite path takes
    /// its value out instead of copying it (an `OutputPath` such as `$.Payload` selects most
    /// of a document that is dropped right after).
    pub(crate) fn take_value(&self, mut doc: Value) -> Result<Value, Missing> {
        if !self.is_definite() {
            return self.select_value(&doc);
        }
        // Found first on a shared borrow, so a miss reports exactly what `select` reports.
        self.select_definite(&doc)?;
        let mut node = &mut doc;
        for segment in &self.segments {
            let next = match segment {
                Segment::Name(name) => node.as_object_mut().and_then(|m| m.get_mut(name)),
                Segment::Index(index) => node.as_array_mut().and_then(|items| {
                    let i = resolve_index(*index, items.len())?;
                    items.get_mut(i)
                }),
                _ => None,
            };
            match next {
                Some(v) => node = v,
                // Unreachable after the check above; answering with a copy keeps it total.
                None => return self.select_value(&doc),
            }
        }
        Ok(node.take())
    }

    fn select_definite<'a>(&self, doc: &'a Value) -> Result<&'a Value, Missing> {
        let mut node = doc;
        for (i, segment) in self.segments.iter().enumerate() {
            let found = match segment {
                Segment::Name(name) => node.as_object().and_then(|m| m.get(name)),
                Segment::Index(index) => node
                    .as_array()
                    .and_then(|items| resolve_index(*index, items.len()).map(|i| &items[i])),
                _ => None,
            };
            match found {
                Some(v) => node = v,
                None => {
                    let normalized = self.normalized(i + 1);
                    let detail = if i + 1 == self.segments.len() {
                        format!("No results for path: {normalized}")
                    } else {
                        format!("Missing property in path {normalized}")
                    };
                    return Err(Missing { detail });
                }
            }
        }
        Ok(node)
    }

    /// Jayway's normalized form of the first `upto` steps: `$['a'][0]`.
    fn normalized(&self, upto: usize) -> String {
        let mut out = String::from(match self.root {
            Root::Input => "$",
            Root::Context => "$$",
            Root::Current => "@",
        });
        for segment in self.segments.iter().take(upto) {
            match segment {
                Segment::Name(name) => {
                    let _ = write!(out, "['{name}']");
                }
                Segment::Index(i) => {
                    let _ = write!(out, "[{i}]");
                }
                _ => out.push_str("[*]"),
            }
        }
        out
    }
}

fn apply<'a>(segment: &Segment, node: &'a Value, out: &mut Vec<&'a Value>) {
    match segment {
        Segment::Name(name) => {
            if let Some(v) = node.as_object().and_then(|m| m.get(name)) {
                out.push(v);
            }
        }
        Segment::Index(index) => {
            if let Some(items) = node.as_array()
                && let Some(i) = resolve_index(*index, items.len())
            {
                out.push(&items[i]);
            }
        }
        Segment::Wildcard => match node {
            Value::Array(items) => out.extend(items.iter()),
            Value::Object(map) => out.extend(map.values()),
            _ => {}
        },
        Segment::Slice(start, end, step) => {
            if let Some(items) = node.as_array() {
                for i in slice_indexes(items.len(), *start, *end, *step) {
                    out.push(&items[i]);
                }
            }
        }
        Segment::Union(keys) => {
            for key in keys {
                match key {
                    Key::Name(name) => apply(&Segment::Name(name.clone()), node, out),
                    Key::Index(i) => apply(&Segment::Index(*i), node, out),
                }
            }
        }
        Segment::Filter(filter) => {
            let candidates: Vec<&Value> = match node {
                Value::Array(items) => items.iter().collect(),
                Value::Object(map) => map.values().collect(),
                _ => Vec::new(),
            };
            for candidate in candidates {
                if filter.matches(candidate) {
                    out.push(candidate);
                }
            }
        }
        Segment::Descendant(inner) => {
            let mut stack = vec![node];
            let mut all = Vec::new();
            while let Some(n) = stack.pop() {
                all.push(n);
                match n {
                    Value::Array(items) => stack.extend(items.iter().rev()),
                    Value::Object(map) => {
                        let children: Vec<&Value> = map.values().collect();
                        stack.extend(children.into_iter().rev());
                    }
                    _ => {}
                }
            }
            for n in all {
                apply(inner, n, out);
            }
        }
    }
}

fn slice_indexes(
    len: usize,
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
) -> Vec<usize> {
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    let clamp = |v: i64| -> i64 {
        let v = if v < 0 { len_i + v } else { v };
        v.clamp(0, len_i)
    };
    let step = step.unwrap_or(1);
    if step <= 0 {
        return Vec::new();
    }
    let from = clamp(start.unwrap_or(0));
    let to = clamp(end.unwrap_or(len_i));
    let mut out = Vec::new();
    let mut i = from;
    while i < to {
        if let Ok(u) = usize::try_from(i) {
            out.push(u);
        }
        i += step;
    }
    out
}

impl Filter {
    fn matches(&self, current: &Value) -> bool {
        match self {
            Filter::Or(fs) => fs.iter().any(|f| f.matches(current)),
            Filter::And(fs) => fs.iter().all(|f| f.matches(current)),
            Filter::Not(f) => !f.matches(current),
            Filter::Exists(op) => op.resolve(current).is_some(),
            Filter::Compare(l, op, r) => match (l.resolve(current), r.resolve(current)) {
                (Some(a), Some(b)) => compare(&a, *op, &b),
                _ => false,
            },
        }
    }
}

impl Operand {
    fn resolve(&self, current: &Value) -> Option<Value> {
        match self {
            Operand::Literal(v) => Some(v.clone()),
            // `$` inside a filter refers to the document root; only `@` is supported here
            // (rejected at parse time), so every path is relative to the current element.
            Operand::Path(p) => match p.select(current) {
                Ok(Selected::One(v)) => Some(v.clone()),
                Ok(Selected::Many(vs)) if !vs.is_empty() => {
                    Some(Value::Array(vs.into_iter().cloned().collect()))
                }
                _ => None,
            },
        }
    }
}

fn compare(a: &Value, op: CmpOp, b: &Value) -> bool {
    let ordering = match (a, b) {
        (Value::Number(x), Value::Number(y)) => as_f64(x).partial_cmp(&as_f64(y)),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (x, y) => {
            return match op {
                CmpOp::Eq => x == y,
                CmpOp::Ne => x != y,
                _ => false,
            };
        }
    };
    match (ordering, op) {
        (Some(o), CmpOp::Eq) => o == Ordering::Equal,
        (Some(o), CmpOp::Ne) => o != Ordering::Equal,
        (Some(o), CmpOp::Lt) => o == Ordering::Less,
        (Some(o), CmpOp::Le) => o != Ordering::Greater,
        (Some(o), CmpOp::Gt) => o == Ordering::Greater,
        (Some(o), CmpOp::Ge) => o != Ordering::Less,
        (None, CmpOp::Ne) => true,
        (None, _) => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(path: &str, doc: &Value) -> Result<Value, Missing> {
        Path::parse(path).unwrap().select_value(doc)
    }

    #[test]
    fn definite_paths_select_one_value() {
        let doc = json!({"a": {"b": [10, 20, 30]}});
        assert_eq!(sel("$", &doc).unwrap(), doc);
        assert_eq!(sel("$.a.b[1]", &doc).unwrap(), json!(20));
        assert_eq!(sel("$['a']['b'][-1]", &doc).unwrap(), json!(30));
    }

    #[test]
    fn taking_a_value_gives_what_selecting_it_gives() {
        let doc = json!({"a": {"b": [10, {"c": "x"}, 30]}, "d": [1, 2]});
        for path in [
            "$",
            "$.a",
            "$.a.b[1]",
            "$['a']['b'][-1]",
            "$.a.b[1].c",
            "$.d[*]",
            "$..c",
            "$.missing",
            "$.a.missing.deeper",
            "$.a.b[7]",
        ] {
            let parsed = Path::parse(path).unwrap();
            assert_eq!(
                parsed.take_value(doc.clone()),
                parsed.select_value(&doc),
                "{path}"
            );
        }
    }

    #[test]
    fn missing_leaf_and_missing_parent_use_jayway_wording() {
        let doc = json!({});
        assert_eq!(
            sel("$.NoSuchInputPath", &doc).unwrap_err().detail,
            "No results for path: $['NoSuchInputPath']"
        );
        assert_eq!(
            sel("$.no.such.result.path", &doc).unwrap_err().detail,
            "Missing property in path $['no']"
        );
    }

    #[test]
    fn indefinite_paths_select_lists_even_when_nothing_matches() {
        let doc = json!({"items": [{"v": 1}, {"v": 2}, {"w": 3}]});
        assert_eq!(sel("$.items[*].v", &doc).unwrap(), json!([1, 2]));
        assert_eq!(sel("$.items[1:].v", &doc).unwrap(), json!([2]));
        assert_eq!(sel("$.items[:1]", &doc).unwrap(), json!([{"v": 1}]));
        assert_eq!(sel("$.nothing[*]", &doc).unwrap(), json!([]));
        assert_eq!(sel("$[*]", &json!({})).unwrap(), json!([]));
        assert_eq!(sel("$..v", &doc).unwrap(), json!([1, 2]));
    }

    #[test]
    fn filters_compare_fields_of_each_element() {
        let doc = json!({"users": [{"status": 0, "year": 1997}, {"status": 1, "year": 1998}]});
        assert_eq!(
            sel("$.users[?(@.status == 0)]", &doc).unwrap(),
            json!([{"status": 0, "year": 1997}])
        );
        assert_eq!(
            sel("$.users[?(@.year > 1997 && @.status != 0)].year", &doc).unwrap(),
            json!([1998])
        );
        assert_eq!(sel("$.users[?(@.missing)]", &doc).unwrap(), json!([]));
    }

    #[test]
    fn quoted_names_keep_backslashes_that_do_not_escape_the_quote() {
        let doc = json!({"Test\\\"\"Name\"": "found"});
        assert_eq!(sel("$['Test\\\"\"Name\"']", &doc).unwrap(), json!("found"));
    }
}
