//! The HLS playlist parser (recovery and playback read playlists from disk): whatever text
//! it accepts renders to a playlist that parses back to the same thing.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vas_fuzz::playlist::check(data));
