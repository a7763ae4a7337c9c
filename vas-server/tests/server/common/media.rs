//! Checks of recorded media with the real ffprobe/ffmpeg.

use std::path::Path;
use std::process::Command;

/// One segment as ffprobe sees it.
#[derive(Debug)]
pub struct Probe {
    /// Video frames.
    pub frames: usize,
    /// Whether the first video frame is a keyframe.
    pub starts_with_keyframe: bool,
    /// First and last video pts, seconds.
    pub first_pts: f64,
    /// Last video pts, seconds.
    pub last_pts: f64,
}

fn tool(name: &str) -> Command {
    let c = Command::new(name);
    assert!(
        Command::new("which")
            .arg(name)
            .output()
            .is_ok_and(|o| o.status.success()),
        "{name} is missing: `make test` installs ffmpeg"
    );
    c
}

/// Decodes a file (or URL) completely; returns ffmpeg's error output (empty when clean).
pub fn decode_errors(input: &str) -> String {
    let out = tool("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i", input, "-f", "null", "-"])
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        text.push_str(&format!("\nffmpeg exited with {}", out.status));
    }
    text
}

/// Video frames of a segment: count, keyframe at start, pts span.
pub fn probe(path: &Path) -> Probe {
    let out = tool("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args(["frame=key_frame,pts_time", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let frames: Vec<(bool, f64)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split(',');
            let key = it.next().unwrap_or("0").trim() == "1";
            let pts = it
                .next()
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or(f64::NAN);
            (key, pts)
        })
        .collect();
    Probe {
        frames: frames.len(),
        starts_with_keyframe: frames.first().is_some_and(|f| f.0),
        first_pts: frames.first().map_or(f64::NAN, |f| f.1),
        last_pts: frames.last().map_or(f64::NAN, |f| f.1),
    }
}

/// `(uri, EXTINF seconds)` of a playlist's segments, and whether it has `#EXT-X-ENDLIST`.
pub fn playlist_segments(text: &str) -> (Vec<(String, f64)>, bool) {
    let mut out = Vec::new();
    let mut dur = None;
    for line in text.lines() {
        if let Some(d) = line.strip_prefix("#EXTINF:") {
            dur = d
                .trim_end_matches(',')
                .split(',')
                .next()
                .and_then(|v| v.parse().ok());
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            out.push((line.trim().to_owned(), dur.take().unwrap_or(f64::NAN)));
        }
    }
    (out, text.contains("#EXT-X-ENDLIST"))
}

/// Checks one recording folder: every segment decodes cleanly and starts with a keyframe,
/// EXTINF matches the media within one frame, and pts run on across segments. Returns the
/// recorded seconds.
pub fn check_recording(playlist: &Path, fps: f64) -> f64 {
    let text = std::fs::read_to_string(playlist).unwrap();
    let (segments, _) = playlist_segments(&text);
    assert!(!segments.is_empty(), "{}: no segments", playlist.display());
    let dir = playlist.parent().unwrap();
    let frame = 1.0 / fps;
    let mut total = 0.0;
    let mut prev_end: Option<f64> = None;
    for (i, (uri, extinf)) in segments.iter().enumerate() {
        let seg = dir.join(uri);
        let errors = decode_errors(seg.to_str().unwrap());
        assert!(errors.trim().is_empty(), "{}: {errors}", seg.display());
        let p = probe(&seg);
        assert!(
            p.starts_with_keyframe,
            "{} starts without a keyframe",
            seg.display()
        );
        let media = p.last_pts - p.first_pts + frame;
        assert!(
            (media - extinf).abs() <= frame + 1e-3 || i + 1 == segments.len(),
            "{}: EXTINF {extinf} vs media {media:.3}",
            seg.display()
        );
        if let Some(end) = prev_end {
            assert!(
                (p.first_pts - end).abs() <= frame + 1e-3,
                "{}: starts at {:.3}, previous ended at {end:.3}",
                seg.display(),
                p.first_pts
            );
        }
        prev_end = Some(p.last_pts + frame);
        total += extinf;
    }
    total
}
