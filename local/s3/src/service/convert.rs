//! Small conversions between s3s DTO fields and the engine's records.

use std::collections::BTreeMap;

use copyflow_checksum::Algorithm;
use s3s::dto::{ETag, ETagCondition, Metadata, StorageClass, Timestamp};
use s3s::{S3Error, S3Result, s3_error};

use crate::store::model::{ContentHeaders, StoredChecksum};

pub(crate) fn timestamp(ms: i64) -> Timestamp {
    let nanos = i128::from(ms) * 1_000_000;
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    Timestamp::from(t)
}

pub(crate) fn timestamp_ms(t: &Timestamp) -> i64 {
    let t: time::OffsetDateTime = t.clone().into();
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// S3 compares HTTP dates at second precision.
pub(crate) fn seconds(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

pub(crate) fn etag(unquoted: &str) -> ETag {
    ETag::Strong(unquoted.to_owned())
}

/// Does an `If-Match`-style condition accept an existing object with `current` ETag?
pub(crate) fn etag_matches(cond: &ETagCondition, current: &str) -> bool {
    match cond {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value().trim_matches('"') == current,
    }
}

pub(crate) fn storage_class(input: Option<&StorageClass>) -> String {
    input.map_or_else(|| "STANDARD".to_owned(), |s| s.as_str().to_owned())
}

pub(crate) fn metadata_in(m: Option<Metadata>) -> BTreeMap<String, String> {
    m.map(|m| {
        m.into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect()
    })
    .unwrap_or_default()
}

pub(crate) fn metadata_out(m: &BTreeMap<String, String>) -> Option<Metadata> {
    (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// Parses `x-amz-tagging` (URL-query encoded `k1=v1&k2=v2`) with S3's limits.
pub(crate) fn tags_from_header(header: Option<&str>) -> S3Result<Vec<(String, String)>> {
    let Some(header) = header.filter(|h| !h.is_empty()) else {
        return Ok(Vec::new());
    };
    let tags: Vec<(String, String)> = form_urlencoded::parse(header.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    validate_tags(&tags)?;
    Ok(tags)
}

pub(crate) fn validate_tags(tags: &[(String, String)]) -> S3Result<()> {
    if tags.len() > 10 {
        return Err(s3_error!(
            InvalidTag,
            "Object tags cannot be greater than 10"
        ));
    }
    for (i, (k, v)) in tags.iter().enumerate() {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(s3_error!(
                InvalidTag,
                "The TagKey or TagValue you have provided is invalid"
            ));
        }
        if tags[..i].iter().any(|(other, _)| other == k) {
            return Err(s3_error!(
                InvalidTag,
                "Cannot provide multiple Tags with the same key"
            ));
        }
    }
    Ok(())
}

pub(crate) fn headers_in(
    content_type: Option<String>,
    cache_control: Option<String>,
    content_disposition: Option<String>,
    content_encoding: Option<String>,
    content_language: Option<String>,
    expires: Option<&Timestamp>,
    website_redirect_location: Option<String>,
) -> ContentHeaders {
    ContentHeaders {
        content_type,
        cache_control,
        content_disposition,
        content_encoding,
        content_language,
        expires: expires.map(|t| timestamp_ms(t).to_string()),
        website_redirect_location,
    }
}

pub(crate) fn expires_out(h: &ContentHeaders) -> Option<Timestamp> {
    h.expires
        .as_deref()
        .and_then(|s| s.parse::<i64>().ok())
        .map(timestamp)
}

pub(crate) fn algorithm(name: &str) -> S3Result<Algorithm> {
    Algorithm::from_s3_name(name).ok_or_else(|| {
        s3_error!(
            InvalidRequest,
            "Value for x-amz-checksum-algorithm header is invalid."
        )
    })
}

/// The `x-amz-checksum-*` value fields of an S3 DTO, by algorithm.
#[derive(Debug, Default, Clone)]
pub(crate) struct ChecksumFields {
    pub crc32: Option<String>,
    pub crc32c: Option<String>,
    pub crc64nvme: Option<String>,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
}

impl ChecksumFields {
    /// The one value present, if any; several different algorithms at once is an error.
    pub(crate) fn single(&self) -> S3Result<Option<(Algorithm, String)>> {
        let all = [
            (Algorithm::Crc32, &self.crc32),
            (Algorithm::Crc32c, &self.crc32c),
            (Algorithm::Crc64Nvme, &self.crc64nvme),
            (Algorithm::Sha1, &self.sha1),
            (Algorithm::Sha256, &self.sha256),
        ];
        let mut present = all
            .into_iter()
            .filter_map(|(a, v)| v.clone().map(|v| (a, v)));
        let first = present.next();
        if present.next().is_some() {
            return Err(s3_error!(
                InvalidRequest,
                "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
            ));
        }
        Ok(first)
    }

    pub(crate) fn from_value(algorithm: Algorithm, value: String) -> Self {
        let mut f = ChecksumFields::default();
        match algorithm {
            Algorithm::Crc32 => f.crc32 = Some(value),
            Algorithm::Crc32c => f.crc32c = Some(value),
            Algorithm::Crc64Nvme => f.crc64nvme = Some(value),
            Algorithm::Sha1 => f.sha1 = Some(value),
            Algorithm::Sha256 => f.sha256 = Some(value),
        }
        f
    }

    pub(crate) fn from_stored(c: Option<&StoredChecksum>) -> Self {
        c.and_then(|c| {
            Algorithm::from_s3_name(&c.algorithm).map(|a| Self::from_value(a, c.value.clone()))
        })
        .unwrap_or_default()
    }
}

/// Reads the five checksum fields of any DTO that has them.
macro_rules! checksum_fields_of {
    ($dto:expr) => {
        $crate::service::convert::ChecksumFields {
            crc32: $dto.checksum_crc32.take(),
            crc32c: $dto.checksum_crc32c.take(),
            crc64nvme: $dto.checksum_crc64nvme.take(),
            sha1: $dto.checksum_sha1.take(),
            sha256: $dto.checksum_sha256.take(),
        }
    };
}

/// Writes checksum fields into any DTO that has them.
macro_rules! set_checksum_fields {
    ($dto:expr, $fields:expr) => {{
        let f: $crate::service::convert::ChecksumFields = $fields;
        $dto.checksum_crc32 = f.crc32;
        $dto.checksum_crc32c = f.crc32c;
        $dto.checksum_crc64nvme = f.crc64nvme;
        $dto.checksum_sha1 = f.sha1;
        $dto.checksum_sha256 = f.sha256;
    }};
}

pub(crate) use {checksum_fields_of, set_checksum_fields};

pub(crate) fn checksum_type(c: Option<&StoredChecksum>) -> Option<s3s::dto::ChecksumType> {
    c.map(|c| s3s::dto::ChecksumType::from(c.checksum_type.clone()))
}

pub(crate) fn bad_digest(algorithm: Algorithm) -> S3Error {
    s3_error!(
        BadDigest,
        "The {} you specified did not match the calculated checksum.",
        algorithm.as_s3_name()
    )
}

pub(crate) fn precondition_failed() -> S3Error {
    s3_error!(
        PreconditionFailed,
        "At least one of the pre-conditions you specified did not hold"
    )
}

/// `encoding-type=url` listings: keys percent-encoded (RFC 3986 unreserved and `/` kept).
pub(crate) fn url_encode_key(s: &str) -> String {
    crate::event::KeyEncoding::Percent.encode(s).into_owned()
}

/// 416 InvalidPartNumber (not in the s3s 0.14 error list).
pub(crate) fn invalid_part_number() -> S3Error {
    let mut e = S3Error::with_message(
        s3s::S3ErrorCode::Custom("InvalidPartNumber".into()),
        "The requested partnumber is not satisfiable",
    );
    e.set_status_code(http::StatusCode::RANGE_NOT_SATISFIABLE);
    e
}

/// `aws-chunked` describes the request framing, not the object: S3 drops it from the
/// stored Content-Encoding (and stores nothing if it was the only coding).
pub(crate) fn without_aws_chunked(encoding: Option<String>) -> Option<String> {
    let kept: Vec<&str> = encoding
        .as_deref()?
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    (!kept.is_empty()).then(|| kept.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_chunked_is_dropped_from_the_stored_content_encoding() {
        assert_eq!(without_aws_chunked(Some("aws-chunked".into())), None);
        assert_eq!(
            without_aws_chunked(Some("gzip,aws-chunked".into())).as_deref(),
            Some("gzip")
        );
        assert_eq!(
            without_aws_chunked(Some("aws-chunked, br".into())).as_deref(),
            Some("br")
        );
        assert_eq!(without_aws_chunked(None), None);
    }

    #[test]
    fn url_encoding_of_listing_keys_keeps_slashes_and_escapes_plus_and_space() {
        assert_eq!(url_encode_key("a b+c/é"), "a%20b%2Bc/%C3%A9");
    }
}
