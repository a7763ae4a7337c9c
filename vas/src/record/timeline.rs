//! A recording's output timeline: camera timestamps in, continuous MPEG-TS times out.
//!
//! Owns the mapping from each frame's 90 kHz presentation time to the time written into the
//! transport stream: unwrapping 32-bit RTP timestamp wraps, spotting discontinuities (a new
//! epoch, a backwards step, a jump beyond the configured threshold) and re-anchoring after
//! one so that output times keep increasing across the whole recording. Video drives the
//! timeline; audio is placed relative to the latest video frame. It must never decide where
//! segments start, never write bytes and never panic on any timestamp, however wild.

use crate::media::Frame;

/// Where the first keyframe of a recording lands on the output timeline (1.4 s, as ffmpeg
/// does): room for the PCR delay and for audio that starts slightly before the video.
pub const OUTPUT_START_PTS: i64 = 126_000;

/// RTP timestamps are 32-bit and wrap at this value (about 13.25 hours at 90 kHz).
pub const RTP_TIMESTAMP_MODULUS: i64 = 1 << 32;

/// Frame duration assumed to end the last frame of a run before two frames have shown the
/// real one (40 ms, 25 fps).
pub const DEFAULT_FRAME_DURATION_TICKS: i64 = 3_600;

/// How far an audio frame may lag the latest video frame and still be written: the PCR
/// delay, so no audio frame is ever behind the program clock.
pub const MAX_AUDIO_LAG_TICKS: i64 = super::ts::PCR_DELAY_TICKS;

/// How far an audio frame may lead the latest video frame and still be written (5 s): more
/// than the gap between two video frames of any live camera, small enough that one wild
/// audio timestamp cannot hold back the audio that follows it for long.
pub const MAX_AUDIO_LEAD_TICKS: i64 = 450_000;

/// Why a run of continuous timestamps ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscontinuityReason {
    /// The frame belongs to a new epoch (the camera reconnected).
    EpochChanged,
    /// A video timestamp went backwards.
    TimestampBackwards,
    /// A video timestamp jumped forward by more than the configured threshold.
    TimestampJump,
    /// The driver reported frames missing (it fell behind and was skipped forward).
    FramesLost,
}

/// Where a video frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VideoPlacement {
    /// At this output time, continuing the current run.
    At(i64),
    /// It cannot continue the current run.
    Break(DiscontinuityReason),
    /// It has the same timestamp as the previous video frame: not a new access unit in
    /// time, so it cannot be written (DTS must increase).
    Repeat,
}

/// The latest video frame of the current run.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    epoch: u32,
    video_raw: i64,
    video_out: i64,
}

/// The output timeline of one recording.
#[derive(Debug)]
pub(crate) struct Timeline {
    max_jump: i64,
    anchor: Option<Anchor>,
    /// Where the next run starts: the end of the previous one.
    next_out: i64,
    /// The latest positive step between video frames.
    frame_duration: Option<i64>,
    /// Output time of the latest audio frame, kept across runs so audio never goes back.
    audio_out: Option<i64>,
}

impl Timeline {
    /// A timeline whose runs break on jumps above `max_jump` ticks (must be below half the
    /// RTP modulus, which the segmenter config guarantees).
    pub(crate) fn new(max_jump: i64) -> Self {
        Timeline {
            max_jump,
            anchor: None,
            next_out: OUTPUT_START_PTS,
            frame_duration: None,
            audio_out: None,
        }
    }

    /// The output time a keyframe starting a new run gets.
    pub(crate) fn next_start(&self) -> i64 {
        self.next_out
    }

    /// Starts a run with video `frame` at `out` (from [`Timeline::next_start`]).
    pub(crate) fn anchor(&mut self, frame: &Frame, out: i64) {
        self.anchor = Some(Anchor {
            epoch: frame.epoch,
            video_raw: frame.pts,
            video_out: out,
        });
    }

    /// Where video `frame` goes; changes nothing (see [`Timeline::commit_video`]).
    pub(crate) fn place_video(&self, frame: &Frame) -> VideoPlacement {
        let Some(a) = self.anchor else {
            return VideoPlacement::Break(DiscontinuityReason::EpochChanged);
        };
        if frame.epoch != a.epoch {
            return VideoPlacement::Break(DiscontinuityReason::EpochChanged);
        }
        let delta = self.delta(frame.pts, a.video_raw);
        if delta < 0 {
            VideoPlacement::Break(DiscontinuityReason::TimestampBackwards)
        } else if delta == 0 {
            VideoPlacement::Repeat
        } else if delta > self.max_jump {
            VideoPlacement::Break(DiscontinuityReason::TimestampJump)
        } else {
            VideoPlacement::At(a.video_out + delta)
        }
    }

    /// Records that video `frame` was written at `out`.
    pub(crate) fn commit_video(&mut self, frame: &Frame, out: i64) {
        if let Some(a) = &mut self.anchor {
            let step = out - a.video_out;
            if step > 0 {
                self.frame_duration = Some(step);
            }
            a.video_raw = frame.pts;
            a.video_out = out;
        }
    }

    /// Where audio `frame` goes, or `None` if it cannot be placed in the current run (other
    /// epoch, too far behind or ahead of the video, or before the previous audio frame).
    pub(crate) fn place_audio(&self, frame: &Frame) -> Option<i64> {
        let a = self.anchor?;
        if frame.epoch != a.epoch {
            return None;
        }
        let delta = self.delta(frame.pts, a.video_raw);
        if delta < -MAX_AUDIO_LAG_TICKS || delta > MAX_AUDIO_LEAD_TICKS.min(self.max_jump) {
            return None;
        }
        let out = a.video_out + delta;
        (self.audio_out.is_none_or(|prev| out >= prev)).then_some(out)
    }

    /// Records that an audio frame was written at `out`.
    pub(crate) fn commit_audio(&mut self, out: i64) {
        self.audio_out = Some(out);
    }

    /// Where the latest video frame ends (its time plus the latest frame duration).
    pub(crate) fn end_of_last_frame(&self) -> i64 {
        match self.anchor {
            Some(a) => a
                .video_out
                .saturating_add(self.frame_duration.unwrap_or(DEFAULT_FRAME_DURATION_TICKS)),
            None => self.next_out,
        }
    }

    /// Ends the current run at `end`; the next run starts there.
    pub(crate) fn break_run(&mut self, end: i64) {
        self.anchor = None;
        self.next_out = end;
    }

    /// `raw - reference`, read as a 32-bit RTP wrap when that makes it a small step.
    fn delta(&self, raw: i64, reference: i64) -> i64 {
        let d = i128::from(raw) - i128::from(reference);
        let modulus = i128::from(RTP_TIMESTAMP_MODULUS);
        if d.abs() > modulus / 2 {
            let mut wrapped = d.rem_euclid(modulus);
            if wrapped >= modulus / 2 {
                wrapped -= modulus;
            }
            if wrapped.abs() <= i128::from(self.max_jump) {
                // |wrapped| ≤ max_jump, an i64.
                return wrapped as i64;
            }
        }
        // Saturate: anything this far is a jump either way.
        d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{Track, VideoCodec, VideoParams};
    use bytes::Bytes;
    use std::sync::Arc;

    const MAX_JUMP: i64 = 900_000;

    fn frame(pts: i64, epoch: u32) -> Frame {
        Frame {
            track: Track::Video(Arc::new(VideoParams {
                codec: VideoCodec::H264,
                width: 1,
                height: 1,
                vps: None,
                sps: Bytes::new(),
                pps: Bytes::new(),
                rfc6381_codec: String::new(),
            })),
            pts,
            keyframe: true,
            data: Bytes::new(),
            epoch,
            wallclock: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn rtp_wrap_continues_the_run() {
        let mut t = Timeline::new(MAX_JUMP);
        let f = frame(RTP_TIMESTAMP_MODULUS - 1800, 0);
        t.anchor(&f, t.next_start());
        let g = frame(1800, 0);
        assert_eq!(
            t.place_video(&g),
            VideoPlacement::At(OUTPUT_START_PTS + 3600)
        );
        t.commit_video(&g, OUTPUT_START_PTS + 3600);
        // Audio from just before the wrap still lands just before the video.
        let mut audio = frame(RTP_TIMESTAMP_MODULUS - 100, 0);
        audio.keyframe = true;
        assert_eq!(t.place_audio(&audio), Some(OUTPUT_START_PTS + 3600 - 1900));
    }

    #[test]
    fn backwards_jumps_and_epochs_break_runs() {
        let mut t = Timeline::new(MAX_JUMP);
        let f = frame(1_000_000, 0);
        t.anchor(&f, t.next_start());
        use DiscontinuityReason::*;
        assert_eq!(
            t.place_video(&frame(999_999, 0)),
            VideoPlacement::Break(TimestampBackwards)
        );
        assert_eq!(t.place_video(&frame(1_000_000, 0)), VideoPlacement::Repeat);
        assert_eq!(
            t.place_video(&frame(1_000_000 + MAX_JUMP + 1, 0)),
            VideoPlacement::Break(TimestampJump)
        );
        assert_eq!(
            t.place_video(&frame(1_003_600, 1)),
            VideoPlacement::Break(EpochChanged)
        );
        assert_eq!(
            t.place_video(&frame(i64::MIN, 0)),
            VideoPlacement::Break(TimestampBackwards)
        );
        assert_eq!(
            t.place_video(&frame(i64::MAX, 0)),
            VideoPlacement::Break(TimestampJump)
        );
        assert_eq!(
            t.end_of_last_frame(),
            OUTPUT_START_PTS + DEFAULT_FRAME_DURATION_TICKS
        );
        t.break_run(t.end_of_last_frame());
        assert_eq!(
            t.next_start(),
            OUTPUT_START_PTS + DEFAULT_FRAME_DURATION_TICKS
        );
    }

    #[test]
    fn audio_is_bounded_around_the_video() {
        let mut t = Timeline::new(MAX_JUMP);
        t.anchor(&frame(500_000, 0), OUTPUT_START_PTS);
        assert_eq!(
            t.place_audio(&frame(500_000 - MAX_AUDIO_LAG_TICKS - 1, 0)),
            None
        );
        assert_eq!(
            t.place_audio(&frame(500_000 + MAX_AUDIO_LEAD_TICKS + 1, 0)),
            None
        );
        assert_eq!(t.place_audio(&frame(500_000, 1)), None);
        let out = t.place_audio(&frame(501_000, 0)).unwrap();
        t.commit_audio(out);
        assert_eq!(t.place_audio(&frame(500_999, 0)), None);
    }
}
