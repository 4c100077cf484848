//! The console's HTTP API over a real pipeline (embedded S3, the engine with its execution
//! store): once through the local execution index and once through the Step Functions API
//! with aws-sdk-sfn (the `--aws` code path, pointed at the local API). Both must answer the
//! same rows, filters and pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use copyflow::console::{self, source::aws::AwsSource, source::local::LocalSource};
use copyflow::pipeline::{Pipeline, PipelineOptions, S3Target};
use copyflow_core::{SettingsDocument, SettingsOrigin};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SRC: &str = "copyflow-source";
const KEYS: [&str; 4] = [
    "AjayMuralidhar/2020-04-06/12/a.txt",
    "AjayMuralidhar/2020-04-06/13/b.txt",
    "no-hierarchy.txt",
    "Mallory/2020-04-06/12/<img src=x onerror=alert(1)>.txt",
];

/// One HTTP/1.1 request; returns the status and the body as JSON (or as a string).
async fn request(address: SocketAddr, method: &str, path: &str, headers: &str) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: 0\r\n{headers}\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw);
    let status: u16 = text[9..12].parse().unwrap();
    let (_, body) = text.split_once("\r\n\r\n").unwrap();
    let body = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()));
    (status, body)
}

async fn get(address: SocketAddr, path: &str) -> Value {
    let (status, body) = request(address, "GET", path, "").await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn keys_and_outcomes(page: &Value) -> Vec<(String, String)> {
    page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// Query-string encoding of an ARN or token.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sources_answer_the_same_rows_filters_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let (pipeline, mut started) = Pipeline::start(PipelineOptions {
        settings: SettingsDocument::new(SRC, "copyflow-destination")
            .check(SettingsOrigin::Built)
            .unwrap(),
        s3: S3Target::Embedded {
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.path().join("s3"),
        },
        executions_dir: Some(dir.path().join("executions")),
        max_running: copyflow::pipeline::DEFAULT_MAX_RUNNING,
        lambda_binaries: None,
        server_runtime: None,
    })
    .await
    .unwrap();
    for key in KEYS {
        pipeline
            .s3()
            .put_object()
            .bucket(SRC)
            .key(key)
            .body(ByteStream::from_static(b"twelve bytes"))
            .send()
            .await
            .unwrap();
        let s = tokio::time::timeout(Duration::from_secs(10), started.recv())
            .await
            .unwrap()
            .unwrap();
        pipeline
            .executions()
            .engine()
            .wait_for(&s.execution_arn)
            .await
            .unwrap();
    }
    pipeline.executions().engine().flush().await.unwrap();

    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let poll = Duration::from_millis(100);
    let local = Arc::new(LocalSource::new(pipeline.clone(), 8 << 20));
    let (local_console, _l) = console::serve(loopback, local, poll).await.unwrap();
    let (sfn, _api) = copyflow::sfn_api::serve(loopback, pipeline.clone())
        .await
        .unwrap();
    let sfn_client = aws_sdk_sfn::Client::from_conf(
        aws_sdk_sfn::Config::builder()
            .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
            .http_client(copyflow_core::s3::https_client())
            .region(aws_sdk_sfn::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sfn::config::Credentials::new(
                "k", "s", None, None, "test",
            ))
            .endpoint_url(format!("http://{sfn}"))
            .build(),
    );
    let through_api = Arc::new(AwsSource::new(
        sfn_client,
        pipeline.s3().clone(),
        pipeline.machine_arn().to_owned(),
    ));
    let (api_console, _a) = console::serve(loopback, through_api, poll).await.unwrap();

    for console in [local_console, api_console] {
        let all = get(console, "/api/executions").await;
        let want: Vec<(String, String)> = KEYS
            .iter()
            .rev()
            .map(|k| {
                let outcome = if *k == "no-hierarchy.txt" {
                    "KeyRejected"
                } else {
                    "Copied"
                };
                ((*k).to_owned(), outcome.to_owned())
            })
            .collect();
        assert_eq!(keys_and_outcomes(&all), want, "newest first, via {console}");
        assert_eq!(all["rows"][0]["size"], 12);

        let rejected = get(console, "/api/executions?outcome=KeyRejected").await;
        assert_eq!(keys_and_outcomes(&rejected), [want[1].clone()]);

        // The figures of `copyflow stats`, from the same executions.
        let stats = get(console, "/api/stats").await;
        assert_eq!(stats["executions"], 4, "{stats}");
        assert_eq!(stats["byOutcome"]["Copied"], 3, "{stats}");
        assert_eq!(stats["byOutcome"]["KeyRejected"], 1, "{stats}");
        assert_eq!(stats["failuresByError"]["KeyRejected"], 1, "{stats}");
        assert_eq!(stats["bytesCopied"], 36, "{stats}");
        assert_eq!(stats["latency"]["count"], 3, "{stats}");
        let since = get(console, "/api/stats?sinceSeconds=3600&limit=2").await;
        assert_eq!(since["executions"], 2, "{since}");
        let by_prefix = get(console, "/api/executions?keyPrefix=AjayMuralidhar%2F").await;
        assert_eq!(keys_and_outcomes(&by_prefix).len(), 2);
        let by_substring = get(console, "/api/executions?keyContains=%3Cimg").await;
        assert_eq!(keys_and_outcomes(&by_substring), [want[0].clone()]);
        let failed = get(console, "/api/executions?status=FAILED").await;
        assert_eq!(keys_and_outcomes(&failed), [want[1].clone()]);

        // Paging, one row a page, through every execution.
        let (mut seen, mut next) = (Vec::new(), None::<String>);
        loop {
            let path = match &next {
                None => "/api/executions?limit=1".to_owned(),
                Some(t) => format!("/api/executions?limit=1&next={}", encode(t)),
            };
            let page = get(console, &path).await;
            seen.extend(keys_and_outcomes(&page));
            next = page["next"].as_str().map(str::to_owned);
            if next.is_none() {
                break;
            }
        }
        assert_eq!(seen, want);

        // One execution: its path, states, events and copy card.
        let arn = all["rows"][1]["arn"].as_str().unwrap().to_owned();
        let rejected = get(console, &format!("/api/execution?arn={}", encode(&arn))).await;
        assert_eq!(
            rejected["path"],
            serde_json::json!(["ValidateKey", "KeyRejected"])
        );
        assert_eq!(rejected["states"][0]["status"], "caught");
        assert!(rejected["card"].is_null());
        let arn = all["rows"][0]["arn"].as_str().unwrap().to_owned();
        let copied = get(console, &format!("/api/execution?arn={}", encode(&arn))).await;
        assert_eq!(copied["card"]["method"], "copy-object");
        assert_eq!(copied["card"]["bytes"], 12);
        assert_eq!(
            copied["card"]["source"]["checksum"],
            copied["card"]["destination"]["checksum"]
        );
        assert_eq!(copied["events"].as_array().unwrap().len(), 25);
        let progress = get(console, &format!("/api/progress?arn={}", encode(&arn))).await;
        assert!(progress["progress"].is_null(), "nothing in flight");

        // Refusals with the API's names.
        let (status, body) = request(console, "GET", "/api/execution?arn=nope", "").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("ExecutionDoesNotExist"))
        );
        let (status, body) = request(console, "POST", "/api/redrive?arn=x", "").await;
        assert_eq!((status, body["code"].as_str()), (403, Some("Forbidden")));
        let (status, body) = request(
            console,
            "POST",
            &format!("/api/redrive?arn={}", encode(&arn)),
            "X-Copyflow-Console: 1\r\n",
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("ExecutionNotRedrivable")),
            "{body}"
        );
        let (status, page) = request(console, "GET", "/", "").await;
        assert_eq!(status, 200);
        assert!(page.as_str().unwrap().contains("<script src=\"/app.js\">"));
    }
    pipeline.shutdown().await;
}

/// A fake source for what no local run can produce: an Express state machine (the local
/// engine runs Standard ones). Everything but `machine` is unreachable by design.
#[derive(Debug)]
struct ExpressMachine(aws_sdk_s3::Client);

#[async_trait::async_trait]
impl console::Source for ExpressMachine {
    async fn machine(&self) -> Result<console::source::Machine, console::source::SourceError> {
        Ok(console::source::Machine {
            arn: "arn:aws:states:us-east-1:000000000000:stateMachine:express".into(),
            name: "express".into(),
            kind: "EXPRESS".into(),
            definition: copyflow::pipeline::DEFINITION.into(),
            origin: "aws",
        })
    }
    async fn list(
        &self,
        _: &console::source::ListQuery,
    ) -> Result<console::source::Page, console::source::SourceError> {
        panic!("an Express machine is never listed")
    }
    async fn describe(
        &self,
        _: &str,
    ) -> Result<Option<console::source::Described>, console::source::SourceError> {
        Ok(None)
    }
    async fn history(&self, _: &str) -> Result<Vec<Value>, console::source::SourceError> {
        Ok(Vec::new())
    }
    async fn redrive(&self, _: &str) -> Result<(), console::source::SourceError> {
        Ok(())
    }
    async fn start(&self, _: &str, _: &str) -> Result<String, console::source::SourceError> {
        Ok(String::new())
    }
    fn s3(&self) -> &aws_sdk_s3::Client {
        &self.0
    }
    fn part_size_hint(&self) -> Option<u64> {
        None
    }
}

#[tokio::test]
async fn an_express_machine_is_explained_not_shown_empty() {
    let s3 = copyflow_core::s3::client_for_endpoint("http://127.0.0.1:9", "k", "s", "us-east-1");
    let (address, _task) = console::serve(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Arc::new(ExpressMachine(s3)),
        Duration::from_secs(1),
    )
    .await
    .unwrap();
    let machine = get(address, "/api/machine").await;
    assert_eq!(machine["kind"], "EXPRESS");
    assert!(
        machine["note"]
            .as_str()
            .unwrap()
            .contains("keeps no execution history"),
        "{machine}"
    );
    let (status, body) = request(address, "GET", "/api/executions", "").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("ExpressHasNoHistory"))
    );
}
