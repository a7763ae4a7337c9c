//! SDP offers from browsers (the part of the SDP handling VAS owns around str0m): the codec
//! scan never panics, whatever str0m cannot parse is described without internals (only the
//! client's own text may be quoted back), and third-party messages lose anything that looks
//! like an address.

use vas::_internal_test_exports::sfu::{describe_unparsable, public_text, scan_offer};

/// Checks the invariants above for one input; panics when one fails.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(summary) = scan_offer(text) {
        assert!(summary.sections.len() <= vas::_internal_test_exports::sfu::MAX_MEDIA_SECTIONS);
    }
    let parsed = std::panic::catch_unwind(|| str0m::change::SdpOffer::from_sdp_string(text));
    if !matches!(parsed, Ok(Ok(_))) {
        let message = describe_unparsable(text);
        assert!(message.starts_with("malformed SDP offer"));
        // Only the client's own text may be quoted back: nothing internal is added to it.
        for internal in ["0x", "PointerOffset"] {
            assert!(
                !message.contains(internal) || text.contains(internal),
                "{message}"
            );
        }
        assert!(message.len() < 200, "{message}");
    }
    let shown = public_text(text);
    assert!(!shown.contains("0x") && shown.len() <= 204, "{shown}");
}
