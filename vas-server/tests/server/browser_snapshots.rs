//! Snapshots in the dashboard, in real headless Chromium against the real server (the demo's
//! synthetic camera): a live tile's Snapshot button saves one, the snapshots view shows it
//! with a thumbnail the browser decoded, and deleting it there removes it from the API; in
//! the recordings view, "Snapshot here" saves the picture at the player's position, not the
//! present (that the saved picture shows it is checked by browser_snapshot_at.rs). Screenshots are kept in target/test-artifacts.

use std::time::Duration;

use crate::common::server::{Server, curl, wait_demo_live};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use vas_server::demo::DEMO_CAMERA_NAME;

/// The demo camera's main stream's picture width.
const DEMO_WIDTH: u64 = 1280;
/// How long the demo may take to go live.
const LIVE_LIMIT: Duration = Duration::from_secs(20);
/// How long the playhead test records before it plays: several segments, so the present and
/// the player's position (a second into the oldest recording) lie this far apart.
const RECORD_FOR: Duration = Duration::from_secs(8);
/// How far the saved snapshot's time may lie from the player's position: a frame interval
/// plus the slack between hls.js' media time and the recording's start.
const PLAYHEAD_TOLERANCE_MS: i64 = 1000;

/// The HTTP status of a GET.
fn status_of(server: &Server, path: &str) -> String {
    let out = curl(&[
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &server.url(path),
    ]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A JSON string as a time.
fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("not an RFC 3339 time: {v}"))
}

#[test]
fn tile_snapshot_shows_in_the_snapshots_view_and_deletes_from_there() {
    let _rt = vas_testkit::realtime_lock();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let sid = wait_demo_live(&server, LIVE_LIMIT);
    assert_eq!(server.get_json("/api/v1/snapshots"), serde_json::json!([]));

    let (ok, r, raw) = crate::common::browser::run("snapshots.mjs", &[&server.url(""), &sid]);
    eprintln!(
        "tile: {}; card: {}; after delete: {}, screenshot {}",
        r["tileStatus"], r["card"], r["viewStatus"], r["shot"]
    );
    assert!(
        ok,
        "snapshot through the dashboard failed at {}: {raw}",
        r["step"]
    );
    assert!(
        r["tileStatus"]["text"]
            .as_str()
            .unwrap_or("")
            .starts_with("Snapshot saved"),
        "{r}"
    );
    let card = &r["card"];
    let saved = &r["api"];
    assert_eq!(saved["stream_id"], sid.as_str(), "{r}");
    // The thumbnail is the saved JPEG itself, decoded by the browser at the stream's size.
    assert_eq!(card["naturalWidth"], DEMO_WIDTH, "{r}");
    assert_eq!(card["naturalWidth"], saved["width"], "{r}");
    assert_eq!(card["naturalHeight"], saved["height"], "{r}");
    assert_eq!(card["lazy"], "lazy", "{r}");
    assert_eq!(card["src"], saved["image_url"], "{r}");
    assert_eq!(card["open"], saved["image_url"], "{r}");
    assert_eq!(card["download"], saved["image_url"], "{r}");
    assert!(
        card["downloadName"]
            .as_str()
            .is_some_and(|n| n.ends_with(".jpg")),
        "{r}"
    );
    assert_eq!(card["name"], format!("{DEMO_CAMERA_NAME} · main"), "{r}");
    assert_eq!(time(&card["time"]), time(&saved["taken_at"]), "{r}");
    assert_eq!(card["cards"], 1, "{r}");
    assert_eq!(r["dialogs"].as_array().map(Vec::len), Some(1), "{r}");

    // Deleted from the UI: gone from the API too.
    assert_eq!(server.get_json("/api/v1/snapshots"), serde_json::json!([]));
    let id = card["id"].as_str().unwrap();
    assert_eq!(
        status_of(&server, &format!("/api/v1/snapshots/{id}")),
        "404"
    );
    server.stop();
}

/// Records the demo for [`RECORD_FOR`], plays its oldest recording in the recordings view,
/// presses "Snapshot here" and "Bookmark here" (playhead.mjs); returns the script's result and
/// the player's wall-clock position (the recording's start plus the player's media time).
fn press_playhead_buttons(server: &Server, sid: &str) -> (Value, DateTime<Utc>) {
    let (code, body) = server.send_json(
        "PATCH",
        &format!("/api/v1/streams/{sid}"),
        r#"{"record": true}"#,
    );
    assert_eq!(code, 200, "{body}");
    std::thread::sleep(RECORD_FOR);
    let (ok, r, raw) = crate::common::browser::run("playhead.mjs", &[&server.url(""), sid]);
    eprintln!(
        "player at {} s of {}; snapshot: {}; bookmark: {}; screenshot {}",
        r["position"]["currentTime"],
        r["position"]["source"],
        r["snapshot"],
        r["bookmark"],
        r["shot"]
    );
    assert!(ok, "the recordings view failed at {}: {raw}", r["step"]);
    let recordings = server.get_json(&format!("/api/v1/recordings?stream_id={sid}"));
    let played = recordings
        .as_array()
        .unwrap()
        .iter()
        .find(|rec| rec["playlist_url"] == r["position"]["source"])
        .unwrap_or_else(|| panic!("the player played none of {recordings}: {r}"));
    let seconds = r["position"]["currentTime"].as_f64().unwrap();
    assert!(seconds > 0.5, "the player barely moved: {r}");
    let playhead = time(&played["start"]) + TimeDelta::milliseconds((seconds * 1e3) as i64);
    (r, playhead)
}

/// What the page POSTed to `path`.
fn posted<'a>(r: &'a Value, path: &str) -> &'a Value {
    r["posted"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == path)
        .map(|p| &p["body"])
        .unwrap_or_else(|| panic!("nothing was posted to {path}: {r}"))
}

/// "Snapshot here" and "Bookmark here" ask for the moment the paused player shows (mapped
/// through the playlist's EXT-X-PROGRAM-DATE-TIME), seconds before the present, and say in
/// words how it went.
#[test]
fn playhead_buttons_ask_for_the_players_position() {
    let _rt = vas_testkit::realtime_lock();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let sid = wait_demo_live(&server, LIVE_LIMIT);
    let (r, playhead) = press_playhead_buttons(&server, &sid);
    let snapshot = posted(&r, &format!("/api/v1/streams/{sid}/snapshots"));
    let bookmark = posted(&r, "/api/v1/bookmarks");
    assert_eq!(bookmark["stream_id"], sid.as_str(), "{r}");
    for (what, body) in [("snapshot", snapshot), ("bookmark", bookmark)] {
        let at = time(&body["at"]);
        let off = (at - playhead).num_milliseconds();
        eprintln!("{what} asked for {at}, the player shows {playhead} ({off} ms apart)");
        assert!(
            off.abs() <= PLAYHEAD_TOLERANCE_MS,
            "{what} asked for {at}, not the player's position {playhead}: {r}"
        );
        let status = &r[what];
        assert_eq!(status["http"], 201, "{what}: {r}");
        // A snapshot is saved at once; a bookmark is pending until its clip is cut.
        let want = if what == "snapshot" { "ok" } else { "pending" };
        assert_eq!(status["state"], want, "{what}: {r}");
    }
    server.stop();
}
