//! The local Step Functions API protects itself: a client that stops sending mid-request is
//! disconnected after the idle timeout, and a body over the request limit is refused with
//! 413 without being read into memory. Raw TCP, because no well-behaved client does this.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use copyflow::pipeline::{DEFAULT_MAX_RUNNING, Pipeline, PipelineOptions, S3Target};
use copyflow::sfn_api;
use copyflow_core::{SettingsDocument, SettingsOrigin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn api(idle: Duration) -> (SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, _) = Pipeline::start(PipelineOptions {
        settings: SettingsDocument::new("copyflow-source", "copyflow-destination")
            .check(SettingsOrigin::Built)
            .unwrap(),
        s3: S3Target::Embedded {
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.path().join("s3"),
        },
        executions_dir: Some(dir.path().join("executions")),
        max_running: DEFAULT_MAX_RUNNING,
        lambda_binaries: None,
        server_runtime: None,
    })
    .await
    .unwrap();
    let (addr, _task) =
        sfn_api::serve_with_timeout(SocketAddr::from(([127, 0, 0, 1], 0)), pipeline, idle)
            .await
            .unwrap();
    (addr, dir)
}

/// Reads until the server closes the connection; returns what it sent.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return String::from_utf8_lossy(&out).into_owned(),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server kept the connection open for {limit:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_mid_body_is_disconnected_after_the_idle_timeout() {
    let (addr, _dir) = api(Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: AWSStepFunctions.ListStateMachines\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 100\r\n\r\n{\"half")
        .await
        .unwrap();
    let began = Instant::now();
    until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(
        began.elapsed() >= Duration::from_millis(900),
        "closed before the timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let (addr, _dir) = api(Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    until_closed(&mut stream, Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_refused_with_413() {
    let (addr, _dir) = api(Duration::from_secs(5)).await;
    // Declared too large: refused before a byte of the body is read.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let declared = sfn_api::MAX_REQUEST_BYTES + 1;
    stream
        .write_all(format!("POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: AWSStepFunctions.StartExecution\r\ncontent-length: {declared}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let answer = until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("ValidationException"), "{answer}");

    // Chunked, with no length up front: cut off at the limit.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: AWSStepFunctions.StartExecution\r\ntransfer-encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    let chunk = vec![b'a'; 64 * 1024];
    for _ in 0..(sfn_api::MAX_REQUEST_BYTES / chunk.len() + 2) {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(&chunk);
        frame.extend_from_slice(b"\r\n");
        if stream.write_all(&frame).await.is_err() {
            break;
        }
    }
    let answer = until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}
