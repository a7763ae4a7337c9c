//! The segment reader that snapshots and clips trust: for any bytes it answers frames or a
//! `Corrupt`/`TooLarge` error, never a panic; what it answers is well formed (video payloads
//! are whole length-prefixed NAL units without delimiters, no frame past the size bound), and
//! a byte bound below the input's length is never read past.

use vas::_internal_test_exports::media::{
    Track, VideoCodec, h264_nal_type, h265_nal_type, nal_units,
};
use vas::_internal_test_exports::record::{ReadOptions, read_segment_bytes};
use vas::ErrorKind;

const PACKET: u64 = 188;

/// Checks the invariants above for one input; panics when one fails.
pub fn check(data: &[u8]) {
    let start = chrono::DateTime::UNIX_EPOCH;
    let options = ReadOptions {
        max_frame_bytes: 16 * 1024,
        ..ReadOptions::default()
    };
    match read_segment_bytes(data, start, &options) {
        Ok(frames) => {
            for f in &frames {
                assert!(f.data.len() <= options.max_frame_bytes);
                if let Track::Video(p) = &f.track {
                    let mut consumed = 0;
                    for unit in nal_units(&f.data) {
                        consumed += 4 + unit.len();
                        let aud = match p.codec {
                            VideoCodec::H264 => h264_nal_type(unit) == Some(9),
                            _ => h265_nal_type(unit) == Some(35),
                        };
                        assert!(!aud, "a delimiter came back");
                    }
                    assert_eq!(consumed, f.data.len(), "a payload is not whole NAL units");
                    assert!(p.width > 0 && p.height > 0);
                }
            }
        }
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::Corrupt | ErrorKind::TooLarge),
            "{e}"
        ),
    }
    // A bounded read below the input's length is refused, not read past.
    if data.len() as u64 > 10 * PACKET {
        let bounded = ReadOptions {
            max_file_bytes: 10 * PACKET,
            ..options
        };
        let e = read_segment_bytes(data, start, &bounded).expect_err("past the bound");
        assert!(
            matches!(e.kind(), ErrorKind::Corrupt | ErrorKind::TooLarge),
            "{e}"
        );
    }
}
