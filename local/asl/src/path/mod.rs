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
//!
//! One file per job: `parser.rs` turns text into a [`Path`] (JSONPath and reference paths),
//! `evaluator.rs` selects from a document, `writer.rs` writes a `ResultPath`. This file holds
//! the parsed form they share.

mod evaluator;
mod parser;
mod writer;

pub(crate) use evaluator::Missing;

use serde_json::Value;

/// Which document a path starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Root {
    /// `$`: the state input (or the effective input, depending on the field).
    Input,
    /// `$$`: the context object.
    Context,
    /// `@`: the current element inside a filter expression.
    Current,
}

/// A parsed JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path {
    text: String,
    root: Root,
    segments: Vec<Segment>,
}

/// One step after the root: `.name`, `[0]`, `[*]`, `[1:3]`, `['a','b']`, `[?(...)]`, `..x`.
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

/// A member of a union (`['a','b']` or `[0,2]`).
#[derive(Debug, Clone, PartialEq)]
enum Key {
    Name(String),
    Index(i64),
}

// ---------------------------------------------------------------------------------------------
// Filters: `[?(@.status == 0 && @.name)]`.

/// A filter expression, evaluated against each candidate element (`@`).
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

impl Path {
    /// The path as written.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The root document of the path.
    pub(crate) fn root(&self) -> Root {
        self.root
    }

    /// `$` (or `$$`) with no steps.
    pub(crate) fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// True when the path selects at most one value (see the module docs).
    pub(crate) fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Name(_) | Segment::Index(_)))
    }

    fn is_reference(&self) -> bool {
        self.is_definite()
    }
}

/// The position `index` names in an array of `len` items (negative counts from the end).
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len_i = i64::try_from(len).ok()?;
    let i = if index < 0 { len_i + index } else { index };
    if (0..len_i).contains(&i) {
        usize::try_from(i).ok()
    } else {
        None
    }
}
