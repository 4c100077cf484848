//! An object's stored properties, read once with HeadObject (`ChecksumMode=ENABLED`) and
//! carried in the state document so later steps need not read them again.

use std::collections::BTreeMap;

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::types::ChecksumMode;
use serde::{Deserialize, Serialize};

use crate::StepError;
use crate::checksums::{ChecksumFields, StoredChecksum};
use crate::s3::errors::{classify, is_not_found};

/// The content headers S3 stores with an object; a copy must carry every one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentHeaders {
    /// `Content-Type`, as HeadObject returned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// `Cache-Control`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    /// `Content-Disposition` (e.g. the download file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    /// `Content-Encoding`: describes the stored bytes (e.g. `gzip`), which are copied as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    /// `Content-Language`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    /// `Expires` as S3 returned it (HTTP date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// What HeadObject says about one object version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectInfo {
    /// The key it was read under.
    pub key: String,
    /// `Content-Length`: the object's size in bytes.
    pub size: u64,
    /// Unquoted.
    pub etag: String,
    /// `None` on unversioned buckets (S3's literal `"null"` version is dropped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// S3 algorithm name of the stored checksum, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<String>,
    /// The stored checksum value (COMPOSITE values keep their `-N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// FULL_OBJECT or COMPOSITE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<String>,
    /// The content headers a copy must reproduce.
    pub headers: ContentHeaders,
    /// User metadata (`x-amz-meta-*`), names without the prefix; sorted, so the state
    /// document is stable.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// `None` means STANDARD (S3 omits the header for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// Part count of a multipart object, when S3 reports it (S3 documents it only for
    /// requests with `partNumber`); informational, a COMPOSITE checksum carries its own `-N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts_count: Option<i32>,
}

impl ObjectInfo {
    fn from_head(key: &str, out: &HeadObjectOutput) -> Result<ObjectInfo, StepError> {
        let fields = ChecksumFields {
            crc64nvme: out.checksum_crc64_nvme(),
            crc32c: out.checksum_crc32_c(),
            crc32: out.checksum_crc32(),
            sha256: out.checksum_sha256(),
            sha1: out.checksum_sha1(),
            checksum_type: out.checksum_type().map(|t| t.as_str()),
        };
        let stored = fields.stored().map_err(|e| {
            StepError::Internal(format!("HeadObject {key}: unreadable checksum: {e}"))
        })?;
        let value = [
            out.checksum_crc64_nvme(),
            out.checksum_crc32_c(),
            out.checksum_crc32(),
            out.checksum_sha256(),
            out.checksum_sha1(),
        ]
        .into_iter()
        .flatten()
        .next();
        Ok(ObjectInfo {
            key: key.to_owned(),
            size: out
                .content_length()
                .and_then(|l| u64::try_from(l).ok())
                .unwrap_or(0),
            etag: out
                .e_tag()
                .map(|e| e.trim_matches('"').to_owned())
                .unwrap_or_default(),
            version_id: out.version_id().filter(|v| *v != "null").map(str::to_owned),
            checksum_algorithm: stored.map(|s| s.algorithm().as_s3_name().to_owned()),
            checksum: value.filter(|_| stored.is_some()).map(str::to_owned),
            checksum_type: stored.map(|s| s.checksum_type().as_s3_name().to_owned()),
            headers: ContentHeaders {
                content_type: out.content_type().map(str::to_owned),
                cache_control: out.cache_control().map(str::to_owned),
                content_disposition: out.content_disposition().map(str::to_owned),
                content_encoding: out.content_encoding().map(str::to_owned),
                content_language: out.content_language().map(str::to_owned),
                expires: out.expires_string().map(str::to_owned),
            },
            metadata: out
                .metadata()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            storage_class: out
                .storage_class()
                .map(|s| s.as_str().to_owned())
                .filter(|s| s != "STANDARD"),
            parts_count: out.parts_count(),
        })
    }

    /// The stored checksum in comparable form.
    pub fn stored_checksum(&self) -> Option<StoredChecksum> {
        let alg = crate::Algorithm::from_s3_name(self.checksum_algorithm.as_deref()?)?;
        StoredChecksum::parse(
            alg,
            self.checksum.as_deref()?,
            self.checksum_type.as_deref(),
        )
        .ok()
    }

    /// True for an ETag that is the MD5 of the bytes (single-part, not KMS): two such equal
    /// ETags mean equal bytes.
    pub fn has_md5_etag(&self) -> bool {
        self.etag.len() == 32 && self.etag.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

/// HeadObject with checksums; `version_id` pins a version.
pub async fn head_object(
    client: &Client,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<ObjectInfo, StepError> {
    match head_object_if_exists(client, bucket, key, version_id).await? {
        Some(info) => Ok(info),
        None => Err(StepError::SourceNotFound(format!(
            "s3://{bucket}/{key} does not exist"
        ))),
    }
}

/// HeadObject that reports a missing object as `None`.
pub async fn head_object_if_exists(
    client: &Client,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<Option<ObjectInfo>, StepError> {
    let result = client
        .head_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version_id.map(str::to_owned))
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await;
    match result {
        Ok(out) => ObjectInfo::from_head(key, &out).map(Some),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(classify(&format!("HeadObject s3://{bucket}/{key}"), &e)),
    }
}

/// The size of part 1 of a multipart object and its part count (HeadObject with
/// `partNumber=1`, pinned to `version_id`); `None` when S3 reports no part count.
pub async fn first_part(
    client: &Client,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<Option<(u64, u32)>, StepError> {
    let out = client
        .head_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version_id.map(str::to_owned))
        .part_number(1)
        .send()
        .await
        .map_err(|e| classify(&format!("HeadObject partNumber=1 s3://{bucket}/{key}"), &e))?;
    let size = out.content_length().and_then(|n| u64::try_from(n).ok());
    let count = out.parts_count().and_then(|n| u32::try_from(n).ok());
    Ok(size.zip(count))
}

/// The object's tags, in S3's order.
pub async fn tags_of(
    client: &Client,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<Vec<(String, String)>, StepError> {
    let out = client
        .get_object_tagging()
        .bucket(bucket)
        .key(key)
        .set_version_id(version_id.map(str::to_owned))
        .send()
        .await
        .map_err(|e| classify(&format!("GetObjectTagging s3://{bucket}/{key}"), &e))?;
    Ok(out
        .tag_set()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect())
}
