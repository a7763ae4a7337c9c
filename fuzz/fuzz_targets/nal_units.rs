//! NAL unit handling: length-prefixed iteration never reads past the data, yields no empty
//! unit, and round-trips through Annex B framing and back.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vas_fuzz::nal_units::check(data));
