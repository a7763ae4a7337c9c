//! The media disk fills up while a stream records (faults injected through the filesystem
//! seam): the recording goes to an error state, retention makes room, recording resumes by
//! itself, live ingest and the API keep working, and what is on disk stays valid.
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::ListQuery;
use crate::model::NewDevice;
use crate::model::RecorderState;
use crate::model::StreamState;
use crate::record::fs::FaultFs;
use crate::record::{RecorderConfig, RetentionPolicy};
use crate::{StreamId, Vas};
use vas_synth::{CameraConfig, SyntheticCamera};

/// Free space retention keeps on the (simulated) disk.
const MIN_FREE: u64 = 600_000;

async fn until<F: Fn(&crate::model::Stream) -> bool>(vas: &Vas, id: StreamId, what: &str, f: F) {
    let t = Instant::now();
    loop {
        let info = vas.stream(id).await.unwrap();
        if f(&info) {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "never {what}: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_is_an_error_state_retention_makes_room_and_recording_resumes() {
    let cam = SyntheticCamera::start(CameraConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        bitrate_bps: 800_000,
        fps: 25,
        gop: 25,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("media");
    std::fs::create_dir_all(&media).unwrap();
    let fs = Arc::new(FaultFs::new(&media));
    let vas = Vas::builder()
        .data_dir(dir.path())
        .media_fs(fs.clone())
        .recorder_config(RecorderConfig {
            chunk_length: Duration::from_secs(3),
            ..Default::default()
        })
        .retention(
            RetentionPolicy {
                min_free_bytes: Some(MIN_FREE),
                ..Default::default()
            },
            // Slower than the disk fills below, so the recorder meets the full disk first.
            Duration::from_secs(2),
        )
        .build()
        .await
        .unwrap();
    vas.add_device(NewDevice::new("cam", cam.url()))
        .await
        .unwrap();
    let id = vas.streams(None, crate::Order::Oldest).await.unwrap()[0].id;
    vas.start_stream(id).await.unwrap();
    vas.set_recording(id, true).await.unwrap();
    // Several closed recordings to make room with.
    until(&vas, id, "three recordings", |i| {
        i.recording.as_ref().is_some_and(|r| r.recordings >= 4)
    })
    .await;

    // The disk is suddenly full: room for a few frames, far below the free-space watermark.
    // (Should a retention pass land in the instant before the recorder notices, it frees
    // room first; then fill the disk again.)
    let mut tries = 0;
    loop {
        fs.set_capacity(Some(fs.used_bytes() + 20_000));
        let t = Instant::now();
        let mut failed = false;
        while t.elapsed() < Duration::from_millis(1_500) && !failed {
            let i = vas.stream(id).await.unwrap();
            failed = i
                .recording
                .as_ref()
                .is_some_and(|r| r.state == RecorderState::Error);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tries += 1;
        if failed {
            break;
        }
        assert!(tries < 5, "the recorder never met the full disk");
    }
    let info = vas.stream(id).await.unwrap();
    let err = info.recording.as_ref().unwrap().last_error.clone().unwrap();
    eprintln!("recorder error: {err}");
    assert_eq!(info.state, StreamState::Live, "ingest keeps running");
    assert!(
        vas.streams(None, crate::Order::Oldest).await.is_ok(),
        "the API keeps working"
    );

    // Retention deletes the oldest recordings until the watermark holds; recording resumes.
    let errors_before = info.recording.unwrap().errors;
    until(&vas, id, "recording again", |i| {
        i.recording
            .as_ref()
            .is_some_and(|r| r.state == RecorderState::Recording && r.errors >= errors_before)
    })
    .await;
    let segments_then = vas.stream(id).await.unwrap().recording.unwrap().segments;
    until(&vas, id, "new segments", |i| {
        i.recording
            .as_ref()
            .is_some_and(|r| r.segments >= segments_then + 2)
    })
    .await;
    assert!(fs.failed_writes() > 0);
    let info = vas.stream(id).await.unwrap();
    assert_eq!(info.state, StreamState::Live);

    // Stop, then check every recording left: rows match folders, every segment decodes.
    vas.set_recording(id, false).await.unwrap();
    let recs = vas.recordings(ListQuery::stream(id)).await.unwrap();
    assert!(!recs.is_empty());
    let mut on_disk: Vec<String> = std::fs::read_dir(media.join(id.to_string()))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut rows: Vec<String> = recs.iter().map(|r| r.id.to_string()).collect();
    rows.sort();
    assert_eq!(rows, on_disk, "rows and folders match");
    for r in &recs {
        assert!(r.end.is_some(), "closed: {r:?}");
        let folder = media.join(r.location.rsplit_once('/').unwrap().0);
        for seg in std::fs::read_dir(&folder).unwrap().flatten() {
            let name = seg.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".ts") {
                continue;
            }
            let out = std::process::Command::new("ffmpeg")
                .args(["-v", "error", "-nostdin", "-i"])
                .arg(seg.path())
                .args(["-f", "null", "-"])
                .output()
                .expect("ffmpeg (make test installs it)");
            let errors = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && errors.trim().is_empty(),
                "{}: {errors}",
                seg.path().display()
            );
        }
    }
    eprintln!(
        "{} recordings kept, {} failed writes, retention made room",
        recs.len(),
        fs.failed_writes()
    );
    vas.close().await;
}
