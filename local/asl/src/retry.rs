//! Retry and Catch: which retrier or catcher handles an error, and how long to wait before
//! the next attempt.
//!
//! Rules (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>):
//! - Retriers are tried in order; the first whose `ErrorEquals` matches handles the error. Each
//!   retrier keeps its own attempt count for the current visit of the state; once it reaches
//!   `MaxAttempts` (default 3; 0 = never retry) the error goes to the catchers.
//! - The delay before retry *n* (1-based) is `IntervalSeconds × BackoffRate^(n-1)` (defaults 1 s
//!   and 2.0), capped by `MaxDelaySeconds`; with `JitterStrategy: FULL` the actual delay is
//!   drawn uniformly from `[0, delay]`.
//! - `States.ALL` matches every catchable error; `States.TaskFailed` matches every catchable
//!   error except `States.Timeout`. Terminal errors (`States.Runtime`, a state's own
//!   `States.DataLimitExceeded`) are never retried or caught, even by name.

use std::time::Duration;

use crate::error::{Failure, names};
use crate::model::ResultPath;

/// How jitter is applied to a retry delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Jitter {
    /// Wait exactly the computed delay (the default).
    #[default]
    None,
    /// Wait a uniformly random duration in `[0, delay]`.
    Full,
}

/// One entry of a state's `Retry` list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Retrier {
    /// Error names this retrier handles.
    pub error_equals: Vec<String>,
    /// Delay before the first retry, in seconds (default 1).
    pub interval_seconds: u64,
    /// Retries allowed (default 3).
    pub max_attempts: u32,
    /// Multiplier applied to the delay at each retry (default 2.0).
    pub backoff_rate: f64,
    /// Cap on the delay, in seconds.
    pub max_delay_seconds: Option<u64>,
    /// Jitter strategy (default none).
    pub jitter: Jitter,
}

impl Default for Retrier {
    fn default() -> Self {
        Retrier {
            error_equals: Vec::new(),
            interval_seconds: 1,
            max_attempts: 3,
            backoff_rate: 2.0,
            max_delay_seconds: None,
            jitter: Jitter::None,
        }
    }
}

impl Retrier {
    /// The delay before retry number `retry` (1-based), before jitter.
    pub(crate) fn base_delay(&self, retry: u32) -> Duration {
        let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let mut seconds = self.interval_seconds as f64 * self.backoff_rate.powi(exponent);
        if let Some(max) = self.max_delay_seconds {
            seconds = seconds.min(max as f64);
        }
        // Beyond the one-year execution limit a longer delay is meaningless.
        Duration::from_secs_f64(seconds.clamp(0.0, 366.0 * 86_400.0))
    }

    /// The delay before retry number `retry`, with jitter drawn from `unit` (uniform in [0, 1)).
    pub(crate) fn delay(&self, retry: u32, unit: f64) -> Duration {
        let base = self.base_delay(retry);
        match self.jitter {
            Jitter::None => base,
            Jitter::Full => base.mul_f64(unit.clamp(0.0, 1.0)),
        }
    }
}

/// One entry of a state's `Catch` list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Catcher {
    /// Error names this catcher handles.
    pub error_equals: Vec<String>,
    /// The state to go to.
    pub next: String,
    /// Where the error output goes in the state input (default `$`: it replaces the input).
    pub result_path: ResultPath,
}

/// Does `error_equals` name this failure?
pub(crate) fn matches(error_equals: &[String], failure: &Failure) -> bool {
    if failure.terminal {
        return false;
    }
    error_equals.iter().any(|name| match name.as_str() {
        names::ALL => true,
        names::TASK_FAILED => failure.error != names::TIMEOUT,
        other => other == failure.error,
    })
}

/// Per-visit attempt counters for a state's retriers.
#[derive(Debug, Clone, Default)]
pub(crate) struct RetryState {
    attempts: Vec<u32>,
}

impl RetryState {
    /// Counters for `n` retriers.
    pub(crate) fn new(n: usize) -> Self {
        RetryState {
            attempts: vec![0; n],
        }
    }

    /// Counters restored from a checkpoint (one per retrier; missing ones start at 0).
    pub(crate) fn restored(n: usize, attempts: &[u32]) -> Self {
        let mut state = RetryState::new(n);
        for (slot, a) in state.attempts.iter_mut().zip(attempts) {
            *slot = *a;
        }
        state
    }

    /// The attempts made per retrier, in `Retry` order (what a checkpoint keeps).
    pub(crate) fn attempts(&self) -> &[u32] {
        &self.attempts
    }

    /// The total number of retries made so far in this visit (`$$.State.RetryCount`).
    pub(crate) fn total(&self) -> u32 {
        self.attempts.iter().sum()
    }

    /// If a retrier handles `failure` and has attempts left, count the attempt and return the
    /// retrier and its 1-based retry number.
    pub(crate) fn next_retry<'r>(
        &mut self,
        retriers: &'r [Retrier],
        failure: &Failure,
    ) -> Option<(&'r Retrier, u32)> {
        let index = retriers
            .iter()
            .position(|r| matches(&r.error_equals, failure))?;
        let retrier = &retriers[index];
        let count = self.attempts.get_mut(index)?;
        if *count >= retrier.max_attempts {
            return None;
        }
        *count += 1;
        Some((retrier, *count))
    }
}

/// The first catcher that handles `failure`.
pub(crate) fn find_catcher<'c>(catchers: &'c [Catcher], failure: &Failure) -> Option<&'c Catcher> {
    catchers.iter().find(|c| matches(&c.error_equals, failure))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn retrier(interval: u64, rate: f64, max_delay: Option<u64>, jitter: Jitter) -> Retrier {
        Retrier {
            error_equals: vec!["States.ALL".into()],
            interval_seconds: interval,
            max_attempts: 10,
            backoff_rate: rate,
            max_delay_seconds: max_delay,
            jitter,
        }
    }

    #[test]
    fn delay_grows_by_the_backoff_rate_from_the_interval() {
        let r = retrier(3, 2.0, None, Jitter::None);
        assert_eq!(r.base_delay(1), Duration::from_secs(3));
        assert_eq!(r.base_delay(2), Duration::from_secs(6));
        assert_eq!(r.base_delay(3), Duration::from_secs(12));
        let r = retrier(2, 1.5, None, Jitter::None);
        assert_eq!(r.base_delay(3), Duration::from_secs_f64(4.5));
    }

    #[test]
    fn max_delay_caps_the_exponential_growth() {
        let r = retrier(3, 2.0, Some(5), Jitter::None);
        assert_eq!(r.base_delay(1), Duration::from_secs(3));
        assert_eq!(r.base_delay(2), Duration::from_secs(5));
        assert_eq!(r.base_delay(30), Duration::from_secs(5));
    }

    #[test]
    fn full_jitter_stays_within_zero_and_the_computed_delay() {
        let r = retrier(4, 2.0, Some(60), Jitter::Full);
        for i in 0..=100 {
            let unit = f64::from(i) / 100.0;
            let d = r.delay(2, unit);
            assert!(d <= Duration::from_secs(8), "{d:?}");
        }
        assert_eq!(r.delay(2, 0.0), Duration::ZERO);
        assert_eq!(r.delay(2, 0.5), Duration::from_secs(4));
        let none = retrier(4, 2.0, None, Jitter::None);
        assert_eq!(none.delay(2, 0.3), Duration::from_secs(8));
    }

    #[test]
    fn defaults_are_one_second_three_attempts_rate_two() {
        let r = Retrier::default();
        assert_eq!(r.interval_seconds, 1);
        assert_eq!(r.max_attempts, 3);
        assert_eq!(r.backoff_rate, 2.0);
        assert_eq!(r.jitter, Jitter::None);
    }

    #[test]
    fn states_all_and_task_failed_wildcards() {
        let custom = Failure::new("CustomError", None);
        let timeout = Failure::new("States.Timeout", None);
        assert!(matches(&["States.ALL".into()], &timeout));
        assert!(matches(&["States.TaskFailed".into()], &custom));
        assert!(!matches(&["States.TaskFailed".into()], &timeout));
        assert!(matches(&["CustomError".into()], &custom));
        assert!(!matches(&["Other".into()], &custom));
    }

    #[test]
    fn terminal_errors_are_never_matched_even_by_name() {
        let runtime = Failure::runtime("bad path");
        assert!(!matches(&["States.ALL".into()], &runtime));
        assert!(!matches(&["States.Runtime".into()], &runtime));
    }

    #[test]
    fn each_retrier_counts_its_own_attempts() {
        let retriers = vec![
            Retrier {
                error_equals: vec!["A".into()],
                max_attempts: 1,
                ..Retrier::default()
            },
            Retrier {
                error_equals: vec!["States.ALL".into()],
                max_attempts: 2,
                ..Retrier::default()
            },
        ];
        let mut state = RetryState::new(2);
        let a = Failure::new("A", None);
        let b = Failure::new("B", None);
        assert_eq!(state.next_retry(&retriers, &a).map(|(_, n)| n), Some(1));
        assert!(state.next_retry(&retriers, &a).is_none());
        assert_eq!(state.next_retry(&retriers, &b).map(|(_, n)| n), Some(1));
        assert_eq!(state.next_retry(&retriers, &b).map(|(_, n)| n), Some(2));
        assert!(state.next_retry(&retriers, &b).is_none());
        assert_eq!(state.total(), 3);
    }

    #[test]
    fn zero_max_attempts_never_retries() {
        let retriers = vec![Retrier {
            error_equals: vec!["States.ALL".into()],
            max_attempts: 0,
            ..Retrier::default()
        }];
        assert!(
            RetryState::new(1)
                .next_retry(&retriers, &Failure::new("X", None))
                .is_none()
        );
    }
}
