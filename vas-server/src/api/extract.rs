//! Request extractors that fail with the API's JSON error body instead of axum's plain text.
//!
//! Owns: JSON bodies (syntax, types, unknown fields, size, content type) and id path segments.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use vas::{Error, ErrorKind};

use super::error::ApiError;

/// A JSON body; malformed input becomes a 4xx [`ApiError`].
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(ApiError(json_error(rejection))),
        }
    }
}

fn json_error(r: JsonRejection) -> Error {
    match r {
        JsonRejection::JsonDataError(e) => {
            Error::invalid_input(format!("invalid request body: {}", e.body_text()))
        }
        JsonRejection::JsonSyntaxError(e) => {
            Error::invalid_input(format!("request body is not valid JSON: {}", e.body_text()))
        }
        JsonRejection::MissingJsonContentType(_) => Error::new(
            ErrorKind::Unsupported,
            "request body must be JSON (Content-Type: application/json)",
        ),
        JsonRejection::BytesRejection(e) => {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::new(
                    ErrorKind::TooLarge,
                    format!(
                        "request body is larger than {} bytes",
                        super::limits::MAX_BODY_BYTES
                    ),
                )
            } else {
                Error::invalid_input("could not read the request body")
            }
        }
        other => Error::invalid_input(other.body_text()),
    }
}

/// An id taken from the last path segment, parsed as the id type `T`.
#[derive(Debug)]
pub struct IdPath<T>(pub T);

impl<T, S> FromRequestParts<S> for IdPath<T>
where
    T: std::str::FromStr<Err = Error> + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError(Error::invalid_input("malformed id in path")))?;
        raw.parse::<T>().map(IdPath).map_err(ApiError)
    }
}

/// Query parameters; malformed ones become a 400 [`ApiError`].
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| {
                ApiError(Error::invalid_input(format!(
                    "invalid query parameters: {}",
                    e.body_text()
                )))
            })
    }
}
