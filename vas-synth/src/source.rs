//! The producers that fill a camera's feed: live encoding, the pre-encoded loop, the tone.
//!
//! Owns the live encoder thread (one per camera, renders and encodes at the frame rate, idle
//! while nobody watches), the process-wide cache of pre-encoded loops (one encode per picture
//! configuration, shared by every camera that uses it) and the loop's replay task, the audio
//! ticker, and resolution changes. It must never touch sockets or sessions: it only publishes
//! to the [`Feed`], which never waits for a reader.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{OnceCell, watch};
use tokio::time::MissedTickBehavior;

use super::audio;
use super::config::{CameraConfig, CameraMode};
use super::feed::{Feed, MediaClock, MediaEvent, StreamParams, VideoFrame};
use super::h264::{AccessUnit, EncoderSettings, NAL_PPS, NAL_SPS, PictureEncoder};
use super::pattern::TestPattern;
use super::tasks::AbortOnDrop;
use crate::{Error, Result};

/// Pre-encoded loops the process keeps for reuse; beyond this, finished entries are dropped
/// from the cache (cameras keep their own reference).
pub(crate) const LOOP_CACHE_MAX_ENTRIES: usize = 16;
/// Longest a live encoder sleeps in one go, so it notices a stop promptly.
const LIVE_STOP_POLL: Duration = Duration::from_millis(100);

/// The picture settings a pre-encoded loop depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct LoopKey {
    width: u32,
    height: u32,
    fps: u32,
    bitrate_bps: u32,
    gop: u32,
    seconds: u32,
}

/// An encoded loop of video, starting with an IDR.
#[derive(Debug)]
pub(crate) struct EncodedLoop {
    /// The frames in order.
    pub(crate) frames: Vec<Arc<VideoFrame>>,
    /// Parameter sets of the loop.
    pub(crate) params: StreamParams,
}

type LoopCell = Arc<OnceCell<Arc<EncodedLoop>>>;

static LOOP_CACHE: LazyLock<Mutex<HashMap<LoopKey, LoopCell>>> = LazyLock::new(Mutex::default);

/// The loop for `key`, encoding it on a blocking thread unless this process already has it
/// (concurrent callers with the same key wait for one encode).
pub(crate) async fn shared_loop(key: LoopKey) -> Result<Arc<EncodedLoop>> {
    let cell = {
        let mut cache = LOOP_CACHE.lock().unwrap_or_else(|p| p.into_inner());
        if !cache.contains_key(&key) && cache.len() >= LOOP_CACHE_MAX_ENTRIES {
            // Keep entries still being encoded (someone holds the cell); drop finished ones.
            cache.retain(|_, cell| Arc::strong_count(cell) > 1);
        }
        cache.entry(key).or_default().clone()
    };
    cell.get_or_try_init(|| async move {
        tokio::task::spawn_blocking(move || encode_loop(key))
            .await
            .map_err(|e| Error::internal(format!("loop encoder task failed: {e}")))?
            .map(Arc::new)
    })
    .await
    .cloned()
}

/// Renders and encodes `key.seconds` of the test pattern.
fn encode_loop(key: LoopKey) -> Result<EncodedLoop> {
    let started = Instant::now();
    let (w, h) = (key.width as usize, key.height as usize);
    let mut encoder = PictureEncoder::new(EncoderSettings {
        fps: key.fps,
        bitrate_bps: key.bitrate_bps,
        gop: key.gop,
    })?;
    let mut pattern = TestPattern::new(w, h);
    let count = u64::from(key.seconds) * u64::from(key.fps);
    let wall0 = Utc::now();
    let mut frames = Vec::with_capacity(count as usize);
    let mut params = None;
    for n in 0..count {
        let wall = wall0 + MediaClock::frame_offset(n, key.fps);
        let au = encoder.encode(pattern.render(n, wall), w, h, n == 0)?;
        if params.is_none() {
            params = params_of(&au, key.width, key.height);
        }
        frames.push(Arc::new(VideoFrame::from_access_unit(&au)));
    }
    let params = params.ok_or_else(|| Error::internal("the loop's first frame has no SPS/PPS"))?;
    tracing::debug!(
        ?key,
        frames = frames.len(),
        ms = started.elapsed().as_millis() as u64,
        "synthetic camera: encoded loop"
    );
    Ok(EncodedLoop { frames, params })
}

/// The parameter sets of a keyframe.
fn params_of(au: &AccessUnit, width: u32, height: u32) -> Option<StreamParams> {
    if !au.keyframe {
        return None;
    }
    Some(StreamParams {
        width,
        height,
        sps: au.find(NAL_SPS)?.clone(),
        pps: au.find(NAL_PPS)?.clone(),
    })
}

/// The running producers of one camera; dropping it stops them.
#[derive(Debug)]
pub(crate) struct Producer {
    feed: Arc<Feed>,
    config: CameraConfig,
    kind: ProducerKind,
    _audio: Option<AbortOnDrop<()>>,
}

#[derive(Debug)]
enum ProducerKind {
    Live {
        stop: Arc<AtomicBool>,
    },
    Loop {
        switch: watch::Sender<Arc<EncodedLoop>>,
        _replay: AbortOnDrop<()>,
    },
}

impl Producer {
    /// Starts filling `feed` as `config` says. Returns once the first parameter sets are
    /// known (so DESCRIBE can answer). Must run inside a tokio runtime.
    pub(crate) async fn start(
        feed: Arc<Feed>,
        config: &CameraConfig,
        first_frame_timeout: Duration,
    ) -> Result<Self> {
        let settings = EncoderSettings {
            fps: config.fps,
            bitrate_bps: config.bitrate_bps,
            gop: config.gop,
        };
        let kind = match config.mode {
            CameraMode::Live => {
                let stop = Arc::new(AtomicBool::new(false));
                let (f, s) = (feed.clone(), stop.clone());
                let (w, h) = (config.width, config.height);
                std::thread::Builder::new()
                    .name("vas-synth-encoder".into())
                    .spawn(move || run_live(&f, settings, w, h, &s))
                    .map_err(|e| {
                        Error::internal(format!("cannot start the encoder thread: {e}"))
                    })?;
                ProducerKind::Live { stop }
            }
            CameraMode::PreEncodedLoop { seconds } => {
                let key = loop_key(config, config.width, config.height, seconds);
                let lp = shared_loop(key).await?;
                feed.publish_params(lp.params.clone());
                let (switch, rx) = watch::channel(lp);
                let replay = AbortOnDrop(tokio::spawn(run_loop(feed.clone(), rx)));
                ProducerKind::Loop {
                    switch,
                    _replay: replay,
                }
            }
        };
        let audio = config
            .audio
            .then(|| AbortOnDrop(tokio::spawn(run_audio(feed.clone()))));
        let producer = Producer {
            feed,
            config: config.clone(),
            kind,
            _audio: audio,
        };
        producer
            .wait_for_params(config.width, config.height, first_frame_timeout)
            .await?;
        Ok(producer)
    }

    /// Switches the picture size; returns once DESCRIBE announces the new parameter sets.
    /// Sessions get an IDR with the new SPS/PPS in-band as their next frame.
    pub(crate) async fn set_resolution(
        &self,
        width: u32,
        height: u32,
        timeout: Duration,
    ) -> Result<()> {
        match &self.kind {
            ProducerKind::Live { .. } => {
                *self
                    .feed
                    .resolution_request
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some((width, height));
            }
            ProducerKind::Loop { switch, .. } => {
                let CameraMode::PreEncodedLoop { seconds } = self.config.mode else {
                    return Err(Error::internal("loop producer without loop mode"));
                };
                let lp = shared_loop(loop_key(&self.config, width, height, seconds)).await?;
                switch.send_replace(lp);
            }
        }
        self.wait_for_params(width, height, timeout).await
    }

    async fn wait_for_params(&self, width: u32, height: u32, timeout: Duration) -> Result<()> {
        let mut rx = self.feed.params.subscribe();
        let wanted = |p: &Option<Arc<StreamParams>>| {
            p.as_ref()
                .is_some_and(|p| p.width == width && p.height == height)
        };
        match tokio::time::timeout(timeout, rx.wait_for(wanted)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(Error::internal("the feed closed before the first frame")),
            Err(_) => Err(Error::unavailable(format!(
                "the encoder produced no {width}x{height} keyframe within {timeout:?}"
            ))),
        }
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        if let ProducerKind::Live { stop } = &self.kind {
            stop.store(true, Ordering::Relaxed);
        }
    }
}

fn loop_key(config: &CameraConfig, width: u32, height: u32, seconds: u32) -> LoopKey {
    LoopKey {
        width,
        height,
        fps: config.fps,
        bitrate_bps: config.bitrate_bps,
        gop: config.gop,
        seconds,
    }
}

/// The live encoder: renders and encodes frame `n` at media time `n / fps`, publishing it
/// while anyone listens. With nobody listening (or frozen) it does no work, except to encode a
/// keyframe when the parameter sets must be (re)announced; the next published frame is an IDR.
fn run_live(feed: &Feed, settings: EncoderSettings, width: u32, height: u32, stop: &AtomicBool) {
    let mut encoder = match PictureEncoder::new(settings) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "synthetic camera: cannot create the encoder");
            return;
        }
    };
    let fps = feed.fps;
    let mut pattern = TestPattern::new(width as usize, height as usize);
    let mut n: u64 = 0;
    let mut need_idr = true;
    let mut must_announce = true;
    while !stop.load(Ordering::Relaxed) {
        let due = feed.clock.start + MediaClock::frame_offset(n, fps);
        let now = Instant::now();
        if due > now {
            std::thread::sleep((due - now).min(LIVE_STOP_POLL));
            continue;
        }
        // Too slow (or the machine stalled): skip to the frame due now, keeping real time.
        let behind = feed.clock.ticks_at(now, fps);
        if behind > n + 1 {
            n = behind;
        }
        if let Some((w, h)) = feed
            .resolution_request
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            pattern = TestPattern::new(w as usize, h as usize);
            must_announce = true;
            need_idr = true;
        }
        if feed.keyframe_wanted.swap(false, Ordering::Relaxed) {
            need_idr = true;
        }
        let publish = !feed.is_frozen() && feed.events.receiver_count() > 0;
        if !publish && !must_announce {
            need_idr = true;
            n += 1;
            continue;
        }
        let wall: DateTime<Utc> = feed.clock.wall_at(due).into();
        let (w, h) = (pattern.width(), pattern.height());
        let au = match encoder.encode(pattern.render(n, wall), w, h, need_idr) {
            Ok(au) => au,
            Err(e) => {
                tracing::warn!(error = %e, "synthetic camera: encoding failed");
                need_idr = true;
                n += 1;
                continue;
            }
        };
        if let Some(p) = params_of(&au, w as u32, h as u32) {
            feed.publish_params(p);
            must_announce = false;
        }
        need_idr = !publish;
        if publish && !au.nals.is_empty() {
            feed.publish(MediaEvent::Video {
                frame: Arc::new(VideoFrame::from_access_unit(&au)),
                pts: MediaClock::frame_pts(n, fps),
            });
        }
        n += 1;
    }
}

/// Replays the current loop at the frame rate; frame `k` of the replay has media time
/// `k / fps` whatever loop position it shows, so timestamps keep increasing across the loop
/// boundary. A resolution switch starts the new loop at its first frame (an IDR).
async fn run_loop(feed: Arc<Feed>, mut switch: watch::Receiver<Arc<EncodedLoop>>) {
    let fps = feed.fps;
    let period = MediaClock::frame_offset(1, fps);
    let mut ticker = tokio::time::interval_at(feed.clock.start.into(), period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut current = switch.borrow_and_update().clone();
    let mut pos = 0usize;
    let mut k: u64 = 0;
    let mut resync = false;
    loop {
        ticker.tick().await;
        if switch.has_changed().unwrap_or(false) {
            current = switch.borrow_and_update().clone();
            feed.publish_params(current.params.clone());
            pos = 0;
        }
        let Some(frame) = current.frames.get(pos) else {
            return;
        };
        pos = (pos + 1) % current.frames.len();
        let pts = MediaClock::frame_pts(k, fps);
        k += 1;
        if feed.is_frozen() {
            resync = true;
            continue;
        }
        if (resync && !frame.keyframe) || frame.payloads.is_empty() {
            continue;
        }
        resync = false;
        feed.publish(MediaEvent::Video {
            frame: frame.clone(),
            pts,
        });
    }
}

/// Publishes one tone packet every 20 ms of media time.
async fn run_audio(feed: Arc<Feed>) {
    let mut ticker = tokio::time::interval_at(feed.clock.start.into(), audio::PACKET_DURATION);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut j: u64 = 0;
    loop {
        ticker.tick().await;
        let pts = j * u64::from(audio::PACKET_SAMPLES);
        j += 1;
        if !feed.is_frozen() {
            feed.publish(MediaEvent::Audio { pts });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seconds: u32) -> LoopKey {
        LoopKey {
            width: 128,
            height: 72,
            fps: 10,
            bitrate_bps: 100_000,
            gop: 7,
            seconds,
        }
    }

    #[tokio::test]
    async fn loop_is_encoded_once_and_shared() {
        let k = key(1);
        let (a, b) = tokio::join!(shared_loop(k), shared_loop(k));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(Arc::ptr_eq(&a, &b), "two encodes for one key");
        assert_eq!(a.frames.len(), 10);
        assert!(a.frames[0].keyframe);
        assert!(a.frames[7].keyframe);
        assert_eq!(a.frames.iter().filter(|f| f.keyframe).count(), 2);
        assert_eq!(a.params.width, 128);
        let c = shared_loop(key(2)).await.unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(c.frames.len(), 20);
    }

    #[tokio::test]
    async fn loop_replay_timestamps_increase_across_the_boundary() {
        let feed = Arc::new(Feed::new(50));
        let mut rx = feed.events.subscribe();
        let config = CameraConfig {
            width: 64,
            height: 48,
            fps: 50,
            gop: 10,
            mode: CameraMode::PreEncodedLoop { seconds: 1 },
            ..CameraConfig::default()
        };
        let producer = Producer::start(feed.clone(), &config, Duration::from_secs(30))
            .await
            .unwrap();
        let mut last = None;
        let mut keyframes = 0;
        for _ in 0..120 {
            let MediaEvent::Video { frame, pts } = rx.recv().await.unwrap() else {
                panic!("audio without audio")
            };
            if let Some(prev) = last {
                assert_eq!(pts, prev + 1_800, "pts must step one frame at 50 fps");
            }
            keyframes += usize::from(frame.keyframe);
            last = Some(pts);
        }
        // 120 frames of a 50-frame loop with a 10-frame GOP: a keyframe every 10 frames.
        assert_eq!(keyframes, 12);
        drop(producer);
    }

    #[tokio::test]
    async fn live_producer_announces_params_and_changes_resolution() {
        let feed = Arc::new(Feed::new(30));
        let config = CameraConfig {
            width: 96,
            height: 64,
            fps: 30,
            ..CameraConfig::default()
        };
        let producer = Producer::start(feed.clone(), &config, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(feed.current_params().unwrap().width, 96);
        // Nobody listens, yet a resolution change is still announced.
        producer
            .set_resolution(128, 96, Duration::from_secs(30))
            .await
            .unwrap();
        let p = feed.current_params().unwrap();
        assert_eq!((p.width, p.height), (128, 96));
        let mut rx = feed.events.subscribe();
        let MediaEvent::Video { frame, .. } = rx.recv().await.unwrap() else {
            panic!()
        };
        assert!(frame.keyframe, "a new listener starts at a keyframe");
        drop(producer);
    }
}
