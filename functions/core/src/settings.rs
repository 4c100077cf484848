//! The pipeline settings: one JSON document, `copyflow.json` at the repository root.
//!
//! The same document configures every runtime, so the cloud and the local runtime
//! (`docs/architecture.md#one-pipeline-two-runtimes`) cannot drift apart:
//!
//! - the `copyflow` CLI reads the file ([`Settings::from_file`]);
//! - the CDK app reads the file, and passes its contents to each Lambda in the environment
//!   variable `COPYFLOW_SETTINGS` ([`SETTINGS_ENV`], read by [`Settings::from_env`]; Lambda
//!   allows 4 KB of environment in total, and the document is well under 1 KB);
//! - the local runner hands the parsed value to the steps in-process.
//!
//! Fields are camelCase. Everything but the two bucket names has a default, and unknown fields
//! are errors (a misspelt `partSizeByte` must not silently fall back to the default). Values are
//! checked against S3's limits when loaded; every problem is reported at once, with the field
//! and what to change ([`SettingsError`]). The loop guard is enforced here first: a destination
//! range that overlaps the watched source range is refused before anything is deployed.
//!
//! ```json
//! {
//!   "source": { "bucket": "copyflow-source", "prefix": "" },
//!   "destination": { "bucket": "copyflow-destination", "prefix": null, "storageClass": null },
//!   "keys": { "pattern": "(?P<employee>[^/]+)/...", "maxKeyBytes": 1024 },
//!   "copy": { "multipartThresholdBytes": 1073741824, "partSizeBytes": 67108864,
//!             "maxConcurrency": 8, "deadlineMarginSeconds": 60 },
//!   "verify": { "maxConcurrency": 8, "rangeSizeBytes": 67108864 },
//!   "local": { "s3Address": "127.0.0.1:9000", "sfnAddress": "127.0.0.1:8083", "dataDir": ".copyflow" }
//! }
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::StepError;
use crate::keys::{self, KeyPattern};
use crate::plan::{self, PlanOptions};

/// The settings file name, at the repository root.
pub const SETTINGS_FILE: &str = "copyflow.json";

/// The environment variable holding the settings JSON for the Lambda functions (the CDK app
/// sets it to the contents of `copyflow.json`).
pub const SETTINGS_ENV: &str = "COPYFLOW_SETTINGS";

/// The default key pattern: `<employee>/<YYYY-MM-DD>/<HH>/<file>`, e.g.
/// `AjayMuralidhar/2020-04-06/12/my-task.txt`. The named groups `date` and `hour` are also
/// checked as a real calendar date and an hour 00-23 (see [`KeyPattern`]).
pub const DEFAULT_KEY_PATTERN: &str =
    r"(?P<employee>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<hour>\d{2})/(?P<file>[^/]+)";

/// The S3 key length limit, in UTF-8 bytes.
pub const MAX_S3_KEY_BYTES: usize = 1024;

/// Storage classes accepted in `destination.storageClass` (aws-sdk-s3 1.157 `StorageClass`).
pub const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "OUTPOSTS",
    "GLACIER_IR",
    "SNOW",
    "EXPRESS_ONEZONE",
    "FSX_OPENZFS",
    "FSX_ONTAP",
    "AWS_BACKUP_WARM",
    "AWS_BACKUP_LOW_COST_WARM",
];

/// The whole settings document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// The watched bucket and prefix.
    pub source: SourceSettings,
    /// Where copies go.
    pub destination: DestinationSettings,
    /// Which keys are copied.
    #[serde(default)]
    pub keys: KeySettings,
    /// Copy tuning.
    #[serde(default)]
    pub copy: CopySettings,
    /// Verification tuning.
    #[serde(default)]
    pub verify: VerifySettings,
    /// The local runtime (CLI only; ignored by the Lambda functions).
    #[serde(default)]
    pub local: LocalSettings,
    /// Deployment settings read by the CDK app (`cdk/`): kept opaque here, validated there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<serde_json::Value>,
}

/// `source`: the watched range, `s3://bucket/prefix*`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceSettings {
    /// The source bucket (required). Events from other buckets are skipped (`wrong-bucket`).
    pub bucket: String,
    /// Only keys starting with this are copied; others are skipped
    /// (`outside-source-prefix`). A plain string prefix, not a folder: `a` also matches `ab/x`.
    /// Default `""`: the whole bucket.
    #[serde(default)]
    pub prefix: String,
}

/// `destination`: where a source key lands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DestinationSettings {
    /// The destination bucket (required). May equal the source bucket only when the two
    /// prefixes are disjoint (loop guard).
    pub bucket: String,
    /// `null` (default): keys are copied unchanged. A string: the source prefix is replaced
    /// by it (`source.prefix` `in/` + destination prefix `out/` maps `in/a/b` to `out/a/b`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// `null` (default): the copy keeps the source object's storage class (S3 would otherwise
    /// write `STANDARD`). A string: every copy gets this class (e.g. `STANDARD_IA`).
    #[serde(default)]
    pub storage_class: Option<String>,
}

/// `keys`: the key rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeySettings {
    /// A regular expression (regex-lite syntax: Perl-like, `\d` is ASCII) that the key *after
    /// the source prefix* must match entirely (it is anchored for you). Absent: the
    /// employee/day/hour/file hierarchy ([`DEFAULT_KEY_PATTERN`]). `null`: any key.
    #[serde(default = "default_pattern")]
    pub pattern: Option<String>,
    /// The longest destination key allowed, in UTF-8 bytes, after prefix mapping; 1..=1024
    /// (S3's limit). Default 1024.
    #[serde(default = "default_max_key_bytes")]
    pub max_key_bytes: usize,
}

/// `copy`: how objects are copied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CopySettings {
    /// Objects up to this size use one `CopyObject`; larger ones a multipart copy. 5 MiB..=5 GiB,
    /// default 1 GiB (see `plan` for why).
    #[serde(default = "default_threshold")]
    pub multipart_threshold_bytes: u64,
    /// Preferred multipart part size, 5 MiB..=5 GiB, default 64 MiB; raised automatically for
    /// objects that would need more than 10,000 parts.
    #[serde(default = "default_part_size")]
    pub part_size_bytes: u64,
    /// Parts copied in parallel by one invocation, 1..=64, default 8.
    #[serde(default = "default_concurrency")]
    pub max_concurrency: usize,
    /// Seconds before the Lambda deadline at which a multipart copy stops starting parts and
    /// returns a checkpoint (the state machine loops back to continue), 10..=600, default 60.
    #[serde(default = "default_deadline_margin")]
    pub deadline_margin_seconds: u64,
}

/// `verify`: how copies are verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifySettings {
    /// Ranged reads in parallel when verify has to compute a checksum, 1..=64, default 8.
    #[serde(default = "default_concurrency")]
    pub max_concurrency: usize,
    /// The size of each ranged read, 1 MiB..=5 GiB, default 64 MiB. Reads are streamed, so
    /// memory does not grow with it.
    #[serde(default = "default_part_size")]
    pub range_size_bytes: u64,
}

/// `local`: the local runtime of the `copyflow` CLI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalSettings {
    /// Where the embedded S3 server listens. Default `127.0.0.1:9000`.
    #[serde(default = "default_s3_address")]
    pub s3_address: SocketAddr,
    /// Where the local Step Functions API listens. Default `127.0.0.1:8083`.
    #[serde(default = "default_sfn_address")]
    pub sfn_address: SocketAddr,
    /// Where the local runtime keeps objects and executions; relative paths are relative to
    /// the directory holding `copyflow.json` ([`Settings::data_dir`]). Default `.copyflow`.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
}

fn default_pattern() -> Option<String> {
    Some(DEFAULT_KEY_PATTERN.to_owned())
}
const fn default_max_key_bytes() -> usize {
    MAX_S3_KEY_BYTES
}
const fn default_threshold() -> u64 {
    plan::DEFAULT_MULTIPART_THRESHOLD
}
const fn default_part_size() -> u64 {
    plan::DEFAULT_PART_SIZE
}
const fn default_concurrency() -> usize {
    8
}
const fn default_deadline_margin() -> u64 {
    60
}
fn default_s3_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9000))
}
fn default_sfn_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8083))
}
fn default_data_dir() -> PathBuf {
    PathBuf::from(".copyflow")
}

impl Default for KeySettings {
    fn default() -> Self {
        Self {
            pattern: default_pattern(),
            max_key_bytes: default_max_key_bytes(),
        }
    }
}

impl Default for CopySettings {
    fn default() -> Self {
        Self {
            multipart_threshold_bytes: default_threshold(),
            part_size_bytes: default_part_size(),
            max_concurrency: default_concurrency(),
            deadline_margin_seconds: default_deadline_margin(),
        }
    }
}

impl Default for VerifySettings {
    fn default() -> Self {
        Self {
            max_concurrency: default_concurrency(),
            range_size_bytes: default_part_size(),
        }
    }
}

impl Default for LocalSettings {
    fn default() -> Self {
        Self {
            s3_address: default_s3_address(),
            sfn_address: default_sfn_address(),
            data_dir: default_data_dir(),
        }
    }
}

impl Settings {
    /// Settings with every default and the two bucket names (not validated; see
    /// [`Settings::validate`]). Handy in tests.
    pub fn new(source_bucket: impl Into<String>, destination_bucket: impl Into<String>) -> Self {
        Self {
            source: SourceSettings {
                bucket: source_bucket.into(),
                prefix: String::new(),
            },
            destination: DestinationSettings {
                bucket: destination_bucket.into(),
                prefix: None,
                storage_class: None,
            },
            keys: KeySettings::default(),
            copy: CopySettings::default(),
            verify: VerifySettings::default(),
            local: LocalSettings::default(),
            deploy: None,
        }
    }

    /// Parses and validates a settings document. `origin` names it in errors (a path, or
    /// [`SETTINGS_ENV`]).
    pub fn from_json(text: &str, origin: &str) -> Result<Self, SettingsError> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let settings: Self = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            SettingsError::Parse {
                origin: origin.to_owned(),
                path: e.path().to_string(),
                message: e.into_inner().to_string(),
            }
        })?;
        deserializer.end().map_err(|e| SettingsError::Parse {
            origin: origin.to_owned(),
            path: ".".to_owned(),
            message: e.to_string(),
        })?;
        settings.validate_as(origin)?;
        Ok(settings)
    }

    /// Reads, parses and validates a settings file (the CLI's `copyflow.json`).
    pub fn from_file(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text, &path.display().to_string())
    }

    /// Reads, parses and validates the settings a Lambda function gets in [`SETTINGS_ENV`].
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_env_value(std::env::var(SETTINGS_ENV).ok())
    }

    /// [`Settings::from_env`] for a given value of the variable (`None`: unset or not UTF-8).
    pub fn from_env_value(value: Option<String>) -> Result<Self, SettingsError> {
        let text = value.ok_or(SettingsError::MissingEnv)?;
        Self::from_json(&text, SETTINGS_ENV)
    }

    /// Checks every value; all problems are reported together.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.validate_as(SETTINGS_FILE)
    }

    fn validate_as(&self, origin: &str) -> Result<(), SettingsError> {
        let mut problems = Vec::new();
        let mut problem = |field: &str, message: String| {
            problems.push(Problem {
                field: field.to_owned(),
                message,
            });
        };

        for (field, bucket) in [
            ("source.bucket", &self.source.bucket),
            ("destination.bucket", &self.destination.bucket),
        ] {
            if let Err(message) = check_bucket_name(bucket) {
                problem(field, message);
            }
        }
        let prefixes = [
            ("source.prefix", Some(&self.source.prefix)),
            ("destination.prefix", self.destination.prefix.as_ref()),
        ];
        for (field, prefix) in prefixes {
            let Some(prefix) = prefix else { continue };
            if let Some((index, c)) = keys::first_control_char(prefix) {
                problem(
                    field,
                    format!("has the control character {c:?} at byte {index}: remove it"),
                );
            }
            if prefix.len() >= MAX_S3_KEY_BYTES {
                problem(
                    field,
                    format!(
                        "is {} bytes long: S3 keys are at most {MAX_S3_KEY_BYTES}",
                        prefix.len()
                    ),
                );
            }
        }
        if let Some(class) = &self.destination.storage_class
            && !STORAGE_CLASSES.contains(&class.as_str())
        {
            problem(
                "destination.storageClass",
                format!(
                    "{class:?} is not an S3 storage class: use null (keep the source's) or one \
                     of {}",
                    STORAGE_CLASSES.join(", ")
                ),
            );
        }
        if let Some(message) = self.loop_guard_violation() {
            problem("destination", message);
        }

        if let Some(pattern) = &self.keys.pattern
            && let Err(message) = KeyPattern::new(pattern)
        {
            problem("keys.pattern", message);
        }
        if !(1..=MAX_S3_KEY_BYTES).contains(&self.keys.max_key_bytes) {
            problem(
                "keys.maxKeyBytes",
                format!(
                    "is {}: it must be between 1 and {MAX_S3_KEY_BYTES} (S3's key limit)",
                    self.keys.max_key_bytes
                ),
            );
        }

        for (field, message) in self.plan_options().problems() {
            problem(field, message);
        }
        for (field, value) in [
            ("copy.maxConcurrency", self.copy.max_concurrency),
            ("verify.maxConcurrency", self.verify.max_concurrency),
        ] {
            if !(1..=64).contains(&value) {
                problem(
                    field,
                    format!(
                        "is {value}: use 1..=64 (more parallel requests rarely speed up one \
                         object and invite S3 503 SlowDown)"
                    ),
                );
            }
        }
        if !(10..=600).contains(&self.copy.deadline_margin_seconds) {
            problem(
                "copy.deadlineMarginSeconds",
                format!(
                    "is {}: use 10..=600 (enough to finish in-flight parts and return a \
                     checkpoint, well under Lambda's 900 s limit)",
                    self.copy.deadline_margin_seconds
                ),
            );
        }
        if !(plan::MIB..=plan::MAX_PART_SIZE).contains(&self.verify.range_size_bytes) {
            problem(
                "verify.rangeSizeBytes",
                format!(
                    "is {}: use between {} (1 MiB) and {} (5 GiB)",
                    self.verify.range_size_bytes,
                    plan::MIB,
                    plan::MAX_PART_SIZE
                ),
            );
        }
        if self.local.s3_address == self.local.sfn_address {
            problem(
                "local.sfnAddress",
                format!(
                    "is the same as local.s3Address ({}): give the two servers different ports",
                    self.local.s3_address
                ),
            );
        }

        if problems.is_empty() {
            Ok(())
        } else {
            Err(SettingsError::Invalid {
                origin: origin.to_owned(),
                problems,
            })
        }
    }

    /// The destination prefix that replaces the source prefix: `destination.prefix`, or the
    /// source prefix itself (keys unchanged) when it is `null`.
    pub fn destination_prefix(&self) -> &str {
        self.destination
            .prefix
            .as_deref()
            .unwrap_or(&self.source.prefix)
    }

    /// The loop guard at configuration time: `Some(reason)` when a copy could land inside the
    /// watched source range, i.e. same bucket and one prefix starts with the other. (When
    /// neither prefix starts with the other, no destination key `dst + rest` can start with the
    /// source prefix.)
    pub fn loop_guard_violation(&self) -> Option<String> {
        let source = &self.source.prefix;
        let destination = self.destination_prefix();
        (self.source.bucket == self.destination.bucket
            && (destination.starts_with(source.as_str()) || source.starts_with(destination)))
        .then(|| {
            format!(
                "copies to s3://{}/{destination}... could land in the watched range \
                 s3://{}/{source}... and trigger the pipeline again (a loop): use another \
                 destination bucket, or source and destination prefixes of which neither starts \
                 with the other",
                self.destination.bucket, self.source.bucket
            )
        })
    }

    /// The copy planner's options from `copy`.
    pub const fn plan_options(&self) -> PlanOptions {
        PlanOptions {
            multipart_threshold: self.copy.multipart_threshold_bytes,
            part_size: self.copy.part_size_bytes,
        }
    }

    /// `local.dataDir`, resolved against the directory of the settings file it came from.
    pub fn data_dir(&self, settings_file: &Path) -> PathBuf {
        match settings_file.parent() {
            Some(dir) if self.local.data_dir.is_relative() => dir.join(&self.local.data_dir),
            _ => self.local.data_dir.clone(),
        }
    }

    /// The document as pretty JSON (2-space indent), e.g. to pass in [`SETTINGS_ENV`]. Fails
    /// only for a `local.dataDir` that is not UTF-8.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }
}

/// Checks a bucket name: 3..=255 characters of `a-z A-Z 0-9 . - _`, starting and ending with a
/// letter or digit. (New buckets are stricter, 3..=63 lower-case; older us-east-1 buckets may
/// have upper case and underscores, and copyflow must be able to read them.)
fn check_bucket_name(name: &str) -> Result<(), String> {
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    let valid_ends = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if (3..=255).contains(&name.len()) && valid_chars && valid_ends {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not an S3 bucket name: use 3-63 lower-case letters, digits, dots and \
             hyphens, starting and ending with a letter or digit"
        ))
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
    /// The file could not be read.
    #[error(
        "cannot read the settings file {}: {source}; create it (the repository's copyflow.json \
         is an example) or pass its path with --settings",
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
    #[error("{origin}: at {path}: {message}")]
    Parse {
        /// The file or variable.
        origin: String,
        /// Where in the document (`copy.partSizeBytes`, `.` for the top level).
        path: String,
        /// serde's message.
        message: String,
    },
    /// Well-formed, but some values break a rule.
    #[error("{origin}: {}", problems.iter().map(Problem::to_string).collect::<Vec<_>>().join("; "))]
    Invalid {
        /// The file or variable.
        origin: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

/// A [`SettingsError::Invalid`] with one problem.
pub(crate) fn single_problem(field: &str, message: String) -> SettingsError {
    SettingsError::Invalid {
        origin: SETTINGS_FILE.to_owned(),
        problems: vec![Problem {
            field: field.to_owned(),
            message,
        }],
    }
}

impl From<SettingsError> for StepError {
    fn from(error: SettingsError) -> Self {
        StepError::ConfigurationError(error.to_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn problems(json: &str) -> Vec<Problem> {
        match Settings::from_json(json, "test.json").unwrap_err() {
            SettingsError::Invalid { problems, .. } => problems,
            other => panic!("expected Invalid, got {other}"),
        }
    }

    fn fields(json: &str) -> Vec<String> {
        problems(json).into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn only_the_bucket_names_are_required() {
        let settings = Settings::from_json(
            r#"{"source": {"bucket": "src"}, "destination": {"bucket": "dst"}}"#,
            "test.json",
        )
        .unwrap();
        assert_eq!(settings, Settings::new("src", "dst"));
        assert_eq!(settings.keys.pattern.as_deref(), Some(DEFAULT_KEY_PATTERN));
        assert_eq!(settings.copy.multipart_threshold_bytes, 1 << 30);
        assert_eq!(settings.copy.part_size_bytes, 64 << 20);
        assert_eq!(settings.destination_prefix(), "");
    }

    #[test]
    fn a_null_pattern_accepts_any_key() {
        let settings = Settings::from_json(
            r#"{"source": {"bucket": "src"}, "destination": {"bucket": "dst"},
                "keys": {"pattern": null}}"#,
            "test.json",
        )
        .unwrap();
        assert_eq!(settings.keys.pattern, None);
    }

    #[test]
    fn the_repository_settings_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../copyflow.json");
        let settings = Settings::from_file(&path).unwrap();
        assert_eq!(settings.source.bucket, "copyflow-source");
        assert_eq!(settings.destination.bucket, "copyflow-destination");
        assert!(settings.data_dir(&path).ends_with(".copyflow"));
    }

    #[test]
    fn serializes_back_to_the_same_settings() {
        let settings = Settings::new("src", "dst");
        assert_eq!(
            Settings::from_json(&settings.to_json().unwrap(), "x").unwrap(),
            settings
        );
    }

    #[test]
    fn parse_errors_name_the_field() {
        let error = Settings::from_json(
            r#"{"source": {"bucket": "src"}, "destination": {"bucket": "dst"},
                "copy": {"partSizeByte": 1}}"#,
            "copyflow.json",
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("copyflow.json: at copy.partSizeByte: unknown field `partSizeByte`"),
            "{error}"
        );
        let error = Settings::from_json(
            r#"{"source": {"bucket": "src"}, "destination": {"bucket": "dst"},
                "copy": {"partSizeBytes": "64MiB"}}"#,
            "copyflow.json",
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("copyflow.json: at copy.partSizeBytes: invalid type"),
            "{error}"
        );
        let error = Settings::from_json(r#"{"source": {"bucket": "src"}}"#, "copyflow.json")
            .unwrap_err()
            .to_string();
        assert!(error.contains("missing field `destination`"), "{error}");
    }

    #[test]
    fn reports_every_problem_at_once() {
        let fields = fields(
            r#"{"source": {"bucket": "-bad-"}, "destination": {"bucket": "x", "storageClass": "COLD"},
                "keys": {"pattern": "(", "maxKeyBytes": 2000},
                "copy": {"partSizeBytes": 1, "maxConcurrency": 0, "deadlineMarginSeconds": 0},
                "verify": {"rangeSizeBytes": 0, "maxConcurrency": 1000},
                "local": {"s3Address": "127.0.0.1:1", "sfnAddress": "127.0.0.1:1"}}"#,
        );
        assert_eq!(
            fields,
            [
                "source.bucket",
                "destination.bucket",
                "destination.storageClass",
                "keys.pattern",
                "keys.maxKeyBytes",
                "copy.partSizeBytes",
                "copy.maxConcurrency",
                "verify.maxConcurrency",
                "copy.deadlineMarginSeconds",
                "verify.rangeSizeBytes",
                "local.sfnAddress"
            ]
        );
    }

    #[test]
    fn a_threshold_above_the_copy_object_limit_is_refused() {
        let problems = problems(
            r#"{"source": {"bucket": "src"}, "destination": {"bucket": "dst"},
                "copy": {"multipartThresholdBytes": 6000000000}}"#,
        );
        assert_eq!(problems[0].field, "copy.multipartThresholdBytes");
        assert!(
            problems[0].message.contains("CopyObject limit"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn prefixes_with_control_characters_are_refused() {
        assert_eq!(
            fields(
                r#"{"source": {"bucket": "src", "prefix": "a\u0007"}, "destination": {"bucket": "dst"}}"#
            ),
            ["source.prefix"]
        );
    }

    #[test]
    fn loop_guard_refuses_overlapping_ranges_in_one_bucket() {
        let loops = [
            (r#""prefix": """#, r#""prefix": null"#),
            (r#""prefix": "in/""#, r#""prefix": null"#),
            (r#""prefix": "in/""#, r#""prefix": "in/copies/""#),
            (r#""prefix": "in/sub/""#, r#""prefix": "in/""#),
            (r#""prefix": "a""#, r#""prefix": "ab/""#),
            (r#""prefix": "in/""#, r#""prefix": """#),
        ];
        for (source, destination) in loops {
            let json = format!(
                r#"{{"source": {{"bucket": "same", {source}}}, "destination": {{"bucket": "same", {destination}}}}}"#
            );
            let problems = problems(&json);
            assert_eq!(problems.len(), 1, "{json}");
            assert!(problems[0].message.contains("loop"), "{}", problems[0]);
        }
        for (source, destination) in [
            (r#""prefix": "in/""#, r#""prefix": "out/""#),
            (r#""prefix": "in/a""#, r#""prefix": "in/b""#),
        ] {
            let json = format!(
                r#"{{"source": {{"bucket": "same", {source}}}, "destination": {{"bucket": "same", {destination}}}}}"#
            );
            Settings::from_json(&json, "test.json").unwrap();
        }
    }

    #[test]
    fn legacy_bucket_names_are_accepted_and_junk_is_not() {
        for name in ["my-bucket", "My_Legacy.Bucket", "a.b.c"] {
            assert!(check_bucket_name(name).is_ok(), "{name}");
        }
        for name in ["", "ab", "-ab", "ab-", "a/b", "a b", "ü-bucket"] {
            assert!(check_bucket_name(name).is_err(), "{name}");
        }
    }

    #[test]
    fn missing_environment_variable_says_what_to_set() {
        let error = Settings::from_env_value(None).unwrap_err().to_string();
        assert!(error.contains("COPYFLOW_SETTINGS"), "{error}");
        let settings =
            Settings::from_env_value(Some(Settings::new("a-b", "c-d").to_json().unwrap())).unwrap();
        assert_eq!(settings.source.bucket, "a-b");
    }

    #[test]
    fn settings_errors_become_configuration_errors() {
        let error = StepError::from(SettingsError::MissingEnv);
        assert_eq!(error.name(), "ConfigurationError");
    }

    #[test]
    fn data_dir_is_relative_to_the_settings_file() {
        let settings = Settings::new("src", "dst");
        assert_eq!(
            settings.data_dir(Path::new("/repo/copyflow.json")),
            Path::new("/repo/.copyflow")
        );
        assert_eq!(
            settings.data_dir(Path::new("copyflow.json")),
            Path::new(".copyflow")
        );
    }
}
