//! The engine's own values: how the shells open one, and the WebRTC session it answers with.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use vas_macros::Record;

use super::{StreamId, ViewerId};

/// How to open an engine from a shell (Rust callers have the richer [`crate::VasBuilder`]).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let options = vas::EngineOptions {
///     data_dir: Some(dir.path().into()),
///     ..Default::default()
/// };
/// let vas = vas::Vas::open_blocking(options)?;
/// vas.blocking().close();
/// # Ok::<(), vas::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Record)]
#[record(input)]
#[serde(deny_unknown_fields, default)]
pub struct EngineOptions {
    /// Folder for the SQLite database and, unless `media_dir` says otherwise, the media
    /// (absent: `./vas-data`).
    pub data_dir: Option<PathBuf>,
    /// `sqlite://…` or `postgres://user:pass@host/db` (absent: SQLite in `data_dir`).
    pub database_url: Option<String>,
    /// Folder for recordings, snapshots and clips (absent: `<data_dir>/media`).
    pub media_dir: Option<PathBuf>,
    /// Address for WebRTC live view, `ip:port` (absent: no live view); one UDP port, and
    /// ICE-TCP on the same port.
    pub webrtc_bind: Option<String>,
    /// Addresses to advertise to browsers besides the bound one (a 1:1 NAT's public IP).
    pub webrtc_public_ips: Vec<String>,
}

/// A WebRTC viewer the engine accepted: the SDP answer for the browser and the viewer's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Record)]
#[non_exhaustive]
pub struct WebRtcSession {
    /// The viewer, for `webrtc_close` and the viewer events.
    pub viewer: ViewerId,
    /// The stream it watches.
    pub stream_id: StreamId,
    /// The SDP answer for the browser (ICE-lite, host candidates included, no trickle).
    pub answer_sdp: String,
}
