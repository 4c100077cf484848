//! Multipart uploads: Create, UploadPart, UploadPartCopy, ListParts, ListMultipartUploads,
//! Complete and Abort, with S3's limits (parts 1..=10,000; 5 MiB minimum for every part but
//! the last; 5 GiB maximum) and checksums (part checksums validated at completion;
//! FULL_OBJECT values combined from part CRCs without re-reading; COMPOSITE = H(part
//! digests)-N; CRC64NVME FULL_OBJECT when the upload named no algorithm).

use copyflow_checksum::{Algorithm, Digest, Hasher};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::body::{Claims, dedup, trailer_algorithm};
use super::convert::*;
use super::copy::CopySourceConditions;
use super::object::check_write_conditions;
use super::part_copy::known_part;
use super::{RequestInfo, Service, check_key};
use crate::event::Reason;
use crate::limits::check_metadata;
use crate::store::model::{
    ObjectVersion, PartRecord, Segment, StoredChecksum, Upload, UploadedPart,
};
use crate::store::now_ms;

pub(super) const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
pub(super) const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
pub(super) const MAX_PARTS: i32 = 10_000;

fn check_part_number(n: i32) -> S3Result<()> {
    if !(1..=MAX_PARTS).contains(&n) {
        return Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        ));
    }
    Ok(())
}

/// The algorithm and checksum type an upload is created with (S3's allowed combinations).
fn upload_checksum(
    alg: Option<&ChecksumAlgorithm>,
    ty: Option<&ChecksumType>,
) -> S3Result<(Option<Algorithm>, Option<String>)> {
    let alg = alg.map(|a| algorithm(a.as_str())).transpose()?;
    let ty = ty.map(|t| t.as_str().to_ascii_uppercase());
    match (alg, ty.as_deref()) {
        (None, None) => Ok((None, None)),
        (None, Some(_)) => Err(s3_error!(
            InvalidRequest,
            "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."
        )),
        (Some(a), None) => Ok((
            Some(a),
            Some(
                if a == Algorithm::Crc64Nvme {
                    "FULL_OBJECT"
                } else {
                    "COMPOSITE"
                }
                .to_owned(),
            ),
        )),
        (Some(Algorithm::Crc64Nvme), Some("COMPOSITE"))
        | (Some(Algorithm::Sha1 | Algorithm::Sha256), Some("FULL_OBJECT")) => Err(s3_error!(
            InvalidRequest,
            "The {} checksum algorithm does not support the {} checksum type.",
            alg.map_or("", |a| a.as_s3_name()),
            ty.as_deref().unwrap_or_default()
        )),
        (Some(a), Some(t @ ("FULL_OBJECT" | "COMPOSITE"))) => Ok((Some(a), Some(t.to_owned()))),
        (Some(_), Some(_)) => Err(s3_error!(
            InvalidRequest,
            "Value for x-amz-checksum-type header is invalid."
        )),
    }
}

/// Parses `x-amz-copy-source-range: bytes=first-last` against a source of `size` bytes.
fn copy_source_range(header: Option<&str>, size: u64) -> S3Result<std::ops::Range<u64>> {
    let Some(h) = header else { return Ok(0..size) };
    let invalid = || {
        s3_error!(
            InvalidArgument,
            "Range specified is not valid for source object of size: {size}"
        )
    };
    let spec = h.trim().strip_prefix("bytes=").ok_or_else(invalid)?;
    let (a, b) = spec.split_once('-').ok_or_else(invalid)?;
    let (first, last): (u64, u64) = (
        a.parse().map_err(|_| invalid())?,
        b.parse().map_err(|_| invalid())?,
    );
    if first > last || last >= size {
        return Err(invalid());
    }
    Ok(first..last + 1)
}

/// The part's ETag and checksums after its bytes were written.
struct PartHashes {
    md5: [u8; 16],
    crc64nvme: u64,
    checksum: Option<String>,
}

fn part_hashes(hasher: Hasher, alg: Option<Algorithm>) -> PartHashes {
    let h = hasher.finish();
    PartHashes {
        md5: h.md5().unwrap_or_default(),
        crc64nvme: h
            .get(Algorithm::Crc64Nvme)
            .and_then(|d| d.as_u64())
            .unwrap_or(0),
        checksum: alg.and_then(|a| h.get(a)).map(|d| d.to_base64()),
    }
}

fn upload_algorithm(u: &Upload) -> Option<Algorithm> {
    u.checksum_algorithm
        .as_deref()
        .and_then(Algorithm::from_s3_name)
}

fn owner() -> Owner {
    Owner {
        display_name: Some("copyflow".to_owned()),
        id: Some("copyflow".to_owned()),
    }
}

impl Service {
    pub(super) fn create_multipart_upload_impl(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let input = req.input;
        check_key(&input.key)?;
        self.store.bucket(&input.bucket)?;
        check_metadata(input.metadata.iter().flatten())?;
        let (alg, ty) = upload_checksum(
            input.checksum_algorithm.as_ref(),
            input.checksum_type.as_ref(),
        )?;
        let upload = Upload {
            upload_id: format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            ),
            bucket: input.bucket.clone(),
            key: input.key.clone(),
            initiated_ms: self.clock.now_ms(),
            headers: headers_in(
                input.content_type,
                input.cache_control,
                input.content_disposition,
                without_aws_chunked(input.content_encoding),
                input.content_language,
                input.expires.as_ref(),
                input.website_redirect_location,
            ),
            metadata: metadata_in(input.metadata),
            tags: tags_from_header(input.tagging.as_deref())?,
            storage_class: storage_class(input.storage_class.as_ref()),
            checksum_algorithm: alg.map(|a| a.as_s3_name().to_owned()),
            checksum_type: ty.clone(),
            parts: Default::default(),
        };
        let upload_id = upload.upload_id.clone();
        self.store.create_upload(upload)?;
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(upload_id),
            checksum_algorithm: alg.map(|a| ChecksumAlgorithm::from(a.as_s3_name().to_owned())),
            checksum_type: ty.map(ChecksumType::from),
            ..Default::default()
        }))
    }

    pub(super) async fn upload_part_impl(
        &self,
        mut req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        check_part_number(req.input.part_number)?;
        let upload = self
            .store
            .upload(&req.input.bucket, &req.input.key, &req.input.upload_id)?;
        let upload_alg = upload_algorithm(&upload);
        let claimed = checksum_fields_of!(req.input).single()?;
        let trailer = trailer_algorithm(&req)?;
        let claim_alg = claimed.as_ref().map(|(a, _)| *a).or(trailer);
        if let (Some(u), Some(c)) = (upload_alg, claim_alg)
            && u != c
        {
            return Err(s3_error!(
                InvalidRequest,
                "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
                u.as_s3_name().to_ascii_lowercase(),
                c.as_s3_name().to_ascii_lowercase()
            ));
        }
        let claims = Claims {
            content_length: req.input.content_length,
            content_md5: req.input.content_md5.as_deref(),
            header: claimed,
            trailer,
            max_size: Some((MAX_PART_SIZE, || {
                s3_error!(
                    EntityTooLarge,
                    "Your proposed upload exceeds the maximum allowed size"
                )
            })),
        };
        let body = req.input.body.take();
        let also: Vec<Algorithm> = upload_alg.into_iter().collect();
        let (segment, hashes) = self.receive_body(&req, body, &claims, &also).await?;
        let md5 = hashes.md5().unwrap_or_default();
        let part = UploadedPart {
            number: req.input.part_number,
            segment,
            etag: copyflow_checksum::md5_etag(&md5),
            md5,
            crc64nvme: hashes
                .get(Algorithm::Crc64Nvme)
                .and_then(|d| d.as_u64())
                .unwrap_or(0),
            checksum: upload_alg
                .and_then(|a| hashes.get(a))
                .map(|d| d.to_base64()),
            last_modified_ms: now_ms(),
        };
        let out_etag = part.etag.clone();
        let out_checksum = upload_alg.zip(part.checksum.clone());
        self.store
            .put_part(
                &req.input.bucket,
                &req.input.key,
                &req.input.upload_id,
                part,
            )
            .await?;
        let mut out = UploadPartOutput {
            e_tag: Some(etag(&out_etag)),
            ..Default::default()
        };
        if let Some((a, v)) = out_checksum {
            set_checksum_fields!(out, ChecksumFields::from_value(a, v));
        }
        Ok(S3Response::new(out))
    }

    pub(super) async fn upload_part_copy_impl(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let input = req.input;
        check_part_number(input.part_number)?;
        let upload = self
            .store
            .upload(&input.bucket, &input.key, &input.upload_id)?;
        let conditions = CopySourceConditions {
            if_match: input.copy_source_if_match.as_ref(),
            if_none_match: input.copy_source_if_none_match.as_ref(),
            if_modified_since: input.copy_source_if_modified_since.as_ref(),
            if_unmodified_since: input.copy_source_if_unmodified_since.as_ref(),
        };
        let (_, src, src_versioned) = self.copy_source(&input.copy_source, &conditions)?;
        let range = copy_source_range(input.copy_source_range.as_deref(), src.size)?;
        if range.end - range.start > MAX_PART_SIZE {
            return Err(s3_error!(
                InvalidRequest,
                "The specified copy range is larger than the maximum allowable size for a part: {MAX_PART_SIZE}"
            ));
        }
        let alg = upload_algorithm(&upload);
        let (segment, h) = self.copy_part_bytes(&src, range, alg).await?;
        let now = now_ms();
        let part = UploadedPart {
            number: input.part_number,
            segment,
            etag: copyflow_checksum::md5_etag(&h.md5),
            md5: h.md5,
            crc64nvme: h.crc64nvme,
            checksum: h.checksum.clone(),
            last_modified_ms: now,
        };
        let out_etag = part.etag.clone();
        self.store
            .put_part(&input.bucket, &input.key, &input.upload_id, part)
            .await?;
        let mut result = CopyPartResult {
            e_tag: Some(etag(&out_etag)),
            last_modified: Some(timestamp(now)),
            ..Default::default()
        };
        if let Some((a, v)) = alg.zip(h.checksum) {
            set_checksum_fields!(result, ChecksumFields::from_value(a, v));
        }
        Ok(S3Response::new(UploadPartCopyOutput {
            copy_part_result: Some(result),
            copy_source_version_id: src_versioned.then(|| src.version_id.clone()),
            ..Default::default()
        }))
    }

    /// The new part's segment and hashes: the source's own segment shared through a hard
    /// link when the range is exactly one recorded part ([`known_part`]: nothing read or
    /// written), else the range read, hashed and written once.
    async fn copy_part_bytes(
        &self,
        src: &ObjectVersion,
        range: std::ops::Range<u64>,
        alg: Option<Algorithm>,
    ) -> S3Result<(Segment, PartHashes)> {
        let blobs = &self.store.blobs;
        if let Some(known) = known_part(src, &range, alg)
            && let Some(mut linked) = blobs.link(std::slice::from_ref(&known.segment)).await
            && let Some(segment) = linked.pop()
        {
            let hashes = PartHashes {
                md5: known.md5,
                crc64nvme: known.crc64nvme,
                checksum: known.checksum,
            };
            return Ok((segment, hashes));
        }
        let mut algs = vec![Algorithm::Crc64Nvme];
        algs.extend(alg);
        let mut hasher = Hasher::new(&dedup(&algs), true);
        let segment = blobs
            .copy_range(&src.segments, range, Some(&mut hasher))
            .await
            .map_err(crate::store::internal)?;
        Ok((segment, part_hashes(hasher, alg)))
    }

    pub(super) async fn complete_multipart_upload_impl(
        &self,
        mut req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let info = RequestInfo::of(&req);
        let claimed = checksum_fields_of!(req.input).single()?;
        let input = req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let upload = self
            .store
            .upload(&input.bucket, &input.key, &input.upload_id)?;
        let requested: Vec<CompletedPart> = input
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default();
        let plan = plan_completion(
            &upload,
            &requested,
            input.checksum_type.as_ref().map(ChecksumType::as_str),
            claimed.as_ref(),
        )?;
        if let Some(expected) = input.mpu_object_size
            && u64::try_from(expected).ok() != Some(plan.size)
        {
            return Err(s3_error!(
                InvalidRequest,
                "The provided 'x-amz-mp-object-size' header value {expected} does not match what was computed: {}",
                plan.size
            ));
        }

        // Claim the upload; a concurrent Complete or Abort makes this NoSuchUpload.
        let mut upload = self
            .store
            .take_upload(&input.bucket, &input.key, &input.upload_id)?;
        let chosen: Vec<UploadedPart> = plan
            .numbers
            .iter()
            .filter_map(|n| upload.parts.get(n).cloned())
            .collect();
        let version = ObjectVersion {
            version_id: String::new(),
            delete_marker: false,
            last_modified_ms: now_ms(),
            size: plan.size,
            etag: copyflow_checksum::multipart_etag(
                &chosen.iter().map(|p| p.md5).collect::<Vec<_>>(),
            ),
            segments: chosen.iter().map(|p| p.segment.clone()).collect(),
            headers: upload.headers.clone(),
            metadata: upload.metadata.clone(),
            tags: upload.tags.clone(),
            storage_class: upload.storage_class.clone(),
            checksum: Some(plan.checksum.clone()),
            crc64nvme: plan.crc64nvme,
            parts: Some(
                chosen
                    .iter()
                    .map(|p| PartRecord {
                        number: p.number,
                        size: p.segment.size,
                        etag: p.etag.clone(),
                        checksum: p.checksum.clone(),
                        crc64nvme: Some(p.crc64nvme),
                    })
                    .collect(),
            ),
        };
        let committed = bucket.commit(
            &input.key,
            version,
            |cur| {
                check_write_conditions(input.if_match.as_ref(), input.if_none_match.as_ref(), cur)
            },
            self.announcement(
                &info,
                &bucket.name,
                &input.key,
                Reason::CompleteMultipartUpload,
            ),
        );
        let (v, freed, (event, versioned)) = match committed {
            Ok(ok) => ok,
            Err(e) => {
                // S3 keeps the upload when completion is refused, so the client can retry or abort.
                self.store.restore_upload(upload)?;
                return Err(e);
            }
        };
        // Parts uploaded but not listed in the request are discarded.
        let unused: Vec<Segment> = std::mem::take(&mut upload.parts)
            .into_iter()
            .filter(|(n, _)| !plan.numbers.contains(n))
            .map(|(_, p)| p.segment)
            .collect();
        self.store.blobs.remove(&unused).await;
        self.store.blobs.remove(&freed).await;
        if let Some(event) = event {
            self.events.publish(event);
        }
        let mut out = CompleteMultipartUploadOutput {
            bucket: Some(input.bucket.clone()),
            key: Some(input.key.clone()),
            location: Some(format!("/{}/{}", input.bucket, input.key)),
            e_tag: Some(etag(&v.etag)),
            checksum_type: checksum_type(v.checksum.as_ref()),
            version_id: versioned.then(|| v.version_id.clone()),
            ..Default::default()
        };
        set_checksum_fields!(out, ChecksumFields::from_stored(v.checksum.as_ref()));
        Ok(S3Response::new(out))
    }

    pub(super) async fn abort_multipart_upload_impl(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let input = &req.input;
        self.store
            .upload(&input.bucket, &input.key, &input.upload_id)?;
        self.store
            .abort_upload(&input.bucket, &input.upload_id)
            .await?;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }

    pub(super) fn list_parts_impl(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let input = req.input;
        let upload = self
            .store
            .upload(&input.bucket, &input.key, &input.upload_id)?;
        let alg = upload_algorithm(&upload);
        let max = usize::try_from(input.max_parts.unwrap_or(1000).clamp(0, 1000)).unwrap_or(1000);
        let marker = input.part_number_marker.unwrap_or(0);
        let mut remaining = upload.parts.range(marker + 1..);
        let mut parts = Vec::new();
        for (_, p) in remaining.by_ref().take(max) {
            let mut part = Part {
                part_number: Some(p.number),
                e_tag: Some(etag(&p.etag)),
                size: i64::try_from(p.segment.size).ok(),
                last_modified: Some(timestamp(p.last_modified_ms)),
                ..Default::default()
            };
            if let Some((a, v)) = alg.zip(p.checksum.clone()) {
                set_checksum_fields!(part, ChecksumFields::from_value(a, v));
            }
            parts.push(part);
        }
        let truncated = remaining.next().is_some();
        let next_marker = parts.last().and_then(|p| p.part_number);
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            part_number_marker: input.part_number_marker,
            max_parts: Some(i32::try_from(max).unwrap_or(1000)),
            is_truncated: Some(truncated),
            next_part_number_marker: if truncated { next_marker } else { None },
            parts: Some(parts),
            checksum_algorithm: upload
                .checksum_algorithm
                .clone()
                .map(ChecksumAlgorithm::from),
            checksum_type: upload.checksum_type.clone().map(ChecksumType::from),
            storage_class: Some(StorageClass::from(upload.storage_class.clone())),
            owner: Some(owner()),
            initiator: Some(Initiator {
                display_name: Some("copyflow".to_owned()),
                id: Some("copyflow".to_owned()),
            }),
            ..Default::default()
        }))
    }

    pub(super) fn list_multipart_uploads_impl(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let input = req.input;
        self.store.bucket(&input.bucket)?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let max = usize::try_from(input.max_uploads.unwrap_or(1000).clamp(0, 1000)).unwrap_or(1000);
        let after = (
            input.key_marker.clone().unwrap_or_default(),
            input.upload_id_marker.clone().unwrap_or_default(),
        );
        let mut all = self
            .store
            .uploads_in(&input.bucket)
            .into_iter()
            .filter(|u| u.key.starts_with(&prefix))
            .filter(|u| match input.key_marker.as_deref() {
                None | Some("") => true,
                Some(_) if after.1.is_empty() => u.key > after.0,
                Some(_) => u.key > after.0 || (u.key == after.0 && u.upload_id > after.1),
            })
            .peekable();
        let mut uploads = Vec::new();
        while uploads.len() < max {
            let Some(u) = all.next() else { break };
            uploads.push(u);
        }
        let truncated = all.peek().is_some();
        let last = uploads.last().map(|u| (u.key.clone(), u.upload_id.clone()));
        let uploads = uploads
            .into_iter()
            .map(|u| MultipartUpload {
                key: Some(u.key),
                upload_id: Some(u.upload_id),
                initiated: Some(timestamp(u.initiated_ms)),
                storage_class: Some(StorageClass::from(u.storage_class)),
                checksum_algorithm: u.checksum_algorithm.map(ChecksumAlgorithm::from),
                checksum_type: u.checksum_type.map(ChecksumType::from),
                owner: Some(owner()),
                initiator: Some(Initiator {
                    display_name: Some("copyflow".to_owned()),
                    id: Some("copyflow".to_owned()),
                }),
            })
            .collect();
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: input.prefix,
            key_marker: input.key_marker,
            upload_id_marker: input.upload_id_marker,
            max_uploads: Some(i32::try_from(max).unwrap_or(1000)),
            is_truncated: Some(truncated),
            next_key_marker: last.as_ref().filter(|_| truncated).map(|l| l.0.clone()),
            next_upload_id_marker: last.filter(|_| truncated).map(|l| l.1),
            uploads: Some(uploads),
            ..Default::default()
        }))
    }
}

/// What a valid CompleteMultipartUpload request produces.
#[derive(Debug)]
struct Completion {
    numbers: Vec<i32>,
    size: u64,
    checksum: StoredChecksum,
    crc64nvme: u64,
}

/// Validates the part list of a CompleteMultipartUpload against the upload (pure).
fn plan_completion(
    upload: &Upload,
    requested: &[CompletedPart],
    checksum_type: Option<&str>,
    claimed: Option<&(Algorithm, String)>,
) -> S3Result<Completion> {
    if requested.is_empty() {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    }
    let alg = upload_algorithm(upload);
    if let Some(t) = checksum_type
        && Some(t.to_ascii_uppercase()) != upload.checksum_type
    {
        return Err(s3_error!(
            BadDigest,
            "The upload was created using the {} checksum mode. The complete request must use the same checksum mode.",
            upload.checksum_type.as_deref().unwrap_or("default")
        ));
    }
    let mut previous = 0;
    let mut chosen = Vec::with_capacity(requested.len());
    for (i, cp) in requested.iter().enumerate() {
        let n = cp
            .part_number
            .ok_or_else(|| s3_error!(InvalidPart, "A part number is missing"))?;
        if n <= previous {
            return Err(s3_error!(
                InvalidPartOrder,
                "The list of parts was not in ascending order. Parts must be ordered by part number."
            ));
        }
        previous = n;
        let invalid_part = || {
            s3_error!(
                InvalidPart,
                "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
            )
        };
        let part = upload.parts.get(&n).ok_or_else(invalid_part)?;
        if cp
            .e_tag
            .as_ref()
            .is_none_or(|e| e.value().trim_matches('"') != part.etag)
        {
            return Err(invalid_part());
        }
        if let Some(a) = alg {
            let mut fields = cp.clone();
            let sent = checksum_fields_of!(fields).single()?;
            match sent {
                None => {
                    return Err(s3_error!(
                        InvalidRequest,
                        "The upload was created using a {} checksum. The complete request must include the checksum for each part. It was missing for part {n} in the request.",
                        a.as_s3_name().to_ascii_lowercase()
                    ));
                }
                Some((sa, sv)) if sa != a || Some(&sv) != part.checksum.as_ref() => {
                    return Err(invalid_part());
                }
                Some(_) => {}
            }
        }
        let last = i + 1 == requested.len();
        if !last && part.segment.size < MIN_PART_SIZE {
            return Err(s3_error!(
                EntityTooSmall,
                "Your proposed upload is smaller than the minimum allowed size"
            ));
        }
        chosen.push(part);
    }
    let size = chosen.iter().map(|p| p.segment.size).sum();
    let crc_parts: Vec<(Digest, u64)> = chosen
        .iter()
        .map(|p| Digest::from_crc(Algorithm::Crc64Nvme, p.crc64nvme).map(|d| (d, p.segment.size)))
        .collect::<Result<_, _>>()
        .map_err(crate::store::internal)?;
    let crc64nvme = copyflow_checksum::combine_full_object(Algorithm::Crc64Nvme, &crc_parts)
        .map_err(crate::store::internal)?
        .as_u64()
        .unwrap_or(0);
    let checksum = match (alg, upload.checksum_type.as_deref()) {
        (Some(a), Some("COMPOSITE")) => {
            let digests = chosen
                .iter()
                .map(|p| {
                    p.checksum
                        .as_deref()
                        .and_then(|c| Digest::from_base64(a, c).ok())
                        .ok_or_else(|| crate::store::internal("part checksum missing"))
                })
                .collect::<S3Result<Vec<_>>>()?;
            StoredChecksum {
                algorithm: a.as_s3_name().to_owned(),
                checksum_type: "COMPOSITE".to_owned(),
                value: copyflow_checksum::composite(a, &digests).map_err(crate::store::internal)?,
            }
        }
        (Some(a), _) => {
            let parts = chosen
                .iter()
                .map(|p| {
                    p.checksum
                        .as_deref()
                        .and_then(|c| Digest::from_base64(a, c).ok())
                        .map(|d| (d, p.segment.size))
                        .ok_or_else(|| crate::store::internal("part checksum missing"))
                })
                .collect::<S3Result<Vec<_>>>()?;
            let full = copyflow_checksum::combine_full_object(a, &parts)
                .map_err(crate::store::internal)?;
            StoredChecksum {
                algorithm: a.as_s3_name().to_owned(),
                checksum_type: "FULL_OBJECT".to_owned(),
                value: full.to_base64(),
            }
        }
        (None, _) => StoredChecksum {
            algorithm: "CRC64NVME".to_owned(),
            checksum_type: "FULL_OBJECT".to_owned(),
            value: Digest::from_crc(Algorithm::Crc64Nvme, crc64nvme)
                .map_err(crate::store::internal)?
                .to_base64(),
        },
    };
    if let Some((ca, cv)) = claimed {
        let matches = ca.as_s3_name() == checksum.algorithm
            && (*cv == checksum.value
                || checksum.value.split_once('-').is_some_and(|(v, _)| v == cv));
        if !matches {
            return Err(bad_digest(*ca));
        }
    }
    let numbers = chosen.iter().map(|p| p.number).collect();
    Ok(Completion {
        numbers,
        size,
        checksum,
        crc64nvme,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_source_range_is_inclusive_and_bounded() {
        assert_eq!(copy_source_range(Some("bytes=0-9"), 10).ok(), Some(0..10));
        assert_eq!(copy_source_range(None, 7).ok(), Some(0..7));
        assert!(copy_source_range(Some("bytes=0-10"), 10).is_err());
        assert!(copy_source_range(Some("bytes=5-4"), 10).is_err());
        assert!(copy_source_range(Some("0-4"), 10).is_err());
    }

    #[test]
    fn checksum_type_defaults_and_forbidden_combinations() {
        let crc64 = ChecksumAlgorithm::from_static(ChecksumAlgorithm::CRC64NVME);
        let sha = ChecksumAlgorithm::from_static(ChecksumAlgorithm::SHA256);
        let full = ChecksumType::from_static(ChecksumType::FULL_OBJECT);
        let composite = ChecksumType::from_static(ChecksumType::COMPOSITE);
        assert_eq!(
            upload_checksum(Some(&crc64), None).ok(),
            Some((Some(Algorithm::Crc64Nvme), Some("FULL_OBJECT".into())))
        );
        assert_eq!(
            upload_checksum(Some(&sha), None).ok(),
            Some((Some(Algorithm::Sha256), Some("COMPOSITE".into())))
        );
        assert!(upload_checksum(Some(&crc64), Some(&composite)).is_err());
        assert!(upload_checksum(Some(&sha), Some(&full)).is_err());
        assert!(upload_checksum(None, Some(&full)).is_err());
    }
}
