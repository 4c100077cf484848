//! The backfill state machine locally: `statemachine/backfill.asl.json` (the file the CDK app
//! deploys) loaded next to the copyflow machine, with the two S3 integrations its Distributed
//! Map calls registered on the engine: `s3:listObjectsV2` for the ItemReader and
//! `s3:putObject` for the ResultWriter's report. Both go through the pipeline's own S3 client
//! (the embedded server's admin identity): on AWS they are the state machine role's requests,
//! not a step's, so the step policies the embedded server enforces do not apply to them.

use std::collections::HashMap;

use aws_sdk_s3::error::ProvideErrorMetadata;
use copyflow_asl::{Engine, LambdaError, LoadError};
use copyflow_core::Settings;
use serde_json::{Value, json};

/// The backfill definition, compiled in like the copyflow one.
pub const BACKFILL_DEFINITION: &str = include_str!("../../../statemachine/backfill.asl.json");
/// The local backfill state machine's name.
pub const BACKFILL_STATE_MACHINE: &str = "copyflow-backfill";
/// The local bucket the backfill writes its reports to (the CDK app creates its own).
pub const REPORT_BUCKET: &str = "copyflow-reports";
/// Where in it: `<prefix><map run id>/manifest.json`, `FAILED_0.json`, ...
pub const REPORT_PREFIX: &str = "backfill/";

/// The definition's placeholders and their local values.
pub fn substitutions(
    settings: &Settings,
    region: &str,
    account: &str,
    copyflow_arn: &str,
) -> HashMap<String, String> {
    [
        ("SourceBucket", settings.source_bucket()),
        ("SourcePrefix", settings.source_prefix()),
        ("AccountId", account),
        ("Region", region),
        ("CopyflowStateMachineArn", copyflow_arn),
        ("ReportBucket", REPORT_BUCKET),
        ("ReportPrefix", REPORT_PREFIX),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Registers the S3 integrations on `engine` and loads the backfill machine; returns its ARN.
pub fn install(
    engine: &Engine,
    s3: &aws_sdk_s3::Client,
    substitutions: &HashMap<String, String>,
) -> Result<String, LoadError> {
    let client = s3.clone();
    engine.register_integration(
        "arn:aws:states:::s3:listObjectsV2",
        move |parameters: Value| {
            let client = client.clone();
            async move { list_objects_v2(&client, &parameters).await }
        },
    );
    let client = s3.clone();
    engine.register_integration("arn:aws:states:::s3:putObject", move |parameters: Value| {
        let client = client.clone();
        async move { put_object(&client, &parameters).await }
    });
    engine.create_state_machine(BACKFILL_STATE_MACHINE, BACKFILL_DEFINITION, substitutions)
}

/// Creates the local report bucket if it is missing.
pub async fn ensure_report_bucket(s3: &aws_sdk_s3::Client) -> Result<(), String> {
    if s3.head_bucket().bucket(REPORT_BUCKET).send().await.is_ok() {
        return Ok(());
    }
    s3.create_bucket()
        .bucket(REPORT_BUCKET)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| crate::sdk_error::one_line(&e).to_string())
}

fn s3_error<E>(e: &aws_sdk_s3::error::SdkError<E>) -> LambdaError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = e.code().unwrap_or("S3.SdkClientException").to_owned();
    LambdaError::new(
        format!("S3.{}", code.trim_start_matches("S3.")),
        crate::sdk_error::one_line(e).to_string(),
    )
}

/// One ListObjectsV2 page, in the response shape Step Functions gets.
async fn list_objects_v2(
    client: &aws_sdk_s3::Client,
    parameters: &Value,
) -> Result<Value, LambdaError> {
    let bucket = parameters["Bucket"].as_str().unwrap_or_default();
    let page = client
        .list_objects_v2()
        .bucket(bucket)
        .set_prefix(parameters["Prefix"].as_str().map(str::to_owned))
        .set_continuation_token(parameters["ContinuationToken"].as_str().map(str::to_owned))
        .send()
        .await
        .map_err(|e| s3_error(&e))?;
    let contents: Vec<Value> = page
        .contents()
        .iter()
        .map(|o| {
            json!({
                "Key": o.key(),
                "Size": o.size(),
                "ETag": o.e_tag(),
                "LastModified": o.last_modified().map(|t| t.secs()),
                "StorageClass": o.storage_class().map(|c| c.as_str()).unwrap_or("STANDARD"),
            })
        })
        .collect();
    let mut out = json!({"Contents": contents, "IsTruncated": page.is_truncated()});
    if let (Some(token), Some(m)) = (page.next_continuation_token(), out.as_object_mut()) {
        m.insert("NextContinuationToken".into(), json!(token));
    }
    Ok(out)
}

/// PutObject of a report file.
async fn put_object(client: &aws_sdk_s3::Client, parameters: &Value) -> Result<Value, LambdaError> {
    let body = parameters["Body"].as_str().unwrap_or_default().to_owned();
    let put = client
        .put_object()
        .bucket(parameters["Bucket"].as_str().unwrap_or_default())
        .key(parameters["Key"].as_str().unwrap_or_default())
        .content_type("application/json")
        .body(body.into_bytes().into())
        .send()
        .await
        .map_err(|e| s3_error(&e))?;
    Ok(json!({"ETag": put.e_tag()}))
}
