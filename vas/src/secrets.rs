//! Device secrets at rest: sealed with AES-256-GCM (aws-lc-rs, the crypto library str0m
//! already brings) under a key kept outside the database.
//!
//! Owns: the [`SecretKey`] (from configuration, or a key file created with mode 0600 on first
//! start), and sealing/opening single values (`v1:` + base64url(nonce ‖ ciphertext ‖ tag)),
//! each bound to where it is stored (device id and field, as associated data) so a sealed
//! value copied to another row or field does not open. The database alone is not enough to
//! read a camera's password, token or secret URL parameters. It never logs a key or a secret,
//! and `Debug` of a key shows nothing of it.

use std::fmt;
use std::io::Write;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::camera_url::CameraUrl;
use crate::model::{DeviceId, DeviceRow};
use crate::{Error, ErrorKind, Result};

/// Name of the key file VAS creates in the data folder when no key is configured.
pub const KEY_FILE_NAME: &str = "secret.key";
/// Prefix of a sealed value (the format's version).
pub const SEALED_PREFIX: &str = "v1:";
/// Bytes of key material.
pub const KEY_BYTES: usize = 32;

/// The key camera secrets are sealed with: 32 bytes, written as 64 hex digits.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; KEY_BYTES]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl SecretKey {
    /// A new random key.
    pub fn generate() -> SecretKey {
        let mut key = [0u8; KEY_BYTES];
        rand::fill(&mut key);
        SecretKey(key)
    }

    /// Parses 64 hexadecimal digits (surrounding whitespace ignored).
    ///
    /// ```
    /// let k = vas::config::SecretKey::parse(&"ab".repeat(32)).unwrap();
    /// assert_eq!(format!("{k:?}"), "SecretKey(***)");
    /// assert!(vas::config::SecretKey::parse("abc").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<SecretKey> {
        let text = text.trim();
        let bad = || {
            Error::invalid_input(format!(
                "a secret key is {} hexadecimal digits",
                KEY_BYTES * 2
            ))
        };
        if text.len() != KEY_BYTES * 2 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut key = [0u8; KEY_BYTES];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(SecretKey(key))
    }

    fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads the key file at `path`, or creates it (mode 0600, a new random key) if it does
    /// not exist.
    pub fn load_or_create(path: &Path) -> Result<SecretKey> {
        match std::fs::read_to_string(path) {
            Ok(text) => SecretKey::parse(&text).map_err(|e| {
                Error::new(
                    ErrorKind::FailedPrecondition,
                    format!("secret key file {}: {}", path.display(), e.message()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::generate();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                let mut file = match options.open(path) {
                    Ok(f) => f,
                    // Another engine created it meanwhile: use that one.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        return SecretKey::load_or_create(path);
                    }
                    Err(e) => {
                        return Err(Error::from(e).context(format_args!(
                            "cannot create secret key file {}",
                            path.display()
                        )));
                    }
                };
                file.write_all(format!("{}\n", key.to_hex()).as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| {
                        Error::from(e).context(format_args!(
                            "cannot write secret key file {}",
                            path.display()
                        ))
                    })?;
                Ok(key)
            }
            Err(e) => Err(Error::from(e).context(format_args!(
                "cannot read secret key file {}",
                path.display()
            ))),
        }
    }
}

/// Seals and opens single secret values with one key.
pub(crate) struct SecretBox {
    key: LessSafeKey,
    /// Derives deterministic nonces (a separate key derived from the same secret).
    nonce_key: aws_lc_rs::hmac::Key,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

impl SecretBox {
    pub(crate) fn new(key: &SecretKey) -> Result<SecretBox> {
        let unbound = UnboundKey::new(&AES_256_GCM, &key.0)
            .map_err(|_| Error::internal("AES-256-GCM rejected a 32-byte key"))?;
        let derive = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key.0);
        let nonce_secret = aws_lc_rs::hmac::sign(&derive, b"vas secrets: deterministic nonces");
        Ok(SecretBox {
            key: LessSafeKey::new(unbound),
            nonce_key: aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA256,
                nonce_secret.as_ref(),
            ),
        })
    }

    /// Whether a stored value is sealed (not legacy plain text).
    pub(crate) fn is_sealed(value: &str) -> bool {
        value.starts_with(SEALED_PREFIX)
    }

    /// Seals `plain` for the place `context` names (a fresh random nonce each time).
    pub(crate) fn seal(&self, plain: &str, context: &str) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        self.seal_with(nonce, plain, context)
    }

    /// Seals `plain` so that the same value in the same place always gives the same text
    /// (the nonce is an HMAC of both, as in SIV): for values a uniqueness constraint must
    /// compare, such as secret parameters of a camera URL. It reveals only that two sealed
    /// values are equal.
    pub(crate) fn seal_deterministic(&self, plain: &str, context: &str) -> Result<String> {
        let tag = aws_lc_rs::hmac::sign(&self.nonce_key, format!("{context}\0{plain}").as_bytes());
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&tag.as_ref()[..NONCE_LEN]);
        self.seal_with(nonce, plain, context)
    }

    fn seal_with(&self, nonce: [u8; NONCE_LEN], plain: &str, context: &str) -> Result<String> {
        let mut data = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut data,
            )
            .map_err(|_| Error::internal("cannot seal a secret"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// Opens a value sealed for `context`; a value without the prefix is legacy plain text
    /// and returned as it is.
    pub(crate) fn open(&self, stored: &str, context: &str) -> Result<String> {
        let Some(encoded) = stored.strip_prefix(SEALED_PREFIX) else {
            return Ok(stored.to_owned());
        };
        let wrong = || {
            Error::new(
                ErrorKind::FailedPrecondition,
                format!(
                    "a stored camera secret ({context}) does not open with this key: the secret \
                     key is not the one it was sealed with, or the value was altered"
                ),
            )
        };
        let raw = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| wrong())?;
        if raw.len() < NONCE_LEN {
            return Err(wrong());
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| wrong())?;
        let mut data = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut data)
            .map_err(|_| wrong())?;
        String::from_utf8(plain.to_vec()).map_err(|_| wrong())
    }
}

/// Where a device's secrets are sealed: its password and username are bound to the device;
/// secret URL parameters to the URL field and parameter name (sealed deterministically, so
/// the database's uniqueness check on URLs still works).
fn device_context(device: DeviceId, field: &str) -> String {
    format!("device:{}:{field}", device.0)
}

fn url_context(field: &str, key: &str) -> String {
    format!("{field}:query:{}", key.to_ascii_lowercase())
}

/// A device as it is stored: username, password and secret URL parameters sealed.
pub(crate) fn seal_device(sb: &SecretBox, d: &DeviceRow) -> Result<DeviceRow> {
    let mut out = d.clone();
    if let Some(c) = &mut out.credentials {
        if !c.username.is_empty() && !SecretBox::is_sealed(&c.username) {
            c.username = sb.seal(&c.username, &device_context(d.id, "username"))?;
        }
        if !c.password.is_empty() && !SecretBox::is_sealed(&c.password) {
            c.password = sb.seal(&c.password, &device_context(d.id, "password"))?;
        }
    }
    let seal_url = |url: &CameraUrl, field: &str| {
        let sealed = url.map_secret_query_values(|key, raw| {
            if raw.is_empty() || SecretBox::is_sealed(raw) {
                Ok(raw.to_owned())
            } else {
                sb.seal_deterministic(raw, &url_context(field, key))
            }
        })?;
        if sealed.as_str().len() > crate::camera_url::MAX_STORED_URL_LEN {
            return Err(Error::invalid_input(
                "camera URL has too many secret parameters to store",
            ));
        }
        Ok(sealed)
    };
    out.rtsp_url = seal_url(&d.rtsp_url, "rtsp_url")?;
    out.sub_rtsp_url = d
        .sub_rtsp_url
        .as_ref()
        .map(|u| seal_url(u, "sub_rtsp_url"))
        .transpose()?;
    Ok(out)
}

/// A stored device with its secrets opened (legacy plain-text values pass through).
pub(crate) fn open_device(sb: &SecretBox, mut d: DeviceRow) -> Result<DeviceRow> {
    let id = d.id;
    if let Some(c) = &mut d.credentials {
        c.username = sb.open(&c.username, &device_context(id, "username"))?;
        c.password = sb.open(&c.password, &device_context(id, "password"))?;
    }
    let open_url = |url: &CameraUrl, field: &str| {
        url.map_secret_query_values(|key, raw| sb.open(raw, &url_context(field, key)))
    };
    d.rtsp_url = open_url(&d.rtsp_url, "rtsp_url")?;
    d.sub_rtsp_url = d
        .sub_rtsp_url
        .as_ref()
        .map(|u| open_url(u, "sub_rtsp_url"))
        .transpose()?;
    Ok(d)
}

/// Whether a stored device still has a secret in plain text (stored before sealing existed).
pub(crate) fn has_plain_secrets(d: &DeviceRow) -> bool {
    let plain = |v: &str| !v.is_empty() && !SecretBox::is_sealed(v);
    // (Empty secret parameters carry nothing and are stored as they are.)
    let url_plain = |u: &CameraUrl| {
        let mut any = false;
        let _ = u.map_secret_query_values(|_, raw| {
            any |= plain(raw);
            Ok(raw.to_owned())
        });
        any
    };
    d.credentials
        .as_ref()
        .is_some_and(|c| plain(&c.username) || plain(&c.password))
        || url_plain(&d.rtsp_url)
        || d.sub_rtsp_url.as_ref().is_some_and(url_plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_open_only_in_their_place_and_with_their_key() {
        let a = SecretBox::new(&SecretKey::generate()).unwrap();
        let b = SecretBox::new(&SecretKey::generate()).unwrap();
        let sealed = a.seal("hunter2", "device:1:password").unwrap();
        assert!(SecretBox::is_sealed(&sealed));
        assert!(!sealed.contains("hunter2"));
        assert_ne!(sealed, a.seal("hunter2", "device:1:password").unwrap());
        assert_eq!(a.open(&sealed, "device:1:password").unwrap(), "hunter2");
        for (boxed, ctx) in [(&a, "device:2:password"), (&b, "device:1:password")] {
            let e = boxed.open(&sealed, ctx).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::FailedPrecondition);
            assert!(!e.message().contains("hunter2"));
        }
        assert!(a.open("v1:!!", "x").is_err());
        let d1 = a.seal_deterministic("tok", "url:token").unwrap();
        assert_eq!(d1, a.seal_deterministic("tok", "url:token").unwrap());
        assert_ne!(d1, a.seal_deterministic("tok", "url:key").unwrap());
        assert_ne!(d1, b.seal_deterministic("tok", "url:token").unwrap());
        assert_eq!(a.open(&d1, "url:token").unwrap(), "tok");
        assert_eq!(a.open("legacy", "x").unwrap(), "legacy");
    }

    #[test]
    fn key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        let k1 = SecretKey::load_or_create(&path).unwrap();
        let k2 = SecretKey::load_or_create(&path).unwrap();
        assert_eq!(k1, k2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "nonsense").unwrap();
        let e = SecretKey::load_or_create(&path).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::FailedPrecondition);
    }
}
