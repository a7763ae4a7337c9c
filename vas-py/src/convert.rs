//! Argument conversions shared by the classes: ids, times, durations, query ranges.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pyo3::prelude::*;

use crate::error::{IntoPyResult, invalid};

/// Parses an id argument (a UUID string) into one of vas's id types.
pub(crate) fn id<T: FromStr<Err = vas::Error>>(s: &str) -> PyResult<T> {
    T::from_str(s).py()
}

/// A timezone-aware `datetime` argument as UTC (a naive one is refused: its zone is unknown).
pub(crate) fn time(value: &Bound<'_, PyAny>, what: &str) -> PyResult<DateTime<Utc>> {
    let py = value.py();
    let datetime = py.import("datetime")?.getattr("datetime")?;
    if !value.is_instance(&datetime)? {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "argument '{what}': expected a datetime, got {}",
            value.get_type().name()?
        )));
    }
    if value.call_method0("utcoffset")?.is_none() {
        return Err(invalid(format!(
            "{what} must be timezone-aware (e.g. datetime.now(timezone.utc))"
        )));
    }
    let seconds: f64 = value.call_method0("timestamp")?.extract()?;
    let micros = (seconds * 1e6).round() as i64;
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| invalid(format!("{what} is out of range")))
}

/// An optional timezone-aware `datetime` argument.
pub(crate) fn opt_time(
    value: Option<&Bound<'_, PyAny>>,
    what: &str,
) -> PyResult<Option<DateTime<Utc>>> {
    value
        .filter(|v| !v.is_none())
        .map(|v| time(v, what))
        .transpose()
}

/// A duration argument in seconds (finite, not negative, at most `max`).
pub(crate) fn seconds(value: f64, what: &str, max: Duration) -> PyResult<Duration> {
    if !value.is_finite() || value < 0.0 || value > max.as_secs_f64() {
        return Err(invalid(format!(
            "{what} must be between 0 and {} seconds, got {value}",
            max.as_secs_f64()
        )));
    }
    Ok(Duration::from_secs_f64(value))
}

/// The query of the listing calls (`stream_id`, `start`, `end`, `limit`).
pub(crate) fn range(
    stream_id: Option<&str>,
    start: Option<&Bound<'_, PyAny>>,
    end: Option<&Bound<'_, PyAny>>,
    limit: Option<u32>,
) -> PyResult<vas::Range> {
    let mut r = vas::Range {
        stream: stream_id.map(id).transpose()?,
        from: opt_time(start, "start")?,
        to: opt_time(end, "end")?,
        ..Default::default()
    };
    if let Some(limit) = limit {
        if limit == 0 {
            return Err(invalid("limit must be at least 1"));
        }
        r.limit = limit;
    }
    Ok(r)
}
