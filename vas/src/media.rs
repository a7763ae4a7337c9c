//! Media frames: what ingest produces once and every consumer shares.
//!
//! Owns the [`Frame`] type and the codec parameter types, plus small helpers to walk the
//! NAL units of a video frame. A frame's payload is a reference-counted [`Bytes`]; cloning a
//! frame never copies media. It must never parse or rewrite payloads per consumer.
//!
//! Conventions every producer and consumer relies on:
//! * **Timestamps** are presentation times in a 90 kHz clock for audio and video alike,
//!   increasing within an [`Frame::epoch`]. A new epoch (camera reconnected, stream changed)
//!   may restart them anywhere; consumers treat an epoch change as a discontinuity.
//! * **Video payloads** are NAL units, each prefixed with its length as a 4-byte big-endian
//!   integer (the "AVCC" framing RTSP depacketizers produce). Parameter sets live in
//!   [`VideoParams`]; keyframes may also carry them in-band.
//! * **Audio payloads** are single codec frames: a raw AAC access unit (no ADTS header),
//!   G.711 samples, or one Opus packet.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};

/// The RTP/MPEG clock every timestamp uses.
pub const CLOCK_RATE: u32 = 90_000;

/// A video codec VAS carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VideoCodec {
    /// H.264 / AVC.
    H264,
    /// H.265 / HEVC.
    H265,
}

/// An audio codec VAS carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AudioCodec {
    /// MPEG-4 AAC (recorded in HLS; not sent over WebRTC).
    Aac,
    /// G.711 µ-law (sent over WebRTC; not recorded in MPEG-TS).
    Pcmu,
    /// G.711 A-law (sent over WebRTC; not recorded in MPEG-TS).
    Pcma,
    /// Opus (sent over WebRTC; not recorded in MPEG-TS).
    Opus,
}

/// What a decoder needs to start decoding a video stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoParams {
    /// The codec.
    pub codec: VideoCodec,
    /// Display width in pixels.
    pub width: u32,
    /// Display height in pixels.
    pub height: u32,
    /// Video parameter set (H.265 only), without start code or length prefix.
    pub vps: Option<Bytes>,
    /// Sequence parameter set, without start code or length prefix.
    pub sps: Bytes,
    /// Picture parameter set, without start code or length prefix.
    pub pps: Bytes,
    /// RFC 6381 codec string, e.g. `avc1.64001F`.
    pub rfc6381_codec: String,
}

impl VideoParams {
    /// The H.264 `profile_idc` (66 Baseline, 77 Main, 100 High, …), from the SPS.
    pub fn h264_profile_idc(&self) -> Option<u8> {
        (self.codec == VideoCodec::H264)
            .then(|| self.sps.get(1).copied())
            .flatten()
    }

    /// The parameter sets in decoding order (VPS, SPS, PPS).
    pub fn parameter_sets(&self) -> impl Iterator<Item = &Bytes> {
        self.vps.iter().chain([&self.sps, &self.pps])
    }
}

/// What a decoder needs to decode an audio stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioParams {
    /// The codec.
    pub codec: AudioCodec,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channel count.
    pub channels: u16,
    /// Codec configuration (AAC AudioSpecificConfig); empty for others.
    pub config: Bytes,
}

/// Which track a frame belongs to, with that track's current parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Track {
    /// A video frame.
    Video(Arc<VideoParams>),
    /// An audio frame.
    Audio(Arc<AudioParams>),
}

/// One frame of a stream, shared by reference among all consumers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Track and its parameters (an `Arc`: cloning is cheap).
    pub track: Track,
    /// Presentation time, 90 kHz.
    pub pts: i64,
    /// A random-access point (IDR / IRAP) for video; always true for audio.
    pub keyframe: bool,
    /// Payload (see the module docs for the framing).
    pub data: Bytes,
    /// Increments whenever timestamps may be discontinuous (e.g. after a reconnect).
    pub epoch: u32,
    /// Wall-clock time the frame was captured (or received, if the camera does not say).
    pub wallclock: DateTime<Utc>,
}

impl Frame {
    /// Whether this is a video frame.
    pub fn is_video(&self) -> bool {
        matches!(self.track, Track::Video(_))
    }

    /// The video parameters, for a video frame.
    pub fn video_params(&self) -> Option<&Arc<VideoParams>> {
        match &self.track {
            Track::Video(p) => Some(p),
            Track::Audio(_) => None,
        }
    }

    /// The NAL units of a video frame (empty for audio or malformed framing past the
    /// last complete unit).
    pub fn nal_units(&self) -> NalUnits<'_> {
        if self.is_video() {
            nal_units(&self.data)
        } else {
            nal_units(&[])
        }
    }

    /// What the frame says about itself, as one record (what every shell shows).
    pub fn info(&self) -> crate::model::EncodedFrameInfo {
        let (track, codec, width, height) = match &self.track {
            Track::Video(v) => (
                crate::model::TrackKind::Video,
                match v.codec {
                    VideoCodec::H264 => crate::model::Codec::H264,
                    VideoCodec::H265 => crate::model::Codec::H265,
                },
                v.width,
                v.height,
            ),
            Track::Audio(a) => (
                crate::model::TrackKind::Audio,
                match a.codec {
                    AudioCodec::Aac => crate::model::Codec::Aac,
                    AudioCodec::Pcmu => crate::model::Codec::Pcmu,
                    AudioCodec::Pcma => crate::model::Codec::Pcma,
                    AudioCodec::Opus => crate::model::Codec::Opus,
                },
                0,
                0,
            ),
        };
        crate::model::EncodedFrameInfo {
            track,
            codec,
            pts: self.pts,
            time: self.wallclock,
            keyframe: self.keyframe,
            epoch: self.epoch,
            width,
            height,
            bytes: self.data.len() as u64,
        }
    }
}

/// Iterates the NAL units of 4-byte-length-prefixed data. Stops at the first truncated unit.
pub fn nal_units(data: &[u8]) -> NalUnits<'_> {
    NalUnits { rest: data }
}

/// Iterator returned by `nal_units`.
#[derive(Debug, Clone)]
pub struct NalUnits<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for NalUnits<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let (len, body) = self.rest.split_first_chunk::<4>()?;
        let len = u32::from_be_bytes(*len) as usize;
        if len == 0 || len > body.len() {
            self.rest = &[];
            return None;
        }
        let (unit, rest) = body.split_at(len);
        self.rest = rest;
        Some(unit)
    }
}

/// Appends NAL units to `out` in 4-byte-length-prefixed framing.
pub fn push_length_prefixed(out: &mut Vec<u8>, unit: &[u8]) {
    // NAL units are far below 4 GiB; a larger one cannot come from any depacketizer.
    let len = u32::try_from(unit.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(unit);
}

/// Converts 4-byte-length-prefixed NAL units to Annex B (start codes), appending to `out`.
#[cfg(any(test, feature = "_internal_test_exports"))]
pub fn append_annex_b(out: &mut Vec<u8>, length_prefixed: &[u8]) {
    for unit in nal_units(length_prefixed) {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(unit);
    }
}

/// The NAL unit type of an H.264 unit (low 5 bits of its first byte).
pub fn h264_nal_type(unit: &[u8]) -> Option<u8> {
    unit.first().map(|b| b & 0x1f)
}

/// The NAL unit type of an H.265 unit (bits 1..7 of its first byte).
pub fn h265_nal_type(unit: &[u8]) -> Option<u8> {
    unit.first().map(|b| (b >> 1) & 0x3f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_or_zero_length_units_end_iteration() {
        assert_eq!(nal_units(&[0, 0, 0, 5, 1, 2]).count(), 0);
        assert_eq!(nal_units(&[0, 0, 0, 0, 1]).count(), 0);
        assert_eq!(nal_units(&[0, 0]).count(), 0);
        let mut buf = Vec::new();
        push_length_prefixed(&mut buf, &[0x67, 1]);
        push_length_prefixed(&mut buf, &[0x68]);
        assert_eq!(nal_units(&buf).count(), 2);
        assert_eq!(h264_nal_type(&[0x67]), Some(7));
        assert_eq!(h265_nal_type(&[0x40, 0x01]), Some(32));
    }
}

#[cfg(test)]
mod doc_examples {
    /// How `media::nal_units` is used.
    #[test]
    fn nal_units_example() {
        let data = [0, 0, 0, 2, 0x65, 0xAA, 0, 0, 0, 1, 0x06];
        let units: Vec<&[u8]> = crate::media::nal_units(&data).collect();
        assert_eq!(units, vec![&[0x65, 0xAA][..], &[0x06][..]]);
    }

    /// How `media::append_annex_b` is used.
    #[test]
    fn append_annex_b_example() {
        let mut out = Vec::new();
        crate::media::append_annex_b(&mut out, &[0, 0, 0, 1, 0x09]);
        assert_eq!(out, [0, 0, 0, 1, 0x09]);
    }
}
