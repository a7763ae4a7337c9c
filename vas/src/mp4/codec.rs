//! Decoder configuration records for the sample entries: `avcC` (ISO/IEC 14496-15 §5.3.3)
//! from an H.264 SPS/PPS, `hvcC` (§8.3.3) from an H.265 VPS/SPS/PPS, and the `esds` of AAC
//! (ISO/IEC 14496-1 §7.2.6). Reads only the few SPS fields the records repeat; every read is
//! bounds-checked and a short or malformed parameter set is an `InvalidInput` error.

use crate::media::VideoParams;
use crate::{Error, Result};

/// `lengthSizeMinusOne`: VAS frames carry 4-byte NAL unit lengths (see `crate::media`).
const NAL_LENGTH_SIZE_MINUS_ONE: u8 = 3;
/// H.264 profiles whose `avcC` carries chroma format and bit depths (§5.3.3.1.2).
const H264_HIGH_PROFILES: [u8; 4] = [100, 110, 122, 144];
/// H.265 NAL unit types of the parameter sets, in `hvcC` array order.
const HEVC_VPS: u8 = 32;
const HEVC_SPS: u8 = 33;
const HEVC_PPS: u8 = 34;
/// Exp-Golomb codes longer than this are not in any valid SPS field we read.
const MAX_EXP_GOLOMB_ZEROS: u32 = 31;

/// The RBSP of a NAL unit: its bytes without emulation-prevention bytes (`00 00 03`).
fn rbsp(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0usize;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros.saturating_add(1) } else { 0 };
        out.push(b);
    }
    out
}

/// A big-endian bit reader that fails (never panics) past the end.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits { data, pos: 0 }
    }

    fn short() -> Error {
        Error::invalid_input("parameter set too short")
    }

    fn bit(&mut self) -> Result<u32> {
        let byte = self.data.get(self.pos / 8).ok_or_else(Self::short)?;
        let bit = (byte >> (7 - (self.pos % 8))) & 1;
        self.pos = self.pos.saturating_add(1);
        Ok(u32::from(bit))
    }

    fn bits(&mut self, n: u32) -> Result<u64> {
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 1) | u64::from(self.bit()?);
        }
        Ok(v)
    }

    fn skip(&mut self, n: usize) -> Result<()> {
        let to = self.pos.checked_add(n).ok_or_else(Self::short)?;
        if to > self.data.len().saturating_mul(8) {
            return Err(Self::short());
        }
        self.pos = to;
        Ok(())
    }

    /// An unsigned Exp-Golomb code, `ue(v)`.
    fn ue(&mut self) -> Result<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > MAX_EXP_GOLOMB_ZEROS {
                return Err(Error::invalid_input("malformed Exp-Golomb code in an SPS"));
            }
        }
        let rest = self.bits(zeros)?;
        let v = (1u64 << zeros) - 1 + rest;
        u32::try_from(v).map_err(|_| Error::invalid_input("Exp-Golomb value out of range"))
    }
}

/// Appends a 16-bit length and the unit.
fn push_u16_prefixed(out: &mut Vec<u8>, unit: &[u8], what: &str) -> Result<()> {
    let len = u16::try_from(unit.len())
        .map_err(|_| Error::invalid_input(format!("{what} longer than 65535 bytes")))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(unit);
    Ok(())
}

/// The body of an `avcC` box for `params` (H.264).
pub(crate) fn avcc(params: &VideoParams) -> Result<Vec<u8>> {
    let sps = params.sps.as_ref();
    let (Some(&profile), Some(&compat), Some(&level)) = (sps.get(1), sps.get(2), sps.get(3)) else {
        return Err(Error::invalid_input("H.264 SPS shorter than 4 bytes"));
    };
    if params.pps.is_empty() {
        return Err(Error::invalid_input("H.264 PPS is empty"));
    }
    let mut out = vec![
        1, // configurationVersion
        profile,
        compat,
        level,
        0xFC | NAL_LENGTH_SIZE_MINUS_ONE,
        0xE0 | 1, // one SPS
    ];
    push_u16_prefixed(&mut out, sps, "SPS")?;
    out.push(1); // one PPS
    push_u16_prefixed(&mut out, &params.pps, "PPS")?;
    if H264_HIGH_PROFILES.contains(&profile) {
        let raw = rbsp(sps);
        let mut r = Bits::new(raw.get(4..).unwrap_or_default());
        r.ue()?; // seq_parameter_set_id
        let chroma_format_idc = r.ue()?;
        if chroma_format_idc == 3 {
            r.bit()?; // separate_colour_plane_flag
        }
        let luma = r.ue()?;
        let chroma = r.ue()?;
        let (Ok(chroma_format_idc), Ok(luma), Ok(chroma)) = (
            u8::try_from(chroma_format_idc & 3),
            u8::try_from(luma.min(7)),
            u8::try_from(chroma.min(7)),
        ) else {
            return Err(Error::internal("masked values fit in a byte"));
        };
        out.push(0xFC | chroma_format_idc);
        out.push(0xF8 | luma);
        out.push(0xF8 | chroma);
        out.push(0); // numOfSequenceParameterSetExt
    }
    Ok(out)
}

/// What `hvcC` repeats from the SPS.
struct HevcSpsInfo {
    /// general_profile_space (2), tier (1), profile_idc (5): the first PTL byte.
    ptl_first: u8,
    compat_flags: [u8; 4],
    constraint_flags: [u8; 6],
    level: u8,
    max_sub_layers_minus1: u8,
    temporal_id_nesting: u8,
    chroma_format_idc: u8,
    bit_depth_luma_minus8: u8,
    bit_depth_chroma_minus8: u8,
}

/// Reads the fields above from an H.265 SPS NAL unit (H.265 §7.3.2.2, §7.3.3).
fn hevc_sps_info(sps: &[u8]) -> Result<HevcSpsInfo> {
    let raw = rbsp(sps);
    let mut r = Bits::new(&raw);
    r.skip(16)?; // NAL unit header
    r.skip(4)?; // sps_video_parameter_set_id
    let max_sub_layers_minus1 = r.bits(3)?;
    let temporal_id_nesting = r.bits(1)?;
    // general_profile_space..general_level_idc: 1 + 4 + 6 + 1 bytes.
    let mut fixed = [0u8; 12];
    for b in &mut fixed {
        *b = u8::try_from(r.bits(8)?).map_err(|_| Error::internal("8 bits fit a byte"))?;
    }
    // Sub-layer profile/level presence flags, then the sub-layers' own fields, skipped.
    let mut sub_profile = [false; 8];
    let mut sub_level = [false; 8];
    for i in 0..max_sub_layers_minus1 as usize {
        sub_profile[i] = r.bit()? == 1;
        sub_level[i] = r.bit()? == 1;
    }
    if max_sub_layers_minus1 > 0 {
        let pad = 8 - max_sub_layers_minus1 as usize;
        r.skip(2 * pad)?;
    }
    for i in 0..max_sub_layers_minus1 as usize {
        if sub_profile[i] {
            r.skip(88)?;
        }
        if sub_level[i] {
            r.skip(8)?;
        }
    }
    r.ue()?; // sps_seq_parameter_set_id
    let chroma_format_idc = r.ue()?;
    if chroma_format_idc == 3 {
        r.bit()?; // separate_colour_plane_flag
    }
    r.ue()?; // pic_width_in_luma_samples
    r.ue()?; // pic_height_in_luma_samples
    if r.bit()? == 1 {
        for _ in 0..4 {
            r.ue()?; // conformance window offsets
        }
    }
    let luma = r.ue()?;
    let chroma = r.ue()?;
    let [ptl_first, c0, c1, c2, c3, k0, k1, k2, k3, k4, k5, level] = fixed;
    let small = |v: u64| u8::try_from(v).map_err(|_| Error::internal("small field"));
    Ok(HevcSpsInfo {
        ptl_first,
        compat_flags: [c0, c1, c2, c3],
        constraint_flags: [k0, k1, k2, k3, k4, k5],
        level,
        max_sub_layers_minus1: small(max_sub_layers_minus1)?,
        temporal_id_nesting: small(temporal_id_nesting)?,
        chroma_format_idc: small(u64::from(chroma_format_idc & 3))?,
        bit_depth_luma_minus8: small(u64::from(luma.min(7)))?,
        bit_depth_chroma_minus8: small(u64::from(chroma.min(7)))?,
    })
}

/// The body of an `hvcC` box for `params` (H.265).
pub(crate) fn hvcc(params: &VideoParams) -> Result<Vec<u8>> {
    let Some(vps) = params.vps.as_ref().filter(|v| !v.is_empty()) else {
        return Err(Error::invalid_input("H.265 parameters without a VPS"));
    };
    if params.pps.is_empty() {
        return Err(Error::invalid_input("H.265 PPS is empty"));
    }
    let info = hevc_sps_info(&params.sps)?;
    let mut out = vec![1, info.ptl_first];
    out.extend_from_slice(&info.compat_flags);
    out.extend_from_slice(&info.constraint_flags);
    out.push(info.level);
    out.extend_from_slice(&0xF000u16.to_be_bytes()); // min_spatial_segmentation_idc 0
    out.push(0xFC); // parallelismType 0 (unknown)
    out.push(0xFC | info.chroma_format_idc);
    out.push(0xF8 | info.bit_depth_luma_minus8);
    out.push(0xF8 | info.bit_depth_chroma_minus8);
    out.extend_from_slice(&0u16.to_be_bytes()); // avgFrameRate unknown
    out.push(
        ((info.max_sub_layers_minus1 + 1) << 3)
            | (info.temporal_id_nesting << 2)
            | NAL_LENGTH_SIZE_MINUS_ONE,
    );
    out.push(3); // numOfArrays
    for (nal_type, unit) in [
        (HEVC_VPS, vps.as_ref()),
        (HEVC_SPS, params.sps.as_ref()),
        (HEVC_PPS, params.pps.as_ref()),
    ] {
        out.push(0x80 | nal_type); // array_completeness: all sets are here
        out.extend_from_slice(&1u16.to_be_bytes());
        push_u16_prefixed(&mut out, unit, "parameter set")?;
    }
    Ok(out)
}

/// One MPEG-4 descriptor: tag, a 4-byte size (the expandable form players all accept), body.
fn descriptor(out: &mut Vec<u8>, tag: u8, body: &[u8]) -> Result<()> {
    let len = u32::try_from(body.len())
        .ok()
        .filter(|l| *l < (1 << 28))
        .ok_or_else(|| Error::invalid_input("AudioSpecificConfig too large"))?;
    out.push(tag);
    out.extend_from_slice(&[
        0x80 | ((len >> 21) & 0x7F) as u8,
        0x80 | ((len >> 14) & 0x7F) as u8,
        0x80 | ((len >> 7) & 0x7F) as u8,
        (len & 0x7F) as u8,
    ]);
    out.extend_from_slice(body);
    Ok(())
}

/// The body of an `esds` box (after its version and flags) for AAC with `config`.
pub(crate) fn esds(config: &[u8], track_id: u16) -> Result<Vec<u8>> {
    const ES_DESCRIPTOR: u8 = 0x03;
    const DECODER_CONFIG: u8 = 0x04;
    const DECODER_SPECIFIC: u8 = 0x05;
    const SL_CONFIG: u8 = 0x06;
    const OBJECT_TYPE_AAC: u8 = 0x40;
    const STREAM_TYPE_AUDIO: u8 = 0x05;
    let mut specific = Vec::new();
    descriptor(&mut specific, DECODER_SPECIFIC, config)?;
    let mut decoder = vec![OBJECT_TYPE_AAC, (STREAM_TYPE_AUDIO << 2) | 1];
    decoder.extend_from_slice(&[0, 0, 0]); // bufferSizeDB
    decoder.extend_from_slice(&0u32.to_be_bytes()); // maxBitrate unknown
    decoder.extend_from_slice(&0u32.to_be_bytes()); // avgBitrate unknown
    decoder.extend_from_slice(&specific);
    let mut es = track_id.to_be_bytes().to_vec();
    es.push(0); // no stream dependence, URL or OCR
    descriptor(&mut es, DECODER_CONFIG, &decoder)?;
    descriptor(&mut es, SL_CONFIG, &[2])?; // predefined: MP4 files
    let mut out = Vec::new();
    descriptor(&mut out, ES_DESCRIPTOR, &es)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::VideoCodec;
    use bytes::Bytes;

    fn params(codec: VideoCodec, vps: Option<&'static [u8]>, sps: &'static [u8]) -> VideoParams {
        VideoParams {
            codec,
            width: 64,
            height: 64,
            vps: vps.map(Bytes::from_static),
            sps: Bytes::from_static(sps),
            pps: Bytes::from_static(&[0x68, 0xCE, 0x3C, 0x80]),
            rfc6381_codec: String::new(),
        }
    }

    #[test]
    fn emulation_prevention_bytes_are_removed() {
        assert_eq!(rbsp(&[0, 0, 3, 1, 0, 0, 3]), [0, 0, 1, 0, 0]);
        assert_eq!(rbsp(&[0, 3, 0]), [0, 3, 0]);
    }

    #[test]
    fn baseline_avcc_repeats_profile_and_carries_both_sets() {
        let p = params(VideoCodec::H264, None, &[0x67, 0x42, 0xC0, 0x1E, 0xAB]);
        let c = avcc(&p).unwrap();
        assert_eq!(&c[..6], &[1, 0x42, 0xC0, 0x1E, 0xFF, 0xE1]);
        assert_eq!(&c[6..8], &5u16.to_be_bytes());
        assert_eq!(c.len(), 6 + 2 + 5 + 1 + 2 + 4, "no high-profile tail");
    }

    #[test]
    fn high_profile_avcc_reads_chroma_format_from_the_sps() {
        // profile 100, level 31; sps_id ue(0)='1', chroma ue(1)='010', luma ue(0), chroma ue(0).
        let p = params(VideoCodec::H264, None, &[0x67, 100, 0, 31, 0b1010_1100]);
        let c = avcc(&p).unwrap();
        let tail = &c[c.len() - 4..];
        assert_eq!(tail, &[0xFD, 0xF8, 0xF8, 0]);
    }

    #[test]
    fn short_parameter_sets_are_errors_not_panics() {
        assert!(avcc(&params(VideoCodec::H264, None, &[0x67, 0x42])).is_err());
        assert!(avcc(&params(VideoCodec::H264, None, &[0x67, 100, 0, 31])).is_err());
        assert!(hvcc(&params(VideoCodec::H265, Some(&[0x40, 1]), &[0x42, 1, 1])).is_err());
        assert!(hvcc(&params(VideoCodec::H265, None, &[0x42, 1, 1])).is_err());
    }

    #[test]
    fn esds_wraps_the_audio_specific_config() {
        let e = esds(&[0x11, 0x90], 2).unwrap();
        assert_eq!(e[0], 0x03);
        let at = e.windows(2).position(|w| w == [0x11, 0x90]).unwrap();
        assert_eq!(e[at - 5], 0x05, "DecoderSpecificInfo tag before the config");
        assert_eq!(*e.last().unwrap(), 2, "SLConfig predefined = 2");
    }
}
