//! One stream's shared sending state: what every viewer of the stream gets, computed once.
//!
//! Owns: the stream's RTP timestamp mapping (90 kHz presentation times to RTP time, kept
//! monotonic across camera reconnects), the packetized frames (one `Arc` per frame, shared by
//! all viewers and their retransmit caches) and the packetized GOP cache a newly connected
//! viewer starts from. It must never hold per-viewer state, touch sockets or read a clock.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::media::{AudioCodec, Frame, Track, VideoCodec};

use super::h264::{RtpPayload, packetize};
use super::negotiate::audio_clock_rate;

/// A forward jump in presentation time larger than this (in 90 kHz ticks, 10 s) is treated as
/// a discontinuity and rebased, so RTP time never leaps.
pub const MAX_PTS_FORWARD_JUMP: i64 = 10 * 90_000;
/// A backward step larger than this (1 s) is a discontinuity; smaller ones (B-frame
/// reordering, jitter) pass through as they are.
pub const MAX_PTS_BACKWARD_STEP: i64 = 90_000;
/// RTP time a rebased track advances by on a discontinuity (one frame at 30 fps).
pub const REBASE_STEP_90K: i64 = 3_000;

/// Smallest RTP payload size accepted from configuration.
pub const MIN_RTP_PAYLOAD: usize = 200;
/// Largest RTP payload size accepted from configuration (keeps datagrams under 1,500 bytes).
pub const MAX_RTP_PAYLOAD_LIMIT: usize = 1_400;

/// Maps a track's 90 kHz presentation times to extended RTP time in 90 kHz, monotonic except
/// for small reordering steps, whatever the camera connection does.
#[derive(Debug, Clone)]
pub struct RtpClock {
    /// Added to pts; chosen at the first frame so RTP time starts at a random point.
    offset: Option<i64>,
    base: u32,
    last: Option<(i64, i64)>,
    rebases: u64,
}

impl RtpClock {
    /// A clock whose first frame maps to `base`.
    pub fn new(base: u32) -> RtpClock {
        RtpClock {
            offset: None,
            base,
            last: None,
            rebases: 0,
        }
    }

    /// Makes presentation time `pts` map to the base, unless the clock already started.
    /// Anchoring every track of a stream at the same pts keeps them in sync.
    pub fn anchor(&mut self, pts: i64) {
        self.offset.get_or_insert(i64::from(self.base) - pts);
    }

    /// The extended 90 kHz RTP time of a frame with presentation time `pts`.
    pub fn map(&mut self, pts: i64) -> i64 {
        let offset = *self.offset.get_or_insert(i64::from(self.base) - pts);
        let mut mapped = pts.saturating_add(offset);
        if let Some((last_pts, last_mapped)) = self.last {
            let step = pts.saturating_sub(last_pts);
            if !(-MAX_PTS_BACKWARD_STEP..=MAX_PTS_FORWARD_JUMP).contains(&step) {
                let new_offset = last_mapped + REBASE_STEP_90K - pts;
                self.offset = Some(new_offset);
                self.rebases += 1;
                mapped = pts.saturating_add(new_offset);
            }
        }
        self.last = Some((pts, mapped));
        mapped
    }

    /// How often the mapping was rebased after a discontinuity.
    pub fn rebases(&self) -> u64 {
        self.rebases
    }
}

/// Converts extended 90 kHz time to a 32-bit RTP timestamp on a codec clock.
pub fn rtp_time(extended_90k: i64, clock_rate: u32) -> u32 {
    let t = i128::from(extended_90k) * i128::from(clock_rate) / 90_000;
    // RTP timestamps wrap modulo 2^32 by definition.
    t.rem_euclid(1 << 32) as u32
}

/// Which of a viewer's tracks a packetized frame goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaTrack {
    /// The H.264 video track.
    Video,
    /// The audio track, with its codec.
    Audio(AudioCodec),
}

/// One frame, packetized once, shared by every viewer.
#[derive(Debug)]
pub struct PacketizedFrame {
    /// The track.
    pub track: MediaTrack,
    /// RTP timestamp on the track's clock.
    pub rtp_time: u32,
    /// Whether a decoder can start here.
    pub keyframe: bool,
    /// The RTP payloads in order; the last has the marker bit (video).
    pub payloads: Vec<RtpPayload>,
    /// Payload bytes (for the GOP cache bound).
    pub bytes: usize,
}

/// Counters of one stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoomStats {
    /// Video frames packetized.
    pub video_frames: u64,
    /// Audio frames packetized.
    pub audio_frames: u64,
    /// RTP payloads produced (once per stream, not per viewer).
    pub payloads: u64,
    /// Frames not sent because their codec is not WebRTC-playable (AAC, H.265).
    pub skipped_frames: u64,
    /// Frames the hub reported lost for this stream's subscription.
    pub lost_frames: u64,
    /// Device connections seen after the first (epoch changes).
    pub epoch_changes: u64,
    /// RTP time rebases after a presentation-time discontinuity.
    pub rebases: u64,
}

/// A stream's shared state.
#[derive(Debug)]
pub struct Room {
    max_payload: usize,
    gop_cache_bytes: usize,
    video_clock: RtpClock,
    audio_clock: RtpClock,
    epoch: Option<u32>,
    gop: VecDeque<Arc<PacketizedFrame>>,
    gop_bytes: usize,
    gop_open: bool,
    scratch: Vec<RtpPayload>,
    stats: RoomStats,
}

impl Room {
    /// A room packetizing to `max_payload` bytes, caching at most `gop_cache_bytes` of the
    /// latest GOP; RTP time starts at `rtp_base` (random in production).
    pub fn new(max_payload: usize, gop_cache_bytes: usize, rtp_base: u32) -> Room {
        Room {
            max_payload: max_payload.clamp(MIN_RTP_PAYLOAD, MAX_RTP_PAYLOAD_LIMIT),
            gop_cache_bytes,
            video_clock: RtpClock::new(rtp_base),
            audio_clock: RtpClock::new(rtp_base),
            epoch: None,
            gop: VecDeque::new(),
            gop_bytes: 0,
            gop_open: false,
            scratch: Vec::new(),
            stats: RoomStats::default(),
        }
    }

    /// Packetizes a frame once. None if its codec is not sent over WebRTC.
    pub fn packetize(&mut self, frame: &Frame) -> Option<Arc<PacketizedFrame>> {
        if self.epoch.is_some_and(|e| e != frame.epoch) {
            self.stats.epoch_changes += 1;
        }
        self.epoch = Some(frame.epoch);
        // Audio and video share one origin, so their RTP times stay in step.
        self.video_clock.anchor(frame.pts);
        self.audio_clock.anchor(frame.pts);
        let packetized = match &frame.track {
            Track::Video(params) if params.codec == VideoCodec::H264 => {
                let ext = self.video_clock.map(frame.pts);
                packetize(
                    &frame.data,
                    frame.keyframe,
                    Some(params),
                    self.max_payload,
                    &mut self.scratch,
                );
                if self.scratch.is_empty() {
                    return None;
                }
                self.stats.video_frames += 1;
                PacketizedFrame {
                    track: MediaTrack::Video,
                    rtp_time: rtp_time(ext, 90_000),
                    keyframe: frame.keyframe,
                    payloads: std::mem::take(&mut self.scratch),
                    bytes: frame.data.len(),
                }
            }
            Track::Audio(params)
                if params.codec != AudioCodec::Aac
                    && !frame.data.is_empty()
                    && frame.data.len() <= self.max_payload =>
            {
                let ext = self.audio_clock.map(frame.pts);
                self.stats.audio_frames += 1;
                PacketizedFrame {
                    track: MediaTrack::Audio(params.codec),
                    rtp_time: rtp_time(ext, audio_clock_rate(params.codec)),
                    keyframe: true,
                    payloads: vec![RtpPayload {
                        data: Arc::from(&frame.data[..]),
                        marker: false,
                    }],
                    bytes: frame.data.len(),
                }
            }
            _ => {
                self.stats.skipped_frames += 1;
                return None;
            }
        };
        self.stats.payloads += packetized.payloads.len() as u64;
        self.stats.rebases = self.video_clock.rebases() + self.audio_clock.rebases();
        let packetized = Arc::new(packetized);
        if packetized.track == MediaTrack::Video {
            self.cache(&packetized);
        }
        Some(packetized)
    }

    fn cache(&mut self, frame: &Arc<PacketizedFrame>) {
        if frame.keyframe {
            self.gop.clear();
            self.gop_bytes = 0;
            self.gop_open = true;
        }
        if !self.gop_open {
            return;
        }
        if self.gop_bytes + frame.bytes > self.gop_cache_bytes {
            self.gop.clear();
            self.gop_bytes = 0;
            self.gop_open = false;
            return;
        }
        self.gop_bytes += frame.bytes;
        self.gop.push_back(frame.clone());
    }

    /// The cached video frames from the latest keyframe on (empty if none is cached).
    pub fn gop(&self) -> impl Iterator<Item = &Arc<PacketizedFrame>> {
        self.gop.iter()
    }

    /// Records frames the hub skipped for this room.
    pub fn note_lost(&mut self, frames: u64) {
        self.stats.lost_frames += frames;
    }

    /// The counters.
    #[cfg(test)]
    pub fn stats(&self) -> RoomStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::media::{VideoParams, push_length_prefixed};

    #[test]
    fn rtp_clock_is_continuous_across_discontinuities() {
        let mut c = RtpClock::new(1000);
        let p0 = 500_000;
        assert_eq!(c.map(p0), 1000);
        assert_eq!(c.map(p0 + 3000), 4000);
        // Small reordering passes through.
        assert_eq!(c.map(p0 + 2000), 3000);
        assert_eq!(c.map(p0 + 6000), 7000);
        // A reconnect that restarts pts at 0: rebased one frame on.
        assert_eq!(c.map(0), 10_000);
        assert_eq!(c.map(3000), 13_000);
        // A huge forward jump: rebased too.
        assert_eq!(c.map(3000 + 3600 * 90_000), 16_000);
        assert_eq!(c.rebases(), 2);
    }

    #[test]
    fn rtp_time_converts_clocks_and_wraps() {
        assert_eq!(rtp_time(90_000, 48_000), 48_000);
        assert_eq!(rtp_time(90_000, 8_000), 8_000);
        assert_eq!(rtp_time(1 << 32, 90_000), 0);
        assert_eq!(rtp_time(-1, 90_000), u32::MAX);
    }

    #[test]
    fn gop_cache_restarts_at_keyframes_and_is_bounded() {
        let params = Arc::new(VideoParams {
            codec: VideoCodec::H264,
            width: 2,
            height: 2,
            vps: None,
            sps: Bytes::from_static(&[0x67, 0x64]),
            pps: Bytes::from_static(&[0x68]),
            rfc6381_codec: String::new(),
        });
        let frame = |n: i64, key: bool, size: usize| {
            let mut data = Vec::new();
            push_length_prefixed(&mut data, &vec![if key { 0x65 } else { 0x41 }; size]);
            Frame {
                track: Track::Video(params.clone()),
                pts: n * 3000,
                keyframe: key,
                data: data.into(),
                epoch: 0,
                wallclock: chrono::Utc::now(),
            }
        };
        let mut room = Room::new(1150, 10_000, 0);
        room.packetize(&frame(0, false, 10)).unwrap();
        assert_eq!(room.gop().count(), 0, "no keyframe yet");
        room.packetize(&frame(1, true, 3000)).unwrap();
        room.packetize(&frame(2, false, 3000)).unwrap();
        assert_eq!(room.gop().count(), 2);
        assert!(room.gop().next().unwrap().keyframe);
        room.packetize(&frame(3, false, 6000)).unwrap();
        assert_eq!(room.gop().count(), 0, "over the byte cap: dropped");
        room.packetize(&frame(4, false, 10)).unwrap();
        assert_eq!(
            room.gop().count(),
            0,
            "stays closed until the next keyframe"
        );
        room.packetize(&frame(5, true, 10)).unwrap();
        assert_eq!(room.gop().count(), 1);
    }
}
