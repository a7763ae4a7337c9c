//! The TS scanner that recovery trusts to cut a segment after a crash: for any bytes, the
//! usable prefix is within what was scanned, ends on a packet boundary, and scanning that
//! prefix again finds the same frames (but for the last one, see below).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vas_fuzz::ts_scan::check(data));
