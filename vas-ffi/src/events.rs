//! The engine's events: pulled with a timeout (`vas_event_sub`) or by callback.
//!
//! Owns the event subscription and the callback source; the event itself (`vas_event`, one
//! record per kind) is generated from the description. The bus is bounded: a consumer that
//! falls behind gets a `missed` event saying how many it lost, never an unbounded backlog.

use std::ffi::c_void;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use vas::{Event, EventSubscription};

use crate::engine::{engine_of, vas_engine};
use crate::error::{
    DEAD_TAG, Fail, Tagged, arg_out, free_handle, guard, guard_value, handle, write_out,
};
use crate::generated::vas_event;
use crate::listener::{Source, User, spawn, vas_listener};
use crate::result::vas_result;

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
/// A callback slower than the events gets a `missed` event (also counted by
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
