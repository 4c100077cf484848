//! IAM's decision for one request against one identity's policies, and AWS's AccessDenied
//! message for a refusal.
//!
//! As IAM's policy evaluation logic (IAM User Guide) decides within one account with only
//! identity-based policies: an explicit Deny that matches wins; otherwise an Allow that
//! matches allows; otherwise the request is implicitly denied. A statement this server cannot
//! evaluate (see [`super::policy`]) never allows, and denies when it is a Deny.
//!
//! The message is S3's enhanced access denied message for same-account requests (S3 User
//! Guide, "Troubleshoot access denied (403 Forbidden) errors"): `User: <arn> is not authorized
//! to perform: <action> on resource: "<arn>" because no identity-based policy allows the
//! <action> action`, or `... with an explicit deny in an identity-based policy`.

use super::action_map::Need;
use super::policy::{Effect, Policy};

/// The outcome for one needed permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    Allow,
    /// No Allow matched; `note` says why a matching Allow could not count, if one did match.
    ImplicitDeny {
        note: Option<String>,
    },
    /// A Deny matched (or a Deny that cannot be evaluated could have).
    ExplicitDeny {
        note: Option<String>,
    },
}

/// The decision of `policies` on `need`.
pub(crate) fn decide(policies: &[Policy], need: &Need) -> Decision {
    let matching = policies
        .iter()
        .flat_map(Policy::statements)
        .filter(|s| s.covers_action(need.action) && s.covers_resource(&need.resource));
    let mut allowed = false;
    let mut note = None;
    for statement in matching {
        match (statement.effect, &statement.unevaluated) {
            (Effect::Deny, unevaluated) => {
                return Decision::ExplicitDeny {
                    note: unevaluated.clone(),
                };
            }
            (Effect::Allow, None) => allowed = true,
            (Effect::Allow, Some(reason)) => note = note.or_else(|| Some(reason.clone())),
        }
    }
    match allowed {
        true => Decision::Allow,
        false => Decision::ImplicitDeny { note },
    }
}

/// AWS's AccessDenied message for `user_arn` refused `need` by `decision`.
pub(crate) fn denial_message(user_arn: &str, need: &Need, decision: &Decision) -> String {
    let head = format!(
        "User: {user_arn} is not authorized to perform: {} on resource: \"{}\"",
        need.action, need.resource
    );
    let (reason, note) = match decision {
        Decision::Allow => return head,
        Decision::ImplicitDeny { note } => (
            format!(
                "because no identity-based policy allows the {} action",
                need.action
            ),
            note,
        ),
        Decision::ExplicitDeny { note } => (
            "with an explicit deny in an identity-based policy".to_owned(),
            note,
        ),
    };
    match note {
        Some(note) => format!("{head} {reason} ({note})"),
        None => format!("{head} {reason}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::iam::policy::Statement;

    fn need(action: &'static str, resource: &str) -> Need {
        Need {
            action,
            resource: resource.to_owned(),
        }
    }

    #[test]
    fn an_explicit_deny_wins_over_any_allow() {
        let policies = [
            Policy::of(vec![Statement::new(Effect::Allow, &["s3:*"], &["*"])]),
            Policy::of(vec![Statement::new(
                Effect::Deny,
                &["s3:DeleteObject*"],
                &["arn:aws:s3:::b/*"],
            )]),
        ];
        assert_eq!(
            decide(
                &policies,
                &need("s3:DeleteObjectVersion", "arn:aws:s3:::b/k")
            ),
            Decision::ExplicitDeny { note: None }
        );
        assert_eq!(
            decide(&policies, &need("s3:GetObject", "arn:aws:s3:::b/k")),
            Decision::Allow
        );
    }

    #[test]
    fn without_a_matching_allow_the_request_is_implicitly_denied() {
        let policies = [Policy::of(vec![Statement::new(
            Effect::Allow,
            &["s3:GetObject"],
            &["arn:aws:s3:::b/in/*"],
        )])];
        assert_eq!(
            decide(&policies, &need("s3:GetObject", "arn:aws:s3:::b/out/k")),
            Decision::ImplicitDeny { note: None }
        );
        assert_eq!(
            decide(&policies, &need("s3:PutObject", "arn:aws:s3:::b/in/k")),
            Decision::ImplicitDeny { note: None }
        );
        assert_eq!(
            decide(&[], &need("s3:GetObject", "*")),
            Decision::ImplicitDeny { note: None }
        );
    }

    #[test]
    fn statements_with_conditions_fail_closed() {
        let conditional = |effect: &str| {
            Policy::parse(&format!(
                r#"{{"Statement":[{{"Effect":"{effect}","Action":"s3:GetObject","Resource":"*","Condition":{{"StringEquals":{{"s3:ExistingObjectTag/x":"1"}}}}}}]}}"#
            ))
            .unwrap()
        };
        let get = need("s3:GetObject", "arn:aws:s3:::b/k");
        let Decision::ImplicitDeny { note: Some(note) } = decide(&[conditional("Allow")], &get)
        else {
            panic!("a conditional Allow must not allow");
        };
        assert!(note.contains("s3:ExistingObjectTag/x"), "{note}");
        let allow_all = Policy::of(vec![Statement::new(Effect::Allow, &["*"], &["*"])]);
        assert!(matches!(
            decide(&[allow_all, conditional("Deny")], &get),
            Decision::ExplicitDeny { note: Some(_) }
        ));
    }

    #[test]
    fn messages_use_aws_wording() {
        let n = need("s3:GetObject", "arn:aws:s3:::bucket/key");
        let user = "arn:aws:iam::000000000000:user/copy-object";
        assert_eq!(
            denial_message(user, &n, &Decision::ImplicitDeny { note: None }),
            "User: arn:aws:iam::000000000000:user/copy-object is not authorized to perform: \
             s3:GetObject on resource: \"arn:aws:s3:::bucket/key\" because no identity-based \
             policy allows the s3:GetObject action"
        );
        assert_eq!(
            denial_message(user, &n, &Decision::ExplicitDeny { note: None }),
            "User: arn:aws:iam::000000000000:user/copy-object is not authorized to perform: \
             s3:GetObject on resource: \"arn:aws:s3:::bucket/key\" with an explicit deny in an \
             identity-based policy"
        );
    }
}
