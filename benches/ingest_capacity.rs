//! Ingest capacity: N synthetic cameras (pre-encoded loop, 720p, 2 Mbit/s, 30 fps) ingested
//! at once through the engine into hubs with one consumer each.
//!
//! Three processes: the cameras pinned to core 1, ingest pinned to core 0, and this one
//! measuring both from `/proc/<pid>/stat` over a fixed window. Reports, for N = 1, 10, 50,
//! 100: ingest CPU per camera, memory per stream, frames received, the cameras' own CPU, and
//! the same per-camera CPU for the peer `ffmpeg -rtsp_transport tcp -i … -c copy -f null -`
//! (one process per camera, as FFmpeg-based recorders run) in the same run.
//!
//! `cargo bench -p vas-benches --bench ingest_capacity` (add `-- --quick` for N = 1, 10).

// A load generator reports on stdout; that is its interface.
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vas_benches::{
    BITRATE, FPS, HEIGHT, WIDTH, add_camera, cpu_seconds, finish, peer_cpu_per_camera, read_line,
    rss_kb, run_cameras, spawn_cameras, spawn_pinned,
};

/// Settling time before measuring.
const WARMUP: Duration = Duration::from_secs(4);
/// Measuring window.
const WINDOW: Duration = Duration::from_secs(10);
/// Cameras the FFmpeg peer is measured with.
const PEER_CAMERAS: usize = 10;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("cameras") => return run_cameras(args[2].parse().unwrap()),
        Some("ingest") => return run_ingest(&args[2..]),
        _ => {}
    }
    let quick = args.iter().any(|a| a == "--quick");
    let sizes: &[usize] = if quick { &[1, 10] } else { &[1, 10, 50, 100] };
    let baseline_rss = measure(0).ingest_rss_kb;
    println!(
        "\ningest capacity ({WIDTH}x{HEIGHT} {FPS} fps {} Mbit/s loop; ingest on core 0, cameras on core 1; {}-s window)",
        BITRATE / 1_000_000,
        WINDOW.as_secs()
    );
    println!(
        "| N | frames/s in (expected) | ingest CPU/camera | cameras/core | memory/stream | camera CPU/camera |"
    );
    println!("|---|---|---|---|---|---|");
    let mut per_camera_at_10 = None;
    for &n in sizes {
        let m = measure(n);
        let per_cam = m.ingest_cpu / n as f64;
        if n == 10 {
            per_camera_at_10 = Some(per_cam);
        }
        let mem = (m.ingest_rss_kb.saturating_sub(baseline_rss)) as f64 / 1024.0 / n as f64;
        println!(
            "| {n} | {:.0} ({}) | {:.3} % | {:.0} | {:.2} MB | {:.3} % |",
            m.frames_per_sec,
            n * FPS as usize,
            per_cam * 100.0,
            1.0 / per_cam,
            mem,
            m.camera_cpu / n as f64 * 100.0
        );
    }
    let peer = measure_ffmpeg(PEER_CAMERAS);
    println!(
        "\npeer: ffmpeg -c copy -f null, {PEER_CAMERAS} cameras: {:.3} % of a core per camera",
        peer * 100.0
    );
    if let Some(ours) = per_camera_at_10 {
        println!(
            "VAS ingest uses {:.2}x ffmpeg's CPU per camera (lower is better)",
            ours / peer
        );
    }
}

struct Measurement {
    ingest_cpu: f64,
    camera_cpu: f64,
    ingest_rss_kb: u64,
    frames_per_sec: f64,
}

fn measure(n: usize) -> Measurement {
    let (cameras, urls) = spawn_cameras(n);
    let mut args = vec!["ingest".to_owned()];
    args.extend(urls);
    let mut ingest = spawn_pinned(0, &args);
    assert_eq!(read_line(&mut ingest), "READY");
    std::thread::sleep(WARMUP);
    let (i0, c0) = (cpu_seconds(ingest.id()), cpu_seconds(cameras.id()));
    ingest
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"count\n")
        .unwrap();
    let f0: u64 = read_line(&mut ingest).parse().unwrap();
    let t0 = Instant::now();
    std::thread::sleep(WINDOW);
    let (i1, c1) = (cpu_seconds(ingest.id()), cpu_seconds(cameras.id()));
    ingest
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"count\n")
        .unwrap();
    let f1: u64 = read_line(&mut ingest).parse().unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let rss = rss_kb(ingest.id());
    finish(ingest);
    finish(cameras);
    Measurement {
        ingest_cpu: (i1 - i0) / secs,
        camera_cpu: (c1 - c0) / secs,
        ingest_rss_kb: rss,
        frames_per_sec: (f1 - f0) as f64 / secs,
    }
}

fn measure_ffmpeg(n: usize) -> f64 {
    let (cameras, urls) = spawn_cameras(n);
    let peers: Vec<Child> = urls
        .iter()
        .map(|url| {
            Command::new("taskset")
                .args(["-c", "0", "ffmpeg", "-nostdin", "-loglevel", "error"])
                .args([
                    "-rtsp_transport",
                    "tcp",
                    "-i",
                    url,
                    "-c",
                    "copy",
                    "-f",
                    "null",
                    "-",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("ffmpeg is installed by make test")
        })
        .collect();
    let per = peer_cpu_per_camera(peers, n, WARMUP, WINDOW);
    finish(cameras);
    per
}

/// Child: ingests the given cameras through the engine, one consumer per stream; prints
/// READY, then answers each "count" line on stdin with the frames consumed so far.
fn run_ingest(urls: &[String]) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let vas = vas::Vas::builder()
            .data_dir(dir.path())
            .build()
            .await
            .unwrap();
        let frames = Arc::new(AtomicU64::new(0));
        for (i, url) in urls.iter().enumerate() {
            let stream = add_camera(&vas, i, url).await;
            let mut sub = vas.encoded_frames(stream).await.unwrap();
            let counter = frames.clone();
            tokio::spawn(async move {
                while let Ok(d) = sub.recv().await {
                    if let vas::frames::EncodedDelivery::Frame(f) = d
                        && f.is_video()
                    {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
            vas.start_stream(stream).await.unwrap();
        }
        println!("READY");
        let _ = std::io::stdout().flush();
        let counter = frames.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            while std::io::stdin().read_line(&mut line).unwrap_or(0) > 0 {
                println!("{}", counter.load(Ordering::Relaxed));
                let _ = std::io::stdout().flush();
                line.clear();
            }
        })
        .await;
        vas.close().await;
    });
}
