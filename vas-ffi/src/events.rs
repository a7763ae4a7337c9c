//! The engine's events: pulled with a timeout (`vas_event_sub`) or by callback.
//!
//! Owns `vas_event` (one event, flattened into the fields every kind shares) and the event
//! subscription. The bus is bounded: a consumer that falls behind gets a
//! `VAS_EVENT_MISSED` saying how many it lost, never an unbounded backlog.

use std::ffi::{CString, c_char, c_void};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use vas::{Event, EventSubscription};

use crate::engine::{engine_of, vas_engine};
use crate::error::{
    DEAD_TAG, Fail, Kill, Tagged, arg_out, free_handle, guard, guard_value, handle, item_free,
    keep, kept_ptr, micros, peek, vas_id, write_out,
};
use crate::listener::{Source, User, spawn, vas_listener};
use crate::result::vas_result;

/// What an event is about.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum vas_event_kind {
    /// A stream's ingest state changed; `state` is the new one, `message` the error.
    VAS_EVENT_STREAM_STATE = 1,
    /// A recorder changed state or started a recording (`object`: the recording).
    VAS_EVENT_RECORDER = 2,
    /// A WebRTC viewer's media started (`viewer`).
    VAS_EVENT_VIEWER_JOINED = 3,
    /// A viewer left (`message`: why).
    VAS_EVENT_VIEWER_LEFT = 4,
    /// A snapshot was saved (`object`: the snapshot).
    VAS_EVENT_SNAPSHOT_SAVED = 5,
    /// A bookmark is pending, ready or failed (`object`: the bookmark, `message`: detail).
    VAS_EVENT_BOOKMARK = 6,
    /// This consumer fell behind and lost `vas_event_missed` events.
    VAS_EVENT_MISSED = 7,
    /// A kind this version of the ABI does not know.
    VAS_EVENT_OTHER = 99,
}

/// One event. Pulled events are the caller's (free with [`vas_event_free`]); one passed to a
/// callback is lent for the call.
pub struct vas_event {
    tag: u64,
    owned: bool,
    kind: vas_event_kind,
    stream: vas_id,
    object: vas_id,
    viewer: u64,
    state: Option<CString>,
    message: Option<CString>,
    time_us: i64,
    missed: u64,
}

impl Kill for vas_event {
    fn kill(&mut self) {
        self.tag = DEAD_TAG;
    }
}

impl Tagged for vas_event {
    const TAG: u64 = 0x7661_7365_7665_6e74; // "vasevent"
    const WHAT: &'static str = "event";
    fn tag(&self) -> u64 {
        self.tag
    }
}

impl vas_event {
    fn of(e: &Event, owned: bool) -> vas_event {
        let mut out = vas_event {
            tag: Self::TAG,
            owned,
            kind: vas_event_kind::VAS_EVENT_OTHER,
            stream: e.stream().map_or_else(vas_id::default, |s| vas_id::of(s.0)),
            object: vas_id::default(),
            viewer: 0,
            state: None,
            message: None,
            time_us: 0,
            missed: 0,
        };
        match e {
            Event::StreamState {
                state, error, at, ..
            } => {
                out.kind = vas_event_kind::VAS_EVENT_STREAM_STATE;
                out.state = Some(keep(state.as_str()));
                out.message = error.as_deref().map(keep);
                out.time_us = micros(*at);
            }
            Event::Recorder {
                state,
                recording,
                error,
                at,
                ..
            } => {
                out.kind = vas_event_kind::VAS_EVENT_RECORDER;
                out.state = Some(keep(state.as_str()));
                out.object = recording.map_or_else(vas_id::default, |r| vas_id::of(r.0));
                out.message = error.as_deref().map(keep);
                out.time_us = micros(*at);
            }
            Event::ViewerJoined { viewer, at, .. } => {
                out.kind = vas_event_kind::VAS_EVENT_VIEWER_JOINED;
                out.viewer = viewer.0;
                out.time_us = micros(*at);
            }
            Event::ViewerLeft {
                viewer, reason, at, ..
            } => {
                out.kind = vas_event_kind::VAS_EVENT_VIEWER_LEFT;
                out.viewer = viewer.0;
                out.message = Some(keep(reason));
                out.time_us = micros(*at);
            }
            Event::SnapshotSaved {
                snapshot, taken_at, ..
            } => {
                out.kind = vas_event_kind::VAS_EVENT_SNAPSHOT_SAVED;
                out.object = vas_id::of(snapshot.0);
                out.time_us = micros(*taken_at);
            }
            Event::Bookmark {
                bookmark,
                state,
                detail,
                at,
                ..
            } => {
                out.kind = vas_event_kind::VAS_EVENT_BOOKMARK;
                out.object = vas_id::of(bookmark.0);
                out.state = Some(keep(state.as_str()));
                out.message = detail.as_deref().map(keep);
                out.time_us = micros(*at);
            }
            Event::Missed { events } => {
                out.kind = vas_event_kind::VAS_EVENT_MISSED;
                out.missed = *events;
            }
            _ => {}
        }
        out
    }
}

/// A pull subscription to the engine's events, from [`vas_events_subscribe`]: it sees what
/// happens after it was made.
pub struct vas_event_sub {
    tag: u64,
    sub: Mutex<EventSubscription>,
}

impl Tagged for vas_event_sub {
    const TAG: u64 = 0x7661_7365_7375_6273; // "vasesubs"
    const WHAT: &'static str = "event_sub";
    fn tag(&self) -> u64 {
        self.tag
    }
}

/// Subscribes to the engine's events. Free `*out` with [`vas_event_sub_free`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_events_subscribe(
    engine: *const vas_engine,
    out: *mut *mut vas_event_sub,
) -> vas_result {
    guard("vas_events_subscribe", || {
        let out = arg_out(out, "out")?;
        // SAFETY: per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let sub = vas.events();
        write_out(
            out,
            Box::into_raw(Box::new(vas_event_sub {
                tag: vas_event_sub::TAG,
                sub: Mutex::new(sub),
            })),
        );
        Ok(())
    })
}

/// The next event within `timeout_ms` (0: only one already waiting). `VAS_TIMEOUT` when
/// none came, `VAS_CLOSED` once the engine closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_event_sub_next(
    sub: *const vas_event_sub,
    timeout_ms: u32,
    out: *mut *mut vas_event,
) -> vas_result {
    guard("vas_event_sub_next", || {
        let out = arg_out(out, "out")?;
        // SAFETY: per the header's conventions.
        let s = unsafe { handle(sub, "sub") }?;
        let mut sub = s.sub.lock().unwrap_or_else(|p| p.into_inner());
        let e = sub.recv_timeout(Duration::from_millis(u64::from(timeout_ms)))?;
        write_out(out, Box::into_raw(Box::new(vas_event::of(&e, true))));
        Ok(())
    })
}

/// Frees an event subscription (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_event_sub_free(sub: *mut vas_event_sub) {
    // SAFETY: per the header's conventions.
    guard_value((), || unsafe { free_handle(sub, |s| s.tag = DEAD_TAG) })
}

/// Called with each event, on the listener's thread; `event` is lent for the call.
pub type vas_event_callback =
    Option<unsafe extern "C" fn(user: *mut c_void, event: *const vas_event)>;

struct EventSource {
    sub: EventSubscription,
    missed: AtomicU64,
}

impl Source for EventSource {
    type Item = Event;
    fn next(&mut self, timeout: Duration) -> vas::Result<Event> {
        let e = self.sub.recv_timeout(timeout)?;
        if let Event::Missed { events } = e {
            self.missed.fetch_add(events, Ordering::Relaxed);
        }
        Ok(e)
    }
    fn dropped(&self) -> u64 {
        self.missed.load(Ordering::Relaxed)
    }
}

/// Calls `callback(user, event)` with each event of the engine on a thread the library owns.
/// A callback slower than the events gets a `VAS_EVENT_MISSED` (also counted by
/// `vas_listener_dropped`). `*out` is the listener; free it with `vas_listener_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_events_listen(
    engine: *const vas_engine,
    callback: vas_event_callback,
    user: *mut c_void,
    out: *mut *mut vas_listener,
) -> vas_result {
    guard("vas_events_listen", || {
        let out = arg_out(out, "out")?;
        let callback = callback.ok_or_else(|| Fail::invalid("callback is NULL"))?;
        // SAFETY: per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let source = EventSource {
            sub: vas.events(),
            missed: AtomicU64::new(0),
        };
        let user = User(user);
        let listener = spawn("vas-cb-events", source, move |e: &Event| {
            let lent = vas_event::of(e, false);
            let user = user;
            // SAFETY: the caller's callback, with its pointer and an event that lives for
            // the call.
            unsafe { callback(user.0, &lent) };
        })?;
        write_out(out, listener);
        Ok(())
    })
}

/// Frees a pulled event (NULL and lent events are ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_event_free(event: *mut vas_event) {
    // SAFETY: per the header's conventions; lent events are skipped.
    unsafe { item_free(event, |x| x.owned) }
}

/// The event's kind (`VAS_EVENT_OTHER` for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_event_kind_of(event: *const vas_event) -> vas_event_kind {
    guard_value(vas_event_kind::VAS_EVENT_OTHER, || {
        // SAFETY: per the header's conventions.
        unsafe { peek(event) }.map_or(vas_event_kind::VAS_EVENT_OTHER, |e| e.kind)
    })
}

/// The stream it is about (all zero when none, as for `VAS_EVENT_MISSED`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_event_stream(event: *const vas_event) -> vas_id {
    // SAFETY: per the header's conventions.
    guard_value(vas_id::default(), || {
        unsafe { peek(event) }.map_or_else(vas_id::default, |e| e.stream)
    })
}

/// The recording, snapshot or bookmark it is about (all zero when none).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_event_object(event: *const vas_event) -> vas_id {
    // SAFETY: per the header's conventions.
    guard_value(vas_id::default(), || {
        unsafe { peek(event) }.map_or_else(vas_id::default, |e| e.object)
    })
}

/// The viewer of a viewer event (0 otherwise).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_event_viewer(event: *const vas_event) -> u64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(event) }.map_or(0, |e| e.viewer))
}

/// The new state's name (`"live"`, `"recording"`, `"ready"`, …), or NULL for kinds without
/// one.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_event_state(event: *const vas_event) -> *const c_char {
    // SAFETY: per the header's conventions.
    guard_value(std::ptr::null(), || {
        unsafe { peek(event) }.map_or(std::ptr::null(), |e| kept_ptr(&e.state))
    })
}

/// The error, reason or detail that came with it, or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_event_message(event: *const vas_event) -> *const c_char {
    // SAFETY: per the header's conventions.
    guard_value(std::ptr::null(), || {
        unsafe { peek(event) }.map_or(std::ptr::null(), |e| kept_ptr(&e.message))
    })
}

/// When it happened, µs since the Unix epoch (0 for `VAS_EVENT_MISSED`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_event_time_us(event: *const vas_event) -> i64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(event) }.map_or(0, |e| e.time_us))
}

/// Events lost, for `VAS_EVENT_MISSED` (0 otherwise).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_event_missed(event: *const vas_event) -> u64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(event) }.map_or(0, |e| e.missed))
}
