//! RTSP cameras through retina.
//!
//! Owns the translation from retina's sessions and codec items to [`RawFrame`]s: choosing
//! tracks (the first H.264/H.265 video, the first AAC or G.711 audio), building
//! [`VideoParams`]/[`AudioParams`] once per parameter change, converting timestamps to
//! 90 kHz, and mapping retina's errors to [`ErrorKind`]s with credentials scrubbed.
//! It never retries, sleeps or copies video payloads (retina's buffer becomes the frame's
//! `Bytes`).
//!
//! Limitation: retina 0.4 has no Opus depacketizer, so an Opus track is skipped (with a
//! warning) and the stream runs without audio.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use retina::client::{
    Credentials as RetinaCredentials, Demuxed, PlayOptions, SessionGroup, SessionOptions,
    SetupOptions, TcpTransportOptions, Transport, UdpTransportOptions,
};
use retina::codec::{CodecItem, ParametersRef, VideoParametersCodec};
use tracing::{debug, warn};

use super::source::{CameraConnection, CameraSource, CameraTarget, RawFrame, RtpTransport};
use crate::media::{AudioCodec, AudioParams, CLOCK_RATE, Track, VideoCodec, VideoParams};
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

/// Turns a retina error into a VAS error: the RTSP status decides the kind, the message is
/// retina's first line with the password scrubbed.
fn map_retina(target: &CameraTarget, what: &str, e: &retina::Error) -> Error {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("unknown error");
    let kind = match e.status_code() {
        Some(401) => ErrorKind::Unauthenticated,
        Some(403) => ErrorKind::PermissionDenied,
        Some(404) => ErrorKind::NotFound,
        Some(_) => ErrorKind::Unavailable,
        None if first.contains("framing") || first.contains("parse") => ErrorKind::InvalidInput,
        None => ErrorKind::Unavailable,
    };
    let message = match kind {
        ErrorKind::Unauthenticated => format!("{what}: the camera rejected the credentials (401)"),
        _ => format!("{what}: {}", target.scrub(first)),
    };
    Error::new(kind, message)
}

fn video_params(p: &retina::codec::VideoParameters) -> Option<VideoParams> {
    let (width, height) = p.pixel_dimensions();
    let (codec, vps, sps, pps) = match p.codec_params() {
        VideoParametersCodec::H264 { sps, pps } => (VideoCodec::H264, None, sps, pps),
        VideoParametersCodec::H265 { vps, sps, pps } => {
            (VideoCodec::H265, Some(vps.clone()), sps, pps)
        }
        _ => return None,
    };
    Some(VideoParams {
        codec,
        width,
        height,
        vps,
        sps: sps.clone(),
        pps: pps.clone(),
        rfc6381_codec: p.rfc6381_codec().to_owned(),
    })
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
        let url = url::Url::parse(&target.url.with_credentials(None))
            .map_err(|e| Error::invalid_input(format!("camera URL does not parse: {e}")))?;
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
            .map_err(|e| map_retina(target, "DESCRIBE failed", &e))?;
        let (video, audio) = choose_tracks(session.streams());
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
        let transport = || match target.transport {
            RtpTransport::Tcp => Transport::Tcp(TcpTransportOptions::default()),
            RtpTransport::Udp => Transport::Udp(UdpTransportOptions::default()),
        };
        for i in video.into_iter().chain(audio.map(|a| a.0)) {
            session
                .setup(i, SetupOptions::default().transport(transport()))
                .await
                .map_err(|e| map_retina(target, "SETUP failed", &e))?;
        }
        let playing = session
            .play(PlayOptions::default())
            .await
            .map_err(|e| map_retina(target, "PLAY failed", &e))?;
        let demuxed = playing
            .demuxed()
            .map_err(|e| map_retina(target, "cannot read the camera's media", &e))?;
        debug!(url = %target.url, ?video, audio = ?audio.map(|a| a.1), "camera playing");
        Ok(Box::new(RtspConnection {
            target: target.clone(),
            demuxed: Box::pin(demuxed),
            video,
            audio,
            video_params: None,
            audio_params: None,
        }))
    }
}

struct RtspConnection {
    target: CameraTarget,
    demuxed: std::pin::Pin<Box<Demuxed>>,
    video: Option<usize>,
    audio: Option<(usize, AudioCodec)>,
    video_params: Option<Arc<VideoParams>>,
    audio_params: Option<Arc<AudioParams>>,
}

impl RtspConnection {
    fn refresh_video_params(&mut self, stream: usize) -> Result<Arc<VideoParams>> {
        let params = match self.demuxed.streams()[stream].parameters() {
            Some(ParametersRef::Video(p)) => video_params(p),
            _ => None,
        }
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                "the camera sent video before usable parameter sets",
            )
        })?;
        let params = Arc::new(params);
        self.video_params = Some(params.clone());
        Ok(params)
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
    async fn next_frame(&mut self) -> Result<Option<RawFrame>> {
        loop {
            let item = match self.demuxed.next().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(map_retina(&self.target, "camera stream failed", &e)),
                Some(Ok(item)) => item,
            };
            match item {
                CodecItem::VideoFrame(f) if Some(f.stream_id()) == self.video => {
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
