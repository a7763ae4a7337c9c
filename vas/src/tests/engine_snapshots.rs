//! Snapshots through the engine, from the synthetic camera over real RTSP: the JPEG shows the
//! newest frame (checked against ffmpeg's decode of the very frame it names), sizes and the
//! keyframe source, streams that are not live or have no picture (errors, never a hang, or
//! the last good picture when asked), saved snapshots (file, row, image, delete), concurrent
//! requests sharing work, and 100 snapshot and bookmark requests at once not stalling a live
//! consumer (measured against what the camera sent).
//!
//! The cameras replay a pre-encoded loop (cheap); the tests hold the real-time lock.
use std::process::Command;
use std::time::{Duration, Instant};

use crate::hub::Delivery;
use crate::media::Frame;
use crate::snapshot::SnapshotOptions;
use crate::tests::record_support::annexb;
use crate::{ErrorKind, ListQuery, NewDevice, StreamId, StreamState, Vas};
use vas_synth::{CameraConfig, CameraMode, SyntheticCamera};
use vas_testkit::psnr;

async fn camera(width: u32, height: u32, fps: u32, gop: u32) -> SyntheticCamera {
    SyntheticCamera::start(CameraConfig {
        width,
        height,
        fps,
        gop,
        bitrate_bps: 1_500_000,
        mode: CameraMode::PreEncodedLoop { seconds: 4 },
        bind: "127.0.0.1:0".parse().unwrap(),
        ..CameraConfig::default()
    })
    .await
    .unwrap()
}

async fn stream(vas: &Vas, url: &str) -> StreamId {
    vas.add_device(NewDevice::new("synthetic", url))
        .await
        .unwrap();
    vas.streams(None, crate::Order::Oldest)
        .await
        .unwrap()
        .last()
        .unwrap()
        .id
}

async fn wait_live(vas: &Vas, id: StreamId) {
    let t = Instant::now();
    while vas.stream(id).await.unwrap().state != StreamState::Live {
        assert!(t.elapsed() < Duration::from_secs(20), "stream never live");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Decodes a JPEG (or anything ffmpeg reads) to packed RGB.
fn ffmpeg_rgb(input: &std::path::Path, format: Option<&str>) -> (Vec<u8>, String) {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error"]);
    if let Some(f) = format {
        cmd.args(["-f", f]);
    }
    let out = cmd
        .arg("-i")
        .arg(input)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn jpeg_size(jpeg: &[u8]) -> (u32, u32) {
    let sof = jpeg
        .windows(2)
        .position(|p| p == [0xFF, 0xC0])
        .expect("a baseline JPEG");
    let h = u16::from_be_bytes([jpeg[sof + 5], jpeg[sof + 6]]);
    let w = u16::from_be_bytes([jpeg[sof + 7], jpeg[sof + 8]]);
    (u32::from(w), u32::from(h))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snapshot_is_the_newest_frame_and_matches_ffmpegs_decode_of_it() {
    let _serial = vas_testkit::realtime_lock();
    // A 2 s GOP: the newest frame is usually far from the keyframe.
    let cam = camera(640, 360, 15, 30).await;
    let dir = tempfile::tempdir().unwrap();
    let vas = Vas::builder().data_dir(dir.path()).build().await.unwrap();
    let id = stream(&vas, &cam.url()).await;
    let mut encoded = vas.encoded_frames(id).await.unwrap();
    vas.start_stream(id).await.unwrap();

    // Everything the camera sent, from its first keyframe, as the hub carries it.
    let mut frames: Vec<Frame> = Vec::new();
    let mut pull = |frames: &mut Vec<Frame>| {
        while let Ok(Some(d)) = encoded.try_recv() {
            if let Delivery::Frame(f) = d
                && f.is_video()
                && (f.keyframe || !frames.is_empty())
            {
                frames.push(f);
            }
        }
    };
    let t = Instant::now();
    while frames.len() < 40 {
        assert!(t.elapsed() < Duration::from_secs(20), "too few frames");
        tokio::time::sleep(Duration::from_millis(20)).await;
        pull(&mut frames);
    }
    let mut checked = 0;
    for round in 0..3 {
        pull(&mut frames);
        let newest_before = frames.last().unwrap().wallclock;
        let jpeg = vas.snapshot(id, SnapshotOptions::new()).await.unwrap();
        assert!(!jpeg.offline);
        assert!(
            jpeg.time >= newest_before,
            "round {round}: the snapshot shows {} but {} had arrived before asking",
            jpeg.time,
            newest_before
        );
        assert_eq!((jpeg.width, jpeg.height), (640, 360));
        assert_eq!(jpeg_size(&jpeg.jpeg), (640, 360));
        // The frame it names, and ffmpeg's decode of the GOP up to it.
        tokio::time::sleep(Duration::from_millis(100)).await;
        pull(&mut frames);
        let at = frames
            .iter()
            .position(|f| f.wallclock == jpeg.time)
            .expect("the snapshot names a frame the camera sent");
        let key = frames[..=at].iter().rposition(|f| f.keyframe).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let h264 = tmp.path().join("gop.h264");
        std::fs::write(&h264, annexb(&frames[key..=at])).unwrap();
        let (all, _) = ffmpeg_rgb(&h264, Some("h264"));
        let size = 640 * 360 * 3;
        assert_eq!(
            all.len(),
            (at - key + 1) * size,
            "ffmpeg decoded every frame"
        );
        let theirs = &all[all.len() - size..];
        let file = tmp.path().join("snap.jpg");
        std::fs::write(&file, &jpeg.jpeg).unwrap();
        let (ours, _) = ffmpeg_rgb(&file, None);
        let db = psnr(&ours, theirs);
        eprintln!(
            "round {round}: frame {} of its GOP, PSNR against ffmpeg {db:.1} dB",
            at - key
        );
        assert!(db >= 30.0, "PSNR {db:.1} dB");
        checked += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(checked, 3);

    // A width scales (aspect kept); the keyframe source names a keyframe.
    let small = vas
        .snapshot(id, SnapshotOptions::new().width(320).quality(60))
        .await
        .unwrap();
    assert_eq!(jpeg_size(&small.jpeg), (320, 180));
    let key = vas
        .snapshot(id, SnapshotOptions::new().keyframe())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    pull(&mut frames);
    let named = frames.iter().find(|f| f.wallclock == key.time).unwrap();
    assert!(named.keyframe, "the keyframe source shows a keyframe");

    // The decoder stays warm for pollers, and lets go when the engine closes.
    assert_eq!(vas.warm_snapshot_streams(), 1);
    vas.close().await;
    assert_eq!(vas.warm_snapshot_streams(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_without_a_live_picture_answer_at_once_and_stale_ok_gives_the_last_one() {
    let _serial = vas_testkit::realtime_lock();
    let cam = camera(320, 180, 15, 15).await;
    let dir = tempfile::tempdir().unwrap();
    let vas = Vas::builder().data_dir(dir.path()).build().await.unwrap();
    let id = stream(&vas, &cam.url()).await;

    // Unknown stream; bad options.
    let e = vas
        .snapshot(StreamId::new(), SnapshotOptions::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    for bad in [
        SnapshotOptions::new().width(0),
        SnapshotOptions::new().width(100_000),
        SnapshotOptions::new().quality(0),
    ] {
        let e = vas.snapshot(id, bad).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }

    // Never started: no picture, at once.
    let t = Instant::now();
    for stale_ok in [false, true] {
        let e = vas
            .snapshot(id, SnapshotOptions::new().stale_ok(stale_ok))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        assert!(e.message().contains("no picture"), "{e}");
    }
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());

    // Live, then the camera goes away: the error names the last good picture's time, and
    // stale_ok hands that picture over, marked offline.
    vas.start_stream(id).await.unwrap();
    wait_live(&vas, id).await;
    let live = vas.snapshot(id, SnapshotOptions::new()).await.unwrap();
    cam.stop().await;
    let t = Instant::now();
    while vas.stream(id).await.unwrap().state == StreamState::Live {
        assert!(t.elapsed() < Duration::from_secs(30), "stream stayed live");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let t = Instant::now();
    let e = vas.snapshot(id, SnapshotOptions::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.message().contains("last good picture is from"), "{e}");
    let stale = vas
        .snapshot(id, SnapshotOptions::new().stale_ok(true))
        .await
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
    assert!(stale.offline);
    assert!(stale.time >= live.time);
    assert_eq!(jpeg_size(&stale.jpeg), (320, 180));
    vas.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_snapshots_have_a_file_and_a_row_until_deleted() {
    let _serial = vas_testkit::realtime_lock();
    let cam = camera(320, 180, 15, 15).await;
    let dir = tempfile::tempdir().unwrap();
    let vas = Vas::builder().data_dir(dir.path()).build().await.unwrap();
    let id = stream(&vas, &cam.url()).await;
    vas.start_stream(id).await.unwrap();
    wait_live(&vas, id).await;
    let mut events = vas.events();

    let e = vas
        .save_snapshot(id, SnapshotOptions::new(), Some("x".repeat(257)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let saved = vas
        .save_snapshot(id, SnapshotOptions::new(), Some("  gate ✓ ".into()))
        .await
        .unwrap();
    assert_eq!(saved.label.as_deref(), Some("gate ✓"));
    assert_eq!((saved.width, saved.height), (320, 180));
    let file = vas.resolve_media(&saved.location).unwrap();
    assert!(file.starts_with(dir.path()));
    let on_disk = std::fs::read(&file).unwrap();
    assert_eq!(on_disk.len() as u64, saved.bytes);
    let image = vas.saved_snapshot_image(saved.id).await.unwrap();
    assert_eq!(&image[..], &on_disk[..]);
    let (rgb, _) = ffmpeg_rgb(&file, None);
    assert_eq!(rgb.len(), 320 * 180 * 3);
    assert_eq!(vas.saved_snapshot(saved.id).await.unwrap(), saved);
    assert_eq!(
        vas.saved_snapshots(ListQuery::stream(id)).await.unwrap(),
        vec![saved.clone()]
    );
    // The event says so (after the stream's own events).
    loop {
        match events.recv_timeout(Duration::from_secs(5)) {
            Ok(crate::Event::SnapshotSaved {
                snapshot_id: snapshot,
                ..
            }) if snapshot == saved.id => break,
            Ok(_) => {}
            Err(e) => panic!("no SnapshotSaved event: {e}"),
        }
    }

    vas.delete_snapshot(saved.id).await.unwrap();
    assert!(!file.exists(), "the file goes with the row");
    for e in [
        vas.saved_snapshot(saved.id).await.unwrap_err(),
        vas.saved_snapshot_image(saved.id).await.unwrap_err(),
        vas.delete_snapshot(saved.id).await.unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }

    // A file that went missing behind our back is a clear error, not a crash.
    let again = vas
        .save_snapshot(id, SnapshotOptions::new(), None)
        .await
        .unwrap();
    std::fs::remove_file(vas.resolve_media(&again.location).unwrap()).unwrap();
    let e = vas.saved_snapshot_image(again.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    vas.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_snapshots_and_bookmarks_at_once_do_not_stall_a_live_consumer() {
    let _serial = vas_testkit::realtime_lock();
    let cam = std::sync::Arc::new(camera(1280, 720, 30, 30).await);
    let dir = tempfile::tempdir().unwrap();
    // 50 distinct pending bookmarks at once: room for them above the default cap.
    let vas = Vas::builder()
        .data_dir(dir.path())
        .bookmark_config(crate::config::BookmarkConfig {
            max_pending_per_stream: 64,
            ..crate::config::BookmarkConfig::default()
        })
        .build()
        .await
        .unwrap();
    let id = stream(&vas, &cam.url()).await;
    let mut live = vas.encoded_frames(id).await.unwrap();
    vas.start_stream(id).await.unwrap();
    wait_live(&vas, id).await;
    // Warm up (the first snapshot starts the decoder).
    vas.snapshot(id, SnapshotOptions::new()).await.unwrap();
    while let Ok(Some(_)) = live.try_recv() {}

    // The live consumer counts video frames while 50 snapshots and 50 bookmarks are asked for at once.
    let encodes_before = vas.snapshot_encodes();
    let counted = cam.clone();
    let consumer = tokio::spawn(async move {
        let mut got = 0u64;
        let sent_before = counted.frames_sent();
        let end = tokio::time::Instant::now() + Duration::from_secs(3);
        while let Ok(Ok(d)) = tokio::time::timeout_at(end, live.recv()).await {
            if matches!(d, Delivery::Frame(f) if f.is_video()) {
                got += 1;
            }
        }
        (got, counted.frames_sent() - sent_before)
    });
    let t = Instant::now();
    // Half snapshots (two sizes), half bookmarks (each copies the pre-roll and follows the
    // live frames until its clip is cut).
    let requests = (0..100).map(|i| {
        let vas = vas.clone();
        async move {
            match i % 4 {
                0 => vas.snapshot(id, SnapshotOptions::new()).await.map(|_| ()),
                1 => vas
                    .snapshot(id, SnapshotOptions::new().width(640))
                    .await
                    .map(|_| ()),
                _ => vas
                    .add_bookmark(
                        crate::bookmark::NewBookmark::new(id)
                            .before(Duration::from_secs(1))
                            .after(Duration::from_secs(1))
                            // Distinct, so that none joins another (see add_bookmark).
                            .label(format!("b{i}")),
                    )
                    .await
                    .map(|_| ()),
            }
        }
    });
    let results = futures::future::join_all(requests).await;
    let took = t.elapsed();
    let (got, sent) = consumer.await.unwrap();
    let encodes = vas.snapshot_encodes() - encodes_before;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    eprintln!(
        "50 snapshots and 50 bookmarks in {took:?} with {encodes} encodings; live consumer got {got} frames of {sent} sent"
    );
    // Single-flight: far fewer encodings than requests (two sizes were asked for).
    assert!(
        encodes <= 20,
        "{encodes} encodings for 50 snapshot requests"
    );
    // The live path kept up with what the camera sent (the window edges cost a frame or two).
    assert!(
        got as f64 >= sent as f64 * 0.9 - 3.0,
        "live consumer got {got} of {sent} frames"
    );
    // The 50 clips are made, all of them.
    let t = Instant::now();
    loop {
        let all = vas.bookmarks(ListQuery::stream(id)).await.unwrap();
        assert_eq!(all.len(), 50);
        if all.iter().all(|b| b.state == crate::BookmarkState::Ready) {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "clips not made: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    vas.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_at_a_past_time_matches_ffmpegs_decode_of_the_recording() {
    let _serial = vas_testkit::realtime_lock();
    let cam = camera(640, 360, 15, 30).await;
    let dir = tempfile::tempdir().unwrap();
    // No pre-roll: a past moment can only come from the recordings.
    let vas = Vas::builder()
        .data_dir(dir.path())
        .bookmark_config(crate::config::BookmarkConfig {
            preroll_bytes: 0,
            ..Default::default()
        })
        .build()
        .await
        .unwrap();
    let id = stream(&vas, &cam.url()).await;
    vas.set_recording(id, true).await.unwrap();
    vas.start_stream(id).await.unwrap();
    wait_live(&vas, id).await;
    tokio::time::sleep(Duration::from_secs(7)).await;

    // Before anything was recorded: not found.
    let long_ago = chrono::Utc::now() - chrono::TimeDelta::hours(1);
    let e = vas
        .snapshot(id, SnapshotOptions::new().at(long_ago))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    let at = chrono::Utc::now() - chrono::TimeDelta::milliseconds(4300);
    let jpeg = vas
        .snapshot(id, SnapshotOptions::new().at(at))
        .await
        .unwrap();
    assert!(jpeg.time <= at, "{} shows a frame after {at}", jpeg.time);
    assert!(
        at - jpeg.time < chrono::TimeDelta::milliseconds(100),
        "{}",
        jpeg.time
    );
    assert_eq!(jpeg_size(&jpeg.jpeg), (640, 360));

    // ffmpeg decodes the segment file on disk; the frame the JPEG names is compared.
    let recorded = vas.recorded_frames(id, at, at).await.unwrap();
    let segment = recorded
        .segments
        .iter()
        .rev()
        .find(|s| s.start <= jpeg.time)
        .unwrap();
    let bytes = std::fs::read(&segment.path).unwrap();
    let all =
        crate::record::ts_read::read_segment_bytes(&bytes, segment.start, &Default::default())
            .unwrap();
    let video: Vec<_> = all.iter().filter(|f| f.is_video()).collect();
    let index = video
        .iter()
        .position(|f| f.wallclock == jpeg.time)
        .expect("the JPEG names a recorded frame");
    let (decoded, _) = ffmpeg_rgb(&segment.path, None);
    let size = 640 * 360 * 3;
    assert_eq!(
        decoded.len(),
        video.len() * size,
        "ffmpeg decoded every frame"
    );
    let theirs = &decoded[index * size..(index + 1) * size];
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("past.jpg");
    std::fs::write(&file, &jpeg.jpeg).unwrap();
    let (ours, _) = ffmpeg_rgb(&file, None);
    let db = psnr(&ours, theirs);
    eprintln!("past-time snapshot: frame {index} of its segment, PSNR against ffmpeg {db:.1} dB");
    assert!(db >= 30.0, "PSNR {db:.1} dB");
    vas.close().await;
}
