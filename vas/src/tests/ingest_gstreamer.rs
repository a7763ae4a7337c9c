//! Interop: VAS's RTSP ingest against a third-party server (GStreamer's), over TCP and UDP,
//! H.264 Baseline and High, H.265, with G.711 and AAC audio.

use std::time::{Duration, Instant};

use crate::camera_url::CameraUrl;
use crate::ingest::{CameraSource, CameraTarget, RtpTransport, RtspSource};
use crate::media::{AudioCodec, Track, VideoCodec};
use vas_testkit::GstCamera;

/// Frames read from each mount.
const FRAMES: usize = 45;

struct Seen {
    video: usize,
    audio: usize,
    keyframes: usize,
    profile_idc: Option<u8>,
    codec: Option<VideoCodec>,
    dims: (u32, u32),
    audio_codec: Option<AudioCodec>,
    fps: f64,
}

async fn read(url: &str, transport: RtpTransport) -> Seen {
    let target = CameraTarget {
        url: CameraUrl::parse(url).unwrap().0,
        credentials: None,
        transport,
    };
    let mut conn = RtspSource::default()
        .connect(&target)
        .await
        .unwrap_or_else(|e| panic!("{url} over {transport:?}: {e}"));
    let mut seen = Seen {
        video: 0,
        audio: 0,
        keyframes: 0,
        profile_idc: None,
        codec: None,
        dims: (0, 0),
        audio_codec: None,
        fps: 0.0,
    };
    let mut first_pts = None;
    let mut last_pts = 0;
    let started = Instant::now();
    while seen.video < FRAMES {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{url}: too slow"
        );
        let f = tokio::time::timeout(Duration::from_secs(10), conn.next_frame())
            .await
            .expect("a frame within 10 s")
            .unwrap()
            .expect("stream continues");
        match &f.track {
            Track::Video(p) => {
                assert!(f.data.len() > 4);
                assert!(
                    crate::media::nal_units(&f.data).count() >= 1,
                    "AVCC framing"
                );
                if seen.video == 0 {
                    assert!(f.keyframe, "{url}: first video frame is a keyframe");
                    first_pts = Some(f.pts);
                }
                seen.video += 1;
                seen.keyframes += usize::from(f.keyframe);
                seen.codec = Some(p.codec);
                seen.profile_idc = p.h264_profile_idc();
                seen.dims = (p.width, p.height);
                assert!(f.pts >= last_pts, "{url}: video pts increase");
                last_pts = f.pts;
            }
            Track::Audio(p) => {
                seen.audio += 1;
                seen.audio_codec = Some(p.codec);
            }
        }
    }
    let span = (last_pts - first_pts.unwrap()) as f64 / 90_000.0;
    seen.fps = (FRAMES - 1) as f64 / span;
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gstreamer_camera_interop() {
    let _rt = vas_testkit::realtime_lock();
    let cam = GstCamera::start();
    for transport in [RtpTransport::Tcp, RtpTransport::Udp] {
        let base = read(&cam.url("baseline"), transport).await;
        assert_eq!(base.codec, Some(VideoCodec::H264));
        assert_eq!(base.profile_idc, Some(66), "Constrained Baseline");
        assert_eq!(base.dims, (640, 360));
        assert!(
            (27.0..=33.0).contains(&base.fps),
            "{transport:?} fps {}",
            base.fps
        );
        assert!(base.keyframes >= 1);

        let high = read(&cam.url("high"), transport).await;
        assert_eq!(high.profile_idc, Some(100), "High profile");
        assert_eq!(high.dims, (640, 360));

        let pcmu = read(&cam.url("high-pcmu"), transport).await;
        assert!(
            pcmu.audio > 10,
            "{transport:?}: G.711 frames arrive ({})",
            pcmu.audio
        );
        assert_eq!(pcmu.audio_codec, Some(AudioCodec::Pcmu));

        let aac = read(&cam.url("high-aac"), transport).await;
        assert!(
            aac.audio > 10,
            "{transport:?}: AAC frames arrive ({})",
            aac.audio
        );
        assert_eq!(aac.audio_codec, Some(AudioCodec::Aac));

        let hevc = read(&cam.url("h265"), transport).await;
        assert_eq!(hevc.codec, Some(VideoCodec::H265));
        assert_eq!(hevc.dims, (640, 360));
        eprintln!(
            "{transport:?}: baseline {:.1} fps, high {:.1} fps, h265 {:.1} fps, pcmu {} / aac {} audio frames",
            base.fps, high.fps, hevc.fps, pcmu.audio, aac.audio
        );
    }
}

/// A machine without a GStreamer element the camera needs hears so at start-up, with the
/// element and its package named, instead of 503 answers to DESCRIBE later: here GStreamer is
/// pointed at an empty plugin folder, so no element exists at all.
#[test]
fn a_missing_gstreamer_element_is_reported_at_start_up() {
    let empty = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/gst-rtsp-camera.py");
    let mut cmd = std::process::Command::new("/usr/bin/python3");
    cmd.arg(script)
        .arg(vas_testkit::free_port().to_string())
        .env("GST_PLUGIN_SYSTEM_PATH_1_0", empty.path())
        .env("GST_PLUGIN_PATH_1_0", empty.path())
        .env("GST_REGISTRY_1_0", empty.path().join("registry.bin"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut camera = vas_testkit::TestProcess::spawn("gst-rtsp-camera.py", &mut cmd).unwrap();
    let status = camera
        .wait_timeout(Duration::from_secs(30))
        .expect("the camera exits at once when it cannot build its pipelines");
    let mut out = String::new();
    let mut err = String::new();
    use std::io::Read;
    let _ = camera
        .child()
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out);
    let _ = camera
        .child()
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err);
    assert_eq!(status.code(), Some(2), "stdout {out:?}, stderr {err:?}");
    assert!(!out.contains("READY"), "{out}");
    assert!(
        err.contains("GStreamer element 'timeoverlay' is missing (Debian package gstreamer1.0-x)")
            && err.contains("'x264enc' is missing (Debian package gstreamer1.0-plugins-ugly)"),
        "{err}"
    );
}
