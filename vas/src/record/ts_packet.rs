//! The transport stream pieces every reader of our own segments shares: one 188-byte packet's
//! header and adaptation field, a PES header with its PTS, and a bounded, chunked walk over a
//! file's packets.
//!
//! Owns only syntax: which PID, whether a unit starts, where the payload is, what the PES
//! header declares. What a run of packets means (a complete frame, the usable prefix of a torn
//! file) is left to [`super::ts_scan`] (recovery) and [`super::ts_read`] (frames back). It must
//! never panic on any bytes, never allocate per packet, and never read past its byte bound.

use std::io::{self, Read};

use super::ts::{SYNC_BYTE, TS_PACKET_LEN};

/// Packets read from the file per read call (about 64 KiB).
const CHUNK_PACKETS: usize = 348;

/// Bytes of a PES header up to and including `PES_header_data_length`.
pub(crate) const PES_FIXED_HEADER_LEN: usize = 9;

/// Bytes of a PES header up to and including `PES_packet_length` (what that length excludes).
pub(crate) const PES_LENGTH_PREFIX_LEN: usize = 6;

/// Length of an encoded PTS field.
const PTS_FIELD_LEN: usize = 5;

/// Largest adaptation field length a packet can hold (the body after its length byte).
const MAX_ADAPTATION_LEN: usize = TS_PACKET_LEN - 5;

/// One transport stream packet, split into its parts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Packet<'a> {
    /// `payload_unit_start_indicator`: a PES or a section starts in this packet.
    pub(crate) unit_start: bool,
    /// The packet's PID.
    pub(crate) pid: u16,
    /// The adaptation field's random access indicator.
    pub(crate) random_access: bool,
    /// The payload after the adaptation field (empty without one).
    pub(crate) payload: &'a [u8],
    /// Whether the packet has a payload (its continuity counter then counts).
    pub(crate) has_payload: bool,
    /// The 4-bit continuity counter.
    pub(crate) continuity: u8,
}

impl<'a> Packet<'a> {
    /// Parses one packet; `None` if it is not exactly [`TS_PACKET_LEN`] bytes, has no sync
    /// byte, the reserved adaptation-field control value 0, or an adaptation field longer
    /// than the packet.
    pub(crate) fn parse(p: &'a [u8]) -> Option<Self> {
        if p.len() != TS_PACKET_LEN || p[0] != SYNC_BYTE {
            return None;
        }
        let unit_start = p[1] & 0x40 != 0;
        let pid = u16::from_be_bytes([p[1] & 0x1F, p[2]]);
        let afc = (p[3] >> 4) & 3;
        if afc == 0 {
            return None;
        }
        let mut pos = 4;
        let mut random_access = false;
        if afc & 2 != 0 {
            let len = usize::from(p[4]);
            if len > MAX_ADAPTATION_LEN {
                return None;
            }
            if len > 0 {
                random_access = p[5] & 0x40 != 0;
            }
            pos += 1 + len;
        }
        let payload = if afc & 1 != 0 { &p[pos..] } else { &[][..] };
        Some(Packet {
            unit_start,
            pid,
            random_access,
            payload,
            has_payload: afc & 1 != 0,
            continuity: p[3] & 0x0F,
        })
    }
}

/// The start of a PES, as its first packet carries it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PesHeader {
    /// `PES_packet_length` (0: unbounded).
    pub(crate) declared: usize,
    /// The PTS (33 bits), if the header has one.
    pub(crate) pts: Option<i64>,
    /// Where the elementary stream data starts in the first packet's payload (may be past
    /// its end if the header itself is cut: the caller decides what that means).
    pub(crate) data_offset: usize,
}

impl PesHeader {
    /// Parses the PES header at the start of `payload`; `None` without a start code, with
    /// fewer than [`PES_FIXED_HEADER_LEN`] bytes, or with a PTS flag but no room for it.
    pub(crate) fn parse(payload: &[u8]) -> Option<Self> {
        if payload.len() < PES_FIXED_HEADER_LEN || payload[..3] != [0, 0, 1] {
            return None;
        }
        let declared = usize::from(u16::from_be_bytes([payload[4], payload[5]]));
        let has_pts = payload[7] & 0x80 != 0;
        let header_len = usize::from(payload[8]);
        let pts = if has_pts {
            if header_len < PTS_FIELD_LEN {
                return None;
            }
            let b = payload.get(PES_FIXED_HEADER_LEN..PES_FIXED_HEADER_LEN + PTS_FIELD_LEN)?;
            Some(
                (i64::from(b[0] >> 1 & 7) << 30)
                    | (i64::from(b[1]) << 22)
                    | (i64::from(b[2] >> 1) << 15)
                    | (i64::from(b[3]) << 7)
                    | i64::from(b[4] >> 1),
            )
        } else {
            None
        };
        Some(PesHeader {
            declared,
            pts,
            data_offset: PES_FIXED_HEADER_LEN + header_len,
        })
    }
}

/// What [`for_each_packet`] read.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PacketWalk {
    /// Bytes read from the reader (at most the bound).
    pub(crate) bytes_read: u64,
    /// Bytes at the end that did not make a whole packet (never handed to the callback).
    pub(crate) partial_tail: usize,
}

/// Reads `reader` in chunks, at most `max_bytes` bytes, and hands every whole packet to
/// `packet` until it returns `false` or the data ends. Memory use is one chunk.
pub(crate) fn for_each_packet(
    reader: &mut dyn Read,
    max_bytes: u64,
    mut packet: impl FnMut(&[u8]) -> bool,
) -> io::Result<PacketWalk> {
    let mut buf = vec![0u8; CHUNK_PACKETS * TS_PACKET_LEN];
    let mut filled = 0;
    let mut total: u64 = 0;
    loop {
        let room =
            (buf.len() - filled).min(usize::try_from(max_bytes - total).unwrap_or(usize::MAX));
        if room == 0 && filled < TS_PACKET_LEN {
            break;
        }
        let n = if room == 0 {
            0
        } else {
            match reader.read(&mut buf[filled..filled + room]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        total += n as u64;
        filled += n;
        let whole = filled / TS_PACKET_LEN * TS_PACKET_LEN;
        let mut go_on = true;
        for p in buf[..whole].chunks_exact(TS_PACKET_LEN) {
            if !packet(p) {
                go_on = false;
                break;
            }
        }
        buf.copy_within(whole..filled, 0);
        filled -= whole;
        if n == 0 || !go_on {
            break;
        }
    }
    Ok(PacketWalk {
        bytes_read: total,
        partial_tail: filled,
    })
}
