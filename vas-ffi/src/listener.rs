//! Listeners: a subscription drained by a thread the library owns, which calls the C
//! callback with each item.
//!
//! Owns `vas_listener`: its thread, its stop flag and its counters. The thread never holds a
//! lock while it runs the callback, and nothing it needs lives in the handle, so from inside
//! a callback the listener can be stopped or freed (the thread finishes after the callback
//! returns), and the engine can be freed (the subscription then ends with `VAS_CLOSED`).
//! Stopping from another thread joins the thread: it waits for a running callback to return
//! plus at most [`POLL`].

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use crate::error::{
    DEAD_TAG, Fail, FfiResult, Tagged, free_handle, guard, guard_value, handle, peek,
};
use crate::result::vas_result;

/// How often an idle listener thread looks at its stop flag.
pub(crate) const POLL: Duration = Duration::from_millis(50);

/// What a listener drains: a subscription's blocking receive.
pub(crate) trait Source: Send + 'static {
    type Item;
    /// The next item within `timeout` (`Timeout` when none came).
    fn next(&mut self, timeout: Duration) -> vas::Result<Self::Item>;
    /// Items the source dropped so far because the callback was slower than it.
    fn dropped(&self) -> u64;
}

/// The caller's `user` pointer, handed back to each callback untouched.
#[derive(Clone, Copy)]
pub(crate) struct User(pub(crate) *mut c_void);

// SAFETY: the library never dereferences it; the header tells the caller that callbacks run
// on the listener's thread, so what `user` points at must be usable from there.
unsafe impl Send for User {}

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    delivered: AtomicU64,
    dropped: AtomicU64,
    thread: Mutex<Option<ThreadId>>,
    /// Why the listener ended (`None` while it runs).
    ended: Mutex<Option<(vas_result, String)>>,
    ended_cv: Condvar,
}

impl Shared {
    fn end(&self, code: vas_result, message: String) {
        let mut e = self.ended.lock().unwrap_or_else(|p| p.into_inner());
        if e.is_none() {
            *e = Some((code, message));
        }
        drop(e);
        self.ended_cv.notify_all();
    }
}

/// A callback subscription (events, decoded or encoded frames), from `vas_events_listen`,
/// `vas_frames_listen` or `vas_encoded_frames_listen`. Its callback runs on a thread the
/// library owns. Stop it with [`vas_listener_stop`], release it with [`vas_listener_free`] —
/// both are safe from inside its own callback.
pub struct vas_listener {
    tag: u64,
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Tagged for vas_listener {
    const TAG: u64 = 0x7661_736c_6973_746e; // "vaslistn"
    const WHAT: &'static str = "listener";
    fn tag(&self) -> u64 {
        self.tag
    }
}

/// Starts a thread named `name` that passes each item of `source` to `deliver`.
pub(crate) fn spawn<S: Source>(
    name: &str,
    mut source: S,
    mut deliver: impl FnMut(&S::Item) + Send + 'static,
) -> FfiResult<*mut vas_listener> {
    let shared = Arc::new(Shared::default());
    let theirs = shared.clone();
    let thread = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            *theirs.thread.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(std::thread::current().id());
            loop {
                if theirs.stop.load(Ordering::Acquire) {
                    theirs.end(vas_result::VAS_CLOSED, "the listener was stopped".into());
                    break;
                }
                let got = source.next(POLL);
                theirs.dropped.store(source.dropped(), Ordering::Relaxed);
                match got {
                    Ok(item) => {
                        if theirs.stop.load(Ordering::Acquire) {
                            continue;
                        }
                        // A panic here can only come from our side of the callback (C code
                        // cannot unwind into Rust); it ends the listener, never the process.
                        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            deliver(&item)
                        }));
                        if r.is_err() {
                            theirs.end(
                                vas_result::VAS_INTERNAL,
                                "the listener's delivery panicked; this is a bug in VAS".into(),
                            );
                            break;
                        }
                        theirs.delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) if e.kind() == vas::ErrorKind::Timeout => {}
                    Err(e) => {
                        theirs.end(vas_result::from_kind(e.kind()), e.to_string());
                        break;
                    }
                }
            }
        })
        .map_err(|e| {
            Fail::new(
                vas_result::VAS_RESOURCE_EXHAUSTED,
                format!("cannot start a listener thread: {e}"),
            )
        })?;
    Ok(Box::into_raw(Box::new(vas_listener {
        tag: vas_listener::TAG,
        shared,
        thread: Mutex::new(Some(thread)),
    })))
}

impl vas_listener {
    /// Stops the thread; joins it unless called from it.
    fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        let own = *self.shared.thread.lock().unwrap_or_else(|p| p.into_inner())
            == Some(std::thread::current().id());
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = thread {
            if own {
                drop(t); // detached: it ends once the running callback returns
            } else {
                let _ = t.join();
            }
        }
    }
}

/// Stops the listener: no callback starts after this returns (when called from another
/// thread, it waits for a running callback to return). From inside the listener's own
/// callback it returns at once and that callback is the last. Stopping twice is harmless.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_listener_stop(listener: *const vas_listener) -> vas_result {
    guard("vas_listener_stop", || {
        // SAFETY: per the header's conventions.
        unsafe { handle(listener, "listener") }?.stop();
        Ok(())
    })
}

/// Waits up to `timeout_ms` for the listener to end (stopped, or its subscription ended:
/// the stream was removed or the engine closed). `VAS_OK` when it has ended, `VAS_TIMEOUT`
/// when it still runs. Must not be called from the listener's own callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_listener_wait(
    listener: *const vas_listener,
    timeout_ms: u32,
) -> vas_result {
    guard("vas_listener_wait", || {
        // SAFETY: per the header's conventions.
        let l = unsafe { handle(listener, "listener") }?;
        let ended = l.shared.ended.lock().unwrap_or_else(|p| p.into_inner());
        let (ended, _) = l
            .shared
            .ended_cv
            .wait_timeout_while(ended, Duration::from_millis(u64::from(timeout_ms)), |e| {
                e.is_none()
            })
            .unwrap_or_else(|p| p.into_inner());
        if ended.is_none() {
            return Err(Fail::new(
                vas_result::VAS_TIMEOUT,
                format!("the listener still runs after {timeout_ms} ms"),
            ));
        }
        Ok(())
    })
}

/// `VAS_OK` while the listener runs; once it ended, the code it ended with (`VAS_CLOSED`
/// when stopped or the engine closed, `VAS_NOT_FOUND` when the stream was removed, …),
/// with the reason as the last error message.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_listener_status(listener: *const vas_listener) -> vas_result {
    guard("vas_listener_status", || {
        // SAFETY: per the header's conventions.
        let l = unsafe { handle(listener, "listener") }?;
        match &*l.shared.ended.lock().unwrap_or_else(|p| p.into_inner()) {
            None => Ok(()),
            Some((code, message)) => Err(Fail::new(*code, message.clone())),
        }
    })
}

/// Callbacks made so far.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_listener_delivered(listener: *const vas_listener) -> u64 {
    guard_value(0, || {
        // SAFETY: per the header's conventions.
        unsafe { peek(listener) }.map_or(0, |l| l.shared.delivered.load(Ordering::Relaxed))
    })
}

/// Items dropped so far because the callback was slower than the source: frames replaced
/// by newer ones or pushed out of the queue, encoded frames skipped to the next keyframe,
/// events missed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_listener_dropped(listener: *const vas_listener) -> u64 {
    guard_value(0, || {
        // SAFETY: per the header's conventions.
        unsafe { peek(listener) }.map_or(0, |l| l.shared.dropped.load(Ordering::Relaxed))
    })
}

/// Stops the listener (as [`vas_listener_stop`]) and frees the handle. NULL is ignored.
/// Safe from inside the listener's own callback (the handle must not be used after).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_listener_free(listener: *mut vas_listener) {
    guard_value((), || {
        // SAFETY: per the header's conventions.
        unsafe {
            free_handle(listener, |l| {
                l.stop();
                l.tag = DEAD_TAG;
            })
        }
    })
}
