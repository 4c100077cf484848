//! The injector: the installed plan, its per-operation request counters and the injection
//! statistics, shared by all connections.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use super::operation::OPERATION_COUNT;
use super::{Fault, FaultKind, FaultPlan, Operation};

/// An installed plan and its per-operation request counters.
#[derive(Debug)]
struct ActivePlan {
    plan: FaultPlan,
    requests: [AtomicU64; OPERATION_COUNT],
}

/// Decides, per request, whether to inject a fault; shared by all connections.
///
/// With no plan installed, [`decide`](Self::decide) is one atomic load.
/// Installing a plan ([`set_plan`](Self::set_plan)) starts a fresh replay: the
/// request counters and the injection statistics restart from zero. Removing it
/// (`set_plan(None)`) stops injection but keeps the statistics for reading.
#[derive(Debug)]
pub struct FaultInjector {
    enabled: AtomicBool,
    plan: RwLock<Option<Arc<ActivePlan>>>,
    injected: [[AtomicU64; FaultKind::ALL.len()]; OPERATION_COUNT],
}

impl Default for FaultInjector {
    fn default() -> Self {
        Self::new()
    }
}

impl FaultInjector {
    /// An injector with no plan.
    #[must_use]
    pub fn new() -> Self {
        Self {
            enabled: AtomicBool::new(false),
            plan: RwLock::new(None),
            injected: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
        }
    }

    /// Installs `plan` (resetting counters and statistics), or removes the
    /// current plan with `None`.
    pub fn set_plan(&self, plan: Option<FaultPlan>) {
        let mut slot = self.plan.write().unwrap_or_else(PoisonError::into_inner);
        match plan {
            Some(plan) => {
                self.reset_stats();
                let requests = std::array::from_fn(|_| AtomicU64::new(0));
                *slot = Some(Arc::new(ActivePlan { plan, requests }));
                self.enabled.store(true, Ordering::Release);
            }
            None => {
                *slot = None;
                self.enabled.store(false, Ordering::Release);
            }
        }
    }

    /// The installed plan, if any.
    #[must_use]
    pub fn plan(&self) -> Option<FaultPlan> {
        self.current().map(|active| active.plan.clone())
    }

    fn current(&self) -> Option<Arc<ActivePlan>> {
        if !self.enabled.load(Ordering::Acquire) {
            return None;
        }
        self.plan
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Counts one request of `operation` and returns the fault to inject, if any.
    pub fn decide(&self, operation: Operation) -> Option<Fault> {
        let active = self.current()?;
        let n = active.requests[operation.index()].fetch_add(1, Ordering::Relaxed);
        let fault = active.plan.decision(operation, n)?.clone();
        self.injected[operation.index()][fault.kind().index()].fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%operation, n, ?fault, "injecting fault");
        Some(fault)
    }

    /// How many requests of `operation` the installed plan has seen (0 without a plan).
    #[must_use]
    pub fn requests_seen(&self, operation: Operation) -> u64 {
        self.current().map_or(0, |active| {
            active.requests[operation.index()].load(Ordering::Relaxed)
        })
    }

    /// The faults injected since the plan was installed or the last
    /// [`reset_stats`](Self::reset_stats): one `(operation, kind, count)` per
    /// pair with a non-zero count, ordered by operation then kind.
    #[must_use]
    pub fn injected(&self) -> Vec<(Operation, FaultKind, u64)> {
        let mut out = Vec::new();
        for &operation in Operation::ALL {
            for kind in FaultKind::ALL {
                let count = self.injected[operation.index()][kind.index()].load(Ordering::Relaxed);
                if count > 0 {
                    out.push((operation, kind, count));
                }
            }
        }
        out
    }

    /// The number of faults injected, over all operations and kinds.
    #[must_use]
    pub fn injected_total(&self) -> u64 {
        self.injected
            .iter()
            .flatten()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// One line for humans: "injected 12 SlowDown, 7 InternalError, 5 dropped connections,
    /// 3 delays over 1,234 requests" (requests counted by the installed plan).
    #[must_use]
    pub fn summary(&self) -> String {
        let count = |kind: FaultKind| -> u64 {
            self.injected
                .iter()
                .map(|per_kind| per_kind[kind.index()].load(Ordering::Relaxed))
                .sum()
        };
        let requests: u64 = Operation::ALL
            .iter()
            .map(|op| self.requests_seen(*op))
            .sum();
        format!(
            "injected {} SlowDown, {} InternalError, {} dropped connections, {} delays over {} requests",
            count(FaultKind::SlowDown),
            count(FaultKind::InternalError),
            count(FaultKind::DropConnection),
            count(FaultKind::Latency),
            thousands(requests)
        )
    }

    /// Zeroes the injection statistics (not the replay counters).
    pub fn reset_stats(&self) {
        for counter in self.injected.iter().flatten() {
            counter.store(0, Ordering::Relaxed);
        }
    }
}

/// `1234567` as "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn decisions(
        injector: &FaultInjector,
        operation: Operation,
        count: usize,
    ) -> Vec<Option<Fault>> {
        (0..count).map(|_| injector.decide(operation)).collect()
    }

    fn mixed_plan(seed: u64) -> FaultPlan {
        FaultPlan::new(seed)
            .fail(Operation::UploadPartCopy, Fault::SlowDown, 0.3)
            .fail(Operation::UploadPartCopy, Fault::DropConnection, 0.2)
            .fail_any(Fault::InternalError, 0.1)
    }

    #[test]
    fn the_same_seed_gives_the_same_decisions() {
        let a = FaultInjector::new();
        let b = FaultInjector::new();
        a.set_plan(Some(mixed_plan(42)));
        b.set_plan(Some(mixed_plan(42)));
        let first = decisions(&a, Operation::UploadPartCopy, 500);
        assert_eq!(first, decisions(&b, Operation::UploadPartCopy, 500));
        assert!(first.iter().any(Option::is_some) && first.iter().any(Option::is_none));

        // Re-installing the plan replays from the first request.
        a.set_plan(Some(mixed_plan(42)));
        assert_eq!(decisions(&a, Operation::UploadPartCopy, 500), first);
    }

    #[test]
    fn decisions_of_an_operation_do_not_depend_on_other_operations() {
        let quiet = FaultInjector::new();
        quiet.set_plan(Some(mixed_plan(7)));
        let alone = decisions(&quiet, Operation::UploadPartCopy, 300);

        let busy = FaultInjector::new();
        busy.set_plan(Some(mixed_plan(7)));
        let mut interleaved = Vec::new();
        for i in 0..300 {
            for _ in 0..(i % 3) {
                busy.decide(Operation::PutObject);
                busy.decide(Operation::GetObject);
            }
            interleaved.push(busy.decide(Operation::UploadPartCopy));
        }
        assert_eq!(interleaved, alone);
    }

    #[test]
    fn concurrent_requests_inject_the_same_faults_as_a_sequential_run() {
        let ops = [
            Operation::UploadPartCopy,
            Operation::PutObject,
            Operation::CompleteMultipartUpload,
        ];
        let sequential = FaultInjector::new();
        sequential.set_plan(Some(mixed_plan(99)));
        for operation in ops {
            decisions(&sequential, operation, 2000);
        }

        let shared = Arc::new(FaultInjector::new());
        shared.set_plan(Some(mixed_plan(99)));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let injector = Arc::clone(&shared);
                std::thread::spawn(move || {
                    for i in 0..1500 {
                        injector.decide(ops[(i + t) % ops.len()]);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        for operation in ops {
            assert_eq!(shared.requests_seen(operation), 2000);
        }
        assert_eq!(shared.injected(), sequential.injected());
    }

    #[test]
    fn a_different_seed_gives_different_decisions() {
        let a = FaultInjector::new();
        let b = FaultInjector::new();
        a.set_plan(Some(mixed_plan(1)));
        b.set_plan(Some(mixed_plan(2)));
        assert_ne!(
            decisions(&a, Operation::UploadPartCopy, 200),
            decisions(&b, Operation::UploadPartCopy, 200)
        );
    }

    #[test]
    fn probability_zero_never_fires_and_one_always_fires() {
        let injector = FaultInjector::new();
        injector.set_plan(Some(FaultPlan::new(5).fail_any(Fault::SlowDown, 0.0)));
        assert!(
            decisions(&injector, Operation::GetObject, 10_000)
                .iter()
                .all(Option::is_none)
        );
        injector.set_plan(Some(FaultPlan::new(5).fail_any(Fault::SlowDown, 1.0)));
        assert!(
            decisions(&injector, Operation::GetObject, 10_000)
                .iter()
                .all(|d| *d == Some(Fault::SlowDown))
        );
        injector.set_plan(Some(FaultPlan::new(5).fail_any(Fault::SlowDown, f64::NAN)));
        assert_eq!(injector.decide(Operation::GetObject), None);
    }

    #[test]
    fn a_rule_for_one_operation_leaves_the_others_alone() {
        let injector = FaultInjector::new();
        injector.set_plan(Some(FaultPlan::new(3).fail(
            Operation::UploadPartCopy,
            Fault::SlowDown,
            1.0,
        )));
        for &operation in Operation::ALL {
            let expected = (operation == Operation::UploadPartCopy).then_some(Fault::SlowDown);
            assert_eq!(injector.decide(operation), expected, "{operation}");
        }
        assert_eq!(
            injector.injected(),
            vec![(Operation::UploadPartCopy, FaultKind::SlowDown, 1)]
        );
    }

    #[test]
    fn without_a_plan_nothing_is_injected_and_removing_a_plan_keeps_its_stats() {
        let injector = FaultInjector::default();
        assert_eq!(injector.decide(Operation::PutObject), None);
        assert!(injector.plan().is_none());

        let plan = FaultPlan::new(8).fail(Operation::PutObject, Fault::DropConnection, 1.0);
        injector.set_plan(Some(plan.clone()));
        assert_eq!(injector.plan(), Some(plan.clone()));
        decisions(&injector, Operation::PutObject, 3);
        injector.set_plan(None);
        assert_eq!(injector.decide(Operation::PutObject), None);
        assert_eq!(injector.requests_seen(Operation::PutObject), 0);
        assert_eq!(
            injector.injected(),
            vec![(Operation::PutObject, FaultKind::DropConnection, 3)]
        );
        assert_eq!(injector.injected_total(), 3);

        injector.reset_stats();
        assert!(injector.injected().is_empty());

        // Installing a plan starts from zero again.
        injector.set_plan(Some(plan.clone()));
        decisions(&injector, Operation::PutObject, 2);
        injector.set_plan(Some(plan));
        assert_eq!(injector.injected_total(), 0);
    }

    #[test]
    fn thousands_are_separated_by_commas() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn the_summary_counts_each_kind_over_the_requests_seen() {
        let injector = FaultInjector::new();
        assert_eq!(
            injector.summary(),
            "injected 0 SlowDown, 0 InternalError, 0 dropped connections, 0 delays over 0 requests"
        );
        injector.set_plan(Some(
            FaultPlan::new(7)
                .fail(Operation::PutObject, Fault::SlowDown, 1.0)
                .fail(Operation::GetObject, Fault::Latency(Duration::ZERO), 1.0),
        ));
        for _ in 0..3 {
            injector.decide(Operation::PutObject);
        }
        injector.decide(Operation::GetObject);
        for _ in 0..1_000 {
            injector.decide(Operation::HeadObject);
        }
        assert_eq!(
            injector.summary(),
            "injected 3 SlowDown, 0 InternalError, 0 dropped connections, 1 delays over 1,004 requests"
        );
    }
}
