//! A UDP camera behind a network that reorders, duplicates and drops packets (30 % of
//! packets delayed by 0–40 ms, 3 % duplicated, 0.5 % dropped: the synthetic camera's
//! `NetworkFaults`, as GStreamer's `netsim` after the payloader) stays live for the whole run
//! without a reconnect; every frame the camera sent arrives except those a lost packet
//! touched; the stream's status counts the reordered and duplicate packets, and the log
//! reports them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::log_support::LogCapture;
use crate::StreamId;
use crate::camera_url::CameraUrl;
use crate::clock::SystemClock;
use crate::events::{Event, EventBus};
use crate::hub::{Hub, HubConfig};
use crate::ingest::supervisor::{IngestContext, IngestTask};
use crate::ingest::{BackoffPolicy, CameraTarget, IngestConfig, RtpTransport, RtspSource};
use crate::model::{StreamState, StreamStatus};
use vas_synth::{CameraConfig, CameraMode, NetworkFaults, Share, SyntheticCamera};

/// Frames the camera sends before the run is judged (six seconds at 25 fps).
const RUN_FRAMES: u64 = 150;
/// Longest the run may take on a busy machine.
const RUN_LIMIT: Duration = Duration::from_secs(60);
/// Longest the last frames may take to arrive once the camera stops sending.
const DRAIN_LIMIT: Duration = Duration::from_secs(4);

fn status(s: &Mutex<StreamStatus>) -> StreamStatus {
    s.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

#[tokio::test]
async fn a_udp_camera_that_reorders_duplicates_and_drops_stays_live() {
    let (log, _log_guard) = LogCapture::start();
    let camera = SyntheticCamera::start(CameraConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        fps: 25,
        gop: 25,
        // About ten packets a frame, so the faults have packets to work on.
        bitrate_bps: 2_000_000,
        audio: true,
        mode: CameraMode::PreEncodedLoop { seconds: 2 },
        network: NetworkFaults {
            delay: Share::percent(30.0),
            min_delay: Duration::ZERO,
            max_delay: Duration::from_millis(40),
            duplicate: Share::percent(3.0),
            drop: Share::percent(0.5),
            seed: 24,
        },
        ..CameraConfig::default()
    })
    .await
    .unwrap();

    let events = EventBus::default();
    let mut states = events.subscribe();
    let stream_status = Arc::new(Mutex::new(StreamStatus::default()));
    let task = IngestTask::spawn(IngestContext {
        stream: StreamId::new(),
        target: CameraTarget {
            url: CameraUrl::parse(&camera.url()).unwrap().0,
            credentials: None,
            transport: RtpTransport::Udp,
        },
        source: Arc::new(RtspSource::default()),
        hub: Hub::new(HubConfig::default()),
        status: stream_status.clone(),
        timeline: Default::default(),
        events,
        clock: Arc::new(SystemClock),
        config: IngestConfig {
            connect_timeout: Duration::from_secs(5),
            // Longer than the drain below, so stopping the camera is not a stall.
            stall_timeout: Duration::from_secs(10),
            backoff: BackoffPolicy {
                initial: Duration::from_millis(100),
                ..Default::default()
            },
            transport: RtpTransport::Udp,
        },
    });

    // Live, and live throughout: no state but Connecting then Live, no reconnect.
    let deadline = Instant::now() + RUN_LIMIT;
    let mut changes = Vec::new();
    while camera.frames_sent() < RUN_FRAMES {
        assert!(
            Instant::now() < deadline,
            "the camera sent {} frames in {RUN_LIMIT:?}: {:?}",
            camera.frames_sent(),
            status(&stream_status)
        );
        if let Ok(Ok(Event::StreamState { state, error, .. })) =
            tokio::time::timeout(Duration::from_millis(100), states.recv()).await
        {
            changes.push((state, error));
        }
        let st = status(&stream_status);
        assert_eq!(st.reconnects, 0, "reconnected: {st:?}, {changes:?}");
    }

    // The camera stops sending; what it sent drains through the network and the relay.
    camera.set_frozen(true);
    let drain = Instant::now();
    let (sent, net, st) = loop {
        let (sent, net, st) = (
            camera.frames_sent(),
            camera.network_stats(),
            status(&stream_status),
        );
        // A frame is missing only if the network dropped one of its packets, or one of its
        // packets came after the relay had given up waiting for it.
        if st.frames + net.frames_damaged + st.packets.late >= sent {
            break (sent, net, st);
        }
        assert!(
            drain.elapsed() < DRAIN_LIMIT,
            "{} of {sent} frames arrived ({} damaged by the network): {st:?}",
            st.frames,
            net.frames_damaged
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    while let Ok(Some(event)) = states.try_recv() {
        if let Event::StreamState { state, error, .. } = event {
            changes.push((state, error));
        }
    }
    eprintln!(
        "camera: {sent} frames sent, network {net:?}; stream: {} frames, {} reconnects, \
         packets {:?}",
        st.frames, st.reconnects, st.packets
    );

    assert_eq!(st.state, StreamState::Live, "{st:?}");
    assert_eq!(st.reconnects, 0, "{st:?}");
    assert!(
        changes
            .iter()
            .all(|(s, _)| matches!(s, StreamState::Connecting | StreamState::Live)),
        "the stream left Live: {changes:?}"
    );
    assert!(
        st.frames <= sent,
        "more frames than the camera sent: {st:?}"
    );
    let p = st.packets;
    assert!(p.reordered > 0, "the network reordered nothing? {p:?}");
    assert!(
        p.duplicates > 0 && p.duplicates <= net.duplicated,
        "{p:?} vs {net:?}"
    );
    assert!(p.lost <= net.dropped, "{p:?} vs {net:?}");

    task.stop().await;
    let text = log.text();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains("camera packets put back in order, dropped (late, duplicate) or lost")
        })
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("so far on this connection"))
            && lines
                .iter()
                .any(|l| l.contains("on the connection that ended")),
        "the counts were not logged:\n{text}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.contains("reordered=") && l.contains("duplicates=")),
        "{lines:?}"
    );
}
