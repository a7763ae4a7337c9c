//! NAL unit handling: length-prefixed iteration never reads past the data, yields no empty
//! unit, and round-trips through Annex B framing and back.

use vas::_internal_test_exports::guard::{TrackCodec, count_nals};
use vas::_internal_test_exports::media::{
    append_annex_b, h264_nal_type, h265_nal_type, nal_units, push_length_prefixed,
};

/// Checks the invariants above for one input; panics when one fails.
pub fn check(data: &[u8]) {
    let units: Vec<&[u8]> = nal_units(data).collect();
    let mut total = 0;
    let mut rebuilt = Vec::new();
    for u in &units {
        assert!(!u.is_empty());
        total += 4 + u.len();
        assert!(h264_nal_type(u).is_some_and(|t| t < 32));
        assert!(h265_nal_type(u).is_some_and(|t| t < 64));
        push_length_prefixed(&mut rebuilt, u);
    }
    assert!(total <= data.len());
    assert_eq!(
        &rebuilt[..],
        &data[..total],
        "units re-framed give the same bytes"
    );
    let mut annex_b = Vec::new();
    append_annex_b(&mut annex_b, data);
    assert_eq!(annex_b.len(), total);
    for codec in [TrackCodec::H264, TrackCodec::H265, TrackCodec::Other] {
        assert!(count_nals(codec, data) <= data.len());
    }
}
