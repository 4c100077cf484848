//! verify-copy Lambda: proves the destination identical to the copied source version.
//! Settings come from `COPYFLOW_SETTINGS` (the `copyflow.json` document).

use copyflow_core::{Settings, StepError, Steps};
use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    // Settings are checked here, once. Bad ones do not crash the init (a crash loop): every
    // invocation is answered with ConfigurationError naming the field.
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
