//! Injected time.
//!
//! Owns the [`Clock`] trait and its two implementations: [`SystemClock`] for production and
//! `SimulatedClock` for tests, which only moves when told to. Code that stamps rows or
//! decides on timeouts takes a clock rather than reading the system time itself, so whole
//! scenarios run faster than real time.

use std::sync::Arc;
#[cfg(test)]
use std::sync::Mutex;
#[cfg(test)]
use std::time::Duration;
use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::model::to_micros;

/// A source of wall-clock (UTC) and monotonic time.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Wall-clock time, truncated to microseconds.
    fn now_utc(&self) -> DateTime<Utc>;
    /// Monotonic time, for measuring intervals.
    fn now(&self) -> Instant;
}

/// Shared handle to a clock.
pub type SharedClock = Arc<dyn Clock>;

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_utc(&self) -> DateTime<Utc> {
        to_micros(Utc::now())
    }
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that stands still until [`SimulatedClock::advance`] moves it.
/// (Tests only.)
#[cfg(test)]
#[derive(Debug, Clone)]
pub struct SimulatedClock {
    inner: Arc<Mutex<SimState>>,
}

#[cfg(test)]
#[derive(Debug)]
struct SimState {
    utc: DateTime<Utc>,
    mono: Instant,
}

#[cfg(test)]
impl SimulatedClock {
    /// A simulated clock starting at `utc`.
    pub fn new(utc: DateTime<Utc>) -> Self {
        SimulatedClock {
            inner: Arc::new(Mutex::new(SimState {
                utc: to_micros(utc),
                mono: Instant::now(),
            })),
        }
    }

    /// Moves both wall-clock and monotonic time forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut s = self.lock();
        s.mono += d;
        s.utc = to_micros(s.utc + d);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SimState> {
        // A poisoned lock only means another test thread panicked; the state is still valid.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
impl Clock for SimulatedClock {
    fn now_utc(&self) -> DateTime<Utc> {
        self.lock().utc
    }
    fn now(&self) -> Instant {
        self.lock().mono
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_simulated_clock_moves_only_when_told() {
        let clock = SimulatedClock::new("2026-01-01T00:00:00Z".parse().unwrap());
        let t0 = clock.now();
        clock.advance(Duration::from_secs(2));
        assert_eq!(clock.now() - t0, Duration::from_secs(2));
        assert_eq!(clock.now_utc().to_rfc3339(), "2026-01-01T00:00:02+00:00");
    }
}
