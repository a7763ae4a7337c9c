//! The engine without an async runtime in the caller: built and used from a plain thread
//! (its own runtime), awaited from a foreign executor, refused politely inside a runtime, and
//! closed with every thread it started stopped.
use std::time::{Duration, Instant};

use crate::frames::{EncodedDelivery, FrameOptions, PixelFormat};
use crate::{ErrorKind, Event, NewDevice, StreamState, Vas};
use vas_synth::{CameraConfig, CameraMode, SyntheticCamera};

/// Names of this process's threads that start with `prefix`.
fn threads(prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let comm = task.unwrap().path().join("comm");
        if let Ok(name) = std::fs::read_to_string(comm) {
            let name = name.trim().to_owned();
            if name.starts_with(prefix) {
                names.push(name);
            }
        }
    }
    names
}

/// Threads named `prefix…`, once at least one is (a new thread names itself as it starts, so
/// it may show its parent's name for a moment); waits up to 5 s.
fn appeared(prefix: &str) -> Vec<String> {
    let t = Instant::now();
    loop {
        let found = threads(prefix);
        if !found.is_empty() || t.elapsed() > Duration::from_secs(5) {
            return found;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits up to 5 s for no thread named `prefix…` to be left.
fn gone(prefix: &str) -> Vec<String> {
    let t = Instant::now();
    loop {
        let left = threads(prefix);
        if left.is_empty() || t.elapsed() > Duration::from_secs(5) {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_plain_thread_runs_the_whole_engine_and_close_stops_its_threads() {
    let _serial = vas_testkit::realtime_lock();
    // The camera runs on a runtime of the test's own, on its own threads; this thread is
    // not inside any runtime.
    let camera_rt = tokio::runtime::Runtime::new().unwrap();
    let cam = camera_rt
        .block_on(SyntheticCamera::start(CameraConfig {
            mode: CameraMode::PreEncodedLoop { seconds: 2 },
            bind: "127.0.0.1:0".parse().unwrap(),
            ..CameraConfig::default()
        }))
        .unwrap();
    assert!(tokio::runtime::Handle::try_current().is_err());
    assert!(threads("vas-rt").is_empty());

    let dir = tempfile::tempdir().unwrap();
    let vas = Vas::builder()
        .data_dir(dir.path())
        .build_blocking()
        .unwrap();
    assert!(!appeared("vas-rt").is_empty(), "the engine owns a runtime");
    assert_eq!(
        appeared("vas-segment").len(),
        1,
        "the engine owns one writer"
    );
    let engine = vas.blocking();
    let mut events = engine.events();
    let cam_row = engine.add_device(NewDevice::new("cam", cam.url())).unwrap();
    let stream = engine.streams(None, crate::Order::Oldest).unwrap()[0].id;
    engine.start_stream(stream).unwrap();

    // Decoded and encoded frames, received on this thread.
    let mut frames = engine
        .frames(stream, FrameOptions::new(PixelFormat::Gray8))
        .unwrap();
    let frame = frames.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(frame.width() > 0 && frame.height() > 0);
    let mut encoded = engine.encoded_frames(stream).unwrap();
    match encoded.recv_timeout(Duration::from_secs(10)).unwrap() {
        EncodedDelivery::Frame(f) => assert!(f.keyframe, "the first delivery is a keyframe"),
        other => panic!("{other:?}"),
    }
    assert!(!appeared("vas-dec-").is_empty(), "a decoder runs");

    // Events, with a timeout, on this thread.
    let t = Instant::now();
    loop {
        match events.recv_timeout(Duration::from_secs(10)).unwrap() {
            Event::StreamState {
                state: StreamState::Live,
                ..
            } => break,
            _ => assert!(t.elapsed() < Duration::from_secs(10), "never live"),
        }
    }

    // Snapshots and bookmarks, from this thread.
    let jpeg = engine
        .snapshot(stream, crate::snapshot::SnapshotOptions::new())
        .unwrap();
    assert!(jpeg.jpeg.starts_with(&[0xFF, 0xD8]));
    let saved = engine
        .save_snapshot(stream, crate::snapshot::SnapshotOptions::new(), None)
        .unwrap();
    assert_eq!(
        engine.saved_snapshot_image(saved.id).unwrap().len() as u64,
        saved.bytes
    );
    let mark = engine
        .add_bookmark(
            crate::bookmark::NewBookmark::new(stream)
                .before(Duration::from_millis(200))
                .after(Duration::from_millis(200)),
        )
        .unwrap();
    let t = Instant::now();
    while engine.bookmark(mark.id).unwrap().state == crate::BookmarkState::Pending {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "bookmark still pending"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(engine.bookmark_clip(mark.id).unwrap().exists());
    engine.delete_bookmark(mark.id).unwrap();
    engine.delete_snapshot(saved.id).unwrap();
    assert!(
        engine
            .bookmarks(crate::ListQuery::stream(stream))
            .unwrap()
            .is_empty()
    );
    assert!(
        engine
            .saved_snapshots(crate::ListQuery::stream(stream))
            .unwrap()
            .is_empty()
    );

    // The async calls work from an executor that is not tokio.
    let infos = futures::executor::block_on(vas.streams(None, crate::Order::Oldest)).unwrap();
    assert_eq!(infos[0].state, StreamState::Live);
    let listed = futures::executor::block_on(vas.devices(crate::Order::Oldest)).unwrap();
    assert_eq!(listed[0].id, cam_row.id);

    // A blocking call from inside a runtime is refused, not a deadlock or a panic.
    let inside =
        camera_rt.block_on(async { engine.streams(None, crate::Order::Oldest).map(|_| ()) });
    assert_eq!(inside.unwrap_err().kind(), ErrorKind::FailedPrecondition);
    let inside = camera_rt.block_on(async {
        Vas::builder()
            .data_dir(dir.path().join("other"))
            .build_blocking()
            .map(|_| ())
    });
    assert_eq!(inside.unwrap_err().kind(), ErrorKind::FailedPrecondition);

    // Close: subscriptions end, calls answer Closed, and every thread the engine started
    // is gone (its runtime and the decoder).
    let t = Instant::now();
    engine.close();
    engine.close();
    assert!(
        t.elapsed() < Duration::from_secs(15),
        "close took {:?}",
        t.elapsed()
    );
    assert_eq!(
        engine
            .streams(None, crate::Order::Oldest)
            .unwrap_err()
            .kind(),
        ErrorKind::Closed
    );
    assert_eq!(
        futures::executor::block_on(vas.streams(None, crate::Order::Oldest))
            .unwrap_err()
            .kind(),
        ErrorKind::Closed
    );
    loop {
        match frames.recv_timeout(Duration::from_secs(5)) {
            Ok(_) => continue,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Closed, "{e}");
                break;
            }
        }
    }
    assert_eq!(
        gone("vas-dec-"),
        Vec::<String>::new(),
        "decoder threads left"
    );
    assert_eq!(gone("vas-rt"), Vec::<String>::new(), "runtime threads left");
    assert_eq!(
        gone("vas-segment"),
        Vec::<String>::new(),
        "writer thread left"
    );
    drop(frames);
    drop(encoded);
    drop(vas);
    camera_rt.block_on(cam.stop());
}
