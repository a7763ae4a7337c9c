//! WebSocket signaling messages: any text a client sends is either one of the message types
//! or an `invalid_input` error whose message is bounded, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vas_fuzz::signaling_message::check(data));
