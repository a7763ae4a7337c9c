//! Device addresses and their credentials.
//!
//! Owns: validating `rtsp://` / `rtsps://` URLs, splitting credentials out of them, and
//! rendering them back with every secret masked: the userinfo password, a bare userinfo token
//! (`rtsp://TOKEN@host`), and query parameters with the usual secret names
//! ([`SECRET_QUERY_KEYS`], e.g. `?user=admin&password=…`). A [`CameraUrl`] never holds
//! userinfo credentials; its `Display` and `Debug` mask secret query values, and
//! [`Credentials`] never prints its password, so none of them can leak into a log line or an
//! API response by accident. Only [`CameraUrl::as_str`] (for connecting and storing) carries
//! the query secrets.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::{Error, Result};

/// Longest accepted camera URL, in bytes (as typed, and once normalized).
pub const MAX_URL_LEN: usize = 2048;
/// Longest camera URL read back from the database, in bytes: a URL whose secret parameters
/// are sealed is longer than the one typed (each value grows by its nonce, tag and base64).
pub const MAX_STORED_URL_LEN: usize = 8 * MAX_URL_LEN;
/// Longest accepted username or password, in bytes.
pub const MAX_CREDENTIAL_LEN: usize = 256;
/// What a masked password looks like in URLs VAS shows.
pub const MASK: &str = "***";
/// Query parameter names (compared case-insensitively) whose values are secrets.
pub const SECRET_QUERY_KEYS: [&str; 11] = [
    "password",
    "pass",
    "pwd",
    "passwd",
    "token",
    "auth",
    "key",
    "secret",
    "apikey",
    "api_key",
    "access_token",
];

/// Whether a query parameter's value is a secret, by its name.
pub fn is_secret_query_key(name: &str) -> bool {
    SECRET_QUERY_KEYS
        .iter()
        .any(|k| k.eq_ignore_ascii_case(name))
}

/// A validated camera URL (`rtsp://` or `rtsps://`, with a host), with no credentials in it.
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
        Self::parse_bounded(input, MAX_URL_LEN)
    }

    fn parse_bounded(input: &str, max_len: usize) -> Result<(CameraUrl, Option<Credentials>)> {
        if input.len() > max_len {
            return Err(Error::invalid_input(format!(
                "camera URL is longer than {max_len} bytes"
            )));
        }
        if input.trim() != input || input.is_empty() {
            return Err(Error::invalid_input(
                "camera URL must not be empty or have surrounding whitespace",
            ));
        }
        // The URL parser would silently drop CR, LF and tabs and escape NUL: refuse instead.
        if input.chars().any(char::is_control) {
            return Err(Error::invalid_input(
                "camera URL contains control characters (CR, LF, NUL, …)",
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
        if url.port() == Some(0) {
            return Err(Error::invalid_input(
                "camera URL port must be between 1 and 65535",
            ));
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
        // Escaping can lengthen it (a space becomes %20): bound what is kept, so it reads back.
        if url.as_str().len() > max_len {
            return Err(Error::invalid_input(format!(
                "camera URL is longer than {max_len} bytes once escaped"
            )));
        }
        Ok((CameraUrl(url.into()), creds))
    }

    /// The URL without userinfo credentials, but with any secret query values: for
    /// connecting and storing only. Never log it or show it (use `Display` or
    /// [`CameraUrl::masked`]).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL for display: the username shown, the password (or a bare userinfo token) and
    /// secret query values replaced by [`MASK`].
    pub fn masked(&self, creds: Option<&Credentials>) -> String {
        self.render(creds, true)
    }

    /// The URL with the real credentials in it, for handing to an RTSP client. Never log it.
    pub fn with_credentials(&self, creds: Option<&Credentials>) -> String {
        self.render(creds, false)
    }

    /// The values of secret query parameters, as written and decoded (for scrubbing
    /// third-party messages).
    pub fn secret_query_values(&self) -> Vec<String> {
        let mut out = Vec::new();
        let _ = self.map_secret_query_values(|_, raw| {
            if !raw.is_empty() {
                out.push(raw.to_owned());
                let decoded: String = url::form_urlencoded::parse(format!("x={raw}").as_bytes())
                    .map(|(_, v)| v.into_owned())
                    .next()
                    .unwrap_or_default();
                if decoded != raw && !decoded.is_empty() {
                    out.push(decoded);
                }
            }
            Ok(raw.to_owned())
        });
        out
    }

    /// The same URL with the raw (still %-encoded) value of each secret query parameter
    /// replaced by `f(name, raw value)`; every other byte of the URL is kept as it was
    /// (sealing and opening them at rest must give back exactly what the user typed).
    pub(crate) fn map_secret_query_values(
        &self,
        mut f: impl FnMut(&str, &str) -> Result<String>,
    ) -> Result<CameraUrl> {
        Ok(CameraUrl(map_query(&self.0, &mut f)?))
    }

    fn render(&self, creds: Option<&Credentials>, mask: bool) -> String {
        let shown = if mask {
            map_query(&self.0, &mut |_, _| Ok(MASK.to_owned())).unwrap_or_else(|_| self.0.clone())
        } else {
            self.0.clone()
        };
        // Parsing our own validated string cannot fail; fall back to the bare URL if it did.
        let Ok(mut url) = Url::parse(&shown) else {
            return shown;
        };
        if let Some(c) = creds {
            if mask {
                if c.password.is_empty() {
                    // A bare userinfo token is the secret itself.
                    let _ = url.set_username(MASK);
                } else {
                    let _ = url.set_username(&c.username);
                    let _ = url.set_password(Some(MASK));
                }
            } else {
                let _ = url.set_username(&c.username);
                if !c.password.is_empty() {
                    let _ = url.set_password(Some(&c.password));
                }
            }
        }
        url.into()
    }
}

impl fmt::Debug for CameraUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CameraUrl")
            .field(&self.masked(None))
            .finish()
    }
}

/// Shows the URL with secret query values masked (see [`CameraUrl::masked`]).
impl fmt::Display for CameraUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked(None))
    }
}

impl TryFrom<String> for CameraUrl {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        match CameraUrl::parse_bounded(&s, MAX_STORED_URL_LEN)? {
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

/// `url` with the raw value of each secret query parameter replaced by `f(name, raw)`.
fn map_query(url: &str, f: &mut dyn FnMut(&str, &str) -> Result<String>) -> Result<String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok(url.to_owned());
    };
    let mut changed = false;
    let mut pieces = Vec::new();
    for piece in query.split('&') {
        match piece.split_once('=') {
            Some((raw_key, raw_value)) => {
                let key: String = url::form_urlencoded::parse(raw_key.as_bytes())
                    .map(|(k, _)| k.into_owned())
                    .next()
                    .unwrap_or_default();
                if is_secret_query_key(&key) {
                    pieces.push(format!("{raw_key}={}", f(&key, raw_value)?));
                    changed = true;
                } else {
                    pieces.push(piece.to_owned());
                }
            }
            None => pieces.push(piece.to_owned()),
        }
    }
    if !changed {
        return Ok(url.to_owned());
    }
    Ok(format!("{base}?{}", pieces.join("&")))
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

    #[test]
    fn masks_every_secret_everywhere_a_url_is_shown() {
        let cases = [
            (
                "rtsp://cam/x?user=admin&password=s3cr%26t&ch=1",
                "rtsp://cam/x?user=admin&password=***&ch=1",
                vec!["s3cr%26t", "s3cr&t"],
            ),
            (
                "rtsp://cam/x?PWD=a&pass=b&passwd=c",
                "rtsp://cam/x?PWD=***&pass=***&passwd=***",
                vec!["a", "b", "c"],
            ),
            (
                "rtsp://cam/x?token=t1&auth=t2&key=t3",
                "rtsp://cam/x?token=***&auth=***&key=***",
                vec!["t1", "t2", "t3"],
            ),
            ("rtsp://cam/x?keyframe=1", "rtsp://cam/x?keyframe=1", vec![]),
            ("rtsp://TOKEN42@cam/x", "rtsp://***@cam/x", vec![]),
        ];
        for (input, shown, secrets) in cases {
            let (url, creds) = CameraUrl::parse(input).unwrap();
            assert_eq!(url.masked(creds.as_ref()), shown, "{input}");
            assert_eq!(format!("{url}"), url.masked(None), "{input}");
            assert!(!format!("{url:?}").contains("s3cr"), "{input}");
            assert_eq!(url.secret_query_values(), secrets, "{input}");
        }
        // The query round-trips byte for byte through a mapping and back.
        let (url, _) = CameraUrl::parse("rtsp://cam/x?a=b%2Fc&token=t%20x&z").unwrap();
        let sealed = url
            .map_secret_query_values(|_, v| Ok(format!("S{v}S")))
            .unwrap();
        assert_eq!(sealed.as_str(), "rtsp://cam/x?a=b%2Fc&token=St%20xS&z");
        let opened = sealed
            .map_secret_query_values(|_, v| Ok(v.trim_matches('S').to_owned()))
            .unwrap();
        assert_eq!(opened, url);
    }

    #[test]
    fn refuses_control_characters_and_port_zero() {
        for bad in [
            "rtsp://cam/a\r\nX: y",
            "rtsp://cam/a\0b",
            "rtsp://cam/\tx",
            "rtsp://cam:0/x",
        ] {
            let e = CameraUrl::parse(bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{bad:?}");
        }
    }
}

#[cfg(test)]
mod doc_examples {
    /// How `camera_url::CameraUrl` is used.
    #[test]
    fn camera_url_example() {
        use crate::camera_url::CameraUrl;
        let (url, creds) = CameraUrl::parse("rtsp://admin:s3cret@10.0.0.7:554/stream1").unwrap();
        assert_eq!(url.as_str(), "rtsp://10.0.0.7:554/stream1");
        let creds = creds.unwrap();
        assert_eq!(creds.username, "admin");
        assert_eq!(
            url.masked(Some(&creds)),
            "rtsp://admin:***@10.0.0.7:554/stream1"
        );
        assert!(!format!("{creds:?}").contains("s3cret"));
        assert!(CameraUrl::parse("http://10.0.0.7/").is_err());

        // Secrets in the query are kept for connecting but masked wherever the URL is shown.
        let (url, _) = CameraUrl::parse("rtsp://cam/live?user=admin&password=s3cret").unwrap();
        assert_eq!(url.to_string(), "rtsp://cam/live?user=admin&password=***");
        assert!(url.as_str().contains("s3cret"));
    }

    /// How `camera_url::CameraUrl::masked` is used.
    #[test]
    fn masked_example() {
        use crate::camera_url::CameraUrl;
        let (url, creds) = CameraUrl::parse("rtsp://TOKEN123@cam/s?Token=abc&ch=1").unwrap();
        assert_eq!(
            url.masked(creds.as_ref()),
            "rtsp://***@cam/s?Token=***&ch=1"
        );
    }
}
