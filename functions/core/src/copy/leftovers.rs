//! Before a fresh multipart copy: abort the uploads earlier invocations of this copy left on
//! the destination key (issue 9).
//!
//! An invocation that was killed (`kill -9` of the local runtime, a Lambda timeout or
//! out-of-memory), timed out or cancelled mid-copy leaves its upload open, and the runner
//! invokes the Task again with the same input: no checkpoint, so a new upload would start
//! and the old one would stay forever (the lifecycle rule is only a backstop, days later).
//! So every open upload of exactly the destination key is aborted first. An upload of a
//! concurrent execution for the same key is not spared: that execution copies an older
//! version of the source, and its pinned source check supersedes it anyway. (A duplicate
//! execution of the same event, EventBridge delivering at least once, loses its upload this
//! way and fails with `CopyFailed` while this one copies.)
//!
//! Only the multipart path lists uploads: a CopyObject leaves no upload behind, and the small
//! object's happy path stays at 4 requests.

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::list_multipart_uploads::ListMultipartUploadsOutput;

use super::abort::{Aborted, abort_upload};
use crate::StepError;
use crate::s3::classify;

/// What the clean-up did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Cleanup {
    /// Uploads of the destination key this call aborted.
    pub aborted: u32,
    /// S3 requests it made (listing pages and aborts).
    pub requests: u32,
}

/// Lists the open uploads of `key` in `bucket` (ListMultipartUploads with `prefix = key`,
/// every page) and aborts each one whose key is exactly `key`.
pub(super) async fn abort_leftover_uploads(
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<Cleanup, StepError> {
    let mut cleanup = Cleanup::default();
    let mut stale = Vec::new();
    let mut markers: Option<(Option<String>, Option<String>)> = None;
    loop {
        let (key_marker, upload_id_marker) = markers.take().unwrap_or_default();
        cleanup.requests += 1;
        let page = client
            .list_multipart_uploads()
            .bucket(bucket)
            .prefix(key)
            .set_key_marker(key_marker)
            .set_upload_id_marker(upload_id_marker)
            .send()
            .await
            .map_err(|e| classify(&format!("ListMultipartUploads s3://{bucket}/{key}"), &e))?;
        stale.extend(uploads_of_key(&page, key));
        match next_page(&page) {
            Some(next) => markers = Some(next),
            None => break,
        }
    }
    for upload_id in stale {
        if abort_upload(client, bucket, key, &upload_id, &mut cleanup.requests).await?
            == Aborted::Now
        {
            cleanup.aborted += 1;
        }
    }
    if cleanup.aborted > 0 {
        tracing::warn!(
            key,
            aborted = cleanup.aborted,
            "aborted multipart uploads left on the destination key by earlier invocations of this copy"
        );
    }
    Ok(cleanup)
}

/// Upload ids of one listing page whose key is exactly `key` (the prefix also matches longer
/// keys).
fn uploads_of_key(page: &ListMultipartUploadsOutput, key: &str) -> Vec<String> {
    page.uploads()
        .iter()
        .filter(|u| u.key() == Some(key))
        .filter_map(|u| u.upload_id().map(str::to_owned))
        .collect()
}

/// The markers of the next page, or `None` on the last one (also when S3 says "truncated"
/// but gives no marker to continue from, which would otherwise loop forever).
fn next_page(page: &ListMultipartUploadsOutput) -> Option<(Option<String>, Option<String>)> {
    if page.is_truncated() != Some(true) {
        return None;
    }
    let key_marker = page.next_key_marker().filter(|m| !m.is_empty())?;
    Some((
        Some(key_marker.to_owned()),
        page.next_upload_id_marker().map(str::to_owned),
    ))
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::types::MultipartUpload;

    use super::*;

    fn upload(key: &str, id: &str) -> MultipartUpload {
        MultipartUpload::builder().key(key).upload_id(id).build()
    }

    #[test]
    fn only_uploads_of_exactly_the_destination_key_are_leftovers() {
        let page = ListMultipartUploadsOutput::builder()
            .uploads(upload("a/big.bin", "1"))
            .uploads(upload("a/big.bin.part", "2"))
            .uploads(upload("a/big.bin", "3"))
            .build();
        assert_eq!(uploads_of_key(&page, "a/big.bin"), ["1", "3"]);
    }

    #[test]
    fn a_truncated_page_continues_from_both_markers() {
        let page = ListMultipartUploadsOutput::builder()
            .is_truncated(true)
            .next_key_marker("a/big.bin")
            .next_upload_id_marker("3")
            .build();
        assert_eq!(
            next_page(&page),
            Some((Some("a/big.bin".to_owned()), Some("3".to_owned())))
        );
    }

    #[test]
    fn listing_stops_on_the_last_page_or_when_no_marker_is_given() {
        let last = ListMultipartUploadsOutput::builder()
            .is_truncated(false)
            .next_key_marker("x")
            .build();
        assert_eq!(next_page(&last), None);
        let markerless = ListMultipartUploadsOutput::builder()
            .is_truncated(true)
            .build();
        assert_eq!(next_page(&markerless), None);
    }
}
