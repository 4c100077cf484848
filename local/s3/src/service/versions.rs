//! ListObjectVersions: every version and delete marker of a bucket's keys, paged with
//! `key-marker` / `version-id-marker` (the paging itself is pure, in `store::versions`).

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use super::Service;
use super::convert::*;
use crate::store::model::ObjectVersion;
use crate::store::versions::{self, Entry};

impl Service {
    pub(super) fn list_object_versions_impl(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let input = req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let url = input
            .encoding_type
            .as_ref()
            .is_some_and(|e| e.as_str() == EncodingType::URL);
        let enc = |s: &str| if url { url_encode_key(s) } else { s.to_owned() };
        let max_keys = input.max_keys.unwrap_or(1000).clamp(0, 1000);
        let prefix = input.prefix.clone().unwrap_or_default();
        let query = versions::Query {
            prefix: &prefix,
            delimiter: input.delimiter.as_deref(),
            max_keys: usize::try_from(max_keys).unwrap_or(1000),
            key_marker: input.key_marker.as_deref().filter(|k| !k.is_empty()),
            version_id_marker: input.version_id_marker.as_deref(),
        };
        let mut rows = bucket.rows(versions::start(&query), query.max_keys.saturating_add(1));
        let page = versions::list(
            rows.by_ref(),
            &query,
            |rec| rec.versions,
            |v: &ObjectVersion| v.version_id.as_str(),
        );
        rows.finish()?;
        let mut listed = Vec::new();
        let mut markers = Vec::new();
        let mut prefixes = Vec::new();
        for entry in page.entries {
            match entry {
                Entry::Version {
                    key,
                    version: v,
                    latest,
                } if v.delete_marker => markers.push(DeleteMarkerEntry {
                    is_latest: Some(latest),
                    key: Some(enc(&key)),
                    last_modified: Some(timestamp(v.last_modified_ms)),
                    owner: None,
                    version_id: Some(v.version_id.clone()),
                }),
                Entry::Version {
                    key,
                    version: v,
                    latest,
                } => listed.push(s3s::dto::ObjectVersion {
                    checksum_algorithm: v
                        .checksum
                        .as_ref()
                        .map(|c| vec![ChecksumAlgorithm::from(c.algorithm.clone())]),
                    checksum_type: checksum_type(v.checksum.as_ref()),
                    e_tag: Some(etag(&v.etag)),
                    is_latest: Some(latest),
                    key: Some(enc(&key)),
                    last_modified: Some(timestamp(v.last_modified_ms)),
                    size: i64::try_from(v.size).ok(),
                    storage_class: Some(ObjectVersionStorageClass::from(v.storage_class.clone())),
                    version_id: Some(v.version_id.clone()),
                    ..Default::default()
                }),
                Entry::CommonPrefix(p) => prefixes.push(CommonPrefix {
                    prefix: Some(enc(&p)),
                }),
            }
        }
        let next = page.next;
        Ok(S3Response::new(ListObjectVersionsOutput {
            name: Some(input.bucket),
            prefix: Some(enc(&prefix)),
            delimiter: input.delimiter.as_deref().map(enc),
            key_marker: Some(input.key_marker.as_deref().map(enc).unwrap_or_default()),
            version_id_marker: Some(input.version_id_marker.clone().unwrap_or_default()),
            max_keys: Some(max_keys),
            is_truncated: Some(next.is_some()),
            next_key_marker: next.as_ref().map(|n| enc(&n.key_marker)),
            next_version_id_marker: next.and_then(|n| n.version_id_marker),
            versions: (!listed.is_empty()).then_some(listed),
            delete_markers: (!markers.is_empty()).then_some(markers),
            common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
            encoding_type: input.encoding_type,
            ..Default::default()
        }))
    }
}
