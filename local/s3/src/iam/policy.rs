//! IAM policy documents: parsing, and matching one statement against an action and a resource.
//!
//! Follows the IAM JSON policy element reference: `Statement` is one object or a list;
//! `Action`/`NotAction` and `Resource`/`NotResource` are a string or a list of strings;
//! action names match case-insensitively and resources case-sensitively, both with the
//! wildcards `*` (any run of characters) and `?` (one character); in a resource, `${*}`,
//! `${?}` and `${$}` stand for the literal character (the CDK app writes them for prefixes
//! that contain one, `cdk/lib/policies.ts`).
//!
//! What is not evaluated fails closed: a statement with a `Condition`, or a resource with any
//! other policy variable (`${aws:username}`, ...), cannot allow anything, and if it is a Deny
//! it denies whatever its action and resource could match. The reason is carried into the
//! AccessDenied message ([`Statement::unevaluated`]). None of the S3 statements the CDK app
//! synthesizes has a condition (its only conditions are `kms:ViaService` on KMS statements,
//! which no S3 request is checked against).

use serde_json::Value;

use super::glob::Glob;

/// A parsed IAM policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    statements: Vec<Statement>,
}

/// Why a policy document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid IAM policy: {0}")]
pub struct PolicyError(String);

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    Allow,
    Deny,
}

/// `Action` (the listed patterns) or `NotAction` (everything else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Patterns {
    negated: bool,
    globs: Vec<Glob>,
}

impl Patterns {
    fn matches(&self, text: &str) -> bool {
        self.globs.iter().any(|g| g.matches(text)) != self.negated
    }
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    actions: Patterns,
    resources: Patterns,
    /// Why this statement cannot be evaluated here (a condition, a policy variable).
    pub(crate) unevaluated: Option<String>,
}

impl Policy {
    /// Parses a policy document (`{"Version": ..., "Statement": ...}`).
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let value: Value = serde_json::from_str(text).map_err(|e| PolicyError(e.to_string()))?;
        Policy::from_json(&value)
    }

    /// A policy from an already parsed JSON document.
    pub fn from_json(value: &Value) -> Result<Policy, PolicyError> {
        let document = value
            .as_object()
            .ok_or_else(|| PolicyError("a policy document is a JSON object".into()))?;
        let statements = match document.get("Statement") {
            Some(Value::Array(items)) => items.iter().map(Statement::parse).collect(),
            Some(one @ Value::Object(_)) => Statement::parse(one).map(|s| vec![s]),
            Some(_) => Err(PolicyError(
                "Statement is an object or a list of objects".into(),
            )),
            None => Err(PolicyError("the document has no Statement".into())),
        }?;
        Ok(Policy { statements })
    }

    /// A policy from statements, for tests.
    #[cfg(test)]
    pub(crate) fn of(statements: Vec<Statement>) -> Policy {
        Policy { statements }
    }

    pub(crate) fn statements(&self) -> &[Statement] {
        &self.statements
    }
}

impl Statement {
    fn parse(value: &Value) -> Result<Statement, PolicyError> {
        let object = value
            .as_object()
            .ok_or_else(|| PolicyError("a statement is a JSON object".into()))?;
        let sid = object.get("Sid").and_then(Value::as_str).map(str::to_owned);
        let name = sid.as_deref().unwrap_or("(no Sid)");
        let effect = match object.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            other => {
                return Err(PolicyError(format!(
                    "statement {name}: Effect must be \"Allow\" or \"Deny\", not {other:?}"
                )));
            }
        };
        if object.contains_key("Principal") || object.contains_key("NotPrincipal") {
            return Err(PolicyError(format!(
                "statement {name}: an identity-based policy has no Principal"
            )));
        }
        let (actions_negated, actions) = patterns(object, "Action", "NotAction", name)?;
        let (resources_negated, resources) = patterns(object, "Resource", "NotResource", name)?;
        let mut unevaluated = object.get("Condition").map(|condition| {
            let keys: Vec<String> = condition
                .as_object()
                .into_iter()
                .flat_map(|operators| operators.values())
                .filter_map(Value::as_object)
                .flat_map(|keys| keys.keys().cloned())
                .collect();
            format!(
                "copyflow-s3 does not evaluate the condition key(s) {} of statement {name}",
                keys.join(", ")
            )
        });
        if unevaluated.is_none()
            && let Some(variable) = resources.iter().find_map(|p| unknown_variable(p))
        {
            unevaluated = Some(format!(
                "copyflow-s3 does not evaluate the policy variable {variable} of statement {name}"
            ));
        }
        Ok(Statement {
            sid,
            effect,
            actions: Patterns {
                negated: actions_negated,
                globs: actions.iter().map(|p| Glob::folding_case(p)).collect(),
            },
            resources: Patterns {
                negated: resources_negated,
                globs: resources.iter().map(|p| resource_glob(p)).collect(),
            },
            unevaluated,
        })
    }

    /// A statement from parts, for tests.
    #[cfg(test)]
    pub(crate) fn new(effect: Effect, actions: &[&str], resources: &[&str]) -> Statement {
        Statement {
            sid: None,
            effect,
            actions: Patterns {
                negated: false,
                globs: actions.iter().map(|p| Glob::folding_case(p)).collect(),
            },
            resources: Patterns {
                negated: false,
                globs: resources.iter().map(|p| resource_glob(p)).collect(),
            },
            unevaluated: None,
        }
    }

    /// Whether the statement's Action/NotAction covers `action` (e.g. `s3:GetObject`).
    pub(crate) fn covers_action(&self, action: &str) -> bool {
        self.actions.matches(action)
    }

    /// Whether the statement's Resource/NotResource covers `resource` (an ARN or `*`).
    pub(crate) fn covers_resource(&self, resource: &str) -> bool {
        self.resources.matches(resource)
    }
}

fn patterns(
    object: &serde_json::Map<String, Value>,
    positive: &str,
    negative: &str,
    name: &str,
) -> Result<(bool, Vec<String>), PolicyError> {
    let (negated, value) = match (object.get(positive), object.get(negative)) {
        (Some(v), None) => (false, v),
        (None, Some(v)) => (true, v),
        (Some(_), Some(_)) => {
            return Err(PolicyError(format!(
                "statement {name}: {positive} and {negative} together"
            )));
        }
        (None, None) => {
            return Err(PolicyError(format!(
                "statement {name}: neither {positive} nor {negative}"
            )));
        }
    };
    let strings = match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| PolicyError(format!("statement {name}: {positive} holds strings")))?,
        _ => {
            return Err(PolicyError(format!(
                "statement {name}: {positive} is a string or a list of strings"
            )));
        }
    };
    Ok((negated, strings))
}

/// A Resource pattern, with `${*}`, `${?}` and `${$}` as the literal characters (escaped as
/// `\*`, `\?` and `$`); every other `${...}` is left for [`unknown_variable`] to report.
fn resource_glob(pattern: &str) -> Glob {
    Glob::exact(
        &pattern
            .replace("${*}", "\\*")
            .replace("${?}", "\\?")
            .replace("${$}", "$"),
    )
}

/// The first policy variable other than the three literal escapes, if any.
fn unknown_variable(pattern: &str) -> Option<String> {
    let mut rest = pattern;
    while let Some(at) = rest.find("${") {
        let tail = &rest[at..];
        let end = tail.find('}').map_or(tail.len(), |i| i + 1);
        let variable = &tail[..end];
        if !matches!(variable, "${*}" | "${?}" | "${$}") {
            return Some(variable.to_owned());
        }
        rest = &tail[end..];
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn statement(json: &str) -> Statement {
        let policy =
            Policy::parse(&format!(r#"{{"Version":"2012-10-17","Statement":{json}}}"#)).unwrap();
        policy.statements()[0].clone()
    }

    #[test]
    fn actions_match_case_insensitively_and_resources_case_sensitively() {
        let s = statement(
            r#"{"Effect":"Allow","Action":"S3:getobject","Resource":"arn:aws:s3:::B/*"}"#,
        );
        assert!(s.covers_action("s3:GetObject"));
        assert!(!s.covers_action("s3:GetObjectVersion"));
        assert!(s.covers_resource("arn:aws:s3:::B/k"));
        assert!(!s.covers_resource("arn:aws:s3:::b/k"));
    }

    #[test]
    fn lists_strings_and_not_action_are_read() {
        let s = statement(
            r#"[{"Effect":"Deny","NotAction":["s3:Get*","s3:List?ucket"],"NotResource":"arn:aws:s3:::x/*"}]"#,
        );
        assert_eq!(s.effect, Effect::Deny);
        assert!(!s.covers_action("s3:GetObject"));
        assert!(!s.covers_action("s3:ListBucket"));
        assert!(s.covers_action("s3:PutObject"));
        assert!(s.covers_resource("arn:aws:s3:::y/k"));
        assert!(!s.covers_resource("arn:aws:s3:::x/k"));
    }

    #[test]
    fn escaped_wildcards_in_resources_are_literal() {
        let s = statement(
            r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/in${*}${?}${$}/*"}"#,
        );
        assert!(s.covers_resource("arn:aws:s3:::b/in*?$/k"));
        assert!(!s.covers_resource("arn:aws:s3:::b/inab$/k"));
        assert_eq!(s.unevaluated, None);
    }

    #[test]
    fn conditions_and_unknown_variables_are_marked_unevaluated() {
        let s = statement(
            r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}"#,
        );
        assert!(
            s.unevaluated
                .as_deref()
                .is_some_and(|r| r.contains("aws:SecureTransport"))
        );
        let s = statement(
            r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}/*"}"#,
        );
        assert!(
            s.unevaluated
                .as_deref()
                .is_some_and(|r| r.contains("${aws:username}"))
        );
    }

    #[test]
    fn malformed_documents_are_refused_with_the_reason() {
        for (text, reason) in [
            ("[]", "JSON object"),
            (
                r#"{"Statement":{"Effect":"Maybe","Action":"*","Resource":"*"}}"#,
                "Effect",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#,
                "neither Action",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":"*","NotAction":"*","Resource":"*"}}"#,
                "together",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Action":[1],"Resource":"*"}}"#,
                "strings",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}"#,
                "Principal",
            ),
        ] {
            let e = Policy::parse(text).unwrap_err();
            assert!(e.to_string().contains(reason), "{text}: {e}");
        }
    }
}
