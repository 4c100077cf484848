//! ListObjectsV2 and key names.

use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;

use super::*;

async fn put_keys(ctx: &Ctx, bucket: &str, keys: &[&str]) -> Outcome {
    for key in keys {
        put(ctx, bucket, key, key.as_bytes()).await?;
    }
    Ok(())
}

fn contents(out: &ListObjectsV2Output) -> Vec<&str> {
    out.contents().iter().filter_map(|o| o.key()).collect()
}

fn prefixes(out: &ListObjectsV2Output) -> Vec<&str> {
    out.common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect()
}

pub(super) async fn list_objects_v2_prefix_and_delimiter_group_common_prefixes(
    ctx: Ctx,
) -> Outcome {
    let bucket = ctx.bucket().await?;
    put_keys(&ctx, &bucket, &["a/1", "a/2", "b/1", "c", "d/e/f"]).await?;
    let list = |prefix: Option<&str>, delimiter: Option<&str>| {
        ctx.s3
            .list_objects_v2()
            .bucket(&bucket)
            .set_prefix(prefix.map(str::to_owned))
            .set_delimiter(delimiter.map(str::to_owned))
            .send()
    };

    let top = list(None, Some("/"))
        .await
        .or_fail("ListObjectsV2 delimiter=/")?;
    ensure_eq!(contents(&top), vec!["c"], "delimiter=/ Contents");
    ensure_eq!(
        prefixes(&top),
        vec!["a/", "b/", "d/"],
        "delimiter=/ CommonPrefixes"
    );
    ensure_eq!(
        top.key_count,
        Some(4),
        "delimiter=/ KeyCount (keys + common prefixes)"
    );
    ensure_eq!(top.delimiter(), Some("/"), "delimiter=/ Delimiter echoed");

    let nested = list(Some("d/"), Some("/"))
        .await
        .or_fail("ListObjectsV2 prefix=d/ delimiter=/")?;
    ensure_eq!(
        contents(&nested),
        Vec::<&str>::new(),
        "prefix=d/ delimiter=/ Contents"
    );
    ensure_eq!(
        prefixes(&nested),
        vec!["d/e/"],
        "prefix=d/ delimiter=/ CommonPrefixes"
    );

    let flat = list(Some("a/"), None)
        .await
        .or_fail("ListObjectsV2 prefix=a/")?;
    ensure_eq!(contents(&flat), vec!["a/1", "a/2"], "prefix=a/ Contents");
    ensure_eq!(
        prefixes(&flat),
        Vec::<&str>::new(),
        "prefix=a/ CommonPrefixes"
    );

    let partial = list(Some("a"), Some("/"))
        .await
        .or_fail("ListObjectsV2 prefix=a delimiter=/")?;
    ensure_eq!(
        prefixes(&partial),
        vec!["a/"],
        "prefix=a delimiter=/ CommonPrefixes"
    );
    ensure_eq!(
        contents(&partial),
        Vec::<&str>::new(),
        "prefix=a delimiter=/ Contents"
    );
    Ok(())
}

pub(super) async fn list_objects_v2_max_keys_and_continuation_token_page_through_all_keys(
    ctx: Ctx,
) -> Outcome {
    let bucket = ctx.bucket().await?;
    let keys: Vec<String> = (0..7).map(|i| format!("k{i:02}")).collect();
    for key in &keys {
        put(&ctx, &bucket, key, key.as_bytes()).await?;
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut page_sizes = Vec::new();
    for page in 1..=4 {
        let out = ctx
            .s3
            .list_objects_v2()
            .bucket(&bucket)
            .max_keys(3)
            .set_continuation_token(token.clone())
            .send()
            .await
            .or_fail(&format!("ListObjectsV2 page {page}"))?;
        ensure_eq!(out.max_keys, Some(3), "page {page} MaxKeys");
        ensure_eq!(
            out.continuation_token.as_deref(),
            token.as_deref(),
            "page {page} ContinuationToken echoed"
        );
        let page_keys = contents(&out);
        page_sizes.push(page_keys.len());
        ensure_eq!(
            out.key_count,
            i32::try_from(page_keys.len()).ok(),
            "page {page} KeyCount"
        );
        seen.extend(page_keys.iter().map(|k| (*k).to_owned()));
        if out.is_truncated == Some(true) {
            token = Some(out.next_continuation_token.ok_or_else(|| {
                format!("page {page} is truncated but has no NextContinuationToken")
            })?);
        } else {
            ensure!(
                out.next_continuation_token.is_none(),
                "last page has a NextContinuationToken"
            );
            break;
        }
    }
    ensure_eq!(page_sizes, vec![3, 3, 1], "page sizes with max-keys=3");
    ensure_eq!(seen, keys, "keys over all pages");
    Ok(())
}

/// Keys and common prefixes together count toward max-keys (ListObjectsV2 `KeyCount`).
pub(super) async fn list_objects_v2_counts_common_prefixes_toward_max_keys(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    put_keys(&ctx, &bucket, &["a/1", "a/2", "b/1", "c", "d"]).await?;
    let first = ctx
        .s3
        .list_objects_v2()
        .bucket(&bucket)
        .delimiter("/")
        .max_keys(2)
        .send()
        .await
        .or_fail("ListObjectsV2 delimiter=/ max-keys=2")?;
    ensure_eq!(
        prefixes(&first),
        vec!["a/", "b/"],
        "first page CommonPrefixes"
    );
    ensure_eq!(contents(&first), Vec::<&str>::new(), "first page Contents");
    ensure_eq!(first.key_count, Some(2), "first page KeyCount");
    ensure_eq!(first.is_truncated, Some(true), "first page IsTruncated");
    let token = first
        .next_continuation_token
        .clone()
        .ok_or("first page has no NextContinuationToken")?;
    let second = ctx
        .s3
        .list_objects_v2()
        .bucket(&bucket)
        .delimiter("/")
        .max_keys(2)
        .continuation_token(token)
        .send()
        .await
        .or_fail("ListObjectsV2 second page")?;
    ensure_eq!(contents(&second), vec!["c", "d"], "second page Contents");
    ensure_eq!(
        prefixes(&second),
        Vec::<&str>::new(),
        "second page CommonPrefixes"
    );
    ensure_eq!(second.is_truncated, Some(false), "second page IsTruncated");
    Ok(())
}

pub(super) async fn list_objects_v2_start_after_skips_keys_up_to_it(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    put_keys(&ctx, &bucket, &["k00", "k01", "k02", "k03", "x00"]).await?;
    let after = |start: &'static str, prefix: Option<&'static str>| {
        ctx.s3
            .list_objects_v2()
            .bucket(&bucket)
            .start_after(start)
            .set_prefix(prefix.map(str::to_owned))
            .send()
    };
    let out = after("k01", None)
        .await
        .or_fail("ListObjectsV2 start-after=k01")?;
    ensure_eq!(contents(&out), vec!["k02", "k03", "x00"], "start-after=k01");
    ensure_eq!(out.start_after(), Some("k01"), "StartAfter echoed");
    let out = after("k015", None)
        .await
        .or_fail("ListObjectsV2 start-after=k015")?;
    ensure_eq!(
        contents(&out),
        vec!["k02", "k03", "x00"],
        "start-after=k015 (not a key)"
    );
    let out = after("k02", Some("k"))
        .await
        .or_fail("ListObjectsV2 start-after=k02 prefix=k")?;
    ensure_eq!(contents(&out), vec!["k03"], "start-after=k02 prefix=k");
    Ok(())
}

/// Keys are arbitrary UTF-8: PUT, GET, HEAD and LIST agree on keys with spaces, `+`,
/// non-ASCII characters, a literal `%2F` and URL-reserved characters.
pub(super) async fn keys_with_spaces_unicode_and_plus_round_trip(ctx: Ctx) -> Outcome {
    let bucket = ctx.bucket().await?;
    let mut keys = vec![
        "with space.txt",
        "plus+sign.txt",
        "ünïcødé/文件 名.txt",
        "percent%2Fliteral",
        "reserved!'()*&$@=;:,?#.txt",
        "tilde~under_score-dash",
    ];
    for key in &keys {
        put(&ctx, &bucket, key, key.as_bytes()).await?;
    }
    for key in &keys {
        ensure_eq!(
            get_bytes(&ctx, &bucket, key).await?,
            key.as_bytes().to_vec(),
            "GetObject {key:?}"
        );
        let head = ctx
            .s3
            .head_object()
            .bucket(&bucket)
            .key(*key)
            .send()
            .await
            .or_fail(&format!("HeadObject {key:?}"))?;
        ensure_eq!(
            head.content_length,
            i64::try_from(key.len()).ok(),
            "HeadObject {key:?} length"
        );
    }
    let out = ctx
        .s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .or_fail("ListObjectsV2")?;
    keys.sort_unstable(); // S3 lists in UTF-8 byte order, which is str order.
    ensure_eq!(contents(&out), keys, "ListObjectsV2 keys");
    let out = ctx
        .s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("ünïcødé/")
        .send()
        .await
        .or_fail("ListObjectsV2 with a non-ASCII prefix")?;
    ensure_eq!(
        contents(&out),
        vec!["ünïcødé/文件 名.txt"],
        "non-ASCII prefix"
    );
    Ok(())
}
