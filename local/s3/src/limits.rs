//! AWS's request limits the server enforces, as pure checks: 2 KB of user metadata per
//! object, and presigned URLs valid for at most 7 days.
//!
//! s3s accepts both beyond AWS's bounds, and a client that works here must not fail on AWS.

use s3s::{S3Error, S3ErrorCode, S3Result};

use crate::errors::aws;

/// User-defined metadata is at most 2 KB: the UTF-8 bytes of every key (without the
/// `x-amz-meta-` prefix) and value, summed.
pub(crate) const MAX_USER_METADATA_BYTES: usize = 2 * 1024;

/// A presigned URL's `X-Amz-Expires` is at most 7 days, in seconds.
pub(crate) const MAX_PRESIGNED_EXPIRES_SECS: u64 = 7 * 24 * 60 * 60;

pub(crate) fn check_metadata<'m>(
    metadata: impl IntoIterator<Item = (&'m String, &'m String)>,
) -> S3Result<()> {
    let size: usize = metadata.into_iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > MAX_USER_METADATA_BYTES {
        return Err(aws(S3ErrorCode::MetadataTooLarge));
    }
    Ok(())
}

/// The `X-Amz-Expires` of a presigned request's query string, refused beyond 7 days (what
/// S3 answers, code and message, before it looks at the signature).
pub(crate) fn check_presigned_expires(query: Option<&str>) -> Result<(), S3Error> {
    let Some(query) = query else { return Ok(()) };
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name != "X-Amz-Expires" {
            continue;
        }
        let seconds: Option<u64> = value.parse().ok();
        return match seconds {
            Some(s) if s <= MAX_PRESIGNED_EXPIRES_SECS => Ok(()),
            Some(_) => Err(S3Error::with_message(
                S3ErrorCode::AuthorizationQueryParametersError,
                "X-Amz-Expires must be less than a week (in seconds) that is; 604800",
            )),
            None => Err(S3Error::with_message(
                S3ErrorCode::AuthorizationQueryParametersError,
                "X-Amz-Expires should be a number",
            )),
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn metadata(pairs: &[(&str, usize)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, n)| ((*k).to_owned(), "v".repeat(*n)))
            .collect()
    }

    #[test]
    fn metadata_of_exactly_2_kb_of_keys_and_values_is_accepted() {
        assert!(check_metadata(&metadata(&[("a", 1023), ("b", 1023)])).is_ok());
    }

    #[test]
    fn metadata_one_byte_over_2_kb_is_metadata_too_large() {
        let err = check_metadata(&metadata(&[("a", 1024), ("b", 1023)])).err();
        assert_eq!(
            err.map(|e| e.code().as_str().to_owned()).as_deref(),
            Some("MetadataTooLarge")
        );
    }

    #[test]
    fn presigned_urls_up_to_7_days_are_accepted() {
        assert!(check_presigned_expires(Some("X-Amz-Expires=604800&X-Amz-Date=x")).is_ok());
        assert!(check_presigned_expires(Some("versionId=1")).is_ok());
        assert!(check_presigned_expires(None).is_ok());
    }

    #[test]
    fn presigned_urls_over_7_days_or_unreadable_expiry_are_refused() {
        for query in [
            "X-Amz-Expires=604801",
            "a=b&X-Amz-Expires=691200",
            "X-Amz-Expires=-1",
        ] {
            let err = check_presigned_expires(Some(query)).err();
            assert_eq!(
                err.map(|e| e.code().as_str().to_owned()).as_deref(),
                Some("AuthorizationQueryParametersError"),
                "{query}"
            );
        }
    }
}
