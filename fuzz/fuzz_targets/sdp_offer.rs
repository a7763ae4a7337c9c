//! SDP offers from browsers (the part of the SDP handling VAS owns around str0m): the codec
//! scan never panics, whatever str0m cannot parse is described without internals (only the
//! client's own text may be quoted back), and third-party messages lose anything that looks
//! like an address.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vas_fuzz::sdp_offer::check(data));
