//! Real H.264 for clip tests (features `synthetic-camera` and `test-util`; not for
//! production): the synthetic camera's test pattern encoded by its OpenH264 encoder, turned
//! into the frames ingest would produce (length-prefixed NAL units, parameter sets in
//! [`VideoParams`] and in-band on keyframes).

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::media::{CLOCK_RATE, Frame, Track, VideoCodec, VideoParams, push_length_prefixed};
use crate::synth::h264::{EncoderSettings, NAL_PPS, NAL_SPS, PictureEncoder, profile_level_id};
use crate::synth::pattern::TestPattern;
use crate::{Error, Result};

/// Bitrate of the fixture's encoder: generous, so that OpenH264 skips no frame.
const FIXTURE_BITRATE_BPS: u32 = 2_000_000;

/// `count` frames of `width`×`height` video at `fps`, an IDR every `gop` frames, presentation
/// times `first_pts + n × 90000 / fps`, all in `epoch`.
pub fn h264_frames(
    count: u32,
    fps: u32,
    gop: u32,
    (width, height): (u32, u32),
    first_pts: i64,
    epoch: u32,
) -> Result<Vec<Frame>> {
    if fps == 0 {
        return Err(Error::invalid_input("fps must be positive"));
    }
    let settings = EncoderSettings {
        fps,
        bitrate_bps: FIXTURE_BITRATE_BPS,
        gop,
    };
    let mut encoder = PictureEncoder::new(settings)?;
    let (w, h) = (width as usize, height as usize);
    let mut pattern = TestPattern::new(w, h);
    let wall = DateTime::<Utc>::UNIX_EPOCH;
    let mut params: Option<Arc<VideoParams>> = None;
    let mut frames = Vec::new();
    for n in 0..count {
        let picture = pattern.render(u64::from(n), wall).to_vec();
        let au = encoder.encode(&picture, w, h, gop > 0 && n % gop == 0)?;
        if au.nals.is_empty() {
            continue; // skipped by rate control
        }
        if au.keyframe
            && let (Some(sps), Some(pps)) = (au.find(NAL_SPS), au.find(NAL_PPS))
        {
            params = Some(Arc::new(VideoParams {
                codec: VideoCodec::H264,
                width,
                height,
                vps: None,
                sps: sps.clone(),
                pps: pps.clone(),
                rfc6381_codec: format!("avc1.{}", profile_level_id(sps).unwrap_or_default()),
            }));
        }
        let Some(p) = &params else {
            return Err(Error::internal("the encoder began without a keyframe"));
        };
        let mut data = Vec::new();
        for nal in &au.nals {
            push_length_prefixed(&mut data, nal);
        }
        let pts = first_pts + i64::from(n) * i64::from(CLOCK_RATE) / i64::from(fps);
        frames.push(Frame {
            track: Track::Video(p.clone()),
            pts,
            keyframe: au.keyframe,
            data: Bytes::from(data),
            epoch,
            wallclock: wall,
        });
    }
    Ok(frames)
}
