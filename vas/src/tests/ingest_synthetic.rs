//! Ingest from the synthetic camera over real sockets, through the engine: frame rate,
//! dimensions and parameter sets over TCP and UDP; resolution change, a frozen camera, and
//! stopping or deleting while live.
use std::time::{Duration, Instant};

use crate::frames::{EncodedDelivery as Delivery, EncodedSubscription};
use crate::ingest::{BackoffPolicy, IngestConfig, RtpTransport};
use crate::media::{AudioCodec, Frame, Track, VideoCodec};
use crate::model::NewDevice;
use crate::model::StreamState;
use crate::{StreamId, Vas};
use vas_synth::{CameraConfig, SyntheticCamera};

fn fast_ingest(transport: RtpTransport) -> IngestConfig {
    IngestConfig {
        stall_timeout: Duration::from_secs(2),
        backoff: BackoffPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(500),
            stable_period: Duration::from_millis(500),
            ..Default::default()
        },
        transport,
        ..Default::default()
    }
}

async fn camera(config: CameraConfig) -> SyntheticCamera {
    SyntheticCamera::start(CameraConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..config
    })
    .await
    .unwrap()
}

async fn engine(dir: &tempfile::TempDir, transport: RtpTransport) -> Vas {
    Vas::builder()
        .data_dir(dir.path())
        .ingest_config(fast_ingest(transport))
        .build()
        .await
        .unwrap()
}

async fn add_and_start(vas: &Vas, url: &str) -> StreamId {
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
    vas.start_stream(s.id).await.unwrap();
    s.id
}

async fn next_frame(sub: &mut EncodedSubscription) -> Frame {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), sub.recv()).await {
            Ok(Ok(Delivery::Frame(f))) => return f,
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => panic!("hub closed: {e}"),
            Err(_) => panic!("no frame within 10 s"),
        }
    }
}

async fn wait_state(vas: &Vas, id: StreamId, state: StreamState, limit: Duration) {
    let t = Instant::now();
    loop {
        let s = vas.stream(id).await.unwrap();
        if s.state == state {
            return;
        }
        assert!(t.elapsed() < limit, "not {state:?} after {limit:?}: {s:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn frames_at_configured_rate(transport: RtpTransport) {
    let cam = camera(CameraConfig {
        width: 640,
        height: 360,
        fps: 25,
        audio: true,
        ..CameraConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let vas = engine(&dir, transport).await;
    let id = add_and_start(&vas, &cam.url()).await;
    let mut sub = vas.encoded_frames(id).await.unwrap();
    let first = next_frame(&mut sub).await;
    let (mut video, mut audio) = (0, 0);
    let start_pts = first.pts;
    let mut last = first.clone();
    while video < 75 {
        let f = next_frame(&mut sub).await;
        match &f.track {
            Track::Video(p) => {
                video += 1;
                assert_eq!(p.codec, VideoCodec::H264);
                assert_eq!((p.width, p.height), (640, 360));
                assert_eq!(crate::media::h264_nal_type(&p.sps), Some(7), "SPS");
                assert_eq!(crate::media::h264_nal_type(&p.pps), Some(8), "PPS");
                assert!(f.pts > last.pts || !last.is_video());
                last = f;
            }
            Track::Audio(p) => {
                audio += 1;
                assert_eq!(p.codec, AudioCodec::Pcmu);
                assert_eq!(p.sample_rate, 8_000);
            }
        }
    }
    let secs = (last.pts - start_pts) as f64 / 90_000.0;
    let fps = f64::from(video) / secs;
    assert!((23.0..=27.0).contains(&fps), "{transport:?}: {fps:.1} fps");
    assert!(
        audio >= 100,
        "{transport:?}: {audio} audio frames in {secs:.1} s"
    );
    let status = vas.stream(id).await.unwrap();
    assert_eq!(status.state, StreamState::Live);
    assert!((20.0..=30.0).contains(&status.fps), "{status:?}");
    assert!(status.bitrate_bps > 100_000, "{status:?}");
    assert!(status.last_frame_at.is_some());
    eprintln!("{transport:?}: {fps:.1} fps, {audio} audio frames, status {status:?}");
    vas.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_camera_over_tcp() {
    frames_at_configured_rate(RtpTransport::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_camera_over_udp() {
    frames_at_configured_rate(RtpTransport::Udp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolution_change_mid_stream_carries_new_parameters() {
    let cam = camera(CameraConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let vas = engine(&dir, RtpTransport::Tcp).await;
    let id = add_and_start(&vas, &cam.url()).await;
    let mut sub = vas.encoded_frames(id).await.unwrap();
    let f = next_frame(&mut sub).await;
    assert_eq!(
        f.video_params().map(|p| (p.width, p.height)),
        Some((640, 360))
    );
    cam.set_resolution(320, 240).await.unwrap();
    let t = Instant::now();
    loop {
        let f = next_frame(&mut sub).await;
        if let Some(p) = f.video_params()
            && (p.width, p.height) == (320, 240)
        {
            assert!(f.keyframe, "the first frame at the new size is a keyframe");
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "new size never arrived"
        );
    }
    wait_state(&vas, id, StreamState::Live, Duration::from_secs(5)).await;
    vas.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_camera_stalls_then_recovers() {
    let cam = camera(CameraConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let vas = engine(&dir, RtpTransport::Tcp).await;
    let id = add_and_start(&vas, &cam.url()).await;
    wait_state(&vas, id, StreamState::Live, Duration::from_secs(5)).await;
    cam.set_frozen(true);
    wait_state(&vas, id, StreamState::Reconnecting, Duration::from_secs(6)).await;
    let err = vas.stream(id).await.unwrap().last_error.unwrap();
    assert!(err.contains("stalled"), "{err}");
    cam.set_frozen(false);
    wait_state(&vas, id, StreamState::Live, Duration::from_secs(10)).await;
    assert!(vas.stream(id).await.unwrap().reconnects >= 1);
    vas.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_or_deleting_while_live_releases_the_camera() {
    let cam = camera(CameraConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let vas = engine(&dir, RtpTransport::Tcp).await;
    let id = add_and_start(&vas, &cam.url()).await;
    wait_state(&vas, id, StreamState::Live, Duration::from_secs(5)).await;
    assert_eq!(cam.session_count(), 1);
    let info = vas.stop_stream(id).await.unwrap();
    assert_eq!(info.state, StreamState::Stopped);
    wait_sessions(&cam, 0).await;

    vas.start_stream(id).await.unwrap();
    wait_state(&vas, id, StreamState::Live, Duration::from_secs(5)).await;
    let mut sub = vas.encoded_frames(id).await.unwrap();
    let device = vas.stream(id).await.unwrap().device_id;
    vas.remove_device(device).await.unwrap();
    wait_sessions(&cam, 0).await;
    // Subscribers learn the stream is gone.
    loop {
        match tokio::time::timeout(Duration::from_secs(5), sub.recv())
            .await
            .unwrap()
        {
            Err(e) => {
                assert_eq!(e.kind(), crate::ErrorKind::Closed, "{e}");
                break;
            }
            Ok(_) => continue,
        }
    }
    vas.close().await;
}

async fn wait_sessions(cam: &SyntheticCamera, n: usize) {
    let t = Instant::now();
    while cam.session_count() != n {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{} sessions",
            cam.session_count()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_or_disabling_the_camera_retargets_ingest() {
    let a = camera(CameraConfig::default()).await;
    let b = camera(CameraConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let vas = engine(&dir, RtpTransport::Tcp).await;
    let id = add_and_start(&vas, &a.url()).await;
    wait_state(&vas, id, StreamState::Live, Duration::from_secs(5)).await;
    let device = vas.stream(id).await.unwrap().device_id;
    let enabled = |on: bool| crate::DevicePatch {
        enabled: Some(on),
        ..Default::default()
    };

    let moved = crate::DevicePatch {
        rtsp_url: Some(b.url()),
        ..Default::default()
    };
    vas.update_device(device, moved).await.unwrap();
    wait_sessions(&a, 0).await;
    wait_sessions(&b, 1).await;
    wait_state(&vas, id, StreamState::Live, Duration::from_secs(5)).await;

    vas.update_device(device, enabled(false)).await.unwrap();
    wait_sessions(&b, 0).await;
    assert_eq!(vas.stream(id).await.unwrap().state, StreamState::Stopped);
    vas.update_device(device, enabled(true)).await.unwrap();
    wait_state(&vas, id, StreamState::Live, Duration::from_secs(5)).await;
    vas.close().await;
}
