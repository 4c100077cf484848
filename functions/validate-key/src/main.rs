//! validate-key Lambda: parses the S3 Object Created event and applies the key rules.
//! No S3 access, so no S3 client (copyflow-core without its `s3` feature: the binary links no
//! AWS SDK). Settings come from `COPYFLOW_SETTINGS` (the `copyflow.json` document).

use copyflow_core::Settings;
use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    // The settings (and so the rules) are checked once, up front: a bad configuration fails
    // at start-up.
    let settings = Settings::from_env()?;
    let rules = settings.key_rules();
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        copyflow_core::validate_json(&event.payload, rules)
    }))
    .await
}
