//! S3's XML error answer for the two error faults.

use hyper::http::header::{CONTENT_TYPE, HeaderValue};
use hyper::http::{Response, StatusCode};

use super::Fault;

/// S3's XML error response for an error fault: 503 `SlowDown` or 500
/// `InternalError`, with `Content-Type: application/xml` and the request id in
/// both the body and the `x-amz-request-id` header. `None` for
/// [`Fault::DropConnection`] and [`Fault::Latency`], which the server carries
/// out itself (close the connection; sleep, then serve).
#[must_use]
pub(crate) fn error_response(fault: &Fault, request_id: &str) -> Option<Response<String>> {
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
    use std::time::Duration;

    use super::*;

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
}
