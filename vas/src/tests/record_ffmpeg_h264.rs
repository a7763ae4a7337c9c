//! H.264 + AAC recorded through the segmenter and muxer, checked by real ffmpeg and ffprobe.
//! Fails (never skips) if ffmpeg, ffprobe or libx264 are missing.

#[test]
fn h264_and_aac_segments_decode_cleanly_in_ffmpeg() {
    crate::tests::record_support::check_with_real_tools(crate::media::VideoCodec::H264);
}
