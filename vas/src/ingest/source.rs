//! The injected camera: how ingest opens a connection and reads frames from it.
//!
//! Owns the [`CameraSource`] / [`CameraConnection`] traits and the [`RawFrame`] they yield.
//! Production uses the RTSP implementation in [`super::rtsp`]; tests inject their own to run
//! the supervisor without sockets. Implementations never retry or sleep: the supervisor does.

use async_trait::async_trait;
use bytes::Bytes;

use crate::Result;
use crate::camera_url::{CameraUrl, Credentials};
use crate::media::Track;

use crate::model::PacketCounts;
pub use crate::model::RtpTransport;

/// What to connect to. `Debug` never shows the password.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraTarget {
    /// The camera URL (no credentials in it).
    pub url: CameraUrl,
    /// Credentials, sent with basic or digest authentication as the camera asks.
    pub credentials: Option<Credentials>,
    /// RTP transport.
    pub transport: RtpTransport,
}

impl CameraTarget {
    /// Replaces every secret of this target in a message with `***`: the password (or a bare
    /// userinfo token) and secret query values (defence in depth for third-party error text
    /// that might echo them).
    pub fn scrub(&self, message: &str) -> String {
        let mut secrets = self.url.secret_query_values();
        match &self.credentials {
            Some(c) if !c.password.is_empty() => secrets.push(c.password.clone()),
            // A bare userinfo token is the secret.
            Some(c) if !c.username.is_empty() => secrets.push(c.username.clone()),
            _ => {}
        }
        // Longest first, so a secret containing another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let mut out = message.to_owned();
        for secret in secrets.iter().filter(|s| s.len() >= 2) {
            out = out.replace(secret.as_str(), crate::camera_url::MASK);
        }
        out
    }
}

/// A frame as a connection yields it, before the supervisor stamps epoch and wall-clock time.
#[derive(Debug, Clone, PartialEq)]
pub struct RawFrame {
    /// Track and current parameters.
    pub track: Track,
    /// Presentation time in 90 kHz units since the connection started.
    pub pts: i64,
    /// Random-access point (always true for audio).
    pub keyframe: bool,
    /// Payload (see [`crate::media`] for the framing).
    pub data: Bytes,
}

/// Opens connections to cameras.
#[async_trait]
pub trait CameraSource: Send + Sync + std::fmt::Debug + 'static {
    /// Connects and starts playing. Errors carry a kind: `Unavailable` (unreachable,
    /// refused, dropped), `Unauthenticated` (credentials rejected), `Unsupported` (no usable
    /// track), `Corrupt` (the camera spoke garbage).
    async fn connect(&self, target: &CameraTarget) -> Result<Box<dyn CameraConnection>>;
}

/// One playing session with a camera.
#[async_trait]
pub trait CameraConnection: Send {
    /// The next frame; `Ok(None)` when the camera ended the session.
    async fn next_frame(&mut self) -> Result<Option<RawFrame>>;

    /// Something the stream's status should show although the connection goes on (say, an
    /// oversized frame was discarded); taken once.
    fn take_notice(&mut self) -> Option<crate::Error> {
        None
    }

    /// What the connection did to keep the camera's packets in order so far.
    fn packet_counts(&self) -> PacketCounts {
        PacketCounts::default()
    }
}
