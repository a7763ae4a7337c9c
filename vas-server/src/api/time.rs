//! Times clients send: checked once, so date arithmetic on them never overflows.
//!
//! Owns the accepted range ([`EARLIEST`]..=[`latest`]()) and the checked subtraction the
//! handlers use. A time outside the range is `invalid_input` (400), never a panic or a
//! database error.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use vas::{Error, Result};

/// Earliest time a client may ask about: 1970-01-01 (nothing is recorded before the epoch).
pub const EARLIEST: DateTime<Utc> = DateTime::UNIX_EPOCH;

/// Latest time a client may ask about: the end of year 9999.
pub fn latest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// See [`latest`].
pub const LATEST_YEAR: i32 = 9999;

/// Checks an optional client time (`what` names the parameter in the error).
pub fn client_time(t: Option<DateTime<Utc>>, what: &str) -> Result<Option<DateTime<Utc>>> {
    match t {
        Some(t) if t < EARLIEST || t > latest() => Err(Error::invalid_input(format!(
            "{what} must be between 1970-01-01T00:00:00Z and {LATEST_YEAR}-12-31T23:59:59Z"
        ))),
        other => Ok(other),
    }
}

/// `t - d`, or `invalid_input` when that leaves the accepted range.
pub fn before(t: DateTime<Utc>, d: Duration) -> Result<DateTime<Utc>> {
    chrono::TimeDelta::from_std(d)
        .ok()
        .and_then(|d| t.checked_sub_signed(d))
        .filter(|r| *r >= EARLIEST)
        .ok_or_else(|| Error::invalid_input("the time range starts before 1970"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extreme_times_are_refused_not_panicked_on() {
        let min = DateTime::<Utc>::MIN_UTC;
        assert!(client_time(Some(min), "to").is_err());
        assert!(client_time(Some(DateTime::<Utc>::MAX_UTC), "to").is_err());
        assert!(client_time(Some(EARLIEST), "to").unwrap().is_some());
        assert!(before(EARLIEST, Duration::from_secs(1)).is_err());
        assert!(before(min, Duration::MAX).is_err());
        assert!(before(Utc::now(), Duration::from_secs(3600)).is_ok());
    }
}
