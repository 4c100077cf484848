//! Reading `copyflow.json` (the `--config` file) and the one deploy setting the CLI needs.

use std::path::Path;

use copyflow_core::{Settings, SettingsError};

/// Reads and checks the settings file; the error names the file and `--config`.
pub(crate) fn load(path: &Path) -> Result<Settings, SettingsError> {
    Settings::from_file(path)
}

/// `deploy.stackName`: the stack `--aws` reads the state machine from (the CDK app's default).
/// The `deploy` section is the CDK app's to check (`cdk/lib/settings.ts`), so it stays opaque
/// in the checked settings and is read here.
pub(crate) fn stack_name(settings: &Settings) -> String {
    settings
        .document()
        .deploy
        .as_ref()
        .and_then(|d| d["stackName"].as_str())
        .unwrap_or("Copyflow")
        .to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use copyflow_core::{SettingsDocument, SettingsOrigin};

    use super::*;

    fn with_deploy(deploy: Option<serde_json::Value>) -> Settings {
        let mut document = SettingsDocument::new("src", "dst");
        document.deploy = deploy;
        document.check(SettingsOrigin::Built).unwrap()
    }

    #[test]
    fn the_stack_name_comes_from_deploy_or_defaults_to_copyflow() {
        assert_eq!(stack_name(&with_deploy(None)), "Copyflow");
        let named = with_deploy(Some(serde_json::json!({"stackName": "Other"})));
        assert_eq!(stack_name(&named), "Other");
        let unnamed = with_deploy(Some(serde_json::json!({"stateMachineType": "EXPRESS"})));
        assert_eq!(stack_name(&unnamed), "Copyflow");
    }
}
