//! The copy-object step: a server-side copy of one object, pinned to the event's source
//! version, idempotent, resumable.
//!
//! 1. Read the source (decoded key first, the raw event key only when it differs and the
//!    decoded one is missing or another object) and check it is
//!    still the object the event announced: a newer version or another ETag means it was
//!    overwritten, so this execution ends as `SourceChanged` and the destination is not
//!    touched (the newer object has its own event).
//! 2. Skip when the destination already holds the same bytes and properties (EventBridge
//!    delivers at least once).
//! 3. Up to the threshold: one CopyObject (`x-amz-copy-source-if-match` pins the source,
//!    metadata and tags copied by S3, the checksum recomputed by S3 as a full-object value
//!    in the source's algorithm so verify can compare stored values, or, for a COMPOSITE
//!    CRC source, with its part CRCs combined: [`target_algorithm`]). Above it: a multipart copy
//!    ([`multipart`]), which first aborts uploads earlier invocations left on the key
//!    ([`leftovers`]) and never leaves its own behind, even when its future is dropped
//!    ([`abort`]).

mod abort;
mod document;
mod leftovers;
mod multipart;
mod single;

use aws_sdk_s3::Client;

pub use document::{Checkpoint, CopiedObject, CopyDocument, CopyMethod, CopyOutcome, CopyStatus};

use crate::deadline::Deadline;
use crate::plan::{CopyPlan, mirrored_part_size, plan_copy};
use crate::s3::{ObjectInfo, first_part, head_object_if_exists};
use crate::{Settings, StepError, checksums};

/// Everything a copy needs besides the job.
#[derive(Debug)]
pub struct CopyContext<'a> {
    /// The client every request of the step goes through, for both buckets.
    pub client: &'a Client,
    /// Multipart threshold and part sizing, part concurrency, destination storage class.
    pub settings: &'a Settings,
    /// When a multipart copy stops starting parts and returns a checkpoint.
    pub deadline: Deadline,
}

/// Runs the copy step on a state document (`{"job": ..., "copy"?: ...}`) and returns it with
/// `copy` set.
pub async fn copy(cx: &CopyContext<'_>, mut doc: CopyDocument) -> Result<CopyDocument, StepError> {
    let resumed = match doc.copy.take() {
        Some(previous) if previous.status == CopyStatus::InProgress => {
            multipart::resume(cx, &doc.job, previous).await?
        }
        _ => None,
    };
    let outcome = match resumed {
        Some(outcome) => outcome,
        None => start(cx, &doc).await?,
    };
    doc.copy = Some(outcome);
    Ok(doc)
}

async fn start(cx: &CopyContext<'_>, doc: &CopyDocument) -> Result<CopyOutcome, StepError> {
    let job = &doc.job;
    let mut requests = 0;
    let (source, destination_key) = pinned_source(cx, job, &mut requests).await?;
    requests += 1;
    let existing =
        head_object_if_exists(cx.client, &job.destination.bucket, &destination_key, None).await?;
    if let Some(dest) = existing
        && same_object(&source, &dest)
    {
        tracing::info!(key = %destination_key, "destination already holds this object; nothing to copy");
        return Ok(CopyOutcome::already_present(
            source,
            destination_key,
            dest,
            requests,
        ));
    }
    match plan_copy(source.size, &cx.settings.plan_options())? {
        CopyPlan::Single { .. } => {
            single::copy_object(cx, job, source, destination_key, requests).await
        }
        CopyPlan::Multipart { part_size, parts } => {
            let (part_size, part_count) =
                match source_layout(cx, job, &source, &mut requests).await? {
                    Some(mirrored) => mirrored,
                    None => (part_size, parts.len()),
                };
            multipart::start(
                cx,
                job,
                source,
                destination_key,
                part_size,
                part_count,
                requests,
            )
            .await
        }
    }
}

/// The part size and count of a multipart copy that mirrors a multipart source's parts
/// ([`mirrored_part_size`]), or `None` (single-part source, uneven parts): one more HEAD, for
/// sources above the multipart threshold only.
async fn source_layout(
    cx: &CopyContext<'_>,
    job: &crate::CopyJob,
    source: &ObjectInfo,
    requests: &mut u32,
) -> Result<Option<(u64, usize)>, StepError> {
    if !source.etag.contains('-') {
        return Ok(None);
    }
    *requests += 1;
    let first = first_part(
        cx.client,
        &job.source.bucket,
        &source.key,
        source.version_id.as_deref(),
    )
    .await?;
    Ok(first
        .and_then(|(size, count)| mirrored_part_size(source.size, size, count))
        .and_then(|p| Some((p, usize::try_from(source.size.div_ceil(p)).ok()?))))
}

/// HEADs the source and checks it is still the event's object; returns it with the
/// destination key to write (which differs only for the raw-key fallback).
async fn pinned_source(
    cx: &CopyContext<'_>,
    job: &crate::CopyJob,
    requests: &mut u32,
) -> Result<(ObjectInfo, String), StepError> {
    let bucket = &job.source.bucket;
    *requests += 1;
    let decoded = head_object_if_exists(cx.client, bucket, &job.source.key, None).await?;
    let verdict = decoded.as_ref().map(|o| changed_since_event(job, o));
    if let (Some(None), Some(source)) = (&verdict, &decoded) {
        return Ok((source.clone(), job.destination.key.clone()));
    }
    // The decoded key is missing or is another object: EventBridge may have sent the key
    // unencoded (undocumented), so the raw key is the object the event meant if it matches.
    if let Some((raw, dest)) = job.raw_fallback() {
        *requests += 1;
        if let Some(source) = head_object_if_exists(cx.client, bucket, raw, None).await?
            && changed_since_event(job, &source).is_none()
        {
            return Ok((source, dest.to_owned()));
        }
    }
    match verdict {
        Some(Some(change)) => Err(StepError::SourceChanged(change)),
        _ => Err(not_found(job)),
    }
}

/// The error for a source that no object has: `SourceNotFound`, or `InvalidEvent` when the
/// event key is not valid URL-encoding, so that its only reading, the literal key, is missing
/// too (a malformed event, or an unencoded key deleted since).
fn not_found(job: &crate::CopyJob) -> StepError {
    let bucket = &job.source.bucket;
    match &job.source.key_decode_error {
        Some(why) => StepError::InvalidEvent(format!(
            "detail.object.key {} is not URL-encoding ({why}), and no object in {bucket} has it \
             as its literal name: the event is malformed (or, if EventBridge sent the key \
             unencoded, the object was deleted after the event)",
            crate::keys::quote_for_message(&job.source.raw_key)
        )),
        None => StepError::SourceNotFound(format!(
            "s3://{bucket}/{} no longer exists (deleted after the event)",
            job.source.key
        )),
    }
}

/// Why `source` is not the object the event announced (another version, ETag, or size),
/// or `None` when it is.
fn changed_since_event(job: &crate::CopyJob, source: &ObjectInfo) -> Option<String> {
    let at = format!("s3://{}/{}", job.source.bucket, source.key);
    if let Some(v) = &job.source.version_id
        && source.version_id.as_deref() != Some(v.as_str())
    {
        return Some(format!(
            "{at}: the event's version {v} is no longer current ({} is)",
            source.version_id.as_deref().unwrap_or("null")
        ));
    }
    if let Some(etag) = &job.source.etag
        && *etag != source.etag
    {
        return Some(format!(
            "{at}: ETag is {} now, the event said {etag}",
            source.etag
        ));
    }
    if let Some(size) = job.source.size
        && size != source.size
    {
        return Some(format!(
            "{at}: size is {} now, the event said {size}",
            source.size
        ));
    }
    None
}

/// Whether `dest` already is a copy of `source`: same size, content headers and metadata,
/// and equal stored checksums (or equal MD5 ETags when no checksum compares).
pub fn same_object(source: &ObjectInfo, dest: &ObjectInfo) -> bool {
    if source.size != dest.size
        || source.headers != dest.headers
        || source.metadata != dest.metadata
    {
        return false;
    }
    match (source.stored_checksum(), dest.stored_checksum()) {
        (Some(a), Some(b)) if checksums::compare(a, b) == checksums::Comparison::Identical => true,
        _ => source.has_md5_etag() && source.etag == dest.etag,
    }
}

/// The checksum algorithm the copy is written with (always as a full-object checksum: a
/// CopyObject result is single-part, a multipart copy asks for `FULL_OBJECT`):
/// - the source's own full-object algorithm, so S3 recomputes a value comparable with the
///   source's (SHA only on the CopyObject path: a multipart FULL_OBJECT checksum is a CRC);
/// - the source's CRC32 / CRC32C of a COMPOSITE upload, so verify can compare the copy with
///   the source's part CRCs combined (no byte read);
/// - else CRC64NVME.
fn target_algorithm(source: &ObjectInfo, multipart: bool) -> crate::Algorithm {
    use crate::{Algorithm, ChecksumType};
    match source.stored_checksum() {
        Some(c) if c.algorithm().is_crc() => c.algorithm(),
        Some(c) if c.checksum_type() == ChecksumType::FullObject && !multipart => c.algorithm(),
        _ => Algorithm::Crc64Nvme,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::Algorithm;

    fn source(
        algorithm: Option<&str>,
        checksum: Option<&str>,
        checksum_type: Option<&str>,
    ) -> ObjectInfo {
        serde_json::from_value(serde_json::json!({
            "key": "k", "size": 10, "etag": "e", "headers": {},
            "checksumAlgorithm": algorithm, "checksum": checksum, "checksumType": checksum_type,
        }))
        .unwrap()
    }

    #[test]
    fn the_copy_gets_a_full_object_checksum_comparable_with_the_source() {
        let crc32 = crate::Digest::compute(Algorithm::Crc32, b"p").to_base64();
        let crc32c = crate::Digest::compute(Algorithm::Crc32c, b"p").to_base64();
        let sha = crate::Digest::compute(Algorithm::Sha256, b"p").to_base64();
        let composite = |v: &str| format!("{v}-3");
        let cases = [
            // COMPOSITE CRC32 / CRC32C: the same CRC, full-object, on both paths.
            (
                source(Some("CRC32"), Some(&composite(&crc32)), Some("COMPOSITE")),
                Algorithm::Crc32,
                Algorithm::Crc32,
            ),
            (
                source(Some("CRC32C"), Some(&composite(&crc32c)), Some("COMPOSITE")),
                Algorithm::Crc32c,
                Algorithm::Crc32c,
            ),
            (
                source(Some("CRC32"), Some(&crc32), Some("FULL_OBJECT")),
                Algorithm::Crc32,
                Algorithm::Crc32,
            ),
            // SHA: kept by CopyObject when full-object; a multipart copy has only CRCs.
            (
                source(Some("SHA256"), Some(&sha), None),
                Algorithm::Sha256,
                Algorithm::Crc64Nvme,
            ),
            (
                source(Some("SHA256"), Some(&composite(&sha)), Some("COMPOSITE")),
                Algorithm::Crc64Nvme,
                Algorithm::Crc64Nvme,
            ),
            (
                source(None, None, None),
                Algorithm::Crc64Nvme,
                Algorithm::Crc64Nvme,
            ),
        ];
        for (src, single, multipart) in cases {
            assert_eq!(target_algorithm(&src, false), single, "{src:?}");
            assert_eq!(target_algorithm(&src, true), multipart, "{src:?}");
        }
    }
}
