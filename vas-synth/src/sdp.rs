//! The session description (RFC 4566) the synthetic camera answers DESCRIBE with.
//!
//! Owns the SDP text: one H.264 track (RFC 6184 `packetization-mode=1`, `profile-level-id`
//! and `sprop-parameter-sets` from the current SPS/PPS) and, when audio is on, one PCMU track;
//! and the track control names SETUP refers to. Pure text building: it must never hold state.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::audio;
use super::h264;
use super::rtp::{H264_PAYLOAD_TYPE, PCMU_PAYLOAD_TYPE};

/// Control name of the video track (appended to the Content-Base for SETUP).
pub(crate) const VIDEO_CONTROL: &str = "trackID=0";
/// Control name of the audio track.
pub(crate) const AUDIO_CONTROL: &str = "trackID=1";
/// Session name in the description.
const SESSION_NAME: &str = "VAS synthetic camera";
/// `profile-level-id` used when the SPS cannot be read (Constrained Baseline, level 3.0).
const FALLBACK_PROFILE_LEVEL_ID: &str = "42C01E";

/// What the description says about the camera.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Description<'a> {
    /// Session id for the `o=` line.
    pub(crate) session_id: u64,
    /// Address the server answered on, for the `o=` line.
    pub(crate) origin: IpAddr,
    /// Current sequence parameter set (no start code).
    pub(crate) sps: &'a [u8],
    /// Current picture parameter set (no start code).
    pub(crate) pps: &'a [u8],
    /// Frames per second.
    pub(crate) fps: u32,
    /// Whether the PCMU track is offered.
    pub(crate) audio: bool,
}

impl Description<'_> {
    /// The SDP text, CRLF line endings.
    pub(crate) fn to_sdp(self) -> String {
        let (net, addr) = match self.origin {
            IpAddr::V4(a) => ("IP4", a.to_string()),
            IpAddr::V6(a) => ("IP6", a.to_string()),
        };
        let any = if self.origin.is_ipv4() {
            "0.0.0.0"
        } else {
            "::"
        };
        let pli = h264::profile_level_id(self.sps)
            .unwrap_or_else(|| FALLBACK_PROFILE_LEVEL_ID.to_owned());
        let sprop = format!("{},{}", BASE64.encode(self.sps), BASE64.encode(self.pps));
        let mut s = String::with_capacity(512);
        let mut line = |l: &str| {
            s.push_str(l);
            s.push_str("\r\n");
        };
        line("v=0");
        line(&format!(
            "o=- {id} {id} IN {net} {addr}",
            id = self.session_id
        ));
        line(&format!("s={SESSION_NAME}"));
        line(&format!("c=IN {net} {any}"));
        line("t=0 0");
        line("a=tool:vas");
        line("a=range:npt=0-");
        line("a=control:*");
        line(&format!("m=video 0 RTP/AVP {H264_PAYLOAD_TYPE}"));
        line(&format!(
            "a=rtpmap:{H264_PAYLOAD_TYPE} H264/{}",
            crate::VIDEO_CLOCK_RATE
        ));
        line(&format!(
            "a=fmtp:{H264_PAYLOAD_TYPE} packetization-mode=1;profile-level-id={pli};sprop-parameter-sets={sprop}"
        ));
        line(&format!("a=framerate:{}", self.fps));
        line(&format!("a=control:{VIDEO_CONTROL}"));
        if self.audio {
            line(&format!("m=audio 0 RTP/AVP {PCMU_PAYLOAD_TYPE}"));
            line(&format!(
                "a=rtpmap:{PCMU_PAYLOAD_TYPE} PCMU/{}",
                audio::SAMPLE_RATE
            ));
            line(&format!("a=control:{AUDIO_CONTROL}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPS: &[u8] = &[0x67, 0x42, 0xC0, 0x1F, 0x8C, 0x8D];
    const PPS: &[u8] = &[0x68, 0xCE, 0x3C, 0x80];

    fn desc(audio: bool, origin: &str) -> String {
        Description {
            session_id: 42,
            origin: origin.parse().unwrap(),
            sps: SPS,
            pps: PPS,
            fps: 15,
            audio,
        }
        .to_sdp()
    }

    #[test]
    fn video_only_description() {
        let sdp = desc(false, "127.0.0.1");
        assert!(sdp.starts_with("v=0\r\n"));
        assert!(sdp.lines().all(|l| !l.is_empty()));
        assert!(sdp.contains("o=- 42 42 IN IP4 127.0.0.1\r\n"));
        assert!(sdp.contains("m=video 0 RTP/AVP 96\r\n"));
        assert!(sdp.contains("a=rtpmap:96 H264/90000\r\n"));
        assert!(sdp.contains(
            "a=fmtp:96 packetization-mode=1;profile-level-id=42C01F;sprop-parameter-sets=Z0LAH4yN,aM48gA==\r\n"
        ));
        assert!(sdp.contains("a=control:trackID=0\r\n"));
        assert!(!sdp.contains("m=audio"));
        assert_eq!(sdp.matches("\r\n").count(), sdp.lines().count());
    }

    #[test]
    fn audio_track_is_pcmu_8k() {
        let sdp = desc(true, "::1");
        assert!(sdp.contains("IN IP6 ::1"));
        let audio = &sdp[sdp.find("m=audio").unwrap()..];
        assert!(
            audio.starts_with(
                "m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=control:trackID=1\r\n"
            )
        );
    }
}
