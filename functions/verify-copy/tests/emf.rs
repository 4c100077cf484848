//! The verify-copy binary as Lambda runs it: spawned with the Lambda environment, served one
//! invocation by a minimal Runtime API on loopback, verifying a copy in the embedded S3 server.
//! It must print the EMF metrics line (`copyflow_core::metrics`) on stdout, where CloudWatch
//! Logs turns it into the latency, bytes and outcome metrics the CDK app alarms on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::primitives::ByteStream;
use copyflow_core::{SettingsDocument, SettingsOrigin, Steps};
use copyflow_s3::{S3Server, ServerConfig};
use serde_json::{Value, json};

const SRC: &str = "copyflow-source";
const DST: &str = "copyflow-destination";

/// One HTTP/1.1 request: (request line, body).
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        if header == "\r\n" || header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((line.trim_end().to_owned(), body))
}

/// Serves `payload` as the one invocation and sends what the function posts back to `done`.
fn runtime_api(payload: Value, done: mpsc::Sender<(String, Value)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut served = false;
        for stream in listener.incoming() {
            let stream = stream.unwrap();
            let mut writer = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            let payload = payload.clone();
            let done = done.clone();
            let first = !served;
            served = true;
            std::thread::spawn(move || {
                let mut first = first;
                while let Some((line, body)) = read_request(&mut reader) {
                    if line.contains("/invocation/next") {
                        if !first {
                            // The function waits for its next event: there is none.
                            std::thread::sleep(Duration::from_secs(600));
                            return;
                        }
                        first = false;
                        let deadline = SystemTime::now()
                            .duration_since(UNIX_EPOCH)
                            .unwrap()
                            .as_millis()
                            + 600_000;
                        let body = payload.to_string();
                        write!(
                            writer,
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: req-1\r\n\
                             Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                             Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:copyflow-verify-test\r\n\
                             Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n\
                             Content-Length: {}\r\n\r\n{body}",
                            body.len()
                        )
                        .unwrap();
                    } else {
                        write!(writer, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                            .unwrap();
                        let _ =
                            done.send((line, serde_json::from_slice(&body).unwrap_or(Value::Null)));
                    }
                }
            });
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_binary_prints_one_emf_line_per_verified_copy() {
    let dir = tempfile::tempdir().unwrap();
    let server = S3Server::start(ServerConfig::new(dir.path()))
        .await
        .unwrap();
    let c = server.config().clone();
    let client = copyflow_core::s3::client_for_endpoint(
        &server.endpoint(),
        &c.access_key,
        &c.secret_key,
        &c.region,
    );
    client.create_bucket().bucket(SRC).send().await.unwrap();
    client.create_bucket().bucket(DST).send().await.unwrap();
    let mut events = server.subscribe();
    client
        .put_object()
        .bucket(SRC)
        .key("AjayMuralidhar/2020-04-06/12/emf.txt")
        .body(ByteStream::from(vec![b'x'; 1234]))
        .send()
        .await
        .unwrap();
    let event = serde_json::to_value(&*events.recv().await.unwrap()).unwrap();

    // validate-key and copy-object in-process (no metrics there), as the local runtime runs them.
    let settings_json = json!({"source": {"bucket": SRC}, "destination": {"bucket": DST}});
    let settings = SettingsDocument::new(SRC, DST)
        .check(SettingsOrigin::Built)
        .unwrap();
    let steps = Steps::new(client.clone(), settings);
    let job = steps.validate_key(&event).unwrap();
    let deadline = steps.deadline_from_epoch_millis(
        u64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap()
            + 600_000,
    );
    let copied = steps.copy_object(job, deadline).await.unwrap();

    let (tx, rx) = mpsc::channel();
    let api = runtime_api(copied, tx);
    let mut child = Command::new(env!("CARGO_BIN_EXE_verify-copy"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "copyflow-verify-test")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "/aws/lambda/copyflow-verify-test",
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_ENDPOINT_URL", server.endpoint())
        .env("AWS_ACCESS_KEY_ID", &c.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &c.secret_key)
        .env("AWS_REGION", &c.region)
        .env("COPYFLOW_SETTINGS", settings_json.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (line, response) =
        tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
            .await
            .unwrap()
            .expect("the function answered its invocation");
    let _ = child.kill();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let _ = child.wait();
    assert!(
        line.contains("/invocation/req-1/response"),
        "{line}: {response}"
    );
    assert_eq!(response["verify"]["status"], "verified", "{response}");

    let emf: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    assert_eq!(emf.len(), 1, "one EMF line in: {stdout}");
    let m = &emf[0];
    let directive = &m["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "Copyflow");
    assert_eq!(
        directive["Dimensions"],
        json!([["FunctionName", "Outcome"], ["FunctionName"]])
    );
    assert_eq!(m["FunctionName"], "copyflow-verify-test");
    assert_eq!(m["Outcome"], "Copied");
    assert_eq!(m["BytesCopied"], 1234);
    assert_eq!(m["Executions"], 1);
    let latency = m["EventToVerifiedLatency"].as_f64().unwrap();
    assert!((0.0..60.0).contains(&latency), "{m}");
    assert!(m["_aws"]["Timestamp"].as_i64().unwrap() > 1_700_000_000_000);
}
