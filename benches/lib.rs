//! Shared helpers for the VAS benchmarks and load generators in this folder.
//!
//! Each benchmark is a `[[bench]]` target of this crate; run them with
//! `cargo bench -p vas-benches --bench <name>`. They quote results as ratios against a peer
//! measured in the same run.
//!
//! The process harness: system benchmarks run the cameras, VAS and its peer in separate
//! processes pinned to separate cores (with `taskset`), and measure each from
//! `/proc/<pid>/stat`, so one's CPU never counts as another's.

// A load generator reports on stdout; that is its interface.
#![allow(clippy::print_stdout)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Camera picture used by the system benchmarks: 720p, 30 fps, 2 Mbit/s, keyframe every
/// second, replayed from a 10 s pre-encoded loop.
pub const WIDTH: u32 = 1280;
/// See [`WIDTH`].
pub const HEIGHT: u32 = 720;
/// See [`WIDTH`].
pub const FPS: u32 = 30;
/// See [`WIDTH`].
pub const BITRATE: u32 = 2_000_000;
/// See [`WIDTH`].
pub const LOOP_SECONDS: u32 = 10;

/// CPU seconds (user + system) a process has used so far.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// Resident memory of a process, in KiB.
pub fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Re-runs the current benchmark binary with `args`, pinned to `core`, with piped stdin and
/// stdout (the child's control channel).
pub fn spawn_pinned(core: u32, args: &[String]) -> Child {
    Command::new("taskset")
        .arg("-c")
        .arg(core.to_string())
        .arg(std::env::current_exe().expect("the benchmark knows its own path"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("taskset (util-linux) runs the benchmark's children")
}

/// Reads one line a child printed.
pub fn read_line(child: &mut Child) -> String {
    let mut line = String::new();
    if let Some(out) = child.stdout.as_mut() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    line.trim().to_owned()
}

/// Ends a child by closing its stdin, and waits for it.
pub fn finish(mut child: Child) {
    drop(child.stdin.take());
    let _ = child.wait();
}

/// Peer processes' CPU per camera (fraction of a core): sleeps `warmup`, measures the
/// processes' summed CPU time over `window`, divides by `cameras`, then kills them.
pub fn peer_cpu_per_camera(
    mut peers: Vec<Child>,
    cameras: usize,
    warmup: Duration,
    window: Duration,
) -> f64 {
    std::thread::sleep(warmup);
    let total = |peers: &[Child]| peers.iter().map(|p| cpu_seconds(p.id())).sum::<f64>();
    let c0 = total(&peers);
    let t0 = Instant::now();
    std::thread::sleep(window);
    let per = (total(&peers) - c0) / t0.elapsed().as_secs_f64() / cameras as f64;
    for p in &mut peers {
        let _ = p.kill();
        let _ = p.wait();
    }
    per
}

/// Registers a camera with `vas` as `cam-<i>` and returns its main stream's id.
///
/// # Panics
/// When the engine refuses it (a benchmark has nothing sensible to do then).
pub async fn add_camera(vas: &vas::Vas, i: usize, url: &str) -> vas::StreamId {
    let d = vas
        .add_device(vas::NewDevice::new(format!("cam-{i}"), url.to_owned()))
        .await
        .expect("add a camera");
    vas.streams(Some(d.id), vas::Order::Oldest)
        .await
        .expect("list streams")
        .first()
        .expect("its stream")
        .id
}

/// Starts `n` camera-serving children' worth of cameras in a child pinned to core 1 (the
/// child runs [`run_cameras`]); returns it and the cameras' URLs.
pub fn spawn_cameras(n: usize) -> (Child, Vec<String>) {
    let mut cameras = spawn_pinned(1, &["cameras".into(), n.to_string()]);
    let urls = read_line(&mut cameras)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    (cameras, urls)
}

/// Child role: serves `n` synthetic cameras (the benchmark picture) and prints their URLs
/// on one line; exits when stdin closes.
pub fn run_cameras(n: usize) {
    run_cameras_with(n, WIDTH, HEIGHT, BITRATE);
}

/// Child role: serves `n` synthetic cameras of `width`×`height` at [`FPS`] and `bitrate`
/// bit/s (a keyframe every second, a [`LOOP_SECONDS`] pre-encoded loop) and prints their URLs
/// on one line; exits when stdin closes.
pub fn run_cameras_with(n: usize, width: u32, height: u32, bitrate: u32) {
    run_cameras_gop(n, width, height, bitrate, FPS);
}

/// As [`run_cameras_with`], with a keyframe every `gop` frames.
pub fn run_cameras_gop(n: usize, width: u32, height: u32, bitrate: u32, gop: u32) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let mut cams = Vec::new();
        for _ in 0..n {
            cams.push(
                vas_synth::SyntheticCamera::start(vas_synth::CameraConfig {
                    width,
                    height,
                    fps: FPS,
                    bitrate_bps: bitrate,
                    gop,
                    mode: vas_synth::CameraMode::PreEncodedLoop {
                        seconds: LOOP_SECONDS,
                    },
                    bind: "127.0.0.1:0".parse().expect("a socket address"),
                    ..Default::default()
                })
                .await
                .expect("start a synthetic camera"),
            );
        }
        let urls: Vec<String> = cams.iter().map(|c| c.url()).collect();
        println!("{}", urls.join(" "));
        let _ = std::io::stdout().flush();
        wait_for_stdin_close().await;
    });
}

/// Waits until the parent closes our stdin.
pub async fn wait_for_stdin_close() {
    let _ = tokio::task::spawn_blocking(|| {
        let mut s = String::new();
        while std::io::stdin().read_line(&mut s).unwrap_or(0) > 0 {}
    })
    .await;
}
