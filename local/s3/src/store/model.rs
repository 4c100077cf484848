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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    /// RFC 3339 instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_redirect_location: Option<String>,
}

/// Everything about one object version except its bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ObjectVersion {
    /// "null" when written while versioning was not enabled.
    pub version_id: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete_marker: bool,
    pub last_modified_ms: i64,
    pub size: u64,
    /// Unquoted: an MD5 hex digest, or `md5-of-md5s-N` for multipart objects.
    pub etag: String,
    pub segments: Vec<Segment>,
    #[serde(default, skip_serializing_if = "ContentHeaders::is_empty")]
    pub headers: ContentHeaders,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
    #[serde(default = "standard", skip_serializing_if = "is_standard")]
    pub storage_class: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<StoredChecksum>,
    /// Full-object CRC64NVME of the bytes, always known (what S3 defaults to since Dec 2024).
    pub crc64nvme: u64,
    /// Present for objects created by CompleteMultipartUpload; `parts[i]` is `segments[i]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<Vec<PartRecord>>,
}

impl ContentHeaders {
    fn is_empty(&self) -> bool {
        *self == ContentHeaders::default()
    }
}

/// The storage class a record leaves out: every key is read and written for each request,
/// so the usual values are not spelled out in each record.
const STANDARD: &str = "STANDARD";

fn standard() -> String {
    STANDARD.to_owned()
}

fn is_standard(class: &str) -> bool {
    class == STANDARD
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A record as versions before this one wrote it: every field spelled out.
    const FULL: &str = r#"{"key":"a/b.txt","versions":[{"version_id":"null","delete_marker":false,
        "last_modified_ms":1,"size":4,"etag":"e","segments":[{"blob":"s","size":4,"inline":true}],
        "headers":{"content_type":"text/plain","cache_control":null,"content_disposition":null,
        "content_encoding":null,"content_language":null,"expires":null,
        "website_redirect_location":null},"metadata":{},"tags":[],"storage_class":"STANDARD",
        "checksum":null,"crc64nvme":7,"parts":null}]}"#;

    #[test]
    fn a_record_leaves_out_what_it_does_not_set_and_reads_back_the_same() {
        let rec: KeyRecord = serde_json::from_str(FULL).unwrap();
        let text = serde_json::to_string(&rec).unwrap();
        assert_eq!(
            text,
            r#"{"key":"a/b.txt","versions":[{"version_id":"null","last_modified_ms":1,"size":4,"etag":"e","segments":[{"blob":"s","size":4,"inline":true}],"headers":{"content_type":"text/plain"},"crc64nvme":7}]}"#
        );
        let again: KeyRecord = serde_json::from_str(&text).unwrap();
        let v = &again.versions[0];
        assert_eq!(v.storage_class, "STANDARD");
        assert!(!v.delete_marker && v.metadata.is_empty() && v.tags.is_empty());
        assert!(v.checksum.is_none() && v.parts.is_none());
        assert_eq!(serde_json::to_string(&again).unwrap(), text);
    }

    #[test]
    fn set_fields_are_kept() {
        let mut rec: KeyRecord = serde_json::from_str(FULL).unwrap();
        let v = &mut rec.versions[0];
        v.delete_marker = true;
        v.storage_class = "GLACIER".into();
        v.headers = ContentHeaders::default();
        v.metadata.insert("m".into(), "1".into());
        v.tags.push(("t".into(), "2".into()));
        let text = serde_json::to_string(&rec).unwrap();
        let again: KeyRecord = serde_json::from_str(&text).unwrap();
        let w = &again.versions[0];
        assert!(w.delete_marker);
        assert_eq!(w.storage_class, "GLACIER");
        assert_eq!(w.headers, ContentHeaders::default());
        assert!(!text.contains("headers"));
        assert_eq!(w.metadata.get("m").map(String::as_str), Some("1"));
        assert_eq!(w.tags, vec![("t".to_owned(), "2".to_owned())]);
    }
}
