//! The web console: every execution's path through the state machine, live, in a browser,
//! for the local runtime (`copyflow up`) and for a deployed pipeline (`copyflow console
//! --aws`). Served by the copyflow binary on loopback; the page is plain HTML, CSS and
//! JavaScript written here and compiled in.
//!
//! The pure parts (the graph layout, what each state did, the copy card, progress
//! arithmetic) are separate modules with their own tests; [`source`] is where the two
//! pipelines differ.

mod api;
mod assets;
pub mod card;
pub mod graph;
mod live;
pub mod progress;
pub mod source;
pub mod states;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use source::Source;

/// Where `up` serves the console unless `local.consoleAddress` says otherwise.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:8084";

/// Serves the console for `source` on `address` until the returned task is aborted; `poll`
/// is how often the live feed looks for new executions.
pub async fn serve(
    address: SocketAddr,
    source: Arc<dyn Source>,
    poll: Duration,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let local = listener.local_addr()?;
    let app = api::router(api::Console { source, poll });
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the console stopped");
        }
    });
    Ok((local, task))
}
