//! Fault injection for tests: S3 errors, dropped connections and latency,
//! switched on and off per test at runtime, and replayable from a seed.
//!
//! A test installs a [`FaultPlan`] on the server's [`FaultInjector`]; for each
//! request the server calls [`classify`] to name the S3 operation, then
//! [`FaultInjector::decide`]. The injected faults are the ones S3 clients must
//! survive:
//!
//! - [`Fault::SlowDown`]: HTTP 503 with error code `SlowDown`, S3's throttling
//!   answer ("Please reduce your request rate."). AWS SDKs treat it as a
//!   throttling error and retry with backoff.
//! - [`Fault::InternalError`]: HTTP 500 `InternalError` ("We encountered an
//!   internal error. Please try again."), which AWS documents as retryable.
//! - [`Fault::DropConnection`]: the connection closes without a response (a
//!   transient network failure from the client's point of view).
//! - [`Fault::Latency`]: the request is served after a delay.
//!
//! [`error_response`] renders the two error faults as S3's XML error document
//! (`<Error><Code/><Message/><RequestId/></Error>`, `Content-Type:
//! application/xml`); the server handles the other two itself.
//!
//! **Replay.** Whether a rule fires for the `n`-th request (counting from 0 when
//! the plan is installed) of operation `op` depends only on `(seed, op, n, rule
//! index)`, through a splitmix64 hash mapped to `[0, 1)` and compared with the
//! rule's probability. Requests of different operations may interleave in any
//! order and each operation still sees the same fault sequence, so a failing
//! run can be replayed from its seed; [`FaultPlan::decision`] computes the
//! decision without any state.

mod spec;

pub use spec::{FAULT_SPEC_FORM, FaultSpecError};

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use hyper::http::header::{CONTENT_TYPE, HeaderValue};
use hyper::http::{HeaderMap, Method, Response, StatusCode, Uri};

macro_rules! operations {
    ($($name:ident),+ $(,)?) => {
        /// An S3 API operation, as far as fault rules need to tell them apart.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Operation {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                $name,
            )+
        }

        impl Operation {
            /// Every operation, in declaration order.
            pub const ALL: &'static [Operation] = &[$(Operation::$name),+];

            /// The S3 API name, e.g. "UploadPartCopy" (and "Other").
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Operation::$name => stringify!($name),)+
                }
            }
        }

        impl FromStr for Operation {
            type Err = ParseOperationError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $(stringify!($name) => Ok(Operation::$name),)+
                    _ => Err(ParseOperationError(s.to_owned())),
                }
            }
        }
    };
}

operations!(
    ListBuckets,
    CreateBucket,
    HeadBucket,
    DeleteBucket,
    GetBucketVersioning,
    PutBucketVersioning,
    ListObjectsV2,
    ListObjects,
    PutObject,
    PostObject,
    GetObject,
    HeadObject,
    DeleteObject,
    DeleteObjects,
    CopyObject,
    CreateMultipartUpload,
    UploadPart,
    UploadPartCopy,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListParts,
    ListMultipartUploads,
    GetObjectTagging,
    PutObjectTagging,
    DeleteObjectTagging,
    GetObjectAttributes,
    Other,
);

const OPERATION_COUNT: usize = Operation::ALL.len();

impl Operation {
    /// Position in [`Operation::ALL`]; also the operation's input to the replay hash.
    const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`Operation`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown S3 operation {0:?}")]
pub struct ParseOperationError(pub String);

/// Bucket subresources of operations this module does not model: requests that
/// carry one are [`Operation::Other`].
const OTHER_BUCKET_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "lifecycle",
    "location",
    "logging",
    "metadataTable",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "session",
    "tagging",
    "versions",
    "website",
];

/// Object subresources of operations this module does not model.
const OTHER_OBJECT_SUBRESOURCES: &[&str] = &[
    "acl",
    "legal-hold",
    "restore",
    "retention",
    "select",
    "torrent",
];

/// The query string's parameter names and values, undecoded.
#[derive(Clone, Copy)]
struct Query<'a>(&'a str);

impl<'a> Query<'a> {
    fn params(self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
    }

    fn has(self, name: &str) -> bool {
        self.params().any(|(k, _)| k == name)
    }

    fn value(self, name: &str) -> Option<&'a str> {
        self.params().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    fn has_any(self, names: &[&str]) -> bool {
        self.params().any(|(k, _)| names.contains(&k))
    }
}

/// Names the S3 operation of a path-style request (`/bucket/key?query`).
///
/// The rules follow the S3 REST API, in the same precedence as the s3s router:
/// for example a PUT with `uploadId` is UploadPart, or UploadPartCopy when it
/// also has an `x-amz-copy-source` header; a PUT with only that header is
/// CopyObject; POST `?uploads` is CreateMultipartUpload and POST `?uploadId` is
/// CompleteMultipartUpload; a POST to a bucket with a `multipart/form-data` body
/// is a browser-form PostObject. Requests for operations not listed in
/// [`Operation`] (ACLs, policies, `?versions`, …) are [`Operation::Other`].
/// Virtual-hosted-style requests (bucket in the `Host` header) are not recognised.
#[must_use]
pub fn classify(method: &Method, uri: &Uri, headers: &HeaderMap) -> Operation {
    let query = Query(uri.query().unwrap_or(""));
    let path = uri.path().trim_start_matches('/');
    if path.is_empty() {
        return match *method {
            Method::GET if query.value("x-id") != Some("ListDirectoryBuckets") => {
                Operation::ListBuckets
            }
            _ => Operation::Other,
        };
    }
    let is_object = path.split_once('/').is_some_and(|(_, key)| !key.is_empty());
    if is_object {
        classify_object(method, query, headers)
    } else {
        classify_bucket(method, query, headers)
    }
}

fn classify_bucket(method: &Method, query: Query<'_>, headers: &HeaderMap) -> Operation {
    match *method {
        Method::HEAD => Operation::HeadBucket,
        Method::GET if query.has("versioning") => Operation::GetBucketVersioning,
        Method::GET if query.has("uploads") => Operation::ListMultipartUploads,
        Method::GET if query.has_any(OTHER_BUCKET_SUBRESOURCES) => Operation::Other,
        Method::GET if query.value("list-type") == Some("2") => Operation::ListObjectsV2,
        Method::GET => Operation::ListObjects,
        Method::PUT if query.has("versioning") => Operation::PutBucketVersioning,
        Method::PUT if query.has_any(OTHER_BUCKET_SUBRESOURCES) => Operation::Other,
        Method::PUT => Operation::CreateBucket,
        Method::DELETE if query.has_any(OTHER_BUCKET_SUBRESOURCES) => Operation::Other,
        Method::DELETE => Operation::DeleteBucket,
        Method::POST if query.has("delete") => Operation::DeleteObjects,
        Method::POST if is_form_upload(headers) => Operation::PostObject,
        _ => Operation::Other,
    }
}

fn classify_object(method: &Method, query: Query<'_>, headers: &HeaderMap) -> Operation {
    let copy = headers.contains_key("x-amz-copy-source");
    match *method {
        Method::HEAD => Operation::HeadObject,
        Method::GET if query.has("attributes") => Operation::GetObjectAttributes,
        Method::GET if query.has("tagging") => Operation::GetObjectTagging,
        Method::GET if query.has_any(OTHER_OBJECT_SUBRESOURCES) => Operation::Other,
        Method::GET if query.has("uploadId") => Operation::ListParts,
        Method::GET => Operation::GetObject,
        Method::PUT if query.has("tagging") => Operation::PutObjectTagging,
        Method::PUT if query.has_any(OTHER_OBJECT_SUBRESOURCES) => Operation::Other,
        Method::PUT if query.has("uploadId") && copy => Operation::UploadPartCopy,
        Method::PUT if query.has("uploadId") => Operation::UploadPart,
        Method::PUT if copy => Operation::CopyObject,
        Method::PUT => Operation::PutObject,
        Method::POST if query.has("uploads") => Operation::CreateMultipartUpload,
        Method::POST if query.has("uploadId") => Operation::CompleteMultipartUpload,
        Method::DELETE if query.has("tagging") => Operation::DeleteObjectTagging,
        Method::DELETE if query.has("uploadId") => Operation::AbortMultipartUpload,
        Method::DELETE => Operation::DeleteObject,
        _ => Operation::Other,
    }
}

fn is_form_upload(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// What to do to a request instead of (or before) serving it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Answer 503 `SlowDown`.
    SlowDown,
    /// Answer 500 `InternalError`.
    InternalError,
    /// Close the connection without answering.
    DropConnection,
    /// Wait this long, then serve the request normally.
    Latency(Duration),
}

impl Fault {
    /// The fault's kind, without its parameters.
    #[must_use]
    pub const fn kind(&self) -> FaultKind {
        match self {
            Self::SlowDown => FaultKind::SlowDown,
            Self::InternalError => FaultKind::InternalError,
            Self::DropConnection => FaultKind::DropConnection,
            Self::Latency(_) => FaultKind::Latency,
        }
    }
}

/// The kind of a [`Fault`], for statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// [`Fault::SlowDown`].
    SlowDown,
    /// [`Fault::InternalError`].
    InternalError,
    /// [`Fault::DropConnection`].
    DropConnection,
    /// [`Fault::Latency`].
    Latency,
}

impl FaultKind {
    /// Every kind, in declaration order.
    pub const ALL: [Self; 4] = [
        Self::SlowDown,
        Self::InternalError,
        Self::DropConnection,
        Self::Latency,
    ];

    /// The kind's name, e.g. "SlowDown".
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SlowDown => "SlowDown",
            Self::InternalError => "InternalError",
            Self::DropConnection => "DropConnection",
            Self::Latency => "Latency",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Inject `fault` into requests of `operation` (`None`: any operation) with
/// the given probability. A probability of 0 or less (or NaN) never fires, 1
/// or more always does.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// The operation the rule applies to; `None` matches every operation.
    pub operation: Option<Operation>,
    /// What to inject.
    pub fault: Fault,
    /// Chance per matching request, in `[0, 1]`.
    pub probability: f64,
}

/// A seed and an ordered list of rules; the first matching rule that fires
/// decides the request's fault, so a request gets at most one fault.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultPlan {
    /// The replay seed.
    pub seed: u64,
    /// The rules, tried in order.
    pub rules: Vec<FaultRule>,
}

impl FaultPlan {
    /// A plan with no rules.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self {
            seed,
            rules: Vec::new(),
        }
    }

    /// Adds a rule for one operation.
    #[must_use]
    pub fn fail(self, operation: Operation, fault: Fault, probability: f64) -> Self {
        self.rule(FaultRule {
            operation: Some(operation),
            fault,
            probability,
        })
    }

    /// Adds a rule for every operation.
    #[must_use]
    pub fn fail_any(self, fault: Fault, probability: f64) -> Self {
        self.rule(FaultRule {
            operation: None,
            fault,
            probability,
        })
    }

    /// Adds a rule.
    #[must_use]
    pub fn rule(mut self, rule: FaultRule) -> Self {
        self.rules.push(rule);
        self
    }

    /// The fault for the `n`-th request (from 0) of `operation`: a pure function
    /// of `(seed, operation, n)` and the rules.
    #[must_use]
    pub fn decision(&self, operation: Operation, n: u64) -> Option<&Fault> {
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, rule)| rule.operation.is_none_or(|op| op == operation))
            .find(|(index, rule)| draw(self.seed, operation, n, *index) < rule.probability)
            .map(|(_, rule)| &rule.fault)
    }
}

/// splitmix64's output function (Steele, Lea and Flood, 2014).
const fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform draw in `[0, 1)` determined by `(seed, operation, n, rule)` alone.
fn draw(seed: u64, operation: Operation, n: u64, rule: usize) -> f64 {
    let mut h = splitmix64(seed);
    h = splitmix64(h ^ operation.index() as u64);
    h = splitmix64(h ^ n);
    h = splitmix64(h ^ rule as u64);
    // The top 53 bits, exactly representable in an f64.
    (h >> 11) as f64 / (1_u64 << 53) as f64
}

/// An installed plan and its per-operation request counters.
#[derive(Debug)]
struct ActivePlan {
    plan: FaultPlan,
    requests: [AtomicU64; OPERATION_COUNT],
}

/// Decides, per request, whether to inject a fault; shared by all connections.
///
/// With no plan installed, [`decide`](Self::decide) is one atomic load.
/// Installing a plan ([`set_plan`](Self::set_plan)) starts a fresh replay: the
/// request counters and the injection statistics restart from zero. Removing it
/// (`set_plan(None)`) stops injection but keeps the statistics for reading.
#[derive(Debug)]
pub struct FaultInjector {
    enabled: AtomicBool,
    plan: RwLock<Option<Arc<ActivePlan>>>,
    injected: [[AtomicU64; FaultKind::ALL.len()]; OPERATION_COUNT],
}

impl Default for FaultInjector {
    fn default() -> Self {
        Self::new()
    }
}

impl FaultInjector {
    /// An injector with no plan.
    #[must_use]
    pub fn new() -> Self {
        Self {
            enabled: AtomicBool::new(false),
            plan: RwLock::new(None),
            injected: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
        }
    }

    /// Installs `plan` (resetting counters and statistics), or removes the
    /// current plan with `None`.
    pub fn set_plan(&self, plan: Option<FaultPlan>) {
        let mut slot = self.plan.write().unwrap_or_else(PoisonError::into_inner);
        match plan {
            Some(plan) => {
                self.reset_stats();
                let requests = std::array::from_fn(|_| AtomicU64::new(0));
                *slot = Some(Arc::new(ActivePlan { plan, requests }));
                self.enabled.store(true, Ordering::Release);
            }
            None => {
                *slot = None;
                self.enabled.store(false, Ordering::Release);
            }
        }
    }

    /// The installed plan, if any.
    #[must_use]
    pub fn plan(&self) -> Option<FaultPlan> {
        self.current().map(|active| active.plan.clone())
    }

    fn current(&self) -> Option<Arc<ActivePlan>> {
        if !self.enabled.load(Ordering::Acquire) {
            return None;
        }
        self.plan
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Counts one request of `operation` and returns the fault to inject, if any.
    pub fn decide(&self, operation: Operation) -> Option<Fault> {
        let active = self.current()?;
        let n = active.requests[operation.index()].fetch_add(1, Ordering::Relaxed);
        let fault = active.plan.decision(operation, n)?.clone();
        self.injected[operation.index()][fault.kind().index()].fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%operation, n, ?fault, "injecting fault");
        Some(fault)
    }

    /// How many requests of `operation` the installed plan has seen (0 without a plan).
    #[must_use]
    pub fn requests_seen(&self, operation: Operation) -> u64 {
        self.current().map_or(0, |active| {
            active.requests[operation.index()].load(Ordering::Relaxed)
        })
    }

    /// The faults injected since the plan was installed or the last
    /// [`reset_stats`](Self::reset_stats): one `(operation, kind, count)` per
    /// pair with a non-zero count, ordered by operation then kind.
    #[must_use]
    pub fn injected(&self) -> Vec<(Operation, FaultKind, u64)> {
        let mut out = Vec::new();
        for &operation in Operation::ALL {
            for kind in FaultKind::ALL {
                let count = self.injected[operation.index()][kind.index()].load(Ordering::Relaxed);
                if count > 0 {
                    out.push((operation, kind, count));
                }
            }
        }
        out
    }

    /// The number of faults injected, over all operations and kinds.
    #[must_use]
    pub fn injected_total(&self) -> u64 {
        self.injected
            .iter()
            .flatten()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// One line for humans: "injected 12 SlowDown, 7 InternalError, 5 dropped connections,
    /// 3 delays over 1,234 requests" (requests counted by the installed plan).
    #[must_use]
    pub fn summary(&self) -> String {
        let count = |kind: FaultKind| -> u64 {
            self.injected
                .iter()
                .map(|per_kind| per_kind[kind.index()].load(Ordering::Relaxed))
                .sum()
        };
        let requests: u64 = Operation::ALL
            .iter()
            .map(|op| self.requests_seen(*op))
            .sum();
        format!(
            "injected {} SlowDown, {} InternalError, {} dropped connections, {} delays over {} requests",
            count(FaultKind::SlowDown),
            count(FaultKind::InternalError),
            count(FaultKind::DropConnection),
            count(FaultKind::Latency),
            thousands(requests)
        )
    }

    /// Zeroes the injection statistics (not the replay counters).
    pub fn reset_stats(&self) {
        for counter in self.injected.iter().flatten() {
            counter.store(0, Ordering::Relaxed);
        }
    }
}

/// `1234567` as "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// S3's XML error response for an error fault: 503 `SlowDown` or 500
/// `InternalError`, with `Content-Type: application/xml` and the request id in
/// both the body and the `x-amz-request-id` header. `None` for
/// [`Fault::DropConnection`] and [`Fault::Latency`], which the server carries
/// out itself (close the connection; sleep, then serve).
#[must_use]
pub fn error_response(fault: &Fault, request_id: &str) -> Option<Response<String>> {
    let (status, code, message) = match fault {
        Fault::SlowDown => (
            StatusCode::SERVICE_UNAVAILABLE,
            "SlowDown",
            "Please reduce your request rate.",
        ),
        Fault::InternalError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
        Fault::DropConnection | Fault::Latency(_) => return None,
    };
    let body = crate::errors::body(code, message, request_id);
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("x-amz-request-id", value);
    }
    Some(response)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn op(method: Method, uri: &str, headers: &[(&'static str, &'static str)]) -> Operation {
        let uri: Uri = uri.parse().unwrap();
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_static(value));
        }
        classify(&method, &uri, &map)
    }

    /// Method, URI, headers and the expected operation.
    type Case = (
        Method,
        &'static str,
        &'static [(&'static str, &'static str)],
        Operation,
    );

    const COPY: (&str, &str) = ("x-amz-copy-source", "src/key");
    const FORM: (&str, &str) = ("content-type", "multipart/form-data; boundary=xyz");

    #[test]
    fn classify_names_every_operation() {
        use Operation::*;
        let cases: &[Case] = &[
            (Method::GET, "/", &[], ListBuckets),
            (Method::GET, "/?x-id=ListBuckets", &[], ListBuckets),
            (Method::PUT, "/bucket", &[], CreateBucket),
            (Method::HEAD, "/bucket", &[], HeadBucket),
            (Method::DELETE, "/bucket/", &[], DeleteBucket),
            (Method::GET, "/bucket?versioning", &[], GetBucketVersioning),
            (Method::PUT, "/bucket?versioning", &[], PutBucketVersioning),
            (
                Method::GET,
                "/bucket?list-type=2&prefix=a%2F&continuation-token=x",
                &[],
                ListObjectsV2,
            ),
            (Method::GET, "/bucket?prefix=a&marker=b", &[], ListObjects),
            (Method::GET, "/bucket/", &[], ListObjects),
            (Method::PUT, "/bucket/key", &[], PutObject),
            (
                Method::PUT,
                "/bucket/dir/sub/key.txt?x-id=PutObject",
                &[],
                PutObject,
            ),
            (Method::POST, "/bucket", &[FORM], PostObject),
            (
                Method::GET,
                "/bucket/key?versionId=v1&partNumber=2",
                &[],
                GetObject,
            ),
            (Method::HEAD, "/bucket/key?partNumber=1", &[], HeadObject),
            (
                Method::DELETE,
                "/bucket/key?versionId=v1",
                &[],
                DeleteObject,
            ),
            (Method::POST, "/bucket?delete", &[], DeleteObjects),
            (Method::PUT, "/bucket/key", &[COPY], CopyObject),
            (
                Method::POST,
                "/bucket/key?uploads",
                &[],
                CreateMultipartUpload,
            ),
            (
                Method::PUT,
                "/bucket/key?partNumber=1&uploadId=u",
                &[],
                UploadPart,
            ),
            (
                Method::PUT,
                "/bucket/key?partNumber=1&uploadId=u",
                &[COPY],
                UploadPartCopy,
            ),
            (
                Method::POST,
                "/bucket/key?uploadId=u",
                &[],
                CompleteMultipartUpload,
            ),
            (
                Method::DELETE,
                "/bucket/key?uploadId=u",
                &[],
                AbortMultipartUpload,
            ),
            (
                Method::GET,
                "/bucket/key?uploadId=u&max-parts=10",
                &[],
                ListParts,
            ),
            (
                Method::GET,
                "/bucket?uploads&prefix=a",
                &[],
                ListMultipartUploads,
            ),
            (Method::GET, "/bucket/key?tagging", &[], GetObjectTagging),
            (Method::PUT, "/bucket/key?tagging", &[], PutObjectTagging),
            (
                Method::DELETE,
                "/bucket/key?tagging",
                &[],
                DeleteObjectTagging,
            ),
            (
                Method::GET,
                "/bucket/key?attributes",
                &[],
                GetObjectAttributes,
            ),
            (Method::GET, "/bucket?location", &[], Other),
        ];
        for (method, uri, headers, expected) in cases {
            assert_eq!(
                op(method.clone(), uri, headers),
                *expected,
                "{method} {uri} {headers:?}"
            );
        }
        let covered: BTreeSet<_> = cases.iter().map(|c| c.3).collect();
        let all: BTreeSet<_> = Operation::ALL.iter().copied().collect();
        assert_eq!(covered, all, "every variant has a case");
    }

    #[test]
    fn classify_calls_unmodelled_requests_other() {
        for (method, uri) in [
            (Method::GET, "/bucket?acl"),
            (Method::GET, "/bucket?versions"),
            (Method::PUT, "/bucket?policy"),
            (Method::DELETE, "/bucket?cors"),
            (Method::GET, "/bucket?tagging"),
            (Method::GET, "/bucket/key?acl"),
            (Method::PUT, "/bucket/key?retention"),
            (Method::POST, "/bucket/key?restore"),
            (Method::POST, "/bucket/key"),
            (Method::POST, "/bucket"),
            (Method::PUT, "/"),
            (Method::HEAD, "/"),
            (Method::GET, "/?x-id=ListDirectoryBuckets"),
            (Method::OPTIONS, "/bucket/key"),
            (Method::PATCH, "/bucket"),
        ] {
            assert_eq!(
                op(method.clone(), uri, &[]),
                Operation::Other,
                "{method} {uri}"
            );
        }
    }

    #[test]
    fn classify_treats_copy_and_upload_id_precedence_like_s3() {
        // A copy header never turns a tagging request into a copy.
        assert_eq!(
            op(Method::PUT, "/b/k?tagging", &[COPY]),
            Operation::PutObjectTagging
        );
        // UploadPartCopy is recognised whatever the parameter order.
        assert_eq!(
            op(Method::PUT, "/b/k?uploadId=u&partNumber=3", &[COPY]),
            Operation::UploadPartCopy
        );
        // A key with `?`-like text encoded in the path stays an object request.
        assert_eq!(op(Method::GET, "/b/a%3Fuploads", &[]), Operation::GetObject);
        // Header names are case-insensitive.
        let mut headers = HeaderMap::new();
        headers.insert("X-Amz-Copy-Source", HeaderValue::from_static("src/k"));
        assert_eq!(
            classify(&Method::PUT, &"/b/k".parse().unwrap(), &headers),
            Operation::CopyObject
        );
        // POST to a bucket is PostObject only with a form body.
        assert_eq!(
            op(Method::POST, "/b", &[("content-type", "application/xml")]),
            Operation::Other
        );
    }

    #[test]
    fn operations_parse_from_and_print_as_their_api_names() {
        for &operation in Operation::ALL {
            assert_eq!(operation.as_str().parse::<Operation>().unwrap(), operation);
            assert_eq!(operation.to_string(), operation.as_str());
        }
        assert_eq!(Operation::ALL.len(), 27);
        assert!("uploadpartcopy".parse::<Operation>().is_err());
    }

    fn decisions(
        injector: &FaultInjector,
        operation: Operation,
        count: usize,
    ) -> Vec<Option<Fault>> {
        (0..count).map(|_| injector.decide(operation)).collect()
    }

    fn mixed_plan(seed: u64) -> FaultPlan {
        FaultPlan::new(seed)
            .fail(Operation::UploadPartCopy, Fault::SlowDown, 0.3)
            .fail(Operation::UploadPartCopy, Fault::DropConnection, 0.2)
            .fail_any(Fault::InternalError, 0.1)
    }

    #[test]
    fn the_same_seed_gives_the_same_decisions() {
        let a = FaultInjector::new();
        let b = FaultInjector::new();
        a.set_plan(Some(mixed_plan(42)));
        b.set_plan(Some(mixed_plan(42)));
        let first = decisions(&a, Operation::UploadPartCopy, 500);
        assert_eq!(first, decisions(&b, Operation::UploadPartCopy, 500));
        assert!(first.iter().any(Option::is_some) && first.iter().any(Option::is_none));

        // Re-installing the plan replays from the first request.
        a.set_plan(Some(mixed_plan(42)));
        assert_eq!(decisions(&a, Operation::UploadPartCopy, 500), first);
    }

    #[test]
    fn decisions_of_an_operation_do_not_depend_on_other_operations() {
        let quiet = FaultInjector::new();
        quiet.set_plan(Some(mixed_plan(7)));
        let alone = decisions(&quiet, Operation::UploadPartCopy, 300);

        let busy = FaultInjector::new();
        busy.set_plan(Some(mixed_plan(7)));
        let mut interleaved = Vec::new();
        for i in 0..300 {
            for _ in 0..(i % 3) {
                busy.decide(Operation::PutObject);
                busy.decide(Operation::GetObject);
            }
            interleaved.push(busy.decide(Operation::UploadPartCopy));
        }
        assert_eq!(interleaved, alone);
    }

    #[test]
    fn concurrent_requests_inject_the_same_faults_as_a_sequential_run() {
        let ops = [
            Operation::UploadPartCopy,
            Operation::PutObject,
            Operation::CompleteMultipartUpload,
        ];
        let sequential = FaultInjector::new();
        sequential.set_plan(Some(mixed_plan(99)));
        for operation in ops {
            decisions(&sequential, operation, 2000);
        }

        let shared = Arc::new(FaultInjector::new());
        shared.set_plan(Some(mixed_plan(99)));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let injector = Arc::clone(&shared);
                std::thread::spawn(move || {
                    for i in 0..1500 {
                        injector.decide(ops[(i + t) % ops.len()]);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        for operation in ops {
            assert_eq!(shared.requests_seen(operation), 2000);
        }
        assert_eq!(shared.injected(), sequential.injected());
    }

    #[test]
    fn a_different_seed_gives_different_decisions() {
        let a = FaultInjector::new();
        let b = FaultInjector::new();
        a.set_plan(Some(mixed_plan(1)));
        b.set_plan(Some(mixed_plan(2)));
        assert_ne!(
            decisions(&a, Operation::UploadPartCopy, 200),
            decisions(&b, Operation::UploadPartCopy, 200)
        );
    }

    #[test]
    fn probability_zero_never_fires_and_one_always_fires() {
        let injector = FaultInjector::new();
        injector.set_plan(Some(FaultPlan::new(5).fail_any(Fault::SlowDown, 0.0)));
        assert!(
            decisions(&injector, Operation::GetObject, 10_000)
                .iter()
                .all(Option::is_none)
        );
        injector.set_plan(Some(FaultPlan::new(5).fail_any(Fault::SlowDown, 1.0)));
        assert!(
            decisions(&injector, Operation::GetObject, 10_000)
                .iter()
                .all(|d| *d == Some(Fault::SlowDown))
        );
        injector.set_plan(Some(FaultPlan::new(5).fail_any(Fault::SlowDown, f64::NAN)));
        assert_eq!(injector.decide(Operation::GetObject), None);
    }

    #[test]
    fn the_fault_rate_over_ten_thousand_draws_matches_the_probability() {
        for (seed, probability) in [(1, 0.3), (2, 0.05), (3, 0.5), (4, 0.9)] {
            let plan =
                FaultPlan::new(seed).fail(Operation::UploadPart, Fault::InternalError, probability);
            let fired = (0..10_000)
                .filter(|&n| plan.decision(Operation::UploadPart, n).is_some())
                .count();
            let rate = fired as f64 / 10_000.0;
            assert!(
                (rate - probability).abs() < 0.02,
                "seed {seed}: rate {rate} for p {probability}"
            );
        }
    }

    #[test]
    fn a_rule_for_one_operation_leaves_the_others_alone() {
        let injector = FaultInjector::new();
        injector.set_plan(Some(FaultPlan::new(3).fail(
            Operation::UploadPartCopy,
            Fault::SlowDown,
            1.0,
        )));
        for &operation in Operation::ALL {
            let expected = (operation == Operation::UploadPartCopy).then_some(Fault::SlowDown);
            assert_eq!(injector.decide(operation), expected, "{operation}");
        }
        assert_eq!(
            injector.injected(),
            vec![(Operation::UploadPartCopy, FaultKind::SlowDown, 1)]
        );
    }

    #[test]
    fn the_first_matching_rule_that_fires_wins() {
        let latency = Fault::Latency(Duration::from_millis(250));
        let plan = FaultPlan::new(0)
            .fail(Operation::PutObject, latency.clone(), 1.0)
            .fail_any(Fault::InternalError, 1.0);
        assert_eq!(plan.decision(Operation::PutObject, 0), Some(&latency));
        assert_eq!(
            plan.decision(Operation::GetObject, 0),
            Some(&Fault::InternalError)
        );
    }

    #[test]
    fn without_a_plan_nothing_is_injected_and_removing_a_plan_keeps_its_stats() {
        let injector = FaultInjector::default();
        assert_eq!(injector.decide(Operation::PutObject), None);
        assert!(injector.plan().is_none());

        let plan = FaultPlan::new(8).fail(Operation::PutObject, Fault::DropConnection, 1.0);
        injector.set_plan(Some(plan.clone()));
        assert_eq!(injector.plan(), Some(plan.clone()));
        decisions(&injector, Operation::PutObject, 3);
        injector.set_plan(None);
        assert_eq!(injector.decide(Operation::PutObject), None);
        assert_eq!(injector.requests_seen(Operation::PutObject), 0);
        assert_eq!(
            injector.injected(),
            vec![(Operation::PutObject, FaultKind::DropConnection, 3)]
        );
        assert_eq!(injector.injected_total(), 3);

        injector.reset_stats();
        assert!(injector.injected().is_empty());

        // Installing a plan starts from zero again.
        injector.set_plan(Some(plan.clone()));
        decisions(&injector, Operation::PutObject, 2);
        injector.set_plan(Some(plan));
        assert_eq!(injector.injected_total(), 0);
    }

    #[test]
    fn error_faults_render_s3_xml_errors() {
        let slow = error_response(&Fault::SlowDown, "REQ123").unwrap();
        assert_eq!(slow.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(slow.headers()[CONTENT_TYPE], "application/xml");
        assert_eq!(slow.headers()["x-amz-request-id"], "REQ123");
        assert_eq!(
            slow.body(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <Error><Code>SlowDown</Code>\
             <Message>Please reduce your request rate.</Message>\
             <RequestId>REQ123</RequestId></Error>"
        );

        let internal = error_response(&Fault::InternalError, "a<b").unwrap();
        assert_eq!(internal.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(internal.body().contains("<Code>InternalError</Code>"));
        assert!(
            internal
                .body()
                .contains("<Message>We encountered an internal error. Please try again.</Message>")
        );
        assert!(internal.body().contains("<RequestId>a&lt;b</RequestId>"));
    }

    #[test]
    fn connection_faults_have_no_error_response() {
        assert!(error_response(&Fault::DropConnection, "r").is_none());
        assert!(error_response(&Fault::Latency(Duration::from_secs(1)), "r").is_none());
    }

    #[test]
    fn thousands_are_separated_by_commas() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn the_summary_counts_each_kind_over_the_requests_seen() {
        let injector = FaultInjector::new();
        assert_eq!(
            injector.summary(),
            "injected 0 SlowDown, 0 InternalError, 0 dropped connections, 0 delays over 0 requests"
        );
        injector.set_plan(Some(
            FaultPlan::new(7)
                .fail(Operation::PutObject, Fault::SlowDown, 1.0)
                .fail(Operation::GetObject, Fault::Latency(Duration::ZERO), 1.0),
        ));
        for _ in 0..3 {
            injector.decide(Operation::PutObject);
        }
        injector.decide(Operation::GetObject);
        for _ in 0..1_000 {
            injector.decide(Operation::HeadObject);
        }
        assert_eq!(
            injector.summary(),
            "injected 3 SlowDown, 0 InternalError, 0 dropped connections, 1 delays over 1,004 requests"
        );
    }

    #[test]
    fn fault_kinds_name_their_faults() {
        assert_eq!(Fault::Latency(Duration::ZERO).kind(), FaultKind::Latency);
        assert_eq!(Fault::SlowDown.kind().to_string(), "SlowDown");
        assert_eq!(Fault::InternalError.kind(), FaultKind::InternalError);
        assert_eq!(Fault::DropConnection.kind().as_str(), "DropConnection");
    }
}
