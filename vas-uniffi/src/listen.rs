//! Events, decoded frames and encoded frames delivered to foreign callbacks, each
//! subscription on a thread of its own that waits in short slices, so that cancelling (also
//! from inside the callback) or closing the engine ends it within one slice.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::{ListenerError, VasError};
use crate::generated::{EncodedFrameInfo, Event, FrameInfo};

/// One decoded picture: its pixels (in the subscription's format) and what it says about
/// itself.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Frame {
    /// The pixels, laid out as the format says (rows tightly packed).
    pub data: Vec<u8>,
    /// What the frame says about itself.
    pub info: FrameInfo,
}

/// One frame as the camera sent it: its payload (video: NAL units, each prefixed with its
/// 4-byte big-endian length; audio: one codec frame) and what it says about itself.
#[derive(Debug, Clone, uniffi::Record)]
pub struct EncodedFrame {
    /// The payload.
    pub data: Vec<u8>,
    /// What the frame says about itself.
    pub info: EncodedFrameInfo,
}

/// How long a delivery thread waits before it looks at its cancel flag again.
const SLICE: Duration = Duration::from_millis(50);

/// Receives the engine's events. An error or exception from `on_event` is contained: the
/// subscription counts it ([`Subscription::failures`]) and goes on with the next event.
#[uniffi::export(with_foreign)]
pub trait EventListener: Send + Sync {
    /// One event, on the subscription's own thread.
    fn on_event(&self, event: Event) -> Result<(), ListenerError>;
}

/// Receives a stream's decoded frames. As [`EventListener`] for errors; `on_end` is called
/// once when the subscription ends for a reason other than `cancel` (the engine closed).
#[uniffi::export(with_foreign)]
pub trait FrameListener: Send + Sync {
    /// One frame, on the subscription's own thread.
    fn on_frame(&self, frame: Frame) -> Result<(), ListenerError>;
    /// The subscription ended: `error` says why.
    fn on_end(&self, error: VasError);
}

/// Receives a stream's encoded frames; as [`FrameListener`].
#[uniffi::export(with_foreign)]
pub trait EncodedFrameListener: Send + Sync {
    /// One encoded frame, on the subscription's own thread.
    fn on_frame(&self, frame: EncodedFrame) -> Result<(), ListenerError>;
    /// The subscription ended: `error` says why.
    fn on_end(&self, error: VasError);
}

/// A running delivery to a listener. `cancel` ends it (safe from inside the callback);
/// dropping the last reference cancels it too.
#[derive(uniffi::Object)]
pub struct Subscription {
    state: Arc<State>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Default)]
struct State {
    cancelled: AtomicBool,
    ended: AtomicBool,
    failures: AtomicU64,
    last_failure: Mutex<Option<String>>,
    delivered: AtomicU64,
}

impl State {
    fn failed(&self, e: ListenerError) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let message = e.to_string();
        tracing::warn!(%message, "a listener callback failed; the subscription goes on");
        *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(message);
    }
}

/// What a delivery thread waits on.
pub(crate) trait Feed: Send + 'static {
    type Item;
    fn next(&mut self, wait: Duration) -> vas::Result<Self::Item>;
}

impl Feed for vas::EventSubscription {
    type Item = vas::Event;
    fn next(&mut self, wait: Duration) -> vas::Result<vas::Event> {
        self.recv_timeout(wait)
    }
}

impl Feed for vas::frames::FrameSubscription {
    type Item = vas::frames::VideoFrame;
    fn next(&mut self, wait: Duration) -> vas::Result<vas::frames::VideoFrame> {
        self.recv_timeout(wait)
    }
}

impl Feed for vas::frames::EncodedSubscription {
    type Item = vas::frames::EncodedFrame;
    fn next(&mut self, wait: Duration) -> vas::Result<vas::frames::EncodedFrame> {
        let until = std::time::Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if let vas::frames::EncodedDelivery::Frame(f) = self.recv_timeout(left)? {
                return Ok(f);
            }
        }
    }
}

impl Subscription {
    /// Starts delivering `feed` to `deliver` (which returns the callback's result), and
    /// `end` once when the feed ends by itself.
    pub(crate) fn start<F: Feed>(
        name: &str,
        mut feed: F,
        deliver: impl Fn(F::Item) -> Option<Result<(), ListenerError>> + Send + 'static,
        end: impl FnOnce(VasError) + Send + 'static,
    ) -> Result<Arc<Subscription>, VasError> {
        let state = Arc::new(State::default());
        let s = state.clone();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let reason = loop {
                    if s.cancelled.load(Ordering::Acquire) {
                        break None;
                    }
                    match feed.next(SLICE) {
                        Ok(item) => match deliver(item) {
                            Some(Ok(())) => {
                                s.delivered.fetch_add(1, Ordering::Relaxed);
                            }
                            Some(Err(e)) => s.failed(e),
                            None => {}
                        },
                        Err(e) if e.kind() == vas::ErrorKind::Timeout => {}
                        Err(e) => break Some(e),
                    }
                };
                s.ended.store(true, Ordering::Release);
                if let Some(e) = reason
                    && !s.cancelled.load(Ordering::Acquire)
                {
                    end(e.into());
                }
            })
            .map_err(|e| VasError::ResourceExhausted {
                message: format!("cannot start a delivery thread: {e}"),
            })?;
        Ok(Arc::new(Subscription {
            state,
            thread: Mutex::new(Some(thread)),
        }))
    }
}

#[uniffi::export]
impl Subscription {
    /// Ends the delivery; no callback starts after it returns (unless called from inside
    /// the callback, which then finishes). Cancelling twice is harmless.
    pub fn cancel(&self) {
        self.state.cancelled.store(true, Ordering::Release);
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = thread
            && t.thread().id() != std::thread::current().id()
        {
            let _ = t.join();
        }
    }

    /// Whether it still delivers.
    pub fn is_active(&self) -> bool {
        !self.state.ended.load(Ordering::Acquire) && !self.state.cancelled.load(Ordering::Acquire)
    }

    /// Items the callback took without failing.
    pub fn delivered(&self) -> u64 {
        self.state.delivered.load(Ordering::Relaxed)
    }

    /// Callbacks that failed (threw), contained.
    pub fn failures(&self) -> u64 {
        self.state.failures.load(Ordering::Relaxed)
    }

    /// The last failure's message, if any.
    pub fn last_failure(&self) -> Option<String> {
        self.state
            .last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// Delivers events to a listener.
pub(crate) fn events(
    sub: vas::EventSubscription,
    listener: Arc<dyn EventListener>,
) -> Result<Arc<Subscription>, VasError> {
    Subscription::start(
        "vas-events",
        sub,
        move |e| Event::of(e).map(|e| listener.on_event(e)),
        |_| {},
    )
}

/// Delivers a stream's frames to a listener.
pub(crate) fn frames(
    sub: vas::frames::FrameSubscription,
    listener: Arc<dyn FrameListener>,
) -> Result<Arc<Subscription>, VasError> {
    let l = listener.clone();
    Subscription::start(
        "vas-frames",
        sub,
        move |f: vas::frames::VideoFrame| {
            Some(l.on_frame(Frame {
                data: f.data().to_vec(),
                info: f.info().into(),
            }))
        },
        move |e| listener.on_end(e),
    )
}

/// Delivers a stream's encoded frames to a listener.
pub(crate) fn encoded_frames(
    sub: vas::frames::EncodedSubscription,
    listener: Arc<dyn EncodedFrameListener>,
) -> Result<Arc<Subscription>, VasError> {
    let l = listener.clone();
    Subscription::start(
        "vas-encoded",
        sub,
        move |f: vas::frames::EncodedFrame| {
            Some(l.on_frame(EncodedFrame {
                info: f.info().into(),
                data: f.data.to_vec(),
            }))
        },
        move |e| listener.on_end(e),
    )
}
