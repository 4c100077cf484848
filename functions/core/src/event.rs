//! The S3 `Object Created` event as EventBridge delivers it, and as a Step Functions execution
//! started by an EventBridge rule receives it (the whole event is the execution input).
//!
//! The envelope is `aws_lambda_events`' [`EventBridgeEvent`]; the crate has no S3 detail type
//! (`docs/aws-facts.md#event-types-in-rust`), so [`ObjectCreatedDetail`] comes from
//! `copyflow-s3-event`, the wire format the embedded S3 server writes too. It is deliberately
//! tolerant (S3 User Guide, "EventBridge event message structure";
//! `docs/aws-facts.md#event-shape`):
//!
//! - kebab-case field names (`version-id`, `source-ip-address`), as AWS sends them;
//! - only `bucket.name` and `object.key` are required. `size`, `etag`, `version-id` (absent
//!   on unversioned buckets), `sequencer`, `reason`, `source-ip-address` (absent for events
//!   not caused by a request), `request-id`, `requester` and the newer `event-version` are
//!   optional;
//! - unknown fields are ignored, so new AWS fields never break parsing;
//! - `reason` is an open string (`PutObject`, `POST Object`/`PostObject`, `CopyObject`,
//!   `CompleteMultipartUpload`, ...);
//! - `etag` is unquoted in events (HeadObject's `ETag` header is quoted):
//!   [`ObjectRef::etag_unquoted`] normalises either form;
//! - `object.key` is URL-encoded: decode it with [`crate::keys::decode_event_key`].
//!
//! Events replayed from an EventBridge archive carry a top-level `replay-name`, which the
//! envelope type does not model; read it with [`replay_name`].

pub use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;

use crate::StepError;

pub use copyflow_s3_event::{
    BucketRef, DETAIL_TYPE_OBJECT_CREATED, ObjectCreatedDetail, ObjectRef, SOURCE_S3, unquote_etag,
};

/// An S3 event on EventBridge, with copyflow's detail type.
pub type ObjectCreatedEvent = EventBridgeEvent<ObjectCreatedDetail>;

/// Parses an event from the JSON value a step receives. Any shape error is `InvalidEvent`,
/// naming the field (`detail.object: missing field `key``).
///
/// Input that is not a JSON object (an array, a string, a number, `null`) is `InvalidEvent`
/// naming only its JSON type: the value itself is never echoed.
///
/// This does not check `source` / `detail-type`: see [`ensure_object_created`].
pub fn parse(value: &Value) -> Result<ObjectCreatedEvent, StepError> {
    if !value.is_object() {
        return Err(StepError::InvalidEvent(format!(
            "the input is {}, not a JSON object: the execution input must be the whole \
             EventBridge event (an EventBridge rule target without an input transformer)",
            json_type(value)
        )));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        StepError::InvalidEvent(format!(
            "not an S3 event on EventBridge: at {}: {}",
            e.path(),
            e.inner()
        ))
    })
}

/// The JSON type of `value`, with its article, for messages ("an array").
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// [`parse`] for JSON text.
pub fn parse_str(json: &str) -> Result<ObjectCreatedEvent, StepError> {
    let value: Value = serde_json::from_str(json)
        .map_err(|e| StepError::InvalidEvent(format!("the event is not JSON: {e}")))?;
    parse(&value)
}

/// `InvalidEvent` unless the event is `source` `aws.s3`, `detail-type` `Object Created`
/// (another type reaching the state machine means the EventBridge rule matches too much).
pub fn ensure_object_created(event: &ObjectCreatedEvent) -> Result<(), StepError> {
    if event.source == SOURCE_S3 && event.detail_type == DETAIL_TYPE_OBJECT_CREATED {
        Ok(())
    } else {
        Err(StepError::InvalidEvent(format!(
            "expected source {SOURCE_S3:?} and detail-type {DETAIL_TYPE_OBJECT_CREATED:?}, got \
             {:?} and {:?}: the EventBridge rule should match only S3 Object Created events",
            event.source, event.detail_type
        )))
    }
}

/// The top-level `replay-name` of an event replayed from an EventBridge archive.
pub fn replay_name(value: &Value) -> Option<&str> {
    value.get("replay-name").and_then(Value::as_str)
}

/// The event `time` in RFC 3339 UTC as EventBridge writes it (`2021-11-12T00:00:00Z`;
/// fractional seconds only when present).
pub fn event_time(event: &ObjectCreatedEvent) -> Option<String> {
    event
        .time
        .map(|time| time.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        json!({
            "detail-type": "Object Created",
            "source": "aws.s3",
            "detail": { "bucket": { "name": "b" }, "object": { "key": "k" } }
        })
    }

    #[test]
    fn only_bucket_name_and_key_are_required_in_the_detail() {
        let event = parse(&minimal()).unwrap();
        assert_eq!(event.detail.bucket.name, "b");
        assert_eq!(event.detail.object.key, "k");
        assert_eq!(event.detail.object.size, None);
        assert_eq!(event.id, None);
        ensure_object_created(&event).unwrap();
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let mut value = minimal();
        value["detail"]["object"]["checksum-algorithm"] = json!("CRC64NVME");
        value["detail"]["deletion-type"] = json!("Permanently Deleted");
        value["brand-new-envelope-field"] = json!({ "x": 1 });
        parse(&value).unwrap();
    }

    #[test]
    fn shape_errors_name_the_field() {
        let mut value = minimal();
        value["detail"]["object"]
            .as_object_mut()
            .unwrap()
            .remove("key");
        let error = parse(&value).unwrap_err();
        assert_eq!(error.name(), "InvalidEvent");
        assert!(
            error
                .to_string()
                .contains("at detail.object: missing field `key`"),
            "{error}"
        );
        let mut value = minimal();
        value["detail"]["object"]["size"] = json!("5");
        let error = parse(&value).unwrap_err().to_string();
        assert!(error.contains("detail.object.size"), "{error}");
        assert_eq!(parse_str("{").unwrap_err().name(), "InvalidEvent");
    }

    #[test]
    fn input_that_is_not_an_object_is_an_invalid_event_naming_only_its_type() {
        for (value, kind) in [
            (json!([1, 2, 3]), "an array"),
            (Value::Null, "null"),
            (json!("s3cr\u{7}et"), "a string"),
            (json!(5), "a number"),
            (json!(true), "a boolean"),
        ] {
            let error = parse(&value).unwrap_err();
            assert_eq!(error.name(), "InvalidEvent");
            let message = error.to_string();
            assert!(
                message.starts_with(&format!(
                    "invalid event: the input is {kind}, not a JSON object"
                )),
                "{message}"
            );
            assert!(!message.contains("s3cr"), "{message}");
        }
    }

    #[test]
    fn other_sources_and_detail_types_are_invalid_events() {
        let mut value = minimal();
        value["detail-type"] = json!("Object Deleted");
        let error = ensure_object_created(&parse(&value).unwrap()).unwrap_err();
        assert!(error.to_string().contains("\"Object Deleted\""), "{error}");
        let mut value = minimal();
        value["source"] = json!("copyflow.test");
        assert!(ensure_object_created(&parse(&value).unwrap()).is_err());
    }

    #[test]
    fn event_time_is_written_as_eventbridge_writes_it() {
        let mut value = minimal();
        value["time"] = json!("2021-11-12T00:00:00Z");
        assert_eq!(
            event_time(&parse(&value).unwrap()).as_deref(),
            Some("2021-11-12T00:00:00Z")
        );
        value["time"] = json!("2021-11-12T00:00:00.250Z");
        assert_eq!(
            event_time(&parse(&value).unwrap()).as_deref(),
            Some("2021-11-12T00:00:00.250Z")
        );
        value["time"] = json!("yesterday");
        assert_eq!(parse(&value).unwrap_err().name(), "InvalidEvent");
    }

    #[test]
    fn serializing_keeps_kebab_case_and_drops_absent_fields() {
        let event = parse(&minimal()).unwrap();
        let value = serde_json::to_value(&event.detail).unwrap();
        assert_eq!(
            value,
            json!({ "bucket": { "name": "b" }, "object": { "key": "k" } })
        );
    }
}
