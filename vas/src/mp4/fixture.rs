//! Real H.264 for clip tests (tests only): the synthetic camera's test pattern encoded by its
//! OpenH264 encoder (`vas_synth::encode`), turned into the frames ingest would produce
//! (length-prefixed NAL units, parameter sets in [`VideoParams`] and in-band on keyframes).

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::media::{CLOCK_RATE, Frame, Track, VideoCodec, VideoParams, push_length_prefixed};
use crate::{Error, Result};

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
    let pictures = vas_synth::encode::h264(count, fps, gop, (width, height))
        .map_err(|e| Error::invalid_input(e.to_string()))?;
    let wall = DateTime::<Utc>::UNIX_EPOCH;
    let mut params: Option<Arc<VideoParams>> = None;
    let mut frames = Vec::new();
    for au in pictures {
        if au.keyframe
            && let (Some(sps), Some(pps)) = (au.sps(), au.pps())
        {
            params = Some(Arc::new(VideoParams {
                codec: VideoCodec::H264,
                width,
                height,
                vps: None,
                sps: sps.clone(),
                pps: pps.clone(),
                rfc6381_codec: format!(
                    "avc1.{}",
                    vas_synth::encode::profile_level(sps).unwrap_or_default()
                ),
            }));
        }
        let Some(p) = &params else {
            return Err(Error::internal("the encoder began without a keyframe"));
        };
        let mut data = Vec::new();
        for nal in &au.nals {
            push_length_prefixed(&mut data, nal);
        }
        let pts = first_pts + i64::from(au.index) * i64::from(CLOCK_RATE) / i64::from(fps);
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
