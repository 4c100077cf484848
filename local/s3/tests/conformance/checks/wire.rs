//! The checks where the wire encoding matters, through a second client: boto3 (one process
//! of `wire_checks.py` per check) and the aws cli (v1, on botocore). Both send list-valued
//! headers comma-joined, sign presigned URLs their own way and print the error message,
//! where aws-sdk-s3 does otherwise.
//!
//! The interpreter with boto3 is `COPYFLOW_BOTO3_PYTHON` and the cli `COPYFLOW_AWS_CLI`
//! (`scripts/test.sh` installs both in `.tools/awscli-venv` and exports them); without them
//! the workspace's `.tools/awscli-venv` is used if it exists.

use std::path::PathBuf;
use std::process::Output;

use super::*;

/// `env` if set, else `.tools/awscli-venv/bin/<program>` in the workspace.
fn tool(env: &str, program: &str) -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(env) {
        return Ok(PathBuf::from(path));
    }
    let fallback = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../.tools/awscli-venv/bin")
        .join(program);
    if fallback.exists() {
        return Ok(fallback);
    }
    Err(format!(
        "{env} is not set and {} does not exist: run ./scripts/test.sh, which installs awscli \
         and boto3 into .tools/awscli-venv and exports it",
        fallback.display()
    ))
}

/// Runs `wire_checks.py NAME` against the target, with a fresh bucket and a fresh
/// versioned bucket.
async fn boto3(ctx: Ctx, name: &str) -> Outcome {
    let python = tool("COPYFLOW_BOTO3_PYTHON", "python")?;
    let bucket = ctx.bucket().await?;
    let versioned = ctx.versioned_bucket().await?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/wire_checks.py");
    let mut command = std::process::Command::new(&python);
    command
        .arg(&script)
        .args([name, &bucket, &versioned])
        .envs(target_env(&ctx));
    let out = run(command).await?;
    verdict(&out, "wire_checks.py")
}

fn target_env(ctx: &Ctx) -> Vec<(&'static str, String)> {
    let t = &ctx.target;
    vec![
        ("COPYFLOW_S3_ENDPOINT", t.endpoint.clone()),
        ("COPYFLOW_S3_ACCESS_KEY", t.access_key.clone()),
        ("COPYFLOW_S3_SECRET_KEY", t.secret_key.clone()),
        ("COPYFLOW_S3_REGION", t.region.clone()),
        ("AWS_ACCESS_KEY_ID", t.access_key.clone()),
        ("AWS_SECRET_ACCESS_KEY", t.secret_key.clone()),
        ("AWS_DEFAULT_REGION", t.region.clone()),
        // No profile or config file of the machine's user leaks into the run.
        ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
    ]
}

fn verdict(out: &Output, what: &str) -> Outcome {
    if out.status.success() {
        return Ok(());
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(format!(
        "{what} {}: {} {}",
        out.status,
        stdout.trim(),
        stderr.lines().last().unwrap_or("")
    ))
}

/// `aws --endpoint-url <target> s3api ARGS...`
async fn aws_cli(ctx: &Ctx, args: &[&str]) -> Result<Output, String> {
    let aws = tool("COPYFLOW_AWS_CLI", "aws")?;
    let mut command = std::process::Command::new(&aws);
    command
        .args([
            "--endpoint-url",
            &ctx.target.endpoint,
            "--output",
            "json",
            "s3api",
        ])
        .args(args)
        .envs(target_env(ctx));
    run(command).await
}

/// Runs a client process to its end off the async threads (tokio is built without its
/// `process` feature in this workspace).
async fn run(mut command: std::process::Command) -> Result<Output, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    tokio::task::spawn_blocking(move || command.output())
        .await
        .map_err(|e| format!("running {program}: {e}"))?
        .map_err(|e| format!("running {program}: {e}"))
}

macro_rules! boto3_checks {
    ($($name:ident),* $(,)?) => {
        $(pub(crate) async fn $name(ctx: Ctx) -> Outcome { boto3(ctx, stringify!($name)).await })*
    };
}

boto3_checks![
    boto3_get_object_attributes_with_several_attributes_returns_all_of_them,
    boto3_put_with_sha256_checksum_header_stores_and_returns_it,
    boto3_put_with_a_wrong_checksum_header_is_400_bad_digest,
    boto3_presigned_get_url_returns_the_object,
    boto3_presigned_url_valid_for_8_days_is_400_authorization_query_parameters_error,
    boto3_errors_carry_aws_messages,
    boto3_a_wrong_secret_is_403_signature_does_not_match_with_its_message,
    boto3_metadata_over_2_kb_is_400_metadata_too_large,
    boto3_reserved_bucket_names_are_400_invalid_bucket_name,
    boto3_list_object_versions_pages_through_versions_and_delete_markers,
];

pub(super) async fn aws_cli_get_object_attributes_with_several_attributes_returns_all_of_them(
    ctx: Ctx,
) -> Outcome {
    let bucket = ctx.bucket().await?;
    let data = b"attributes through the aws cli";
    // CRC32, not the default CRC64NVME: botocore without awscrt drops CRC64NVME fields.
    ctx.s3
        .put_object()
        .bucket(&bucket)
        .key("k")
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc32)
        .body(ByteStream::from_static(data))
        .send()
        .await
        .or_fail("PutObject k with CRC32")?;
    let out = aws_cli(
        &ctx,
        &[
            "get-object-attributes",
            "--bucket",
            &bucket,
            "--key",
            "k",
            "--object-attributes",
            "ETag",
            "Checksum",
            "ObjectSize",
        ],
    )
    .await?;
    verdict(&out, "aws s3api get-object-attributes")?;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("aws cli output is not JSON ({e}): {:?}", out.stdout))?;
    ensure_eq!(json["ETag"].as_str(), Some(md5_hex(data).as_str()), "ETag");
    ensure_eq!(
        json["ObjectSize"].as_u64(),
        Some(data.len() as u64),
        "ObjectSize"
    );
    let crc32 = checksum(Algorithm::Crc32, data);
    ensure_eq!(
        json["Checksum"]["ChecksumCRC32"].as_str(),
        Some(crc32.as_str()),
        "Checksum.ChecksumCRC32"
    );
    Ok(())
}

pub(super) async fn aws_cli_get_object_of_a_missing_key_prints_the_no_such_key_message(
    ctx: Ctx,
) -> Outcome {
    let bucket = ctx.bucket().await?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let outfile = dir.path().join("out");
    let outfile = outfile.to_string_lossy();
    let out = aws_cli(
        &ctx,
        &[
            "get-object",
            "--bucket",
            &bucket,
            "--key",
            "missing",
            &outfile,
        ],
    )
    .await?;
    ensure!(
        !out.status.success(),
        "aws s3api get-object of a missing key succeeded"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        stderr.contains("(NoSuchKey)") && stderr.contains(": The specified key does not exist."),
        "aws cli error line: expected \"...(NoSuchKey)...: The specified key does not exist.\", \
         got {:?}",
        stderr.trim()
    );
    Ok(())
}
