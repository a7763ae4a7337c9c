//! Codec choice for one viewer: what to answer to a browser's SDP offer, given the stream.
//!
//! Owns: reading the codec lines of an offer (a small, bounded scan: `m=`, `a=rtpmap`,
//! `a=fmtp`, direction attributes), picking the H.264 `profile-level-id` to answer, picking
//! the audio codec, and turning that into a str0m codec configuration. It must never change
//! the media: the stream is sent exactly as the camera encoded it.
//!
//! ## H.264 High profile and Chromium
//!
//! Cameras commonly send High profile (`profile_idc` 100). Chromium without a hardware
//! encoder (headless Debian Chromium, for one) offers only Constrained Baseline (`42e01f`),
//! Baseline (`42001f`), Main (`4d001f`) and High 4:4:4 (`f4001f`) for receiving. str0m matches
//! H.264 payload types by profile exactly (RFC 6184 §8.2.2), so configuring High locally would
//! match nothing and the answer would carry no video. What works: answer with one of the
//! `profile-level-id`s the browser itself offered (with `packetization-mode=1` and
//! `level-asymmetry-allowed=1`) and send the stream unchanged. The profile in SDP only
//! selects the payload type; Chromium's receive side uses one software H.264 decoder
//! (FFmpeg's) for every profile, which decodes the High stream from its in-band SPS.
//! [`choose_h264`] therefore prefers the stream's own profile if offered, then the closest
//! offered one (High → Main → Constrained Baseline → Baseline → High 4:4:4).
//!
//! Audio: G.711 µ-law/A-law and Opus are forwarded as they come (Opus on its 48 kHz clock).
//! AAC is never sent: browsers' WebRTC has no AAC; a stream with AAC audio is offered video
//! only. H.265 video is refused (`Unsupported`): browser WebRTC here has no H.265.

use str0m::RtcConfig;
use str0m::format::Codec;
use str0m::media::Pt;

use crate::media::{AudioCodec, AudioParams, VideoCodec, VideoParams};
use crate::{Error, ErrorKind, Result};

/// Largest SDP offer accepted, in bytes (a real Chromium offer is about 6 KB).
pub const MAX_OFFER_BYTES: usize = 64 * 1024;
/// Most `m=` sections an offer may have.
pub const MAX_MEDIA_SECTIONS: usize = 16;
/// Longest `a=mid` value taken (str0m's mids hold 16 bytes).
const MAX_MID_BYTES: usize = 16;
/// Most payload types remembered per section (the rest are ignored).
const MAX_CODECS_PER_SECTION: usize = 128;

/// H.264 profiles in the order they are preferred when the stream's own is not offered,
/// as `(profile_idc, constraint flags mask, constraint flags value)`.
const PROFILE_FALLBACK_ORDER: [(u8, u8, u8); 5] = [
    (100, 0x00, 0x00), // High
    (77, 0x00, 0x00),  // Main
    (66, 0x40, 0x40),  // Constrained Baseline (constraint_set1)
    (66, 0x40, 0x00),  // Baseline
    (244, 0x00, 0x00), // High 4:4:4 Predictive
];

/// Longest excerpt of a client's SDP quoted back in an error.
const MAX_QUOTED_BYTES: usize = 40;

/// Why an offer str0m could not parse is not SDP, in words a client can act on (str0m's own
/// parser error names internal offsets and pointers, which must never reach a client).
pub fn describe_unparsable(offer: &str) -> String {
    let quote = |line: &str| -> String {
        let mut q: String = line
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .take(MAX_QUOTED_BYTES)
            .collect();
        if line.chars().count() > MAX_QUOTED_BYTES {
            q.push('…');
        }
        q
    };
    let lines: Vec<&str> = offer
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return "malformed SDP offer: it is empty".into();
    }
    for (i, line) in lines.iter().enumerate() {
        let b = line.as_bytes();
        if b.len() < 2 || !b[0].is_ascii_lowercase() || b[1] != b'=' {
            return format!(
                "malformed SDP offer: line {} is not of the form <letter>=<value>: {:?}",
                i + 1,
                quote(line)
            );
        }
    }
    if lines[0] != "v=0" {
        return format!(
            "malformed SDP offer: it must start with v=0, not {:?}",
            quote(lines[0])
        );
    }
    for (field, what) in [("o=", "origin"), ("s=", "session name"), ("t=", "timing")] {
        if !lines.iter().any(|l| l.starts_with(field)) {
            return format!("malformed SDP offer: no {field} line ({what})");
        }
    }
    if !lines.iter().any(|l| l.starts_with("m=")) {
        return "malformed SDP offer: no m= line (media section)".into();
    }
    "malformed SDP offer: a line has a value WebRTC SDP does not allow (check the o=, c=, m= \
     and a= lines)"
        .into()
}

/// A third-party message made safe to show a client: anything that looks like an address or
/// an internal offset (`0x7f…`, `PointerOffset(…)`) is removed, and the length is bounded.
pub fn public_text(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(200));
    let words = message.split(' ');
    let mut first = true;
    for word in words {
        let internal = word.contains("0x") || word.contains("Pointer") || word.contains("Offset(");
        let piece = if internal { "…" } else { word };
        if !first {
            out.push(' ');
        }
        first = false;
        out.push_str(piece);
        if out.len() > 200 {
            let mut cut = 200;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
            break;
        }
    }
    out
}

/// Media kind of an SDP section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    /// `m=video`
    Video,
    /// `m=audio`
    Audio,
    /// Anything else (`m=application`, …).
    Other,
}

/// One payload type an offer lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedCodec {
    /// Payload type.
    pub pt: u8,
    /// Encoding name, lowercased (`h264`, `opus`, `rtx`, …).
    pub name: String,
    /// Clock rate.
    pub clock_rate: u32,
    /// Raw `a=fmtp` parameters, if any.
    pub fmtp: String,
}

impl OfferedCodec {
    fn fmtp_param(&self, key: &str) -> Option<&str> {
        self.fmtp
            .split(';')
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim())
    }

    /// `profile-level-id` as a number, for H.264.
    pub fn profile_level_id(&self) -> Option<u32> {
        let v = self.fmtp_param("profile-level-id")?;
        (v.len() == 6)
            .then(|| u32::from_str_radix(v, 16).ok())
            .flatten()
    }

    /// `packetization-mode` (0 if absent, as RFC 6184 says).
    pub fn packetization_mode(&self) -> u8 {
        self.fmtp_param("packetization-mode")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// `apt` of an RTX payload type.
    fn apt(&self) -> Option<u8> {
        self.fmtp_param("apt").and_then(|v| v.parse().ok())
    }
}

/// One `m=` section of an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedSection {
    /// Media kind.
    pub kind: SectionKind,
    /// Whether the offerer wants to receive here (`recvonly` or `sendrecv`).
    pub receives: bool,
    /// The section's `a=mid`.
    pub mid: Option<String>,
    /// Payload types, in offer order.
    pub codecs: Vec<OfferedCodec>,
}

/// What an offer asks for, as far as codec choice is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OfferSummary {
    /// The sections, in order.
    pub sections: Vec<OfferedSection>,
}

/// Reads the codec lines of an offer. Rejects oversized offers and offers that are not SDP
/// at all; leaves full validation to str0m's parser.
pub fn scan_offer(sdp: &str) -> Result<OfferSummary> {
    if sdp.len() > MAX_OFFER_BYTES {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!("SDP offer is larger than {MAX_OFFER_BYTES} bytes"),
        ));
    }
    if !sdp.trim_start().starts_with("v=0") {
        return Err(Error::invalid_input("SDP offer must start with v=0"));
    }
    let mut summary = OfferSummary::default();
    for line in sdp.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(m) = line.strip_prefix("m=") {
            if summary.sections.len() >= MAX_MEDIA_SECTIONS {
                return Err(Error::invalid_input(format!(
                    "SDP offer has more than {MAX_MEDIA_SECTIONS} media sections"
                )));
            }
            let kind = match m.split(' ').next() {
                Some("video") => SectionKind::Video,
                Some("audio") => SectionKind::Audio,
                _ => SectionKind::Other,
            };
            summary.sections.push(OfferedSection {
                kind,
                receives: true, // sendrecv is the default direction
                mid: None,
                codecs: Vec::new(),
            });
            continue;
        }
        let Some(section) = summary.sections.last_mut() else {
            continue;
        };
        match line {
            "a=sendonly" | "a=inactive" => section.receives = false,
            "a=recvonly" | "a=sendrecv" => section.receives = true,
            _ => {}
        }
        if let Some(mid) = line.strip_prefix("a=mid:") {
            if mid.len() <= MAX_MID_BYTES {
                section.mid = Some(mid.trim().to_string());
            }
        } else if let Some(rest) = line.strip_prefix("a=rtpmap:") {
            let Some((pt, enc)) = rest.split_once(' ') else {
                continue;
            };
            let Ok(pt) = pt.parse::<u8>() else { continue };
            let mut parts = enc.split('/');
            let name = parts.next().unwrap_or_default().to_ascii_lowercase();
            let clock_rate = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
            if section.codecs.len() < MAX_CODECS_PER_SECTION {
                section.codecs.push(OfferedCodec {
                    pt,
                    name,
                    clock_rate,
                    fmtp: String::new(),
                });
            }
        } else if let Some(rest) = line.strip_prefix("a=fmtp:") {
            let Some((pt, params)) = rest.split_once(' ') else {
                continue;
            };
            let Ok(pt) = pt.parse::<u8>() else { continue };
            if let Some(c) = section.codecs.iter_mut().find(|c| c.pt == pt) {
                c.fmtp = params.to_string();
            }
        }
    }
    Ok(summary)
}

/// The H.264 payload type chosen for a viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H264Choice {
    /// Payload type (the browser's own number).
    pub pt: u8,
    /// Its RTX payload type, if the browser offered one.
    pub rtx: Option<u8>,
    /// The `profile-level-id` answered (one the browser offered).
    pub profile_level_id: u32,
}

fn profile_matches(pli: u32, (idc, mask, value): (u8, u8, u8)) -> bool {
    let [_, p_idc, flags, _] = pli.to_be_bytes();
    p_idc == idc && flags & mask == value
}

/// Picks the offered H.264 payload type (packetization-mode 1) to answer for a stream whose
/// SPS says `stream_profile_idc` (None when not known yet).
pub fn choose_h264(section: &OfferedSection, stream_profile_idc: Option<u8>) -> Option<H264Choice> {
    let candidates: Vec<(&OfferedCodec, u32)> = section
        .codecs
        .iter()
        .filter(|c| c.name == "h264" && c.clock_rate == 90_000 && c.packetization_mode() == 1)
        .filter_map(|c| c.profile_level_id().map(|p| (c, p)))
        .collect();
    // The stream's own profile first (for Baseline: Constrained Baseline, then Baseline),
    // then the general order.
    let mut order = PROFILE_FALLBACK_ORDER;
    order.sort_by_key(|(idc, _, _)| Some(*idc) != stream_profile_idc);
    let (codec, pli) = order
        .iter()
        .find_map(|&prof| candidates.iter().find(|(_, p)| profile_matches(*p, prof)))?;
    let rtx = section
        .codecs
        .iter()
        .find(|c| c.name == "rtx" && c.apt() == Some(codec.pt))
        .map(|c| c.pt);
    Some(H264Choice {
        pt: codec.pt,
        rtx,
        profile_level_id: *pli,
    })
}

/// The codecs one viewer gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewerCodecs {
    /// The H.264 payload type answered, or None if the offer has no video to answer.
    pub video: Option<H264Choice>,
    /// The audio codec answered, if the stream has audio a browser can play and the offer
    /// receives audio.
    pub audio: Option<AudioCodec>,
}

/// Decides the codecs of one viewer: errors if the stream cannot be shown to this browser.
pub fn choose_codecs(
    offer: &OfferSummary,
    video: Option<&VideoParams>,
    audio: Option<&AudioParams>,
) -> Result<ViewerCodecs> {
    if video.is_some_and(|v| v.codec == VideoCodec::H265) {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "this stream is H.265, and browser WebRTC here has no H.265; use an H.264 stream",
        ));
    }
    let video_section = offer
        .sections
        .iter()
        .find(|s| s.kind == SectionKind::Video && s.receives)
        .ok_or_else(|| {
            Error::invalid_input("SDP offer has no video section that receives (recvonly)")
        })?;
    let choice =
        choose_h264(video_section, video.and_then(|v| v.h264_profile_idc())).ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                "the browser offered no H.264 with packetization-mode=1",
            )
        })?;
    let audio = audio.map(|a| a.codec).filter(|codec| {
        let name = match codec {
            AudioCodec::Pcmu => "pcmu",
            AudioCodec::Pcma => "pcma",
            AudioCodec::Opus => "opus",
            AudioCodec::Aac => return false,
        };
        offer
            .sections
            .iter()
            .filter(|s| s.kind == SectionKind::Audio && s.receives)
            .any(|s| s.codecs.iter().any(|c| c.name == name))
    });
    Ok(ViewerCodecs {
        video: Some(choice),
        audio,
    })
}

/// Puts exactly the chosen codecs into a str0m configuration.
pub fn configure(config: RtcConfig, codecs: &ViewerCodecs) -> RtcConfig {
    let mut config = config.clear_codecs();
    if let Some(v) = codecs.video {
        config.codec_config().add_h264(
            Pt::from(v.pt),
            v.rtx.map(Pt::from),
            true,
            v.profile_level_id,
        );
    }
    match codecs.audio {
        Some(AudioCodec::Pcmu) => config.enable_pcmu(true, false),
        Some(AudioCodec::Pcma) => config.enable_pcma(true, false),
        Some(AudioCodec::Opus) => config.enable_opus(true, false),
        Some(AudioCodec::Aac) | None => config,
    }
}

/// The str0m codec of a VAS audio codec that WebRTC can carry.
pub fn str0m_audio_codec(codec: AudioCodec) -> Option<Codec> {
    match codec {
        AudioCodec::Pcmu => Some(Codec::PCMU),
        AudioCodec::Pcma => Some(Codec::PCMA),
        AudioCodec::Opus => Some(Codec::Opus),
        AudioCodec::Aac => None,
    }
}

/// The RTP clock rate of an audio codec on the wire.
pub fn audio_clock_rate(codec: AudioCodec) -> u32 {
    match codec {
        AudioCodec::Pcmu | AudioCodec::Pcma => 8_000,
        AudioCodec::Opus => 48_000,
        AudioCodec::Aac => 90_000,
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    /// An offer captured from headless Chromium 156 on Debian (recvonly video + audio).
    pub(crate) const CHROMIUM_OFFER: &str = include_str!("testdata/chromium-recvonly-offer.sdp");

    fn h264(profile_idc: u8) -> VideoParams {
        VideoParams {
            codec: VideoCodec::H264,
            width: 1280,
            height: 720,
            vps: None,
            sps: Bytes::from(vec![0x67, profile_idc, 0, 0x1f]),
            pps: Bytes::from_static(&[0x68, 0xce]),
            rfc6381_codec: String::new(),
        }
    }

    #[test]
    fn chromium_offer_has_no_high_profile_and_high_streams_get_main() {
        let offer = scan_offer(CHROMIUM_OFFER).unwrap();
        let video = &offer.sections[0];
        assert_eq!(video.kind, SectionKind::Video);
        assert!(video.receives);
        let plis: Vec<u32> = video
            .codecs
            .iter()
            .filter_map(|c| c.profile_level_id())
            .collect();
        assert!(!plis.iter().any(|p| p >> 16 == 0x64), "{plis:x?}");
        let c = choose_h264(video, Some(100)).unwrap();
        assert_eq!(
            (c.pt, c.rtx, c.profile_level_id),
            (116, Some(117), 0x4d001f)
        );
        // Baseline streams get Constrained Baseline, Main streams Main.
        assert_eq!(
            choose_h264(video, Some(66)).unwrap().profile_level_id,
            0x42e01f
        );
        assert_eq!(
            choose_h264(video, Some(77)).unwrap().profile_level_id,
            0x4d001f
        );
        assert_eq!(choose_h264(video, None).unwrap().profile_level_id, 0x4d001f);
    }

    #[test]
    fn high_is_used_when_offered() {
        let sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=recvonly\r\n\
                   a=rtpmap:96 H264/90000\r\n\
                   a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640032\r\n\
                   a=rtpmap:97 H264/90000\r\na=fmtp:97 packetization-mode=1;profile-level-id=42e01f\r\n";
        let offer = scan_offer(sdp).unwrap();
        let c = choose_h264(&offer.sections[0], Some(100)).unwrap();
        assert_eq!((c.pt, c.rtx, c.profile_level_id), (96, None, 0x640032));
    }

    #[test]
    fn packetization_mode_0_only_is_unsupported() {
        let sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n\
                   a=fmtp:96 profile-level-id=42e01f\r\n";
        let offer = scan_offer(sdp).unwrap();
        let e = choose_codecs(&offer, Some(&h264(100)), None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn h265_streams_are_refused_clearly() {
        let offer = scan_offer(CHROMIUM_OFFER).unwrap();
        let mut p = h264(1);
        p.codec = VideoCodec::H265;
        let e = choose_codecs(&offer, Some(&p), None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(e.message().contains("no H.265"), "{e}");
    }

    #[test]
    fn audio_is_forwarded_only_for_webrtc_codecs() {
        let offer = scan_offer(CHROMIUM_OFFER).unwrap();
        let audio = |codec| AudioParams {
            codec,
            sample_rate: 8000,
            channels: 1,
            config: Bytes::new(),
        };
        for codec in [AudioCodec::Pcmu, AudioCodec::Pcma, AudioCodec::Opus] {
            let c = choose_codecs(&offer, Some(&h264(100)), Some(&audio(codec))).unwrap();
            assert_eq!(c.audio, Some(codec));
        }
        let c = choose_codecs(&offer, Some(&h264(100)), Some(&audio(AudioCodec::Aac))).unwrap();
        assert_eq!(c.audio, None, "AAC is never sent");
    }

    #[test]
    fn hostile_offers_are_bounded() {
        assert_eq!(
            scan_offer(&"v=0\r\n".repeat(20_000)).unwrap_err().kind(),
            ErrorKind::TooLarge
        );
        assert_eq!(
            scan_offer("hello").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let many = format!("v=0\r\n{}", "m=video 9 RTP/AVP 96\r\n".repeat(20));
        assert_eq!(
            scan_offer(&many).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        // Junk attribute values are ignored, not trusted.
        let junk = "v=0\r\nm=video 9 X 1\r\na=rtpmap:999 H264/x\r\na=fmtp:abc x\r\na=rtpmap:96\r\n";
        let offer = scan_offer(junk).unwrap();
        assert!(offer.sections[0].codecs.is_empty());
    }
}

#[cfg(test)]
mod doc_examples {
    /// How `sfu::negotiate::describe_unparsable` is used.
    #[test]
    fn describe_unparsable_example() {
        use crate::sfu::negotiate::describe_unparsable;
        assert!(describe_unparsable("v=0\r\n").contains("no o= line"));
        assert!(describe_unparsable("hello").contains("line 1"));
    }

    /// How `sfu::negotiate::public_text` is used.
    #[test]
    fn public_text_example() {
        use crate::sfu::negotiate::public_text;
        assert_eq!(
            public_text("Parse error at PointerOffset(0x7f7aa403f9f5)"),
            "Parse error at …"
        );
        // Long text is cut on a character boundary (found by the sdp_offer fuzz target).
        assert!(public_text(&"é".repeat(300)).ends_with('…'));
    }
}
