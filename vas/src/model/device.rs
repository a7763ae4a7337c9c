//! Cameras ("devices" in every shell): what the outside sees of one ([`Device`], never its
//! password), what a caller sends to add or change one, and the stored form with the
//! credentials ([`DeviceRow`], never handed out).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use vas_macros::{Names, Record};

use super::{DeviceId, MAX_NAME_CHARS, StreamId, StreamProfile, StreamRow};
use crate::camera_url::{CameraUrl, Credentials};
use crate::{Error, Result};

/// A camera, as stored: URLs without credentials, and the credentials apart. For the
/// engine's own use; the outside gets a [`Device`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DeviceRow {
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

impl DeviceRow {
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

    /// What the outside sees of it, with the ids of its streams (of `streams`, which may
    /// hold other cameras' too).
    pub fn public(&self, streams: &[StreamRow]) -> Device {
        let of = |p: StreamProfile| {
            streams
                .iter()
                .find(|s| s.device_id == self.id && s.profile == p)
                .map(|s| s.id)
        };
        Device {
            id: self.id,
            name: self.name.clone(),
            // Every camera has a main stream (added with it in one transaction).
            main_stream_id: of(StreamProfile::Main).unwrap_or_default(),
            sub_stream_id: of(StreamProfile::Sub),
            rtsp_url: self.rtsp_url_masked(),
            sub_rtsp_url: self.sub_rtsp_url_masked(),
            has_credentials: self.credentials.is_some(),
            rtsp_transport: self.rtsp_transport,
            enabled: self.enabled,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A camera (a device), as the engine hands it out. It never carries the password: URLs come
/// masked (`rtsp://user:***@host/path`) and `has_credentials` says whether any are stored.
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
#[derive(Clone, Debug, PartialEq, Serialize, Record)]
#[non_exhaustive]
pub struct Device {
    /// Its id.
    pub id: DeviceId,
    /// Its unique, human-chosen name.
    pub name: String,
    /// Its main stream.
    pub main_stream_id: StreamId,
    /// Its sub stream, when it has one.
    pub sub_stream_id: Option<StreamId>,
    /// Main-stream URL, password masked.
    pub rtsp_url: String,
    /// Sub-stream URL, password masked, when the camera has a sub stream.
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

/// A camera to add. Credentials may be in the URL or given apart (not both with different
/// values); they are stored sealed and never returned.
///
/// ```
/// use vas::NewDevice;
/// let d = NewDevice::new("door", "rtsp://user:pw@10.0.0.9/main");
/// assert!(d.enabled);
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize, Record)]
#[record(input)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// Unique name, 1–128 characters (trimmed).
    #[field(required)]
    pub name: String,
    /// Main-stream `rtsp://` URL; it may carry `user:password@`.
    #[field(required)]
    pub rtsp_url: String,
    /// Sub-stream URL; credentials in it must match the main URL's.
    #[serde(default)]
    pub sub_rtsp_url: Option<String>,
    /// Username, when not given in the URL.
    #[serde(default)]
    pub username: Option<String>,
    /// Password, when not given in the URL.
    #[serde(default)]
    pub password: Option<String>,
    /// How RTP travels from it (the engine's default, TCP, when absent).
    #[serde(default)]
    pub rtsp_transport: Option<RtpTransport>,
    /// Whether VAS may connect to it.
    #[field(default = true)]
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

impl NewDevice {
    /// An enabled camera with just a name and main URL.
    pub fn new(name: impl Into<String>, rtsp_url: impl Into<String>) -> Self {
        NewDevice {
            name: name.into(),
            rtsp_url: rtsp_url.into(),
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

impl SubStreamChange {
    /// The change a shell's optional text means: absent keeps, empty removes, a URL sets.
    pub fn from_text(text: Option<String>) -> Self {
        match text {
            None => SubStreamChange::Keep,
            Some(t) if t.is_empty() => SubStreamChange::Remove,
            Some(t) => SubStreamChange::Set(t),
        }
    }
}

/// JSON: an absent key keeps (serde's default), `null` or `""` removes, a URL sets.
impl<'de> Deserialize<'de> for SubStreamChange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(match Option::<String>::deserialize(d)? {
            None => SubStreamChange::Remove,
            text => SubStreamChange::from_text(text),
        })
    }
}

/// Changes to a camera: fields left at their default are left alone.
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
#[derive(Clone, Debug, PartialEq, Deserialize, Record)]
#[record(input)]
#[serde(deny_unknown_fields, default)]
pub struct DevicePatch {
    /// New name.
    pub name: Option<String>,
    /// New main URL (credentials in it replace the stored ones).
    pub rtsp_url: Option<String>,
    /// The sub stream: absent keeps it, empty removes it (and what was recorded of it), a URL
    /// sets it.
    pub sub_rtsp_url: SubStreamChange,
    /// New username (empty, with an empty password, clears the credentials).
    pub username: Option<String>,
    /// New password.
    pub password: Option<String>,
    /// How RTP travels from it.
    pub rtsp_transport: Option<RtpTransport>,
    /// Enable or disable the camera.
    pub enabled: Option<bool>,
}

/// How RTP travels from a camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Names)]
#[names(what = "RTP transport")]
#[non_exhaustive]
pub enum RtpTransport {
    /// Interleaved in the RTSP TCP connection (default: works through NAT and firewalls).
    #[default]
    Tcp,
    /// Separate UDP ports (lower latency on clean LANs).
    Udp,
}

/// Checks and normalises a device name.
pub(crate) fn validate_name(name: &str) -> Result<String> {
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
pub(crate) fn resolve_credentials(
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

    #[test]
    fn a_bad_transport_is_invalid_input_naming_the_allowed_ones() {
        let e = "sctp".parse::<RtpTransport>().unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
        assert_eq!(
            e.message(),
            "unknown RTP transport \"sctp\"; one of tcp, udp"
        );
        assert_eq!("udp".parse::<RtpTransport>().unwrap(), RtpTransport::Udp);
    }

    #[test]
    fn a_patch_in_json_tells_absent_from_null() {
        let p: DevicePatch = serde_json::from_str(r#"{"sub_rtsp_url": null}"#).unwrap();
        assert_eq!(p.sub_rtsp_url, SubStreamChange::Remove);
        let p: DevicePatch = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(p.sub_rtsp_url, SubStreamChange::Keep);
        let p: DevicePatch =
            serde_json::from_str(r#"{"sub_rtsp_url": "rtsp://10.0.0.1/sub"}"#).unwrap();
        assert_eq!(
            p.sub_rtsp_url,
            SubStreamChange::Set("rtsp://10.0.0.1/sub".into())
        );
        assert!(serde_json::from_str::<DevicePatch>(r#"{"bogus": 1}"#).is_err());
        let d: NewDevice =
            serde_json::from_str(r#"{"name": "a", "rtsp_url": "rtsp://10.0.0.1/x"}"#).unwrap();
        assert!(d.enabled);
        assert_eq!(d.rtsp_transport, None);
    }
}
