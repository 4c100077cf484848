//! copyflow-core: everything the three copy steps need, as tested library code.
//!
//! copyflow copies every new object of a source bucket to a destination bucket under the same
//! key, verified by checksum: S3 -> EventBridge `Object Created` -> Step Functions -> the
//! Lambda steps validate-key, copy-object and verify-copy (`docs/architecture.md#the-steps`).
//! The Lambda binaries and the local runner are thin adapters over this crate, so the same
//! code runs in the cloud and on a laptop.
//!
//! | module | job |
//! |---|---|
//! | [`event`] | The EventBridge `Object Created` event, parsed tolerantly. |
//! | [`keys`] | Key decoding, key rules, destination mapping, loop guard, `x-amz-copy-source`. |
//! | [`plan`] | `CopyObject` vs multipart, part sizes and ranges within S3's limits. |
//! | [`checksums`] | Stored checksums in comparable form, range CRC combining. |
//! | [`settings`] | `copyflow.json` / `COPYFLOW_SETTINGS`, parsed into checked [`Settings`]. |
//! | [`error`] | [`StepError`], the error names the state machine matches. |
//! | [`deadline`] | When a step stops starting work before the Lambda deadline. |
//! | [`mod@validate`] | The validate-key step ([`validate()`]). |
//! | [`s3`], [`copy`], [`verify`], [`Steps`] | The S3 side (default feature `s3`). |
//!
//! Without the default feature `s3` the crate links no AWS SDK (validate-key builds it so).
//! Where I/O happens: the modules of the `s3` feature send requests to S3. Outside them,
//! [`Settings::from_file`] reads the settings file and [`Settings::from_env`] the
//! `COPYFLOW_SETTINGS` variable, and [`deadline`] reads the system clock; event parsing, the
//! key rules, planning, checksums and [`validate()`] do no I/O at all.

#![warn(missing_docs)]

pub mod checksums;
#[cfg(feature = "s3")]
pub mod copy;
pub mod deadline;
pub mod error;
pub mod event;
pub mod keys;
pub mod plan;
#[cfg(feature = "s3")]
pub mod s3;
pub mod settings;
#[cfg(feature = "s3")]
pub mod steps;
pub mod validate;
#[cfg(feature = "s3")]
pub mod verify;

pub use copyflow_checksum::{
    Algorithm, ChecksumError, ChecksumType, Digest, Hasher, Hashes, combine_crc,
    combine_full_object,
};
pub use error::StepError;
pub use settings::{Settings, SettingsDocument, SettingsError, SettingsOrigin};
#[cfg(feature = "s3")]
pub use steps::Steps;
pub use validate::{CopyJob, ValidateOutput, validate, validate_json};
