//! Recording the demo camera through the real server: ≥10 s recorded, every segment checked
//! with ffprobe/ffmpeg, files served with content types and byte ranges, the synthesized
//! playback playlist decoded over HTTP by ffmpeg; and kill -9 mid-recording, several times,
//! leaving only closed, valid playlists whose rows match the files.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::media::{check_recording, decode_errors, playlist_segments};
use crate::common::server::{Server, curl};

/// The demo camera's frame rate.
const FPS: f64 = 30.0;
/// How long to record before checking.
const RECORD_FOR: Duration = Duration::from_secs(11);
/// kill -9 cycles.
const CRASHES: usize = 3;

fn demo_stream(server: &Server) -> String {
    let t = Instant::now();
    loop {
        let s = server.get_json("/api/v1/streams");
        if s[0]["state"] == "live" {
            return s[0]["id"].as_str().unwrap().to_owned();
        }
        assert!(t.elapsed() < Duration::from_secs(20), "demo not live: {s}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn media_dir(data: &Path) -> PathBuf {
    data.join("media")
}

#[test]
fn records_the_demo_camera_playably() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let sid = demo_stream(&server);
    let (code, body) = server.send_json(
        "PATCH",
        &format!("/api/v1/streams/{sid}"),
        r#"{"record": true}"#,
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["record"], true);
    assert_eq!(body["recording"]["state"], "recording");
    std::thread::sleep(RECORD_FOR);

    let recs = server.get_json(&format!("/api/v1/recordings?stream_id={sid}"));
    let rec = &recs[0];
    assert_eq!(recs.as_array().unwrap().len(), 1, "{recs}");
    assert_eq!(rec["end"], serde_json::Value::Null, "still recording");
    let playlist_url = rec["playlist_url"].as_str().unwrap().to_owned();
    let head = curl(&["-sfI", &server.url(&playlist_url)]);
    let head = String::from_utf8_lossy(&head.stdout).to_lowercase();
    assert!(
        head.contains("content-type: application/vnd.apple.mpegurl"),
        "{head}"
    );
    let live =
        String::from_utf8_lossy(&curl(&["-sf", &server.url(&playlist_url)]).stdout).into_owned();
    assert!(
        live.contains("#EXT-X-PLAYLIST-TYPE:EVENT") && !live.contains("#EXT-X-ENDLIST"),
        "{live}"
    );
    let (segments, _) = playlist_segments(&live);
    let seg_url = format!(
        "{}/{}",
        playlist_url.rsplit_once('/').unwrap().0,
        segments[0].0
    );
    let ranged = curl(&[
        "-s",
        "-D",
        "-",
        "-o",
        "/dev/null",
        "-r",
        "188-375",
        &server.url(&seg_url),
    ]);
    let ranged = String::from_utf8_lossy(&ranged.stdout).to_lowercase();
    assert!(ranged.starts_with("http/1.1 206"), "{ranged}");
    assert!(ranged.contains("content-type: video/mp2t"), "{ranged}");
    assert!(ranged.contains("content-range: bytes 188-375/"), "{ranged}");
    assert!(ranged.contains("content-length: 188"), "{ranged}");

    // The synthesized playback playlist plays over HTTP.
    let playback = server.url(&format!("/api/v1/streams/{sid}/playback.m3u8"));
    let errors = decode_errors(&playback);
    assert!(errors.trim().is_empty(), "playback.m3u8: {errors}");

    let (code, body) = server.send_json(
        "PATCH",
        &format!("/api/v1/streams/{sid}"),
        r#"{"record": false}"#,
    );
    assert_eq!(code, 200);
    assert_eq!(body["recording"], serde_json::Value::Null);
    let recs = server.get_json(&format!("/api/v1/recordings?stream_id={sid}"));
    assert!(recs[0]["end"].is_string(), "closed: {recs}");
    let location = playlist_url.strip_prefix("/media/").unwrap();
    let on_disk = media_dir(dir.path()).join(location);
    let ended = std::fs::read_to_string(&on_disk).unwrap();
    assert!(ended.contains("#EXT-X-ENDLIST"), "{ended}");
    let secs = check_recording(&on_disk, FPS);
    eprintln!(
        "recorded {secs:.2} s in {} segments, all decode cleanly",
        playlist_segments(&ended).0.len()
    );
    assert!(secs >= 10.0, "{secs} s recorded");
    server.stop();
}

/// Folders `<media>/<stream>/<recording>` on disk.
fn recording_dirs(media: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for stream in std::fs::read_dir(media).unwrap().flatten() {
        if !stream.file_type().unwrap().is_dir() {
            continue;
        }
        for rec in std::fs::read_dir(stream.path()).unwrap().flatten() {
            out.push(format!(
                "{}/{}",
                stream.file_name().to_string_lossy(),
                rec.file_name().to_string_lossy()
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn kill_dash_nine_mid_recording_leaves_valid_closed_recordings() {
    let dir = tempfile::tempdir().unwrap();
    let media = media_dir(dir.path());
    let mut server = Server::start(dir.path());
    let sid = demo_stream(&server);
    server.send_json(
        "PATCH",
        &format!("/api/v1/streams/{sid}"),
        r#"{"record": true}"#,
    );
    for crash in 0..CRASHES {
        // Kill at a different point of a segment each time.
        std::thread::sleep(Duration::from_millis(4_000 + 700 * crash as u64));
        server.kill9();
        server = Server::start(dir.path());
        demo_stream(&server);
        // Recording resumes by itself (the setting is stored) at the next keyframe.
        let t = Instant::now();
        let recs = loop {
            let recs = server.get_json(&format!("/api/v1/recordings?stream_id={sid}"));
            if recs.as_array().unwrap().len() == crash + 2 {
                break recs;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "one recording per run: {recs}"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let recs = recs.as_array().unwrap();
        let mut rows: Vec<String> = recs
            .iter()
            .map(|r| {
                let url = r["playlist_url"].as_str().unwrap();
                url.strip_prefix("/media/")
                    .unwrap()
                    .rsplit_once('/')
                    .unwrap()
                    .0
                    .to_owned()
            })
            .collect();
        rows.sort();
        assert_eq!(
            rows,
            recording_dirs(&media),
            "rows and folders match after crash {crash}"
        );
        // Every recording but the new one was closed by recovery, and is valid.
        for r in &recs[..recs.len() - 1] {
            assert!(r["end"].is_string(), "closed: {r}");
            let path = media.join(
                r["playlist_url"]
                    .as_str()
                    .unwrap()
                    .strip_prefix("/media/")
                    .unwrap(),
            );
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.contains("#EXT-X-ENDLIST"), "{text}");
            let secs = check_recording(&path, FPS);
            let on_disk: u64 = std::fs::read_dir(path.parent().unwrap())
                .unwrap()
                .flatten()
                .map(|e| e.metadata().unwrap().len())
                .sum();
            assert_eq!(
                r["bytes"].as_u64().unwrap(),
                on_disk,
                "row bytes match the files"
            );
            eprintln!(
                "after crash {crash}: recording {} closed with {secs:.2} s",
                r["id"]
            );
        }
    }
    let (clean, _) = server.stop();
    assert!(clean);
}
