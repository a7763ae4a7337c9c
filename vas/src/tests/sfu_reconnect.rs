//! Scenario: the camera reconnects mid-session (new epoch), once with continuous timestamps
//! (what the hub guarantees) and once with a timestamp jump backwards (a misbehaving source);
//! the viewer sees one continuous RTP stream: same SSRC, no sequence gap, timestamps that
//! only move forward, and no renegotiation.

use std::time::Duration;

use crate::sfu::CoreConfig;
use crate::tests::sfu_support::*;

const STREAM: &str = "cam-4/main";

#[test]
fn camera_reconnect_keeps_the_viewer_stream_continuous() {
    let mut w = World::new(CoreConfig::default());
    let mut cam = Device::new();
    let params = cam.params.clone();
    let v = w
        .connect_client(STREAM, Some(&params), None)
        .expect("admitted");
    assert!(w.run_until(Duration::from_secs(5), |w| w.clients[v].connected));

    let mut published = 0;
    let mut publish = |w: &mut World, cam: &mut Device, n: usize| {
        for _ in 0..n {
            let f = cam.next();
            w.publish(STREAM, &f);
            published += 1;
            w.run_for(Duration::from_millis(33));
        }
    };
    publish(&mut w, &mut cam, 45);

    // Reconnect 1: new epoch, the stream restarts at a keyframe, pts continues.
    cam.epoch += 1;
    cam.n = 0;
    cam.pts += 2 * FRAME_90K; // a short outage
    publish(&mut w, &mut cam, 40);

    // Reconnect 2: a source that restarts its clock at zero.
    cam.epoch += 1;
    cam.n = 0;
    cam.pts = 0;
    publish(&mut w, &mut cam, 40);

    let c = &w.clients[v];
    assert_eq!(c.frames(), published);
    assert_eq!(
        c.video_gaps(),
        0,
        "sequence numbers continue across reconnects"
    );
    let ssrcs: std::collections::BTreeSet<u32> = c.video().map(|g| g.ssrc).collect();
    assert_eq!(ssrcs.len(), 1, "one SSRC for the whole session");
    let frame_times: Vec<u32> = c
        .video()
        .filter(|g| g.marker)
        .map(|g| g.timestamp)
        .collect();
    for pair in frame_times.windows(2) {
        let step = pair[1].wrapping_sub(pair[0]);
        assert!(
            step > 0 && step < 90_000,
            "timestamp step {step} between frames"
        );
    }
    let stats = w.sfu.room_stats(STREAM).expect("room");
    assert_eq!(stats.epoch_changes, 2);
    assert_eq!(stats.rebases, 1, "only the backwards jump needed a rebase");
}
