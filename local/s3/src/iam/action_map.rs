//! Which IAM actions on which resources an S3 request needs.
//!
//! From AWS's "Required permissions for Amazon S3 API operations" (S3 User Guide) and the
//! operations' API references:
//!
//! - Reads and tag calls take the version variant when the request names a `versionId`:
//!   GetObject/HeadObject -> `s3:GetObject` or `s3:GetObjectVersion`; Get/Put/DeleteObjectTagging
//!   -> `s3:*ObjectTagging` or `s3:*ObjectVersionTagging`; DeleteObject -> `s3:DeleteObject` or
//!   `s3:DeleteObjectVersion`; GetObjectAttributes -> `s3:GetObject` + `s3:GetObjectAttributes`,
//!   or `s3:GetObjectVersion` + `s3:GetObjectVersionAttributes`.
//! - CopyObject and UploadPartCopy read the source (`s3:GetObject`, or `s3:GetObjectVersion`
//!   when `x-amz-copy-source` names a version) and write the destination (`s3:PutObject`).
//!   CopyObject copies the source's tags unless `x-amz-tagging-directive` is `REPLACE`, which
//!   needs `s3:GetObjectTagging` (`s3:GetObjectVersionTagging`) on the source; this server asks
//!   for it whether or not the source has tags (AWS's page names the permission, not when it is
//!   checked: stricter here, never looser).
//! - Setting tags on a write (`x-amz-tagging` on PutObject, CopyObject,
//!   CreateMultipartUpload) also needs `s3:PutObjectTagging` on the written object.
//! - Multipart: CreateMultipartUpload, UploadPart and CompleteMultipartUpload are
//!   `s3:PutObject`; AbortMultipartUpload `s3:AbortMultipartUpload`; ListParts
//!   `s3:ListMultipartUploadParts`; ListMultipartUploads `s3:ListBucketMultipartUploads`.
//! - Bucket reads: HeadBucket, ListObjects(V2) `s3:ListBucket`; ListObjectVersions
//!   `s3:ListBucketVersions`; ListBuckets `s3:ListAllMyBuckets` on `*`.
//! - A read of a missing key (GetObject, HeadObject, GetObjectAttributes) answers 404 only to
//!   a caller allowed `s3:ListBucket` on the bucket, 403 to others ([`missing_key_need`]).
//!
//! DeleteObjects and PostObject name their keys in the body; they are checked once s3s has
//! parsed it ([`Required::AfterParsing`]).

use http::HeaderMap;

/// One permission a request needs: an IAM action on a resource ARN (or `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Need {
    pub(crate) action: &'static str,
    pub(crate) resource: String,
}

/// What the routing-time check can say about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Required {
    /// All of these are needed.
    All(Vec<Need>),
    /// The resources are in the body: checked by the operation's own hook.
    AfterParsing,
    /// An operation this table does not know: refused to keys bound to policies.
    Unmapped,
}

/// What the router knows of a request, without I/O.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestFacts<'a> {
    /// s3s's operation name, e.g. "UploadPartCopy".
    pub(crate) operation: &'a str,
    pub(crate) bucket: Option<&'a str>,
    pub(crate) key: Option<&'a str>,
    /// The raw query string.
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: &'a HeaderMap,
}

/// `arn:aws:s3:::bucket`.
pub(crate) fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

/// `arn:aws:s3:::bucket/key`.
pub(crate) fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

/// The permissions `request` needs.
pub(crate) fn required(request: &RequestFacts<'_>) -> Required {
    let versioned = query_param(request.query, "versionId").is_some();
    let bucket = || request.bucket.map(bucket_arn).unwrap_or_default();
    let object = || match (request.bucket, request.key) {
        (Some(b), Some(k)) => object_arn(b, k),
        _ => bucket(),
    };
    let on_bucket = |action| Required::All(vec![need(action, bucket())]);
    let on_object = |action| Required::All(vec![need(action, object())]);
    let pick = |plain, version| if versioned { version } else { plain };
    let tagged_write = |mut needs: Vec<Need>| {
        if request.headers.contains_key("x-amz-tagging") {
            needs.push(need("s3:PutObjectTagging", object()));
        }
        Required::All(needs)
    };
    match request.operation {
        "ListBuckets" => Required::All(vec![need("s3:ListAllMyBuckets", "*".to_owned())]),
        "CreateBucket" => on_bucket("s3:CreateBucket"),
        "DeleteBucket" => on_bucket("s3:DeleteBucket"),
        "HeadBucket" | "ListObjects" | "ListObjectsV2" => on_bucket("s3:ListBucket"),
        "ListObjectVersions" => on_bucket("s3:ListBucketVersions"),
        "GetBucketLocation" => on_bucket("s3:GetBucketLocation"),
        "GetBucketVersioning" => on_bucket("s3:GetBucketVersioning"),
        "PutBucketVersioning" => on_bucket("s3:PutBucketVersioning"),
        "GetBucketNotificationConfiguration" => on_bucket("s3:GetBucketNotification"),
        "PutBucketNotificationConfiguration" => on_bucket("s3:PutBucketNotification"),
        "GetBucketLifecycleConfiguration" => on_bucket("s3:GetLifecycleConfiguration"),
        "PutBucketLifecycleConfiguration" | "DeleteBucketLifecycle" => {
            on_bucket("s3:PutLifecycleConfiguration")
        }
        "ListMultipartUploads" => on_bucket("s3:ListBucketMultipartUploads"),
        "GetObject" | "HeadObject" => on_object(pick("s3:GetObject", "s3:GetObjectVersion")),
        "GetObjectAttributes" => Required::All(vec![
            need(pick("s3:GetObject", "s3:GetObjectVersion"), object()),
            need(
                pick("s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"),
                object(),
            ),
        ]),
        "GetObjectTagging" => on_object(pick("s3:GetObjectTagging", "s3:GetObjectVersionTagging")),
        "PutObjectTagging" => on_object(pick("s3:PutObjectTagging", "s3:PutObjectVersionTagging")),
        "DeleteObjectTagging" => on_object(pick(
            "s3:DeleteObjectTagging",
            "s3:DeleteObjectVersionTagging",
        )),
        "DeleteObject" => on_object(pick("s3:DeleteObject", "s3:DeleteObjectVersion")),
        "PutObject" | "CreateMultipartUpload" => tagged_write(vec![need("s3:PutObject", object())]),
        "UploadPart" | "CompleteMultipartUpload" => on_object("s3:PutObject"),
        "AbortMultipartUpload" => on_object("s3:AbortMultipartUpload"),
        "ListParts" => on_object("s3:ListMultipartUploadParts"),
        "CopyObject" | "UploadPartCopy" => {
            let Some(source) = request
                .headers
                .get("x-amz-copy-source")
                .and_then(|v| v.to_str().ok())
                .and_then(CopySource::parse)
            else {
                // s3s refuses a request without a readable copy source before it runs; an
                // access point ARN source is not modelled.
                return Required::Unmapped;
            };
            let source_arn = object_arn(&source.bucket, &source.key);
            let source_versioned = source.version_id.is_some();
            let read = if source_versioned {
                "s3:GetObjectVersion"
            } else {
                "s3:GetObject"
            };
            let mut needs = vec![
                need("s3:PutObject", object()),
                need(read, source_arn.clone()),
            ];
            if request.operation == "UploadPartCopy" {
                return Required::All(needs);
            }
            let replace = request
                .headers
                .get("x-amz-tagging-directive")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|d| d.eq_ignore_ascii_case("REPLACE"));
            if !replace {
                let tags = if source_versioned {
                    "s3:GetObjectVersionTagging"
                } else {
                    "s3:GetObjectTagging"
                };
                needs.push(need(tags, source_arn));
            }
            tagged_write(needs)
        }
        "DeleteObjects" | "PostObject" => Required::AfterParsing,
        _ => Required::Unmapped,
    }
}

/// What a read of a missing key needs to be told it is missing (404) rather than denied
/// (403): `s3:ListBucket` on the bucket. `None` for other operations.
pub(crate) fn missing_key_need(request: &RequestFacts<'_>) -> Option<Need> {
    match request.operation {
        "GetObject" | "HeadObject" | "GetObjectAttributes" => {
            request.bucket.map(|b| need("s3:ListBucket", bucket_arn(b)))
        }
        _ => None,
    }
}

/// DeleteObjects: `s3:DeleteObject` (or `s3:DeleteObjectVersion`) on every listed object.
pub(crate) fn delete_objects_needs<'k>(
    bucket: &str,
    objects: impl IntoIterator<Item = (&'k str, bool)>,
) -> Vec<Need> {
    objects
        .into_iter()
        .map(|(key, versioned)| {
            let action = if versioned {
                "s3:DeleteObjectVersion"
            } else {
                "s3:DeleteObject"
            };
            need(action, object_arn(bucket, key))
        })
        .collect()
}

/// PostObject (a browser form upload): `s3:PutObject` on the form's key, and
/// `s3:PutObjectTagging` when the form sets tags.
pub(crate) fn post_object_needs(bucket: &str, key: &str, tagged: bool) -> Vec<Need> {
    let mut needs = vec![need("s3:PutObject", object_arn(bucket, key))];
    if tagged {
        needs.push(need("s3:PutObjectTagging", object_arn(bucket, key)));
    }
    needs
}

fn need(action: &'static str, resource: String) -> Need {
    Need { action, resource }
}

/// `x-amz-copy-source`: `[/]bucket/key[?versionId=id]`, the bucket and key percent-encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CopySource {
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) version_id: Option<String>,
}

impl CopySource {
    pub(crate) fn parse(header: &str) -> Option<CopySource> {
        let (path, query) = match header.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (header, None),
        };
        let path = percent_decode(path.strip_prefix('/').unwrap_or(path))?;
        if path.starts_with("arn:") {
            return None;
        }
        let (bucket, key) = path.split_once('/')?;
        if bucket.is_empty() || key.is_empty() {
            return None;
        }
        Some(CopySource {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            version_id: query_param(query, "versionId"),
        })
    }
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `%XX` decoding (no `+` for space: this is a path, not a form).
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn needs(
        operation: &str,
        path: (&str, Option<&str>),
        query: Option<&str>,
        headers: &[(&'static str, &str)],
    ) -> Vec<(&'static str, String)> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        let facts = RequestFacts {
            operation,
            bucket: Some(path.0),
            key: path.1,
            query,
            headers: &map,
        };
        match required(&facts) {
            Required::All(needs) => needs.into_iter().map(|n| (n.action, n.resource)).collect(),
            other => panic!("{operation}: {other:?}"),
        }
    }

    fn one(action: &'static str, resource: &str) -> Vec<(&'static str, String)> {
        vec![(action, resource.to_owned())]
    }

    const OBJ: (&str, Option<&str>) = ("b", Some("dir/k.txt"));
    const ARN: &str = "arn:aws:s3:::b/dir/k.txt";

    #[test]
    fn reads_take_the_version_variant_when_a_version_is_named() {
        assert_eq!(needs("GetObject", OBJ, None, &[]), one("s3:GetObject", ARN));
        assert_eq!(
            needs("HeadObject", OBJ, Some("versionId=v1&partNumber=1"), &[]),
            one("s3:GetObjectVersion", ARN)
        );
        assert_eq!(
            needs("GetObjectTagging", OBJ, Some("tagging&versionId=v1"), &[]),
            one("s3:GetObjectVersionTagging", ARN)
        );
        assert_eq!(
            needs("GetObjectTagging", OBJ, Some("tagging"), &[]),
            one("s3:GetObjectTagging", ARN)
        );
        assert_eq!(
            needs(
                "GetObjectAttributes",
                OBJ,
                Some("attributes&versionId=v"),
                &[]
            ),
            vec![
                ("s3:GetObjectVersion", ARN.to_owned()),
                ("s3:GetObjectVersionAttributes", ARN.to_owned())
            ]
        );
        assert_eq!(
            needs("GetObjectAttributes", OBJ, Some("attributes"), &[]),
            vec![
                ("s3:GetObject", ARN.to_owned()),
                ("s3:GetObjectAttributes", ARN.to_owned())
            ]
        );
        assert_eq!(
            needs("DeleteObject", OBJ, Some("versionId=v"), &[]),
            one("s3:DeleteObjectVersion", ARN)
        );
        assert_eq!(
            needs("DeleteObject", OBJ, None, &[]),
            one("s3:DeleteObject", ARN)
        );
    }

    #[test]
    fn copies_read_the_source_and_write_the_destination() {
        let src = "arn:aws:s3:::src/a b/k";
        assert_eq!(
            needs(
                "CopyObject",
                OBJ,
                None,
                &[("x-amz-copy-source", "src/a%20b/k?versionId=v9")]
            ),
            vec![
                ("s3:PutObject", ARN.to_owned()),
                ("s3:GetObjectVersion", src.to_owned()),
                ("s3:GetObjectVersionTagging", src.to_owned()),
            ]
        );
        assert_eq!(
            needs(
                "CopyObject",
                OBJ,
                None,
                &[
                    ("x-amz-copy-source", "/src/a%20b/k"),
                    ("x-amz-tagging-directive", "REPLACE"),
                    ("x-amz-tagging", "a=1"),
                ]
            ),
            vec![
                ("s3:PutObject", ARN.to_owned()),
                ("s3:GetObject", src.to_owned()),
                ("s3:PutObjectTagging", ARN.to_owned()),
            ]
        );
        assert_eq!(
            needs(
                "UploadPartCopy",
                OBJ,
                Some("partNumber=1&uploadId=u"),
                &[("x-amz-copy-source", "src/a%20b/k?versionId=v9")]
            ),
            vec![
                ("s3:PutObject", ARN.to_owned()),
                ("s3:GetObjectVersion", src.to_owned()),
            ]
        );
    }

    #[test]
    fn multipart_operations_map_to_put_abort_and_list_parts() {
        assert_eq!(
            needs("CreateMultipartUpload", OBJ, Some("uploads"), &[]),
            one("s3:PutObject", ARN)
        );
        assert_eq!(
            needs(
                "CreateMultipartUpload",
                OBJ,
                Some("uploads"),
                &[("x-amz-tagging", "a=1")]
            ),
            vec![
                ("s3:PutObject", ARN.to_owned()),
                ("s3:PutObjectTagging", ARN.to_owned())
            ]
        );
        for op in ["UploadPart", "CompleteMultipartUpload"] {
            assert_eq!(
                needs(op, OBJ, Some("uploadId=u"), &[]),
                one("s3:PutObject", ARN)
            );
        }
        assert_eq!(
            needs("AbortMultipartUpload", OBJ, Some("uploadId=u"), &[]),
            one("s3:AbortMultipartUpload", ARN)
        );
        assert_eq!(
            needs("ListParts", OBJ, Some("uploadId=u"), &[]),
            one("s3:ListMultipartUploadParts", ARN)
        );
        assert_eq!(
            needs("ListMultipartUploads", ("b", None), Some("uploads"), &[]),
            one("s3:ListBucketMultipartUploads", "arn:aws:s3:::b")
        );
    }

    #[test]
    fn bucket_operations_name_the_bucket_arn() {
        for (op, action) in [
            ("HeadBucket", "s3:ListBucket"),
            ("ListObjectsV2", "s3:ListBucket"),
            ("ListObjectVersions", "s3:ListBucketVersions"),
            ("PutBucketVersioning", "s3:PutBucketVersioning"),
            (
                "PutBucketNotificationConfiguration",
                "s3:PutBucketNotification",
            ),
            (
                "GetBucketNotificationConfiguration",
                "s3:GetBucketNotification",
            ),
            ("DeleteBucketLifecycle", "s3:PutLifecycleConfiguration"),
        ] {
            assert_eq!(
                needs(op, ("b", None), None, &[]),
                one(action, "arn:aws:s3:::b")
            );
        }
    }

    #[test]
    fn missing_keys_need_list_bucket_and_unknown_operations_are_unmapped() {
        let headers = HeaderMap::new();
        let facts = RequestFacts {
            operation: "HeadObject",
            bucket: Some("b"),
            key: Some("k"),
            query: None,
            headers: &headers,
        };
        assert_eq!(
            missing_key_need(&facts),
            Some(Need {
                action: "s3:ListBucket",
                resource: "arn:aws:s3:::b".into()
            })
        );
        let acl = RequestFacts {
            operation: "GetBucketAcl",
            ..facts
        };
        assert_eq!(required(&acl), Required::Unmapped);
        assert_eq!(missing_key_need(&acl), None);
        let delete = RequestFacts {
            operation: "DeleteObjects",
            ..facts
        };
        assert_eq!(required(&delete), Required::AfterParsing);
    }

    #[test]
    fn copy_sources_decode_and_refuse_what_they_cannot_name() {
        assert_eq!(
            CopySource::parse("b/k%3Fx?versionId=1"),
            Some(CopySource {
                bucket: "b".into(),
                key: "k?x".into(),
                version_id: Some("1".into())
            })
        );
        assert_eq!(CopySource::parse("b"), None);
        assert_eq!(CopySource::parse("b/"), None);
        assert_eq!(CopySource::parse("b/%zz"), None);
        assert_eq!(
            CopySource::parse("arn:aws:s3:us-east-1:1:accesspoint/ap/object/k"),
            None
        );
    }
}
