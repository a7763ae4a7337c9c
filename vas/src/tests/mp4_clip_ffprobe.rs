//! Progressive MP4 clips (`crate::mp4`) of real H.264 (OpenH264, through the synthetic camera's
//! encoder), real AAC and real H.265 (ffmpeg), checked by real ffprobe and ffmpeg: the
//! window's duration within one frame, a keyframe first, a clean decode, the right size.
//! Fails (never skips) if ffmpeg or ffprobe is missing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::media::{Frame, Track, VideoCodec};
use crate::mp4::{ClipInfo, ClipInput, write_clip};
use crate::tests::record_support::{decode_errors, encode_media, ffprobe_json, require_tool};

const FPS: u32 = 30;
const TICKS_PER_FRAME: i64 = 90_000 / FPS as i64;
const SIZE: (u32, u32) = (320, 240);
/// The window every test cuts: 0.7 s to 2.6 s of a 3 s stream with a keyframe each second.
const START: i64 = 63_000;
const END: i64 = 234_000;
const ONE_FRAME_SECS: f64 = 1.0 / FPS as f64;

fn h264(count: u32, first_pts: i64, epoch: u32) -> Vec<Frame> {
    crate::mp4::fixture::h264_frames(count, FPS, FPS, SIZE, first_pts, epoch).expect("encode")
}

fn write(dir: &Path, name: &str, input: &ClipInput<'_>) -> (PathBuf, ClipInfo) {
    let path = dir.join(name);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create clip"));
    let info = write_clip(input, &mut file).expect("write clip");
    drop(file);
    assert_eq!(std::fs::metadata(&path).expect("clip").len(), info.bytes);
    (path, info)
}

fn secs(v: &serde_json::Value) -> f64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a time: {v}"))
}

/// The checks every clip must pass; returns ffprobe's format duration.
fn check_plays(path: &Path, codec_name: &str, expect_secs: f64) -> f64 {
    require_tool("ffprobe");
    require_tool("ffmpeg");
    let format = ffprobe_json(path, &["-show_entries", "format=duration"]);
    let duration = secs(&format["format"]["duration"]);
    eprintln!("{}: ffprobe format duration {duration} s", path.display());
    assert!(
        (duration - expect_secs).abs() <= ONE_FRAME_SECS + 1e-6,
        "duration {duration} s, expected {expect_secs} s within one frame"
    );
    let streams = ffprobe_json(
        path,
        &[
            "-select_streams",
            "v",
            "-show_entries",
            "stream=codec_name,width,height",
        ],
    );
    let v = &streams["streams"][0];
    assert_eq!(v["codec_name"], codec_name);
    assert_eq!(v["width"], SIZE.0);
    assert_eq!(v["height"], SIZE.1);
    let packets = ffprobe_json(
        path,
        &[
            "-select_streams",
            "v",
            "-show_entries",
            "packet=pts_time,flags",
        ],
    );
    let packets = packets["packets"].as_array().expect("packets");
    let first_flags = packets[0]["flags"].as_str().expect("flags");
    eprintln!(
        "{}: {} video packets, first {} flags {first_flags}",
        path.display(),
        packets.len(),
        packets[0]["pts_time"]
    );
    assert!(first_flags.starts_with('K'), "first packet {first_flags}");
    let errors = decode_errors(path);
    assert!(errors.trim().is_empty(), "ffmpeg decode errors:\n{errors}");
    // What a player shows: the frames ffmpeg outputs after the edit list.
    let frames = ffprobe_json(
        path,
        &["-select_streams", "v", "-show_entries", "frame=pts_time"],
    );
    let shown: Vec<f64> = frames["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .map(|f| secs(&f["pts_time"]))
        .collect();
    eprintln!(
        "{}: {} frames shown, {:?} .. {:?}",
        path.display(),
        shown.len(),
        shown.first(),
        shown.last()
    );
    let expected = (expect_secs * f64::from(FPS)).round() as usize;
    assert!(
        shown.len().abs_diff(expected) <= 1,
        "{} frames shown, expected {expected}",
        shown.len()
    );
    assert!(
        shown[0].abs() < 1e-3,
        "presentation starts at 0, not {}",
        shown[0]
    );
    for w in shown.windows(2) {
        let step = w[1] - w[0];
        assert!(
            (step - ONE_FRAME_SECS).abs() < 1e-3,
            "frames {} and {} are not one frame apart",
            w[0],
            w[1]
        );
    }
    duration
}

#[test]
fn h264_window_clip_plays_with_the_windows_duration() {
    let frames = h264(90, 0, 0);
    assert_eq!(frames.len(), 90, "OpenH264 skipped frames");
    let dir = tempfile::tempdir().expect("temp dir");
    let (path, info) = write(dir.path(), "clip.mp4", &ClipInput::new(&frames, START..END));
    assert!(!info.co64);
    assert_eq!(info.duration_ticks, END - START);
    assert_eq!(info.lead_in_ticks, START, "from the keyframe at 0 s");
    check_plays(&path, "h264", 1.9);
}

#[test]
fn co64_clip_plays_the_same() {
    let frames = h264(90, 0, 0);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut input = ClipInput::new(&frames, START..END);
    input.force_co64 = true;
    let (path, info) = write(dir.path(), "co64.mp4", &input);
    assert!(info.co64);
    let bytes = std::fs::read(&path).expect("read clip");
    assert!(bytes.windows(4).any(|w| w == b"co64"));
    assert!(!bytes.windows(4).any(|w| w == b"stco"));
    check_plays(&path, "h264", 1.9);
}

#[test]
fn epoch_change_inside_the_clip_stays_continuous() {
    // 1.5 s, then the camera reconnects: timestamps restart elsewhere, new encoder, new IDR.
    let mut frames = h264(45, 0, 0);
    frames.extend(h264(45, 8_100_000, 1));
    let dir = tempfile::tempdir().expect("temp dir");
    let (path, info) = write(
        dir.path(),
        "epoch.mp4",
        &ClipInput::new(&frames, START..END),
    );
    assert_eq!(info.epoch_changes, 1);
    check_plays(&path, "h264", 1.9);
}

#[test]
fn aac_audio_clip_plays_with_both_tracks() {
    // Real AAC from ffmpeg's encoder (its H.264 is not used: the video is OpenH264's).
    let media = encode_media(VideoCodec::H264, 3, SIZE, FPS as usize, &[]);
    let mut frames = h264(90, 0, 0);
    let params = media.audio_params.clone();
    let aac_ticks = 1024 * 90_000 / i64::from(params.sample_rate);
    for (j, data) in media.audio.iter().enumerate() {
        frames.push(Frame {
            track: Track::Audio(Arc::clone(&params)),
            pts: j as i64 * aac_ticks,
            keyframe: true,
            data: data.clone(),
            epoch: 0,
            wallclock: chrono::DateTime::UNIX_EPOCH,
        });
    }
    frames.sort_by_key(|f| (f.pts, !f.is_video()));
    let dir = tempfile::tempdir().expect("temp dir");
    let (path, info) = write(dir.path(), "aac.mp4", &ClipInput::new(&frames, START..END));
    assert!(info.audio_samples > 80, "{info:?}");
    assert!(info.dropped.is_empty());
    check_plays(&path, "h264", 1.9);
    let streams = ffprobe_json(
        &path,
        &[
            "-show_entries",
            "stream=codec_type,codec_name,sample_rate,duration",
        ],
    );
    let streams = streams["streams"].as_array().expect("streams");
    let audio = streams
        .iter()
        .find(|s| s["codec_type"] == "audio")
        .expect("an audio stream");
    assert_eq!(audio["codec_name"], "aac");
    assert_eq!(audio["sample_rate"], "48000");
    let audio_secs = secs(&audio["duration"]);
    eprintln!("aac.mp4: audio stream duration {audio_secs} s");
    assert!(
        (audio_secs - 1.9).abs() <= 0.03,
        "audio lasts {audio_secs} s"
    );
}

#[test]
fn h265_clip_plays() {
    let media = encode_media(
        VideoCodec::H265,
        3,
        SIZE,
        FPS as usize,
        &[
            "-x265-params",
            "keyint=30:min-keyint=30:bframes=0:scenecut=0:open-gop=0:log-level=error",
        ],
    );
    let frames: Vec<Frame> = media
        .video
        .iter()
        .enumerate()
        .map(|(n, (data, keyframe))| Frame {
            track: Track::Video(media.video_params.clone()),
            pts: n as i64 * TICKS_PER_FRAME,
            keyframe: *keyframe,
            data: data.clone(),
            epoch: 0,
            wallclock: chrono::DateTime::UNIX_EPOCH,
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let (path, _) = write(dir.path(), "hevc.mp4", &ClipInput::new(&frames, START..END));
    let bytes = std::fs::read(&path).expect("read clip");
    assert!(bytes.windows(4).any(|w| w == b"hvcC"));
    check_plays(&path, "hevc", 1.9);
}
