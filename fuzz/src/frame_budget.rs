//! The frame budget: for any packet sequence, what it lets through for one frame never passes
//! its limits by more than one packet, the rest of an overflowing frame is dropped, and every
//! overflow is counted.

use vas::_internal_test_exports::guard::{
    FrameBudget, TrackCodec, Verdict, count_nals, rtp_payload,
};

const MAX_BYTES: usize = 4_000;
const MAX_NALS: usize = 16;

/// Checks the invariants above for one input; panics when one fails.
pub fn check(input: &[u8]) {
    let Some((&mode, mut rest)) = input.split_first() else {
        return;
    };
    let codec = match mode % 3 {
        0 => TrackCodec::H264,
        1 => TrackCodec::H265,
        _ => TrackCodec::Other,
    };
    let mut budget = FrameBudget::new(codec, MAX_BYTES, MAX_NALS);
    let (mut progress, mut bytes, mut nals, mut overflows) = (0u64, 0usize, 0usize, 0u64);
    let mut dropping: Option<u32> = None;
    // Packets: [len, progress bump, bytes…]
    while rest.len() >= 2 {
        let len = usize::from(rest[0]) * 8;
        let bump = rest[1] & 1 == 1;
        rest = &rest[2..];
        let take = len.min(rest.len());
        let packet = &rest[..take];
        rest = &rest[take..];
        if bump {
            progress += 1;
            bytes = 0;
            nals = 0;
        }
        let verdict = budget.admit(packet, progress);
        let parsed = rtp_payload(packet);
        match &verdict {
            Verdict::Forward => {
                if let Some((ts, payload)) = parsed {
                    assert!(
                        dropping != Some(ts) || bump,
                        "forwarded the rest of an oversized frame"
                    );
                    if dropping.is_some_and(|d| d != ts) {
                        dropping = None;
                        bytes = 0;
                        nals = 0;
                    }
                    bytes += payload.len();
                    nals += count_nals(codec, payload);
                    assert!(
                        bytes <= MAX_BYTES && nals <= MAX_NALS,
                        "{bytes} bytes, {nals} NALs admitted"
                    );
                }
            }
            Verdict::Overflow(v) => {
                overflows += 1;
                assert!(v.0.contains("discarded"));
                dropping = parsed.map(|(ts, _)| ts);
                bytes = 0;
                nals = 0;
            }
            Verdict::Drop => {
                let (ts, _) = parsed.expect("only RTP is dropped");
                assert_eq!(dropping, Some(ts), "dropped a packet of another frame");
            }
        }
    }
    assert_eq!(budget.overflows(), overflows);
}
