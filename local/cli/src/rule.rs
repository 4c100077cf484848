//! The EventBridge rule the pipeline uses, as a pure matcher: `source` `aws.s3`,
//! `detail-type` `Object Created`, `detail.bucket.name` the source bucket, and optionally
//! `detail.object.key` prefixes (matched against the key as the event carries it, encoded,
//! exactly as EventBridge would). The CDK app deploys the same pattern.

use serde_json::Value;

/// The rule's pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `detail.bucket.name`.
    pub bucket: String,
    /// `detail.object.key` prefixes, any of which matches; none: every key.
    pub key_prefixes: Vec<String>,
}

impl Rule {
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
}
