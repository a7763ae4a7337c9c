//! Scenario: one viewer is removed, another vanishes without a word (reaped when ICE consent
//! expires); the remaining viewer keeps receiving every frame.

use std::time::Duration;

use crate::sfu::{CoreConfig, DisconnectReason, SfuEvent};
use crate::tests::sfu_support::*;

const STREAM: &str = "cam-3/main";

#[test]
fn leaving_viewers_do_not_affect_the_others() {
    let mut w = World::new(CoreConfig::default());
    let mut cam = Device::new();
    let params = cam.params.clone();
    for _ in 0..3 {
        w.connect_client(STREAM, Some(&params), None)
            .expect("admitted");
    }
    assert!(w.run_until(Duration::from_secs(5), |w| {
        w.clients.iter().all(|c| c.connected)
    }));
    assert_eq!(w.sfu.viewer_count(STREAM), 3);

    let removed = w.clients[0].id.expect("id");
    let vanished = w.clients[1].id.expect("id");
    let mut published = 0;
    for i in 0..(30 * 25) {
        if i == 30 {
            assert!(w.sfu.remove_viewer(removed));
            assert!(!w.sfu.remove_viewer(removed), "removing twice is a no-op");
            assert_eq!(w.sfu.viewer_count(STREAM), 2);
        }
        if i == 60 {
            w.clients[1].vanished = true;
        }
        let f = cam.next();
        w.publish(STREAM, &f);
        published += 1;
        w.run_for(Duration::from_millis(33));
    }
    // The vanished peer was reaped by ICE consent (no binding requests for 15 s).
    assert_eq!(w.sfu.viewer_count(STREAM), 1);
    assert!(w.events.iter().any(|e| matches!(e,
        SfuEvent::ViewerDisconnected { viewer, reason: DisconnectReason::Removed, .. } if *viewer == removed)));
    assert!(w.events.iter().any(|e| matches!(e,
        SfuEvent::ViewerDisconnected { viewer, reason: DisconnectReason::Gone, .. } if *viewer == vanished)));
    // The removed browser got a DTLS close and saw the connection end.
    assert!(!w.clients[0].rtc.is_alive() || w.clients[0].frames() < 40);
    let survivor = &w.clients[2];
    assert_eq!(survivor.frames(), published);
    assert_eq!(survivor.video_gaps(), 0);
    assert_eq!(w.sfu.stats().viewers_reaped, 1);

    // The last viewer leaving closes the stream's room.
    assert!(w.sfu.remove_viewer(survivor.id.expect("id")));
    assert_eq!(w.sfu.viewer_count(STREAM), 0);
    assert!(!w.sfu.has_stream(STREAM));
    assert_eq!(w.sfu.total_viewers(), 0);
}
