//! copyflow-core: everything the three copy steps need, as tested library code.
//!
//! copyflow copies every new object of a source bucket to a destination bucket under the same
//! key, verified by checksum: S3 -> EventBridge `Object Created` -> Step Functions -> the
//! Lambda steps validate-key, copy-object and verify-copy (`docs/architecture.md#the-steps`).
//! The Lambda binaries and the local runner are thin adapters over this crate, so the same
//! code runs in the cloud and on a laptop.
//!
//! | public module or item | job |
//! |---|---|
//! | [`event`] | The EventBridge `Object Created` event, parsed tolerantly. |
//! | [`keys`] | Key decoding, key rules, destination mapping, loop guard, `x-amz-copy-source`. |
//! | [`plan`] | `CopyObject` vs multipart, part sizes and ranges within S3's limits. |
//! | [`Settings`] | `copyflow.json` / `COPYFLOW_SETTINGS`, parsed into a checked type. |
//! | [`StepError`] | The error names the state machine matches. |
//! | [`deadline`] | When a step stops starting work before the Lambda deadline. |
//! | [`metrics`] | The EMF line verify-copy prints per execution (latency, bytes, outcome). |
//! | [`validate()`] | The validate-key step. |
//! | [`s3`], [`copy`], [`verify`], [`Steps`] | The S3 side (default feature `s3`). |
//!
//! The other modules (stored checksums in comparable form, the settings checks, the error
//! type, the steps' wiring) are private: what other crates need of them is re-exported here.
//!
//! Without the default feature `s3` the crate links no AWS SDK (validate-key builds it so).
//! Where I/O happens: the modules of the `s3` feature send requests to S3. Outside them,
//! [`Settings::from_file`] reads the settings file and [`Settings::from_env`] the
//! `COPYFLOW_SETTINGS` variable, and [`deadline`] reads the system clock; event parsing, the
//! key rules, planning, checksums and [`validate()`] do no I/O at all.

#![warn(missing_docs)]

// Most of the checksum comparison serves the copy and verify steps of the `s3` feature.
#[cfg_attr(not(feature = "s3"), allow(dead_code))]
mod checksums;
#[cfg(feature = "s3")]
pub mod copy;
pub mod deadline;
mod error;
pub mod event;
pub mod keys;
pub mod metrics;
pub mod plan;
#[cfg(feature = "s3")]
pub mod s3;
mod settings;
#[cfg(feature = "s3")]
mod steps;
mod validate;
#[cfg(feature = "s3")]
pub mod verify;

pub use checksums::{RangeProgress, StoredChecksum};
pub use copyflow_checksum::{
    Algorithm, ChecksumError, ChecksumType, Digest, Hasher, Hashes, combine_crc,
    combine_full_object,
};
pub use error::StepError;
pub use settings::{
    CopySettings, DestinationSettings, KeySettings, LocalSettings, Problem, SETTINGS_FILE,
    Settings, SettingsDocument, SettingsError, SettingsOrigin, SourceSettings, VerifySettings,
};
#[cfg(feature = "s3")]
pub use steps::Steps;
pub use validate::{CopyJob, ValidateOutput, validate, validate_json};
