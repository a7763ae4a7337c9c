//! Scenario: a browser that takes an offer's answer but never completes ICE is failed after
//! the connect timeout (a `ViewerFailed` event) and its slot is freed.

use std::time::Duration;

use crate::sfu::{CoreConfig, SfuEvent};
use crate::tests::sfu_support::*;

#[test]
fn a_viewer_that_never_connects_is_failed() {
    let config = CoreConfig {
        connect_timeout: Duration::from_secs(5),
        ..CoreConfig::default()
    };
    let mut w = World::new(config);
    let params = high_params();
    let i = w
        .connect_client("s", Some(&params), None)
        .expect("admitted");
    w.clients[i].vanished = true; // never sends a STUN check
    assert_eq!(w.sfu.viewer_count("s"), 1);
    w.run_for(Duration::from_millis(4_900));
    assert_eq!(w.sfu.viewer_count("s"), 1, "still within the timeout");
    w.run_for(Duration::from_millis(200));
    assert_eq!(w.sfu.viewer_count("s"), 0);
    let id = w.clients[i].id.expect("id");
    assert!(
        w.events.iter().any(|e| matches!(e,
            SfuEvent::ViewerFailed { viewer, message, .. } if *viewer == id && message.contains("in time"))),
        "{:?}",
        w.events
    );
    assert!(!w.sfu.has_stream("s"));
}
