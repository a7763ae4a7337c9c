//! The per-stream hub: a bounded fan-out of shared frames with a GOP cache.
//!
//! Owns: delivering every frame ingest publishes to every subscriber, by reference (a frame
//! is never copied per consumer); the GOP cache (latest keyframe onward, capped in bytes) so a
//! new subscriber starts at once at a keyframe; and the slow-consumer rule: a subscriber that
//! falls more than the ring's capacity behind is skipped forward to the next keyframe and told
//! how many frames it lost. It must never buffer more than its fixed ring plus the capped GOP
//! cache, whatever its subscribers do, and it never blocks the publisher.
//!
//! The hub outlives camera connections: subscribers keep their subscription across reconnects
//! and see the new connection's frames (with a new [`Frame::epoch`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::broadcast;

use crate::media::{AudioParams, Frame, Track, VideoParams};

/// Frames the ring holds for subscribers that are momentarily behind (≈8 s at 30 fps).
pub const DEFAULT_RING_FRAMES: usize = 256;
/// Most bytes the GOP cache holds; a longer GOP is not cached (new subscribers then wait for
/// the next keyframe).
pub const DEFAULT_GOP_CACHE_BYTES: usize = 4 * 1024 * 1024;

/// Bounds of one hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubConfig {
    /// Capacity of the fan-out ring, in frames.
    pub ring_frames: usize,
    /// Cap of the GOP cache, in payload bytes.
    pub gop_cache_bytes: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            ring_frames: DEFAULT_RING_FRAMES,
            gop_cache_bytes: DEFAULT_GOP_CACHE_BYTES,
        }
    }
}

/// A stream's fan-out point. Cheap to clone; all clones are the same hub.
#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: HubConfig,
    state: Mutex<State>,
    has_video: AtomicBool,
}

#[derive(Debug)]
struct State {
    tx: Option<broadcast::Sender<Frame>>,
    gop: VecDeque<Frame>,
    gop_bytes: usize,
    /// Whether the GOP cache is collecting (false after an overflow, until the next keyframe).
    gop_open: bool,
    video: Option<Arc<VideoParams>>,
    audio: Option<Arc<AudioParams>>,
    /// The newest video frame published (one shared frame: what "the newest picture" is).
    last_video: Option<Frame>,
}

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Delivery {
    /// The next frame.
    Frame(Frame),
    /// The subscriber fell behind: this many frames were skipped, and the next frame is a
    /// keyframe.
    Lost {
        /// Frames skipped.
        frames: u64,
    },
}

impl Hub {
    /// A new, empty hub.
    pub fn new(config: HubConfig) -> Hub {
        let (tx, _) = broadcast::channel(config.ring_frames.max(1));
        Hub {
            inner: Arc::new(Inner {
                config,
                state: Mutex::new(State {
                    tx: Some(tx),
                    gop: VecDeque::new(),
                    gop_bytes: 0,
                    gop_open: false,
                    video: None,
                    audio: None,
                    last_video: None,
                }),
                has_video: AtomicBool::new(false),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent under every panic-free path; recover from poisoning.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands a frame to every subscriber (and the GOP cache). Never blocks on subscribers.
    pub fn publish(&self, frame: Frame) {
        let mut st = self.lock();
        match &frame.track {
            Track::Video(p) => {
                self.inner.has_video.store(true, Ordering::Relaxed);
                if st.video.as_ref().is_none_or(|v| !Arc::ptr_eq(v, p)) {
                    st.video = Some(p.clone());
                }
            }
            Track::Audio(p) => {
                if st.audio.as_ref().is_none_or(|a| !Arc::ptr_eq(a, p)) {
                    st.audio = Some(p.clone());
                }
            }
        }
        if frame.is_video() {
            st.last_video = Some(frame.clone());
        }
        let starts_gop = frame.is_video() && frame.keyframe;
        if starts_gop {
            st.gop.clear();
            st.gop_bytes = 0;
            st.gop_open = true;
        }
        if st.gop_open {
            let size = frame.data.len();
            if st.gop_bytes + size > self.inner.config.gop_cache_bytes {
                st.gop.clear();
                st.gop_bytes = 0;
                st.gop_open = false;
            } else {
                st.gop_bytes += size;
                st.gop.push_back(frame.clone());
            }
        }
        if let Some(tx) = &st.tx {
            // An error only means nobody is subscribed right now.
            let _ = tx.send(frame);
        }
    }

    /// A new subscription, starting at the cached GOP (or the next keyframe if none).
    /// Returns a closed subscription if the hub was closed.
    pub fn subscribe(&self) -> Subscription {
        let st = self.lock();
        let rx = st.tx.as_ref().map(|tx| tx.subscribe());
        let backlog: VecDeque<Frame> = st.gop.iter().cloned().collect();
        let resync = if backlog.is_empty() {
            Resync::Initial
        } else {
            Resync::No
        };
        Subscription {
            hub: self.inner.clone(),
            backlog,
            rx,
            resync,
            lost: 0,
        }
    }

    /// Ends every subscription (they receive `None`) and refuses new frames.
    pub fn close(&self) {
        let mut st = self.lock();
        st.tx = None;
        st.last_video = None;
        st.gop.clear();
        st.gop_bytes = 0;
        st.gop_open = false;
    }

    /// The newest video frame published, if any (kept after the camera drops, so its time
    /// says when the last good picture was; gone once the hub closes).
    pub fn latest_video(&self) -> Option<Frame> {
        self.lock().last_video.clone()
    }

    /// The cached GOP's keyframe (the newest keyframe, when its GOP fits the cache).
    pub fn cached_keyframe(&self) -> Option<Frame> {
        self.lock()
            .gop
            .front()
            .filter(|f| f.is_video() && f.keyframe)
            .cloned()
    }

    /// Live subscriptions.
    #[cfg(test)]
    pub fn subscriber_count(&self) -> usize {
        self.lock().tx.as_ref().map_or(0, |tx| tx.receiver_count())
    }

    /// The latest video parameters seen.
    pub fn video_params(&self) -> Option<Arc<VideoParams>> {
        self.lock().video.clone()
    }

    /// The latest audio parameters seen.
    pub fn audio_params(&self) -> Option<Arc<AudioParams>> {
        self.lock().audio.clone()
    }

    /// Frames and payload bytes in the GOP cache.
    #[cfg(test)]
    pub fn gop_cache_len(&self) -> (usize, usize) {
        let st = self.lock();
        (st.gop.len(), st.gop_bytes)
    }

    /// The configured bounds.
    pub fn config(&self) -> HubConfig {
        self.inner.config
    }
}

/// One consumer's view of a hub. Dropping it unsubscribes.
#[derive(Debug)]
pub struct Subscription {
    hub: Arc<Inner>,
    backlog: VecDeque<Frame>,
    rx: Option<broadcast::Receiver<Frame>>,
    /// Skipping until the next keyframe.
    resync: Resync,
    /// Frames skipped and not yet reported.
    lost: u64,
}

/// Whether a subscription is skipping to a keyframe, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resync {
    /// Delivering every frame.
    No,
    /// Just subscribed with nothing cached: what it skips it never had, so it is not "lost".
    Initial,
    /// Fell behind: what it skips counts as lost.
    AfterLag,
}

/// Why [`Subscription::try_recv`] returned nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No frame is waiting right now.
    Empty,
    /// The hub was closed.
    Closed,
}

impl Subscription {
    /// The next delivery, waiting for one; `None` once the hub is closed.
    pub async fn recv(&mut self) -> Option<Delivery> {
        loop {
            let frame = match self.backlog.pop_front() {
                Some(f) => f,
                None => {
                    let rx = self.rx.as_mut()?;
                    match rx.recv().await {
                        Ok(f) => f,
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            self.lagged(n);
                            continue;
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            };
            if let Some(d) = self.filter(frame) {
                return Some(d);
            }
        }
    }

    /// The next delivery if one is waiting (for consumers driven by their own loop).
    pub fn try_recv(&mut self) -> Result<Delivery, TryRecvError> {
        loop {
            let frame = match self.backlog.pop_front() {
                Some(f) => f,
                None => {
                    let rx = self.rx.as_mut().ok_or(TryRecvError::Closed)?;
                    match rx.try_recv() {
                        Ok(f) => f,
                        Err(broadcast::error::TryRecvError::Lagged(n)) => {
                            self.lagged(n);
                            continue;
                        }
                        Err(broadcast::error::TryRecvError::Empty) => {
                            return Err(TryRecvError::Empty);
                        }
                        Err(broadcast::error::TryRecvError::Closed) => {
                            return Err(TryRecvError::Closed);
                        }
                    }
                }
            };
            if let Some(d) = self.filter(frame) {
                return Ok(d);
            }
        }
    }

    fn lagged(&mut self, n: u64) {
        self.lost += n;
        self.resync = Resync::AfterLag;
    }

    /// Applies the skip-to-keyframe rule; returns what to deliver, if anything.
    fn filter(&mut self, frame: Frame) -> Option<Delivery> {
        if self.resync != Resync::No {
            let restart = if self.hub.has_video.load(Ordering::Relaxed) {
                frame.is_video() && frame.keyframe
            } else {
                frame.keyframe
            };
            if !restart {
                if self.resync == Resync::AfterLag {
                    self.lost += 1;
                }
                return None;
            }
            self.resync = Resync::No;
            if self.lost > 0 {
                let frames = std::mem::take(&mut self.lost);
                self.backlog.push_front(frame);
                return Some(Delivery::Lost { frames });
            }
        }
        Some(Delivery::Frame(frame))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;
    use crate::clock::{Clock, SimulatedClock};
    use crate::media::VideoCodec;

    /// Counts payload buffers alive, to prove the hub's memory is bounded.
    #[derive(Debug)]
    struct Tracked(Vec<u8>, Arc<AtomicUsize>);
    impl AsRef<[u8]> for Tracked {
        fn as_ref(&self) -> &[u8] {
            &self.0
        }
    }
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.1.fetch_sub(1, Ordering::SeqCst);
        }
    }

    struct Device {
        params: Arc<VideoParams>,
        clock: SimulatedClock,
        n: i64,
        gop: i64,
        alive: Arc<AtomicUsize>,
    }

    impl Device {
        fn new(gop: i64) -> Device {
            Device {
                params: Arc::new(VideoParams {
                    codec: VideoCodec::H264,
                    width: 64,
                    height: 64,
                    vps: None,
                    sps: Bytes::from_static(&[0x67, 0x42]),
                    pps: Bytes::from_static(&[0x68]),
                    rfc6381_codec: "avc1.42001E".into(),
                }),
                clock: SimulatedClock::new(chrono::Utc::now()),
                n: 0,
                gop,
                alive: Arc::new(AtomicUsize::new(0)),
            }
        }

        /// The next frame at 30 fps on the simulated clock.
        fn next(&mut self, size: usize) -> Frame {
            self.clock.advance(Duration::from_nanos(33_333_333));
            self.alive.fetch_add(1, Ordering::SeqCst);
            let data = Bytes::from_owner(Tracked(vec![0; size], self.alive.clone()));
            let f = Frame {
                track: Track::Video(self.params.clone()),
                pts: self.n * 3000,
                keyframe: self.n % self.gop == 0,
                data,
                epoch: 0,
                wallclock: self.clock.now_utc(),
            };
            self.n += 1;
            f
        }
    }

    fn frame_pts(d: Option<Delivery>) -> i64 {
        match d {
            Some(Delivery::Frame(f)) => f.pts,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn new_subscriber_starts_at_the_cached_keyframe() {
        let hub = Hub::new(HubConfig::default());
        let mut cam = Device::new(10);
        for _ in 0..14 {
            hub.publish(cam.next(100));
        }
        assert_eq!(hub.gop_cache_len(), (4, 400));
        let mut sub = hub.subscribe();
        assert_eq!(
            frame_pts(sub.recv().await),
            10 * 3000,
            "starts at the keyframe"
        );
        for i in 11..14 {
            assert_eq!(frame_pts(sub.recv().await), i * 3000);
        }
        hub.publish(cam.next(100));
        assert_eq!(
            frame_pts(sub.recv().await),
            14 * 3000,
            "then live frames, none twice"
        );
        assert_eq!(sub.try_recv().unwrap_err(), TryRecvError::Empty);
    }

    #[tokio::test]
    async fn subscriber_before_any_keyframe_waits_for_one() {
        let hub = Hub::new(HubConfig::default());
        let mut cam = Device::new(5);
        hub.publish(cam.next(10)); // keyframe 0
        hub.close();
        let hub = Hub::new(HubConfig::default());
        let mut sub = hub.subscribe();
        for _ in 1..5 {
            hub.publish(cam.next(10)); // deltas 1..4
        }
        hub.publish(cam.next(10)); // keyframe 5
        assert_eq!(frame_pts(sub.recv().await), 5 * 3000);
    }

    #[tokio::test]
    async fn oversized_gop_is_not_cached() {
        let hub = Hub::new(HubConfig {
            ring_frames: 16,
            gop_cache_bytes: 1000,
        });
        let mut cam = Device::new(100);
        for _ in 0..20 {
            hub.publish(cam.next(100));
        }
        assert_eq!(
            hub.gop_cache_len(),
            (0, 0),
            "cache dropped once it overflowed"
        );
    }

    #[tokio::test]
    async fn slow_consumer_skips_to_the_next_keyframe_and_is_told_the_loss() {
        let hub = Hub::new(HubConfig {
            ring_frames: 32,
            gop_cache_bytes: DEFAULT_GOP_CACHE_BYTES,
        });
        let mut cam = Device::new(30);
        hub.publish(cam.next(1000)); // keyframe 0
        let mut slow = hub.subscribe();
        let mut fast = hub.subscribe();
        assert_eq!(frame_pts(fast.recv().await), 0);
        // 10 simulated seconds of 30 fps while `slow` reads nothing.
        for _ in 1..300 {
            hub.publish(cam.next(1000));
            while let Ok(d) = fast.try_recv() {
                assert!(
                    matches!(d, Delivery::Frame(_)),
                    "fast consumer loses nothing"
                );
            }
            // Memory stays bounded by the ring and the GOP cache, whatever `slow` does.
            let alive = cam.alive.load(Ordering::SeqCst);
            assert!(alive <= 32 + 30 + 2, "{alive} payloads alive");
        }
        // Frame 299 was the last published; `slow` still gets its cached keyframe, then
        // learns it lagged, then resumes at a later keyframe.
        assert_eq!(frame_pts(slow.recv().await), 0);
        let lost = match slow.recv().await {
            Some(Delivery::Lost { frames }) => frames,
            other => panic!("expected a loss report, got {other:?}"),
        };
        let next = slow.recv().await;
        let pts = frame_pts(next);
        assert_eq!(pts % (30 * 3000), 0, "resumes at a keyframe");
        // Everything between its first frame (0) and the keyframe is accounted for as lost.
        assert_eq!(lost as i64, pts / 3000 - 1, "loss count is exact");
        while let Ok(d) = slow.try_recv() {
            assert!(matches!(d, Delivery::Frame(_)));
        }
        assert_eq!(hub.subscriber_count(), 2);
        drop(slow);
        assert_eq!(hub.subscriber_count(), 1);
    }

    #[tokio::test]
    async fn closing_ends_subscriptions() {
        let hub = Hub::new(HubConfig::default());
        let mut sub = hub.subscribe();
        let waiter = tokio::spawn(async move { sub.recv().await });
        tokio::task::yield_now().await;
        hub.close();
        assert_eq!(waiter.await.unwrap(), None);
        let mut late = hub.subscribe();
        assert_eq!(late.recv().await, None);
        assert_eq!(late.try_recv().unwrap_err(), TryRecvError::Closed);
    }
}

#[cfg(test)]
mod doc_examples {
    /// How `hub::Hub` is used.
    #[test]
    fn hub_example() {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            use crate::hub::{Delivery, Hub};
            use crate::media::*;
            use std::sync::Arc;
            let params = Arc::new(VideoParams {
                codec: VideoCodec::H264,
                width: 2,
                height: 2,
                vps: None,
                sps: bytes::Bytes::from_static(&[0x67, 66]),
                pps: bytes::Bytes::from_static(&[0x68]),
                rfc6381_codec: "avc1.42001E".into(),
            });
            let frame = |keyframe| Frame {
                track: Track::Video(params.clone()),
                pts: 0,
                keyframe,
                data: bytes::Bytes::from_static(&[0, 0, 0, 1, 0x65]),
                epoch: 0,
                wallclock: chrono::Utc::now(),
            };
            let hub = Hub::new(Default::default());
            hub.publish(frame(true));
            let mut viewer = hub.subscribe(); // starts at the cached keyframe
            match viewer.recv().await {
                Some(Delivery::Frame(f)) => assert!(f.keyframe),
                other => panic!("{other:?}"),
            }
        });
    }
}
