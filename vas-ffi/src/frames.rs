//! Frames: decoded pictures (`vas_frame`) and the camera's encoded frames
//! (`vas_encoded_frame`), pulled with a timeout or delivered to a callback.
//!
//! Owns the two frame handles (each holds one reference to the library's shared buffer:
//! retaining copies no pixels), their data and planes, the pull subscriptions and the
//! callback sources. What a frame says about itself (`vas::FrameInfo`,
//! `vas::EncodedFrameInfo`) has generated getters (`vas_frame_width`, …).

use std::ffi::c_void;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use vas::frames::{
    EncodedDelivery, EncodedFrame, EncodedSubscription, FrameSubscription, Plane, VideoFrame,
};

use crate::engine::{engine_of, vas_engine};
use crate::error::{
    DEAD_TAG, Fail, FfiResult, Kill, Tagged, arg_out, free_handle, guard, guard_value, handle,
    item_free, options, peek, vas_id, write_out,
};
use crate::generated::vas_frame_options;
use crate::listener::{Source, User, spawn, vas_listener};
use crate::result::vas_result;

unsafe fn frame_options(p: *const vas_frame_options) -> FfiResult<vas::FrameOptions> {
    // SAFETY: forwarded contract.
    let o = unsafe { options(p, vas_frame_options::default(), "options") }?;
    // SAFETY: the struct holds no pointers.
    let f = unsafe { o.to_vas() }?;
    f.validate()?;
    Ok(f)
}

/// One decoded picture. Pulled frames are the caller's (release with
/// [`vas_frame_release`]); a frame passed to a callback is lent for the call (retain it
/// with [`vas_frame_retain`] to keep it). The pixels stay valid while the handle lives,
/// also after the subscription or the engine is gone.
pub struct vas_frame {
    tag: u64,
    owned: bool,
    frame: VideoFrame,
    planes: Vec<Plane>,
}

impl Kill for vas_frame {
    fn kill(&mut self) {
        self.tag = DEAD_TAG;
    }
}

impl Tagged for vas_frame {
    const TAG: u64 = 0x7661_7366_7261_6d65; // "vasframe"
    const WHAT: &'static str = "frame";
    fn tag(&self) -> u64 {
        self.tag
    }
}

impl vas_frame {
    fn new(frame: VideoFrame, owned: bool) -> vas_frame {
        vas_frame {
            tag: Self::TAG,
            owned,
            planes: frame.planes(),
            frame,
        }
    }

    /// What the frame says about itself (its generated getters read this).
    pub(crate) fn info(&self) -> vas::FrameInfo {
        self.frame.info()
    }
}

/// One plane of a frame: `data + offset` is its first row, rows are `stride` bytes apart.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct vas_plane {
    /// Byte offset of the plane in the frame's data.
    pub offset: usize,
    /// Bytes from one row to the next.
    pub stride: usize,
    /// Rows in the plane.
    pub rows: usize,
}

/// A pull subscription to a stream's decoded frames, from [`vas_frames_subscribe`].
/// Freeing it unsubscribes (the decoder stops with its last subscriber).
pub struct vas_frame_sub {
    tag: u64,
    sub: Mutex<FrameSubscription>,
}

impl Tagged for vas_frame_sub {
    const TAG: u64 = 0x7661_7366_7375_6273; // "vasfsubs"
    const WHAT: &'static str = "frame_sub";
    fn tag(&self) -> u64 {
        self.tag
    }
}

/// Subscribes to a stream's decoded frames (`options` may be NULL: the defaults). Frames
/// come once the stream is live (start it with `vas_start_stream`), from its cached
/// keyframe on, and keep coming across reconnects.
///
/// Errors: `VAS_NOT_FOUND` (no such stream), `VAS_INVALID_INPUT` (bad options).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_frames_subscribe(
    engine: *const vas_engine,
    stream: vas_id,
    options: *const vas_frame_options,
    out: *mut *mut vas_frame_sub,
) -> vas_result {
    guard("vas_frames_subscribe", || {
        let out = arg_out(out, "out")?;
        // SAFETY (both): per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let opts = unsafe { frame_options(options) }?;
        let sub = vas.frames(vas::StreamId(stream.uuid()), opts)?;
        write_out(
            out,
            Box::into_raw(Box::new(vas_frame_sub {
                tag: vas_frame_sub::TAG,
                sub: Mutex::new(sub),
            })),
        );
        Ok(())
    })
}

/// The next frame, waiting at most `timeout_ms` (0: only what is already there). On
/// success `*out` is the caller's; release it with [`vas_frame_release`].
///
/// Errors: `VAS_TIMEOUT` (none arrived: the camera may be reconnecting; the subscription
/// stays good), `VAS_CLOSED` (the engine closed), `VAS_NOT_FOUND` (the stream was removed),
/// `VAS_UNSUPPORTED` (the stream's codec cannot be decoded; once, then frames resume if it
/// changes).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_frame_sub_next(
    sub: *const vas_frame_sub,
    timeout_ms: u32,
    out: *mut *mut vas_frame,
) -> vas_result {
    guard("vas_frame_sub_next", || {
        let out = arg_out(out, "out")?;
        // SAFETY: per the header's conventions.
        let s = unsafe { handle(sub, "sub") }?;
        let mut sub = s.sub.lock().unwrap_or_else(|p| p.into_inner());
        let frame = sub.recv_timeout(Duration::from_millis(u64::from(timeout_ms)))?;
        write_out(out, Box::into_raw(Box::new(vas_frame::new(frame, true))));
        Ok(())
    })
}

/// Frames dropped unread so far (replaced by a newer one, or pushed out of the queue).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_frame_sub_dropped(sub: *const vas_frame_sub) -> u64 {
    guard_value(0, || {
        // SAFETY: per the header's conventions.
        unsafe { peek(sub) }.map_or(0, |s| {
            s.sub.lock().unwrap_or_else(|p| p.into_inner()).dropped()
        })
    })
}

/// Frees a frame subscription (NULL is ignored). Must not race a `vas_frame_sub_next` on
/// the same handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_frame_sub_free(sub: *mut vas_frame_sub) {
    // SAFETY: per the header's conventions.
    guard_value((), || unsafe { free_handle(sub, |s| s.tag = DEAD_TAG) })
}

/// Called with each decoded frame, on the listener's thread; `frame` is lent for the call.
pub type vas_frame_callback =
    Option<unsafe extern "C" fn(user: *mut c_void, frame: *const vas_frame)>;

struct FrameSource(FrameSubscription);

impl Source for FrameSource {
    type Item = VideoFrame;
    fn next(&mut self, timeout: Duration) -> vas::Result<VideoFrame> {
        self.0.recv_timeout(timeout)
    }
    fn dropped(&self) -> u64 {
        self.0.dropped()
    }
}

/// Calls `callback(user, frame)` with each decoded frame of `stream` on a thread the
/// library owns (`options` as for [`vas_frames_subscribe`]; with the default newest-only
/// strategy a slow callback sees fewer, fresher frames, and the rest are counted by
/// `vas_listener_dropped`). `*out` is the listener; free it with `vas_listener_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_frames_listen(
    engine: *const vas_engine,
    stream: vas_id,
    options: *const vas_frame_options,
    callback: vas_frame_callback,
    user: *mut c_void,
    out: *mut *mut vas_listener,
) -> vas_result {
    guard("vas_frames_listen", || {
        let out = arg_out(out, "out")?;
        let callback = callback.ok_or_else(|| Fail::invalid("callback is NULL"))?;
        // SAFETY (both): per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let opts = unsafe { frame_options(options) }?;
        let sub = vas.frames(vas::StreamId(stream.uuid()), opts)?;
        let user = User(user);
        let listener = spawn("vas-cb-frames", FrameSource(sub), move |f: &VideoFrame| {
            let lent = vas_frame::new(f.clone(), false);
            let user = user;
            // SAFETY: the caller's callback, with the pointer it gave and a frame that
            // lives for the call.
            unsafe { callback(user.0, &lent) };
        })?;
        write_out(out, listener);
        Ok(())
    })
}

/// A new handle to the same frame (no pixels are copied); release it with
/// [`vas_frame_release`]. NULL when `frame` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_frame_retain(frame: *const vas_frame) -> *mut vas_frame {
    guard_value(std::ptr::null_mut(), || {
        // SAFETY: per the header's conventions.
        unsafe { peek(frame) }.map_or(std::ptr::null_mut(), |f| {
            Box::into_raw(Box::new(vas_frame::new(f.frame.clone(), true)))
        })
    })
}

/// Releases a frame from `vas_frame_sub_next` or `vas_frame_retain` (NULL and lent frames
/// are ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_frame_release(frame: *mut vas_frame) {
    // SAFETY: per the header's conventions; lent frames are skipped.
    unsafe { item_free(frame, |x| x.owned) }
}

/// The pixels, laid out as the planes say; `*len` (may be NULL) receives their size in
/// bytes. NULL for a NULL frame.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_frame_data(frame: *const vas_frame, len: *mut usize) -> *const u8 {
    guard_value(std::ptr::null(), || {
        // SAFETY: per the header's conventions.
        let Some(f) = (unsafe { peek(frame) }) else {
            return std::ptr::null();
        };
        crate::error::write_opt(len, f.frame.data().len());
        f.frame.data().as_ptr()
    })
}

/// The number of planes (1 for packed and gray, 2 for NV12, 3 for I420).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_frame_plane_count(frame: *const vas_frame) -> usize {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(frame) }.map_or(0, |f| f.planes.len()))
}

/// Writes plane `index` into `*out`; `VAS_INVALID_INPUT` when there is no such plane.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_frame_plane(
    frame: *const vas_frame,
    index: usize,
    out: *mut vas_plane,
) -> vas_result {
    guard("vas_frame_plane", || {
        let out = arg_out(out, "out")?;
        // SAFETY: per the header's conventions.
        let f = unsafe { handle(frame, "frame") }?;
        let p = f.planes.get(index).ok_or_else(|| {
            Fail::invalid(format!(
                "the frame has {} planes; there is no plane {index}",
                f.planes.len()
            ))
        })?;
        write_out(
            out,
            vas_plane {
                offset: p.offset,
                stride: p.stride,
                rows: p.rows,
            },
        );
        Ok(())
    })
}

/// One frame as the camera sent it (encoded). Pulled encoded frames are the caller's (release
/// with [`vas_encoded_frame_release`]); one passed to a callback is lent for the call.
pub struct vas_encoded_frame {
    tag: u64,
    owned: bool,
    frame: EncodedFrame,
}

impl Kill for vas_encoded_frame {
    fn kill(&mut self) {
        self.tag = DEAD_TAG;
    }
}

impl Tagged for vas_encoded_frame {
    const TAG: u64 = 0x7661_7370_6163_6b74; // "vaspackt"
    const WHAT: &'static str = "encoded_frame";
    fn tag(&self) -> u64 {
        self.tag
    }
}

impl vas_encoded_frame {
    /// What the frame says about itself (its generated getters read this).
    pub(crate) fn info(&self) -> vas::EncodedFrameInfo {
        self.frame.info()
    }
}

/// A pull subscription to a stream's encoded frames, from [`vas_encoded_frames_subscribe`].
pub struct vas_encoded_frame_sub {
    tag: u64,
    sub: Mutex<EncodedSubscription>,
    lost: AtomicU64,
}

impl Tagged for vas_encoded_frame_sub {
    const TAG: u64 = 0x7661_7370_7375_6273; // "vaspsubs"
    const WHAT: &'static str = "encoded_frame_sub";
    fn tag(&self) -> u64 {
        self.tag
    }
}

/// Subscribes to a stream's encoded frames (video and audio as the camera sent them). It
/// starts at the cached GOP, so the first video frame is a keyframe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_encoded_frames_subscribe(
    engine: *const vas_engine,
    stream: vas_id,
    out: *mut *mut vas_encoded_frame_sub,
) -> vas_result {
    guard("vas_encoded_frames_subscribe", || {
        let out = arg_out(out, "out")?;
        // SAFETY: per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let sub = vas.encoded_frames(vas::StreamId(stream.uuid()))?;
        write_out(
            out,
            Box::into_raw(Box::new(vas_encoded_frame_sub {
                tag: vas_encoded_frame_sub::TAG,
                sub: Mutex::new(sub),
                lost: AtomicU64::new(0),
            })),
        );
        Ok(())
    })
}

fn next_encoded(
    sub: &mut EncodedSubscription,
    lost: &AtomicU64,
    timeout: Duration,
) -> vas::Result<EncodedFrame> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match sub.recv_timeout(left)? {
            EncodedDelivery::Frame(f) => return Ok(f),
            EncodedDelivery::Lost { frames } => {
                lost.fetch_add(frames, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

/// The next encoded frame within `timeout_ms`. A consumer that fell behind is skipped to
/// the next keyframe (counted by [`vas_encoded_frame_sub_lost`]). Errors as `vas_frame_sub_next`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_encoded_frame_sub_next(
    sub: *const vas_encoded_frame_sub,
    timeout_ms: u32,
    out: *mut *mut vas_encoded_frame,
) -> vas_result {
    guard("vas_encoded_frame_sub_next", || {
        let out = arg_out(out, "out")?;
        // SAFETY: per the header's conventions.
        let s = unsafe { handle(sub, "sub") }?;
        let mut sub = s.sub.lock().unwrap_or_else(|p| p.into_inner());
        let f = next_encoded(
            &mut sub,
            &s.lost,
            Duration::from_millis(u64::from(timeout_ms)),
        )?;
        write_out(
            out,
            Box::into_raw(Box::new(vas_encoded_frame {
                tag: vas_encoded_frame::TAG,
                owned: true,
                frame: f,
            })),
        );
        Ok(())
    })
}

/// Frames skipped so far because the consumer fell behind.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_encoded_frame_sub_lost(sub: *const vas_encoded_frame_sub) -> u64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || {
        unsafe { peek(sub) }.map_or(0, |s| s.lost.load(Ordering::Relaxed))
    })
}

/// Frees an encoded-frame subscription (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_encoded_frame_sub_free(sub: *mut vas_encoded_frame_sub) {
    // SAFETY: per the header's conventions.
    guard_value((), || unsafe { free_handle(sub, |s| s.tag = DEAD_TAG) })
}

/// Called with each encoded frame, on the listener's thread; `frame` is lent for the call.
pub type vas_encoded_frame_callback =
    Option<unsafe extern "C" fn(user: *mut c_void, frame: *const vas_encoded_frame)>;

struct EncodedSource {
    sub: EncodedSubscription,
    lost: AtomicU64,
}

impl Source for EncodedSource {
    type Item = EncodedFrame;
    fn next(&mut self, timeout: Duration) -> vas::Result<EncodedFrame> {
        next_encoded(&mut self.sub, &self.lost, timeout)
    }
    fn dropped(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }
}

/// Calls `callback(user, frame)` with each encoded frame of `stream` on a thread the
/// library owns. A slow callback is skipped to the next keyframe (counted by
/// `vas_listener_dropped`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_encoded_frames_listen(
    engine: *const vas_engine,
    stream: vas_id,
    callback: vas_encoded_frame_callback,
    user: *mut c_void,
    out: *mut *mut vas_listener,
) -> vas_result {
    guard("vas_encoded_frames_listen", || {
        let out = arg_out(out, "out")?;
        let callback = callback.ok_or_else(|| Fail::invalid("callback is NULL"))?;
        // SAFETY: per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let sub = vas.encoded_frames(vas::StreamId(stream.uuid()))?;
        let user = User(user);
        let source = EncodedSource {
            sub,
            lost: AtomicU64::new(0),
        };
        let listener = spawn("vas-cb-encoded", source, move |f: &EncodedFrame| {
            let lent = vas_encoded_frame {
                tag: vas_encoded_frame::TAG,
                owned: false,
                frame: f.clone(),
            };
            let user = user;
            // SAFETY: the caller's callback, with its pointer and a frame that lives for
            // the call.
            unsafe { callback(user.0, &lent) };
        })?;
        write_out(out, listener);
        Ok(())
    })
}

/// A new handle to the same encoded frame (no payload copy). NULL when `frame` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_encoded_frame_retain(
    frame: *const vas_encoded_frame,
) -> *mut vas_encoded_frame {
    guard_value(std::ptr::null_mut(), || {
        // SAFETY: per the header's conventions.
        unsafe { peek(frame) }.map_or(std::ptr::null_mut(), |p| {
            Box::into_raw(Box::new(vas_encoded_frame {
                tag: vas_encoded_frame::TAG,
                owned: true,
                frame: p.frame.clone(),
            }))
        })
    })
}

/// Releases an encoded frame from `vas_encoded_frame_sub_next` or `vas_encoded_frame_retain` (NULL and lent
/// frames are ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_encoded_frame_release(frame: *mut vas_encoded_frame) {
    // SAFETY: per the header's conventions; lent frames are skipped.
    unsafe { item_free(frame, |x| x.owned) }
}

/// The payload; `*len` (may be NULL) receives its size.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_encoded_frame_data(
    frame: *const vas_encoded_frame,
    len: *mut usize,
) -> *const u8 {
    guard_value(std::ptr::null(), || {
        // SAFETY: per the header's conventions.
        let Some(p) = (unsafe { peek(frame) }) else {
            return std::ptr::null();
        };
        crate::error::write_opt(len, p.frame.data.len());
        p.frame.data.as_ptr()
    })
}
