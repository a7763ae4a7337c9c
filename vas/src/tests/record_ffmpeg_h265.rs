//! H.265 + AAC recorded through the segmenter and muxer, checked by real ffmpeg and ffprobe.
//! Fails (never skips) if ffmpeg, ffprobe or libx265 are missing.

#[test]
fn h265_and_aac_segments_decode_cleanly_in_ffmpeg() {
    crate::tests::record_support::check_with_real_tools(crate::media::VideoCodec::H265);
}
