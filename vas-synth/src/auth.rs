//! RTSP authentication for the synthetic camera: HTTP Basic and Digest (RFC 2617, MD5).
//!
//! Owns the challenge the server sends (`WWW-Authenticate`, Digest and Basic), the parsing of
//! `Authorization` headers, and the digest computation. Pure: it must never log or format the
//! password, and never touch I/O.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::{Digest as _, Md5};

/// The realm the camera announces.
pub(crate) const REALM: &str = "VAS synthetic camera";

/// A user name and password a client must present.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password (never shown by `Debug`).
    pub password: String,
}

impl Credentials {
    /// Credentials for `username` / `password`.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// Lower-case hex MD5 of `input`.
fn md5_hex(input: &str) -> String {
    let digest = Md5::digest(input.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `qop=auth` fields of a digest response.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QopAuth<'a> {
    /// Nonce count, as sent (eight hex digits).
    pub(crate) nc: &'a str,
    /// Client nonce.
    pub(crate) cnonce: &'a str,
}

/// What a Digest `Authorization` carries besides the response itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DigestInput<'a> {
    /// User name.
    pub(crate) username: &'a str,
    /// Realm.
    pub(crate) realm: &'a str,
    /// Server nonce.
    pub(crate) nonce: &'a str,
    /// Request method.
    pub(crate) method: &'a str,
    /// The `uri` parameter.
    pub(crate) uri: &'a str,
    /// Present when the client used `qop=auth`.
    pub(crate) qop: Option<QopAuth<'a>>,
}

/// The RFC 2617 digest `response` for `input` and `password`.
pub(crate) fn digest_response(input: &DigestInput<'_>, password: &str) -> String {
    let ha1 = md5_hex(&format!("{}:{}:{password}", input.username, input.realm));
    let ha2 = md5_hex(&format!("{}:{}", input.method, input.uri));
    match input.qop {
        None => md5_hex(&format!("{ha1}:{}:{ha2}", input.nonce)),
        Some(q) => md5_hex(&format!(
            "{ha1}:{}:{}:{}:auth:{ha2}",
            input.nonce, q.nc, q.cnonce
        )),
    }
}

/// Splits `key=value, key="quoted, value"` into pairs (keys lower-cased).
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq]
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(q) = rest.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            value = q[..end].to_owned();
            rest = q.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_owned();
            rest = &rest[end..];
        }
        rest = rest.trim_start().trim_start_matches(',').trim_start();
        out.push((key, value));
    }
    out
}

/// Checks requests against one set of credentials.
#[derive(Debug, Clone)]
pub(crate) struct Authenticator {
    credentials: Credentials,
    nonce: String,
}

impl Authenticator {
    /// An authenticator for `credentials` that issues `nonce` (one per camera run).
    pub(crate) fn new(credentials: Credentials, nonce: String) -> Self {
        Authenticator { credentials, nonce }
    }

    /// The `WWW-Authenticate` header values for a 401, strongest first.
    pub(crate) fn challenges(&self) -> [String; 2] {
        [
            format!(
                "Digest realm=\"{REALM}\", nonce=\"{}\", algorithm=MD5",
                self.nonce
            ),
            format!("Basic realm=\"{REALM}\""),
        ]
    }

    /// Whether `authorization` (the header value, if any) proves the credentials for a
    /// request with `method`.
    pub(crate) fn verify(&self, method: &str, authorization: Option<&str>) -> bool {
        let Some(value) = authorization.map(str::trim) else {
            return false;
        };
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        if scheme.eq_ignore_ascii_case("Basic") {
            self.verify_basic(rest.trim())
        } else if scheme.eq_ignore_ascii_case("Digest") {
            self.verify_digest(method, rest)
        } else {
            false
        }
    }

    fn verify_basic(&self, token: &str) -> bool {
        let Ok(decoded) = BASE64.decode(token) else {
            return false;
        };
        let Ok(text) = String::from_utf8(decoded) else {
            return false;
        };
        let Some((user, pass)) = text.split_once(':') else {
            return false;
        };
        user == self.credentials.username && pass == self.credentials.password
    }

    fn verify_digest(&self, method: &str, params: &str) -> bool {
        let params = parse_params(params);
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let (Some(username), Some(realm), Some(nonce), Some(uri), Some(response)) = (
            get("username"),
            get("realm"),
            get("nonce"),
            get("uri"),
            get("response"),
        ) else {
            return false;
        };
        if username != self.credentials.username || realm != REALM || nonce != self.nonce {
            return false;
        }
        if get("algorithm").is_some_and(|a| !a.eq_ignore_ascii_case("MD5")) {
            return false;
        }
        let qop = match get("qop") {
            None => None,
            Some(q) if q.eq_ignore_ascii_case("auth") => match (get("nc"), get("cnonce")) {
                (Some(nc), Some(cnonce)) => Some(QopAuth { nc, cnonce }),
                _ => return false,
            },
            Some(_) => return false,
        };
        let input = DigestInput {
            username,
            realm,
            nonce,
            method,
            uri,
            qop,
        };
        digest_response(&input, &self.credentials.password).eq_ignore_ascii_case(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2617_example_with_qop() {
        let input = DigestInput {
            username: "Mufasa",
            realm: "testrealm@host.com",
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            method: "GET",
            uri: "/dir/index.html",
            qop: Some(QopAuth {
                nc: "00000001",
                cnonce: "0a4f113b",
            }),
        };
        assert_eq!(
            digest_response(&input, "Circle Of Life"),
            "6629fae49393a05397450978507c4ef1"
        );
    }

    #[test]
    fn digest_without_qop_matches_an_independent_computation() {
        // md5(md5("u:VAS:p") ":abc123:" md5("DESCRIBE:rtsp://127.0.0.1:8554/synthetic"))
        let input = DigestInput {
            username: "u",
            realm: "VAS",
            nonce: "abc123",
            method: "DESCRIBE",
            uri: "rtsp://127.0.0.1:8554/synthetic",
            qop: None,
        };
        assert_eq!(
            digest_response(&input, "p"),
            "d3b5013889f36bddaa7436e71d9db09f"
        );
    }

    fn auth() -> Authenticator {
        Authenticator::new(Credentials::new("admin", "s3cret:x"), "n0nce".into())
    }

    #[test]
    fn basic_accepts_only_the_right_pair() {
        let a = auth();
        let ok = format!("Basic {}", BASE64.encode("admin:s3cret:x"));
        assert!(a.verify("DESCRIBE", Some(&ok)));
        assert!(!a.verify(
            "DESCRIBE",
            Some(&format!("Basic {}", BASE64.encode("admin:wrong")))
        ));
        assert!(!a.verify("DESCRIBE", Some("Basic !!!notbase64")));
        assert!(!a.verify("DESCRIBE", None));
        assert!(!a.verify("DESCRIBE", Some("Bearer abc")));
        assert!(!a.verify("DESCRIBE", Some("")));
    }

    #[test]
    fn digest_accepts_a_correct_response_and_rejects_tampering() {
        let a = auth();
        let uri = "rtsp://127.0.0.1:8554/synthetic";
        let input = DigestInput {
            username: "admin",
            realm: REALM,
            nonce: "n0nce",
            method: "DESCRIBE",
            uri,
            qop: None,
        };
        let resp = digest_response(&input, "s3cret:x");
        let header = format!(
            "Digest username=\"admin\", realm=\"{REALM}\", nonce=\"n0nce\", uri=\"{uri}\", response=\"{resp}\""
        );
        assert!(a.verify("DESCRIBE", Some(&header)));
        assert!(
            !a.verify("PLAY", Some(&header)),
            "response bound to the method"
        );
        assert!(!a.verify("DESCRIBE", Some(&header.replace("n0nce", "other"))));
        assert!(!a.verify(
            "DESCRIBE",
            Some(&header.replace(&resp, "00000000000000000000000000000000"))
        ));
        assert!(!a.verify("DESCRIBE", Some("Digest username=\"admin\"")));
        assert!(!a.verify("DESCRIBE", Some("Digest ,,,===\"")));

        let q = DigestInput {
            qop: Some(QopAuth {
                nc: "00000001",
                cnonce: "abc",
            }),
            ..input
        };
        let resp = digest_response(&q, "s3cret:x");
        let header = format!(
            "Digest username=\"admin\",realm=\"{REALM}\",nonce=\"n0nce\",uri=\"{uri}\",qop=auth,nc=00000001,cnonce=\"abc\",response=\"{resp}\",algorithm=MD5"
        );
        assert!(a.verify("DESCRIBE", Some(&header)));
    }

    #[test]
    fn challenges_offer_digest_then_basic() {
        let [d, b] = auth().challenges();
        assert!(d.starts_with("Digest realm=\"VAS synthetic camera\", nonce=\"n0nce\""));
        assert_eq!(b, "Basic realm=\"VAS synthetic camera\"");
    }

    #[test]
    fn debug_hides_the_password() {
        let s = format!("{:?}", Credentials::new("admin", "hunter2"));
        assert!(s.contains("admin") && !s.contains("hunter2"));
    }
}
