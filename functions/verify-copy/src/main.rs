//! verify-copy Lambda: proves the destination identical to the copied source version.
//! Settings come from `COPYFLOW_SETTINGS` (the `copyflow.json` document).

use copyflow_core::{Settings, Steps};
use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    // Settings are checked here, once: a bad configuration fails at start-up.
    let settings = Settings::from_env()?;
    let steps = Steps::new(copyflow_core::s3::client_from_env().await, settings);
    let steps = &steps;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        steps
            .verify_copy(
                event.payload,
                steps.deadline_from_epoch_millis(event.context.deadline),
            )
            .await
    }))
    .await
}
