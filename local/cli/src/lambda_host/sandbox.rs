//! One execution environment: a Runtime API listener on loopback and the function's
//! `bootstrap` process polling it, as a Lambda sandbox is one runtime process with its own
//! API endpoint (`AWS_LAMBDA_RUNTIME_API`). A sandbox runs one invocation at a time; it is
//! discarded, and its process killed, when the process exits, the invocation times out, or
//! the sandbox is dropped.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use copyflow_asl::LambdaError;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

use super::protocol::{self, InvocationHeaders, Route};

/// How often a sandbox looks whether its process has exited.
const EXIT_POLL: Duration = Duration::from_millis(25);

/// What is needed to start a sandbox of a function.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    /// The `bootstrap` binary.
    pub(crate) binary: PathBuf,
    /// Its whole environment, except `AWS_LAMBDA_RUNTIME_API` (added per sandbox).
    pub(crate) env: Vec<(String, String)>,
    /// Where its stdout and stderr go (appended), or nowhere.
    pub(crate) log: Option<PathBuf>,
}

/// One event for the runtime, and where its outcome goes.
struct Invocation {
    headers: InvocationHeaders,
    body: Bytes,
    outcome: oneshot::Sender<Result<Value, LambdaError>>,
}

impl std::fmt::Debug for Invocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invocation")
            .field("request_id", &self.headers.request_id)
            .finish_non_exhaustive()
    }
}

/// What the Runtime API server of a sandbox shares with the sandbox.
#[derive(Debug)]
struct Shared {
    /// Events waiting for `invocation/next` (at most one: a sandbox runs one at a time).
    queue: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    /// Invocations handed to the runtime, by request id, waiting for its answer.
    in_flight: Mutex<HashMap<String, oneshot::Sender<Result<Value, LambdaError>>>>,
    /// What the runtime posted to `init/error`, if it did.
    init_error: Mutex<Option<LambdaError>>,
    /// When the runtime first asked for an event (the end of its cold start).
    first_next: watch::Sender<Option<Instant>>,
}

/// A running sandbox.
#[derive(Debug)]
pub(crate) struct Sandbox {
    events: mpsc::Sender<Invocation>,
    shared: Arc<Shared>,
    child: Arc<Mutex<Child>>,
    exited: watch::Receiver<Option<ExitStatus>>,
    server: tokio::task::JoinHandle<()>,
    spawned: Instant,
}

impl Sandbox {
    /// Starts the Runtime API listener and the process (a cold start).
    pub(crate) async fn start(launch: &Launch) -> Result<Sandbox, LambdaError> {
        let binary = launch.binary.display().to_string();
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| protocol::spawn_error(&binary, &e.to_string()))?;
        let address = listener
            .local_addr()
            .map_err(|e| protocol::spawn_error(&binary, &e.to_string()))?;
        let (events, queue) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(queue),
            in_flight: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
            first_next: watch::channel(None).0,
        });
        let server = tokio::spawn(serve(listener, shared.clone()));
        let (stdout, stderr) = match &launch.log {
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| protocol::spawn_error(&binary, &e.to_string()));
                let file = match file {
                    Ok(f) => f,
                    Err(e) => {
                        server.abort();
                        return Err(e);
                    }
                };
                let copy = file
                    .try_clone()
                    .map_err(|e| protocol::spawn_error(&binary, &e.to_string()));
                match copy {
                    Ok(copy) => (Stdio::from(file), Stdio::from(copy)),
                    Err(e) => {
                        server.abort();
                        return Err(e);
                    }
                }
            }
            None => (Stdio::null(), Stdio::null()),
        };
        let spawned = Instant::now();
        let child = Command::new(&launch.binary)
            .env_clear()
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn();
        let child = match child {
            Ok(c) => Arc::new(Mutex::new(c)),
            Err(e) => {
                server.abort();
                return Err(protocol::spawn_error(&binary, &e.to_string()));
            }
        };
        let (exit_tx, exited) = watch::channel(None);
        tokio::spawn(watch_exit(child.clone(), exit_tx));
        Ok(Sandbox {
            events,
            shared,
            child,
            exited,
            server,
            spawned,
        })
    }

    /// True while the process runs.
    pub(crate) fn alive(&self) -> bool {
        self.exited.borrow().is_none()
    }

    /// Time from exec to the first `invocation/next`, once the runtime has asked.
    pub(crate) async fn cold_start(&self) -> Option<Duration> {
        let mut first = self.shared.first_next.subscribe();
        let mut exited = self.exited.clone();
        loop {
            if let Some(at) = *first.borrow_and_update() {
                return Some(at.duration_since(self.spawned));
            }
            tokio::select! {
                r = first.changed() => if r.is_err() { return None },
                _ = exited.wait_for(Option::is_some) => return None,
            }
        }
    }

    /// Runs one invocation. `Err((error, reusable))`: the function failed; the sandbox may be
    /// used again only when it answered the error itself.
    pub(crate) async fn invoke(
        &self,
        headers: InvocationHeaders,
        body: Bytes,
        timeout: Duration,
    ) -> (Result<Value, LambdaError>, bool) {
        let request_id = headers.request_id.clone();
        let (outcome_tx, outcome) = oneshot::channel();
        let sent = self
            .events
            .send(Invocation {
                headers,
                body,
                outcome: outcome_tx,
            })
            .await;
        if sent.is_err() {
            return (Err(self.exit_error(&request_id)), false);
        }
        let mut exited = self.exited.clone();
        let mut outcome = outcome;
        tokio::select! {
            r = &mut outcome => match r {
                Ok(result) => (result, true),
                Err(_) => (Err(self.exit_error(&request_id)), false),
            },
            _ = exited.wait_for(Option::is_some) => {
                // An answer posted just before the exit still counts.
                match outcome.try_recv() {
                    Ok(result) => (result, false),
                    Err(_) => (Err(self.exit_error(&request_id)), false),
                }
            }
            () = tokio::time::sleep(timeout) => {
                self.kill();
                (Err(protocol::timeout_error(&request_id, timeout)), false)
            }
        }
    }

    /// The error of an invocation whose process ended: what the runtime posted to
    /// `init/error`, else `Runtime.ExitError` with the exit status.
    fn exit_error(&self, request_id: &str) -> LambdaError {
        if let Some(e) = self
            .shared
            .init_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return e;
        }
        let status = self
            .exited
            .borrow()
            .map_or_else(|| "the runtime stopped answering".to_owned(), describe);
        protocol::exit_error(request_id, &status)
    }

    /// Kills the process (idempotent).
    pub(crate) fn kill(&self) {
        let mut child = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.kill();
        self.server.abort();
    }
}

/// `exit status 1` or `signal: killed`, as Lambda (whose init is written in Go) words it.
fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return match signal {
                6 => "signal: aborted".to_owned(),
                9 => "signal: killed".to_owned(),
                11 => "signal: segmentation fault".to_owned(),
                15 => "signal: terminated".to_owned(),
                n => format!("signal: {n}"),
            };
        }
    }
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => status.to_string(),
    }
}

/// Reports the process's exit on `exit`; stops once it has exited.
async fn watch_exit(child: Arc<Mutex<Child>>, exit: watch::Sender<Option<ExitStatus>>) {
    loop {
        let status = child
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .try_wait();
        match status {
            Ok(Some(status)) => {
                let _ = exit.send(Some(status));
                return;
            }
            Ok(None) => tokio::time::sleep(EXIT_POLL).await,
            Err(_) => return,
        }
    }
}

/// The Runtime API of one sandbox, until aborted.
async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(req, shared.clone()));
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .http1_only()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

type Response = http::Response<Full<Bytes>>;

fn status(code: u16, message: &str) -> Response {
    let body = serde_json::json!({"errorMessage": message, "errorType": "InvalidRequest"});
    let mut r = http::Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::BAD_REQUEST);
    r
}

fn accepted() -> Response {
    let mut r = http::Response::new(Full::new(Bytes::from_static(br#"{"status":"OK"}"#)));
    *r.status_mut() = http::StatusCode::ACCEPTED;
    r
}

async fn handle(req: http::Request<Incoming>, shared: Arc<Shared>) -> Result<Response, Infallible> {
    let route = protocol::route(req.method().as_str(), req.uri().path());
    let error_type = req
        .headers()
        .get(protocol::FUNCTION_ERROR_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok(match route {
        Route::Next => next(&shared).await,
        Route::Response(id) => {
            let body = match read_body(req).await {
                Ok(b) => b,
                Err(size) => {
                    finish(&shared, &id, Err(protocol::too_large_error(size)));
                    return Ok(status(413, "response too large"));
                }
            };
            if finish(&shared, &id, Ok(protocol::response_payload(&body))) {
                accepted()
            } else {
                status(400, "unknown or finished invocation")
            }
        }
        Route::Error(id) => {
            let body = read_body(req).await.unwrap_or_default();
            let error = protocol::posted_error(&body, error_type.as_deref());
            if finish(&shared, &id, Err(error)) {
                accepted()
            } else {
                status(400, "unknown or finished invocation")
            }
        }
        Route::InitError => {
            let body = read_body(req).await.unwrap_or_default();
            let error = protocol::posted_error(&body, error_type.as_deref());
            *shared
                .init_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(error);
            accepted()
        }
        Route::Unknown => status(404, "not a Runtime API route"),
    })
}

/// `invocation/next`: waits for the next event (long poll, as Lambda does).
async fn next(shared: &Shared) -> Response {
    shared.first_next.send_if_modified(|first| {
        if first.is_none() {
            *first = Some(Instant::now());
            true
        } else {
            false
        }
    });
    let invocation = shared.queue.lock().await.recv().await;
    let Some(invocation) = invocation else {
        return status(500, "the sandbox is shutting down");
    };
    shared
        .in_flight
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(invocation.headers.request_id.clone(), invocation.outcome);
    let mut r = http::Response::new(Full::new(invocation.body));
    for (name, value) in invocation.headers.pairs() {
        if let Ok(v) = http::HeaderValue::from_str(&value) {
            r.headers_mut().insert(name, v);
        }
    }
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

/// Completes the invocation `id`; false if it is not in flight.
fn finish(shared: &Shared, id: &str, result: Result<Value, LambdaError>) -> bool {
    let outcome = shared
        .in_flight
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(id);
    match outcome {
        Some(tx) => {
            let _ = tx.send(result);
            true
        }
        None => false,
    }
}

/// The body, or its size when it is over Lambda's response limit.
async fn read_body(req: http::Request<Incoming>) -> Result<Bytes, usize> {
    match Limited::new(req.into_body(), protocol::MAX_RESPONSE_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(_) => Err(protocol::MAX_RESPONSE_BYTES + 1),
    }
}
