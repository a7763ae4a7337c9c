//! What the engine makes of the video: snapshots (JPEG), bookmarks (±N-second MP4 clips),
//! recordings (HLS), and WebRTC answers for live view.
//!
//! Owns the snapshot options and buffer, `vas_bookmark`, `vas_recording`, their lists and
//! the listing range. Each call is one engine call in blocking form.

use std::ffi::{CString, c_char};
use std::time::Duration;

use vas::snapshot::{SnapshotOptions, Source};

use crate::engine::{engine_of, vas_engine};
use crate::error::{
    DEAD_TAG, Fail, FfiResult, HandleList, Kill, Tagged, arg_bytes_str, arg_out, box_opt,
    from_micros, guard, guard_value, item_free, keep, kept_ptr, list_free, list_get, list_len,
    micros, opt_str, options, peek, string_out, vas_id, write_opt, write_out,
};
use crate::result::vas_result;

/// Which picture a snapshot shows (`vas_snapshot_options::source`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum vas_snapshot_source {
    /// The newest frame the camera sent.
    VAS_SNAPSHOT_NEWEST = 0,
    /// The newest keyframe (fastest; up to a GOP old).
    VAS_SNAPSHOT_KEYFRAME = 1,
    /// The frame showing at `at_us`, from memory or the recordings.
    VAS_SNAPSHOT_AT = 2,
}

/// How to take a snapshot. Initialise with [`vas_snapshot_options_init`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vas_snapshot_options {
    /// `sizeof(vas_snapshot_options)`, set by the init function.
    pub struct_size: u32,
    /// A `vas_snapshot_source` value.
    pub source: u32,
    /// Scale to this width, keeping the aspect ratio (0: the camera's width).
    pub width: u32,
    /// JPEG quality 1..=100 (0: the default, 80).
    pub quality: u32,
    /// The moment for `VAS_SNAPSHOT_AT`, µs since the Unix epoch.
    pub at_us: i64,
    /// When the stream is not live: true answers its last good picture (marked offline),
    /// false answers `VAS_UNAVAILABLE`.
    pub stale_ok: bool,
}

impl Default for vas_snapshot_options {
    fn default() -> Self {
        vas_snapshot_options {
            struct_size: std::mem::size_of::<vas_snapshot_options>() as u32,
            source: 0,
            width: 0,
            quality: 0,
            at_us: 0,
            stale_ok: false,
        }
    }
}

/// Sets `*options` to the defaults (and its `struct_size`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_snapshot_options_init(
    options: *mut vas_snapshot_options,
) -> vas_result {
    guard("vas_snapshot_options_init", || {
        write_out(
            arg_out(options, "options")?,
            vas_snapshot_options::default(),
        );
        Ok(())
    })
}

unsafe fn snapshot_options(p: *const vas_snapshot_options) -> FfiResult<SnapshotOptions> {
    // SAFETY: forwarded contract.
    let o = unsafe { options(p, vas_snapshot_options::default(), "options") }?;
    let source = match o.source {
        0 => Source::Newest,
        1 => Source::Keyframe,
        2 => Source::At(from_micros(o.at_us, "options->at_us")?),
        v => {
            return Err(Fail::invalid(format!(
                "options->source {v} is not a vas_snapshot_source"
            )));
        }
    };
    let mut s = SnapshotOptions::new()
        .from_source(source)
        .stale_ok(o.stale_ok);
    if o.width != 0 {
        s = s.width(o.width);
    }
    if o.quality != 0 {
        let q = u8::try_from(o.quality).map_err(|_| {
            Fail::invalid(format!(
                "options->quality {} is out of range 1..=100",
                o.quality
            ))
        })?;
        s = s.quality(q);
    }
    s.validate()?;
    Ok(s)
}

/// What a snapshot shows.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct vas_snapshot_info {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Capture time of the frame shown, µs since the Unix epoch.
    pub time_us: i64,
    /// True when the stream was not live and this is its last good picture.
    pub offline: bool,
}

/// Takes a snapshot of a stream as a JPEG (`options` may be NULL: the newest frame at the
/// camera's size). `*jpeg` receives a buffer of `*len` bytes that the caller owns and
/// releases with [`vas_buffer_free`]; `*info` (may be NULL) what it shows.
///
/// Errors: `VAS_NOT_FOUND` (no such stream), `VAS_UNAVAILABLE` (the stream is not live, or
/// the moment is neither in memory nor recorded), `VAS_TIMEOUT` (no picture within a few
/// seconds), `VAS_INVALID_INPUT` (bad options).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_snapshot(
    engine: *const vas_engine,
    stream: vas_id,
    options: *const vas_snapshot_options,
    jpeg: *mut *mut u8,
    len: *mut usize,
    info: *mut vas_snapshot_info,
) -> vas_result {
    guard("vas_snapshot", || {
        let jpeg = arg_out(jpeg, "jpeg")?;
        let len = arg_out(len, "len")?;
        // SAFETY (both): per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let opts = unsafe { snapshot_options(options) }?;
        let j = vas.snapshot(vas::StreamId(stream.uuid()), opts)?;
        let buf: Box<[u8]> = j.bytes.to_vec().into_boxed_slice();
        write_opt(
            info,
            vas_snapshot_info {
                width: j.width,
                height: j.height,
                time_us: micros(j.time),
                offline: j.offline,
            },
        );
        write_out(len, buf.len());
        write_out(jpeg, Box::into_raw(buf).cast::<u8>());
        Ok(())
    })
}

/// Releases a buffer the library returned (`data` and `len` as returned; NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_buffer_free(data: *mut u8, len: usize) {
    guard_value((), || {
        if !data.is_null() {
            // SAFETY: `data` and `len` came from `Box<[u8]>::into_raw`, per the contract.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)) });
        }
    })
}

/// Takes a snapshot and stores it (file and row) with an optional `label` (NULL: none).
/// `*id` (may be NULL) receives the stored snapshot's id.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_snapshot_save(
    engine: *const vas_engine,
    stream: vas_id,
    options: *const vas_snapshot_options,
    label: *const c_char,
    id: *mut vas_id,
) -> vas_result {
    guard("vas_snapshot_save", || {
        // SAFETY (all): per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let opts = unsafe { snapshot_options(options) }?;
        let label = unsafe { opt_str(label, "label") }?.map(str::to_owned);
        let saved = vas.save_snapshot(vas::StreamId(stream.uuid()), opts, label)?;
        write_opt(id, vas_id::of(saved.id.0));
        Ok(())
    })
}

/// Deletes a stored snapshot (its row, then its file).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_snapshot_delete(engine: *const vas_engine, id: vas_id) -> vas_result {
    guard("vas_snapshot_delete", || {
        // SAFETY: per the header's conventions.
        unsafe { engine_of(engine) }?.delete_snapshot(vas::SnapshotId(id.uuid()))?;
        Ok(())
    })
}

/// Which rows a listing returns. Initialise with [`vas_range_init`] (everything, newest
/// rows up to the default limit).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vas_range {
    /// `sizeof(vas_range)`, set by the init function.
    pub struct_size: u32,
    /// Most rows (0: the default, 100; at most 1000).
    pub limit: u32,
    /// Only this stream (all zero: every stream).
    pub stream: vas_id,
    /// From this time, inclusive, µs since the epoch (0: unbounded).
    pub from_us: i64,
    /// Until this time, exclusive (0: unbounded).
    pub to_us: i64,
}

impl Default for vas_range {
    fn default() -> Self {
        vas_range {
            struct_size: std::mem::size_of::<vas_range>() as u32,
            limit: 0,
            stream: vas_id::default(),
            from_us: 0,
            to_us: 0,
        }
    }
}

/// Sets `*range` to "everything" (and its `struct_size`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_range_init(range: *mut vas_range) -> vas_result {
    guard("vas_range_init", || {
        write_out(arg_out(range, "range")?, vas_range::default());
        Ok(())
    })
}

unsafe fn range(p: *const vas_range) -> FfiResult<vas::Range> {
    // SAFETY: forwarded contract.
    let r = unsafe { options(p, vas_range::default(), "range") }?;
    let mut out = vas::Range::default();
    if !r.stream.is_nil() {
        out.stream = Some(vas::StreamId(r.stream.uuid()));
    }
    if r.from_us != 0 {
        out.from = Some(from_micros(r.from_us, "range->from_us")?);
    }
    if r.to_us != 0 {
        out.to = Some(from_micros(r.to_us, "range->to_us")?);
    }
    if r.limit != 0 {
        out.limit = r.limit;
    }
    Ok(out)
}

/// A bookmark's state.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum vas_bookmark_state {
    /// Its clip is being made (it needs the video up to `after` past the moment).
    VAS_BOOKMARK_PENDING = 0,
    /// Its clip is ready.
    VAS_BOOKMARK_READY = 1,
    /// Its clip could not be made (the detail says why).
    VAS_BOOKMARK_FAILED = 2,
    /// A state this version of the ABI does not know.
    VAS_BOOKMARK_UNKNOWN = 99,
}

/// A bookmark to make. Initialise with [`vas_new_bookmark_init`], then set `stream`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vas_new_bookmark {
    /// `sizeof(vas_new_bookmark)`, set by the init function.
    pub struct_size: u32,
    /// Video kept before the moment, ms (default 5000, at most 30000).
    pub before_ms: u32,
    /// The stream.
    pub stream: vas_id,
    /// The moment, µs since the epoch (0: now).
    pub at_us: i64,
    /// Video kept after the moment, ms (default 5000, at most 30000).
    pub after_ms: u32,
    /// Reserved; zero.
    pub flags: u32,
    /// A label, or NULL.
    pub label: *const c_char,
}

impl Default for vas_new_bookmark {
    fn default() -> Self {
        vas_new_bookmark {
            struct_size: std::mem::size_of::<vas_new_bookmark>() as u32,
            before_ms: vas::bookmark::DEFAULT_MARGIN.as_millis() as u32,
            stream: vas_id::default(),
            at_us: 0,
            after_ms: vas::bookmark::DEFAULT_MARGIN.as_millis() as u32,
            flags: 0,
            label: std::ptr::null(),
        }
    }
}

/// Sets `*bookmark` to the defaults: now, 5 s either side, no label.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_new_bookmark_init(bookmark: *mut vas_new_bookmark) -> vas_result {
    guard("vas_new_bookmark_init", || {
        write_out(arg_out(bookmark, "bookmark")?, vas_new_bookmark::default());
        Ok(())
    })
}

/// A bookmark as stored.
pub struct vas_bookmark {
    tag: u64,
    owned: bool,
    id: vas_id,
    stream: vas_id,
    state: vas_bookmark_state,
    at_us: i64,
    before_ms: u32,
    after_ms: u32,
    label: Option<CString>,
    detail: Option<CString>,
    clip_location: Option<CString>,
    created_us: i64,
}

impl Tagged for vas_bookmark {
    const TAG: u64 = 0x7661_7362_6f6f_6b6d; // "vasbookm"
    const WHAT: &'static str = "bookmark";
    fn tag(&self) -> u64 {
        self.tag
    }
}

impl Kill for vas_bookmark {
    fn kill(&mut self) {
        self.tag = DEAD_TAG;
    }
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

impl vas_bookmark {
    fn of(b: &vas::Bookmark, owned: bool) -> vas_bookmark {
        vas_bookmark {
            tag: Self::TAG,
            owned,
            id: vas_id::of(b.id.0),
            stream: vas_id::of(b.stream_id.0),
            state: match b.state {
                vas::BookmarkState::Pending => vas_bookmark_state::VAS_BOOKMARK_PENDING,
                vas::BookmarkState::Ready => vas_bookmark_state::VAS_BOOKMARK_READY,
                vas::BookmarkState::Failed => vas_bookmark_state::VAS_BOOKMARK_FAILED,
                _ => vas_bookmark_state::VAS_BOOKMARK_UNKNOWN,
            },
            at_us: micros(b.at),
            before_ms: millis(b.before),
            after_ms: millis(b.after),
            label: b.label.as_deref().map(keep),
            detail: b.detail.as_deref().map(keep),
            clip_location: b.clip_location.as_deref().map(keep),
            created_us: micros(b.created_at),
        }
    }
}

/// Bookmarks, from [`vas_bookmarks_list`]; free with [`vas_bookmark_list_free`].
pub struct vas_bookmark_list {
    tag: u64,
    items: Vec<vas_bookmark>,
}

impl Tagged for vas_bookmark_list {
    const TAG: u64 = 0x7661_7362_6c69_7374; // "vasblist"
    const WHAT: &'static str = "bookmark_list";
    fn tag(&self) -> u64 {
        self.tag
    }
}

impl Kill for vas_bookmark_list {
    fn kill(&mut self) {
        self.tag = DEAD_TAG;
    }
}

impl HandleList for vas_bookmark_list {
    type Item = vas_bookmark;
    fn items(&self) -> &[vas_bookmark] {
        &self.items
    }
    fn items_mut(&mut self) -> &mut [vas_bookmark] {
        &mut self.items
    }
}

/// Bookmarks a moment of a stream. It answers at once with the bookmark `pending`; the clip
/// is cut when the video up to `after` has arrived (a `VAS_EVENT_BOOKMARK` says when it is
/// ready or failed). `*out` (may be NULL) receives the bookmark.
///
/// Errors: `VAS_NOT_FOUND`, `VAS_INVALID_INPUT` (margins out of range, a moment in the
/// future), `VAS_UNAVAILABLE` (the moment is neither in memory nor recorded).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmark_add(
    engine: *const vas_engine,
    bookmark: *const vas_new_bookmark,
    out: *mut *mut vas_bookmark,
) -> vas_result {
    guard("vas_bookmark_add", || {
        if bookmark.is_null() {
            return Err(Fail::invalid("bookmark is NULL"));
        }
        // SAFETY (all): per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let b = unsafe { options(bookmark, vas_new_bookmark::default(), "bookmark") }?;
        if b.stream.is_nil() {
            return Err(Fail::invalid("bookmark->stream is not set"));
        }
        let mut new = vas::bookmark::NewBookmark::new(vas::StreamId(b.stream.uuid()))
            .before(Duration::from_millis(u64::from(b.before_ms)))
            .after(Duration::from_millis(u64::from(b.after_ms)));
        if b.at_us != 0 {
            new = new.at(from_micros(b.at_us, "bookmark->at_us")?);
        }
        if let Some(l) = unsafe { opt_str(b.label, "bookmark->label") }? {
            new = new.label(l);
        }
        let made = vas.add_bookmark(new)?;
        box_opt(out, vas_bookmark::of(&made, true));
        Ok(())
    })
}

/// One bookmark (its current state).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmark_get(
    engine: *const vas_engine,
    id: vas_id,
    out: *mut *mut vas_bookmark,
) -> vas_result {
    guard("vas_bookmark_get", || {
        let out = arg_out(out, "out")?;
        // SAFETY: per the header's conventions.
        let b = unsafe { engine_of(engine) }?.bookmark(vas::BookmarkId(id.uuid()))?;
        write_out(out, Box::into_raw(Box::new(vas_bookmark::of(&b, true))));
        Ok(())
    })
}

/// Bookmarks in `range` (NULL: all), newest first.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmarks_list(
    engine: *const vas_engine,
    range_: *const vas_range,
    out: *mut *mut vas_bookmark_list,
) -> vas_result {
    guard("vas_bookmarks_list", || {
        let out = arg_out(out, "out")?;
        // SAFETY (both): per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let r = unsafe { range(range_) }?;
        let items = vas
            .bookmarks(r)?
            .iter()
            .map(|b| vas_bookmark::of(b, false))
            .collect();
        write_out(
            out,
            Box::into_raw(Box::new(vas_bookmark_list {
                tag: vas_bookmark_list::TAG,
                items,
            })),
        );
        Ok(())
    })
}

/// The absolute path of a ready bookmark's MP4 clip; `*path` is the caller's (release with
/// `vas_string_free`). `VAS_FAILED_PRECONDITION` while it is pending or when it failed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmark_clip(
    engine: *const vas_engine,
    id: vas_id,
    path: *mut *mut c_char,
) -> vas_result {
    guard("vas_bookmark_clip", || {
        let path = arg_out(path, "path")?;
        // SAFETY: per the header's conventions.
        let p = unsafe { engine_of(engine) }?.bookmark_clip(vas::BookmarkId(id.uuid()))?;
        let p = p
            .to_str()
            .ok_or_else(|| Fail::new(vas_result::VAS_INTERNAL, "the clip's path is not UTF-8"))?;
        write_out(path, string_out(p));
        Ok(())
    })
}

/// Deletes a bookmark and its clip.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmark_delete(engine: *const vas_engine, id: vas_id) -> vas_result {
    guard("vas_bookmark_delete", || {
        // SAFETY: per the header's conventions.
        unsafe { engine_of(engine) }?.delete_bookmark(vas::BookmarkId(id.uuid()))?;
        Ok(())
    })
}

/// Frees a bookmark from add/get (NULL and list items are ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmark_free(bookmark: *mut vas_bookmark) {
    // SAFETY: per the header's conventions.
    unsafe { item_free(bookmark, |b| b.owned) }
}

/// The number of bookmarks in `list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmark_list_len(list: *const vas_bookmark_list) -> usize {
    // SAFETY: per the header's conventions.
    unsafe { list_len(list) }
}

/// The `index`th bookmark of `list`, owned by the list (NULL when out of range).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmark_list_get(
    list: *const vas_bookmark_list,
    index: usize,
) -> *const vas_bookmark {
    // SAFETY: per the header's conventions.
    unsafe { list_get(list, index) }
}

/// Frees a list and its bookmarks (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmark_list_free(list: *mut vas_bookmark_list) {
    // SAFETY: per the header's conventions.
    unsafe { list_free(list) }
}

/// The bookmark's id.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmark_id(b: *const vas_bookmark) -> vas_id {
    // SAFETY: per the header's conventions.
    guard_value(vas_id::default(), || {
        unsafe { peek(b) }.map_or_else(vas_id::default, |b| b.id)
    })
}

/// The bookmarked stream.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmark_stream(b: *const vas_bookmark) -> vas_id {
    // SAFETY: per the header's conventions.
    guard_value(vas_id::default(), || {
        unsafe { peek(b) }.map_or_else(vas_id::default, |b| b.stream)
    })
}

/// The state (`VAS_BOOKMARK_UNKNOWN` for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmark_state_of(b: *const vas_bookmark) -> vas_bookmark_state {
    guard_value(vas_bookmark_state::VAS_BOOKMARK_UNKNOWN, || {
        // SAFETY: per the header's conventions.
        unsafe { peek(b) }.map_or(vas_bookmark_state::VAS_BOOKMARK_UNKNOWN, |b| b.state)
    })
}

/// The moment, µs since the epoch.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmark_at_us(b: *const vas_bookmark) -> i64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(b) }.map_or(0, |b| b.at_us))
}

/// Video kept before the moment, ms.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmark_before_ms(b: *const vas_bookmark) -> u32 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(b) }.map_or(0, |b| b.before_ms))
}

/// Video kept after the moment, ms.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmark_after_ms(b: *const vas_bookmark) -> u32 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(b) }.map_or(0, |b| b.after_ms))
}

/// The label, or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmark_label(b: *const vas_bookmark) -> *const c_char {
    // SAFETY: per the header's conventions.
    guard_value(std::ptr::null(), || {
        unsafe { peek(b) }.map_or(std::ptr::null(), |b| kept_ptr(&b.label))
    })
}

/// Why it failed, or what a ready clip lacks (e.g. it starts late), or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmark_detail(b: *const vas_bookmark) -> *const c_char {
    // SAFETY: per the header's conventions.
    guard_value(std::ptr::null(), || {
        unsafe { peek(b) }.map_or(std::ptr::null(), |b| kept_ptr(&b.detail))
    })
}

/// The clip's location in the media folder once ready, or NULL (see `vas_bookmark_clip`
/// for an absolute path).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmark_clip_location(b: *const vas_bookmark) -> *const c_char {
    // SAFETY: per the header's conventions.
    guard_value(std::ptr::null(), || {
        unsafe { peek(b) }.map_or(std::ptr::null(), |b| kept_ptr(&b.clip_location))
    })
}

/// When it was made, µs since the epoch.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bookmark_created_us(b: *const vas_bookmark) -> i64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(b) }.map_or(0, |b| b.created_us))
}

/// A recording: a run of HLS segments of one stream.
pub struct vas_recording {
    tag: u64,
    id: vas_id,
    stream: vas_id,
    start_us: i64,
    end_us: i64,
    bytes: u64,
    location: CString,
}

impl Tagged for vas_recording {
    const TAG: u64 = 0x7661_7372_6563_6f72; // "vasrecor"
    const WHAT: &'static str = "recording";
    fn tag(&self) -> u64 {
        self.tag
    }
}

impl Kill for vas_recording {
    fn kill(&mut self) {
        self.tag = DEAD_TAG;
    }
}

/// Recordings, from [`vas_recordings_list`]; free with [`vas_recording_list_free`].
pub struct vas_recording_list {
    tag: u64,
    items: Vec<vas_recording>,
}

impl Tagged for vas_recording_list {
    const TAG: u64 = 0x7661_7372_6c69_7374; // "vasrlist"
    const WHAT: &'static str = "recording_list";
    fn tag(&self) -> u64 {
        self.tag
    }
}

impl Kill for vas_recording_list {
    fn kill(&mut self) {
        self.tag = DEAD_TAG;
    }
}

impl HandleList for vas_recording_list {
    type Item = vas_recording;
    fn items(&self) -> &[vas_recording] {
        &self.items
    }
    fn items_mut(&mut self) -> &mut [vas_recording] {
        &mut self.items
    }
}

/// Recordings overlapping `range` (NULL: all), newest first.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_recordings_list(
    engine: *const vas_engine,
    range_: *const vas_range,
    out: *mut *mut vas_recording_list,
) -> vas_result {
    guard("vas_recordings_list", || {
        let out = arg_out(out, "out")?;
        // SAFETY (both): per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let r = unsafe { range(range_) }?;
        let items = vas
            .recordings(r)?
            .iter()
            .map(|r| vas_recording {
                tag: vas_recording::TAG,
                id: vas_id::of(r.id.0),
                stream: vas_id::of(r.stream_id.0),
                start_us: micros(r.start),
                end_us: r.end.map_or(0, micros),
                bytes: r.bytes,
                location: keep(&r.location),
            })
            .collect();
        write_out(
            out,
            Box::into_raw(Box::new(vas_recording_list {
                tag: vas_recording_list::TAG,
                items,
            })),
        );
        Ok(())
    })
}

/// The number of recordings in `list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_recording_list_len(list: *const vas_recording_list) -> usize {
    // SAFETY: per the header's conventions.
    unsafe { list_len(list) }
}

/// The `index`th recording of `list`, owned by the list (NULL when out of range).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_recording_list_get(
    list: *const vas_recording_list,
    index: usize,
) -> *const vas_recording {
    // SAFETY: per the header's conventions.
    unsafe { list_get(list, index) }
}

/// Frees a list and its recordings (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_recording_list_free(list: *mut vas_recording_list) {
    // SAFETY: per the header's conventions.
    unsafe { list_free(list) }
}

/// The recording's id.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_recording_id(r: *const vas_recording) -> vas_id {
    // SAFETY: per the header's conventions.
    guard_value(vas_id::default(), || {
        unsafe { peek(r) }.map_or_else(vas_id::default, |r| r.id)
    })
}

/// The recorded stream.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_recording_stream(r: *const vas_recording) -> vas_id {
    // SAFETY: per the header's conventions.
    guard_value(vas_id::default(), || {
        unsafe { peek(r) }.map_or_else(vas_id::default, |r| r.stream)
    })
}

/// Start time, µs since the epoch.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_recording_start_us(r: *const vas_recording) -> i64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(r) }.map_or(0, |r| r.start_us))
}

/// End time, µs since the epoch (0 while it is being written).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_recording_end_us(r: *const vas_recording) -> i64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(r) }.map_or(0, |r| r.end_us))
}

/// Bytes on disk.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_recording_bytes(r: *const vas_recording) -> u64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(r) }.map_or(0, |r| r.bytes))
}

/// Its folder in the media folder (holding the segments and the playlist).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_recording_location(r: *const vas_recording) -> *const c_char {
    // SAFETY: per the header's conventions.
    guard_value(std::ptr::null(), || {
        unsafe { peek(r) }.map_or(std::ptr::null(), |r| r.location.as_ptr())
    })
}

/// Answers a browser's WebRTC offer (SDP, `offer_len` bytes of UTF-8, e.g. a WHEP request's
/// body) for live view of a running stream. `*answer` receives the SDP answer (the
/// caller's; release with `vas_string_free`), `*viewer` (may be NULL) the viewer's number
/// for [`vas_webrtc_close`]. Media then flows from the engine's WebRTC socket.
///
/// Errors: `VAS_UNSUPPORTED` (the engine has no `webrtc_bind`, or the offer has no codec
/// VAS can send), `VAS_INVALID_INPUT` (not an SDP offer), `VAS_FAILED_PRECONDITION` (the
/// stream is not running), `VAS_RESOURCE_EXHAUSTED` (viewer limit).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_webrtc_answer(
    engine: *const vas_engine,
    stream: vas_id,
    offer: *const c_char,
    offer_len: usize,
    answer: *mut *mut c_char,
    viewer: *mut u64,
) -> vas_result {
    guard("vas_webrtc_answer", || {
        let answer = arg_out(answer, "answer")?;
        // SAFETY (both): per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let sdp = unsafe { arg_bytes_str(offer, offer_len, "offer") }?;
        let session = vas.webrtc_offer(vas::StreamId(stream.uuid()), sdp)?;
        write_opt(viewer, session.viewer.0);
        write_out(answer, string_out(&session.answer_sdp));
        Ok(())
    })
}

/// Ends a WebRTC viewer (e.g. on a WHEP DELETE). `VAS_NOT_FOUND` when it is unknown or
/// already gone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_webrtc_close(engine: *const vas_engine, viewer: u64) -> vas_result {
    guard("vas_webrtc_close", || {
        // SAFETY: per the header's conventions.
        if unsafe { engine_of(engine) }?.webrtc_close(vas::ViewerId(viewer)) {
            Ok(())
        } else {
            Err(Fail::new(
                vas_result::VAS_NOT_FOUND,
                format!("no viewer {viewer}"),
            ))
        }
    })
}
