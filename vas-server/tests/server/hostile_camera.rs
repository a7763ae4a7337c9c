//! Hostile cameras against the real server: each mode of [`HostileCamera`] — an endless
//! header line, `Content-Length: 4000000000`, too many headers, too many SDP media sections,
//! a huge SPS, an FU-A that never ends, NAL units sharing a timestamp without a marker, and
//! garbage — grows the peak memory of a server of its own by less than
//! [`MAX_GROWTH_PER_CAMERA`] while it throws far more than that at it, ends with the stream
//! not live and a `last_error` that says what the camera did, and leaves the demo stream's
//! frame rate alone. Then all of them at once against one more server.

use std::time::{Duration, Instant};

use crate::common::server::Server;
use vas_testkit::hostile::{HostileCamera, HostileMode};
use vas_testkit::realtime_lock;

/// The bound on peak memory growth per hostile camera (the issue's target).
const MAX_GROWTH_PER_CAMERA: u64 = 32 << 20;
/// How long each camera attacks before its effect is measured.
const ATTACK: Duration = Duration::from_secs(8);
/// Share of its frames the demo stream must keep delivering meanwhile.
const MIN_FPS_SHARE: f64 = 0.8;
/// The demo camera's frame rate.
const DEMO_FPS: f64 = 30.0;

/// Peak and current resident memory of a process, in bytes.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// The modes, each with what its `last_error` must say.
fn modes() -> Vec<(HostileMode, &'static str)> {
    const FLOOD: u64 = 256 << 20;
    vec![
        (
            HostileMode::EndlessHeaderLine { bytes: FLOOD },
            "header line longer than 8192 bytes",
        ),
        (
            HostileMode::HugeContentLength { bytes: FLOOD },
            "4000000000-byte body",
        ),
        (
            HostileMode::ManyHeaders { count: 500 },
            "more than 64 header lines",
        ),
        (
            HostileMode::ManyMediaSections { count: 200 },
            "media sections",
        ),
        (HostileMode::HugeSps { bytes: 20_000 }, "SPS"),
        (
            HostileMode::EndlessFuA {
                bytes: 160 << 20,
                rate: 40 << 20,
            },
            "more than 8388608 bytes",
        ),
        (
            HostileMode::SameTimestampNoMarker {
                bytes: 160 << 20,
                rate: 40 << 20,
            },
            "more than 4096 NAL units",
        ),
        (HostileMode::Garbage { bytes: FLOOD }, "the camera sent"),
    ]
}

fn stream_of(server: &Server, device: &str) -> serde_json::Value {
    let streams = server.get_json("/api/v1/streams");
    streams
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["device_id"] == device)
        .cloned()
        .unwrap_or_default()
}

fn demo_frames(server: &Server, demo: &str) -> u64 {
    server.get_json(&format!("/api/v1/streams/{demo}"))["frames"]
        .as_u64()
        .unwrap_or(0)
}

fn add(server: &Server, name: &str, url: &str) -> (String, String) {
    let (code, d) = server.send_json(
        "POST",
        "/api/v1/devices",
        &format!(r#"{{"name": "{name}", "rtsp_url": "{url}"}}"#),
    );
    assert_eq!(code, 201, "{d}");
    let device = d["id"].as_str().unwrap().to_owned();
    let sid = stream_of(server, &device)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, s) = server.send_json("POST", &format!("/api/v1/streams/{sid}/start"), "");
    assert_eq!(code, 200, "{s}");
    (device, sid)
}

/// A server with its demo stream live for a moment; returns it and the demo stream's id.
fn start_server(dir: &std::path::Path) -> (Server, String) {
    let server = Server::start(dir);
    let t = Instant::now();
    let demo = loop {
        let s = server.get_json("/api/v1/streams");
        if s[0]["state"] == "live" {
            break s[0]["id"].as_str().unwrap().to_owned();
        }
        assert!(t.elapsed() < Duration::from_secs(30), "demo not live: {s}");
        std::thread::sleep(Duration::from_millis(100));
    };
    std::thread::sleep(Duration::from_secs(1));
    (server, demo)
}

#[test]
fn hostile_cameras_are_bounded_and_the_others_keep_their_frame_rate() {
    let _rt = realtime_lock();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    eprintln!("| mode | sent to the server | connections | peak RSS growth | state | last_error |");
    eprintln!("|---|---|---|---|---|---|");
    let mut report = Vec::new();
    for (i, (mode, expect)) in modes().into_iter().enumerate() {
        // A server of its own, so its peak memory is this camera's doing alone.
        let dir = tempfile::tempdir().unwrap();
        let (server, demo) = start_server(dir.path());
        let pid = server.process().id();
        let cam = rt.block_on(HostileCamera::start(mode));
        let (hwm0, _) = memory(pid);
        let frames0 = demo_frames(&server, &demo);
        let started = Instant::now();
        let (device, sid) = add(&server, &format!("hostile-{i}"), &cam.url());
        std::thread::sleep(ATTACK);
        let elapsed = started.elapsed().as_secs_f64();
        let (hwm1, _) = memory(pid);
        let fps = (demo_frames(&server, &demo) - frames0) as f64 / elapsed;
        let s = server.get_json(&format!("/api/v1/streams/{sid}"));
        let growth = hwm1.saturating_sub(hwm0);
        eprintln!(
            "| {} | {} MiB | {} | {:.1} MiB | {} | {} |",
            mode.name(),
            cam.sent() >> 20,
            cam.connections(),
            growth as f64 / 1048576.0,
            s["state"],
            s["last_error"]
        );
        report.push((mode, growth, s.clone(), fps, expect));
        let (code, _) = server.send_json("DELETE", &format!("/api/v1/devices/{device}"), "");
        assert_eq!(code, 204);
        drop(cam);
        let (clean, log) = server.stop();
        assert!(clean && !log.contains("panicked"), "{}: {log}", mode.name());
    }
    for (mode, growth, s, fps, expect) in &report {
        assert!(
            *growth < MAX_GROWTH_PER_CAMERA,
            "{}: peak memory grew by {growth} bytes",
            mode.name()
        );
        assert_ne!(s["state"], "live", "{}: {s}", mode.name());
        assert!(
            s["last_error"].as_str().unwrap_or("").contains(expect),
            "{}: last_error should say {expect:?}: {s}",
            mode.name()
        );
        assert!(
            *fps >= MIN_FPS_SHARE * DEMO_FPS,
            "{}: the demo stream dropped to {fps:.1} fps",
            mode.name()
        );
    }

    // All of them at once.
    let dir = tempfile::tempdir().unwrap();
    let (server, demo) = start_server(dir.path());
    let pid = server.process().id();
    let cams: Vec<HostileCamera> = modes()
        .into_iter()
        .map(|(m, _)| rt.block_on(HostileCamera::start(m)))
        .collect();
    let (hwm0, rss0) = memory(pid);
    let frames0 = demo_frames(&server, &demo);
    let started = Instant::now();
    let added: Vec<(String, String)> = cams
        .iter()
        .enumerate()
        .map(|(i, c)| add(&server, &format!("all-{i}"), &c.url()))
        .collect();
    std::thread::sleep(ATTACK);
    let fps = (demo_frames(&server, &demo) - frames0) as f64 / started.elapsed().as_secs_f64();
    let (hwm1, rss1) = memory(pid);
    let sent: u64 = cams.iter().map(HostileCamera::sent).sum();
    eprintln!(
        "all {} at once: {} MiB sent, peak RSS {:.1} → {:.1} MiB, RSS {:.1} → {:.1} MiB, demo at {fps:.1} fps",
        cams.len(),
        sent >> 20,
        hwm0 as f64 / 1048576.0,
        hwm1 as f64 / 1048576.0,
        rss0 as f64 / 1048576.0,
        rss1 as f64 / 1048576.0,
    );
    for (_, sid) in &added {
        let s = server.get_json(&format!("/api/v1/streams/{sid}"));
        assert_ne!(s["state"], "live", "{s}");
    }
    assert!(
        hwm1.saturating_sub(hwm0) < MAX_GROWTH_PER_CAMERA * cams.len() as u64,
        "peak memory grew by {} bytes with {} hostile cameras",
        hwm1 - hwm0,
        cams.len()
    );
    assert!(
        sent > MAX_GROWTH_PER_CAMERA * cams.len() as u64,
        "the cameras sent only {sent} bytes: the bound was not exercised"
    );
    assert!(
        fps >= MIN_FPS_SHARE * DEMO_FPS,
        "the demo stream dropped to {fps:.1} fps"
    );
    let (clean, log) = server.stop();
    assert!(clean, "the server did not stop cleanly:\n{log}");
    assert!(!log.contains("panicked"), "{log}");
}
