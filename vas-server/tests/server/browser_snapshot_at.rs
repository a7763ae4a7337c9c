//! "Snapshot here" in the dashboard's recordings view saves the picture the paused player
//! shows, in real headless Chromium against the real server (the demo's synthetic camera):
//! the saved snapshot's capture time is the player's position, seconds before the present.
//! Screenshots are kept in target/test-artifacts.
//!
//! Needs `POST /api/v1/streams/{id}/snapshots` with `at` (a picture from the recordings); it
//! fails while the server answers "snapshots at a past time are not available yet".
//! browser_snapshots.rs checks that the page asks for the right moment either way.

use std::time::Duration;

use crate::common::server::{Server, wait_demo_live};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

/// The demo camera's main stream's picture width.
const DEMO_WIDTH: u64 = 1280;
/// How long the demo may take to go live.
const LIVE_LIMIT: Duration = Duration::from_secs(20);
/// How long the test records before it plays (the player then shows a moment this far back).
const RECORD_FOR: Duration = Duration::from_secs(8);
/// How far the saved snapshot's time may lie from the player's position: a frame interval
/// plus the slack between hls.js' media time and the recording's start.
const PLAYHEAD_TOLERANCE_MS: i64 = 1000;

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("not an RFC 3339 time: {v}"))
}

#[test]
fn snapshot_here_saves_the_picture_at_the_players_position() {
    let _rt = vas_testkit::realtime_lock();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let sid = wait_demo_live(&server, LIVE_LIMIT);
    let (code, body) = server.send_json(
        "PATCH",
        &format!("/api/v1/streams/{sid}"),
        r#"{"record": true}"#,
    );
    assert_eq!(code, 200, "{body}");
    std::thread::sleep(RECORD_FOR);

    let (ok, r, raw) = crate::common::browser::run("playhead.mjs", &[&server.url(""), &sid]);
    eprintln!(
        "player at {} s of {}; snapshot: {}; screenshot {}",
        r["position"]["currentTime"], r["position"]["source"], r["snapshot"], r["shot"]
    );
    assert!(ok, "the recordings view failed at {}: {raw}", r["step"]);
    assert_eq!(r["snapshot"]["http"], 201, "Snapshot here was refused: {r}");
    assert_eq!(r["snapshot"]["state"], "ok", "{r}");

    let recordings = server.get_json(&format!("/api/v1/recordings?stream_id={sid}"));
    let played = recordings
        .as_array()
        .unwrap()
        .iter()
        .find(|rec| rec["playlist_url"] == r["position"]["source"])
        .unwrap_or_else(|| panic!("the player played none of {recordings}: {r}"));
    let seconds = r["position"]["currentTime"].as_f64().unwrap();
    let playhead = time(&played["start"]) + TimeDelta::milliseconds((seconds * 1e3) as i64);

    let snaps = server.get_json(&format!("/api/v1/snapshots?stream_id={sid}"));
    assert_eq!(snaps.as_array().map(Vec::len), Some(1), "{snaps}");
    let taken = time(&snaps[0]["taken_at"]);
    let off = (taken - playhead).num_milliseconds();
    eprintln!("snapshot shows {taken}, the player {playhead} ({off} ms apart)");
    assert!(
        off.abs() <= PLAYHEAD_TOLERANCE_MS,
        "the snapshot shows {taken}, not the player's position {playhead}: {snaps} {r}"
    );
    assert_eq!(snaps[0]["width"], DEMO_WIDTH, "{snaps}");
    server.stop();
}
