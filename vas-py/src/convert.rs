//! Argument and result conversions the generated methods use: ids, name-table values,
//! times, durations, and the `repr` of a record.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pyo3::prelude::*;

use crate::error::{IntoPyResult, invalid};

/// Parses an id argument (a UUID string) into one of vas's id types.
pub(crate) fn id<T: FromStr<Err = vas::Error>>(s: &str) -> PyResult<T> {
    T::from_str(s).py()
}

/// Parses a name-table value (`"tcp"`, `"newest"`, …); a bad one is `vas.InvalidInput`
/// naming the allowed values.
pub(crate) fn name<T: FromStr<Err = vas::Error>>(s: &str) -> PyResult<T> {
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

/// A duration argument in seconds (finite and not negative; the engine checks its own
/// bounds and says them).
pub(crate) fn duration(value: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        invalid(format!(
            "{what} must be a number of seconds, 0 or more, got {value}"
        ))
    })
}

/// `Name(field=repr(value), …)` of a record object, from its properties.
pub(crate) fn record_repr<T: pyo3::PyClass>(
    slf: &Bound<'_, T>,
    class: &str,
    fields: &[&str],
) -> PyResult<String> {
    let mut parts = Vec::with_capacity(fields.len());
    for f in fields {
        let value = slf.as_any().getattr(*f)?.repr()?;
        parts.push(format!("{f}={}", value.extract::<String>()?));
    }
    Ok(format!("{class}({})", parts.join(", ")))
}
