//! [`SettingsDocument`]: the JSON shape of the settings and its defaults. Nothing here is
//! checked; [`SettingsDocument::check`] turns a document into [`Settings`].

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Settings, SettingsError, SettingsOrigin, check};
use crate::plan;

/// The default key pattern: `<employee>/<YYYY-MM-DD>/<HH>/<file>`, e.g.
/// `AjayMuralidhar/2020-04-06/12/my-task.txt`. The named groups `date` and `hour` are also
/// checked as a real calendar date and an hour 00-23 (see [`crate::keys::KeyPattern`]).
pub(crate) const DEFAULT_KEY_PATTERN: &str =
    r"(?P<employee>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<hour>\d{2})/(?P<file>[^/]+)";

/// The S3 key length limit, in UTF-8 bytes.
pub(crate) const MAX_S3_KEY_BYTES: usize = 1024;

/// The settings document as written: the serde shape of `copyflow.json`, not yet checked.
///
/// Edit it freely (tests and the demo do), then [`SettingsDocument::check`] it into
/// [`Settings`], the only form the steps accept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsDocument {
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
    /// Where `copyflow up` serves the web console. Default `127.0.0.1:8084`.
    #[serde(default = "default_console_address")]
    pub console_address: SocketAddr,
    /// Where the local runtime keeps objects and executions; relative paths are relative to
    /// the directory holding `copyflow.json` ([`super::Settings::data_dir`]). Default `.copyflow`.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Whether the embedded S3 server authorizes each step's requests against the IAM policy
    /// the CDK app gives that step's role (`tests/fixtures/step-policies.json`). Default true.
    #[serde(default = "default_enforce_iam")]
    pub enforce_iam: bool,
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
fn default_console_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8084))
}
fn default_data_dir() -> PathBuf {
    PathBuf::from(".copyflow")
}
const fn default_enforce_iam() -> bool {
    true
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
            console_address: default_console_address(),
            enforce_iam: default_enforce_iam(),
            data_dir: default_data_dir(),
        }
    }
}

impl SettingsDocument {
    /// A document with every default and the two bucket names. Handy in tests; check it with
    /// [`SettingsDocument::check`].
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

    /// Checks every value (all problems are reported together) and compiles the key rules
    /// and the copy planner's options. `origin` names the document in errors.
    pub fn check(self, origin: SettingsOrigin) -> Result<Settings, SettingsError> {
        check::check(self, origin)
    }

    /// The destination prefix that replaces the source prefix: `destination.prefix`, or the
    /// source prefix itself (keys unchanged) when it is `null`.
    pub fn destination_prefix(&self) -> &str {
        self.destination
            .prefix
            .as_deref()
            .unwrap_or(&self.source.prefix)
    }

    /// The document as pretty JSON (2-space indent), e.g. to pass in
    /// [`super::SETTINGS_ENV`]. Fails only for a `local.dataDir` that is not UTF-8.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }
}
