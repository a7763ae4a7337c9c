//! Closing the engine, through the engine, with the synthetic camera over real RTSP: open
//! recordings end with complete playlists (checked by ffprobe and by a new engine on the same
//! folder), subscriptions end with `Closed`, every later call answers `Closed`, and closing
//! twice or from two tasks at once is safe.
use std::process::Command;
use std::time::{Duration, Instant};

use crate::frames::FrameOptions;
use crate::model::ListQuery;
use crate::model::NewDevice;
use crate::{ErrorKind, Vas};
use vas_synth::{CameraConfig, CameraMode, SyntheticCamera};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_finishes_recordings_and_refuses_everything_after() {
    let cam = SyntheticCamera::start(CameraConfig {
        mode: CameraMode::PreEncodedLoop { seconds: 2 },
        bind: "127.0.0.1:0".parse().unwrap(),
        ..CameraConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let vas = Vas::builder().data_dir(dir.path()).build().await.unwrap();
    vas.add_device(NewDevice::new("cam", cam.url()))
        .await
        .unwrap();
    let id = vas.streams(None, crate::Order::Oldest).await.unwrap()[0].id;
    vas.set_recording(id, true).await.unwrap();
    vas.start_stream(id).await.unwrap();
    let mut frames = vas.frames(id, FrameOptions::default()).await.unwrap();
    let mut events = vas.events();

    // Record until the first segment is on disk.
    let t = Instant::now();
    loop {
        let rec = vas.stream(id).await.unwrap().recording;
        if rec.is_some_and(|r| r.segments >= 1) {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "no segment recorded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Close from two tasks at once, then once more: all return, promptly.
    let t = Instant::now();
    let (a, b) = (vas.clone(), vas.clone());
    tokio::join!(a.close(), b.close());
    vas.close().await;
    assert!(
        t.elapsed() < Duration::from_secs(15),
        "close took {:?}",
        t.elapsed()
    );

    // Everything after answers `Closed`.
    for e in [
        vas.streams(None, crate::Order::Oldest)
            .await
            .map(|_| ())
            .unwrap_err(),
        vas.add_device(NewDevice::new("late", "rtsp://10.0.0.1/x"))
            .await
            .map(|_| ())
            .unwrap_err(),
        vas.start_stream(id).await.map(|_| ()).unwrap_err(),
        vas.frames(id, FrameOptions::default())
            .await
            .map(|_| ())
            .unwrap_err(),
        vas.recordings(ListQuery::stream(id))
            .await
            .map(|_| ())
            .unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::Closed, "{e}");
    }
    // Subscriptions made before end with `Closed` once drained.
    let end = tokio::task::spawn_blocking(move || {
        loop {
            match frames.recv_timeout(Duration::from_secs(5)) {
                Ok(_) => continue,
                Err(e) => return e,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(end.kind(), ErrorKind::Closed, "{end}");
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Err(e) = events.recv().await {
                return e;
            }
        }
    })
    .await
    .expect("the event stream ends");
    assert_eq!(end.kind(), ErrorKind::Closed);
    drop(vas);

    // A new engine on the same folder finds the recording closed, with a playlist that ends.
    let vas = Vas::builder().data_dir(dir.path()).build().await.unwrap();
    let recordings = vas.recordings(ListQuery::stream(id)).await.unwrap();
    assert_eq!(recordings.len(), 1, "{recordings:?}");
    let rec = &recordings[0];
    assert!(rec.end.is_some(), "the recording was closed: {rec:?}");
    let playlist = vas.resolve_media(&rec.location).unwrap();
    let text = std::fs::read_to_string(&playlist).unwrap();
    assert!(text.trim_end().ends_with("#EXT-X-ENDLIST"), "{text}");
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(&playlist)
        .output()
        .expect("ffprobe runs");
    assert!(
        probe.status.success(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let secs: f64 = String::from_utf8_lossy(&probe.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!(secs > 0.5, "ffprobe reads {secs} s of video");
    vas.close().await;
}
