//! The recorded frames of a stream's time range, across segments and recordings: what
//! snapshots at a past time and bookmark clips start from.
//!
//! Owns choosing what to read and cutting it to the range: the recordings that overlap it
//! (from the store), their segments (from their playlists; a segment starts at its program
//! date time, or where the one before it ended, and ends by `playlist::segment_end`), and the frames
//! from the last video keyframe at or before `from` through the frame showing at `to`. Each
//! recording is its own timeline, so it gets its own epoch (0, 1, …), as does each
//! discontinuity inside a recording. It must never write a file or a row, and never hold more
//! than its [`RangeLimits`] of frames.
//!
//! It is split where the I/O changes kind: [`recordings_for_range`] is the async part (the
//! store), [`read_range`] the blocking part (playlists and segments through [`MediaFs`],
//! which is synchronous: run it on a blocking thread), and [`frames_for_range`] does both,
//! the second on tokio's blocking pool. Whether the stream exists and the engine is open is
//! the caller's to check.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use super::fs::{MediaFs, read_to_string_bounded};
use super::layout::MediaLayout;
use super::playback::MAX_PLAYLIST_READ;
use super::playlist::{MediaPlaylist, segment_end};
use super::ts_read::{Continuity, ReadOptions, read_segment};
use crate::media::Frame;
use crate::model::ListQuery;
use crate::model::{Recording, RecordingId, StreamId};
use crate::store::{self, Store};
use crate::{Error, ErrorKind, Result};

/// Most payload bytes a range returns by default.
pub const DEFAULT_MAX_RANGE_BYTES: u64 = 256 << 20;

/// Most frames (video and audio) a range returns by default: ten minutes of 30 fps video
/// with 48 kHz AAC audio.
pub const DEFAULT_MAX_RANGE_FRAMES: usize = 10 * 60 * (30 + 47);

/// How much one range may read and return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeLimits {
    /// Most payload bytes of the frames returned (the GOP before `from` included while it
    /// is read); past it the range is refused with `TooLarge`.
    pub max_bytes: u64,
    /// Most frames returned, likewise.
    pub max_frames: usize,
    /// Bounds for each segment file.
    pub read: ReadOptions,
}

impl Default for RangeLimits {
    fn default() -> Self {
        RangeLimits {
            max_bytes: DEFAULT_MAX_RANGE_BYTES,
            max_frames: DEFAULT_MAX_RANGE_FRAMES,
            read: ReadOptions::default(),
        }
    }
}

/// One segment file a range read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeSegment {
    /// The recording it belongs to.
    pub recording: RecordingId,
    /// The file.
    pub path: PathBuf,
    /// Its wall-clock start (program date time).
    pub start: DateTime<Utc>,
    /// The epoch its frames carry.
    pub epoch: u32,
}

/// The frames of a range, and where they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeFrames {
    /// Video and audio frames in file order: first a video keyframe at or before `from`,
    /// last the frames showing at `to` (or the last recorded, if the recording ends first).
    pub frames: Vec<Frame>,
    /// The segment files read, in order (the last one perhaps only up to `to`).
    pub segments: Vec<RangeSegment>,
    /// Bytes read from segment files.
    pub bytes_read: u64,
}

/// The async part: the recordings of `stream` that overlap `from..=to`, oldest first.
pub async fn recordings_for_range(
    store: &dyn Store,
    stream: StreamId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Recording>> {
    check_range(from, to)?;
    // The store's upper bound is exclusive; `to` itself is part of the range.
    let until = to
        .checked_add_signed(TimeDelta::microseconds(1))
        .unwrap_or(to);
    let range = ListQuery {
        limit: store::MAX_LIST_LIMIT,
        ..ListQuery::stream(stream).between(from, until)
    };
    store.list_recordings(range).await
}

/// Both parts: [`recordings_for_range`], then [`read_range`] on tokio's blocking pool.
pub async fn frames_for_range(
    store: &dyn Store,
    layout: &MediaLayout,
    fs: &Arc<dyn MediaFs>,
    stream: StreamId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limits: &RangeLimits,
) -> Result<RangeFrames> {
    let recordings = recordings_for_range(store, stream, from, to).await?;
    let (layout, fs, limits) = (layout.clone(), fs.clone(), *limits);
    tokio::task::spawn_blocking(move || read_range(&layout, &*fs, &recordings, from, to, &limits))
        .await
        .map_err(|_| Error::internal("the range reader failed"))?
}

/// A segment planned for reading.
#[derive(Debug)]
struct Planned {
    recording: RecordingId,
    path: PathBuf,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    discontinuity: bool,
}

/// The blocking part: reads `recordings` (as [`recordings_for_range`] lists them, oldest
/// first) and returns the frames from the last video keyframe at or before `from` through
/// the frame showing at `to`. Blocks on file I/O: call it on a blocking thread.
///
/// `NotFound` when no segment covers `from` (nothing recorded then, or deleted meanwhile);
/// `TooLarge` past `limits`; `Corrupt` for a damaged playlist or segment; `InvalidInput` if
/// `from` is after `to`.
pub fn read_range(
    layout: &MediaLayout,
    fs: &dyn MediaFs,
    recordings: &[Recording],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limits: &RangeLimits,
) -> Result<RangeFrames> {
    check_range(from, to)?;
    let plan = plan(layout, fs, recordings, from, to)?;
    let Some(first) = plan.first().filter(|s| s.start <= from && from < s.end) else {
        return Err(Error::not_found(format!(
            "nothing of this stream is recorded at {from}"
        )));
    };
    let first_recording = first.recording;

    let mut cut = Cut {
        from,
        to,
        limits,
        frames: Vec::new(),
        bytes: 0,
        keyframe_seen: false,
        done: false,
    };
    let mut segments = Vec::new();
    let mut bytes_read = 0;
    let mut carry = Continuity::new(0);
    let mut recording = first_recording;
    for (i, seg) in plan.iter().enumerate() {
        if seg.recording != recording {
            recording = seg.recording;
            carry = Continuity::new(carry.epoch + 1);
        } else if i > 0 && seg.discontinuity {
            // Same recording, new timeline: timestamps may jump; parameters stay known.
            carry = Continuity {
                epoch: carry.epoch + 1,
                last_pts: None,
                ..carry
            };
        }
        let mut file = fs.open_read(&seg.path).map_err(|e| {
            Error::from(e).context(format_args!(
                "cannot open segment {} of the range",
                seg.path.display()
            ))
        })?;
        segments.push(RangeSegment {
            recording: seg.recording,
            path: seg.path.clone(),
            start: seg.start,
            epoch: carry.epoch,
        });
        let summary = read_segment(&mut *file, seg.start, &mut carry, &limits.read, &mut |f| {
            cut.take(f)
        })
        .map_err(|e| e.context(format_args!("segment {}", seg.path.display())))?;
        bytes_read += summary.bytes_read;
        if i == 0 && !cut.keyframe_seen {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "segment {} has no keyframe at or before {from}",
                    seg.path.display()
                ),
            ));
        }
        if cut.done {
            break;
        }
    }
    Ok(RangeFrames {
        frames: cut.frames,
        segments,
        bytes_read,
    })
}

/// Cutting the frames read to the range, within the limits.
struct Cut<'a> {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limits: &'a RangeLimits,
    frames: Vec<Frame>,
    bytes: u64,
    keyframe_seen: bool,
    /// A video frame past `to` was read: nothing more is needed.
    done: bool,
}

impl Cut<'_> {
    /// Takes one frame in file order; `false` once the range is complete.
    fn take(&mut self, frame: Frame) -> Result<bool> {
        if frame.wallclock > self.to {
            if frame.is_video() {
                self.done = true;
                return Ok(false);
            }
            return Ok(true); // audio past the end; the video frame showing at `to` may follow
        }
        if frame.is_video() && frame.keyframe && frame.wallclock <= self.from {
            // A later starting point: what came before it is not needed.
            self.frames.clear();
            self.bytes = 0;
            self.keyframe_seen = true;
        }
        if !self.keyframe_seen {
            return Ok(true);
        }
        self.bytes += frame.data.len() as u64;
        self.frames.push(frame);
        if self.frames.len() > self.limits.max_frames || self.bytes > self.limits.max_bytes {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "the range holds more than {} frames or {} bytes; ask for a shorter one",
                    self.limits.max_frames, self.limits.max_bytes
                ),
            ));
        }
        Ok(true)
    }
}

fn check_range(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<()> {
    if from > to {
        return Err(Error::invalid_input("from is after to"));
    }
    Ok(())
}

/// The segments of `recordings` that overlap `from..=to`, in order. A recording whose
/// playlist is gone (retention deleted it meanwhile) is skipped.
fn plan(
    layout: &MediaLayout,
    fs: &dyn MediaFs,
    recordings: &[Recording],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Planned>> {
    let mut plan = Vec::new();
    for rec in recordings {
        let path = layout.resolve(&rec.location)?;
        let Ok(text) = read_to_string_bounded(fs, &path, MAX_PLAYLIST_READ) else {
            continue;
        };
        let playlist = MediaPlaylist::parse(&text)?;
        let dir = path.parent().unwrap_or(Path::new(""));
        let mut at = rec.start;
        for seg in playlist.segments {
            let start = seg.program_date_time.unwrap_or(at);
            let end = segment_end(start, seg.duration_secs);
            at = end;
            if end <= from || start > to {
                continue;
            }
            // Only our own segment names: a playlist cannot point outside its folder.
            if MediaLayout::parse_segment_name(&seg.uri).is_none() {
                return Err(Error::new(
                    ErrorKind::Corrupt,
                    format!("playlist {} names a foreign segment", path.display()),
                ));
            }
            plan.push(Planned {
                recording: rec.id,
                path: dir.join(&seg.uri),
                start,
                end,
                discontinuity: seg.discontinuity,
            });
        }
    }
    Ok(plan)
}
