//! The TS scanner that recovery trusts to cut a segment after a crash: for any bytes, the
//! usable prefix is within what was scanned, ends on a packet boundary, and scanning that
//! prefix again finds the same frames (but for the last one, see below).

use vas::_internal_test_exports::record::scan_segment;

const PACKET: u64 = 188;

/// Checks the invariants above for one input; panics when one fails.
pub fn check(data: &[u8]) {
    let scan = scan_segment(&mut &data[..], u64::MAX).expect("reading a slice cannot fail");
    assert!(scan.scanned_len <= data.len() as u64);
    assert!(scan.usable_len <= scan.scanned_len);
    assert_eq!(scan.usable_len % PACKET, 0);
    assert!(scan.video_span_ticks >= 0 || scan.video_frames == 0);
    if let Some(at) = scan.garbage_at {
        assert!(at <= data.len() as u64);
    }
    let prefix = &data[..scan.usable_len as usize];
    let again = scan_segment(&mut &prefix[..], u64::MAX).expect("a slice");
    // A PES without a declared length is only known complete when the next one starts, so in
    // the prefix alone the last frame may read as unfinished: at most one frame fewer, never
    // more, and never a longer usable prefix.
    assert!(again.usable_len <= scan.usable_len);
    assert!(again.video_frames <= scan.video_frames);
    assert!(again.audio_frames <= scan.audio_frames);
    assert!(
        again.video_frames + again.audio_frames + 1 >= scan.video_frames + scan.audio_frames,
        "{again:?} vs {scan:?}"
    );
    // A bounded scan never reads past its bound.
    let bounded = scan_segment(&mut &data[..], 10 * PACKET).expect("a slice");
    assert!(bounded.scanned_len <= 10 * PACKET);
}
