//! Runs the S3 service on a loopback socket: SigV4 auth with configured keys, one hyper
//! connection task per client, s3s's access hook ([`crate::routed`]: the operation's name,
//! and fault injection with the `faults` feature), and a request id plus the peer address
//! handed to the service (S3 events carry both).

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::clock::Clock;
use crate::event::{EventBus, EventFactory, KeyEncoding, ObjectCreatedEvent};
#[cfg(feature = "faults")]
use crate::faults::FaultInjector;
use crate::iam::{Iam, Identity};
use crate::idle::{self, IdleBody};
use crate::outbox::Outbox;
use crate::routed::{RouteHook, Routed};
use crate::service::{RequestInfo, Service};
use crate::store::Store;

/// How to run the server. `ServerConfig::new(dir)` gives loopback on an ephemeral port and
/// the local default credentials.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where it listens (port 0: an ephemeral port, see [`S3Server::local_addr`]).
    pub address: SocketAddr,
    /// Where objects, keys and the event outbox are kept.
    pub data_dir: PathBuf,
    /// The one access key id clients sign with.
    pub access_key: String,
    /// Its secret key.
    pub secret_key: String,
    /// The Region requests are signed for and events name.
    pub region: String,
    /// Reported as the bucket owner (`account`) and `requester` in events.
    pub account_id: String,
    /// How `detail.object.key` is written in events (see [`KeyEncoding`]).
    pub key_encoding: KeyEncoding,
    /// Record every `Object Created` event in the durable outbox (`events.sqlite3` in the
    /// data dir) as part of the commit; see [`crate::outbox`]. Off: live bus only.
    pub durable_events: bool,
    /// How often lifecycle rules (AbortIncompleteMultipartUpload) are applied; also once at
    /// startup.
    pub lifecycle_sweep_interval: Duration,
    /// "Now" for lifecycle sweeps and upload initiation times.
    pub clock: Clock,
    /// A client that sends nothing for this long (no first byte, stalled headers, an idle
    /// keep-alive connection, or a request body that stops mid-way) is disconnected.
    pub idle_timeout: Duration,
    /// More access keys, each bound to IAM policies that the server enforces ([`crate::iam`]).
    /// `access_key` itself is bound to none: it has full access.
    pub identities: Vec<Identity>,
    /// Whether a bucket whose notification configuration was never set sends `Object
    /// Created` events (true: every bucket does, handy for a standalone local S3). False is
    /// AWS's rule: only a bucket with `EventBridgeConfiguration` set sends them.
    pub events_by_default: bool,
}

/// The access key id of `copyflow up` and [`ServerConfig::new`].
pub const DEFAULT_ACCESS_KEY: &str = "copyflow";
/// The secret key of `copyflow up` and [`ServerConfig::new`].
pub const DEFAULT_SECRET_KEY: &str = "copyflow-secret";
/// Not a real AWS account: the conventional all-zero id of local emulators.
pub const LOCAL_ACCOUNT_ID: &str = "000000000000";

impl ServerConfig {
    /// Loopback on an ephemeral port, the default credentials, durable events, data in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig {
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.into(),
            access_key: DEFAULT_ACCESS_KEY.to_owned(),
            secret_key: DEFAULT_SECRET_KEY.to_owned(),
            region: "us-east-1".to_owned(),
            account_id: LOCAL_ACCOUNT_ID.to_owned(),
            key_encoding: KeyEncoding::default(),
            durable_events: true,
            lifecycle_sweep_interval: Duration::from_secs(60),
            clock: Clock::system(),
            idle_timeout: Duration::from_secs(30),
            identities: Vec::new(),
            events_by_default: true,
        }
    }
}

/// A running server. Dropping it without [`S3Server::shutdown`] leaves the accept loop
/// running until the runtime stops.
pub struct S3Server {
    config: ServerConfig,
    local_addr: SocketAddr,
    events: Arc<EventBus>,
    #[cfg(feature = "faults")]
    faults: Arc<FaultInjector>,
    store: Arc<Store>,
    outbox: Option<Arc<Outbox>>,
    stop: watch::Sender<bool>,
    accept_loop: tokio::task::JoinHandle<()>,
    /// What a second listener needs: the service and the stop signal.
    s3: Arc<S3Service>,
    stopped: watch::Receiver<bool>,
    /// The accept loops of [`S3Server::listen_also`].
    more_loops: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for S3Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Server")
            .field("local_addr", &self.local_addr)
            .field("data_dir", &self.config.data_dir)
            .finish_non_exhaustive()
    }
}

impl S3Server {
    /// Opens the store in `config.data_dir` and starts serving on `config.address`.
    pub async fn start(config: ServerConfig) -> io::Result<S3Server> {
        let dir = config.data_dir.clone();
        let store = Arc::new(
            tokio::task::spawn_blocking(move || Store::open(&dir))
                .await
                .map_err(io::Error::other)??,
        );
        let outbox = match config.durable_events {
            true => Some(Arc::new(open_outbox(&config, &store).await?)),
            false => None,
        };
        let events = Arc::new(EventBus::new());
        let factory = Arc::new(EventFactory::new(
            &config.account_id,
            &config.region,
            &config.account_id,
            config.key_encoding,
        ));
        #[cfg(feature = "faults")]
        let faults = Arc::new(FaultInjector::new());
        let mut builder = S3ServiceBuilder::new(Service::new(
            store.clone(),
            events.clone(),
            factory,
            outbox.clone(),
            config.clock.clone(),
            config.events_by_default,
        ));
        let mut auth =
            SimpleAuth::from_single(config.access_key.clone(), config.secret_key.clone());
        for identity in &config.identities {
            auth.register(
                identity.access_key.clone(),
                identity.secret_key.as_str().into(),
            );
        }
        builder.set_auth(auth);
        let iam = Arc::new(Iam::new(&config.account_id, &config.identities));
        #[cfg(feature = "faults")]
        builder.set_access(RouteHook::new(iam, faults.clone()));
        #[cfg(not(feature = "faults"))]
        builder.set_access(RouteHook::new(iam));
        let s3 = Arc::new(builder.build());

        let listener = TcpListener::bind(config.address).await?;
        let local_addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let accept_loop = tokio::spawn(accept(
            listener,
            s3.clone(),
            config.idle_timeout,
            stopped.clone(),
        ));
        tokio::spawn(sweep_lifecycle(
            store.clone(),
            config.clock.clone(),
            config.lifecycle_sweep_interval,
            stopped.clone(),
        ));
        tracing::info!(endpoint = %format!("http://{local_addr}"), "copyflow-s3 listening");
        Ok(S3Server {
            config,
            local_addr,
            events,
            #[cfg(feature = "faults")]
            faults,
            store,
            outbox,
            stop,
            accept_loop,
            s3,
            stopped,
            more_loops: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Serves the same buckets on `address` as well, accepting and handling its connections
    /// on the runtime this is called from, and returns the address it listens on. `copyflow
    /// up` gives the pipeline's own requests such a listener on its lower-priority threads,
    /// so that the application's requests, on the main listener, are answered first.
    pub async fn listen_also(&self, address: SocketAddr) -> io::Result<SocketAddr> {
        let listener = TcpListener::bind(address).await?;
        let local = listener.local_addr()?;
        let accept_loop = tokio::spawn(accept(
            listener,
            self.s3.clone(),
            self.config.idle_timeout,
            self.stopped.clone(),
        ));
        self.more_loops
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(accept_loop);
        Ok(local)
    }

    /// `http://127.0.0.1:PORT`, for `endpoint_url` / `--endpoint-url`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The address it listens on (the real port when the config asked for 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What it was started with.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Every `Object Created` event from now on.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<Arc<ObjectCreatedEvent>> {
        self.events.subscribe()
    }

    /// The durable event outbox; `None` when `durable_events` is off.
    pub fn outbox(&self) -> Option<Arc<Outbox>> {
        self.outbox.clone()
    }

    /// Applies the buckets' lifecycle rules now (as the periodic sweep does) and returns how
    /// many incomplete multipart uploads it aborted.
    pub async fn sweep_lifecycle_now(&self) -> usize {
        crate::lifecycle::sweep(&self.store, self.config.clock.now()).await
    }

    /// Switch faults on or off for the requests that follow.
    #[cfg(feature = "faults")]
    pub fn faults(&self) -> &FaultInjector {
        &self.faults
    }

    /// TEST-ONLY FAKE: stores an object of `size` zero bytes backed by a sparse file, without
    /// writing them. It exists only to reach S3's size limits (the 5 GiB CopyObject source
    /// limit) in tests, which a real upload of that size would make impractically slow.
    /// The object has no stored checksum and is not announced by an event.
    #[doc(hidden)]
    pub async fn insert_sparse_object_for_tests(
        &self,
        bucket: &str,
        key: &str,
        size: u64,
    ) -> io::Result<()> {
        self.store.insert_sparse_object(bucket, key, size).await
    }

    /// Stops accepting and closes open connections.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.accept_loop.await;
        let more = std::mem::take(
            &mut *self
                .more_loops
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for accept_loop in more {
            let _ = accept_loop.await;
        }
    }
}

/// Opens the outbox and drops the events of objects that were never committed (a crash
/// between the outbox insert and the key record), logging how many.
async fn open_outbox(config: &ServerConfig, store: &Arc<Store>) -> io::Result<Outbox> {
    let dir = config.data_dir.clone();
    let encoding = config.key_encoding;
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let outbox = Outbox::open(&dir)?;
        let dropped = outbox.recover(encoding, |a| {
            store.holds(&a.bucket, &a.key, a.version_id.as_deref(), &a.etag, a.size)
        })?;
        let pending = outbox.pending()?;
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "dropped outbox events of objects that were never committed"
            );
        }
        tracing::info!(pending, dropped, "event outbox open");
        Ok(outbox)
    })
    .await
    .map_err(io::Error::other)?
}

/// Applies lifecycle rules at startup and then every `interval`, until the server stops.
async fn sweep_lifecycle(
    store: Arc<Store>,
    clock: Clock,
    interval: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(10)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                let aborted = crate::lifecycle::sweep(&store, clock.now()).await;
                if aborted > 0 {
                    tracing::info!(aborted, "lifecycle sweep aborted incomplete multipart uploads");
                }
            }
            _ = stopped.changed() => return,
        }
    }
}

async fn accept(
    listener: TcpListener,
    s3: Arc<S3Service>,
    idle: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(ok) => ok,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = stopped.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let s3 = s3.clone();
        let mut stop = stopped.clone();
        tokio::spawn(async move {
            if !idle::first_byte(&stream, idle).await {
                return; // sent nothing within the idle timeout (or closed)
            }
            let service =
                hyper::service::service_fn(move |req| handle(req, peer, s3.clone(), idle));
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(idle);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = stop.changed() => {}
            }
        });
    }
}

async fn handle(
    mut req: http::Request<Incoming>,
    peer: SocketAddr,
    s3: Arc<S3Service>,
    idle: Duration,
) -> Result<http::Response<s3s::Body>, Box<dyn std::error::Error + Send + Sync>> {
    let request_id = request_id();
    if let Err(e) = crate::limits::check_presigned_expires(req.uri().query()) {
        return Ok(early_error(&e, &request_id));
    }
    req.extensions_mut().insert(RequestInfo {
        request_id: request_id.clone(),
        source_ip: peer.ip().to_string(),
    });
    let routed = Routed::default();
    req.extensions_mut().insert(routed.clone());
    let head = req.method() == http::Method::HEAD;
    let req = req.map(|body| s3s::Body::http_body(IdleBody::new(body, idle)));
    let mut resp = s3.call(req).await?;
    #[cfg(feature = "faults")]
    if let Some(fault) = routed.fault() {
        // s3s answered with the hook's stop error; the fault's own answer replaces it.
        return Ok(crate::faults::answer(fault, &request_id)?);
    }
    if !head && (resp.status().is_client_error() || resp.status().is_server_error()) {
        resp = with_error_message(resp).await?;
    }
    if let Ok(v) = http::HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-amz-request-id", v);
    }
    if routed.operation() == Some("GetObjectAttributes") && resp.status().is_success() {
        resp = unquote_attributes_etag(resp).await?;
    }
    Ok(resp)
}

/// An error answered before s3s sees the request, as S3 would answer it.
fn early_error(e: &s3s::S3Error, request_id: &str) -> http::Response<s3s::Body> {
    let body = crate::errors::body(e.code().as_str(), e.message().unwrap_or(""), request_id);
    let mut resp = http::Response::new(s3s::Body::from(body));
    *resp.status_mut() = e.status_code().unwrap_or(http::StatusCode::BAD_REQUEST);
    let headers = resp.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    if let Ok(v) = http::HeaderValue::from_str(request_id) {
        headers.insert("x-amz-request-id", v);
    }
    resp
}

/// Error bodies s3s wrote without a `<Message>` get AWS's message for their code (see
/// [`crate::errors`]). Error bodies are small, so the body is read whole.
async fn with_error_message(
    resp: http::Response<s3s::Body>,
) -> Result<http::Response<s3s::Body>, Box<dyn std::error::Error + Send + Sync>> {
    use http_body_util::BodyExt;
    let (mut parts, body) = resp.into_parts();
    let bytes = body.collect().await?.to_bytes();
    let filled = std::str::from_utf8(&bytes)
        .ok()
        .and_then(crate::errors::fill_message);
    let body = match filled {
        Some(xml) => {
            parts.headers.remove(http::header::CONTENT_LENGTH);
            s3s::Body::from(xml)
        }
        None => s3s::Body::from(bytes),
    };
    Ok(http::Response::from_parts(parts, body))
}

/// GetObjectAttributes returns the ETag unquoted in its XML (unlike every other S3 XML
/// body); s3s 0.14 always quotes it, so the small response is rewritten here.
async fn unquote_attributes_etag(
    resp: http::Response<s3s::Body>,
) -> Result<http::Response<s3s::Body>, Box<dyn std::error::Error + Send + Sync>> {
    use http_body_util::BodyExt;
    let (mut parts, body) = resp.into_parts();
    let bytes = body.collect().await?.to_bytes();
    let xml = String::from_utf8_lossy(&bytes);
    let fixed = match (xml.find("<ETag>\""), xml.find("\"</ETag>")) {
        (Some(start), Some(end)) if start < end => format!(
            "{}<ETag>{}</ETag>{}",
            &xml[..start],
            &xml[start + 7..end],
            &xml[end + 8..]
        ),
        _ => xml.into_owned(),
    };
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Ok(http::Response::from_parts(parts, s3s::Body::from(fixed)))
}

/// 16 uppercase hex characters, the shape of S3 request ids.
fn request_id() -> String {
    format!("{:016X}", fastrand::u64(..))
}
