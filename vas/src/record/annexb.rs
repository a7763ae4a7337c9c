//! Video access units for MPEG-TS: length-prefixed NAL units in, Annex B out.
//!
//! Owns turning one video [`Frame`](crate::media::Frame) payload (4-byte length-prefixed NAL
//! units) into the Annex B byte stream MPEG-TS carries: an access unit delimiter first, the
//! parameter sets from [`VideoParams`] before every keyframe that does not carry them
//! in-band, then the frame's own NAL units behind start codes (in-band delimiters dropped, as
//! we write our own). It must never parse slice data or change NAL unit contents.

use crate::media::{VideoCodec, VideoParams, h264_nal_type, h265_nal_type, nal_units};

/// Annex B start code written before every NAL unit.
const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// H.264 access unit delimiter: NAL type 9, `primary_pic_type` 7 (any slice type), stop bit.
const H264_AUD: [u8; 2] = [0x09, 0xF0];

/// H.265 access unit delimiter: NAL type 35, layer 0, temporal id 1, `pic_type` 2, stop bit.
const H265_AUD: [u8; 3] = [0x46, 0x01, 0x50];

/// H.264 NAL unit types this module cares about.
const H264_SPS: u8 = 7;
const H264_PPS: u8 = 8;
const H264_AUD_TYPE: u8 = 9;

/// H.265 NAL unit types this module cares about.
const H265_VPS: u8 = 32;
const H265_SPS: u8 = 33;
const H265_PPS: u8 = 34;
const H265_AUD_TYPE: u8 = 35;

/// Appends the Annex B access unit for one frame to `out`; returns how many of the frame's
/// own NAL units were written (0 means the payload held no complete NAL unit).
pub(crate) fn write_access_unit(
    params: &VideoParams,
    data: &[u8],
    keyframe: bool,
    out: &mut Vec<u8>,
) -> usize {
    let codec = params.codec;
    let nal_type = |unit: &[u8]| match codec {
        VideoCodec::H264 => h264_nal_type(unit),
        VideoCodec::H265 => h265_nal_type(unit),
    };
    let aud_type = match codec {
        VideoCodec::H264 => H264_AUD_TYPE,
        VideoCodec::H265 => H265_AUD_TYPE,
    };

    out.extend_from_slice(&START_CODE);
    out.extend_from_slice(match codec {
        VideoCodec::H264 => &H264_AUD[..],
        VideoCodec::H265 => &H265_AUD[..],
    });

    if keyframe && !has_in_band_parameter_sets(codec, data) {
        for set in params.parameter_sets().filter(|s| !s.is_empty()) {
            out.extend_from_slice(&START_CODE);
            out.extend_from_slice(set);
        }
    }

    let mut written = 0;
    for unit in nal_units(data) {
        if nal_type(unit) == Some(aud_type) {
            continue;
        }
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(unit);
        written += 1;
    }
    written
}

/// Whether the frame carries every parameter set its codec needs (SPS and PPS; VPS too for
/// H.265), so copies from [`VideoParams`] would be redundant.
fn has_in_band_parameter_sets(codec: VideoCodec, data: &[u8]) -> bool {
    let (mut vps, mut sps, mut pps) = (codec == VideoCodec::H264, false, false);
    for unit in nal_units(data) {
        match codec {
            VideoCodec::H264 => match h264_nal_type(unit) {
                Some(H264_SPS) => sps = true,
                Some(H264_PPS) => pps = true,
                _ => {}
            },
            VideoCodec::H265 => match h265_nal_type(unit) {
                Some(H265_VPS) => vps = true,
                Some(H265_SPS) => sps = true,
                Some(H265_PPS) => pps = true,
                _ => {}
            },
        }
    }
    vps && sps && pps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::push_length_prefixed;
    use bytes::Bytes;

    fn params(codec: VideoCodec) -> VideoParams {
        VideoParams {
            codec,
            width: 640,
            height: 360,
            vps: (codec == VideoCodec::H265).then(|| Bytes::from_static(&[0x40, 0x01, 0xAA])),
            sps: match codec {
                VideoCodec::H264 => Bytes::from_static(&[0x67, 0x64, 0x00, 0x1F]),
                VideoCodec::H265 => Bytes::from_static(&[0x42, 0x01, 0xBB]),
            },
            pps: match codec {
                VideoCodec::H264 => Bytes::from_static(&[0x68, 0xEE]),
                VideoCodec::H265 => Bytes::from_static(&[0x44, 0x01, 0xCC]),
            },
            rfc6381_codec: String::new(),
        }
    }

    fn avcc(units: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        for u in units {
            push_length_prefixed(&mut v, u);
        }
        v
    }

    #[test]
    fn h264_keyframe_gets_aud_and_parameter_sets() {
        let mut out = Vec::new();
        let n = write_access_unit(
            &params(VideoCodec::H264),
            &avcc(&[&[0x65, 1, 2]]),
            true,
            &mut out,
        );
        assert_eq!(n, 1);
        assert_eq!(
            out,
            [
                0, 0, 0, 1, 0x09, 0xF0, // AUD
                0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1F, // SPS
                0, 0, 0, 1, 0x68, 0xEE, // PPS
                0, 0, 0, 1, 0x65, 1, 2, // IDR
            ]
        );
    }

    #[test]
    fn in_band_parameter_sets_and_delimiters_are_not_duplicated() {
        let mut out = Vec::new();
        let data = avcc(&[&[0x09, 0x10], &[0x67, 9], &[0x68, 9], &[0x65, 1]]);
        let n = write_access_unit(&params(VideoCodec::H264), &data, true, &mut out);
        assert_eq!(n, 3);
        assert_eq!(
            out,
            [
                0, 0, 0, 1, 0x09, 0xF0, 0, 0, 0, 1, 0x67, 9, 0, 0, 0, 1, 0x68, 9, 0, 0, 0, 1, 0x65,
                1
            ]
        );
    }

    #[test]
    fn h265_delta_frame_gets_only_aud() {
        let mut out = Vec::new();
        let n = write_access_unit(
            &params(VideoCodec::H265),
            &avcc(&[&[0x02, 0x01, 7]]),
            false,
            &mut out,
        );
        assert_eq!(n, 1);
        assert_eq!(
            out,
            [0, 0, 0, 1, 0x46, 0x01, 0x50, 0, 0, 0, 1, 0x02, 0x01, 7]
        );
        out.clear();
        let n = write_access_unit(
            &params(VideoCodec::H265),
            &avcc(&[&[0x26, 0x01, 7]]),
            true,
            &mut out,
        );
        assert_eq!(n, 1);
        // AUD + VPS + SPS + PPS + IDR_W_RADL.
        assert_eq!(out.len(), 7 + 3 * 7 + 7);
        assert!(!has_in_band_parameter_sets(
            VideoCodec::H265,
            &avcc(&[&[0x42, 1], &[0x44, 1]])
        ));
    }

    #[test]
    fn garbage_payload_writes_no_units() {
        let mut out = Vec::new();
        assert_eq!(
            write_access_unit(
                &params(VideoCodec::H264),
                &[0xFF, 0xFF, 0xFF, 0xFF, 1],
                false,
                &mut out
            ),
            0
        );
    }
}
