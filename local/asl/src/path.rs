//! JSONPath, as Step Functions evaluates it in the JSONPath query language.
//!
//! The service uses Jayway JsonPath semantics
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html>):
//! - `$` is the state input, `$$` the context object; `@` is the current element in a filter.
//! - A *definite* path (only `.name`, `['name']` and `[index]` steps) selects one value and a
//!   missing step is an error ("No results for path" / "Missing property in path").
//! - An *indefinite* path (`[*]`, `.*`, slices `[a:b]`, unions, filters `[?(...)]`, deep scan
//!   `..`) always selects a list, possibly empty; missing steps just select nothing.
//! - `ResultPath` is a *reference path* (definite, names and indexes only) and is written into,
//!   creating intermediate objects as needed.
//!
//! A small hand-written subset rather than a JSONPath crate: ASL needs exactly these selectors,
//! Jayway's error wording, a write operation for `ResultPath`, and lookups into the lazily built
//! context object; a general crate would add a dependency and still need all of that on top.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::json::as_f64;

/// Which document a path starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    /// `$`: the state input (or the effective input, depending on the field).
    Input,
    /// `$$`: the context object.
    Context,
    /// `@`: the current element inside a filter expression.
    Current,
}

/// A parsed JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    text: String,
    root: Root,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Name(String),
    Index(i64),
    Wildcard,
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Union(Vec<Key>),
    Filter(Box<Filter>),
    Descendant(Box<Segment>),
}

#[derive(Debug, Clone, PartialEq)]
enum Key {
    Name(String),
    Index(i64),
}

/// What a path selected.
#[derive(Debug)]
pub enum Selected<'a> {
    /// A definite path found its value.
    One(&'a Value),
    /// An indefinite path's matches, in document order.
    Many(Vec<&'a Value>),
}

impl Selected<'_> {
    /// The selection as an owned value (`Many` becomes an array).
    pub fn into_value(self) -> Value {
        match self {
            Selected::One(v) => v.clone(),
            Selected::Many(vs) => Value::Array(vs.into_iter().cloned().collect()),
        }
    }
}

/// A definite path did not match; `detail` uses Jayway's wording, e.g.
/// `No results for path: $['a']` or `Missing property in path $['a']`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// Jayway-style explanation.
    pub detail: String,
}

impl Path {
    /// Parse a JSONPath (`$...`, `$$...`, or `@...` inside filters).
    pub fn parse(text: &str) -> Result<Path, String> {
        let (root, rest) = if let Some(rest) = text.strip_prefix("$$") {
            (Root::Context, rest)
        } else if let Some(rest) = text.strip_prefix('$') {
            (Root::Input, rest)
        } else if let Some(rest) = text.strip_prefix('@') {
            (Root::Current, rest)
        } else {
            return Err(format!(
                "'{text}' is not a JSONPath: it must start with '$'"
            ));
        };
        let segments = Parser::new(rest, text).segments()?;
        Ok(Path {
            text: text.to_owned(),
            root,
            segments,
        })
    }

    /// Parse a reference path (`ResultPath`): definite, names and indexes only, rooted at `$`.
    pub fn parse_reference(text: &str) -> Result<Path, String> {
        let path = Path::parse(text)?;
        if path.root != Root::Input || !path.is_reference() {
            return Err(format!(
                "'{text}' is not a reference path: use only '$', '.name', ['name'] and [index] steps"
            ));
        }
        Ok(path)
    }

    /// The path as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The root document of the path.
    pub fn root(&self) -> Root {
        self.root
    }

    /// `$` (or `$$`) with no steps.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// True when the path selects at most one value (see the module docs).
    pub fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Name(_) | Segment::Index(_)))
    }

    fn is_reference(&self) -> bool {
        self.is_definite()
    }

    /// Evaluate against `doc` (the document of this path's root).
    pub fn select<'a>(&self, doc: &'a Value) -> Result<Selected<'a>, Missing> {
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
    pub fn select_value(&self, doc: &Value) -> Result<Value, Missing> {
        self.select(doc).map(Selected::into_value)
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

    /// Write `value` at this reference path inside `target`, creating missing intermediate
    /// objects. `$` replaces the whole document.
    pub fn write(&self, target: &mut Value, value: Value) -> Result<(), String> {
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
                            None => return Err(format!("index {index} is out of bounds")),
                        }
                    }
                    other => return Err(cannot_write(self, other)),
                },
                _ => return Err("not a reference path".to_owned()),
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
                    None => Err(format!("index {index} is out of bounds")),
                }
            }
            (_, other) => Err(cannot_write(self, other)),
        }
    }
}

fn cannot_write(path: &Path, node: &Value) -> String {
    format!(
        "Unable to apply ResultPath \"{}\" to a {} value",
        path.text,
        crate::json::type_name(node)
    )
}

fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len_i = i64::try_from(len).ok()?;
    let i = if index < 0 { len_i + index } else { index };
    if (0..len_i).contains(&i) {
        usize::try_from(i).ok()
    } else {
        None
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

// ---------------------------------------------------------------------------------------------
// Filters: `[?(@.status == 0 && @.name)]`.

#[derive(Debug, Clone, PartialEq)]
enum Filter {
    Or(Vec<Filter>),
    And(Vec<Filter>),
    Not(Box<Filter>),
    Exists(Operand),
    Compare(Operand, CmpOp, Operand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Path(Path),
    Literal(Value),
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

// ---------------------------------------------------------------------------------------------
// Parser.

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    full: &'a str,
}

impl<'a> Parser<'a> {
    fn new(rest: &str, full: &'a str) -> Self {
        Parser {
            chars: rest.chars().collect(),
            pos: 0,
            full,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn error(&self, what: &str) -> String {
        format!("invalid JSONPath '{}': {what}", self.full)
    }

    fn segments(mut self) -> Result<Vec<Segment>, String> {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            match c {
                '.' if self.peek_at(1) == Some('.') => {
                    self.pos += 2;
                    let inner = match self.peek() {
                        Some('*') => {
                            self.pos += 1;
                            Segment::Wildcard
                        }
                        Some('[') => self.bracket()?,
                        Some(_) => Segment::Name(self.name()?),
                        None => return Err(self.error("'..' must be followed by a name")),
                    };
                    out.push(Segment::Descendant(Box::new(inner)));
                }
                '.' => {
                    self.pos += 1;
                    if self.peek() == Some('*') {
                        self.pos += 1;
                        out.push(Segment::Wildcard);
                    } else {
                        let name = self.name()?;
                        if self.peek() == Some('(') {
                            return Err(self.error(&format!(
                                "path functions such as '{name}()' are not supported"
                            )));
                        }
                        out.push(Segment::Name(name));
                    }
                }
                '[' => {
                    let segment = self.bracket()?;
                    out.push(segment);
                }
                other => return Err(self.error(&format!("unexpected character '{other}'"))),
            }
        }
        Ok(out)
    }

    fn name(&mut self) -> Result<String, String> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if matches!(c, '.' | '[' | ']' | '(' | ')') {
                break;
            }
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error("empty property name"));
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected '{c}'")))
        }
    }

    fn bracket(&mut self) -> Result<Segment, String> {
        self.pos += 1; // '['
        self.skip_ws();
        let segment = match self.peek() {
            Some('*') => {
                self.pos += 1;
                Segment::Wildcard
            }
            Some('?') => {
                self.pos += 1;
                self.expect('(')?;
                let end = self.matching_paren()?;
                let body: String = self.chars[self.pos..end].iter().collect();
                self.pos = end + 1;
                Segment::Filter(Box::new(FilterParser::new(&body, self.full).parse()?))
            }
            Some('\'') | Some('"') => {
                let mut names = vec![self.quoted()?];
                loop {
                    self.skip_ws();
                    if self.peek() == Some(',') {
                        self.pos += 1;
                        self.skip_ws();
                        names.push(self.quoted()?);
                    } else {
                        break;
                    }
                }
                if names.len() == 1 {
                    Segment::Name(names.remove(0))
                } else {
                    Segment::Union(names.into_iter().map(Key::Name).collect())
                }
            }
            Some(c) if c == '-' || c == ':' || c.is_ascii_digit() => self.numeric_selector()?,
            _ => return Err(self.error("unsupported bracket selector")),
        };
        self.expect(']')?;
        Ok(segment)
    }

    /// Index of the ')' closing the filter that starts at `self.pos`, skipping quoted text.
    fn matching_paren(&self) -> Result<usize, String> {
        let mut depth = 1usize;
        let mut quote: Option<char> = None;
        let mut i = self.pos;
        while let Some(&c) = self.chars.get(i) {
            match quote {
                Some(q) => {
                    if c == '\\' {
                        i += 1;
                    } else if c == q {
                        quote = None;
                    }
                }
                None => match c {
                    '\'' | '"' => quote = Some(c),
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(i);
                        }
                    }
                    _ => {}
                },
            }
            i += 1;
        }
        Err(self.error("unterminated filter expression"))
    }

    fn quoted(&mut self) -> Result<String, String> {
        let Some(quote) = self.peek() else {
            return Err(self.error("expected a quoted name"));
        };
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated quoted name")),
                Some('\\') if self.peek_at(1) == Some(quote) => {
                    out.push(quote);
                    self.pos += 2;
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn integer(&mut self) -> Result<Option<i64>, String> {
        self.skip_ws();
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<i64>()
            .map(Some)
            .map_err(|_| self.error(&format!("'{text}' is not an integer")))
    }

    fn numeric_selector(&mut self) -> Result<Segment, String> {
        let first = self.integer()?;
        self.skip_ws();
        match self.peek() {
            Some(':') => {
                self.pos += 1;
                let end = self.integer()?;
                self.skip_ws();
                let step = if self.peek() == Some(':') {
                    self.pos += 1;
                    self.integer()?
                } else {
                    None
                };
                Ok(Segment::Slice(first, end, step))
            }
            Some(',') => {
                let mut keys = vec![Key::Index(
                    first.ok_or_else(|| self.error("expected an index"))?,
                )];
                while self.peek() == Some(',') {
                    self.pos += 1;
                    let i = self
                        .integer()?
                        .ok_or_else(|| self.error("expected an index"))?;
                    keys.push(Key::Index(i));
                    self.skip_ws();
                }
                Ok(Segment::Union(keys))
            }
            _ => Ok(Segment::Index(
                first.ok_or_else(|| self.error("expected an index"))?,
            )),
        }
    }
}

struct FilterParser<'a> {
    chars: Vec<char>,
    pos: usize,
    full: &'a str,
}

impl<'a> FilterParser<'a> {
    fn new(body: &str, full: &'a str) -> Self {
        FilterParser {
            chars: body.chars().collect(),
            pos: 0,
            full,
        }
    }

    fn error(&self, what: &str) -> String {
        format!("invalid JSONPath '{}': filter {what}", self.full)
    }

    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        let t: Vec<char> = token.chars().collect();
        if self.chars.get(self.pos..self.pos + t.len()) == Some(&t[..]) {
            self.pos += t.len();
            true
        } else {
            false
        }
    }

    fn parse(mut self) -> Result<Filter, String> {
        let f = self.or()?;
        self.skip_ws();
        if self.pos != self.chars.len() {
            return Err(self.error("has trailing characters"));
        }
        Ok(f)
    }

    fn or(&mut self) -> Result<Filter, String> {
        let mut parts = vec![self.and()?];
        while self.eat("||") {
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut parts = vec![self.unary()?];
        while self.eat("&&") {
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Filter, String> {
        if self.eat("!") {
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let f = self.or()?;
            if !self.eat(")") {
                return Err(self.error("is missing ')'"));
            }
            return Ok(f);
        }
        let left = self.operand()?;
        let op = if self.eat("==") {
            Some(CmpOp::Eq)
        } else if self.eat("!=") {
            Some(CmpOp::Ne)
        } else if self.eat("<=") {
            Some(CmpOp::Le)
        } else if self.eat(">=") {
            Some(CmpOp::Ge)
        } else if self.eat("<") {
            Some(CmpOp::Lt)
        } else if self.eat(">") {
            Some(CmpOp::Gt)
        } else {
            None
        };
        match op {
            Some(op) => Ok(Filter::Compare(left, op, self.operand()?)),
            None => Ok(Filter::Exists(left)),
        }
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.skip_ws();
        let start = self.pos;
        match self.chars.get(self.pos).copied() {
            Some('@') => {
                let mut depth = 0usize;
                while let Some(&c) = self.chars.get(self.pos) {
                    match c {
                        '[' => depth += 1,
                        ']' => depth = depth.saturating_sub(1),
                        c if depth == 0 && (c.is_whitespace() || "=!<>)&|".contains(c)) => {
                            break;
                        }
                        _ => {}
                    }
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                Ok(Operand::Path(Path::parse(&text)?))
            }
            Some('$') => Err(self.error("paths must be relative to '@'")),
            Some(q @ ('\'' | '"')) => {
                self.pos += 1;
                let mut s = String::new();
                while let Some(&c) = self.chars.get(self.pos) {
                    self.pos += 1;
                    if c == '\\' {
                        if let Some(&n) = self.chars.get(self.pos) {
                            s.push(n);
                            self.pos += 1;
                        }
                    } else if c == q {
                        return Ok(Operand::Literal(Value::String(s)));
                    } else {
                        s.push(c);
                    }
                }
                Err(self.error("has an unterminated string"))
            }
            Some(_) => {
                while let Some(&c) = self.chars.get(self.pos) {
                    if c.is_whitespace() || "=!<>)&|".contains(c) {
                        break;
                    }
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                match serde_json::from_str::<Value>(&text) {
                    Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => {
                        Ok(Operand::Literal(v))
                    }
                    _ => Err(self.error(&format!("has an unsupported operand '{text}'"))),
                }
            }
            None => Err(self.error("is missing an operand")),
        }
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

    #[test]
    fn context_paths_are_recognised() {
        let p = Path::parse("$$.Execution.Input").unwrap();
        assert_eq!(p.root(), Root::Context);
        assert!(p.is_definite());
    }

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
    fn reference_paths_refuse_wildcards() {
        assert!(Path::parse_reference("$.a[*]").is_err());
        assert!(Path::parse_reference("$$.a").is_err());
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
    fn malformed_paths_are_rejected() {
        for bad in ["a.b", "$.", "$[", "$.a.length()", "$[?(@.a ==)]", "$.a]"] {
            assert!(Path::parse(bad).is_err(), "{bad} should not parse");
        }
    }
}
