//! The core's clock: an instant is a count of microseconds from an
//! arbitrary origin chosen by the driver (or by a test's virtual clock).

use std::ops::{Add, Sub};
use std::time::Duration;

/// A point in time, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(pub u64);

impl Instant {
    /// The origin.
    pub const ZERO: Instant = Instant(0);

    /// From seconds and microseconds (tests read better).
    pub const fn from_micros(us: u64) -> Instant {
        Instant(us)
    }

    /// Microseconds since the origin.
    pub const fn micros(self) -> u64 {
        self.0
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.as_micros() as u64))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, o: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(o.0))
    }
}

/// A duration of `us` microseconds.
pub const fn us(us: u64) -> Duration {
    Duration::from_micros(us)
}
