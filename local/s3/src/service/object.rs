//! Object reads and writes: PutObject (with checksum validation), GetObject/HeadObject
//! (ranges, partNumber, conditions, ChecksumMode), DeleteObject(s), ListObjects(V2).

use std::ops::Range;

use copyflow_checksum::Algorithm;
use futures::StreamExt;
use s3s::dto::*;
use s3s::{S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

use crate::errors::aws;
use crate::limits::check_metadata;

use super::body::{Claims, trailer_algorithm};
use super::convert::*;
use super::{RequestInfo, Service, check_key};
use crate::event::Reason;
use crate::store::listing::{self, Cursor, Entry};
use crate::store::model::{ObjectVersion, StoredChecksum, Versioning};
use crate::store::now_ms;

/// Conditional-write rules for PutObject / CompleteMultipartUpload / CopyObject destinations.
pub(super) fn check_write_conditions(
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    current: Option<&ObjectVersion>,
) -> S3Result<()> {
    if let Some(cond) = if_none_match {
        if !cond.is_any() {
            return Err(s3_error!(NotImplemented, "If-None-Match only supports *"));
        }
        if current.is_some() {
            return Err(precondition_failed());
        }
    }
    if let Some(cond) = if_match {
        match current {
            None => return Err(aws(S3ErrorCode::NoSuchKey)),
            Some(v) if !etag_matches(cond, &v.etag) => return Err(precondition_failed()),
            Some(_) => {}
        }
    }
    Ok(())
}

/// GET/HEAD conditions in RFC 9110 order, as S3 applies them.
fn check_read_conditions(
    v: &ObjectVersion,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
) -> S3Result<()> {
    let modified = seconds(v.last_modified_ms);
    if let Some(c) = if_match {
        if !etag_matches(c, &v.etag) {
            return Err(precondition_failed());
        }
    } else if let Some(t) = if_unmodified_since
        && modified > seconds(timestamp_ms(t))
    {
        return Err(precondition_failed());
    }
    if let Some(c) = if_none_match {
        if etag_matches(c, &v.etag) {
            return Err(s3_error!(NotModified));
        }
    } else if let Some(t) = if_modified_since
        && seconds(timestamp_ms(t)) <= seconds(now_ms())
        && modified <= seconds(timestamp_ms(t))
    {
        return Err(s3_error!(NotModified));
    }
    Ok(())
}

/// What a GET or HEAD serves: the byte range, whether it is partial, and the part count.
struct ReadPlan {
    range: Range<u64>,
    partial: bool,
    parts_count: Option<i32>,
    part_checksum: Option<ChecksumFields>,
}

fn plan_read(
    v: &ObjectVersion,
    part_number: Option<i32>,
    range: Option<&s3s::dto::Range>,
) -> S3Result<ReadPlan> {
    let parts_count = v
        .parts
        .as_ref()
        .map(|p| i32::try_from(p.len()).unwrap_or(i32::MAX));
    if let Some(n) = part_number {
        if range.is_some() {
            return Err(s3_error!(
                InvalidRequest,
                "Cannot specify both Range header and partNumber query parameter"
            ));
        }
        let Some(parts) = &v.parts else {
            if n == 1 {
                return Ok(ReadPlan {
                    range: 0..v.size,
                    partial: false,
                    parts_count,
                    part_checksum: None,
                });
            }
            return Err(invalid_part_number());
        };
        let idx = usize::try_from(n - 1).ok().filter(|i| *i < parts.len());
        let Some(idx) = idx else {
            return Err(invalid_part_number());
        };
        let start: u64 = parts[..idx].iter().map(|p| p.size).sum();
        let algorithm = v
            .checksum
            .as_ref()
            .and_then(|c| Algorithm::from_s3_name(&c.algorithm));
        let part_checksum = algorithm
            .zip(parts[idx].checksum.clone())
            .map(|(a, c)| ChecksumFields::from_value(a, c));
        return Ok(ReadPlan {
            range: start..start + parts[idx].size,
            partial: true,
            parts_count,
            part_checksum,
        });
    }
    match range {
        None => Ok(ReadPlan {
            range: 0..v.size,
            partial: false,
            parts_count,
            part_checksum: None,
        }),
        Some(r) => {
            let range = r
                .check(v.size)
                .map_err(|_| s3_error!(InvalidRange, "The requested range is not satisfiable"))?;
            Ok(ReadPlan {
                range,
                partial: true,
                parts_count,
                part_checksum: None,
            })
        }
    }
}

/// Fills the headers GET and HEAD share from a version.
macro_rules! describe_version {
    ($out:expr, $v:expr, $versioned:expr) => {{
        let v: &ObjectVersion = $v;
        $out.e_tag = Some(etag(&v.etag));
        $out.last_modified = Some(timestamp(v.last_modified_ms));
        $out.content_type = v
            .headers
            .content_type
            .clone()
            .or_else(|| Some("binary/octet-stream".to_owned()));
        $out.cache_control = v.headers.cache_control.clone();
        $out.content_disposition = v.headers.content_disposition.clone();
        $out.content_encoding = v.headers.content_encoding.clone();
        $out.content_language = v.headers.content_language.clone();
        $out.expires = expires_out(&v.headers);
        $out.website_redirect_location = v.headers.website_redirect_location.clone();
        $out.metadata = metadata_out(&v.metadata);
        // S3 omits x-amz-storage-class for STANDARD.
        $out.storage_class =
            (v.storage_class != "STANDARD").then(|| StorageClass::from(v.storage_class.clone()));
        $out.version_id = $versioned.then(|| v.version_id.clone());
        $out.accept_ranges = Some("bytes".to_owned());
    }};
}

/// GET and HEAD share everything but the body: resolve the version, apply the conditions,
/// plan the range or part, and describe what is returned. Checksums describe exactly what
/// is returned: the whole object, or the requested part (never a byte range).
macro_rules! read_response {
    ($service:expr, $input:expr, $out:ty) => {{
        let input = $input;
        let (v, versioned) =
            $service.read_version(&input.bucket, &input.key, input.version_id.as_deref())?;
        check_read_conditions(
            &v,
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
            input.if_modified_since.as_ref(),
            input.if_unmodified_since.as_ref(),
        )?;
        let plan = plan_read(&v, input.part_number, input.range.as_ref())?;
        let mut out = <$out>::default();
        describe_version!(out, &v, versioned);
        out.parts_count = plan.parts_count.filter(|_| input.part_number.is_some());
        out.content_length = i64::try_from(plan.range.end - plan.range.start).ok();
        if plan.partial {
            out.content_range = Some(format!(
                "bytes {}-{}/{}",
                plan.range.start,
                plan.range.end.saturating_sub(1),
                v.size
            ));
        }
        if input
            .checksum_mode
            .as_ref()
            .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED)
        {
            if !plan.partial {
                set_checksum_fields!(out, ChecksumFields::from_stored(v.checksum.as_ref()));
                out.checksum_type = checksum_type(v.checksum.as_ref());
            } else if let Some(fields) = plan.part_checksum.clone() {
                set_checksum_fields!(out, fields);
            }
        }
        (out, v, plan)
    }};
}

impl Service {
    /// The version a read addresses, with S3's errors for missing keys and delete markers.
    pub(super) fn read_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> S3Result<(ObjectVersion, bool)> {
        let b = self.store.bucket(bucket)?;
        let versioned = b.versioning() != Versioning::Unversioned;
        let Some(v) = b.version(key, version_id)? else {
            return Err(if version_id.is_some() {
                aws(S3ErrorCode::NoSuchVersion)
            } else {
                aws(S3ErrorCode::NoSuchKey)
            });
        };
        if v.delete_marker {
            let mut err = if version_id.is_some() {
                s3_error!(
                    MethodNotAllowed,
                    "The specified method is not allowed against this resource."
                )
            } else {
                aws(S3ErrorCode::NoSuchKey)
            };
            let mut headers = http::HeaderMap::new();
            headers.insert(
                "x-amz-delete-marker",
                http::HeaderValue::from_static("true"),
            );
            if let Ok(id) = http::HeaderValue::from_str(&v.version_id) {
                headers.insert("x-amz-version-id", id);
            }
            err.set_headers(headers);
            return Err(err);
        }
        Ok((v, versioned))
    }

    pub(super) async fn put_object_impl(
        &self,
        mut req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let info = RequestInfo::of(&req);
        check_key(&req.input.key)?;
        check_metadata(req.input.metadata.iter().flatten())?;
        if req.input.write_offset_bytes.is_some() || req.input.sse_customer_key.is_some() {
            return Err(s3_error!(
                NotImplemented,
                "appends and SSE-C are not supported by copyflow-s3"
            ));
        }
        let bucket = self.store.bucket(&req.input.bucket)?;
        let claimed = checksum_fields_of!(req.input).single()?;
        let trailer = trailer_algorithm(&req)?;
        let requested = req
            .input
            .checksum_algorithm
            .as_ref()
            .map(|a| algorithm(a.as_str()))
            .transpose()?;
        // Objects uploaded without a checksum get CRC64NVME, as S3 does since Dec 2024.
        let alg = claimed
            .as_ref()
            .map(|(a, _)| *a)
            .or(trailer)
            .or(requested)
            .unwrap_or(Algorithm::Crc64Nvme);
        let tags = tags_from_header(req.input.tagging.as_deref())?;

        let claims = Claims {
            content_length: req.input.content_length,
            content_md5: req.input.content_md5.as_deref(),
            header: claimed,
            trailer,
            max_size: None,
        };
        let body = req.input.body.take();
        let (segment, hashes) = self.receive_body(&req, body, &claims, &[alg]).await?;
        let value = hashes.get(alg).map(|d| d.to_base64()).unwrap_or_default();
        let crc64 = hashes
            .get(Algorithm::Crc64Nvme)
            .and_then(|d| d.as_u64())
            .unwrap_or(0);
        let input = &mut req.input;
        let version = ObjectVersion {
            version_id: String::new(),
            delete_marker: false,
            last_modified_ms: now_ms(),
            size: segment.size,
            etag: copyflow_checksum::md5_etag(&hashes.md5().unwrap_or_default()),
            segments: vec![segment.clone()],
            headers: headers_in(
                input.content_type.take(),
                input.cache_control.take(),
                input.content_disposition.take(),
                without_aws_chunked(input.content_encoding.take()),
                input.content_language.take(),
                input.expires.as_ref(),
                input.website_redirect_location.take(),
            ),
            metadata: metadata_in(input.metadata.take()),
            tags,
            storage_class: storage_class(input.storage_class.as_ref()),
            checksum: Some(StoredChecksum {
                algorithm: alg.as_s3_name().to_owned(),
                checksum_type: "FULL_OBJECT".to_owned(),
                value: value.clone(),
            }),
            crc64nvme: crc64,
            parts: None,
        };
        let (if_match, if_none_match) = (input.if_match.take(), input.if_none_match.take());
        let (v, versioned) = self
            .commit_object(
                &info,
                &bucket,
                &input.key,
                version,
                (if_match.as_ref(), if_none_match.as_ref()),
                Reason::PutObject,
            )
            .await?;
        let mut out = PutObjectOutput {
            e_tag: Some(etag(&v.etag)),
            checksum_type: checksum_type(v.checksum.as_ref()),
            size: i64::try_from(v.size).ok(),
            version_id: versioned.then(|| v.version_id.clone()),
            ..Default::default()
        };
        set_checksum_fields!(out, ChecksumFields::from_value(alg, value));
        Ok(S3Response::new(out))
    }

    pub(super) fn get_object_impl(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let (mut out, v, plan) = read_response!(self, &req.input, GetObjectOutput);
        out.tag_count = (!v.tags.is_empty()).then(|| i32::try_from(v.tags.len()).unwrap_or(0));
        let stream = self.store.blobs.read_range(&v.segments, plan.range);
        out.body = Some(StreamingBlob::wrap(
            stream.map(|r| r.map_err(std::io::Error::other)),
        ));
        Ok(S3Response::new(out))
    }

    pub(super) fn head_object_impl(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let (out, _, _) = read_response!(self, &req.input, HeadObjectOutput);
        Ok(S3Response::new(out))
    }

    pub(super) async fn delete_object_impl(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = &req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        if let Some(cond) = &input.if_match {
            let current = bucket
                .version(&input.key, None)?
                .filter(|v| !v.delete_marker);
            match current {
                None => return Err(aws(S3ErrorCode::NoSuchKey)),
                Some(v) if !etag_matches(cond, &v.etag) => return Err(precondition_failed()),
                Some(_) => {}
            }
        }
        let (outcome, freed) = bucket.delete(&input.key, input.version_id.as_deref())?;
        self.store.blobs.remove(&freed).await;
        Ok(S3Response::new(DeleteObjectOutput {
            delete_marker: outcome.delete_marker.then_some(true),
            version_id: outcome.version_id,
            ..Default::default()
        }))
    }

    pub(super) async fn delete_objects_impl(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let bucket = self.store.bucket(&req.input.bucket)?;
        let quiet = req.input.delete.quiet.unwrap_or(false);
        if req.input.delete.objects.len() > 1000 {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for obj in &req.input.delete.objects {
            match bucket.delete(&obj.key, obj.version_id.as_deref()) {
                Ok((outcome, freed)) => {
                    self.store.blobs.remove(&freed).await;
                    if !quiet {
                        let marker_id = outcome
                            .delete_marker
                            .then(|| outcome.version_id.clone())
                            .flatten();
                        deleted.push(DeletedObject {
                            key: Some(obj.key.clone()),
                            version_id: obj.version_id.clone(),
                            delete_marker: outcome.delete_marker.then_some(true),
                            delete_marker_version_id: if obj.version_id.is_none() {
                                marker_id
                            } else {
                                None
                            },
                        });
                    }
                }
                Err(e) => errors.push(Error {
                    code: Some(e.code().as_str().to_owned()),
                    key: Some(obj.key.clone()),
                    message: e.message().map(str::to_owned),
                    version_id: obj.version_id.clone(),
                }),
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: Some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        }))
    }

    fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        max_keys: Option<i32>,
        after: Option<Cursor>,
        url_encode: bool,
    ) -> S3Result<(Vec<Object>, Vec<CommonPrefix>, Option<Cursor>)> {
        let b = self.store.bucket(bucket)?;
        let max_keys = usize::try_from(max_keys.unwrap_or(1000).clamp(0, 1000)).unwrap_or(1000);
        let query = listing::Query {
            prefix,
            delimiter,
            max_keys,
            after,
        };
        let mut rows = b.rows(listing::start(&query), max_keys.saturating_add(1));
        let page = listing::list(rows.by_ref(), &query, |rec| rec.live().is_some());
        rows.finish()?;
        let enc = |s: &str| {
            if url_encode {
                url_encode_key(s)
            } else {
                s.to_owned()
            }
        };
        let mut objects = Vec::new();
        let mut prefixes = Vec::new();
        for entry in page.entries {
            match entry {
                Entry::Object(key, rec) => {
                    let Some(v) = rec.live() else { continue };
                    let key = key.as_str();
                    let algorithm = v
                        .checksum
                        .as_ref()
                        .map(|c| vec![ChecksumAlgorithm::from(c.algorithm.clone())]);
                    objects.push(Object {
                        key: Some(enc(key)),
                        e_tag: Some(etag(&v.etag)),
                        last_modified: Some(timestamp(v.last_modified_ms)),
                        size: i64::try_from(v.size).ok(),
                        storage_class: Some(ObjectStorageClass::from(v.storage_class.clone())),
                        checksum_algorithm: algorithm,
                        checksum_type: checksum_type(v.checksum.as_ref()),
                        ..Default::default()
                    });
                }
                Entry::CommonPrefix(p) => prefixes.push(CommonPrefix {
                    prefix: Some(enc(&p)),
                }),
            }
        }
        Ok((objects, prefixes, page.next))
    }

    pub(super) fn list_objects_v2_impl(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let url = input
            .encoding_type
            .as_ref()
            .is_some_and(|e| e.as_str() == EncodingType::URL);
        let after = match (&input.continuation_token, &input.start_after) {
            (Some(token), _) => Some(Cursor::from_token(token).ok_or_else(|| {
                s3_error!(
                    InvalidArgument,
                    "The continuation token provided is incorrect"
                )
            })?),
            (None, Some(start)) => Some(Cursor::Key(start.clone())),
            (None, None) => None,
        };
        let prefix = input.prefix.clone().unwrap_or_default();
        let (contents, prefixes, next) = self.list_page(
            &input.bucket,
            &prefix,
            input.delimiter.as_deref(),
            input.max_keys,
            after,
            url,
        )?;
        let key_count = i32::try_from(contents.len() + prefixes.len()).unwrap_or(i32::MAX);
        let enc = |s: Option<String>| {
            if url {
                s.map(|s| url_encode_key(&s))
            } else {
                s
            }
        };
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: enc(input.prefix),
            delimiter: enc(input.delimiter),
            start_after: enc(input.start_after),
            max_keys: Some(input.max_keys.unwrap_or(1000)),
            key_count: Some(key_count),
            continuation_token: input.continuation_token,
            is_truncated: Some(next.is_some()),
            next_continuation_token: next.map(|c| c.to_token()),
            contents: Some(contents),
            common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
            encoding_type: input.encoding_type,
            ..Default::default()
        }))
    }

    pub(super) fn list_objects_impl(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let input = req.input;
        let url = input
            .encoding_type
            .as_ref()
            .is_some_and(|e| e.as_str() == EncodingType::URL);
        let after = input
            .marker
            .clone()
            .filter(|m| !m.is_empty())
            .map(Cursor::Key);
        let prefix = input.prefix.clone().unwrap_or_default();
        let (contents, prefixes, next) = self.list_page(
            &input.bucket,
            &prefix,
            input.delimiter.as_deref(),
            input.max_keys,
            after,
            url,
        )?;
        // V1 only returns NextMarker when a delimiter is used; clients use the last key otherwise.
        let next_marker = next
            .as_ref()
            .filter(|_| input.delimiter.is_some())
            .map(|c| match c {
                Cursor::Key(k) | Cursor::Prefix(k) => k.clone(),
            });
        let enc = |s: Option<String>| {
            if url {
                s.map(|s| url_encode_key(&s))
            } else {
                s
            }
        };
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(input.bucket),
            prefix: enc(input.prefix),
            delimiter: enc(input.delimiter),
            marker: input.marker,
            max_keys: Some(input.max_keys.unwrap_or(1000)),
            is_truncated: Some(next.is_some()),
            next_marker: enc(next_marker),
            contents: Some(contents),
            common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
            encoding_type: input.encoding_type,
            ..Default::default()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_star_rejects_an_existing_object() {
        let v = test_version("abc");
        assert!(check_write_conditions(None, Some(&ETagCondition::Any), Some(&v)).is_err());
        assert!(check_write_conditions(None, Some(&ETagCondition::Any), None).is_ok());
    }

    #[test]
    fn if_match_needs_the_current_etag() {
        let v = test_version("abc");
        let good = ETagCondition::ETag(ETag::Strong("abc".into()));
        let bad = ETagCondition::ETag(ETag::Strong("xyz".into()));
        assert!(check_write_conditions(Some(&good), None, Some(&v)).is_ok());
        assert!(check_write_conditions(Some(&bad), None, Some(&v)).is_err());
        assert!(check_write_conditions(Some(&good), None, None).is_err());
    }

    fn test_version(etag: &str) -> ObjectVersion {
        ObjectVersion {
            version_id: "null".into(),
            delete_marker: false,
            last_modified_ms: 0,
            size: 0,
            etag: etag.into(),
            segments: vec![],
            headers: Default::default(),
            metadata: Default::default(),
            tags: vec![],
            storage_class: "STANDARD".into(),
            checksum: None,
            crc64nvme: 0,
            parts: None,
        }
    }
}
