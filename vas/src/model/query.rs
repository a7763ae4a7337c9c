//! List queries: which rows a listing call returns, and in which order.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use vas_macros::{Names, Record};

use super::StreamId;
use crate::{Error, Result};

/// Default number of rows a list query returns.
pub const DEFAULT_LIST_LIMIT: u32 = 100;
/// Most rows a list query may return.
pub const MAX_LIST_LIMIT: u32 = 1000;

/// The order of a list: by time (a recording's start, a snapshot's capture, a bookmark's
/// moment; a device's or stream's creation), ties broken by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Names)]
#[non_exhaustive]
pub enum Order {
    /// Oldest first (the default).
    #[default]
    Oldest,
    /// Newest first: with a limit, the newest rows.
    Newest,
}

/// Which recordings, snapshots or bookmarks a listing returns: of one stream or all, those
/// overlapping `[from, to)`, in `order`, at most `limit`.
///
/// ```
/// use vas::{ListQuery, Order};
/// let q = ListQuery::stream(vas::StreamId::new()).newest().limit(10);
/// assert_eq!((q.order, q.limit), (Order::Newest, 10));
/// assert_eq!(ListQuery::default().order, Order::Oldest);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Record)]
#[record(input)]
#[serde(deny_unknown_fields, default)]
pub struct ListQuery {
    /// Only this stream (absent: every stream).
    pub stream_id: Option<StreamId>,
    /// From this time, inclusive (absent: unbounded).
    pub from: Option<DateTime<Utc>>,
    /// Until this time, exclusive (absent: unbounded).
    pub to: Option<DateTime<Utc>>,
    /// Most rows to return, 1–1000.
    #[field(default = DEFAULT_LIST_LIMIT)]
    pub limit: u32,
    /// Oldest or newest first.
    pub order: Order,
}

impl ListQuery {
    /// Everything of one stream (up to the default limit), oldest first.
    pub fn stream(id: StreamId) -> Self {
        ListQuery {
            stream_id: Some(id),
            ..Default::default()
        }
    }

    /// Sets both bounds.
    pub fn between(mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        self.from = Some(from);
        self.to = Some(to);
        self
    }

    /// Newest first.
    pub fn newest(mut self) -> Self {
        self.order = Order::Newest;
        self
    }

    /// At most `limit` rows.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// The limit as the store wants it, after checking the query: `InvalidInput` for a limit
    /// outside 1–[`MAX_LIST_LIMIT`] or `from` after `to`.
    pub(crate) fn checked_limit(&self) -> Result<i64> {
        let limit = checked_limit(self.limit)?;
        if let (Some(f), Some(t)) = (self.from, self.to)
            && f > t
        {
            return Err(Error::invalid_input("from is after to"));
        }
        Ok(limit)
    }
}

/// A list limit checked against 1–[`MAX_LIST_LIMIT`].
pub(crate) fn checked_limit(limit: u32) -> Result<i64> {
    if limit == 0 || limit > MAX_LIST_LIMIT {
        return Err(Error::invalid_input(format!(
            "limit must be between 1 and {MAX_LIST_LIMIT}"
        )));
    }
    Ok(i64::from(limit))
}
