//! Error bodies carry AWS's message, and AWS's limits: 2 KB of user metadata, reserved
//! bucket name prefixes and suffixes.

use super::*;
use crate::harness::{expect_error, failure};

pub(super) async fn errors_carry_the_aws_message(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    let missing_key = ctx
        .s3
        .get_object()
        .bucket(&bucket)
        .key("missing")
        .send()
        .await;
    let got = missing_key.map(|_| ()).map_err(|e| failure(&e));
    ensure_eq!(
        got.err().and_then(|f| f.message),
        Some("The specified key does not exist.".to_owned()),
        "GetObject of a missing key: Message"
    );
    let missing_upload = ctx
        .s3
        .list_parts()
        .bucket(&bucket)
        .key("k")
        .upload_id("no-such-upload")
        .send()
        .await;
    let got = missing_upload.map(|_| ()).map_err(|e| failure(&e));
    ensure_eq!(
        got.err().and_then(|f| f.code.zip(f.message)),
        Some((
            "NoSuchUpload".to_owned(),
            "The specified upload does not exist. The upload ID may be invalid, or the upload \
             may have been aborted or completed."
                .to_owned()
        )),
        "ListParts of a missing upload: Code and Message"
    );
    Ok(())
}

pub(super) async fn user_metadata_over_2_kb_is_400_metadata_too_large(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    let put = |a: usize, b: usize| {
        ctx.s3
            .put_object()
            .bucket(&bucket)
            .key("k")
            .metadata("a", "v".repeat(a))
            .metadata("b", "v".repeat(b))
            .body(ByteStream::from_static(b"x"))
            .send()
    };
    expect_error(
        "PutObject with 2,049 bytes of user metadata",
        put(1024, 1023).await,
        400,
        Some("MetadataTooLarge"),
    )?;
    put(1023, 1023)
        .await
        .or_fail("PutObject with exactly 2 KB of user metadata")?;
    let multipart = ctx
        .s3
        .create_multipart_upload()
        .bucket(&bucket)
        .key("m")
        .metadata("a", "v".repeat(2048))
        .send()
        .await;
    expect_error(
        "CreateMultipartUpload with 2,049 bytes of user metadata",
        multipart,
        400,
        Some("MetadataTooLarge"),
    )
}

pub(super) async fn reserved_bucket_names_are_400_invalid_bucket_name(ctx: Ctx) -> Outcome {
    let base = ctx.unique_bucket_name();
    for name in [
        format!("{base}-s3alias"),
        format!("{base}--ol-s3"),
        format!("xn--{base}"),
        format!("sthree-{base}"),
    ] {
        let result = ctx.s3.create_bucket().bucket(&name).send().await;
        expect_error(
            &format!("CreateBucket {name}"),
            result,
            400,
            Some("InvalidBucketName"),
        )?;
    }
    Ok(())
}
