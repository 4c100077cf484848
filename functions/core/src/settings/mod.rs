//! The pipeline settings: one JSON document, `copyflow.json` at the repository root.
//!
//! The same document configures every runtime, so the cloud and the local runtime
//! (`docs/architecture.md#one-pipeline-two-runtimes`) cannot drift apart:
//!
//! - the `copyflow` CLI reads the file ([`Settings::from_file`], the `--config` flag);
//! - the CDK app reads the file, and passes its contents to each Lambda in the environment
//!   variable `COPYFLOW_SETTINGS` ([`SETTINGS_ENV`], read by [`Settings::from_env`]; Lambda
//!   allows 4 KB of environment in total, and the document is well under 1 KB);
//! - the local runner hands the checked value to the steps in-process.
//!
//! Parse, don't validate: the JSON is read into [`SettingsDocument`] (its serde shape, not
//! checked, what tests and the demo edit), and [`SettingsDocument::check`] turns it into
//! [`Settings`], which has no public fields and holds the compiled key rules
//! ([`Settings::key_rules`]) and the checked copy planner's options
//! ([`Settings::plan_options`]). The steps, the key rules and the planner accept only
//! [`Settings`] and its parts, so nothing downstream checks a value again.
//!
//! | module | job |
//! |---|---|
//! | `document` | The JSON shape and its defaults. |
//! | `check` | Every rule a value must meet; builds [`Settings`]. |
//! | `load` | Reading the document from a file, a variable or a string. |
//! | `error` | [`SettingsError`] and [`SettingsOrigin`], named in every message. |
//!
//! Fields are camelCase. Everything but the two bucket names has a default, and unknown fields
//! are errors (a misspelt `partSizeByte` must not silently fall back to the default). Values are
//! checked against S3's limits when loaded; every problem is reported at once, with the field
//! and what to change ([`SettingsError`]).
//!
//! ```json
//! {
//!   "source": { "bucket": "copyflow-source", "prefix": "" },
//!   "destination": { "bucket": "copyflow-destination", "prefix": null, "storageClass": null },
//!   "keys": { "pattern": "(?P<employee>[^/]+)/...", "maxKeyBytes": 1024 },
//!   "copy": { "multipartThresholdBytes": 1073741824, "partSizeBytes": 67108864,
//!             "maxConcurrency": 8, "deadlineMarginSeconds": 60 },
//!   "verify": { "maxConcurrency": 8, "rangeSizeBytes": 67108864 },
//!   "local": { "s3Address": "127.0.0.1:9000", "sfnAddress": "127.0.0.1:8083", "consoleAddress": "127.0.0.1:8084",
//!              "dataDir": ".copyflow", "enforceIam": true }
//! }
//! ```

mod check;
mod document;
mod error;
mod load;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use document::{
    CopySettings, DestinationSettings, KeySettings, LocalSettings, SettingsDocument,
    SourceSettings, VerifySettings,
};
pub use error::{Problem, SettingsError, SettingsOrigin};

use crate::keys::KeyRules;
use crate::plan::PlanOptions;

/// The settings file name, at the repository root.
pub const SETTINGS_FILE: &str = "copyflow.json";

/// The environment variable holding the settings JSON for the Lambda functions (the CDK app
/// sets it to the contents of `copyflow.json`).
pub(crate) const SETTINGS_ENV: &str = "COPYFLOW_SETTINGS";

/// Checked settings: every value within its limits, the key pattern compiled, the planner's
/// options built. Made only by [`SettingsDocument::check`] (or the loaders in front of it).
#[derive(Clone, Debug)]
pub struct Settings {
    origin: SettingsOrigin,
    document: SettingsDocument,
    key_rules: KeyRules,
    plan_options: PlanOptions,
}

impl Settings {
    /// Where the document came from.
    pub fn origin(&self) -> &SettingsOrigin {
        &self.origin
    }

    /// The document as written (defaults filled in). Clone it to change a value, then check it
    /// again.
    pub fn document(&self) -> &SettingsDocument {
        &self.document
    }

    /// The routing and key rules, compiled once.
    pub fn key_rules(&self) -> &KeyRules {
        &self.key_rules
    }

    /// The copy planner's options from `copy`, checked against S3's limits.
    pub const fn plan_options(&self) -> PlanOptions {
        self.plan_options
    }

    /// `source.bucket`.
    pub fn source_bucket(&self) -> &str {
        &self.document.source.bucket
    }

    /// `source.prefix`.
    pub fn source_prefix(&self) -> &str {
        &self.document.source.prefix
    }

    /// `destination.bucket`.
    pub fn destination_bucket(&self) -> &str {
        &self.document.destination.bucket
    }

    /// The destination prefix that replaces the source prefix (see
    /// [`SettingsDocument::destination_prefix`]).
    pub fn destination_prefix(&self) -> &str {
        self.document.destination_prefix()
    }

    /// `destination.storageClass`: `None` keeps the source object's class.
    pub fn storage_class(&self) -> Option<&str> {
        self.document.destination.storage_class.as_deref()
    }

    /// `copy.maxConcurrency`: parts copied in parallel, 1..=64.
    pub const fn copy_concurrency(&self) -> usize {
        self.document.copy.max_concurrency
    }

    /// `copy.deadlineMarginSeconds`: kept in hand before the Lambda deadline, 10..=600 s.
    pub const fn deadline_margin(&self) -> Duration {
        Duration::from_secs(self.document.copy.deadline_margin_seconds)
    }

    /// `verify.maxConcurrency`: ranged reads in parallel, 1..=64.
    pub const fn verify_concurrency(&self) -> usize {
        self.document.verify.max_concurrency
    }

    /// `verify.rangeSizeBytes`: the size of each ranged read, 1 MiB..=5 GiB.
    pub const fn verify_range_size(&self) -> u64 {
        self.document.verify.range_size_bytes
    }

    /// `local.s3Address`.
    pub const fn s3_address(&self) -> SocketAddr {
        self.document.local.s3_address
    }

    /// `local.sfnAddress`.
    pub const fn sfn_address(&self) -> SocketAddr {
        self.document.local.sfn_address
    }

    /// `local.consoleAddress`.
    pub const fn console_address(&self) -> SocketAddr {
        self.document.local.console_address
    }

    /// `local.enforceIam`: the embedded S3 server holds each step to its deployed IAM policy.
    pub const fn enforce_iam(&self) -> bool {
        self.document.local.enforce_iam
    }

    /// `local.dataDir`, resolved against the directory of the settings file it came from
    /// (as written for settings from a variable or from code).
    pub fn data_dir(&self) -> PathBuf {
        let data_dir = &self.document.local.data_dir;
        match &self.origin {
            SettingsOrigin::File(path) if data_dir.is_relative() => match path.parent() {
                Some(dir) => dir.join(data_dir),
                None => data_dir.clone(),
            },
            _ => data_dir.clone(),
        }
    }

    /// The document as pretty JSON (2-space indent), e.g. to pass in [`SETTINGS_ENV`].
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        self.document.to_json()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::path::Path;

    use super::*;

    fn built(edit: impl FnOnce(&mut SettingsDocument)) -> Settings {
        let mut document = SettingsDocument::new("src", "dst");
        edit(&mut document);
        document.check(SettingsOrigin::Built).unwrap()
    }

    #[test]
    fn accessors_read_the_checked_document() {
        let settings = built(|d| {
            d.source.prefix = "in/".into();
            d.destination.prefix = Some("out/".into());
            d.destination.storage_class = Some("STANDARD_IA".into());
            d.copy.max_concurrency = 3;
            d.copy.deadline_margin_seconds = 30;
            d.verify.max_concurrency = 5;
            d.verify.range_size_bytes = 2 << 20;
        });
        assert_eq!(settings.origin(), &SettingsOrigin::Built);
        assert_eq!(settings.source_bucket(), "src");
        assert_eq!(settings.source_prefix(), "in/");
        assert_eq!(settings.destination_bucket(), "dst");
        assert_eq!(settings.destination_prefix(), "out/");
        assert_eq!(settings.storage_class(), Some("STANDARD_IA"));
        assert_eq!(settings.copy_concurrency(), 3);
        assert_eq!(settings.deadline_margin(), Duration::from_secs(30));
        assert_eq!(settings.verify_concurrency(), 5);
        assert_eq!(settings.verify_range_size(), 2 << 20);
        assert_eq!(
            settings.s3_address(),
            SocketAddr::from(([127, 0, 0, 1], 9000))
        );
        assert_eq!(
            settings.sfn_address(),
            SocketAddr::from(([127, 0, 0, 1], 8083))
        );
    }

    #[test]
    fn the_key_rules_and_plan_options_come_compiled() {
        let settings = built(|d| {
            d.copy.multipart_threshold_bytes = 8 << 20;
            d.copy.part_size_bytes = 5 << 20;
        });
        assert_eq!(
            settings.plan_options(),
            PlanOptions::new(8 << 20, 5 << 20).unwrap()
        );
        assert_eq!(settings.key_rules().source_bucket(), "src");
        assert_eq!(settings.key_rules().destination_bucket(), "dst");
    }

    #[test]
    fn data_dir_is_relative_to_the_settings_file() {
        let from = |path: &str| {
            SettingsDocument::new("src", "dst")
                .check(SettingsOrigin::File(path.into()))
                .unwrap()
                .data_dir()
        };
        assert_eq!(from("/repo/copyflow.json"), Path::new("/repo/.copyflow"));
        assert_eq!(from("copyflow.json"), Path::new(".copyflow"));
        assert_eq!(built(|_| ()).data_dir(), Path::new(".copyflow"));
        let absolute = built(|d| d.local.data_dir = "/data".into());
        assert_eq!(absolute.data_dir(), Path::new("/data"));
    }
}
