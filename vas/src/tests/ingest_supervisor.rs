//! The ingest supervisor with an injected camera on simulated (paused) tokio time: state
//! transitions, backoff, stall detection, timeline continuity, and clean stops.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::camera_url::CameraUrl;
use crate::clock::SystemClock;
use crate::events::{EventBus, EventSubscription};
use crate::hub::{Delivery, Hub, HubConfig};
use crate::ingest::source::{CameraConnection, RawFrame};
use crate::ingest::supervisor::{IngestContext, IngestTask, Timeline};
use crate::ingest::{BackoffPolicy, CameraSource, CameraTarget, IngestConfig, RtpTransport};
use crate::media::{Track, VideoCodec, VideoParams};
use crate::model::{StreamState, StreamStatus};
use crate::{Error, ErrorKind, StreamId};
use async_trait::async_trait;
use bytes::Bytes;

/// What one connection attempt does.
#[derive(Debug, Clone)]
enum Attempt {
    Fail(ErrorKind),
    /// Sends frames at 30 fps, then ends as told.
    Play(usize, End),
}

#[derive(Debug, Clone, Copy)]
enum End {
    Close,
    Stall,
    Error,
}

#[derive(Debug)]
struct FakeCamera {
    script: Mutex<VecDeque<Attempt>>,
    attempts: AtomicUsize,
    open: Arc<AtomicUsize>,
}

impl FakeCamera {
    fn new(script: Vec<Attempt>) -> Arc<FakeCamera> {
        Arc::new(FakeCamera {
            script: Mutex::new(script.into()),
            attempts: AtomicUsize::new(0),
            open: Arc::new(AtomicUsize::new(0)),
        })
    }
}

struct FakeConnection {
    left: usize,
    end: End,
    n: i64,
    params: Arc<VideoParams>,
    open: Arc<AtomicUsize>,
}

impl Drop for FakeConnection {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl CameraSource for FakeCamera {
    async fn connect(&self, _: &CameraTarget) -> crate::Result<Box<dyn CameraConnection>> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let next = self.script.lock().unwrap().pop_front();
        match next.unwrap_or(Attempt::Fail(ErrorKind::Unavailable)) {
            Attempt::Fail(kind) => Err(Error::new(kind, "scripted failure with s3cret inside")),
            Attempt::Play(n, end) => {
                self.open.fetch_add(1, Ordering::SeqCst);
                Ok(Box::new(FakeConnection {
                    left: n,
                    end,
                    // Each connection restarts its own timestamps near zero, like a camera.
                    n: 0,
                    params: Arc::new(VideoParams {
                        codec: VideoCodec::H264,
                        width: 640,
                        height: 360,
                        vps: None,
                        sps: Bytes::from_static(&[0x67, 0x42, 0, 0x1e]),
                        pps: Bytes::from_static(&[0x68, 0xce]),
                        rfc6381_codec: "avc1.42001E".into(),
                    }),
                    open: self.open.clone(),
                }))
            }
        }
    }
}

#[async_trait]
impl CameraConnection for FakeConnection {
    async fn next_frame(&mut self) -> crate::Result<Option<RawFrame>> {
        if self.left == 0 {
            return match self.end {
                End::Close => Ok(None),
                End::Error => Err(Error::unavailable("connection reset")),
                End::Stall => {
                    std::future::pending::<()>().await;
                    unreachable!()
                }
            };
        }
        tokio::time::sleep(Duration::from_millis(33)).await;
        self.left -= 1;
        let f = RawFrame {
            track: Track::Video(self.params.clone()),
            pts: self.n * 3000,
            keyframe: self.n % 30 == 0,
            data: Bytes::from(vec![0, 0, 0, 2, 0x65, 0x88]),
        };
        self.n += 1;
        Ok(Some(f))
    }
}

struct Harness {
    task: Option<IngestTask>,
    hub: Hub,
    status: Arc<Mutex<StreamStatus>>,
    events: EventSubscription,
}

fn start(camera: Arc<FakeCamera>, config: IngestConfig) -> Harness {
    let events = EventBus::default();
    let rx = events.subscribe();
    let hub = Hub::new(HubConfig::default());
    let status = Arc::new(Mutex::new(StreamStatus::default()));
    let (url, creds) = CameraUrl::parse("rtsp://user:s3cret@cam.test/live").unwrap();
    let ctx = IngestContext {
        stream: StreamId::new(),
        target: CameraTarget {
            url,
            credentials: creds,
            transport: RtpTransport::Tcp,
        },
        source: camera,
        hub: hub.clone(),
        status: status.clone(),
        timeline: Arc::new(Mutex::new(Timeline::default())),
        events,
        clock: Arc::new(SystemClock),
        config,
    };
    Harness {
        task: Some(IngestTask::spawn(ctx)),
        hub,
        status,
        events: rx,
    }
}

impl Harness {
    fn status(&self) -> StreamStatus {
        self.status.lock().unwrap().clone()
    }

    /// Collects state changes until `state` is seen (or panics after `limit` of them).
    async fn wait_for(&mut self, state: StreamState) -> Vec<(StreamState, Option<String>)> {
        let mut seen = Vec::new();
        loop {
            let ev = tokio::time::timeout(Duration::from_secs(600), self.events.recv())
                .await
                .expect("state change in time")
                .expect("event bus open");
            let crate::Event::StreamState {
                state: s, error, ..
            } = ev
            else {
                continue;
            };
            seen.push((s, error));
            if s == state {
                return seen;
            }
            assert!(seen.len() < 100, "never reached {state:?}: {seen:?}");
        }
    }

    async fn stop(&mut self) {
        self.task.take().unwrap().stop().await;
    }
}

fn config() -> IngestConfig {
    IngestConfig {
        stall_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(10),
        backoff: BackoffPolicy {
            jitter: 0.0,
            ..Default::default()
        },
        transport: RtpTransport::Tcp,
    }
}

#[tokio::test(start_paused = true)]
async fn first_connect_failure_backs_off_then_goes_live() {
    let cam = FakeCamera::new(vec![
        Attempt::Fail(ErrorKind::Unavailable),
        Attempt::Fail(ErrorKind::Unavailable),
        Attempt::Play(100, End::Stall),
    ]);
    let mut h = start(cam.clone(), config());
    let t0 = tokio::time::Instant::now();
    let seen = h.wait_for(StreamState::Live).await;
    let states: Vec<StreamState> = seen.iter().map(|s| s.0).collect();
    assert_eq!(
        states,
        [
            StreamState::Connecting,
            StreamState::Reconnecting,
            StreamState::Live
        ]
    );
    // Backoff 0.5 s then 1 s (no jitter), plus one frame interval.
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(1_500) && waited < Duration::from_millis(1_600),
        "{waited:?}"
    );
    let err = seen[1].1.clone().unwrap();
    assert!(
        err.contains("scripted failure") && !err.contains("s3cret"),
        "{err}"
    );
    assert_eq!(cam.attempts.load(Ordering::SeqCst), 3);
    assert_eq!(h.status().reconnects, 2);
    h.stop().await;
    assert_eq!(h.status().state, StreamState::Stopped);
    assert_eq!(cam.open.load(Ordering::SeqCst), 0, "connection released");
}

#[tokio::test(start_paused = true)]
async fn stalled_camera_is_reconnected_and_timeline_stays_continuous() {
    let cam = FakeCamera::new(vec![
        Attempt::Play(60, End::Stall),
        Attempt::Play(60, End::Close),
        Attempt::Play(1_000, End::Stall),
    ]);
    let mut h = start(cam.clone(), config());
    let mut sub = h.hub.subscribe();
    h.wait_for(StreamState::Live).await;
    let seen = h.wait_for(StreamState::Reconnecting).await;
    assert!(
        seen.last()
            .unwrap()
            .1
            .as_deref()
            .unwrap()
            .contains("stalled")
    );
    h.wait_for(StreamState::Live).await;
    let seen = h.wait_for(StreamState::Reconnecting).await;
    assert!(
        seen.last()
            .unwrap()
            .1
            .as_deref()
            .unwrap()
            .contains("ended the session"),
        "{seen:?}"
    );
    h.wait_for(StreamState::Live).await;
    // Read everything delivered so far: timestamps strictly increase across both
    // reconnects, and each connection has its own epoch.
    let mut last_pts = -1;
    let mut epochs = Vec::new();
    let mut frames = 0;
    while let Ok(d) = sub.try_recv() {
        let Delivery::Frame(f) = d else {
            panic!("unexpected {d:?}")
        };
        assert!(f.pts > last_pts, "pts {} after {last_pts}", f.pts);
        last_pts = f.pts;
        if epochs.last() != Some(&f.epoch) {
            epochs.push(f.epoch);
        }
        frames += 1;
    }
    assert_eq!(epochs, [1, 2, 3]);
    assert!(frames >= 121, "{frames}");
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn wrong_password_fails_and_backs_off_instead_of_hammering() {
    let cam = FakeCamera::new(vec![Attempt::Fail(ErrorKind::Unauthenticated); 1000]);
    let mut h = start(cam.clone(), config());
    let seen = h.wait_for(StreamState::Failed).await;
    assert!(seen.last().unwrap().1.is_some());
    tokio::time::sleep(Duration::from_secs(300)).await;
    let attempts = cam.attempts.load(Ordering::SeqCst);
    // Never more often than every 15 s (the persistent-error floor), growing to every 30 s.
    assert!(
        (10..=21).contains(&attempts),
        "{attempts} attempts in 300 s"
    );
    assert_eq!(h.status().state, StreamState::Failed);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn backoff_resets_after_a_stable_connection() {
    // 40 s live (more than the 30 s stable period), then errors: the next retry is fast.
    let cam = FakeCamera::new(vec![
        Attempt::Fail(ErrorKind::Unavailable),
        Attempt::Fail(ErrorKind::Unavailable),
        Attempt::Fail(ErrorKind::Unavailable),
        Attempt::Play(1_200, End::Error),
        Attempt::Play(1_000, End::Stall),
    ]);
    let mut h = start(cam.clone(), config());
    h.wait_for(StreamState::Live).await;
    h.wait_for(StreamState::Reconnecting).await;
    let t = tokio::time::Instant::now();
    h.wait_for(StreamState::Live).await;
    let gap = t.elapsed();
    assert!(
        gap < Duration::from_millis(600),
        "retry after a stable period was {gap:?}"
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn stopping_while_connecting_or_backing_off_releases_everything() {
    #[derive(Debug)]
    struct Hanging(Arc<AtomicUsize>);
    #[async_trait]
    impl CameraSource for Hanging {
        async fn connect(&self, _: &CameraTarget) -> crate::Result<Box<dyn CameraConnection>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            struct Guard(Arc<AtomicUsize>);
            impl Drop for Guard {
                fn drop(&mut self) {
                    self.0.fetch_sub(1, Ordering::SeqCst);
                }
            }
            let _g = Guard(self.0.clone());
            std::future::pending::<()>().await;
            unreachable!()
        }
    }
    let pending = Arc::new(AtomicUsize::new(0));
    let events = EventBus::default();
    let status = Arc::new(Mutex::new(StreamStatus::default()));
    let ctx = IngestContext {
        stream: StreamId::new(),
        target: CameraTarget {
            url: CameraUrl::parse("rtsp://cam.test/").unwrap().0,
            credentials: None,
            transport: RtpTransport::Tcp,
        },
        source: Arc::new(Hanging(pending.clone())),
        hub: Hub::new(HubConfig::default()),
        status: status.clone(),
        timeline: Default::default(),
        events,
        clock: Arc::new(SystemClock),
        config: IngestConfig {
            connect_timeout: Duration::from_secs(3600),
            ..config()
        },
    };
    let task = IngestTask::spawn(ctx);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(pending.load(Ordering::SeqCst), 1, "connect in progress");
    task.stop().await;
    assert_eq!(
        pending.load(Ordering::SeqCst),
        0,
        "the connect attempt was dropped"
    );
    assert_eq!(status.lock().unwrap().state, StreamState::Stopped);

    // And while waiting out a backoff.
    let cam = FakeCamera::new(vec![Attempt::Fail(ErrorKind::Unauthenticated)]);
    let mut h = start(cam, config());
    h.wait_for(StreamState::Failed).await;
    let t = tokio::time::Instant::now();
    h.stop().await;
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "stop does not wait out the backoff"
    );
    assert_eq!(h.status().state, StreamState::Stopped);
}
