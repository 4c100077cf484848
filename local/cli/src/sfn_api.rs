//! The Step Functions API on loopback (AWS JSON 1.0: `POST /` with
//! `X-Amz-Target: AWSStepFunctions.<Operation>`), the subset that matters locally:
//! ListStateMachines, DescribeStateMachine, DescribeStateMachineForExecution, StartExecution,
//! DescribeExecution, ListExecutions (by state machine or by Map Run), GetExecutionHistory,
//! StopExecution, RedriveExecution, DescribeMapRun, ListMapRuns. `aws stepfunctions --endpoint-url`
//! and aws-sdk-sfn work against it. Requests are not signature-checked: it only listens on
//! loopback and holds nothing secret.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use std::time::Duration;

use copyflow_asl::{ExecutionFilter, ExecutionStatus, RedriveError};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::pipeline::Pipeline;

/// AWS's request size limit for the Step Functions API (the 256 KiB execution input plus the
/// rest of the request fits well within it); larger bodies are refused unread.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// How long a client may take to send its headers, and to send its body.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves the API until the returned task is aborted.
pub async fn serve(
    address: SocketAddr,
    pipeline: Arc<Pipeline>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    serve_with_timeout(address, pipeline, DEFAULT_IDLE_TIMEOUT).await
}

/// [`serve`] with another idle timeout (tests use a short one).
pub async fn serve_with_timeout(
    address: SocketAddr,
    pipeline: Arc<Pipeline>,
    idle: Duration,
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
                let service =
                    hyper::service::service_fn(move |req| handle(req, pipeline.clone(), idle));
                let mut builder =
                    hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                builder
                    .http1()
                    .timer(TokioTimer::new())
                    .header_read_timeout(idle);
                let _ = builder
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

fn too_large() -> http::Response<Full<Bytes>> {
    let body = json!({"__type": "ValidationException", "message": format!("The request body is larger than the limit of {MAX_REQUEST_BYTES} bytes")});
    http::Response::builder()
        .status(413)
        .header("content-type", "application/x-amz-json-1.0")
        .header("connection", "close")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|_| http::Response::new(Full::new(Bytes::new())))
}

fn closing() -> http::Response<Full<Bytes>> {
    http::Response::builder()
        .status(408)
        .header("connection", "close")
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| http::Response::new(Full::new(Bytes::new())))
}

async fn handle(
    req: http::Request<Incoming>,
    pipeline: Arc<Pipeline>,
    idle: Duration,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST_BYTES) {
        return Ok(too_large());
    }
    let body = Limited::new(req.into_body(), MAX_REQUEST_BYTES).collect();
    let body = match tokio::time::timeout(idle, body).await {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => return Ok(too_large()),
        // A client that stops sending mid-body, or a broken body: drop the connection.
        _ => return Ok(closing()),
    };
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
        Some(op) => call(op, &input, &pipeline).await,
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

/// `maxResults`: 1..=1000, default 100 (the API's own bounds).
fn max_results(input: &Value) -> u64 {
    input["maxResults"]
        .as_u64()
        .filter(|m| *m > 0)
        .map_or(100, |m| m.min(1000))
}

/// The `nextToken` of a page: a number (the last sequence number or event id seen).
fn token(input: &Value) -> Result<Option<u64>, ApiError> {
    match input["nextToken"].as_str() {
        None => Ok(None),
        Some(t) => t
            .parse::<u64>()
            .map(Some)
            .map_err(|_| err("InvalidToken", format!("Invalid Token: '{t}'"))),
    }
}

async fn call(op: &str, input: &Value, pipeline: &Pipeline) -> Result<Value, ApiError> {
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
                "definition": pipeline.deployed_definition_of(&m.arn), "roleArn": engine.config().role_arn, "creationDate": epoch(m.creation_date),
            }))
        }
        "DescribeStateMachineForExecution" => {
            let arn = field(input, "executionArn")?;
            let d = engine.describe_execution(arn).ok_or_else(|| {
                err(
                    "ExecutionDoesNotExist",
                    format!("Execution Does Not Exist: '{arn}'"),
                )
            })?;
            let m = engine
                .list_state_machines()
                .into_iter()
                .find(|m| m.arn == d.state_machine_arn)
                .ok_or_else(|| {
                    err(
                        "StateMachineDoesNotExist",
                        format!("State Machine Does Not Exist: '{}'", d.state_machine_arn),
                    )
                })?;
            Ok(json!({
                "stateMachineArn": m.arn, "name": m.name, "definition": pipeline.deployed_definition_of(&m.arn),
                "roleArn": engine.config().role_arn, "updateDate": epoch(m.creation_date),
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
            // StartExecution returns once the execution is recorded, as on AWS.
            engine
                .flush()
                .await
                .map_err(|e| err("InternalFailure", e.to_string()))?;
            Ok(
                json!({"executionArn": started.execution_arn, "startDate": epoch(started.start_date)}),
            )
        }
        "DescribeExecution" => {
            let arn = field(input, "executionArn")?;
            let mut d = executions.describe(arn).ok_or_else(|| {
                err(
                    "ExecutionDoesNotExist",
                    format!("Execution Does Not Exist: '{arn}'"),
                )
            })?;
            if input["includedData"] == "METADATA_ONLY" {
                // AWS's includedData: leave out input and output.
                if let Some(m) = d.as_object_mut() {
                    m.remove("input");
                    m.remove("output");
                    m.insert("inputDetails".into(), json!({"included": false}));
                    if m.contains_key("outputDetails") {
                        m.insert("outputDetails".into(), json!({"included": false}));
                    }
                }
            }
            Ok(d)
        }
        "ListExecutions" => {
            let status = match input["statusFilter"].as_str() {
                None => None,
                Some(s) => Some(ExecutionStatus::parse(s).ok_or_else(|| {
                    err("ValidationException", format!("Value '{s}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]"))
                })?),
            };
            let limit = max_results(input);
            if let Some(map_run) = input["mapRunArn"].as_str() {
                let all = engine
                    .list_map_run_executions(map_run, status)
                    .ok_or_else(|| {
                        err(
                            "ResourceNotFound",
                            format!("Map Run Does Not Exist: '{map_run}'"),
                        )
                    })?;
                let after = token(input)?.unwrap_or(0) as usize;
                let items: Vec<Value> = all
                    .iter()
                    .skip(after)
                    .take(limit as usize)
                    .map(|d| d.list_item())
                    .collect();
                let next = (all.len() > after + limit as usize)
                    .then(|| (after + limit as usize).to_string());
                return Ok(json!({"executions": items, "nextToken": next}));
            }
            let arn = field(input, "stateMachineArn")?;
            let page = executions.page(&ExecutionFilter {
                machine_arn: arn,
                status,
                before_seq: token(input)?,
                limit: limit + 1,
                ..Default::default()
            });
            let more = page.len() as u64 > limit;
            let items: Vec<Value> = page
                .iter()
                .take(limit as usize)
                .map(|e| e.description.list_item())
                .collect();
            let next = more
                .then(|| page.get(limit as usize - 1).map(|e| e.seq.to_string()))
                .flatten();
            Ok(json!({"executions": items, "nextToken": next}))
        }
        "GetExecutionHistory" => {
            let arn = field(input, "executionArn")?;
            let missing = || {
                err(
                    "ExecutionDoesNotExist",
                    format!("Execution Does Not Exist: '{arn}'"),
                )
            };
            let limit = max_results(input);
            let after = token(input)?.unwrap_or(0);
            let (items, next) = if input["reverseOrder"].as_bool() == Some(true) {
                let mut all = executions.history(arn).ok_or_else(missing)?;
                all.reverse();
                let rest: Vec<Value> = all.into_iter().skip(after as usize).collect();
                let more = rest.len() as u64 > limit;
                let items: Vec<Value> = rest.into_iter().take(limit as usize).collect();
                (items, more.then(|| (after + limit).to_string()))
            } else {
                let mut page = engine
                    .history_page(arn, after, limit + 1)
                    .ok_or_else(missing)?;
                let more = page.len() as u64 > limit;
                page.truncate(limit as usize);
                let next = more
                    .then(|| {
                        page.last()
                            .and_then(|e| e["id"].as_u64())
                            .map(|id| id.to_string())
                    })
                    .flatten();
                (page, next)
            };
            let items = if input["includeExecutionData"] == false {
                items.into_iter().map(without_data).collect()
            } else {
                items
            };
            Ok(json!({"events": items, "nextToken": next}))
        }
        "DescribeMapRun" => {
            let arn = field(input, "mapRunArn")?;
            engine
                .describe_map_run(arn)
                .map(|d| d.to_json())
                .ok_or_else(|| {
                    err(
                        "ResourceNotFound",
                        format!("Map Run Does Not Exist: '{arn}'"),
                    )
                })
        }
        "ListMapRuns" => {
            let arn = field(input, "executionArn")?;
            if engine.describe_execution(arn).is_none() {
                return Err(err(
                    "ExecutionDoesNotExist",
                    format!("Execution Does Not Exist: '{arn}'"),
                ));
            }
            let runs: Vec<Value> = engine
                .list_map_runs(arn)
                .iter()
                .map(|r| r.list_item())
                .collect();
            Ok(json!({"mapRuns": runs}))
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
        "RedriveExecution" => {
            let arn = field(input, "executionArn")?;
            let date = engine.redrive(arn).await.map_err(|e| match e {
                RedriveError::ExecutionDoesNotExist(_) => err(
                    "ExecutionDoesNotExist",
                    format!("Execution Does Not Exist: '{arn}'"),
                ),
                RedriveError::ExecutionNotRedrivable(reason) => {
                    err("ExecutionNotRedrivable", reason)
                }
                other => err("InternalFailure", other.to_string()),
            })?;
            // Returns once the redrive is recorded, as StartExecution does.
            engine
                .flush()
                .await
                .map_err(|e| err("InternalFailure", e.to_string()))?;
            Ok(json!({"redriveDate": epoch(date)}))
        }
        other => Err(err(
            "UnknownOperationException",
            format!("{other} is not supported by the local Step Functions API"),
        )),
    }
}

/// A history event with `includeExecutionData: false`: the input, output, parameters and
/// result of its details (and their truncation details) left out.
fn without_data(mut event: Value) -> Value {
    if let Some(m) = event.as_object_mut() {
        for (key, details) in m.iter_mut() {
            if !key.ends_with("EventDetails") {
                continue;
            }
            let Some(d) = details.as_object_mut() else {
                continue;
            };
            for field in ["input", "output", "parameters", "result"] {
                d.remove(field);
                d.remove(&format!("{field}Details"));
            }
        }
    }
    event
}

fn epoch(t: time::OffsetDateTime) -> f64 {
    t.unix_timestamp_nanos() as f64 / 1e9
}
