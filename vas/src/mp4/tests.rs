//! Box structure read back with an independent little parser: sizes add up, `moov` before
//! `mdat`, every chunk offset points at its samples' bytes, edit lists, `ctts`, epochs,
//! dropped audio and every error path.

use super::*;
use bytes::Bytes;

const FPS30: i64 = 3_000;
const AAC_TICKS: i64 = 1_920; // 1024 samples at 48 kHz

fn h264() -> Arc<VideoParams> {
    Arc::new(VideoParams {
        codec: VideoCodec::H264,
        width: 640,
        height: 360,
        vps: None,
        sps: Bytes::from_static(&[0x67, 0x42, 0xC0, 0x1E, 0xAB]),
        pps: Bytes::from_static(&[0x68, 0xCE, 0x3C, 0x80]),
        rfc6381_codec: "avc1.42C01E".into(),
    })
}

fn aac() -> Arc<AudioParams> {
    Arc::new(AudioParams {
        codec: AudioCodec::Aac,
        sample_rate: 48_000,
        channels: 2,
        config: Bytes::from_static(&[0x11, 0x90]),
    })
}

/// A frame whose payload names it (`tag`), so a test can find it in the output.
fn frame(track: Track, pts: i64, keyframe: bool, epoch: u32, tag: u32) -> Frame {
    let mut data = vec![0, 0, 0, 9, 0x65];
    data.extend_from_slice(&tag.to_be_bytes());
    data.extend_from_slice(&[0xAB; 4]);
    Frame {
        track,
        pts,
        keyframe,
        data: Bytes::from(data),
        epoch,
        wallclock: chrono::DateTime::UNIX_EPOCH,
    }
}

/// `n` video frames at 30 fps from `pts0`, a keyframe every `gop`.
fn video(n: u32, gop: u32, pts0: i64, epoch: u32) -> Vec<Frame> {
    (0..n)
        .map(|i| {
            let pts = pts0 + i64::from(i) * FPS30;
            frame(Track::Video(h264()), pts, i % gop == 0, epoch, 1_000 + i)
        })
        .collect()
}

/// Video plus AAC at 48 kHz over the same span, interleaved by time.
fn with_audio(mut frames: Vec<Frame>, audio: &Arc<AudioParams>) -> Vec<Frame> {
    let span = frames.last().map_or(0, |f| f.pts + FPS30);
    let mut t = 0;
    let mut tag = 50_000;
    while t < span {
        frames.push(frame(Track::Audio(audio.clone()), t, true, 0, tag));
        t += AAC_TICKS;
        tag += 1;
    }
    frames.sort_by_key(|f| (f.pts, !f.is_video()));
    frames
}

// ---------------------------------------------------------------------------------------
// An independent reader.

/// `(type, start, end)` of the boxes in `data[from..to]`.
fn walk(data: &[u8], from: usize, to: usize) -> Vec<([u8; 4], usize, usize)> {
    let mut out = Vec::new();
    let mut at = from;
    while at + 8 <= to {
        let mut size = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        let kind: [u8; 4] = data[at + 4..at + 8].try_into().unwrap();
        if size == 1 {
            size = u64::from_be_bytes(data[at + 8..at + 16].try_into().unwrap()) as usize;
        }
        assert!(
            size >= 8 && at + size <= to,
            "box {kind:?} at {at} overruns"
        );
        out.push((kind, at, at + size));
        at += size;
    }
    assert_eq!(at, to, "boxes do not fill their parent");
    out
}

/// Header length of the box at `start` (8, or 16 with a 64-bit size).
fn header_len(data: &[u8], start: usize) -> usize {
    if data[start..start + 4] == [0, 0, 0, 1] {
        16
    } else {
        8
    }
}

/// The children of the container box `(start, end)`.
fn children(data: &[u8], b: (usize, usize)) -> Vec<([u8; 4], usize, usize)> {
    walk(data, b.0 + header_len(data, b.0), b.1)
}

/// The body (after the header) of the first child of type `kind`.
fn child(data: &[u8], b: (usize, usize), kind: &[u8; 4]) -> Option<(usize, usize)> {
    children(data, b)
        .into_iter()
        .find(|(k, _, _)| k == kind)
        .map(|(_, s, e)| (s, e))
}

fn path(data: &[u8], b: (usize, usize), kinds: &[&[u8; 4]]) -> (usize, usize) {
    kinds.iter().fold(b, |b, k| {
        child(data, b, k).unwrap_or_else(|| panic!("no {}", String::from_utf8_lossy(*k)))
    })
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(data[at..at + 4].try_into().unwrap())
}

fn u64_at(data: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(data[at..at + 8].try_into().unwrap())
}

/// The entries of a full box table of `width`-byte rows after its entry count.
fn table(data: &[u8], b: (usize, usize), width: usize) -> Vec<&[u8]> {
    let body = b.0 + 8 + 4;
    let n = u32_at(data, b.0 + 12) as usize;
    (0..n)
        .map(|i| &data[body + 4 + i * width..body + 4 + (i + 1) * width])
        .collect()
}

struct Parsed {
    moov: (usize, usize),
    traks: Vec<(usize, usize)>,
}

fn parse(out: &[u8]) -> Parsed {
    let top = walk(out, 0, out.len());
    let kinds: Vec<&[u8; 4]> = top.iter().map(|(k, _, _)| k).collect();
    assert_eq!(kinds, [b"ftyp", b"moov", b"mdat"], "top-level layout");
    let moov = (top[1].1, top[1].2);
    let traks = children(out, moov)
        .into_iter()
        .filter(|(k, _, _)| k == b"trak")
        .map(|(_, s, e)| (s, e))
        .collect();
    Parsed { moov, traks }
}

fn stbl(out: &[u8], trak: (usize, usize)) -> (usize, usize) {
    path(out, trak, &[b"mdia", b"minf", b"stbl"])
}

/// Each sample's (offset, size) from stsc + stco/co64 + stsz.
fn sample_offsets(out: &[u8], trak: (usize, usize)) -> Vec<(u64, u32)> {
    let st = stbl(out, trak);
    let stsz = child(out, st, b"stsz").unwrap();
    assert_eq!(u32_at(out, stsz.0 + 12), 0, "per-sample sizes");
    let count = u32_at(out, stsz.0 + 16) as usize;
    let sizes: Vec<u32> = (0..count)
        .map(|i| u32_at(out, stsz.0 + 20 + 4 * i))
        .collect();
    let offsets: Vec<u64> = if let Some(b) = child(out, st, b"co64") {
        assert!(child(out, st, b"stco").is_none());
        let n = u32_at(out, b.0 + 12) as usize;
        (0..n).map(|i| u64_at(out, b.0 + 16 + 8 * i)).collect()
    } else {
        let b = child(out, st, b"stco").unwrap();
        let n = u32_at(out, b.0 + 12) as usize;
        (0..n)
            .map(|i| u64::from(u32_at(out, b.0 + 16 + 4 * i)))
            .collect()
    };
    let stsc: Vec<(u32, u32)> = table(out, child(out, st, b"stsc").unwrap(), 12)
        .iter()
        .map(|r| (u32_at(r, 0), u32_at(r, 4)))
        .collect();
    let mut result = Vec::new();
    let mut sample = 0;
    for (c, &off) in offsets.iter().enumerate() {
        let chunk = c as u32 + 1;
        let per = stsc
            .iter()
            .rev()
            .find(|(first, _)| *first <= chunk)
            .unwrap()
            .1;
        let mut at = off;
        for _ in 0..per {
            result.push((at, sizes[sample]));
            at += u64::from(sizes[sample]);
            sample += 1;
        }
    }
    assert_eq!(sample, sizes.len(), "stsc covers every sample");
    result
}

fn handler(out: &[u8], trak: (usize, usize)) -> [u8; 4] {
    let h = path(out, trak, &[b"mdia", b"hdlr"]);
    out[h.0 + 16..h.0 + 20].try_into().unwrap()
}

fn elst(out: &[u8], trak: (usize, usize)) -> Vec<(u64, i64)> {
    let b = path(out, trak, &[b"edts", b"elst"]);
    let version = out[b.0 + 8];
    let n = u32_at(out, b.0 + 12) as usize;
    (0..n)
        .map(|i| {
            if version == 1 {
                let at = b.0 + 16 + 20 * i;
                (u64_at(out, at), u64_at(out, at + 8) as i64)
            } else {
                let at = b.0 + 16 + 12 * i;
                (
                    u64::from(u32_at(out, at)),
                    i64::from(u32_at(out, at + 4) as i32),
                )
            }
        })
        .collect()
}

fn stts(out: &[u8], trak: (usize, usize)) -> Vec<u32> {
    table(out, child(out, stbl(out, trak), b"stts").unwrap(), 8)
        .iter()
        .flat_map(|r| std::iter::repeat_n(u32_at(r, 4), u32_at(r, 0) as usize))
        .collect()
}

fn write(frames: &[Frame], window: Range<i64>, force_co64: bool) -> (Vec<u8>, ClipInfo) {
    let mut input = ClipInput::new(frames, window);
    input.force_co64 = force_co64;
    let mut out = Vec::new();
    let info = write_clip(&input, &mut out).expect("clip");
    assert_eq!(info.bytes, out.len() as u64, "ClipInfo.bytes is the length");
    (out, info)
}

/// Every sample's bytes at its offset are the payload of the frame it came from, in order.
fn check_payloads(out: &[u8], trak: (usize, usize), expected: &[&Frame]) {
    let samples = sample_offsets(out, trak);
    assert_eq!(samples.len(), expected.len(), "sample count");
    for ((off, size), f) in samples.iter().zip(expected) {
        assert_eq!(*size as usize, f.data.len());
        let at = *off as usize;
        assert_eq!(&out[at..at + f.data.len()], &f.data[..], "sample at {off}");
    }
}

// ---------------------------------------------------------------------------------------

#[test]
fn boxes_add_up_and_moov_precedes_mdat() {
    let frames = with_audio(video(90, 30, 0, 0), &aac());
    let clip = ClipWriter::new(&ClipInput::new(&frames, 21_000..78_000)).unwrap();
    let mut out = Vec::new();
    clip.write_to(&mut out).unwrap();
    assert_eq!(clip.len(), out.len() as u64);
    assert!(out.starts_with(clip.header()));
    let p = parse(&out);
    assert_eq!(&out[8..12], b"isom");
    assert!(out[16..32].windows(4).any(|w| w == b"avc1"));
    assert_eq!(p.traks.len(), 2);
    assert_eq!(handler(&out, p.traks[0]), *b"vide");
    assert_eq!(handler(&out, p.traks[1]), *b"soun");
    // The mvhd timescale is 90 kHz, the audio mdhd's the sample rate.
    let mvhd = child(&out, p.moov, b"mvhd").unwrap();
    assert_eq!(u32_at(&out, mvhd.0 + 20), 90_000);
    let mdhd = path(&out, p.traks[1], &[b"mdia", b"mdhd"]);
    assert_eq!(u32_at(&out, mdhd.0 + 20), 48_000);
    assert!(!clip.info().co64);
}

#[test]
fn chunk_offsets_point_at_each_samples_bytes_with_stco_and_co64() {
    let frames = with_audio(video(90, 30, 0, 0), &aac());
    for force in [false, true] {
        let (out, info) = write(&frames, 21_000..234_000, force);
        assert_eq!(info.co64, force);
        let p = parse(&out);
        let st = stbl(&out, p.traks[0]);
        assert_eq!(child(&out, st, b"co64").is_some(), force);
        // Video from the keyframe at 0 (start 21000 is in the first GOP) to pts < 234000.
        let v: Vec<&Frame> = frames
            .iter()
            .filter(|f| f.is_video() && f.pts < 234_000)
            .collect();
        check_payloads(&out, p.traks[0], &v);
        let a: Vec<&Frame> = frames
            .iter()
            .filter(|f| !f.is_video() && f.pts + AAC_TICKS > 21_000 && f.pts < 234_000)
            .collect();
        check_payloads(&out, p.traks[1], &a);
        // Interleaved: more than one chunk per track, alternating in the file.
        assert!(sample_offsets(&out, p.traks[1]).len() > 1);
        let st_a = stbl(&out, p.traks[1]);
        let chunks = |st| {
            let b = child(&out, st, if force { b"co64" } else { b"stco" }).unwrap();
            u32_at(&out, b.0 + 12)
        };
        assert!(chunks(st) >= 5 && chunks(st_a) >= 5, "half-second chunks");
    }
}

#[test]
fn co64_is_needed_exactly_past_u32() {
    assert!(!needs_co64(0));
    assert!(!needs_co64(u64::from(u32::MAX)));
    assert!(needs_co64(u64::from(u32::MAX) + 1));
    // The mdat header grows to 16 bytes exactly when its 32-bit size would overflow.
    assert_eq!(
        boxes::mdat_header(u64::from(u32::MAX) - 8).unwrap().len(),
        8
    );
    assert_eq!(
        boxes::mdat_header(u64::from(u32::MAX) - 7).unwrap().len(),
        16
    );
    let big = boxes::mdat_header(5_000_000_000).unwrap();
    assert_eq!(&big[..8], &[0, 0, 0, 1, b'm', b'd', b'a', b't']);
    assert_eq!(u64_at(&big, 8), 5_000_000_016);
    // stco refuses an offset it cannot hold instead of truncating it.
    let mut o = Vec::new();
    assert!(boxes::chunk_offsets(&mut o, &[u64::from(u32::MAX) + 1], false).is_err());
    assert!(boxes::chunk_offsets(&mut o, &[u64::from(u32::MAX) + 1], true).is_ok());
}

#[test]
fn edit_list_hides_the_lead_in_and_clips_the_last_frame() {
    let frames = video(90, 30, 0, 0);
    // Start 0.7 s (after the keyframe at 0 s... no: keyframes at 0, 1, 2 s), end 2.6 s.
    let (out, info) = write(&frames, 63_000..234_000, false);
    let p = parse(&out);
    assert_eq!(info.duration_ticks, 171_000);
    assert_eq!(info.lead_in_ticks, 63_000, "from the keyframe at 0 s");
    assert_eq!(info.video_samples, 78, "frames 0..=77 (pts < 2.6 s)");
    assert_eq!(elst(&out, p.traks[0]), [(171_000, 63_000)]);
    let d = stts(&out, p.traks[0]);
    assert_eq!(d.len(), 78);
    assert!(
        d.iter().all(|&x| x == 3_000),
        "2.6 s is on a frame boundary"
    );
    // A window ending mid-frame clips that frame.
    let (out, info) = write(&frames, 90_000..100_000, false);
    let p = parse(&out);
    assert_eq!(info.lead_in_ticks, 0, "the keyframe at 1 s");
    assert_eq!(stts(&out, p.traks[0]), [3_000, 3_000, 3_000, 1_000]);
    assert_eq!(elst(&out, p.traks[0]), [(10_000, 0)]);
    assert!(child(&out, stbl(&out, p.traks[0]), b"ctts").is_none());
    let stss = child(&out, stbl(&out, p.traks[0]), b"stss").unwrap();
    assert_eq!(table(&out, stss, 4), [&1u32.to_be_bytes()[..]]);
    // mvhd and tkhd say the presentation length.
    let mvhd = child(&out, p.moov, b"mvhd").unwrap();
    assert_eq!(u32_at(&out, mvhd.0 + 24), 10_000);
}

#[test]
fn window_past_the_last_frame_is_shortened_and_reported() {
    let frames = video(30, 30, 0, 0);
    let (_, info) = write(&frames, 45_000..900_000, false);
    assert_eq!(info.duration_ticks, 90_000 - 45_000, "frames end at 1 s");
}

#[test]
fn reordered_frames_get_monotonic_decode_times_and_ctts() {
    // Decode order I P B B P B B ..., presentation 0 3 1 2 6 4 5 (in frames).
    let order = [0i64, 3, 1, 2, 6, 4, 5, 9, 7, 8];
    let frames: Vec<Frame> = order
        .iter()
        .enumerate()
        .map(|(n, &k)| {
            frame(
                Track::Video(h264()),
                10_000 + k * FPS30,
                n == 0,
                0,
                n as u32,
            )
        })
        .collect();
    let (out, info) = write(&frames, 10_000..40_000, false);
    assert!(info.reordered);
    let p = parse(&out);
    let st = stbl(&out, p.traks[0]);
    let ctts: Vec<u32> = table(&out, child(&out, st, b"ctts").unwrap(), 8)
        .iter()
        .flat_map(|r| std::iter::repeat_n(u32_at(r, 4), u32_at(r, 0) as usize))
        .collect();
    let d = stts(&out, p.traks[0]);
    assert!(d.iter().all(|&x| x > 0), "decode times strictly increase");
    // dts_n = shift-adjusted sorted pts; pts_n = dts_n + ctts_n must give back `order`.
    let elst = elst(&out, p.traks[0]);
    let mut dts = 0i64;
    let mut shown = Vec::new();
    for (dur, cts) in d.iter().zip(&ctts) {
        shown.push(dts + i64::from(*cts));
        dts += i64::from(*dur);
    }
    let base = elst[0].1; // the media time of `start` (pts 10000, frame 0)
    let back: Vec<i64> = shown.iter().map(|t| (t - base) / FPS30).collect();
    assert_eq!(back, order);
    assert_eq!(elst[0].0, 30_000);
}

#[test]
fn an_epoch_change_continues_the_timeline() {
    let mut frames = video(30, 30, 0, 0);
    // The camera reconnects: timestamps restart far away, with a keyframe.
    frames.extend(video(30, 30, 7_000_000, 1));
    let (out, info) = write(&frames, 30_000..150_000, false);
    assert_eq!(info.epoch_changes, 1);
    assert_eq!(info.duration_ticks, 120_000);
    let p = parse(&out);
    let d = stts(&out, p.traks[0]);
    assert_eq!(d.len(), 50, "frames 0..50 on the continued timeline");
    assert!(d.iter().all(|&x| x == 3_000), "no gap or jump: {d:?}");
    let stss = child(&out, stbl(&out, p.traks[0]), b"stss").unwrap();
    assert_eq!(
        table(&out, stss, 4).len(),
        2,
        "both keyframes are sync samples"
    );
    let v: Vec<&Frame> = frames.iter().take(50).collect();
    check_payloads(&out, p.traks[0], &v);
}

#[test]
fn a_parameter_change_gets_a_second_sample_description() {
    let mut frames = video(30, 30, 0, 0);
    let mut other = (*h264()).clone();
    other.width = 320;
    other.height = 180;
    let other = Arc::new(other);
    for f in video(30, 30, 90_000, 0) {
        frames.push(Frame {
            track: Track::Video(other.clone()),
            ..f
        });
    }
    let (out, _) = write(&frames, 0..180_000, false);
    let p = parse(&out);
    let st = stbl(&out, p.traks[0]);
    let stsd = child(&out, st, b"stsd").unwrap();
    assert_eq!(u32_at(&out, stsd.0 + 12), 2);
    let stsc = table(&out, child(&out, st, b"stsc").unwrap(), 12);
    let descs: Vec<u32> = stsc.iter().map(|r| u32_at(r, 8)).collect();
    assert_eq!(descs.first(), Some(&1));
    assert_eq!(descs.last(), Some(&2));
}

#[test]
fn audio_gets_its_own_edit_list_on_the_same_window() {
    let frames = with_audio(video(90, 30, 0, 0), &aac());
    let (out, info) = write(&frames, 63_000..234_000, false);
    let p = parse(&out);
    let e = elst(&out, p.traks[1]);
    assert_eq!(e.len(), 1);
    assert_eq!(
        e[0].0, 171_000,
        "same presentation length as video (movie timescale)"
    );
    // The first audio frame kept starts at or before 0.7 s; media_time is in samples.
    let first = (63_000 / AAC_TICKS) * AAC_TICKS;
    assert_eq!(e[0].1, (63_000 - first) * 48_000 / 90_000);
    assert!(info.audio_samples > 80);
    // Audio starting after the window start gets an empty edit first.
    let late: Vec<Frame> = frames
        .iter()
        .filter(|f| f.is_video() || f.pts >= 100_000)
        .cloned()
        .collect();
    let (out, _) = write(&late, 63_000..234_000, false);
    let p = parse(&out);
    let first_audio = late.iter().find(|f| !f.is_video()).unwrap().pts;
    assert_eq!(
        elst(&out, p.traks[1]),
        [
            (first_audio as u64 - 63_000, -1),
            (234_000 - first_audio as u64, 0)
        ]
    );
}

#[test]
fn g711_and_opus_are_left_out_and_reported() {
    let pcmu = Arc::new(AudioParams {
        codec: AudioCodec::Pcmu,
        sample_rate: 8_000,
        channels: 1,
        config: Bytes::new(),
    });
    let opus = Arc::new(AudioParams {
        codec: AudioCodec::Opus,
        sample_rate: 48_000,
        channels: 2,
        config: Bytes::new(),
    });
    let mut frames = with_audio(video(30, 30, 0, 0), &pcmu);
    frames.push(frame(Track::Audio(opus), 1_000, true, 0, 7));
    let (out, info) = write(&frames, 0..90_000, false);
    assert_eq!(parse(&out).traks.len(), 1, "video only");
    assert_eq!(info.audio_samples, 0);
    let reasons: Vec<(AudioCodec, DropReason)> =
        info.dropped.iter().map(|d| (d.codec, d.reason)).collect();
    assert!(reasons.contains(&(AudioCodec::Pcmu, DropReason::CodecNotWritten)));
    assert!(reasons.contains(&(AudioCodec::Opus, DropReason::CodecNotWritten)));
    let pcmu_count = info
        .dropped
        .iter()
        .find(|d| d.codec == AudioCodec::Pcmu)
        .unwrap();
    assert_eq!(pcmu_count.frames, 47, "every G.711 frame counted");
}

#[test]
fn bad_inputs_are_clear_errors() {
    let frames = video(60, 30, 90_000, 0);
    let kind = |frames: &[Frame], w: Range<i64>| {
        ClipWriter::new(&ClipInput::new(frames, w))
            .unwrap_err()
            .kind()
    };
    assert_eq!(kind(&[], 0..1), ErrorKind::InvalidInput);
    assert_eq!(kind(&frames, 100_000..100_000), ErrorKind::InvalidInput);
    assert_eq!(
        kind(&frames, 0..100_000),
        ErrorKind::InvalidInput,
        "before the keyframe"
    );
    assert_eq!(
        kind(&frames, 900_000..990_000),
        ErrorKind::InvalidInput,
        "after the end"
    );
    assert_eq!(
        kind(&frames[1..], 100_000..200_000),
        ErrorKind::InvalidInput
    );
    let audio_only = vec![frame(Track::Audio(aac()), 0, true, 0, 1)];
    assert_eq!(kind(&audio_only, 0..1_000), ErrorKind::InvalidInput);
    let mut hevc = (*h264()).clone();
    hevc.codec = VideoCodec::H265; // no VPS: cannot make an hvcC
    let bad: Vec<Frame> = frames
        .iter()
        .map(|f| Frame {
            track: Track::Video(Arc::new(hevc.clone())),
            ..f.clone()
        })
        .collect();
    assert_eq!(kind(&bad, 100_000..200_000), ErrorKind::InvalidInput);
    let mut short = (*h264()).clone();
    short.sps = Bytes::from_static(&[0x67]);
    let bad: Vec<Frame> = frames
        .iter()
        .map(|f| Frame {
            track: Track::Video(Arc::new(short.clone())),
            ..f.clone()
        })
        .collect();
    assert_eq!(kind(&bad, 100_000..200_000), ErrorKind::InvalidInput);
    // Timestamps at the ends of i64 do not overflow.
    let extreme = vec![
        frame(Track::Video(h264()), i64::MAX - 1, true, 0, 1),
        frame(Track::Video(h264()), i64::MIN, false, 1, 2),
    ];
    let _ = ClipWriter::new(&ClipInput::new(&extreme, i64::MAX - 1..i64::MAX));
    let _ = ClipWriter::new(&ClipInput::new(&extreme, i64::MIN..i64::MAX));
}

#[test]
fn hostile_sample_lists_never_panic_and_boxes_add_up() {
    // A small deterministic generator: timestamps that jump, repeat and go backwards,
    // epochs, missing keyframes, odd audio.
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut ok = 0;
    for _ in 0..400 {
        let n = (next() % 40) as usize + 1;
        let mut pts = (next() % 1_000_000) as i64 - 500_000;
        let mut frames = Vec::new();
        for i in 0..n {
            let r = next();
            pts += match r % 7 {
                0 => -(((r >> 8) % 10_000) as i64),
                1 => 0,
                _ => ((r >> 8) % 9_000) as i64,
            };
            let epoch = ((r >> 20) % 3 == 0) as u32 + if i > n / 2 { 1 } else { 0 };
            let track = if (r >> 30) % 4 == 0 {
                Track::Audio(aac())
            } else {
                Track::Video(h264())
            };
            frames.push(frame(track, pts, (r >> 40) % 3 == 0, epoch, i as u32));
        }
        // Mostly near the frames (so some clips succeed), sometimes anywhere.
        let near = frames[(next() % n as u64) as usize].pts;
        let start = match next() % 5 {
            0 => next() as i64,
            _ => near + (next() % 20_000) as i64 - 10_000,
        };
        let end = start.saturating_add((next() % 400_000) as i64 - 50_000);
        let input = ClipInput::new(&frames, start..end);
        let mut out = Vec::new();
        if let Ok(info) = write_clip(&input, &mut out) {
            ok += 1;
            assert_eq!(info.bytes, out.len() as u64);
            parse(&out);
        }
    }
    assert!(
        ok > 20,
        "only {ok} hostile inputs made a clip: the generator is too hostile"
    );
}
