//! Reading `copyflow.json` (the `--config` file).

use std::path::Path;

use copyflow_core::{Settings, SettingsError};

/// Reads and checks the settings file; the error names the file and `--config`.
pub(crate) fn load(path: &Path) -> Result<Settings, SettingsError> {
    Settings::from_file(path)
}
