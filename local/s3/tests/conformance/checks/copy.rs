//! CopyObject: directives, copy-source conditions (incl. the combination rules of
//! `docs/aws-facts.md#conditional-requests`), destination conditions, versioned sources and
//! checksums.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_s3::operation::copy_object::builders::CopyObjectFluentBuilder;
use aws_sdk_s3::primitives::DateTime;
use aws_sdk_s3::types::{MetadataDirective, StorageClass, TaggingDirective};

use super::objects::{
    Headers, check_expires, check_headers_but_expires, headers, put_with_headers,
};
use super::*;
use crate::harness::expect_error;

/// `x-amz-copy-source`: the SDK sends it verbatim, so the key must be URL-encoded here
/// (every byte outside the unreserved set, keeping `/`).
pub(super) fn copy_source(bucket: &str, key: &str) -> String {
    let mut source = format!("{bucket}/");
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~/".contains(&byte) {
            source.push(char::from(byte));
        } else {
            source.push_str(&format!("%{byte:02X}"));
        }
    }
    source
}

fn copy(ctx: &Ctx, bucket: &str, from: &str, to: &str) -> CopyObjectFluentBuilder {
    ctx.s3
        .copy_object()
        .bucket(bucket)
        .key(to)
        .copy_source(copy_source(bucket, from))
}

pub(super) async fn tags(
    ctx: &Ctx,
    bucket: &str,
    key: &str,
) -> Result<BTreeMap<String, String>, String> {
    let out = ctx
        .s3
        .get_object_tagging()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .or_fail(&format!("GetObjectTagging {key}"))?;
    Ok(out
        .tag_set()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect())
}

pub(super) fn tag_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub(super) async fn copy_object_copies_bytes_with_md5_etag(ctx: Ctx) -> Outcome {
    let (from, to) = (ctx.bucket().await?, ctx.bucket().await?);
    let data = body(2000, 4);
    put(&ctx, &from, "src", &data).await?;
    let out = ctx
        .s3
        .copy_object()
        .bucket(&to)
        .key("dst")
        .copy_source(copy_source(&from, "src"))
        .send()
        .await
        .or_fail("CopyObject across buckets")?;
    let result = out
        .copy_object_result()
        .ok_or("CopyObject: no CopyObjectResult")?;
    ensure_eq!(
        result.e_tag(),
        Some(quoted(&md5_hex(&data)).as_str()),
        "CopyObjectResult ETag"
    );
    ensure!(
        result.last_modified().is_some(),
        "CopyObjectResult has no LastModified"
    );
    same_bytes(&get_bytes(&ctx, &to, "dst").await?, &data, "copied body")
}

pub(super) async fn copy_of_a_missing_source_is_404_no_such_key(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    expect_error(
        "CopyObject of a missing source key",
        copy(&ctx, &bucket, "missing", "dst").send().await,
        404,
        Some("NoSuchKey"),
    )
}

pub(super) async fn copy_source_with_special_characters_is_url_decoded(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    let key = "dir/a b+c ü=%.txt";
    put(&ctx, &bucket, key, b"special").await?;
    copy(&ctx, &bucket, key, "dst")
        .send()
        .await
        .or_fail(&format!(
            "CopyObject from {key:?} ({})",
            copy_source(&bucket, key)
        ))?;
    ensure_eq!(
        get_bytes(&ctx, &bucket, "dst").await?,
        b"special".to_vec(),
        "copied body"
    );
    Ok(())
}

pub(super) async fn copy_source_with_version_id_copies_that_version(ctx: Ctx) -> Outcome {
    let bucket = ctx.versioned_bucket().await?;
    let (one, two) = (body(700, 1), body(800, 2));
    let mut versions = Vec::new();
    for data in [&one, &two] {
        let out = ctx
            .s3
            .put_object()
            .bucket(&bucket)
            .key("src")
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .or_fail("PutObject")?;
        versions.push(out.version_id.ok_or("PutObject: no version id")?);
    }
    let out = ctx
        .s3
        .copy_object()
        .bucket(&bucket)
        .key("dst")
        .copy_source(format!(
            "{}?versionId={}",
            copy_source(&bucket, "src"),
            versions[0]
        ))
        .send()
        .await
        .or_fail("CopyObject ?versionId=<first>")?;
    ensure_eq!(
        out.copy_source_version_id(),
        Some(versions[0].as_str()),
        "x-amz-copy-source-version-id"
    );
    ensure!(
        out.version_id().is_some_and(|v| v != versions[0]),
        "the copy's own version id should be new, got {:?}",
        out.version_id()
    );
    same_bytes(
        &get_bytes(&ctx, &bucket, "dst").await?,
        &one,
        "copy of the first version",
    )
}

/// "This copy request is illegal because it is trying to copy an object to itself without
/// changing the object's metadata, storage class, website redirect location or encryption
/// attributes" (CopyObject); with MetadataDirective REPLACE it is allowed.
pub(super) async fn copy_onto_itself_without_changes_is_400_invalid_request(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    put(&ctx, &bucket, "self", b"me").await?;
    expect_error(
        "CopyObject onto itself",
        copy(&ctx, &bucket, "self", "self").send().await,
        400,
        Some("InvalidRequest"),
    )?;
    copy(&ctx, &bucket, "self", "self")
        .metadata_directive(MetadataDirective::Replace)
        .metadata("changed", "yes")
        .send()
        .await
        .or_fail("CopyObject onto itself with MetadataDirective REPLACE")?;
    let head = ctx
        .s3
        .head_object()
        .bucket(&bucket)
        .key("self")
        .send()
        .await
        .or_fail("HeadObject")?;
    ensure_eq!(
        head.metadata()
            .and_then(|m| m.get("changed"))
            .map(String::as_str),
        Some("yes"),
        "metadata after the in-place REPLACE copy"
    );
    Ok(())
}

pub(super) async fn copy_metadata_directive_copy_keeps_source_metadata_and_content_headers(
    ctx: Ctx,
) -> Outcome {
    let bucket = ctx.bucket().await?;
    put_with_headers(&ctx, &bucket, "src", b"payload").await?;
    copy(&ctx, &bucket, "src", "default")
        .send()
        .await
        .or_fail("CopyObject (default directive)")?;
    copy(&ctx, &bucket, "src", "explicit")
        .metadata_directive(MetadataDirective::Copy)
        .send()
        .await
        .or_fail("CopyObject MetadataDirective COPY")?;
    for key in ["default", "explicit"] {
        let head = ctx
            .s3
            .head_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .or_fail(&format!("HeadObject {key}"))?;
        check_headers_but_expires(&format!("copy ({key} directive)"), headers!(head))?;
    }
    Ok(())
}

/// `Expires` is user-controllable system metadata, copied with the rest under
/// MetadataDirective COPY (`docs/aws-facts.md#what-a-copy-keeps`).
pub(super) async fn copy_metadata_directive_copy_keeps_source_expires(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    put_with_headers(&ctx, &bucket, "src", b"payload").await?;
    copy(&ctx, &bucket, "src", "dst")
        .send()
        .await
        .or_fail("CopyObject (default directive)")?;
    let head = ctx
        .s3
        .head_object()
        .bucket(&bucket)
        .key("dst")
        .send()
        .await
        .or_fail("HeadObject")?;
    check_expires("copy", head.expires_string())
}

pub(super) async fn copy_metadata_directive_replace_takes_only_request_metadata(
    ctx: Ctx,
) -> Outcome {
    let bucket = ctx.bucket().await?;
    put_with_headers(&ctx, &bucket, "src", b"payload").await?;
    copy(&ctx, &bucket, "src", "dst")
        .metadata_directive(MetadataDirective::Replace)
        .metadata("fresh", "yes")
        .content_type("application/json")
        .send()
        .await
        .or_fail("CopyObject MetadataDirective REPLACE")?;
    let head = ctx
        .s3
        .head_object()
        .bucket(&bucket)
        .key("dst")
        .send()
        .await
        .or_fail("HeadObject")?;
    ensure_eq!(
        head.metadata(),
        Some(&HashMap::from([("fresh".to_owned(), "yes".to_owned())])),
        "user metadata after REPLACE"
    );
    ensure_eq!(
        head.content_type(),
        Some("application/json"),
        "Content-Type after REPLACE"
    );
    ensure_eq!(head.cache_control(), None, "Cache-Control after REPLACE");
    ensure_eq!(
        head.content_disposition(),
        None,
        "Content-Disposition after REPLACE"
    );
    ensure_eq!(
        head.content_encoding(),
        None,
        "Content-Encoding after REPLACE"
    );
    ensure_eq!(
        head.content_language(),
        None,
        "Content-Language after REPLACE"
    );
    ensure_eq!(head.expires_string(), None, "Expires after REPLACE");
    ensure_eq!(
        get_bytes(&ctx, &bucket, "dst").await?,
        b"payload".to_vec(),
        "copied body"
    );
    Ok(())
}

async fn tagged_source(ctx: &Ctx) -> Result<String, String> {
    let bucket = ctx.bucket().await?;
    ctx.s3
        .put_object()
        .bucket(&bucket)
        .key("src")
        .tagging("a=1&b=two%20words")
        .body(ByteStream::from_static(b"tagged"))
        .send()
        .await
        .or_fail("PutObject with x-amz-tagging")?;
    Ok(bucket)
}

pub(super) async fn copy_tagging_directive_copy_keeps_source_tags(ctx: Ctx) -> Outcome {
    let bucket = tagged_source(&ctx).await?;
    copy(&ctx, &bucket, "src", "default")
        .send()
        .await
        .or_fail("CopyObject (default tagging directive)")?;
    copy(&ctx, &bucket, "src", "explicit")
        .tagging_directive(TaggingDirective::Copy)
        .send()
        .await
        .or_fail("CopyObject TaggingDirective COPY")?;
    for key in ["default", "explicit"] {
        ensure_eq!(
            tags(&ctx, &bucket, key).await?,
            tag_map(&[("a", "1"), ("b", "two words")]),
            "tags of the {key} copy"
        );
    }
    Ok(())
}

pub(super) async fn copy_tagging_directive_replace_takes_request_tags(ctx: Ctx) -> Outcome {
    let bucket = tagged_source(&ctx).await?;
    copy(&ctx, &bucket, "src", "dst")
        .tagging_directive(TaggingDirective::Replace)
        .tagging("c=3")
        .send()
        .await
        .or_fail("CopyObject TaggingDirective REPLACE")?;
    ensure_eq!(
        tags(&ctx, &bucket, "dst").await?,
        tag_map(&[("c", "3")]),
        "tags after REPLACE"
    );
    Ok(())
}

/// "If the x-amz-storage-class header is not used, the copied object will be stored in the
/// STANDARD Storage Class by default" (CopyObject).
pub(super) async fn copy_does_not_keep_the_source_storage_class(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    ctx.s3
        .put_object()
        .bucket(&bucket)
        .key("src")
        .storage_class(StorageClass::StandardIa)
        .body(ByteStream::from_static(b"cold"))
        .send()
        .await
        .or_fail("PutObject STANDARD_IA")?;
    copy(&ctx, &bucket, "src", "plain")
        .send()
        .await
        .or_fail("CopyObject")?;
    copy(&ctx, &bucket, "src", "onezone")
        .storage_class(StorageClass::OnezoneIa)
        .send()
        .await
        .or_fail("CopyObject x-amz-storage-class: ONEZONE_IA")?;
    for (key, expected) in [("plain", None), ("onezone", Some(StorageClass::OnezoneIa))] {
        let head = ctx
            .s3
            .head_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .or_fail(&format!("HeadObject {key}"))?;
        ensure_eq!(
            head.storage_class,
            expected,
            "storage class of the {key} copy"
        );
    }
    Ok(())
}

/// A source object, its ETag, and two dates in the past: a day before its Last-Modified and
/// one second after it. S3 ignores a copy-source-if-modified-since date in the future (an
/// AWS-validated LocalStack test shows it), so "after" must already have passed: this waits
/// for it.
struct Source {
    bucket: String,
    etag: String,
    before: DateTime,
    after: DateTime,
}

async fn conditional_source(ctx: &Ctx) -> Result<Source, String> {
    let bucket = ctx.bucket().await?;
    let etag = put(ctx, &bucket, "src", b"conditional").await?;
    let head = ctx
        .s3
        .head_object()
        .bucket(&bucket)
        .key("src")
        .send()
        .await
        .or_fail("HeadObject source")?;
    let modified = head.last_modified.ok_or("HeadObject: no Last-Modified")?;
    let after = modified.secs() + 1;
    // Until `after` is in the past on the server's clock too (same host), with a margin.
    while DateTime::from(std::time::SystemTime::now()).secs() <= after + 1 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    const DAY: i64 = 24 * 60 * 60;
    Ok(Source {
        bucket,
        etag,
        before: DateTime::from_secs(modified.secs() - DAY),
        after: DateTime::from_secs(after),
    })
}

fn other_etag() -> String {
    quoted(&md5_hex(b"some other content"))
}

pub(super) async fn copy_source_conditions_that_hold_allow_the_copy(ctx: Ctx) -> Outcome {
    let src = conditional_source(&ctx).await?;
    let attempts = [
        (
            "if-match",
            copy(&ctx, &src.bucket, "src", "d1").copy_source_if_match(&src.etag),
        ),
        (
            "if-none-match <other>",
            copy(&ctx, &src.bucket, "src", "d2").copy_source_if_none_match(other_etag()),
        ),
        (
            "if-modified-since <day before>",
            copy(&ctx, &src.bucket, "src", "d3").copy_source_if_modified_since(src.before),
        ),
        (
            "if-unmodified-since <after Last-Modified>",
            copy(&ctx, &src.bucket, "src", "d4").copy_source_if_unmodified_since(src.after),
        ),
    ];
    for (what, request) in attempts {
        request
            .send()
            .await
            .or_fail(&format!("CopyObject x-amz-copy-source-{what}"))?;
    }
    Ok(())
}

pub(super) async fn copy_source_if_match_mismatch_is_412(ctx: Ctx) -> Outcome {
    let src = conditional_source(&ctx).await?;
    expect_error(
        "CopyObject x-amz-copy-source-if-match <other ETag>",
        copy(&ctx, &src.bucket, "src", "dst")
            .copy_source_if_match(other_etag())
            .send()
            .await,
        412,
        Some("PreconditionFailed"),
    )
}

/// Also with the ETag unquoted (AWS accepts both forms, per an AWS-validated LocalStack test).
pub(super) async fn copy_source_if_none_match_matching_etag_is_412(ctx: Ctx) -> Outcome {
    let src = conditional_source(&ctx).await?;
    for etag in [src.etag.clone(), src.etag.trim_matches('"').to_owned()] {
        expect_error(
            &format!("CopyObject x-amz-copy-source-if-none-match {etag}"),
            copy(&ctx, &src.bucket, "src", "dst")
                .copy_source_if_none_match(etag.clone())
                .send()
                .await,
            412,
            Some("PreconditionFailed"),
        )?;
    }
    Ok(())
}

/// A copy-source-if-modified-since date in the future is ignored and the copy proceeds (as
/// for GET, RFC 9110 §13.1.3; AWS-validated LocalStack test
/// `test_s3_copy_object_preconditions`).
pub(super) async fn copy_source_if_modified_since_in_the_future_is_ignored(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    put(&ctx, &bucket, "src", b"conditional").await?;
    let tomorrow = std::time::SystemTime::now() + std::time::Duration::from_secs(24 * 60 * 60);
    copy(&ctx, &bucket, "src", "dst")
        .copy_source_if_modified_since(DateTime::from(tomorrow))
        .send()
        .await
        .or_fail("CopyObject x-amz-copy-source-if-modified-since <tomorrow>")?;
    ensure_eq!(
        get_bytes(&ctx, &bucket, "dst").await?,
        b"conditional".to_vec(),
        "copied body"
    );
    Ok(())
}

pub(super) async fn copy_source_if_modified_since_after_last_modified_is_412(ctx: Ctx) -> Outcome {
    let src = conditional_source(&ctx).await?;
    expect_error(
        "CopyObject x-amz-copy-source-if-modified-since <after Last-Modified, in the past>",
        copy(&ctx, &src.bucket, "src", "dst")
            .copy_source_if_modified_since(src.after)
            .send()
            .await,
        412,
        Some("PreconditionFailed"),
    )
}

pub(super) async fn copy_source_if_unmodified_since_before_last_modified_is_412(
    ctx: Ctx,
) -> Outcome {
    let src = conditional_source(&ctx).await?;
    expect_error(
        "CopyObject x-amz-copy-source-if-unmodified-since <day before Last-Modified>",
        copy(&ctx, &src.bucket, "src", "dst")
            .copy_source_if_unmodified_since(src.before)
            .send()
            .await,
        412,
        Some("PreconditionFailed"),
    )
}

/// "If both … x-amz-copy-source-if-match … evaluates to true, and
/// x-amz-copy-source-if-unmodified-since … evaluates to false … Amazon S3 returns 200 OK and
/// copies the data" (CopyObject).
pub(super) async fn copy_source_if_match_true_overrides_if_unmodified_since_false(
    ctx: Ctx,
) -> Outcome {
    let src = conditional_source(&ctx).await?;
    copy(&ctx, &src.bucket, "src", "dst")
        .copy_source_if_match(&src.etag)
        .copy_source_if_unmodified_since(src.before)
        .send()
        .await
        .or_fail("CopyObject if-match (true) + if-unmodified-since (false)")?;
    ensure_eq!(
        get_bytes(&ctx, &src.bucket, "dst").await?,
        b"conditional".to_vec(),
        "copied body"
    );
    Ok(())
}

/// "If both … x-amz-copy-source-if-none-match … evaluates to false, and
/// x-amz-copy-source-if-modified-since … evaluates to true … Amazon S3 returns the 412
/// Precondition Failed response code" (CopyObject).
pub(super) async fn copy_source_if_none_match_false_with_if_modified_since_true_is_412(
    ctx: Ctx,
) -> Outcome {
    let src = conditional_source(&ctx).await?;
    expect_error(
        "CopyObject if-none-match (false) + if-modified-since (true)",
        copy(&ctx, &src.bucket, "src", "dst")
            .copy_source_if_none_match(&src.etag)
            .copy_source_if_modified_since(src.before)
            .send()
            .await,
        412,
        Some("PreconditionFailed"),
    )
}

pub(super) async fn copy_if_none_match_star_onto_an_existing_destination_is_412(
    ctx: Ctx,
) -> Outcome {
    let bucket = ctx.bucket().await?;
    put(&ctx, &bucket, "src", b"new").await?;
    put(&ctx, &bucket, "taken", b"old").await?;
    expect_error(
        "CopyObject If-None-Match: * onto an existing key",
        copy(&ctx, &bucket, "src", "taken")
            .if_none_match("*")
            .send()
            .await,
        412,
        Some("PreconditionFailed"),
    )?;
    ensure_eq!(
        get_bytes(&ctx, &bucket, "taken").await?,
        b"old".to_vec(),
        "destination kept"
    );
    copy(&ctx, &bucket, "src", "free")
        .if_none_match("*")
        .send()
        .await
        .or_fail("CopyObject If-None-Match: * onto a new key")?;
    Ok(())
}

async fn put_with_checksum(
    ctx: &Ctx,
    bucket: &str,
    key: &str,
    data: &[u8],
    algorithm: Algorithm,
) -> Outcome {
    ctx.s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .checksum_algorithm(sdk_algorithm(algorithm))
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .or_fail(&format!("PutObject with {}", algorithm.as_s3_name()))?;
    Ok(())
}

/// `x-amz-checksum-algorithm` on CopyObject makes S3 compute that checksum of the copy.
pub(super) async fn copy_with_checksum_algorithm_recomputes_the_checksum(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    let data = body(5000, 5);
    put_with_checksum(&ctx, &bucket, "src", &data, Algorithm::Crc32).await?;
    let out = copy(&ctx, &bucket, "src", "dst")
        .checksum_algorithm(sdk_algorithm(Algorithm::Sha256))
        .send()
        .await
        .or_fail("CopyObject x-amz-checksum-algorithm: SHA256")?;
    let expected = checksum(Algorithm::Sha256, &data);
    let result = out
        .copy_object_result()
        .ok_or("CopyObject: no CopyObjectResult")?;
    ensure_eq!(
        result.checksum_sha256(),
        Some(expected.as_str()),
        "CopyObjectResult ChecksumSHA256"
    );
    let head = head_with_checksum(&ctx, &bucket, "dst").await?;
    ensure_eq!(
        head.checksum_sha256(),
        Some(expected.as_str()),
        "HeadObject ChecksumSHA256"
    );
    only_checksum!(head, Algorithm::Sha256, "HeadObject of the copy");
    ensure_eq!(
        head.checksum_type,
        Some(ChecksumType::FullObject),
        "HeadObject ChecksumType"
    );
    Ok(())
}

/// "If the source object has a checksum, that checksum value will be copied to the new object
/// by default" (CopyObject `x-amz-checksum-algorithm`).
pub(super) async fn copy_without_checksum_algorithm_keeps_the_source_checksum(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    let data = body(5000, 6);
    put_with_checksum(&ctx, &bucket, "src", &data, Algorithm::Crc32c).await?;
    let out = copy(&ctx, &bucket, "src", "dst")
        .send()
        .await
        .or_fail("CopyObject")?;
    let expected = checksum(Algorithm::Crc32c, &data);
    let result = out
        .copy_object_result()
        .ok_or("CopyObject: no CopyObjectResult")?;
    ensure_eq!(
        result.checksum_crc32_c(),
        Some(expected.as_str()),
        "CopyObjectResult ChecksumCRC32C"
    );
    let head = head_with_checksum(&ctx, &bucket, "dst").await?;
    ensure_eq!(
        head.checksum_crc32_c(),
        Some(expected.as_str()),
        "HeadObject ChecksumCRC32C"
    );
    only_checksum!(head, Algorithm::Crc32c, "HeadObject of the copy");
    Ok(())
}
