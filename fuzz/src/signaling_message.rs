//! WebSocket signaling messages: any text a client sends is either one of the message types
//! or an `invalid_input` error whose message is bounded, never a panic.

/// Checks the invariants above for one input; panics when one fails.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match vas_server::signaling::client_message_kind(text) {
        Ok(kind) => assert!(["offer", "close", "ping"].contains(&kind)),
        Err(e) => {
            assert_eq!(e.kind(), vas::ErrorKind::InvalidInput);
            assert!(e.message().starts_with("not a signaling message"));
        }
    }
}
