//! Bookmarks: a moment of a stream kept as a clip of `[at − before, at + after]`, a
//! progressive MP4 anyone can play.
//!
//! Owns what a bookmark asks for ([`NewBookmark`] and its bounds), the in-memory pre-roll of
//! each running stream (its pre-roll: at least [`MAX_BEFORE`] of frames, from a keyframe,
//! bounded in bytes), collecting a pending bookmark's frames until `at + after` has passed,
//! and cutting the clip with `mp4` (remuxed, never re-encoded; the lead-in from the
//! keyframe before `at − before` hidden by an edit list). The engine decides where frames
//! come from (the pre-roll and the live hub, or the recordings) and stores files and rows.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::hub::{Delivery, Hub};
use crate::media::{CLOCK_RATE, Frame};
use crate::model::{MAX_LABEL_CHARS, StreamId};
use crate::mp4::{ClipInfo, ClipInput, ClipWriter};
use crate::{Error, Result};

pub use crate::model::kept::DEFAULT_MARGIN;
/// Longest `before` a bookmark may ask for (what every running stream keeps in memory).
pub const MAX_BEFORE: Duration = Duration::from_secs(30);
/// Longest `after` a bookmark may ask for.
pub const MAX_AFTER: Duration = Duration::from_secs(60);
/// How far in the future `at` may lie (clock skew between a client and the engine).
pub const MAX_FUTURE_SKEW: Duration = Duration::from_secs(5);
/// Most bytes a stream's pre-roll holds (a camera above ~8 Mbit/s keeps less than
/// [`MAX_BEFORE`]; bookmarks reaching further back then come from the recordings).
pub const DEFAULT_PREROLL_BYTES: usize = 32 * 1024 * 1024;
/// How long past `at + after` a pending bookmark waits for the camera before it is cut with
/// what exists (a camera that dropped).
pub const LATE_FRAMES_GRACE: Duration = Duration::from_secs(3);

/// Most bookmarks of one stream that may be pending at once (each holds up to
/// [`MAX_BEFORE`] + [`MAX_AFTER`] of frames while its clip is made).
pub const DEFAULT_MAX_PENDING_PER_STREAM: usize = 16;
/// How close two bookmark moments must be for the second request to be the same bookmark
/// (with the same stream, margins and label): a client that repeats a request, or many
/// clients pressing the same button, get one clip.
pub const COALESCE_WINDOW: Duration = Duration::from_secs(1);

/// Limits of bookmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookmarkConfig {
    /// Most bytes each running stream's pre-roll holds (it keeps [`MAX_BEFORE`] or less).
    pub preroll_bytes: usize,
    /// How long past `at + after` a pending bookmark waits for frames before it is cut with
    /// what exists.
    pub grace: Duration,
    /// Most pending bookmarks per stream; one more is refused with `ResourceExhausted`
    /// (HTTP 429) until one is ready. At least 1.
    pub max_pending_per_stream: usize,
}

impl Default for BookmarkConfig {
    /// [`DEFAULT_PREROLL_BYTES`], [`LATE_FRAMES_GRACE`], [`DEFAULT_MAX_PENDING_PER_STREAM`].
    fn default() -> Self {
        BookmarkConfig {
            preroll_bytes: DEFAULT_PREROLL_BYTES,
            grace: LATE_FRAMES_GRACE,
            max_pending_per_stream: DEFAULT_MAX_PENDING_PER_STREAM,
        }
    }
}

impl BookmarkConfig {
    /// `InvalidInput` when `max_pending_per_stream` is 0.
    pub fn validate(&self) -> Result<()> {
        if self.max_pending_per_stream == 0 {
            return Err(Error::invalid_input(
                "bookmarks: max_pending_per_stream must be at least 1",
            ));
        }
        Ok(())
    }
}

pub use crate::model::NewBookmark;

impl NewBookmark {
    /// Now, 5 s before and after, no label.
    pub fn new(stream_id: StreamId) -> Self {
        NewBookmark {
            stream_id,
            ..Default::default()
        }
    }

    /// The moment.
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.at = Some(at);
        self
    }

    /// Video kept before the moment.
    pub fn before(mut self, before: Duration) -> Self {
        self.before = before;
        self
    }

    /// Video kept after the moment.
    pub fn after(mut self, after: Duration) -> Self {
        self.after = after;
        self
    }

    /// A label.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// `InvalidInput` for margins out of bounds (both zero, or above the maxima) or a label
    /// that is too long.
    pub fn validate(&self) -> Result<()> {
        if self.before > MAX_BEFORE {
            return Err(Error::invalid_input(format!(
                "before may be at most {} s",
                MAX_BEFORE.as_secs()
            )));
        }
        if self.after > MAX_AFTER {
            return Err(Error::invalid_input(format!(
                "after may be at most {} s",
                MAX_AFTER.as_secs()
            )));
        }
        if (self.before + self.after).is_zero() {
            return Err(Error::invalid_input(
                "a clip needs some video: before and after cannot both be 0",
            ));
        }
        if let Some(l) = &self.label
            && l.trim().chars().count() > MAX_LABEL_CHARS
        {
            return Err(Error::invalid_input(format!(
                "bookmark label exceeds {MAX_LABEL_CHARS} characters"
            )));
        }
        Ok(())
    }
}

/// The last [`MAX_BEFORE`] (or more) of a running stream's frames, from a keyframe, bounded
/// in bytes. Fed by one task per running stream; cloning frames shares their payloads.
#[derive(Debug, Default)]
pub(crate) struct PreRoll {
    state: Mutex<PreRollState>,
}

#[derive(Debug, Default)]
struct PreRollState {
    frames: VecDeque<Frame>,
    bytes: usize,
}

impl PreRoll {
    fn lock(&self) -> MutexGuard<'_, PreRollState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a frame and lets go of what is no longer needed: everything before the newest
    /// keyframe that is at least `keep` old (and, over `max_bytes`, whole GOPs from the front).
    pub(crate) fn push(&self, frame: Frame, keep: Duration, max_bytes: usize) {
        let mut st = self.lock();
        if st.frames.is_empty() && !(frame.is_video() && frame.keyframe) {
            return; // start at a keyframe
        }
        st.bytes += frame.data.len();
        let newest = frame.wallclock;
        st.frames.push_back(frame);
        let keep = chrono::TimeDelta::from_std(keep).unwrap_or(chrono::TimeDelta::MAX);
        // The newest keyframe old enough to start a clip reaching `keep` back.
        let cut = st
            .frames
            .iter()
            .rposition(|f| f.is_video() && f.keyframe && newest - f.wallclock >= keep);
        if let Some(cut) = cut {
            for f in st.frames.drain(..cut).collect::<Vec<_>>() {
                st.bytes -= f.data.len();
            }
        }
        while st.bytes > max_bytes {
            // Drop the oldest GOP whole, so the pre-roll still starts at a keyframe.
            let next = st
                .frames
                .iter()
                .skip(1)
                .position(|f| f.is_video() && f.keyframe)
                .map(|p| p + 1);
            let n = next.unwrap_or(st.frames.len());
            for f in st.frames.drain(..n).collect::<Vec<_>>() {
                st.bytes -= f.data.len();
            }
        }
    }

    /// Forgets everything (the stream stopped).
    pub(crate) fn clear(&self) {
        let mut st = self.lock();
        st.frames.clear();
        st.bytes = 0;
    }

    /// The frames from the last keyframe at or before `from`, if the pre-roll reaches back
    /// that far.
    pub(crate) fn since(&self, from: DateTime<Utc>) -> Option<Vec<Frame>> {
        let st = self.lock();
        let start = st
            .frames
            .iter()
            .rposition(|f| f.is_video() && f.keyframe && f.wallclock <= from)?;
        Some(st.frames.iter().skip(start).cloned().collect())
    }

    /// Everything held (from its first keyframe), if anything.
    pub(crate) fn all(&self) -> Option<Vec<Frame>> {
        let st = self.lock();
        (!st.frames.is_empty()).then(|| st.frames.iter().cloned().collect())
    }

    /// Frames and bytes held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> (usize, usize) {
        let st = self.lock();
        (st.frames.len(), st.bytes)
    }
}

/// Feeds a stream's pre-roll from its hub until the hub closes.
pub(crate) async fn feed_preroll(
    hub: Hub,
    preroll: Arc<PreRoll>,
    keep: Duration,
    max_bytes: usize,
) {
    let mut sub = hub.subscribe();
    while let Some(d) = sub.recv().await {
        match d {
            Delivery::Frame(f) => preroll.push(f, keep, max_bytes),
            // Fell behind (should not happen: pushing is cheap); start over at a keyframe.
            _ => preroll.clear(),
        }
    }
}

/// Orders frames by connection, then time.
fn order(f: &Frame) -> (u32, i64) {
    (f.epoch, f.pts)
}

/// Collects a pending bookmark's frames: what `start` holds, then the live frames from `sub`
/// until one captured at or after `until` arrives, or `until + grace` passes (the camera
/// dropped). Returns the frames and whether they reach `until`.
pub(crate) async fn collect_live(
    mut frames: Vec<Frame>,
    sub: &mut crate::hub::Subscription,
    until: DateTime<Utc>,
    grace: Duration,
    max_bytes: usize,
) -> (Vec<Frame>, bool) {
    let reached = |frames: &[Frame]| {
        frames
            .iter()
            .rev()
            .find(|f| f.is_video())
            .is_some_and(|f| f.wallclock >= until)
    };
    if reached(&frames) {
        return (frames, true);
    }
    let mut bytes: usize = frames.iter().map(|f| f.data.len()).sum();
    let wait = (until - Utc::now()).to_std().unwrap_or_default() + grace;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let last = frames.last().map(order);
        match tokio::time::timeout_at(deadline, sub.recv()).await {
            Ok(Some(Delivery::Frame(f))) => {
                if last.is_some_and(|l| order(&f) <= l) {
                    continue; // already held (the subscription's backlog)
                }
                bytes += f.data.len();
                let done = f.is_video() && f.wallclock >= until;
                frames.push(f);
                if done {
                    return (frames, true);
                }
                if bytes > max_bytes {
                    return (frames, false);
                }
            }
            Ok(Some(_)) => {} // lost frames: the clip holds a gap, the writer copes
            Ok(None) | Err(_) => return (frames, false),
        }
    }
}

/// The window of `[at − before, at + after]` on the timeline of `frames` (the first epoch's
/// 90 kHz clock, continued across reconnects), measured from the first frame's capture time.
pub(crate) fn window(
    frames: &[Frame],
    at: DateTime<Utc>,
    before: Duration,
    after: Duration,
) -> Result<std::ops::Range<i64>> {
    let first = frames
        .iter()
        .find(|f| f.is_video())
        .ok_or_else(|| Error::unavailable("no video to make a clip of"))?;
    let ticks = |d: chrono::TimeDelta| {
        d.num_microseconds()
            .unwrap_or(i64::MAX)
            .saturating_mul(i64::from(CLOCK_RATE))
            / 1_000_000
    };
    let before = chrono::TimeDelta::from_std(before).unwrap_or_default();
    let from = at - before;
    let start = first
        .pts
        .saturating_add(ticks(from - first.wallclock).max(0));
    let length = ticks(before + chrono::TimeDelta::from_std(after).unwrap_or_default());
    Ok(start..start.saturating_add(length.max(1)))
}

/// Cuts the clip of `[at − before, at + after]` out of `frames` into `out`.
pub(crate) fn write_clip(
    frames: &[Frame],
    at: DateTime<Utc>,
    before: Duration,
    after: Duration,
    out: &mut impl std::io::Write,
) -> Result<ClipInfo> {
    let window = window(frames, at, before, after)?;
    ClipWriter::new(&ClipInput::new(frames, window))?.write_to(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{Track, VideoCodec, VideoParams};

    fn frames(n: i64, gop: i64) -> Vec<Frame> {
        let params = Arc::new(VideoParams {
            codec: VideoCodec::H264,
            width: 64,
            height: 64,
            vps: None,
            sps: bytes::Bytes::from_static(&[0x67]),
            pps: bytes::Bytes::from_static(&[0x68]),
            rfc6381_codec: "avc1.42C01E".into(),
        });
        let t0 = Utc::now();
        (0..n)
            .map(|i| Frame {
                track: Track::Video(params.clone()),
                pts: i * 3000,
                keyframe: i % gop == 0,
                data: bytes::Bytes::from(vec![0u8; 100]),
                epoch: 0,
                wallclock: t0 + chrono::TimeDelta::milliseconds(i * 100 / 3),
            })
            .collect()
    }

    #[test]
    fn preroll_keeps_enough_from_a_keyframe_and_stays_bounded() {
        let p = PreRoll::default();
        let all = frames(600, 30); // 20 s at 30 fps, a keyframe a second
        for f in &all {
            p.push(f.clone(), Duration::from_secs(5), usize::MAX);
        }
        let (n, bytes) = p.len();
        // 5 s back, from the keyframe before that: between 5 and 6 s of frames.
        assert!((150..=180).contains(&n), "{n}");
        assert_eq!(bytes, n * 100);
        let newest = all.last().unwrap().wallclock;
        let got = p.since(newest - chrono::TimeDelta::seconds(5)).unwrap();
        assert!(got[0].keyframe);
        assert!(p.since(newest - chrono::TimeDelta::seconds(7)).is_none());
        // Over the byte cap whole GOPs go, and it still starts at a keyframe.
        let q = PreRoll::default();
        for f in &all {
            q.push(f.clone(), Duration::from_secs(5), 100 * 45);
        }
        let (n, bytes) = q.len();
        assert!(bytes <= 100 * 45 && n > 0, "{n} {bytes}");
        assert!(q.since(newest).unwrap()[0].keyframe);
    }

    #[test]
    fn preroll_starts_at_a_keyframe() {
        let p = PreRoll::default();
        for f in frames(40, 30).into_iter().skip(1) {
            p.push(f, Duration::from_secs(5), usize::MAX);
        }
        assert_eq!(
            p.len().0,
            10,
            "frames before the first keyframe are not kept"
        );
    }

    #[test]
    fn window_is_measured_from_the_first_frame() {
        let f = frames(300, 30);
        let at = f[150].wallclock;
        let w = window(&f, at, Duration::from_secs(2), Duration::from_secs(3)).unwrap();
        assert_eq!(w.end - w.start, 5 * 90_000);
        assert!((w.start - f[90].pts).abs() <= 30, "{w:?}");
    }

    #[test]
    fn bounds_are_checked() {
        let s = StreamId::new();
        assert!(NewBookmark::new(s).validate().is_ok());
        for bad in [
            NewBookmark::new(s).before(MAX_BEFORE + Duration::from_secs(1)),
            NewBookmark::new(s).after(MAX_AFTER + Duration::from_secs(1)),
            NewBookmark::new(s)
                .before(Duration::ZERO)
                .after(Duration::ZERO),
            NewBookmark::new(s).label("x".repeat(300)),
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
