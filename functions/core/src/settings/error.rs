//! Why settings could not be loaded: [`SettingsError`], with every message naming where the
//! document came from ([`SettingsOrigin`]) and what to change.

use std::fmt;
use std::path::PathBuf;

use super::SETTINGS_ENV;
use crate::StepError;

/// Where a settings document came from; every [`SettingsError`] names it, and says how to fix
/// a document from there.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingsOrigin {
    /// A settings file: the CLI's `copyflow.json`, or the one passed with `--config`.
    File(PathBuf),
    /// An environment variable holding the document: the Lambdas' [`SETTINGS_ENV`].
    Env(&'static str),
    /// A [`super::SettingsDocument`] built in code (tests, the demo's own tuning).
    Built,
}

impl SettingsOrigin {
    /// What to do about a document from here that does not load.
    fn remedy(&self) -> String {
        match self {
            Self::File(_) => "fix the file, or pass another with --config PATH".to_owned(),
            Self::Env(var) => format!(
                "the CDK app writes {var} from copyflow.json: fix that file and deploy again"
            ),
            Self::Built => "fix the code that builds it".to_owned(),
        }
    }
}

impl fmt::Display for SettingsOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Env(var) => write!(f, "the environment variable {var}"),
            Self::Built => f.write_str("the settings built in code"),
        }
    }
}

/// One invalid setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The field, as written in the JSON (`copy.partSizeBytes`).
    pub field: String,
    /// What is wrong and what to use instead.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why settings could not be loaded. Messages name the file (or variable) and the field, and
/// say what to change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The settings file does not exist.
    #[error(
        "{} not found: run copyflow from the repository root, or pass --config PATH (an \
         example is in the README)",
        path.display()
    )]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    #[error(
        "cannot read the settings file {}: {source}; make it readable, or pass another with \
         --config PATH (the repository's copyflow.json is an example)",
        path.display()
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// [`SETTINGS_ENV`] is not set (or not UTF-8) in a Lambda function.
    #[error(
        "the environment variable {SETTINGS_ENV} is not set: it must hold the contents of \
         copyflow.json (the CDK app sets it on every copyflow function)"
    )]
    MissingEnv,
    /// Not JSON, or not the settings shape (wrong type, unknown field, missing bucket).
    #[error("{origin}: at {path}: {message}; {}", origin.remedy())]
    Parse {
        /// The file or variable.
        origin: SettingsOrigin,
        /// Where in the document (`copy.partSizeBytes`, `.` for the top level).
        path: String,
        /// serde's message.
        message: String,
    },
    /// Well-formed, but some values break a rule.
    #[error(
        "{origin}: {}; {}",
        problems.iter().map(Problem::to_string).collect::<Vec<_>>().join("; "),
        origin.remedy()
    )]
    Invalid {
        /// The file or variable.
        origin: SettingsOrigin,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

impl From<SettingsError> for StepError {
    fn from(error: SettingsError) -> Self {
        StepError::ConfigurationError(error.to_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::path::Path;

    use super::*;

    fn invalid(origin: SettingsOrigin) -> String {
        SettingsError::Invalid {
            origin,
            problems: vec![Problem {
                field: "copy.partSizeBytes".to_owned(),
                message: "is 1: use more".to_owned(),
            }],
        }
        .to_string()
    }

    #[test]
    fn a_file_origin_names_the_file_and_the_config_flag() {
        let message = invalid(SettingsOrigin::File("/repo/copyflow.json".into()));
        assert_eq!(
            message,
            "/repo/copyflow.json: copy.partSizeBytes: is 1: use more; fix the file, or pass \
             another with --config PATH"
        );
    }

    #[test]
    fn an_environment_origin_names_the_variable_and_where_it_comes_from() {
        let message = invalid(SettingsOrigin::Env(SETTINGS_ENV));
        assert!(
            message.starts_with("the environment variable COPYFLOW_SETTINGS: copy.partSizeBytes"),
            "{message}"
        );
        assert!(message.contains("deploy again"), "{message}");
        assert!(!message.contains("--config"), "{message}");
    }

    #[test]
    fn a_built_origin_says_so() {
        let message = invalid(SettingsOrigin::Built);
        assert!(
            message.starts_with("the settings built in code: "),
            "{message}"
        );
    }

    #[test]
    fn parse_errors_name_the_origin_the_place_and_the_remedy() {
        let message = SettingsError::Parse {
            origin: SettingsOrigin::Env(SETTINGS_ENV),
            path: "copy".to_owned(),
            message: "invalid type".to_owned(),
        }
        .to_string();
        assert!(
            message
                .starts_with("the environment variable COPYFLOW_SETTINGS: at copy: invalid type"),
            "{message}"
        );
        assert!(message.contains("deploy again"), "{message}");
    }

    #[test]
    fn file_errors_name_the_config_flag() {
        let path = Path::new("/nowhere/copyflow.json").to_owned();
        let missing = SettingsError::NotFound { path: path.clone() }.to_string();
        assert!(
            missing.starts_with("/nowhere/copyflow.json not found") && missing.contains("--config"),
            "{missing}"
        );
        let unreadable = SettingsError::Read {
            path,
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        }
        .to_string();
        assert!(
            unreadable.contains("/nowhere/copyflow.json") && unreadable.contains("--config"),
            "{unreadable}"
        );
        assert!(!unreadable.contains("--settings"), "{unreadable}");
    }

    #[test]
    fn missing_environment_variable_says_what_to_set() {
        let error = SettingsError::MissingEnv.to_string();
        assert!(error.contains("COPYFLOW_SETTINGS"), "{error}");
    }

    #[test]
    fn settings_errors_become_configuration_errors() {
        let error = StepError::from(SettingsError::MissingEnv);
        assert_eq!(error.name(), "ConfigurationError");
    }
}
