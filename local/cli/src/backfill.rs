//! `copyflow backfill`: starts an execution for every object already in the source bucket,
//! with the same `Object Created` event shape S3 sends, so existing data is copied by the
//! same steps. Execution names derive from bucket, key and ETag, so running it again starts
//! nothing new for objects already handled (StartExecution refuses a used name).

use aws_sdk_sfn::error::ProvideErrorMetadata;
use copyflow::outln;
use copyflow_core::Settings;
use copyflow_s3::event::{EventFactory, KeyEncoding, ObjectCreated, Reason};

use crate::CliResult;
use crate::views::{self, Target};

#[derive(Debug, Clone, clap::Args)]
pub struct Source {
    /// Only objects under this prefix (after the configured source prefix).
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// S3 endpoint to list (default: the local one from copyflow.json; with --aws: AWS).
    #[arg(long)]
    pub s3_endpoint: Option<String>,
}

/// A StartExecution name for an object version: at most 80 characters of [A-Za-z0-9-].
fn execution_name(bucket: &str, key: &str, etag: &str) -> String {
    let digest = copyflow_core::Digest::compute(
        copyflow_core::Algorithm::Sha256,
        format!("{bucket}\n{key}\n{etag}").as_bytes(),
    );
    let hex: String = digest
        .as_bytes()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("backfill-{hex}")
}

pub async fn run(settings: &Settings, target: &Target, source: &Source) -> CliResult<()> {
    let s3 = if target.aws && source.s3_endpoint.is_none() {
        copyflow_core::s3::client_from_env().await
    } else {
        let endpoint = source
            .s3_endpoint
            .clone()
            .unwrap_or_else(|| format!("http://{}", settings.local.s3_address));
        copyflow_core::s3::client_for_endpoint(
            &endpoint,
            copyflow_s3::DEFAULT_ACCESS_KEY,
            copyflow_s3::DEFAULT_SECRET_KEY,
            target.region.as_deref().unwrap_or("us-east-1"),
        )
    };
    let sfn = views::client(target, &settings.local.sfn_address.to_string()).await;
    let machine = views::machine_arn(&sfn, target).await?;
    let bucket = &settings.source.bucket;
    let prefix = format!("{}{}", settings.source.prefix, source.prefix);
    let factory = EventFactory::new(
        copyflow_s3::LOCAL_ACCOUNT_ID,
        target.region.clone().unwrap_or_else(|| "us-east-1".into()),
        "copyflow-backfill",
        KeyEncoding::Form,
    );
    let (mut started, mut existing) = (0, 0);
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(&prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            format!(
                "listing s3://{bucket}/{prefix}: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            )
        })?;
        for object in page.contents() {
            let key = object.key().unwrap_or_default();
            let etag = object.e_tag().unwrap_or_default().trim_matches('"');
            let event = factory.build(ObjectCreated {
                bucket: bucket.clone(),
                key: key.to_owned(),
                size: object
                    .size()
                    .and_then(|s| u64::try_from(s).ok())
                    .unwrap_or(0),
                etag: etag.to_owned(),
                version_id: None,
                reason: Reason::PutObject,
                request_id: "copyflow-backfill".to_owned(),
                source_ip: "127.0.0.1".to_owned(),
            });
            let input = serde_json::to_string(&event)?;
            let result = sfn
                .start_execution()
                .state_machine_arn(&machine)
                .name(execution_name(bucket, key, etag))
                .input(input)
                .send()
                .await;
            match result {
                Ok(_) => started += 1,
                Err(e) if e.code() == Some("ExecutionAlreadyExists") => existing += 1,
                Err(e) => {
                    return Err(format!(
                        "StartExecution for {key}: {}",
                        aws_smithy_types::error::display::DisplayErrorContext(&e)
                    )
                    .into());
                }
            }
        }
    }
    outln!(
        "backfill of s3://{bucket}/{prefix}: {started} executions started, {existing} objects already backfilled"
    );
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::execution_name;

    #[test]
    fn backfill_names_are_stable_valid_and_distinct_per_version() {
        let a = execution_name("b", "k", "e1");
        assert_eq!(a, execution_name("b", "k", "e1"));
        assert_ne!(a, execution_name("b", "k", "e2"));
        assert!(a.len() <= 80 && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}
