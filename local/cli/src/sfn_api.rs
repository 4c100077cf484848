//! The Step Functions API on loopback (AWS JSON 1.0: `POST /` with
//! `X-Amz-Target: AWSStepFunctions.<Operation>`), the subset that matters locally:
//! ListStateMachines, DescribeStateMachine, StartExecution, DescribeExecution,
//! ListExecutions, GetExecutionHistory, StopExecution. `aws stepfunctions --endpoint-url`
//! and aws-sdk-sfn work against it. Requests are not signature-checked: it only listens on
//! loopback and holds nothing secret.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::pipeline::Pipeline;

/// Serves the API until the returned task is aborted.
pub async fn serve(
    address: SocketAddr,
    pipeline: Arc<Pipeline>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(address).await?;
    let local = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let pipeline = pipeline.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| handle(req, pipeline.clone()));
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((local, task))
}

struct ApiError {
    kind: &'static str,
    message: String,
}

fn err(kind: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        kind,
        message: message.into(),
    }
}

async fn handle(
    req: http::Request<Incoming>,
    pipeline: Arc<Pipeline>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let input: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let result = match target.strip_prefix("AWSStepFunctions.") {
        _ if input.is_null() => Err(err(
            "SerializationException",
            "the request body is not JSON",
        )),
        Some(op) => call(op, &input, &pipeline),
        None => Err(err(
            "UnknownOperationException",
            format!("unsupported target {target:?}"),
        )),
    };
    let (status, body) = match result {
        Ok(v) => (200, v),
        Err(e) => (400, json!({"__type": e.kind, "message": e.message})),
    };
    let response = http::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-requestid", format!("{:032x}", fastrand::u128(..)))
        .body(Full::new(Bytes::from(body.to_string())));
    Ok(response.unwrap_or_else(|_| http::Response::new(Full::new(Bytes::new()))))
}

fn field<'a>(input: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    input[name]
        .as_str()
        .ok_or_else(|| err("InvalidParameterValue", format!("{name} is required")))
}

/// Pages a list with `maxResults` / `nextToken` (the token is the offset).
fn page(items: Vec<Value>, input: &Value) -> (Vec<Value>, Option<String>) {
    let start = input["nextToken"]
        .as_str()
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    let max = input["maxResults"]
        .as_u64()
        .filter(|m| *m > 0)
        .map_or(100, |m| usize::try_from(m).unwrap_or(100));
    let end = (start + max).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    (items.into_iter().skip(start).take(max).collect(), next)
}

fn call(op: &str, input: &Value, pipeline: &Pipeline) -> Result<Value, ApiError> {
    let executions = pipeline.executions();
    let engine = executions.engine();
    match op {
        "ListStateMachines" => {
            let machines: Vec<Value> = engine
                .list_state_machines()
                .iter()
                .map(|m| json!({"stateMachineArn": m.arn, "name": m.name, "type": "STANDARD", "creationDate": epoch(m.creation_date)}))
                .collect();
            Ok(json!({"stateMachines": machines}))
        }
        "DescribeStateMachine" => {
            let arn = field(input, "stateMachineArn")?;
            let m = engine
                .list_state_machines()
                .into_iter()
                .find(|m| m.arn == arn)
                .ok_or_else(|| {
                    err(
                        "StateMachineDoesNotExist",
                        format!("State Machine Does Not Exist: '{arn}'"),
                    )
                })?;
            Ok(json!({
                "stateMachineArn": m.arn, "name": m.name, "status": "ACTIVE", "type": "STANDARD",
                "definition": pipeline.definition(), "roleArn": engine.config().role_arn, "creationDate": epoch(m.creation_date),
            }))
        }
        "StartExecution" => {
            let arn = field(input, "stateMachineArn")?;
            let body = input["input"].as_str().unwrap_or("{}");
            let started = pipeline
                .start_execution(arn, input["name"].as_str(), body)
                .map_err(|e| {
                    let text = e.to_string();
                    let kind = match e {
                        copyflow_asl::StartError::StateMachineDoesNotExist(_) => {
                            "StateMachineDoesNotExist"
                        }
                        copyflow_asl::StartError::InvalidName(_) => "InvalidName",
                        copyflow_asl::StartError::ExecutionAlreadyExists(_) => {
                            "ExecutionAlreadyExists"
                        }
                        copyflow_asl::StartError::InvalidExecutionInput(_) => {
                            "InvalidExecutionInput"
                        }
                        _ => "InternalFailure",
                    };
                    err(kind, text)
                })?;
            Ok(
                json!({"executionArn": started.execution_arn, "startDate": epoch(started.start_date)}),
            )
        }
        "DescribeExecution" => {
            let arn = field(input, "executionArn")?;
            executions.describe(arn).ok_or_else(|| {
                err(
                    "ExecutionDoesNotExist",
                    format!("Execution Does Not Exist: '{arn}'"),
                )
            })
        }
        "ListExecutions" => {
            let arn = field(input, "stateMachineArn")?;
            let (items, next) = page(executions.list(arn, input["statusFilter"].as_str()), input);
            Ok(json!({"executions": items, "nextToken": next}))
        }
        "GetExecutionHistory" => {
            let arn = field(input, "executionArn")?;
            let mut events = executions.history(arn).ok_or_else(|| {
                err(
                    "ExecutionDoesNotExist",
                    format!("Execution Does Not Exist: '{arn}'"),
                )
            })?;
            if input["reverseOrder"].as_bool() == Some(true) {
                events.reverse();
            }
            let (items, next) = page(events, input);
            Ok(json!({"events": items, "nextToken": next}))
        }
        "StopExecution" => {
            let arn = field(input, "executionArn")?;
            if !engine.stop_execution(arn, input["error"].as_str(), input["cause"].as_str()) {
                return Err(err(
                    "ExecutionDoesNotExist",
                    format!("Execution Does Not Exist or is not running: '{arn}'"),
                ));
            }
            Ok(json!({"stopDate": epoch(time::OffsetDateTime::now_utc())}))
        }
        other => Err(err(
            "UnknownOperationException",
            format!("{other} is not supported by the local Step Functions API"),
        )),
    }
}

fn epoch(t: time::OffsetDateTime) -> f64 {
    t.unix_timestamp_nanos() as f64 / 1e9
}
