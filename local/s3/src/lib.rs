//! copyflow-s3: an embedded S3-compatible server for local runs and tests.
//!
//! It starts in milliseconds inside the caller's process (or standalone as the
//! `copyflow-s3` binary), stores objects in a directory, answers the S3 REST API through the
//! `s3s` protocol crate with AWS semantics for everything copyflow relies on (checksums,
//! conditional and versioned copies, multipart copy), enforces IAM policies bound to access
//! keys ([`iam`]), emits the EventBridge
//! `Object Created` events S3 would (live on a bus, and durably in an outbox that survives
//! a killed server: [`Outbox`]), and, built with the `faults` feature, injects faults on purpose
//! (`faults`).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let dir = std::env::temp_dir().join("copyflow-s3-example");
//! let server = copyflow_s3::S3Server::start(copyflow_s3::ServerConfig::new(dir)).await?;
//! let mut events = server.subscribe();
//! println!("S3 at {}", server.endpoint());
//! # drop(events); server.shutdown().await; Ok(()) }
//! ```

mod clock;
mod errors;
pub mod event;
#[cfg(feature = "faults")]
pub mod faults;
pub mod iam;
mod idle;
mod lifecycle;
mod limits;
pub mod outbox;
mod routed;
mod server;
mod service;
mod store;

pub use clock::Clock;
pub use event::{KeyEncoding, ObjectCreatedEvent};
pub use outbox::{Outbox, OutboxEntry};
pub use server::{
    DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, LOCAL_ACCOUNT_ID, S3Server, ServerConfig,
};
