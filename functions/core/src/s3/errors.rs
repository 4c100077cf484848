//! The one place SDK errors become [`StepError`]s.
//!
//! Classification uses the S3 error code and HTTP status, never the error's text:
//! - 404 / `NoSuchKey` / `NoSuchVersion` / `NotFound` -> `SourceNotFound`;
//! - 412 `PreconditionFailed` -> `SourceChanged` (the copy-source pin failed: the source
//!   was overwritten since the event);
//! - 403 / `AccessDenied` -> `AccessDenied`;
//! - 409 `ConditionalRequestConflict` -> `DestinationConflict`;
//! - throttling, 5xx, timeouts, dropped connections -> `S3Transient` (the SDK has already
//!   retried these a few times; the state machine retries the step with backoff);
//! - anything else S3 refused -> `CopyFailed`; a request that could not even be built ->
//!   `Internal`.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::StepError;

/// HTTP status of a service error, if S3 answered.
pub fn status_of<E>(err: &SdkError<E, aws_smithy_runtime_api::http::Response>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// 404-class answers (missing key, version or upload).
pub fn is_not_found<E: ProvideErrorMetadata>(
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool {
    if matches!(err.code(), Some("NoSuchBucket" | "NoSuchUpload")) {
        return false;
    }
    status_of(err) == Some(404)
        || matches!(err.code(), Some("NoSuchKey" | "NoSuchVersion" | "NotFound"))
}

/// Classifies an SDK error; `what` says which request failed on which object.
pub fn classify<E>(
    what: &str,
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> StepError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = err.code().unwrap_or("");
    let status = status_of(err);
    let detail = match (err.code(), err.message()) {
        (Some(c), Some(m)) => format!("{what}: {c}: {m}"),
        (Some(c), None) => format!("{what}: {c} (HTTP {})", status.unwrap_or(0)),
        _ => format!(
            "{what}: {}",
            aws_smithy_types::error::display::DisplayErrorContext(err)
        ),
    };
    match err {
        SdkError::ConstructionFailure(_) => return StepError::Internal(detail),
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            return StepError::S3Transient(detail);
        }
        _ => {}
    }
    match (status, code) {
        // Codes whose status would mislead: a missing bucket is a settings problem, an
        // archived object needs a restore, a lost upload is not a lost source.
        (_, "NoSuchBucket") => StepError::ConfigurationError(format!(
            "{detail}: check the bucket names in copyflow.json"
        )),
        (_, "InvalidObjectState") => StepError::CopyFailed(format!(
            "{detail}: the object is archived; restore it first"
        )),
        (_, "NoSuchUpload") => StepError::CopyFailed(detail),
        (_, "BadDigest") => StepError::ChecksumMismatch(detail),
        (
            _,
            "SlowDown"
            | "Throttling"
            | "ThrottlingException"
            | "RequestTimeout"
            | "InternalError"
            | "ServiceUnavailable"
            | "RequestTimeTooSkewed",
        ) => StepError::S3Transient(detail),
        (Some(s), _) if s >= 500 || s == 429 => StepError::S3Transient(detail),
        (Some(404), _) | (_, "NoSuchKey" | "NoSuchVersion" | "NotFound") => {
            StepError::SourceNotFound(detail)
        }
        (Some(412), _) | (_, "PreconditionFailed") => StepError::SourceChanged(detail),
        (Some(403), _)
        | (_, "AccessDenied" | "AllAccessDisabled" | "KMS.AccessDeniedException") => {
            StepError::AccessDenied(detail)
        }
        (Some(409), _) | (_, "ConditionalRequestConflict") => {
            StepError::DestinationConflict(detail)
        }
        _ => StepError::CopyFailed(detail),
    }
}
