//! Reading a settings document: from a string (pure), a file (the CLI) or [`SETTINGS_ENV`]
//! (the Lambdas). Each loader records where the document came from, so every error names it.

use std::path::Path;

use super::{SETTINGS_ENV, Settings, SettingsDocument, SettingsError, SettingsOrigin};

impl Settings {
    /// Parses and checks a settings document; `origin` names it in errors.
    pub fn from_json(text: &str, origin: SettingsOrigin) -> Result<Self, SettingsError> {
        parse(text, &origin)?.check(origin)
    }

    /// Reads, parses and checks a settings file (the CLI's `copyflow.json`, or `--config`).
    pub fn from_file(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                SettingsError::NotFound {
                    path: path.to_owned(),
                }
            } else {
                SettingsError::Read {
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
        Self::from_json(&text, SettingsOrigin::File(path.to_owned()))
    }

    /// Reads, parses and checks the settings a Lambda function gets in [`SETTINGS_ENV`].
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_env_value(std::env::var(SETTINGS_ENV).ok())
    }

    /// [`Settings::from_env`] for a given value of the variable (`None`: unset or not UTF-8).
    pub fn from_env_value(value: Option<String>) -> Result<Self, SettingsError> {
        let text = value.ok_or(SettingsError::MissingEnv)?;
        Self::from_json(&text, SettingsOrigin::Env(SETTINGS_ENV))
    }
}

/// The document in `text`, not yet checked. Errors name the place in the document.
fn parse(text: &str, origin: &SettingsOrigin) -> Result<SettingsDocument, SettingsError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let document: SettingsDocument =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| SettingsError::Parse {
            origin: origin.clone(),
            path: e.path().to_string(),
            message: e.into_inner().to_string(),
        })?;
    deserializer.end().map_err(|e| SettingsError::Parse {
        origin: origin.clone(),
        path: ".".to_owned(),
        message: e.to_string(),
    })?;
    Ok(document)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::settings::document::DEFAULT_KEY_PATTERN;

    fn file(name: &str) -> SettingsOrigin {
        SettingsOrigin::File(name.into())
    }

    #[test]
    fn only_the_bucket_names_are_required() {
        let settings = Settings::from_json(
            r#"{"source": {"bucket": "src"}, "destination": {"bucket": "dst"}}"#,
            file("test.json"),
        )
        .unwrap();
        assert_eq!(settings.document(), &SettingsDocument::new("src", "dst"));
        let document = settings.document();
        assert_eq!(document.keys.pattern.as_deref(), Some(DEFAULT_KEY_PATTERN));
        assert_eq!(document.copy.multipart_threshold_bytes, 1 << 30);
        assert_eq!(document.copy.part_size_bytes, 64 << 20);
        assert_eq!(settings.plan_options().multipart_threshold(), 1 << 30);
        assert_eq!(settings.plan_options().part_size(), 64 << 20);
        assert_eq!(settings.destination_prefix(), "");
        assert_eq!(settings.origin(), &file("test.json"));
    }

    #[test]
    fn a_null_pattern_accepts_any_key() {
        let settings = Settings::from_json(
            r#"{"source": {"bucket": "src"}, "destination": {"bucket": "dst"},
                "keys": {"pattern": null}}"#,
            file("test.json"),
        )
        .unwrap();
        assert_eq!(settings.document().keys.pattern, None);
    }

    #[test]
    fn the_repository_settings_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../copyflow.json");
        let settings = Settings::from_file(&path).unwrap();
        assert_eq!(settings.source_bucket(), "copyflow-source");
        assert_eq!(settings.destination_bucket(), "copyflow-destination");
        assert!(settings.data_dir().ends_with(".copyflow"));
        assert_eq!(settings.origin(), &SettingsOrigin::File(path));
    }

    #[test]
    fn serializes_back_to_the_same_settings() {
        let settings = SettingsDocument::new("src", "dst")
            .check(SettingsOrigin::Built)
            .unwrap();
        assert_eq!(
            Settings::from_json(&settings.to_json().unwrap(), file("x"))
                .unwrap()
                .document(),
            settings.document()
        );
    }

    #[test]
    fn parse_errors_name_the_field() {
        let error = Settings::from_json(
            r#"{"source": {"bucket": "src"}, "destination": {"bucket": "dst"},
                "copy": {"partSizeByte": 1}}"#,
            file("copyflow.json"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("copyflow.json: at copy.partSizeByte: unknown field `partSizeByte`"),
            "{error}"
        );
        assert!(error.ends_with("--config PATH"), "{error}");
        let error = Settings::from_json(
            r#"{"source": {"bucket": "src"}, "destination": {"bucket": "dst"},
                "copy": {"partSizeBytes": "64MiB"}}"#,
            file("copyflow.json"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("copyflow.json: at copy.partSizeBytes: invalid type"),
            "{error}"
        );
        let error = Settings::from_json(r#"{"source": {"bucket": "src"}}"#, file("copyflow.json"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("missing field `destination`"), "{error}");
    }

    #[test]
    fn trailing_text_is_a_parse_error_at_the_top_level() {
        let error = Settings::from_json(
            r#"{"source": {"bucket": "src"}, "destination": {"bucket": "dst"}} x"#,
            file("copyflow.json"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("copyflow.json: at .: trailing characters"),
            "{error}"
        );
    }

    #[test]
    fn missing_environment_variable_says_what_to_set() {
        let error = Settings::from_env_value(None).unwrap_err().to_string();
        assert!(error.contains("COPYFLOW_SETTINGS"), "{error}");
        let json = SettingsDocument::new("a-b", "c-d").to_json().unwrap();
        let settings = Settings::from_env_value(Some(json)).unwrap();
        assert_eq!(settings.source_bucket(), "a-b");
        assert_eq!(settings.origin(), &SettingsOrigin::Env(SETTINGS_ENV));
    }

    #[test]
    fn errors_in_the_environment_variable_name_it_not_the_file() {
        let json = r#"{"source": {"bucket": "a-b"}, "destination": {"bucket": "c-d"},
                       "copy": {"maxConcurrency": 0}}"#;
        let error = Settings::from_env_value(Some(json.to_owned()))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("the environment variable COPYFLOW_SETTINGS: copy.maxConcurrency"),
            "{error}"
        );
        assert!(!error.contains("--config"), "{error}");
        let error = Settings::from_env_value(Some("{".to_owned()))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("the environment variable COPYFLOW_SETTINGS: at "),
            "{error}"
        );
    }

    #[test]
    fn a_missing_file_names_it_and_the_config_flag() {
        let error = Settings::from_file(Path::new("/nonexistent/copyflow.json"))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("/nonexistent/copyflow.json not found") && error.contains("--config"),
            "{error}"
        );
    }

    #[test]
    fn an_unreadable_file_names_it_and_the_config_flag() {
        // A directory exists but cannot be read as a file.
        let dir = std::env::temp_dir();
        let error = Settings::from_file(&dir).unwrap_err();
        assert!(matches!(error, SettingsError::Read { .. }), "{error}");
        let error = error.to_string();
        assert!(
            error.contains(&dir.display().to_string()) && error.contains("--config"),
            "{error}"
        );
    }
}
