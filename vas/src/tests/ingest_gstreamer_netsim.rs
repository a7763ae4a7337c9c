//! Interop behind a faulty network: GStreamer's RTSP server with `netsim` after the payloader
//! (30 % of packets delayed by 0–40 ms, 3 % duplicated, 0.5 % dropped; the `high-netsim`
//! mount), read over UDP. The session never fails, frames come at the camera's rate less
//! those the lost packets touched, and the relay's counts show the reordering and the
//! duplicates.

use std::time::{Duration, Instant};

use crate::camera_url::CameraUrl;
use crate::ingest::{CameraSource, CameraTarget, RtpTransport, RtspSource};
use crate::media::Track;
use vas_testkit::GstCamera;

/// Video frames read (five seconds at the mount's 30 fps).
const FRAMES: u64 = 150;
/// 90 kHz ticks between two of the mount's frames.
const FRAME_TICKS: i64 = 3_000;
/// Longest the run may take.
const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gstreamer_camera_behind_netsim_plays_over_udp() {
    let _rt = vas_testkit::realtime_lock();
    let cam = GstCamera::start();
    let target = CameraTarget {
        url: CameraUrl::parse(&cam.url("high-netsim")).unwrap().0,
        credentials: None,
        transport: RtpTransport::Udp,
    };
    let mut conn = RtspSource::default()
        .connect(&target)
        .await
        .unwrap_or_else(|e| panic!("no session: {e}"));
    let started = Instant::now();
    let (mut video, mut first, mut last) = (0u64, None, 0i64);
    while video < FRAMES {
        assert!(started.elapsed() < LIMIT, "{video} frames in {LIMIT:?}");
        let f = tokio::time::timeout(LIMIT, conn.next_frame())
            .await
            .expect("a frame")
            .unwrap_or_else(|e| panic!("the session failed after {video} frames: {e}"))
            .expect("the session goes on");
        if matches!(f.track, Track::Video(_)) {
            assert!(f.pts > last || first.is_none(), "video pts increase");
            first.get_or_insert(f.pts);
            last = f.pts;
            video += 1;
        }
    }
    let counts = conn.packet_counts();
    // The frames the camera sent between the first and the last one read.
    let span = (last - first.unwrap()) / FRAME_TICKS + 1;
    let span = u64::try_from(span).unwrap();
    eprintln!("netsim over UDP: {video} of {span} frames, relay {counts:?}");
    assert!(
        video <= span,
        "more frames than the camera sent: {video} > {span}"
    );
    assert!(
        video + counts.lost + counts.late >= span,
        "{video} of {span} frames with {counts:?}: more missing than packets lost"
    );
    assert!(counts.reordered > 0 && counts.duplicates > 0, "{counts:?}");
}
