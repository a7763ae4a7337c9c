//! Shared helpers for the `record_*` integration tests: synthetic frames, a segmenter run
//! collected into segments, an independent MPEG-TS reader that checks packet-level
//! invariants, a small deterministic random generator, and wrappers around ffmpeg/ffprobe.
//!
//! The TS reader here is written from the standard, not from `crate::record::ts`, so it checks
//! the muxer rather than agreeing with it.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use crate::media::{AudioCodec, AudioParams, Frame, Track, VideoCodec, VideoParams};
use crate::record::Segmenter;
use crate::record::segmenter::SegmentEvent;
use bytes::Bytes;
use chrono::{DateTime, Duration as ChronoDuration, Utc};

/// One video frame at 25 fps, in 90 kHz ticks.
pub const FRAME_TICKS: i64 = 3_600;

/// One AAC frame (1024 samples) at 48 kHz, in 90 kHz ticks.
pub const AAC_FRAME_TICKS: i64 = 1_920;

/// Wall-clock time of pts 0 in synthetic streams.
pub fn t0() -> DateTime<Utc> {
    "2026-01-02T03:04:05Z".parse().expect("valid timestamp")
}

pub fn h264_params() -> Arc<VideoParams> {
    Arc::new(VideoParams {
        codec: VideoCodec::H264,
        width: 640,
        height: 360,
        vps: None,
        sps: Bytes::from_static(&[0x67, 0x42, 0x00, 0x1E, 0xAB]),
        pps: Bytes::from_static(&[0x68, 0xCE, 0x3C, 0x80]),
        rfc6381_codec: "avc1.42001E".into(),
    })
}

pub fn aac_params() -> Arc<AudioParams> {
    Arc::new(AudioParams {
        codec: AudioCodec::Aac,
        sample_rate: 48_000,
        channels: 2,
        config: Bytes::from_static(&[0x11, 0x90]),
    })
}

pub fn pcmu_params() -> Arc<AudioParams> {
    Arc::new(AudioParams {
        codec: AudioCodec::Pcmu,
        sample_rate: 8_000,
        channels: 1,
        config: Bytes::new(),
    })
}

/// A synthetic H.264 frame: one IDR or non-IDR slice of `len` bytes.
pub fn video(pts: i64, keyframe: bool, epoch: u32) -> Frame {
    video_sized(pts, keyframe, epoch, 300)
}

pub fn video_sized(pts: i64, keyframe: bool, epoch: u32, len: usize) -> Frame {
    let mut unit = vec![0xAB; len.max(2)];
    unit[0] = if keyframe { 0x65 } else { 0x41 };
    let mut data = Vec::with_capacity(unit.len() + 4);
    crate::media::push_length_prefixed(&mut data, &unit);
    Frame {
        track: Track::Video(h264_params()),
        pts,
        keyframe,
        data: data.into(),
        epoch,
        wallclock: t0() + ChronoDuration::microseconds(pts * 1000 / 90),
    }
}

/// A synthetic AAC frame.
pub fn audio(pts: i64, epoch: u32) -> Frame {
    Frame {
        track: Track::Audio(aac_params()),
        pts,
        keyframe: true,
        data: Bytes::from_static(&[0x21, 0x10, 0x04, 0x60, 0x8C, 0x1C]),
        epoch,
        wallclock: t0() + ChronoDuration::microseconds(pts * 1000 / 90),
    }
}

/// A segment as the driver would have written it.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub seq: u64,
    pub uri: String,
    pub start_pts: i64,
    pub wallclock: DateTime<Utc>,
    pub discontinuity: bool,
    pub data: Vec<u8>,
    /// `Some` once closed.
    pub duration_secs: Option<f64>,
    pub closed_bytes: Option<u64>,
}

/// Everything a segmenter produced, checked for event-order invariants as it was collected.
#[derive(Debug, Default)]
pub struct Recording {
    pub segments: Vec<Segment>,
    pub playlist_changes: usize,
}

impl Recording {
    /// Drains `segmenter`, asserting the event grammar:
    /// `(SegmentStarted Bytes+ SegmentClosed PlaylistChanged?)*`.
    pub fn drain(&mut self, segmenter: &mut Segmenter) {
        while let Some(event) = segmenter.poll() {
            match event {
                SegmentEvent::SegmentStarted {
                    seq,
                    uri,
                    start_pts,
                    wallclock,
                    discontinuity,
                } => {
                    if let Some(prev) = self.segments.last() {
                        assert!(
                            prev.duration_secs.is_some(),
                            "segment {seq} started before {} closed",
                            prev.seq
                        );
                        assert_eq!(seq, prev.seq + 1, "sequence numbers are consecutive");
                    }
                    self.segments.push(Segment {
                        seq,
                        uri,
                        start_pts,
                        wallclock,
                        discontinuity,
                        data: Vec::new(),
                        duration_secs: None,
                        closed_bytes: None,
                    });
                }
                SegmentEvent::Bytes(b) => {
                    let seg = self
                        .segments
                        .last_mut()
                        .expect("bytes before any segment started");
                    assert!(
                        seg.duration_secs.is_none(),
                        "bytes after segment {} closed",
                        seg.seq
                    );
                    assert!(!b.is_empty(), "empty bytes event");
                    seg.data.extend_from_slice(&b);
                }
                SegmentEvent::SegmentClosed {
                    seq,
                    duration_secs,
                    bytes,
                } => {
                    let seg = self
                        .segments
                        .last_mut()
                        .expect("close before any segment started");
                    assert_eq!(seg.seq, seq, "closed a segment that is not open");
                    assert!(seg.duration_secs.is_none(), "segment {seq} closed twice");
                    assert!(
                        duration_secs.is_finite() && duration_secs >= 0.0,
                        "duration {duration_secs}"
                    );
                    assert_eq!(bytes, seg.data.len() as u64, "closed byte count");
                    assert!(!seg.data.is_empty(), "segment {seq} has no bytes");
                    seg.duration_secs = Some(duration_secs);
                    seg.closed_bytes = Some(bytes);
                }
                SegmentEvent::PlaylistChanged => self.playlist_changes += 1,
            }
        }
    }

    pub fn durations(&self) -> Vec<f64> {
        self.segments
            .iter()
            .map(|s| s.duration_secs.expect("closed"))
            .collect()
    }
}

/// Pushes every frame (draining after each), then finishes.
pub fn record(segmenter: &mut Segmenter, frames: &[Frame]) -> Recording {
    let mut rec = Recording::default();
    for f in frames {
        segmenter.push(f);
        rec.drain(segmenter);
    }
    segmenter.finish();
    rec.drain(segmenter);
    rec
}

/// Video frames at 25 fps from `start` with a keyframe every `gop` frames.
pub fn video_run(start: i64, count: usize, gop: usize, epoch: u32) -> Vec<Frame> {
    (0..count)
        .map(|i| video(start + i as i64 * FRAME_TICKS, i % gop == 0, epoch))
        .collect()
}

// ---------------------------------------------------------------------------------------
// An independent MPEG-TS reader.

/// One PES as reassembled from packets.
#[derive(Debug, Clone)]
pub struct Pes {
    pub pid: u16,
    pub stream_id: u8,
    pub pts: Option<u64>,
    pub dts: Option<u64>,
    pub random_access: bool,
    /// Index of the packet that started it, within the inspected buffer.
    pub first_packet: usize,
    pub data: Vec<u8>,
}

/// What [`TsReader::read`] saw in one buffer.
#[derive(Debug, Default)]
pub struct TsReport {
    pub pids: Vec<u16>,
    pub pes: Vec<Pes>,
    /// (packet index, PCR base) on any PID.
    pub pcrs: Vec<(usize, u64)>,
    /// PMT stream types by PID, from the last PMT seen.
    pub streams: HashMap<u16, u8>,
}

/// Reads transport stream buffers in order, keeping continuity counters across them.
#[derive(Debug, Default)]
pub struct TsReader {
    cc: HashMap<u16, u8>,
    pmt_pid: Option<u16>,
}

impl TsReader {
    /// Reads one buffer (a whole segment); `Err` describes the first violation.
    pub fn read(&mut self, ts: &[u8]) -> Result<TsReport, String> {
        if !ts.len().is_multiple_of(188) {
            return Err(format!("length {} is not a multiple of 188", ts.len()));
        }
        let mut report = TsReport::default();
        let mut open: HashMap<u16, Pes> = HashMap::new();
        for (i, p) in ts.chunks(188).enumerate() {
            if p[0] != 0x47 {
                return Err(format!("packet {i}: sync byte {:#x}", p[0]));
            }
            if p[1] & 0x80 != 0 {
                return Err(format!("packet {i}: transport error indicator"));
            }
            let pusi = p[1] & 0x40 != 0;
            let pid = u16::from_be_bytes([p[1] & 0x1F, p[2]]);
            let afc = (p[3] >> 4) & 3;
            let cc = p[3] & 0xF;
            if afc == 0 {
                return Err(format!("packet {i}: reserved adaptation_field_control"));
            }
            let has_payload = afc & 1 != 0;
            report.pids.push(pid);

            if let Some(&prev) = self.cc.get(&pid) {
                let want = if has_payload { (prev + 1) & 0xF } else { prev };
                if cc != want {
                    return Err(format!("packet {i}: PID {pid:#x} CC {cc}, expected {want}"));
                }
            }
            self.cc.insert(pid, cc);

            let mut pos = 4;
            let mut random_access = false;
            if afc & 2 != 0 {
                let len = usize::from(p[4]);
                let max = if has_payload { 182 } else { 183 };
                if len > max {
                    return Err(format!("packet {i}: adaptation field length {len}"));
                }
                if len > 0 {
                    let flags = p[5];
                    random_access = flags & 0x40 != 0;
                    if flags & 0x10 != 0 {
                        if len < 7 {
                            return Err(format!("packet {i}: PCR flag without room"));
                        }
                        let b = &p[6..12];
                        let base = (u64::from(b[0]) << 25)
                            | (u64::from(b[1]) << 17)
                            | (u64::from(b[2]) << 9)
                            | (u64::from(b[3]) << 1)
                            | u64::from(b[4] >> 7);
                        report.pcrs.push((i, base));
                    }
                    let used = 1 + if flags & 0x10 != 0 { 6 } else { 0 };
                    if p[5 + used..5 + len].iter().any(|&b| b != 0xFF) {
                        return Err(format!("packet {i}: stuffing bytes are not 0xFF"));
                    }
                }
                pos += 1 + len;
            }
            if !has_payload {
                if pos != 188 && afc == 2 {
                    return Err(format!("packet {i}: adaptation-only packet not full"));
                }
                continue;
            }
            if pos > 188 {
                return Err(format!("packet {i}: adaptation field overflows the packet"));
            }
            let payload = &p[pos..];

            if pid == 0 || Some(pid) == self.pmt_pid {
                if !pusi {
                    return Err(format!("packet {i}: PSI without unit start"));
                }
                let section = parse_section(payload).map_err(|e| format!("packet {i}: {e}"))?;
                if pid == 0 {
                    // program_number(2) + PMT PID(2)
                    if section.len() < 4 {
                        return Err(format!("packet {i}: PAT without program"));
                    }
                    self.pmt_pid = Some(u16::from_be_bytes([section[2] & 0x1F, section[3]]));
                } else {
                    let info_len = usize::from(u16::from_be_bytes([section[2] & 0x0F, section[3]]));
                    let mut es = &section[4 + info_len..];
                    report.streams.clear();
                    while es.len() >= 5 {
                        let pid = u16::from_be_bytes([es[1] & 0x1F, es[2]]);
                        let es_info = usize::from(u16::from_be_bytes([es[3] & 0x0F, es[4]]));
                        report.streams.insert(pid, es[0]);
                        es = &es[(5 + es_info).min(es.len())..];
                    }
                }
                continue;
            }

            if pusi {
                if let Some(done) = open.remove(&pid) {
                    report.pes.push(finish_pes(done)?);
                }
                open.insert(
                    pid,
                    Pes {
                        pid,
                        stream_id: 0,
                        pts: None,
                        dts: None,
                        random_access,
                        first_packet: i,
                        data: payload.to_vec(),
                    },
                );
            } else {
                match open.get_mut(&pid) {
                    Some(pes) => pes.data.extend_from_slice(payload),
                    None => {
                        return Err(format!(
                            "packet {i}: PID {pid:#x} payload without a PES start"
                        ));
                    }
                }
            }
        }
        let mut rest: Vec<Pes> = open.into_values().collect();
        rest.sort_by_key(|p| p.first_packet);
        for pes in rest {
            report.pes.push(finish_pes(pes)?);
        }
        report.pes.sort_by_key(|p| p.first_packet);
        Ok(report)
    }
}

/// Checks a PSI section's syntax and CRC; returns the bytes after `last_section_number`,
/// without the CRC.
fn parse_section(payload: &[u8]) -> Result<&[u8], String> {
    let pointer = usize::from(*payload.first().ok_or("empty PSI")?);
    let s = payload
        .get(1 + pointer..)
        .ok_or("pointer field past the packet")?;
    if s.len() < 3 {
        return Err("short section".into());
    }
    let len = usize::from(u16::from_be_bytes([s[1] & 0x0F, s[2]]));
    let s = s.get(..3 + len).ok_or("section longer than the packet")?;
    if s[1] & 0x80 == 0 || len < 9 {
        return Err("not a long-form section".into());
    }
    let crc = crc32_mpeg2(s);
    if crc != 0 {
        return Err(format!("bad section CRC (residue {crc:#x})"));
    }
    Ok(&s[8..s.len() - 4])
}

fn finish_pes(mut pes: Pes) -> Result<Pes, String> {
    let d = &pes.data;
    if d.len() < 9 || d[..3] != [0, 0, 1] {
        return Err(format!("PES at packet {}: no start code", pes.first_packet));
    }
    pes.stream_id = d[3];
    let declared = usize::from(u16::from_be_bytes([d[4], d[5]]));
    let flags = d[7];
    let header_len = usize::from(d[8]);
    let read_ts = |b: &[u8]| -> u64 {
        (u64::from(b[0] >> 1 & 7) << 30)
            | (u64::from(b[1]) << 22)
            | (u64::from(b[2] >> 1) << 15)
            | (u64::from(b[3]) << 7)
            | u64::from(b[4] >> 1)
    };
    if flags & 0x80 != 0 {
        if header_len < 5 || d.len() < 14 {
            return Err("PES PTS flag without PTS".into());
        }
        pes.pts = Some(read_ts(&d[9..14]));
    }
    if flags & 0x40 != 0 {
        pes.dts = Some(read_ts(&d[14..19]));
    }
    if declared != 0 && declared != d.len() - 6 {
        return Err(format!(
            "PES at packet {}: length field {declared}, carried {}",
            pes.first_packet,
            d.len() - 6
        ));
    }
    pes.data = d[9 + header_len..].to_vec();
    Ok(pes)
}

/// CRC-32/MPEG-2, written again here so the test does not trust the muxer's.
pub fn crc32_mpeg2(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Checks what every segment must be: whole packets, PAT then PMT first, the first PES a
/// video access unit flagged as a random access point with a PCR, starting with an AUD.
pub fn check_segment_start(report: &TsReport, seq: u64) {
    assert!(report.pids.len() >= 3, "segment {seq} too short");
    assert_eq!(
        &report.pids[..2],
        &[0x0000, 0x1000],
        "segment {seq} starts with PAT, PMT"
    );
    let first = report
        .pes
        .first()
        .unwrap_or_else(|| panic!("segment {seq} has no PES"));
    assert_eq!(first.pid, 0x100, "segment {seq} starts with video");
    assert!(
        first.random_access,
        "segment {seq} first PES lacks random_access_indicator"
    );
    assert_eq!(
        first.first_packet, 2,
        "segment {seq}: video PES right after the tables"
    );
    assert!(
        report.pcrs.first().is_some_and(|&(i, _)| i == 2),
        "segment {seq}: PCR on the first video packet"
    );
    assert!(
        first.data.starts_with(&[0, 0, 0, 1, 0x09]) || first.data.starts_with(&[0, 0, 0, 1, 0x46]),
        "segment {seq}: access unit starts with an AUD"
    );
}

// ---------------------------------------------------------------------------------------
// Deterministic randomness (no dependency; reproducible from the seed in failure messages).

/// SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
    /// Random bytes of a random length below `max_len`.
    pub fn bytes_below(&mut self, max_len: u64) -> Vec<u8> {
        let len = self.below(max_len) as usize;
        self.bytes(len)
    }
}

// ---------------------------------------------------------------------------------------
// Real tools.

/// Fails the test with a clear message if `tool` cannot run.
pub fn require_tool(tool: &str) {
    match Command::new(tool).arg("-version").output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "`{tool} -version` failed ({}); install ffmpeg to run this test",
            o.status
        ),
        Err(e) => panic!(
            "cannot run `{tool}` ({e}); install ffmpeg (apt-get install ffmpeg) to run this test"
        ),
    }
}

/// Runs a tool, failing the test (with its stderr) if it fails.
pub fn run(tool: &str, args: &[&str]) -> Output {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Whether this ffmpeg has `encoder`.
pub fn has_encoder(encoder: &str) -> bool {
    let out = run("ffmpeg", &["-hide_banner", "-encoders"]);
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .any(|w| w == encoder)
}

/// `ffmpeg -v error -i <input> -f null -`: the decoder's complaints (empty when clean).
pub fn decode_errors(input: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(input)
        .args(["-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        text.push_str(&format!("\n(exit {})", out.status));
    }
    text
}

/// `ffprobe -of json` with the given arguments, parsed.
pub fn ffprobe_json(input: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args(["-hide_banner", "-v", "error", "-of", "json"])
        .args(args)
        .arg(input)
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "ffprobe {args:?} {} failed: {}",
        input.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("ffprobe printed JSON")
}

/// Splits an Annex B byte stream into NAL units (without start codes).
pub fn split_annex_b(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut units = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(data.len(), |&n| n - 3);
        while end > s && data[end - 1] == 0 {
            end -= 1; // trailing zeros belong to the next (4-byte) start code
        }
        if end > s {
            units.push(&data[s..end]);
        }
    }
    units
}

/// An access unit split out of an elementary stream.
#[derive(Debug)]
pub struct AccessUnit<'a> {
    pub units: Vec<&'a [u8]>,
    pub keyframe: bool,
}

/// Groups NAL units into access units (ITU-T H.264 §7.4.1.2.3, H.265 §7.4.2.4.4).
pub fn access_units(units: Vec<&[u8]>, codec: VideoCodec) -> Vec<AccessUnit<'_>> {
    let mut aus: Vec<AccessUnit<'_>> = Vec::new();
    let mut has_vcl = false;
    for u in units {
        let (vcl, first_in_picture, starts_au, key) = match codec {
            VideoCodec::H264 => {
                let t = u[0] & 0x1F;
                let vcl = (1..=5).contains(&t);
                (
                    vcl,
                    vcl && u.len() > 1 && u[1] & 0x80 != 0,
                    matches!(t, 6..=9 | 14..=18),
                    t == 5,
                )
            }
            VideoCodec::H265 => {
                let t = (u[0] >> 1) & 0x3F;
                let vcl = t < 32;
                (
                    vcl,
                    vcl && u.len() > 2 && u[2] & 0x80 != 0,
                    (32..=39).contains(&t),
                    (16..=23).contains(&t),
                )
            }
        };
        let new_au = aus.is_empty() || (has_vcl && (first_in_picture || starts_au));
        if new_au {
            aus.push(AccessUnit {
                units: Vec::new(),
                keyframe: false,
            });
            has_vcl = false;
        }
        let au = aus.last_mut().expect("just pushed");
        au.units.push(u);
        au.keyframe |= key;
        has_vcl |= vcl;
    }
    aus
}

/// Parses an ADTS stream into (AudioSpecificConfig, raw access units).
pub fn parse_adts(data: &[u8]) -> (Bytes, Vec<&[u8]>) {
    let mut aus = Vec::new();
    let mut asc = None;
    let mut pos = 0;
    while pos + 7 <= data.len() {
        let h = &data[pos..];
        assert!(h[0] == 0xFF && h[1] & 0xF0 == 0xF0, "ADTS sync at {pos}");
        let protection_absent = h[1] & 1 == 1;
        let profile = h[2] >> 6;
        let sf = (h[2] >> 2) & 0xF;
        let ch = ((h[2] & 1) << 2) | (h[3] >> 6);
        let len = (usize::from(h[3] & 3) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
        let header = if protection_absent { 7 } else { 9 };
        assert!(
            len > header && pos + len <= data.len(),
            "ADTS frame length {len} at {pos}"
        );
        let object_type = profile + 1;
        let config = [(object_type << 3) | (sf >> 1), ((sf & 1) << 7) | (ch << 3)];
        asc.get_or_insert_with(|| Bytes::copy_from_slice(&config));
        aus.push(&h[header..len]);
        pos += len;
    }
    (asc.expect("at least one ADTS frame"), aus)
}

// ---------------------------------------------------------------------------------------
// Whole-recording checks.

/// PTS and PCR are 33-bit.
pub const PTS_MODULUS: u64 = 1 << 33;

/// Forward distance from `a` to `b` on the 33-bit circle.
pub fn pts_step(a: u64, b: u64) -> u64 {
    b.wrapping_sub(a) & (PTS_MODULUS - 1)
}

/// Reads every segment in order with one reader (so continuity counters must run on across
/// segments) and checks: each segment's start (see [`check_segment_start`]), video PTS
/// strictly increasing across the whole recording (mod 2^33), audio PTS non-decreasing, PCR
/// non-decreasing and never ahead of the video PTS it precedes, no DTS written, and each
/// closed duration equal to the distance to the next segment's first video PTS.
pub fn check_recording(rec: &Recording) -> Vec<TsReport> {
    let mut reader = TsReader::default();
    let mut reports = Vec::new();
    let (mut last_video, mut last_audio, mut last_pcr) = (None::<u64>, None::<u64>, None::<u64>);
    for seg in &rec.segments {
        let report = reader
            .read(&seg.data)
            .unwrap_or_else(|e| panic!("segment {}: {e}", seg.seq));
        check_segment_start(&report, seg.seq);
        for &(_, pcr) in &report.pcrs {
            if let Some(prev) = last_pcr {
                assert!(
                    pts_step(prev, pcr) < PTS_MODULUS / 2,
                    "PCR went backwards: {prev} -> {pcr}"
                );
            }
            last_pcr = Some(pcr);
        }
        for pes in &report.pes {
            assert!(
                pes.dts.is_none(),
                "DTS written (must be implied equal to PTS)"
            );
            let pts = pes.pts.expect("every PES has a PTS");
            match pes.pid {
                0x100 => {
                    if let Some(prev) = last_video {
                        let step = pts_step(prev, pts);
                        assert!(
                            step > 0 && step < PTS_MODULUS / 2,
                            "video PTS {prev} -> {pts} in segment {}",
                            seg.seq
                        );
                    }
                    last_video = Some(pts);
                    // The PCR before this PES (if any in this segment) is not ahead of it.
                    if let Some(&(_, pcr)) = report
                        .pcrs
                        .iter()
                        .rev()
                        .find(|(i, _)| *i <= pes.first_packet)
                    {
                        assert!(
                            pts_step(pcr, pts) < PTS_MODULUS / 2,
                            "PCR {pcr} ahead of video PTS {pts}"
                        );
                    }
                }
                0x101 => {
                    if let Some(prev) = last_audio {
                        assert!(
                            pts_step(prev, pts) < PTS_MODULUS / 2,
                            "audio PTS {prev} -> {pts}"
                        );
                    }
                    last_audio = Some(pts);
                }
                other => panic!("PES on unexpected PID {other:#x}"),
            }
        }
        reports.push(report);
    }
    for (i, pair) in reports.windows(2).enumerate() {
        let first = |r: &TsReport| {
            r.pes
                .iter()
                .find(|p| p.pid == 0x100)
                .and_then(|p| p.pts)
                .expect("video")
        };
        let ticks = pts_step(first(&pair[0]), first(&pair[1]));
        let d = rec.segments[i].duration_secs.expect("closed");
        assert!(
            (d * 90_000.0 - ticks as f64).abs() < 0.5,
            "segment {} duration {d} s but the next starts {ticks} ticks later",
            rec.segments[i].seq
        );
    }
    reports
}

/// Video PTS values of a report, in order.
pub fn video_pts(report: &TsReport) -> Vec<u64> {
    report
        .pes
        .iter()
        .filter(|p| p.pid == 0x100)
        .filter_map(|p| p.pts)
        .collect()
}

// ---------------------------------------------------------------------------------------
// The real-tools check shared by the H.264 and H.265 tests.

/// Seconds of media the real-tools tests encode.
pub const REAL_MEDIA_SECS: usize = 6;

/// Video frames in that media (25 fps).
pub const REAL_VIDEO_FRAMES: usize = REAL_MEDIA_SECS * 25;

/// Raw RTP-style timestamp of the first frame: 2.5 s before the 32-bit wrap, so the
/// recording crosses it.
pub const REAL_FIRST_PTS: i64 = (1 << 32) - 225_000;

/// Test media encoded by ffmpeg from its test pattern and a 440 Hz tone: video access units
/// as RTSP delivers them (length-prefixed, parameter sets out of band, delimiters dropped)
/// and raw AAC frames (AudioSpecificConfig rebuilt from the ADTS header).
#[derive(Debug)]
pub struct EncodedMedia {
    pub video_params: Arc<VideoParams>,
    /// (payload, keyframe) per video frame.
    pub video: Vec<(Bytes, bool)>,
    pub audio_params: Arc<AudioParams>,
    pub audio: Vec<Bytes>,
}

/// Encodes `secs` seconds of `codec` video (libx264 or libx265, with `video_args`) at `size`
/// and `fps`, and mono 48 kHz AAC.
pub fn encode_media(
    codec: VideoCodec,
    secs: usize,
    size: (u32, u32),
    fps: usize,
    video_args: &[&str],
) -> EncodedMedia {
    require_tool("ffmpeg");
    let (encoder, format) = match codec {
        VideoCodec::H264 => ("libx264", "h264"),
        VideoCodec::H265 => ("libx265", "hevc"),
    };
    assert!(
        has_encoder(encoder),
        "this ffmpeg lacks {encoder}; install an ffmpeg built with it (Debian's has it)"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let es_path = dir.path().join(format!("in.{format}"));
    let aac_path = dir.path().join("in.aac");
    let secs = secs.to_string();
    let src = format!("testsrc=size={}x{}:rate={fps}", size.0, size.1);
    let mut args = vec![
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        &src,
        "-t",
        &secs,
        "-pix_fmt",
        "yuv420p",
        "-c:v",
        encoder,
    ];
    args.extend(video_args.iter().copied());
    args.extend(["-f", format, "-y"]);
    let es_str = es_path.to_str().expect("utf-8 path");
    args.push(es_str);
    run("ffmpeg", &args);
    run(
        "ffmpeg",
        &[
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            &secs,
            "-c:a",
            "aac",
            "-f",
            "adts",
            "-y",
            aac_path.to_str().expect("utf-8 path"),
        ],
    );

    let es = std::fs::read(&es_path).expect("read elementary stream");
    let aus = access_units(split_annex_b(&es), codec);
    let nal_type = |u: &[u8]| match codec {
        VideoCodec::H264 => u[0] & 0x1F,
        VideoCodec::H265 => (u[0] >> 1) & 0x3F,
    };
    let (vps_type, sps_type, pps_type, aud_type) = match codec {
        VideoCodec::H264 => (None, 7, 8, 9),
        VideoCodec::H265 => (Some(32), 33, 34, 35),
    };
    let find = |t: u8| {
        aus.iter()
            .flat_map(|a| a.units.iter())
            .find(|u| nal_type(u) == t)
            .map(|u| Bytes::copy_from_slice(u))
    };
    let video_params = Arc::new(VideoParams {
        codec,
        width: size.0,
        height: size.1,
        vps: vps_type.and_then(find),
        sps: find(sps_type).expect("SPS"),
        pps: find(pps_type).expect("PPS"),
        rfc6381_codec: String::new(),
    });
    let out_of_band = |t: u8| Some(t) == vps_type || [sps_type, pps_type, aud_type].contains(&t);
    let video = aus
        .iter()
        .map(|au| {
            let mut data = Vec::new();
            for u in au.units.iter().filter(|u| !out_of_band(nal_type(u))) {
                crate::media::push_length_prefixed(&mut data, u);
            }
            (Bytes::from(data), au.keyframe)
        })
        .collect();

    let adts = std::fs::read(&aac_path).expect("read AAC");
    let (asc, raw) = parse_adts(&adts);
    EncodedMedia {
        video_params,
        video,
        audio_params: Arc::new(AudioParams {
            codec: AudioCodec::Aac,
            sample_rate: 48_000,
            channels: 1,
            config: asc,
        }),
        audio: raw.into_iter().map(Bytes::copy_from_slice).collect(),
    }
}

/// Encodes test media with ffmpeg, records it through the segmenter into a temporary folder
/// (segments + EVENT playlist, as a driver would) and checks the result with ffmpeg and
/// ffprobe: every segment decodes without a single error, starts with a keyframe, carries
/// H.26x + AAC, its EXTINF matches its media within one frame, and the whole playlist decodes
/// with strictly increasing timestamps across segments.
pub fn check_with_real_tools(codec: VideoCodec) {
    require_tool("ffprobe");
    let (extra, codec_name): (&[&str], &str) = match codec {
        VideoCodec::H264 => (&["-profile:v", "high", "-g", "25", "-bf", "0"], "h264"),
        VideoCodec::H265 => (
            &[
                "-x265-params",
                "keyint=25:min-keyint=25:bframes=0:scenecut=0:open-gop=0:log-level=error",
            ],
            "hevc",
        ),
    };
    let media = encode_media(codec, REAL_MEDIA_SECS, (640, 360), 25, extra);
    assert_eq!(
        media.video.len(),
        REAL_VIDEO_FRAMES,
        "access units in the encoded stream"
    );
    let at = |offset: i64| t0() + ChronoDuration::microseconds(offset * 1000 / 90);
    let video_frames: Vec<Frame> = media
        .video
        .iter()
        .enumerate()
        .map(|(i, (data, keyframe))| {
            let offset = i as i64 * FRAME_TICKS;
            Frame {
                track: Track::Video(media.video_params.clone()),
                pts: (REAL_FIRST_PTS + offset) % (1 << 32),
                keyframe: *keyframe,
                data: data.clone(),
                epoch: 0,
                wallclock: at(offset),
            }
        })
        .collect();
    assert_eq!(
        video_frames.iter().filter(|f| f.keyframe).count(),
        REAL_MEDIA_SECS,
        "one keyframe a second"
    );
    let audio_params = media.audio_params.clone();
    let audio_frames: Vec<Frame> = media
        .audio
        .iter()
        .enumerate()
        .map(|(j, data)| {
            let offset = j as i64 * AAC_FRAME_TICKS;
            Frame {
                track: Track::Audio(audio_params.clone()),
                pts: (REAL_FIRST_PTS + offset) % (1 << 32),
                keyframe: true,
                data: data.clone(),
                epoch: 0,
                wallclock: at(offset),
            }
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");

    // Interleave by time, video first on ties (as an RTSP session would deliver them).
    let mut frames = Vec::new();
    let (mut v, mut a) = (0, 0);
    while v < video_frames.len() || a < audio_frames.len() {
        let video_next = a >= audio_frames.len()
            || (v < video_frames.len() && v as i64 * FRAME_TICKS <= a as i64 * AAC_FRAME_TICKS);
        if video_next {
            frames.push(video_frames[v].clone());
            v += 1;
        } else {
            frames.push(audio_frames[a].clone());
            a += 1;
        }
    }

    let mut segmenter = Segmenter::new(crate::record::SegmenterConfig::default()).expect("config");
    segmenter
        .declare_track(&Track::Audio(audio_params.clone()))
        .expect("AAC is carried");
    let rec = record(&mut segmenter, &frames);
    let stats = segmenter.stats().clone();
    assert_eq!(
        stats.frames_written as usize,
        frames.len(),
        "every frame written: {stats:?}"
    );
    assert_eq!(
        stats.discontinuities, 0,
        "the RTP wrap is not a discontinuity"
    );
    assert_eq!(rec.segments.len(), REAL_MEDIA_SECS / 2);
    check_recording(&rec);

    // Write what a driver would write.
    for seg in &rec.segments {
        std::fs::write(dir.path().join(&seg.uri), &seg.data).expect("write segment");
    }
    let playlist_path = dir.path().join("playlist.m3u8");
    std::fs::write(&playlist_path, segmenter.playlist().render()).expect("write playlist");

    let mut next_first_pts: Option<f64> = None;
    let mut total_video = 0;
    let mut previous_last: Option<f64> = None;
    let frame_secs = FRAME_TICKS as f64 / 90_000.0;
    for (k, seg) in rec.segments.iter().enumerate() {
        let path = dir.path().join(&seg.uri);
        let errors = decode_errors(&path);
        assert!(
            errors.trim().is_empty(),
            "{} does not decode cleanly:\n{errors}",
            seg.uri
        );

        let streams = ffprobe_json(&path, &["-show_entries", "stream=codec_type,codec_name"]);
        let mut names: Vec<String> = streams["streams"]
            .as_array()
            .expect("streams")
            .iter()
            .map(|s| s["codec_name"].as_str().unwrap_or("?").to_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["aac", codec_name], "{} streams", seg.uri);

        let frames = ffprobe_json(
            &path,
            &[
                "-select_streams",
                "v:0",
                "-show_entries",
                "frame=key_frame,pts_time,pict_type",
            ],
        );
        let frames = frames["frames"].as_array().expect("frames");
        assert!(!frames.is_empty(), "{} has video frames", seg.uri);
        assert_eq!(
            frames[0]["key_frame"].as_i64(),
            Some(1),
            "{} starts with a keyframe",
            seg.uri
        );
        let times: Vec<f64> = frames
            .iter()
            .map(|f| {
                f["pts_time"]
                    .as_str()
                    .expect("pts_time")
                    .parse::<f64>()
                    .expect("number")
            })
            .collect();
        assert!(
            times.windows(2).all(|w| w[1] > w[0]),
            "{}: video pts strictly increasing",
            seg.uri
        );
        total_video += times.len();

        // EXTINF matches the media: first frame to the end of the last frame, within one frame.
        let media = times[times.len() - 1] - times[0] + frame_secs;
        let extinf = segmenter.playlist().segments[k].duration_secs;
        assert!(
            (media - extinf).abs() <= frame_secs + 1e-6,
            "{}: EXTINF {extinf} vs media {media}",
            seg.uri
        );
        // Timestamps are continuous: this segment starts one frame after the previous ended.
        if let Some(prev) = previous_last {
            assert!(
                (times[0] - prev - frame_secs).abs() < 1e-3,
                "{}: starts at {} after {prev}",
                seg.uri,
                times[0]
            );
        }
        if let Some(expected) = next_first_pts {
            assert!((times[0] - expected).abs() < 1e-3);
        }
        next_first_pts = Some(times[0] + extinf);
        previous_last = times.last().copied();
    }
    assert_eq!(
        total_video, REAL_VIDEO_FRAMES,
        "video frames across all segments"
    );

    // The playlist as a whole: decodes cleanly, every packet's pts strictly increasing per
    // stream, every frame present.
    let errors = decode_errors(&playlist_path);
    assert!(
        errors.trim().is_empty(),
        "playlist does not decode cleanly:\n{errors}"
    );
    let packets = ffprobe_json(
        &playlist_path,
        &["-show_entries", "packet=stream_index,pts,codec_type"],
    );
    let packets = packets["packets"].as_array().expect("packets");
    let mut last: HashMap<String, i64> = HashMap::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for p in packets {
        let kind = p["codec_type"].as_str().expect("codec_type").to_owned();
        let pts = p["pts"].as_i64().expect("every packet has a pts");
        if let Some(prev) = last.get(&kind) {
            assert!(pts > *prev, "{kind} pts {prev} -> {pts} in the playlist");
        }
        last.insert(kind.clone(), pts);
        *counts.entry(kind).or_default() += 1;
    }
    assert_eq!(counts.get("video"), Some(&REAL_VIDEO_FRAMES));
    assert_eq!(counts.get("audio"), Some(&audio_frames.len()));
    let total: f64 = segmenter.playlist().total_duration_secs();
    assert!(
        (total - REAL_MEDIA_SECS as f64).abs() < 1e-9,
        "playlist lasts {total} s"
    );
}

/// The Annex B bitstream of encoded video frames (the first frame's parameter sets, then
/// every NAL unit with a start code), as `ffmpeg -f h264` reads it.
///
/// # Panics
/// When the first frame is not video.
pub fn annexb(frames: &[crate::media::Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = frames[0].video_params().expect("video frames");
    for set in [&params.sps, &params.pps] {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(set);
    }
    for f in frames {
        for unit in crate::media::nal_units(&f.data) {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(unit);
        }
    }
    out
}
