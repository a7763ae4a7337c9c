//! Decoded frames delivered to a consumer, VAS against an FFmpeg pipe in the same run.
//!
//! One synthetic camera (pre-encoded loop, H.264, 30 fps) on core 1, at 720p and at 1080p. On
//! core 0, first VAS (one process: the engine ingesting the camera and a decoded-frame
//! subscription in BGR24, read by a consumer thread), then the peer people use for this:
//! `ffmpeg -rtsp_transport tcp -i rtsp://… -f rawvideo -pix_fmt bgr24 -`, read from its pipe.
//! CPU comes from `/proc/<pid>/stat` over a fixed window (the pipe's reader, this process, is
//! not counted for FFmpeg; VAS's consumer thread is counted for VAS).
//!
//! Two consumers each:
//! * **fast** (reads every frame as soon as it can): frames/s and CPU per frame;
//! * **slow** (5 frames/s, 200 ms of "work" per frame): the age of each frame handed out.
//!   VAS's frames carry their capture time. The pipe's raw frames carry none, so FFmpeg's age
//!   is the backlog: time since its first frame minus (frames read ÷ 30 fps), exact while the
//!   camera sends every frame, which it does here (its socket buffers hold the backlog).
//!
//! Target: VAS ≤ 1× FFmpeg's CPU per frame; newest-frame age at the slow consumer ≤ 100 ms,
//! where the pipe's grows without bound.
//!
//! `cargo bench -p vas-benches --bench decode` (add `-- --quick` for 720p only).

// A load generator reports on stdout; that is its interface.
#![allow(clippy::print_stdout)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use vas::frames::{FrameOptions, PixelFormat};
use vas_benches::{
    FPS, add_camera, cpu_seconds, finish, read_line, run_cameras_with, spawn_pinned,
};

/// Settling time before measuring.
const WARMUP: Duration = Duration::from_secs(4);
/// Measuring window.
const WINDOW: Duration = Duration::from_secs(12);
/// The slow consumer's work per frame (5 frames/s).
const SLOW_WORK: Duration = Duration::from_millis(200);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("camera") => return run_camera(&args[2], args[3].parse().expect("a bitrate")),
        Some("vas") => return run_vas(&args[2], &args[3]),
        _ => {}
    }
    let quick = args.iter().any(|a| a == "--quick");
    let sizes: &[(u32, u32, u32)] = if quick {
        &[(1280, 720, 2_000_000)]
    } else {
        &[(1280, 720, 2_000_000), (1920, 1080, 4_000_000)]
    };
    println!(
        "\ndecoded BGR24 frames to a consumer ({FPS} fps H.264; consumer side on core 0, camera on core 1; {}-s window)",
        WINDOW.as_secs()
    );
    println!(
        "| picture | VAS fps | VAS CPU/frame | ffmpeg pipe fps | ffmpeg CPU/frame | VAS / ffmpeg | slow consumer: VAS newest-frame age (max) | slow consumer: ffmpeg pipe frame age (start → end) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for &(w, h, bitrate) in sizes {
        let mut camera = spawn_pinned(
            1,
            &["camera".into(), format!("{w}x{h}"), bitrate.to_string()],
        );
        let url = read_line(&mut camera);
        let (vas_fps, vas_cpu) = vas_fast(&url);
        let (ff_fps, ff_cpu) = ffmpeg_fast(&url, w, h);
        let vas_age = vas_slow(&url);
        let (ff_first, ff_last) = ffmpeg_slow(&url, w, h);
        finish(camera);
        println!(
            "| {w}x{h} | {vas_fps:.1} | {:.2} ms | {ff_fps:.1} | {:.2} ms | {:.2} | {vas_age} ms | {ff_first} ms → {ff_last} ms |",
            vas_cpu * 1e3,
            ff_cpu * 1e3,
            vas_cpu / ff_cpu
        );
    }
}

/// Asks a VAS child for its counters: (frames so far, max age since the last ask in ms).
fn mark(child: &mut Child) -> (u64, i64) {
    let stdin = child.stdin.as_mut().expect("piped stdin");
    writeln!(stdin, "mark").expect("the child reads its stdin");
    stdin.flush().expect("flush");
    let line = read_line(child);
    let mut parts = line
        .split_whitespace()
        .map(|p| p.parse::<i64>().unwrap_or(-1));
    (
        parts.next().unwrap_or(0).max(0) as u64,
        parts.next().unwrap_or(-1),
    )
}

/// VAS with a fast consumer: (frames/s, CPU seconds per frame).
fn vas_fast(url: &str) -> (f64, f64) {
    let mut vas = spawn_pinned(0, &["vas".into(), url.into(), "fast".into()]);
    assert_eq!(read_line(&mut vas), "READY");
    std::thread::sleep(WARMUP);
    let (f0, _) = mark(&mut vas);
    let c0 = cpu_seconds(vas.id());
    let t0 = Instant::now();
    std::thread::sleep(WINDOW);
    let (f1, _) = mark(&mut vas);
    let cpu = cpu_seconds(vas.id()) - c0;
    let secs = t0.elapsed().as_secs_f64();
    finish(vas);
    let frames = (f1 - f0).max(1) as f64;
    (frames / secs, cpu / frames)
}

/// VAS with a 5 fps consumer: the oldest frame it was handed in the window, in ms.
fn vas_slow(url: &str) -> i64 {
    let mut vas = spawn_pinned(0, &["vas".into(), url.into(), "slow".into()]);
    assert_eq!(read_line(&mut vas), "READY");
    std::thread::sleep(WARMUP);
    let _ = mark(&mut vas);
    std::thread::sleep(WINDOW);
    let (_, age) = mark(&mut vas);
    finish(vas);
    age
}

fn spawn_ffmpeg(url: &str) -> Child {
    Command::new("taskset")
        .args(["-c", "0", "ffmpeg", "-nostdin", "-loglevel", "error"])
        .args(["-rtsp_transport", "tcp", "-i", url])
        .args(["-f", "rawvideo", "-pix_fmt", "bgr24", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("ffmpeg is installed by make test")
}

/// The FFmpeg pipe read as fast as possible: (frames/s, CPU seconds per frame).
fn ffmpeg_fast(url: &str, w: u32, h: u32) -> (f64, f64) {
    let mut ff = spawn_ffmpeg(url);
    let mut out = ff.stdout.take().expect("piped stdout");
    let frame_bytes = (w * h * 3) as usize;
    let frames = Arc::new(AtomicU64::new(0));
    let counter = frames.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; frame_bytes];
        while out.read_exact(&mut buf).is_ok() {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    std::thread::sleep(WARMUP);
    let f0 = frames.load(Ordering::Relaxed);
    let c0 = cpu_seconds(ff.id());
    let t0 = Instant::now();
    std::thread::sleep(WINDOW);
    let f1 = frames.load(Ordering::Relaxed);
    let cpu = cpu_seconds(ff.id()) - c0;
    let secs = t0.elapsed().as_secs_f64();
    let _ = ff.kill();
    let _ = ff.wait();
    let _ = reader.join();
    let n = (f1 - f0).max(1) as f64;
    (n / secs, cpu / n)
}

/// The FFmpeg pipe read at 5 frames/s: the backlog age of the frame handed out after the
/// warm-up and at the end of the window, in ms.
fn ffmpeg_slow(url: &str, w: u32, h: u32) -> (i64, i64) {
    let mut ff = spawn_ffmpeg(url);
    let mut out = ff.stdout.take().expect("piped stdout");
    let mut buf = vec![0u8; (w * h * 3) as usize];
    out.read_exact(&mut buf).expect("a first frame from ffmpeg");
    let first = Instant::now();
    let mut read = 1u64;
    let age = |read: u64| {
        let behind = first.elapsed().as_secs_f64() - (read - 1) as f64 / f64::from(FPS);
        (behind * 1e3) as i64
    };
    let mut at_warmup = None;
    while first.elapsed() < WARMUP + WINDOW {
        std::thread::sleep(SLOW_WORK);
        if out.read_exact(&mut buf).is_err() {
            break;
        }
        read += 1;
        if at_warmup.is_none() && first.elapsed() >= WARMUP {
            at_warmup = Some(age(read));
        }
    }
    let end = age(read);
    let _ = ff.kill();
    let _ = ff.wait();
    (at_warmup.unwrap_or(end), end)
}

/// Child role: one synthetic camera (`WxH`, `bitrate` bit/s); prints its URL; exits when
/// stdin closes.
fn run_camera(size: &str, bitrate: u32) {
    let (w, h) = size.split_once('x').expect("WxH");
    run_cameras_with(
        1,
        w.parse().expect("width"),
        h.parse().expect("height"),
        bitrate,
    );
}

/// Child role: VAS ingesting `url` with one decoded BGR24 subscription read by a `fast` or
/// `slow` consumer. Prints READY at the first frame; answers each stdin line with "frames
/// max_age_ms" (max age since the previous line); exits when stdin closes.
fn run_vas(url: &str, mode: &str) {
    let slow = mode == "slow";
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let dir = tempfile::tempdir().expect("a temporary folder");
    rt.block_on(async {
        let vas = vas::Vas::builder()
            .data_dir(dir.path())
            .build()
            .await
            .expect("start VAS");
        let stream = add_camera(&vas, 0, url).await;
        vas.start_stream(stream).await.expect("start");
        let mut frames = vas
            .frames(
                stream,
                // VAS_BENCH_FORMAT=gray (or i420, nv12, rgb24) shows what conversion costs;
                // the peer comparison is BGR24 against BGR24.
                FrameOptions::new(
                    std::env::var("VAS_BENCH_FORMAT").map_or(PixelFormat::Bgr24, |f| {
                        PixelFormat::parse(&f).expect("a pixel format")
                    }),
                ),
            )
            .await
            .expect("subscribe");
        let count = Arc::new(AtomicU64::new(0));
        let max_age = Arc::new(std::sync::atomic::AtomicI64::new(-1));
        let (c, m) = (count.clone(), max_age.clone());
        let consumer = std::thread::spawn(move || {
            let mut ready = false;
            loop {
                let f = match frames.recv_timeout(Duration::from_secs(10)) {
                    Ok(f) => f,
                    Err(_) => return,
                };
                let age = (chrono::Utc::now() - f.time()).num_milliseconds();
                // Touch the pixels, as a consumer would.
                std::hint::black_box(f.data()[f.data().len() / 2]);
                if !ready {
                    ready = true;
                    println!("READY");
                    let _ = std::io::stdout().flush();
                } else {
                    m.fetch_max(age, Ordering::Relaxed);
                }
                c.fetch_add(1, Ordering::Relaxed);
                if slow {
                    std::thread::sleep(SLOW_WORK);
                }
            }
        });
        tokio::task::spawn_blocking(move || {
            let stdin = std::io::stdin();
            for line in BufReader::new(stdin.lock()).lines() {
                if line.is_err() {
                    break;
                }
                println!(
                    "{} {}",
                    count.load(Ordering::Relaxed),
                    max_age.swap(-1, Ordering::Relaxed)
                );
                let _ = std::io::stdout().flush();
            }
        })
        .await
        .expect("stdin reader");
        vas.close().await;
        drop(vas);
        let _ = consumer.join();
    });
}
