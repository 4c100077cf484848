//! Combined part CRCs: the full-object CRC of a multipart source whose parts carry CRC32 or
//! CRC32C checksums (a `COMPOSITE` upload by the aws cli or boto3), from GetObjectAttributes
//! `ObjectParts` (each part's checksum and size, 1000 parts a page), with no byte read.
//!
//! Only documented S3 behaviour is used: `x-amz-object-attributes: ETag,Checksum,ObjectParts,
//! ObjectSize`, paged with `PartNumberMarker` / `NextPartNumberMarker`, pinned to the copied
//! version, and every page's ETag checked against the one the copy was made from. The part
//! list is trusted only once it matches the object's size and its composite checksum
//! ([`full_object_crc_from_parts`]).

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::ObjectAttributes;

use super::VerifyContext;
use crate::checksums::{PartCrc, full_object_crc_from_parts};
use crate::s3::{ObjectInfo, classify, status_of};
use crate::{Algorithm, Digest, StepError};

/// The most parts one GetObjectAttributes page returns.
const PAGE: i32 = 1000;

/// What the part list of the source came to.
pub(super) enum Combined {
    /// The source's full-object CRC.
    Crc(Digest),
    /// The parts cannot prove it (no part checksums, or a list that does not match the
    /// object): the caller reads the bytes instead.
    Unusable(String),
}

/// The full-object CRC of `object` (in `bucket`) from its parts, and the requests made.
///
/// `SourceChanged` when the object's ETag is no longer the copied one (an unversioned key
/// overwritten since the copy: the newer object has its own execution). A refused or
/// unsupported GetObjectAttributes is [`Combined::Unusable`], not an error: the caller
/// reads the bytes, as it did before this path existed.
pub(super) async fn combined_part_crcs(
    cx: &VerifyContext<'_>,
    bucket: &str,
    object: &ObjectInfo,
    algorithm: Algorithm,
) -> Result<(Combined, u32), StepError> {
    let claim = object.stored_checksum();
    let mut parts: Vec<PartCrc> = Vec::new();
    let mut marker: Option<String> = None;
    let mut requests = 0;
    loop {
        requests += 1;
        let at = format!("GetObjectAttributes s3://{bucket}/{}", object.key);
        let out = cx
            .client
            .get_object_attributes()
            .bucket(bucket)
            .key(&object.key)
            .set_version_id(object.version_id.clone())
            .object_attributes(ObjectAttributes::Etag)
            .object_attributes(ObjectAttributes::Checksum)
            .object_attributes(ObjectAttributes::ObjectParts)
            .object_attributes(ObjectAttributes::ObjectSize)
            .max_parts(PAGE)
            .set_part_number_marker(marker.clone())
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            // Not allowed (a role without s3:GetObject(Version)Attributes) or not supported
            // (an S3-compatible store without the API): reading the bytes still proves it.
            Err(e)
                if status_of(&e) == Some(501)
                    || matches!(e.code(), Some("NotImplemented"))
                    || matches!(classify(&at, &e), StepError::AccessDenied(_)) =>
            {
                return Ok((Combined::Unusable(classify(&at, &e).to_string()), requests));
            }
            Err(e) => return Err(classify(&at, &e)),
        };
        let etag = out.e_tag().map(|e| e.trim_matches('"')).unwrap_or_default();
        if etag != object.etag {
            return Err(StepError::SourceChanged(format!(
                "{at}: ETag is {etag} now, the copy was made from {}",
                object.etag
            )));
        }
        if let Some(size) = out.object_size()
            && u64::try_from(size).ok() != Some(object.size)
        {
            return Ok((
                Combined::Unusable(format!(
                    "{at}: size {size}, HeadObject said {}",
                    object.size
                )),
                requests,
            ));
        }
        let Some(page) = out.object_parts() else {
            return Ok((Combined::Unusable(format!("{at}: no part list")), requests));
        };
        for p in page.parts() {
            let value = match algorithm {
                Algorithm::Crc32 => p.checksum_crc32(),
                Algorithm::Crc32c => p.checksum_crc32_c(),
                Algorithm::Crc64Nvme => p.checksum_crc64_nvme(),
                Algorithm::Sha1 | Algorithm::Sha256 => None,
            };
            let (Some(number), Some(size), Some(value)) = (
                p.part_number(),
                p.size().and_then(|s| u64::try_from(s).ok()),
                value,
            ) else {
                return Ok((
                    Combined::Unusable(format!(
                        "{at}: part {:?} has no {algorithm} checksum or size",
                        p.part_number()
                    )),
                    requests,
                ));
            };
            let checksum = match Digest::from_base64(algorithm, value) {
                Ok(d) => d,
                Err(e) => {
                    return Ok((
                        Combined::Unusable(format!("{at}: part {number}: {e}")),
                        requests,
                    ));
                }
            };
            parts.push(PartCrc {
                number,
                size,
                checksum,
            });
        }
        match (page.is_truncated(), page.next_part_number_marker()) {
            (Some(true), Some(next)) if marker.as_deref() != Some(next) => {
                marker = Some(next.to_owned());
            }
            (Some(true), _) => {
                return Ok((
                    Combined::Unusable(format!("{at}: a truncated page without a new marker")),
                    requests,
                ));
            }
            _ => break,
        }
    }
    let combined = match full_object_crc_from_parts(algorithm, &parts, object.size, claim.as_ref())
    {
        Ok(d) => Combined::Crc(d),
        Err(reason) => Combined::Unusable(format!(
            "the part list of s3://{bucket}/{} does not match the object: {reason}",
            object.key
        )),
    };
    Ok((combined, requests))
}
