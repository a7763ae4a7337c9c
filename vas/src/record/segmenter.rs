//! The HLS segmenter: frames in, segment bytes and playlist changes out (sans-IO).
//!
//! Owns the decisions of a recording: which frames are written (nothing before a keyframe),
//! where segments are cut (at the first video keyframe once the target duration is reached),
//! where the recording's timeline is discontinuous (new epoch, timestamps backwards, wrapped
//! or jumping, see the private `timeline` module), how long each segment is, and the recording's EVENT
//! playlist. It drives the [`TsMuxer`] and hands every frame's bytes out as one
//! [`SegmentEvent::Bytes`].
//!
//! It must never touch files or sockets, spawn tasks or read a clock: a driver pushes
//! frames, polls events and does the writing. That is what lets tests run a day of video in
//! milliseconds.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};

use super::playlist::{MediaPlaylist, PlaylistSegment};
use super::timeline::{DiscontinuityReason, Timeline, VideoPlacement};
use super::ts::TsMuxer;
use crate::media::{CLOCK_RATE, Frame, Track};
use crate::{Error, Result};

/// Default target segment duration (Apple's HLS authoring guidance suggests 2 to 6 s).
pub const DEFAULT_TARGET_DURATION: Duration = Duration::from_secs(2);

/// Shortest target duration accepted.
pub const MIN_TARGET_DURATION: Duration = Duration::from_millis(100);

/// Longest target duration accepted.
pub const MAX_TARGET_DURATION: Duration = Duration::from_secs(60);

/// Default threshold beyond which a forward timestamp step is a discontinuity.
pub const DEFAULT_MAX_TIMESTAMP_JUMP: Duration = Duration::from_secs(10);

/// Largest timestamp jump threshold accepted (it must stay well below half the 32-bit RTP
/// timestamp range, about 6.6 hours, so wraps remain recognisable).
pub const MAX_TIMESTAMP_JUMP_LIMIT: Duration = Duration::from_secs(3600);

/// Default prefix of segment URIs (`segment-00000000.ts`, …).
pub const DEFAULT_SEGMENT_PREFIX: &str = "segment-";

/// Longest segment URI prefix accepted.
pub const MAX_SEGMENT_PREFIX_LEN: usize = 64;

/// Digits of the zero-padded sequence number in segment URIs (so names sort in order).
const SEQUENCE_DIGITS: usize = 8;

/// How a [`Segmenter`] cuts and names segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmenterConfig {
    /// Cut at the first keyframe at least this long after the segment start.
    pub target_duration: Duration,
    /// A video timestamp step forward larger than this is a discontinuity.
    pub max_timestamp_jump: Duration,
    /// Sequence number of the first segment (and the playlist's media sequence).
    pub first_sequence: u64,
    /// Segment URIs are this prefix, the zero-padded sequence number and `.ts`; letters,
    /// digits, `-`, `_` and `.` only.
    pub segment_prefix: String,
}

impl Default for SegmenterConfig {
    fn default() -> Self {
        SegmenterConfig {
            target_duration: DEFAULT_TARGET_DURATION,
            max_timestamp_jump: DEFAULT_MAX_TIMESTAMP_JUMP,
            first_sequence: 0,
            segment_prefix: DEFAULT_SEGMENT_PREFIX.to_owned(),
        }
    }
}

impl SegmenterConfig {
    /// Sets the target segment duration.
    pub fn target_duration(mut self, d: Duration) -> Self {
        self.target_duration = d;
        self
    }

    /// Sets the timestamp jump threshold.
    pub fn max_timestamp_jump(mut self, d: Duration) -> Self {
        self.max_timestamp_jump = d;
        self
    }

    /// The URI of segment `seq`.
    pub fn segment_uri(&self, seq: u64) -> String {
        format!(
            "{}{seq:0width$}.ts",
            self.segment_prefix,
            width = SEQUENCE_DIGITS
        )
    }

    fn validate(&self) -> Result<()> {
        if !(MIN_TARGET_DURATION..=MAX_TARGET_DURATION).contains(&self.target_duration) {
            return Err(Error::invalid_input(format!(
                "target duration must be between {MIN_TARGET_DURATION:?} and {MAX_TARGET_DURATION:?}"
            )));
        }
        if self.max_timestamp_jump < self.target_duration
            || self.max_timestamp_jump > MAX_TIMESTAMP_JUMP_LIMIT
        {
            return Err(Error::invalid_input(format!(
                "timestamp jump threshold must be between the target duration and {MAX_TIMESTAMP_JUMP_LIMIT:?}"
            )));
        }
        let p = &self.segment_prefix;
        if p.len() > MAX_SEGMENT_PREFIX_LEN
            || !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(Error::invalid_input(format!(
                "segment prefix must be at most {MAX_SEGMENT_PREFIX_LEN} letters, digits, '-', '_' or '.'"
            )));
        }
        Ok(())
    }
}

/// What the driver must do next, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum SegmentEvent {
    /// Open a new segment; the following [`SegmentEvent::Bytes`] belong to it.
    SegmentStarted {
        /// Sequence number.
        seq: u64,
        /// URI (file name) relative to the playlist.
        uri: String,
        /// The camera's presentation time (90 kHz) of the segment's first frame, a keyframe.
        start_pts: i64,
        /// Wall-clock time of that frame.
        wallclock: DateTime<Utc>,
        /// Whether the recording's timeline is discontinuous before this segment.
        discontinuity: bool,
    },
    /// Append these bytes (one frame's transport stream packets) to the current segment.
    Bytes(Bytes),
    /// The current segment is complete.
    SegmentClosed {
        /// Sequence number.
        seq: u64,
        /// From its first frame to the next segment's first frame (or, at a discontinuity or
        /// the end, to the end of its last video frame), in seconds; never negative.
        duration_secs: f64,
        /// Total bytes of the segment.
        bytes: u64,
    },
    /// [`Segmenter::playlist`] changed (a segment was added, or the recording ended).
    PlaylistChanged,
}

/// Counters of what happened to the frames pushed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmenterStats {
    /// Frames pushed.
    pub frames_in: u64,
    /// Frames written into a segment.
    pub frames_written: u64,
    /// Frames dropped because no segment was open (before the first keyframe, or after a
    /// discontinuity until the next keyframe).
    pub dropped_waiting_for_keyframe: u64,
    /// Frames dropped for their timestamp: audio that does not fit the video's, video
    /// repeating the previous frame's timestamp.
    pub dropped_bad_timestamp: u64,
    /// Frames of codecs MPEG-TS does not carry here (G.711, Opus).
    pub dropped_unsupported: u64,
    /// Frames the muxer refused (no complete NAL unit, unusable AAC config, too large).
    pub dropped_invalid: u64,
    /// Frames pushed after [`Segmenter::finish`].
    pub dropped_after_finish: u64,
    /// Discontinuities detected.
    pub discontinuities: u64,
    /// Segments closed.
    pub segments_closed: u64,
    /// Bytes handed out.
    pub bytes_written: u64,
}

/// The segment being written.
#[derive(Debug)]
struct OpenSegment {
    seq: u64,
    uri: String,
    start_out: i64,
    wallclock: DateTime<Utc>,
    discontinuity: bool,
    bytes: u64,
}

#[derive(Debug)]
enum State {
    /// No segment open; the next video keyframe opens one.
    Waiting {
        discontinuity: bool,
    },
    Open(OpenSegment),
}

/// Cuts a stream of frames into MPEG-TS segments and keeps the recording's playlist.
///
/// Push frames with [`Segmenter::push`], then drain [`Segmenter::poll`] until it returns
/// `None`; call [`Segmenter::finish`] (and drain again) at the end of the recording.
#[derive(Debug)]
pub struct Segmenter {
    config: SegmenterConfig,
    target_ticks: i64,
    muxer: TsMuxer,
    timeline: Timeline,
    state: State,
    next_seq: u64,
    /// At most the events of one push or finish when drained after each call (five).
    events: VecDeque<SegmentEvent>,
    playlist: MediaPlaylist,
    stats: SegmenterStats,
    out: BytesMut,
    finished: bool,
}

impl Segmenter {
    /// A segmenter for one recording; fails on an out-of-range config.
    pub fn new(config: SegmenterConfig) -> Result<Self> {
        config.validate()?;
        let target_ticks = duration_ticks(config.target_duration);
        let max_jump = duration_ticks(config.max_timestamp_jump);
        let mut playlist = MediaPlaylist::event(config.target_duration.as_secs_f64().ceil() as u64);
        playlist.media_sequence = config.first_sequence;
        Ok(Segmenter {
            next_seq: config.first_sequence,
            config,
            target_ticks,
            muxer: TsMuxer::new(),
            timeline: Timeline::new(max_jump),
            state: State::Waiting {
                discontinuity: false,
            },
            events: VecDeque::new(),
            playlist,
            stats: SegmenterStats::default(),
            out: BytesMut::new(),
            finished: false,
        })
    }

    /// Lists a track in the program from the first segment on (otherwise a track joins the
    /// program when its first frame arrives). Fails for codecs MPEG-TS does not carry here.
    pub fn declare_track(&mut self, track: &Track) -> Result<()> {
        self.muxer.declare(track)
    }

    /// Takes one frame. Never fails: frames that cannot be written are counted in
    /// [`Segmenter::stats`].
    pub fn push(&mut self, frame: &Frame) {
        self.stats.frames_in += 1;
        if self.finished {
            self.stats.dropped_after_finish += 1;
        } else if self.muxer.check_track(&frame.track).is_err() {
            self.stats.dropped_unsupported += 1;
        } else if frame.is_video() {
            if frame.nal_units().next().is_none() {
                self.stats.dropped_invalid += 1;
            } else {
                self.push_video(frame);
            }
        } else {
            self.push_audio(frame);
        }
    }

    /// Ends the recording: closes the open segment (its last frame lasting as long as the
    /// one before it) and ends the playlist. Later pushes are ignored; calling it twice does
    /// nothing more.
    pub fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let end = self.timeline.end_of_last_frame();
        self.close(end, false);
        self.playlist.ended = true;
        self.events.push_back(SegmentEvent::PlaylistChanged);
    }

    /// Tells the segmenter that frames are missing before the next one pushed (the driver
    /// fell behind its source and was skipped forward): the open segment is closed at the
    /// end of its last frame, and the next segment, from the next keyframe, is marked as a
    /// discontinuity. Does nothing while no segment is open (nothing was written since the
    /// last break) or after [`Segmenter::finish`].
    pub fn frames_lost(&mut self) {
        if !self.finished && matches!(self.state, State::Open(_)) {
            self.discontinuity(DiscontinuityReason::FramesLost);
        }
    }

    /// The next event, if any.
    pub fn poll(&mut self) -> Option<SegmentEvent> {
        self.events.pop_front()
    }

    /// The recording's playlist: closed segments only (EVENT; ended after `finish`).
    pub fn playlist(&self) -> &MediaPlaylist {
        &self.playlist
    }

    /// What happened to the frames so far.
    #[cfg(any(test, feature = "_internal_test_exports"))]
    pub fn stats(&self) -> &SegmenterStats {
        &self.stats
    }

    /// Whether [`Segmenter::finish`] was called.
    #[cfg(any(test, feature = "_internal_test_exports"))]
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    fn push_video(&mut self, frame: &Frame) {
        if let State::Open(seg) = &self.state {
            match self.timeline.place_video(frame) {
                VideoPlacement::At(out) => {
                    let cut = frame.keyframe && out - seg.start_out >= self.target_ticks;
                    if cut {
                        self.muxer.start_segment();
                    }
                    if let Some(bytes) = self.write(frame, out) {
                        self.timeline.commit_video(frame, out);
                        if cut {
                            self.close(out, true);
                            self.open(frame, out, false);
                        }
                        self.emit(bytes);
                    }
                    return;
                }
                VideoPlacement::Repeat => {
                    self.stats.dropped_bad_timestamp += 1;
                    return;
                }
                VideoPlacement::Break(reason) => self.discontinuity(reason),
            }
        }
        let State::Waiting { discontinuity } = self.state else {
            return; // unreachable: an open segment was handled or closed above
        };
        if !frame.keyframe {
            self.stats.dropped_waiting_for_keyframe += 1;
            return;
        }
        let out = self.timeline.next_start();
        self.muxer.start_segment();
        if let Some(bytes) = self.write(frame, out) {
            self.timeline.anchor(frame, out);
            self.open(frame, out, discontinuity);
            self.emit(bytes);
        }
    }

    fn push_audio(&mut self, frame: &Frame) {
        if !matches!(self.state, State::Open(_)) {
            self.stats.dropped_waiting_for_keyframe += 1;
            return;
        }
        match self.timeline.place_audio(frame) {
            Some(out) => {
                if let Some(bytes) = self.write(frame, out) {
                    self.timeline.commit_audio(out);
                    self.emit(bytes);
                }
            }
            None => self.stats.dropped_bad_timestamp += 1,
        }
    }

    /// Closes the open segment at the end of its last frame and waits for a keyframe.
    fn discontinuity(&mut self, reason: DiscontinuityReason) {
        tracing::info!(
            ?reason,
            "recording timeline discontinuous; waiting for the next keyframe"
        );
        self.stats.discontinuities += 1;
        let end = self.timeline.end_of_last_frame();
        self.close(end, true);
        self.timeline.break_run(end);
        self.state = State::Waiting {
            discontinuity: true,
        };
    }

    /// Muxes `frame` at `out`; `None` (counted) if the muxer refused it.
    fn write(&mut self, frame: &Frame, out: i64) -> Option<Bytes> {
        match self.muxer.write_frame(frame, out, &mut self.out) {
            Ok(_) => Some(self.out.split().freeze()),
            Err(e) => {
                tracing::debug!(error = %e, "frame not recorded");
                self.out.clear();
                self.stats.dropped_invalid += 1;
                None
            }
        }
    }

    fn emit(&mut self, bytes: Bytes) {
        let len = bytes.len() as u64;
        if let State::Open(seg) = &mut self.state {
            seg.bytes += len;
        }
        self.stats.frames_written += 1;
        self.stats.bytes_written += len;
        self.events.push_back(SegmentEvent::Bytes(bytes));
    }

    fn open(&mut self, frame: &Frame, out: i64, discontinuity: bool) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let uri = self.config.segment_uri(seq);
        self.events.push_back(SegmentEvent::SegmentStarted {
            seq,
            uri: uri.clone(),
            start_pts: frame.pts,
            wallclock: frame.wallclock,
            discontinuity,
        });
        self.state = State::Open(OpenSegment {
            seq,
            uri,
            start_out: out,
            wallclock: frame.wallclock,
            discontinuity,
            bytes: 0,
        });
    }

    /// Closes the open segment, if any, ending at output time `end`.
    fn close(&mut self, end: i64, notify_playlist: bool) {
        let state = std::mem::replace(
            &mut self.state,
            State::Waiting {
                discontinuity: false,
            },
        );
        let State::Open(seg) = state else {
            self.state = state;
            return;
        };
        let duration_secs = end.saturating_sub(seg.start_out).max(0) as f64 / f64::from(CLOCK_RATE);
        self.stats.segments_closed += 1;
        self.events.push_back(SegmentEvent::SegmentClosed {
            seq: seg.seq,
            duration_secs,
            bytes: seg.bytes,
        });
        self.playlist.segments.push(PlaylistSegment {
            uri: seg.uri,
            duration_secs,
            program_date_time: Some(seg.wallclock),
            discontinuity: seg.discontinuity,
        });
        if notify_playlist {
            self.events.push_back(SegmentEvent::PlaylistChanged);
        }
    }
}

/// A duration in 90 kHz ticks (configs are bounded, so this cannot overflow).
fn duration_ticks(d: Duration) -> i64 {
    (d.as_micros() * u128::from(CLOCK_RATE) / 1_000_000) as i64
}

#[cfg(test)]
mod doc_examples {
    /// How `record::segmenter::Segmenter` is used.
    #[test]
    fn segmenter_example() -> Result<(), Box<dyn std::error::Error>> {
        use crate::media::{Frame, Track, VideoCodec, VideoParams};
        use crate::record::segmenter::SegmentEvent;
        use crate::record::{Segmenter, SegmenterConfig};
        use bytes::Bytes;
        use std::sync::Arc;

        let params = Arc::new(VideoParams {
            codec: VideoCodec::H264,
            width: 640,
            height: 360,
            vps: None,
            sps: Bytes::from_static(&[0x67, 0x42, 0, 0x1e]),
            pps: Bytes::from_static(&[0x68, 0xce]),
            rfc6381_codec: "avc1.42001E".into(),
        });
        let mut segmenter = Segmenter::new(SegmenterConfig::default())?;
        let mut segments = Vec::new();
        for i in 0..100 {
            // 25 fps, a keyframe every second.
            segmenter.push(&Frame {
                track: Track::Video(params.clone()),
                pts: i * 3600,
                keyframe: i % 25 == 0,
                data: Bytes::from_static(&[0, 0, 0, 2, 0x65, 0x88]),
                epoch: 0,
                wallclock: chrono::Utc::now(),
            });
            while let Some(event) = segmenter.poll() {
                match event {
                    SegmentEvent::SegmentStarted { uri, .. } => segments.push((uri, Vec::new())),
                    SegmentEvent::Bytes(b) => segments.last_mut().unwrap().1.extend_from_slice(&b),
                    SegmentEvent::SegmentClosed { .. } | SegmentEvent::PlaylistChanged => {}
                }
            }
        }
        segmenter.finish();
        while segmenter.poll().is_some() {}
        assert_eq!(segments.len(), 2);
        assert_eq!(segmenter.playlist().segments[1].duration_secs, 2.0);
        assert!(segmenter.playlist().render().ends_with("#EXT-X-ENDLIST\n"));
        Ok(())
    }
}
