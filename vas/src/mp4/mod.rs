//! Progressive MP4 clips: a window of frames in memory, remuxed (never re-encoded) into one
//! self-contained `.mp4` that browsers, QuickTime, VLC and phones play as it downloads.
//!
//! Owns the clip layout (`ftyp`, then `moov`, then one `mdat`), the sample tables, the edit
//! lists that hide the lead-in from the keyframe before the window, the rule that makes
//! timestamps continuous across a camera reconnect, and the `stco`/`co64` decision. It is
//! sans-IO: it never opens a file, reads a clock or spawns a task; it writes to any
//! [`std::io::Write`]. It must never copy the media data: sample payloads are written straight
//! from the frames' shared buffers, so memory is the frames plus the `moov`.
//!
//! Hand-written because no well-kept Rust crate writes this (checked on docs.rs): `mp4`
//! (mp4-rust) writes `moov` after `mdat`, needs `Seek` and writes no edit lists; `muxide`
//! does fast-start but takes Annex B and seconds as `f64` and documents no edit lists, so
//! a lead-in before the window cannot be hidden; `re_mp4` (Rerun) only reads; `mp4-track` is
//! a new 0.1 crate whose writer needs `Seek` and puts `mdat` first.
//!
//! # What goes in
//!
//! * Video: H.264 (`avc1` + `avcC`) or H.265 (`hvc1` + `hvcC`, built from VPS/SPS/PPS), in
//!   decode order, the first frame a keyframe. A change of parameters inside the clip (a
//!   reconnect at another resolution) gets its own sample description.
//! * Audio: AAC only (`mp4a` + `esds`, timescale = the sample rate). G.711 and Opus frames
//!   are left out of the MP4 and reported in [`ClipInfo::dropped`] so the caller can say so.
//!
//! # Timing rules
//!
//! * **Window.** `[start, end)` in the 90 kHz clock of the clip's first epoch. The clip holds
//!   the video from the last keyframe at or before `start` to the last frame (in decode
//!   order) shown before `end`; each track's edit list starts presentation at `start` and
//!   lasts `end - start` (less if the frames end earlier; [`ClipInfo::duration_ticks`]
//!   says). The last video frame's duration is clipped to `end`.
//! * **Decode times.** When presentation times strictly increase in decode order, decode
//!   time = presentation time and there is no `ctts`. Otherwise (B-frames) decode times are
//!   the sorted presentation times (bumped to strictly increase), shifted earlier by the
//!   least amount that keeps every decode time at or before its presentation time; `ctts`
//!   holds presentation − decode (never negative, so version 0).
//! * **Epochs.** A new [`Frame::epoch`] (the camera reconnected) restarts timestamps anywhere.
//!   Its frames are shifted as a block so that its earliest frame starts where the previous
//!   epoch ended (last frame + its duration, the later of audio and video); the clip stays
//!   continuous and playable, and the window is read on that continued timeline.
//!
//! # Example

mod boxes;
mod codec;
#[cfg(test)]
pub mod fixture;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::io::Write;
use std::ops::Range;
use std::sync::Arc;

use crate::media::{AudioCodec, AudioParams, CLOCK_RATE, Frame, Track, VideoCodec, VideoParams};
use crate::{Error, ErrorKind, Result};

use boxes::Edit;

/// The movie timescale (`mvhd`, `tkhd`, `elst` durations) and the video media timescale.
pub const MOVIE_TIMESCALE: u32 = CLOCK_RATE;
/// Interleaving: each track's samples are grouped into chunks of at most this span (90 kHz
/// ticks, half a second), alternating video and audio, so a player reading the file front to
/// back has both tracks at hand.
pub const CHUNK_TICKS: i64 = 45_000;
/// The duration assumed for a frame whose successor is unknown and that has no predecessor
/// to measure from (one frame at 30 fps).
pub const DEFAULT_FRAME_TICKS: i64 = 3_000;
/// Samples in one AAC frame: the duration of the last audio sample.
pub const AAC_FRAME_SAMPLES: u32 = 1_024;
/// Track id of the video track.
const VIDEO_TRACK_ID: u32 = 1;
/// Track id of the audio track.
const AUDIO_TRACK_ID: u32 = 2;

/// What to write: frames and the window of them to show.
#[derive(Debug, Clone)]
pub struct ClipInput<'a> {
    /// Video frames in decode order, the first a keyframe, optionally interleaved with audio
    /// frames (which must increase in time within an epoch).
    pub frames: &'a [Frame],
    /// First presentation time shown (90 kHz, on the clip's timeline: see the module docs).
    pub start: i64,
    /// End of the presentation, exclusive (90 kHz).
    pub end: i64,
    /// Write `co64` even when every chunk offset fits in 32 bits (for tests of the 64-bit
    /// path without writing 4 GiB).
    #[doc(hidden)]
    pub force_co64: bool,
}

impl<'a> ClipInput<'a> {
    /// The frames of `window` (`start..end`, 90 kHz) out of `frames`.
    pub fn new(frames: &'a [Frame], window: Range<i64>) -> Self {
        ClipInput {
            frames,
            start: window.start,
            end: window.end,
            force_co64: false,
        }
    }
}

/// Why frames were left out of the MP4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The codec has no place in the clip's MP4 (G.711, Opus): only AAC audio is written.
    CodecNotWritten,
    /// AAC without an AudioSpecificConfig or with a zero sample rate.
    MissingConfig,
    /// AAC whose parameters differ from the audio track's first frame.
    ParametersChanged,
    /// An audio frame not later than the one before it.
    OutOfOrder,
}

/// Audio frames left out of the MP4, grouped by codec and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedAudio {
    /// The frames' codec.
    pub codec: AudioCodec,
    /// Why they were left out.
    pub reason: DropReason,
    /// How many frames.
    pub frames: u64,
}

/// What a clip holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipInfo {
    /// Presentation length in 90 kHz ticks: `end - start`, or less when the frames end
    /// before `end`.
    pub duration_ticks: i64,
    /// The whole file's length in bytes.
    pub bytes: u64,
    /// Video samples written (from the keyframe at or before `start`).
    pub video_samples: u32,
    /// AAC samples written.
    pub audio_samples: u32,
    /// Video shown before `start` in the file but hidden by the edit list (90 kHz ticks).
    pub lead_in_ticks: i64,
    /// Whether chunk offsets are 64-bit (`co64`) rather than 32-bit (`stco`).
    pub co64: bool,
    /// Whether a `ctts` box was written (presentation order differs from decode order).
    pub reordered: bool,
    /// How many epoch changes inside the clip were made continuous.
    pub epoch_changes: u32,
    /// Audio left out, and why.
    pub dropped: Vec<DroppedAudio>,
}

/// One sample of a track.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Index into the input frames.
    frame: usize,
    /// Decode time on the clip timeline (90 kHz), for interleaving.
    time: i64,
    /// In the track's timescale.
    duration: u32,
    /// Presentation minus decode time, track timescale.
    cts: u32,
    size: u32,
    sync: bool,
    /// 1-based sample description index.
    desc: u32,
}

/// A run of consecutive samples of one track stored together.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    first: usize,
    count: u32,
    desc: u32,
    offset: u64,
}

/// One planned track.
#[derive(Debug)]
struct TrackPlan {
    audio: bool,
    timescale: u32,
    samples: Vec<Sample>,
    chunks: Vec<Chunk>,
    /// `stsd` entries, already serialised.
    entries: Vec<Vec<u8>>,
    edits: Vec<Edit>,
    size: (u16, u16),
    reordered: bool,
}

impl TrackPlan {
    fn media_duration(&self) -> u64 {
        self.samples.iter().map(|s| u64::from(s.duration)).sum()
    }

    fn presentation(&self) -> u64 {
        self.edits.iter().map(|e| e.duration).sum()
    }
}

/// A clip planned in full before any media is written: pass one computes the sample tables
/// and the header (`ftyp` + `moov` + the `mdat` header), pass two ([`ClipWriter::write_to`])
/// writes the header and then each frame's payload, unchanged and uncopied.
#[derive(Debug)]
pub struct ClipWriter<'a> {
    frames: &'a [Frame],
    header: Vec<u8>,
    /// File order of the chunks: (track index, chunk index).
    order: Vec<(usize, usize)>,
    tracks: Vec<TrackPlan>,
    info: ClipInfo,
}

/// Writes the clip `input` describes to `out`: [`ClipWriter::new`] then
/// [`ClipWriter::write_to`]. (Tests only; the engine streams clips with [`ClipWriter`].)
#[cfg(test)]
pub fn write_clip(input: &ClipInput<'_>, out: &mut impl Write) -> Result<ClipInfo> {
    ClipWriter::new(input)?.write_to(out)
}

/// Whether chunk offsets up to `max_offset` need `co64` (a 32-bit `stco` entry cannot hold
/// them).
pub fn needs_co64(max_offset: u64) -> bool {
    max_offset > u64::from(u32::MAX)
}

fn overflow() -> Error {
    Error::invalid_input("timestamps out of range")
}

fn to_u32(v: i64, what: &str) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::invalid_input(format!("{what} out of range ({v})")))
}

/// Converts a 90 kHz time to `rate` Hz, rounding to the nearest.
fn rescale(t: i64, rate: u32) -> Result<i64> {
    let half = i128::from(CLOCK_RATE / 2);
    let v = i128::from(t) * i128::from(rate);
    let q = if v >= 0 {
        (v + half) / i128::from(CLOCK_RATE)
    } else {
        (v - half) / i128::from(CLOCK_RATE)
    };
    i64::try_from(q).map_err(|_| overflow())
}

/// The clip timeline: each frame's presentation time with later epochs shifted to follow the
/// earlier ones (see the module docs). `None` for frames no track takes.
struct Timeline {
    pts: Vec<Option<i64>>,
    changes: u32,
}

fn timeline(frames: &[Frame], takes: &[bool]) -> Result<Timeline> {
    // First presentation time of each epoch, in order of first appearance.
    let mut first: HashMap<u32, i64> = HashMap::new();
    for (f, _) in frames.iter().zip(takes).filter(|(_, t)| **t) {
        first
            .entry(f.epoch)
            .and_modify(|p| *p = (*p).min(f.pts))
            .or_insert(f.pts);
    }
    let mut offsets: HashMap<u32, i64> = HashMap::new();
    // Per track (0 video, 1 audio): last shifted time and last step.
    let mut last: [Option<(i64, i64)>; 2] = [None, None];
    let mut pts = Vec::with_capacity(frames.len());
    let mut changes = 0u32;
    for (f, take) in frames.iter().zip(takes) {
        if !*take {
            pts.push(None);
            continue;
        }
        let offset = match offsets.get(&f.epoch) {
            Some(o) => *o,
            None => {
                let o = if offsets.is_empty() {
                    0
                } else {
                    changes = changes.saturating_add(1);
                    let end = last
                        .iter()
                        .flatten()
                        .map(|(t, step)| t.saturating_add(*step))
                        .max()
                        .unwrap_or(0);
                    let begin = first.get(&f.epoch).copied().unwrap_or(f.pts);
                    end.checked_sub(begin).ok_or_else(overflow)?
                };
                offsets.insert(f.epoch, o);
                o
            }
        };
        let t = f.pts.checked_add(offset).ok_or_else(overflow)?;
        let track = usize::from(!f.is_video());
        let step = match last[track] {
            Some((prev, _)) if t > prev => t.saturating_sub(prev),
            Some((_, step)) => step,
            None => DEFAULT_FRAME_TICKS,
        };
        let newest = last[track].map_or(t, |(prev, _)| prev.max(t));
        last[track] = Some((newest, step));
        pts.push(Some(t));
    }
    Ok(Timeline { pts, changes })
}

/// Index of `params` in `list` (by value), appending it if new; 1-based.
fn description<T: PartialEq>(list: &mut Vec<Arc<T>>, params: &Arc<T>) -> Result<u32> {
    let at = match list.iter().position(|p| **p == **params) {
        Some(i) => i,
        None => {
            list.push(params.clone());
            list.len() - 1
        }
    };
    u32::try_from(at + 1).map_err(|_| Error::internal("few sample descriptions"))
}

fn size_of(frame: &Frame) -> Result<u32> {
    u32::try_from(frame.data.len())
        .map_err(|_| Error::new(ErrorKind::TooLarge, "a frame larger than 4 GiB"))
}

fn dimension(v: u32) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

/// The video track: samples from the keyframe at or before `start` to the last frame shown
/// before `end`. Returns the plan and where presentation ends on the clip timeline.
fn plan_video(
    frames: &[Frame],
    video: &[usize],
    pts: &[Option<i64>],
    start: i64,
    end: i64,
) -> Result<(TrackPlan, i64, i64)> {
    let at = |i: usize| -> Result<i64> {
        pts.get(i)
            .copied()
            .flatten()
            .ok_or_else(|| Error::internal("a video frame off the timeline"))
    };
    let Some(&first) = video.first() else {
        return Err(Error::invalid_input("no video frames"));
    };
    if !frames.get(first).is_some_and(|f| f.keyframe) {
        return Err(Error::invalid_input(
            "the first video frame is not a keyframe",
        ));
    }
    // The last keyframe at or before `start`.
    let mut key = None;
    for (n, &i) in video.iter().enumerate() {
        if frames.get(i).is_some_and(|f| f.keyframe) && at(i)? <= start {
            key = Some(n);
        }
    }
    let Some(key) = key else {
        return Err(Error::invalid_input(
            "the window starts before the first keyframe",
        ));
    };
    let mut last = key;
    for (n, &i) in video.iter().enumerate().skip(key) {
        if at(i)? < end {
            last = n;
        }
    }
    let chosen = video.get(key..=last).unwrap_or_default();
    let times: Vec<i64> = chosen.iter().map(|&i| at(i)).collect::<Result<_>>()?;
    let monotonic = times.windows(2).all(|w| w[0] < w[1]);
    let dts: Vec<i64> = if monotonic {
        times.clone()
    } else {
        let mut sorted = times.clone();
        sorted.sort_unstable();
        for n in 1..sorted.len() {
            let floor = sorted[n - 1].checked_add(1).ok_or_else(overflow)?;
            sorted[n] = sorted[n].max(floor);
        }
        let mut shift = 0i64;
        for (d, p) in sorted.iter().zip(&times) {
            shift = shift.max(d.checked_sub(*p).ok_or_else(overflow)?);
        }
        sorted
            .iter()
            .map(|d| d.checked_sub(shift).ok_or_else(overflow))
            .collect::<Result<_>>()?
    };
    let mut steps: Vec<i64> = dts
        .windows(2)
        .map(|w| w[1].checked_sub(w[0]).ok_or_else(overflow))
        .collect::<Result<_>>()?;
    let typical = steps.last().copied().unwrap_or(DEFAULT_FRAME_TICKS);
    let (Some(&last_pts), Some(&max_pts)) = (times.last(), times.iter().max()) else {
        return Err(Error::internal("a clip has at least its keyframe"));
    };
    let media_end = if monotonic {
        // Clip the last frame to the window.
        let last_step = typical.min(end.saturating_sub(last_pts)).max(1);
        steps.push(last_step);
        last_pts.checked_add(last_step).ok_or_else(overflow)?
    } else {
        steps.push(typical);
        max_pts.checked_add(typical).ok_or_else(overflow)?
    };
    let shown_end = media_end.min(end);
    if shown_end <= start {
        return Err(Error::invalid_input(
            "the window starts after the last frame",
        ));
    }
    let mut descs: Vec<Arc<VideoParams>> = Vec::new();
    let mut samples = Vec::with_capacity(chosen.len());
    for (n, &i) in chosen.iter().enumerate() {
        let f = frames
            .get(i)
            .ok_or_else(|| Error::internal("a chosen frame exists"))?;
        let Some(params) = f.video_params() else {
            return Err(Error::internal("video indices hold video frames"));
        };
        let (d, p, step) = (dts[n], times[n], steps[n]);
        samples.push(Sample {
            frame: i,
            time: d,
            duration: to_u32(step, "a gap between video frames")?,
            cts: to_u32(
                p.checked_sub(d).ok_or_else(overflow)?,
                "a reordering offset",
            )?,
            size: size_of(f)?,
            sync: f.keyframe,
            desc: description(&mut descs, params)?,
        });
    }
    let mut entries = Vec::with_capacity(descs.len());
    for p in &descs {
        let size = (dimension(p.width), dimension(p.height));
        let mut e = Vec::new();
        match p.codec {
            VideoCodec::H264 => {
                boxes::visual_entry(&mut e, b"avc1", size, b"avcC", &codec::avcc(p)?)?
            }
            VideoCodec::H265 => {
                boxes::visual_entry(&mut e, b"hvc1", size, b"hvcC", &codec::hvcc(p)?)?
            }
        }
        entries.push(e);
    }
    let first_params = descs
        .first()
        .ok_or_else(|| Error::internal("a clip has a description"))?;
    let dts0 = dts.first().copied().unwrap_or(start);
    let shown = shown_end.checked_sub(start).ok_or_else(overflow)?;
    let plan = TrackPlan {
        audio: false,
        timescale: MOVIE_TIMESCALE,
        samples,
        chunks: Vec::new(),
        entries,
        edits: vec![Edit {
            duration: u64::try_from(shown).map_err(|_| overflow())?,
            media_time: start.checked_sub(dts0).ok_or_else(overflow)?,
        }],
        size: (
            dimension(first_params.width),
            dimension(first_params.height),
        ),
        reordered: !monotonic,
    };
    let lead_in = start.saturating_sub(times.first().copied().unwrap_or(start));
    Ok((plan, shown_end, lead_in))
}

/// The audio track: the AAC frames overlapping `[start, shown_end)`.
fn plan_audio(
    frames: &[Frame],
    audio: &[usize],
    params: &AudioParams,
    pts: &[Option<i64>],
    start: i64,
    shown_end: i64,
    dropped: &mut HashMap<(AudioCodec, DropReason), u64>,
) -> Result<Option<TrackPlan>> {
    let rate = params.sample_rate;
    // (frame, 90 kHz time, time in samples), strictly increasing in both clocks.
    let mut kept: Vec<(usize, i64, i64)> = Vec::new();
    for &i in audio {
        let Some(t) = pts.get(i).copied().flatten() else {
            continue;
        };
        let s = rescale(t, rate)?;
        if kept.last().is_some_and(|(_, _, prev)| s <= *prev) {
            *dropped
                .entry((AudioCodec::Aac, DropReason::OutOfOrder))
                .or_default() += 1;
            continue;
        }
        kept.push((i, t, s));
    }
    // The last frame's span, for deciding whether it reaches into the window.
    let last_ticks = match i64::from(rate) {
        0 => DEFAULT_FRAME_TICKS,
        r => i64::from(AAC_FRAME_SAMPLES) * i64::from(CLOCK_RATE) / r,
    };
    let mut chosen: Vec<(usize, i64, i64)> = Vec::new();
    for (n, &(i, t, s)) in kept.iter().enumerate() {
        let next = kept
            .get(n + 1)
            .map_or(t.saturating_add(last_ticks), |k| k.1);
        if next > start && t < shown_end {
            chosen.push((i, t, s));
        }
    }
    let (Some(&(_, t0, s0)), true) = (chosen.first(), rate > 0) else {
        return Ok(None);
    };
    let mut samples = Vec::with_capacity(chosen.len());
    for (n, &(i, t, s)) in chosen.iter().enumerate() {
        let duration = match chosen.get(n + 1) {
            Some(next) => to_u32(next.2.checked_sub(s).ok_or_else(overflow)?, "an audio gap")?,
            None => AAC_FRAME_SAMPLES,
        };
        let f = frames
            .get(i)
            .ok_or_else(|| Error::internal("a chosen frame exists"))?;
        samples.push(Sample {
            frame: i,
            time: t,
            duration,
            cts: 0,
            size: size_of(f)?,
            sync: true,
            desc: 1,
        });
    }
    let mut edits = Vec::new();
    let span = |a: i64, b: i64| -> Result<u64> {
        u64::try_from(b.checked_sub(a).ok_or_else(overflow)?).map_err(|_| overflow())
    };
    if t0 > start {
        edits.push(Edit {
            duration: span(start, t0)?,
            media_time: -1,
        });
        edits.push(Edit {
            duration: span(t0, shown_end)?,
            media_time: 0,
        });
    } else {
        edits.push(Edit {
            duration: span(start, shown_end)?,
            media_time: rescale(start, rate)?
                .checked_sub(s0)
                .ok_or_else(overflow)?
                .max(0),
        });
    }
    let track_id = u16::try_from(AUDIO_TRACK_ID).map_err(|_| Error::internal("small id"))?;
    let mut entry = Vec::new();
    boxes::mp4a_entry(
        &mut entry,
        params.channels,
        rate,
        &codec::esds(&params.config, track_id)?,
    )?;
    Ok(Some(TrackPlan {
        audio: true,
        timescale: rate,
        samples,
        chunks: Vec::new(),
        entries: vec![entry],
        edits,
        size: (0, 0),
        reordered: false,
    }))
}

/// Groups samples into chunks: per [`CHUNK_TICKS`] slice of the timeline, a video chunk then
/// an audio chunk; a chunk also ends where the sample description changes. Returns the file
/// order of the chunks.
fn interleave(tracks: &mut [TrackPlan]) -> Result<Vec<(usize, usize)>> {
    let mut next = vec![0usize; tracks.len()];
    let mut order = Vec::new();
    loop {
        let slice_start = tracks
            .iter()
            .zip(&next)
            .filter_map(|(t, n)| t.samples.get(*n).map(|s| s.time))
            .min();
        let Some(slice_start) = slice_start else {
            break;
        };
        let slice_end = slice_start.saturating_add(CHUNK_TICKS);
        for (k, track) in tracks.iter_mut().enumerate() {
            let Some(n) = next.get_mut(k) else {
                continue;
            };
            while let Some(first) = track.samples.get(*n).copied() {
                if first.time >= slice_end {
                    break;
                }
                let mut count = 0u32;
                while let Some(s) = track.samples.get(*n) {
                    if s.desc != first.desc || (count > 0 && s.time >= slice_end) {
                        break;
                    }
                    count = count
                        .checked_add(1)
                        .ok_or_else(|| Error::internal("chunk size"))?;
                    *n += 1;
                }
                order.push((k, track.chunks.len()));
                track.chunks.push(Chunk {
                    first: *n - count as usize,
                    count,
                    desc: first.desc,
                    offset: 0,
                });
            }
        }
    }
    Ok(order)
}

/// Serialises `moov` with the chunk offsets as they stand.
fn moov(tracks: &[TrackPlan], co64: bool) -> Result<Vec<u8>> {
    let duration = tracks
        .iter()
        .map(TrackPlan::presentation)
        .max()
        .unwrap_or(0);
    let next_track = u32::try_from(tracks.len() + 1).map_err(|_| Error::internal("few tracks"))?;
    let mut out = Vec::new();
    boxes::bx(&mut out, b"moov", |o| {
        boxes::mvhd(o, MOVIE_TIMESCALE, duration, next_track)?;
        for t in tracks {
            trak(o, t, co64)?;
        }
        Ok(())
    })?;
    Ok(out)
}

fn trak(out: &mut Vec<u8>, t: &TrackPlan, co64: bool) -> Result<()> {
    let id = if t.audio {
        AUDIO_TRACK_ID
    } else {
        VIDEO_TRACK_ID
    };
    boxes::bx(out, b"trak", |o| {
        boxes::tkhd(o, id, t.presentation(), t.audio, t.size)?;
        boxes::edts(o, &t.edits)?;
        boxes::bx(o, b"mdia", |o| {
            boxes::mdhd(o, t.timescale, t.media_duration())?;
            boxes::hdlr(o, t.audio)?;
            boxes::bx(o, b"minf", |o| {
                boxes::media_header_and_dinf(o, t.audio)?;
                boxes::bx(o, b"stbl", |o| stbl(o, t, co64))
            })
        })
    })
}

fn stbl(o: &mut Vec<u8>, t: &TrackPlan, co64: bool) -> Result<()> {
    let count = u32::try_from(t.entries.len()).map_err(|_| Error::internal("few entries"))?;
    boxes::full(o, b"stsd", 0, 0, |o| {
        boxes::u32be(o, count);
        t.entries.iter().for_each(|e| o.extend_from_slice(e));
        Ok(())
    })?;
    boxes::pair_table(
        o,
        b"stts",
        &boxes::runs(t.samples.iter().map(|s| s.duration)),
    )?;
    if t.reordered {
        boxes::pair_table(o, b"ctts", &boxes::runs(t.samples.iter().map(|s| s.cts)))?;
    }
    if !t.audio {
        let sync: Vec<u32> = (1u32..)
            .zip(&t.samples)
            .filter(|(_, s)| s.sync)
            .map(|(n, _)| n)
            .collect();
        boxes::stss(o, &sync)?;
    }
    let mut stsc: Vec<(u32, u32, u32)> = Vec::new();
    for (n, c) in (1u32..).zip(&t.chunks) {
        if stsc
            .last()
            .is_none_or(|(_, per, desc)| *per != c.count || *desc != c.desc)
        {
            stsc.push((n, c.count, c.desc));
        }
    }
    boxes::stsc(o, &stsc)?;
    let sizes: Vec<u32> = t.samples.iter().map(|s| s.size).collect();
    boxes::stsz(o, &sizes)?;
    let offsets: Vec<u64> = t.chunks.iter().map(|c| c.offset).collect();
    boxes::chunk_offsets(o, &offsets, co64)
}

/// Sets every chunk's offset, the media data starting at `data_start`; returns the largest.
fn place(tracks: &mut [TrackPlan], order: &[(usize, usize)], data_start: u64) -> Result<u64> {
    let mut at = data_start;
    let mut max = 0;
    for &(k, c) in order {
        let track = tracks
            .get_mut(k)
            .ok_or_else(|| Error::internal("chunk of a planned track"))?;
        let chunk = track
            .chunks
            .get(c)
            .copied()
            .ok_or_else(|| Error::internal("planned chunk"))?;
        let bytes: u64 = track
            .samples
            .get(chunk.first..chunk.first.saturating_add(chunk.count as usize))
            .ok_or_else(|| Error::internal("a chunk's samples"))?
            .iter()
            .map(|s| u64::from(s.size))
            .sum();
        if let Some(ch) = track.chunks.get_mut(c) {
            ch.offset = at;
        }
        max = max.max(at);
        at = at
            .checked_add(bytes)
            .ok_or_else(|| Error::new(ErrorKind::TooLarge, "clip too large"))?;
    }
    Ok(max)
}

impl<'a> ClipWriter<'a> {
    /// Pass one: checks the input, picks the samples and builds the header. Errors:
    /// `InvalidInput` for no frames, no video, a first video frame that is not a keyframe,
    /// an empty window or one outside the frames, malformed parameter sets or timestamps
    /// out of range; `Unsupported` for a video codec other than H.264/H.265; `TooLarge` for a
    /// frame or box past 4 GiB.
    pub fn new(input: &ClipInput<'a>) -> Result<Self> {
        let frames = input.frames;
        let (start, end) = (input.start, input.end);
        if frames.is_empty() {
            return Err(Error::invalid_input("no frames"));
        }
        if end <= start {
            return Err(Error::invalid_input(format!(
                "empty window: end {end} is not after start {start}"
            )));
        }
        let mut dropped: HashMap<(AudioCodec, DropReason), u64> = HashMap::new();
        let mut video = Vec::new();
        let mut audio = Vec::new();
        let mut audio_params: Option<Arc<AudioParams>> = None;
        let mut takes = Vec::with_capacity(frames.len());
        for (i, f) in frames.iter().enumerate() {
            let take = match &f.track {
                Track::Video(p) => {
                    match p.codec {
                        VideoCodec::H264 | VideoCodec::H265 => {}
                        #[allow(unreachable_patterns)]
                        _ => {
                            return Err(Error::new(
                                ErrorKind::Unsupported,
                                format!("MP4 clips carry H.264 or H.265, not {:?}", p.codec),
                            ));
                        }
                    }
                    video.push(i);
                    true
                }
                Track::Audio(p) => {
                    let reason = match p.codec {
                        AudioCodec::Aac if p.config.is_empty() || p.sample_rate == 0 => {
                            Some(DropReason::MissingConfig)
                        }
                        AudioCodec::Aac => match &audio_params {
                            Some(first) if **first != **p => Some(DropReason::ParametersChanged),
                            _ => None,
                        },
                        _ => Some(DropReason::CodecNotWritten),
                    };
                    match reason {
                        Some(r) => {
                            *dropped.entry((p.codec, r)).or_default() += 1;
                            false
                        }
                        None => {
                            audio_params.get_or_insert_with(|| p.clone());
                            audio.push(i);
                            true
                        }
                    }
                }
            };
            takes.push(take);
        }
        let line = timeline(frames, &takes)?;
        let (video_plan, shown_end, lead_in) = plan_video(frames, &video, &line.pts, start, end)?;
        let mut tracks = vec![video_plan];
        if let Some(p) = &audio_params
            && let Some(a) =
                plan_audio(frames, &audio, p, &line.pts, start, shown_end, &mut dropped)?
        {
            tracks.push(a);
        }
        let order = interleave(&mut tracks)?;

        let mut ftyp = Vec::new();
        boxes::ftyp(&mut ftyp)?;
        let payload: u64 = tracks
            .iter()
            .flat_map(|t| &t.samples)
            .map(|s| u64::from(s.size))
            .sum();
        let mdat = boxes::mdat_header(payload)?;
        // The moov's size does not depend on the offsets' values, only on their width.
        let mut co64 = input.force_co64;
        let mut moov_len = moov(&tracks, co64)?.len();
        let lead = |moov_len: usize| -> u64 { (ftyp.len() + moov_len + mdat.len()) as u64 };
        let max = place(&mut tracks, &order, lead(moov_len))?;
        if !co64 && needs_co64(max) {
            co64 = true;
            moov_len = moov(&tracks, co64)?.len();
            place(&mut tracks, &order, lead(moov_len))?;
        }
        let moov = moov(&tracks, co64)?;
        if moov.len() != moov_len {
            return Err(Error::internal(
                "the moov changed size once offsets were set",
            ));
        }
        let mut header = ftyp;
        header.extend_from_slice(&moov);
        header.extend_from_slice(&mdat);
        let bytes = (header.len() as u64)
            .checked_add(payload)
            .ok_or_else(|| Error::new(ErrorKind::TooLarge, "clip too large"))?;

        let count = |audio: bool| {
            tracks
                .iter()
                .filter(|t| t.audio == audio)
                .map(|t| u32::try_from(t.samples.len()).unwrap_or(u32::MAX))
                .sum::<u32>()
        };
        let mut dropped: Vec<DroppedAudio> = dropped
            .into_iter()
            .map(|((codec, reason), frames)| DroppedAudio {
                codec,
                reason,
                frames,
            })
            .collect();
        dropped.sort_by_key(|d| (format!("{:?}", d.codec), format!("{:?}", d.reason)));
        let info = ClipInfo {
            duration_ticks: shown_end.saturating_sub(start),
            bytes,
            video_samples: count(false),
            audio_samples: count(true),
            lead_in_ticks: lead_in,
            co64,
            reordered: tracks.iter().any(|t| t.reordered),
            epoch_changes: line.changes,
            dropped,
        };
        Ok(ClipWriter {
            frames,
            header,
            order,
            tracks,
            info,
        })
    }

    /// What the clip holds (known before writing).
    #[cfg(any(test, feature = "_internal_test_exports"))]
    pub fn info(&self) -> &ClipInfo {
        &self.info
    }

    /// The file's length in bytes (known before writing).
    #[allow(clippy::len_without_is_empty)] // a clip is never empty
    #[cfg(any(test, feature = "_internal_test_exports"))]
    pub fn len(&self) -> u64 {
        self.info.bytes
    }

    /// Everything before the media data: `ftyp`, `moov` and the `mdat` header.
    #[cfg(any(test, feature = "_internal_test_exports"))]
    pub fn header(&self) -> &[u8] {
        &self.header
    }

    /// Pass two: writes the header, then every sample's payload straight from its frame.
    pub fn write_to(&self, out: &mut impl Write) -> Result<ClipInfo> {
        out.write_all(&self.header)?;
        for &(k, c) in &self.order {
            let Some(track) = self.tracks.get(k) else {
                return Err(Error::internal("chunk of a planned track"));
            };
            let Some(chunk) = track.chunks.get(c) else {
                return Err(Error::internal("planned chunk"));
            };
            let end = chunk.first.saturating_add(chunk.count as usize);
            for s in track.samples.get(chunk.first..end).unwrap_or_default() {
                let Some(f) = self.frames.get(s.frame) else {
                    return Err(Error::internal("a sample's frame"));
                };
                out.write_all(&f.data)?;
            }
        }
        out.flush()?;
        Ok(self.info.clone())
    }
}

#[cfg(test)]
mod doc_examples {
    /// How `mp4` is used.
    #[test]
    fn mp4_example() -> Result<(), Box<dyn std::error::Error>> {
        use crate::media::{Frame, Track, VideoCodec, VideoParams};
        use crate::mp4::{ClipInput, ClipWriter};
        use std::sync::Arc;

        let params = Arc::new(VideoParams {
            codec: VideoCodec::H264,
            width: 640,
            height: 360,
            vps: None,
            sps: bytes::Bytes::from_static(&[0x67, 0x42, 0xC0, 0x1E]),
            pps: bytes::Bytes::from_static(&[0x68, 0xCE, 0x3C, 0x80]),
            rfc6381_codec: "avc1.42C01E".into(),
        });
        let frames: Vec<Frame> = (0..60)
            .map(|n| Frame {
                track: Track::Video(params.clone()),
                pts: n * 3_000, // 30 fps
                keyframe: n % 30 == 0,
                data: bytes::Bytes::from_static(&[0, 0, 0, 2, 0x65, 0x88]),
                epoch: 0,
                wallclock: chrono::Utc::now(),
            })
            .collect();
        // Pass one: the sample tables and the whole header, before any media is written.
        let clip = ClipWriter::new(&ClipInput::new(&frames, 45_000..135_000))?;
        assert_eq!(clip.info().duration_ticks, 90_000); // one second, from 0.5 s to 1.5 s
        let length = clip.len(); // e.g. for Content-Length
        // Pass two: header, then each frame's payload as it is.
        let mut out = Vec::new();
        let info = clip.write_to(&mut out)?;
        assert_eq!(out.len() as u64, length);
        assert_eq!(info.video_samples, 45); // from the keyframe at 0 s to the frame at 1.467 s
        assert_eq!(info.lead_in_ticks, 45_000); // decoded but hidden by the edit list
        assert_eq!(&out[4..8], b"ftyp");
        Ok(())
    }
}
