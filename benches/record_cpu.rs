//! Recording CPU per camera, VAS against FFmpeg in the same run.
//!
//! N synthetic cameras (pre-encoded loop, 720p, 30 fps, 2 Mbit/s) on core 1. On core 0,
//! first VAS (one process, the engine ingesting and recording all N streams to HLS), then
//! the peer: one `ffmpeg -rtsp_transport tcp -i … -c copy -f hls -hls_time 2` per camera,
//! as FFmpeg-based recorders run it. CPU comes from `/proc/<pid>/stat` over a fixed window.
//! Reported for N = 1, 10, 50, with the ratio. Target: VAS ≤ 1/10 of FFmpeg's CPU per camera.
//!
//! `cargo bench -p vas-benches --bench record_cpu` (add `-- --quick` for N = 1, 10).

// A load generator reports on stdout; that is its interface.
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vas_benches::{
    BITRATE, FPS, HEIGHT, WIDTH, add_camera, cpu_seconds, finish, peer_cpu_per_camera, read_line,
    run_cameras, spawn_cameras, spawn_pinned, wait_for_stdin_close,
};

/// Settling time before measuring (recording and the first segments under way).
const WARMUP: Duration = Duration::from_secs(5);
/// Measuring window.
const WINDOW: Duration = Duration::from_secs(12);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("cameras") => return run_cameras(args[2].parse().expect("a camera count")),
        Some("record") => return run_recorder(&args[2..]),
        _ => {}
    }
    let quick = args.iter().any(|a| a == "--quick");
    let sizes: &[usize] = if quick { &[1, 10] } else { &[1, 10, 50] };
    println!(
        "\nrecording CPU per camera ({WIDTH}x{HEIGHT} {FPS} fps {} Mbit/s; recorder on core 0, cameras on core 1; {}-s window)",
        BITRATE / 1_000_000,
        WINDOW.as_secs()
    );
    println!(
        "| N | VAS CPU/camera | ffmpeg -f hls CPU/camera | VAS / ffmpeg | VAS segments written |"
    );
    println!("|---|---|---|---|---|");
    // Recorded folders are deleted only at the end: a filesystem without a journal (this
    // machine's ext4) makes new files expensive to create while many inodes were freed in
    // the last seconds, which would tax whichever side runs after a deletion.
    let mut folders = Vec::new();
    for &n in sizes {
        let (ours, segments) = measure_vas(n, &mut folders);
        let peer = measure_ffmpeg(n, &mut folders);
        println!(
            "| {n} | {:.3} % | {:.3} % | {:.3} (1/{:.1}) | {segments} |",
            ours * 100.0,
            peer * 100.0,
            ours / peer,
            peer / ours
        );
    }
}

/// Returns VAS's CPU per camera (fraction of a core) and the segments it wrote.
fn measure_vas(n: usize, folders: &mut Vec<tempfile::TempDir>) -> (f64, usize) {
    let (cameras, urls) = spawn_cameras(n);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut args = vec!["record".to_owned(), dir.path().display().to_string()];
    args.extend(urls);
    let mut vas = spawn_pinned(0, &args);
    assert_eq!(read_line(&mut vas), "READY");
    std::thread::sleep(WARMUP);
    let c0 = cpu_seconds(vas.id());
    let t0 = Instant::now();
    std::thread::sleep(WINDOW);
    let per = (cpu_seconds(vas.id()) - c0) / t0.elapsed().as_secs_f64() / n as f64;
    finish(vas);
    finish(cameras);
    let segments = count_files(dir.path(), ".ts");
    folders.push(dir);
    (per, segments)
}

fn count_files(dir: &std::path::Path, suffix: &str) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            n += count_files(&p, suffix);
        } else if p.to_string_lossy().ends_with(suffix) {
            n += 1;
        }
    }
    n
}

fn measure_ffmpeg(n: usize, folders: &mut Vec<tempfile::TempDir>) -> f64 {
    let (cameras, urls) = spawn_cameras(n);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let peers: Vec<Child> = urls
        .iter()
        .enumerate()
        .map(|(i, url)| {
            let out = dir.path().join(format!("cam-{i}"));
            std::fs::create_dir_all(&out).expect("a folder per camera");
            Command::new("taskset")
                .args(["-c", "0", "ffmpeg", "-nostdin", "-loglevel", "error"])
                .args(["-rtsp_transport", "tcp", "-i", url, "-c", "copy"])
                .args(["-f", "hls", "-hls_time", "2", "-hls_list_size", "0"])
                .arg(out.join("index.m3u8"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("ffmpeg is installed by make test")
        })
        .collect();
    let per = peer_cpu_per_camera(peers, n, WARMUP, WINDOW);
    finish(cameras);
    folders.push(dir);
    per
}

/// Child role: VAS ingesting and recording every camera into `data_dir`; prints READY.
fn run_recorder(args: &[String]) {
    let (data_dir, urls) = args.split_first().expect("a data folder and camera URLs");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let vas = vas::Vas::builder()
            .data_dir(data_dir)
            .build()
            .await
            .expect("start VAS");
        for (i, url) in urls.iter().enumerate() {
            let stream = add_camera(&vas, i, url).await;
            vas.set_recording(stream, true).await.expect("record");
            vas.start_stream(stream).await.expect("start");
        }
        println!("READY");
        let _ = std::io::stdout().flush();
        wait_for_stdin_close().await;
        vas.close().await;
    });
}
