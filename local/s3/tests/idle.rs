//! Idle timeouts over raw TCP: a client that connects and sends nothing, stalls in its
//! headers, or stops in the middle of a body is disconnected after `idle_timeout`, and a
//! stalled upload leaves no bytes behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use aws_sdk_s3::presigning::PresigningConfig;
use copyflow_s3::{S3Server, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const IDLE: Duration = Duration::from_secs(1);

async fn start(dir: &std::path::Path) -> S3Server {
    S3Server::start(ServerConfig {
        idle_timeout: IDLE,
        ..ServerConfig::new(dir)
    })
    .await
    .unwrap()
}

/// Reads until the server closes the connection; returns how long that took and what it sent.
async fn until_closed(stream: &mut TcpStream, started: Instant) -> (Duration, String) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the server kept the connection open for 10 s"
    );
    (
        started.elapsed(),
        String::from_utf8_lossy(&got).into_owned(),
    )
}

fn assert_closed_after_the_timeout(took: Duration) {
    assert!(
        took >= IDLE - Duration::from_millis(100),
        "closed too early: {took:?}"
    );
    assert!(took < IDLE * 4, "closed too late: {took:?}");
}

#[tokio::test]
async fn a_client_that_connects_and_sends_nothing_is_disconnected_after_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let (took, _) = until_closed(&mut stream, started).await;
    assert_closed_after_the_timeout(took);
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_stalls_in_its_headers_is_disconnected_after_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let (took, _) = until_closed(&mut stream, started).await;
    assert_closed_after_the_timeout(took);
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_stops_mid_body_is_disconnected_and_its_partial_upload_is_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let c = server.config();
    let client = support::client(&server.endpoint(), &c.access_key, &c.secret_key, &c.region);
    client.create_bucket().bucket("idle").send().await.unwrap();
    // A presigned PUT (UNSIGNED-PAYLOAD) gets past authentication, so the server is really
    // reading the body when the client stops.
    let presigned = client
        .put_object()
        .bucket("idle")
        .key("stalled")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    let uri: http::Uri = presigned.uri().parse().unwrap();
    let mut head = format!(
        "PUT {} HTTP/1.1\r\nHost: {}\r\nContent-Length: 1000\r\n",
        uri.path_and_query().unwrap(),
        uri.authority().unwrap()
    );
    for (name, value) in presigned.headers() {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[b'x'; 500]).await.unwrap();
    let started = Instant::now();
    let (took, response) = until_closed(&mut stream, started).await;
    assert_closed_after_the_timeout(took);
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(
        response.contains("<Code>IncompleteBody</Code>"),
        "{response}"
    );
    let head = client
        .head_object()
        .bucket("idle")
        .key("stalled")
        .send()
        .await;
    assert!(head.is_err(), "the stalled upload was not stored");
    assert_eq!(
        support::stored_segments(dir.path()),
        0,
        "its partial segment was removed"
    );

    // A well-behaved client on the same server is unaffected.
    client
        .put_object()
        .bucket("idle")
        .key("fine")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"ok"))
        .send()
        .await
        .unwrap();
    server.shutdown().await;
}
