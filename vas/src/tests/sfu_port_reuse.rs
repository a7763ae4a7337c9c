//! Scenario: a browser tab reloads and its new peer connection comes from the same address
//! and port as the old one, which has not timed out yet. The new viewer is found by its ICE
//! username and connects; the old one is reaped later.

use std::time::Duration;

use crate::sfu::CoreConfig;
use crate::tests::sfu_support::*;

#[test]
fn a_new_peer_on_an_old_peers_address_connects() {
    let mut w = World::new(CoreConfig::default());
    let mut cam = Device::new();
    let params = cam.params.clone();
    let old = w
        .connect_client("s", Some(&params), None)
        .expect("admitted");
    assert!(w.run_until(Duration::from_secs(5), |w| w.clients[old].connected));
    let addr = w.clients[old].addr;
    w.clients[old].vanished = true;

    let new = w
        .connect_client_at("s", addr, Some(&params), None)
        .expect("admitted");
    assert!(
        w.run_until(Duration::from_secs(5), |w| w.clients[new].connected),
        "the new peer connects although its address belongs to the old one"
    );
    assert_eq!(w.sfu.viewer_count("s"), 2);
    for _ in 0..(30 * 20) {
        let f = cam.next();
        w.publish("s", &f);
        w.run_for(Duration::from_millis(33));
    }
    assert_eq!(w.sfu.viewer_count("s"), 1, "the old peer was reaped");
    assert!(w.sfu.is_live(w.clients[new].id.expect("id")));
    assert!(w.clients[new].frames() >= 600);
    assert_eq!(w.clients[new].video_gaps(), 0);
}
