//! Bookmarks in the dashboard, in real headless Chromium against the real server (the demo's
//! synthetic camera): a live tile's Bookmark button saves one and follows it to ready, the
//! bookmarks view plays its clip in place at the stream's size and offers it for download,
//! and deleting it there removes it from the API. Screenshots are kept in
//! target/test-artifacts.
//!
//! Written against the bookmarks API contract (`POST /api/v1/bookmarks`, pending → ready,
//! `clip_url`); it fails until the server implements it.

use std::time::Duration;

use crate::common::server::{Server, curl, wait_demo_live};

/// The demo camera's main stream's picture width.
const DEMO_WIDTH: u64 = 1280;
/// How long the demo may take to go live.
const LIVE_LIMIT: Duration = Duration::from_secs(20);
/// Media seconds the clip must play in the page (bookmarks.mjs checks the same).
const PLAYED_S: f64 = 1.5;

#[test]
fn tile_bookmark_becomes_ready_and_its_clip_plays_in_the_bookmarks_view() {
    let _rt = vas_testkit::realtime_lock();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let sid = wait_demo_live(&server, LIVE_LIMIT);

    let (ok, r, raw) = crate::common::browser::run("bookmarks.mjs", &[&server.url(""), &sid]);
    eprintln!(
        "tile: {}; clip: {}; screenshot {}",
        r["tileStatus"], r["video"], r["shot"]
    );
    assert!(
        ok,
        "bookmark through the dashboard failed at {}: {raw}",
        r["step"]
    );
    assert!(
        r["tileStatus"]["text"]
            .as_str()
            .unwrap_or("")
            .starts_with("Bookmark ready"),
        "{r}"
    );
    let marks = r["api"].as_array().unwrap();
    assert_eq!(marks.len(), 1, "{r}");
    let mark = &marks[0];
    assert_eq!(mark["stream_id"], sid.as_str(), "{r}");
    assert_eq!(mark["state"], "ready", "{r}");
    let clip = mark["clip_url"].as_str().unwrap();
    assert_eq!(
        clip,
        format!(
            "/api/v1/bookmarks/{}/clip.mp4",
            mark["id"].as_str().unwrap()
        )
    );

    let video = &r["video"];
    assert_eq!(video["id"], mark["id"], "{r}");
    assert_eq!(video["src"], clip, "{r}");
    assert_eq!(video["controls"], true, "{r}");
    assert_eq!(video["error"], serde_json::Value::Null, "{r}");
    let (start, now) = (
        video["start"].as_f64().unwrap(),
        video["currentTime"].as_f64().unwrap(),
    );
    assert!(now >= start + PLAYED_S, "the clip did not play: {r}");
    assert!(video["decoded"].as_u64().unwrap_or(0) > 0, "{r}");
    assert_eq!(video["videoWidth"], DEMO_WIDTH, "{r}");
    assert_eq!(video["download"], clip, "{r}");
    assert!(
        video["downloadName"]
            .as_str()
            .is_some_and(|n| n.ends_with(".mp4")),
        "{r}"
    );

    // Deleted from the UI: gone from the API too.
    assert_eq!(server.get_json("/api/v1/bookmarks"), serde_json::json!([]));
    let id = mark["id"].as_str().unwrap();
    let out = curl(&[
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &server.url(&format!("/api/v1/bookmarks/{id}")),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "404");
    server.stop();
}
