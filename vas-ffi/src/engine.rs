//! The engine handle: open with options, close, free.
//!
//! Owns `vas_engine` and the engine's lifetime calls (`vas_open`, `vas_close`,
//! `vas_engine_free`); its options struct (`vas_engine_options`) is generated from the
//! description. The engine keeps its own runtime (`vas::Vas::open_blocking`), so C callers
//! need none; every call parks the calling thread on it, bounded by the engine's own limits.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{FfiResult, Tagged, arg_out, free_handle, guard, handle, options, write_out};
use crate::generated::vas_engine_options;
use crate::result::vas_result;

/// The engine: cameras, streams, recording, live view. Made by [`vas_open`], released by
/// [`vas_engine_free`]. One handle may be used from many threads at once.
pub struct vas_engine {
    tag: u64,
    pub(crate) vas: vas::BlockingVas,
    closed: AtomicBool,
}

impl Tagged for vas_engine {
    const TAG: u64 = 0x7661_7365_6e67_696e; // "vasengin"
    const WHAT: &'static str = "engine";
    fn tag(&self) -> u64 {
        self.tag
    }
}

/// Opens an engine: opens (and migrates) the database, prepares the media folder, recovers
/// what a crash left, and resumes the streams that were running. `options` may be NULL (every
/// default: SQLite and media under `./vas-data`, no live view); set one up with
/// `vas_engine_options_init`. `*out` receives the engine; release it with
/// [`vas_engine_free`].
///
/// Errors: `VAS_INVALID_INPUT` (a malformed database URL or WebRTC address),
/// `VAS_UNAVAILABLE` (the database cannot be reached), the disk's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_open(
    options: *const vas_engine_options,
    out: *mut *mut vas_engine,
) -> vas_result {
    guard("vas_open", || {
        let out = arg_out(out, "out")?;
        // SAFETY: per the header's conventions.
        let o = unsafe { self::options(options, vas_engine_options::default(), "options") }?;
        // SAFETY: the struct's strings, per the header's conventions.
        let o = unsafe { o.to_vas() }?;
        let vas = vas::Vas::open_blocking(o)?;
        write_out(
            out,
            Box::into_raw(Box::new(vas_engine {
                tag: vas_engine::TAG,
                vas: vas.blocking(),
                closed: AtomicBool::new(false),
            })),
        );
        Ok(())
    })
}

/// Closes the engine without freeing the handle: streams stop, subscriptions and listeners
/// end (with `VAS_CLOSED`), recordings are finished. Bounded (a few seconds at most, even
/// with a stuck camera or disk). Later calls on the engine answer `VAS_CLOSED`; closing
/// twice is harmless. Safe from inside a callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_close(engine: *const vas_engine) -> vas_result {
    guard("vas_close", || {
        // SAFETY: per the header's conventions.
        let e = unsafe { handle(engine, "engine") }?;
        e.close();
        Ok(())
    })
}

impl vas_engine {
    fn close(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            self.vas.close();
        }
    }
}

/// Closes the engine (as [`vas_close`]) and frees the handle. NULL is ignored.
/// Subscriptions, listeners, frames and other handles made from it stay valid to use and
/// free (they report `VAS_CLOSED`). Safe from inside a callback, including one of this
/// engine's listeners.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_engine_free(engine: *mut vas_engine) {
    let _ = guard("vas_engine_free", || {
        // SAFETY: per the header's conventions.
        unsafe {
            free_handle(engine, |e| {
                e.close();
                e.tag = crate::error::DEAD_TAG;
            })
        };
        Ok(())
    });
}

/// The engine of a handle argument.
pub(crate) unsafe fn engine_of<'a>(p: *const vas_engine) -> FfiResult<&'a vas::BlockingVas> {
    // SAFETY: forwarded contract.
    Ok(&unsafe { handle(p, "engine") }?.vas)
}
