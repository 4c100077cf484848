//! CopyObject and the copy-source rules it shares with UploadPartCopy.
//!
//! S3 facts respected (`docs/aws-facts.md#copyobject-limits`, `#conditional-requests`,
//! `#what-a-copy-keeps`, `#checksums-on-copies`): the source may be pinned with
//! `?versionId=`; the four `x-amz-copy-source-if-*` conditions fail with 412; sources over
//! 5 GiB are refused; metadata and tags are copied unless a REPLACE directive says otherwise;
//! storage class is not inherited; the checksum is kept unless another algorithm is asked
//! for, and a composite source checksum becomes a full-object one.

use copyflow_checksum::{Algorithm, Hasher};
use s3s::dto::*;
use s3s::{S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

use crate::errors::aws;
use crate::limits::check_metadata;

use super::convert::*;
use super::{RequestInfo, Service, check_key};
use crate::event::Reason;
use crate::store::model::{ObjectVersion, StoredChecksum};
use crate::store::now_ms;

/// The largest source CopyObject accepts (5 GiB).
pub const MAX_COPY_SOURCE: u64 = 5 * 1024 * 1024 * 1024;

pub(super) struct CopySourceConditions<'a> {
    pub if_match: Option<&'a ETagCondition>,
    pub if_none_match: Option<&'a ETagCondition>,
    pub if_modified_since: Option<&'a Timestamp>,
    pub if_unmodified_since: Option<&'a Timestamp>,
}

/// `x-amz-copy-source-if-*`: S3's combination rules (if-match true wins over
/// if-unmodified-since false; if-none-match false fails even when if-modified-since holds).
pub(super) fn check_copy_source_conditions(
    v: &ObjectVersion,
    c: &CopySourceConditions<'_>,
) -> S3Result<()> {
    let modified = seconds(v.last_modified_ms);
    match c.if_match {
        Some(cond) if !etag_matches(cond, &v.etag) => return Err(precondition_failed()),
        Some(_) => {}
        None => {
            if let Some(t) = c.if_unmodified_since
                && modified > seconds(timestamp_ms(t))
            {
                return Err(precondition_failed());
            }
        }
    }
    match c.if_none_match {
        Some(cond) if etag_matches(cond, &v.etag) => return Err(precondition_failed()),
        Some(_) => {}
        None => {
            // A date in the future is ignored, as HTTP and S3 do.
            if let Some(t) = c.if_modified_since
                && seconds(timestamp_ms(t)) <= seconds(now_ms())
                && modified <= seconds(timestamp_ms(t))
            {
                return Err(precondition_failed());
            }
        }
    }
    Ok(())
}

/// Destination `If-Match` / `If-None-Match` on CopyObject (not in the s3s 0.14 model, so
/// read from the headers).
fn destination_condition(headers: &http::HeaderMap, name: &str) -> S3Result<Option<ETagCondition>> {
    headers
        .get(name)
        .map(|v| {
            ETagCondition::parse_http_header(v.as_bytes())
                .map_err(|_| s3_error!(InvalidArgument, "invalid {name} header"))
        })
        .transpose()
}

impl Service {
    /// Resolves `x-amz-copy-source` to a version and checks the copy-source conditions.
    pub(super) fn copy_source(
        &self,
        source: &CopySource,
        conditions: &CopySourceConditions<'_>,
    ) -> S3Result<(String, ObjectVersion, bool)> {
        let CopySource::Bucket {
            bucket,
            key,
            version_id,
        } = source
        else {
            return Err(s3_error!(
                NotImplemented,
                "access point copy sources are not supported"
            ));
        };
        let (v, versioned) = self.read_version(bucket, key, version_id.as_deref())?;
        check_copy_source_conditions(&v, conditions)?;
        Ok((bucket.to_string(), v, versioned))
    }

    pub(super) async fn copy_object_impl(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let info = RequestInfo::of(&req);
        let dest_if_match = destination_condition(&req.headers, "if-match")?;
        let dest_if_none_match = destination_condition(&req.headers, "if-none-match")?;
        let input = req.input;
        check_key(&input.key)?;
        let dest = self.store.bucket(&input.bucket)?;
        let conditions = CopySourceConditions {
            if_match: input.copy_source_if_match.as_ref(),
            if_none_match: input.copy_source_if_none_match.as_ref(),
            if_modified_since: input.copy_source_if_modified_since.as_ref(),
            if_unmodified_since: input.copy_source_if_unmodified_since.as_ref(),
        };
        let (src_bucket, src, src_versioned) = self.copy_source(&input.copy_source, &conditions)?;
        if src.size > MAX_COPY_SOURCE {
            return Err(s3_error!(
                InvalidRequest,
                "The specified copy source is larger than the maximum allowable size for a copy source: {MAX_COPY_SOURCE}"
            ));
        }
        let replace_metadata = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        let replace_tags = input
            .tagging_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == TaggingDirective::REPLACE);
        let requested = input
            .checksum_algorithm
            .as_ref()
            .map(|a| algorithm(a.as_str()))
            .transpose()?;
        let CopySource::Bucket { key: src_key, .. } = &input.copy_source else {
            return Err(aws(S3ErrorCode::NotImplemented));
        };
        let same_object = src_bucket == input.bucket && **src_key == *input.key;
        if same_object
            && !replace_metadata
            && input.storage_class.is_none()
            && requested.is_none()
            && input.website_redirect_location.is_none()
        {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }

        // Which checksum the copy gets, and whether the bytes must be read to compute it.
        let stored = src.checksum.clone();
        let source_alg = stored
            .as_ref()
            .and_then(|c| Algorithm::from_s3_name(&c.algorithm));
        let keep = stored.as_ref().filter(|c| {
            c.checksum_type == "FULL_OBJECT" && requested.is_none_or(|r| Some(r) == source_alg)
        });
        let target_alg = requested.or(source_alg).unwrap_or(Algorithm::Crc64Nvme);
        // A multipart source's ETag is not an MD5; a copy's is, so it must be computed.
        let needs_md5 = src.etag.contains('-');
        let needs_read = keep.is_none() || needs_md5;

        let mut hasher = Hasher::new(
            &super::body::dedup(&[target_alg, Algorithm::Crc64Nvme]),
            needs_md5,
        );
        let segment = self
            .store
            .blobs
            .copy_range(
                &src.segments,
                0..src.size,
                needs_read.then_some(&mut hasher),
            )
            .await
            .map_err(crate::store::internal)?;
        let (checksum, etag_value, crc64) = if needs_read {
            let hashes = hasher.finish();
            let value = hashes
                .get(target_alg)
                .map(|d| d.to_base64())
                .unwrap_or_default();
            let checksum = keep.cloned().unwrap_or(StoredChecksum {
                algorithm: target_alg.as_s3_name().to_owned(),
                checksum_type: "FULL_OBJECT".to_owned(),
                value,
            });
            let etag_value = hashes
                .md5()
                .map_or_else(|| src.etag.clone(), |m| copyflow_checksum::md5_etag(&m));
            let crc = hashes
                .get(Algorithm::Crc64Nvme)
                .and_then(|d| d.as_u64())
                .unwrap_or(src.crc64nvme);
            (Some(checksum), etag_value, crc)
        } else {
            (keep.cloned(), src.etag.clone(), src.crc64nvme)
        };

        let (headers, metadata) = if replace_metadata {
            let h = headers_in(
                input.content_type,
                input.cache_control,
                input.content_disposition,
                input.content_encoding,
                input.content_language,
                input.expires.as_ref(),
                input.website_redirect_location,
            );
            check_metadata(input.metadata.iter().flatten())?;
            (h, metadata_in(input.metadata))
        } else {
            // The redirect location is never copied by the directive.
            let mut h = src.headers.clone();
            h.website_redirect_location = input.website_redirect_location;
            (h, src.metadata.clone())
        };
        let tags = if replace_tags {
            tags_from_header(input.tagging.as_deref())?
        } else {
            src.tags.clone()
        };
        let version = ObjectVersion {
            version_id: String::new(),
            delete_marker: false,
            last_modified_ms: now_ms(),
            size: src.size,
            etag: etag_value,
            segments: vec![segment.clone()],
            headers,
            metadata,
            tags,
            storage_class: storage_class(input.storage_class.as_ref()),
            checksum,
            crc64nvme: crc64,
            parts: None,
        };
        let (v, versioned) = self
            .commit_object(
                &info,
                &dest,
                &input.key,
                version,
                (dest_if_match.as_ref(), dest_if_none_match.as_ref()),
                Reason::CopyObject,
            )
            .await?;
        let mut result = CopyObjectResult {
            e_tag: Some(etag(&v.etag)),
            last_modified: Some(timestamp(v.last_modified_ms)),
            checksum_type: checksum_type(v.checksum.as_ref()),
            ..Default::default()
        };
        set_checksum_fields!(result, ChecksumFields::from_stored(v.checksum.as_ref()));
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(result),
            copy_source_version_id: src_versioned.then(|| src.version_id.clone()),
            version_id: versioned.then(|| v.version_id.clone()),
            ..Default::default()
        }))
    }
}
