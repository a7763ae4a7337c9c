//! The engine's stream rules, through the engine: credential rules and sub streams, many
//! streams started and stopped at once, and one stream's slow stop not delaying another
//! stream's calls (measured).
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::record::fs::FaultFs;
use crate::{
    DesiredState, DevicePatch, ErrorKind, NewDevice, StreamProfile, StreamState, SubStreamChange,
    Vas,
};
use vas_synth::{CameraConfig, CameraMode, SyntheticCamera};

async fn engine(dir: &tempfile::TempDir) -> Vas {
    Vas::builder().data_dir(dir.path()).build().await.unwrap()
}

#[tokio::test]
async fn credential_rules_and_the_password_never_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let vas = engine(&dir).await;

    // In the URL: stored, masked, never returned.
    let cam = vas
        .add_device(NewDevice::new("gate", "rtsp://admin:s3cret@10.0.0.5/main"))
        .await
        .unwrap();
    assert!(cam.has_credentials);
    assert_eq!(cam.rtsp_url, "rtsp://admin:***@10.0.0.5/main");
    let listed = vas.devices(crate::Order::Oldest).await.unwrap();
    assert_eq!(listed, vec![cam.clone()]);
    assert!(!format!("{listed:?}").contains("s3cret"), "{listed:?}");

    // Given apart: the same as in the URL.
    let apart = vas
        .add_device(NewDevice {
            username: Some("viewer".into()),
            password: Some("pw".into()),
            ..NewDevice::new("yard", "rtsp://10.0.0.6/main")
        })
        .await
        .unwrap();
    assert_eq!(apart.rtsp_url, "rtsp://viewer:***@10.0.0.6/main");

    // Two different sets: refused, nothing stored.
    let e = vas
        .add_device(NewDevice {
            username: Some("other".into()),
            password: Some("x".into()),
            ..NewDevice::new("door", "rtsp://admin:pw@10.0.0.7/main")
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    // A sub stream with other credentials than its camera's: refused.
    let e = vas
        .add_device(NewDevice {
            sub_rtsp_url: Some("rtsp://someone:else@10.0.0.8/sub".into()),
            ..NewDevice::new("porch", "rtsp://admin:pw@10.0.0.8/main")
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(vas.devices(crate::Order::Oldest).await.unwrap().len(), 2);

    // A duplicate name: AlreadyExists.
    let e = vas
        .add_device(NewDevice::new("gate", "rtsp://10.0.0.9/main"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");

    // Clearing: both empty.
    let cleared = vas
        .update_device(
            cam.id,
            DevicePatch {
                username: Some(String::new()),
                password: Some(String::new()),
                ..DevicePatch::default()
            },
        )
        .await
        .unwrap();
    assert!(!cleared.has_credentials);
    assert_eq!(cleared.rtsp_url, "rtsp://10.0.0.5/main");
    // Unknown ids: NotFound.
    let e = vas
        .update_device(crate::DeviceId::new(), DevicePatch::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    vas.close().await;
}

#[tokio::test]
async fn sub_streams_are_added_changed_and_removed_with_the_camera() {
    let dir = tempfile::tempdir().unwrap();
    let vas = engine(&dir).await;
    let cam = vas
        .add_device(NewDevice::new("gate", "rtsp://admin:pw@10.0.0.5/main"))
        .await
        .unwrap();
    let profiles = |v: Vec<crate::Stream>| {
        let mut p: Vec<StreamProfile> = v.iter().map(|s| s.profile).collect();
        p.sort_by_key(|p| p.as_str());
        p
    };
    assert_eq!(
        profiles(vas.streams(None, crate::Order::Oldest).await.unwrap()),
        vec![StreamProfile::Main]
    );

    let with_sub = vas
        .update_device(
            cam.id,
            DevicePatch {
                sub_rtsp_url: SubStreamChange::Set("rtsp://10.0.0.5/sub".into()),
                ..DevicePatch::default()
            },
        )
        .await
        .unwrap();
    // The sub stream shares the camera's credentials.
    assert_eq!(
        with_sub.sub_rtsp_url.as_deref(),
        Some("rtsp://admin:***@10.0.0.5/sub")
    );
    let streams = vas.streams(None, crate::Order::Oldest).await.unwrap();
    assert_eq!(
        profiles(streams.clone()),
        vec![StreamProfile::Main, StreamProfile::Sub]
    );
    let sub = streams
        .iter()
        .find(|s| s.profile == StreamProfile::Sub)
        .unwrap()
        .id;

    // Keep leaves it; Remove removes it and forgets it.
    vas.update_device(cam.id, DevicePatch::default())
        .await
        .unwrap();
    assert_eq!(
        vas.streams(None, crate::Order::Oldest).await.unwrap().len(),
        2
    );
    let without = vas
        .update_device(
            cam.id,
            DevicePatch {
                sub_rtsp_url: SubStreamChange::Remove,
                ..DevicePatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(without.sub_rtsp_url, None);
    assert_eq!(
        vas.stream(sub).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    vas.remove_device(cam.id).await.unwrap();
    assert!(
        vas.streams(None, crate::Order::Oldest)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        vas.remove_device(cam.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    vas.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_streams_started_and_stopped_at_once_end_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    let vas = engine(&dir).await;
    // Cameras that refuse connections: ingest keeps retrying, which is what a start is.
    let mut ids = Vec::new();
    for i in 0..16 {
        vas.add_device(NewDevice::new(
            format!("cam{i}"),
            format!("rtsp://127.0.0.1:9/cam{i}"),
        ))
        .await
        .unwrap();
    }
    for s in vas.streams(None, crate::Order::Oldest).await.unwrap() {
        ids.push(s.id);
    }
    // Start all at once, each twice, with stops of every other one in between.
    let mut calls = tokio::task::JoinSet::new();
    for (n, id) in ids.iter().copied().enumerate() {
        let v = vas.clone();
        calls.spawn(async move {
            v.start_stream(id).await.unwrap();
            if n % 2 == 0 {
                v.stop_stream(id).await.unwrap();
            }
            v.start_stream(id).await.unwrap();
            if n % 2 == 0 {
                v.stop_stream(id).await.unwrap();
            }
        });
    }
    while let Some(r) = calls.join_next().await {
        r.unwrap();
    }
    for (n, id) in ids.iter().enumerate() {
        let info = vas.stream(*id).await.unwrap();
        if n % 2 == 0 {
            assert_eq!(info.desired_state, DesiredState::Stopped);
            assert_eq!(info.state, StreamState::Stopped, "{n}");
        } else {
            assert_eq!(info.desired_state, DesiredState::Running);
            assert_ne!(info.state, StreamState::Stopped, "{n}");
        }
    }
    // Stop all at once: every one ends stopped.
    let mut calls = tokio::task::JoinSet::new();
    for id in ids.iter().copied() {
        let v = vas.clone();
        calls.spawn(async move { v.stop_stream(id).await.unwrap() });
    }
    while let Some(r) = calls.join_next().await {
        assert_eq!(r.unwrap().desired_state, DesiredState::Stopped);
    }
    for id in &ids {
        assert_eq!(vas.stream(*id).await.unwrap().state, StreamState::Stopped);
    }
    vas.close().await;
}

/// How long each rename takes while A's disk is slow.
const SLOW_RENAME: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_streams_slow_stop_does_not_delay_another_streams_calls() {
    let _serial = vas_testkit::realtime_lock();
    let cam = |path: &str| CameraConfig {
        mode: CameraMode::PreEncodedLoop { seconds: 2 },
        bind: "127.0.0.1:0".parse().unwrap(),
        path: path.into(),
        ..CameraConfig::default()
    };
    let a = SyntheticCamera::start(cam("/a")).await.unwrap();
    let b = SyntheticCamera::start(cam("/b")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(FaultFs::new(dir.path()));
    let vas = Vas::builder()
        .data_dir(dir.path())
        .media_fs(fs.clone())
        .build()
        .await
        .unwrap();
    vas.add_device(NewDevice::new("a", a.url())).await.unwrap();
    let b_cam = vas.add_device(NewDevice::new("b", b.url())).await.unwrap();
    let streams = vas.streams(None, crate::Order::Oldest).await.unwrap();
    let id_a = streams.iter().find(|s| s.device_id != b_cam.id).unwrap().id;
    let id_b = streams.iter().find(|s| s.device_id == b_cam.id).unwrap().id;
    // A records; wait for its first segment so its stop has a playlist to finish.
    vas.set_recording(id_a, true).await.unwrap();
    vas.start_stream(id_a).await.unwrap();
    vas.start_stream(id_b).await.unwrap();
    let t = Instant::now();
    loop {
        let recording = vas.stream(id_a).await.unwrap().recording;
        if recording.is_some_and(|r| r.segments >= 1) {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "A recorded nothing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Stop A while its disk is slow: its recorder needs SLOW_RENAME (or more) to finish.
    fs.set_rename_delay(Some(SLOW_RENAME));
    let stopping = {
        let v = vas.clone();
        tokio::spawn(async move {
            let t = Instant::now();
            v.stop_stream(id_a).await.unwrap();
            t.elapsed()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Meanwhile every call about B, and the listing, answers as usual.
    let t = Instant::now();
    vas.stop_stream(id_b).await.unwrap();
    vas.start_stream(id_b).await.unwrap();
    let listed = vas.streams(None, crate::Order::Oldest).await.unwrap();
    vas.stream(id_b).await.unwrap();
    vas.set_recording(id_b, false).await.unwrap();
    let b_calls = t.elapsed();
    assert!(!stopping.is_finished(), "A's stop was not slow after all");
    let a_stop = stopping.await.unwrap();
    fs.set_rename_delay(None);
    eprintln!("A's stop took {a_stop:?}; five calls about B meanwhile took {b_calls:?}");
    assert!(a_stop >= SLOW_RENAME, "A's stop took only {a_stop:?}");
    assert!(
        b_calls < SLOW_RENAME / 3,
        "calls about B waited for A's stop: {b_calls:?} (A's stop took {a_stop:?})"
    );
    assert_eq!(listed.len(), 2);
    assert_eq!(vas.stream(id_a).await.unwrap().state, StreamState::Stopped);
    vas.close().await;
}
