//! The small typed objects the API returns: cameras, streams, recordings, snapshots,
//! bookmarks, a WebRTC session, and the events. Read-only, with a `__repr__`; a camera never
//! carries its password (its URLs come masked from the engine).

use chrono::{DateTime, Utc};
use pyo3::prelude::*;

/// Adds the classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Camera>()?;
    m.add_class::<Stream>()?;
    m.add_class::<Recording>()?;
    m.add_class::<Snapshot>()?;
    m.add_class::<SnapshotImage>()?;
    m.add_class::<Bookmark>()?;
    m.add_class::<WebRtcSession>()?;
    m.add_class::<Event>()?;
    m.add_class::<StreamStateEvent>()?;
    m.add_class::<RecorderEvent>()?;
    m.add_class::<ViewerJoinedEvent>()?;
    m.add_class::<ViewerLeftEvent>()?;
    m.add_class::<SnapshotSavedEvent>()?;
    m.add_class::<BookmarkEvent>()?;
    m.add_class::<MissedEvent>()?;
    Ok(())
}

/// `repr()` of a string, as Python writes it (single quotes).
pub(crate) fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `repr()` of an optional string, as Python writes it.
fn opt(s: &Option<String>) -> String {
    s.as_deref().map_or_else(|| "None".to_owned(), q)
}

/// `repr()` of a value in an event's repr.
trait Repr {
    fn repr(&self) -> String;
}

impl Repr for String {
    fn repr(&self) -> String {
        q(self)
    }
}

impl Repr for Option<String> {
    fn repr(&self) -> String {
        opt(self)
    }
}

impl Repr for u64 {
    fn repr(&self) -> String {
        self.to_string()
    }
}

/// A camera (a device). Its URLs have the password masked; `has_credentials` says whether
/// any are stored.
#[pyclass(module = "vas._vas", frozen, get_all)]
pub(crate) struct Camera {
    /// Its id (a UUID string).
    id: String,
    /// Its unique name.
    name: String,
    /// Main-stream URL, password masked.
    rtsp_url: String,
    /// Sub-stream URL, password masked, or None.
    sub_rtsp_url: Option<String>,
    /// Whether credentials are stored for it.
    has_credentials: bool,
    /// `"tcp"` or `"udp"`.
    transport: String,
    /// Whether it may run.
    enabled: bool,
    /// When it was added.
    created_at: DateTime<Utc>,
    /// When it was last changed.
    updated_at: DateTime<Utc>,
}

impl From<vas::Camera> for Camera {
    fn from(c: vas::Camera) -> Self {
        Camera {
            id: c.id.to_string(),
            name: c.name,
            rtsp_url: c.rtsp_url,
            sub_rtsp_url: c.sub_rtsp_url,
            has_credentials: c.has_credentials,
            transport: c.rtsp_transport.as_str().to_owned(),
            enabled: c.enabled,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[pymethods]
impl Camera {
    fn __repr__(&self) -> String {
        format!(
            "Camera(id={}, name={}, rtsp_url={}, has_credentials={}, enabled={})",
            q(&self.id),
            q(&self.name),
            q(&self.rtsp_url),
            py_bool(self.has_credentials),
            py_bool(self.enabled)
        )
    }
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// One stream (profile) of a camera with its live status.
#[pyclass(module = "vas._vas", frozen, get_all)]
pub(crate) struct Stream {
    /// Its id (a UUID string).
    id: String,
    /// The camera's id.
    device_id: String,
    /// `"main"` or `"sub"`.
    profile: String,
    /// `"stopped"`, `"connecting"`, `"live"`, `"reconnecting"` or `"failed"`.
    state: String,
    /// Whether it is meant to run (started and not stopped).
    running: bool,
    /// Whether it records while it runs.
    record: bool,
    /// Whether a recording is being written now.
    recording: bool,
    /// Frames per second over the last measuring window.
    fps: f64,
    /// Bits per second over the last measuring window.
    bitrate_bps: u64,
    /// Frames received since it was started.
    frames: u64,
    /// Reconnections since it was started.
    reconnects: u64,
    /// The last failure (credentials masked), or None.
    last_error: Option<String>,
    /// When the last frame arrived, or None.
    last_frame_at: Option<DateTime<Utc>>,
    /// WebRTC viewers watching it.
    viewers: usize,
}

impl From<vas::StreamInfo> for Stream {
    fn from(s: vas::StreamInfo) -> Self {
        Stream {
            id: s.stream.id.to_string(),
            device_id: s.stream.device_id.to_string(),
            profile: s.stream.profile.as_str().to_owned(),
            state: s.status.state.as_str().to_owned(),
            running: s.stream.desired == vas::DesiredState::Running,
            record: s.stream.record,
            recording: s
                .recording
                .as_ref()
                .is_some_and(|r| r.state == vas::RecorderState::Recording),
            fps: s.status.fps,
            bitrate_bps: s.status.bitrate_bps,
            frames: s.status.frames,
            reconnects: s.status.reconnects,
            last_error: s.status.last_error,
            last_frame_at: s.status.last_frame_at,
            viewers: s.viewers,
        }
    }
}

#[pymethods]
impl Stream {
    fn __repr__(&self) -> String {
        format!(
            "Stream(id={}, device_id={}, profile={}, state={}, fps={:.1}, last_error={})",
            q(&self.id),
            q(&self.device_id),
            q(&self.profile),
            q(&self.state),
            self.fps,
            opt(&self.last_error)
        )
    }
}

/// A run of recorded video (HLS segments under one playlist).
#[pyclass(module = "vas._vas", frozen, get_all)]
pub(crate) struct Recording {
    /// Its id.
    id: String,
    /// The stream recorded.
    stream_id: String,
    /// Time of the first frame.
    start: DateTime<Utc>,
    /// Time just after the last frame, or None while it is being written.
    end: Option<DateTime<Utc>>,
    /// Its folder, relative to the media folder.
    location: String,
    /// Bytes on disk.
    bytes: u64,
}

impl From<vas::Recording> for Recording {
    fn from(r: vas::Recording) -> Self {
        Recording {
            id: r.id.to_string(),
            stream_id: r.stream_id.to_string(),
            start: r.start,
            end: r.end,
            location: r.location,
            bytes: r.bytes,
        }
    }
}

#[pymethods]
impl Recording {
    fn __repr__(&self) -> String {
        format!(
            "Recording(id={}, stream_id={}, start={}, end={}, bytes={})",
            q(&self.id),
            q(&self.stream_id),
            q(&self.start.to_rfc3339()),
            self.end
                .map_or_else(|| "None".to_owned(), |e| q(&e.to_rfc3339())),
            self.bytes
        )
    }
}

/// A saved snapshot (a JPEG kept in the media folder and indexed).
#[pyclass(module = "vas._vas", frozen, get_all)]
pub(crate) struct Snapshot {
    /// Its id.
    id: String,
    /// The stream it shows.
    stream_id: String,
    /// Capture time of the frame shown.
    taken_at: DateTime<Utc>,
    /// The file, relative to the media folder.
    location: String,
    /// Size of the JPEG.
    bytes: u64,
    /// Width in pixels.
    width: u32,
    /// Height in pixels.
    height: u32,
    /// Optional label.
    label: Option<String>,
}

impl From<vas::Snapshot> for Snapshot {
    fn from(s: vas::Snapshot) -> Self {
        Snapshot {
            id: s.id.to_string(),
            stream_id: s.stream_id.to_string(),
            taken_at: s.taken_at,
            location: s.location,
            bytes: s.bytes,
            width: s.width,
            height: s.height,
            label: s.label,
        }
    }
}

#[pymethods]
impl Snapshot {
    fn __repr__(&self) -> String {
        format!(
            "Snapshot(id={}, stream_id={}, taken_at={}, width={}, height={}, label={})",
            q(&self.id),
            q(&self.stream_id),
            q(&self.taken_at.to_rfc3339()),
            self.width,
            self.height,
            opt(&self.label)
        )
    }
}

/// A JPEG taken now (or of a past moment) with what it shows; `bytes(image)` is the file.
#[pyclass(module = "vas._vas", frozen, get_all)]
pub(crate) struct SnapshotImage {
    /// The JPEG file.
    jpeg: Py<pyo3::types::PyBytes>,
    /// Capture time of the frame shown.
    time: DateTime<Utc>,
    /// Width in pixels.
    width: u32,
    /// Height in pixels.
    height: u32,
    /// True when the stream was not live and this is its last good picture.
    offline: bool,
}

impl SnapshotImage {
    pub(crate) fn new(py: Python<'_>, j: vas::snapshot::Jpeg) -> Self {
        SnapshotImage {
            jpeg: pyo3::types::PyBytes::new(py, &j.bytes).unbind(),
            time: j.time,
            width: j.width,
            height: j.height,
            offline: j.offline,
        }
    }
}

#[pymethods]
impl SnapshotImage {
    fn __bytes__(&self, py: Python<'_>) -> Py<pyo3::types::PyBytes> {
        self.jpeg.clone_ref(py)
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.jpeg.bind(py).as_bytes().len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "SnapshotImage({} bytes, {}x{}, time={}, offline={})",
            self.jpeg.bind(py).as_bytes().len(),
            self.width,
            self.height,
            q(&self.time.to_rfc3339()),
            py_bool(self.offline)
        )
    }
}

/// A bookmark: a moment of a stream kept as a clip of `before` + `after` seconds.
#[pyclass(module = "vas._vas", frozen, get_all)]
pub(crate) struct Bookmark {
    /// Its id.
    id: String,
    /// The stream it marks.
    stream_id: String,
    /// The moment.
    at: DateTime<Utc>,
    /// Seconds kept before the moment.
    before: f64,
    /// Seconds kept after the moment.
    after: f64,
    /// Optional label.
    label: Option<String>,
    /// `"pending"`, `"ready"` or `"failed"`.
    state: String,
    /// The clip, relative to the media folder, once written.
    clip_location: Option<String>,
    /// Why the clip failed, or what a ready clip lacks.
    detail: Option<String>,
    /// When it was made.
    created_at: DateTime<Utc>,
}

impl From<vas::Bookmark> for Bookmark {
    fn from(b: vas::Bookmark) -> Self {
        Bookmark {
            id: b.id.to_string(),
            stream_id: b.stream_id.to_string(),
            at: b.at,
            before: b.before.as_secs_f64(),
            after: b.after.as_secs_f64(),
            label: b.label,
            state: b.state.as_str().to_owned(),
            clip_location: b.clip_location,
            detail: b.detail,
            created_at: b.created_at,
        }
    }
}

#[pymethods]
impl Bookmark {
    fn __repr__(&self) -> String {
        format!(
            "Bookmark(id={}, stream_id={}, at={}, state={}, label={})",
            q(&self.id),
            q(&self.stream_id),
            q(&self.at.to_rfc3339()),
            q(&self.state),
            opt(&self.label)
        )
    }
}

/// The answer to a WebRTC offer: send `answer_sdp` back to the browser; `viewer` ends the
/// session with `Vas.webrtc_close`.
#[pyclass(module = "vas._vas", frozen, get_all)]
pub(crate) struct WebRtcSession {
    /// The SDP answer.
    answer_sdp: String,
    /// The viewer's number.
    viewer: u64,
    /// The stream watched.
    stream_id: String,
}

impl From<vas::WebRtcSession> for WebRtcSession {
    fn from(s: vas::WebRtcSession) -> Self {
        WebRtcSession {
            answer_sdp: s.answer_sdp,
            viewer: s.viewer.0,
            stream_id: s.stream.to_string(),
        }
    }
}

#[pymethods]
impl WebRtcSession {
    fn __repr__(&self) -> String {
        format!(
            "WebRtcSession(viewer={}, stream_id={}, answer_sdp=<{} bytes>)",
            self.viewer,
            q(&self.stream_id),
            self.answer_sdp.len()
        )
    }
}

/// Something that happened in the engine. The subclasses say what; `kind` names it.
#[pyclass(module = "vas._vas", frozen, subclass, get_all)]
pub(crate) struct Event {
    /// `"stream_state"`, `"recorder"`, `"viewer_joined"`, `"viewer_left"`,
    /// `"snapshot_saved"`, `"bookmark"` or `"missed"`.
    kind: &'static str,
    /// The stream concerned, or None (`missed`).
    stream_id: Option<String>,
    /// When it happened, or None (`missed`).
    time: Option<DateTime<Utc>>,
}

macro_rules! event_class {
    ($(#[$doc:meta])* $name:ident { $( $(#[$fdoc:meta])* $field:ident : $ty:ty ),* $(,)? }) => {
        $(#[$doc])*
        #[pyclass(module = "vas._vas", frozen, extends = Event, get_all)]
        pub(crate) struct $name {
            $( $(#[$fdoc])* $field: $ty, )*
        }

        #[pymethods]
        impl $name {
            fn __repr__(slf: &Bound<'_, Self>) -> String {
                let base = slf.as_super().get();
                let me = slf.get();
                let mut s = format!(
                    "{}(stream_id={}, time={}",
                    stringify!($name),
                    opt(&base.stream_id),
                    base.time.map_or_else(|| "None".to_owned(), |t| q(&t.to_rfc3339())),
                );
                $( s.push_str(&format!(", {}={}", stringify!($field), me.$field.repr())); )*
                s.push(')');
                s
            }
        }
    };
}

event_class!(
    /// A stream's ingest state changed.
    StreamStateEvent {
        /// The new state (`"live"`, `"reconnecting"`, ...).
        state: String,
        /// The failure that caused it, or None.
        error: Option<String>,
    }
);
event_class!(
    /// A stream's recorder changed state.
    RecorderEvent {
        /// `"recording"`, `"idle"`, `"failed"`, ...
        state: String,
        /// The recording being written, or None.
        recording_id: Option<String>,
        /// The failure, or None.
        error: Option<String>,
    }
);
event_class!(
    /// A WebRTC viewer started watching.
    ViewerJoinedEvent {
        /// The viewer's number.
        viewer: u64,
    }
);
event_class!(
    /// A WebRTC viewer stopped watching.
    ViewerLeftEvent {
        /// The viewer's number.
        viewer: u64,
        /// Why.
        reason: String,
    }
);
event_class!(
    /// A snapshot was saved.
    SnapshotSavedEvent {
        /// The snapshot's id.
        snapshot_id: String,
    }
);
event_class!(
    /// A bookmark's clip changed state.
    BookmarkEvent {
        /// The bookmark's id.
        bookmark_id: String,
        /// `"pending"`, `"ready"` or `"failed"`.
        state: String,
        /// Why it failed or what it lacks, or None.
        detail: Option<String>,
    }
);
event_class!(
    /// The subscriber fell behind and this many events were dropped.
    MissedEvent {
        /// How many.
        missed: u64,
    }
);

/// The typed Python object of an event, or None for a kind newer than this binding.
pub(crate) fn event(py: Python<'_>, e: vas::Event) -> PyResult<Option<Py<PyAny>>> {
    use vas::Event as E;
    let base = |kind, stream: vas::StreamId, time| Event {
        kind,
        stream_id: Some(stream.to_string()),
        time: Some(time),
    };
    let init = |b: Event| PyClassInitializer::from(b);
    let obj = match e {
        E::StreamState {
            stream,
            state,
            error,
            at,
        } => Py::new(
            py,
            init(base("stream_state", stream, at)).add_subclass(StreamStateEvent {
                state: state.as_str().to_owned(),
                error,
            }),
        )?
        .into_any(),
        E::Recorder {
            stream,
            state,
            recording,
            error,
            at,
        } => Py::new(
            py,
            init(base("recorder", stream, at)).add_subclass(RecorderEvent {
                state: state.as_str().to_owned(),
                recording_id: recording.map(|r| r.to_string()),
                error,
            }),
        )?
        .into_any(),
        E::ViewerJoined { stream, viewer, at } => Py::new(
            py,
            init(base("viewer_joined", stream, at))
                .add_subclass(ViewerJoinedEvent { viewer: viewer.0 }),
        )?
        .into_any(),
        E::ViewerLeft {
            stream,
            viewer,
            reason,
            at,
        } => Py::new(
            py,
            init(base("viewer_left", stream, at)).add_subclass(ViewerLeftEvent {
                viewer: viewer.0,
                reason,
            }),
        )?
        .into_any(),
        E::SnapshotSaved {
            stream,
            snapshot,
            taken_at,
        } => Py::new(
            py,
            init(base("snapshot_saved", stream, taken_at)).add_subclass(SnapshotSavedEvent {
                snapshot_id: snapshot.to_string(),
            }),
        )?
        .into_any(),
        E::Bookmark {
            stream,
            bookmark,
            state,
            detail,
            at,
        } => Py::new(
            py,
            init(base("bookmark", stream, at)).add_subclass(BookmarkEvent {
                bookmark_id: bookmark.to_string(),
                state: state.as_str().to_owned(),
                detail,
            }),
        )?
        .into_any(),
        E::Missed { events } => Py::new(
            py,
            init(Event {
                kind: "missed",
                stream_id: None,
                time: None,
            })
            .add_subclass(MissedEvent { missed: events }),
        )?
        .into_any(),
        _ => return Ok(None),
    };
    Ok(Some(obj))
}
