//! The encoded-frame subscription: a stream's frames as the camera sent them (no decoding),
//! shared by reference with every other consumer.
//!
//! Owns the outside face of a hub subscription: receive async, blocking with a timeout
//! from any thread (no runtime needed), or `try`. A subscriber that falls behind is skipped
//! forward to the next keyframe and told how many frames it lost; it never makes anything
//! buffer more.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use crate::hub::{Subscription, TryRecvError};
use crate::{Error, ErrorKind, Result};

pub use crate::hub::Delivery as EncodedDelivery;
pub use crate::media::{
    AudioCodec, AudioParams, Frame as EncodedFrame, NalUnits, Track, VideoCodec, VideoParams,
};

/// A subscription to a stream's encoded frames, from [`crate::Vas::encoded_frames`]. It starts
/// at the cached GOP (so the first delivery is a keyframe, at once, when the stream is
/// live) and stays subscribed across camera reconnects. Dropping it unsubscribes.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// let dir = tempfile::tempdir().unwrap();
/// let vas = vas::Vas::builder().data_dir(dir.path()).build().await?;
/// vas.add_device(vas::NewDevice::new("gate", "rtsp://10.0.0.5/stream1")).await?;
/// let stream = vas.streams(None, vas::Order::Oldest).await?[0].id;
/// let mut frames = vas.encoded_frames(stream).await?;
/// // Nothing runs yet: the wait ends at its timeout.
/// let err = frames.recv_timeout(Duration::from_millis(20)).unwrap_err();
/// assert_eq!(err.kind(), vas::ErrorKind::Timeout);
/// assert!(frames.try_recv()?.is_none());
/// # Ok::<(), vas::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct EncodedSubscription {
    sub: Subscription,
}

fn ended() -> Error {
    Error::new(
        ErrorKind::Closed,
        "the stream's frames ended: the stream was removed or the engine closed",
    )
}

impl EncodedSubscription {
    pub(crate) fn new(sub: Subscription) -> Self {
        EncodedSubscription { sub }
    }

    /// The next delivery (a frame, or how many were skipped), waiting for one. `Closed`
    /// once the stream was removed or the engine closed.
    pub async fn recv(&mut self) -> Result<EncodedDelivery> {
        self.sub.recv().await.ok_or_else(ended)
    }

    /// The next delivery, waiting at most `timeout`; usable from any thread, with or
    /// without an async runtime. `Timeout` when nothing came in time, `Closed` as
    /// [`recv`](Self::recv).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<EncodedDelivery> {
        match block_on_timeout(self.sub.recv(), timeout) {
            Some(Some(d)) => Ok(d),
            Some(None) => Err(ended()),
            None => Err(Error::new(
                ErrorKind::Timeout,
                format!("no frame within {} ms", timeout.as_millis()),
            )),
        }
    }

    /// The next delivery if one is waiting, `None` if not; `Closed` as [`recv`](Self::recv).
    pub fn try_recv(&mut self) -> Result<Option<EncodedDelivery>> {
        match self.sub.try_recv() {
            Ok(d) => Ok(Some(d)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Closed) => Err(ended()),
        }
    }
}

/// Polls `fut` on this thread, parking between wake-ups, until it is ready or `timeout`
/// has passed. Hand-written because the futures it waits on (tokio's channels) need no
/// runtime, and a runtime per blocking call would cost a thread.
pub(crate) fn block_on_timeout<F: Future>(fut: F, timeout: Duration) -> Option<F::Output> {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    let deadline = Instant::now().checked_add(timeout);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Some(v);
        }
        match deadline {
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return None;
                }
                std::thread::park_timeout(deadline - now);
            }
            None => std::thread::park(),
        }
    }
}
