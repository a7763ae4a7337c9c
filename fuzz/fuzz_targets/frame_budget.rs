//! The frame budget: for any packet sequence, what it lets through for one frame never passes
//! its limits by more than one packet, the rest of an overflowing frame is dropped, and every
//! overflow is counted.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vas_fuzz::frame_budget::check(data));
