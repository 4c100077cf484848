//! One CopyObject, for objects up to the multipart threshold.
//!
//! S3 copies metadata, content headers and tags (`COPY` directives); storage class is not
//! inherited, so it is set explicitly (the configured one, or the source's); the checksum is
//! recomputed by S3 in the source's algorithm (`docs/aws-facts.md#checksums-on-copies`,
//! `#what-a-copy-keeps`).

use aws_sdk_s3::types::{ChecksumAlgorithm, MetadataDirective, StorageClass, TaggingDirective};

use super::{CopiedObject, CopyContext, CopyMethod, CopyOutcome, CopyStatus, target_algorithm};
use crate::keys::copy_source;
use crate::s3::{ObjectInfo, classify};
use crate::{CopyJob, StepError};

pub(super) async fn copy_object(
    cx: &CopyContext<'_>,
    job: &CopyJob,
    source: ObjectInfo,
    destination_key: String,
    requests: u32,
) -> Result<CopyOutcome, StepError> {
    let algorithm = target_algorithm(&source, false);
    let storage_class = cx
        .settings
        .storage_class()
        .map(str::to_owned)
        .or_else(|| source.storage_class.clone())
        .unwrap_or_else(|| "STANDARD".to_owned());
    let out = cx
        .client
        .copy_object()
        .bucket(&job.destination.bucket)
        .key(&destination_key)
        .copy_source(copy_source(
            &job.source.bucket,
            &source.key,
            source.version_id.as_deref(),
        ))
        .copy_source_if_match(format!("\"{}\"", source.etag))
        .metadata_directive(MetadataDirective::Copy)
        .tagging_directive(TaggingDirective::Copy)
        .storage_class(StorageClass::from(storage_class.as_str()))
        .checksum_algorithm(ChecksumAlgorithm::from(algorithm.as_s3_name()))
        .send()
        .await
        .map_err(|e| {
            classify(
                &format!(
                    "CopyObject s3://{}/{} -> s3://{}/{destination_key}",
                    job.source.bucket, source.key, job.destination.bucket
                ),
                &e,
            )
        })?;
    let result = out.copy_object_result();
    let checksum = result.and_then(|r| {
        [
            r.checksum_crc64_nvme(),
            r.checksum_crc32(),
            r.checksum_crc32_c(),
            r.checksum_sha256(),
            r.checksum_sha1(),
        ]
        .into_iter()
        .flatten()
        .next()
    });
    let destination = CopiedObject {
        etag: result
            .and_then(|r| r.e_tag())
            .map(|e| e.trim_matches('"').to_owned())
            .unwrap_or_default(),
        version_id: out.version_id().filter(|v| *v != "null").map(str::to_owned),
        checksum_algorithm: checksum.map(|_| algorithm.as_s3_name().to_owned()),
        checksum: checksum.map(str::to_owned),
        checksum_type: result
            .and_then(|r| r.checksum_type())
            .map(|t| t.as_str().to_owned()),
    };
    tracing::info!(source = %source.key, destination = %destination_key, size = source.size, "copied with CopyObject");
    Ok(CopyOutcome {
        status: CopyStatus::Copied,
        method: CopyMethod::CopyObject,
        source,
        destination_key,
        destination: Some(destination),
        checkpoint: None,
        source_tags: None,
        parts_total: 1,
        parts_done: 1,
        part_size_bytes: None,
        requests: requests + 1,
        aborted_stale_uploads: None,
    })
}
