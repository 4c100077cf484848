//! IAM enforced by the server: access keys bound to identity-based policy documents.
//!
//! A key listed in [`crate::ServerConfig::identities`] is an IAM user of the local account
//! with those policies attached; each request it signs is refused with S3's 403
//! `AccessDenied` and AWS's message unless the policies allow every action the request needs
//! on its resources. Keys not bound to policies (the server's own
//! [`crate::DEFAULT_ACCESS_KEY`]) keep full access, as the account's root would.
//!
//! One job per file: parsing and matching policies ([`Policy`]), the S3 operation ->
//! (action, resource) table (`action_map`), IAM's decision and message (`evaluate`). s3s's
//! access hook (`crate::routed`) asks this module at routing, and the operations whose
//! resources are in the body (DeleteObjects) once s3s has parsed it. A read of a missing key
//! without `s3:ListBucket` is answered 403 instead of 404 by the service itself
//! ([`missing_key_error`]), where it finds the key missing.

mod action_map;
mod evaluate;
mod glob;
mod policy;

use std::collections::HashMap;

use s3s::{S3Error, S3ErrorCode, S3Result};

pub(crate) use action_map::{Need, RequestFacts, delete_objects_needs, post_object_needs};
use action_map::{Required, missing_key_need, required};
use evaluate::{Decision, decide, denial_message};
pub use policy::{Policy, PolicyError};

/// An access key bound to IAM policies: an IAM user of the server's account.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The access key id it signs with.
    pub access_key: String,
    /// Its secret key.
    pub secret_key: String,
    /// The user name in its ARN (`arn:aws:iam::<account>:user/<name>`) and in messages.
    pub user_name: String,
    /// The identity-based policies attached to it.
    pub policies: Vec<Policy>,
}

/// The bound keys of one server.
#[derive(Debug, Default)]
pub(crate) struct Iam {
    account_id: String,
    bound: HashMap<String, Identity>,
}

/// Left in a read's request extensions when its caller may not learn that a key is missing:
/// the AccessDenied message to answer instead of NoSuchKey.
#[derive(Debug, Clone)]
pub(crate) struct MissingKeyDenied(String);

impl Iam {
    pub(crate) fn new(account_id: &str, identities: &[Identity]) -> Iam {
        Iam {
            account_id: account_id.to_owned(),
            bound: identities
                .iter()
                .map(|i| (i.access_key.clone(), i.clone()))
                .collect(),
        }
    }

    /// Whether `access_key` is bound to policies (others have full access).
    pub(crate) fn is_bound(&self, access_key: &str) -> bool {
        self.bound.contains_key(access_key)
    }

    /// The routing-time check: `Ok(Some(_))` when the request may run but must not learn
    /// that its key is missing.
    pub(crate) fn check(
        &self,
        access_key: &str,
        facts: &RequestFacts<'_>,
    ) -> S3Result<Option<MissingKeyDenied>> {
        let Some(identity) = self.bound.get(access_key) else {
            return Ok(None);
        };
        match required(facts) {
            Required::All(needs) => self.check_needs(identity, &needs)?,
            Required::AfterParsing => {}
            Required::Unmapped => {
                return Err(S3Error::with_message(
                    S3ErrorCode::AccessDenied,
                    format!(
                        "User: {} is not authorized to perform the S3 operation {}: copyflow-s3 \
                         has no IAM action mapping for it, so keys bound to policies may not call it",
                        self.user_arn(identity),
                        facts.operation
                    ),
                ));
            }
        }
        Ok(missing_key_need(facts).and_then(|need| {
            let decision = decide(&identity.policies, &need);
            (decision != Decision::Allow).then(|| {
                MissingKeyDenied(denial_message(&self.user_arn(identity), &need, &decision))
            })
        }))
    }

    /// The check of an operation whose resources were in its body (DeleteObjects,
    /// PostObject), once s3s has parsed it.
    pub(crate) fn check_after_parsing(&self, access_key: &str, needs: &[Need]) -> S3Result<()> {
        match self.bound.get(access_key) {
            Some(identity) => self.check_needs(identity, needs),
            None => Ok(()),
        }
    }

    fn check_needs(&self, identity: &Identity, needs: &[Need]) -> S3Result<()> {
        for need in needs {
            let decision = decide(&identity.policies, need);
            if decision != Decision::Allow {
                let message = denial_message(&self.user_arn(identity), need, &decision);
                tracing::info!(user = %identity.user_name, action = need.action, resource = %need.resource, "access denied by IAM policy");
                return Err(S3Error::with_message(S3ErrorCode::AccessDenied, message));
            }
        }
        Ok(())
    }

    fn user_arn(&self, identity: &Identity) -> String {
        format!(
            "arn:aws:iam::{}:user/{}",
            self.account_id, identity.user_name
        )
    }
}

/// A read's NoSuchKey (or NoSuchVersion: AWS's rule names no exception for a missing
/// version, so this server applies it there too), turned into the AccessDenied its caller
/// gets without `s3:ListBucket`.
pub(crate) fn missing_key_error(e: S3Error, denied: Option<&MissingKeyDenied>) -> S3Error {
    let missing = matches!(
        e.code(),
        S3ErrorCode::NoSuchKey | S3ErrorCode::NoSuchVersion
    );
    match denied {
        Some(MissingKeyDenied(message)) if missing => {
            S3Error::with_message(S3ErrorCode::AccessDenied, message.clone())
        }
        _ => e,
    }
}
