//! What a synthetic camera is configured with.
//!
//! Owns [`CameraConfig`], [`CameraMode`], [`NetworkFaults`], their defaults and their
//! validation (every bound is a named constant here). It must never start anything: the camera
//! reads a validated config.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::auth::Credentials;
use crate::{Error, Result};

/// Default listen address: loopback, the documented synthetic camera port.
pub const DEFAULT_BIND: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 8554);
/// Default stream path.
pub const DEFAULT_PATH: &str = "/synthetic";
/// Smallest picture side accepted.
pub const MIN_DIMENSION: u32 = 16;
/// Largest picture width accepted (OpenH264's limit).
pub const MAX_WIDTH: u32 = 3840;
/// Largest picture height accepted (OpenH264's limit).
pub const MAX_HEIGHT: u32 = 2160;
/// Highest frame rate accepted.
pub const MAX_FPS: u32 = 120;
/// Lowest bitrate accepted, in bits per second.
pub const MIN_BITRATE_BPS: u32 = 10_000;
/// Highest bitrate accepted, in bits per second.
pub const MAX_BITRATE_BPS: u32 = 100_000_000;
/// Longest GOP accepted, in frames.
pub const MAX_GOP: u32 = 1_000;
/// Longest pre-encoded loop accepted, in seconds (the loop is held in memory).
pub const MAX_LOOP_SECONDS: u32 = 600;
/// Longest stream path accepted.
pub const MAX_PATH_LEN: usize = 256;
/// Longest delay a network fault may add to a packet.
pub const MAX_FAULT_DELAY: Duration = Duration::from_secs(1);

/// A share of packets, in parts per million (so configs stay `Eq` and decisions exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Share(u32);

impl Share {
    /// None of them.
    pub const NONE: Share = Share(0);
    /// All of them.
    pub const ALL: Share = Share(1_000_000);

    /// `ppm` parts per million (more than a million is invalid in a config).
    pub const fn per_million(ppm: u32) -> Share {
        Share(ppm)
    }

    /// `percent` % (0.5 is one packet in 200), rounded to parts per million.
    pub fn percent(percent: f64) -> Share {
        Share((percent * 10_000.0).round().clamp(0.0, f64::from(u32::MAX)) as u32)
    }

    /// Parts per million.
    pub const fn ppm(self) -> u32 {
        self.0
    }
}

/// A faulty network between the camera and its UDP clients, as GStreamer's `netsim` element
/// placed after the payloader would make it: each RTP packet sent over UDP is dropped with
/// `drop`, else sent twice with `duplicate`, and each copy is held back with `delay` by a
/// uniformly random time in `min_delay..=max_delay`, so that packets sent after it overtake
/// it. Decisions come from a random generator seeded with `seed` (plus the session's number,
/// so sessions differ), so a run's faults are the same every time. RTCP and TCP sessions are
/// unaffected (TCP does not reorder). The default is a perfect network.
///
/// ```
/// use std::time::Duration;
/// use vas_synth::{NetworkFaults, Share};
/// // The network of VAS issue 24: 30 % delayed by 0–40 ms, 3 % duplicated, 0.5 % dropped.
/// let faults = NetworkFaults {
///     delay: Share::percent(30.0),
///     max_delay: Duration::from_millis(40),
///     duplicate: Share::percent(3.0),
///     drop: Share::percent(0.5),
///     ..NetworkFaults::default()
/// };
/// assert!(faults.is_active());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NetworkFaults {
    /// Share of packets (each copy drawn on its own) held back by a random delay.
    pub delay: Share,
    /// Shortest delay of a delayed packet.
    pub min_delay: Duration,
    /// Longest delay of a delayed packet (at most [`MAX_FAULT_DELAY`]).
    pub max_delay: Duration,
    /// Share of packets sent twice.
    pub duplicate: Share,
    /// Share of packets never sent.
    pub drop: Share,
    /// Seed of the decisions.
    pub seed: u64,
}

impl NetworkFaults {
    /// Whether any fault is on.
    pub fn is_active(&self) -> bool {
        self.delay != Share::NONE || self.duplicate != Share::NONE || self.drop != Share::NONE
    }

    /// Checks the shares and delays against their bounds.
    pub fn validate(&self) -> Result<()> {
        for (name, share) in [
            ("delay", self.delay),
            ("duplicate", self.duplicate),
            ("drop", self.drop),
        ] {
            if share > Share::ALL {
                return Err(Error::invalid_input(format!(
                    "network fault {name}: {} parts per million is more than all packets",
                    share.ppm()
                )));
            }
        }
        if self.min_delay > self.max_delay || self.max_delay > MAX_FAULT_DELAY {
            return Err(Error::invalid_input(format!(
                "network fault delay {:?}..={:?} must be ordered and at most {MAX_FAULT_DELAY:?}",
                self.min_delay, self.max_delay
            )));
        }
        Ok(())
    }
}

/// How the camera produces video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CameraMode {
    /// Render and encode every frame in real time on one blocking thread per camera, shared
    /// by all its sessions. The caption shows the true wall-clock time of each frame.
    Live,
    /// Encode `seconds` of video once at start (shared by every camera in the process with the
    /// same picture settings), then replay it forever at the configured frame rate with
    /// timestamps that keep increasing. The caption repeats with the loop. The cheap mode for
    /// load tests with hundreds of cameras.
    PreEncodedLoop {
        /// Length of the loop in seconds.
        seconds: u32,
    },
}

/// Everything a [`SyntheticCamera`](super::SyntheticCamera) needs to know.
///
/// ```
/// use vas_synth::{CameraConfig, CameraMode, Credentials};
/// let config = CameraConfig {
///     width: 640,
///     height: 360,
///     fps: 15,
///     mode: CameraMode::PreEncodedLoop { seconds: 4 },
///     bind: "127.0.0.1:0".parse().unwrap(),
///     credentials: Some(Credentials::new("admin", "secret")),
///     ..CameraConfig::default()
/// };
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraConfig {
    /// Picture width in pixels (even, [`MIN_DIMENSION`]..=[`MAX_WIDTH`]).
    pub width: u32,
    /// Picture height in pixels (even, [`MIN_DIMENSION`]..=[`MAX_HEIGHT`]).
    pub height: u32,
    /// Frames per second (1..=[`MAX_FPS`]).
    pub fps: u32,
    /// Target video bitrate in bits per second.
    pub bitrate_bps: u32,
    /// Frames from one keyframe (IDR) to the next (1..=[`MAX_GOP`]).
    pub gop: u32,
    /// Whether to offer a G.711 µ-law audio track (a 1 kHz tone, 8 kHz, 20 ms packets).
    pub audio: bool,
    /// How video is produced.
    pub mode: CameraMode,
    /// Where the RTSP server listens (port 0 picks a free port).
    pub bind: SocketAddr,
    /// The stream path, starting with `/`.
    pub path: String,
    /// When set, every request must authenticate (Basic or Digest) or gets 401.
    pub credentials: Option<Credentials>,
    /// Faults of the network between the camera and its UDP clients (none by default).
    pub network: NetworkFaults,
}

impl Default for CameraConfig {
    /// 640×360 at 15 fps, 500 kbit/s, a keyframe every second, no audio, live, on
    /// 127.0.0.1:8554 at `/synthetic`, no credentials, a perfect network.
    fn default() -> Self {
        CameraConfig {
            width: 640,
            height: 360,
            fps: 15,
            bitrate_bps: 500_000,
            gop: 15,
            audio: false,
            mode: CameraMode::Live,
            bind: DEFAULT_BIND,
            path: DEFAULT_PATH.to_owned(),
            credentials: None,
            network: NetworkFaults::default(),
        }
    }
}

/// Checks a picture size.
pub(crate) fn validate_resolution(width: u32, height: u32) -> Result<()> {
    if !(MIN_DIMENSION..=MAX_WIDTH).contains(&width)
        || !(MIN_DIMENSION..=MAX_HEIGHT).contains(&height)
    {
        return Err(Error::invalid_input(format!(
            "resolution {width}x{height} is outside {MIN_DIMENSION}x{MIN_DIMENSION}..={MAX_WIDTH}x{MAX_HEIGHT}"
        )));
    }
    if !width.is_multiple_of(2) || !height.is_multiple_of(2) {
        return Err(Error::invalid_input(format!(
            "resolution {width}x{height} must be even"
        )));
    }
    Ok(())
}

impl CameraConfig {
    /// Checks every field against its bounds.
    pub fn validate(&self) -> Result<()> {
        validate_resolution(self.width, self.height)?;
        if !(1..=MAX_FPS).contains(&self.fps) {
            return Err(Error::invalid_input(format!(
                "fps {} is outside 1..={MAX_FPS}",
                self.fps
            )));
        }
        if !(MIN_BITRATE_BPS..=MAX_BITRATE_BPS).contains(&self.bitrate_bps) {
            return Err(Error::invalid_input(format!(
                "bitrate {} bit/s is outside {MIN_BITRATE_BPS}..={MAX_BITRATE_BPS}",
                self.bitrate_bps
            )));
        }
        if !(1..=MAX_GOP).contains(&self.gop) {
            return Err(Error::invalid_input(format!(
                "gop {} is outside 1..={MAX_GOP}",
                self.gop
            )));
        }
        if let CameraMode::PreEncodedLoop { seconds } = self.mode
            && !(1..=MAX_LOOP_SECONDS).contains(&seconds)
        {
            return Err(Error::invalid_input(format!(
                "loop length {seconds} s is outside 1..={MAX_LOOP_SECONDS}"
            )));
        }
        let path_ok = self.path.starts_with('/')
            && self.path.len() <= MAX_PATH_LEN
            && self
                .path
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'?' | b'#' | b'%' | b'"'));
        if !path_ok {
            return Err(Error::invalid_input(format!(
                "path must start with '/', be printable ASCII without ?#%\" and at most {MAX_PATH_LEN} bytes"
            )));
        }
        if let Some(c) = &self.credentials
            && (c.username.is_empty() || c.username.contains(':'))
        {
            return Err(Error::invalid_input(
                "user name must be non-empty and without ':'",
            ));
        }
        self.network.validate()
    }

    /// The stream path without a trailing slash (so `/a/` and `/a` name the same stream).
    pub(crate) fn base_path(&self) -> &str {
        let p = self.path.trim_end_matches('/');
        if p.is_empty() { "/" } else { p }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn default_is_valid() {
        CameraConfig::default().validate().unwrap();
    }

    #[test]
    fn out_of_range_fields_are_invalid_input() {
        let bad = [
            CameraConfig {
                width: 641,
                ..Default::default()
            },
            CameraConfig {
                height: 8,
                ..Default::default()
            },
            CameraConfig {
                width: 4096,
                ..Default::default()
            },
            CameraConfig {
                fps: 0,
                ..Default::default()
            },
            CameraConfig {
                bitrate_bps: 1,
                ..Default::default()
            },
            CameraConfig {
                gop: 0,
                ..Default::default()
            },
            CameraConfig {
                mode: CameraMode::PreEncodedLoop { seconds: 0 },
                ..Default::default()
            },
            CameraConfig {
                path: "synthetic".into(),
                ..Default::default()
            },
            CameraConfig {
                path: "/a b".into(),
                ..Default::default()
            },
            CameraConfig {
                credentials: Some(Credentials::new("a:b", "c")),
                ..Default::default()
            },
            CameraConfig {
                network: NetworkFaults {
                    drop: Share::per_million(1_000_001),
                    ..Default::default()
                },
                ..Default::default()
            },
            CameraConfig {
                network: NetworkFaults {
                    min_delay: Duration::from_millis(5),
                    max_delay: Duration::from_millis(4),
                    ..Default::default()
                },
                ..Default::default()
            },
            CameraConfig {
                network: NetworkFaults {
                    max_delay: MAX_FAULT_DELAY + Duration::from_millis(1),
                    ..Default::default()
                },
                ..Default::default()
            },
        ];
        for c in bad {
            assert_eq!(
                c.validate().unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{c:?}"
            );
        }
    }

    #[test]
    fn shares_convert_from_percent() {
        assert_eq!(Share::percent(0.5).ppm(), 5_000);
        assert_eq!(Share::percent(30.0).ppm(), 300_000);
        assert_eq!(Share::percent(100.0), Share::ALL);
        assert_eq!(Share::percent(-1.0), Share::NONE);
        assert!(!NetworkFaults::default().is_active());
    }

    #[test]
    fn base_path_ignores_trailing_slash() {
        let c = CameraConfig {
            path: "/cam/1/".into(),
            ..Default::default()
        };
        assert_eq!(c.base_path(), "/cam/1");
        let c = CameraConfig {
            path: "/".into(),
            ..Default::default()
        };
        assert_eq!(c.base_path(), "/");
    }
}
