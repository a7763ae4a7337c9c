//! The domain model: cameras (devices), their streams, and what VAS keeps of them
//! (recordings, bookmarks, snapshots).
//!
//! Owns the shapes and their validation rules. It must never do I/O; the [`crate::store`]
//! persists these values and the [`crate::Vas`] engine decides when.
//! IDs are UUIDs (v7, so they sort by creation time) and times are UTC with microsecond
//! precision, so a value round-trips through SQLite and PostgreSQL unchanged.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::camera_url::{CameraUrl, Credentials};
use crate::{Error, Result};

/// Longest accepted device name, in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// Longest accepted bookmark label, in characters.
pub const MAX_LABEL_CHARS: usize = 256;
/// Longest margin a bookmark may ask for on either side.
pub const MAX_BOOKMARK_MARGIN: Duration = Duration::from_secs(300);

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                $name(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Uuid::try_parse(s).map($name).map_err(|_| {
                    Error::invalid_input(format!(concat!($what, " id is not a UUID")))
                })
            }
        }
    };
}

id_type!(
    /// Identifies a camera.
    DeviceId,
    "device"
);
id_type!(
    /// Identifies one stream (profile) of a camera.
    StreamId,
    "stream"
);
id_type!(
    /// Identifies one recording (a run of HLS segments).
    RecordingId,
    "recording"
);
id_type!(
    /// Identifies a bookmark.
    BookmarkId,
    "bookmark"
);
id_type!(
    /// Identifies a snapshot.
    SnapshotId,
    "snapshot"
);

/// Truncates a time to whole microseconds, the precision both stores keep.
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// A camera.
#[derive(Clone, Debug, PartialEq)]
pub struct Device {
    /// Its id.
    pub id: DeviceId,
    /// Unique, human-chosen name.
    pub name: String,
    /// Main-stream URL (no credentials).
    pub rtsp_url: CameraUrl,
    /// Optional sub-stream URL (no credentials).
    pub sub_rtsp_url: Option<CameraUrl>,
    /// Credentials for both URLs, if the camera needs them.
    pub credentials: Option<Credentials>,
    /// How RTP travels from it.
    pub rtsp_transport: RtpTransport,
    /// Whether VAS may connect to it at all.
    pub enabled: bool,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl Device {
    /// The main URL as shown to users: password masked.
    pub fn rtsp_url_masked(&self) -> String {
        self.rtsp_url.masked(self.credentials.as_ref())
    }

    /// The sub-stream URL as shown to users: password masked.
    pub fn sub_rtsp_url_masked(&self) -> Option<String> {
        self.sub_rtsp_url
            .as_ref()
            .map(|u| u.masked(self.credentials.as_ref()))
    }

    /// The URL of one of this camera's profiles, if it has that profile.
    pub fn url_for(&self, profile: StreamProfile) -> Option<&CameraUrl> {
        match profile {
            StreamProfile::Main => Some(&self.rtsp_url),
            StreamProfile::Sub => self.sub_rtsp_url.as_ref(),
        }
    }
}

/// A camera as the outside sees it: what [`crate::Vas`] hands out. It never carries the
/// password: URLs come masked (`rtsp://user:***@host/path`) and `has_credentials` says
/// whether any are stored.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let vas = vas::Vas::builder().data_dir(dir.path()).build().await?;
/// let cam = vas.add_device(vas::NewDevice::new("gate", "rtsp://admin:pw@10.0.0.5/s1")).await?;
/// assert_eq!(cam.rtsp_url, "rtsp://admin:***@10.0.0.5/s1");
/// assert!(cam.has_credentials);
/// # Ok::<(), vas::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Camera {
    /// Its id.
    pub id: DeviceId,
    /// Unique, human-chosen name.
    pub name: String,
    /// Main-stream URL, password masked.
    pub rtsp_url: String,
    /// Sub-stream URL, password masked, if the camera has a sub stream.
    pub sub_rtsp_url: Option<String>,
    /// Whether credentials are stored for it.
    pub has_credentials: bool,
    /// How RTP travels from it.
    pub rtsp_transport: RtpTransport,
    /// Whether VAS may connect to it at all.
    pub enabled: bool,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl Camera {
    /// The outside view of a stored camera.
    pub(crate) fn of(d: &Device) -> Self {
        Camera {
            id: d.id,
            name: d.name.clone(),
            rtsp_url: d.rtsp_url_masked(),
            sub_rtsp_url: d.sub_rtsp_url_masked(),
            has_credentials: d.credentials.is_some(),
            rtsp_transport: d.rtsp_transport,
            enabled: d.enabled,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// What a caller supplies to add a camera.
///
/// ```
/// use vas::NewDevice;
/// let d = NewDevice::new("door", "rtsp://user:pw@10.0.0.9/main");
/// assert!(d.enabled);
/// ```
#[derive(Clone, Debug, Default)]
pub struct NewDevice {
    /// Unique name, 1–[`MAX_NAME_CHARS`] characters.
    pub name: String,
    /// Main-stream URL; may carry `user:password@`.
    pub rtsp_url: String,
    /// Optional sub-stream URL; credentials, if any, must match the main URL's.
    pub sub_rtsp_url: Option<String>,
    /// Username, when not given in the URL.
    pub username: Option<String>,
    /// Password, when not given in the URL.
    pub password: Option<String>,
    /// `tcp` (default) or `udp`.
    pub rtsp_transport: Option<RtpTransport>,
    /// Whether VAS may connect to it (default true).
    pub enabled: bool,
}

impl NewDevice {
    /// A new enabled device with just a name and main URL.
    pub fn new(name: impl Into<String>, rtsp_url: impl Into<String>) -> Self {
        NewDevice {
            name: name.into(),
            rtsp_url: rtsp_url.into(),
            enabled: true,
            ..Default::default()
        }
    }
}

/// What an update does to a camera's sub stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubStreamChange {
    /// Leave it as it is (the default).
    #[default]
    Keep,
    /// Remove the sub stream, and what was recorded and indexed for it.
    Remove,
    /// Set its URL (adding the sub stream if the camera has none). Credentials in it must
    /// match the camera's.
    Set(String),
}

/// A partial update of a camera; absent fields are left alone.
///
/// ```
/// use vas::{DevicePatch, SubStreamChange};
/// let patch = DevicePatch {
///     sub_rtsp_url: SubStreamChange::Remove,
///     enabled: Some(false),
///     ..DevicePatch::default()
/// };
/// assert_eq!(patch.name, None);
/// ```
#[derive(Clone, Debug, Default)]
pub struct DevicePatch {
    /// New name.
    pub name: Option<String>,
    /// New main URL (may carry credentials, which then replace the stored ones).
    pub rtsp_url: Option<String>,
    /// What happens to the sub stream.
    pub sub_rtsp_url: SubStreamChange,
    /// New username (empty string with empty password clears credentials).
    pub username: Option<String>,
    /// New password.
    pub password: Option<String>,
    /// `tcp` or `udp`.
    pub rtsp_transport: Option<RtpTransport>,
    /// Enable or disable the camera.
    pub enabled: Option<bool>,
}

/// Checks and normalises a device name.
pub fn validate_name(name: &str) -> Result<String> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid_input("name must not be empty"));
    }
    let chars = trimmed.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(Error::invalid_input(format!(
            "name is {chars} characters long; the limit is {MAX_NAME_CHARS}"
        )));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Error::invalid_input("name contains control characters"));
    }
    Ok(trimmed.to_owned())
}

/// Resolves where a camera's credentials come from: the URL or explicit fields, not both
/// with different values.
pub fn resolve_credentials(
    from_url: Option<Credentials>,
    username: Option<&str>,
    password: Option<&str>,
) -> Result<Option<Credentials>> {
    let explicit = match (username, password) {
        (None, None) => None,
        (u, p) => Some(Credentials::new(u.unwrap_or(""), p.unwrap_or(""))?),
    };
    match (from_url, explicit) {
        (Some(a), Some(b)) if a != b => Err(Error::invalid_input(
            "credentials are given both in the URL and as username/password, and they differ",
        )),
        (a, b) => Ok(a.or(b)),
    }
}

/// How RTP travels from a camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RtpTransport {
    /// Interleaved in the RTSP TCP connection (default: works through NAT and firewalls).
    #[default]
    Tcp,
    /// Separate UDP ports (lower latency on clean LANs).
    Udp,
}

impl RtpTransport {
    /// `"tcp"` or `"udp"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RtpTransport::Tcp => "tcp",
            RtpTransport::Udp => "udp",
        }
    }
}

impl FromStr for RtpTransport {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "tcp" => Ok(RtpTransport::Tcp),
            "udp" => Ok(RtpTransport::Udp),
            _ => Err(Error::internal(format!("unknown RTP transport {s:?}"))),
        }
    }
}

/// Which of a camera's encodings a stream is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StreamProfile {
    /// The full-resolution stream.
    Main,
    /// The lower-resolution sub stream.
    Sub,
}

impl StreamProfile {
    /// `"main"` or `"sub"`.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamProfile::Main => "main",
            StreamProfile::Sub => "sub",
        }
    }
}

impl FromStr for StreamProfile {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "main" => Ok(StreamProfile::Main),
            "sub" => Ok(StreamProfile::Sub),
            _ => Err(Error::internal(format!("unknown stream profile {s:?}"))),
        }
    }
}

/// Whether the user wants a stream running; stored, so it survives restarts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DesiredState {
    /// Ingest should run.
    Running,
    /// Ingest should not run.
    Stopped,
}

impl DesiredState {
    /// `"running"` or `"stopped"`.
    pub fn as_str(self) -> &'static str {
        match self {
            DesiredState::Running => "running",
            DesiredState::Stopped => "stopped",
        }
    }
}

impl FromStr for DesiredState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "running" => Ok(DesiredState::Running),
            "stopped" => Ok(DesiredState::Stopped),
            _ => Err(Error::internal(format!("unknown desired state {s:?}"))),
        }
    }
}

/// One stream (profile) of a camera, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Stream {
    /// Its id (stable across device edits).
    pub id: StreamId,
    /// The camera it belongs to.
    pub device_id: DeviceId,
    /// Main or sub.
    pub profile: StreamProfile,
    /// Whether the user wants it running.
    pub desired: DesiredState,
    /// Whether it records while running.
    pub record: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A run of recorded video of one stream: HLS segments under one playlist.
#[derive(Clone, Debug, PartialEq)]
pub struct Recording {
    /// Its id.
    pub id: RecordingId,
    /// The stream recorded.
    pub stream_id: StreamId,
    /// Time of the first frame.
    pub start: DateTime<Utc>,
    /// Time just after the last frame, or `None` while still recording.
    pub end: Option<DateTime<Utc>>,
    /// Playlist path relative to the media folder.
    pub location: String,
    /// Bytes of media on disk.
    pub bytes: u64,
}

/// Lifecycle of a bookmark's clip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BookmarkState {
    /// Waiting for the after-margin to pass / the clip to be cut.
    Pending,
    /// Clip written.
    Ready,
    /// Clip could not be made.
    Failed,
}

impl BookmarkState {
    /// `"pending"`, `"ready"` or `"failed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            BookmarkState::Pending => "pending",
            BookmarkState::Ready => "ready",
            BookmarkState::Failed => "failed",
        }
    }
}

impl FromStr for BookmarkState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "pending" => Ok(BookmarkState::Pending),
            "ready" => Ok(BookmarkState::Ready),
            "failed" => Ok(BookmarkState::Failed),
            _ => Err(Error::internal(format!("unknown bookmark state {s:?}"))),
        }
    }
}

/// A bookmarked moment of a stream, with the clip around it.
#[derive(Clone, Debug, PartialEq)]
pub struct Bookmark {
    /// Its id.
    pub id: BookmarkId,
    /// The stream it marks.
    pub stream_id: StreamId,
    /// The moment.
    pub at: DateTime<Utc>,
    /// Video kept before the moment (default 5 s).
    pub before: Duration,
    /// Video kept after the moment (default 5 s).
    pub after: Duration,
    /// Optional label.
    pub label: Option<String>,
    /// Clip path relative to the media folder, once written.
    pub clip_location: Option<String>,
    /// Where the clip is in its lifecycle.
    pub state: BookmarkState,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Why the clip failed, or what a ready clip lacks (the camera dropped meanwhile).
    pub detail: Option<String>,
}

impl Bookmark {
    /// Checks margins and label against the limits.
    pub fn validate(&self) -> Result<()> {
        for (what, d) in [("before", self.before), ("after", self.after)] {
            if d > MAX_BOOKMARK_MARGIN {
                return Err(Error::invalid_input(format!(
                    "bookmark {what} margin exceeds {} s",
                    MAX_BOOKMARK_MARGIN.as_secs()
                )));
            }
        }
        if let Some(l) = &self.label
            && l.chars().count() > MAX_LABEL_CHARS
        {
            return Err(Error::invalid_input(format!(
                "bookmark label exceeds {MAX_LABEL_CHARS} characters"
            )));
        }
        Ok(())
    }
}

/// A single still image taken from a stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// Its id.
    pub id: SnapshotId,
    /// The stream it was taken from.
    pub stream_id: StreamId,
    /// Time of the frame.
    pub taken_at: DateTime<Utc>,
    /// Image path relative to the media folder.
    pub location: String,
    /// Size of the image file.
    pub bytes: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Optional label (at most [`MAX_LABEL_CHARS`] characters).
    pub label: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(validate_name("  door ").unwrap(), "door");
        assert!(validate_name("   ").is_err());
        assert!(validate_name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(validate_name(&"é".repeat(MAX_NAME_CHARS)).is_ok());
        assert!(validate_name("a\nb").is_err());
    }

    #[test]
    fn ids_parse_or_say_which_id() {
        let id = DeviceId::new();
        assert_eq!(id.to_string().parse::<DeviceId>().unwrap(), id);
        let e = "nope".parse::<StreamId>().unwrap_err();
        assert_eq!(e.message(), "stream id is not a UUID");
    }

    #[test]
    fn credentials_from_two_places_must_agree() {
        let c = Credentials::new("a", "b").unwrap();
        assert!(resolve_credentials(Some(c.clone()), Some("a"), Some("b")).is_ok());
        assert!(resolve_credentials(Some(c.clone()), Some("x"), Some("b")).is_err());
        assert_eq!(
            resolve_credentials(None, Some("a"), Some("b")).unwrap(),
            Some(c)
        );
        assert_eq!(resolve_credentials(None, None, None).unwrap(), None);
    }
}
