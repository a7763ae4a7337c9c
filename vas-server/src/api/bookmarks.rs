//! Bookmark endpoints: make one (`pending` at once, `ready` once `at + after` has passed),
//! list, get, its clip (`video/mp4` with byte ranges and an ETag), delete.
//!
//! Owns the HTTP shape only; the clips are the engine's.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tower::ServiceExt;
use vas::{Bookmark, BookmarkId, Error, ListQuery, NewBookmark};

use super::ApiResult;
use super::extract::{ApiJson, ApiQuery, IdPath};
use crate::AppState;

/// A bookmark as the API shows it: the record, and its clip's URL once it is ready.
#[derive(Debug, Serialize)]
pub struct BookmarkBody {
    /// The bookmark.
    #[serde(flatten)]
    pub bookmark: Bookmark,
    /// The clip, once ready.
    pub clip_url: Option<String>,
}

impl From<Bookmark> for BookmarkBody {
    fn from(b: Bookmark) -> Self {
        BookmarkBody {
            clip_url: (b.state == vas::BookmarkState::Ready)
                .then(|| format!("/api/v1/bookmarks/{}/clip.mp4", b.id)),
            bookmark: b,
        }
    }
}

pub(super) async fn create(
    State(state): State<AppState>,
    ApiJson(mut new): ApiJson<NewBookmark>,
) -> ApiResult<Response> {
    new.at = super::time::client_time(new.at, "at")?;
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
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<BookmarkBody>>> {
    let list = state
        .vas
        .bookmarks(super::recordings::client_query(q)?)
        .await?;
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
