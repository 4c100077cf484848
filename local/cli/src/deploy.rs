//! The few `deploy` settings the local runtime follows so that it matches what the CDK app
//! deploys. The CDK app checks the section (`cdk/lib/settings.ts`); the checked settings keep
//! it opaque, and this is the one place that reads it.

use copyflow_core::Settings;
use serde_json::Value;

/// `deploy.<name>`, when the section and the field are there.
pub fn field<'a>(settings: &'a Settings, name: &str) -> Option<&'a Value> {
    settings.document().deploy.as_ref()?.get(name)
}

/// `deploy.stackName`: the stack `--aws` reads the state machine from (the CDK app's default).
pub fn stack_name(settings: &Settings) -> String {
    field(settings, "stackName")
        .and_then(Value::as_str)
        .unwrap_or("Copyflow")
        .to_owned()
}

/// `deploy.bucketVersioning`, default true, as the CDK app reads it.
pub fn bucket_versioning(settings: &Settings) -> bool {
    field(settings, "bucketVersioning")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// `deploy.eventRuleKeyPrefixes` when it is a list of strings (`null` or absent: `None`).
pub fn event_rule_key_prefixes(settings: &Settings) -> Option<Vec<String>> {
    let list = field(settings, "eventRuleKeyPrefixes")?.as_array()?;
    Some(
        list.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use copyflow_core::{SettingsDocument, SettingsOrigin};
    use serde_json::json;

    use super::*;

    fn with_deploy(deploy: Option<Value>) -> Settings {
        let mut document = SettingsDocument::new("src", "dst");
        document.deploy = deploy;
        document.check(SettingsOrigin::Built).unwrap()
    }

    #[test]
    fn the_stack_name_comes_from_deploy_or_defaults_to_copyflow() {
        assert_eq!(stack_name(&with_deploy(None)), "Copyflow");
        let named = with_deploy(Some(json!({"stackName": "Other"})));
        assert_eq!(stack_name(&named), "Other");
        let unnamed = with_deploy(Some(json!({"stateMachineType": "EXPRESS"})));
        assert_eq!(stack_name(&unnamed), "Copyflow");
    }

    #[test]
    fn versioning_is_on_unless_turned_off_and_prefixes_are_read_only_from_a_list() {
        assert!(bucket_versioning(&with_deploy(None)));
        assert!(!bucket_versioning(&with_deploy(Some(
            json!({"bucketVersioning": false})
        ))));
        assert_eq!(event_rule_key_prefixes(&with_deploy(None)), None);
        let null = with_deploy(Some(json!({"eventRuleKeyPrefixes": null})));
        assert_eq!(event_rule_key_prefixes(&null), None);
        let listed = with_deploy(Some(json!({"eventRuleKeyPrefixes": ["a/", "b/"]})));
        assert_eq!(event_rule_key_prefixes(&listed).unwrap(), ["a/", "b/"]);
    }
}
