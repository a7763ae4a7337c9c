//! Frames: decoded pictures (`vas_frame`) and the camera's encoded frames (`vas_packet`),
//! pulled with a timeout or delivered to a callback.
//!
//! Owns the frame and packet handles (each holds one reference to the library's shared
//! buffer: retaining copies no pixels), the pull subscriptions and the callback sources.

use std::ffi::{CStr, c_char, c_void};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use vas::frames::{
    EncodedDelivery, EncodedFrame, EncodedSubscription, FrameOptions, FrameSubscription,
    PixelFormat, Plane, Strategy, Track, VideoFrame,
};

use crate::engine::{engine_of, vas_engine};
use crate::error::{
    DEAD_TAG, Fail, FfiResult, Kill, Tagged, arg_out, free_handle, guard, guard_value, handle,
    item_free, micros, options, peek, vas_id, write_out,
};
use crate::listener::{Source, User, spawn, vas_listener};
use crate::result::vas_result;

/// A pixel layout for decoded frames (`vas_frame_options::format`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum vas_pixel_format {
    /// Planar Y, U, V (4:2:0): three planes.
    VAS_PIXEL_FORMAT_I420 = 1,
    /// Y plane, then interleaved UV (4:2:0): two planes.
    VAS_PIXEL_FORMAT_NV12 = 2,
    /// Luma only: one plane, one byte per pixel.
    VAS_PIXEL_FORMAT_GRAY8 = 3,
    /// Packed R, G, B: one plane, three bytes per pixel.
    VAS_PIXEL_FORMAT_RGB24 = 4,
    /// Packed B, G, R (OpenCV's order): one plane, three bytes per pixel.
    VAS_PIXEL_FORMAT_BGR24 = 5,
}

fn pixel_format(v: u32) -> FfiResult<PixelFormat> {
    Ok(match v {
        1 => PixelFormat::I420,
        2 => PixelFormat::Nv12,
        3 => PixelFormat::Gray8,
        4 => PixelFormat::Rgb24,
        5 => PixelFormat::Bgr24,
        _ => {
            return Err(Fail::invalid(format!(
                "options->format {v} is not a vas_pixel_format"
            )));
        }
    })
}

fn format_code(f: PixelFormat) -> u32 {
    match f {
        PixelFormat::I420 => 1,
        PixelFormat::Nv12 => 2,
        PixelFormat::Gray8 => 3,
        PixelFormat::Rgb24 => 4,
        PixelFormat::Bgr24 => 5,
        _ => 0,
    }
}

/// What a decoded-frame subscription delivers. Initialise with [`vas_frame_options_init`]
/// (I420 at the camera's size and rate, newest frame only).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vas_frame_options {
    /// `sizeof(vas_frame_options)`, set by the init function.
    pub struct_size: u32,
    /// A `vas_pixel_format` value.
    pub format: u32,
    /// Scale to fit inside `max_width`×`max_height`, keeping the aspect ratio (0 and 0:
    /// the camera's size).
    pub max_width: u32,
    /// See `max_width`.
    pub max_height: u32,
    /// At most this many frames per second (0: the camera's rate).
    pub max_fps: f64,
    /// 0: keep only the newest frame (a slow consumer never sees a stale one); N (1..=64):
    /// queue up to N frames, dropping the oldest when full.
    pub queue: u32,
}

impl Default for vas_frame_options {
    fn default() -> Self {
        vas_frame_options {
            struct_size: std::mem::size_of::<vas_frame_options>() as u32,
            format: 1,
            max_width: 0,
            max_height: 0,
            max_fps: 0.0,
            queue: 0,
        }
    }
}

/// Sets `*options` to the defaults (and its `struct_size`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_frame_options_init(options: *mut vas_frame_options) -> vas_result {
    guard("vas_frame_options_init", || {
        write_out(arg_out(options, "options")?, vas_frame_options::default());
        Ok(())
    })
}

unsafe fn frame_options(p: *const vas_frame_options) -> FfiResult<FrameOptions> {
    // SAFETY: forwarded contract.
    let o = unsafe { options(p, vas_frame_options::default(), "options") }?;
    let mut f = FrameOptions::new(pixel_format(o.format)?);
    match (o.max_width, o.max_height) {
        (0, 0) => {}
        (w, h) => f = f.max_size(w, h),
    }
    if o.max_fps != 0.0 {
        f = f.max_fps(o.max_fps);
    }
    if o.queue > 0 {
        f = f.strategy(Strategy::Queue {
            max: o.queue as usize,
        });
    }
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
/// come once the stream is live (start it with `vas_stream_start`), from its cached
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

/// Width in pixels.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_frame_width(frame: *const vas_frame) -> u32 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(frame) }.map_or(0, |f| f.frame.width()))
}

/// Height in pixels.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_frame_height(frame: *const vas_frame) -> u32 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(frame) }.map_or(0, |f| f.frame.height()))
}

/// The `vas_pixel_format` value (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_frame_format(frame: *const vas_frame) -> u32 {
    // SAFETY: per the header's conventions.
    guard_value(0, || {
        unsafe { peek(frame) }.map_or(0, |f| format_code(f.frame.format()))
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

/// Presentation time in the 90 kHz clock (continuous within an epoch).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_frame_pts(frame: *const vas_frame) -> i64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(frame) }.map_or(0, |f| f.frame.pts()))
}

/// Capture time, µs since the Unix epoch.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_frame_time_us(frame: *const vas_frame) -> i64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || {
        unsafe { peek(frame) }.map_or(0, |f| micros(f.frame.time()))
    })
}

/// Whether the picture was a keyframe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_frame_keyframe(frame: *const vas_frame) -> bool {
    // SAFETY: per the header's conventions.
    guard_value(false, || {
        unsafe { peek(frame) }.is_some_and(|f| f.frame.keyframe())
    })
}

/// The frame's number within its subscription (gaps are frames dropped unread).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_frame_seq(frame: *const vas_frame) -> u64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(frame) }.map_or(0, |f| f.frame.seq()))
}

/// A track of a camera's stream.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum vas_track {
    /// Video: the payload is NAL units, each prefixed with its 4-byte big-endian length.
    VAS_TRACK_VIDEO = 1,
    /// Audio: one codec frame (raw AAC access unit, G.711 samples or an Opus packet).
    VAS_TRACK_AUDIO = 2,
}

/// One frame as the camera sent it (encoded). Pulled packets are the caller's (release
/// with [`vas_packet_release`]); one passed to a callback is lent for the call.
pub struct vas_packet {
    tag: u64,
    owned: bool,
    frame: EncodedFrame,
}

impl Kill for vas_packet {
    fn kill(&mut self) {
        self.tag = DEAD_TAG;
    }
}

impl Tagged for vas_packet {
    const TAG: u64 = 0x7661_7370_6163_6b74; // "vaspackt"
    const WHAT: &'static str = "packet";
    fn tag(&self) -> u64 {
        self.tag
    }
}

/// A pull subscription to a stream's encoded frames, from [`vas_packets_subscribe`].
pub struct vas_packet_sub {
    tag: u64,
    sub: Mutex<EncodedSubscription>,
    lost: AtomicU64,
}

impl Tagged for vas_packet_sub {
    const TAG: u64 = 0x7661_7370_7375_6273; // "vaspsubs"
    const WHAT: &'static str = "packet_sub";
    fn tag(&self) -> u64 {
        self.tag
    }
}

/// Subscribes to a stream's encoded frames (video and audio as the camera sent them). It
/// starts at the cached GOP, so the first video packet is a keyframe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_packets_subscribe(
    engine: *const vas_engine,
    stream: vas_id,
    out: *mut *mut vas_packet_sub,
) -> vas_result {
    guard("vas_packets_subscribe", || {
        let out = arg_out(out, "out")?;
        // SAFETY: per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let sub = vas.subscribe(vas::StreamId(stream.uuid()))?;
        write_out(
            out,
            Box::into_raw(Box::new(vas_packet_sub {
                tag: vas_packet_sub::TAG,
                sub: Mutex::new(sub),
                lost: AtomicU64::new(0),
            })),
        );
        Ok(())
    })
}

fn next_packet(
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
/// the next keyframe (counted by [`vas_packet_sub_lost`]). Errors as `vas_frame_sub_next`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_packet_sub_next(
    sub: *const vas_packet_sub,
    timeout_ms: u32,
    out: *mut *mut vas_packet,
) -> vas_result {
    guard("vas_packet_sub_next", || {
        let out = arg_out(out, "out")?;
        // SAFETY: per the header's conventions.
        let s = unsafe { handle(sub, "sub") }?;
        let mut sub = s.sub.lock().unwrap_or_else(|p| p.into_inner());
        let f = next_packet(
            &mut sub,
            &s.lost,
            Duration::from_millis(u64::from(timeout_ms)),
        )?;
        write_out(
            out,
            Box::into_raw(Box::new(vas_packet {
                tag: vas_packet::TAG,
                owned: true,
                frame: f,
            })),
        );
        Ok(())
    })
}

/// Frames skipped so far because the consumer fell behind.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_packet_sub_lost(sub: *const vas_packet_sub) -> u64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || {
        unsafe { peek(sub) }.map_or(0, |s| s.lost.load(Ordering::Relaxed))
    })
}

/// Frees an encoded-frame subscription (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_packet_sub_free(sub: *mut vas_packet_sub) {
    // SAFETY: per the header's conventions.
    guard_value((), || unsafe { free_handle(sub, |s| s.tag = DEAD_TAG) })
}

/// Called with each encoded frame, on the listener's thread; `packet` is lent for the call.
pub type vas_packet_callback =
    Option<unsafe extern "C" fn(user: *mut c_void, packet: *const vas_packet)>;

struct PacketSource {
    sub: EncodedSubscription,
    lost: AtomicU64,
}

impl Source for PacketSource {
    type Item = EncodedFrame;
    fn next(&mut self, timeout: Duration) -> vas::Result<EncodedFrame> {
        next_packet(&mut self.sub, &self.lost, timeout)
    }
    fn dropped(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }
}

/// Calls `callback(user, packet)` with each encoded frame of `stream` on a thread the
/// library owns. A slow callback is skipped to the next keyframe (counted by
/// `vas_listener_dropped`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_packets_listen(
    engine: *const vas_engine,
    stream: vas_id,
    callback: vas_packet_callback,
    user: *mut c_void,
    out: *mut *mut vas_listener,
) -> vas_result {
    guard("vas_packets_listen", || {
        let out = arg_out(out, "out")?;
        let callback = callback.ok_or_else(|| Fail::invalid("callback is NULL"))?;
        // SAFETY: per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let sub = vas.subscribe(vas::StreamId(stream.uuid()))?;
        let user = User(user);
        let source = PacketSource {
            sub,
            lost: AtomicU64::new(0),
        };
        let listener = spawn("vas-cb-packets", source, move |f: &EncodedFrame| {
            let lent = vas_packet {
                tag: vas_packet::TAG,
                owned: false,
                frame: f.clone(),
            };
            let user = user;
            // SAFETY: the caller's callback, with its pointer and a packet that lives for
            // the call.
            unsafe { callback(user.0, &lent) };
        })?;
        write_out(out, listener);
        Ok(())
    })
}

/// A new handle to the same packet (no payload copy). NULL when `packet` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_packet_retain(packet: *const vas_packet) -> *mut vas_packet {
    guard_value(std::ptr::null_mut(), || {
        // SAFETY: per the header's conventions.
        unsafe { peek(packet) }.map_or(std::ptr::null_mut(), |p| {
            Box::into_raw(Box::new(vas_packet {
                tag: vas_packet::TAG,
                owned: true,
                frame: p.frame.clone(),
            }))
        })
    })
}

/// Releases a packet from `vas_packet_sub_next` or `vas_packet_retain` (NULL and lent
/// packets are ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_packet_release(packet: *mut vas_packet) {
    // SAFETY: per the header's conventions; lent packets are skipped.
    unsafe { item_free(packet, |x| x.owned) }
}

/// The payload; `*len` (may be NULL) receives its size.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_packet_data(packet: *const vas_packet, len: *mut usize) -> *const u8 {
    guard_value(std::ptr::null(), || {
        // SAFETY: per the header's conventions.
        let Some(p) = (unsafe { peek(packet) }) else {
            return std::ptr::null();
        };
        crate::error::write_opt(len, p.frame.data.len());
        p.frame.data.as_ptr()
    })
}

/// The track (`VAS_TRACK_VIDEO` or `VAS_TRACK_AUDIO`; 0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_packet_track(packet: *const vas_packet) -> u32 {
    guard_value(0, || {
        // SAFETY: per the header's conventions.
        unsafe { peek(packet) }.map_or(0, |p| {
            if p.frame.is_video() {
                vas_track::VAS_TRACK_VIDEO as u32
            } else {
                vas_track::VAS_TRACK_AUDIO as u32
            }
        })
    })
}

/// The codec: `"h264"`, `"h265"`, `"aac"`, `"pcmu"`, `"pcma"`, `"opus"` (static strings).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_packet_codec(packet: *const vas_packet) -> *const c_char {
    guard_value(std::ptr::null(), || {
        // SAFETY: per the header's conventions.
        let Some(p) = (unsafe { peek(packet) }) else {
            return std::ptr::null();
        };
        let name: &CStr = match &p.frame.track {
            Track::Video(v) => match v.codec {
                vas::frames::VideoCodec::H264 => c"h264",
                vas::frames::VideoCodec::H265 => c"h265",
                _ => c"unknown",
            },
            Track::Audio(a) => match a.codec {
                vas::frames::AudioCodec::Aac => c"aac",
                vas::frames::AudioCodec::Pcmu => c"pcmu",
                vas::frames::AudioCodec::Pcma => c"pcma",
                vas::frames::AudioCodec::Opus => c"opus",
                _ => c"unknown",
            },
            _ => c"unknown",
        };
        name.as_ptr()
    })
}

/// Presentation time in the 90 kHz clock.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_packet_pts(packet: *const vas_packet) -> i64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(packet) }.map_or(0, |p| p.frame.pts))
}

/// Capture (or arrival) time, µs since the Unix epoch.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_packet_time_us(packet: *const vas_packet) -> i64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || {
        unsafe { peek(packet) }.map_or(0, |p| micros(p.frame.wallclock))
    })
}

/// Whether the packet is a random-access point (always true for audio).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_packet_keyframe(packet: *const vas_packet) -> bool {
    // SAFETY: per the header's conventions.
    guard_value(false, || {
        unsafe { peek(packet) }.is_some_and(|p| p.frame.keyframe)
    })
}

/// Increments when timestamps may be discontinuous (e.g. after a reconnect).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_packet_epoch(packet: *const vas_packet) -> u32 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(packet) }.map_or(0, |p| p.frame.epoch))
}

/// The video's width in pixels (0 for audio).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_packet_width(packet: *const vas_packet) -> u32 {
    guard_value(0, || {
        // SAFETY: per the header's conventions.
        unsafe { peek(packet) }.map_or(0, |p| p.frame.video_params().map_or(0, |v| v.width))
    })
}

/// The video's height in pixels (0 for audio).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_packet_height(packet: *const vas_packet) -> u32 {
    guard_value(0, || {
        // SAFETY: per the header's conventions.
        unsafe { peek(packet) }.map_or(0, |p| p.frame.video_params().map_or(0, |v| v.height))
    })
}
