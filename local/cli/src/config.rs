//! Finding and reading `copyflow.json`, with errors that say what to do.

use std::path::{Path, PathBuf};

use copyflow_core::Settings;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "{path} not found: run copyflow from the repository root, or pass --config PATH (an example is in the README)"
    )]
    Missing { path: PathBuf },
    #[error("{0}")]
    Invalid(#[from] copyflow_core::SettingsError),
}

/// Reads and validates the settings file.
pub fn load(path: &Path) -> Result<Settings, ConfigError> {
    if !path.exists() {
        return Err(ConfigError::Missing {
            path: path.to_owned(),
        });
    }
    Ok(Settings::from_file(path)?)
}

/// `local.dataDir`, relative to the settings file.
pub fn data_dir(settings: &Settings, path: &Path) -> PathBuf {
    settings.data_dir(path)
}

/// `deploy.stackName`: the stack `--aws` reads the state machine from (the CDK app's default).
pub fn stack_name(settings: &Settings) -> String {
    settings
        .deploy
        .as_ref()
        .and_then(|d| d["stackName"].as_str())
        .unwrap_or("Copyflow")
        .to_owned()
}
