//! [`StepError`]: the one error taxonomy of the three steps, and the names the state machine
//! matches.
//!
//! Step Functions routes a failed Lambda Task by the `errorType` the function reports, so every
//! variant has a stable [`name`](StepError::name) that is also its `ErrorEquals` string in
//! `statemachine/copyflow.asl.json`, and `From<StepError> for lambda_runtime::Diagnostic`
//! reports exactly that name. Without it the runtime would send `std::any::type_name` of a
//! reference to the error (e.g. `&alloc::boxed::Box<dyn core::error::Error + ...>`), which is
//! neither stable across compilers nor matchable (`docs/aws-facts.md#lambda-error-names`;
//! aws-lambda-rust-runtime#243).
//!
//! Retry policy lives in the ASL, not here, but [`StepError::retryable`] states what the ASL is
//! expected to do, and a test keeps the two in step. Names never start with `States.` (reserved
//! by Step Functions).
//!
//! S3 SDK errors become these variants in one place, `classify` in
//! `functions/core/src/s3/errors.rs` (feature `s3`): by S3 error code and HTTP status, never
//! by the error's text (`docs/aws-facts.md#s3-error-codes`). Callers hand it the SDK error
//! itself, not a string made from it.

use lambda_runtime::Diagnostic;

/// Why a step failed, with a stable [`name`](StepError::name) used as the Step Functions error
/// name.
///
/// Messages (`Display`) become the `Cause` of the failed state: they name the object and say
/// what to do next. They never contain object bytes or credentials.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// The step input is not an S3 `Object Created` event we can read: not a JSON object (an
    /// array, a string, `null`), not of the EventBridge shape, a `source`/`detail-type` other
    /// than `aws.s3`/`Object Created`, a missing `id`/`time`/`detail.bucket.name`/
    /// `detail.object.key`, or a key that is not valid URL-encoding (`%zz`, escapes that are
    /// not UTF-8) and is not the literal name of an object either.
    ///
    /// Not retried: the same input fails the same way. The ASL ends in the `InvalidEvent`
    /// Fail state. Usually means the EventBridge rule or an input transformer passes
    /// something other than the whole event. Messages never echo control characters.
    #[error("invalid event: {0}")]
    InvalidEvent(String),

    /// The object key breaks a key rule from `copyflow.json` (`keys.pattern`, control
    /// characters, `keys.maxKeyBytes` after destination mapping).
    ///
    /// Not retried; the execution ends in the `KeyRejected` Fail state. The object is left where
    /// it is: rename it, or change the rule and redrive the execution.
    #[error("key {key:?} rejected: {reason}")]
    KeyRejected {
        /// The decoded source key (or the destination key, when the mapping broke a rule).
        key: String,
        /// Which rule it broke and how to fix it.
        reason: String,
    },

    /// The source object does not exist under the decoded key nor under the raw event key (S3
    /// `404 NoSuchKey`, or `NoSuchVersion` for a pinned version): deleted since the event.
    ///
    /// Not retried: S3 reads are strongly consistent, so a retry cannot find it.
    #[error("source object not found: {0}")]
    SourceNotFound(String),

    /// The source was overwritten since the event: its ETag no longer matches the event's
    /// (S3 `412 PreconditionFailed` on `x-amz-copy-source-if-match`), or a newer version exists.
    ///
    /// Not retried: the newer object has its own event and execution. The ASL ends in the
    /// `Superseded` Succeed state; the destination is left untouched by this execution.
    #[error("source changed since the event: {0}")]
    SourceChanged(String),

    /// S3 refused an operation (`403 AccessDenied`, KMS `AccessDenied`): the function's role
    /// lacks a permission, a bucket policy forbids it, or a KMS key policy does.
    ///
    /// Not retried: fix the IAM role / bucket policy / key policy, then redrive.
    #[error("access denied: {0}")]
    AccessDenied(String),

    /// A failure that is expected to go away: S3 throttling (`503 SlowDown`), `500`/`503`
    /// internal errors, timeouts, dropped connections, DNS failures.
    ///
    /// **Retried** by the ASL with exponential backoff, `MaxDelaySeconds` and `FULL` jitter.
    /// The copy step is idempotent, so a retry is safe: a failed multipart copy has aborted
    /// its upload, and the retry skips the copy when the destination is already identical,
    /// else copies afresh.
    #[error("transient S3 failure: {0}")]
    S3Transient(String),

    /// The destination's checksum (or size) differs from the source's after the copy.
    ///
    /// Not retried; the ASL ends in `VerificationFailed`. The bad copy is never left looking
    /// valid: the verify step reports which values differ.
    #[error("checksum mismatch: {0}")]
    ChecksumMismatch(String),

    /// S3 rejected the copy for a reason a retry will not change (e.g. `InvalidRequest`,
    /// `EntityTooLarge`, an object in an archive storage class that must be restored first,
    /// an object larger than S3's maximum). Any multipart upload has been aborted.
    ///
    /// Not retried; the ASL ends in `CopyFailed`.
    #[error("copy failed: {0}")]
    CopyFailed(String),

    /// Another writer changed the destination key while this copy ran (S3
    /// `409 ConditionalRequestConflict`, or a destination precondition that failed).
    ///
    /// **Retried** by the ASL with backoff: the retry checks the destination first (and skips
    /// if it is already identical), then starts a fresh upload as S3 advises for a 409.
    #[error("destination conflict: {0}")]
    DestinationConflict(String),

    /// The destination object this copy wrote was replaced before verify could read it (its
    /// ETag is no longer the one the copy wrote; only possible on an unversioned destination,
    /// since verify pins the version it wrote on a versioned one).
    ///
    /// Not retried: verify would read the same replaced object again, and recopying could
    /// overwrite a newer copy or another writer's object. The ASL ends in the
    /// `DestinationChanged` Fail state: nothing proves the destination holds this source, so
    /// it is not reported as a success. Find who else writes the destination key; to restore
    /// the copy, start a new execution with the event.
    #[error("destination changed after the copy: {0}")]
    DestinationChanged(String),

    /// The settings are wrong: `copyflow.json` / `COPYFLOW_SETTINGS` missing or invalid, or a
    /// key would be copied into the watched source range (loop guard).
    ///
    /// Not retried; the ASL ends in the `ConfigurationError` Fail state. Fix the settings and
    /// redeploy. A loop is refused outright: copying into the
    /// range the pipeline watches would trigger the pipeline on its own output.
    #[error("configuration error: {0}")]
    ConfigurationError(String),

    /// A bug or a broken invariant in copyflow itself (e.g. S3 answered with a shape it should
    /// not have). Not retried: report it with the execution history. In ValidateKey it ends in
    /// the `ValidationFailed` Fail state (with any other unexpected error, e.g.
    /// `States.Timeout`), in the other steps in `CopyFailed`.
    #[error("internal error: {0}")]
    Internal(String),
}

impl StepError {
    /// Every error name, in declaration order: the `errorType` values a step can report and
    /// the names the ASL may use in `ErrorEquals`.
    pub const ALL_NAMES: &'static [&'static str] = &[
        "InvalidEvent",
        "KeyRejected",
        "SourceNotFound",
        "SourceChanged",
        "AccessDenied",
        "S3Transient",
        "ChecksumMismatch",
        "CopyFailed",
        "DestinationConflict",
        "DestinationChanged",
        "ConfigurationError",
        "Internal",
    ];

    /// The error names the ASL retries with backoff (see [`StepError::retryable`]).
    pub const RETRYABLE_NAMES: &'static [&'static str] = &["S3Transient", "DestinationConflict"];

    /// The stable name: the Lambda `errorType` and the ASL `ErrorEquals` string.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::InvalidEvent(_) => "InvalidEvent",
            Self::KeyRejected { .. } => "KeyRejected",
            Self::SourceNotFound(_) => "SourceNotFound",
            Self::SourceChanged(_) => "SourceChanged",
            Self::AccessDenied(_) => "AccessDenied",
            Self::S3Transient(_) => "S3Transient",
            Self::ChecksumMismatch(_) => "ChecksumMismatch",
            Self::CopyFailed(_) => "CopyFailed",
            Self::DestinationConflict(_) => "DestinationConflict",
            Self::DestinationChanged(_) => "DestinationChanged",
            Self::ConfigurationError(_) => "ConfigurationError",
            Self::Internal(_) => "Internal",
        }
    }

    /// Whether the state machine retries this error (with backoff and jitter) rather than
    /// routing it to a terminal state.
    pub const fn retryable(&self) -> bool {
        matches!(self, Self::S3Transient(_) | Self::DestinationConflict(_))
    }

    /// Shorthand for [`StepError::KeyRejected`].
    pub fn key_rejected(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::KeyRejected {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

impl From<StepError> for Diagnostic {
    /// `errorType` = [`StepError::name`], `errorMessage` = the `Display` text.
    fn from(error: StepError) -> Self {
        Diagnostic {
            error_type: error.name().to_owned(),
            error_message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One value of every variant. The exhaustive `match` fails to compile when a variant is
    /// added, so this list (and the tests over it) cannot fall behind the enum.
    fn one_of_each() -> Vec<StepError> {
        let all = vec![
            StepError::InvalidEvent("e".into()),
            StepError::key_rejected("k", "r"),
            StepError::SourceNotFound("s".into()),
            StepError::SourceChanged("s".into()),
            StepError::AccessDenied("a".into()),
            StepError::S3Transient("t".into()),
            StepError::ChecksumMismatch("c".into()),
            StepError::CopyFailed("c".into()),
            StepError::DestinationConflict("d".into()),
            StepError::DestinationChanged("d".into()),
            StepError::ConfigurationError("c".into()),
            StepError::Internal("i".into()),
        ];
        for error in &all {
            match error {
                StepError::InvalidEvent(_)
                | StepError::KeyRejected { .. }
                | StepError::SourceNotFound(_)
                | StepError::SourceChanged(_)
                | StepError::AccessDenied(_)
                | StepError::S3Transient(_)
                | StepError::ChecksumMismatch(_)
                | StepError::CopyFailed(_)
                | StepError::DestinationConflict(_)
                | StepError::DestinationChanged(_)
                | StepError::ConfigurationError(_)
                | StepError::Internal(_) => {}
            }
        }
        all
    }

    #[test]
    fn all_names_lists_every_variant_once_in_order() {
        let names: Vec<&str> = one_of_each().iter().map(StepError::name).collect();
        assert_eq!(names, StepError::ALL_NAMES);
    }

    #[test]
    fn names_are_usable_as_step_functions_error_names() {
        for name in StepError::ALL_NAMES {
            assert!(!name.starts_with("States."), "{name} is reserved");
            assert!(name.bytes().all(|b| b.is_ascii_alphanumeric()), "{name}");
        }
    }

    #[test]
    fn retryable_names_are_exactly_the_retryable_variants() {
        let retryable: Vec<&str> = one_of_each()
            .iter()
            .filter(|e| e.retryable())
            .map(StepError::name)
            .collect();
        assert_eq!(retryable, StepError::RETRYABLE_NAMES);
    }

    #[test]
    fn diagnostic_carries_the_stable_name_and_the_message() {
        let diagnostic = Diagnostic::from(StepError::key_rejected("a\u{7}b", "control character"));
        assert_eq!(diagnostic.error_type, "KeyRejected");
        assert_eq!(
            diagnostic.error_message,
            r#"key "a\u{7}b" rejected: control character"#
        );
    }

    #[test]
    fn messages_start_with_what_went_wrong() {
        assert_eq!(
            StepError::SourceChanged("ETag is now \"x\"".into()).to_string(),
            "source changed since the event: ETag is now \"x\""
        );
    }
}
