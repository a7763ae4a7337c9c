//! Camera addresses and their credentials.
//!
//! Owns: validating `rtsp://` / `rtsps://` URLs, splitting credentials out of them, and
//! rendering them back with the password masked. A [`CameraUrl`] never holds credentials, and
//! [`Credentials`] never prints its password (its `Debug` redacts it), so neither can leak
//! into a log line or an API response by accident.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::{Error, Result};

/// Longest accepted camera URL, in bytes.
pub const MAX_URL_LEN: usize = 2048;
/// Longest accepted username or password, in bytes.
pub const MAX_CREDENTIAL_LEN: usize = 256;
/// What a masked password looks like in URLs VAS shows.
pub const MASK: &str = "***";

/// A validated camera URL (`rtsp://` or `rtsps://`, with a host), with no credentials in it.
///
/// ```
/// use vas::camera_url::CameraUrl;
/// let (url, creds) = CameraUrl::parse("rtsp://admin:s3cret@10.0.0.7:554/stream1").unwrap();
/// assert_eq!(url.as_str(), "rtsp://10.0.0.7:554/stream1");
/// let creds = creds.unwrap();
/// assert_eq!(creds.username, "admin");
/// assert_eq!(url.masked(Some(&creds)), "rtsp://admin:***@10.0.0.7:554/stream1");
/// assert!(!format!("{creds:?}").contains("s3cret"));
/// assert!(CameraUrl::parse("http://10.0.0.7/").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CameraUrl(String);

/// A camera's username and password. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The username (may be empty only if the password is set).
    pub username: String,
    /// The password; never logged and never returned by an API.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &MASK)
            .finish()
    }
}

impl Credentials {
    /// Credentials from a username and password, checked for length and control characters.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Result<Self> {
        let c = Credentials {
            username: username.into(),
            password: password.into(),
        };
        for (what, v) in [("username", &c.username), ("password", &c.password)] {
            if v.len() > MAX_CREDENTIAL_LEN {
                return Err(Error::invalid_input(format!(
                    "{what} is longer than {MAX_CREDENTIAL_LEN} bytes"
                )));
            }
            if v.chars().any(char::is_control) {
                return Err(Error::invalid_input(format!(
                    "{what} contains control characters"
                )));
            }
        }
        if c.username.is_empty() && c.password.is_empty() {
            return Err(Error::invalid_input("credentials are empty"));
        }
        Ok(c)
    }
}

impl CameraUrl {
    /// Parses and validates a camera URL, splitting out any `user:password@` part.
    ///
    /// Errors (all [`crate::ErrorKind::InvalidInput`], messages free of the password): not a
    /// URL, a scheme other than `rtsp`/`rtsps`, no host, longer than [`MAX_URL_LEN`], or a
    /// fragment.
    pub fn parse(input: &str) -> Result<(CameraUrl, Option<Credentials>)> {
        if input.len() > MAX_URL_LEN {
            return Err(Error::invalid_input(format!(
                "camera URL is longer than {MAX_URL_LEN} bytes"
            )));
        }
        if input.trim() != input || input.is_empty() {
            return Err(Error::invalid_input(
                "camera URL must not be empty or have surrounding whitespace",
            ));
        }
        // url's own messages never echo the input, so they are safe to pass on.
        let mut url = Url::parse(input)
            .map_err(|e| Error::invalid_input(format!("camera URL is not a valid URL: {e}")))?;
        match url.scheme() {
            "rtsp" | "rtsps" => {}
            other => {
                return Err(Error::invalid_input(format!(
                    "camera URL must start with rtsp:// or rtsps://, not {other}://"
                )));
            }
        }
        match url.host_str() {
            Some(h) if !h.is_empty() => {}
            _ => return Err(Error::invalid_input("camera URL has no host")),
        }
        if url.fragment().is_some() {
            return Err(Error::invalid_input("camera URL must not have a #fragment"));
        }
        let creds = if !url.username().is_empty() || url.password().is_some() {
            let user = percent_decode(url.username())?;
            let pass = percent_decode(url.password().unwrap_or(""))?;
            Some(Credentials::new(user, pass)?)
        } else {
            None
        };
        // Setting these cannot fail for a URL with a host (checked above).
        let _ = url.set_username("");
        let _ = url.set_password(None);
        Ok((CameraUrl(url.into()), creds))
    }

    /// The URL without credentials.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL for display: with the username, and the password replaced by [`MASK`].
    pub fn masked(&self, creds: Option<&Credentials>) -> String {
        self.render(creds, true)
    }

    /// The URL with the real credentials in it, for handing to an RTSP client. Never log it.
    pub fn with_credentials(&self, creds: Option<&Credentials>) -> String {
        self.render(creds, false)
    }

    fn render(&self, creds: Option<&Credentials>, mask: bool) -> String {
        let Some(c) = creds else {
            return self.0.clone();
        };
        // Parsing our own validated string cannot fail; fall back to the bare URL if it did.
        let Ok(mut url) = Url::parse(&self.0) else {
            return self.0.clone();
        };
        let _ = url.set_username(&c.username);
        if mask {
            let _ = url.set_password(Some(MASK));
        } else if !c.password.is_empty() {
            let _ = url.set_password(Some(&c.password));
        }
        url.into()
    }
}

impl fmt::Debug for CameraUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CameraUrl").field(&self.0).finish()
    }
}

impl fmt::Display for CameraUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CameraUrl {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        match CameraUrl::parse(&s)? {
            (url, None) => Ok(url),
            (_, Some(_)) => Err(Error::invalid_input(
                "stored camera URL unexpectedly carries credentials",
            )),
        }
    }
}

impl From<CameraUrl> for String {
    fn from(u: CameraUrl) -> String {
        u.0
    }
}

fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    Error::invalid_input("camera URL has a bad %-escape in its credentials")
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| Error::invalid_input("camera URL credentials are not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_and_secure_rtsp() {
        for u in [
            "rtsp://cam.local/live",
            "rtsps://10.1.2.3:322/x?y=1",
            "rtsp://[::1]:8554/a",
        ] {
            let (url, creds) = CameraUrl::parse(u).unwrap();
            assert!(creds.is_none());
            assert_eq!(url.masked(None), url.as_str());
        }
    }

    #[test]
    fn rejects_bad_urls_without_echoing_secrets() {
        for u in [
            "",
            " rtsp://a/",
            "http://a/",
            "rtsp://",
            "rtsp:///path",
            "not a url",
            "rtsp://a/#frag",
            "file:///etc/passwd",
        ] {
            let e = CameraUrl::parse(u).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{u}");
        }
        let long = format!("rtsp://a/{}", "x".repeat(MAX_URL_LEN));
        assert!(CameraUrl::parse(&long).is_err());
        let e = CameraUrl::parse("ftp://u:topsecret@h/").unwrap_err();
        assert!(!e.message().contains("topsecret"));
    }

    #[test]
    fn splits_and_masks_credentials_with_escapes() {
        let (url, creds) = CameraUrl::parse("rtsp://ad%40min:p%3Ass@cam:554/s").unwrap();
        let creds = creds.unwrap();
        assert_eq!(creds.username, "ad@min");
        assert_eq!(creds.password, "p:ss");
        assert_eq!(url.as_str(), "rtsp://cam:554/s");
        assert_eq!(url.masked(Some(&creds)), "rtsp://ad%40min:***@cam:554/s");
        assert_eq!(
            url.with_credentials(Some(&creds)),
            "rtsp://ad%40min:p%3Ass@cam:554/s"
        );
    }
}
