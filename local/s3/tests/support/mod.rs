//! Shared by the copyflow-s3 integration tests: a real `aws-sdk-s3` client for a server on
//! loopback, and a server started in a temp dir.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use copyflow_s3::{S3Server, ServerConfig};

/// An SDK client for `endpoint` (plain HTTP, path-style, static keys).
pub(crate) fn client(endpoint: &str, access_key: &str, secret_key: &str, region: &str) -> Client {
    Client::from_conf(config(endpoint, access_key, secret_key, region).build())
}

/// The client configuration, for tests that tune it (e.g. retries).
pub(crate) fn config(
    endpoint: &str,
    access_key: &str,
    secret_key: &str,
    region: &str,
) -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .credentials_provider(Credentials::new(
            access_key,
            secret_key,
            None,
            None,
            "copyflow-tests",
        ))
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .force_path_style(true)
}

/// A fresh embedded server and a client for it; keep the guard alive for the test.
pub(crate) struct Embedded {
    pub server: S3Server,
    pub client: Client,
    _dir: tempfile::TempDir,
}

pub(crate) async fn embedded() -> Embedded {
    let dir = tempfile::tempdir().unwrap();
    let server = S3Server::start(ServerConfig::new(dir.path()))
        .await
        .unwrap();
    let c = server.config();
    let client = client(&server.endpoint(), &c.access_key, &c.secret_key, &c.region);
    Embedded {
        server,
        client,
        _dir: dir,
    }
}

/// Segments a server's data directory holds: files under `blobs/` plus the small bodies
/// stored inline in `keys.sqlite3`.
pub(crate) fn stored_segments(data_dir: &std::path::Path) -> usize {
    files_under(&data_dir.join("blobs")) + inline_segments(data_dir)
}

/// Regular files anywhere under `dir` (0 when it does not exist).
pub(crate) fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| {
                let p = e.unwrap().path();
                if p.is_dir() { files_under(&p) } else { 1 }
            })
            .sum()
        })
        .unwrap_or(0)
}

/// Rows of the key database's `inline_blobs` table.
pub(crate) fn inline_segments(data_dir: &std::path::Path) -> usize {
    let conn = rusqlite::Connection::open(data_dir.join("keys.sqlite3")).unwrap();
    conn.query_row("SELECT COUNT(*) FROM inline_blobs", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| usize::try_from(n).unwrap())
    .unwrap()
}
