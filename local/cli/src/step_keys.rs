//! Each step's own access key, bound to the IAM policy the CDK app gives that step's role.
//!
//! The policies are `tests/fixtures/step-policies.json`, compiled in: the S3 statements of
//! each function's role as `cdk synth` writes them, with the buckets and prefixes as
//! placeholders (`cdk/test/step-policies.test.ts` synthesizes the app and fails when the
//! file differs, so it cannot drift from `cdk/lib/policies.ts`). Here the placeholders get the
//! local settings' buckets and prefixes, escaped as `objectsArn` in `cdk/lib/policies.ts`
//! escapes them, and the embedded S3 server enforces the result (`copyflow_s3::iam`): a local
//! run is authorized against exactly the deployed permissions. `local.enforceIam: false`
//! turns it off (every step then signs with the server's full-access key).

use copyflow_core::{Settings, Steps};
use copyflow_s3::iam::{Identity, Policy, PolicyError};
use serde_json::Value;

/// The deployed step policies with placeholders (see the module docs).
pub const STEP_POLICIES: &str = include_str!("../../../tests/fixtures/step-policies.json");

/// The steps that have a role, by Task state and local function name.
pub const STEPS: [(&str, &str); 3] = [
    ("ValidateKey", "copyflow-validate-key"),
    ("CopyObject", "copyflow-copy-object"),
    ("VerifyCopy", "copyflow-verify-copy"),
];

/// The access key id and secret key a step's function signs with (its function name, so a
/// denial names the step: `user/copyflow-copy-object`).
pub fn credentials(function: &str) -> (String, String) {
    (
        function.to_owned(),
        format!("{}-{function}", copyflow_s3::DEFAULT_SECRET_KEY),
    )
}

/// The three steps' keys bound to their deployed policies, filled in with `settings`.
pub fn identities(settings: &Settings) -> Result<Vec<Identity>, PolicyError> {
    identities_from(&policy_documents(settings))
}

/// The steps, each signing its S3 requests with its own key at `endpoint` (validate-key
/// makes none).
pub fn steps_with_own_keys(endpoint: &str, region: &str, settings: Settings) -> Steps {
    let client = |function: &str| {
        let (key, secret) = credentials(function);
        copyflow_core::s3::client_for_endpoint(endpoint, &key, &secret, region)
    };
    Steps::with_clients(
        client("copyflow-copy-object"),
        client("copyflow-verify-copy"),
        settings,
    )
}

/// The policy document of each step (by Task state), placeholders filled in with `settings`,
/// as JSON: tests edit them (remove one action) and bind the result with [`identities_from`].
pub fn policy_documents(settings: &Settings) -> Vec<(String, Value)> {
    let mut text = STEP_POLICIES.to_owned();
    for (placeholder, value) in [
        ("${SourceBucket}", settings.source_bucket().to_owned()),
        (
            "${DestinationBucket}",
            settings.destination_bucket().to_owned(),
        ),
        ("${SourcePrefix}", iam_prefix(settings.source_prefix())),
        (
            "${DestinationPrefix}",
            iam_prefix(settings.destination_prefix()),
        ),
    ] {
        // The values go into JSON strings.
        let quoted = Value::String(value).to_string();
        text = text.replace(placeholder, &quoted[1..quoted.len() - 1]);
    }
    let document: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    STEPS
        .iter()
        .map(|(state, _)| {
            let policy = document["policies"][*state].clone();
            ((*state).to_owned(), policy)
        })
        .collect()
}

/// The steps' keys bound to `documents` (by Task state, as [`policy_documents`] gives them).
pub fn identities_from(documents: &[(String, Value)]) -> Result<Vec<Identity>, PolicyError> {
    STEPS
        .iter()
        .map(|(state, function)| {
            let document = documents
                .iter()
                .find(|(s, _)| s == state)
                .map(|(_, d)| d.clone())
                .unwrap_or(Value::Null);
            let (access_key, secret_key) = credentials(function);
            Ok(Identity {
                access_key,
                secret_key,
                user_name: (*function).to_owned(),
                policies: vec![Policy::from_json(&document)?],
            })
        })
        .collect()
}

/// A key prefix as `objectsArn` writes it into a resource: IAM's wildcard and variable
/// characters as the literal escapes `${*}`, `${?}`, `${$}`; spaces and brackets as `?`.
pub fn iam_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        match c {
            '*' | '?' | '$' => {
                out.push_str("${");
                out.push(c);
                out.push('}');
            }
            ' ' | '[' | ']' | '(' | ')' | '{' | '}' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use copyflow_core::{SettingsDocument, SettingsOrigin};

    use super::*;

    #[test]
    fn prefixes_are_escaped_as_the_cdk_app_escapes_them() {
        // The cases of cdk/test/iam.test.ts.
        assert_eq!(iam_prefix("in*?$/"), "in${*}${?}${$}/");
        assert_eq!(iam_prefix("my uploads (2)/"), "my?uploads??2?/");
        assert_eq!(iam_prefix(""), "");
    }

    #[test]
    fn every_step_gets_its_policy_with_the_local_buckets() {
        let mut document = SettingsDocument::new("src", "dst");
        document.source.prefix = "in/".to_owned();
        let settings = document.check(SettingsOrigin::Built).unwrap();
        let documents = policy_documents(&settings);
        let text = serde_json::to_string(&documents).unwrap();
        assert!(!text.contains("${"), "{text}");
        assert!(text.contains("arn:aws:s3:::src/in/*"), "{text}");
        assert!(text.contains("arn:aws:s3:::dst/in/*"), "{text}");
        let identities = identities(&settings).unwrap();
        assert_eq!(
            identities
                .iter()
                .map(|i| i.user_name.as_str())
                .collect::<Vec<_>>(),
            [
                "copyflow-validate-key",
                "copyflow-copy-object",
                "copyflow-verify-copy"
            ]
        );
    }
}
