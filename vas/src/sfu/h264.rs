//! RFC 6184 H.264 packetization, done once per frame and shared by every viewer.
//!
//! Owns: turning one access unit (4-byte-length-prefixed NAL units, see [`crate::media`]) into
//! RTP payloads — single NAL unit packets, FU-A fragments, and a STAP-A with SPS and PPS in
//! front of every keyframe (packetization-mode 1). Each payload is an `Arc<[u8]>` so that all
//! viewers, and str0m's retransmit caches, point at the same bytes.
//!
//! Must never: allocate per viewer, copy a payload after packetizing it, or interpret slice
//! data beyond the one NAL header byte.

use std::sync::Arc;

use crate::media::{VideoParams, h264_nal_type, nal_units};

/// Largest RTP payload the packetizer produces, in bytes. With the RTP header, str0m's header
/// extensions and the SRTP tag a datagram stays under about 1,200 bytes, below every path MTU
/// a browser meets in practice.
pub const MAX_RTP_PAYLOAD: usize = 1150;

const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;
const NAL_AUD: u8 = 9;
const NAL_STAP_A: u8 = 24;
const NAL_FU_A: u8 = 28;
/// FU indicator + FU header.
const FU_A_OVERHEAD: usize = 2;
/// STAP-A NAL header byte.
const STAP_A_HEADER: usize = 1;
/// STAP-A per-unit 16-bit size field.
const STAP_A_SIZE_FIELD: usize = 2;

/// One RTP payload of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPayload {
    /// The payload bytes, shared by every viewer.
    pub data: Arc<[u8]>,
    /// Whether this is the last packet of the access unit (the RTP marker bit).
    pub marker: bool,
}

/// Packetizes one H.264 access unit into `out` (cleared first).
///
/// On keyframes, SPS and PPS go first: the in-band ones if the frame carries them, else those
/// of `params`. Access unit delimiters are dropped. `max_payload` must be at least 3 bytes
/// larger than the FU-A overhead; smaller values are raised to that.
pub fn packetize(
    access_unit: &[u8],
    keyframe: bool,
    params: Option<&VideoParams>,
    max_payload: usize,
    out: &mut Vec<RtpPayload>,
) {
    out.clear();
    let max_payload = max_payload.max(FU_A_OVERHEAD + 3);
    if keyframe {
        let mut sps: Option<&[u8]> = None;
        let mut pps: Option<&[u8]> = None;
        for unit in nal_units(access_unit) {
            match h264_nal_type(unit) {
                Some(NAL_SPS) if sps.is_none() => sps = Some(unit),
                Some(NAL_PPS) if pps.is_none() => pps = Some(unit),
                _ => {}
            }
        }
        let sps = sps.or_else(|| params.map(|p| &p.sps[..]).filter(|s| !s.is_empty()));
        let pps = pps.or_else(|| params.map(|p| &p.pps[..]).filter(|s| !s.is_empty()));
        match (sps, pps) {
            (Some(sps), Some(pps)) => push_parameter_sets(sps, pps, max_payload, out),
            (Some(one), None) | (None, Some(one)) => push_unit(one, max_payload, out),
            (None, None) => {}
        }
    }
    for unit in nal_units(access_unit) {
        match h264_nal_type(unit) {
            // Parameter sets of a keyframe already went first; an AUD is useless over RTP.
            Some(NAL_SPS | NAL_PPS) if keyframe => {}
            Some(NAL_AUD) => {}
            _ => push_unit(unit, max_payload, out),
        }
    }
    if let Some(last) = out.last_mut() {
        last.marker = true;
    }
}

/// SPS and PPS in one STAP-A if they fit, else as two single NAL unit packets.
fn push_parameter_sets(sps: &[u8], pps: &[u8], max_payload: usize, out: &mut Vec<RtpPayload>) {
    let stap_len = STAP_A_HEADER + 2 * STAP_A_SIZE_FIELD + sps.len() + pps.len();
    let fits_u16 = sps.len() <= usize::from(u16::MAX) && pps.len() <= usize::from(u16::MAX);
    if stap_len > max_payload || !fits_u16 {
        push_unit(sps, max_payload, out);
        push_unit(pps, max_payload, out);
        return;
    }
    // F bit: OR of the aggregated units; NRI: their maximum (RFC 6184 §5.7.1).
    let f = (sps[0] | pps[0]) & 0x80;
    let nri = (sps[0] & 0x60).max(pps[0] & 0x60);
    let mut buf = Vec::with_capacity(stap_len);
    buf.push(f | nri | NAL_STAP_A);
    for unit in [sps, pps] {
        // Checked above: both lengths fit in 16 bits.
        buf.extend_from_slice(&(unit.len() as u16).to_be_bytes());
        buf.extend_from_slice(unit);
    }
    out.push(RtpPayload {
        data: buf.into(),
        marker: false,
    });
}

/// One NAL unit: as a single NAL unit packet if it fits, else as FU-A fragments that are all
/// full-sized except the last (which keeps datagram sizes uniform for segmentation offload).
fn push_unit(unit: &[u8], max_payload: usize, out: &mut Vec<RtpPayload>) {
    let Some((&header, body)) = unit.split_first() else {
        return;
    };
    if unit.len() <= max_payload {
        out.push(RtpPayload {
            data: unit.into(),
            marker: false,
        });
        return;
    }
    let indicator = (header & 0xE0) | NAL_FU_A;
    let nal_type = header & 0x1F;
    let chunk = max_payload - FU_A_OVERHEAD;
    let count = body.len().div_ceil(chunk);
    for (i, piece) in body.chunks(chunk).enumerate() {
        let start = if i == 0 { 0x80 } else { 0 };
        let end = if i + 1 == count { 0x40 } else { 0 };
        let mut buf = Vec::with_capacity(FU_A_OVERHEAD + piece.len());
        buf.push(indicator);
        buf.push(start | end | nal_type);
        buf.extend_from_slice(piece);
        out.push(RtpPayload {
            data: buf.into(),
            marker: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::media::{VideoCodec, push_length_prefixed};

    fn params() -> VideoParams {
        VideoParams {
            codec: VideoCodec::H264,
            width: 1280,
            height: 720,
            vps: None,
            sps: Bytes::from_static(&[0x67, 0x64, 0x00, 0x1f, 0xac]),
            pps: Bytes::from_static(&[0x68, 0xee, 0x3c, 0x80]),
            rfc6381_codec: "avc1.64001F".into(),
        }
    }

    /// Reassembles payloads the way a receiver does (RFC 6184 depacketization).
    fn depacketize(payloads: &[RtpPayload]) -> Vec<Vec<u8>> {
        let mut units = Vec::new();
        let mut fu: Option<Vec<u8>> = None;
        for p in payloads {
            let d = &p.data;
            match d[0] & 0x1f {
                NAL_STAP_A => {
                    let mut rest = &d[1..];
                    while rest.len() >= 2 {
                        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                        units.push(rest[2..2 + n].to_vec());
                        rest = &rest[2 + n..];
                    }
                    assert!(rest.is_empty());
                }
                NAL_FU_A => {
                    if d[1] & 0x80 != 0 {
                        assert!(fu.is_none());
                        fu = Some(vec![(d[0] & 0xE0) | (d[1] & 0x1f)]);
                    }
                    fu.as_mut().expect("FU-A start").extend_from_slice(&d[2..]);
                    if d[1] & 0x40 != 0 {
                        units.push(fu.take().unwrap_or_default());
                    }
                }
                _ => units.push(d.to_vec()),
            }
        }
        assert!(fu.is_none(), "unterminated FU-A");
        units
    }

    #[test]
    fn keyframe_gets_parameter_sets_in_a_stap_a_and_roundtrips() {
        let idr: Vec<u8> = std::iter::once(0x65)
            .chain((0..5000).map(|i| i as u8))
            .collect();
        let sei = vec![0x06, 1, 2, 3];
        let mut au = Vec::new();
        push_length_prefixed(&mut au, &[0x09, 0xf0]); // AUD: dropped
        push_length_prefixed(&mut au, &sei);
        push_length_prefixed(&mut au, &idr);
        let mut out = Vec::new();
        packetize(&au, true, Some(&params()), MAX_RTP_PAYLOAD, &mut out);
        assert_eq!(out[0].data[0] & 0x1f, NAL_STAP_A);
        assert_eq!(out[0].data[0] & 0x60, 0x60, "NRI is the max of SPS/PPS");
        assert!(out.iter().all(|p| p.data.len() <= MAX_RTP_PAYLOAD));
        assert_eq!(out.iter().filter(|p| p.marker).count(), 1);
        assert!(out.last().unwrap().marker);
        let units = depacketize(&out);
        assert_eq!(
            units,
            vec![params().sps.to_vec(), params().pps.to_vec(), sei, idr]
        );
        // FU-A fragments of one unit are all full-size except the last.
        let fu: Vec<usize> = out[2..].iter().map(|p| p.data.len()).collect();
        assert!(fu[..fu.len() - 1].iter().all(|&n| n == MAX_RTP_PAYLOAD));
    }

    #[test]
    fn in_band_parameter_sets_win_and_are_not_sent_twice() {
        let mut au = Vec::new();
        push_length_prefixed(&mut au, &[0x67, 0x42, 0, 0x1e]);
        push_length_prefixed(&mut au, &[0x68, 0xce]);
        push_length_prefixed(&mut au, &[0x65, 0x88]);
        let mut out = Vec::new();
        packetize(&au, true, Some(&params()), MAX_RTP_PAYLOAD, &mut out);
        assert_eq!(
            depacketize(&out),
            vec![
                vec![0x67, 0x42, 0, 0x1e],
                vec![0x68, 0xce],
                vec![0x65, 0x88]
            ]
        );
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn delta_frames_carry_no_parameter_sets_and_small_units_go_single() {
        let mut au = Vec::new();
        push_length_prefixed(&mut au, &[0x41, 1, 2]);
        push_length_prefixed(&mut au, &[0x41, 3, 4]);
        let mut out = Vec::new();
        packetize(&au, false, Some(&params()), MAX_RTP_PAYLOAD, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(&out[0].data[..], &[0x41, 1, 2]);
        assert!(!out[0].marker && out[1].marker);
    }

    #[test]
    fn malformed_or_empty_input_yields_nothing_and_never_panics() {
        let mut out = vec![RtpPayload {
            data: Arc::from(&[1u8][..]),
            marker: false,
        }];
        packetize(&[0, 0, 0, 9, 1], false, None, MAX_RTP_PAYLOAD, &mut out);
        assert!(out.is_empty());
        packetize(&[], true, None, 0, &mut out);
        assert!(out.is_empty());
        // A tiny MTU still produces valid, bounded FU-A fragments.
        let mut au = Vec::new();
        push_length_prefixed(&mut au, &[0x65; 100]);
        packetize(&au, false, None, 1, &mut out);
        assert_eq!(depacketize(&out), vec![vec![0x65; 100]]);
    }

    #[test]
    fn oversized_parameter_sets_go_as_separate_packets() {
        let mut p = params();
        p.sps = Bytes::from(vec![0x67; 800]);
        p.pps = Bytes::from(vec![0x68; 800]);
        let mut au = Vec::new();
        push_length_prefixed(&mut au, &[0x65, 1]);
        let mut out = Vec::new();
        packetize(&au, true, Some(&p), MAX_RTP_PAYLOAD, &mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(depacketize(&out)[0].len(), 800);
    }
}

#[cfg(test)]
mod doc_examples {
    /// How `sfu::h264::packetize` is used.
    #[test]
    fn packetize_example() {
        use crate::sfu::h264::{MAX_RTP_PAYLOAD, packetize};
        let mut au = Vec::new();
        crate::media::push_length_prefixed(&mut au, &[0x65; 3000]); // one IDR slice
        let mut out = Vec::new();
        packetize(&au, true, None, MAX_RTP_PAYLOAD, &mut out);
        // No parameter sets known: three FU-A fragments, the last one marked.
        assert_eq!(out.len(), 3);
        assert!(
            out.iter()
                .all(|p| p.data[0] & 0x1f == 28 && p.data.len() <= MAX_RTP_PAYLOAD)
        );
        assert!(out[2].marker);
    }
}
