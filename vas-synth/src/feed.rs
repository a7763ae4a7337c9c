//! The camera's media feed: what the producers publish and every session reads.
//!
//! Owns the shared, packetize-once [`VideoFrame`], the [`MediaEvent`]s on the bounded
//! broadcast fan-out, the current [`StreamParams`] (for DESCRIBE), the [`MediaClock`] that maps
//! media timestamps to wall-clock time, and the camera-wide fault switches and counters. It must
//! never spawn, sleep or do I/O: producers and sessions do that around it.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tokio::sync::{broadcast, watch};

use super::h264::AccessUnit;
use super::netsim::NetworkCounters;
use super::rtp::{MAX_RTP_PAYLOAD, packetize_h264};

/// Events the fan-out holds at most; a session further behind than this skips ahead to the
/// next keyframe instead of making the feed buffer more (about 4 s of 30 fps video with audio).
pub(crate) const FANOUT_CAPACITY: usize = 256;

/// One encoded video frame, split into RTP payloads once and shared by every session.
#[derive(Debug)]
pub(crate) struct VideoFrame {
    /// Whether the frame is an IDR (with SPS and PPS in front).
    pub(crate) keyframe: bool,
    /// RTP payloads in order; the last one carries the marker bit.
    pub(crate) payloads: Vec<Bytes>,
}

impl VideoFrame {
    /// Packetizes an access unit.
    pub(crate) fn from_access_unit(au: &AccessUnit) -> Self {
        VideoFrame {
            keyframe: au.keyframe,
            payloads: packetize_h264(&au.nals, MAX_RTP_PAYLOAD),
        }
    }
}

/// One thing a session may send.
#[derive(Debug, Clone)]
pub(crate) enum MediaEvent {
    /// A video frame captured at `pts` (90 kHz ticks since the feed started).
    Video {
        /// The frame.
        frame: Arc<VideoFrame>,
        /// Presentation time in 90 kHz ticks from [`MediaClock`]'s start.
        pts: u64,
    },
    /// An audio packet (always the same tone) captured at `pts` (8 kHz samples since start).
    Audio {
        /// Presentation time in 8 kHz samples from [`MediaClock`]'s start.
        pts: u64,
    },
}

/// What a decoder needs to start, as announced in the SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamParams {
    /// Picture width.
    pub(crate) width: u32,
    /// Picture height.
    pub(crate) height: u32,
    /// Sequence parameter set, no start code.
    pub(crate) sps: Bytes,
    /// Picture parameter set, no start code.
    pub(crate) pps: Bytes,
}

/// The feed's timeline: media time zero is `start` (monotonic) and `start_wall` (UTC).
#[derive(Debug, Clone, Copy)]
pub(crate) struct MediaClock {
    /// Monotonic instant of media time zero.
    pub(crate) start: Instant,
    /// Wall-clock time of media time zero.
    pub(crate) start_wall: SystemTime,
}

impl MediaClock {
    /// A clock whose zero is now.
    pub(crate) fn starting_now() -> Self {
        MediaClock {
            start: Instant::now(),
            start_wall: SystemTime::now(),
        }
    }

    /// Ticks of a `rate` Hz clock from media time zero to `at`.
    pub(crate) fn ticks_at(&self, at: Instant, rate: u32) -> u64 {
        let d = at.saturating_duration_since(self.start);
        (d.as_nanos() * u128::from(rate) / 1_000_000_000) as u64
    }

    /// Wall-clock time at `at`.
    pub(crate) fn wall_at(&self, at: Instant) -> SystemTime {
        self.start_wall + at.saturating_duration_since(self.start)
    }

    /// Media time of frame `n` at `fps`.
    pub(crate) fn frame_offset(n: u64, fps: u32) -> Duration {
        Duration::from_nanos((u128::from(n) * 1_000_000_000 / u128::from(fps.max(1))) as u64)
    }

    /// 90 kHz timestamp of frame `n` at `fps`.
    pub(crate) fn frame_pts(n: u64, fps: u32) -> u64 {
        (u128::from(n) * u128::from(crate::VIDEO_CLOCK_RATE) / u128::from(fps.max(1))) as u64
    }
}

/// State shared by the producers, the sessions and the camera handle.
#[derive(Debug)]
pub(crate) struct Feed {
    /// The bounded fan-out; sending never waits for a session.
    pub(crate) events: broadcast::Sender<MediaEvent>,
    /// The current parameter sets (`None` until the first keyframe is encoded).
    pub(crate) params: watch::Sender<Option<Arc<StreamParams>>>,
    /// The timeline every timestamp is on.
    pub(crate) clock: MediaClock,
    /// Frames per second.
    pub(crate) fps: u32,
    /// Fault switch: when set, no RTP or RTCP goes out; sessions stay connected.
    pub(crate) frozen: AtomicBool,
    /// Set by a session that needs a keyframe to start or recover; a live encoder makes the
    /// next frame an IDR.
    pub(crate) keyframe_wanted: AtomicBool,
    /// A resolution change a live producer has yet to pick up.
    pub(crate) resolution_request: Mutex<Option<(u32, u32)>>,
    /// Video frames handed to sessions' transports, summed over sessions.
    pub(crate) frames_sent: AtomicU64,
    /// Open RTSP sessions.
    pub(crate) sessions: AtomicUsize,
    /// What the sessions' faulty networks did (see [`crate::NetworkFaults`]).
    pub(crate) network: NetworkCounters,
}

impl Feed {
    /// A feed for `fps` whose timeline starts now.
    pub(crate) fn new(fps: u32) -> Self {
        let (events, _) = broadcast::channel(FANOUT_CAPACITY);
        let (params, _) = watch::channel(None);
        Feed {
            events,
            params,
            clock: MediaClock::starting_now(),
            fps,
            frozen: AtomicBool::new(false),
            keyframe_wanted: AtomicBool::new(false),
            resolution_request: Mutex::new(None),
            frames_sent: AtomicU64::new(0),
            sessions: AtomicUsize::new(0),
            network: NetworkCounters::default(),
        }
    }

    /// Whether the frozen fault is on.
    pub(crate) fn is_frozen(&self) -> bool {
        self.frozen.load(Ordering::Relaxed)
    }

    /// The current parameter sets.
    pub(crate) fn current_params(&self) -> Option<Arc<StreamParams>> {
        self.params.borrow().clone()
    }

    /// Announces `params` if they differ from the current ones.
    pub(crate) fn publish_params(&self, params: StreamParams) {
        self.params.send_if_modified(|cur| {
            if cur.as_deref() == Some(&params) {
                false
            } else {
                *cur = Some(Arc::new(params));
                true
            }
        });
    }

    /// Publishes an event to whoever listens; returns whether anyone did.
    pub(crate) fn publish(&self, event: MediaEvent) -> bool {
        self.events.send(event).is_ok()
    }
}

/// Counts one open session in [`Feed::sessions`] for as long as it lives.
#[derive(Debug)]
pub(crate) struct SessionCount(Arc<Feed>);

impl SessionCount {
    /// Counts a new session.
    pub(crate) fn new(feed: Arc<Feed>) -> Self {
        feed.sessions.fetch_add(1, Ordering::Relaxed);
        SessionCount(feed)
    }
}

impl Drop for SessionCount {
    fn drop(&mut self) {
        self.0.sessions.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_times_are_exact_for_common_rates() {
        assert_eq!(MediaClock::frame_pts(15, 15), 90_000);
        assert_eq!(MediaClock::frame_pts(1, 30), 3_000);
        assert_eq!(MediaClock::frame_pts(1, 25), 3_600);
        assert_eq!(MediaClock::frame_offset(30, 15), Duration::from_secs(2));
        // Huge frame numbers saturate nothing and never panic.
        let _ = MediaClock::frame_offset(u64::MAX, 1);
        let _ = MediaClock::frame_pts(u64::MAX, 1);
    }

    #[test]
    fn clock_maps_instants_to_ticks_and_wall_time() {
        let c = MediaClock::starting_now();
        let later = c.start + Duration::from_millis(500);
        assert_eq!(c.ticks_at(later, 90_000), 45_000);
        assert_eq!(c.ticks_at(later, 8_000), 4_000);
        assert_eq!(c.ticks_at(c.start, 90_000), 0);
        assert_eq!(c.wall_at(later), c.start_wall + Duration::from_millis(500));
    }

    #[test]
    fn params_are_published_only_on_change() {
        let feed = Feed::new(15);
        let mut rx = feed.params.subscribe();
        let p = StreamParams {
            width: 2,
            height: 2,
            sps: Bytes::from_static(&[0x67]),
            pps: Bytes::from_static(&[0x68]),
        };
        feed.publish_params(p.clone());
        assert!(rx.has_changed().unwrap());
        rx.borrow_and_update();
        feed.publish_params(p.clone());
        assert!(!rx.has_changed().unwrap());
        feed.publish_params(StreamParams { width: 4, ..p });
        assert!(rx.has_changed().unwrap());
    }

    #[test]
    fn session_count_follows_guards() {
        let feed = Arc::new(Feed::new(15));
        let a = SessionCount::new(feed.clone());
        let b = SessionCount::new(feed.clone());
        assert_eq!(feed.sessions.load(Ordering::Relaxed), 2);
        drop(a);
        drop(b);
        assert_eq!(feed.sessions.load(Ordering::Relaxed), 0);
    }
}
