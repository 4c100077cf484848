//! What s3s's router made of a request, for the server's work after s3s has answered.
//!
//! s3s names the operation of every request it routes, and hands that name to an access
//! hook ([`S3Access::check`]) before the operation runs. [`RouteHook`] is that hook: it
//! records the name in the request's [`Routed`] slot (the hyper service put it in the
//! request's extensions and keeps a handle), decides the request's fault when fault
//! injection is built in, then refuses unsigned requests as s3s would without a hook, and
//! asks [`crate::iam`] whether the signing key's policies allow the request. A request s3s
//! refuses before routing leaves the slot empty.

use std::sync::{Arc, OnceLock};

use s3s::access::{S3Access, S3AccessContext};
use s3s::dto::{DeleteObjectsInput, PostObjectInput};
use s3s::path::S3Path;
use s3s::{S3Request, S3Result};

use crate::iam::{self, Iam, RequestFacts};

#[cfg(feature = "faults")]
use crate::faults::{self, Fault, FaultInjector};

/// One request's routing outcome, shared between the hyper service and [`RouteHook`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Routed(Arc<OnceLock<Route>>);

#[derive(Debug)]
struct Route {
    operation: String,
    /// A fault that stopped the request at routing; the hyper service carries it out.
    #[cfg(feature = "faults")]
    fault: Option<Fault>,
}

impl Routed {
    /// s3s's name of the request's operation, e.g. "GetObjectAttributes"; `None` when s3s
    /// refused the request before routing it.
    pub(crate) fn operation(&self) -> Option<&str> {
        self.0.get().map(|route| route.operation.as_str())
    }

    /// The fault that stopped the request at routing, if any.
    #[cfg(feature = "faults")]
    pub(crate) fn fault(&self) -> Option<&Fault> {
        self.0.get().and_then(|route| route.fault.as_ref())
    }
}

/// The access hook: records each request's operation (and fault) in its [`Routed`] slot, and
/// enforces the bound keys' IAM policies.
#[derive(Debug, Default)]
pub(crate) struct RouteHook {
    iam: Arc<Iam>,
    #[cfg(feature = "faults")]
    faults: Arc<FaultInjector>,
}

impl RouteHook {
    /// A hook that enforces `iam`.
    #[cfg(not(feature = "faults"))]
    pub(crate) fn new(iam: Arc<Iam>) -> Self {
        Self { iam }
    }

    /// A hook that enforces `iam` and decides faults with `faults`.
    #[cfg(feature = "faults")]
    pub(crate) fn new(iam: Arc<Iam>, faults: Arc<FaultInjector>) -> Self {
        Self { iam, faults }
    }

    /// A hook that decides faults with `faults` and binds no key to policies.
    #[cfg(all(test, feature = "faults"))]
    pub(crate) fn with_faults(faults: Arc<FaultInjector>) -> Self {
        Self::new(Arc::default(), faults)
    }
}

#[async_trait::async_trait]
impl S3Access for RouteHook {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        if let Some(slot) = cx.extensions_mut().get::<Routed>().cloned() {
            let route = self.route(cx.s3_op().name()).await;
            let stop = route.stop();
            let _ = slot.0.set(route);
            if let Some(e) = stop {
                return Err(e);
            }
        }
        // s3s's own check when no hook is set: only signed requests get through.
        let Some(credentials) = cx.credentials() else {
            return Err(s3s::s3_error!(AccessDenied, "Signature is required"));
        };
        if !self.iam.is_bound(&credentials.access_key) {
            return Ok(());
        }
        let access_key = credentials.access_key.clone();
        let (bucket, key) = match cx.s3_path() {
            S3Path::Root => (None, None),
            S3Path::Bucket { bucket } => (Some(&**bucket), None),
            S3Path::Object { bucket, key } => (Some(&**bucket), Some(&**key)),
        };
        let facts = RequestFacts {
            operation: cx.s3_op().name(),
            bucket,
            key,
            query: cx.uri().query(),
            headers: cx.headers(),
        };
        if let Some(denied) = self.iam.check(&access_key, &facts)? {
            cx.extensions_mut().insert(denied);
        }
        Ok(())
    }

    async fn delete_objects(&self, req: &mut S3Request<DeleteObjectsInput>) -> S3Result<()> {
        let Some(credentials) = &req.credentials else {
            return Ok(());
        };
        let objects = req
            .input
            .delete
            .objects
            .iter()
            .map(|o| (o.key.as_str(), o.version_id.is_some()));
        let needs = iam::delete_objects_needs(&req.input.bucket, objects);
        self.iam
            .check_after_parsing(&credentials.access_key, &needs)
    }

    async fn post_object(&self, req: &mut S3Request<PostObjectInput>) -> S3Result<()> {
        let Some(credentials) = &req.credentials else {
            return Ok(());
        };
        let input = &req.input;
        let needs = iam::post_object_needs(&input.bucket, &input.key, input.tagging.is_some());
        self.iam
            .check_after_parsing(&credentials.access_key, &needs)
    }
}

impl RouteHook {
    #[cfg(feature = "faults")]
    async fn route(&self, operation: &str) -> Route {
        Route {
            operation: operation.to_owned(),
            fault: faults::at_routing(&self.faults, operation).await,
        }
    }

    #[cfg(not(feature = "faults"))]
    async fn route(&self, operation: &str) -> Route {
        Route {
            operation: operation.to_owned(),
        }
    }
}

impl Route {
    /// The error that stops the request before its operation runs, if it must stop.
    #[cfg(feature = "faults")]
    fn stop(&self) -> Option<s3s::S3Error> {
        self.fault.as_ref().map(faults::stop)
    }

    #[cfg(not(feature = "faults"))]
    fn stop(&self) -> Option<s3s::S3Error> {
        None
    }
}

/// The old hand-written router's cases, now asked of s3s itself: each request goes through a
/// real `S3Service` with [`RouteHook`], unsigned (the hook runs, then access is denied), and
/// the test reads the operation the hook recorded.
#[cfg(all(test, feature = "faults"))]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeSet;

    use http::Method;
    use s3s::auth::SimpleAuth;
    use s3s::service::S3ServiceBuilder;

    use super::*;
    use crate::faults::Operation;

    /// An S3 whose every operation is s3s's default NotImplemented: only routing matters here.
    struct Unimplemented;

    #[async_trait::async_trait]
    impl s3s::S3 for Unimplemented {}

    fn service(hook: RouteHook) -> s3s::service::S3Service {
        let mut builder = S3ServiceBuilder::new(Unimplemented);
        builder.set_auth(SimpleAuth::from_single("key", "secret"));
        builder.set_access(hook);
        builder.build()
    }

    /// The modelled operation s3s routes the request to; `None` when s3s refuses it first.
    async fn op(
        method: Method,
        uri: &str,
        headers: &[(&'static str, &'static str)],
    ) -> Option<Operation> {
        let s3 = service(RouteHook::default());
        let mut request = http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        // s3s reads a browser form before routing it, so a form request needs a form body.
        let body = match headers.contains(&FORM) {
            true => s3s::Body::from(FORM_BODY.to_owned()),
            false => s3s::Body::empty(),
        };
        let mut request = request.body(body).unwrap();
        let routed = Routed::default();
        request.extensions_mut().insert(routed.clone());
        let response = s3.call(request).await.unwrap();
        if routed.operation().is_some() {
            assert_eq!(response.status(), http::StatusCode::FORBIDDEN, "{uri}");
        }
        routed.operation().map(Operation::from_routed)
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
    const FORM_BODY: &str = "--xyz\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n\
        --xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\ndata\r\n\
        --xyz--\r\n";

    #[tokio::test]
    async fn s3s_names_every_modelled_operation() {
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
                op(method.clone(), uri, headers).await,
                Some(*expected),
                "{method} {uri} {headers:?}"
            );
        }
        let covered: BTreeSet<_> = cases.iter().map(|c| c.3).collect();
        let all: BTreeSet<_> = Operation::ALL.iter().copied().collect();
        assert_eq!(covered, all, "every variant has a case");
    }

    #[tokio::test]
    async fn unmodelled_requests_are_other_or_not_routed() {
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
            let routed = op(method.clone(), uri, &[]).await;
            assert!(
                matches!(routed, None | Some(Operation::Other)),
                "{method} {uri}: {routed:?}"
            );
        }
    }

    #[tokio::test]
    async fn copy_and_upload_id_precedence_is_s3s() {
        // A copy header never turns a tagging request into a copy.
        assert_eq!(
            op(Method::PUT, "/bucket/k?tagging", &[COPY]).await,
            Some(Operation::PutObjectTagging)
        );
        // UploadPartCopy is recognised whatever the parameter order.
        assert_eq!(
            op(Method::PUT, "/bucket/k?uploadId=u&partNumber=3", &[COPY]).await,
            Some(Operation::UploadPartCopy)
        );
        // A key with `?`-like text encoded in the path stays an object request.
        assert_eq!(
            op(Method::GET, "/bucket/a%3Fuploads", &[]).await,
            Some(Operation::GetObject)
        );
        // Header names are case-insensitive.
        assert_eq!(
            op(Method::PUT, "/bucket/k", &[("X-Amz-Copy-Source", "src/k")]).await,
            Some(Operation::CopyObject)
        );
        // POST to a bucket is PostObject only with a form body.
        let routed = op(
            Method::POST,
            "/bucket",
            &[("content-type", "application/xml")],
        )
        .await;
        assert!(
            matches!(routed, None | Some(Operation::Other)),
            "{routed:?}"
        );
    }

    #[tokio::test]
    async fn a_fault_decided_at_routing_stops_the_request_and_is_left_in_the_slot() {
        use crate::faults::{Fault, FaultPlan};

        let faults = Arc::new(FaultInjector::new());
        faults.set_plan(Some(FaultPlan::new(1).fail(
            Operation::GetObject,
            Fault::InternalError,
            1.0,
        )));
        let s3 = service(RouteHook::with_faults(faults.clone()));
        let mut request = http::Request::builder()
            .uri("/bucket/key")
            .body(s3s::Body::empty())
            .unwrap();
        let routed = Routed::default();
        request.extensions_mut().insert(routed.clone());
        let response = s3.call(request).await.unwrap();
        assert_eq!(routed.operation(), Some("GetObject"));
        assert_eq!(routed.fault(), Some(&Fault::InternalError));
        // The stop error, which the hyper service replaces; not access denied.
        assert_eq!(response.status(), http::StatusCode::BAD_REQUEST);
        assert_eq!(faults.requests_seen(Operation::GetObject), 1);
    }
}
