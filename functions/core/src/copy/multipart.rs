//! Multipart copy for objects above the threshold: CreateMultipartUpload carrying every
//! property explicitly (nothing is inherited on this path: content headers, metadata, tags,
//! storage class; `docs/aws-facts.md#what-a-copy-keeps`), UploadPartCopy ranges in parallel
//! with bounded concurrency, each pinned to the source ETag, then CompleteMultipartUpload with
//! every part's checksum, the object size and, when the source has one in the same algorithm,
//! the source's full-object checksum so S3 itself checks the assembled copy
//! (`docs/aws-facts.md#checksums-on-copies`).
//!
//! Near the invocation deadline no new part starts; the step returns `in-progress` with a
//! [`Checkpoint`] and the next invocation recovers finished parts with ListParts, so no part
//! is copied twice. Every failure aborts the upload, and so does dropping the copy future
//! (an [`UploadGuard`] is armed while the upload is open); a fresh start first aborts the
//! uploads earlier invocations left on the key ([`super::leftovers`]). None is left behind.

use std::collections::BTreeMap;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumType, CompletedMultipartUpload, CompletedPart, StorageClass,
};
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::abort::{Aborted, UploadGuard, abort_upload};
use super::leftovers::abort_leftover_uploads;
use super::{
    Checkpoint, CopiedObject, CopyContext, CopyMethod, CopyOutcome, CopyStatus, target_algorithm,
};
use crate::keys::copy_source;
use crate::plan::range_header;
use crate::s3::{ObjectInfo, classify, tags_of};
use crate::{Algorithm, CopyJob, StepError};

/// Starts a multipart copy and copies as many parts as the deadline allows.
pub(super) async fn start(
    cx: &CopyContext<'_>,
    job: &CopyJob,
    source: ObjectInfo,
    destination_key: String,
    part_size: u64,
    part_count: usize,
    mut requests: u32,
) -> Result<CopyOutcome, StepError> {
    let algorithm = target_algorithm(&source, true);
    let cleanup =
        abort_leftover_uploads(cx.client, &job.destination.bucket, &destination_key).await?;
    requests += cleanup.requests;
    requests += 1;
    let tags = tags_of(
        cx.client,
        &job.source.bucket,
        &source.key,
        source.version_id.as_deref(),
    )
    .await?;
    let storage_class = cx
        .settings
        .storage_class()
        .map(str::to_owned)
        .or_else(|| source.storage_class.clone())
        .unwrap_or_else(|| "STANDARD".to_owned());
    let h = &source.headers;
    let expires = h
        .expires
        .as_deref()
        .and_then(|e| DateTime::from_str(e, DateTimeFormat::HttpDate).ok());
    requests += 1;
    let created = cx
        .client
        .create_multipart_upload()
        .bucket(&job.destination.bucket)
        .key(&destination_key)
        .set_content_type(h.content_type.clone())
        .set_cache_control(h.cache_control.clone())
        .set_content_disposition(h.content_disposition.clone())
        .set_content_encoding(h.content_encoding.clone())
        .set_content_language(h.content_language.clone())
        .set_expires(expires)
        .set_metadata(Some(
            source
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ))
        .set_tagging((!tags.is_empty()).then(|| tagging_header(&tags)))
        .storage_class(StorageClass::from(storage_class.as_str()))
        .checksum_algorithm(ChecksumAlgorithm::from(algorithm.as_s3_name()))
        .checksum_type(ChecksumType::FullObject)
        .send()
        .await
        .map_err(|e| {
            classify(
                &format!(
                    "CreateMultipartUpload s3://{}/{destination_key}",
                    job.destination.bucket
                ),
                &e,
            )
        })?;
    let upload_id = created
        .upload_id()
        .ok_or_else(|| StepError::Internal("CreateMultipartUpload returned no upload id".into()))?
        .to_owned();
    let guard = UploadGuard::new(
        cx.client,
        &job.destination.bucket,
        &destination_key,
        &upload_id,
    );
    tracing::info!(key = %destination_key, upload_id = %upload_id, part_size, part_count, "multipart copy started");
    let outcome = CopyOutcome {
        status: CopyStatus::InProgress,
        method: CopyMethod::Multipart,
        source,
        destination_key,
        destination: None,
        checkpoint: Some(Checkpoint {
            upload_id,
            part_size,
            part_count: u32::try_from(part_count).unwrap_or(u32::MAX),
            algorithm: algorithm.as_s3_name().to_owned(),
            invocations: 1,
        }),
        source_tags: Some(tags),
        parts_total: u32::try_from(part_count).unwrap_or(u32::MAX),
        parts_done: 0,
        part_size_bytes: Some(part_size),
        requests,
        aborted_stale_uploads: (cleanup.aborted > 0).then_some(cleanup.aborted),
    };
    run(cx, job, outcome, BTreeMap::new(), guard).await
}

/// Continues an in-progress copy from its checkpoint; `None` when the upload no longer
/// exists (aborted after a failure the state machine retries, or completed by an invocation
/// whose answer was lost): the caller starts over, checking the destination first.
pub(super) async fn resume(
    cx: &CopyContext<'_>,
    job: &CopyJob,
    mut outcome: CopyOutcome,
) -> Result<Option<CopyOutcome>, StepError> {
    let checkpoint = outcome
        .checkpoint
        .clone()
        .ok_or_else(|| StepError::Internal("in-progress copy without a checkpoint".into()))?;
    outcome.checkpoint = Some(Checkpoint {
        invocations: checkpoint.invocations + 1,
        ..checkpoint.clone()
    });
    let algorithm = algorithm_of(&checkpoint)?;
    // This invocation owns the checkpoint's upload now: if it is dropped, nobody continues it.
    let guard = UploadGuard::new(
        cx.client,
        &job.destination.bucket,
        &outcome.destination_key,
        &checkpoint.upload_id,
    );
    match finished_parts(cx, job, &outcome, &checkpoint, algorithm).await {
        Ok(Some(done)) => {
            tracing::info!(key = %outcome.destination_key, done = done.len(), total = checkpoint.part_count, "multipart copy resumed");
            run(cx, job, outcome, done, guard).await.map(Some)
        }
        Ok(None) => {
            guard.disarm();
            tracing::info!(upload_id = %checkpoint.upload_id, "the upload is gone; starting over");
            Ok(None)
        }
        Err(e) => {
            abort(cx, job, &outcome).await;
            guard.disarm();
            Err(e)
        }
    }
}

fn algorithm_of(checkpoint: &Checkpoint) -> Result<Algorithm, StepError> {
    Algorithm::from_s3_name(&checkpoint.algorithm).ok_or_else(|| {
        StepError::Internal(format!(
            "checkpoint names an unknown algorithm {}",
            checkpoint.algorithm
        ))
    })
}

/// Copies the missing parts while time allows, then completes; aborts on any failure.
/// `guard` aborts the upload if this future is dropped before it returns.
async fn run(
    cx: &CopyContext<'_>,
    job: &CopyJob,
    mut outcome: CopyOutcome,
    mut done: BTreeMap<i32, CompletedPart>,
    guard: UploadGuard,
) -> Result<CopyOutcome, StepError> {
    let result = async {
        copy_parts(cx, job, &mut outcome, &mut done).await?;
        outcome.parts_done = u32::try_from(done.len()).unwrap_or(u32::MAX);
        // Completion can take minutes on S3: never start it with the deadline at hand.
        if outcome.parts_done < outcome.parts_total || cx.deadline.reached() {
            tracing::info!(key = %outcome.destination_key, done = outcome.parts_done, total = outcome.parts_total, "deadline near: returning a checkpoint");
            return Ok(());
        }
        outcome.requests += 1;
        still_current(cx, job, &outcome).await?;
        complete(cx, job, &mut outcome, done).await
    }
    .await;
    if result.is_err() {
        abort(cx, job, &outcome).await;
    }
    // Completed, aborted, or handed to the next invocation in the checkpoint.
    guard.disarm();
    result.map(|()| outcome)
}

/// A long copy must not land over a newer object: if the source key has another current
/// version or ETag now (its own execution copies that), this copy is superseded. The parts
/// were pinned to the old version, so without this check a slow copy of an old version could
/// complete after the newer one and leave the destination stale.
async fn still_current(
    cx: &CopyContext<'_>,
    job: &CopyJob,
    outcome: &CopyOutcome,
) -> Result<(), StepError> {
    let source = &outcome.source;
    let now =
        crate::s3::head_object_if_exists(cx.client, &job.source.bucket, &source.key, None).await?;
    let current = now
        .as_ref()
        .is_some_and(|n| n.etag == source.etag && n.version_id == source.version_id);
    if current {
        return Ok(());
    }
    Err(StepError::SourceChanged(format!(
        "s3://{}/{} changed while it was being copied; the newer object's own execution copies it",
        job.source.bucket, source.key
    )))
}

/// Byte range of part `number` (1-based) of an object of `size` bytes.
fn part_range(number: i32, part_size: u64, size: u64) -> (u64, u64) {
    let start = u64::try_from(number - 1).unwrap_or(0) * part_size;
    (start, (start + part_size).min(size) - 1)
}

async fn copy_parts(
    cx: &CopyContext<'_>,
    job: &CopyJob,
    outcome: &mut CopyOutcome,
    done: &mut BTreeMap<i32, CompletedPart>,
) -> Result<(), StepError> {
    let checkpoint = outcome
        .checkpoint
        .clone()
        .ok_or_else(|| StepError::Internal("multipart copy without a checkpoint".into()))?;
    let algorithm = algorithm_of(&checkpoint)?;
    let total = i32::try_from(checkpoint.part_count).unwrap_or(i32::MAX);
    let todo: Vec<i32> = (1..=total).filter(|n| !done.contains_key(n)).collect();
    let mut missing = todo.into_iter();
    let concurrency = cx.settings.copy_concurrency();
    let (source, destination_key) = (outcome.source.clone(), outcome.destination_key.clone());
    let mut in_flight = FuturesUnordered::new();
    let mut first_error = None;
    loop {
        while first_error.is_none() && in_flight.len() < concurrency && !cx.deadline.reached() {
            let Some(n) = missing.next() else { break };
            in_flight.push(copy_part(
                cx,
                job,
                &source,
                &destination_key,
                &checkpoint,
                algorithm,
                n,
            ));
        }
        let Some(result) = in_flight.next().await else {
            break;
        };
        outcome.requests += 1;
        match result {
            Ok(part) => {
                if let Some(n) = part.part_number() {
                    done.insert(n, part);
                }
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

async fn copy_part(
    cx: &CopyContext<'_>,
    job: &CopyJob,
    source: &ObjectInfo,
    destination_key: &str,
    checkpoint: &Checkpoint,
    algorithm: Algorithm,
    number: i32,
) -> Result<CompletedPart, StepError> {
    let (start, end) = part_range(number, checkpoint.part_size, source.size);
    let out = cx
        .client
        .upload_part_copy()
        .bucket(&job.destination.bucket)
        .key(destination_key)
        .upload_id(&checkpoint.upload_id)
        .part_number(number)
        .copy_source(copy_source(
            &job.source.bucket,
            &source.key,
            source.version_id.as_deref(),
        ))
        .copy_source_range(range_header(start, end))
        .copy_source_if_match(format!("\"{}\"", source.etag))
        .send()
        .await
        .map_err(|e| {
            classify(
                &format!(
                    "UploadPartCopy part {number} of s3://{}/{}",
                    job.source.bucket, source.key
                ),
                &e,
            )
        })?;
    let result = out.copy_part_result().ok_or_else(|| {
        StepError::Internal(format!("UploadPartCopy part {number}: no CopyPartResult"))
    })?;
    let checksum = match algorithm {
        Algorithm::Crc64Nvme => result.checksum_crc64_nvme(),
        Algorithm::Crc32 => result.checksum_crc32(),
        Algorithm::Crc32c => result.checksum_crc32_c(),
        Algorithm::Sha1 => result.checksum_sha1(),
        Algorithm::Sha256 => result.checksum_sha256(),
    };
    Ok(completed_part(
        number,
        result.e_tag().unwrap_or_default(),
        algorithm,
        checksum,
    ))
}

fn completed_part(
    number: i32,
    etag: &str,
    algorithm: Algorithm,
    checksum: Option<&str>,
) -> CompletedPart {
    let checksum = checksum.map(str::to_owned);
    let b = CompletedPart::builder().part_number(number).e_tag(etag);
    match algorithm {
        Algorithm::Crc64Nvme => b.set_checksum_crc64_nvme(checksum),
        Algorithm::Crc32 => b.set_checksum_crc32(checksum),
        Algorithm::Crc32c => b.set_checksum_crc32_c(checksum),
        Algorithm::Sha1 => b.set_checksum_sha1(checksum),
        Algorithm::Sha256 => b.set_checksum_sha256(checksum),
    }
    .build()
}

/// Parts already in the upload (ListParts, paginated: 1,000 per page).
async fn finished_parts(
    cx: &CopyContext<'_>,
    job: &CopyJob,
    outcome: &CopyOutcome,
    checkpoint: &Checkpoint,
    algorithm: Algorithm,
) -> Result<Option<BTreeMap<i32, CompletedPart>>, StepError> {
    let mut done = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let page = cx
            .client
            .list_parts()
            .bucket(&job.destination.bucket)
            .key(&outcome.destination_key)
            .upload_id(&checkpoint.upload_id)
            .set_part_number_marker(marker.take())
            .send()
            .await;
        let page = match page {
            Ok(page) => page,
            Err(e) if e.code() == Some("NoSuchUpload") => return Ok(None),
            Err(e) => {
                return Err(classify(
                    &format!("ListParts of upload {}", checkpoint.upload_id),
                    &e,
                ));
            }
        };
        for p in page.parts() {
            let Some(n) = p.part_number() else { continue };
            let checksum = match algorithm {
                Algorithm::Crc64Nvme => p.checksum_crc64_nvme(),
                Algorithm::Crc32 => p.checksum_crc32(),
                Algorithm::Crc32c => p.checksum_crc32_c(),
                Algorithm::Sha1 => p.checksum_sha1(),
                Algorithm::Sha256 => p.checksum_sha256(),
            };
            done.insert(
                n,
                completed_part(n, p.e_tag().unwrap_or_default(), algorithm, checksum),
            );
        }
        match (page.is_truncated(), page.next_part_number_marker()) {
            (Some(true), Some(next)) => marker = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(Some(done))
}

async fn complete(
    cx: &CopyContext<'_>,
    job: &CopyJob,
    outcome: &mut CopyOutcome,
    done: BTreeMap<i32, CompletedPart>,
) -> Result<(), StepError> {
    let checkpoint = outcome
        .checkpoint
        .clone()
        .ok_or_else(|| StepError::Internal("multipart copy without a checkpoint".into()))?;
    let algorithm = algorithm_of(&checkpoint)?;
    let source = &outcome.source;
    // The source's own full-object value, when comparable, makes S3 check the assembled copy.
    let expected = source
        .stored_checksum()
        .filter(|c| {
            c.checksum_type() == crate::ChecksumType::FullObject && c.algorithm() == algorithm
        })
        .and(source.checksum.clone());
    let mut request = cx
        .client
        .complete_multipart_upload()
        .bucket(&job.destination.bucket)
        .key(&outcome.destination_key)
        .upload_id(&checkpoint.upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done.into_values().collect()))
                .build(),
        )
        .mpu_object_size(i64::try_from(source.size).unwrap_or(i64::MAX))
        .checksum_type(ChecksumType::FullObject);
    request = match algorithm {
        Algorithm::Crc64Nvme => request.set_checksum_crc64_nvme(expected),
        Algorithm::Crc32 => request.set_checksum_crc32(expected),
        Algorithm::Crc32c => request.set_checksum_crc32_c(expected),
        Algorithm::Sha1 | Algorithm::Sha256 => request,
    };
    outcome.requests += 1;
    let out = request.send().await.map_err(|e| {
        classify(
            &format!(
                "CompleteMultipartUpload s3://{}/{}",
                job.destination.bucket, outcome.destination_key
            ),
            &e,
        )
    })?;
    let checksum = [
        out.checksum_crc64_nvme(),
        out.checksum_crc32(),
        out.checksum_crc32_c(),
    ]
    .into_iter()
    .flatten()
    .next();
    outcome.destination = Some(CopiedObject {
        etag: out
            .e_tag()
            .map(|e| e.trim_matches('"').to_owned())
            .unwrap_or_default(),
        version_id: out.version_id().filter(|v| *v != "null").map(str::to_owned),
        checksum_algorithm: checksum.map(|_| algorithm.as_s3_name().to_owned()),
        checksum: checksum.map(str::to_owned),
        checksum_type: out.checksum_type().map(|t| t.as_str().to_owned()),
    });
    outcome.status = CopyStatus::Copied;
    outcome.checkpoint = None;
    tracing::info!(key = %outcome.destination_key, parts = outcome.parts_total, size = source.size, "multipart copy completed");
    Ok(())
}

/// Best effort: aborts the outcome's upload, if it has one (a failure is logged; the next
/// invocation or the lifecycle rule removes the upload).
async fn abort(cx: &CopyContext<'_>, job: &CopyJob, outcome: &CopyOutcome) {
    let Some(checkpoint) = &outcome.checkpoint else {
        return;
    };
    let (key, upload_id) = (&outcome.destination_key, &checkpoint.upload_id);
    let mut requests = 0;
    match abort_upload(
        cx.client,
        &job.destination.bucket,
        key,
        upload_id,
        &mut requests,
    )
    .await
    {
        Ok(Aborted::Now) => tracing::warn!(%key, %upload_id, "multipart upload aborted"),
        Ok(Aborted::AlreadyGone) => {}
        Err(e) => {
            tracing::warn!(%key, %upload_id, error = %e, "could not abort the multipart upload")
        }
    }
}

/// `x-amz-tagging`: URL-query encoded `k1=v1&k2=v2`.
fn tagging_header(tags: &[(String, String)]) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const QUERY: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    tags.iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, QUERY),
                utf8_percent_encode(v, QUERY)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_ranges_tile_the_object_with_a_short_last_part() {
        assert_eq!(part_range(1, 10, 25), (0, 9));
        assert_eq!(part_range(3, 10, 25), (20, 24));
    }

    #[test]
    fn tagging_header_encodes_keys_and_values() {
        let tags = vec![
            ("team".to_owned(), "data eng".to_owned()),
            ("a&b".to_owned(), "=".to_owned()),
        ];
        assert_eq!(tagging_header(&tags), "team=data%20eng&a%26b=%3D");
    }
}
