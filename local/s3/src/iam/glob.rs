//! IAM's wildcard patterns (`*` any run of characters, also none; `?` exactly one; `\*` and
//! `\?` the literal characters), compiled once when a policy is read: every request checks
//! its actions and resources against them, so a match allocates nothing.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Star,
    One,
    Char(char),
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob {
    tokens: Vec<Token>,
    /// Compare ASCII letters without case (action names).
    fold_case: bool,
}

impl Glob {
    /// `pattern`, compared exactly (resources).
    pub(crate) fn exact(pattern: &str) -> Glob {
        Glob {
            tokens: tokens(pattern),
            fold_case: false,
        }
    }

    /// `pattern`, compared without regard to ASCII case (actions).
    pub(crate) fn folding_case(pattern: &str) -> Glob {
        Glob {
            tokens: tokens(&pattern.to_ascii_lowercase()),
            fold_case: true,
        }
    }

    /// Whether `text` matches. Iterative, with one backtrack point (the last `*`); positions
    /// in `text` are byte offsets, so the text is walked in place.
    pub(crate) fn matches(&self, text: &str) -> bool {
        let next = |at: usize| {
            text[at..].chars().next().map(|c| {
                let c = if self.fold_case {
                    c.to_ascii_lowercase()
                } else {
                    c
                };
                (c, at + c.len_utf8())
            })
        };
        let (mut p, mut t) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while let Some((c, after)) = next(t) {
            match self.tokens.get(p) {
                Some(Token::Star) => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(Token::One) => {
                    p += 1;
                    t = after;
                }
                Some(Token::Char(want)) if *want == c => {
                    p += 1;
                    t = after;
                }
                _ => match star {
                    Some((sp, st)) => {
                        // The last `*` takes one more character.
                        let resume = next(st).map_or(text.len(), |(_, a)| a);
                        p = sp + 1;
                        t = resume;
                        star = Some((sp, resume));
                    }
                    None => return false,
                },
            }
        }
        self.tokens[p..].iter().all(|t| *t == Token::Star)
    }
}

fn tokens(pattern: &str) -> Vec<Token> {
    let mut tokens = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '*' => Token::Star,
            '?' => Token::One,
            '\\' => match chars.clone().next() {
                Some(next @ ('*' | '?')) => {
                    chars.next();
                    Token::Char(next)
                }
                _ => Token::Char('\\'),
            },
            c => Token::Char(c),
        });
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(pattern: &str, text: &str) -> bool {
        Glob::exact(pattern).matches(text)
    }

    #[test]
    fn wildcards_match_runs_and_single_characters() {
        assert!(glob("arn:aws:s3:::b/*", "arn:aws:s3:::b/k/x"));
        assert!(glob("arn:aws:s3:::b/*", "arn:aws:s3:::b/"));
        assert!(!glob("arn:aws:s3:::b/*", "arn:aws:s3:::b"));
        assert!(glob("arn:aws:s3:::b?", "arn:aws:s3:::bc"));
        assert!(!glob("arn:aws:s3:::b?", "arn:aws:s3:::b"));
        assert!(glob("*a*b*", "xxaxxbxx"));
        assert!(!glob("*a*b", "xxaxxbxx"));
        assert!(glob("*", ""));
        assert!(!glob("?", ""));
        assert!(glob("", ""));
        assert!(!glob("", "a"));
        assert!(glob("s3:get*", "s3:getobjectversion"));
    }

    #[test]
    fn escaped_wildcards_are_literal() {
        assert!(glob(r"a\*", "a*"));
        assert!(!glob(r"a\*", "ab"));
        assert!(glob(r"a\?b", "a?b"));
        assert!(!glob(r"a\?b", "axb"));
        assert!(glob(r"a\b", r"a\b"));
    }

    #[test]
    fn backtracking_walks_multibyte_characters() {
        assert!(glob("*é", "aéé"));
        assert!(glob("?ü?", "äüö"));
        assert!(!glob("??", "é"));
        assert!(glob("*ß*x", "ßßaßx"));
    }

    #[test]
    fn actions_match_without_regard_to_case() {
        let g = Glob::folding_case("S3:Get*");
        assert!(g.matches("s3:GetObject"));
        assert!(g.matches("S3:GETOBJECT"));
        assert!(!g.matches("s3:PutObject"));
        assert!(!Glob::exact("S3:Get*").matches("s3:GetObject"));
    }
}
