//! The synthetic camera handle: start, address, and the fault controls tests pull.
//!
//! Owns [`SyntheticCamera`]: one feed and its producer for the camera's whole life, and the
//! current server run, which `stop`/`restart` replace. It must never encode or speak RTSP
//! itself; it wires the producer, the feed and the server together.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::Mutex;

use super::config::{CameraConfig, validate_resolution};
use super::feed::Feed;
use super::server::ServerRun;
use super::source::Producer;
use crate::Result;

/// Longest [`SyntheticCamera::start`] and [`SyntheticCamera::set_resolution`] wait for the
/// encoder's first keyframe (a long pre-encoded loop on a busy machine takes a while).
pub const ENCODER_READY_TIMEOUT: Duration = Duration::from_secs(120);

/// A synthetic IP camera: a real RTSP server on a TCP port serving a moving H.264 test
/// pattern (and optionally a G.711 tone), with switches to simulate camera faults.
///
/// Dropping the camera stops it. All methods must be called inside a tokio runtime.
///
/// ```no_run
/// # async fn demo() -> vas_synth::Result<()> {
/// use vas_synth::{CameraConfig, SyntheticCamera};
/// let camera = SyntheticCamera::start(CameraConfig {
///     bind: "127.0.0.1:0".parse().unwrap(),
///     ..CameraConfig::default()
/// })
/// .await?;
/// println!("play {}", camera.url()); // rtsp://127.0.0.1:PORT/synthetic
/// camera.set_frozen(true); // sessions stay up, no media flows
/// camera.stop().await; // the port refuses connections
/// camera.restart().await?; // same port again
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct SyntheticCamera {
    config: Arc<CameraConfig>,
    feed: Arc<Feed>,
    producer: Producer,
    /// The address of the first run; restarts bind it again (so port 0 is resolved once).
    addr: SocketAddr,
    server: Mutex<Option<ServerRun>>,
}

impl SyntheticCamera {
    /// Validates `config`, starts producing video (for a pre-encoded loop, encodes it unless
    /// this process already has it), and listens. Returns once a client can DESCRIBE.
    pub async fn start(config: CameraConfig) -> Result<SyntheticCamera> {
        config.validate()?;
        let config = Arc::new(config);
        let feed = Arc::new(Feed::new(config.fps));
        let producer = Producer::start(feed.clone(), &config, ENCODER_READY_TIMEOUT).await?;
        let run = ServerRun::start(config.bind, feed.clone(), config.clone()).await?;
        Ok(SyntheticCamera {
            addr: run.local_addr(),
            config,
            feed,
            producer,
            server: Mutex::new(Some(run)),
        })
    }

    /// The stream's URL, `rtsp://host:port/path`, without credentials. An unspecified bind
    /// address (`0.0.0.0`, `::`) is given as loopback.
    pub fn url(&self) -> String {
        let ip = match self.addr.ip() {
            ip if ip.is_unspecified() && ip.is_ipv4() => std::net::Ipv4Addr::LOCALHOST.into(),
            ip if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
            ip => ip,
        };
        format!(
            "rtsp://{}{}",
            SocketAddr::new(ip, self.addr.port()),
            self.config.path
        )
    }

    /// The address the camera listens on (the real port when the config said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration the camera started with (the resolution may since have changed; see
    /// [`SyntheticCamera::resolution`]).
    pub fn config(&self) -> &CameraConfig {
        &self.config
    }

    /// Fault: closes the listener and every session, as if the camera lost power. Video keeps
    /// its timeline, so a restart continues where the clock is. Stopping twice is harmless.
    pub async fn stop(&self) {
        let run = self.server.lock().await.take();
        if let Some(run) = run {
            run.stop().await;
        }
    }

    /// Listens again on the same address after [`SyntheticCamera::stop`] (a no-op when
    /// running). Fails if something else took the port meanwhile.
    pub async fn restart(&self) -> Result<()> {
        let mut server = self.server.lock().await;
        if server.is_none() {
            *server =
                Some(ServerRun::start(self.addr, self.feed.clone(), self.config.clone()).await?);
        }
        Ok(())
    }

    /// Whether the camera is listening (not stopped).
    pub async fn is_running(&self) -> bool {
        self.server.lock().await.is_some()
    }

    /// Fault: while frozen, sessions stay connected and RTSP requests are answered, but no
    /// RTP or RTCP is sent, like a camera whose encoder hung. Unfreezing resumes at a keyframe.
    pub fn set_frozen(&self, frozen: bool) {
        self.feed.frozen.store(frozen, Ordering::Relaxed);
    }

    /// Whether the camera is frozen.
    pub fn is_frozen(&self) -> bool {
        self.feed.is_frozen()
    }

    /// Changes the picture size mid-stream: the next frame every session gets is an IDR with
    /// new SPS/PPS in-band, and later DESCRIBEs announce them. Returns once that is in effect.
    /// For a pre-encoded loop this encodes (or reuses) a loop at the new size.
    pub async fn set_resolution(&self, width: u32, height: u32) -> Result<()> {
        validate_resolution(width, height)?;
        self.producer
            .set_resolution(width, height, ENCODER_READY_TIMEOUT)
            .await
    }

    /// The current picture size.
    pub fn resolution(&self) -> (u32, u32) {
        self.feed
            .current_params()
            .map_or((self.config.width, self.config.height), |p| {
                (p.width, p.height)
            })
    }

    /// Open RTSP sessions (created by SETUP, ended by TEARDOWN, disconnect or stop).
    pub fn session_count(&self) -> usize {
        self.feed.sessions.load(Ordering::Relaxed)
    }

    /// Video frames sent so far, summed over sessions (a frame sent to three sessions counts
    /// three times): handed to the session's TCP queue or UDP socket. Frames skipped for a
    /// session that fell behind, and frames withheld while frozen, are not counted.
    pub fn frames_sent(&self) -> u64 {
        self.feed.frames_sent.load(Ordering::Relaxed)
    }

    /// What the faulty network ([`CameraConfig::network`]) did to the UDP sessions' RTP so
    /// far, summed over sessions. All zero for a perfect network.
    pub fn network_stats(&self) -> crate::NetworkStats {
        self.feed.network.stats()
    }
}
