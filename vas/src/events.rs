//! The engine's one event stream: what happened to streams, recorders and viewers, in order.
//!
//! Owns the [`Event`] type, the bounded bus every part of the engine publishes to
//! (`EventBus`, synchronous: publishing never waits and never needs a runtime), and the
//! subscriber side ([`EventSubscription`]): async, blocking with a timeout from any thread,
//! and `try`. The bus keeps the last [`EVENT_BUFFER`] events; a subscriber that falls further
//! behind gets one [`Event::Missed`] saying how many it lost, then continues with the oldest
//! event still kept. Hand-written (a ring and a condition variable) because tokio's broadcast
//! channel has no blocking receive with a timeout, which the C and Python shells need.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let vas = vas::Vas::builder().data_dir(dir.path()).build().await?;
//! let mut events = vas.events();
//! let cam = vas.add_device(vas::NewDevice::new("door", "rtsp://10.0.0.9/main")).await?;
//! let stream = vas.streams(None, vas::Order::Oldest).await?[0].id;
//! vas.start_stream(stream).await?;
//! match events.recv().await? {
//!     vas::Event::StreamState { stream_id: s, state, .. } => {
//!         assert_eq!(s, stream);
//!         assert_eq!(state, vas::StreamState::Connecting);
//!     }
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), vas::Error>(())
//! # }).unwrap();
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::model::RecorderState;
use crate::model::StreamState;
use crate::model::{BookmarkId, BookmarkState, RecordingId, SnapshotId, StreamId};
use crate::sfu::ViewerId;
use crate::{Error, ErrorKind, Result};

/// Events kept for subscribers that are momentarily behind.
pub const EVENT_BUFFER: usize = 1024;

/// Something that happened in the engine. Each variant's name ([`Event::kind`]) is the same in
/// every shell; its JSON form is an object with that name as `kind` beside the fields.
#[derive(Debug, Clone, PartialEq, serde::Serialize, vas_macros::Union)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A stream's ingest state changed (connecting, live, reconnecting, failed, stopped).
    StreamState {
        /// The stream.
        stream_id: StreamId,
        /// Its new state.
        state: StreamState,
        /// The error behind it, if any (credentials masked).
        error: Option<String>,
        /// When it changed.
        at: DateTime<Utc>,
    },
    /// A stream's recorder changed state or started a new recording.
    Recorder {
        /// The stream.
        stream_id: StreamId,
        /// The recorder's new state.
        state: RecorderState,
        /// The recording being written, if any.
        recording_id: Option<RecordingId>,
        /// The last error, if the recorder is failing.
        error: Option<String>,
        /// When it changed.
        at: DateTime<Utc>,
    },
    /// A WebRTC viewer's media started flowing.
    ViewerJoined {
        /// The stream watched.
        stream_id: StreamId,
        /// The viewer.
        viewer: ViewerId,
        /// When.
        at: DateTime<Utc>,
    },
    /// A WebRTC viewer left, was closed, or failed.
    ViewerLeft {
        /// The stream watched.
        stream_id: StreamId,
        /// The viewer.
        viewer: ViewerId,
        /// Why, in words (closed, timed out, failed: …).
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A snapshot was saved (its file and row exist).
    SnapshotSaved {
        /// The stream.
        stream_id: StreamId,
        /// The saved snapshot.
        snapshot_id: SnapshotId,
        /// Capture time of the frame it shows.
        taken_at: DateTime<Utc>,
    },
    /// A bookmark was made (`pending`), or its clip is ready or failed.
    Bookmark {
        /// The stream.
        stream_id: StreamId,
        /// The bookmark.
        bookmark_id: BookmarkId,
        /// Its new state.
        state: BookmarkState,
        /// Why it failed, or what a ready clip lacks.
        detail: Option<String>,
        /// When it changed.
        at: DateTime<Utc>,
    },
    /// This subscriber fell behind and lost `events` events (the bus keeps the last
    /// [`EVENT_BUFFER`]); what follows is the oldest event still kept.
    Missed {
        /// Events lost.
        events: u64,
    },
}

impl Event {
    /// The stream the event is about, if any.
    pub fn stream(&self) -> Option<StreamId> {
        match self {
            Event::StreamState { stream_id, .. }
            | Event::Recorder { stream_id, .. }
            | Event::ViewerJoined { stream_id, .. }
            | Event::ViewerLeft { stream_id, .. }
            | Event::SnapshotSaved { stream_id, .. }
            | Event::Bookmark { stream_id, .. } => Some(*stream_id),
            Event::Missed { .. } => None,
        }
    }
}

/// The engine's bus; cheap to clone, all clones are one bus. (Reachable for tests of the
/// ingest internals; embedders get events from `Vas::events`.)
#[derive(Debug, Clone)]
pub(crate) struct EventBus {
    inner: Arc<Bus>,
}

#[derive(Debug)]
struct Bus {
    capacity: usize,
    state: Mutex<BusState>,
    ready: Condvar,
    notify: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct BusState {
    /// The kept events; the first has sequence number `first`.
    events: VecDeque<Event>,
    first: u64,
    closed: bool,
}

impl BusState {
    fn next(&self) -> u64 {
        self.first + self.events.len() as u64
    }
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new(EVENT_BUFFER)
    }
}

impl EventBus {
    /// A bus keeping the last `capacity` events.
    pub fn new(capacity: usize) -> Self {
        EventBus {
            inner: Arc::new(Bus {
                capacity: capacity.max(1),
                state: Mutex::new(BusState::default()),
                ready: Condvar::new(),
                notify: tokio::sync::Notify::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BusState> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds an event for every subscriber. Never waits.
    pub fn publish(&self, event: Event) {
        let mut st = self.lock();
        if st.closed {
            return;
        }
        if st.events.len() == self.inner.capacity {
            st.events.pop_front();
            st.first += 1;
        }
        st.events.push_back(event);
        drop(st);
        self.wake();
    }

    fn wake(&self) {
        self.inner.ready.notify_all();
        self.inner.notify.notify_waiters();
    }

    /// A subscriber that sees every event published from now on.
    pub fn subscribe(&self) -> EventSubscription {
        let next = self.lock().next();
        EventSubscription {
            bus: self.clone(),
            next,
        }
    }

    /// Ends every subscription once it has read what is kept (the engine closed).
    pub fn close(&self) {
        self.lock().closed = true;
        self.wake();
    }
}

/// One reader of the engine's events. Each subscription reads every event on its own; a
/// slow one only misses events (and is told so), it never slows the engine or other readers.
#[derive(Debug)]
pub struct EventSubscription {
    bus: EventBus,
    /// Sequence number of the next event to read.
    next: u64,
}

impl EventSubscription {
    fn take(&mut self, st: &BusState) -> Option<Result<Event>> {
        if self.next < st.first {
            let events = st.first - self.next;
            self.next = st.first;
            return Some(Ok(Event::Missed { events }));
        }
        if let Some(e) = st.events.get((self.next - st.first) as usize) {
            self.next += 1;
            return Some(Ok(e.clone()));
        }
        st.closed
            .then(|| Err(Error::new(ErrorKind::Closed, "the engine was closed")))
    }

    /// The next event, waiting as long as it takes (`Closed` once the engine is closed and
    /// everything kept was read).
    pub async fn recv(&mut self) -> Result<Event> {
        loop {
            let bus = self.bus.clone();
            let notified = bus.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let taken = self.take(&bus.lock());
            if let Some(r) = taken {
                return r;
            }
            notified.await;
        }
    }

    /// The next event, waiting at most `timeout` (`Timeout` then). Blocks the calling thread;
    /// usable from any thread, with or without an async runtime.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Event> {
        let deadline = Instant::now() + timeout;
        let bus = self.bus.clone();
        let mut st = bus.lock();
        loop {
            if let Some(r) = self.take(&st) {
                return r;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("no event within {} ms", timeout.as_millis()),
                ));
            }
            st = bus
                .inner
                .ready
                .wait_timeout(st, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// An event if one is waiting: `Ok(None)` when none is, `Closed` when the engine closed.
    pub fn try_recv(&mut self) -> Result<Option<Event>> {
        let bus = self.bus.clone();
        let st = bus.lock();
        self.take(&st).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(stream: StreamId, state: StreamState) -> Event {
        Event::StreamState {
            stream_id: stream,
            state,
            error: None,
            at: Utc::now(),
        }
    }

    #[test]
    fn every_subscriber_reads_every_event_in_order() {
        let bus = EventBus::new(8);
        let s = StreamId::new();
        let mut a = bus.subscribe();
        bus.publish(state(s, StreamState::Connecting));
        let mut b = bus.subscribe();
        bus.publish(state(s, StreamState::Live));
        assert!(matches!(
            a.try_recv().unwrap(),
            Some(Event::StreamState {
                state: StreamState::Connecting,
                ..
            })
        ));
        assert!(matches!(
            a.try_recv().unwrap(),
            Some(Event::StreamState {
                state: StreamState::Live,
                ..
            })
        ));
        assert_eq!(a.try_recv().unwrap(), None);
        // A subscriber sees what was published after it subscribed.
        assert!(matches!(
            b.recv_timeout(Duration::from_millis(10)).unwrap(),
            Event::StreamState {
                state: StreamState::Live,
                ..
            }
        ));
        let e = b.recv_timeout(Duration::from_millis(20)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
    }

    #[test]
    fn a_slow_subscriber_is_told_what_it_missed_and_memory_stays_bounded() {
        let bus = EventBus::new(4);
        let s = StreamId::new();
        let mut slow = bus.subscribe();
        for _ in 0..10 {
            bus.publish(state(s, StreamState::Live));
        }
        assert_eq!(bus.lock().events.len(), 4);
        assert_eq!(slow.try_recv().unwrap(), Some(Event::Missed { events: 6 }));
        for _ in 0..4 {
            assert!(matches!(
                slow.try_recv().unwrap(),
                Some(Event::StreamState { .. })
            ));
        }
        assert_eq!(slow.try_recv().unwrap(), None);
    }

    #[test]
    fn blocking_receive_wakes_for_an_event_from_another_thread_and_ends_on_close() {
        let bus = EventBus::new(4);
        let mut sub = bus.subscribe();
        let publisher = bus.clone();
        let s = StreamId::new();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            publisher.publish(state(s, StreamState::Failed));
            publisher.close();
        });
        let start = Instant::now();
        let e = sub.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(start.elapsed() < Duration::from_secs(2));
        assert_eq!(e.stream(), Some(s));
        t.join().unwrap();
        assert_eq!(
            sub.recv_timeout(Duration::from_secs(1)).unwrap_err().kind(),
            ErrorKind::Closed
        );
        assert_eq!(sub.try_recv().unwrap_err().kind(), ErrorKind::Closed);
    }

    #[tokio::test]
    async fn async_receive_waits_for_the_next_event() {
        let bus = EventBus::new(4);
        let mut sub = bus.subscribe();
        let publisher = bus.clone();
        let s = StreamId::new();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            publisher.publish(state(s, StreamState::Live));
        });
        let e = tokio::time::timeout(Duration::from_secs(5), sub.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(e.stream(), Some(s));
    }
}
