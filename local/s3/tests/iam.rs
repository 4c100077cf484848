//! IAM enforcement on the wire, through the aws cli (botocore): a key bound to a policy gets
//! S3's 403 `AccessDenied` with AWS's message for what the policy does not allow, and a HEAD
//! of a missing key answers 403 without `s3:ListBucket` and 404 with it; the server's own
//! key keeps full access.
//!
//! The cli is `COPYFLOW_AWS_CLI` (`scripts/test.sh` installs it in `.tools/awscli-venv`);
//! without it the workspace's `.tools/awscli-venv/bin/aws` is used if it exists.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Output;

use copyflow_s3::iam::{Identity, Policy};
use copyflow_s3::{S3Server, ServerConfig};

fn aws_cli() -> PathBuf {
    if let Some(path) = std::env::var_os("COPYFLOW_AWS_CLI") {
        return PathBuf::from(path);
    }
    let fallback =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/awscli-venv/bin/aws");
    assert!(
        fallback.exists(),
        "COPYFLOW_AWS_CLI is not set and {} does not exist: run ./scripts/test.sh, which installs \
         the aws cli into .tools/awscli-venv and exports it",
        fallback.display()
    );
    fallback
}

fn identity(name: &str, policy: &str) -> Identity {
    Identity {
        access_key: format!("{name}-key"),
        secret_key: format!("{name}-secret"),
        user_name: name.to_owned(),
        policies: vec![Policy::parse(policy).unwrap()],
    }
}

/// `aws s3api ARGS...` signed with `key`/`secret`.
async fn s3api(server: &S3Server, key: &str, secret: &str, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(aws_cli());
    command
        .args(["--endpoint-url", &server.endpoint(), "s3api"])
        .args(args)
        .envs([
            ("AWS_ACCESS_KEY_ID", key),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
            ("AWS_MAX_ATTEMPTS", "1"),
        ]);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bound_key_is_refused_with_aws_access_denied_through_the_aws_cli() {
    let dir = tempfile::tempdir().unwrap();
    let reader = identity(
        "reader",
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::wire/*"}]}"#,
    );
    let lister = identity(
        "lister",
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::wire/*"},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::wire"},
            {"Effect": "Deny", "Action": "s3:Get*", "Resource": "arn:aws:s3:::wire/secret/*"}]}"#,
    );
    let server = S3Server::start(ServerConfig {
        identities: vec![reader, lister],
        ..ServerConfig::new(dir.path())
    })
    .await
    .unwrap();
    let (admin, admin_secret) = (
        server.config().access_key.clone(),
        server.config().secret_key.clone(),
    );
    let ok = s3api(
        &server,
        &admin,
        &admin_secret,
        &["create-bucket", "--bucket", "wire"],
    )
    .await;
    assert!(ok.status.success(), "{}", stderr(&ok));
    let body = dir.path().join("body.txt");
    std::fs::write(&body, "hello").unwrap();
    let body = body.to_str().unwrap();
    for key in ["k.txt", "secret/s.txt"] {
        let ok = s3api(
            &server,
            &admin,
            &admin_secret,
            &[
                "put-object",
                "--bucket",
                "wire",
                "--key",
                key,
                "--body",
                body,
            ],
        )
        .await;
        assert!(ok.status.success(), "{}", stderr(&ok));
    }

    // Allowed: GetObject of an object in the granted prefix.
    let out_file = dir.path().join("out.txt");
    let out_file = out_file.to_str().unwrap();
    let get = s3api(
        &server,
        "reader-key",
        "reader-secret",
        &["get-object", "--bucket", "wire", "--key", "k.txt", out_file],
    )
    .await;
    assert!(get.status.success(), "{}", stderr(&get));

    // Not allowed: a write, with AWS's message naming the user, the action and the resource.
    let put = s3api(
        &server,
        "reader-key",
        "reader-secret",
        &[
            "put-object",
            "--bucket",
            "wire",
            "--key",
            "k.txt",
            "--body",
            body,
        ],
    )
    .await;
    assert!(!put.status.success());
    assert_eq!(
        stderr(&put),
        "An error occurred (AccessDenied) when calling the PutObject operation: User: \
         arn:aws:iam::000000000000:user/reader is not authorized to perform: s3:PutObject on \
         resource: \"arn:aws:s3:::wire/k.txt\" because no identity-based policy allows the \
         s3:PutObject action"
    );
    // An explicit Deny wins over the Allow.
    let denied = s3api(
        &server,
        "lister-key",
        "lister-secret",
        &[
            "get-object",
            "--bucket",
            "wire",
            "--key",
            "secret/s.txt",
            out_file,
        ],
    )
    .await;
    assert_eq!(
        stderr(&denied),
        "An error occurred (AccessDenied) when calling the GetObject operation: User: \
         arn:aws:iam::000000000000:user/lister is not authorized to perform: s3:GetObject on \
         resource: \"arn:aws:s3:::wire/secret/s.txt\" with an explicit deny in an \
         identity-based policy"
    );

    // A missing key: 403 without s3:ListBucket, 404 with it (HEAD has no body: status only).
    let head = ["head-object", "--bucket", "wire", "--key", "missing.txt"];
    let without = s3api(&server, "reader-key", "reader-secret", &head).await;
    assert_eq!(
        stderr(&without),
        "An error occurred (403) when calling the HeadObject operation: Forbidden"
    );
    let with = s3api(&server, "lister-key", "lister-secret", &head).await;
    assert_eq!(
        stderr(&with),
        "An error occurred (404) when calling the HeadObject operation: Not Found"
    );
    // GET of a missing key without s3:ListBucket: AccessDenied naming s3:ListBucket.
    let get_missing = s3api(
        &server,
        "reader-key",
        "reader-secret",
        &[
            "get-object",
            "--bucket",
            "wire",
            "--key",
            "missing.txt",
            out_file,
        ],
    )
    .await;
    assert_eq!(
        stderr(&get_missing),
        "An error occurred (AccessDenied) when calling the GetObject operation: User: \
         arn:aws:iam::000000000000:user/reader is not authorized to perform: s3:ListBucket on \
         resource: \"arn:aws:s3:::wire\" because no identity-based policy allows the \
         s3:ListBucket action"
    );
    let get_missing = s3api(
        &server,
        "lister-key",
        "lister-secret",
        &[
            "get-object",
            "--bucket",
            "wire",
            "--key",
            "missing.txt",
            out_file,
        ],
    )
    .await;
    assert!(
        stderr(&get_missing).contains("(NoSuchKey)"),
        "{}",
        stderr(&get_missing)
    );

    // DeleteObjects names its keys in the body: each needs s3:DeleteObject.
    let delete = s3api(
        &server,
        "lister-key",
        "lister-secret",
        &[
            "delete-objects",
            "--bucket",
            "wire",
            "--delete",
            "Objects=[{Key=k.txt}]",
        ],
    )
    .await;
    assert!(
        stderr(&delete)
            .contains("perform: s3:DeleteObject on resource: \"arn:aws:s3:::wire/k.txt\""),
        "{}",
        stderr(&delete)
    );
    // An operation without a mapping to IAM actions is refused to a bound key.
    let acl = s3api(
        &server,
        "lister-key",
        "lister-secret",
        &["get-bucket-acl", "--bucket", "wire"],
    )
    .await;
    assert!(stderr(&acl).contains("(AccessDenied)"), "{}", stderr(&acl));

    // The server's own key is bound to no policy: full access.
    let ok = s3api(
        &server,
        &admin,
        &admin_secret,
        &["delete-object", "--bucket", "wire", "--key", "k.txt"],
    )
    .await;
    assert!(ok.status.success(), "{}", stderr(&ok));
    server.shutdown().await;
}
