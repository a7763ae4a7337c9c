//! Camera URLs: whatever a client sends, an accepted URL has no control characters, never
//! shows a secret it carries (password, bare token, secret query values) when displayed, and
//! parses again to the very same URL.

use vas::_internal_test_exports::camera_url::{CameraUrl, is_secret_query_key};

/// Checks the invariants above for one input; panics when one fails.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((url, creds)) = CameraUrl::parse(text) else {
        return;
    };
    assert!(!url.as_str().chars().any(char::is_control));
    let shown = url.masked(creds.as_ref());
    // Every secret parameter of the shown URL carries the mask, nothing else.
    if let Some((_, query)) = shown.split_once('?') {
        for piece in query.split('&') {
            if let Some((key, value)) = piece.split_once('=') {
                let key: String = url::form_urlencoded::parse(key.as_bytes())
                    .map(|(k, _)| k.into_owned())
                    .next()
                    .unwrap_or_default();
                if is_secret_query_key(&key) {
                    assert_eq!(value, "***", "{shown}");
                }
            }
        }
    }
    // The userinfo shows the username at most, never the password or a bare token.
    let userinfo = shown
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .map(|(u, _)| u.to_owned());
    if let (Some(c), Some(userinfo)) = (&creds, userinfo) {
        assert!(userinfo == "***" || userinfo.ends_with(":***"), "{shown}");
        if c.password.is_empty() {
            assert_eq!(userinfo, "***", "a bare token is masked: {shown}");
        }
    }
    assert_eq!(format!("{url}"), url.masked(None));
    let (again, _) = CameraUrl::parse(url.as_str()).expect("an accepted URL parses again");
    assert_eq!(again, url);
}
