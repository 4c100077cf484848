//! PutObject, GetObject (ranges, part numbers), HeadObject, DeleteObject(s), metadata,
//! storage class and conditional writes.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
use aws_sdk_s3::types::{Delete, ObjectIdentifier, ObjectStorageClass, StorageClass};

use super::*;
use crate::harness::expect_error;

pub(super) async fn put_then_get_round_trips_bytes_with_md5_etag(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    let data = body(1000, 1);
    let etag = put(&ctx, &bucket, "small", &data).await?;
    ensure_eq!(etag, quoted(&md5_hex(&data)), "PutObject ETag");
    let out = ctx
        .s3
        .get_object()
        .bucket(&bucket)
        .key("small")
        .send()
        .await
        .or_fail("GetObject")?;
    ensure_eq!(out.content_length, Some(1000), "GetObject Content-Length");
    ensure_eq!(out.e_tag.as_deref(), Some(etag.as_str()), "GetObject ETag");
    ensure!(
        out.last_modified.is_some(),
        "GetObject has no Last-Modified"
    );
    same_bytes(&collect(out.body, "small").await?, &data, "GetObject body")
}

pub(super) async fn zero_byte_object_round_trips(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    let etag = put(&ctx, &bucket, "empty", b"").await?;
    ensure_eq!(
        etag,
        "\"d41d8cd98f00b204e9800998ecf8427e\"",
        "ETag of zero bytes"
    );
    let head = ctx
        .s3
        .head_object()
        .bucket(&bucket)
        .key("empty")
        .send()
        .await
        .or_fail("HeadObject")?;
    ensure_eq!(head.content_length, Some(0), "HeadObject Content-Length");
    ensure_eq!(
        get_bytes(&ctx, &bucket, "empty").await?,
        Vec::<u8>::new(),
        "GetObject body"
    );
    Ok(())
}

pub(super) async fn one_mib_object_round_trips(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    let data = body(MIB, 2);
    let etag = put(&ctx, &bucket, "one-mib", &data).await?;
    ensure_eq!(etag, quoted(&md5_hex(&data)), "PutObject ETag");
    same_bytes(
        &get_bytes(&ctx, &bucket, "one-mib").await?,
        &data,
        "GetObject body",
    )
}

const RANGE_OBJECT: usize = 1000;

/// A 1000-byte object, and a ranged GET of it: body, Content-Range, Content-Length.
async fn ranged(
    ctx: &Ctx,
    range: &str,
) -> Result<(Vec<u8>, Vec<u8>, Option<String>, Option<i64>), String> {
    let bucket = ctx.bucket().await?;
    let data = body(RANGE_OBJECT, 3);
    put(ctx, &bucket, "ranged", &data).await?;
    let out = ctx
        .s3
        .get_object()
        .bucket(&bucket)
        .key("ranged")
        .range(range)
        .send()
        .await
        .or_fail(&format!("GetObject Range: {range}"))?;
    let (content_range, length) = (out.content_range.clone(), out.content_length);
    Ok((
        data,
        collect(out.body, "ranged").await?,
        content_range,
        length,
    ))
}

async fn range_check(ctx: Ctx, range: &str, first: usize, last: usize) -> Outcome {
    let (data, got, content_range, length) = ranged(&ctx, range).await?;
    same_bytes(
        &got,
        &data[first..=last],
        &format!("body of Range: {range}"),
    )?;
    ensure_eq!(
        content_range,
        Some(format!("bytes {first}-{last}/{RANGE_OBJECT}")),
        "Content-Range of Range: {range}"
    );
    ensure_eq!(
        length,
        Some(i64::try_from(last - first + 1).unwrap_or(-1)),
        "Content-Length of Range: {range}"
    );
    Ok(())
}

pub(super) async fn range_get_of_first_bytes_returns_them_with_content_range(ctx: Ctx) -> Outcome {
    range_check(ctx, "bytes=0-9", 0, 9).await
}

pub(super) async fn range_get_of_middle_bytes_returns_them(ctx: Ctx) -> Outcome {
    range_check(ctx, "bytes=100-199", 100, 199).await
}

pub(super) async fn range_get_suffix_returns_last_bytes(ctx: Ctx) -> Outcome {
    range_check(ctx, "bytes=-100", 900, 999).await
}

pub(super) async fn range_get_open_ended_returns_rest_of_object(ctx: Ctx) -> Outcome {
    range_check(ctx, "bytes=900-", 900, 999).await
}

/// RFC 9110: a last-byte-pos past the end means "to the end".
pub(super) async fn range_get_end_past_object_size_is_truncated_to_the_object(ctx: Ctx) -> Outcome {
    range_check(ctx, "bytes=990-5000", 990, 999).await
}

pub(super) async fn range_get_starting_past_the_end_is_416_invalid_range(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    put(&ctx, &bucket, "ranged", &body(RANGE_OBJECT, 3)).await?;
    expect_error(
        "GetObject Range: bytes=1000-1100 of 1000 bytes",
        ctx.s3
            .get_object()
            .bucket(&bucket)
            .key("ranged")
            .range("bytes=1000-1100")
            .send()
            .await,
        416,
        Some("InvalidRange"),
    )
}

/// `partNumber` on GET/HEAD of a multipart object addresses that part: its bytes, its length,
/// a Content-Range within the object and `x-amz-mp-parts-count`.
pub(super) async fn get_and_head_with_part_number_return_that_part(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    let (one, two) = (body(MIN_PART, 1), body(1000, 2));
    multipart_object(&ctx, &bucket, "mp", &[&one, &two], None).await?;
    let total = MIN_PART + 1000;

    let head = ctx
        .s3
        .head_object()
        .bucket(&bucket)
        .key("mp")
        .part_number(1)
        .send()
        .await
        .or_fail("HeadObject partNumber=1")?;
    ensure_eq!(
        head.content_length,
        Some(MIN_PART as i64),
        "HeadObject partNumber=1 Content-Length"
    );
    ensure_eq!(
        head.parts_count,
        Some(2),
        "HeadObject partNumber=1 x-amz-mp-parts-count"
    );
    ensure_eq!(
        head.e_tag,
        Some(quoted(&multipart_etag(&[&one, &two]))),
        "HeadObject partNumber=1 ETag (the object's)"
    );

    let got = ctx
        .s3
        .get_object()
        .bucket(&bucket)
        .key("mp")
        .part_number(2)
        .send()
        .await
        .or_fail("GetObject partNumber=2")?;
    ensure_eq!(
        got.parts_count,
        Some(2),
        "GetObject partNumber=2 x-amz-mp-parts-count"
    );
    ensure_eq!(
        got.content_range,
        Some(format!("bytes {MIN_PART}-{}/{total}", total - 1)),
        "GetObject partNumber=2 Content-Range"
    );
    same_bytes(
        &collect(got.body, "mp").await?,
        &two,
        "GetObject partNumber=2 body",
    )?;

    expect_error(
        "HeadObject partNumber=3 of 2 parts",
        ctx.s3
            .head_object()
            .bucket(&bucket)
            .key("mp")
            .part_number(3)
            .send()
            .await,
        416,
        None,
    )
}

pub(super) async fn head_of_a_missing_key_is_404(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    expect_error(
        "HeadObject of a missing key",
        ctx.s3
            .head_object()
            .bucket(&bucket)
            .key("nope")
            .send()
            .await,
        404,
        None,
    )
}

pub(super) async fn get_of_a_missing_key_is_404_no_such_key(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    expect_error(
        "GetObject of a missing key",
        ctx.s3.get_object().bucket(&bucket).key("nope").send().await,
        404,
        Some("NoSuchKey"),
    )
}

pub(super) async fn delete_object_removes_it_and_deleting_a_missing_key_succeeds(
    ctx: Ctx,
) -> Outcome {
    let bucket = ctx.bucket().await?;
    put(&ctx, &bucket, "doomed", b"bye").await?;
    ctx.s3
        .delete_object()
        .bucket(&bucket)
        .key("doomed")
        .send()
        .await
        .or_fail("DeleteObject")?;
    expect_error(
        "HeadObject after DeleteObject",
        ctx.s3
            .head_object()
            .bucket(&bucket)
            .key("doomed")
            .send()
            .await,
        404,
        None,
    )?;
    ctx.s3
        .delete_object()
        .bucket(&bucket)
        .key("doomed")
        .send()
        .await
        .or_fail("DeleteObject of a key that no longer exists")?;
    Ok(())
}

async fn keys(ctx: &Ctx, bucket: &str) -> Result<Vec<String>, String> {
    let out = ctx
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .or_fail("ListObjectsV2")?;
    Ok(out
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect())
}

fn identifiers(keys: &[&str]) -> Result<Vec<ObjectIdentifier>, String> {
    keys.iter()
        .map(|k| {
            ObjectIdentifier::builder()
                .key(*k)
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// DeleteObjects reports every requested key as deleted, including keys that did not exist
/// (deleting a missing key is a success in S3).
pub(super) async fn delete_objects_reports_every_key_as_deleted(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    for key in ["a", "b", "c", "keep"] {
        put(&ctx, &bucket, key, key.as_bytes()).await?;
    }
    let out = ctx
        .s3
        .delete_objects()
        .bucket(&bucket)
        .delete(
            Delete::builder()
                .set_objects(Some(identifiers(&["a", "b", "c", "never-existed"])?))
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .or_fail("DeleteObjects")?;
    let deleted: BTreeSet<&str> = out.deleted().iter().filter_map(|d| d.key()).collect();
    ensure_eq!(
        deleted,
        BTreeSet::from(["a", "b", "c", "never-existed"]),
        "DeleteObjects Deleted keys"
    );
    ensure!(
        out.errors().is_empty(),
        "DeleteObjects errors: {:?}",
        out.errors()
    );
    ensure_eq!(
        keys(&ctx, &bucket).await?,
        vec!["keep".to_owned()],
        "keys left"
    );
    Ok(())
}

/// "In quiet mode the response includes only keys where the delete action encountered an
/// error" (DeleteObjects API reference).
pub(super) async fn delete_objects_in_quiet_mode_reports_no_deleted_keys(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    for key in ["a", "b"] {
        put(&ctx, &bucket, key, key.as_bytes()).await?;
    }
    let out = ctx
        .s3
        .delete_objects()
        .bucket(&bucket)
        .delete(
            Delete::builder()
                .set_objects(Some(identifiers(&["a", "b"])?))
                .quiet(true)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .or_fail("DeleteObjects quiet")?;
    ensure!(
        out.deleted().is_empty(),
        "quiet DeleteObjects listed deleted keys: {:?}",
        out.deleted()
    );
    ensure!(
        out.errors().is_empty(),
        "DeleteObjects errors: {:?}",
        out.errors()
    );
    ensure_eq!(
        keys(&ctx, &bucket).await?,
        Vec::<String>::new(),
        "keys left"
    );
    Ok(())
}

/// 2100-01-01T00:00:00Z, as an `Expires` header value.
pub(super) const EXPIRES_SECS: i64 = 4_102_444_800;

pub(super) fn expected_metadata() -> HashMap<String, String> {
    HashMap::from([
        ("color".to_owned(), "blue".to_owned()),
        ("two-words".to_owned(), "hello world".to_owned()),
    ])
}

/// The user metadata and content headers of a HEAD/GET response.
pub(super) struct Headers<'a> {
    pub metadata: Option<&'a HashMap<String, String>>,
    pub content_type: Option<&'a str>,
    pub cache_control: Option<&'a str>,
    pub content_disposition: Option<&'a str>,
    pub content_encoding: Option<&'a str>,
    pub content_language: Option<&'a str>,
    pub expires: Option<&'a str>,
}

/// `headers!(output)`: the [`Headers`] of a HeadObject or GetObject output.
macro_rules! headers {
    ($output:expr) => {
        Headers {
            metadata: $output.metadata(),
            content_type: $output.content_type(),
            cache_control: $output.cache_control(),
            content_disposition: $output.content_disposition(),
            content_encoding: $output.content_encoding(),
            content_language: $output.content_language(),
            expires: $output.expires_string(),
        }
    };
}
pub(crate) use headers;

/// Checks the user metadata and every content header set by [`put_with_headers`].
pub(super) fn check_headers(what: &str, headers: Headers<'_>) -> Outcome {
    check_expires(what, headers.expires)?;
    check_headers_but_expires(what, headers)
}

/// [`check_headers`] without `Expires`.
pub(super) fn check_headers_but_expires(what: &str, headers: Headers<'_>) -> Outcome {
    let Headers {
        metadata,
        content_type,
        cache_control,
        content_disposition,
        content_encoding,
        content_language,
        expires: _,
    } = headers;
    ensure_eq!(metadata, Some(&expected_metadata()), "{what} user metadata");
    ensure_eq!(
        content_type,
        Some("text/plain; charset=utf-8"),
        "{what} Content-Type"
    );
    ensure_eq!(
        cache_control,
        Some("max-age=60, private"),
        "{what} Cache-Control"
    );
    ensure_eq!(
        content_disposition,
        Some("attachment; filename=\"report.txt\""),
        "{what} Content-Disposition"
    );
    ensure_eq!(content_encoding, Some("gzip"), "{what} Content-Encoding");
    ensure_eq!(content_language, Some("de-DE"), "{what} Content-Language");
    Ok(())
}

/// The `Expires` header set by [`put_with_headers`].
pub(super) fn check_expires(what: &str, expires: Option<&str>) -> Outcome {
    let expires = expires.ok_or_else(|| format!("{what}: no Expires header"))?;
    let parsed = DateTime::from_str(expires, DateTimeFormat::HttpDate)
        .map_err(|e| format!("{what}: Expires {expires:?} is not an HTTP date: {e}"))?;
    ensure_eq!(parsed.secs(), EXPIRES_SECS, "{what} Expires ({expires})");
    Ok(())
}

pub(super) async fn put_with_headers(ctx: &Ctx, bucket: &str, key: &str, data: &[u8]) -> Outcome {
    let mut request = ctx
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(data.to_vec()))
        .content_type("text/plain; charset=utf-8")
        .cache_control("max-age=60, private")
        .content_disposition("attachment; filename=\"report.txt\"")
        .content_encoding("gzip")
        .content_language("de-DE")
        .expires(DateTime::from_secs(EXPIRES_SECS));
    for (name, value) in expected_metadata() {
        request = request.metadata(name, value);
    }
    request.send().await.or_fail("PutObject with headers")?;
    Ok(())
}

pub(super) async fn user_metadata_and_content_headers_round_trip(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    put_with_headers(&ctx, &bucket, "doc", b"not really gzip").await?;
    let head = ctx
        .s3
        .head_object()
        .bucket(&bucket)
        .key("doc")
        .send()
        .await
        .or_fail("HeadObject")?;
    check_headers("HeadObject", headers!(head))?;
    let got = ctx
        .s3
        .get_object()
        .bucket(&bucket)
        .key("doc")
        .send()
        .await
        .or_fail("GetObject")?;
    check_headers("GetObject", headers!(got))?;
    ensure_eq!(
        collect(got.body, "doc").await?,
        b"not really gzip".to_vec(),
        "GetObject body (stored as sent, not decoded)"
    );
    Ok(())
}

/// The storage class given on PUT is kept; HEAD/GET send `x-amz-storage-class` for every
/// class but STANDARD, ListObjectsV2 names it for every object.
pub(super) async fn storage_class_is_recorded_and_returned_by_head_and_list(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    ctx.s3
        .put_object()
        .bucket(&bucket)
        .key("ia")
        .storage_class(StorageClass::StandardIa)
        .body(ByteStream::from_static(b"infrequent"))
        .send()
        .await
        .or_fail("PutObject STANDARD_IA")?;
    put(&ctx, &bucket, "std", b"standard").await?;

    let head = ctx
        .s3
        .head_object()
        .bucket(&bucket)
        .key("ia")
        .send()
        .await
        .or_fail("HeadObject ia")?;
    ensure_eq!(
        head.storage_class,
        Some(StorageClass::StandardIa),
        "HeadObject storage class"
    );
    let got = ctx
        .s3
        .get_object()
        .bucket(&bucket)
        .key("ia")
        .send()
        .await
        .or_fail("GetObject ia")?;
    ensure_eq!(
        got.storage_class,
        Some(StorageClass::StandardIa),
        "GetObject storage class"
    );
    let head = ctx
        .s3
        .head_object()
        .bucket(&bucket)
        .key("std")
        .send()
        .await
        .or_fail("HeadObject std")?;
    ensure_eq!(
        head.storage_class,
        None,
        "HeadObject storage class of a STANDARD object"
    );

    let listed = ctx
        .s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .or_fail("ListObjectsV2")?;
    let classes: Vec<(Option<&str>, Option<&ObjectStorageClass>)> = listed
        .contents()
        .iter()
        .map(|o| (o.key(), o.storage_class()))
        .collect();
    ensure_eq!(
        classes,
        vec![
            (Some("ia"), Some(&ObjectStorageClass::StandardIa)),
            (Some("std"), Some(&ObjectStorageClass::Standard)),
        ],
        "ListObjectsV2 storage classes"
    );
    Ok(())
}

pub(super) async fn put_if_none_match_star_on_an_existing_key_is_412(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    let put_new = |data: &'static [u8]| {
        ctx.s3
            .put_object()
            .bucket(&bucket)
            .key("once")
            .if_none_match("*")
            .body(ByteStream::from_static(data))
            .send()
    };
    put_new(b"first")
        .await
        .or_fail("PutObject If-None-Match: * on a new key")?;
    expect_error(
        "PutObject If-None-Match: * on an existing key",
        put_new(b"second").await,
        412,
        Some("PreconditionFailed"),
    )?;
    ensure_eq!(
        get_bytes(&ctx, &bucket, "once").await?,
        b"first".to_vec(),
        "body kept"
    );
    Ok(())
}

pub(super) async fn put_if_match_with_a_wrong_etag_is_412_and_with_the_current_etag_succeeds(
    ctx: Ctx,
) -> Outcome {
    let bucket = ctx.bucket().await?;
    let etag = put(&ctx, &bucket, "doc", b"one").await?;
    let put_if = |etag: String, data: &'static [u8]| {
        ctx.s3
            .put_object()
            .bucket(&bucket)
            .key("doc")
            .if_match(etag)
            .body(ByteStream::from_static(data))
            .send()
    };
    expect_error(
        "PutObject If-Match: <another ETag>",
        put_if(quoted(&md5_hex(b"something else")), b"two").await,
        412,
        Some("PreconditionFailed"),
    )?;
    ensure_eq!(
        get_bytes(&ctx, &bucket, "doc").await?,
        b"one".to_vec(),
        "body after the 412"
    );
    put_if(etag, b"three")
        .await
        .or_fail("PutObject If-Match: <current ETag>")?;
    ensure_eq!(
        get_bytes(&ctx, &bucket, "doc").await?,
        b"three".to_vec(),
        "body after If-Match"
    );
    Ok(())
}

/// "If the object doesn't exist … you get 404 NoSuchKey" (PutObject `If-Match`).
pub(super) async fn put_if_match_on_a_missing_key_is_404_no_such_key(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    expect_error(
        "PutObject If-Match on a missing key",
        ctx.s3
            .put_object()
            .bucket(&bucket)
            .key("missing")
            .if_match(quoted(&md5_hex(b"x")))
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        404,
        Some("NoSuchKey"),
    )
}
