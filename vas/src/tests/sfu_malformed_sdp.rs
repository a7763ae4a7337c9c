//! Scenario: hostile or malformed SDP offers, and streams a browser cannot play, each get a
//! clear error of the right kind — never a panic, never a half-admitted viewer, never an
//! internal address in the message.

use std::sync::Arc;

use crate::ErrorKind;
use crate::media::{VideoCodec, VideoParams};
use crate::sfu::CoreConfig;
use crate::tests::sfu_support::*;

const CHROMIUM: &str = include_str!("../sfu/testdata/chromium-recvonly-offer.sdp");

/// The Chromium offer with its video section cut down to VP8 (payload types 96/97).
fn only_vp8(offer: &str) -> String {
    let mut out = String::new();
    let mut in_video = false;
    for line in offer.lines() {
        if line.starts_with("m=") {
            in_video = line.starts_with("m=video");
            if in_video {
                out.push_str("m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n");
                continue;
            }
        }
        let pt_line = ["a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"]
            .iter()
            .find_map(|p| line.strip_prefix(p));
        if in_video
            && let Some(rest) = pt_line
            && !(rest.starts_with("96 ") || rest.starts_with("97 "))
        {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out
}

#[test]
fn malformed_offers_get_clear_errors() {
    let mut w = World::new(CoreConfig::default());
    let high = high_params();
    let mut h265 = (*high).clone();
    h265.codec = VideoCodec::H265;
    h265.vps = Some(bytes::Bytes::from_static(&[0x40, 0x01]));
    let h265 = Arc::new(h265);

    let truncated = &CHROMIUM[..CHROMIUM.find("a=fingerprint").expect("fingerprint") + 30];
    let sendonly = CHROMIUM.replacen("a=recvonly", "a=sendonly", 1);
    let no_h264 = only_vp8(CHROMIUM);
    let audio_only: String = {
        let i = CHROMIUM.find("m=audio").expect("audio section");
        format!(
            "{}{}",
            &CHROMIUM[..CHROMIUM.find("m=video").expect("video")],
            &CHROMIUM[i..]
        )
    };
    let bad_fingerprint = CHROMIUM.replace("a=fingerprint:sha-256 ", "a=fingerprint:sha-256 ZZ");
    let huge = format!("{CHROMIUM}{}", "a=x\r\n".repeat(20_000));
    let binary =
        String::from_utf8_lossy(&(0..=255u8).cycle().take(4000).collect::<Vec<_>>()).to_string();
    let many_sections = format!("v=0\r\n{}", "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n".repeat(40));

    let table: Vec<(&str, &str, Option<&VideoParams>, ErrorKind)> = vec![
        ("empty", "", Some(&high), ErrorKind::InvalidInput),
        ("not sdp", "hello", Some(&high), ErrorKind::InvalidInput),
        ("binary", &binary, Some(&high), ErrorKind::InvalidInput),
        ("only v=0", "v=0\r\n", Some(&high), ErrorKind::InvalidInput),
        (
            "truncated chromium offer",
            truncated,
            Some(&high),
            ErrorKind::InvalidInput,
        ),
        (
            "video sendonly",
            &sendonly,
            Some(&high),
            ErrorKind::InvalidInput,
        ),
        (
            "audio only",
            &audio_only,
            Some(&high),
            ErrorKind::InvalidInput,
        ),
        (
            "no H.264 offered",
            &no_h264,
            Some(&high),
            ErrorKind::Unsupported,
        ),
        (
            "H.265 stream",
            CHROMIUM,
            Some(&h265),
            ErrorKind::Unsupported,
        ),
        (
            "bad fingerprint",
            &bad_fingerprint,
            Some(&high),
            ErrorKind::InvalidInput,
        ),
        ("oversized", &huge, Some(&high), ErrorKind::TooLarge),
        (
            "too many sections",
            &many_sections,
            Some(&high),
            ErrorKind::InvalidInput,
        ),
    ];
    for (name, offer, video, kind) in table {
        let r = w.sfu.add_viewer(w.now, "s", offer, video, None);
        let e = r.err().unwrap_or_else(|| panic!("{name}: accepted"));
        assert_eq!(e.kind(), kind, "{name}: {e}");
        assert!(!e.message().is_empty(), "{name}");
        // The message names what is wrong, never an internal offset or pointer.
        for internal in ["0x", "Pointer", "Offset("] {
            assert!(!e.message().contains(internal), "{name}: {e}");
        }
        assert_eq!(
            w.sfu.viewer_count("s"),
            0,
            "{name}: no half-admitted viewer"
        );
    }
    assert!(!w.sfu.has_stream("s"));

    // The genuine Chromium offer is accepted for the High stream, answered with Main.
    let (_, answer) = w
        .sfu
        .add_viewer(w.now, "s", CHROMIUM, Some(&high), None)
        .expect("chromium offer");
    assert!(answer.contains("profile-level-id=4d001f"), "{answer}");
    assert!(answer.contains("packetization-mode=1"));
    assert!(answer.contains("level-asymmetry-allowed=1"));
    assert!(answer.contains("a=ice-lite"));
    assert!(
        answer.contains("a=candidate:") && answer.contains("10.0.0.1 5000 typ host"),
        "{answer}"
    );
    assert!(
        !answer.contains("VP8") && !answer.contains("AV1"),
        "{answer}"
    );
    assert_eq!(w.sfu.viewer_count("s"), 1);
}
