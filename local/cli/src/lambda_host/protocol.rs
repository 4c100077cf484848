//! The Lambda Runtime API (2018-06-01) as pure functions: which route a runtime's request
//! is, the headers of an invocation, the deadline, and the error payloads Lambda reports
//! when a function fails, exits or times out
//! (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>). No I/O here.

use std::time::Duration;

use copyflow_asl::LambdaError;
use serde_json::{Map, Value};

/// The API version prefix every runtime request starts with.
pub(crate) const PREFIX: &str = "/2018-06-01/runtime";
/// The header naming the invocation.
pub(crate) const REQUEST_ID: &str = "Lambda-Runtime-Aws-Request-Id";
/// The header with the invocation's deadline, in milliseconds since the Unix epoch.
pub(crate) const DEADLINE_MS: &str = "Lambda-Runtime-Deadline-Ms";
/// The header with the ARN the function was invoked with.
pub(crate) const FUNCTION_ARN: &str = "Lambda-Runtime-Invoked-Function-Arn";
/// The header with the X-Ray trace id.
pub(crate) const TRACE_ID: &str = "Lambda-Runtime-Trace-Id";
/// The header a runtime may send with an error to name its type.
pub(crate) const FUNCTION_ERROR_TYPE: &str = "Lambda-Runtime-Function-Error-Type";
/// The largest synchronous response Lambda returns (6 MB).
pub(crate) const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

/// A runtime's request, by method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET /invocation/next`: the runtime is ready for an event.
    Next,
    /// `POST /invocation/{id}/response`.
    Response(String),
    /// `POST /invocation/{id}/error`.
    Error(String),
    /// `POST /init/error`: the function could not initialize.
    InitError,
    /// Anything else (Lambda answers 404).
    Unknown,
}

/// The route of `method path`.
pub(crate) fn route(method: &str, path: &str) -> Route {
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Route::Unknown;
    };
    let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["invocation", "next"]) => Route::Next,
        ("POST", ["invocation", id, "response"]) if !id.is_empty() => {
            Route::Response((*id).to_owned())
        }
        ("POST", ["invocation", id, "error"]) if !id.is_empty() => Route::Error((*id).to_owned()),
        ("POST", ["init", "error"]) => Route::InitError,
        _ => Route::Unknown,
    }
}

/// What the runtime gets with one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvocationHeaders {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub(crate) request_id: String,
    /// `Lambda-Runtime-Deadline-Ms`.
    pub(crate) deadline_ms: u64,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub(crate) function_arn: String,
    /// `Lambda-Runtime-Trace-Id`.
    pub(crate) trace_id: String,
}

impl InvocationHeaders {
    /// The headers, in the order Lambda sends them.
    pub(crate) fn pairs(&self) -> [(&'static str, String); 4] {
        [
            (REQUEST_ID, self.request_id.clone()),
            (DEADLINE_MS, self.deadline_ms.to_string()),
            (FUNCTION_ARN, self.function_arn.clone()),
            (TRACE_ID, self.trace_id.clone()),
        ]
    }
}

/// The deadline of an invocation that starts at `now_ms` (epoch milliseconds) under the
/// function's timeout.
pub(crate) fn deadline_ms(now_ms: u64, timeout: Duration) -> u64 {
    now_ms.saturating_add(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX))
}

/// A request id in Lambda's form (a UUID, version 4) from 128 random bits.
pub(crate) fn request_id(random: u128) -> String {
    let r = (random & !(0xf000 << 64) & !(0xc << 60)) | (0x4000 << 64) | (0x8 << 60);
    let h = format!("{r:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// An X-Ray trace header as Lambda passes it: a root id made of the epoch seconds and 96
/// random bits, a parent segment id, not sampled.
pub(crate) fn trace_id(epoch_secs: u64, random: u128) -> String {
    let root = random & ((1u128 << 96) - 1);
    let parent = (random >> 64) as u64;
    format!(
        "Root=1-{:08x}-{root:024x};Parent={parent:016x};Sampled=0",
        epoch_secs & 0xffff_ffff
    )
}

/// The function error a runtime posted to `/invocation/{id}/error` (or `/init/error`):
/// the body is the cause verbatim; its `errorType` (or, failing that, the
/// `Lambda-Runtime-Function-Error-Type` header) names the error. A body that is not JSON is
/// reported as Lambda reports it, with the header's type.
pub(crate) fn posted_error(body: &[u8], header_type: Option<&str>) -> LambdaError {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => {
            let mut error = LambdaError::from_body(Value::Object(map));
            if error.error_type.is_empty() {
                error.error_type = header_type.unwrap_or_default().to_owned();
            }
            error
        }
        _ => LambdaError::new(
            header_type.unwrap_or_default(),
            String::from_utf8_lossy(body).into_owned(),
        ),
    }
}

/// The error Lambda reports when the runtime process ends during an invocation (or before
/// taking it): `Runtime.ExitError`, with the exit status in the message.
pub(crate) fn exit_error(request_id: &str, status: &str) -> LambdaError {
    typed_error(
        "Runtime.ExitError",
        format!("RequestId: {request_id} Error: Runtime exited with error: {status}"),
    )
}

/// The error Lambda reports when an invocation outlives the function's timeout; the sandbox
/// is then discarded.
pub(crate) fn timeout_error(request_id: &str, timeout: Duration) -> LambdaError {
    typed_error(
        "Sandbox.Timedout",
        format!(
            "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
            timeout.as_secs_f64()
        ),
    )
}

/// The error Lambda reports for a response over 6 MB.
pub(crate) fn too_large_error(size: usize) -> LambdaError {
    typed_error(
        "Function.ResponseSizeTooLarge",
        format!(
            "Response payload size ({size} bytes) exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
        ),
    )
}

/// The error for a function whose binary cannot be started at all.
pub(crate) fn spawn_error(binary: &str, why: &str) -> LambdaError {
    typed_error(
        "Runtime.InvalidEntrypoint",
        format!("cannot start {binary}: {why}"),
    )
}

fn typed_error(error_type: &str, message: String) -> LambdaError {
    let mut body = Map::new();
    body.insert("errorType".into(), Value::String(error_type.to_owned()));
    body.insert("errorMessage".into(), Value::String(message));
    LambdaError::from_body(Value::Object(body))
}

/// A response body as the Invoke API returns it: JSON as JSON, anything else (an empty body
/// included) as the text it is, which is what `lambda:invoke` puts in `Payload`.
pub(crate) fn response_payload(body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// `COPYFLOW_SETTINGS` exactly as the CDK app sets it (`cdk/lib/settings.ts`): the document
/// without `local` and `deploy`, its other top-level sections in the app's order, as
/// `JSON.stringify` writes it (no spaces).
pub(crate) fn settings_env(document: &Value) -> String {
    const SECTIONS: [&str; 5] = ["source", "destination", "keys", "copy", "verify"];
    let mut out = Map::new();
    if let Value::Object(map) = document {
        for key in SECTIONS {
            if let Some(v) = map.get(key) {
                out.insert(key.to_owned(), v.clone());
            }
        }
    }
    Value::Object(out).to_string()
}

/// The TimeoutSeconds of the Task that invokes each `${Placeholder}` function in an ASL
/// definition: the budget Lambda would give the function.
pub(crate) fn task_timeouts(definition: &Value) -> Vec<(String, Duration)> {
    let mut out = Vec::new();
    let Some(states) = definition.get("States").and_then(Value::as_object) else {
        return out;
    };
    for state in states.values() {
        let function = state
            .pointer("/Parameters/FunctionName")
            .and_then(Value::as_str)
            .and_then(|f| f.strip_prefix("${"))
            .and_then(|f| f.strip_suffix('}'));
        let timeout = state.get("TimeoutSeconds").and_then(Value::as_u64);
        if let (Some(function), Some(timeout)) = (function, timeout) {
            out.push((function.to_owned(), Duration::from_secs(timeout)));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routes_are_the_four_runtime_calls() {
        let p = |s: &str| format!("{PREFIX}{s}");
        assert_eq!(route("GET", &p("/invocation/next")), Route::Next);
        assert_eq!(
            route("POST", &p("/invocation/abc/response")),
            Route::Response("abc".into())
        );
        assert_eq!(
            route("POST", &p("/invocation/abc/error")),
            Route::Error("abc".into())
        );
        assert_eq!(route("POST", &p("/init/error")), Route::InitError);
        assert_eq!(route("POST", &p("/invocation/next")), Route::Unknown);
        assert_eq!(
            route("GET", "/2020-01-01/extension/register"),
            Route::Unknown
        );
        assert_eq!(route("POST", &p("/invocation//response")), Route::Unknown);
    }

    #[test]
    fn the_deadline_is_the_start_plus_the_timeout() {
        assert_eq!(deadline_ms(1_000, Duration::from_secs(30)), 31_000);
        assert_eq!(deadline_ms(u64::MAX - 1, Duration::from_secs(1)), u64::MAX);
    }

    #[test]
    fn headers_carry_id_deadline_arn_and_trace() {
        let h = InvocationHeaders {
            request_id: "id".into(),
            deadline_ms: 42,
            function_arn: "arn".into(),
            trace_id: "t".into(),
        };
        let names: Vec<&str> = h.pairs().iter().map(|(k, _)| *k).collect();
        assert_eq!(
            names,
            [
                "Lambda-Runtime-Aws-Request-Id",
                "Lambda-Runtime-Deadline-Ms",
                "Lambda-Runtime-Invoked-Function-Arn",
                "Lambda-Runtime-Trace-Id"
            ]
        );
        assert_eq!(h.pairs()[1].1, "42");
    }

    #[test]
    fn request_ids_are_version_4_uuids() {
        for random in [0, u128::MAX, 0x0123_4567_89ab_cdef_0123_4567_89ab_cdef] {
            let id = request_id(random);
            assert_eq!(id.len(), 36, "{id}");
            assert_eq!(&id[14..15], "4", "{id}");
            assert!("89ab".contains(&id[19..20]), "{id}");
        }
    }

    #[test]
    fn trace_ids_have_lambdas_shape() {
        let t = trace_id(0x5f5e_1000, 0xabc);
        assert!(
            t.starts_with("Root=1-5f5e1000-000000000000000000000abc;Parent="),
            "{t}"
        );
        assert!(t.ends_with(";Sampled=0"), "{t}");
    }

    #[test]
    fn posted_errors_are_named_by_their_error_type_and_kept_verbatim() {
        let e = posted_error(
            br#"{"errorType":"KeyRejected","errorMessage":"no"}"#,
            Some("Other"),
        );
        assert_eq!(e.error_type, "KeyRejected");
        let f = e.to_failure();
        assert_eq!(f.error, "KeyRejected");
        assert_eq!(
            f.cause.as_deref(),
            Some(r#"{"errorType":"KeyRejected","errorMessage":"no"}"#)
        );
        // Without a type in the body, the header names it; without either, Lambda.Unknown.
        assert_eq!(
            posted_error(br#"{"errorMessage":"m"}"#, Some("H")).error_type,
            "H"
        );
        assert_eq!(
            posted_error(b"not json", None).to_failure().error,
            "Lambda.Unknown"
        );
    }

    #[test]
    fn exits_and_timeouts_are_typed_as_lambda_types_them() {
        let e = exit_error("r1", "signal: killed");
        assert_eq!(e.error_type, "Runtime.ExitError");
        assert_eq!(
            e.error_message,
            "RequestId: r1 Error: Runtime exited with error: signal: killed"
        );
        let t = timeout_error("r2", Duration::from_secs(3));
        assert_eq!(t.error_type, "Sandbox.Timedout");
        assert_eq!(
            t.error_message,
            "RequestId: r2 Error: Task timed out after 3.00 seconds"
        );
        assert_eq!(
            t.to_failure().cause.unwrap(),
            r#"{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: r2 Error: Task timed out after 3.00 seconds"}"#
        );
        assert_eq!(
            too_large_error(7 << 20).error_type,
            "Function.ResponseSizeTooLarge"
        );
    }

    #[test]
    fn response_bodies_become_payloads() {
        assert_eq!(response_payload(br#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(response_payload(b"plain"), json!("plain"));
        assert_eq!(response_payload(b""), Value::Null);
    }

    #[test]
    fn the_settings_variable_is_the_document_without_local_and_deploy() {
        let document = json!({
            "local": {"dataDir": "x"},
            "verify": {"maxConcurrency": 2},
            "source": {"bucket": "s", "prefix": ""},
            "destination": {"bucket": "d"},
            "deploy": {"stackName": "S"}
        });
        assert_eq!(
            settings_env(&document),
            r#"{"source":{"bucket":"s","prefix":""},"destination":{"bucket":"d"},"verify":{"maxConcurrency":2}}"#
        );
    }

    #[test]
    fn task_timeouts_come_from_the_definition() {
        let definition: Value = serde_json::from_str(crate::pipeline::DEFINITION).unwrap();
        let timeouts = task_timeouts(&definition);
        assert!(timeouts.contains(&("ValidateKeyFunctionArn".into(), Duration::from_secs(30))));
        assert!(timeouts.contains(&("CopyObjectFunctionArn".into(), Duration::from_secs(900))));
        assert!(timeouts.contains(&("VerifyCopyFunctionArn".into(), Duration::from_secs(900))));
    }
}
