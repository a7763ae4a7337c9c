//! Reading back our own MPEG-TS segments: how much of a file is whole frames, and how long
//! its video lasts (crash recovery).
//!
//! Owns a bounded, streaming scan of the transport streams [`super::ts::TsMuxer`] writes: it
//! walks 188-byte packets, follows PES boundaries on the video and audio PIDs and reads video
//! presentation times, and reports the prefix of the file that ends on a whole frame, the
//! number of complete video frames and their duration. It relies on what our muxer
//! guarantees (each frame's packets are contiguous, video times strictly increase) and treats
//! anything else as the end of the usable data. It must never panic, never allocate per
//! packet, never read past its byte bound, and never write: truncating is the caller's job.

use std::io::{self, Read};

use super::timeline::DEFAULT_FRAME_DURATION_TICKS;
use super::ts::{AUDIO_PID, PTS_MODULUS, TS_PACKET_LEN, VIDEO_PID};
use super::ts_packet::{PES_LENGTH_PREFIX_LEN, Packet, PesHeader, for_each_packet};
use crate::media::CLOCK_RATE;

/// Most bytes of one file [`scan_segment`] reads; a segment is a few megabytes, so anything
/// past this is not one of ours and is cut off.
pub const MAX_SCAN_BYTES: u64 = 1 << 30;

/// What a scan found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SegmentScan {
    /// Bytes scanned that form whole packets.
    pub scanned_len: u64,
    /// Length of the prefix that ends on a whole frame (what the file should be cut to).
    pub usable_len: u64,
    /// Complete video frames in the usable prefix.
    pub video_frames: u64,
    /// Complete audio frames in the usable prefix.
    pub audio_frames: u64,
    /// Presentation time (90 kHz, 33-bit) of the first complete video frame.
    pub first_video_pts: Option<i64>,
    /// From the first to the last complete video frame, in 90 kHz ticks.
    pub video_span_ticks: i64,
    /// The step between the last two complete video frames, in 90 kHz ticks.
    pub last_frame_ticks: Option<i64>,
    /// Whether the first complete video frame is flagged as a random access point.
    pub starts_with_keyframe: bool,
    /// Offset where data stopped looking like ours, if it did.
    pub garbage_at: Option<u64>,
}

impl SegmentScan {
    /// How long the video lasts: first frame to the end of the last (the last frame lasting
    /// as long as the step before it), in 90 kHz ticks; `None` without a complete video frame.
    pub fn duration_ticks(&self) -> Option<i64> {
        (self.video_frames > 0).then(|| {
            self.video_span_ticks.saturating_add(
                self.last_frame_ticks
                    .unwrap_or(DEFAULT_FRAME_DURATION_TICKS),
            )
        })
    }

    /// [`SegmentScan::duration_ticks`] in seconds.
    pub fn duration_secs(&self) -> Option<f64> {
        self.duration_ticks()
            .map(|t| t as f64 / f64::from(CLOCK_RATE))
    }
}

/// A PES that has started but not ended.
#[derive(Debug, Clone, Copy)]
struct OpenPes {
    video: bool,
    pid: u16,
    /// Offset of its first packet.
    start: u64,
    /// `PES_packet_length` (0: unbounded, ends with the next packet that is not its own).
    declared: usize,
    /// Bytes after the length field received so far.
    got: usize,
    pts: Option<i64>,
    random_access: bool,
}

/// Scans packets pushed one at a time; see the module docs.
#[derive(Debug, Default)]
pub struct TsScanner {
    offset: u64,
    open: Option<OpenPes>,
    last_video_pts: Option<i64>,
    stopped: bool,
    scan: SegmentScan,
}

impl TsScanner {
    /// A scanner at the start of a file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the scanner has stopped (data no longer looks like ours).
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Takes the next packet (exactly [`TS_PACKET_LEN`] bytes; anything else stops the scan).
    pub fn push_packet(&mut self, p: &[u8]) {
        if self.stopped {
            return;
        }
        let Some(Packet {
            unit_start: pusi,
            pid,
            random_access,
            payload,
            ..
        }) = Packet::parse(p)
        else {
            return self.stop();
        };
        let continues_open =
            !pusi && !payload.is_empty() && self.open.is_some_and(|o| o.pid == pid);

        if continues_open {
            if let Some(open) = &mut self.open {
                open.got = open.got.saturating_add(payload.len());
            }
        } else if let Some(open) = self.open {
            // Another packet: an unbounded PES ends here; a bounded one should have ended.
            if open.declared != 0 {
                return self.stop();
            }
            self.open = None;
            if !self.commit(open) {
                return;
            }
        }

        if pusi && (pid == VIDEO_PID || pid == AUDIO_PID) {
            let Some(pes) = self.start_pes(pid, payload, random_access) else {
                return self.stop();
            };
            self.open = Some(pes);
        }
        self.offset += TS_PACKET_LEN as u64;
        self.scan.scanned_len = self.offset;
        if let Some(open) = self.open
            && open.declared != 0
            && open.got >= open.declared
        {
            self.open = None;
            self.commit(open);
        }
    }

    /// Ends the scan: a PES still open at the end (cut short, or unbounded) is not complete.
    pub fn finish(mut self) -> SegmentScan {
        let end = self.scan.garbage_at.unwrap_or(self.offset);
        self.scan.usable_len = self.open.map_or(end, |o| o.start.min(end));
        self.scan.scanned_len = self.offset;
        self.scan
    }

    fn stop(&mut self) {
        self.stopped = true;
        self.scan.garbage_at = Some(self.offset);
    }

    fn start_pes(&self, pid: u16, payload: &[u8], random_access: bool) -> Option<OpenPes> {
        let header = PesHeader::parse(payload)?;
        Some(OpenPes {
            video: pid == VIDEO_PID,
            pid,
            start: self.offset,
            declared: header.declared,
            got: payload.len() - PES_LENGTH_PREFIX_LEN,
            pts: header.pts,
            random_access,
        })
    }

    /// Counts a complete PES; false (and stopped at its start) if its timestamps are not ours.
    fn commit(&mut self, pes: OpenPes) -> bool {
        if !pes.video {
            self.scan.audio_frames += 1;
            return true;
        }
        let Some(pts) = pes.pts else {
            self.stop_at(pes.start);
            return false;
        };
        match self.last_video_pts {
            None => {
                self.scan.first_video_pts = Some(pts);
                self.scan.starts_with_keyframe = pes.random_access;
            }
            Some(prev) => {
                let step = (pts - prev).rem_euclid(PTS_MODULUS);
                if step == 0 || step >= PTS_MODULUS / 2 {
                    self.stop_at(pes.start);
                    return false;
                }
                self.scan.video_span_ticks = self.scan.video_span_ticks.saturating_add(step);
                self.scan.last_frame_ticks = Some(step);
            }
        }
        self.last_video_pts = Some(pts);
        self.scan.video_frames += 1;
        true
    }

    fn stop_at(&mut self, offset: u64) {
        self.stopped = true;
        self.scan.garbage_at = Some(offset);
    }
}

/// Scans a whole segment from `reader`, reading at most `max_bytes` (see
/// [`MAX_SCAN_BYTES`]) in chunks; memory use is one chunk.
pub fn scan_segment(reader: &mut dyn Read, max_bytes: u64) -> io::Result<SegmentScan> {
    let mut scanner = TsScanner::new();
    for_each_packet(reader, max_bytes, |p| {
        scanner.push_packet(p);
        !scanner.is_stopped()
    })?;
    Ok(scanner.finish())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::{Bytes, BytesMut};

    use super::*;
    use crate::media::{AudioCodec, AudioParams, Frame, Track, VideoCodec, VideoParams};
    use crate::record::ts::{SYNC_BYTE, TsMuxer};

    fn video(len: usize, keyframe: bool) -> Frame {
        let mut data = Vec::new();
        let mut unit = vec![0x41; len];
        if keyframe {
            unit[0] = 0x65;
        }
        crate::media::push_length_prefixed(&mut data, &unit);
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

    fn audio() -> Frame {
        Frame {
            track: Track::Audio(Arc::new(AudioParams {
                codec: AudioCodec::Aac,
                sample_rate: 48_000,
                channels: 2,
                config: Bytes::from_static(&[0x11, 0x90]),
            })),
            pts: 0,
            keyframe: true,
            data: Bytes::from_static(&[0x21, 0x10, 0x04]),
            epoch: 0,
            wallclock: chrono::DateTime::UNIX_EPOCH,
        }
    }

    /// A segment of `n` video frames (the first a keyframe; sizes vary, some unbounded), an
    /// audio frame after each; returns the bytes and where each video frame starts.
    fn segment(n: usize, start_pts: i64) -> (Vec<u8>, Vec<usize>) {
        let mut mux = TsMuxer::new();
        let mut out = BytesMut::new();
        let mut starts = Vec::new();
        for i in 0..n {
            starts.push(out.len());
            let len = if i % 3 == 0 { 70_000 } else { 500 + i * 37 };
            let pts = (start_pts + i as i64 * 3600) % PTS_MODULUS;
            mux.write_frame(&video(len, i == 0), pts, &mut out).unwrap();
            mux.write_frame(&audio(), pts + 100, &mut out).unwrap();
        }
        (out.to_vec(), starts)
    }

    fn scan(bytes: &[u8]) -> SegmentScan {
        scan_segment(&mut &bytes[..], MAX_SCAN_BYTES).unwrap()
    }

    #[test]
    fn whole_segment_counts_every_frame_but_an_unbounded_last_one() {
        let (bytes, starts) = segment(10, 126_000);
        let s = scan(&bytes);
        assert_eq!(s.scanned_len, bytes.len() as u64);
        assert_eq!(s.garbage_at, None);
        assert!(s.starts_with_keyframe);
        assert_eq!(s.first_video_pts, Some(126_000));
        // The last frame (index 9, 70 kB) is unbounded and last but for its audio frame, which
        // ends it: all 10 count.
        assert_eq!(s.video_frames, 10);
        assert_eq!(s.audio_frames, 10);
        assert_eq!(s.duration_ticks(), Some(10 * 3600));
        assert_eq!(s.usable_len, bytes.len() as u64);
        assert!(starts.len() == 10);
    }

    #[test]
    fn a_torn_tail_is_cut_at_the_start_of_its_frame() {
        let (bytes, starts) = segment(8, 126_000);
        // Cut in the middle of frame 6 (a 70 kB unbounded frame) and of frame 5.
        for (cut_in, frames) in [(6usize, 6u64), (5, 5)] {
            let cut = starts[cut_in] + 2 * TS_PACKET_LEN + 10;
            let torn = &bytes[..cut - cut % TS_PACKET_LEN];
            let s = scan(torn);
            assert_eq!(s.video_frames, frames, "cut in frame {cut_in}");
            assert_eq!(s.usable_len, starts[cut_in] as u64);
            assert_eq!(s.duration_ticks(), Some(frames as i64 * 3600));
            // Cutting there leaves a file that scans whole.
            let again = scan(&bytes[..starts[cut_in]]);
            assert_eq!(again.usable_len, starts[cut_in] as u64);
        }
        // A partial trailing packet is not scanned at all.
        let s = scan(&bytes[..starts[2] + 100]);
        assert_eq!(
            s.scanned_len,
            (starts[2] + 100 - 100 % TS_PACKET_LEN) as u64
        );
    }

    #[test]
    fn pts_wrap_is_a_small_step() {
        let (bytes, _) = segment(4, PTS_MODULUS - 3600);
        let s = scan(&bytes);
        assert_eq!(s.video_frames, 4);
        assert_eq!(s.video_span_ticks, 3 * 3600);
    }

    #[test]
    fn garbage_never_panics_and_ends_the_usable_prefix() {
        let (bytes, starts) = segment(5, 0);
        let mut bad = bytes.clone();
        bad[starts[3]] = 0x00; // sync byte of frame 3
        let s = scan(&bad);
        assert_eq!(s.garbage_at, Some(starts[3] as u64));
        assert_eq!(s.usable_len, starts[3] as u64);
        assert_eq!(s.video_frames, 3);

        // Pseudo-random bytes, with and without sync bytes, in many lengths.
        let mut x: u64 = 0x1234_5678;
        for len in [0usize, 1, 187, 188, 189, 376, 5000, 65_536] {
            let mut data: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            for p in data.chunks_mut(TS_PACKET_LEN) {
                p[0] = SYNC_BYTE;
            }
            let s = scan(&data);
            assert!(s.usable_len <= s.scanned_len && s.scanned_len <= len as u64);
        }
        // Valid segments with random bytes changed: never a panic, never more than was read,
        // and never more frames than were written.
        let (whole, _) = segment(12, 5_000);
        for round in 0..300 {
            let mut m = whole.clone();
            for _ in 0..(1 + round % 7) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let i = (x as usize) % m.len();
                m[i] = (x >> 32) as u8;
            }
            m.truncate(m.len() - (x as usize >> 40) % 3000);
            let s = scan(&m);
            assert!(s.usable_len <= s.scanned_len && s.scanned_len <= m.len() as u64);
            assert!(s.video_frames <= 12);
        }
        // The byte bound is honoured.
        let s = scan_segment(&mut &bytes[..], 10 * TS_PACKET_LEN as u64).unwrap();
        assert_eq!(s.scanned_len, 10 * TS_PACKET_LEN as u64);
    }
}

#[cfg(test)]
mod doc_examples {
    /// How `record::ts_scan::TsScanner` is used.
    #[test]
    fn ts_scanner_example() {
        use crate::record::ts_scan::TsScanner;
        let mut s = TsScanner::new();
        s.push_packet(&[0xFF; 188]); // not a transport stream packet
        let scan = s.finish();
        assert_eq!(
            (scan.usable_len, scan.video_frames, scan.garbage_at),
            (0, 0, Some(0))
        );
    }
}
