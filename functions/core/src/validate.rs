//! The validate-key step (`ValidateKey` in the state machine) as a pure function: an S3
//! `Object Created` event in, a copy job or a skip out, or a rejection as an error.
//!
//! Step Functions passes the whole EventBridge event as the execution input (an EventBridge
//! rule with no input transformer sends the entire event), and the Task passes it on as the
//! Lambda payload, so [`validate`] takes the event JSON as is. No S3 request is made: the copy
//! step confirms the key with `HeadObject` (the decoded reading first, the raw one only when
//! it differs and the decoded one is missing or another object; see [`crate::keys`]).
//!
//! The output is the contract with the ASL and the copy step, so its JSON is stable:
//!
//! ```json
//! { "action": "copy",
//!   "job": {
//!     "source": { "bucket": "copyflow-source", "key": "Ajay/2020-04-06/12/my task+1.txt",
//!                 "rawKey": "Ajay/2020-04-06/12/my+task%2B1.txt", "versionId": "3HL4...",
//!                 "etag": "9e107d9d372bb6826bd81d3542a419d6", "size": 42,
//!                 "sequencer": "005E8B2130A1B2C3D4" },
//!     "destination": { "bucket": "copyflow-destination",
//!                      "key": "Ajay/2020-04-06/12/my task+1.txt",
//!                      "keyForRawSource": "Ajay/2020-04-06/12/my+task%2B1.txt" },
//!     "eventId": "5b0a2b7e-...", "eventTime": "2020-04-06T12:34:56Z" } }
//!
//! { "action": "skip", "reason": "folder-marker", "message": "\"a/b/\" is a folder marker ..." }
//! ```
//!
//! Optional fields are omitted when absent (`versionId` on unversioned buckets,
//! `keyForRawSource` when the key needed no decoding, `keyDecodeError` unless the event key
//! is not valid URL-encoding: then `key` is the raw key, its only reading). `reason` is one of `folder-marker`,
//! `outside-source-prefix`, `wrong-bucket`. A key that breaks a rule is
//! `Err(StepError::KeyRejected)`; a malformed event `Err(StepError::InvalidEvent)`; a loop
//! `Err(StepError::ConfigurationError)`. In the ASL: a Choice on `$.action` sends `skip` to
//! the `Skipped` Succeed state and `copy` to `CopyObject` with `job` as its input.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::StepError;
use crate::event::{self, ObjectCreatedEvent};
pub(crate) use crate::keys::SkipReason;
use crate::keys::{self, KeyDecision, KeyRules};

/// What validate-key decided.
// One value per invocation: boxing the job would buy nothing and make matching clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum ValidateOutput {
    /// Copy the object: `{"action": "copy", "job": {...}}`.
    Copy {
        /// The copy step's input.
        job: CopyJob,
    },
    /// Leave it alone: `{"action": "skip", "reason": "...", "message": "..."}`.
    Skip {
        /// Why, as a stable kebab-case value.
        reason: SkipReason,
        /// A sentence for people reading the execution.
        message: String,
    },
}

/// One object to copy: the copy step's input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyJob {
    /// The object the event announced.
    pub source: SourceObject,
    /// Where it goes.
    pub destination: DestinationObject,
    /// The EventBridge event `id` (logs, idempotency records).
    pub event_id: String,
    /// The EventBridge event `time`, RFC 3339 UTC.
    pub event_time: String,
}

/// The source object as the event described it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceObject {
    /// The source bucket.
    pub bucket: String,
    /// The decoded key: try this first.
    pub key: String,
    /// The key exactly as in the event: try it when no object has the decoded key (only
    /// when it differs, and `destination.keyForRawSource` is present).
    pub raw_key: String,
    /// The version the event is about; pin it (`?versionId=`) when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// The unquoted ETag from the event; pin it with `x-amz-copy-source-if-match` so an
    /// overwritten source fails as `SourceChanged`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The size from the event, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The event's sequencer (orders events for this key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequencer: Option<String>,
    /// Present when `rawKey` is not valid URL-encoding (`%zz`, escapes that are not UTF-8),
    /// saying why: then `key` is the raw key, the only reading, and when no object has it the
    /// copy step fails with `InvalidEvent` rather than `SourceNotFound`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_decode_error: Option<String>,
}

/// The destination of the copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationObject {
    /// The destination bucket.
    pub bucket: String,
    /// The destination key for the source at `source.key`.
    pub key: String,
    /// The destination key to use instead when the source turns out to be stored under
    /// `source.rawKey` (EventBridge sent the key unencoded), so the copy keeps the source's
    /// real name. Absent when the key needed no decoding, or when the raw key breaks a key
    /// rule (then there is no fallback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_for_raw_source: Option<String>,
}

impl CopyJob {
    /// `x-amz-copy-source` for the decoded key, pinned to the event's version when known.
    pub fn copy_source(&self) -> String {
        keys::copy_source(
            &self.source.bucket,
            &self.source.key,
            self.source.version_id.as_deref(),
        )
    }

    /// The raw-key fallback: `(source raw key, destination key)`, when there is one.
    pub fn raw_fallback(&self) -> Option<(&str, &str)> {
        self.destination
            .key_for_raw_source
            .as_deref()
            .map(|destination| (self.source.raw_key.as_str(), destination))
    }
}

/// The validate-key step: reads the event JSON and applies the key rules.
pub fn validate(event: &Value, rules: &KeyRules) -> Result<ValidateOutput, StepError> {
    validate_event(&event::parse(event)?, rules)
}

/// [`validate`] as the Lambda function answers: the event JSON in, the output JSON out.
pub fn validate_json(event: &Value, rules: &KeyRules) -> Result<Value, StepError> {
    serde_json::to_value(validate(event, rules)?)
        .map_err(|e| StepError::Internal(format!("serializing step output: {e}")))
}

/// [`validate`] for an already parsed event.
pub(crate) fn validate_event(
    event: &ObjectCreatedEvent,
    rules: &KeyRules,
) -> Result<ValidateOutput, StepError> {
    event::ensure_object_created(event)?;
    let event_id = event
        .id
        .clone()
        .ok_or_else(|| StepError::InvalidEvent("the event has no id".to_owned()))?;
    let event_time = event::event_time(event)
        .ok_or_else(|| StepError::InvalidEvent("the event has no time".to_owned()))?;
    let detail = &event.detail;
    let object = &detail.object;
    let key = keys::decode_event_key(&object.key)?;

    let destination_key = match rules.evaluate(&detail.bucket.name, &key.decoded, object.size)? {
        KeyDecision::Copy { destination_key } => destination_key,
        KeyDecision::Skip { reason, message } => {
            return Ok(ValidateOutput::Skip { reason, message });
        }
    };
    let key_for_raw_source = key
        .is_encoded()
        .then(|| rules.evaluate(&detail.bucket.name, &key.raw, object.size))
        .and_then(|decision| match decision {
            Ok(KeyDecision::Copy { destination_key }) => Some(destination_key),
            Ok(KeyDecision::Skip { .. }) | Err(_) => None,
        });

    Ok(ValidateOutput::Copy {
        job: CopyJob {
            source: SourceObject {
                bucket: detail.bucket.name.clone(),
                key: key.decoded,
                raw_key: key.raw,
                version_id: object.version_id.clone(),
                etag: object.etag_unquoted().map(str::to_owned),
                size: object.size,
                sequencer: object.sequencer.clone(),
                key_decode_error: key.decode_error,
            },
            destination: DestinationObject {
                bucket: rules.destination_bucket().to_owned(),
                key: destination_key,
                key_for_raw_source,
            },
            event_id,
            event_time,
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::{SettingsDocument, SettingsOrigin};
    use serde_json::json;

    fn rules() -> KeyRules {
        rules_of(|_| ())
    }

    fn rules_of(edit: impl FnOnce(&mut SettingsDocument)) -> KeyRules {
        let mut document = SettingsDocument::new("copyflow-source", "copyflow-destination");
        edit(&mut document);
        let settings = document.check(SettingsOrigin::Built).unwrap();
        settings.key_rules().clone()
    }

    fn event(key: &str, size: Option<u64>) -> Value {
        let mut value = json!({
            "version": "0",
            "id": "e-1",
            "detail-type": "Object Created",
            "source": "aws.s3",
            "time": "2020-04-06T12:34:56Z",
            "detail": {
                "bucket": { "name": "copyflow-source" },
                "object": { "key": key, "etag": "\"abc\"", "sequencer": "01" }
            }
        });
        if let Some(size) = size {
            value["detail"]["object"]["size"] = json!(size);
        }
        value
    }

    #[test]
    fn a_plain_key_becomes_a_job_without_raw_fallback() {
        let output = validate(&event("Ajay/2020-04-06/12/a.txt", Some(3)), &rules()).unwrap();
        let ValidateOutput::Copy { job } = output else {
            panic!("{output:?}")
        };
        assert_eq!(job.source.key, "Ajay/2020-04-06/12/a.txt");
        assert_eq!(job.source.raw_key, job.source.key);
        assert_eq!(job.source.etag.as_deref(), Some("abc"));
        assert_eq!(job.destination.key, job.source.key);
        assert_eq!(job.destination.key_for_raw_source, None);
        assert_eq!(job.raw_fallback(), None);
        assert_eq!(
            job.copy_source(),
            "copyflow-source/Ajay/2020-04-06/12/a.txt"
        );
        assert_eq!(job.event_id, "e-1");
        assert_eq!(job.event_time, "2020-04-06T12:34:56Z");
    }

    #[test]
    fn the_json_shape_is_the_documented_one() {
        let output = validate(
            &event("Ajay/2020-04-06/12/my+task%2B1.txt", Some(3)),
            &rules(),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&output).unwrap(),
            json!({
                "action": "copy",
                "job": {
                    "source": {
                        "bucket": "copyflow-source",
                        "key": "Ajay/2020-04-06/12/my task+1.txt",
                        "rawKey": "Ajay/2020-04-06/12/my+task%2B1.txt",
                        "etag": "abc",
                        "size": 3,
                        "sequencer": "01"
                    },
                    "destination": {
                        "bucket": "copyflow-destination",
                        "key": "Ajay/2020-04-06/12/my task+1.txt",
                        "keyForRawSource": "Ajay/2020-04-06/12/my+task%2B1.txt"
                    },
                    "eventId": "e-1",
                    "eventTime": "2020-04-06T12:34:56Z"
                }
            })
        );
        let skip = validate(&event("a/b/", Some(0)), &rules()).unwrap();
        assert_eq!(
            serde_json::to_value(&skip).unwrap(),
            json!({
                "action": "skip",
                "reason": "folder-marker",
                "message": "\"a/b/\" is a folder marker (ends with '/', no bytes)"
            })
        );
    }

    #[test]
    fn output_round_trips_through_json() {
        for value in [
            event("Ajay/2020-04-06/12/my+task%2B1.txt", None),
            event("a/", None),
        ] {
            let output = validate(&value, &rules()).unwrap();
            let text = serde_json::to_string(&output).unwrap();
            assert_eq!(
                serde_json::from_str::<ValidateOutput>(&text).unwrap(),
                output
            );
        }
    }

    #[test]
    fn the_copy_step_accepts_a_job_with_extra_fields() {
        let output = validate(&event("Ajay/2020-04-06/12/a.txt", Some(3)), &rules()).unwrap();
        let mut value = serde_json::to_value(&output).unwrap()["job"].clone();
        value["checkpoint"] = json!({ "uploadId": "u" });
        serde_json::from_value::<CopyJob>(value).unwrap();
    }

    #[test]
    fn no_raw_fallback_when_the_raw_key_breaks_a_rule() {
        // The raw key "%0A" has no control character, but its decoded form does: rejected.
        let error = validate(&event("Ajay/2020-04-06/12/a%0A.txt", Some(1)), &rules()).unwrap_err();
        assert_eq!(error.name(), "KeyRejected");
        // A raw key outside the source prefix (the prefix has a space) gives no fallback.
        let rules = rules_of(|d| {
            d.source.prefix = "in box/".into();
            d.destination.prefix = Some("out/".into());
        });
        let output = validate(&event("in+box/Ajay/2020-04-06/12/a.txt", Some(1)), &rules).unwrap();
        let ValidateOutput::Copy { job } = output else {
            panic!("{output:?}")
        };
        assert_eq!(job.destination.key, "out/Ajay/2020-04-06/12/a.txt");
        assert_eq!(job.destination.key_for_raw_source, None);
    }

    #[test]
    fn a_key_that_is_not_valid_encoding_is_copied_under_its_raw_name_and_says_why() {
        let output = validate(&event("Ajay/2020-04-06/12/50%zz+1.txt", Some(3)), &rules()).unwrap();
        let ValidateOutput::Copy { job } = output else {
            panic!("{output:?}")
        };
        assert_eq!(job.source.key, "Ajay/2020-04-06/12/50%zz+1.txt");
        assert_eq!(job.destination.key, job.source.key);
        assert_eq!(job.raw_fallback(), None);
        let value = serde_json::to_value(&job).unwrap();
        assert_eq!(
            value["source"]["keyDecodeError"],
            json!("the `%` at byte 21 is not followed by two hex digits")
        );
    }

    #[test]
    fn input_that_is_not_an_object_is_an_invalid_event() {
        for value in [json!([1, 2, 3]), Value::Null, json!("string")] {
            let error = validate(&value, &rules()).unwrap_err();
            assert_eq!(error.name(), "InvalidEvent", "{value}");
        }
    }

    #[test]
    fn events_without_id_or_time_are_invalid() {
        for field in ["id", "time"] {
            let mut value = event("Ajay/2020-04-06/12/a.txt", Some(1));
            value.as_object_mut().unwrap().remove(field);
            let error = validate(&value, &rules()).unwrap_err();
            assert_eq!(error.name(), "InvalidEvent", "{field}");
        }
    }
}
