//! What s3s's router made of a request, for the server's work after s3s has answered.
//!
//! s3s names the operation of every request it routes, and hands that name to an access
//! hook ([`S3Access::check`]) before the operation runs. [`RouteHook`] is that hook: it
//! records the name in the request's [`Routed`] slot (the hyper service put it in the
//! request's extensions and keeps a handle), decides the request's fault when fault
//! injection is built in, and then checks access as s3s would without a hook. A request s3s
//! refuses before routing leaves the slot empty.

use std::sync::{Arc, OnceLock};

use s3s::S3Result;
use s3s::access::{S3Access, S3AccessContext};

#[cfg(feature = "faults")]
use crate::faults::{self, Fault, FaultInjector};

/// One request's routing outcome, shared between the hyper service and [`RouteHook`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Routed(Arc<OnceLock<Route>>);

#[derive(Debug)]
struct Route {
    operation: String,
    /// A fault that stopped the request at routing; the hyper service carries it out.
    #[cfg(feature = "faults")]
    fault: Option<Fault>,
}

impl Routed {
    /// s3s's name of the request's operation, e.g. "GetObjectAttributes"; `None` when s3s
    /// refused the request before routing it.
    pub(crate) fn operation(&self) -> Option<&str> {
        self.0.get().map(|route| route.operation.as_str())
    }

    /// The fault that stopped the request at routing, if any.
    #[cfg(feature = "faults")]
    pub(crate) fn fault(&self) -> Option<&Fault> {
        self.0.get().and_then(|route| route.fault.as_ref())
    }
}

/// The access hook: records each request's operation (and fault) in its [`Routed`] slot.
#[derive(Debug, Default)]
pub(crate) struct RouteHook {
    #[cfg(feature = "faults")]
    faults: Arc<FaultInjector>,
}

impl RouteHook {
    /// A hook that decides faults with `faults`.
    #[cfg(feature = "faults")]
    pub(crate) fn with_faults(faults: Arc<FaultInjector>) -> Self {
        Self { faults }
    }
}

#[async_trait::async_trait]
impl S3Access for RouteHook {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        if let Some(slot) = cx.extensions_mut().get::<Routed>().cloned() {
            let route = self.route(cx.s3_op().name()).await;
            let stop = route.stop();
            let _ = slot.0.set(route);
            if let Some(e) = stop {
                return Err(e);
            }
        }
        // s3s's own check when no hook is set: only signed requests get through.
        match cx.credentials() {
            Some(_) => Ok(()),
            None => Err(s3s::s3_error!(AccessDenied, "Signature is required")),
        }
    }
}

impl RouteHook {
    #[cfg(feature = "faults")]
    async fn route(&self, operation: &str) -> Route {
        Route {
            operation: operation.to_owned(),
            fault: faults::at_routing(&self.faults, operation).await,
        }
    }

    #[cfg(not(feature = "faults"))]
    async fn route(&self, operation: &str) -> Route {
        Route {
            operation: operation.to_owned(),
        }
    }
}

impl Route {
    /// The error that stops the request before its operation runs, if it must stop.
    #[cfg(feature = "faults")]
    fn stop(&self) -> Option<s3s::S3Error> {
        self.fault.as_ref().map(faults::stop)
    }

    #[cfg(not(feature = "faults"))]
    fn stop(&self) -> Option<s3s::S3Error> {
        None
    }
}
