//! The EventBridge rule the pipeline uses, derived from the settings in one place
//! ([`Rule::from_settings`]): `source` `aws.s3`, `detail-type` `Object Created`,
//! `detail.bucket.name` the source bucket, and optionally `detail.object.key` prefixes
//! (matched against the key as the event carries it, exactly as EventBridge would).
//!
//! The CDK app deploys the same pattern. Both derivations run over one corpus of settings
//! and their expected patterns, `tests/fixtures/event-rule.json`: this crate's unit test and
//! the CDK app's jest test (`cdk/test/event-rule.test.ts`) each check every case, so the
//! two cannot drift apart.

use copyflow_core::Settings;
use serde_json::{Value, json};

/// The rule's pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `detail.bucket.name`.
    pub bucket: String,
    /// `detail.object.key` prefixes, any of which matches; none: every key.
    pub key_prefixes: Vec<String>,
}

/// Whether a prefix has only characters that read the same in every encoding S3 or
/// EventBridge may use for event keys (A-Z a-z 0-9 / . _ -): only such a prefix can filter.
fn is_event_safe(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-'))
}

impl Rule {
    /// The rule the CDK app deploys for these settings: `deploy.eventRuleKeyPrefixes` when it
    /// is a list, else `source.prefix` when it is event-safe, else no key filter (validate-key
    /// then skips keys outside the prefix). The CDK app checks the `deploy` list itself.
    pub fn from_settings(settings: &Settings) -> Rule {
        let listed = crate::deploy::event_rule_key_prefixes(settings);
        let prefix = settings.source_prefix();
        let key_prefixes = listed.unwrap_or_else(|| {
            if is_event_safe(prefix) {
                vec![prefix.to_owned()]
            } else {
                Vec::new()
            }
        });
        Rule {
            bucket: settings.source_bucket().to_owned(),
            key_prefixes,
        }
    }

    /// The EventBridge event pattern, as it appears in the synthesized template.
    pub fn pattern(&self) -> Value {
        let mut detail = json!({"bucket": {"name": [self.bucket]}});
        if !self.key_prefixes.is_empty() {
            let prefixes: Vec<Value> = self
                .key_prefixes
                .iter()
                .map(|p| json!({ "prefix": p }))
                .collect();
            detail["object"] = json!({ "key": prefixes });
        }
        json!({"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": detail})
    }

    /// Whether EventBridge would deliver `event` to the rule's target.
    pub fn matches(&self, event: &Value) -> bool {
        let detail = &event["detail"];
        event["source"] == "aws.s3"
            && event["detail-type"] == "Object Created"
            && detail["bucket"]["name"] == self.bucket.as_str()
            && (self.key_prefixes.is_empty()
                || detail["object"]["key"]
                    .as_str()
                    .is_some_and(|k| self.key_prefixes.iter().any(|p| k.starts_with(p.as_str()))))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(bucket: &str, key: &str) -> Value {
        json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": bucket}, "object": {"key": key}}})
    }

    #[test]
    fn matches_only_object_created_events_of_the_source_bucket() {
        let rule = Rule {
            bucket: "src".into(),
            key_prefixes: vec![],
        };
        assert!(rule.matches(&event("src", "a/b")));
        assert!(
            !rule.matches(&event("dst", "a/b")),
            "the destination's own writes never start executions"
        );
        let mut other = event("src", "a");
        other["detail-type"] = json!("Object Deleted");
        assert!(!rule.matches(&other));
    }

    #[test]
    fn key_prefixes_filter_the_encoded_key() {
        let rule = Rule {
            bucket: "src".into(),
            key_prefixes: vec!["Ajay".into(), "in+box/".into()],
        };
        assert!(rule.matches(&event("src", "AjayMuralidhar/x")));
        assert!(rule.matches(&event("src", "in+box/x")));
        assert!(!rule.matches(&event("src", "Bob/x")));
    }

    /// `doc` with `value` at the dotted `path` (`deploy.eventRuleKeyPrefixes`), as the CDK
    /// app's `-c copyflow:<path>=...` overrides do.
    fn set(doc: &mut Value, path: &str, value: Value) {
        let mut at = doc;
        for part in path.split('.') {
            at = &mut at[part];
        }
        *at = value;
    }

    #[test]
    fn the_derived_pattern_is_the_one_the_cdk_app_deploys_for_every_corpus_case() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let base: Value =
            serde_json::from_str(&std::fs::read_to_string(root.join("copyflow.json")).unwrap())
                .unwrap();
        let corpus: Value = serde_json::from_str(
            &std::fs::read_to_string(root.join("tests/fixtures/event-rule.json")).unwrap(),
        )
        .unwrap();
        let cases = corpus["cases"].as_array().unwrap();
        assert!(cases.len() >= 5, "the corpus lost its cases");
        for case in cases {
            let mut doc = base.clone();
            for (path, value) in case["overrides"].as_object().unwrap() {
                set(&mut doc, path, value.clone());
            }
            let settings = copyflow_core::Settings::from_json(
                &doc.to_string(),
                copyflow_core::SettingsOrigin::Built,
            )
            .unwrap();
            assert_eq!(
                Rule::from_settings(&settings).pattern(),
                case["pattern"],
                "{}",
                case["name"]
            );
        }
    }
}
