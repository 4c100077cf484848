//! CopyObject and the copy-source rules it shares with UploadPartCopy.
//!
//! S3 facts respected (`docs/aws-facts.md#copyobject-limits`, `#conditional-requests`,
//! `#what-a-copy-keeps`, `#checksums-on-copies`): the source may be pinned with
//! `?versionId=`; the four `x-amz-copy-source-if-*` conditions fail with 412; sources over
//! 5 GiB are refused; metadata and tags are copied unless a REPLACE directive says otherwise;
//! storage class is not inherited; the checksum is kept unless another algorithm is asked
//! for, and a composite source checksum becomes a full-object one.
//!
//! A copy does not re-read what the server already knows: it shares the source's files
//! (hard links, see [`crate::store::blobs`]), keeps the source's ETag when that is an MD5
//! (single-part sources, as on AWS), and takes its checksum from the stored values (a
//! full-object one as is, a composite CRC combined from the part CRCs, CRC64NVME from the
//! value every version records). The bytes are read, never written, only for what those
//! cannot give: another algorithm asked for with `x-amz-checksum-algorithm`, a SHA composite,
//! or the MD5 ETag of a multipart source.

use copyflow_checksum::{Algorithm, Digest, Hasher};
use s3s::dto::*;
use s3s::{S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

use crate::errors::aws;
use crate::limits::check_metadata;

use super::convert::*;
use super::{RequestInfo, Service, check_key};
use crate::event::Reason;
use crate::store::model::{ObjectVersion, Segment, StoredChecksum};
use crate::store::{internal, now_ms};

/// The largest source CopyObject accepts (5 GiB).
pub(super) const MAX_COPY_SOURCE: u64 = 5 * 1024 * 1024 * 1024;

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

/// A CopyObject's checksum and ETag as far as the source's stored values give them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Derived {
    /// The copy's checksum algorithm (its checksum is always full-object).
    algorithm: Algorithm,
    /// The base64 value, or `None` when it has to be computed from the bytes.
    value: Option<String>,
    /// The copy's ETag, or `None` when an MD5 of the bytes is needed: a multipart source's
    /// ETag is not an MD5 and a copy's is (`docs/aws-facts.md#etags`).
    etag: Option<String>,
}

/// What a copy of `src` gets without reading it, with `requested` the
/// `x-amz-checksum-algorithm` of the request (pure).
fn derive_checksums(src: &ObjectVersion, requested: Option<Algorithm>) -> Derived {
    let stored = src.checksum.as_ref();
    let source_alg = stored.and_then(|c| Algorithm::from_s3_name(&c.algorithm));
    let algorithm = requested.or(source_alg).unwrap_or(Algorithm::Crc64Nvme);
    let value = stored
        .filter(|_| source_alg == Some(algorithm))
        .and_then(|c| match c.checksum_type.as_str() {
            "FULL_OBJECT" => Some(c.value.clone()),
            _ => combined_parts(src, algorithm),
        })
        .or_else(|| {
            (algorithm == Algorithm::Crc64Nvme)
                .then(|| Digest::from_crc(algorithm, src.crc64nvme).ok())
                .flatten()
                .map(|d| d.to_base64())
        });
    Derived {
        algorithm,
        value,
        etag: (!src.etag.contains('-')).then(|| src.etag.clone()),
    }
}

/// The full-object CRC of a multipart source combined from its parts' CRCs and sizes
/// (`docs/aws-facts.md#checksums-on-copies`); `None` for a SHA algorithm or a part without a
/// checksum.
fn combined_parts(src: &ObjectVersion, algorithm: Algorithm) -> Option<String> {
    let parts = src
        .parts
        .as_ref()?
        .iter()
        .map(|p| {
            let digest = Digest::from_base64(algorithm, p.checksum.as_deref()?).ok()?;
            Some((digest, p.size))
        })
        .collect::<Option<Vec<_>>>()?;
    copyflow_checksum::combine_full_object(algorithm, &parts)
        .ok()
        .map(|d| d.to_base64())
}

impl Service {
    /// The copy's segments, checksum and ETag: the source's files shared through hard links
    /// where the file system allows (copied otherwise), read only for what `derived` leaves
    /// to compute.
    async fn copy_bytes(
        &self,
        src: &ObjectVersion,
        derived: &Derived,
    ) -> S3Result<(Vec<Segment>, StoredChecksum, String)> {
        let blobs = &self.store.blobs;
        let compute: Vec<Algorithm> = derived
            .value
            .is_none()
            .then_some(derived.algorithm)
            .into_iter()
            .collect();
        let md5 = derived.etag.is_none();
        let read = md5 || !compute.is_empty();
        let mut hasher = Hasher::new(&compute, md5);
        let segments = match blobs.link(&src.segments).await {
            Some(linked) => {
                if read && let Err(e) = blobs.hash(&linked, 0..src.size, &mut hasher).await {
                    blobs.remove(&linked).await;
                    return Err(internal(e));
                }
                linked
            }
            None => vec![
                blobs
                    .copy_range(&src.segments, 0..src.size, read.then_some(&mut hasher))
                    .await
                    .map_err(internal)?,
            ],
        };
        let hashes = hasher.finish();
        let value = derived.value.clone().unwrap_or_else(|| {
            hashes
                .get(derived.algorithm)
                .map(|d| d.to_base64())
                .unwrap_or_default()
        });
        let etag = derived
            .etag
            .clone()
            .or_else(|| hashes.md5().map(|m| copyflow_checksum::md5_etag(&m)))
            .unwrap_or_default();
        let checksum = StoredChecksum {
            algorithm: derived.algorithm.as_s3_name().to_owned(),
            checksum_type: "FULL_OBJECT".to_owned(),
            value,
        };
        Ok((segments, checksum, etag))
    }

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

        let derived = derive_checksums(&src, requested);
        let (segments, checksum, etag_value) = self.copy_bytes(&src, &derived).await?;
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
            segments,
            headers,
            metadata,
            tags,
            storage_class: storage_class(input.storage_class.as_ref()),
            checksum: Some(checksum),
            crc64nvme: src.crc64nvme,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::model::PartRecord;

    /// A version of `parts` (bytes), stored as a single PUT with `checksum` when there is one
    /// part, as a multipart object with per-part checksums in `checksum`'s algorithm otherwise.
    fn version(parts: &[&[u8]], checksum: Option<(Algorithm, &str)>) -> ObjectVersion {
        let all: Vec<u8> = parts.concat();
        let crc64 = Digest::compute(Algorithm::Crc64Nvme, &all);
        let (etag, parts_records) = if parts.len() == 1 {
            (md5_hex(&all), None)
        } else {
            let records = parts
                .iter()
                .zip(1..)
                .map(|(p, number)| PartRecord {
                    number,
                    size: p.len() as u64,
                    etag: md5_hex(p),
                    checksum: checksum.map(|(a, _)| Digest::compute(a, p).to_base64()),
                    crc64nvme: None,
                })
                .collect();
            (
                format!("{}-{}", md5_hex(b"not relevant"), parts.len()),
                Some(records),
            )
        };
        ObjectVersion {
            version_id: "null".into(),
            delete_marker: false,
            last_modified_ms: 0,
            size: all.len() as u64,
            etag,
            segments: vec![],
            headers: Default::default(),
            metadata: Default::default(),
            tags: vec![],
            storage_class: "STANDARD".into(),
            checksum: checksum.map(|(a, checksum_type)| StoredChecksum {
                algorithm: a.as_s3_name().to_owned(),
                checksum_type: checksum_type.to_owned(),
                value: match checksum_type {
                    "COMPOSITE" => {
                        let digests: Vec<Digest> =
                            parts.iter().map(|p| Digest::compute(a, p)).collect();
                        copyflow_checksum::composite(a, &digests).unwrap_or_default()
                    }
                    _ => Digest::compute(a, &all).to_base64(),
                },
            }),
            crc64nvme: crc64.as_u64().unwrap_or_default(),
            parts: parts_records,
        }
    }

    fn md5_hex(data: &[u8]) -> String {
        let mut h = Hasher::new(&[], true);
        h.update(data);
        copyflow_checksum::md5_etag(&h.finish().md5().unwrap_or_default())
    }

    fn full(a: Algorithm, data: &[u8]) -> Option<String> {
        Some(Digest::compute(a, data).to_base64())
    }

    #[test]
    fn a_single_part_source_gives_its_checksum_and_etag_without_a_read() {
        let src = version(&[b"hello world"], Some((Algorithm::Crc32c, "FULL_OBJECT")));
        for requested in [None, Some(Algorithm::Crc32c)] {
            let d = derive_checksums(&src, requested);
            assert_eq!(d.algorithm, Algorithm::Crc32c);
            assert_eq!(d.value, full(Algorithm::Crc32c, b"hello world"));
            assert_eq!(d.etag.as_deref(), Some(md5_hex(b"hello world").as_str()));
        }
    }

    #[test]
    fn crc64nvme_is_known_for_every_source() {
        let src = version(&[b"hello world"], Some((Algorithm::Sha256, "FULL_OBJECT")));
        let d = derive_checksums(&src, Some(Algorithm::Crc64Nvme));
        assert_eq!(d.value, full(Algorithm::Crc64Nvme, b"hello world"));
        let unrecorded = ObjectVersion {
            checksum: None,
            ..src
        };
        let d = derive_checksums(&unrecorded, None);
        assert_eq!(d.algorithm, Algorithm::Crc64Nvme);
        assert_eq!(d.value, full(Algorithm::Crc64Nvme, b"hello world"));
    }

    #[test]
    fn another_algorithm_asked_for_is_left_to_compute() {
        let src = version(&[b"hello world"], Some((Algorithm::Crc32, "FULL_OBJECT")));
        for other in [Algorithm::Crc32c, Algorithm::Sha1, Algorithm::Sha256] {
            let d = derive_checksums(&src, Some(other));
            assert_eq!((d.algorithm, d.value), (other, None));
            assert!(d.etag.is_some(), "the ETag is still the source's");
        }
    }

    #[test]
    fn a_composite_crc_source_gives_the_full_object_crc_of_its_parts() {
        let parts: [&[u8]; 3] = [b"hello ", b"", b"composite world"];
        for a in [Algorithm::Crc32, Algorithm::Crc32c] {
            let src = version(&parts, Some((a, "COMPOSITE")));
            let d = derive_checksums(&src, None);
            assert_eq!(d.algorithm, a);
            assert_eq!(d.value, full(a, b"hello composite world"));
            assert_eq!(
                d.etag, None,
                "a multipart ETag is not an MD5: the copy needs one"
            );
        }
    }

    #[test]
    fn a_composite_sha_source_or_a_part_without_checksum_is_left_to_compute() {
        let parts: [&[u8]; 2] = [b"hello ", b"world"];
        let sha = version(&parts, Some((Algorithm::Sha256, "COMPOSITE")));
        assert_eq!(derive_checksums(&sha, None).value, None);
        let mut partial = version(&parts, Some((Algorithm::Crc32, "COMPOSITE")));
        if let Some(p) = partial.parts.as_mut() {
            p[1].checksum = None;
        }
        assert_eq!(derive_checksums(&partial, None).value, None);
    }

    #[test]
    fn a_full_object_multipart_source_keeps_its_value_and_needs_an_md5() {
        let parts: [&[u8]; 2] = [b"hello ", b"world"];
        let src = version(&parts, Some((Algorithm::Crc64Nvme, "FULL_OBJECT")));
        let d = derive_checksums(&src, None);
        assert_eq!(d.value, full(Algorithm::Crc64Nvme, b"hello world"));
        assert_eq!(d.etag, None);
    }
}
