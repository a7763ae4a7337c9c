//! Scenario: Chromium-like viewers connect to a High-profile stream and receive it; the first
//! thing each gets is a keyframe with SPS and PPS, and a late joiner starts at once from the
//! GOP cache.

use std::time::Duration;

use crate::sfu::{CoreConfig, SfuEvent};
use crate::tests::sfu_support::*;

const STREAM: &str = "cam-1/main";

/// STAP-A (24) carrying SPS (7) then PPS (8).
fn is_stap_a_with_parameter_sets(payload: &[u8]) -> bool {
    if payload.first().map(|b| b & 0x1f) != Some(24) {
        return false;
    }
    let sps_len = usize::from(u16::from_be_bytes([payload[1], payload[2]]));
    let pps_at = 3 + sps_len;
    payload[3] & 0x1f == 7 && payload.get(pps_at + 2).map(|b| b & 0x1f) == Some(8)
}

#[test]
fn viewers_connect_and_start_at_a_keyframe() {
    let mut w = World::new(CoreConfig::default());
    let mut cam = Device::new();
    let params = cam.params.clone();
    let a = w
        .connect_client(STREAM, Some(&params), None)
        .expect("admitted");
    assert_eq!(w.sfu.viewer_count(STREAM), 1);

    // Frames flow before the viewer connects: they fill the GOP cache only.
    for _ in 0..5 {
        let f = cam.next();
        let now = w.now;
        assert_eq!(
            w.sfu.handle_frame(now, STREAM, &f),
            0,
            "nothing is written before ICE+DTLS"
        );
    }
    assert!(
        w.run_until(Duration::from_secs(5), |w| w.clients[a].connected),
        "client never connected"
    );
    w.run_for(Duration::from_millis(100));
    assert!(
        matches!(w.events[0], SfuEvent::ViewerConnected { .. }),
        "{:?}",
        w.events
    );
    // The cached GOP (5 frames from the keyframe) arrived at once.
    assert_eq!(w.clients[a].frames(), 5);
    let first = w.clients[a].video().next().expect("a packet");
    assert!(is_stap_a_with_parameter_sets(&first.payload));

    // Live frames at 30 fps.
    for _ in 0..60 {
        let f = cam.next();
        assert_eq!(w.publish(STREAM, &f), 1);
        w.run_for(Duration::from_millis(33));
    }
    let c = &w.clients[a];
    assert_eq!(c.frames(), 65, "one marker per frame");
    assert_eq!(c.video_gaps(), 0);
    // Marker bits close frames: every marked packet's timestamp differs from the next one's.
    let video: Vec<_> = c.video().collect();
    for pair in video.windows(2) {
        if pair[0].marker {
            assert_ne!(pair[0].timestamp, pair[1].timestamp);
        } else {
            assert_eq!(pair[0].timestamp, pair[1].timestamp);
        }
    }

    // A late joiner, mid-GOP, starts from the cached keyframe at once.
    let b = w
        .connect_client(STREAM, Some(&params), None)
        .expect("admitted");
    assert_eq!(w.sfu.viewer_count(STREAM), 2);
    assert!(w.run_until(Duration::from_secs(5), |w| w.clients[b].connected));
    w.run_for(Duration::from_millis(50));
    let late = &w.clients[b];
    let first = late.video().next().expect("GOP replay");
    assert!(is_stap_a_with_parameter_sets(&first.payload));
    // 65 frames published, the last keyframe was frame 60: frames 60..65 replayed.
    assert_eq!(late.frames(), 5);
    let stats = w.sfu.room_stats(STREAM).expect("room");
    assert_eq!(
        stats.video_frames, 65,
        "packetized once, whatever the viewer count"
    );
}
