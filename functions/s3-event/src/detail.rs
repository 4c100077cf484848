//! `detail` of an S3 `Object Created` event: what was written, where, by which request.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The `detail` of an S3 `Object Created` event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ObjectCreatedDetail {
    /// `"0"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The detail schema version (`"1.0"`), in newer events only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_version: Option<String>,
    /// The bucket.
    pub bucket: BucketRef,
    /// The object.
    pub object: ObjectRef,
    /// The S3 request id of the request that created the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The account id or service principal that made the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    /// The requester's IP address (only for events caused by an S3 request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip_address: Option<String>,
    /// The API that created the object; an open string (see [`Reason`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `detail.bucket`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketRef {
    /// The bucket name.
    pub name: String,
}

/// `detail.object`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ObjectRef {
    /// The key, in one of the encodings of [`crate::KeyEncoding`].
    pub key: String,
    /// The size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The ETag, unquoted (`-N` suffix for multipart objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The version id, on versioned buckets; absent (not `null`) on unversioned ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// Orders events for the same key (compare after right-padding the shorter with `0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequencer: Option<String>,
}

impl ObjectRef {
    /// The ETag without surrounding quotes, whichever form it came in.
    pub fn etag_unquoted(&self) -> Option<&str> {
        self.etag.as_deref().map(unquote_etag)
    }
}

/// An ETag without surrounding quotes (`"abc"` -> `abc`; `abc` unchanged).
pub fn unquote_etag(etag: &str) -> &str {
    etag.strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .unwrap_or(etag)
}

/// The S3 APIs that create objects, as written in `detail.reason`.
///
/// AWS's prose spells the POST case "POST Object" while emulators write `PostObject`; this
/// type writes `PostObject` and reads both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reason {
    /// PutObject.
    PutObject,
    /// A browser-form POST upload.
    #[serde(alias = "POST Object")]
    PostObject,
    /// CopyObject.
    CopyObject,
    /// CompleteMultipartUpload (this covers uploads whose parts came from UploadPartCopy).
    CompleteMultipartUpload,
}

impl Reason {
    /// The string written in `detail.reason`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PutObject => "PutObject",
            Self::PostObject => "PostObject",
            Self::CopyObject => "CopyObject",
            Self::CompleteMultipartUpload => "CompleteMultipartUpload",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_bucket_name_and_key_are_required_and_absent_fields_are_not_written() {
        let detail: ObjectCreatedDetail = serde_json::from_value(
            json!({"bucket": {"name": "b"}, "object": {"key": "k"}, "new-field": 1}),
        )
        .unwrap();
        assert_eq!(detail.object.key, "k");
        assert_eq!(
            serde_json::to_value(&detail).unwrap(),
            json!({"bucket": {"name": "b"}, "object": {"key": "k"}})
        );
        let missing =
            serde_json::from_value::<ObjectCreatedDetail>(json!({"bucket": {"name": "b"}}));
        assert!(missing.unwrap_err().to_string().contains("object"));
    }

    #[test]
    fn fields_are_kebab_case() {
        let detail = ObjectCreatedDetail {
            object: ObjectRef {
                key: "k".to_owned(),
                version_id: Some("v".to_owned()),
                ..ObjectRef::default()
            },
            source_ip_address: Some("1.2.3.4".to_owned()),
            ..ObjectCreatedDetail::default()
        };
        let value = serde_json::to_value(&detail).unwrap();
        assert_eq!(value["object"]["version-id"], "v");
        assert_eq!(value["source-ip-address"], "1.2.3.4");
    }

    #[test]
    fn etags_lose_their_quotes() {
        assert_eq!(unquote_etag("\"abc-12\""), "abc-12");
        assert_eq!(unquote_etag("abc"), "abc");
        assert_eq!(unquote_etag("\""), "\"");
    }

    #[test]
    fn reasons_serialize_as_the_api_names_and_post_object_reads_both_spellings() {
        for (reason, name) in [
            (Reason::PutObject, "PutObject"),
            (Reason::PostObject, "PostObject"),
            (Reason::CopyObject, "CopyObject"),
            (Reason::CompleteMultipartUpload, "CompleteMultipartUpload"),
        ] {
            assert_eq!(serde_json::to_value(reason).unwrap(), json!(name));
            assert_eq!(reason.to_string(), name);
            assert_eq!(
                serde_json::from_value::<Reason>(json!(name)).unwrap(),
                reason
            );
        }
        assert_eq!(
            serde_json::from_value::<Reason>(json!("POST Object")).unwrap(),
            Reason::PostObject
        );
    }
}
