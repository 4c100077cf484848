//! The three steps as JSON-in, JSON-out functions: exactly what a Lambda function receives
//! and returns, so the Lambda adapters and the local runner call the same code with the same
//! payloads.

use aws_sdk_s3::Client;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use std::io::Write;

use crate::copy::{CopyContext, CopyDocument, CopyStatus, copy};
use crate::deadline::Deadline;
use crate::verify::{VerifyContext, VerifyDocument, VerifyStatus, verify};
use crate::{Settings, StepError};

/// The three steps with their shared configuration.
#[derive(Debug)]
pub struct Steps {
    copy_client: Client,
    verify_client: Client,
    settings: Settings,
    /// Print an EMF metrics line per finished verification (inside Lambda only).
    emf: bool,
}

impl Steps {
    /// The steps over checked settings (a bad configuration failed when it was loaded, at
    /// start-up, not on the first object).
    pub fn new(client: Client, settings: Settings) -> Steps {
        Steps::with_clients(client.clone(), client, settings)
    }

    /// The steps with a client of their own each, signing with different credentials (as
    /// each Lambda function has a role of its own). validate-key makes no S3 calls.
    pub fn with_clients(copy_client: Client, verify_client: Client, settings: Settings) -> Steps {
        Steps {
            copy_client,
            verify_client,
            settings,
            emf: crate::metrics::emf_enabled(),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// validate-key: the EventBridge event in, `{"action": ...}` out.
    pub fn validate_key(&self, event: &Value) -> Result<Value, StepError> {
        crate::validate::validate_json(event, self.settings.key_rules())
    }

    /// copy-object: the state document in, the document with `copy` set out.
    pub async fn copy_object(
        &self,
        payload: Value,
        deadline: Deadline,
    ) -> Result<Value, StepError> {
        let doc: CopyDocument = from_json(payload, "copy-object")?;
        let cx = CopyContext {
            client: &self.copy_client,
            settings: &self.settings,
            deadline,
        };
        to_json(&copy(&cx, doc).await?)
    }

    /// verify-copy: the state document after a finished copy in, with `verify` set out.
    ///
    /// Inside a Lambda function it also prints one EMF line per finished verification
    /// ([`crate::metrics`]): verified (`Copied`) or refused with a terminal error; not for an
    /// unfinished one (it continues in the next invocation) nor for an error the state
    /// machine retries (the retry's own line counts it).
    pub async fn verify_copy(
        &self,
        payload: Value,
        deadline: Deadline,
    ) -> Result<Value, StepError> {
        let doc: VerifyDocument = from_json(payload, "verify-copy")?;
        let cx = VerifyContext {
            client: &self.verify_client,
            settings: &self.settings,
            deadline,
        };
        let measured = self.emf.then(|| Measured::of(&doc));
        let result = verify(&cx, doc).await;
        if let Some(measured) = measured {
            measured.emit(&result);
        }
        to_json(&result?)
    }

    /// The deadline a step invocation gets from a Lambda context deadline (ms since epoch),
    /// keeping `copy.deadlineMarginSeconds` in hand.
    pub fn deadline_from_epoch_millis(&self, deadline_ms: u64) -> Deadline {
        Deadline::from_epoch_millis(deadline_ms, self.settings.deadline_margin())
    }
}

/// What the metrics line needs from the document, taken before verify consumes it.
struct Measured {
    event_time: String,
    key: String,
    bytes_copied: u64,
}

impl Measured {
    fn of(doc: &VerifyDocument) -> Measured {
        let copied = doc.copy.status == CopyStatus::Copied;
        Measured {
            event_time: doc.job.event_time.clone(),
            key: doc.copy.destination_key.clone(),
            bytes_copied: if copied { doc.copy.source.size } else { 0 },
        }
    }

    fn emit(self, result: &Result<VerifyDocument, StepError>) {
        let outcome = match result {
            Ok(doc) => match &doc.verify {
                Some(v) if v.status == VerifyStatus::Verified => crate::metrics::COPIED,
                _ => return,
            },
            Err(e) if e.retryable() => return,
            Err(e) => e.name(),
        };
        let now = time::OffsetDateTime::now_utc();
        let line = crate::metrics::emf_line(
            &crate::metrics::VerifiedExecution {
                outcome: outcome.to_owned(),
                latency_seconds: crate::metrics::latency_seconds(&self.event_time, now),
                bytes_copied: self.bytes_copied,
                key: self.key,
                function: crate::metrics::lambda_function_name().unwrap_or_default(),
            },
            now,
        );
        // One write of the whole line: CloudWatch Logs reads one JSON object per log event.
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

fn from_json<T: DeserializeOwned>(payload: Value, step: &str) -> Result<T, StepError> {
    serde_path_to_error::deserialize(payload).map_err(|e| {
        StepError::InvalidEvent(format!("{step} input at {}: {}", e.path(), e.inner()))
    })
}

fn to_json<T: Serialize>(value: &T) -> Result<Value, StepError> {
    serde_json::to_value(value)
        .map_err(|e| StepError::Internal(format!("serializing step output: {e}")))
}
