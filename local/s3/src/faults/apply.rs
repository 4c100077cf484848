//! Carrying out a decided fault at the two points a request passes: the access hook s3s
//! calls once it has routed the request (latency is served there, and the other faults stop
//! the request before its operation runs), and the hyper service once s3s has answered
//! (the fault's own answer replaces s3s's, or the connection is dropped).

use s3s::{S3Error, S3ErrorCode};

use super::{Fault, FaultInjector, Operation, error_response};

/// Counts a request of the operation s3s named and decides its fault. A latency fault is
/// served here (the request then runs normally); any other fault is returned, and the
/// request must stop.
pub(crate) async fn at_routing(injector: &FaultInjector, operation_name: &str) -> Option<Fault> {
    match injector.decide(Operation::from_routed(operation_name))? {
        Fault::Latency(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        fault => Some(fault),
    }
}

/// What the access hook returns to stop a request with `fault`. The client never sees it
/// ([`answer`] replaces it); a 4xx status keeps s3s from logging it as a server error.
pub(crate) fn stop(fault: &Fault) -> S3Error {
    let mut e = S3Error::with_message(
        S3ErrorCode::Custom("InjectedFault".into()),
        format!("request stopped by fault injection ({})", fault.kind()),
    );
    e.set_status_code(http::StatusCode::BAD_REQUEST);
    e
}

/// The connection is closed without an answer.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
pub(crate) struct InjectedDrop;

/// The answer for a request that `fault` stopped: S3's XML error, or no answer at all.
pub(crate) fn answer(
    fault: &Fault,
    request_id: &str,
) -> Result<http::Response<s3s::Body>, InjectedDrop> {
    error_response(fault, request_id)
        .map(|resp| resp.map(s3s::Body::from))
        .ok_or(InjectedDrop)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::faults::FaultPlan;

    #[tokio::test]
    async fn latency_is_served_at_routing_and_other_faults_stop_the_request() {
        let injector = FaultInjector::new();
        injector.set_plan(Some(
            FaultPlan::new(1)
                .fail(
                    Operation::HeadObject,
                    Fault::Latency(Duration::from_millis(20)),
                    1.0,
                )
                .fail(Operation::GetObject, Fault::SlowDown, 1.0),
        ));
        let started = Instant::now();
        assert_eq!(at_routing(&injector, "HeadObject").await, None);
        assert!(started.elapsed() >= Duration::from_millis(20));
        assert_eq!(
            at_routing(&injector, "GetObject").await,
            Some(Fault::SlowDown)
        );
        assert_eq!(at_routing(&injector, "PutObject").await, None);
        // Names s3s has but the plan does not model count as Other.
        assert_eq!(at_routing(&injector, "GetBucketAcl").await, None);
        assert_eq!(injector.requests_seen(Operation::Other), 1);
    }

    #[test]
    fn error_faults_answer_with_their_error_and_a_drop_with_nothing() {
        let slow = answer(&Fault::SlowDown, "R").unwrap();
        assert_eq!(slow.status(), http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(slow.headers()["x-amz-request-id"], "R");
        let internal = answer(&Fault::InternalError, "R").unwrap();
        assert_eq!(internal.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
        assert!(answer(&Fault::DropConnection, "R").is_err());
    }

    #[test]
    fn the_stop_error_is_not_a_server_error() {
        let e = stop(&Fault::DropConnection);
        assert!(e.status_code().is_some_and(|s| s.is_client_error()));
        assert!(e.message().is_some_and(|m| m.contains("DropConnection")));
    }
}
