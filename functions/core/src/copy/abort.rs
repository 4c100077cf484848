//! Aborting multipart uploads, so none is left behind (issue 9): the abort itself, and the
//! guard that aborts an open upload when the copy future is dropped.
//!
//! Dropping happens when the runner stops waiting for the step: `StopExecution`, a state
//! machine or task timeout of the local engine. No code of the step runs after that except
//! `Drop`, which cannot await, so the guard hands the abort to the runtime as a task of its
//! own. A process that is killed runs no `Drop` at all; the next invocation of the same copy
//! cleans up instead ([`super::leftovers`]).

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::StepError;
use crate::s3::{classify, is_not_found};

/// How an abort ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Aborted {
    /// This call aborted the upload.
    Now,
    /// The upload no longer existed (completed, or aborted by someone else).
    AlreadyGone,
}

/// AbortMultipartUpload, tried up to 3 times (an abort racing an in-flight part copy may need
/// a second call before the upload is gone); `requests` counts the calls made.
pub(super) async fn abort_upload(
    client: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    requests: &mut u32,
) -> Result<Aborted, StepError> {
    let mut last = None;
    for attempt in 1..=3 {
        *requests += 1;
        let result = client
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await;
        match result {
            Ok(_) => return Ok(Aborted::Now),
            Err(e) if e.code() == Some("NoSuchUpload") || is_not_found(&e) => {
                return Ok(Aborted::AlreadyGone);
            }
            Err(e) => {
                tracing::warn!(attempt, upload_id, error = %DisplayErrorContext(&e), "abort failed");
                last = Some(classify(
                    &format!("AbortMultipartUpload {upload_id} of s3://{bucket}/{key}"),
                    &e,
                ));
            }
        }
    }
    Err(last.unwrap_or_else(|| StepError::Internal("abort: no attempt made".into())))
}

/// An open multipart upload of this invocation. While armed, dropping it (the copy future
/// was dropped, or the step panicked) spawns an AbortMultipartUpload on the current Tokio
/// runtime with the same client.
///
/// [`disarm`](UploadGuard::disarm) it once the upload is completed, aborted, or handed to the
/// next invocation in a checkpoint.
#[must_use = "dropping the guard aborts the upload"]
pub(super) struct UploadGuard {
    open: Option<OpenUpload>,
}

struct OpenUpload {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
}

impl UploadGuard {
    pub(super) fn new(client: &Client, bucket: &str, key: &str, upload_id: &str) -> UploadGuard {
        UploadGuard {
            open: Some(OpenUpload {
                client: client.clone(),
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                upload_id: upload_id.to_owned(),
            }),
        }
    }

    /// The upload no longer needs aborting by this guard.
    pub(super) fn disarm(mut self) {
        self.open = None;
    }
}

impl Drop for UploadGuard {
    fn drop(&mut self) {
        let Some(u) = self.open.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(key = %u.key, upload_id = %u.upload_id, "copy dropped outside a Tokio runtime: its upload stays until the next invocation or the lifecycle rule removes it");
            return;
        };
        tracing::warn!(key = %u.key, upload_id = %u.upload_id, "copy dropped mid-upload (cancelled or timed out): aborting its multipart upload");
        runtime.spawn(async move {
            let mut requests = 0;
            match abort_upload(&u.client, &u.bucket, &u.key, &u.upload_id, &mut requests).await {
                Ok(Aborted::Now) => {
                    tracing::warn!(key = %u.key, upload_id = %u.upload_id, "multipart upload of a dropped copy aborted");
                }
                Ok(Aborted::AlreadyGone) => {}
                Err(e) => {
                    tracing::warn!(key = %u.key, upload_id = %u.upload_id, error = %e, "could not abort the upload of a dropped copy; the next invocation or the lifecycle rule removes it");
                }
            }
        });
    }
}
