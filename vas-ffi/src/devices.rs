//! Cameras (devices) and their streams: add, list, get, update, remove; start, stop, state.
//!
//! Owns `vas_device`, `vas_stream`, their lists and the input structs. Passwords go in and
//! never come out: a device's URLs are masked and it says only whether it has credentials.

use std::ffi::{CString, c_char};

use crate::engine::{engine_of, vas_engine};
use crate::error::{
    DEAD_TAG, Fail, FfiResult, HandleList, Kill, Tagged, arg_out, box_opt, guard, guard_value,
    item_free, keep, kept_ptr, list_free, list_get, list_len, micros, opt_str, options, peek,
    vas_id, write_opt, write_out,
};
use crate::result::vas_result;

/// How a camera's RTP travels (an input value; `vas_new_device::transport`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum vas_transport {
    /// The default: interleaved in the RTSP TCP connection (or, in a patch, unchanged).
    VAS_TRANSPORT_DEFAULT = 0,
    /// Interleaved in the RTSP TCP connection.
    VAS_TRANSPORT_TCP = 1,
    /// Separate UDP ports.
    VAS_TRANSPORT_UDP = 2,
}

fn transport(v: u32, what: &str) -> FfiResult<Option<vas::RtpTransport>> {
    match v {
        0 => Ok(None),
        1 => Ok(Some(vas::RtpTransport::Tcp)),
        2 => Ok(Some(vas::RtpTransport::Udp)),
        _ => Err(Fail::invalid(format!("{what} {v} is not a vas_transport"))),
    }
}

/// A camera to add. Initialise with [`vas_new_device_init`], then set at least `name` and
/// `rtsp_url`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vas_new_device {
    /// `sizeof(vas_new_device)`, set by the init function.
    pub struct_size: u32,
    /// A `vas_transport` value.
    pub transport: u32,
    /// Display name (required; trimmed, at most 128 characters).
    pub name: *const c_char,
    /// Main stream URL, `rtsp://…` (required; credentials in it are accepted).
    pub rtsp_url: *const c_char,
    /// Sub stream URL, or NULL for none.
    pub sub_rtsp_url: *const c_char,
    /// User name, or NULL (then the URL's, if any).
    pub username: *const c_char,
    /// Password, or NULL (then the URL's, if any). Stored encrypted; never returned.
    pub password: *const c_char,
    /// Whether its streams may run (default true).
    pub enabled: bool,
}

impl Default for vas_new_device {
    fn default() -> Self {
        vas_new_device {
            struct_size: std::mem::size_of::<vas_new_device>() as u32,
            transport: 0,
            name: std::ptr::null(),
            rtsp_url: std::ptr::null(),
            sub_rtsp_url: std::ptr::null(),
            username: std::ptr::null(),
            password: std::ptr::null(),
            enabled: true,
        }
    }
}

/// Sets `*device` to the defaults (and its `struct_size`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_new_device_init(device: *mut vas_new_device) -> vas_result {
    guard("vas_new_device_init", || {
        write_out(arg_out(device, "device")?, vas_new_device::default());
        Ok(())
    })
}

/// What a device update changes about the sub stream (`vas_device_patch::sub_stream`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum vas_sub_stream_change {
    /// Leave it as it is.
    VAS_SUB_STREAM_KEEP = 0,
    /// Remove the sub stream.
    VAS_SUB_STREAM_REMOVE = 1,
    /// Set it to `sub_rtsp_url`.
    VAS_SUB_STREAM_SET = 2,
}

/// Changes to a camera: NULL strings, `VAS_TRANSPORT_DEFAULT`, `VAS_SUB_STREAM_KEEP` and an
/// `enabled` of -1 leave that field as it is. Initialise with [`vas_device_patch_init`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct vas_device_patch {
    /// `sizeof(vas_device_patch)`, set by the init function.
    pub struct_size: u32,
    /// A `vas_transport` value (`VAS_TRANSPORT_DEFAULT`: unchanged).
    pub transport: u32,
    /// New name, or NULL.
    pub name: *const c_char,
    /// New main stream URL, or NULL.
    pub rtsp_url: *const c_char,
    /// A `vas_sub_stream_change` value.
    pub sub_stream: u32,
    /// -1: unchanged; 0: disable; 1: enable.
    pub enabled: i32,
    /// The sub stream URL when `sub_stream` is `VAS_SUB_STREAM_SET`.
    pub sub_rtsp_url: *const c_char,
    /// New user name, or NULL.
    pub username: *const c_char,
    /// New password, or NULL.
    pub password: *const c_char,
}

impl Default for vas_device_patch {
    fn default() -> Self {
        vas_device_patch {
            struct_size: std::mem::size_of::<vas_device_patch>() as u32,
            transport: 0,
            name: std::ptr::null(),
            rtsp_url: std::ptr::null(),
            sub_stream: 0,
            enabled: -1,
            sub_rtsp_url: std::ptr::null(),
            username: std::ptr::null(),
            password: std::ptr::null(),
        }
    }
}

/// Sets `*patch` to "change nothing" (and its `struct_size`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_device_patch_init(patch: *mut vas_device_patch) -> vas_result {
    guard("vas_device_patch_init", || {
        write_out(arg_out(patch, "patch")?, vas_device_patch::default());
        Ok(())
    })
}

/// A camera as stored (URLs masked, no password). From [`vas_device_add`],
/// [`vas_device_get`], [`vas_device_update`] (free with [`vas_device_free`]) or a
/// [`vas_device_list`] (owned by the list).
pub struct vas_device {
    tag: u64,
    /// False for the items of a list (the list frees them).
    owned: bool,
    id: vas_id,
    name: CString,
    rtsp_url: CString,
    sub_rtsp_url: Option<CString>,
    transport: CString,
    has_credentials: bool,
    enabled: bool,
    created_us: i64,
}

impl Tagged for vas_device {
    const TAG: u64 = 0x7661_7364_6576_6963; // "vasdevic"
    const WHAT: &'static str = "device";
    fn tag(&self) -> u64 {
        self.tag
    }
}

impl Kill for vas_device {
    fn kill(&mut self) {
        self.tag = DEAD_TAG;
    }
}

impl Kill for vas_device_list {
    fn kill(&mut self) {
        self.tag = DEAD_TAG;
    }
}

impl HandleList for vas_device_list {
    type Item = vas_device;
    fn items(&self) -> &[vas_device] {
        &self.items
    }
    fn items_mut(&mut self) -> &mut [vas_device] {
        &mut self.items
    }
}

impl vas_device {
    fn of(c: &vas::Camera, owned: bool) -> vas_device {
        vas_device {
            tag: Self::TAG,
            owned,
            id: vas_id::of(c.id.0),
            name: keep(&c.name),
            rtsp_url: keep(&c.rtsp_url),
            sub_rtsp_url: c.sub_rtsp_url.as_deref().map(keep),
            transport: keep(c.rtsp_transport.as_str()),
            has_credentials: c.has_credentials,
            enabled: c.enabled,
            created_us: micros(c.created_at),
        }
    }
}

/// Cameras, from [`vas_devices_list`]; free with [`vas_device_list_free`].
pub struct vas_device_list {
    tag: u64,
    items: Vec<vas_device>,
}

impl Tagged for vas_device_list {
    const TAG: u64 = 0x7661_7364_6c69_7374; // "vasdlist"
    const WHAT: &'static str = "device_list";
    fn tag(&self) -> u64 {
        self.tag
    }
}

unsafe fn new_device(d: *const vas_new_device) -> FfiResult<vas::NewDevice> {
    if d.is_null() {
        return Err(Fail::invalid("device is NULL"));
    }
    // SAFETY (here and below): per the header's conventions.
    let d = unsafe { options(d, vas_new_device::default(), "device") }?;
    let name = unsafe { opt_str(d.name, "device->name") }?
        .ok_or_else(|| Fail::invalid("device->name is NULL"))?;
    let url = unsafe { opt_str(d.rtsp_url, "device->rtsp_url") }?
        .ok_or_else(|| Fail::invalid("device->rtsp_url is NULL"))?;
    let mut new = vas::NewDevice::new(name, url);
    new.sub_rtsp_url =
        unsafe { opt_str(d.sub_rtsp_url, "device->sub_rtsp_url") }?.map(str::to_owned);
    new.username = unsafe { opt_str(d.username, "device->username") }?.map(str::to_owned);
    new.password = unsafe { opt_str(d.password, "device->password") }?.map(str::to_owned);
    new.rtsp_transport = transport(d.transport, "device->transport")?;
    new.enabled = d.enabled;
    Ok(new)
}

/// Adds a camera (and its streams, stopped). `*out` (may be NULL) receives the camera;
/// `main_stream` (may be NULL) its main stream's id, ready for [`vas_stream_start`].
///
/// Errors: `VAS_INVALID_INPUT` (a bad name or URL), `VAS_ALREADY_EXISTS`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_device_add(
    engine: *const vas_engine,
    device: *const vas_new_device,
    out: *mut *mut vas_device,
    main_stream: *mut vas_id,
) -> vas_result {
    guard("vas_device_add", || {
        // SAFETY (here and below): per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let new = unsafe { new_device(device) }?;
        let cam = vas.add_device(new)?;
        let main = vas
            .streams()?
            .into_iter()
            .find(|s| s.stream.device_id == cam.id && s.stream.profile == vas::StreamProfile::Main)
            .map(|s| vas_id::of(s.stream.id.0));
        write_opt(main_stream, main.unwrap_or_default());
        box_opt(out, vas_device::of(&cam, true));
        Ok(())
    })
}

/// All cameras, oldest first. Free `*out` with [`vas_device_list_free`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_devices_list(
    engine: *const vas_engine,
    out: *mut *mut vas_device_list,
) -> vas_result {
    guard("vas_devices_list", || {
        let out = arg_out(out, "out")?;
        // SAFETY: per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let items = vas
            .devices()?
            .iter()
            .map(|c| vas_device::of(c, false))
            .collect();
        write_out(
            out,
            Box::into_raw(Box::new(vas_device_list {
                tag: vas_device_list::TAG,
                items,
            })),
        );
        Ok(())
    })
}

/// One camera. `VAS_NOT_FOUND` when there is none with `id`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_device_get(
    engine: *const vas_engine,
    id: vas_id,
    out: *mut *mut vas_device,
) -> vas_result {
    guard("vas_device_get", || {
        let out = arg_out(out, "out")?;
        // SAFETY: per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let cam = vas.device(vas::DeviceId(id.uuid()))?;
        write_out(out, Box::into_raw(Box::new(vas_device::of(&cam, true))));
        Ok(())
    })
}

/// Changes a camera (running streams reconnect when a URL or credential changed). `*out`
/// (may be NULL) receives the camera as it now is.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_device_update(
    engine: *const vas_engine,
    id: vas_id,
    patch: *const vas_device_patch,
    out: *mut *mut vas_device,
) -> vas_result {
    guard("vas_device_update", || {
        if patch.is_null() {
            return Err(Fail::invalid("patch is NULL"));
        }
        // SAFETY (here and below): per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let p = unsafe { options(patch, vas_device_patch::default(), "patch") }?;
        let change = vas::DevicePatch {
            name: unsafe { opt_str(p.name, "patch->name") }?.map(str::to_owned),
            rtsp_url: unsafe { opt_str(p.rtsp_url, "patch->rtsp_url") }?.map(str::to_owned),
            sub_rtsp_url: match p.sub_stream {
                0 => vas::SubStreamChange::Keep,
                1 => vas::SubStreamChange::Remove,
                2 => vas::SubStreamChange::Set(
                    unsafe { opt_str(p.sub_rtsp_url, "patch->sub_rtsp_url") }?
                        .ok_or_else(|| {
                            Fail::invalid("patch->sub_rtsp_url is NULL with VAS_SUB_STREAM_SET")
                        })?
                        .to_owned(),
                ),
                v => {
                    return Err(Fail::invalid(format!(
                        "patch->sub_stream {v} is not a vas_sub_stream_change"
                    )));
                }
            },
            username: unsafe { opt_str(p.username, "patch->username") }?.map(str::to_owned),
            password: unsafe { opt_str(p.password, "patch->password") }?.map(str::to_owned),
            rtsp_transport: transport(p.transport, "patch->transport")?,
            enabled: match p.enabled {
                -1 => None,
                0 => Some(false),
                1 => Some(true),
                v => {
                    return Err(Fail::invalid(format!(
                        "patch->enabled {v} is not -1, 0 or 1"
                    )));
                }
            },
        };
        let cam = vas.update_device(vas::DeviceId(id.uuid()), change)?;
        box_opt(out, vas_device::of(&cam, true));
        Ok(())
    })
}

/// Removes a camera: its streams stop; its recordings stay until retention removes them.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_device_remove(engine: *const vas_engine, id: vas_id) -> vas_result {
    guard("vas_device_remove", || {
        // SAFETY: per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        vas.remove_device(vas::DeviceId(id.uuid()))?;
        Ok(())
    })
}

/// Frees a camera from add/get/update. NULL and list items (which their list frees) are
/// ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_device_free(device: *mut vas_device) {
    // SAFETY: per the header's conventions.
    unsafe { item_free(device, |d| d.owned) }
}

/// The number of cameras in `list` (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_device_list_len(list: *const vas_device_list) -> usize {
    // SAFETY: per the header's conventions.
    unsafe { list_len(list) }
}

/// The `index`th camera of `list`, owned by the list (NULL when out of range).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_device_list_get(
    list: *const vas_device_list,
    index: usize,
) -> *const vas_device {
    // SAFETY: per the header's conventions.
    unsafe { list_get(list, index) }
}

/// Frees a list and its cameras (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_device_list_free(list: *mut vas_device_list) {
    // SAFETY: per the header's conventions.
    unsafe { list_free(list) }
}

/// The camera's id (all zero for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_device_id(device: *const vas_device) -> vas_id {
    // SAFETY: per the header's conventions.
    guard_value(vas_id::default(), || {
        unsafe { peek(device) }.map_or_else(vas_id::default, |d| d.id)
    })
}

/// The camera's name.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_device_name(device: *const vas_device) -> *const c_char {
    // SAFETY: per the header's conventions.
    guard_value(std::ptr::null(), || {
        unsafe { peek(device) }.map_or(std::ptr::null(), |d| d.name.as_ptr())
    })
}

/// The main stream URL, credentials masked (`rtsp://***@host/…`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_device_rtsp_url(device: *const vas_device) -> *const c_char {
    // SAFETY: per the header's conventions.
    guard_value(std::ptr::null(), || {
        unsafe { peek(device) }.map_or(std::ptr::null(), |d| d.rtsp_url.as_ptr())
    })
}

/// The sub stream URL, masked, or NULL when the camera has none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_device_sub_rtsp_url(device: *const vas_device) -> *const c_char {
    // SAFETY: per the header's conventions.
    guard_value(std::ptr::null(), || {
        unsafe { peek(device) }.map_or(std::ptr::null(), |d| kept_ptr(&d.sub_rtsp_url))
    })
}

/// `"tcp"` or `"udp"`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_device_transport(device: *const vas_device) -> *const c_char {
    // SAFETY: per the header's conventions.
    guard_value(std::ptr::null(), || {
        unsafe { peek(device) }.map_or(std::ptr::null(), |d| d.transport.as_ptr())
    })
}

/// Whether the camera has a user name or password stored (they are never returned).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_device_has_credentials(device: *const vas_device) -> bool {
    // SAFETY: per the header's conventions.
    guard_value(false, || {
        unsafe { peek(device) }.is_some_and(|d| d.has_credentials)
    })
}

/// Whether the camera's streams may run.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_device_enabled(device: *const vas_device) -> bool {
    // SAFETY: per the header's conventions.
    guard_value(false, || unsafe { peek(device) }.is_some_and(|d| d.enabled))
}

/// When the camera was added (µs since the epoch; 0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_device_created_us(device: *const vas_device) -> i64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(device) }.map_or(0, |d| d.created_us))
}

/// A stream's ingest state.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum vas_stream_state {
    /// Not running.
    VAS_STREAM_STOPPED = 0,
    /// Connecting for the first time.
    VAS_STREAM_CONNECTING = 1,
    /// Frames are arriving.
    VAS_STREAM_LIVE = 2,
    /// Lost the camera; retrying with backoff.
    VAS_STREAM_RECONNECTING = 3,
    /// Gave up until something changes (e.g. wrong credentials); see the last error.
    VAS_STREAM_FAILED = 4,
    /// A state this version of the ABI does not know.
    VAS_STREAM_UNKNOWN = 99,
}

pub(crate) fn stream_state(s: vas::StreamState) -> vas_stream_state {
    match s {
        vas::StreamState::Stopped => vas_stream_state::VAS_STREAM_STOPPED,
        vas::StreamState::Connecting => vas_stream_state::VAS_STREAM_CONNECTING,
        vas::StreamState::Live => vas_stream_state::VAS_STREAM_LIVE,
        vas::StreamState::Reconnecting => vas_stream_state::VAS_STREAM_RECONNECTING,
        vas::StreamState::Failed => vas_stream_state::VAS_STREAM_FAILED,
        _ => vas_stream_state::VAS_STREAM_UNKNOWN,
    }
}

/// A stream and how it is doing, as of the call that returned it.
pub struct vas_stream {
    tag: u64,
    owned: bool,
    id: vas_id,
    device_id: vas_id,
    profile: CString,
    state: vas_stream_state,
    state_name: CString,
    running: bool,
    record: bool,
    recording: bool,
    fps: f64,
    frames: u64,
    reconnects: u64,
    viewers: u32,
    last_error: Option<CString>,
    last_frame_us: i64,
}

impl Tagged for vas_stream {
    const TAG: u64 = 0x7661_7373_7472_6561; // "vasstrea"
    const WHAT: &'static str = "stream";
    fn tag(&self) -> u64 {
        self.tag
    }
}

impl Kill for vas_stream {
    fn kill(&mut self) {
        self.tag = DEAD_TAG;
    }
}

impl Kill for vas_stream_list {
    fn kill(&mut self) {
        self.tag = DEAD_TAG;
    }
}

impl HandleList for vas_stream_list {
    type Item = vas_stream;
    fn items(&self) -> &[vas_stream] {
        &self.items
    }
    fn items_mut(&mut self) -> &mut [vas_stream] {
        &mut self.items
    }
}

impl vas_stream {
    fn of(s: &vas::StreamInfo, owned: bool) -> vas_stream {
        vas_stream {
            tag: Self::TAG,
            owned,
            id: vas_id::of(s.stream.id.0),
            device_id: vas_id::of(s.stream.device_id.0),
            profile: keep(s.stream.profile.as_str()),
            state: stream_state(s.status.state),
            state_name: keep(s.status.state.as_str()),
            running: s.stream.desired == vas::DesiredState::Running,
            record: s.stream.record,
            recording: s
                .recording
                .as_ref()
                .is_some_and(|r| r.state == vas::RecorderState::Recording),
            fps: s.status.fps,
            frames: s.status.frames,
            reconnects: s.status.reconnects,
            viewers: u32::try_from(s.viewers).unwrap_or(u32::MAX),
            last_error: s.status.last_error.as_deref().map(keep),
            last_frame_us: s.status.last_frame_at.map_or(0, micros),
        }
    }
}

/// Streams, from [`vas_streams_list`]; free with [`vas_stream_list_free`].
pub struct vas_stream_list {
    tag: u64,
    items: Vec<vas_stream>,
}

impl Tagged for vas_stream_list {
    const TAG: u64 = 0x7661_7373_6c69_7374; // "vasslist"
    const WHAT: &'static str = "stream_list";
    fn tag(&self) -> u64 {
        self.tag
    }
}

/// All streams with their state.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_streams_list(
    engine: *const vas_engine,
    out: *mut *mut vas_stream_list,
) -> vas_result {
    guard("vas_streams_list", || {
        let out = arg_out(out, "out")?;
        // SAFETY: per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let items = vas
            .streams()?
            .iter()
            .map(|s| vas_stream::of(s, false))
            .collect();
        write_out(
            out,
            Box::into_raw(Box::new(vas_stream_list {
                tag: vas_stream_list::TAG,
                items,
            })),
        );
        Ok(())
    })
}

fn one_stream(
    function: &'static str,
    engine: *const vas_engine,
    out: *mut *mut vas_stream,
    call: impl FnOnce(&vas::BlockingVas) -> vas::Result<vas::StreamInfo>,
) -> vas_result {
    guard(function, || {
        // SAFETY: per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let info = call(vas)?;
        box_opt(out, vas_stream::of(&info, true));
        Ok(())
    })
}

/// One stream and its state. `VAS_NOT_FOUND` when there is none with `id`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_get(
    engine: *const vas_engine,
    id: vas_id,
    out: *mut *mut vas_stream,
) -> vas_result {
    if out.is_null() {
        return guard("vas_stream_get", || Err(Fail::invalid("out is NULL")));
    }
    one_stream("vas_stream_get", engine, out, |v| {
        v.stream(vas::StreamId(id.uuid()))
    })
}

/// Starts a stream (it connects in the background and reconnects by itself; watch its
/// state). `*out` (may be NULL) receives the stream. `VAS_FAILED_PRECONDITION` when its
/// camera is disabled.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_start(
    engine: *const vas_engine,
    id: vas_id,
    out: *mut *mut vas_stream,
) -> vas_result {
    one_stream("vas_stream_start", engine, out, |v| {
        v.start_stream(vas::StreamId(id.uuid()))
    })
}

/// Stops a stream (viewers and subscribers stay, and resume when it starts again). `*out`
/// (may be NULL) receives the stream.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_stop(
    engine: *const vas_engine,
    id: vas_id,
    out: *mut *mut vas_stream,
) -> vas_result {
    one_stream("vas_stream_stop", engine, out, |v| {
        v.stop_stream(vas::StreamId(id.uuid()))
    })
}

/// Turns recording of a stream to HLS on or off. `*out` (may be NULL) receives the stream.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_set_recording(
    engine: *const vas_engine,
    id: vas_id,
    record: bool,
    out: *mut *mut vas_stream,
) -> vas_result {
    one_stream("vas_stream_set_recording", engine, out, |v| {
        v.set_recording(vas::StreamId(id.uuid()), record)
    })
}

/// The id of a camera's stream of `profile` (`"main"` or `"sub"`). `VAS_NOT_FOUND` when the
/// camera has none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_device_stream(
    engine: *const vas_engine,
    device: vas_id,
    profile: *const c_char,
    out: *mut vas_id,
) -> vas_result {
    guard("vas_device_stream", || {
        let out = arg_out(out, "out")?;
        // SAFETY (both): per the header's conventions.
        let vas = unsafe { engine_of(engine) }?;
        let profile = unsafe { crate::error::arg_str(profile, "profile") }?;
        let found = vas
            .streams()?
            .into_iter()
            .find(|s| s.stream.device_id.0 == device.uuid() && s.stream.profile.as_str() == profile)
            .ok_or_else(|| {
                Fail::new(
                    vas_result::VAS_NOT_FOUND,
                    format!("device {} has no {profile:?} stream", device.uuid()),
                )
            })?;
        write_out(out, vas_id::of(found.stream.id.0));
        Ok(())
    })
}

/// Frees a stream from get/start/stop/set_recording. NULL and list items are ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_free(stream: *mut vas_stream) {
    // SAFETY: per the header's conventions.
    unsafe { item_free(stream, |s| s.owned) }
}

/// The number of streams in `list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_list_len(list: *const vas_stream_list) -> usize {
    // SAFETY: per the header's conventions.
    unsafe { list_len(list) }
}

/// The `index`th stream of `list`, owned by the list (NULL when out of range).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_list_get(
    list: *const vas_stream_list,
    index: usize,
) -> *const vas_stream {
    // SAFETY: per the header's conventions.
    unsafe { list_get(list, index) }
}

/// Frees a list and its streams (NULL is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_list_free(list: *mut vas_stream_list) {
    // SAFETY: per the header's conventions.
    unsafe { list_free(list) }
}

/// The stream's id.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_id(stream: *const vas_stream) -> vas_id {
    // SAFETY: per the header's conventions.
    guard_value(vas_id::default(), || {
        unsafe { peek(stream) }.map_or_else(vas_id::default, |s| s.id)
    })
}

/// The id of the stream's camera.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_device_id(stream: *const vas_stream) -> vas_id {
    // SAFETY: per the header's conventions.
    guard_value(vas_id::default(), || {
        unsafe { peek(stream) }.map_or_else(vas_id::default, |s| s.device_id)
    })
}

/// `"main"` or `"sub"`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_profile(stream: *const vas_stream) -> *const c_char {
    // SAFETY: per the header's conventions.
    guard_value(std::ptr::null(), || {
        unsafe { peek(stream) }.map_or(std::ptr::null(), |s| s.profile.as_ptr())
    })
}

/// The ingest state (`VAS_STREAM_UNKNOWN` for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_state_of(stream: *const vas_stream) -> vas_stream_state {
    guard_value(vas_stream_state::VAS_STREAM_UNKNOWN, || {
        // SAFETY: per the header's conventions.
        unsafe { peek(stream) }.map_or(vas_stream_state::VAS_STREAM_UNKNOWN, |s| s.state)
    })
}

/// The ingest state's name (`"live"`, `"reconnecting"`, …).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_state_name(stream: *const vas_stream) -> *const c_char {
    // SAFETY: per the header's conventions.
    guard_value(std::ptr::null(), || {
        unsafe { peek(stream) }.map_or(std::ptr::null(), |s| s.state_name.as_ptr())
    })
}

/// Whether the stream is meant to run (started and not stopped).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_running(stream: *const vas_stream) -> bool {
    // SAFETY: per the header's conventions.
    guard_value(false, || unsafe { peek(stream) }.is_some_and(|s| s.running))
}

/// Whether recording is on for the stream.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_record(stream: *const vas_stream) -> bool {
    // SAFETY: per the header's conventions.
    guard_value(false, || unsafe { peek(stream) }.is_some_and(|s| s.record))
}

/// Whether the recorder is writing right now.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_recording(stream: *const vas_stream) -> bool {
    // SAFETY: per the header's conventions.
    guard_value(false, || {
        unsafe { peek(stream) }.is_some_and(|s| s.recording)
    })
}

/// Frames per second over the last few seconds.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_fps(stream: *const vas_stream) -> f64 {
    // SAFETY: per the header's conventions.
    guard_value(0.0, || unsafe { peek(stream) }.map_or(0.0, |s| s.fps))
}

/// Frames received since the stream started.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_frames(stream: *const vas_stream) -> u64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(stream) }.map_or(0, |s| s.frames))
}

/// Reconnections since the stream started.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_reconnects(stream: *const vas_stream) -> u64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(stream) }.map_or(0, |s| s.reconnects))
}

/// WebRTC viewers watching.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_viewers(stream: *const vas_stream) -> u32 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(stream) }.map_or(0, |s| s.viewers))
}

/// The last ingest error (credentials masked), or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_last_error(stream: *const vas_stream) -> *const c_char {
    // SAFETY: per the header's conventions.
    guard_value(std::ptr::null(), || {
        unsafe { peek(stream) }.map_or(std::ptr::null(), |s| kept_ptr(&s.last_error))
    })
}

/// Capture time of the newest frame (µs since the epoch), 0 when none arrived yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vas_stream_last_frame_us(stream: *const vas_stream) -> i64 {
    // SAFETY: per the header's conventions.
    guard_value(0, || unsafe { peek(stream) }.map_or(0, |s| s.last_frame_us))
}
