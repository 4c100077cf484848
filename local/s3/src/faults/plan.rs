//! The seeded plan: which fault, if any, the `n`-th request of an operation gets.
//!
//! **Replay.** Whether a rule fires for the `n`-th request (counting from 0 when the plan is
//! installed) of operation `op` depends only on `(seed, op, n, rule index)`, through a
//! splitmix64 hash mapped to `[0, 1)` and compared with the rule's probability. Requests of
//! different operations may interleave in any order and each operation still sees the same
//! fault sequence, so a failing run can be replayed from its seed;
//! [`FaultPlan::decision`] computes the decision without any state.

use std::fmt;
use std::time::Duration;

use super::Operation;

/// What to do to a request instead of (or before) serving it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Answer 503 `SlowDown`.
    SlowDown,
    /// Answer 500 `InternalError`.
    InternalError,
    /// Close the connection without answering.
    DropConnection,
    /// Wait this long, then serve the request normally.
    Latency(Duration),
}

impl Fault {
    /// The fault's kind, without its parameters.
    #[must_use]
    pub const fn kind(&self) -> FaultKind {
        match self {
            Self::SlowDown => FaultKind::SlowDown,
            Self::InternalError => FaultKind::InternalError,
            Self::DropConnection => FaultKind::DropConnection,
            Self::Latency(_) => FaultKind::Latency,
        }
    }
}

/// The kind of a [`Fault`], for statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// [`Fault::SlowDown`].
    SlowDown,
    /// [`Fault::InternalError`].
    InternalError,
    /// [`Fault::DropConnection`].
    DropConnection,
    /// [`Fault::Latency`].
    Latency,
}

impl FaultKind {
    /// Every kind, in declaration order.
    pub const ALL: [Self; 4] = [
        Self::SlowDown,
        Self::InternalError,
        Self::DropConnection,
        Self::Latency,
    ];

    /// The kind's name, e.g. "SlowDown".
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SlowDown => "SlowDown",
            Self::InternalError => "InternalError",
            Self::DropConnection => "DropConnection",
            Self::Latency => "Latency",
        }
    }

    pub(super) const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Inject `fault` into requests of `operation` (`None`: any operation) with
/// the given probability. A probability of 0 or less (or NaN) never fires, 1
/// or more always does.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// The operation the rule applies to; `None` matches every operation.
    pub operation: Option<Operation>,
    /// What to inject.
    pub fault: Fault,
    /// Chance per matching request, in `[0, 1]`.
    pub probability: f64,
}

/// A seed and an ordered list of rules; the first matching rule that fires
/// decides the request's fault, so a request gets at most one fault.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultPlan {
    /// The replay seed.
    pub seed: u64,
    /// The rules, tried in order.
    pub rules: Vec<FaultRule>,
}

impl FaultPlan {
    /// A plan with no rules.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self {
            seed,
            rules: Vec::new(),
        }
    }

    /// Adds a rule for one operation.
    #[must_use]
    pub fn fail(self, operation: Operation, fault: Fault, probability: f64) -> Self {
        self.rule(FaultRule {
            operation: Some(operation),
            fault,
            probability,
        })
    }

    /// Adds a rule for every operation.
    #[must_use]
    pub fn fail_any(self, fault: Fault, probability: f64) -> Self {
        self.rule(FaultRule {
            operation: None,
            fault,
            probability,
        })
    }

    /// Adds a rule.
    #[must_use]
    pub fn rule(mut self, rule: FaultRule) -> Self {
        self.rules.push(rule);
        self
    }

    /// The fault for the `n`-th request (from 0) of `operation`: a pure function
    /// of `(seed, operation, n)` and the rules.
    #[must_use]
    pub fn decision(&self, operation: Operation, n: u64) -> Option<&Fault> {
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, rule)| rule.operation.is_none_or(|op| op == operation))
            .find(|(index, rule)| draw(self.seed, operation, n, *index) < rule.probability)
            .map(|(_, rule)| &rule.fault)
    }
}

/// splitmix64's output function (Steele, Lea and Flood, 2014).
const fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform draw in `[0, 1)` determined by `(seed, operation, n, rule)` alone.
fn draw(seed: u64, operation: Operation, n: u64, rule: usize) -> f64 {
    let mut h = splitmix64(seed);
    h = splitmix64(h ^ operation.index() as u64);
    h = splitmix64(h ^ n);
    h = splitmix64(h ^ rule as u64);
    // The top 53 bits, exactly representable in an f64.
    (h >> 11) as f64 / (1_u64 << 53) as f64
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_fault_rate_over_ten_thousand_draws_matches_the_probability() {
        for (seed, probability) in [(1, 0.3), (2, 0.05), (3, 0.5), (4, 0.9)] {
            let plan =
                FaultPlan::new(seed).fail(Operation::UploadPart, Fault::InternalError, probability);
            let fired = (0..10_000)
                .filter(|&n| plan.decision(Operation::UploadPart, n).is_some())
                .count();
            let rate = fired as f64 / 10_000.0;
            assert!(
                (rate - probability).abs() < 0.02,
                "seed {seed}: rate {rate} for p {probability}"
            );
        }
    }

    #[test]
    fn the_first_matching_rule_that_fires_wins() {
        let latency = Fault::Latency(Duration::from_millis(250));
        let plan = FaultPlan::new(0)
            .fail(Operation::PutObject, latency.clone(), 1.0)
            .fail_any(Fault::InternalError, 1.0);
        assert_eq!(plan.decision(Operation::PutObject, 0), Some(&latency));
        assert_eq!(
            plan.decision(Operation::GetObject, 0),
            Some(&Fault::InternalError)
        );
    }

    #[test]
    fn fault_kinds_name_their_faults() {
        assert_eq!(Fault::Latency(Duration::ZERO).kind(), FaultKind::Latency);
        assert_eq!(Fault::SlowDown.kind().to_string(), "SlowDown");
        assert_eq!(Fault::InternalError.kind(), FaultKind::InternalError);
        assert_eq!(Fault::DropConnection.kind().as_str(), "DropConnection");
    }
}
