//! The state document the copy step reads and returns (camelCase JSON, kept small: Step
//! Functions caps state at 256 KiB, so per-part lists never go in it; a resumed copy
//! recovers finished parts with ListParts).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::CopyJob;
use crate::s3::ObjectInfo;

/// `{"action": "copy", "job": {...}, "copy": {...}}` plus anything else the state carries.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CopyDocument {
    /// The job validate-key produced; this step never changes it.
    pub job: CopyJob,
    /// This step's section: absent on the first invocation, `in-progress` when the state
    /// machine loops back to continue a multipart copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<CopyOutcome>,
    /// Fields of other steps, passed through untouched.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// How the copy step ended, as `copy.status`; the state machine's `IsCopyFinished` Choice
/// sends `in-progress` back to `CopyObject` and everything else on to `VerifyCopy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CopyStatus {
    /// The destination was written by this copy.
    Copied,
    /// The destination already held the object; nothing was written.
    AlreadyPresent,
    /// A multipart copy ran out of invocation time; `checkpoint` continues it.
    InProgress,
}

/// Which S3 operations wrote the destination, and so which properties S3 carried over by
/// itself (`docs/aws-facts.md#what-a-copy-keeps`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CopyMethod {
    /// One CopyObject: S3 copies metadata, content headers and tags (`COPY` directives).
    CopyObject,
    /// CreateMultipartUpload + UploadPartCopy + CompleteMultipartUpload, every property set
    /// explicitly (`docs/aws-facts.md#what-a-copy-keeps`).
    Multipart,
    /// Nothing written: the destination already held the object.
    None,
}

/// Where a multipart copy stands between invocations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// The multipart upload to continue; ListParts on it recovers the parts already copied.
    pub upload_id: String,
    /// Bytes per part (the last may be shorter), fixed at the start so resumed parts line up.
    pub part_size: u64,
    /// Parts in the whole upload, at most S3's 10,000.
    pub part_count: u32,
    /// S3 name of the upload's checksum algorithm (FULL_OBJECT).
    pub algorithm: String,
    /// Lambda invocations spent on this copy so far, this one included.
    pub invocations: u32,
}

/// The destination as the copy left it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CopiedObject {
    /// Unquoted. Verify uses it to notice a later overwrite, never to compare bytes (ETags
    /// differ between copies of the same bytes; `docs/aws-facts.md#etags`).
    pub etag: String,
    /// The version this copy created (absent on unversioned buckets): verify reads exactly it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// S3 name of the algorithm S3 computed the copy's checksum in, if it returned one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<String>,
    /// The checksum S3 returned for the copy, base64 as S3 sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// FULL_OBJECT or COMPOSITE, as S3 reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<String>,
}

/// The copy step's section of the state document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyOutcome {
    /// Done, skipped, or to be continued by the next invocation.
    pub status: CopyStatus,
    /// How the destination was written.
    pub method: CopyMethod,
    /// The source version that was copied, as read before copying.
    pub source: ObjectInfo,
    /// The key written: the job's destination key, or its `keyForRawSource` when the source
    /// was found only under the raw event key.
    pub destination_key: String,
    /// The destination as written; absent while a multipart copy is in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<CopiedObject>,
    /// Where an `in-progress` multipart copy continues; cleared once it completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
    /// Source tags, recorded on the multipart path (which sets them explicitly) so verify can
    /// compare them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_tags: Option<Vec<(String, String)>>,
    /// Parts the copy needs: 1 for CopyObject, 0 when nothing was copied.
    pub parts_total: u32,
    /// Parts copied so far, counting those ListParts recovers on resume.
    pub parts_done: u32,
    /// Bytes per part of a multipart copy (the last may be shorter); kept after the
    /// checkpoint is cleared, so a finished copy still says how it was cut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_size_bytes: Option<u64>,
    /// S3 requests this step made, over all its invocations.
    pub requests: u32,
    /// Multipart uploads of the destination key that earlier invocations of this copy left
    /// open (killed, timed out or cancelled mid-copy) and this copy aborted before starting
    /// its own; absent when there were none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted_stale_uploads: Option<u32>,
}

impl CopyOutcome {
    pub(super) fn already_present(
        source: ObjectInfo,
        destination_key: String,
        dest: ObjectInfo,
        requests: u32,
    ) -> CopyOutcome {
        CopyOutcome {
            status: CopyStatus::AlreadyPresent,
            method: CopyMethod::None,
            source,
            destination_key,
            destination: Some(CopiedObject {
                etag: dest.etag,
                version_id: dest.version_id,
                checksum_algorithm: dest.checksum_algorithm,
                checksum: dest.checksum,
                checksum_type: dest.checksum_type,
            }),
            checkpoint: None,
            source_tags: None,
            parts_total: 0,
            parts_done: 0,
            part_size_bytes: None,
            requests,
            aborted_stale_uploads: None,
        }
    }
}
