//! Live ingest: cameras in, frames into each stream's [`crate::hub::Hub`].
//!
//! * [`source`] — the injected camera ([`CameraSource`]) and what it yields.
//! * [`rtsp`] — the production source: RTSP through retina (TCP interleaved by default, UDP
//!   selectable; basic and digest authentication; H.264/H.265, AAC and G.711), behind the
//!   camera guard ([`guard`], driven by a loopback relay): every byte a camera sends is
//!   checked against named bounds first; a UDP camera's packets are put back in order there
//!   ([`reorder`]).
//! * [`supervisor`] — one task per running stream: connect, read, publish, reconnect with
//!   [`backoff`], detect stalls, report health ([`stats`]).

pub mod backoff;
pub mod guard;
pub(crate) mod relay;
pub(crate) mod reorder;
pub mod rtsp;
pub mod source;
pub mod stats;
pub mod supervisor;

use std::time::Duration;

pub use backoff::BackoffPolicy;
pub use rtsp::RtspSource;
pub use source::{CameraSource, CameraTarget, RtpTransport};

/// How long a connection attempt (DESCRIBE, SETUP, PLAY) may take.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a live stream may go without a frame before it is reconnected.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Ingest policy, shared by every stream of an engine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IngestConfig {
    /// Limit for one connection attempt.
    pub connect_timeout: Duration,
    /// No frame for this long → reconnect.
    pub stall_timeout: Duration,
    /// Reconnection backoff.
    pub backoff: BackoffPolicy,
    /// RTP transport for cameras added without one.
    pub transport: RtpTransport,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            stall_timeout: DEFAULT_STALL_TIMEOUT,
            backoff: BackoffPolicy::default(),
            transport: RtpTransport::default(),
        }
    }
}
