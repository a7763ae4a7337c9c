//! RTSP cameras through retina.
//!
//! Owns the translation from retina's sessions and codec items to [`RawFrame`]s: choosing
//! tracks (the first H.264/H.265 video, the first AAC or G.711 audio), building
//! [`VideoParams`]/[`AudioParams`] once per parameter change, converting timestamps to
//! 90 kHz, and mapping retina's errors to [`ErrorKind`]s with credentials scrubbed.
//! It never retries, sleeps or copies video payloads (retina's buffer becomes the frame's
//! `Bytes`).
//!
//! Retina never talks to the camera directly: it connects to a `super::relay` on
//! loopback that checks every byte against [`super::guard`]'s bounds (and speaks UDP to the
//! camera when the camera's transport is UDP, while retina uses interleaved TCP, putting the
//! camera's packets back in order). A violation ends the connection with the guard's message
//! as the error; an oversized frame is discarded and the stream skips to the next keyframe.
//! The relay's URL carries its secret: errors are passed through [`Relay::scrub`].
//!
//! Limitation: retina 0.4 has no Opus depacketizer, so an Opus track is skipped (with a
//! warning) and the stream runs without audio.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use retina::client::{
    Credentials as RetinaCredentials, Demuxed, PlayOptions, SessionGroup, SessionOptions,
    SetupOptions, TcpTransportOptions, Transport,
};
use retina::codec::{CodecItem, ParametersRef, VideoParametersCodec};
use tracing::{debug, warn};

use super::guard::{self, Limits, TrackCodec};
use super::relay::{self, Relay};
use super::source::{CameraConnection, CameraSource, CameraTarget, RawFrame};
use crate::media::{AudioCodec, AudioParams, CLOCK_RATE, Track, VideoCodec, VideoParams};
use crate::model::PacketCounts;
use crate::{Error, ErrorKind, Result};

/// User-Agent VAS sends to cameras.
pub const USER_AGENT: &str = concat!("VAS/", env!("CARGO_PKG_VERSION"));

/// Opens RTSP sessions with retina. One instance serves every stream; its session group
/// lets retina tear down stale sessions cleanly.
#[derive(Clone)]
pub struct RtspSource {
    group: Arc<SessionGroup>,
}

impl std::fmt::Debug for RtspSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtspSource").finish_non_exhaustive()
    }
}

impl Default for RtspSource {
    fn default() -> Self {
        RtspSource {
            group: Arc::new(SessionGroup::default()),
        }
    }
}

/// Turns a retina error into a VAS error: a guard violation wins (it says what the camera did
/// wrong); otherwise the RTSP status decides the kind and the message is retina's first line
/// with the password and the relay's secret scrubbed.
fn map_retina(target: &CameraTarget, relay: &Relay, what: &str, e: &retina::Error) -> Error {
    if let Some(v) = relay.shared.violation() {
        return Error::new(
            ErrorKind::Corrupt,
            format!("{what}: {}", target.scrub(&v.0)),
        );
    }
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("unknown error");
    let kind = match e.status_code() {
        Some(401) => ErrorKind::Unauthenticated,
        Some(403) => ErrorKind::PermissionDenied,
        Some(404) => ErrorKind::NotFound,
        Some(_) => ErrorKind::Unavailable,
        // Without a status retina says no more than "this connection is unusable" (framing
        // errors included; the guard above catches the hostile ones): retry with backoff.
        None => ErrorKind::Unavailable,
    };
    let message = match kind {
        ErrorKind::Unauthenticated => format!("{what}: the camera rejected the credentials (401)"),
        _ => format!("{what}: {}", target.scrub(&relay.scrub(first))),
    };
    Error::new(kind, message)
}

fn video_params(p: &retina::codec::VideoParameters) -> Result<Option<VideoParams>> {
    let (width, height) = p.pixel_dimensions();
    let (codec, vps, sps, pps) = match p.codec_params() {
        VideoParametersCodec::H264 { sps, pps } => (VideoCodec::H264, None, sps, pps),
        VideoParametersCodec::H265 { vps, sps, pps } => {
            (VideoCodec::H265, Some(vps.clone()), sps, pps)
        }
        _ => return Ok(None),
    };
    for (name, set) in [
        ("VPS", vps.as_ref()),
        ("SPS", Some(sps)),
        ("PPS", Some(pps)),
    ] {
        if let Some(set) = set
            && set.len() > guard::MAX_PARAMETER_SET_BYTES
        {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "the camera sent a {}-byte {name}, more than the {} bytes allowed",
                    set.len(),
                    guard::MAX_PARAMETER_SET_BYTES
                ),
            ));
        }
    }
    Ok(Some(VideoParams {
        codec,
        width,
        height,
        vps,
        sps: sps.clone(),
        pps: pps.clone(),
        rfc6381_codec: p.rfc6381_codec().to_owned(),
    }))
}

/// Picks the tracks VAS uses from a camera's SDP.
fn choose_tracks(
    streams: &[retina::client::Stream],
) -> (Option<usize>, Option<(usize, AudioCodec)>) {
    let video = streams
        .iter()
        .position(|s| s.media() == "video" && matches!(s.encoding_name(), "h264" | "h265"));
    let audio = streams.iter().enumerate().find_map(|(i, s)| {
        if s.media() != "audio" {
            return None;
        }
        match s.encoding_name() {
            "mpeg4-generic" => Some((i, AudioCodec::Aac)),
            "pcmu" => Some((i, AudioCodec::Pcmu)),
            "pcma" => Some((i, AudioCodec::Pcma)),
            "opus" => {
                warn!("camera offers Opus audio, which the RTSP client cannot depacketize; ignoring audio");
                None
            }
            _ => None,
        }
    });
    (video, audio)
}

#[async_trait]
impl CameraSource for RtspSource {
    async fn connect(&self, target: &CameraTarget) -> Result<Box<dyn CameraConnection>> {
        if target.url.as_str().starts_with("rtsps:") {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "rtsps:// (RTSP over TLS) is not supported yet; use rtsp://",
            ));
        }
        let relay = relay::open(target, Limits::default())
            .await
            .map_err(|e| e.context("DESCRIBE failed"))?;
        self.play(target, relay).await
    }
}

impl RtspSource {
    /// Plays the camera through `relay` (opened for `target`): DESCRIBE, SETUP of the chosen
    /// tracks, PLAY.
    pub(crate) async fn play(
        &self,
        target: &CameraTarget,
        relay: Relay,
    ) -> Result<Box<dyn CameraConnection>> {
        let shared = relay.shared.clone();
        let url = relay.url.clone();
        let creds = target.credentials.as_ref().map(|c| RetinaCredentials {
            username: c.username.clone(),
            password: c.password.clone(),
        });
        let options = SessionOptions::default()
            .creds(creds)
            .user_agent(USER_AGENT.to_owned())
            .session_group(self.group.clone());
        let mut session = retina::client::Session::describe(url, options)
            .await
            .map_err(|e| map_retina(target, &relay, "DESCRIBE failed", &e))?;
        if session.streams().len() > guard::MAX_MEDIA_SECTIONS {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "the camera's SDP has {} media sections, more than {}",
                    session.streams().len(),
                    guard::MAX_MEDIA_SECTIONS
                ),
            ));
        }
        let (video, audio) = choose_tracks(session.streams());
        // Parameter sets from the SDP (sprop-parameter-sets) are checked before any frame.
        if let Some(v) = video
            && let Some(ParametersRef::Video(p)) = session.streams()[v].parameters()
        {
            video_params(p).map_err(|e| e.context("DESCRIBE failed"))?;
        }
        if video.is_none() && audio.is_none() {
            let offered: Vec<String> = session
                .streams()
                .iter()
                .map(|s| format!("{}/{}", s.media(), s.encoding_name()))
                .collect();
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "the camera offers no H.264/H.265 video or AAC/G.711 audio (it offers: {})",
                    offered.join(", ")
                ),
            ));
        }
        // Retina always speaks interleaved TCP to the relay; the relay speaks the camera's
        // transport. Tracks are set up video first, so the relay's slot 0 is video.
        let mut slots = Vec::new();
        if let Some(v) = video {
            let codec = match session.streams()[v].encoding_name() {
                "h264" => TrackCodec::H264,
                "h265" => TrackCodec::H265,
                _ => TrackCodec::Other,
            };
            shared.set_codec(slots.len(), codec);
            slots.push(v);
        }
        if let Some((a, _)) = audio {
            shared.set_codec(slots.len(), TrackCodec::Other);
            slots.push(a);
        }
        for &i in &slots {
            session
                .setup(
                    i,
                    SetupOptions::default()
                        .transport(Transport::Tcp(TcpTransportOptions::default())),
                )
                .await
                .map_err(|e| map_retina(target, &relay, "SETUP failed", &e))?;
        }
        let playing = session
            .play(PlayOptions::default())
            .await
            .map_err(|e| map_retina(target, &relay, "PLAY failed", &e))?;
        let demuxed = playing
            .demuxed()
            .map_err(|e| map_retina(target, &relay, "cannot read the camera's media", &e))?;
        debug!(url = %target.url, ?video, audio = ?audio.map(|a| a.1), "camera playing");
        Ok(Box::new(RtspConnection {
            target: target.clone(),
            demuxed: Box::pin(demuxed),
            video,
            audio,
            video_params: None,
            audio_params: None,
            slots,
            overflows_seen: 0,
            skip_to_keyframe: false,
            notice: None,
            relay,
        }))
    }
}

struct RtspConnection {
    target: CameraTarget,
    // Dropped before the relay, so retina closes its side first.
    demuxed: std::pin::Pin<Box<Demuxed>>,
    video: Option<usize>,
    audio: Option<(usize, AudioCodec)>,
    video_params: Option<Arc<VideoParams>>,
    audio_params: Option<Arc<AudioParams>>,
    /// Retina stream index of each relay slot (SETUP order).
    slots: Vec<usize>,
    /// Oversized frames the relay reported that this connection has acted on.
    overflows_seen: u64,
    /// After an oversized frame: video frames are dropped until the next keyframe.
    skip_to_keyframe: bool,
    /// A warning for the stream's status (an oversized frame was discarded).
    notice: Option<Error>,
    relay: Relay,
}

impl RtspConnection {
    fn refresh_video_params(&mut self, stream: usize) -> Result<Arc<VideoParams>> {
        let params = match self.demuxed.streams()[stream].parameters() {
            Some(ParametersRef::Video(p)) => video_params(p)?,
            _ => None,
        }
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Corrupt,
                "the camera sent video before usable parameter sets",
            )
        })?;
        let params = Arc::new(params);
        self.video_params = Some(params.clone());
        Ok(params)
    }

    /// Acts on frames the relay discarded as oversized: skip to the next keyframe, and say so.
    fn note_overflows(&mut self) {
        let overflows = self.relay.shared.overflows();
        if overflows == self.overflows_seen {
            return;
        }
        self.overflows_seen = overflows;
        self.skip_to_keyframe = true;
        let text = self
            .relay
            .shared
            .overflow_message()
            .map_or_else(|| "the camera sent an oversized frame".into(), |m| m.0);
        self.notice = Some(Error::new(
            ErrorKind::Corrupt,
            format!("{text} ({overflows} so far)"),
        ));
    }

    fn audio_params(&mut self, stream: usize, codec: AudioCodec) -> Arc<AudioParams> {
        if let Some(p) = &self.audio_params {
            return p.clone();
        }
        let s = &self.demuxed.streams()[stream];
        let (sample_rate, channels, config) = match s.parameters() {
            Some(ParametersRef::Audio(p)) => (
                p.clock_rate(),
                p.channels().get(),
                Bytes::copy_from_slice(p.extra_data()),
            ),
            _ => (
                s.clock_rate_hz(),
                s.channels().map_or(1, |c| c.get()),
                Bytes::new(),
            ),
        };
        let p = Arc::new(AudioParams {
            codec,
            sample_rate,
            channels,
            config,
        });
        self.audio_params = Some(p.clone());
        p
    }
}

/// Converts a timestamp in `rate` Hz units to 90 kHz.
fn to_90k(ticks: i64, rate: u32) -> i64 {
    if rate == CLOCK_RATE || rate == 0 {
        ticks
    } else {
        (i128::from(ticks) * i128::from(CLOCK_RATE) / i128::from(rate)) as i64
    }
}

#[async_trait]
impl CameraConnection for RtspConnection {
    fn take_notice(&mut self) -> Option<Error> {
        self.note_overflows();
        self.notice.take()
    }

    fn packet_counts(&self) -> PacketCounts {
        self.relay.shared.packet_counts()
    }

    async fn next_frame(&mut self) -> Result<Option<RawFrame>> {
        loop {
            let item = match self.demuxed.next().await {
                None => {
                    return match self.relay.shared.violation() {
                        Some(v) => Err(Error::new(ErrorKind::Corrupt, self.target.scrub(&v.0))),
                        None => Ok(None),
                    };
                }
                Some(Err(e)) => {
                    return Err(map_retina(
                        &self.target,
                        &self.relay,
                        "camera stream failed",
                        &e,
                    ));
                }
                Some(Ok(item)) => item,
            };
            let stream_id = match &item {
                CodecItem::VideoFrame(f) => Some(f.stream_id()),
                CodecItem::AudioFrame(f) => Some(f.stream_id()),
                _ => None,
            };
            if let Some(slot) = stream_id.and_then(|s| self.slots.iter().position(|&x| x == s)) {
                self.relay.shared.frame_done(slot);
            }
            self.note_overflows();
            match item {
                CodecItem::VideoFrame(f) if Some(f.stream_id()) == self.video => {
                    if self.skip_to_keyframe && !f.is_random_access_point() {
                        continue;
                    }
                    self.skip_to_keyframe = false;
                    let params = match &self.video_params {
                        Some(p) if !f.has_new_parameters() => p.clone(),
                        _ => self.refresh_video_params(f.stream_id())?,
                    };
                    let ts = f.timestamp();
                    let keyframe = f.is_random_access_point();
                    return Ok(Some(RawFrame {
                        track: Track::Video(params),
                        pts: to_90k(ts.elapsed(), ts.clock_rate().get()),
                        keyframe,
                        data: Bytes::from(f.into_data()),
                    }));
                }
                CodecItem::AudioFrame(f) => {
                    let Some((stream, codec)) = self.audio else {
                        continue;
                    };
                    if f.stream_id() != stream {
                        continue;
                    }
                    let params = self.audio_params(stream, codec);
                    let ts = f.timestamp();
                    return Ok(Some(RawFrame {
                        track: Track::Audio(params),
                        pts: to_90k(ts.elapsed(), ts.clock_rate().get()),
                        keyframe: true,
                        data: Bytes::copy_from_slice(f.data()),
                    }));
                }
                _ => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_convert_to_90khz() {
        assert_eq!(to_90k(8_000, 8_000), 90_000);
        assert_eq!(to_90k(48_000, 48_000), 90_000);
        assert_eq!(to_90k(-160, 8_000), -1_800);
        assert_eq!(to_90k(12_345, 90_000), 12_345);
    }
}
