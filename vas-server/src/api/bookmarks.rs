//! Bookmark endpoints: make one (`pending` at once, `ready` once `at + after` has passed),
//! list, get, its clip (`video/mp4` with byte ranges and an ETag), delete.
//!
//! Owns the HTTP shape only; the clips are the engine's.

use std::time::Duration;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tower::ServiceExt;
use vas::bookmark::{DEFAULT_MARGIN, NewBookmark};
use vas::{Bookmark, BookmarkId, Error, StreamId};
use vas::{DEFAULT_LIST_LIMIT, Range};

use super::ApiResult;
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, IdPath};
use crate::AppState;

/// `POST /api/v1/bookmarks` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBookmarkBody {
    /// The stream.
    pub stream_id: StreamId,
    /// The moment (RFC 3339; default now).
    pub at: Option<DateTime<Utc>>,
    /// Seconds kept before the moment (default 5, at most 30).
    pub before_s: Option<f64>,
    /// Seconds kept after the moment (default 5, at most 60).
    pub after_s: Option<f64>,
    /// A label (at most 256 characters).
    pub label: Option<String>,
}

/// `GET /api/v1/bookmarks` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookmarkQuery {
    /// Only this stream.
    pub stream_id: Option<StreamId>,
    /// Moments at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Moments before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// At most this many (1–1000, default 100).
    pub limit: Option<u32>,
}

/// A bookmark as the API shows it.
#[derive(Debug, Serialize)]
pub struct BookmarkBody {
    /// Id.
    pub id: BookmarkId,
    /// The stream.
    pub stream_id: StreamId,
    /// The moment.
    pub at: DateTime<Utc>,
    /// Seconds kept before it.
    pub before_s: f64,
    /// Seconds kept after it.
    pub after_s: f64,
    /// Label, if any.
    pub label: Option<String>,
    /// `pending`, `ready` or `failed`.
    pub state: &'static str,
    /// Why it failed, or what a ready clip lacks.
    pub error: Option<String>,
    /// The clip, once ready.
    pub clip_url: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

impl From<Bookmark> for BookmarkBody {
    fn from(b: Bookmark) -> Self {
        let ready = b.state == vas::BookmarkState::Ready;
        BookmarkBody {
            clip_url: ready.then(|| format!("/api/v1/bookmarks/{}/clip.mp4", b.id)),
            id: b.id,
            stream_id: b.stream_id,
            at: b.at,
            before_s: b.before.as_secs_f64(),
            after_s: b.after.as_secs_f64(),
            label: b.label,
            state: b.state.as_str(),
            error: b.detail,
            created_at: b.created_at,
        }
    }
}

/// Seconds from a client as a duration (`what` names the field).
fn seconds(s: Option<f64>, what: &str) -> ApiResult<Duration> {
    match s {
        None => Ok(DEFAULT_MARGIN),
        Some(s) => Duration::try_from_secs_f64(s).map_err(|_| {
            ApiError(Error::invalid_input(format!(
                "{what} must be a number of seconds, 0 or more"
            )))
        }),
    }
}

pub(super) async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewBookmarkBody>,
) -> ApiResult<Response> {
    let mut new = NewBookmark::new(body.stream_id)
        .before(seconds(body.before_s, "before_s")?)
        .after(seconds(body.after_s, "after_s")?);
    if let Some(at) = super::time::client_time(body.at, "at")? {
        new = new.at(at);
    }
    if let Some(l) = body.label {
        new = new.label(l);
    }
    let b = state.vas.add_bookmark(new).await?;
    let location = format!("/api/v1/bookmarks/{}", b.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(BookmarkBody::from(b)),
    )
        .into_response())
}

pub(super) async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<BookmarkQuery>,
) -> ApiResult<Json<Vec<BookmarkBody>>> {
    let range = Range {
        stream: q.stream_id,
        from: super::time::client_time(q.from, "from")?,
        to: super::time::client_time(q.to, "to")?,
        limit: q.limit.unwrap_or(DEFAULT_LIST_LIMIT),
    };
    let list = state.vas.bookmarks(range).await?;
    Ok(Json(list.into_iter().map(BookmarkBody::from).collect()))
}

pub(super) async fn get(
    State(state): State<AppState>,
    IdPath(id): IdPath<BookmarkId>,
) -> ApiResult<Json<BookmarkBody>> {
    Ok(Json(state.vas.bookmark(id).await?.into()))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    IdPath(id): IdPath<BookmarkId>,
) -> ApiResult<StatusCode> {
    state.vas.delete_bookmark(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/bookmarks/{id}/clip.mp4`: the clip, with byte ranges; its ETag names the
/// bookmark and the file's length (a clip never changes once ready).
pub(super) async fn clip(
    State(state): State<AppState>,
    IdPath(id): IdPath<BookmarkId>,
    req: Request,
) -> ApiResult<Response> {
    let path = state.vas.bookmark_clip(id).await?;
    let len = tokio::fs::metadata(&path)
        .await
        .map_err(|_| Error::new(vas::ErrorKind::Corrupt, "the clip file is missing"))?
        .len();
    let etag = format!("\"{id}-{len}\"");
    if req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        let mut resp = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&etag) {
            resp.headers_mut().insert(header::ETAG, v);
        }
        return Ok(resp);
    }
    let mp4: mime::Mime = "video/mp4"
        .parse()
        .unwrap_or(mime::APPLICATION_OCTET_STREAM);
    let serve = tower_http::services::ServeFile::new_with_mime(&path, &mp4);
    let Ok(resp) = serve.oneshot(req).await;
    let mut resp = resp.into_response();
    if resp.status().is_server_error() || resp.status() == StatusCode::NOT_FOUND {
        return Err(Error::new(vas::ErrorKind::Corrupt, "the clip file cannot be read").into());
    }
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(super::recordings::SEGMENT_CACHE),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("inline; filename=\"bookmark-{id}.mp4\""))
            .unwrap_or(HeaderValue::from_static("inline")),
    );
    Ok(resp)
}
