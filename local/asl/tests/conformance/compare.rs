//! Comparison of our executions with the recorded ones, following the corpus README
//! (`tests/fixtures/asl/README.md`, "How recorded values were normalised"):
//! - detail strings that start with `{` are parsed as JSON on both sides;
//! - `"timestamp"`, `"snf_role_arn"` and any `<...>` token (also inside a longer string) are
//!   wildcards; the recordings also contain a few bare tokens of the same kind that the README
//!   does not list (`"date"`, `"start-time"`, `"entered-time"` and `"lambda_function_name"` in
//!   place of strings, `"RandomNumberGenerated"` in place of a number): they are wildcards for
//!   a value of that type;
//! - fields named in `skip_verify_paths` are dropped on both sides;
//! - the events inside a Parallel state (between `ParallelStateStarted` and the end of the
//!   branches) were sorted with `id`/`previousEventId` zeroed, so that span is compared as an
//!   unordered set; the same normalisation dropped the `ParallelStateSucceeded` events (the
//!   recorded ids have a gap where each one was), so ours are dropped too.
//! - tier 1 compares the sequence of `(type, details)`; tier 2 also `id`/`previousEventId`
//!   (outside zeroed spans).

use serde_json::{Map, Value};

/// Remove the fields named by `skip_verify_paths` (`$..Cause`, `$..events..x.y`, `$..events`)
/// from `doc`, which is `{"events": [...]}`.
pub(crate) fn drop_paths(doc: &mut Value, paths: &[String]) {
    for path in paths {
        let segments = parse_skip_path(path);
        if !segments.is_empty() {
            remove(doc, &segments);
        }
    }
}

/// (deep, key) steps of a `$..a.b..c` path.
fn parse_skip_path(path: &str) -> Vec<(bool, String)> {
    let Some(rest) = path.strip_prefix('$') else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut rest = rest;
    while !rest.is_empty() {
        let deep = rest.starts_with("..");
        rest = if deep {
            &rest[2..]
        } else {
            rest.strip_prefix('.').unwrap_or(rest)
        };
        let end = rest.find('.').unwrap_or(rest.len());
        out.push((deep, rest[..end].to_owned()));
        rest = &rest[end..];
    }
    out
}

fn remove(node: &mut Value, segments: &[(bool, String)]) {
    let Some(((deep, key), tail)) = segments.split_first() else {
        return;
    };
    if let Value::Object(map) = node {
        if tail.is_empty() {
            map.shift_remove(key.as_str());
        } else if let Some(child) = map.get_mut(key.as_str()) {
            remove(child, tail);
        }
    }
    if *deep {
        match node {
            Value::Object(map) => {
                for child in map.values_mut() {
                    remove(child, segments);
                }
            }
            Value::Array(items) => {
                for child in items {
                    remove(child, segments);
                }
            }
            _ => {}
        }
    }
}

/// Parse detail string fields that start with `{`, as the recordings were stored.
pub(crate) fn parse_braced_details(event: &mut Value) {
    if let Value::Object(map) = event {
        for (key, details) in map.iter_mut() {
            if !key.ends_with("EventDetails") {
                continue;
            }
            if let Value::Object(fields) = details {
                for value in fields.values_mut() {
                    if let Value::String(s) = value
                        && s.starts_with('{')
                        && let Ok(parsed) = serde_json::from_str::<Value>(s)
                    {
                        *value = parsed;
                    }
                }
            }
        }
    }
}

/// Does `actual` match the recorded `expected` (with wildcards)?
pub(crate) fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::String(e), a) if is_wildcard(e, a) => true,
        (Value::String(e), Value::String(a)) => {
            if e.contains('<') || e.contains(BARE_NAME_TOKEN) {
                pattern_matches(&bracket_bare_tokens(e), a)
            } else {
                e == a
            }
        }
        (Value::Number(e), Value::Number(a)) => {
            e == a || e.as_f64().zip(a.as_f64()).is_some_and(|(x, y)| x == y)
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| matches(x, y))
        }
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len()
                && e.iter()
                    .all(|(k, v)| a.get(k).is_some_and(|w| matches(v, w)))
        }
        _ => expected == actual,
    }
}

/// A name placeholder the recordings sometimes wrote without its angle brackets.
const BARE_NAME_TOKEN: &str = "lambda_function_name";

fn bracket_bare_tokens(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    let mut rest = s;
    while let Some(i) = rest.find(BARE_NAME_TOKEN) {
        let bracketed = rest[..i].ends_with('<');
        out.push_str(&rest[..i]);
        if bracketed {
            out.push_str(BARE_NAME_TOKEN);
        } else {
            out.push('<');
            out.push_str(BARE_NAME_TOKEN);
            out.push('>');
        }
        rest = &rest[i + BARE_NAME_TOKEN.len()..];
    }
    out.push_str(rest);
    out
}

fn is_wildcard(token: &str, actual: &Value) -> bool {
    match token {
        "timestamp" | "snf_role_arn" => true,
        "date" | "start-time" | "entered-time" | "lambda_function_name" => actual.is_string(),
        "RandomNumberGenerated" => actual.is_number(),
        t => t.starts_with('<') && t.ends_with('>') && !t[1..].contains('<'),
    }
}

/// Match a string where each `<...>` token stands for any run of characters.
fn pattern_matches(pattern: &str, actual: &str) -> bool {
    let mut literals = Vec::new();
    let mut rest = pattern;
    loop {
        match (rest.find('<'), rest.find('>')) {
            (Some(open), Some(close)) if open < close => {
                literals.push(&rest[..open]);
                rest = &rest[close + 1..];
            }
            _ => {
                literals.push(rest);
                break;
            }
        }
    }
    // literals[0] is a prefix, the last a suffix, the middle ones appear in order.
    let (first, others) = match literals.split_first() {
        Some(x) => x,
        None => return pattern == actual,
    };
    if others.is_empty() {
        return *first == actual;
    }
    let Some(mut remaining) = actual.strip_prefix(first) else {
        return false;
    };
    let (last, middle) = match others.split_last() {
        Some(x) => x,
        None => return false,
    };
    for lit in middle {
        match remaining.find(lit) {
            Some(i) => remaining = &remaining[i + lit.len()..],
            None => return false,
        }
    }
    remaining.ends_with(last)
}

/// One comparable event: type and details (without id, previousEventId and timestamp).
pub(crate) fn type_and_details(event: &Value) -> Value {
    let mut m = Map::new();
    if let Value::Object(map) = event {
        for (k, v) in map {
            if k != "id" && k != "previousEventId" && k != "timestamp" {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(m)
}

fn sort_key(event: &Value) -> String {
    fn canonical(v: &Value) -> Value {
        match v {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), canonical(&map[k])))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string(&canonical(&type_and_details(event))).unwrap_or_default()
}

/// Where two values first differ (a JSON-pointer-like path and both values).
pub(crate) fn first_difference(expected: &Value, actual: &Value, at: &str) -> String {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                match a.get(k) {
                    Some(w) if !matches(v, w) => {
                        return first_difference(v, w, &format!("{at}/{k}"));
                    }
                    None => return format!("{at}/{k}: missing (expected {})", short(v)),
                    _ => {}
                }
            }
            for k in a.keys() {
                if !e.contains_key(k) {
                    return format!("{at}/{k}: unexpected {}", short(&a[k]));
                }
            }
            format!("{at}: differs")
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (v, w)) in e.iter().zip(a).enumerate() {
                if !matches(v, w) {
                    return first_difference(v, w, &format!("{at}/{i}"));
                }
            }
            format!("{at}: differs")
        }
        _ => format!("{at}: expected {} got {}", short(expected), short(actual)),
    }
}

/// Events, each flagged when it lies in an unordered Parallel span.
pub(crate) type Marked = Vec<(Value, bool)>;

/// Prepare both histories: drop our `ParallelStateSucceeded` events, mark the recorded
/// zeroed-id events (and, when the lengths agree, the same positions of ours) as the unordered
/// Parallel span, and sort each span identically on both sides.
pub(crate) fn align(expected: Vec<Value>, actual: Vec<Value>) -> (Marked, Marked) {
    let actual: Vec<Value> = actual
        .into_iter()
        .filter(|e| e["type"] != "ParallelStateSucceeded")
        .collect();
    // The zeroed ids were recorded as `0` or `[0]`.
    let zeroed = |v: &Value| match v {
        Value::Number(n) => n.as_u64() == Some(0),
        Value::Array(items) => items.len() == 1 && items[0].as_u64() == Some(0),
        _ => false,
    };
    let flags: Vec<bool> = expected.iter().map(|e| zeroed(&e["id"])).collect();
    let same_len = flags.len() == actual.len();
    let expected = expected.into_iter().zip(flags.iter().copied()).collect();
    let actual = actual
        .into_iter()
        .enumerate()
        .map(|(i, e)| (e, same_len && flags[i]))
        .collect();
    (canonical_order(expected), canonical_order(actual))
}

/// Group consecutive in-span events into sorted blocks so both sides compare as sets.
pub(crate) fn canonical_order(events: Vec<(Value, bool)>) -> Vec<(Value, bool)> {
    let mut out = Vec::with_capacity(events.len());
    let mut block: Vec<(Value, bool)> = Vec::new();
    for (event, in_span) in events {
        if in_span {
            block.push((event, true));
        } else {
            if !block.is_empty() {
                block.sort_by_key(|(e, _)| sort_key(e));
                out.append(&mut block);
            }
            out.push((event, false));
        }
    }
    block.sort_by_key(|(e, _)| sort_key(e));
    out.append(&mut block);
    out
}

/// Compare two prepared histories. Returns (tier 1, tier 2, first difference).
pub(crate) fn compare_histories(
    expected: &[(Value, bool)],
    actual: &[(Value, bool)],
) -> (bool, bool, Option<String>) {
    let n = expected.len().max(actual.len());
    let mut ids_ok = true;
    for i in 0..n {
        match (expected.get(i), actual.get(i)) {
            (Some((e, e_span)), Some((a, a_span))) => {
                let (te, ta) = (type_and_details(e), type_and_details(a));
                if !matches(&te, &ta) {
                    return (
                        false,
                        false,
                        Some(format!(
                            "event #{i} ({}): {}",
                            e["type"],
                            first_difference(&te, &ta, "")
                        )),
                    );
                }
                if !e_span
                    && !a_span
                    && (e["id"] != a["id"] || e["previousEventId"] != a["previousEventId"])
                {
                    ids_ok = false;
                }
            }
            (Some((e, _)), None) => {
                return (
                    false,
                    false,
                    Some(format!(
                        "missing event #{i}: expected {}",
                        short(&type_and_details(e))
                    )),
                );
            }
            (None, Some((a, _))) => {
                return (
                    false,
                    false,
                    Some(format!("extra event #{i}: {}", short(&type_and_details(a)))),
                );
            }
            (None, None) => {}
        }
    }
    (true, ids_ok, None)
}

/// First id/previousEventId difference, for reports.
pub(crate) fn first_id_difference(
    expected: &[(Value, bool)],
    actual: &[(Value, bool)],
) -> Option<String> {
    for ((e, es), (a, as_)) in expected.iter().zip(actual) {
        if !es && !as_ && (e["id"] != a["id"] || e["previousEventId"] != a["previousEventId"]) {
            return Some(format!(
                "{} expected id {}/prev {} got id {}/prev {}",
                e["type"], e["id"], e["previousEventId"], a["id"], a["previousEventId"]
            ));
        }
    }
    None
}

fn short(v: &Value) -> String {
    let s = serde_json::to_string(v).unwrap_or_default();
    if s.len() > 600 {
        let mut end = 600;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    } else {
        s
    }
}
