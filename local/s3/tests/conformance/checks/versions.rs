//! ListObjectVersions: every version newest first, delete markers as DeleteMarker entries,
//! IsLatest, paging by key-marker and version-id-marker, delimiter roll-up.

use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;

use super::*;

async fn put_version(ctx: &Ctx, bucket: &str, key: &str) -> Result<String, String> {
    let out = ctx
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(key.as_bytes().to_vec()))
        .send()
        .await
        .or_fail(&format!("PutObject {key}"))?;
    out.version_id
        .ok_or_else(|| format!("PutObject {key}: no VersionId in a versioned bucket"))
}

/// `(key, version id, is latest)` of every Version and DeleteMarker, in key order and
/// newest first within a key (how S3 orders them in one list).
fn entries(out: &ListObjectVersionsOutput, order: &[String]) -> Vec<(String, String, bool)> {
    let mut all: Vec<(String, String, bool)> = out
        .versions()
        .iter()
        .map(|v| (v.key(), v.version_id(), v.is_latest()))
        .chain(
            out.delete_markers()
                .iter()
                .map(|m| (m.key(), m.version_id(), m.is_latest())),
        )
        .map(|(k, v, l)| {
            (
                k.unwrap_or_default().to_owned(),
                v.unwrap_or_default().to_owned(),
                l.unwrap_or(false),
            )
        })
        .collect();
    let rank = |id: &str| order.iter().position(|o| o == id).unwrap_or(usize::MAX);
    all.sort_by_key(|(k, v, _)| (k.clone(), rank(v)));
    all
}

pub(super) async fn list_object_versions_pages_with_key_and_version_id_markers(
    ctx: Ctx,
) -> Outcome {
    let bucket = ctx.versioned_bucket().await?;
    let a1 = put_version(&ctx, &bucket, "a").await?;
    let a2 = put_version(&ctx, &bucket, "a").await?;
    let a3 = put_version(&ctx, &bucket, "a").await?;
    let b1 = put_version(&ctx, &bucket, "b").await?;
    let order = vec![a3.clone(), a2.clone(), a1.clone(), b1.clone()];
    let mut seen = Vec::new();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    let mut pages = Vec::new();
    loop {
        let page = ctx
            .s3
            .list_object_versions()
            .bucket(&bucket)
            .max_keys(2)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .or_fail("ListObjectVersions max-keys=2")?;
        seen.extend(entries(&page, &order));
        pages.push((
            page.is_truncated(),
            page.next_key_marker().map(str::to_owned),
            page.next_version_id_marker().map(str::to_owned),
        ));
        if page.is_truncated() != Some(true) {
            break;
        }
        ensure!(pages.len() < 5, "more than 4 pages for 4 versions");
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
    ensure_eq!(
        pages,
        vec![
            (Some(true), Some("a".to_owned()), Some(a2.clone())),
            (Some(false), None, None),
        ],
        "IsTruncated, NextKeyMarker, NextVersionIdMarker per page"
    );
    ensure_eq!(
        seen,
        vec![
            ("a".to_owned(), a3, true),
            ("a".to_owned(), a2, false),
            ("a".to_owned(), a1, false),
            ("b".to_owned(), b1, true),
        ],
        "versions over both pages"
    );
    Ok(())
}

pub(super) async fn list_object_versions_reports_delete_markers_and_is_latest(ctx: Ctx) -> Outcome {
    let bucket = ctx.versioned_bucket().await?;
    let v1 = put_version(&ctx, &bucket, "k").await?;
    let deleted = ctx
        .s3
        .delete_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .or_fail("DeleteObject k")?;
    let marker = deleted
        .version_id()
        .ok_or("DeleteObject: no VersionId for the delete marker")?
        .to_owned();
    let out = ctx
        .s3
        .list_object_versions()
        .bucket(&bucket)
        .send()
        .await
        .or_fail("ListObjectVersions")?;
    let versions: Vec<_> = out
        .versions()
        .iter()
        .map(|v| (v.key(), v.version_id(), v.is_latest(), v.size()))
        .collect();
    ensure_eq!(
        versions,
        vec![(Some("k"), Some(v1.as_str()), Some(false), Some(1))],
        "Versions (key, id, IsLatest, Size)"
    );
    let markers: Vec<_> = out
        .delete_markers()
        .iter()
        .map(|m| (m.key(), m.version_id(), m.is_latest()))
        .collect();
    ensure_eq!(
        markers,
        vec![(Some("k"), Some(marker.as_str()), Some(true))],
        "DeleteMarkers (key, id, IsLatest)"
    );
    ensure_eq!(out.is_truncated(), Some(false), "IsTruncated");
    Ok(())
}

pub(super) async fn list_object_versions_rolls_keys_up_into_common_prefixes(ctx: Ctx) -> Outcome {
    let bucket = ctx.versioned_bucket().await?;
    for key in ["d/1", "d/2", "e/x/1", "f"] {
        put_version(&ctx, &bucket, key).await?;
    }
    let out = ctx
        .s3
        .list_object_versions()
        .bucket(&bucket)
        .delimiter("/")
        .send()
        .await
        .or_fail("ListObjectVersions delimiter=/")?;
    let keys: Vec<_> = out.versions().iter().filter_map(|v| v.key()).collect();
    ensure_eq!(keys, vec!["f"], "Versions beside the common prefixes");
    let prefixes: Vec<_> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    ensure_eq!(prefixes, vec!["d/", "e/"], "CommonPrefixes");
    let under = ctx
        .s3
        .list_object_versions()
        .bucket(&bucket)
        .prefix("e/")
        .delimiter("/")
        .send()
        .await
        .or_fail("ListObjectVersions prefix=e/ delimiter=/")?;
    let prefixes: Vec<_> = under
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    ensure_eq!(prefixes, vec!["e/x/"], "CommonPrefixes under e/");
    Ok(())
}
