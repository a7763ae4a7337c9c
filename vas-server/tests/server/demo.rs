//! `vas-server --demo`: the synthetic camera shows up as a live stream at its configured
//! frame rate within seconds, and is registered once, not again on every start.

use std::time::{Duration, Instant};

use crate::common::server::{Server, curl};

/// Frame rate of the demo camera.
const DEMO_FPS: f64 = 30.0;

fn streams(server: &Server) -> serde_json::Value {
    let out = curl(&["-sf", &server.url("/api/v1/streams")]);
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

#[test]
fn demo_camera_is_live_at_its_frame_rate_and_registered_once() {
    let _rt = vas_testkit::realtime_lock();
    let dir = tempfile::tempdir().unwrap();
    let spawned = Instant::now();
    let server = Server::start_live(dir.path());
    let live_after = loop {
        let s = streams(&server);
        if let Some(first) = s.as_array().and_then(|a| a.first())
            && first["state"] == "live"
            && (first["fps"].as_f64().unwrap_or(0.0) - DEMO_FPS).abs() <= 3.0
        {
            break spawned.elapsed();
        }
        assert!(
            spawned.elapsed() < Duration::from_secs(20),
            "demo stream not live at ~{DEMO_FPS} fps: {s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    eprintln!("demo stream live at ~{DEMO_FPS} fps {live_after:?} after spawn");
    let s = streams(&server);
    assert_eq!(s.as_array().unwrap().len(), 1);
    assert!(s[0]["bitrate_bps"].as_u64().unwrap() > 500_000, "{s}");
    let (clean, _) = server.stop();
    assert!(clean);

    // A second start finds the same device and stream (still running), not a duplicate.
    let server = Server::start_live(dir.path());
    let devices = curl(&["-sf", &server.url("/api/v1/devices")]);
    let devices: serde_json::Value = serde_json::from_slice(&devices.stdout).unwrap();
    assert_eq!(devices.as_array().unwrap().len(), 1, "{devices}");
    assert_eq!(devices[0]["name"], "Synthetic camera");
    let t = Instant::now();
    while streams(&server)[0]["state"] != "live" {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "not live after restart"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(streams(&server)[0]["id"], s[0]["id"]);
    server.stop();
}
