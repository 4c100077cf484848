//! Object tagging and GetObjectAttributes.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use super::Service;
use super::convert::*;

impl Service {
    pub(super) fn get_object_tagging_impl(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let input = &req.input;
        let (v, versioned) =
            self.read_version(&input.bucket, &input.key, input.version_id.as_deref())?;
        let tag_set = v
            .tags
            .iter()
            .map(|(k, val)| Tag {
                key: Some(k.clone()),
                value: Some(val.clone()),
            })
            .collect();
        Ok(S3Response::new(GetObjectTaggingOutput {
            tag_set,
            version_id: versioned.then(|| v.version_id.clone()),
        }))
    }

    pub(super) fn put_object_tagging_impl(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        let input = req.input;
        let tags: Vec<(String, String)> = input
            .tagging
            .tag_set
            .into_iter()
            .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
            .collect();
        validate_tags(&tags)?;
        let bucket = self.store.bucket(&input.bucket)?;
        let versioned = bucket.versioning() != crate::store::model::Versioning::Unversioned;
        let v = bucket.edit_version(&input.key, input.version_id.as_deref(), |v| v.tags = tags)?;
        Ok(S3Response::new(PutObjectTaggingOutput {
            version_id: versioned.then_some(v.version_id),
        }))
    }

    pub(super) fn delete_object_tagging_impl(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        let input = req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let versioned = bucket.versioning() != crate::store::model::Versioning::Unversioned;
        let v = bucket.edit_version(&input.key, input.version_id.as_deref(), |v| v.tags.clear())?;
        Ok(S3Response::new(DeleteObjectTaggingOutput {
            version_id: versioned.then_some(v.version_id),
        }))
    }

    pub(super) fn get_object_attributes_impl(
        &self,
        req: S3Request<GetObjectAttributesInput>,
    ) -> S3Result<S3Response<GetObjectAttributesOutput>> {
        let input = req.input;
        let (v, versioned) =
            self.read_version(&input.bucket, &input.key, input.version_id.as_deref())?;
        let requested = attribute_names(input.object_attributes.iter().map(|a| a.as_str()));
        let wants = |name: &str| requested.iter().any(|a| a.eq_ignore_ascii_case(name));
        let mut out = GetObjectAttributesOutput {
            last_modified: Some(timestamp(v.last_modified_ms)),
            version_id: versioned.then(|| v.version_id.clone()),
            ..Default::default()
        };
        if wants(ObjectAttributes::ETAG) {
            out.e_tag = Some(etag(&v.etag));
        }
        if wants(ObjectAttributes::OBJECT_SIZE) {
            out.object_size = i64::try_from(v.size).ok();
        }
        if wants(ObjectAttributes::STORAGE_CLASS) {
            out.storage_class = Some(StorageClass::from(v.storage_class.clone()));
        }
        if wants(ObjectAttributes::CHECKSUM)
            && let Some(c) = &v.checksum
        {
            // GetObjectAttributes reports composite checksums without the -N suffix.
            let value = c
                .value
                .split_once('-')
                .map_or(c.value.as_str(), |(b, _)| b)
                .to_owned();
            let mut checksum = Checksum {
                checksum_type: checksum_type(Some(c)),
                ..Default::default()
            };
            let algorithm = algorithm(&c.algorithm)?;
            set_checksum_fields!(checksum, ChecksumFields::from_value(algorithm, value));
            out.checksum = Some(checksum);
        }
        if wants(ObjectAttributes::OBJECT_PARTS)
            && let Some(parts) = &v.parts
        {
            let algorithm = v
                .checksum
                .as_ref()
                .and_then(|c| copyflow_checksum::Algorithm::from_s3_name(&c.algorithm));
            let max =
                usize::try_from(input.max_parts.unwrap_or(1000).clamp(0, 1000)).unwrap_or(1000);
            let marker = input.part_number_marker.unwrap_or(0);
            let mut rest = parts.iter().filter(|p| p.number > marker);
            let page: Vec<ObjectPart> = rest
                .by_ref()
                .take(max)
                .map(|p| {
                    let mut part = ObjectPart {
                        part_number: Some(p.number),
                        size: i64::try_from(p.size).ok(),
                        ..Default::default()
                    };
                    if let Some((a, c)) = algorithm.zip(p.checksum.clone()) {
                        set_checksum_fields!(part, ChecksumFields::from_value(a, c));
                    }
                    part
                })
                .collect();
            let truncated = rest.next().is_some();
            out.object_parts = Some(GetObjectAttributesParts {
                total_parts_count: i32::try_from(parts.len()).ok(),
                part_number_marker: input.part_number_marker,
                next_part_number_marker: page
                    .last()
                    .and_then(|p| p.part_number)
                    .filter(|_| truncated),
                max_parts: Some(i32::try_from(max).unwrap_or(1000)),
                is_truncated: Some(truncated),
                parts: Some(page),
            });
        }
        Ok(S3Response::new(out))
    }
}

/// The attribute names of `x-amz-object-attributes` however the client sent the list: one
/// header per name (aws-sdk-s3), one comma-joined header (boto3, the aws cli), with or
/// without spaces after the commas. s3s hands over one value per header line.
fn attribute_names<'a>(headers: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    headers
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::attribute_names;

    #[test]
    fn attribute_lists_are_read_from_separate_headers_and_comma_joined_ones_alike() {
        let expected = ["ETag", "Checksum", "ObjectSize"];
        assert_eq!(
            attribute_names(["ETag", "Checksum", "ObjectSize"].into_iter()),
            expected
        );
        assert_eq!(
            attribute_names(["ETag,Checksum,ObjectSize"].into_iter()),
            expected
        );
        assert_eq!(
            attribute_names(["ETag, Checksum ,ObjectSize"].into_iter()),
            expected
        );
        assert_eq!(
            attribute_names(["ETag,Checksum", "ObjectSize,"].into_iter()),
            expected
        );
    }
}
