//! Camera URLs: whatever a client sends, an accepted URL has no control characters, never
//! shows a secret it carries (password, bare token, secret query values) when displayed, and
//! parses again to the very same URL.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vas_fuzz::camera_url::check(data));
