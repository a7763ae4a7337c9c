//! The camera guard's RTSP splitter: whatever a camera sends, in whatever chunks, the reader
//! holds no more than its bound, yields only units within the limits, gives the same units
//! however the bytes are split, stays failed after a violation, and every message it yields
//! parses back to itself once re-encoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vas::ingest::guard::{Limits, Unit, UnitReader};

const LIMITS: Limits = Limits {
    line_bytes: 256,
    headers: 8,
    head_bytes: 1024,
    body_bytes: 2048,
    media_sections: 4,
};

fn run(data: &[u8], chunk: usize) -> (Vec<Unit>, Option<String>) {
    let mut r = UnitReader::new(LIMITS);
    let mut units = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        r.push(piece);
        loop {
            match r.next_unit() {
                Ok(Some(u)) => units.push(u),
                Ok(None) => break,
                Err(v) => {
                    assert!(r.next_unit().is_err(), "a failed reader stays failed");
                    assert_eq!(r.buffered(), 0, "a failed reader holds nothing");
                    return (units, Some(v.0));
                }
            }
        }
        assert!(
            r.buffered() <= LIMITS.max_buffered() + chunk,
            "buffered {}",
            r.buffered()
        );
    }
    (units, None)
}

fuzz_target!(|input: &[u8]| {
    let Some((&chunk, data)) = input.split_first() else {
        return;
    };
    let (whole, whole_err) = run(data, data.len());
    let (split, split_err) = run(data, usize::from(chunk % 64) + 1);
    assert_eq!(whole, split, "the same units however the bytes arrive");
    assert_eq!(whole_err.is_some(), split_err.is_some());
    for u in &whole {
        if let Unit::Message(m) = u {
            assert!(m.body.len() <= LIMITS.body_bytes);
            assert!(m.headers.len() <= LIMITS.headers);
            let again = run(&m.encode(), 4096).0;
            assert_eq!(again.len(), 1, "{m:?}");
            match &again[0] {
                Unit::Message(n) => {
                    assert_eq!(n.start, m.start);
                    assert_eq!(n.body, m.body);
                }
                other => panic!("re-encoded message came back as {other:?}"),
            }
        }
    }
    for v in whole_err.iter() {
        assert!(
            !v.contains('\0') && !v.contains('\r') && !v.contains('\n'),
            "{v:?}"
        );
    }
});
