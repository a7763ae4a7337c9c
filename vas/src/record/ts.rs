//! MPEG-TS muxing (ISO/IEC 13818-1) of shared [`Frame`]s, for HLS segments.
//!
//! Owns everything below the segment: the program tables (PAT, PMT), PES packetization with
//! PTS, the PCR on the program clock PID, continuity counters per PID, adaptation-field
//! stuffing and the random-access flag. Video is H.264 (stream_type 0x1B) or H.265 (0x24),
//! rewritten from length-prefixed NAL units to Annex B by the private `annexb` module;
//! audio is AAC (0x0F) behind ADTS headers from [`super::adts`]. G.711 and Opus have no
//! HLS-compatible MPEG-TS mapping, so they are not carried: such frames are refused with
//! [`ErrorKind::Unsupported`] and a warning is logged once per codec.
//!
//! It is written by hand on purpose: no maintained Rust crate does this well. The TS crates
//! on crates.io are demuxers, unmaintained, or generic packetizers that leave out what HLS
//! recording needs around them (AVCC to Annex B, delimiters, parameter sets before
//! keyframes, ADTS from an AudioSpecificConfig, our PCR policy). The transport stream part
//! is a few hundred lines, checked against ffmpeg. One
//! call writes one frame into one caller-owned buffer; the only allocations are that
//! buffer's growth and a scratch buffer reused across frames.
//!
//! This module must never decide where segments start or end, never reorder or drop frames on
//! its own, never read a clock and never touch files: timestamps come in already mapped to the
//! output timeline (see [`super::segmenter`]).

use std::sync::Arc;

use bytes::{BufMut, BytesMut};

use super::adts::AdtsConfig;
use super::annexb;
use crate::media::{AudioCodec, AudioParams, Frame, Track, VideoCodec};
use crate::{Error, ErrorKind, Result};

/// Size of every transport stream packet.
pub const TS_PACKET_LEN: usize = 188;

/// Bytes after the 4-byte packet header (adaptation field plus payload).
const TS_BODY_LEN: usize = TS_PACKET_LEN - 4;

/// The transport stream packet sync byte.
pub const SYNC_BYTE: u8 = 0x47;

/// PID of the program association table.
pub const PAT_PID: u16 = 0x0000;

/// PID of our one program map table.
pub const PMT_PID: u16 = 0x1000;

/// PID of the video elementary stream (also the PCR PID when there is video).
pub const VIDEO_PID: u16 = 0x0100;

/// PID of the AAC audio elementary stream.
pub const AUDIO_PID: u16 = 0x0101;

/// The one program's number.
pub const PROGRAM_NUMBER: u16 = 1;

/// `transport_stream_id` written in the PAT.
const TRANSPORT_STREAM_ID: u16 = 1;

/// PMT stream_type for H.264.
pub const STREAM_TYPE_H264: u8 = 0x1B;

/// PMT stream_type for H.265.
pub const STREAM_TYPE_H265: u8 = 0x24;

/// PMT stream_type for AAC in ADTS.
pub const STREAM_TYPE_AAC_ADTS: u8 = 0x0F;

/// PES stream_id of the first video stream.
const STREAM_ID_VIDEO: u8 = 0xE0;

/// PES stream_id of the first audio stream.
const STREAM_ID_AUDIO: u8 = 0xC0;

/// How far the PCR runs behind the decode time of the frame it precedes (700 ms, the usual
/// muxer delay): the decoder's buffer allowance.
pub const PCR_DELAY_TICKS: i64 = 63_000;

/// The PCR is written with every video frame; when video is sparser than this (low frame
/// rates), audio frames trigger extra PCR-only packets so the PCR never lags by more than
/// this plus one audio frame (well within the 100 ms the standard asks), up to the latest
/// video frame's PTS (which it must not pass).
pub const PCR_REFRESH_TICKS: i64 = 4_500;

/// Largest video frame payload accepted (a 4K keyframe is a few MB).
pub const MAX_VIDEO_FRAME_BYTES: usize = 32 << 20;

/// PTS and PCR base are 33-bit counters.
pub const PTS_MODULUS: i64 = 1 << 33;

/// PES header we write: start code, stream_id, length, two flag bytes, header length, PTS.
const PES_HEADER_LEN: usize = 14;

/// Bytes of the PES header after the `PES_packet_length` field.
const PES_HEADER_AFTER_LENGTH: usize = PES_HEADER_LEN - 6;

/// PES flags: marker bits `10`, data_alignment_indicator (every PES starts an access unit).
const PES_FLAGS_ALIGNED: u8 = 0x84;

/// PES flags: PTS only (DTS is implied equal to PTS, as RTSP gives presentation times only).
const PES_FLAGS_PTS_ONLY: u8 = 0x80;

/// Adaptation field flags.
const AF_RANDOM_ACCESS: u8 = 0x40;
const AF_PCR: u8 = 0x10;

/// Length of an encoded PCR field.
const PCR_FIELD_LEN: usize = 6;

/// The stuffing byte.
const STUFFING: u8 = 0xFF;

/// PMT version numbers are 5 bits.
const VERSION_MODULUS: u8 = 32;

/// The AAC track the program carries, with its parsed ADTS fields.
#[derive(Debug, Clone)]
struct AudioTrack {
    params: Arc<AudioParams>,
    adts: AdtsConfig,
}

/// Writes frames as MPEG-TS packets for one program of at most one video and one AAC track.
///
/// The program grows as tracks appear (or can be declared up front with
/// [`TsMuxer::declare`]); each change bumps the PMT version. PAT and PMT are written before
/// the first frame, before every video keyframe and after [`TsMuxer::start_segment`].
#[derive(Debug)]
pub struct TsMuxer {
    video: Option<VideoCodec>,
    audio: Option<AudioTrack>,
    pmt_version: u8,
    tables_due: bool,
    cc: ContinuityCounters,
    last_pcr: Option<i64>,
    /// PTS of the latest video frame: audio-driven PCRs never pass it.
    last_video_pts: Option<i64>,
    /// Unsupported codecs already warned about.
    reported: Vec<AudioCodec>,
    /// Elementary stream bytes of the frame being written (reused; never shrinks).
    es: Vec<u8>,
}

impl Default for TsMuxer {
    fn default() -> Self {
        Self::new()
    }
}

impl TsMuxer {
    /// A muxer with an empty program; tables are written before the first frame.
    pub fn new() -> Self {
        TsMuxer {
            video: None,
            audio: None,
            pmt_version: 0,
            tables_due: true,
            cc: ContinuityCounters::default(),
            last_pcr: None,
            last_video_pts: None,
            reported: Vec::new(),
            es: Vec::new(),
        }
    }

    /// Whether frames of `track` can be carried (H.264, H.265 and AAC; not G.711 or Opus).
    pub fn carries(track: &Track) -> bool {
        match track {
            Track::Video(_) => true,
            Track::Audio(a) => a.codec == AudioCodec::Aac,
        }
    }

    /// Checks that `track` can be carried; for an unsupported codec logs a warning the first
    /// time and returns [`ErrorKind::Unsupported`].
    pub fn check_track(&mut self, track: &Track) -> Result<()> {
        match track {
            Track::Audio(a) if !Self::carries(track) => {
                if !self.reported.contains(&a.codec) {
                    self.reported.push(a.codec);
                    tracing::warn!(
                        codec = ?a.codec,
                        "audio codec cannot be carried in MPEG-TS/HLS; its frames are not recorded"
                    );
                }
                Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("{:?} audio is not carried in MPEG-TS", a.codec),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Adds `track` to the program before any of its frames, so the first PMT lists it.
    pub fn declare(&mut self, track: &Track) -> Result<()> {
        self.check_track(track)?;
        match track {
            Track::Video(p) => self.set_video(p.codec),
            Track::Audio(p) => {
                let adts = self.adts_config(p)?;
                self.set_audio(p, adts);
            }
        }
        Ok(())
    }

    /// Makes the next frame start with PAT and PMT (call at every segment start).
    pub fn start_segment(&mut self) {
        self.tables_due = true;
    }

    /// Appends `frame` as transport stream packets to `out`, with `pts` (90 kHz, any i64;
    /// written modulo 2^33) as its presentation time. Returns the bytes written, always a
    /// multiple of [`TS_PACKET_LEN`].
    ///
    /// Fails, writing nothing and changing no state but the program, for an unsupported
    /// codec, a video frame with no complete NAL unit, an unusable AAC config or a frame too
    /// large to carry.
    pub fn write_frame(&mut self, frame: &Frame, pts: i64, out: &mut BytesMut) -> Result<usize> {
        self.check_track(&frame.track)?;
        let start = out.len();
        let mut es = std::mem::take(&mut self.es);
        es.clear();
        let result = match &frame.track {
            Track::Video(params) => {
                if frame.data.len() > MAX_VIDEO_FRAME_BYTES {
                    Err(Error::new(
                        ErrorKind::TooLarge,
                        format!(
                            "video frame of {} bytes exceeds {MAX_VIDEO_FRAME_BYTES}",
                            frame.data.len()
                        ),
                    ))
                } else if annexb::write_access_unit(params, &frame.data, frame.keyframe, &mut es)
                    == 0
                {
                    Err(Error::new(
                        ErrorKind::Corrupt,
                        "video frame holds no complete NAL unit",
                    ))
                } else {
                    self.set_video(params.codec);
                    if frame.keyframe {
                        self.tables_due = true;
                    }
                    self.write_tables_if_due(out);
                    let pcr = (self.pcr_pid() == VIDEO_PID).then(|| self.advance_pcr(pts));
                    self.last_video_pts = Some(pts);
                    let cc = self.cc.get(VIDEO_PID);
                    write_pes(
                        out,
                        VIDEO_PID,
                        cc,
                        STREAM_ID_VIDEO,
                        pts,
                        frame.keyframe,
                        pcr,
                        &es,
                    );
                    Ok(())
                }
            }
            Track::Audio(params) => self.adts_config(params).and_then(|adts| {
                let header = adts.header(frame.data.len())?;
                es.extend_from_slice(&header);
                es.extend_from_slice(&frame.data);
                self.set_audio(params, adts);
                self.write_tables_if_due(out);
                let mut pcr = None;
                if self.pcr_pid() == AUDIO_PID {
                    pcr = Some(self.advance_pcr(pts));
                } else if let Some(value) = self.audio_driven_pcr(pts) {
                    let cc = self.cc.get(VIDEO_PID);
                    write_pcr_only(out, VIDEO_PID, *cc, value);
                }
                let cc = self.cc.get(AUDIO_PID);
                write_pes(out, AUDIO_PID, cc, STREAM_ID_AUDIO, pts, false, pcr, &es);
                Ok(())
            }),
        };
        self.es = es;
        result.map(|()| out.len() - start)
    }

    /// The PID carrying the program clock: video if the program has video, else audio.
    fn pcr_pid(&self) -> u16 {
        if self.video.is_none() && self.audio.is_some() {
            AUDIO_PID
        } else {
            VIDEO_PID
        }
    }

    /// The PCR for a PCR-only packet before an audio frame at `pts`, if the last PCR is
    /// `PCR_REFRESH_TICKS` old. It never passes the latest video PTS, so it cannot get ahead
    /// of the next video frame, however far audio leads.
    fn audio_driven_pcr(&mut self, pts: i64) -> Option<i64> {
        let last_video = self.last_video_pts?;
        let candidate = pts.saturating_sub(PCR_DELAY_TICKS).min(last_video);
        if self
            .last_pcr
            .is_some_and(|last| candidate.saturating_sub(last) < PCR_REFRESH_TICKS)
        {
            return None;
        }
        Some(self.advance_pcr(candidate.saturating_add(PCR_DELAY_TICKS)))
    }

    /// The PCR to write before a frame at `pts`: `PCR_DELAY_TICKS` earlier, never
    /// decreasing.
    fn advance_pcr(&mut self, pts: i64) -> i64 {
        let candidate = pts.saturating_sub(PCR_DELAY_TICKS);
        let pcr = self.last_pcr.map_or(candidate, |last| candidate.max(last));
        self.last_pcr = Some(pcr);
        pcr
    }

    fn adts_config(&mut self, params: &Arc<AudioParams>) -> Result<AdtsConfig> {
        match &self.audio {
            Some(a) if Arc::ptr_eq(&a.params, params) || *a.params == **params => Ok(a.adts),
            _ => AdtsConfig::from_params(params),
        }
    }

    fn set_video(&mut self, codec: VideoCodec) {
        if self.video != Some(codec) {
            self.video = Some(codec);
            self.program_changed();
        }
    }

    fn set_audio(&mut self, params: &Arc<AudioParams>, adts: AdtsConfig) {
        let added = self.audio.is_none();
        self.audio = Some(AudioTrack {
            params: params.clone(),
            adts,
        });
        if added {
            self.program_changed();
        }
    }

    fn program_changed(&mut self) {
        self.pmt_version = (self.pmt_version + 1) % VERSION_MODULUS;
        self.tables_due = true;
    }

    fn write_tables_if_due(&mut self, out: &mut BytesMut) {
        if !self.tables_due {
            return;
        }
        self.tables_due = false;

        let mut pat = SectionWriter::new(0x00, TRANSPORT_STREAM_ID, 0);
        pat.u16(PROGRAM_NUMBER);
        pat.pid(PMT_PID);
        write_section(out, PAT_PID, self.cc.get(PAT_PID), pat.finish());

        let mut pmt = SectionWriter::new(0x02, PROGRAM_NUMBER, self.pmt_version);
        pmt.pid(self.pcr_pid());
        pmt.u16(0xF000); // reserved bits, program_info_length = 0
        if let Some(codec) = self.video {
            pmt.stream(
                match codec {
                    VideoCodec::H264 => STREAM_TYPE_H264,
                    VideoCodec::H265 => STREAM_TYPE_H265,
                },
                VIDEO_PID,
            );
        }
        if self.audio.is_some() {
            pmt.stream(STREAM_TYPE_AAC_ADTS, AUDIO_PID);
        }
        write_section(out, PMT_PID, self.cc.get(PMT_PID), pmt.finish());
    }
}

/// The next continuity counter of each PID we write.
#[derive(Debug, Default)]
struct ContinuityCounters {
    pat: u8,
    pmt: u8,
    video: u8,
    audio: u8,
}

impl ContinuityCounters {
    fn get(&mut self, pid: u16) -> &mut u8 {
        match pid {
            PAT_PID => &mut self.pat,
            PMT_PID => &mut self.pmt,
            AUDIO_PID => &mut self.audio,
            _ => &mut self.video,
        }
    }
}

/// Builds one PSI section (long form) in a fixed buffer; a PMT with two streams is 32 bytes.
struct SectionWriter {
    buf: [u8; SECTION_CAPACITY],
    len: usize,
}

/// Room for the largest section we write (PAT or a two-stream PMT) with margin.
const SECTION_CAPACITY: usize = 64;

impl SectionWriter {
    fn new(table_id: u8, id: u16, version: u8) -> Self {
        let mut w = SectionWriter {
            buf: [0; SECTION_CAPACITY],
            len: 0,
        };
        w.u8(table_id);
        w.u16(0); // section_syntax_indicator and length, patched in finish()
        w.u16(id);
        w.u8(0xC1 | (version % VERSION_MODULUS) << 1); // reserved, version, current_next
        w.u8(0); // section_number
        w.u8(0); // last_section_number
        w
    }

    fn u8(&mut self, v: u8) {
        self.buf[self.len] = v;
        self.len += 1;
    }

    fn u16(&mut self, v: u16) {
        self.u8((v >> 8) as u8);
        self.u8(v as u8);
    }

    /// A 13-bit PID behind three reserved bits.
    fn pid(&mut self, pid: u16) {
        self.u16(0xE000 | (pid & 0x1FFF));
    }

    fn stream(&mut self, stream_type: u8, pid: u16) {
        self.u8(stream_type);
        self.pid(pid);
        self.u16(0xF000); // reserved bits, ES_info_length = 0
    }

    /// Patches the length, appends the CRC and returns the section.
    fn finish(&mut self) -> &[u8] {
        // Everything after the 3-byte header, CRC included; far below the 12-bit limit.
        let section_length = (self.len - 3 + 4) as u16;
        let [hi, lo] = (0xB000 | section_length).to_be_bytes();
        self.buf[1] = hi;
        self.buf[2] = lo;
        let crc = crc32_mpeg2(&self.buf[..self.len]);
        for b in crc.to_be_bytes() {
            self.u8(b);
        }
        &self.buf[..self.len]
    }
}

/// Writes a section as one packet: pointer field 0, the section, stuffing.
fn write_section(out: &mut BytesMut, pid: u16, cc: &mut u8, section: &[u8]) {
    out.reserve(TS_PACKET_LEN);
    put_packet_header(out, pid, true, false, true, cc);
    out.put_u8(0); // pointer_field
    out.put_slice(section);
    out.put_bytes(STUFFING, TS_BODY_LEN - 1 - section.len());
}

/// Writes an adaptation-field-only packet carrying a PCR (continuity counter not advanced).
fn write_pcr_only(out: &mut BytesMut, pid: u16, next_cc: u8, pcr: i64) {
    out.reserve(TS_PACKET_LEN);
    // Packets without payload repeat the counter of the previous packet on the PID.
    let mut cc = next_cc.wrapping_sub(1) & 0x0F;
    put_packet_header(out, pid, false, true, false, &mut cc);
    out.put_u8((TS_BODY_LEN - 1) as u8);
    out.put_u8(AF_PCR);
    put_pcr(out, pcr);
    out.put_bytes(STUFFING, TS_BODY_LEN - 2 - PCR_FIELD_LEN);
}

/// Writes one PES (header + `payload`) as transport stream packets.
#[allow(clippy::too_many_arguments)]
fn write_pes(
    out: &mut BytesMut,
    pid: u16,
    cc: &mut u8,
    stream_id: u8,
    pts: i64,
    random_access: bool,
    pcr: Option<i64>,
    payload: &[u8],
) {
    let mut header = [0u8; PES_HEADER_LEN];
    header[..3].copy_from_slice(&[0, 0, 1]);
    header[3] = stream_id;
    // 0 means "unbounded", allowed for video only; audio frames always fit.
    let pes_len = u16::try_from(PES_HEADER_AFTER_LENGTH + payload.len()).unwrap_or(0);
    header[4..6].copy_from_slice(&pes_len.to_be_bytes());
    header[6] = PES_FLAGS_ALIGNED;
    header[7] = PES_FLAGS_PTS_ONLY;
    header[8] = 5; // PES_header_data_length: the PTS
    header[9..14].copy_from_slice(&encode_pts(pts));

    let total = PES_HEADER_LEN + payload.len();
    out.reserve((total / (TS_BODY_LEN - 2 - PCR_FIELD_LEN) + 1) * TS_PACKET_LEN);

    let mut head: &[u8] = &header;
    let mut rest = payload;
    let mut first = true;
    while first || !head.is_empty() || !rest.is_empty() {
        let mut flags = 0u8;
        let mut fields = 0usize;
        if first && random_access {
            flags |= AF_RANDOM_ACCESS;
        }
        if first && pcr.is_some() {
            flags |= AF_PCR;
            fields += PCR_FIELD_LEN;
        }
        // Adaptation field size including its length byte (0 = no adaptation field).
        let mut af_len = if flags != 0 { 2 + fields } else { 0 };
        let room = TS_BODY_LEN - af_len;
        let take = room.min(head.len() + rest.len());
        af_len += room - take; // stuffing fills what the payload does not

        put_packet_header(out, pid, first, af_len > 0, true, cc);
        if af_len > 0 {
            // At most TS_BODY_LEN - 1 = 183.
            out.put_u8((af_len - 1) as u8);
            if af_len > 1 {
                out.put_u8(flags);
                if let Some(pcr) = pcr.filter(|_| first) {
                    put_pcr(out, pcr);
                }
                out.put_bytes(STUFFING, af_len - 2 - fields);
            }
        }
        let from_head = take.min(head.len());
        out.put_slice(&head[..from_head]);
        head = &head[from_head..];
        let from_rest = take - from_head;
        out.put_slice(&rest[..from_rest]);
        rest = &rest[from_rest..];
        first = false;
    }
}

/// Writes the 4-byte packet header, advancing `cc` if the packet has payload.
fn put_packet_header(
    out: &mut BytesMut,
    pid: u16,
    unit_start: bool,
    adaptation: bool,
    payload: bool,
    cc: &mut u8,
) {
    out.put_u8(SYNC_BYTE);
    let [hi, lo] = (pid & 0x1FFF).to_be_bytes();
    out.put_u8(if unit_start { 0x40 } else { 0 } | hi);
    out.put_u8(lo);
    let control = (u8::from(adaptation) << 5) | (u8::from(payload) << 4);
    out.put_u8(control | (*cc & 0x0F));
    if payload {
        *cc = (*cc + 1) & 0x0F;
    }
}

/// PTS field with the `0010` prefix (PTS only) and marker bits.
fn encode_pts(pts: i64) -> [u8; 5] {
    // rem_euclid keeps it in 0..2^33 for any input, negative included.
    let p = pts.rem_euclid(PTS_MODULUS) as u64;
    [
        0x20 | ((p >> 29) as u8 & 0x0E) | 1,
        (p >> 22) as u8,
        ((p >> 14) as u8 & 0xFE) | 1,
        (p >> 7) as u8,
        ((p << 1) as u8 & 0xFE) | 1,
    ]
}

/// PCR field: 33-bit base, 6 reserved bits, 9-bit extension (0).
fn put_pcr(out: &mut BytesMut, pcr: i64) {
    let base = pcr.rem_euclid(PTS_MODULUS) as u64;
    out.put_u8((base >> 25) as u8);
    out.put_u8((base >> 17) as u8);
    out.put_u8((base >> 9) as u8);
    out.put_u8((base >> 1) as u8);
    out.put_u8(((base as u8 & 1) << 7) | 0x7E);
    out.put_u8(0);
}

/// CRC-32/MPEG-2 lookup table (polynomial 0x04C11DB7, MSB first).
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 0x8000_0000 != 0 {
                (c << 1) ^ 0x04C1_1DB7
            } else {
                c << 1
            };
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32/MPEG-2 as PSI sections use it.
pub fn crc32_mpeg2(data: &[u8]) -> u32 {
    data.iter().fold(0xFFFF_FFFF, |crc, &b| {
        (crc << 8) ^ CRC_TABLE[usize::from((crc >> 24) as u8 ^ b)]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::VideoParams;
    use bytes::Bytes;

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32_mpeg2(b"123456789"), 0x0376_E6E7);
    }

    #[test]
    fn pts_encoding_round_trips_and_wraps() {
        let decode = |b: [u8; 5]| -> i64 {
            (i64::from(b[0] >> 1 & 7) << 30)
                | (i64::from(b[1]) << 22)
                | (i64::from(b[2] >> 1) << 15)
                | (i64::from(b[3]) << 7)
                | i64::from(b[4] >> 1)
        };
        for pts in [0, 1, 90_000, PTS_MODULUS - 1, 0x1_2345_6789] {
            assert_eq!(decode(encode_pts(pts)), pts);
        }
        assert_eq!(decode(encode_pts(PTS_MODULUS + 5)), 5);
        assert_eq!(decode(encode_pts(-1)), PTS_MODULUS - 1);
        assert_eq!(encode_pts(0)[0] & 0xF1, 0x21);
    }

    fn video_frame(len: usize, keyframe: bool) -> Frame {
        let mut data = Vec::new();
        crate::media::push_length_prefixed(&mut data, &vec![0x65; len]);
        Frame {
            track: Track::Video(Arc::new(VideoParams {
                codec: VideoCodec::H264,
                width: 16,
                height: 16,
                vps: None,
                sps: Bytes::from_static(&[0x67, 0x42]),
                pps: Bytes::from_static(&[0x68, 0xCE]),
                rfc6381_codec: String::new(),
            })),
            pts: 0,
            keyframe,
            data: data.into(),
            epoch: 0,
            wallclock: chrono::DateTime::UNIX_EPOCH,
        }
    }

    /// Every packet is 188 bytes with a sync byte, and every payload is exactly the PES.
    #[test]
    fn packet_sizes_and_stuffing_are_exact_for_every_length() {
        let mut mux = TsMuxer::new();
        let mut out = BytesMut::new();
        for len in (1..2000).step_by(7) {
            out.clear();
            let n = mux
                .write_frame(&video_frame(len, false), 200_000, &mut out)
                .unwrap();
            assert_eq!(n % TS_PACKET_LEN, 0);
            let mut payload = 0;
            for p in out.chunks(TS_PACKET_LEN) {
                assert_eq!(p[0], SYNC_BYTE);
                let pid = u16::from_be_bytes([p[1] & 0x1F, p[2]]);
                if pid != VIDEO_PID {
                    continue;
                }
                let af = if p[3] & 0x20 != 0 {
                    1 + usize::from(p[4])
                } else {
                    0
                };
                assert!(af <= TS_BODY_LEN);
                payload += TS_BODY_LEN - af;
            }
            // PES header + AUD (6) + start code + the unit.
            assert_eq!(payload, PES_HEADER_LEN + 6 + 4 + len, "len {len}");
        }
    }

    #[test]
    fn keyframe_packet_has_tables_rai_and_pcr() {
        let mut mux = TsMuxer::new();
        let mut out = BytesMut::new();
        mux.write_frame(&video_frame(10, false), 200_000, &mut out)
            .unwrap();
        out.clear();
        mux.write_frame(&video_frame(10, true), 203_600, &mut out)
            .unwrap();
        let pids: Vec<u16> = out
            .chunks(TS_PACKET_LEN)
            .map(|p| u16::from_be_bytes([p[1] & 0x1F, p[2]]))
            .collect();
        assert_eq!(pids, [PAT_PID, PMT_PID, VIDEO_PID]);
        let v = &out[2 * TS_PACKET_LEN..];
        assert_eq!(v[3] & 0x30, 0x30);
        assert_eq!(v[5], AF_RANDOM_ACCESS | AF_PCR);
        let base = (u64::from(v[6]) << 25)
            | (u64::from(v[7]) << 17)
            | (u64::from(v[8]) << 9)
            | (u64::from(v[9]) << 1)
            | u64::from(v[10] >> 7);
        assert_eq!(base as i64, 203_600 - PCR_DELAY_TICKS);
    }

    #[test]
    fn refused_frames_write_nothing() {
        let mut mux = TsMuxer::new();
        let mut out = BytesMut::new();
        let mut garbage = video_frame(1, true);
        garbage.data = Bytes::from_static(&[0, 0, 0, 9, 1]);
        assert_eq!(
            mux.write_frame(&garbage, 0, &mut out).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        let pcmu = Frame {
            track: Track::Audio(Arc::new(AudioParams {
                codec: AudioCodec::Pcmu,
                sample_rate: 8000,
                channels: 1,
                config: Bytes::new(),
            })),
            ..garbage
        };
        for _ in 0..3 {
            assert_eq!(
                mux.write_frame(&pcmu, 0, &mut out).unwrap_err().kind(),
                ErrorKind::Unsupported
            );
        }
        assert_eq!(mux.reported, [AudioCodec::Pcmu]);
        assert!(out.is_empty());
    }
}

#[cfg(test)]
mod doc_examples {
    /// How `record::ts::TsMuxer` is used.
    #[test]
    fn ts_muxer_example() -> Result<(), Box<dyn std::error::Error>> {
        use crate::media::{Frame, Track, VideoCodec, VideoParams};
        use crate::record::ts::{TS_PACKET_LEN, TsMuxer};
        use bytes::{Bytes, BytesMut};
        use std::sync::Arc;

        let params = Arc::new(VideoParams {
            codec: VideoCodec::H264,
            width: 640,
            height: 360,
            vps: None,
            sps: Bytes::from_static(&[0x67, 0x42, 0, 0x1e]),
            pps: Bytes::from_static(&[0x68, 0xce]),
            rfc6381_codec: "avc1.42001E".into(),
        });
        let frame = Frame {
            track: Track::Video(params),
            pts: 0,
            keyframe: true,
            data: Bytes::from_static(&[0, 0, 0, 3, 0x65, 0x88, 0x84]),
            epoch: 0,
            wallclock: chrono::Utc::now(),
        };
        let mut muxer = TsMuxer::new();
        let mut out = BytesMut::new();
        let written = muxer.write_frame(&frame, 126_000, &mut out)?;
        assert_eq!(written, 3 * TS_PACKET_LEN); // PAT, PMT, one video packet
        Ok(())
    }
}
