//! The three steps as JSON-in, JSON-out functions: exactly what a Lambda function receives
//! and returns, so the Lambda adapters and the local runner call the same code with the same
//! payloads.

use aws_sdk_s3::Client;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::copy::{CopyContext, CopyDocument, copy};
use crate::deadline::Deadline;
use crate::verify::{VerifyContext, VerifyDocument, verify};
use crate::{Settings, StepError};

/// The three steps with their shared configuration.
#[derive(Debug)]
pub struct Steps {
    copy_client: Client,
    verify_client: Client,
    settings: Settings,
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
        to_json(&verify(&cx, doc).await?)
    }

    /// The deadline a step invocation gets from a Lambda context deadline (ms since epoch),
    /// keeping `copy.deadlineMarginSeconds` in hand.
    pub fn deadline_from_epoch_millis(&self, deadline_ms: u64) -> Deadline {
        Deadline::from_epoch_millis(deadline_ms, self.settings.deadline_margin())
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
