//! Snapshot latency, VAS against FFmpeg in the same run.
//!
//! One synthetic camera (pre-encoded loop, H.264, 30 fps) on core 1, at 720p and 1080p, with a
//! keyframe every second and every four seconds. VAS (this process, the engine ingesting the
//! camera) answers `Vas::snapshot` for:
//! * **newest frame** (the default): decoded forward from the cached keyframe to the newest
//!   frame. The first request starts the stream's decoder (reported apart, as "cold"); a
//!   poller asking every 250 ms then gets the newest frame from the warm decoder;
//! * **latest keyframe**: one decode of the cached keyframe.
//!
//! The peer is what others spawn per request: `ffmpeg -rtsp_transport tcp -i rtsp://…
//! -frames:v 1 out.jpg` (connect, wait for a keyframe, decode, encode), timed wall-clock.
//!
//! Target: newest frame p95 ≤ 100 ms at 1080p with a 4 s GOP, latest keyframe ≤ 30 ms, both
//! ≥ 10× faster than FFmpeg.
//!
//! `cargo bench -p vas-benches --bench snapshot` (add `-- --quick` for 720p with a 1 s GOP).

// A load generator reports on stdout; that is its interface.
#![allow(clippy::print_stdout)]

use std::process::Command;
use std::time::{Duration, Instant};

use vas::SnapshotOptions;
use vas_benches::{FPS, add_camera, finish, read_line, run_cameras_gop, spawn_pinned};

/// Requests per measured kind (one every [`POLL`]).
const REQUESTS: usize = 40;
/// Spacing of a poller's requests.
const POLL: Duration = Duration::from_millis(250);
/// FFmpeg runs per configuration.
const FFMPEG_RUNS: usize = 5;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("camera") {
        let (w, h) = args[2].split_once('x').expect("WxH");
        return run_cameras_gop(
            1,
            w.parse().expect("width"),
            h.parse().expect("height"),
            args[3].parse().expect("a bitrate"),
            args[4].parse().expect("a GOP"),
        );
    }
    let quick = args.iter().any(|a| a == "--quick");
    let configs: &[(u32, u32, u32, u32)] = if quick {
        &[(1280, 720, 2_000_000, FPS)]
    } else {
        &[
            (1280, 720, 2_000_000, FPS),
            (1280, 720, 2_000_000, 4 * FPS),
            (1920, 1080, 4_000_000, FPS),
            (1920, 1080, 4_000_000, 4 * FPS),
        ]
    };
    println!(
        "\nsnapshot latency ({FPS} fps H.264 camera on core 1; {REQUESTS} requests per kind, one every {} ms; ffmpeg {FFMPEG_RUNS} runs)",
        POLL.as_millis()
    );
    println!(
        "| picture | GOP | VAS newest: cold | VAS newest p50 / p95 | VAS keyframe p50 / p95 | ffmpeg p50 / p95 | ffmpeg p50 ÷ VAS newest p50 | ÷ VAS keyframe p50 |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    for &(w, h, bitrate, gop) in configs {
        let mut camera = spawn_pinned(
            1,
            &[
                "camera".into(),
                format!("{w}x{h}"),
                bitrate.to_string(),
                gop.to_string(),
            ],
        );
        let url = read_line(&mut camera);
        let (cold, newest, keyframe) = rt.block_on(vas_latencies(&url, gop));
        let ffmpeg = ffmpeg_latencies(&url);
        finish(camera);
        let (n50, n95) = (pct(&newest, 50), pct(&newest, 95));
        let (k50, k95) = (pct(&keyframe, 50), pct(&keyframe, 95));
        let (f50, f95) = (pct(&ffmpeg, 50), pct(&ffmpeg, 95));
        println!(
            "| {w}x{h} | {:.0} s | {cold:.0} ms | {n50:.1} / {n95:.1} ms | {k50:.1} / {k95:.1} ms | {f50:.0} / {f95:.0} ms | {:.0}× | {:.0}× |",
            f64::from(gop) / f64::from(FPS),
            f50 / n50,
            f50 / k50,
        );
    }
}

/// The `p`th percentile of samples in ms (nearest rank).
fn pct(samples: &[f64], p: usize) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = (p * s.len()).div_ceil(100).clamp(1, s.len());
    s[rank - 1]
}

/// VAS: (the cold first newest-frame request, newest-frame samples, keyframe samples), ms.
async fn vas_latencies(url: &str, gop: u32) -> (f64, Vec<f64>, Vec<f64>) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let vas = vas::Vas::builder()
        .data_dir(dir.path())
        .build()
        .await
        .expect("start VAS");
    let stream = add_camera(&vas, 0, url).await;
    vas.start_stream(stream).await.expect("start");
    // Wait for a picture, then until a full GOP has passed (the cache then holds a whole one).
    let t = Instant::now();
    while vas
        .snapshot(stream, SnapshotOptions::new().keyframe())
        .await
        .is_err()
    {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no picture from the camera"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs_f64(
        f64::from(gop) / f64::from(FPS) * 0.9,
    ))
    .await;
    let time = async |options: SnapshotOptions| {
        let t = Instant::now();
        vas.snapshot(stream, options).await.expect("a snapshot");
        t.elapsed().as_secs_f64() * 1e3
    };
    let cold = time(SnapshotOptions::new()).await;
    let mut newest = Vec::new();
    for _ in 0..REQUESTS {
        tokio::time::sleep(POLL).await;
        newest.push(time(SnapshotOptions::new()).await);
    }
    let mut keyframe = Vec::new();
    for _ in 0..REQUESTS {
        tokio::time::sleep(POLL).await;
        keyframe.push(time(SnapshotOptions::new().keyframe()).await);
    }
    vas.close().await;
    (cold, newest, keyframe)
}

/// FFmpeg: wall time of each one-JPEG run, ms.
fn ffmpeg_latencies(url: &str) -> Vec<f64> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let out = dir.path().join("out.jpg");
    (0..FFMPEG_RUNS)
        .map(|_| {
            let t = Instant::now();
            let status = Command::new("ffmpeg")
                .args(["-nostdin", "-loglevel", "error", "-y"])
                .args(["-rtsp_transport", "tcp", "-i", url])
                .args(["-frames:v", "1"])
                .arg(&out)
                .status()
                .expect("ffmpeg is installed by make test");
            assert!(status.success(), "ffmpeg failed");
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect()
}
