//! Injected time and randomness.
//!
//! Waits, retry back-off and task timeouts all go through a [`Clock`]; jitter, `States.UUID`,
//! `States.MathRandom` and generated execution names go through a [`RandomSource`]. Hosts get
//! real time and entropy by default; tests inject a [`VirtualClock`] and a seeded source so
//! retries and waits run instantly and deterministically.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use futures::future::BoxFuture;
use time::OffsetDateTime;

/// A source of the current time and of sleeps.
pub trait Clock: Send + Sync + 'static {
    /// The current time (used for event timestamps and the context object).
    fn now(&self) -> OffsetDateTime;
    /// A future that completes after `duration` on this clock.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// Wall-clock time and `tokio::time::sleep`: the default.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Virtual time that starts at a fixed instant and advances with tokio's clock.
///
/// Sleeps are `tokio::time::sleep`, and `now()` is the start instant plus the tokio time elapsed
/// since the clock was first used. Run it on a tokio runtime with paused time
/// (`#[tokio::test(start_paused = true)]`, or `Builder::start_paused(true)`; tokio's
/// `test-util` feature): the runtime then jumps straight to the next due timer whenever every
/// task is idle, so a 60-second wait or a 5-second task timeout completes instantly, in
/// deadline order, with coherent timestamps. Unpaused, it simply runs in real time from
/// `start`.
#[derive(Debug)]
pub struct VirtualClock {
    start: OffsetDateTime,
    origin: OnceLock<tokio::time::Instant>,
}

impl VirtualClock {
    /// A clock whose `now()` starts at `start`.
    pub fn starting_at(start: OffsetDateTime) -> Self {
        VirtualClock {
            start,
            origin: OnceLock::new(),
        }
    }

    fn origin(&self) -> tokio::time::Instant {
        *self.origin.get_or_init(tokio::time::Instant::now)
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> OffsetDateTime {
        let elapsed = tokio::time::Instant::now().saturating_duration_since(self.origin());
        self.start + elapsed
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.origin();
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A source of uniformly distributed random numbers.
pub trait RandomSource: Send + Sync + 'static {
    /// A uniformly distributed `u64`.
    fn next_u64(&self) -> u64;

    /// A uniformly distributed float in `[0, 1)`.
    fn next_f64(&self) -> f64 {
        // 53 random mantissa bits.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A `fastrand` generator: seeded for reproducible runs, or from entropy by default.
#[derive(Debug)]
pub struct SeededRandom(Mutex<fastrand::Rng>);

impl SeededRandom {
    /// A reproducible sequence.
    pub fn new(seed: u64) -> Self {
        SeededRandom(Mutex::new(fastrand::Rng::with_seed(seed)))
    }

    /// A sequence seeded from the operating system.
    pub fn from_entropy() -> Self {
        SeededRandom(Mutex::new(fastrand::Rng::new()))
    }
}

impl RandomSource for SeededRandom {
    fn next_u64(&self) -> u64 {
        match self.0.lock() {
            Ok(mut rng) => rng.u64(..),
            Err(poisoned) => poisoned.into_inner().u64(..),
        }
    }
}

/// A version-4 UUID drawn from `random`.
pub fn uuid_v4(random: &dyn RandomSource) -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&random.next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&random.next_u64().to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Format a time as the context object and timestamps expect: RFC 3339, milliseconds, UTC.
pub fn format_timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn seeded_sources_repeat_their_sequence() {
        let a = SeededRandom::new(7);
        let b = SeededRandom::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        let x = a.next_f64();
        assert!((0.0..1.0).contains(&x));
    }

    #[test]
    fn uuids_from_the_source_are_version_4() {
        let id = uuid_v4(&SeededRandom::new(1));
        assert_eq!(id.get_version_num(), 4);
    }

    #[test]
    fn timestamps_have_millisecond_precision_in_utc() {
        assert_eq!(
            format_timestamp(datetime!(2024-01-02 03:04:05.678901 +01:00)),
            "2024-01-02T02:04:05.678Z"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn virtual_clock_sleeps_instantly_and_advances_now() {
        let clock = VirtualClock::starting_at(datetime!(2024-01-01 00:00 UTC));
        let before = clock.now();
        clock.sleep(Duration::from_secs(3600)).await;
        assert_eq!(clock.now() - before, time::Duration::hours(1));
    }
}
