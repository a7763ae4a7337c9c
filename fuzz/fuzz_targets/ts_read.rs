//! The segment reader behind snapshots at a past time and clips: any bytes give frames or a
//! `Corrupt`/`TooLarge` error, never a panic, and what comes back is well formed.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vas_fuzz::ts_read::check(data));
