//! Computed verification: the CRC of a whole object from parallel ranged GETs, each streamed
//! through the hasher chunk by chunk (memory stays at concurrency x chunk, never the object),
//! combined in order without re-reading (CRCs of adjacent ranges combine;
//! `docs/aws-facts.md#full-object-and-composite-checksums`).

use futures::StreamExt;

use super::VerifyContext;
use crate::checksums::{RangeCombiner, RangeProgress};
use crate::plan::ranges;
use crate::s3::{ObjectInfo, classify};
use crate::{Algorithm, Digest, Hasher, StepError};

/// How far computing an object's CRC got in one invocation.
pub(super) enum Crc {
    Done(Digest),
    /// The deadline came first: continue from here next time.
    Partial(RangeProgress),
}

/// (CRC or progress, bytes read, requests) of `object`, pinned to its version and ETag,
/// continuing from `from`. No new range starts once the invocation deadline is near.
pub(super) async fn object_crc(
    cx: &VerifyContext<'_>,
    bucket: &str,
    object: &ObjectInfo,
    algorithm: Algorithm,
    from: RangeProgress,
) -> Result<(Crc, u64, u32), StepError> {
    let mut combiner =
        RangeCombiner::resume(algorithm, from).map_err(|e| StepError::Internal(e.to_string()))?;
    if from.next_start >= object.size {
        return Ok((Crc::Done(combiner.finish(object.size)?), 0, 0));
    }
    let chunk = cx.settings.verify_range_size();
    let rest = ranges(object.size, chunk)
        .ok_or_else(|| StepError::Internal("invalid verify range size".into()))?
        .skip_while(move |r| r.start < from.next_start);
    let deadline = cx.deadline;
    let mut results = futures::stream::iter(rest)
        .take_while(move |_| futures::future::ready(!deadline.reached()))
        .map(|range| async move {
            let out = cx
                .client
                .get_object()
                .bucket(bucket)
                .key(&object.key)
                .set_version_id(object.version_id.clone())
                .if_match(format!("\"{}\"", object.etag))
                .range(range.range_header())
                .send()
                .await
                .map_err(|e| {
                    classify(
                        &format!(
                            "GetObject {} of s3://{bucket}/{}",
                            range.range_header(),
                            object.key
                        ),
                        &e,
                    )
                })?;
            let mut hasher = Hasher::new(&[algorithm], false);
            let mut body = out.body;
            let mut read = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| {
                    StepError::S3Transient(format!("reading s3://{bucket}/{}: {e}", object.key))
                })?;
                read += chunk.len() as u64;
                hasher.update(&chunk);
            }
            if read != range.len() {
                return Err(StepError::S3Transient(format!(
                    "short read of {} ({read} bytes)",
                    range.range_header()
                )));
            }
            let digest = hasher
                .finish()
                .get(algorithm)
                .ok_or_else(|| StepError::Internal("hasher lost its digest".into()))?;
            Ok::<_, StepError>((range, digest))
        })
        .buffer_unordered(cx.settings.verify_concurrency());
    let (mut requests, mut read) = (0, 0);
    while let Some(result) = results.next().await {
        let (range, digest) = result?;
        requests += 1;
        read += range.len();
        combiner.add(range, digest)?;
    }
    if combiner.combined_bytes() < object.size {
        return Ok((Crc::Partial(combiner.progress()), read, requests));
    }
    Ok((Crc::Done(combiner.finish(object.size)?), read, requests))
}
