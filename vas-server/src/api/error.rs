//! The one place VAS errors become HTTP responses.
//!
//! Every failure the API returns has the body `{"error": {"kind": …, "message": …}}` and a
//! status chosen here from the error's kind. Internal details (sources, SQL) are logged, never
//! sent; messages from the library are already free of credentials.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use vas::{Error, ErrorKind};

/// An API failure: a VAS error rendered as JSON with the status its kind maps to.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

/// The HTTP status for each error kind.
pub fn status_for(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::AlreadyExists | ErrorKind::FailedPrecondition => StatusCode::CONFLICT,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::Unsupported => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Closed => StatusCode::SERVICE_UNAVAILABLE,
        // Damaged data from a camera or our own disk: the server's problem, not the client's.
        ErrorKind::Corrupt => StatusCode::BAD_GATEWAY,
        // `Internal`, and any kind added to the core before this table learns it (the test
        // below fails until it does).
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Renders an error body with an explicit status (for the few protocol-level answers, such
/// as 405, that have no kind of their own).
pub fn error_body(status: StatusCode, kind: ErrorKind, message: &str) -> Response {
    let body = Json(json!({ "error": { "kind": kind.as_str(), "message": message } }));
    let mut resp = (status, body).into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            axum::http::header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
    }
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let kind = self.0.kind();
        let status = status_for(kind);
        if status.is_server_error() {
            // Log the full chain for operators; the client gets only the safe message.
            let source = std::error::Error::source(&self.0).map(|s| s.to_string());
            tracing::warn!(kind = %kind, error = %self.0, source = ?source, "request failed");
        }
        error_body(status, kind, self.0.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_deliberate_status() {
        // One row per kind, by name: a kind added to the core fails here until it is mapped.
        let table = [
            ("invalid_input", 400),
            ("not_found", 404),
            ("already_exists", 409),
            ("failed_precondition", 409),
            ("unavailable", 503),
            ("unauthenticated", 401),
            ("permission_denied", 403),
            ("resource_exhausted", 429),
            ("too_large", 413),
            ("unsupported", 415),
            ("internal", 500),
            ("timeout", 504),
            ("closed", 503),
            ("corrupt", 502),
        ];
        for &kind in ErrorKind::ALL {
            let Some(&(_, want)) = table.iter().find(|(name, _)| *name == kind.as_str()) else {
                panic!("error kind {kind} has no HTTP status in this table");
            };
            assert_eq!(status_for(kind).as_u16(), want, "{kind}");
        }
        assert_eq!(table.len(), ErrorKind::ALL.len());
    }
}
