//! Reading one of our own MPEG-TS segments back into [`Frame`]s, for snapshots at a past time
//! and bookmark clips (see [`super::range`] for a time range across segments).
//!
//! Owns the reverse of [`super::ts::TsMuxer`]: PAT and PMT (which PID carries which codec),
//! PES reassembly with continuity checks, video access units from Annex B back to 4-byte
//! length-prefixed NAL units, ADTS back to raw AAC access units, [`VideoParams`] and
//! [`AudioParams`] rebuilt from what the stream carries, 33-bit timestamps unwrapped, and
//! wall-clock times from the segment's program date time. It relies on what our muxer
//! guarantees (PAT and PMT before any media, every PSI section in one packet, each frame's
//! packets contiguous, a PTS on every PES, one ADTS raw data block per frame) and reports
//! anything else as [`ErrorKind::Corrupt`]: a bad segment is damage on VAS's own disk, not
//! the caller's mistake. It must never panic, never hold more than one frame being
//! reassembled plus one read chunk, never read past its byte bound, and never write.
//!
//! What comes back, exactly:
//! * **Video**: one frame per PES. Access unit delimiters are dropped (the muxer writes its
//!   own); every other NAL unit is kept, in order, **including the in-band parameter sets**:
//!   the muxer puts VPS/SPS/PPS in front of every keyframe, so every keyframe read back
//!   carries them in-band, whether or not the recorded frame did (they are also in the
//!   frame's [`VideoParams`]). A frame is a keyframe when it holds an IDR slice (H.264 type
//!   5) or an IRAP picture (H.265 types 16..=23). Trailing zero bytes of a NAL unit cannot be
//!   told apart from the next start code and are dropped (a NAL unit ends in its stop bit;
//!   only `cabac_zero_words` padding is lost).
//! * **Parameters**: width and height come from the SPS (H.264 through `h264-reader`, H.265
//!   by the small parser here, cropping/conformance window applied); when an SPS cannot be
//!   read, from [`ReadOptions::fallback_dimensions`], else the segment is `Corrupt`. The
//!   same `Arc` is handed out while the parameter sets stay the same, also across segments
//!   through [`Continuity`]. Video frames before the first parameter sets (never in our
//!   segments, which start at a keyframe) are skipped and counted.
//! * **Audio** (AAC): one frame per ADTS frame, without its header; several in one PES get
//!   the PES's PTS plus 1024 samples each. The [`AudioParams`] config is the two-byte
//!   AudioSpecificConfig the ADTS header describes (an HE-AAC config comes back as its
//!   AAC-LC core, which is all ADTS carries).
//! * **Timestamps** are unwrapped from 33 bits onto one increasing `i64` timeline (continued
//!   across segments through [`Continuity::last_pts`]). **Wall-clock** times are the
//!   segment's start (its `#EXT-X-PROGRAM-DATE-TIME`, the wall-clock time of its first
//!   frame) plus the PTS offset from the first PES of the file. The epoch is
//!   [`Continuity::epoch`], as the caller sets it.

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};

use super::adts::AdtsConfig;
use super::ts::{
    MAX_VIDEO_FRAME_BYTES, PAT_PID, PTS_MODULUS, STREAM_TYPE_AAC_ADTS, STREAM_TYPE_H264,
    STREAM_TYPE_H265, crc32_mpeg2,
};
use super::ts_packet::{PES_LENGTH_PREFIX_LEN, Packet, PesHeader, for_each_packet};
use super::ts_scan::MAX_SCAN_BYTES;
use crate::media::{
    AudioCodec, AudioParams, CLOCK_RATE, Frame, Track, VideoCodec, VideoParams, h264_nal_type,
    h265_nal_type, push_length_prefixed,
};
use crate::{Error, ErrorKind, Result};

/// Most bytes of one segment file read by default (the recovery scanner's bound).
pub const MAX_READ_BYTES: u64 = MAX_SCAN_BYTES;

/// Largest video frame read back by default: what the muxer accepts.
pub const MAX_FRAME_BYTES: usize = MAX_VIDEO_FRAME_BYTES;

/// Room a video PES may take beyond [`ReadOptions::max_frame_bytes`]: start codes, the
/// delimiter and parameter sets the muxer adds in front of a keyframe.
const ANNEX_B_SLACK_BYTES: usize = 64 * 1024;

/// Samples in one AAC access unit (AAC-LC; the core layer of HE-AAC).
pub const AAC_SAMPLES_PER_FRAME: i64 = 1024;

/// PID of null packets (ignored).
const NULL_PID: u16 = 0x1FFF;

/// PSI `table_id`s.
const TABLE_ID_PAT: u8 = 0x00;
const TABLE_ID_PMT: u8 = 0x02;

/// Bytes of a long-form PSI section before its loop (table_id through last_section_number).
const SECTION_HEADER_LEN: usize = 8;

/// Bytes of a section up to and including `section_length`.
const SECTION_LENGTH_PREFIX_LEN: usize = 3;

/// Length of a section's CRC.
const SECTION_CRC_LEN: usize = 4;

/// Bytes per PAT program entry and per PMT stream entry (before its descriptors).
const PAT_ENTRY_LEN: usize = 4;
const PMT_ENTRY_LEN: usize = 5;

/// PIDs whose continuity counters are checked (PAT, PMT, video, audio).
const TRACKED_PIDS: usize = 4;

/// H.264 NAL unit types.
const H264_IDR: u8 = 5;
const H264_SPS: u8 = 7;
const H264_PPS: u8 = 8;
const H264_AUD: u8 = 9;

/// H.265 NAL unit types.
const H265_IRAP: std::ops::RangeInclusive<u8> = 16..=23;
const H265_VPS: u8 = 32;
const H265_SPS: u8 = 33;
const H265_PPS: u8 = 34;
const H265_AUD: u8 = 35;

/// Bytes of an H.265 NAL unit header (H.264's is one).
const H265_NAL_HEADER_LEN: usize = 2;

/// Microseconds per 90 kHz tick, as a fraction.
const MICROS_PER_SEC: i64 = 1_000_000;

/// Bounds and fallbacks for reading one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Most bytes read from the file; a longer file is refused with `TooLarge`.
    pub max_file_bytes: u64,
    /// Largest video frame (its length-prefixed payload); a larger one is `TooLarge`.
    pub max_frame_bytes: usize,
    /// Width and height to use when an SPS cannot be parsed (e.g. the stream's last known
    /// size); without it such a segment is `Corrupt`.
    pub fallback_dimensions: Option<(u32, u32)>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_file_bytes: MAX_READ_BYTES,
            max_frame_bytes: MAX_FRAME_BYTES,
            fallback_dimensions: None,
        }
    }
}

/// What carries over from one segment to the next of the same timeline: the epoch frames
/// are stamped with, the last timestamp (to keep unwrapping), and the current parameters
/// (so the same `Arc` is handed out and a segment could continue without in-band sets).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Continuity {
    /// The epoch given to every frame read.
    pub epoch: u32,
    /// The last unwrapped timestamp read, `None` at the start of a timeline.
    pub last_pts: Option<i64>,
    /// The current video parameters.
    pub video: Option<Arc<VideoParams>>,
    /// The current audio parameters.
    pub audio: Option<Arc<AudioParams>>,
}

impl Continuity {
    /// A new timeline with `epoch` (a new recording, or after a discontinuity).
    pub fn new(epoch: u32) -> Self {
        Continuity {
            epoch,
            ..Continuity::default()
        }
    }
}

/// What reading one segment found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentSummary {
    /// Bytes read from the file.
    pub bytes_read: u64,
    /// Video frames handed out.
    pub video_frames: u64,
    /// Audio frames handed out.
    pub audio_frames: u64,
    /// Video frames skipped because no parameter sets were known yet.
    pub skipped_video_frames: u64,
    /// Whether the callback asked to stop before the end of the file.
    pub stopped: bool,
}

/// Reads one segment from `reader`, handing every frame to `on_frame` in file order until it
/// returns `false` (stop: the rest of the file is not read). `start` is the segment's
/// wall-clock start (its program date time); `carry` gives the epoch and what the previous
/// segment of the same timeline left, and is updated to what this one leaves.
///
/// Errors: `Corrupt` for anything our muxer does not write (see the module docs), with the
/// byte offset; `TooLarge` past [`ReadOptions::max_file_bytes`] or for a frame past
/// [`ReadOptions::max_frame_bytes`]; the reader's I/O errors; and whatever `on_frame`
/// returns. On error, `carry` is left as it was.
pub fn read_segment(
    reader: &mut dyn Read,
    start: DateTime<Utc>,
    carry: &mut Continuity,
    options: &ReadOptions,
    on_frame: &mut dyn FnMut(Frame) -> Result<bool>,
) -> Result<SegmentSummary> {
    let mut seg = SegmentReader::new(start, carry.clone(), *options);
    let mut ready = Vec::new();
    let mut failure = None;
    let mut stopped = false;
    let mut deliver = |ready: &mut Vec<Frame>, stopped: &mut bool| -> Result<()> {
        for frame in ready.drain(..) {
            if !*stopped && !on_frame(frame)? {
                *stopped = true;
            }
        }
        Ok(())
    };
    // One byte past the bound tells a file that is too long from one exactly at it.
    let walk = for_each_packet(reader, options.max_file_bytes.saturating_add(1), |p| {
        if seg.offset >= options.max_file_bytes {
            return false;
        }
        let step = seg
            .push_packet(p, &mut ready)
            .and_then(|()| deliver(&mut ready, &mut stopped));
        match step {
            Ok(()) => !stopped,
            Err(e) => {
                failure = Some(e);
                false
            }
        }
    })
    .map_err(|e| Error::from(e).context("cannot read a segment"))?;
    if let Some(e) = failure {
        return Err(e);
    }
    let mut summary = seg.summary.clone();
    summary.bytes_read = walk.bytes_read;
    if stopped {
        summary.stopped = true;
        *carry = seg.carry;
        return Ok(summary);
    }
    if walk.bytes_read > options.max_file_bytes {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!(
                "segment is longer than {} bytes, the most read back",
                options.max_file_bytes
            ),
        ));
    }
    if walk.partial_tail != 0 {
        return Err(corrupt(
            seg.offset,
            "the file ends inside a transport stream packet",
        ));
    }
    seg.finish(&mut ready)?;
    deliver(&mut ready, &mut stopped)?;
    summary = seg.summary.clone();
    summary.bytes_read = walk.bytes_read;
    summary.stopped = stopped;
    *carry = seg.carry;
    Ok(summary)
}

/// Reads a whole segment held in memory: every frame, on a new timeline of epoch 0 (the
/// shape tests and the fuzz target use). See [`read_segment`].
#[cfg(any(test, feature = "_internal_test_exports"))]
pub fn read_segment_bytes(
    data: &[u8],
    start: DateTime<Utc>,
    options: &ReadOptions,
) -> Result<Vec<Frame>> {
    let mut frames = Vec::new();
    let mut carry = Continuity::default();
    read_segment(&mut &data[..], start, &mut carry, options, &mut |f| {
        frames.push(f);
        Ok(true)
    })?;
    Ok(frames)
}

fn corrupt(offset: u64, what: &str) -> Error {
    Error::new(
        ErrorKind::Corrupt,
        format!("segment is damaged at byte {offset}: {what}"),
    )
}

/// The elementary streams the PMT names.
#[derive(Debug, Clone, Copy, Default)]
struct Program {
    pmt_pid: Option<u16>,
    /// Whether a PMT was read (media may follow).
    mapped: bool,
    video: Option<(u16, VideoCodec)>,
    audio: Option<u16>,
}

/// A PES being reassembled.
#[derive(Debug)]
struct OpenPes {
    pid: u16,
    video: bool,
    /// Offset of its first packet.
    start: u64,
    pts: Option<i64>,
    /// Elementary stream bytes still to come, `None` when unbounded (ends with the next
    /// packet that is not its own, or the end of the file).
    left: Option<usize>,
    data: Vec<u8>,
}

/// The packet-at-a-time core of [`read_segment`].
#[derive(Debug)]
struct SegmentReader {
    start: DateTime<Utc>,
    options: ReadOptions,
    carry: Continuity,
    /// Unwrapped PTS of the first PES: the frame shown at `start`.
    reference_pts: Option<i64>,
    offset: u64,
    program: Program,
    continuity: [Option<(u16, u8)>; TRACKED_PIDS],
    open: Option<OpenPes>,
    /// A reassembly buffer kept between frames.
    spare: Vec<u8>,
    summary: SegmentSummary,
}

impl SegmentReader {
    fn new(start: DateTime<Utc>, carry: Continuity, options: ReadOptions) -> Self {
        SegmentReader {
            start,
            options,
            carry,
            reference_pts: None,
            offset: 0,
            program: Program::default(),
            continuity: [None; TRACKED_PIDS],
            open: None,
            spare: Vec::new(),
            summary: SegmentSummary::default(),
        }
    }

    fn corrupt(&self, what: &str) -> Error {
        corrupt(self.offset, what)
    }

    fn push_packet(&mut self, p: &[u8], out: &mut Vec<Frame>) -> Result<()> {
        let Some(pkt) = Packet::parse(p) else {
            return Err(self.corrupt("not a transport stream packet"));
        };
        let result = self.handle(&pkt, out);
        self.offset += p.len() as u64;
        result
    }

    fn handle(&mut self, pkt: &Packet<'_>, out: &mut Vec<Frame>) -> Result<()> {
        if pkt.pid == NULL_PID || !pkt.has_payload {
            // PCR-only and null packets carry nothing; they do not end a PES either.
            return Ok(());
        }
        self.check_continuity(pkt)?;
        let media = match self.program.video {
            Some((pid, _)) if pid == pkt.pid => true,
            _ => self.program.audio == Some(pkt.pid),
        };
        let own = self.open.as_ref().is_some_and(|o| o.pid == pkt.pid);
        if pkt.unit_start || !own {
            // Another PES or section starts, or another PID's data: what is open ends here.
            if let Some(open) = self.open.take() {
                if open.left.is_some_and(|l| l > 0) {
                    return Err(corrupt(open.start, "a PES ends before its declared length"));
                }
                self.complete(open, out)?;
            }
        }
        if pkt.pid == PAT_PID {
            return self.read_pat(pkt);
        }
        if Some(pkt.pid) == self.program.pmt_pid {
            return self.read_pmt(pkt);
        }
        if !self.program.mapped {
            return Err(self.corrupt("media before the PAT and PMT"));
        }
        if !media {
            return Ok(()); // a stream the PMT does not name as ours
        }
        if pkt.unit_start {
            self.start_pes(pkt)
        } else if own {
            self.continue_pes(pkt.payload, out)
        } else {
            Err(self.corrupt("PES data without a PES start"))
        }
    }

    fn check_continuity(&mut self, pkt: &Packet<'_>) -> Result<()> {
        let tracked = pkt.pid == PAT_PID
            || Some(pkt.pid) == self.program.pmt_pid
            || self.program.video.is_some_and(|(pid, _)| pid == pkt.pid)
            || self.program.audio == Some(pkt.pid);
        if !tracked {
            return Ok(());
        }
        for slot in &mut self.continuity {
            match slot {
                Some((pid, cc)) if *pid == pkt.pid => {
                    if pkt.continuity != (*cc + 1) & 0x0F {
                        return Err(corrupt(
                            self.offset,
                            &format!("a packet of PID {:#x} is missing", pkt.pid),
                        ));
                    }
                    *cc = pkt.continuity;
                    return Ok(());
                }
                Some(_) => {}
                None => {
                    *slot = Some((pkt.pid, pkt.continuity));
                    return Ok(());
                }
            }
        }
        // More PIDs than ours changed roles (PMT versions): start counting afresh.
        self.continuity = [None; TRACKED_PIDS];
        self.continuity[0] = Some((pkt.pid, pkt.continuity));
        Ok(())
    }

    /// The loop of the one-packet PSI section with `table_id` in `pkt` (CRC checked).
    fn section<'p>(&self, pkt: &Packet<'p>, table_id: u8) -> Result<&'p [u8]> {
        if !pkt.unit_start {
            return Err(self.corrupt("a table section spans packets"));
        }
        let payload = pkt.payload;
        let pointer = usize::from(*payload.first().unwrap_or(&0));
        let Some(section) = payload.get(1 + pointer..) else {
            return Err(self.corrupt("a table's pointer field points past its packet"));
        };
        if section.len() < SECTION_LENGTH_PREFIX_LEN || section[0] != table_id {
            return Err(self.corrupt("a table has the wrong table id"));
        }
        let length = usize::from(u16::from_be_bytes([section[1] & 0x0F, section[2]]));
        let total = SECTION_LENGTH_PREFIX_LEN + length;
        if total > section.len() {
            return Err(self.corrupt("a table section spans packets"));
        }
        if total < SECTION_HEADER_LEN + SECTION_CRC_LEN {
            return Err(self.corrupt("a table section is too short"));
        }
        // The CRC over a whole section, its own CRC included, is zero.
        if crc32_mpeg2(&section[..total]) != 0 {
            return Err(self.corrupt("a table section fails its CRC"));
        }
        Ok(&section[SECTION_HEADER_LEN..total - SECTION_CRC_LEN])
    }

    fn read_pat(&mut self, pkt: &Packet<'_>) -> Result<()> {
        let entries = self.section(pkt, TABLE_ID_PAT)?;
        let pmt = entries
            .chunks_exact(PAT_ENTRY_LEN)
            .find(|e| u16::from_be_bytes([e[0], e[1]]) != 0)
            .map(|e| u16::from_be_bytes([e[2] & 0x1F, e[3]]));
        let Some(pmt) = pmt else {
            return Err(self.corrupt("the PAT names no program"));
        };
        if self.program.pmt_pid != Some(pmt) {
            self.program = Program {
                pmt_pid: Some(pmt),
                ..Program::default()
            };
        }
        Ok(())
    }

    fn read_pmt(&mut self, pkt: &Packet<'_>) -> Result<()> {
        let body = self.section(pkt, TABLE_ID_PMT)?;
        let bad = || corrupt(self.offset, "the PMT is malformed");
        let info_len = body
            .get(2..4)
            .map(|b| usize::from(u16::from_be_bytes([b[0] & 0x0F, b[1]])))
            .ok_or_else(bad)?;
        let mut rest = body.get(4 + info_len..).ok_or_else(bad)?;
        let (mut video, mut audio) = (None, None);
        while !rest.is_empty() {
            let e = rest.get(..PMT_ENTRY_LEN).ok_or_else(bad)?;
            let pid = u16::from_be_bytes([e[1] & 0x1F, e[2]]);
            let es_info = usize::from(u16::from_be_bytes([e[3] & 0x0F, e[4]]));
            match e[0] {
                STREAM_TYPE_H264 if video.is_none() => video = Some((pid, VideoCodec::H264)),
                STREAM_TYPE_H265 if video.is_none() => video = Some((pid, VideoCodec::H265)),
                STREAM_TYPE_AAC_ADTS if audio.is_none() => audio = Some(pid),
                _ => {}
            }
            rest = rest.get(PMT_ENTRY_LEN + es_info..).ok_or_else(bad)?;
        }
        self.program.video = video;
        self.program.audio = audio;
        self.program.mapped = true;
        Ok(())
    }

    fn start_pes(&mut self, pkt: &Packet<'_>) -> Result<()> {
        let Some(header) = PesHeader::parse(pkt.payload) else {
            return Err(self.corrupt("a PES header is malformed"));
        };
        let Some(data) = pkt.payload.get(header.data_offset..) else {
            return Err(self.corrupt("a PES header runs past its packet"));
        };
        let left = if header.declared == 0 {
            None
        } else {
            let header_after_length = header.data_offset - PES_LENGTH_PREFIX_LEN;
            match header.declared.checked_sub(header_after_length) {
                Some(l) => Some(l),
                None => return Err(self.corrupt("a PES is shorter than its header")),
            }
        };
        let pts = header.pts.map(|p| self.unwrap_pts(p));
        if self.reference_pts.is_none() {
            self.reference_pts = pts;
        }
        let mut buf = std::mem::take(&mut self.spare);
        buf.clear();
        self.open = Some(OpenPes {
            pid: pkt.pid,
            video: self.program.video.is_some_and(|(pid, _)| pid == pkt.pid),
            start: self.offset,
            pts,
            left,
            data: buf,
        });
        self.append(data)
    }

    fn continue_pes(&mut self, payload: &[u8], out: &mut Vec<Frame>) -> Result<()> {
        self.append(payload)?;
        if let Some(open) = self.open.take_if(|o| o.left == Some(0)) {
            self.complete(open, out)?;
        }
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) -> Result<()> {
        let limit = self
            .options
            .max_frame_bytes
            .saturating_add(ANNEX_B_SLACK_BYTES);
        let offset = self.offset;
        let Some(open) = self.open.as_mut() else {
            return Err(corrupt(offset, "PES data without a PES start"));
        };
        if let Some(left) = open.left.as_mut() {
            if bytes.len() > *left {
                return Err(corrupt(offset, "a PES is longer than its declared length"));
            }
            *left -= bytes.len();
        }
        if open.data.len() + bytes.len() > limit {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "a frame in the segment exceeds {} bytes, the most read back",
                    self.options.max_frame_bytes
                ),
            ));
        }
        open.data.extend_from_slice(bytes);
        Ok(())
    }

    /// Ends the file: an unbounded PES still open is complete; a bounded one is cut short.
    fn finish(&mut self, out: &mut Vec<Frame>) -> Result<()> {
        if let Some(open) = self.open.take() {
            if open.left.is_some_and(|l| l > 0) {
                return Err(corrupt(open.start, "the file ends inside a PES"));
            }
            self.complete(open, out)?;
        }
        if !self.program.mapped {
            return Err(self.corrupt("the file has no PAT and PMT"));
        }
        Ok(())
    }

    /// Puts `pts` (33 bits) on the unwrapped timeline, next to the last timestamp read.
    fn unwrap_pts(&mut self, pts: i64) -> i64 {
        let unwrapped = match self.carry.last_pts {
            None => pts,
            Some(last) => {
                let mut step = (pts - last).rem_euclid(PTS_MODULUS);
                if step >= PTS_MODULUS / 2 {
                    step -= PTS_MODULUS;
                }
                last.saturating_add(step)
            }
        };
        self.carry.last_pts = Some(unwrapped);
        unwrapped
    }

    fn wallclock(&self, pts: i64) -> DateTime<Utc> {
        let ticks = pts.saturating_sub(self.reference_pts.unwrap_or(pts));
        let micros = ticks.saturating_mul(MICROS_PER_SEC) / i64::from(CLOCK_RATE);
        self.start
            .checked_add_signed(TimeDelta::microseconds(micros))
            .unwrap_or(self.start)
    }

    fn complete(&mut self, open: OpenPes, out: &mut Vec<Frame>) -> Result<()> {
        let Some(pts) = open.pts else {
            return Err(corrupt(open.start, "a PES has no timestamp"));
        };
        let result = if open.video {
            self.complete_video(&open, pts, out)
        } else {
            self.complete_audio(&open, pts, out)
        };
        self.spare = open.data;
        result
    }

    fn complete_video(&mut self, open: &OpenPes, pts: i64, out: &mut Vec<Frame>) -> Result<()> {
        let Some((_, codec)) = self.program.video else {
            return Ok(());
        };
        let units = split_annex_b(&open.data)
            .ok_or_else(|| corrupt(open.start, "a video PES does not start with a start code"))?;
        let (aud, sps_type, pps_type) = match codec {
            VideoCodec::H264 => (H264_AUD, H264_SPS, H264_PPS),
            VideoCodec::H265 => (H265_AUD, H265_SPS, H265_PPS),
        };
        let nal_type = |u: &[u8]| match codec {
            VideoCodec::H264 => h264_nal_type(u),
            VideoCodec::H265 => h265_nal_type(u),
        };
        let (mut vps, mut sps, mut pps) = (None, None, None);
        let mut keyframe = false;
        let mut data = Vec::with_capacity(open.data.len());
        for unit in units {
            let Some(t) = nal_type(unit) else { continue };
            if t == aud {
                continue;
            }
            if t == sps_type {
                sps = Some(unit);
            } else if t == pps_type {
                pps = Some(unit);
            } else if codec == VideoCodec::H265 && t == H265_VPS {
                vps = Some(unit);
            }
            keyframe |= match codec {
                VideoCodec::H264 => t == H264_IDR,
                VideoCodec::H265 => H265_IRAP.contains(&t),
            };
            push_length_prefixed(&mut data, unit);
        }
        if data.is_empty() {
            return Err(corrupt(open.start, "a video PES holds no NAL unit"));
        }
        if data.len() > self.options.max_frame_bytes {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "a video frame of {} bytes exceeds {}, the most read back",
                    data.len(),
                    self.options.max_frame_bytes
                ),
            ));
        }
        let Some(params) = self.video_params(codec, vps, sps, pps, open.start)? else {
            self.summary.skipped_video_frames += 1;
            return Ok(());
        };
        self.summary.video_frames += 1;
        out.push(Frame {
            track: Track::Video(params),
            pts,
            keyframe,
            data: Bytes::from(data),
            epoch: self.carry.epoch,
            wallclock: self.wallclock(pts),
        });
        Ok(())
    }

    /// The parameters for a frame carrying `vps`/`sps`/`pps` (any of them may be absent:
    /// the current ones fill in); `None` while some set has never been seen.
    fn video_params(
        &mut self,
        codec: VideoCodec,
        vps: Option<&[u8]>,
        sps: Option<&[u8]>,
        pps: Option<&[u8]>,
        at: u64,
    ) -> Result<Option<Arc<VideoParams>>> {
        let current = self.carry.video.as_ref().filter(|p| p.codec == codec);
        if let Some(cur) = current {
            let same = |new: Option<&[u8]>, old: Option<&Bytes>| {
                new.is_none_or(|n| old.is_some_and(|o| o[..] == *n))
            };
            if same(vps, cur.vps.as_ref()) && same(sps, Some(&cur.sps)) && same(pps, Some(&cur.pps))
            {
                return Ok(Some(cur.clone()));
            }
        }
        let pick = |new: Option<&[u8]>, old: Option<&Bytes>| {
            new.map(Bytes::copy_from_slice).or_else(|| old.cloned())
        };
        let vps = match codec {
            VideoCodec::H264 => None,
            VideoCodec::H265 => match pick(vps, current.and_then(|c| c.vps.as_ref())) {
                Some(v) => Some(v),
                None => return Ok(None),
            },
        };
        let (Some(sps), Some(pps)) = (
            pick(sps, current.map(|c| &c.sps)),
            pick(pps, current.map(|c| &c.pps)),
        ) else {
            return Ok(None);
        };
        let parsed = match codec {
            VideoCodec::H264 => h264_sps_info(&sps),
            VideoCodec::H265 => h265_sps_info(&sps),
        };
        let (width, height, rfc6381_codec) = match (parsed, self.options.fallback_dimensions) {
            (Some(info), _) => info,
            (None, Some((w, h))) => (w, h, fallback_codec_string(codec, &sps)),
            (None, None) => return Err(corrupt(at, "a sequence parameter set cannot be read")),
        };
        let params = Arc::new(VideoParams {
            codec,
            width,
            height,
            vps,
            sps,
            pps,
            rfc6381_codec,
        });
        self.carry.video = Some(params.clone());
        Ok(Some(params))
    }

    fn complete_audio(&mut self, open: &OpenPes, pts: i64, out: &mut Vec<Frame>) -> Result<()> {
        let mut rest = &open.data[..];
        let mut index: i64 = 0;
        while !rest.is_empty() {
            let adts =
                AdtsConfig::parse_header(rest).map_err(|e| corrupt(open.start, e.message()))?;
            let params = self.audio_params(&adts.config);
            let offset = index * AAC_SAMPLES_PER_FRAME * i64::from(CLOCK_RATE)
                / i64::from(params.sample_rate);
            let frame_pts = pts.saturating_add(offset);
            out.push(Frame {
                track: Track::Audio(params),
                pts: frame_pts,
                keyframe: true,
                data: Bytes::copy_from_slice(&rest[adts.header_len..adts.frame_len]),
                epoch: self.carry.epoch,
                wallclock: self.wallclock(frame_pts),
            });
            self.summary.audio_frames += 1;
            rest = &rest[adts.frame_len..];
            index += 1;
        }
        if index == 0 {
            return Err(corrupt(open.start, "an audio PES holds no ADTS frame"));
        }
        Ok(())
    }

    fn audio_params(&mut self, adts: &AdtsConfig) -> Arc<AudioParams> {
        let config = adts.audio_specific_config();
        if let Some(cur) = &self.carry.audio
            && cur.sample_rate == adts.sample_rate()
            && cur.channels == adts.channels()
            && cur.config[..] == config
        {
            return cur.clone();
        }
        let params = Arc::new(AudioParams {
            codec: AudioCodec::Aac,
            sample_rate: adts.sample_rate(),
            channels: adts.channels(),
            config: Bytes::copy_from_slice(&config),
        });
        self.carry.audio = Some(params.clone());
        params
    }
}

/// The NAL units of an Annex B access unit (start codes and trailing zero bytes removed,
/// empty units skipped); `None` when anything but zero bytes comes before the first start
/// code, or there is none.
fn split_annex_b(data: &[u8]) -> Option<Vec<&[u8]>> {
    let first = find_start_code(data, 0)?;
    if data[..first].iter().any(|&b| b != 0) {
        return None;
    }
    let mut units = Vec::new();
    let mut pos = first + 3;
    loop {
        let next = find_start_code(data, pos);
        let unit = trim_trailing_zeros(&data[pos..next.unwrap_or(data.len())]);
        if !unit.is_empty() {
            units.push(unit);
        }
        match next {
            Some(n) => pos = n + 3,
            None => return Some(units),
        }
    }
}

/// Where the next `00 00 01` at or after `from` starts.
fn find_start_code(data: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 3 <= data.len() {
        if data[i + 2] > 1 {
            // No start code can begin at i, i + 1 or i + 2.
            i += 3;
        } else if data[i + 2] == 1 && data[i] == 0 && data[i + 1] == 0 {
            return Some(i);
        } else {
            i += 1;
        }
    }
    None
}

fn trim_trailing_zeros(unit: &[u8]) -> &[u8] {
    let end = unit.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &unit[..end]
}

/// A NAL unit's payload with emulation prevention bytes (`00 00 03`) removed.
fn unescape(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len());
    let mut zeros = 0;
    for &b in payload {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// Width, height and RFC 6381 codec string of an H.264 SPS (NAL header included).
fn h264_sps_info(sps: &[u8]) -> Option<(u32, u32, String)> {
    let rbsp = unescape(sps.get(1..)?);
    let parsed = h264_reader::nal::sps::SeqParameterSet::from_bits(
        h264_reader::rbsp::BitReader::new(&rbsp[..]),
    )
    .ok()?;
    let (w, h) = parsed.pixel_dimensions().ok()?;
    if w == 0 || h == 0 {
        return None;
    }
    Some((w, h, h264_codec_string(&rbsp)?))
}

fn h264_codec_string(rbsp: &[u8]) -> Option<String> {
    let b = rbsp.get(..3)?;
    Some(format!("avc1.{:02X}{:02X}{:02X}", b[0], b[1], b[2]))
}

/// The codec string when the SPS could not be parsed: what its first bytes say, or the
/// bare codec name.
fn fallback_codec_string(codec: VideoCodec, sps: &[u8]) -> String {
    match codec {
        VideoCodec::H264 => sps
            .get(1..)
            .and_then(|p| h264_codec_string(&unescape(p)))
            .unwrap_or_else(|| "avc1".into()),
        VideoCodec::H265 => "hvc1".into(),
    }
}

/// Big-endian bit fields of an RBSP; `None` once it runs out.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn bits(&mut self, n: u32) -> Option<u64> {
        let mut v = 0u64;
        for _ in 0..n {
            let byte = *self.data.get(self.pos / 8)?;
            v = (v << 1) | u64::from((byte >> (7 - self.pos % 8)) & 1);
            self.pos += 1;
        }
        Some(v)
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.pos = self.pos.checked_add(n)?;
        (self.pos <= self.data.len() * 8).then_some(())
    }

    /// An unsigned Exp-Golomb value (at most 31 leading zeros).
    fn ue(&mut self) -> Option<u64> {
        let mut zeros = 0;
        while self.bits(1)? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        Some((1u64 << zeros) - 1 + self.bits(zeros)?)
    }
}

/// Bits of the general (and each sub-layer's) profile fields in `profile_tier_level`.
const H265_PROFILE_BITS: usize = 88;
/// Bits of a level field.
const H265_LEVEL_BITS: usize = 8;
/// Sub-layer slots `profile_tier_level` always reserves.
const H265_MAX_SUB_LAYERS: u64 = 8;

/// Width, height (conformance window applied) and RFC 6381 codec string of an H.265 SPS
/// (NAL header included), from the fields before any that need more than this.
fn h265_sps_info(sps: &[u8]) -> Option<(u32, u32, String)> {
    let rbsp = unescape(sps.get(H265_NAL_HEADER_LEN..)?);
    let mut r = Bits {
        data: &rbsp,
        pos: 0,
    };
    r.bits(4)?; // sps_video_parameter_set_id
    let max_sub_layers_minus1 = r.bits(3)?;
    r.bits(1)?; // sps_temporal_id_nesting_flag
    // profile_tier_level(1, sps_max_sub_layers_minus1)
    let profile_space = r.bits(2)?;
    let tier = r.bits(1)?;
    let profile_idc = r.bits(5)?;
    let compatibility = r.bits(32)? as u32;
    let mut constraints = [0u8; 6];
    for c in &mut constraints {
        *c = r.bits(8)? as u8;
    }
    let level_idc = r.bits(8)?;
    let mut sub_layers = Vec::new();
    for _ in 0..max_sub_layers_minus1 {
        sub_layers.push((r.bits(1)? == 1, r.bits(1)? == 1));
    }
    if max_sub_layers_minus1 > 0 {
        for _ in max_sub_layers_minus1..H265_MAX_SUB_LAYERS {
            r.bits(2)?; // reserved_zero_2bits
        }
    }
    for (profile, level) in sub_layers {
        if profile {
            r.skip(H265_PROFILE_BITS)?;
        }
        if level {
            r.skip(H265_LEVEL_BITS)?;
        }
    }
    r.ue()?; // sps_seq_parameter_set_id
    let chroma_format_idc = r.ue()?;
    let separate_colour_plane = chroma_format_idc == 3 && r.bits(1)? == 1;
    let width = r.ue()?;
    let height = r.ue()?;
    let (mut crop_w, mut crop_h) = (0, 0);
    if r.bits(1)? == 1 {
        let (left, right, top, bottom) = (r.ue()?, r.ue()?, r.ue()?, r.ue()?);
        // SubWidthC and SubHeightC (H.265 table 6-1); 1 for monochrome, 4:4:4 and separate
        // colour planes.
        let (sub_w, sub_h) = match (chroma_format_idc, separate_colour_plane) {
            (1, _) => (2, 2),
            (2, _) => (2, 1),
            _ => (1, 1),
        };
        crop_w = (left + right).checked_mul(sub_w)?;
        crop_h = (top + bottom).checked_mul(sub_h)?;
    }
    let width = u32::try_from(width.checked_sub(crop_w)?).ok()?;
    let height = u32::try_from(height.checked_sub(crop_h)?).ok()?;
    if width == 0 || height == 0 {
        return None;
    }
    // ISO/IEC 14496-15 annex E: profile space and profile, compatibility flags in reverse
    // bit order, tier and level, constraint bytes without trailing zero bytes.
    let space = ["", "A", "B", "C"][profile_space as usize];
    let mut codec = format!(
        "hvc1.{space}{profile_idc}.{:X}.{}{level_idc}",
        compatibility.reverse_bits(),
        if tier == 1 { 'H' } else { 'L' },
    );
    let kept = constraints
        .iter()
        .rposition(|&c| c != 0)
        .map_or(0, |i| i + 1);
    for c in &constraints[..kept] {
        codec.push_str(&format!(".{c:X}"));
    }
    Some((width, height, codec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annex_b_splits_on_three_and_four_byte_start_codes() {
        let data = [
            0, 0, 0, 1, 0x09, 0xF0, 0, 0, 1, 0x65, 1, 0, 2, 0, 0, 0, 1, 0x41, 7, 0,
        ];
        let units = split_annex_b(&data).unwrap();
        assert_eq!(units, vec![&[0x09, 0xF0][..], &[0x65, 1, 0, 2], &[0x41, 7]]);
        assert!(split_annex_b(&[1, 0, 0, 1, 0x65]).is_none());
        assert!(split_annex_b(&[0x65, 0x88]).is_none());
        assert_eq!(split_annex_b(&[0, 0, 1]).unwrap(), Vec::<&[u8]>::new());
    }

    #[test]
    fn emulation_prevention_is_removed() {
        assert_eq!(
            unescape(&[0, 0, 3, 1, 0, 0, 3, 0, 3]),
            [0, 0, 1, 0, 0, 0, 3]
        );
    }

    #[test]
    fn h265_sps_gives_size_and_codec_string() {
        // libx265, Main profile, level 2 (60), 322x182 (a conformance window crops 8x16).
        let sps = hex(
            "42010101600000030090000003000003003ca00a480b9c9596566924caf0168080000003008000000504",
        );
        let (w, h, codec) = h265_sps_info(&sps).unwrap();
        assert_eq!((w, h), (322, 182));
        assert_eq!(codec, "hvc1.1.6.L60.90");
        // libx265, Rext 4:4:4, 322x180.
        let sps = hex(
            "4201010408000003009e0800000300003c90014901739e5cb2b349265780b7020200040000030004000003002820",
        );
        assert_eq!(h265_sps_info(&sps).unwrap().0, 322);
        assert_eq!(h265_sps_info(&sps).unwrap().1, 180);
        // Cut anywhere: no size, no panic.
        for n in 0..sps.len() - 8 {
            let _ = h265_sps_info(&sps[..n]);
        }
        assert!(h265_sps_info(&sps[..12]).is_none());
    }

    #[test]
    fn sps_parsers_never_panic_on_noise() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for round in 0..3000 {
            let len = 1 + round % 40;
            let mut sps: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            sps[0] = 0x67;
            let _ = h264_sps_info(&sps);
            sps[0] = 0x42;
            let _ = h265_sps_info(&sps);
        }
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}

/// Round trips through the real muxer, with real H.264 from OpenH264, and damage.
#[cfg(test)]
mod round_trip {
    use bytes::BytesMut;

    use super::*;
    use crate::record::ts::{AUDIO_PID, SYNC_BYTE, TS_PACKET_LEN, TsMuxer};

    const FRAME_TICKS: i64 = 3000;
    const AAC_TICKS: i64 = 1920;
    /// Starts just before the 33-bit wrap, so the read back must unwrap.
    const START_PTS: i64 = PTS_MODULUS - 10 * FRAME_TICKS;

    fn t0() -> DateTime<Utc> {
        "2026-01-02T03:04:05.006Z".parse().unwrap()
    }

    fn aac() -> Arc<AudioParams> {
        Arc::new(AudioParams {
            codec: AudioCodec::Aac,
            sample_rate: 48_000,
            channels: 2,
            config: Bytes::from_static(&[0x11, 0x90]),
        })
    }

    /// `count` frames of the test pattern (IDRs carry SPS and PPS in-band, as from the
    /// synthetic camera), an AAC frame after each video frame.
    fn input(count: u64, gop: u32) -> Vec<Frame> {
        let audio = aac();
        let video =
            crate::mp4::fixture::h264_frames(count as u32, 30, gop, (160, 96), START_PTS, 0)
                .unwrap();
        let mut frames = Vec::new();
        for (n, v) in video.into_iter().enumerate() {
            let pts = v.pts;
            frames.push(Frame {
                wallclock: t0(),
                ..v
            });
            frames.push(Frame {
                track: Track::Audio(audio.clone()),
                pts: pts + 100,
                keyframe: true,
                data: Bytes::from(vec![0x21, 0x10, n as u8, 0x60, 0x8C]),
                epoch: 0,
                wallclock: t0(),
            });
        }
        frames
    }

    /// The frames muxed as one segment; where each frame starts.
    fn mux(frames: &[Frame]) -> (Vec<u8>, Vec<usize>) {
        let mut muxer = TsMuxer::new();
        let mut out = BytesMut::new();
        let mut starts = Vec::new();
        for f in frames {
            starts.push(out.len());
            muxer.write_frame(f, f.pts, &mut out).unwrap();
        }
        (out.to_vec(), starts)
    }

    fn micros(ticks: i64) -> TimeDelta {
        TimeDelta::microseconds(ticks * 1_000_000 / 90_000)
    }

    #[test]
    fn real_h264_and_aac_come_back_as_they_went_in() {
        let input = input(40, 15);
        let (bytes, _) = mux(&input);
        let output = read_segment_bytes(&bytes, t0(), &ReadOptions::default()).unwrap();
        assert_eq!(output.len(), input.len());
        let first = output[0].video_params().unwrap().clone();
        assert_eq!((first.width, first.height), (160, 96));
        assert_eq!(first.sps, input[0].video_params().unwrap().sps);
        assert_eq!(first.pps, input[0].video_params().unwrap().pps);
        assert_eq!(
            first.rfc6381_codec,
            format!(
                "avc1.{:02X}{:02X}{:02X}",
                first.sps[1], first.sps[2], first.sps[3]
            )
        );
        let mut keyframes = 0;
        for (i, (a, b)) in input.iter().zip(&output).enumerate() {
            assert_eq!(a.is_video(), b.is_video(), "frame {i}");
            assert_eq!(a.data, b.data, "payload of frame {i}");
            assert_eq!(a.pts, b.pts, "pts of frame {i}");
            assert_eq!(a.keyframe, b.keyframe, "keyframe flag of frame {i}");
            assert_eq!(b.epoch, 0);
            assert_eq!(b.wallclock, t0() + micros(a.pts - START_PTS), "frame {i}");
            match &b.track {
                Track::Video(p) => assert!(Arc::ptr_eq(p, &first), "one Arc while params stay"),
                Track::Audio(p) => assert_eq!(**p, *aac()),
            }
            keyframes += usize::from(b.is_video() && b.keyframe);
        }
        assert_eq!(keyframes, 3);
        assert!(
            output.last().unwrap().pts > PTS_MODULUS,
            "unwrapped past 2^33"
        );
    }

    #[test]
    fn keyframes_without_in_band_sets_get_them_and_delimiters_are_dropped() {
        let mut input = input(3, 15);
        let params = input[0].video_params().unwrap().clone();
        // The IDR slice alone, behind an access unit delimiter of its own.
        let idr: Vec<&[u8]> = input[0]
            .nal_units()
            .filter(|u| h264_nal_type(u) == Some(H264_IDR))
            .collect();
        let mut bare = Vec::new();
        push_length_prefixed(&mut bare, &[0x09, 0xF0]);
        push_length_prefixed(&mut bare, idr[0]);
        let expected = input[0].data.clone();
        input[0].data = Bytes::from(bare);
        let (bytes, _) = mux(&input[..2]);
        let output = read_segment_bytes(&bytes, t0(), &ReadOptions::default()).unwrap();
        // SPS, PPS, IDR: what the encoder gave in the first place.
        assert_eq!(output[0].data, expected);
        assert!(output[0].keyframe);
        assert_eq!(output[0].video_params().unwrap().sps, params.sps);
    }

    #[test]
    fn several_aac_frames_in_one_pes_step_by_1024_samples() {
        let input = input(1, 15);
        // One audio PES with three ADTS frames, by hand, after the PAT/PMT/video the muxer
        // writes (with the audio track declared, so its PMT names it).
        let mut muxer = TsMuxer::new();
        muxer.declare(&input[0].track).unwrap();
        muxer.declare(&input[1].track).unwrap();
        let mut out = BytesMut::new();
        muxer.write_frame(&input[0], START_PTS, &mut out).unwrap();
        let mut bytes = out.to_vec();
        let adts = AdtsConfig::from_audio_specific_config(&[0x11, 0x90]).unwrap();
        let mut es = Vec::new();
        for n in 0..3u8 {
            es.extend_from_slice(&adts.header(4).unwrap());
            es.extend_from_slice(&[n, 1, 2, 3]);
        }
        let pts = START_PTS + 500;
        let mut pes = vec![0, 0, 1, 0xC0];
        pes.extend_from_slice(&((8 + es.len()) as u16).to_be_bytes());
        pes.extend_from_slice(&[0x84, 0x80, 5]);
        let p = pts.rem_euclid(PTS_MODULUS) as u64;
        pes.extend_from_slice(&[
            0x21 | ((p >> 29) as u8 & 0x0E),
            (p >> 22) as u8,
            ((p >> 14) as u8 & 0xFE) | 1,
            (p >> 7) as u8,
            ((p << 1) as u8 & 0xFE) | 1,
        ]);
        pes.extend_from_slice(&es);
        let mut packet = vec![
            SYNC_BYTE,
            0x40 | (AUDIO_PID >> 8) as u8,
            AUDIO_PID as u8,
            0x30,
        ];
        let stuffing = TS_PACKET_LEN - 4 - pes.len();
        packet.push((stuffing - 1) as u8);
        if stuffing > 1 {
            packet.push(0);
            packet.extend(std::iter::repeat_n(0xFF, stuffing - 2));
        }
        packet.extend_from_slice(&pes);
        assert_eq!(packet.len(), TS_PACKET_LEN);
        bytes.extend_from_slice(&packet);
        let output = read_segment_bytes(&bytes, t0(), &ReadOptions::default()).unwrap();
        let audio: Vec<&Frame> = output.iter().filter(|f| !f.is_video()).collect();
        assert_eq!(audio.len(), 3);
        for (n, f) in audio.iter().enumerate() {
            assert_eq!(f.pts, pts + n as i64 * AAC_TICKS);
            assert_eq!(&f.data[..], &[n as u8, 1, 2, 3]);
        }
    }

    #[test]
    fn damage_is_corrupt_never_a_panic() {
        let input = input(20, 10);
        let (bytes, starts) = mux(&input);
        let kind = |data: &[u8]| {
            read_segment_bytes(data, t0(), &ReadOptions::default())
                .map(|f| f.len())
                .map_err(|e| e.kind())
        };
        // Cut exactly between frames: the frames before the cut.
        for i in [2usize, 7, 21] {
            assert_eq!(kind(&bytes[..starts[i]]), Ok(i), "cut before frame {i}");
        }
        // Cut inside a packet, or inside a bounded PES.
        assert_eq!(kind(&bytes[..starts[5] + 100]), Err(ErrorKind::Corrupt));
        let big = (0..input.len())
            .find(|&i| {
                // A delta frame (no tables in front) of several packets, bounded.
                let len = starts[i + 1] - starts[i];
                input[i].is_video() && !input[i].keyframe && len > 3 * TS_PACKET_LEN
            })
            .unwrap();
        assert_eq!(
            kind(&bytes[..starts[big] + 2 * TS_PACKET_LEN]),
            Err(ErrorKind::Corrupt),
            "frame {big} cut short"
        );
        // No PAT and PMT.
        assert_eq!(kind(&bytes[2 * TS_PACKET_LEN..]), Err(ErrorKind::Corrupt));
        assert_eq!(kind(&[]), Err(ErrorKind::Corrupt));
        // A packet lost in the middle of a frame.
        let mut lost = bytes[..starts[big]].to_vec();
        lost.extend_from_slice(&bytes[starts[big]..starts[big] + TS_PACKET_LEN]);
        lost.extend_from_slice(&bytes[starts[big] + 2 * TS_PACKET_LEN..]);
        assert_eq!(kind(&lost), Err(ErrorKind::Corrupt));
        // Bounds.
        let tight = ReadOptions {
            max_file_bytes: 10 * TS_PACKET_LEN as u64,
            ..ReadOptions::default()
        };
        let e = read_segment_bytes(&bytes, t0(), &tight).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge);
        let exact = ReadOptions {
            max_file_bytes: bytes.len() as u64,
            ..ReadOptions::default()
        };
        assert_eq!(
            read_segment_bytes(&bytes, t0(), &exact).unwrap().len(),
            input.len()
        );
        let small_frames = ReadOptions {
            max_frame_bytes: 100,
            ..ReadOptions::default()
        };
        let e = read_segment_bytes(&bytes, t0(), &small_frames).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge);

        // Random bytes changed anywhere: an error of our kinds or frames, never a panic.
        let mut x: u64 = 0x1234_5678_9ABC;
        for round in 0..400 {
            let mut m = bytes.clone();
            for _ in 0..(1 + round % 5) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let i = (x as usize) % m.len();
                m[i] = (x >> 32) as u8;
            }
            match read_segment_bytes(&m, t0(), &ReadOptions::default()) {
                Ok(frames) => assert!(frames.len() <= input.len() * 3),
                Err(e) => assert!(
                    matches!(e.kind(), ErrorKind::Corrupt | ErrorKind::TooLarge),
                    "{e}"
                ),
            }
        }
    }

    #[test]
    fn a_callback_can_stop_early_and_continuity_carries_on() {
        let input = input(20, 10);
        let (bytes, _) = mux(&input);
        let mut carry = Continuity::new(7);
        let mut seen = Vec::new();
        let summary = read_segment(
            &mut &bytes[..],
            t0(),
            &mut carry,
            &ReadOptions::default(),
            &mut |f| {
                seen.push(f);
                Ok(seen.len() < 5)
            },
        )
        .unwrap();
        assert!(summary.stopped);
        assert_eq!(seen.len(), 5);
        assert!(seen.iter().all(|f| f.epoch == 7));
        assert_eq!(carry.last_pts, Some(seen[4].pts));
        assert!(carry.video.is_some());
    }
}
