//! The live status of streams, as the engine reports it.
//!
//! Owns the shapes only; ingest fills them in. They hold no credentials: `last_error` is
//! built from messages that are already masked.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::Stream;

/// Where a stream's ingest is in its lifecycle:
/// `Stopped → Connecting → Live ⇄ Reconnecting → Failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StreamState {
    /// Not running (not wanted, or its camera is disabled).
    #[default]
    Stopped,
    /// First connection attempt under way.
    Connecting,
    /// Frames are flowing.
    Live,
    /// Lost the camera; retrying with backoff.
    Reconnecting,
    /// Gave up until asked again (for errors retrying cannot fix).
    Failed,
}

impl StreamState {
    /// The snake_case name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamState::Stopped => "stopped",
            StreamState::Connecting => "connecting",
            StreamState::Live => "live",
            StreamState::Reconnecting => "reconnecting",
            StreamState::Failed => "failed",
        }
    }
}

/// Live health figures of one stream.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct StreamStatus {
    /// Lifecycle state.
    pub state: StreamState,
    /// Frames per second over the last measuring window.
    pub fps: f64,
    /// Bits per second over the last measuring window.
    pub bitrate_bps: u64,
    /// Video frames received from the camera since the stream was started (across
    /// reconnects).
    pub frames: u64,
    /// Reconnections since the stream was started.
    pub reconnects: u64,
    /// The last failure, credentials masked.
    pub last_error: Option<String>,
    /// When the last frame arrived.
    pub last_frame_at: Option<DateTime<Utc>>,
}

/// A stream with its live status.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    /// The stored stream.
    pub stream: Stream,
    /// Its live status.
    pub status: StreamStatus,
    /// Its recorder's status while it records.
    pub recording: Option<crate::record::RecorderStatus>,
    /// WebRTC viewers watching it.
    pub viewers: usize,
}
