//! The Lambda functions a host registers, and how Step Functions talks to them.
//!
//! A handler gets the invocation payload as JSON and returns JSON, or a [`LambdaError`] whose
//! `errorType` becomes the error name that `Retry`/`Catch` match and whose error payload becomes
//! the cause, as with a real function
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html>). For the
//! `lambda:invoke` integration the result is wrapped the way the service wraps the Invoke
//! response (`ExecutedVersion`, `Payload`, `SdkHttpMetadata`, `SdkResponseMetadata`,
//! `StatusCode`); a `Payload` given as a string is sent as raw JSON text. An unknown function
//! fails with `Lambda.ResourceNotFoundException`, an error without a type with `Lambda.Unknown`.

use std::fmt;
use std::future::Future;

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use crate::error::{Failure, names};
use crate::json::{text_len, to_text};

/// A function the engine can call: function name → async handler.
pub trait LambdaHandler: Send + Sync + 'static {
    /// Handle one invocation.
    fn invoke(&self, payload: Value) -> BoxFuture<'static, Result<Value, LambdaError>>;
}

impl<F, Fut> LambdaHandler for F
where
    F: Fn(Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, LambdaError>> + Send + 'static,
{
    fn invoke(&self, payload: Value) -> BoxFuture<'static, Result<Value, LambdaError>> {
        Box::pin(self(payload))
    }
}

/// A function error: what a Lambda runtime reports as `{"errorType", "errorMessage"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct LambdaError {
    /// The error name seen by `ErrorEquals` (empty means `Lambda.Unknown`).
    pub error_type: String,
    /// The message.
    pub error_message: String,
    /// The full error payload, when the function reports more than type and message (for
    /// example a stack trace); it becomes the cause verbatim.
    pub body: Option<Value>,
}

impl LambdaError {
    /// An error with a type and a message; the cause is
    /// `{"errorType": ..., "errorMessage": ...}` as the Rust runtime sends it.
    pub fn new(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        LambdaError {
            error_type: error_type.into(),
            error_message: error_message.into(),
            body: None,
        }
    }

    /// An error reported with a complete payload; its `errorType` and `errorMessage` fields
    /// name it.
    pub fn from_body(body: Value) -> Self {
        let field = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        LambdaError {
            error_type: field("errorType"),
            error_message: field("errorMessage"),
            body: Some(body),
        }
    }

    /// The failure Step Functions records for this error.
    pub fn to_failure(&self) -> Failure {
        let cause = match &self.body {
            Some(body) => to_text(body),
            None => {
                let mut m = Map::new();
                m.insert("errorType".into(), Value::String(self.error_type.clone()));
                m.insert(
                    "errorMessage".into(),
                    Value::String(self.error_message.clone()),
                );
                to_text(&Value::Object(m))
            }
        };
        let error = if self.error_type.is_empty() {
            "Lambda.Unknown".to_owned()
        } else {
            self.error_type.clone()
        };
        Failure::new(error, Some(cause))
    }
}

impl fmt::Display for LambdaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.error_message)
    }
}

impl std::error::Error for LambdaError {}

/// The function name and payload of a `lambda:invoke` task, from its evaluated Parameters.
pub(crate) fn invoke_request(parameters: &Value) -> Result<(String, Value, bool), Failure> {
    let Some(map) = parameters.as_object() else {
        return Err(Failure::new(
            names::RUNTIME,
            Some("The Parameters of a lambda:invoke task must be an object".to_owned()),
        ));
    };
    let function = map
        .get("FunctionName")
        .and_then(Value::as_str)
        .and_then(crate::parse::function_name_from_arn)
        .ok_or_else(|| {
            Failure::new(
                "Lambda.InvalidParameterValueException",
                Some("FunctionName must be a function name or ARN".to_owned()),
            )
        })?;
    // An absent or null Payload sends an empty request body, which the function sees as `{}`.
    let payload = match map.get("Payload") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::String(text)) => serde_json::from_str(text).map_err(|e| {
            Failure::new(
                "Lambda.InvalidRequestContentException",
                Some(format!("Could not parse request body into json: {e}")),
            )
        })?,
        Some(other) => other.clone(),
    };
    let tail = map.get("LogType").and_then(Value::as_str) == Some("Tail");
    Ok((function, payload, tail))
}

/// The `lambda:invoke` result: the Invoke response as the service returns it.
pub(crate) fn invoke_result(payload: Value, request_id: &str, date: &str, tail: bool) -> Value {
    let length = text_len(&payload).to_string();
    let mut all = Map::new();
    let mut single = Map::new();
    let mut header = |k: &str, v: &str| {
        all.insert(k.to_owned(), json!([v]));
        single.insert(k.to_owned(), json!(v));
    };
    header("Connection", "keep-alive");
    header("Content-Length", &length);
    header("Content-Type", "application/json");
    header("Date", date);
    header("X-Amz-Executed-Version", "$LATEST");
    header("x-amzn-Remapped-Content-Length", "0");
    header("x-amzn-RequestId", request_id);
    let mut out = Map::new();
    out.insert("ExecutedVersion".into(), json!("$LATEST"));
    if tail {
        let log = format!(
            "START RequestId: {request_id} Version: $LATEST\nEND RequestId: {request_id}\nREPORT RequestId: {request_id}\n"
        );
        out.insert(
            "LogResult".into(),
            json!(base64_simd::STANDARD.encode_to_string(log.as_bytes())),
        );
    }
    out.insert("Payload".into(), payload);
    out.insert(
        "SdkHttpMetadata".into(),
        json!({"AllHttpHeaders": all, "HttpHeaders": single, "HttpStatusCode": 200}),
    );
    out.insert(
        "SdkResponseMetadata".into(),
        json!({"RequestId": request_id}),
    );
    out.insert("StatusCode".into(), json!(200));
    Value::Object(out)
}

/// The failure for a function that is not registered.
pub(crate) fn not_found(region: &str, account: &str, function: &str, request_id: &str) -> Failure {
    Failure::new(
        names::LAMBDA_RESOURCE_NOT_FOUND,
        Some(format!(
            "Function not found: arn:aws:lambda:{region}:{account}:function:{function}:$LATEST (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: {request_id}; Proxy: null)"
        )),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn errors_become_failures_named_by_their_type() {
        let f = LambdaError::new("SourceChanged", "newer version").to_failure();
        assert_eq!(f.error, "SourceChanged");
        assert_eq!(
            f.cause.as_deref(),
            Some(r#"{"errorType":"SourceChanged","errorMessage":"newer version"}"#)
        );
        assert!(!f.terminal);
    }

    #[test]
    fn untyped_errors_are_lambda_unknown() {
        assert_eq!(
            LambdaError::new("", "boom").to_failure().error,
            "Lambda.Unknown"
        );
    }

    #[test]
    fn full_error_bodies_are_the_cause_verbatim() {
        let body = json!({"errorMessage": "m", "errorType": "Exception", "stackTrace": ["x"]});
        let e = LambdaError::from_body(body.clone());
        assert_eq!(e.error_type, "Exception");
        assert_eq!(e.to_failure().cause.unwrap(), to_text(&body));
    }

    #[test]
    fn string_payloads_are_raw_json_text() {
        let (f, p, _) = invoke_request(
            &json!({"FunctionName": "arn:aws:lambda:r:1:function:fn", "Payload": "[1]"}),
        )
        .unwrap();
        assert_eq!(f, "fn");
        assert_eq!(p, json!([1]));
        let (_, p, _) = invoke_request(&json!({"FunctionName": "fn", "Payload": null})).unwrap();
        assert_eq!(p, json!({}));
    }

    #[test]
    fn invoke_results_wrap_the_payload() {
        let r = invoke_result(json!({"a": 1}), "req", "date", false);
        assert_eq!(r["Payload"], json!({"a": 1}));
        assert_eq!(r["StatusCode"], json!(200));
        assert_eq!(r["ExecutedVersion"], json!("$LATEST"));
        assert_eq!(r["SdkResponseMetadata"]["RequestId"], json!("req"));
        assert!(r.get("LogResult").is_none());
        assert!(
            invoke_result(json!(1), "req", "date", true)
                .get("LogResult")
                .is_some()
        );
    }

    #[tokio::test]
    async fn closures_are_handlers() {
        let h = |payload: Value| async move { Ok::<_, LambdaError>(payload) };
        assert_eq!(h.invoke(json!(3)).await.unwrap(), json!(3));
    }
}
