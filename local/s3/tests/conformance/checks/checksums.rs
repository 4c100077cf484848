//! Object checksums: the five algorithms on PUT (header and aws-chunked trailer), validation
//! of wrong values, and the CRC64NVME default.

use aws_sdk_s3::config::RequestChecksumCalculation;

use super::*;
use crate::harness::expect_error;

/// PUT with `x-amz-checksum-algorithm` (the SDK computes the value and sends it as a header);
/// PUT, HEAD and GET (ChecksumMode ENABLED) must all return the value computed here, with
/// type FULL_OBJECT and no other algorithm's checksum.
async fn put_with(ctx: Ctx, algorithm: Algorithm, seed: u32) -> Outcome {
    let bucket = ctx.bucket().await?;
    let data = body(10_000, seed);
    let expected = checksum(algorithm, &data);
    let name = algorithm.as_s3_name();
    let out = ctx
        .s3
        .put_object()
        .bucket(&bucket)
        .key("obj")
        .checksum_algorithm(sdk_algorithm(algorithm))
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .or_fail(&format!("PutObject with {name}"))?;
    ensure_eq!(
        checksum_field!(out, algorithm),
        Some(expected.as_str()),
        "PutObject {name}"
    );

    let head = head_with_checksum(&ctx, &bucket, "obj").await?;
    ensure_eq!(
        checksum_field!(head, algorithm),
        Some(expected.as_str()),
        "HeadObject {name}"
    );
    only_checksum!(head, algorithm, "HeadObject");
    ensure_eq!(
        head.checksum_type(),
        Some(&ChecksumType::FullObject),
        "HeadObject ChecksumType"
    );

    let got = ctx
        .s3
        .get_object()
        .bucket(&bucket)
        .key("obj")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .or_fail("GetObject (ChecksumMode ENABLED)")?;
    ensure_eq!(
        checksum_field!(got, algorithm),
        Some(expected.as_str()),
        "GetObject {name}"
    );
    ensure_eq!(
        got.checksum_type(),
        Some(&ChecksumType::FullObject),
        "GetObject ChecksumType"
    );
    same_bytes(&collect(got.body, "obj").await?, &data, "GetObject body")
}

pub(super) async fn put_with_crc32_stores_and_returns_it(ctx: Ctx) -> Outcome {
    put_with(ctx, Algorithm::Crc32, 81).await
}

pub(super) async fn put_with_crc32c_stores_and_returns_it(ctx: Ctx) -> Outcome {
    put_with(ctx, Algorithm::Crc32c, 82).await
}

pub(super) async fn put_with_crc64nvme_stores_and_returns_it(ctx: Ctx) -> Outcome {
    put_with(ctx, Algorithm::Crc64Nvme, 83).await
}

pub(super) async fn put_with_sha1_stores_and_returns_it(ctx: Ctx) -> Outcome {
    put_with(ctx, Algorithm::Sha1, 84).await
}

pub(super) async fn put_with_sha256_stores_and_returns_it(ctx: Ctx) -> Outcome {
    put_with(ctx, Algorithm::Sha256, 85).await
}

/// A body the SDK streams (from a file) goes out `aws-chunked` with the checksum in a trailer
/// (`x-amz-trailer: x-amz-checksum-sha256`).
pub(super) async fn put_with_streaming_body_and_trailing_checksum_stores_it(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    let data = body(300 * 1024, 86);
    let file = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    std::fs::write(file.path(), &data).map_err(|e| e.to_string())?;
    let stream = ByteStream::from_path(file.path())
        .await
        .map_err(|e| format!("ByteStream::from_path: {e}"))?;
    let expected = checksum(Algorithm::Sha256, &data);
    let out = ctx
        .s3
        .put_object()
        .bucket(&bucket)
        .key("streamed")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .body(stream)
        .send()
        .await
        .or_fail("PutObject aws-chunked with a SHA256 trailer")?;
    ensure_eq!(
        out.checksum_sha256(),
        Some(expected.as_str()),
        "PutObject ChecksumSHA256"
    );
    ensure_eq!(
        out.e_tag(),
        Some(quoted(&md5_hex(&data)).as_str()),
        "PutObject ETag"
    );
    let head = head_with_checksum(&ctx, &bucket, "streamed").await?;
    ensure_eq!(
        head.checksum_sha256(),
        Some(expected.as_str()),
        "HeadObject ChecksumSHA256"
    );
    ensure_eq!(
        head.content_length,
        i64::try_from(data.len()).ok(),
        "HeadObject Content-Length (decoded, not the aws-chunked length)"
    );
    ensure_eq!(
        head.content_encoding(),
        None,
        "Content-Encoding (aws-chunked is not stored)"
    );
    same_bytes(
        &get_bytes(&ctx, &bucket, "streamed").await?,
        &data,
        "GetObject body",
    )
}

pub(super) async fn put_with_a_wrong_checksum_is_400_bad_digest(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    expect_error(
        "PutObject with x-amz-checksum-crc32 of other data",
        ctx.s3
            .put_object()
            .bucket(&bucket)
            .key("bad")
            .checksum_crc32(checksum(Algorithm::Crc32, b"other data"))
            .body(ByteStream::from_static(b"the real data"))
            .send()
            .await,
        400,
        Some("BadDigest"),
    )?;
    expect_error(
        "HeadObject after the rejected PUT",
        ctx.s3.head_object().bucket(&bucket).key("bad").send().await,
        404,
        None,
    )
}

pub(super) async fn put_with_a_wrong_content_md5_is_400_bad_digest(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    expect_error(
        "PutObject with the Content-MD5 of other data",
        ctx.s3
            .put_object()
            .bucket(&bucket)
            .key("bad")
            .content_md5(base64_simd::STANDARD.encode_to_string(md5(b"other data")))
            .body(ByteStream::from_static(b"the real data"))
            .send()
            .await,
        400,
        Some("BadDigest"),
    )
}

pub(super) async fn upload_part_with_a_wrong_checksum_is_400_bad_digest(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    let upload = Upload::start(
        &ctx,
        &bucket,
        "mp",
        Some((ChecksumAlgorithm::Sha256, ChecksumType::Composite)),
    )
    .await?;
    let outcome = expect_error(
        "UploadPart with x-amz-checksum-sha256 of other data",
        ctx.s3
            .upload_part()
            .bucket(&bucket)
            .key("mp")
            .upload_id(&upload.id)
            .part_number(1)
            .checksum_sha256(checksum(Algorithm::Sha256, b"other data"))
            .body(ByteStream::from_static(b"the real part"))
            .send()
            .await,
        400,
        Some("BadDigest"),
    );
    upload.abort(&ctx).await;
    outcome
}

/// "Amazon S3 … calculates CRC64NVME checksums for new objects" uploaded without one, and
/// returns it as a FULL_OBJECT checksum (`docs/aws-facts.md#checksum-algorithms`). The client
/// here sends no checksum.
pub(super) async fn put_without_checksum_gets_default_crc64nvme_full_object_checksum(
    ctx: Ctx,
) -> Outcome {
    let bucket = ctx.bucket().await?;
    let client = ctx
        .client_with(|c| c.request_checksum_calculation(RequestChecksumCalculation::WhenRequired));
    let data = body(10_000, 87);
    client
        .put_object()
        .bucket(&bucket)
        .key("plain")
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .or_fail("PutObject without a checksum")?;
    let head = head_with_checksum(&ctx, &bucket, "plain").await?;
    let expected = checksum(Algorithm::Crc64Nvme, &data);
    ensure_eq!(
        head.checksum_crc64_nvme(),
        Some(expected.as_str()),
        "HeadObject ChecksumCRC64NVME"
    );
    only_checksum!(head, Algorithm::Crc64Nvme, "HeadObject");
    ensure_eq!(
        head.checksum_type(),
        Some(&ChecksumType::FullObject),
        "HeadObject ChecksumType"
    );
    Ok(())
}
