//! Parsing JSONPath text (`$...`, `$$...`, `@...`) and reference paths (`ResultPath`) into a
//! [`Path`]. Filters are parsed by their own small parser ([`FilterParser`]).

use serde_json::Value;

use super::{CmpOp, Filter, Key, Operand, Path, Root, Segment};

/// Why a path's text was refused at load time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParseError {
    /// The text does not start with `$`, `$$` or `@`.
    #[error("'{text}' is not a JSONPath: it must start with '$'")]
    NotAPath {
        /// The text as written.
        text: String,
    },
    /// A `ResultPath` with something other than `$`, names and indexes.
    #[error("'{text}' is not a reference path: use only '$', '.name', ['name'] and [index] steps")]
    NotAReference {
        /// The text as written.
        text: String,
    },
    /// The text breaks the JSONPath syntax (or uses a part this engine does not implement).
    #[error("invalid JSONPath '{path}': {problem}")]
    Syntax {
        /// The whole path as written.
        path: String,
        /// What is wrong, e.g. `empty property name` or `filter is missing ')'`.
        problem: String,
    },
}

impl Path {
    /// Parse a JSONPath (`$...`, `$$...`, or `@...` inside filters).
    pub(crate) fn parse(text: &str) -> Result<Path, ParseError> {
        let (root, rest) = if let Some(rest) = text.strip_prefix("$$") {
            (Root::Context, rest)
        } else if let Some(rest) = text.strip_prefix('$') {
            (Root::Input, rest)
        } else if let Some(rest) = text.strip_prefix('@') {
            (Root::Current, rest)
        } else {
            return Err(ParseError::NotAPath {
                text: text.to_owned(),
            });
        };
        let segments = Parser::new(rest, text).segments()?;
        Ok(Path {
            text: text.to_owned(),
            root,
            segments,
        })
    }

    /// Parse a reference path (`ResultPath`): definite, names and indexes only, rooted at `$`.
    pub(crate) fn parse_reference(text: &str) -> Result<Path, ParseError> {
        let path = Path::parse(text)?;
        if path.root != Root::Input || !path.is_reference() {
            return Err(ParseError::NotAReference {
                text: text.to_owned(),
            });
        }
        Ok(path)
    }
}

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

    fn error(&self, what: &str) -> ParseError {
        ParseError::Syntax {
            path: self.full.to_owned(),
            problem: what.to_owned(),
        }
    }

    fn segments(mut self) -> Result<Vec<Segment>, ParseError> {
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

    fn name(&mut self) -> Result<String, ParseError> {
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

    fn expect(&mut self, c: char) -> Result<(), ParseError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected '{c}'")))
        }
    }

    fn bracket(&mut self) -> Result<Segment, ParseError> {
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
    fn matching_paren(&self) -> Result<usize, ParseError> {
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

    fn quoted(&mut self) -> Result<String, ParseError> {
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

    fn integer(&mut self) -> Result<Option<i64>, ParseError> {
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

    fn numeric_selector(&mut self) -> Result<Segment, ParseError> {
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

    fn error(&self, what: &str) -> ParseError {
        ParseError::Syntax {
            path: self.full.to_owned(),
            problem: format!("filter {what}"),
        }
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

    fn parse(mut self) -> Result<Filter, ParseError> {
        let f = self.or()?;
        self.skip_ws();
        if self.pos != self.chars.len() {
            return Err(self.error("has trailing characters"));
        }
        Ok(f)
    }

    fn or(&mut self) -> Result<Filter, ParseError> {
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

    fn and(&mut self) -> Result<Filter, ParseError> {
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

    fn unary(&mut self) -> Result<Filter, ParseError> {
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

    fn operand(&mut self) -> Result<Operand, ParseError> {
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

    #[test]
    fn context_paths_are_recognised() {
        let p = Path::parse("$$.Execution.Input").unwrap();
        assert_eq!(p.root(), Root::Context);
        assert!(p.is_definite());
    }

    #[test]
    fn reference_paths_refuse_wildcards() {
        assert!(Path::parse_reference("$.a[*]").is_err());
        assert!(Path::parse_reference("$$.a").is_err());
    }

    #[test]
    fn malformed_paths_are_rejected() {
        for bad in ["a.b", "$.", "$[", "$.a.length()", "$[?(@.a ==)]", "$.a]"] {
            assert!(Path::parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn parse_errors_name_the_path_and_the_problem() {
        let message = |text: &str| Path::parse(text).unwrap_err().to_string();
        assert_eq!(
            message("a.b"),
            "'a.b' is not a JSONPath: it must start with '$'"
        );
        assert_eq!(message("$."), "invalid JSONPath '$.': empty property name");
        assert_eq!(
            message("$[?(@.a ==)]"),
            "invalid JSONPath '$[?(@.a ==)]': filter is missing an operand"
        );
        assert_eq!(
            Path::parse_reference("$.a[*]").unwrap_err().to_string(),
            "'$.a[*]' is not a reference path: use only '$', '.name', ['name'] and [index] steps"
        );
    }
}
