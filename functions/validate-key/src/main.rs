//! validate-key Lambda: parses the S3 Object Created event and applies the key rules.
//! No S3 access. Settings come from `COPYFLOW_SETTINGS` (the `copyflow.json` document).

use copyflow_core::{Settings, Steps};
use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    // validate-key makes no S3 call; the client is only there because Steps holds one.
    let steps = Steps::new(
        copyflow_core::s3::client_from_env().await,
        Settings::from_env()?,
    )?;
    let steps = &steps;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        steps.validate_key(&event.payload)
    }))
    .await
}
