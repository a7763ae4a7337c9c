//! MP4 clips: any samples and window either fail cleanly or give a file whose top-level boxes
//! (ftyp, moov, mdat) add up to its length.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vas_fuzz::mp4_clip::check(data));
