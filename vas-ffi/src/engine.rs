//! The engine handle: create with options, close, free.
//!
//! Owns `vas_engine` and its options struct. The engine keeps its own runtime (created by
//! `vas::VasBuilder::build_blocking`), so C callers need none; every call parks the calling
//! thread on it, bounded by the engine's own limits.

use std::ffi::c_char;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{
    Fail, FfiResult, Tagged, arg_out, free_handle, guard, handle, opt_str, write_out,
};
use crate::result::vas_result;

/// The engine: cameras, streams, recording, live view. Made by [`vas_engine_new`], released
/// by [`vas_engine_free`]. One handle may be used from many threads at once.
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

/// How to create an engine. Initialise with [`vas_engine_options_init`], then set fields.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vas_engine_options {
    /// `sizeof(vas_engine_options)`, set by the init function (lets the struct grow).
    pub struct_size: u32,
    /// Reserved; zero.
    pub flags: u32,
    /// Folder for the SQLite database and, by default, media (NULL: `./vas-data`).
    pub data_dir: *const c_char,
    /// Database URL, `sqlite://…` or `postgres://…` (NULL: SQLite in `data_dir`).
    pub database_url: *const c_char,
    /// Folder for recordings, snapshots and clips (NULL: `data_dir/media`).
    pub media_dir: *const c_char,
    /// Address the WebRTC service binds for live view, e.g. `"0.0.0.0:8189"` or
    /// `"127.0.0.1:0"` (NULL: no WebRTC; `vas_webrtc_answer` then answers `VAS_UNAVAILABLE`).
    pub webrtc_bind: *const c_char,
    /// An IP address to advertise to viewers besides the bound one (the public address of
    /// a 1:1 NAT), or NULL.
    pub webrtc_public_ip: *const c_char,
}

impl Default for vas_engine_options {
    fn default() -> Self {
        vas_engine_options {
            struct_size: std::mem::size_of::<vas_engine_options>() as u32,
            flags: 0,
            data_dir: std::ptr::null(),
            database_url: std::ptr::null(),
            media_dir: std::ptr::null(),
            webrtc_bind: std::ptr::null(),
            webrtc_public_ip: std::ptr::null(),
        }
    }
}

/// Sets `*options` to the defaults (and its `struct_size`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_engine_options_init(options: *mut vas_engine_options) -> vas_result {
    guard("vas_engine_options_init", || {
        let out = arg_out(options, "options")?;
        write_out(out, vas_engine_options::default());
        Ok(())
    })
}

/// Starts an engine: opens (and migrates) the database, prepares the media folder, resumes
/// streams that were running. `options` may be NULL (all defaults). On success `*out` is
/// the engine; release it with [`vas_engine_free`].
///
/// Errors: `VAS_INVALID_INPUT` (a bad URL or address), `VAS_UNAVAILABLE` (the database
/// cannot be reached), `VAS_PERMISSION_DENIED` (the media folder cannot be written).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_engine_new(
    options: *const vas_engine_options,
    out: *mut *mut vas_engine,
) -> vas_result {
    guard("vas_engine_new", || {
        let out = arg_out(out, "out")?;
        // SAFETY: per the header's conventions.
        let o =
            unsafe { crate::error::options(options, vas_engine_options::default(), "options") }?;
        let vas = build(&o)?;
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

fn build(o: &vas_engine_options) -> FfiResult<vas::Vas> {
    let mut builder = vas::Vas::builder();
    // SAFETY (each `opt_str`): NULL or NUL-terminated strings, per the field docs.
    if let Some(d) = unsafe { opt_str(o.data_dir, "options->data_dir") }? {
        builder = builder.data_dir(d);
    }
    if let Some(u) = unsafe { opt_str(o.database_url, "options->database_url") }? {
        builder = builder.database_url(u);
    }
    if let Some(m) = unsafe { opt_str(o.media_dir, "options->media_dir") }? {
        builder = builder.media_dir(m);
    }
    if let Some(bind) = unsafe { opt_str(o.webrtc_bind, "options->webrtc_bind") }? {
        let bind = bind.parse().map_err(|e| {
            Fail::invalid(format!(
                "options->webrtc_bind {bind:?} is not an address (ip:port): {e}"
            ))
        })?;
        let mut webrtc = vas::config::WebRtcConfig {
            bind,
            ..Default::default()
        };
        if let Some(ip) = unsafe { opt_str(o.webrtc_public_ip, "options->webrtc_public_ip") }? {
            webrtc.public_ips.push(ip.parse().map_err(|e| {
                Fail::invalid(format!(
                    "options->webrtc_public_ip {ip:?} is not an IP address: {e}"
                ))
            })?);
        }
        builder = builder.webrtc(webrtc);
    }
    Ok(builder.build_blocking()?)
}

/// Closes the engine without freeing the handle: streams stop, subscriptions and listeners
/// end (with `VAS_CLOSED`), recordings are finished. Bounded (a few seconds at most, even
/// with a stuck camera or disk). Later calls on the engine answer `VAS_CLOSED`; closing
/// twice is harmless. Safe from inside a callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_engine_close(engine: *const vas_engine) -> vas_result {
    guard("vas_engine_close", || {
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

/// Closes the engine (as [`vas_engine_close`]) and frees the handle. NULL is ignored.
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
