//! The synthetic camera: a real RTSP server that stands in for IP-camera hardware.
//!
//! VAS's demo and every pipeline test point at a [`SyntheticCamera`] instead of a camera. It
//! serves a moving H.264 test pattern (colour bars, a moving box, the wall-clock time and a
//! frame counter) and optionally a G.711 µ-law 1 kHz tone, over RTSP/1.0 with RTP over TCP
//! (interleaved) or UDP, Basic or Digest authentication, and RTCP sender reports. Fault
//! switches ([`SyntheticCamera::stop`], [`SyntheticCamera::restart`],
//! [`SyntheticCamera::set_frozen`], [`SyntheticCamera::set_resolution`]) let tests simulate a
//! camera going away, hanging, or changing its stream; [`NetworkFaults`] put a network that
//! reorders, duplicates and drops packets between the camera and its UDP clients (counted in
//! [`SyntheticCamera::network_stats`]).
//!
//! Two ways to make video ([`CameraMode`]):
//! * **Live** renders and encodes every frame in real time, once per camera, and shares each
//!   encoded frame with all sessions (packetized once; only the 12-byte RTP header differs per
//!   session). With no one watching, it does no work.
//! * **Pre-encoded loop** encodes a few seconds once per process (cameras with the same
//!   picture settings share it) and replays it with ever-increasing timestamps: the cheap
//!   mode for load tests with hundreds of cameras.
//!
//! Sessions never slow each other down: the feed is a bounded broadcast, each connection has a
//! bounded outgoing queue, and a session that falls behind skips to the next keyframe.
//!
//! ```no_run
//! # async fn demo() -> vas_synth::Result<()> {
//! use vas_synth::{CameraConfig, CameraMode, Credentials, SyntheticCamera};
//! let camera = SyntheticCamera::start(CameraConfig {
//!     width: 1280,
//!     height: 720,
//!     fps: 30,
//!     audio: true,
//!     mode: CameraMode::PreEncodedLoop { seconds: 10 },
//!     bind: "127.0.0.1:0".parse().unwrap(),
//!     credentials: Some(Credentials::new("admin", "secret")),
//!     ..CameraConfig::default()
//! })
//! .await?;
//! // ffplay rtsp://admin:secret@127.0.0.1:PORT/synthetic
//! let url = camera.url();
//! # Ok(())
//! # }
//! ```
//!
//! Modules, one owner each: [`config`] (settings and bounds); `camera` (the handle); `source`
//! (live encoder, loop cache, tone ticker); `feed` (shared frames and fan-out); `pattern` and
//! `font` (the picture); `h264` (OpenH264); `rtp`, `audio`, `sdp`, `rtsp`, `auth` (wire
//! formats, pure); `server`, `connection`, `delivery` (the network side); `netsim` (the faulty
//! network of a UDP session); `tasks` (task lifetime).

mod audio;
mod auth;
mod camera;
pub mod config;
mod connection;
mod delivery;
pub mod encode;
mod error;
mod feed;
mod font;
mod h264;
mod netsim;
mod pattern;
mod rtp;
mod rtsp;
mod sdp;
mod server;
mod source;
mod tasks;

pub use auth::Credentials;
pub use camera::{ENCODER_READY_TIMEOUT, SyntheticCamera};
pub use config::{CameraConfig, CameraMode, NetworkFaults, Share};
pub use error::{Error, ErrorKind, Result};
pub use netsim::NetworkStats;

/// The clock rate of RTP video timestamps (90 kHz, RFC 6184).
pub const VIDEO_CLOCK_RATE: u32 = 90_000;
