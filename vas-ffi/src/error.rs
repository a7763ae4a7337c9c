//! Results, the last error, the panic boundary and the argument checks every export uses.
//!
//! Owns turning a [`vas::Error`] (or a bad argument, or a panic) into a [`vas_result`] plus
//! the calling thread's last-error message, and reading C arguments safely: NULL checks,
//! UTF-8, handle tags, versioned option structs. Nothing here knows about cameras.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::result::vas_result;

/// A failure on its way out to C: the code and the message for `vas_last_error_message`.
#[derive(Debug)]
pub(crate) struct Fail {
    code: vas_result,
    message: String,
}

impl Fail {
    pub(crate) fn new(code: vas_result, message: impl Into<String>) -> Fail {
        Fail {
            code,
            message: message.into(),
        }
    }

    /// `VAS_INVALID_INPUT` with `message`.
    pub(crate) fn invalid(message: impl Into<String>) -> Fail {
        Fail::new(vas_result::VAS_INVALID_INPUT, message)
    }
}

impl From<vas::Error> for Fail {
    fn from(e: vas::Error) -> Fail {
        Fail::new(vas_result::from_kind(e.kind()), e.to_string())
    }
}

pub(crate) type FfiResult<T = ()> = Result<T, Fail>;

thread_local! {
    /// The message of the last failure on this thread (C's `errno` pattern: per thread, so
    /// threads never see each other's errors).
    static LAST_ERROR: RefCell<Option<(vas_result, CString)>> = const { RefCell::new(None) };
}

fn remember(fail: Fail) -> vas_result {
    let message = CString::new(fail.message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|l| *l.borrow_mut() = Some((fail.code, message)));
    fail.code
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// The panic boundary of a function returning a code: runs `body`, and turns an error or a
/// panic into a code (remembering the message). Never unwinds.
pub(crate) fn guard(function: &'static str, body: impl FnOnce() -> FfiResult) -> vas_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => vas_result::VAS_OK,
        Ok(Err(fail)) => remember(fail),
        Err(payload) => remember(Fail::new(
            vas_result::VAS_INTERNAL,
            format!(
                "{function} panicked: {}; this is a bug in VAS",
                panic_message(payload.as_ref())
            ),
        )),
    }
}

/// The panic boundary of a getter: `body`'s value, or `fallback` when it panicked.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// The name of a result code (`"ok"`, `"invalid_input"`, …; `"unknown"` for a number that
/// is not a code). The string is static: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn vas_result_name(code: i32) -> *const c_char {
    guard_value(c"unknown".as_ptr(), || {
        vas_result::from_code(code).map_or(c"unknown".as_ptr(), |r| r.name().as_ptr())
    })
}

/// Copies the message of the last failure on the calling thread, NUL-terminated, into
/// `buf` (`len` bytes). `needed` (may be NULL) receives the bytes the message takes with
/// its NUL. Returns `VAS_BUFFER_TOO_SMALL` (and writes nothing to `buf`) when `len` is
/// smaller than that, `VAS_NOT_FOUND` when no call on this thread has failed yet. The
/// message stays until the next failure on this thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_last_error_message(
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> vas_result {
    // Not through `guard`: reporting on this call must not replace the message it reads.
    let r = catch_unwind(AssertUnwindSafe(|| {
        LAST_ERROR.with(|l| {
            let last = l.borrow();
            let Some((_, message)) = last.as_ref() else {
                return vas_result::VAS_NOT_FOUND;
            };
            let bytes = message.as_bytes_with_nul();
            if !needed.is_null() {
                // SAFETY: the caller passes NULL or a valid pointer (checked above).
                unsafe { needed.write(bytes.len()) };
            }
            if buf.is_null() || len < bytes.len() {
                return vas_result::VAS_BUFFER_TOO_SMALL;
            }
            // SAFETY: `buf` holds `len` >= `bytes.len()` bytes, per the contract.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr().cast(), buf, bytes.len()) };
            vas_result::VAS_OK
        })
    }));
    r.unwrap_or(vas_result::VAS_INTERNAL)
}

/// The code of the last failure on the calling thread (`VAS_OK` when none has failed).
#[unsafe(no_mangle)]
pub extern "C" fn vas_last_error_code() -> vas_result {
    guard_value(vas_result::VAS_INTERNAL, || {
        LAST_ERROR.with(|l| l.borrow().as_ref().map_or(vas_result::VAS_OK, |(c, _)| *c))
    })
}

/// A NUL-terminated UTF-8 argument; NULL and invalid UTF-8 are `VAS_INVALID_INPUT`, naming
/// the argument.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, what: &str) -> FfiResult<&'a str> {
    // SAFETY: forwarded contract: NULL or a NUL-terminated string.
    unsafe { opt_str(p, what) }?.ok_or_else(|| Fail::invalid(format!("{what} is NULL")))
}

/// A NUL-terminated UTF-8 argument that may be NULL (then `None`).
pub(crate) unsafe fn opt_str<'a>(p: *const c_char, what: &str) -> FfiResult<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller passes a NUL-terminated string (the header's convention).
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str()
        .map(Some)
        .map_err(|e| Fail::invalid(format!("{what} is not valid UTF-8: {e}")))
}

/// Checks an out-pointer before any work is done (so outputs are written only on success).
pub(crate) fn arg_out<T>(p: *mut T, what: &str) -> FfiResult<*mut T> {
    if p.is_null() {
        Err(Fail::invalid(format!("{what} is NULL")))
    } else {
        Ok(p)
    }
}

/// Writes `value` through an out-pointer checked by [`arg_out`].
pub(crate) fn write_out<T>(p: *mut T, value: T) {
    // SAFETY: `p` was checked non-NULL, and the caller passes a writable pointer.
    unsafe { p.write(value) }
}

/// Writes `value` through an out-pointer that may be NULL (then nothing is written).
pub(crate) fn write_opt<T>(p: *mut T, value: T) {
    if !p.is_null() {
        write_out(p, value);
    }
}

/// A string for C, allocated by the library and released with [`vas_string_free`].
pub(crate) fn string_out(s: &str) -> *mut c_char {
    CString::new(s.replace('\0', " "))
        .unwrap_or_default()
        .into_raw()
}

/// A string for a handle's getter (kept in the handle, NUL-terminated).
pub(crate) fn keep(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

/// A kept optional string's pointer, or NULL.
pub(crate) fn kept_ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr())
}

/// Releases a string the library returned through a `char **` (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_string_free(s: *mut c_char) {
    guard_value((), || {
        if !s.is_null() {
            // SAFETY: `s` came from `CString::into_raw` in `string_out`, per the contract.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}

/// A tag every handle starts with, so a pointer of the wrong type (or, where the memory is
/// still mapped, a freed handle) is an error instead of a crash.
pub(crate) trait Tagged {
    /// The live tag of this handle type.
    const TAG: u64;
    /// The handle's kind, for messages ("engine", "frame", …).
    const WHAT: &'static str;
    fn tag(&self) -> u64;
}

/// The tag a freed handle is left with.
pub(crate) const DEAD_TAG: u64 = 0xdead_dead_dead_dead;

/// A handle argument: NULL, a freed handle or one of another type are `VAS_INVALID_INPUT`.
pub(crate) unsafe fn handle<'a, T: Tagged>(p: *const T, what: &str) -> FfiResult<&'a T> {
    if p.is_null() {
        return Err(Fail::invalid(format!("{what} is NULL")));
    }
    if !(p as usize).is_multiple_of(std::mem::align_of::<T>()) {
        return Err(Fail::invalid(format!(
            "{what} is not a vas_{} handle",
            T::WHAT
        )));
    }
    // SAFETY: non-NULL and aligned; the caller passes a live handle (the tag check catches
    // the cheap cases of it not being one).
    let h = unsafe { &*p };
    match h.tag() {
        t if t == T::TAG => Ok(h),
        DEAD_TAG => Err(Fail::invalid(format!("{what} was already freed"))),
        _ => Err(Fail::invalid(format!(
            "{what} is not a vas_{} handle",
            T::WHAT
        ))),
    }
}

/// A handle for a getter: `None` when NULL or not a live handle of this type.
pub(crate) unsafe fn peek<'a, T: Tagged>(p: *const T) -> Option<&'a T> {
    // SAFETY: forwarded contract.
    unsafe { handle(p, "handle") }.ok()
}

/// Frees a boxed handle made by `Box::into_raw`, leaving its tag dead first. NULL, freed
/// and foreign pointers are ignored (the function is `void`).
pub(crate) unsafe fn free_handle<T: Tagged>(p: *mut T, kill: impl FnOnce(&mut T)) {
    // SAFETY: forwarded contract.
    if unsafe { handle(p.cast_const(), "handle") }.is_err() {
        return;
    }
    // SAFETY: a live handle made by `Box::into_raw` (checked by its tag).
    let mut b = unsafe { Box::from_raw(p) };
    kill(&mut b);
    drop(b);
}

/// Reads a versioned option struct: its first field is `struct_size` (the caller's
/// `sizeof`). Only the bytes the caller's version has are read; later fields keep
/// `defaults`' values. NULL gives `defaults`.
pub(crate) unsafe fn options<T: Copy>(p: *const T, defaults: T, what: &str) -> FfiResult<T> {
    if p.is_null() {
        return Ok(defaults);
    }
    // SAFETY: every option struct starts with a `uint32_t struct_size`.
    let size = unsafe { p.cast::<u32>().read_unaligned() } as usize;
    if size < std::mem::size_of::<u32>() * 2 {
        return Err(Fail::invalid(format!(
            "{what}->struct_size is {size}; set it to sizeof(the struct), or call its _init function"
        )));
    }
    let mut value = defaults;
    let n = size.min(std::mem::size_of::<T>());
    // SAFETY: the caller's struct holds `size` bytes; we copy at most our own size, into a
    // value of the same layout.
    unsafe {
        std::ptr::copy_nonoverlapping(p.cast::<u8>(), (&raw mut value).cast::<u8>(), n);
    }
    Ok(value)
}

/// 16-byte identifier (a UUID) of a camera, stream, recording, snapshot or bookmark.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct vas_id {
    /// The UUID's bytes, big-endian (RFC 4122 order).
    pub bytes: [u8; 16],
}

impl vas_id {
    pub(crate) fn of(uuid: uuid::Uuid) -> vas_id {
        vas_id {
            bytes: *uuid.as_bytes(),
        }
    }

    pub(crate) fn uuid(self) -> uuid::Uuid {
        uuid::Uuid::from_bytes(self.bytes)
    }

    pub(crate) fn is_nil(self) -> bool {
        self.bytes == [0; 16]
    }
}

/// Bytes [`vas_id_format`] writes: 36 characters and the NUL.
pub const VAS_ID_STRING_SIZE: usize = 37;

/// Writes `id` as a NUL-terminated lowercase UUID (`xxxxxxxx-xxxx-…`) into `buf` of `len`
/// bytes; `VAS_BUFFER_TOO_SMALL` when `len` < `VAS_ID_STRING_SIZE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_id_format(id: vas_id, buf: *mut c_char, len: usize) -> vas_result {
    guard("vas_id_format", || {
        let buf = arg_out(buf, "buf")?;
        if len < VAS_ID_STRING_SIZE {
            return Err(Fail::new(
                vas_result::VAS_BUFFER_TOO_SMALL,
                format!("buf holds {len} bytes; an id needs {VAS_ID_STRING_SIZE}"),
            ));
        }
        let s = id.uuid().hyphenated().to_string();
        // SAFETY: `buf` holds at least 37 bytes (checked).
        unsafe {
            std::ptr::copy_nonoverlapping(s.as_ptr().cast(), buf, 36);
            buf.add(36).write(0);
        }
        Ok(())
    })
}

/// Parses a UUID string (NUL-terminated) into `*out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_id_parse(text: *const c_char, out: *mut vas_id) -> vas_result {
    guard("vas_id_parse", || {
        let out = arg_out(out, "out")?;
        // SAFETY: per the contract.
        let s = unsafe { arg_str(text, "text") }?;
        let uuid = uuid::Uuid::parse_str(s.trim())
            .map_err(|e| Fail::invalid(format!("{s:?} is not an id: {e}")))?;
        write_out(out, vas_id::of(uuid));
        Ok(())
    })
}

/// A time from microseconds since the Unix epoch.
pub(crate) fn from_micros(us: i64, what: &str) -> FfiResult<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_micros(us)
        .ok_or_else(|| Fail::invalid(format!("{what} {us} is not a time")))
}

/// The version of the library, e.g. `"0.1.0"` (static; never free it).
#[unsafe(no_mangle)]
pub extern "C" fn vas_version() -> *const c_char {
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"unknown",
        };
    VERSION.as_ptr()
}

/// A handle whose tag can be killed (before it is freed, or with the list holding it).
pub(crate) trait Kill {
    fn kill(&mut self);
}

/// The handle lists (`vas_device_list`, …): a tagged vector of items the list owns.
pub(crate) trait HandleList: Tagged + Kill {
    type Item: Kill;
    fn items(&self) -> &[Self::Item];
    fn items_mut(&mut self) -> &mut [Self::Item];
}

/// `vas_<thing>_list_len`.
pub(crate) unsafe fn list_len<L: HandleList>(list: *const L) -> usize {
    // SAFETY: forwarded contract.
    guard_value(0, || unsafe { peek(list) }.map_or(0, |l| l.items().len()))
}

/// `vas_<thing>_list_get`: the item, owned by the list, or NULL when out of range.
pub(crate) unsafe fn list_get<L: HandleList>(list: *const L, index: usize) -> *const L::Item {
    guard_value(std::ptr::null(), || {
        // SAFETY: forwarded contract.
        unsafe { peek(list) }
            .and_then(|l| l.items().get(index))
            .map_or(std::ptr::null(), |i| i as *const L::Item)
    })
}

/// `vas_<thing>_list_free`: the list and its items.
pub(crate) unsafe fn list_free<L: HandleList>(list: *mut L) {
    guard_value((), || {
        // SAFETY: forwarded contract.
        unsafe {
            free_handle(list, |l| {
                l.kill();
                l.items_mut().iter_mut().for_each(Kill::kill);
            })
        }
    })
}

/// `vas_<thing>_free` of a handle that may also be a list's item (`owned` false: ignored,
/// its list frees it).
pub(crate) unsafe fn item_free<T: Tagged + Kill>(p: *mut T, owned: impl FnOnce(&T) -> bool) {
    guard_value((), || {
        // SAFETY: forwarded contract; list items are not boxes and are skipped.
        if unsafe { peek(p.cast_const()) }.is_some_and(owned) {
            unsafe { free_handle(p, Kill::kill) }
        }
    })
}

/// A name table's value from C: 0 is absent (`None`), `n` is the table's `n`th value;
/// anything else is `VAS_INVALID_INPUT` naming the argument.
pub(crate) fn enum_in<T: Copy>(all: &[T], value: u32, what: &str) -> FfiResult<Option<T>> {
    if value == 0 {
        return Ok(None);
    }
    all.get(value as usize - 1)
        .copied()
        .map(Some)
        .ok_or_else(|| {
            Fail::invalid(format!(
                "{what} is {value}, not one of its enum's values (1–{})",
                all.len()
            ))
        })
}

/// A required id from a C struct: all zeros is `VAS_INVALID_INPUT` ("not set").
pub(crate) fn required_id(id: vas_id, what: &str) -> FfiResult<uuid::Uuid> {
    if id.is_nil() {
        return Err(Fail::invalid(format!("{what} is not set (all zeros)")));
    }
    Ok(id.uuid())
}

/// Most strings an array argument may hold.
pub const VAS_MAX_STRINGS: usize = 1024;

/// An array of `len` NUL-terminated UTF-8 strings (NULL when `len` is 0).
pub(crate) unsafe fn str_list(
    p: *const *const c_char,
    len: usize,
    what: &str,
) -> FfiResult<Vec<String>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(Fail::invalid(format!(
            "{what} is NULL but its length is {len}"
        )));
    }
    if len > VAS_MAX_STRINGS {
        return Err(Fail::invalid(format!(
            "{what} has {len} strings; at most {VAS_MAX_STRINGS}"
        )));
    }
    (0..len)
        .map(|i| {
            // SAFETY: the caller passes `len` readable string pointers at `p`.
            let s = unsafe { p.add(i).read() };
            // SAFETY: each a NUL-terminated string, per the contract.
            unsafe { arg_str(s, &format!("{what}[{i}]")) }.map(str::to_owned)
        })
        .collect()
}

/// Bytes the library hands out (a JPEG, say): read them with [`vas_bytes_data`], free them
/// with [`vas_bytes_free`].
pub struct vas_bytes {
    tag: u64,
    data: bytes::Bytes,
}

impl Tagged for vas_bytes {
    const TAG: u64 = 0x7661_7362_7974_6573; // "vasbytes"
    const WHAT: &'static str = "bytes";
    fn tag(&self) -> u64 {
        self.tag
    }
}

impl vas_bytes {
    /// A new handle holding `data` (no copy).
    pub(crate) fn boxed(data: bytes::Bytes) -> *mut vas_bytes {
        Box::into_raw(Box::new(vas_bytes {
            tag: Self::TAG,
            data,
        }))
    }
}

/// The bytes; `*len` (may be NULL) receives their length. NULL for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bytes_data(b: *const vas_bytes, len: *mut usize) -> *const u8 {
    guard_value(std::ptr::null(), || {
        // SAFETY: per the header's conventions.
        match unsafe { peek(b) } {
            Some(b) => {
                write_opt(len, b.data.len());
                b.data.as_ptr()
            }
            None => std::ptr::null(),
        }
    })
}

/// Frees bytes the library handed out (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_bytes_free(b: *mut vas_bytes) {
    // SAFETY: per the header's conventions.
    guard_value((), || unsafe { free_handle(b, |b| b.tag = DEAD_TAG) })
}
