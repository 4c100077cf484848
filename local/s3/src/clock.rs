//! The server's notion of "now", injectable so time-driven behaviour (lifecycle rules that
//! act days after an upload was initiated) can be tested without waiting days.

use std::fmt;
use std::sync::Arc;

use time::OffsetDateTime;

/// A source of the current time; [`Clock::system`] by default.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> OffsetDateTime + Send + Sync>);

impl Clock {
    /// The system clock (UTC).
    #[must_use]
    pub fn system() -> Clock {
        Clock(Arc::new(OffsetDateTime::now_utc))
    }

    /// A clock that asks `now` (tests move it forward).
    pub fn from_fn(now: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(now))
    }

    /// The current time by this clock.
    #[must_use]
    pub fn now(&self) -> OffsetDateTime {
        (self.0)()
    }

    /// Milliseconds since the Unix epoch, the unit the store records.
    #[must_use]
    pub fn now_ms(&self) -> i64 {
        i64::try_from(self.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}
