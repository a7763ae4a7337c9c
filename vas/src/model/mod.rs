//! The public face's values: what the engine hands out and what callers send, each described
//! once (see [`crate::description`]). Every shell is made from these: the C, Python and
//! uniffi surfaces are generated from their descriptions and the server's JSON is their serde
//! form.
//!
//! Owns the shapes and their validation rules. It must never do I/O; the store persists the
//! stored forms ([`DeviceRow`], [`StreamRow`]) and the engine decides when. It depends on
//! nothing else in the crate but the error type, so every room may use it without a cycle.
//!
//! IDs are UUIDs (v7, so they sort by creation time) and times are UTC with microsecond
//! precision, so a value round-trips through SQLite and PostgreSQL unchanged.
//!
//! Modules: `ids` (identifiers), `device` (cameras), `stream` (streams and their live state),
//! `kept` (recordings, snapshots, bookmarks), `query` (list queries and their order),
//! `frames` (decoded and encoded frame options and metadata), `engine` (engine options and
//! WebRTC sessions).

mod device;
mod engine;
mod frames;
mod ids;
pub(crate) mod kept;
mod query;
mod stream;

pub use device::{Device, DevicePatch, NewDevice, RtpTransport, SubStreamChange};
pub(crate) use device::{DeviceRow, resolve_credentials, validate_name};
pub use engine::{EngineOptions, WebRtcSession};
pub use frames::{
    Codec, EncodedFrameInfo, FrameInfo, FrameOptions, PixelFormat, Strategy, TrackKind,
};
pub use ids::{BookmarkId, DeviceId, RecordingId, SnapshotId, StreamId, ViewerId};
pub(crate) use kept::MAX_BOOKMARK_MARGIN;
pub use kept::{
    Bookmark, BookmarkState, NewBookmark, Recording, Snapshot, SnapshotImage, SnapshotOptions,
};
pub(crate) use query::checked_limit;
pub use query::{DEFAULT_LIST_LIMIT, ListQuery, MAX_LIST_LIMIT, Order};
pub use stream::{DesiredState, RecorderState, RecorderStatus, Stream, StreamProfile, StreamState};
pub(crate) use stream::{PacketCounts, StreamRow, StreamStatus};

use chrono::{DateTime, Utc};

/// Longest accepted device name, in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// Longest accepted label (bookmarks, snapshots), in characters.
pub const MAX_LABEL_CHARS: usize = 256;

/// Truncates a time to whole microseconds, the precision both stores keep.
pub(crate) fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// Serde form of durations in JSON: seconds as a number (`"before_s": 5.0`).
pub(crate) mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes whole and fractional seconds.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    /// Reads seconds: finite and not negative (the field's own rules bound it further).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        Duration::try_from_secs_f64(v).map_err(|_| {
            serde::de::Error::custom(format!(
                "{v} is not a number of seconds (finite, not negative)"
            ))
        })
    }
}
