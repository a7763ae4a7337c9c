//! Decoded frames through the engine, from the synthetic camera over real RTSP: pixels checked
//! against ffmpeg's decode of the same bitstream, freshness for a slow consumer, bounded memory
//! with idle subscribers, a camera restart, receiving from a plain thread, and what happens
//! when nobody (or an unknown stream) is asked for.
//!
//! The cameras replay a pre-encoded loop (cheap), and the tests take turns (one measures the
//! process's memory, which the others would disturb).
use std::process::Command;
use std::time::{Duration, Instant};

use crate::frames::{FrameOptions, FrameSubscription, PixelFormat, VideoFrame};
use crate::hub::Delivery;
use crate::ingest::{BackoffPolicy, IngestConfig};
use crate::model::NewDevice;
use crate::tests::record_support::annexb;
use crate::{ErrorKind, StreamId, Vas};
use vas_synth::{CameraConfig, CameraMode, SyntheticCamera};
use vas_testkit::psnr;

/// Held by each test for its whole run.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn camera(width: u32, height: u32, fps: u32) -> SyntheticCamera {
    SyntheticCamera::start(CameraConfig {
        width,
        height,
        fps,
        gop: fps,
        bitrate_bps: 1_500_000,
        mode: CameraMode::PreEncodedLoop { seconds: 2 },
        bind: "127.0.0.1:0".parse().unwrap(),
        ..CameraConfig::default()
    })
    .await
    .unwrap()
}

async fn engine(dir: &tempfile::TempDir) -> Vas {
    Vas::builder()
        .data_dir(dir.path())
        .ingest_config(IngestConfig {
            stall_timeout: Duration::from_secs(2),
            backoff: BackoffPolicy {
                initial: Duration::from_millis(100),
                max: Duration::from_millis(500),
                stable_period: Duration::from_millis(500),
                ..Default::default()
            },
            ..Default::default()
        })
        .build()
        .await
        .unwrap()
}

async fn add_stream(vas: &Vas, url: &str, start: bool) -> StreamId {
    let d = vas
        .add_device(NewDevice::new("synthetic", url))
        .await
        .unwrap();
    let s = vas
        .streams(None, crate::Order::Oldest)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.device_id == d.id)
        .unwrap();
    if start {
        vas.start_stream(s.id).await.unwrap();
    }
    s.id
}

/// Receives on a blocking thread, so the engine's runtime keeps running meanwhile.
async fn recv(
    sub: FrameSubscription,
    timeout: Duration,
) -> (FrameSubscription, crate::Result<VideoFrame>) {
    tokio::task::spawn_blocking(move || {
        let mut sub = sub;
        let r = sub.recv_timeout(timeout);
        (sub, r)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pixels_match_ffmpeg_decode_of_the_same_bitstream() {
    let _serial = SERIAL.lock().await;
    let cam = camera(640, 360, 15).await;
    let dir = tempfile::tempdir().unwrap();
    let vas = engine(&dir).await;
    let id = add_stream(&vas, &cam.url(), false).await;
    // Subscribe before the stream runs, so encoded and decoded both start at its first
    // keyframe.
    let mut encoded = vas.encoded_frames(id).await.unwrap();
    let queue = |format| FrameOptions::new(format).queue(32);
    let mut subs = Vec::new();
    for format in [
        PixelFormat::I420,
        PixelFormat::Bgr24,
        PixelFormat::Rgb24,
        PixelFormat::Gray8,
        PixelFormat::Nv12,
    ] {
        subs.push(vas.frames(id, queue(format)).await.unwrap());
    }
    let mut scaled = vas
        .frames(id, queue(PixelFormat::Bgr24).max_size(320, 320))
        .await
        .unwrap();
    vas.start_stream(id).await.unwrap();

    let mut frames = Vec::new();
    while frames.len() < 12 {
        match tokio::time::timeout(Duration::from_secs(10), encoded.recv()).await {
            Ok(Ok(Delivery::Frame(f))) if f.is_video() => {
                if frames.is_empty() && !f.keyframe {
                    continue;
                }
                frames.push(f);
            }
            Ok(Ok(_)) => {}
            other => panic!("no encoded frame: {other:?}"),
        }
    }
    let pick = 7;
    let tmp = tempfile::tempdir().unwrap();
    let h264 = tmp.path().join("in.h264");
    std::fs::write(&h264, annexb(&frames)).unwrap();
    let ffmpeg = |pix_fmt: &str| -> Vec<u8> {
        let out = Command::new("ffmpeg")
            .args(["-v", "error", "-f", "h264", "-i"])
            .arg(&h264)
            .args([
                "-frames:v",
                "12",
                "-f",
                "rawvideo",
                "-pix_fmt",
                pix_fmt,
                "-",
            ])
            .output()
            .expect("ffmpeg runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };

    let want_pts = frames[pick].pts;
    let mut ours = Vec::new();
    for sub in subs.drain(..) {
        let mut sub = sub;
        let found = loop {
            let (s, r) = recv(sub, Duration::from_secs(10)).await;
            sub = s;
            let f = r.expect("a decoded frame");
            assert_eq!(f.epoch(), frames[0].epoch);
            if f.pts() == want_pts {
                break f;
            }
            assert!(f.pts() < want_pts, "frame {} skipped", want_pts);
        };
        ours.push(found);
    }
    for (f, fmt) in ours
        .iter()
        .zip(["yuv420p", "bgr24", "rgb24", "gray", "nv12"])
    {
        assert_eq!((f.width(), f.height()), (640, 360), "{fmt}");
        // Our gray is the Y plane as decoded (limited range); ffmpeg's "gray" would stretch it
        // to full range, so compare with the Y plane of its yuv420p.
        let all = ffmpeg(if fmt == "gray" { "yuv420p" } else { fmt });
        let size = all.len() / 12;
        let mut theirs = &all[pick * size..(pick + 1) * size];
        if fmt == "gray" {
            theirs = &theirs[..640 * 360];
        }
        assert_eq!(f.data().len(), theirs.len(), "{fmt}: one frame's bytes");
        let db = psnr(f.data(), theirs);
        eprintln!("{fmt}: PSNR against ffmpeg {db:.1} dB");
        assert!(db >= 35.0, "{fmt}: PSNR {db:.1} dB against ffmpeg");
    }
    let f = loop {
        let (s, r) = recv(scaled, Duration::from_secs(10)).await;
        scaled = s;
        let f = r.unwrap();
        if f.pts() == want_pts {
            break f;
        }
    };
    assert_eq!((f.width(), f.height()), (320, 180));
    assert_eq!(f.data().len(), 320 * 180 * 3);
    assert_eq!(f.planes()[0].stride, 320 * 3);
    drop(vas);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_latest_only_consumer_always_gets_a_fresh_frame() {
    let _serial = SERIAL.lock().await;
    let cam = camera(640, 360, 30).await;
    let dir = tempfile::tempdir().unwrap();
    let vas = engine(&dir).await;
    let id = add_stream(&vas, &cam.url(), true).await;
    let sub = vas
        .frames(id, FrameOptions::new(PixelFormat::Bgr24))
        .await
        .unwrap();
    let ages = tokio::task::spawn_blocking(move || {
        let mut sub = sub;
        let mut ages = Vec::new();
        let mut last_seq = None;
        for i in 0..8 {
            let f = sub.recv_timeout(Duration::from_secs(10)).unwrap();
            let age = chrono::Utc::now() - f.time();
            if let Some(s) = last_seq {
                assert!(f.seq() > s, "sequence numbers increase");
            }
            last_seq = Some(f.seq());
            if i > 0 {
                // The first frame is the cached keyframe (as old as the GOP); after that the
                // consumer's 500 ms naps must never leave it with an old picture.
                ages.push(age.num_milliseconds());
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        assert!(
            sub.dropped() > 50,
            "frames replaced while the consumer slept: {}",
            sub.dropped()
        );
        ages
    })
    .await
    .unwrap();
    eprintln!("newest-frame ages at a 2 fps consumer of a 30 fps camera: {ages:?} ms");
    assert!(ages.iter().all(|&a| a < 100), "{ages:?}");
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Decoder threads of one stream (named `vas-dec-` and the end of the stream's id; other
/// tests in this process decode their own streams meanwhile).
fn decoder_threads(id: StreamId) -> usize {
    let id = id.to_string();
    let name = format!("vas-dec-{}", &id[id.len() - 6..]);
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|c| c.trim() == name)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_subscribers_cost_one_decoder_and_bounded_memory() {
    let _serial = SERIAL.lock().await;
    let cam = camera(1280, 720, 30).await;
    let dir = tempfile::tempdir().unwrap();
    let vas = engine(&dir).await;
    let id = add_stream(&vas, &cam.url(), true).await;
    let mut probe = vas
        .frames(id, FrameOptions::new(PixelFormat::Rgb24))
        .await
        .unwrap();
    probe = recv(probe, Duration::from_secs(10)).await.0;
    let mut idle = Vec::new();
    for i in 0..100 {
        let opts = match i % 4 {
            0 => FrameOptions::new(PixelFormat::Rgb24),
            1 => FrameOptions::new(PixelFormat::I420),
            2 => FrameOptions::new(PixelFormat::Bgr24).max_size(320, 320),
            _ => FrameOptions::new(PixelFormat::Gray8).queue(4),
        };
        idle.push(vas.frames(id, opts).await.unwrap());
    }
    assert!(vas.is_decoding(id));
    // Let every format's buffers reach their steady state, then watch: unread frames must be
    // replaced, not piled up (a queue of 720p frames would grow by ~100 MB a second).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_kib();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let grown_mib = (rss_kib().saturating_sub(before)) / 1024;
    let dropped: u64 = idle.iter().map(|s| s.dropped()).sum();
    eprintln!(
        "100 idle subscribers for 3 s of 720p30: RSS +{grown_mib} MiB, {dropped} frames replaced unread"
    );
    // Unread frames are replaced, not queued: 75 subscribers hold one frame each (shared by
    // those asking for the same format and size), 25 hold four small gray ones.
    assert!(grown_mib < 32, "RSS grew {grown_mib} MiB");
    assert!(dropped > 100 * 30, "unread frames were replaced: {dropped}");
    assert_eq!(
        decoder_threads(id),
        1,
        "one decoder serves every subscriber of a stream"
    );
    let f = recv(probe, Duration::from_secs(5)).await.1.unwrap();
    assert_eq!((f.width(), f.height()), (1280, 720));
    drop(idle);
    // The last subscriber gone, the decoder stops: nothing decodes for nobody.
    let t = Instant::now();
    while vas.is_decoding(id) || decoder_threads(id) > 0 {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "decoder still running"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_resume_by_themselves_after_a_camera_restart() {
    let _serial = SERIAL.lock().await;
    let cam = camera(640, 360, 15).await;
    let dir = tempfile::tempdir().unwrap();
    let vas = engine(&dir).await;
    let id = add_stream(&vas, &cam.url(), true).await;
    let sub = vas
        .frames(id, FrameOptions::new(PixelFormat::Gray8))
        .await
        .unwrap();
    let (sub, first) = recv(sub, Duration::from_secs(10)).await;
    let epoch = first.unwrap().epoch();
    cam.stop().await;
    // Drain what was decoded before the camera went away, then nothing comes: a timeout,
    // promptly, never a hang.
    let mut sub = sub;
    loop {
        let t = Instant::now();
        let (s, r) = recv(sub, Duration::from_millis(700)).await;
        sub = s;
        match r {
            Ok(_) => continue,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
                assert!(t.elapsed() < Duration::from_secs(2));
                break;
            }
        }
    }
    cam.restart().await.unwrap();
    let (_, r) = recv(sub, Duration::from_secs(15)).await;
    let f = r.expect("frames resume after the camera returns");
    assert!(
        f.epoch() > epoch,
        "a new connection: epoch {} after {epoch}",
        f.epoch()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiving_works_from_a_plain_thread_and_ends_when_the_stream_is_removed() {
    let _serial = SERIAL.lock().await;
    let cam = camera(640, 360, 15).await;
    let dir = tempfile::tempdir().unwrap();
    let vas = engine(&dir).await;
    let id = add_stream(&vas, &cam.url(), false).await;
    // A stopped stream: subscribing works, receiving times out (no hang, no panic).
    let sub = vas.frames(id, FrameOptions::default()).await.unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        // No tokio runtime on this thread.
        assert!(tokio::runtime::Handle::try_current().is_err());
        let mut sub = sub;
        let stopped = sub.recv_timeout(Duration::from_millis(300)).unwrap_err();
        tx.send(()).unwrap();
        let frame = sub.recv_timeout(Duration::from_secs(10));
        let mut end: crate::Result<()> = Err(crate::Error::internal("unset"));
        if frame.is_ok() {
            tx.send(()).unwrap();
            // Drain until the subscription ends.
            end = loop {
                match sub.recv_timeout(Duration::from_secs(10)) {
                    Ok(_) => continue,
                    Err(e) => break Err(e),
                }
            };
        }
        (
            stopped,
            frame.map(|f| (f.width(), f.height(), f.format())),
            end,
        )
    });
    rx.recv_timeout(Duration::from_secs(5)).unwrap();
    vas.start_stream(id).await.unwrap();
    rx.recv_timeout(Duration::from_secs(15))
        .expect("a frame on the plain thread");
    let device = vas.stream(id).await.unwrap().device_id;
    vas.remove_device(device).await.unwrap();
    let (stopped, frame, end) = tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
    assert_eq!(stopped.kind(), ErrorKind::Timeout);
    assert_eq!(frame.unwrap(), (640, 360, PixelFormat::Bgr24));
    let end = end.unwrap_err();
    assert_eq!(end.kind(), ErrorKind::NotFound, "{end}");
    // Unknown streams and bad options are refused up front.
    let e = vas.frames(id, FrameOptions::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let other = add_stream(&vas, &cam.url(), false).await;
    let e = vas
        .frames(
            other,
            FrameOptions::new(PixelFormat::Rgb24).max_size(0, 100),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        !vas.is_decoding(other),
        "no decoder for a stream nobody subscribed to"
    );
}
