//! Real headless Chromium plays a recording through hls.js in the dashboard's recordings
//! page, decoding frames; a screenshot is kept in target/test-artifacts.

use std::time::{Duration, Instant};

use crate::common::server::Server;

#[test]
fn chromium_plays_a_recording_with_hls_js() {
    let _rt = vas_testkit::realtime_lock();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let t = Instant::now();
    let sid = loop {
        let s = server.get_json("/api/v1/streams");
        if s[0]["state"] == "live" {
            break s[0]["id"].as_str().unwrap().to_owned();
        }
        assert!(t.elapsed() < Duration::from_secs(20), "demo not live: {s}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let (code, _) = server.send_json(
        "PATCH",
        &format!("/api/v1/streams/{sid}"),
        r#"{"record": true}"#,
    );
    assert_eq!(code, 200);
    std::thread::sleep(Duration::from_secs(7));
    let (ok, result, raw) = crate::common::browser::run("hls.mjs", &[&server.url(""), &sid]);
    eprintln!("hls.js playback: {result}");
    assert!(ok, "Chromium did not play the recording: {raw}");
    assert!(result["frames"].as_u64().unwrap() >= 60, "{result}");
    assert_eq!(result["width"], 1280, "{result}");
    server.stop();
}
