//! Computed verification: the CRC of a whole object from parallel ranged GETs, each streamed
//! through the hasher chunk by chunk (memory stays at concurrency x chunk, never the object),
//! combined in order without re-reading (CRCs of adjacent ranges combine; S3-FACTS §4).

use futures::StreamExt;

use super::VerifyContext;
use crate::checksums::RangeCombiner;
use crate::plan::ranges;
use crate::s3::{ObjectInfo, classify};
use crate::{Algorithm, Digest, Hasher, StepError};

/// (CRC, bytes read, requests) of `object`, pinned to its version and ETag.
pub(super) async fn object_crc(
    cx: &VerifyContext<'_>,
    bucket: &str,
    object: &ObjectInfo,
    algorithm: Algorithm,
) -> Result<(Digest, u64, u32), StepError> {
    let mut combiner =
        RangeCombiner::new(algorithm).map_err(|e| StepError::Internal(e.to_string()))?;
    if object.size == 0 {
        return Ok((combiner.finish(0)?, 0, 0));
    }
    let chunk = cx.settings.verify.range_size_bytes.max(1);
    let all = ranges(object.size, chunk)
        .ok_or_else(|| StepError::Internal("invalid verify range size".into()))?;
    let mut results = futures::stream::iter(all)
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
        .buffer_unordered(cx.settings.verify.max_concurrency.max(1));
    let mut requests = 0;
    while let Some(result) = results.next().await {
        let (range, digest) = result?;
        requests += 1;
        combiner.add(range, digest)?;
    }
    Ok((combiner.finish(object.size)?, object.size, requests))
}
