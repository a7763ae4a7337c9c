//! The records the API passes: configuration, cameras, streams, snapshots, bookmarks,
//! recordings, frames, events. Times are timestamps (Kotlin `Instant`, Swift `Date`).

use std::time::SystemTime;

/// How to open an engine.
#[derive(Debug, Clone, uniffi::Record)]
pub struct EngineConfig {
    /// Folder for the SQLite database and, by default, media.
    pub data_dir: String,
    /// `sqlite://…` or `postgres://…` (None: SQLite in `data_dir`).
    #[uniffi(default = None)]
    pub database_url: Option<String>,
    /// Folder for recordings, snapshots and clips (None: `data_dir/media`).
    #[uniffi(default = None)]
    pub media_dir: Option<String>,
    /// Address for WebRTC live view, e.g. `"0.0.0.0:8189"` (None: no live view).
    #[uniffi(default = None)]
    pub webrtc_bind: Option<String>,
}

/// A camera to add. Credentials may be in the URL or apart; they are never returned.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NewCamera {
    /// Unique name.
    pub name: String,
    /// Main-stream `rtsp://` URL.
    pub rtsp_url: String,
    /// Username, if not in the URL.
    #[uniffi(default = None)]
    pub username: Option<String>,
    /// Password, if not in the URL.
    #[uniffi(default = None)]
    pub password: Option<String>,
}

/// A camera (its URL's password masked).
#[derive(Debug, Clone, uniffi::Record)]
pub struct Camera {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Main-stream URL, password masked.
    pub rtsp_url: String,
    /// Whether credentials are stored.
    pub has_credentials: bool,
    /// Whether it may run.
    pub enabled: bool,
}

impl From<vas::Camera> for Camera {
    fn from(c: vas::Camera) -> Self {
        Camera {
            id: c.id.to_string(),
            name: c.name,
            rtsp_url: c.rtsp_url,
            has_credentials: c.has_credentials,
            enabled: c.enabled,
        }
    }
}

/// A stream with its live status.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Stream {
    /// Its id.
    pub id: String,
    /// The camera's id.
    pub camera_id: String,
    /// `"main"` or `"sub"`.
    pub profile: String,
    /// `"stopped"`, `"connecting"`, `"live"`, `"reconnecting"` or `"failed"`.
    pub state: String,
    /// Frames per second lately.
    pub fps: f64,
    /// The last failure, or None.
    pub last_error: Option<String>,
}

impl From<vas::StreamInfo> for Stream {
    fn from(s: vas::StreamInfo) -> Self {
        Stream {
            id: s.stream.id.to_string(),
            camera_id: s.stream.device_id.to_string(),
            profile: s.stream.profile.as_str().to_owned(),
            state: s.status.state.as_str().to_owned(),
            fps: s.status.fps,
            last_error: s.status.last_error,
        }
    }
}

/// A JPEG of a stream.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Snapshot {
    /// The JPEG file.
    pub jpeg: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Capture time of the frame shown.
    pub time: SystemTime,
    /// True when the stream was not live and this is its last good picture.
    pub offline: bool,
}

/// A bookmark: a moment kept as a clip.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Bookmark {
    /// Its id.
    pub id: String,
    /// The stream.
    pub stream_id: String,
    /// The moment.
    pub at: SystemTime,
    /// Optional label.
    pub label: Option<String>,
    /// `"pending"`, `"ready"` or `"failed"`.
    pub state: String,
    /// The clip, relative to the media folder, once written.
    pub clip_location: Option<String>,
}

impl From<vas::Bookmark> for Bookmark {
    fn from(b: vas::Bookmark) -> Self {
        Bookmark {
            id: b.id.to_string(),
            stream_id: b.stream_id.to_string(),
            at: b.at.into(),
            label: b.label,
            state: b.state.as_str().to_owned(),
            clip_location: b.clip_location,
        }
    }
}

/// A recording (HLS segments under one playlist).
#[derive(Debug, Clone, uniffi::Record)]
pub struct Recording {
    /// Its id.
    pub id: String,
    /// The stream.
    pub stream_id: String,
    /// Time of the first frame.
    pub start: SystemTime,
    /// Time after the last frame, or None while being written.
    pub end: Option<SystemTime>,
    /// Bytes on disk.
    pub bytes: u64,
}

impl From<vas::Recording> for Recording {
    fn from(r: vas::Recording) -> Self {
        Recording {
            id: r.id.to_string(),
            stream_id: r.stream_id.to_string(),
            start: r.start.into(),
            end: r.end.map(Into::into),
            bytes: r.bytes,
        }
    }
}

/// The answer to a WebRTC offer.
#[derive(Debug, Clone, uniffi::Record)]
pub struct WebRtcAnswer {
    /// The SDP answer for the browser.
    pub answer_sdp: String,
    /// The viewer's number.
    pub viewer: u64,
}

/// Pixel formats of decoded frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PixelFormat {
    /// Planar 4:2:0 (Y, then U, then V).
    I420,
    /// Y plane, then interleaved UV.
    Nv12,
    /// One byte of luma per pixel.
    Gray8,
    /// R, G, B per pixel.
    Rgb24,
    /// B, G, R per pixel.
    Bgr24,
}

impl From<PixelFormat> for vas::frames::PixelFormat {
    fn from(f: PixelFormat) -> Self {
        match f {
            PixelFormat::I420 => vas::frames::PixelFormat::I420,
            PixelFormat::Nv12 => vas::frames::PixelFormat::Nv12,
            PixelFormat::Gray8 => vas::frames::PixelFormat::Gray8,
            PixelFormat::Rgb24 => vas::frames::PixelFormat::Rgb24,
            PixelFormat::Bgr24 => vas::frames::PixelFormat::Bgr24,
        }
    }
}

/// One decoded picture (its bytes are a copy the callback owns).
#[derive(Debug, Clone, uniffi::Record)]
pub struct Frame {
    /// The pixels, in `format`.
    pub data: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Presentation time in the stream's 90 kHz clock.
    pub pts: i64,
    /// Capture time.
    pub time: SystemTime,
    /// Whether it was a keyframe.
    pub keyframe: bool,
    /// Its number in the subscription.
    pub seq: u64,
}

impl From<vas::frames::VideoFrame> for Frame {
    fn from(f: vas::frames::VideoFrame) -> Self {
        Frame {
            data: f.data().to_vec(),
            width: f.width(),
            height: f.height(),
            pts: f.pts(),
            time: f.time().into(),
            keyframe: f.keyframe(),
            seq: f.seq(),
        }
    }
}

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum EventKind {
    /// A stream's ingest state changed (`state`, `message` the failure).
    StreamState,
    /// A recorder changed state (`state`, `object_id` the recording).
    Recorder,
    /// A WebRTC viewer joined (`viewer`).
    ViewerJoined,
    /// A WebRTC viewer left (`viewer`, `message` why).
    ViewerLeft,
    /// A snapshot was saved (`object_id`).
    SnapshotSaved,
    /// A bookmark's clip changed state (`object_id`, `state`, `message`).
    Bookmark,
    /// The listener fell behind and `missed` events were dropped.
    Missed,
}

/// Something that happened in the engine.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Event {
    /// What it is about.
    pub kind: EventKind,
    /// The stream concerned, if any.
    pub stream_id: Option<String>,
    /// The new state, if the kind has one.
    pub state: Option<String>,
    /// A failure or detail, if any.
    pub message: Option<String>,
    /// The recording, snapshot or bookmark concerned, if any.
    pub object_id: Option<String>,
    /// The viewer concerned (0: none).
    pub viewer: u64,
    /// Events dropped (`Missed` only).
    pub missed: u64,
    /// When it happened, if known.
    pub time: Option<SystemTime>,
}

impl Event {
    /// The record of an engine event (None for a kind newer than this binding).
    pub(crate) fn of(e: vas::Event) -> Option<Event> {
        use vas::Event as E;
        let mut out = Event {
            kind: EventKind::Missed,
            stream_id: e.stream().map(|s| s.to_string()),
            state: None,
            message: None,
            object_id: None,
            viewer: 0,
            missed: 0,
            time: None,
        };
        match e {
            E::StreamState {
                state, error, at, ..
            } => {
                out.kind = EventKind::StreamState;
                out.state = Some(state.as_str().to_owned());
                out.message = error;
                out.time = Some(at.into());
            }
            E::Recorder {
                state,
                recording,
                error,
                at,
                ..
            } => {
                out.kind = EventKind::Recorder;
                out.state = Some(state.as_str().to_owned());
                out.object_id = recording.map(|r| r.to_string());
                out.message = error;
                out.time = Some(at.into());
            }
            E::ViewerJoined { viewer, at, .. } => {
                out.kind = EventKind::ViewerJoined;
                out.viewer = viewer.0;
                out.time = Some(at.into());
            }
            E::ViewerLeft {
                viewer, reason, at, ..
            } => {
                out.kind = EventKind::ViewerLeft;
                out.viewer = viewer.0;
                out.message = Some(reason);
                out.time = Some(at.into());
            }
            E::SnapshotSaved {
                snapshot, taken_at, ..
            } => {
                out.kind = EventKind::SnapshotSaved;
                out.object_id = Some(snapshot.to_string());
                out.time = Some(taken_at.into());
            }
            E::Bookmark {
                bookmark,
                state,
                detail,
                at,
                ..
            } => {
                out.kind = EventKind::Bookmark;
                out.object_id = Some(bookmark.to_string());
                out.state = Some(state.as_str().to_owned());
                out.message = detail;
                out.time = Some(at.into());
            }
            E::Missed { events } => {
                out.kind = EventKind::Missed;
                out.missed = events;
            }
            _ => return None,
        }
        Some(out)
    }
}
