//! The camera guard's RTSP splitter: whatever a camera sends, in whatever chunks, the reader
//! holds no more than its bound, yields only units within the limits, gives the same units
//! however the bytes are split, stays failed after a violation, and every message it yields
//! parses back to itself once re-encoded.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vas_fuzz::rtsp_guard::check(data));
