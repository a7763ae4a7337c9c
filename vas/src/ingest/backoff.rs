//! Reconnection backoff: exponential with jitter, capped, reset after a stable period.
//!
//! Sans-IO: it computes delays from what it is told (attempt outcomes, how long the last
//! connection stayed up, a random number); it never sleeps or reads a clock.

use std::time::Duration;

/// Delay before the first retry (fast: most drops are momentary).
pub const DEFAULT_INITIAL_DELAY: Duration = Duration::from_millis(500);
/// Longest delay between retries.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(30);
/// Growth per consecutive failure.
pub const DEFAULT_FACTOR: f64 = 2.0;
/// Jitter as a fraction of the delay (±).
pub const DEFAULT_JITTER: f64 = 0.25;
/// A connection that stayed live this long resets the backoff.
pub const DEFAULT_STABLE_PERIOD: Duration = Duration::from_secs(30);
/// Smallest delay after an error retrying cannot fix soon (wrong password, unsupported
/// codec), so such a camera is not hammered.
pub const DEFAULT_PERSISTENT_ERROR_DELAY: Duration = Duration::from_secs(15);

/// Backoff settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffPolicy {
    /// First retry delay.
    pub initial: Duration,
    /// Cap.
    pub max: Duration,
    /// Multiplier per consecutive failure.
    pub factor: f64,
    /// ± fraction of random jitter.
    pub jitter: f64,
    /// Live time after which the next failure starts again from `initial`.
    pub stable_period: Duration,
    /// Floor for persistent errors (authentication, unsupported media).
    pub persistent_error_delay: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy {
            initial: DEFAULT_INITIAL_DELAY,
            max: DEFAULT_MAX_DELAY,
            factor: DEFAULT_FACTOR,
            jitter: DEFAULT_JITTER,
            stable_period: DEFAULT_STABLE_PERIOD,
            persistent_error_delay: DEFAULT_PERSISTENT_ERROR_DELAY,
        }
    }
}

/// Tracks consecutive failures and computes the next delay.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: BackoffPolicy,
    failures: u32,
}

impl Backoff {
    /// A backoff with no failures yet.
    pub fn new(policy: BackoffPolicy) -> Self {
        Backoff {
            policy,
            failures: 0,
        }
    }

    /// Tells the backoff how long the connection that just ended was live; a stable one
    /// resets it.
    pub fn connection_lasted(&mut self, live: Duration) {
        if live >= self.policy.stable_period {
            self.failures = 0;
        }
    }

    /// Consecutive failures so far.
    #[cfg(test)]
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The delay before the next attempt, counting one more failure. `persistent` marks
    /// errors retrying cannot fix soon; `unit` is a uniform random number in `[0, 1)`.
    pub fn next_delay(&mut self, persistent: bool, unit: f64) -> Duration {
        let p = &self.policy;
        let exp = p
            .factor
            .powi(i32::try_from(self.failures.min(64)).unwrap_or(64));
        self.failures = self.failures.saturating_add(1);
        let base = (p.initial.as_secs_f64() * exp).min(p.max.as_secs_f64());
        let jitter = 1.0 + p.jitter * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        let mut secs = (base * jitter).min(p.max.as_secs_f64());
        if persistent {
            secs = secs.max(p.persistent_error_delay.as_secs_f64());
        }
        Duration::from_secs_f64(secs.max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_caps_and_jitters_within_bounds() {
        let mut b = Backoff::new(BackoffPolicy::default());
        let mut last = Duration::ZERO;
        for i in 0..20 {
            let d = b.next_delay(false, 0.5);
            assert!(
                d >= last || d == DEFAULT_MAX_DELAY,
                "attempt {i}: {d:?} < {last:?}"
            );
            assert!(d <= DEFAULT_MAX_DELAY);
            last = d;
        }
        assert_eq!(last, DEFAULT_MAX_DELAY);
        let mut b = Backoff::new(BackoffPolicy::default());
        let lo = b.clone().next_delay(false, 0.0);
        let hi = b.next_delay(false, 0.999_999);
        assert!(
            lo >= Duration::from_millis(374) && lo <= Duration::from_millis(376),
            "{lo:?}"
        );
        assert!(
            hi >= Duration::from_millis(624) && hi <= Duration::from_millis(626),
            "{hi:?}"
        );
    }

    #[test]
    fn persistent_errors_wait_longer_and_short_connections_do_not_reset() {
        let mut b = Backoff::new(BackoffPolicy::default());
        assert_eq!(b.next_delay(true, 0.5), DEFAULT_PERSISTENT_ERROR_DELAY);
        b.connection_lasted(Duration::from_secs(2));
        assert_eq!(b.failures(), 1);
        assert!(b.next_delay(false, 0.5) > DEFAULT_INITIAL_DELAY);
    }
}

#[cfg(test)]
mod doc_examples {
    /// How `ingest::backoff::Backoff` is used.
    #[test]
    fn backoff_example() {
        use crate::ingest::backoff::{Backoff, BackoffPolicy};
        use std::time::Duration;
        let mut b = Backoff::new(BackoffPolicy {
            jitter: 0.0,
            ..Default::default()
        });
        assert_eq!(b.next_delay(false, 0.5), Duration::from_millis(500));
        assert_eq!(b.next_delay(false, 0.5), Duration::from_secs(1));
        b.connection_lasted(Duration::from_secs(60)); // stable: start over
        assert_eq!(b.next_delay(false, 0.5), Duration::from_millis(500));
    }
}
