//! What VAS keeps of a stream: recordings (HLS), snapshots (JPEG) and bookmarks (MP4 clips),
//! and what a caller sends to make them.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vas_macros::{Names, Record};

use super::{BookmarkId, MAX_LABEL_CHARS, RecordingId, SnapshotId, StreamId};
use crate::{Error, Result};

/// JPEG quality of a snapshot when none is asked for (also `vas::snapshot::DEFAULT_QUALITY`).
pub const DEFAULT_QUALITY: u8 = 85;
/// Video a bookmark keeps before and after its moment when a request does not say (also
/// `vas::bookmark::DEFAULT_MARGIN`).
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(5);

/// Longest margin a stored bookmark may have on either side: the bound the store's queries
/// assume when they look for the recordings a bookmark needs (new bookmarks are bounded more
/// tightly, by [`crate::bookmark::MAX_BEFORE`] and [`crate::bookmark::MAX_AFTER`]).
pub(crate) const MAX_BOOKMARK_MARGIN: Duration = Duration::from_secs(300);

/// A run of recorded video of one stream: HLS segments under one playlist.
#[derive(Clone, Debug, PartialEq, Serialize, Record)]
#[non_exhaustive]
pub struct Recording {
    /// Its id.
    pub id: RecordingId,
    /// The stream recorded.
    pub stream_id: StreamId,
    /// Time of the first frame.
    pub start: DateTime<Utc>,
    /// Time just after the last frame; absent while it is being written.
    pub end: Option<DateTime<Utc>>,
    /// Its playlist, relative to the media folder.
    pub location: String,
    /// Bytes of media on disk.
    pub bytes: u64,
}

/// A saved snapshot: a JPEG file in the media folder and its row.
#[derive(Clone, Debug, PartialEq, Serialize, Record)]
#[non_exhaustive]
pub struct Snapshot {
    /// Its id.
    pub id: SnapshotId,
    /// The stream it was taken from.
    pub stream_id: StreamId,
    /// Capture time of the frame it shows.
    pub taken_at: DateTime<Utc>,
    /// The image, relative to the media folder.
    pub location: String,
    /// Size of the image file.
    pub bytes: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Its label (at most 256 characters).
    pub label: Option<String>,
}

/// A JPEG of a stream and the frame it shows (not saved).
#[derive(Debug, Clone, PartialEq, Record)]
#[non_exhaustive]
pub struct SnapshotImage {
    /// The JPEG file.
    pub jpeg: Bytes,
    /// Capture time of the frame shown.
    pub time: DateTime<Utc>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Whether the stream was not live: this is its last good picture, not a current one.
    pub offline: bool,
}

/// Which picture a snapshot shows and how it is encoded.
///
/// ```
/// use vas::SnapshotOptions;
/// let o = SnapshotOptions::new().width(640).quality(70);
/// assert!(o.validate().is_ok());
/// assert!(SnapshotOptions::new().width(0).validate().is_err());
/// assert!(SnapshotOptions::new().quality(101).validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Record)]
#[record(input)]
#[serde(deny_unknown_fields, default)]
pub struct SnapshotOptions {
    /// A past moment, from memory or the recordings (absent: the newest frame).
    pub at: Option<DateTime<Utc>>,
    /// The newest keyframe instead of the newest frame: one decode, the fastest picture, up to
    /// a GOP old (not with `at`).
    pub keyframe: bool,
    /// Scale down to this width, 1–8192 pixels, keeping the aspect ratio (absent, or wider
    /// than the stream: the stream's; never scaled up).
    pub width: Option<u32>,
    /// JPEG quality, 1–100.
    #[field(default = DEFAULT_QUALITY)]
    pub quality: u8,
    /// When the stream is not live, answer with its last good picture (marked `offline`)
    /// instead of an `unavailable` error.
    pub stale_ok: bool,
}

/// Lifecycle of a bookmark's clip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Names)]
#[names(what = "bookmark state")]
#[non_exhaustive]
pub enum BookmarkState {
    /// Waiting for the after-margin to pass, or for the clip to be cut.
    Pending,
    /// Clip written.
    Ready,
    /// The clip could not be made (`detail` says why).
    Failed,
}

/// A bookmarked moment of a stream, with the clip around it.
#[derive(Clone, Debug, PartialEq, Serialize, Record)]
#[non_exhaustive]
pub struct Bookmark {
    /// Its id.
    pub id: BookmarkId,
    /// The stream it marks.
    pub stream_id: StreamId,
    /// The moment.
    pub at: DateTime<Utc>,
    /// Video kept before the moment.
    #[serde(rename = "before_s", with = "super::seconds")]
    pub before: Duration,
    /// Video kept after the moment.
    #[serde(rename = "after_s", with = "super::seconds")]
    pub after: Duration,
    /// Its label.
    pub label: Option<String>,
    /// The MP4 clip, relative to the media folder, once written.
    pub clip_location: Option<String>,
    /// Where the clip is in its lifecycle.
    pub state: BookmarkState,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Why the clip failed, or what a ready clip lacks (the camera dropped meanwhile).
    pub detail: Option<String>,
}

impl Bookmark {
    /// Checks margins and label against what the store keeps.
    pub(crate) fn validate(&self) -> Result<()> {
        for (what, d) in [("before", self.before), ("after", self.after)] {
            if d > MAX_BOOKMARK_MARGIN {
                return Err(Error::invalid_input(format!(
                    "bookmark {what} margin exceeds {} s",
                    MAX_BOOKMARK_MARGIN.as_secs()
                )));
            }
        }
        if let Some(l) = &self.label
            && l.chars().count() > MAX_LABEL_CHARS
        {
            return Err(Error::invalid_input(format!(
                "bookmark label exceeds {MAX_LABEL_CHARS} characters"
            )));
        }
        Ok(())
    }
}

/// A bookmark to make: a stream, a moment (default now), the margins, a label.
///
/// ```
/// use std::time::Duration;
/// use vas::NewBookmark;
/// let b = NewBookmark::new(vas::StreamId::new()).before(Duration::from_secs(3)).label("gate");
/// assert!(b.validate().is_ok());
/// assert!(NewBookmark::new(vas::StreamId::new()).before(Duration::from_secs(31)).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Record)]
#[record(input)]
#[serde(deny_unknown_fields)]
pub struct NewBookmark {
    /// The stream.
    #[field(required)]
    pub stream_id: StreamId,
    /// The moment (absent: now).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// Video kept before the moment, at most 30 s.
    #[field(default = DEFAULT_MARGIN)]
    #[serde(
        rename = "before_s",
        with = "super::seconds",
        default = "default_margin"
    )]
    pub before: Duration,
    /// Video kept after the moment, at most 60 s.
    #[field(default = DEFAULT_MARGIN)]
    #[serde(
        rename = "after_s",
        with = "super::seconds",
        default = "default_margin"
    )]
    pub after: Duration,
    /// A label (trimmed; at most 256 characters).
    #[serde(default)]
    pub label: Option<String>,
}

fn default_margin() -> Duration {
    DEFAULT_MARGIN
}
