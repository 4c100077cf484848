//! Metadata the storage engine persists as JSON (key records: rows of `keys.sqlite3`).
//!
//! Object bytes live in immutable segments (files under `blobs/`, small ones inline in the
//! key database); everything S3 returns about an object (ETag, checksums, headers, tags,
//! parts) is recorded here so HEAD, GetObjectAttributes and verification never re-read the
//! bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Bucket versioning state as S3 reports it (`GetBucketVersioning`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Versioning {
    /// Never enabled: a single "null" version per key, no `x-amz-version-id`.
    #[default]
    Unversioned,
    Enabled,
    /// New writes get the "null" version; older versions are kept.
    Suspended,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BucketMeta {
    pub created_ms: i64,
    #[serde(default)]
    pub versioning: Versioning,
    /// The bucket lifecycle configuration, if one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Vec<LifecycleRule>>,
    /// Whether the bucket sends events to EventBridge, once its notification configuration
    /// was set (PutBucketNotificationConfiguration); None: the server's default applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eventbridge: Option<bool>,
}

/// One immutable blob holding a contiguous run of an object's bytes: a file under `blobs/`,
/// or for a small body a row of `inline_blobs` (see [`super::inline`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Segment {
    pub blob: String,
    pub size: u64,
    /// Stored in the key database rather than as a file (absent in older records: a file).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inline: bool,
    /// The bytes of an inline segment not yet in the database: they are inserted in the
    /// transaction that commits the key record naming them (one commit per PUT or copy, and
    /// no row for a body that fails its checks), or by [`super::blobs::Blobs::persist`].
    #[serde(skip)]
    pub pending: Option<bytes::Bytes>,
}

/// The checksum S3 reports for an object (`x-amz-checksum-*` with `x-amz-checksum-type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredChecksum {
    /// S3 name: CRC32, CRC32C, CRC64NVME, SHA1, SHA256.
    pub algorithm: String,
    /// FULL_OBJECT or COMPOSITE.
    pub checksum_type: String,
    /// Base64 value; COMPOSITE values carry the `-N` part-count suffix.
    pub value: String,
}

/// A part of a multipart-created object, kept for `partNumber` reads and GetObjectAttributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PartRecord {
    pub number: i32,
    pub size: u64,
    pub etag: String,
    /// Base64 checksum of the part in the upload's algorithm, if it had one.
    pub checksum: Option<String>,
    /// CRC64NVME of the part, so a copy of exactly this part needs no read (absent in
    /// records written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc64nvme: Option<u64>,
}

/// Content headers S3 stores with an object and returns on GET/HEAD.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ContentHeaders {
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_encoding: Option<String>,
    pub content_language: Option<String>,
    /// RFC 3339 instant.
    pub expires: Option<String>,
    pub website_redirect_location: Option<String>,
}

/// Everything about one object version except its bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ObjectVersion {
    /// "null" when written while versioning was not enabled.
    pub version_id: String,
    #[serde(default)]
    pub delete_marker: bool,
    pub last_modified_ms: i64,
    pub size: u64,
    /// Unquoted: an MD5 hex digest, or `md5-of-md5s-N` for multipart objects.
    pub etag: String,
    pub segments: Vec<Segment>,
    pub headers: ContentHeaders,
    pub metadata: BTreeMap<String, String>,
    pub tags: Vec<(String, String)>,
    pub storage_class: String,
    pub checksum: Option<StoredChecksum>,
    /// Full-object CRC64NVME of the bytes, always known (what S3 defaults to since Dec 2024).
    pub crc64nvme: u64,
    /// Present for objects created by CompleteMultipartUpload; `parts[i]` is `segments[i]`.
    pub parts: Option<Vec<PartRecord>>,
}

impl ObjectVersion {
    pub(crate) fn is_null_version(&self) -> bool {
        self.version_id == "null"
    }
}

/// All versions of one key, oldest first; the last one is current.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KeyRecord {
    pub key: String,
    pub versions: Vec<ObjectVersion>,
}

impl KeyRecord {
    pub(crate) fn current(&self) -> Option<&ObjectVersion> {
        self.versions.last()
    }

    /// The current version unless it is a delete marker.
    pub(crate) fn live(&self) -> Option<&ObjectVersion> {
        self.current().filter(|v| !v.delete_marker)
    }

    pub(crate) fn version(&self, id: &str) -> Option<&ObjectVersion> {
        self.versions.iter().find(|v| v.version_id == id)
    }
}

/// A part uploaded (or copied) into an in-progress multipart upload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UploadedPart {
    pub number: i32,
    pub segment: Segment,
    pub etag: String,
    pub md5: [u8; 16],
    pub crc64nvme: u64,
    /// Base64 checksum in the upload's algorithm (if it has one).
    pub checksum: Option<String>,
    pub last_modified_ms: i64,
}

/// Options fixed at CreateMultipartUpload and applied at completion.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Upload {
    pub upload_id: String,
    pub bucket: String,
    pub key: String,
    pub initiated_ms: i64,
    pub headers: ContentHeaders,
    pub metadata: BTreeMap<String, String>,
    pub tags: Vec<(String, String)>,
    pub storage_class: String,
    /// S3 algorithm name chosen at create, if any.
    pub checksum_algorithm: Option<String>,
    /// FULL_OBJECT or COMPOSITE, when an algorithm was chosen.
    pub checksum_type: Option<String>,
    pub parts: BTreeMap<i32, UploadedPart>,
}

/// Which keys a lifecycle rule covers, kept in the form the client sent it so
/// GetBucketLifecycleConfiguration returns the same shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum RuleScope {
    /// `<Filter><Prefix>p</Prefix></Filter>`, or `<Filter/>` (every key) when `None`.
    Filter(Option<String>),
    /// The legacy rule-level `<Prefix>p</Prefix>`.
    Prefix(String),
}

impl RuleScope {
    pub(crate) fn prefix(&self) -> &str {
        match self {
            RuleScope::Filter(p) => p.as_deref().unwrap_or(""),
            RuleScope::Prefix(p) => p,
        }
    }
}

/// A lifecycle rule; the only action supported is AbortIncompleteMultipartUpload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LifecycleRule {
    pub id: String,
    pub enabled: bool,
    pub scope: RuleScope,
    /// `AbortIncompleteMultipartUpload.DaysAfterInitiation`, at least 1.
    pub abort_after_days: u32,
}
