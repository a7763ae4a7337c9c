//! Scenario: a stream's viewer limit is enforced with a clear `ResourceExhausted` error, the
//! count is queryable, and a freed slot can be taken again; other streams are not limited.

use crate::ErrorKind;
use crate::sfu::CoreConfig;
use crate::tests::sfu_support::*;

#[test]
fn per_stream_viewer_limit() {
    let config = CoreConfig {
        max_viewers_per_stream: 2,
        max_viewers: 3,
        ..CoreConfig::default()
    };
    let mut w = World::new(config);
    let params = high_params();
    let a = w.connect_client("a", Some(&params), None).expect("first");
    w.connect_client("a", Some(&params), None).expect("second");
    let e = w.connect_client("a", Some(&params), None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ResourceExhausted);
    assert!(e.message().contains("limit"), "{e}");
    assert_eq!(w.sfu.viewer_count("a"), 2);

    // Another stream has its own budget, up to the SFU-wide limit.
    w.connect_client("b", Some(&params), None)
        .expect("other stream");
    let e = w.connect_client("c", Some(&params), None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ResourceExhausted);
    assert_eq!(w.sfu.total_viewers(), 3);

    // A freed slot is usable again.
    assert!(w.sfu.remove_viewer(w.clients[a].id.expect("id")));
    assert_eq!(w.sfu.viewer_count("a"), 1);
    w.connect_client("a", Some(&params), None)
        .expect("slot freed");
    assert_eq!(w.sfu.viewer_count("a"), 2);
    assert_eq!(w.sfu.viewer_count("nobody-watches"), 0);
}
