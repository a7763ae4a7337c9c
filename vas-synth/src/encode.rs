//! Encoded test video without a network: the camera's test pattern through its OpenH264
//! encoder, as access units, for tests that need real H.264 bytes (clip writers, decoders,
//! segmenters) but no RTSP session.

use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::h264::{EncoderSettings, NAL_PPS, NAL_SPS, PictureEncoder, profile_level_id};
use crate::pattern::TestPattern;
use crate::{Error, Result};

/// Bitrate of the encoder: generous, so that OpenH264 skips no frame.
const ENCODE_BITRATE_BPS: u32 = 2_000_000;

/// One encoded picture.
#[derive(Debug, Clone)]
pub struct EncodedPicture {
    /// Its index among the pictures asked for (rate control may skip some).
    pub index: u32,
    /// NAL units without start codes; a keyframe carries SPS and PPS first.
    pub nals: Vec<Bytes>,
    /// Whether it is an IDR.
    pub keyframe: bool,
}

impl EncodedPicture {
    /// The first NAL unit of type `nal_type`, if any (7 is the SPS, 8 the PPS).
    pub fn find(&self, nal_type: u8) -> Option<&Bytes> {
        self.nals
            .iter()
            .find(|n| n.first().map(|b| b & 0x1f) == Some(nal_type))
    }

    /// The SPS, on keyframes.
    pub fn sps(&self) -> Option<&Bytes> {
        self.find(NAL_SPS)
    }

    /// The PPS, on keyframes.
    pub fn pps(&self) -> Option<&Bytes> {
        self.find(NAL_PPS)
    }
}

/// The RFC 6381 codec string of an SPS (`"42c01f"` for `avc1.42c01f`), if it is one.
pub fn profile_level(sps: &[u8]) -> Option<String> {
    profile_level_id(sps)
}

/// `count` pictures of `width`×`height` test pattern encoded at `fps`, an IDR every `gop`
/// pictures (never, after the first, when `gop` is 0).
///
/// ```
/// let pictures = vas_synth::encode::h264(3, 30, 30, (64, 48)).unwrap();
/// assert!(pictures[0].keyframe && pictures[0].sps().is_some());
/// ```
pub fn h264(
    count: u32,
    fps: u32,
    gop: u32,
    (width, height): (u32, u32),
) -> Result<Vec<EncodedPicture>> {
    if fps == 0 {
        return Err(Error::invalid_input("fps must be positive"));
    }
    let mut encoder = PictureEncoder::new(EncoderSettings {
        fps,
        bitrate_bps: ENCODE_BITRATE_BPS,
        gop,
    })?;
    let (w, h) = (width as usize, height as usize);
    let mut pattern = TestPattern::new(w, h);
    let wall = DateTime::<Utc>::UNIX_EPOCH;
    let mut out = Vec::with_capacity(count as usize);
    for n in 0..count {
        let picture = pattern.render(u64::from(n), wall).to_vec();
        let au = encoder.encode(&picture, w, h, gop > 0 && n % gop == 0)?;
        if au.nals.is_empty() {
            continue; // skipped by rate control
        }
        out.push(EncodedPicture {
            index: n,
            nals: au.nals,
            keyframe: au.keyframe,
        });
    }
    Ok(out)
}
