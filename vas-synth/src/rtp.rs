//! RTP and RTCP wire formats the synthetic camera sends.
//!
//! Owns the RFC 6184 H.264 packetizer (single NAL unit packets and FU-A fragments), the
//! 12-byte RTP header, RTCP sender reports (RFC 3550) with an SDES CNAME, and the NTP time
//! format. Pure functions on bytes: it must never touch sockets, timers or session state.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};

/// Largest RTP payload the packetizer produces; keeps a packet with headers under a 1,500-byte
/// Ethernet MTU with room for tunnels.
pub(crate) const MAX_RTP_PAYLOAD: usize = 1200;
/// Length of the fixed RTP header (no CSRCs, no extension).
pub(crate) const RTP_HEADER_LEN: usize = 12;
/// Dynamic RTP payload type of the H.264 track.
pub(crate) const H264_PAYLOAD_TYPE: u8 = 96;
/// Static RTP payload type of G.711 µ-law (PCMU).
pub(crate) const PCMU_PAYLOAD_TYPE: u8 = 0;
/// H.264 NAL unit type of an FU-A fragment.
const NAL_TYPE_FU_A: u8 = 28;
/// Bytes an FU-A fragment spends on its indicator and header.
const FU_A_OVERHEAD: usize = 2;
/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;
/// RTCP packet type of a sender report.
const RTCP_SR: u8 = 200;
/// RTCP packet type of source description.
const RTCP_SDES: u8 = 202;
/// SDES item type of the canonical name.
const SDES_CNAME: u8 = 1;

/// Splits one access unit (NAL units without start codes) into RTP payloads of at most
/// `max_payload` bytes: NAL units that fit become single NAL unit packets (shared, not
/// copied); larger ones become FU-A fragments. The last payload of the access unit is the one
/// that carries the RTP marker bit.
///
/// `max_payload` must leave room for a fragment's two header bytes plus one byte of data.
pub(crate) fn packetize_h264(nals: &[Bytes], max_payload: usize) -> Vec<Bytes> {
    debug_assert!(
        max_payload > FU_A_OVERHEAD,
        "payload size too small for FU-A"
    );
    let mut out = Vec::new();
    for nal in nals {
        if nal.is_empty() {
            continue;
        }
        if nal.len() <= max_payload {
            out.push(nal.clone());
            continue;
        }
        let header = nal[0];
        let indicator = (header & 0xE0) | NAL_TYPE_FU_A;
        let nal_type = header & 0x1F;
        let body = &nal[1..];
        let chunk = max_payload - FU_A_OVERHEAD;
        let count = body.len().div_ceil(chunk);
        for (i, piece) in body.chunks(chunk).enumerate() {
            let mut fu_header = nal_type;
            if i == 0 {
                fu_header |= 0x80;
            }
            if i + 1 == count {
                fu_header |= 0x40;
            }
            let mut p = BytesMut::with_capacity(FU_A_OVERHEAD + piece.len());
            p.put_u8(indicator);
            p.put_u8(fu_header);
            p.put_slice(piece);
            out.push(p.freeze());
        }
    }
    out
}

/// The fields of one RTP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RtpHeader {
    /// Marker bit (last packet of a video frame).
    pub(crate) marker: bool,
    /// Payload type.
    pub(crate) payload_type: u8,
    /// Sequence number.
    pub(crate) sequence: u16,
    /// Media timestamp.
    pub(crate) timestamp: u32,
    /// Synchronisation source.
    pub(crate) ssrc: u32,
}

impl RtpHeader {
    /// Appends the 12-byte header to `buf`.
    pub(crate) fn write(&self, buf: &mut BytesMut) {
        buf.put_u8(0x80); // version 2, no padding, no extension, no CSRCs
        buf.put_u8((u8::from(self.marker) << 7) | (self.payload_type & 0x7F));
        buf.put_u16(self.sequence);
        buf.put_u32(self.timestamp);
        buf.put_u32(self.ssrc);
    }

    /// Parses the header at the start of `packet` (used by tests).
    #[cfg(test)]
    pub(crate) fn parse(packet: &[u8]) -> Option<RtpHeader> {
        if packet.len() < RTP_HEADER_LEN || packet[0] >> 6 != 2 {
            return None;
        }
        Some(RtpHeader {
            marker: packet[1] & 0x80 != 0,
            payload_type: packet[1] & 0x7F,
            sequence: u16::from_be_bytes([packet[2], packet[3]]),
            timestamp: u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]),
            ssrc: u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]),
        })
    }
}

/// `time` as a 64-bit NTP timestamp (32.32 fixed point seconds since 1900).
pub(crate) fn ntp_timestamp(time: SystemTime) -> u64 {
    let since_unix = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_unix.as_secs() + NTP_UNIX_OFFSET_SECS;
    let frac = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// What one RTCP sender report says.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SenderReport {
    /// The sender's SSRC.
    pub(crate) ssrc: u32,
    /// Wall-clock time of the report, NTP format.
    pub(crate) ntp: u64,
    /// The RTP timestamp that corresponds to `ntp`.
    pub(crate) rtp_timestamp: u32,
    /// RTP packets sent so far.
    pub(crate) packets: u32,
    /// RTP payload octets sent so far.
    pub(crate) octets: u32,
}

impl SenderReport {
    /// The compound RTCP packet: this sender report followed by an SDES with `cname`
    /// (at most 255 bytes are used).
    pub(crate) fn to_compound(self, cname: &str) -> Bytes {
        let mut b = BytesMut::with_capacity(64);
        // SR: header + sender info, no report blocks: 7 words, length field = 6.
        b.put_u8(0x80);
        b.put_u8(RTCP_SR);
        b.put_u16(6);
        b.put_u32(self.ssrc);
        b.put_u64(self.ntp);
        b.put_u32(self.rtp_timestamp);
        b.put_u32(self.packets);
        b.put_u32(self.octets);
        // SDES with one chunk: SSRC, CNAME item, end-of-items, padded to a word.
        let name = &cname.as_bytes()[..cname.len().min(255)];
        let chunk_len = 4 + 2 + name.len() + 1;
        let padded = chunk_len.div_ceil(4) * 4;
        b.put_u8(0x81); // version 2, one chunk
        b.put_u8(RTCP_SDES);
        b.put_u16((padded / 4) as u16);
        b.put_u32(self.ssrc);
        b.put_u8(SDES_CNAME);
        b.put_u8(name.len() as u8);
        b.put_slice(name);
        b.put_bytes(0, padded - chunk_len + 1);
        b.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reassembles payloads back into NAL units, checking FU-A framing on the way.
    fn depacketize(payloads: &[Bytes]) -> Vec<Vec<u8>> {
        let mut nals = Vec::new();
        let mut current: Option<Vec<u8>> = None;
        for p in payloads {
            let t = p[0] & 0x1F;
            if t == NAL_TYPE_FU_A {
                let (start, end) = (p[1] & 0x80 != 0, p[1] & 0x40 != 0);
                assert!(!(start && end), "FU-A with both start and end bits");
                if start {
                    assert!(current.is_none(), "FU-A start inside a fragment");
                    current = Some(vec![(p[0] & 0xE0) | (p[1] & 0x1F)]);
                }
                let nal = current.as_mut().expect("FU-A continuation without a start");
                nal.extend_from_slice(&p[2..]);
                if end {
                    nals.push(current.take().unwrap());
                }
            } else {
                assert!(current.is_none(), "single NAL inside a fragment");
                nals.push(p.to_vec());
            }
        }
        assert!(current.is_none(), "unterminated FU-A");
        nals
    }

    fn nal(header: u8, len: usize) -> Bytes {
        let mut v = vec![header];
        v.extend((1..len).map(|i| (i % 251) as u8));
        v.into()
    }

    #[test]
    fn small_nals_are_single_packets_shared_not_copied() {
        let sps = nal(0x67, 20);
        let out = packetize_h264(&[sps.clone(), nal(0x68, 4)], MAX_RTP_PAYLOAD);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].as_ptr(), sps.as_ptr());
    }

    #[test]
    fn fu_a_boundaries_round_trip() {
        let max = 100;
        // Exactly fits; one byte over; exactly N fragments; N fragments plus one byte.
        for len in [max, max + 1, 1 + 3 * (max - 2), 2 + 3 * (max - 2), 5000] {
            let n = nal(0x65, len);
            let out = packetize_h264(std::slice::from_ref(&n), max);
            assert!(
                out.iter().all(|p| p.len() <= max),
                "len {len}: payload over the limit"
            );
            if len <= max {
                assert_eq!(out.len(), 1);
            } else {
                assert_eq!(out.len(), (len - 1).div_ceil(max - 2), "len {len}");
                assert!(
                    out.iter().all(|p| p[0] == (0x65 & 0xE0) | 28),
                    "FU indicator keeps NRI"
                );
            }
            assert_eq!(depacketize(&out), vec![n.to_vec()], "len {len}");
        }
    }

    #[test]
    fn fragments_keep_nal_order_in_an_access_unit() {
        let nals = [
            nal(0x67, 10),
            nal(0x68, 4),
            nal(0x65, 3000),
            nal(0x41, 1500),
        ];
        let out = packetize_h264(&nals, MAX_RTP_PAYLOAD);
        let back = depacketize(&out);
        assert_eq!(back, nals.iter().map(|n| n.to_vec()).collect::<Vec<_>>());
    }

    #[test]
    fn header_round_trips() {
        let h = RtpHeader {
            marker: true,
            payload_type: 96,
            sequence: 65535,
            timestamp: 0xDEAD_BEEF,
            ssrc: 0x1234_5678,
        };
        let mut b = BytesMut::new();
        h.write(&mut b);
        assert_eq!(b.len(), RTP_HEADER_LEN);
        assert_eq!(RtpHeader::parse(&b), Some(h));
    }

    #[test]
    fn ntp_of_unix_epoch_and_half_second() {
        assert_eq!(ntp_timestamp(UNIX_EPOCH), NTP_UNIX_OFFSET_SECS << 32);
        let t = UNIX_EPOCH + std::time::Duration::from_millis(1500);
        assert_eq!(
            ntp_timestamp(t),
            ((NTP_UNIX_OFFSET_SECS + 1) << 32) | 0x8000_0000
        );
    }

    #[test]
    fn sender_report_is_a_well_formed_compound_packet() {
        let sr = SenderReport {
            ssrc: 7,
            ntp: 0x0102_0304_0506_0708,
            rtp_timestamp: 9,
            packets: 10,
            octets: 11,
        };
        for cname in ["", "a", "vas-synth", &"x".repeat(300)] {
            let b = sr.to_compound(cname);
            assert_eq!(b.len() % 4, 0);
            // Walk the compound packet by its length fields.
            let mut at = 0;
            let mut types = Vec::new();
            while at < b.len() {
                assert_eq!(b[at] >> 6, 2);
                types.push(b[at + 1]);
                at += 4 * (usize::from(u16::from_be_bytes([b[at + 2], b[at + 3]])) + 1);
            }
            assert_eq!(at, b.len());
            assert_eq!(types, vec![RTCP_SR, RTCP_SDES]);
            assert_eq!(&b[8..16], &0x0102_0304_0506_0708u64.to_be_bytes());
        }
    }
}
