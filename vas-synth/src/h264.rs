//! H.264 encoding of the test pattern, through OpenH264.
//!
//! Owns the encoder settings (Constrained Baseline, bitrate, GOP, one thread), the split of
//! the encoder's Annex B output into NAL units, the guarantee that every IDR access unit
//! carries its SPS and PPS in-band, and reading `profile-level-id` from an SPS. It must never
//! touch sockets, timers or the fan-out: it turns pictures into access units, nothing more.

use bytes::Bytes;
use openh264::OpenH264API;
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, Profile,
    RateControlMode, SpsPpsStrategy, UsageType,
};
use openh264::formats::YUVSlices;

use crate::{Error, ErrorKind, Result};

/// NAL unit type of an IDR slice.
#[cfg(test)]
pub(crate) const NAL_IDR: u8 = 5;
/// NAL unit type of a sequence parameter set.
pub(crate) const NAL_SPS: u8 = 7;
/// NAL unit type of a picture parameter set.
pub(crate) const NAL_PPS: u8 = 8;
/// Encoder threads per camera (the machine has few cores shared with everything else).
const ENCODER_THREADS: u16 = 1;

/// The type of a NAL unit (its low five header bits).
pub(crate) fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |h| h & 0x1F)
}

/// `nal` without its leading Annex B start code (`00 00 01` or `00 00 00 01`), if any.
pub(crate) fn strip_start_code(nal: &[u8]) -> &[u8] {
    let zeros = nal.iter().take_while(|&&b| b == 0).count();
    if zeros >= 2 && nal.get(zeros) == Some(&1) {
        &nal[zeros + 1..]
    } else {
        nal
    }
}

/// The SDP `profile-level-id` (six upper-case hex digits) of an SPS, or `None` if it is too
/// short or not an SPS.
pub(crate) fn profile_level_id(sps: &[u8]) -> Option<String> {
    if nal_type(sps) != NAL_SPS || sps.len() < 4 {
        return None;
    }
    Some(format!("{:02X}{:02X}{:02X}", sps[1], sps[2], sps[3]))
}

/// One encoded picture.
#[derive(Debug, Clone)]
pub(crate) struct AccessUnit {
    /// NAL units in decoding order, without start codes. An IDR starts with SPS and PPS.
    pub(crate) nals: Vec<Bytes>,
    /// Whether this is an IDR picture (a place a decoder can start).
    pub(crate) keyframe: bool,
}

impl AccessUnit {
    /// The first NAL unit of type `t`.
    pub(crate) fn find(&self, t: u8) -> Option<&Bytes> {
        self.nals.iter().find(|n| nal_type(n) == t)
    }
}

/// Encoder settings that stay the same for a camera's life (the resolution follows the
/// pictures given to [`PictureEncoder::encode`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EncoderSettings {
    /// Frames per second the stream is paced at.
    pub(crate) fps: u32,
    /// Target bitrate in bits per second.
    pub(crate) bitrate_bps: u32,
    /// Frames from one IDR to the next.
    pub(crate) gop: u32,
}

/// An OpenH264 encoder plus the last parameter sets it emitted.
pub(crate) struct PictureEncoder {
    encoder: Encoder,
    sps: Option<Bytes>,
    pps: Option<Bytes>,
}

impl PictureEncoder {
    /// A new encoder with `settings`.
    pub(crate) fn new(settings: EncoderSettings) -> Result<Self> {
        let config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(settings.bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(settings.fps as f32))
            .rate_control_mode(RateControlMode::Bitrate)
            // OpenH264 only holds the bitrate when it may skip frames; a skipped frame is
            // simply not sent.
            .skip_frames(true)
            .profile(Profile::Baseline)
            .usage_type(UsageType::CameraVideoRealTime)
            .complexity(Complexity::Low)
            .sps_pps_strategy(SpsPpsStrategy::ConstantId)
            .intra_frame_period(IntraFramePeriod::from_num_frames(settings.gop))
            .scene_change_detect(false)
            .num_threads(ENCODER_THREADS);
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| Error::internal(format!("cannot create the H.264 encoder: {e}")))?;
        Ok(PictureEncoder {
            encoder,
            sps: None,
            pps: None,
        })
    }

    /// Encodes one I420 picture (`width`×`height`, planes tightly packed). With `force_idr`,
    /// the picture is an IDR. A change of size re-initialises the encoder and starts with an
    /// IDR carrying new parameter sets.
    pub(crate) fn encode(
        &mut self,
        i420: &[u8],
        width: usize,
        height: usize,
        force_idr: bool,
    ) -> Result<AccessUnit> {
        let luma = width * height;
        if i420.len() != luma * 3 / 2 {
            return Err(Error::internal("picture buffer does not match its size"));
        }
        let (y, chroma) = i420.split_at(luma);
        let (u, v) = chroma.split_at(luma / 4);
        let source = YUVSlices::new((y, u, v), (width, height), (width, width / 2, width / 2));
        if force_idr {
            self.encoder.force_intra_frame();
        }
        let stream = self
            .encoder
            .encode(&source)
            .map_err(|e| Error::new(ErrorKind::Internal, format!("H.264 encoding failed: {e}")))?;
        let keyframe = stream.frame_type() == FrameType::IDR;
        let mut nals = Vec::new();
        for l in 0..stream.num_layers() {
            let Some(layer) = stream.layer(l) else {
                continue;
            };
            for n in 0..layer.nal_count() {
                let Some(raw) = layer.nal_unit(n) else {
                    continue;
                };
                let nal = strip_start_code(raw);
                if !nal.is_empty() {
                    nals.push(Bytes::copy_from_slice(nal));
                }
            }
        }
        let mut au = AccessUnit { nals, keyframe };
        if let Some(sps) = au.find(NAL_SPS) {
            self.sps = Some(sps.clone());
        }
        if let Some(pps) = au.find(NAL_PPS) {
            self.pps = Some(pps.clone());
        }
        if au.keyframe {
            self.ensure_parameter_sets(&mut au)?;
        }
        Ok(au)
    }

    /// Puts SPS and PPS in front of an IDR that lacks them.
    fn ensure_parameter_sets(&self, au: &mut AccessUnit) -> Result<()> {
        let has_sps = au.find(NAL_SPS).is_some();
        let has_pps = au.find(NAL_PPS).is_some();
        if has_sps && has_pps {
            return Ok(());
        }
        let (Some(sps), Some(pps)) = (&self.sps, &self.pps) else {
            return Err(Error::internal(
                "the encoder produced an IDR before any SPS/PPS",
            ));
        };
        let mut front = Vec::with_capacity(2);
        if !has_sps {
            front.push(sps.clone());
        }
        if !has_pps {
            front.push(pps.clone());
        }
        au.nals.splice(0..0, front);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::TestPattern;

    #[test]
    fn start_codes_are_stripped_only_when_present() {
        assert_eq!(strip_start_code(&[0, 0, 0, 1, 0x67, 1]), &[0x67, 1]);
        assert_eq!(strip_start_code(&[0, 0, 1, 0x68]), &[0x68]);
        assert_eq!(strip_start_code(&[0x65, 0, 0, 1]), &[0x65, 0, 0, 1]);
        assert_eq!(strip_start_code(&[0, 1, 0x65]), &[0, 1, 0x65]);
        assert_eq!(strip_start_code(&[]), &[] as &[u8]);
    }

    #[test]
    fn profile_level_id_reads_sps_bytes() {
        assert_eq!(
            profile_level_id(&[0x67, 0x42, 0xC0, 0x1E, 0xFF]).as_deref(),
            Some("42C01E")
        );
        assert_eq!(profile_level_id(&[0x68, 0x42, 0xC0, 0x1E]), None);
        assert_eq!(profile_level_id(&[0x67, 0x42]), None);
    }

    #[test]
    fn encodes_idr_with_parameter_sets_then_p_frames_then_idr_at_gop() {
        let settings = EncoderSettings {
            fps: 15,
            bitrate_bps: 300_000,
            gop: 5,
        };
        let mut enc = PictureEncoder::new(settings).unwrap();
        let mut pattern = TestPattern::new(160, 96);
        let wall = chrono::DateTime::from_timestamp_millis(0).unwrap();
        let mut kinds = Vec::new();
        for n in 0..11 {
            let pic = pattern.render(n, wall).to_vec();
            let au = enc.encode(&pic, 160, 96, false).unwrap();
            assert!(!au.nals.is_empty(), "frame {n} produced nothing");
            if au.keyframe {
                let types: Vec<u8> = au.nals.iter().map(|n| nal_type(n)).collect();
                assert_eq!(&types[..2], &[NAL_SPS, NAL_PPS], "frame {n}: {types:?}");
                assert!(types.contains(&NAL_IDR));
                let pli = profile_level_id(au.find(NAL_SPS).unwrap()).unwrap();
                assert!(pli.starts_with("42"), "not baseline: {pli}");
            }
            kinds.push(au.keyframe);
        }
        assert_eq!(kinds.iter().filter(|k| **k).count(), 3, "{kinds:?}");
        assert!(kinds[0] && kinds[5] && kinds[10], "{kinds:?}");

        // A forced IDR and a change of size both give an IDR at once.
        let pic = pattern.render(11, wall).to_vec();
        assert!(enc.encode(&pic, 160, 96, true).unwrap().keyframe);
        let mut small = TestPattern::new(96, 64);
        let au = enc.encode(small.render(0, wall), 96, 64, false).unwrap();
        assert!(au.keyframe);
        assert!(au.find(NAL_SPS).is_some());
    }
}
