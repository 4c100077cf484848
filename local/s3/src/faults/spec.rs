//! Fault plans from a one-line spec, for the `copyflow-s3 --faults` flag and test scripts:
//! `slowdown=5%,internal=3%,drop=2%,latency=10%:50ms`.
//!
//! Each part is `KIND=P%` (latency: `latency=P%:DURATION`), kinds in any order and each at
//! most once; every rule applies to all operations ([`FaultPlan::fail_any`]), tried in the
//! order written. Parsing is pure; errors name the bad part and the accepted form.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::{Fault, FaultPlan};

/// The accepted form, quoted in every error.
pub const FAULT_SPEC_FORM: &str = "KIND=P%[,KIND=P%...] with KIND one of slowdown, internal, \
     drop, latency (latency=P%:DURATION, DURATION like 50ms, 2s or 500us), P from 0 to 100, \
     e.g. slowdown=5%,internal=3%,drop=2%,latency=10%:50ms";

/// A fault spec that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpecError {
    /// The offending part of the spec.
    pub part: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for FaultSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad fault spec part {:?}: {}; expected {FAULT_SPEC_FORM}",
            self.part, self.reason
        )
    }
}

impl std::error::Error for FaultSpecError {}

fn error(part: &str, reason: impl Into<String>) -> FaultSpecError {
    FaultSpecError {
        part: part.to_owned(),
        reason: reason.into(),
    }
}

/// `5%` or `0.5%` as a probability in `[0, 1]`.
fn percent(part: &str, text: &str) -> Result<f64, FaultSpecError> {
    let number = text.strip_suffix('%').ok_or_else(|| {
        error(
            part,
            format!("{text:?} is not a percentage (write it like 5%)"),
        )
    })?;
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| error(part, format!("{number:?} is not a number")))?;
    if !(0.0..=100.0).contains(&value) {
        return Err(error(part, format!("{value}% is outside 0-100%")));
    }
    Ok(value / 100.0)
}

/// `50ms`, `2s`, `1.5s`, `500us`.
fn duration(part: &str, text: &str) -> Result<Duration, FaultSpecError> {
    let (number, unit_secs) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else {
        return Err(error(
            part,
            format!("{text:?} is not a duration (write it like 50ms, 2s or 500us)"),
        ));
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| error(part, format!("{number:?} is not a number")))?;
    Duration::try_from_secs_f64(value * unit_secs)
        .map_err(|_| error(part, format!("{text:?} is not a valid duration")))
}

impl FaultPlan {
    /// Parses a spec such as `slowdown=5%,internal=3%,drop=2%,latency=10%:50ms` into a plan
    /// with `seed`; see the [module docs](self). An empty spec is a plan with no rules.
    pub fn parse_spec(spec: &str, seed: u64) -> Result<FaultPlan, FaultSpecError> {
        let mut plan = FaultPlan::new(seed);
        let mut seen: Vec<&str> = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (kind, value) = part
                .split_once('=')
                .ok_or_else(|| error(part, "missing '='"))?;
            let kind = kind.trim();
            if seen.contains(&kind) {
                return Err(error(part, format!("{kind} is given twice")));
            }
            let value = value.trim();
            let (fault, probability) = match kind {
                "slowdown" => (Fault::SlowDown, percent(part, value)?),
                "internal" => (Fault::InternalError, percent(part, value)?),
                "drop" => (Fault::DropConnection, percent(part, value)?),
                "latency" => {
                    let (p, d) = value.split_once(':').ok_or_else(|| {
                        error(part, "latency needs a delay after ':' (latency=10%:50ms)")
                    })?;
                    (
                        Fault::Latency(duration(part, d.trim())?),
                        percent(part, p.trim())?,
                    )
                }
                other => return Err(error(part, format!("unknown fault kind {other:?}"))),
            };
            seen.push(kind);
            plan = plan.fail_any(fault, probability);
        }
        Ok(plan)
    }
}

/// Parses with seed 0; use [`FaultPlan::parse_spec`] to choose the seed.
impl FromStr for FaultPlan {
    type Err = FaultSpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        FaultPlan::parse_spec(spec, 0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::faults::FaultRule;

    fn any(fault: Fault, probability: f64) -> FaultRule {
        FaultRule {
            operation: None,
            fault,
            probability,
        }
    }

    #[test]
    fn every_kind_parses_into_a_rule_for_all_operations_in_the_order_written() {
        let plan =
            FaultPlan::parse_spec("slowdown=5%,internal=3%,drop=2%,latency=10%:50ms", 42).unwrap();
        assert_eq!(plan.seed, 42);
        assert_eq!(
            plan.rules,
            [
                any(Fault::SlowDown, 0.05),
                any(Fault::InternalError, 0.03),
                any(Fault::DropConnection, 0.02),
                any(Fault::Latency(Duration::from_millis(50)), 0.10),
            ]
        );
        let reordered: FaultPlan = "latency=1%:2s, drop=0.5%".parse().unwrap();
        assert_eq!(reordered.seed, 0);
        assert_eq!(
            reordered.rules,
            [
                any(Fault::Latency(Duration::from_secs(2)), 0.01),
                any(Fault::DropConnection, 0.005),
            ]
        );
    }

    #[test]
    fn kinds_are_optional_and_an_empty_spec_injects_nothing() {
        assert!(FaultPlan::parse_spec("", 1).unwrap().rules.is_empty());
        let only = FaultPlan::parse_spec("internal=100%", 1).unwrap();
        assert_eq!(only.rules, [any(Fault::InternalError, 1.0)]);
    }

    #[test]
    fn durations_take_ms_s_and_us() {
        let plan = FaultPlan::parse_spec("latency=1%:250us", 0).unwrap();
        assert_eq!(
            plan.rules[0].fault,
            Fault::Latency(Duration::from_micros(250))
        );
        let plan = FaultPlan::parse_spec("latency=1%:1.5s", 0).unwrap();
        assert_eq!(
            plan.rules[0].fault,
            Fault::Latency(Duration::from_millis(1500))
        );
    }

    #[test]
    fn errors_name_the_bad_part_and_the_accepted_form() {
        let cases = [
            ("slowdown=5", "slowdown=5", "not a percentage"),
            ("slowdown=150%", "slowdown=150%", "outside 0-100%"),
            ("slowdown=-1%", "slowdown=-1%", "outside 0-100%"),
            ("throttle=5%", "throttle=5%", "unknown fault kind"),
            ("internal", "internal", "missing '='"),
            ("latency=10%", "latency=10%", "needs a delay"),
            ("latency=10%:50", "latency=10%:50", "not a duration"),
            ("latency=10%:xms", "latency=10%:xms", "not a number"),
            ("drop=1%,drop=2%", "drop=2%", "given twice"),
            ("slowdown=abc%", "slowdown=abc%", "not a number"),
        ];
        for (spec, part, reason) in cases {
            let err = FaultPlan::parse_spec(spec, 0).unwrap_err();
            assert_eq!(err.part, part, "{spec}");
            assert!(err.reason.contains(reason), "{spec}: {}", err.reason);
            let message = err.to_string();
            assert!(message.contains(part), "{message}");
            assert!(message.contains("latency=10%:50ms"), "{message}");
        }
    }
}
