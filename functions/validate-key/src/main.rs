//! validate-key Lambda: parses the S3 Object Created event and applies the key rules.
//! No S3 access, so no S3 client (copyflow-core without its `s3` feature: the binary links no
//! AWS SDK). Settings come from `COPYFLOW_SETTINGS` (the `copyflow.json` document).

use copyflow_core::{Settings, StepError};
use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    // The settings (and so the rules) are checked once, up front. Bad ones do not crash the
    // init (Lambda would restart it for every event): every invocation is answered with
    // ConfigurationError naming the field, which the state machine routes to its end state.
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            let error = StepError::ConfigurationError(e.to_string());
            return run(service_fn(move |_: LambdaEvent<Value>| {
                let error = error.clone();
                async move { Err::<Value, _>(error) }
            }))
            .await;
        }
    };
    let rules = settings.key_rules();
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        copyflow_core::validate_json(&event.payload, rules)
    }))
    .await
}
