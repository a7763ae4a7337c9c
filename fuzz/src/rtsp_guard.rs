//! The camera guard's RTSP splitter: whatever a camera sends, in whatever chunks, the reader
//! holds no more than its bound, yields only units within the limits, gives the same units
//! however the bytes are split, stays failed after a violation, and every message it yields
//! parses back to itself once re-encoded.

use vas::_internal_test_exports::guard::{Limits, Unit, UnitReader};

const LIMITS: Limits = Limits {
    line_bytes: 256,
    headers: 8,
    head_bytes: 1024,
    body_bytes: 2048,
    media_sections: 4,
};

/// Limits for reading a message back after re-encoding it: re-encoding normalises each line
/// (`Name:value` becomes `Name: value`, a bare LF becomes CRLF), so a message right at a limit
/// may come back a few bytes over it. What is checked there is fidelity, not the limits.
const ROUND_TRIP: Limits = Limits {
    line_bytes: 2 * LIMITS.line_bytes,
    headers: LIMITS.headers,
    head_bytes: 2 * LIMITS.head_bytes,
    body_bytes: LIMITS.body_bytes,
    media_sections: LIMITS.media_sections,
};

fn split_all(data: &[u8], chunk: usize, limits: Limits) -> (Vec<Unit>, Option<String>) {
    let mut r = UnitReader::new(limits);
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
            r.buffered() <= limits.max_buffered() + chunk,
            "buffered {}",
            r.buffered()
        );
    }
    (units, None)
}

/// Checks the invariants above for one input; panics when one fails.
pub fn check(input: &[u8]) {
    let Some((&chunk, data)) = input.split_first() else {
        return;
    };
    let (whole, whole_err) = split_all(data, data.len(), LIMITS);
    let (split, split_err) = split_all(data, usize::from(chunk % 64) + 1, LIMITS);
    assert_eq!(whole, split, "the same units however the bytes arrive");
    assert_eq!(whole_err.is_some(), split_err.is_some());
    for u in &whole {
        if let Unit::Message(m) = u {
            assert!(m.body.len() <= LIMITS.body_bytes);
            assert!(m.headers.len() <= LIMITS.headers);
            let again = split_all(&m.encode(), 4096, ROUND_TRIP).0;
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
}
