//! Fault injection for tests and the CLI (the `faults` cargo feature): S3 errors, dropped
//! connections and latency, switched on and off per test at runtime, and replayable from a
//! seed.
//!
//! A test installs a [`FaultPlan`] on the server's [`FaultInjector`]. s3s routes each
//! request and calls the server's access hook with the operation's name ([`crate::routed`]);
//! there the injector counts the request and decides its fault. The injected faults are the
//! ones S3 clients must survive:
//!
//! - [`Fault::SlowDown`]: HTTP 503 with error code `SlowDown`, S3's throttling answer
//!   ("Please reduce your request rate."). AWS SDKs treat it as a throttling error and retry
//!   with backoff.
//! - [`Fault::InternalError`]: HTTP 500 `InternalError` ("We encountered an internal error.
//!   Please try again."), which AWS documents as retryable.
//! - [`Fault::DropConnection`]: the connection closes without a response (a transient
//!   network failure from the client's point of view).
//! - [`Fault::Latency`]: the request is served after a delay.
//!
//! Requests s3s refuses before routing (a bad signature, an unknown route) have no
//! operation and get no fault.
//!
//! One job per file: [`operation`](Operation) names, the seeded [`plan`](FaultPlan), the
//! `--faults SPEC` text ([`FaultPlan::parse_spec`]), the [`FaultInjector`] and its
//! statistics, carrying a fault out (`apply`), and the XML error body (`error_body`).

mod apply;
mod error_body;
mod injector;
mod operation;
mod plan;
mod spec;

pub(crate) use apply::{answer, at_routing, stop};
pub(crate) use error_body::error_response;
pub use injector::FaultInjector;
pub use operation::{Operation, ParseOperationError};
pub use plan::{Fault, FaultKind, FaultPlan, FaultRule};
pub use spec::{FAULT_SPEC_FORM, FaultSpecError};
