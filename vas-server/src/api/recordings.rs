//! Recording endpoints: switching recording on, listing recordings, synthesized playback
//! playlists, and the media files themselves (`/media/...`, with content types and byte
//! ranges, never outside the media folder).

use std::time::Duration;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tower::ServiceExt;
use vas::{Error, ListQuery, Recording, RecordingId, Stream, StreamId};

use super::ApiResult;
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, IdPath};
use crate::AppState;

/// Where media files are served from.
pub const MEDIA_PREFIX: &str = "/media/";
/// Longest time range one playback playlist may cover.
pub const MAX_PLAYBACK_RANGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Range a playback playlist covers when the request gives none: the last hour.
pub const DEFAULT_PLAYBACK_RANGE: Duration = Duration::from_secs(3600);
/// How long clients may cache media that never changes once written (a finished segment,
/// a saved snapshot, a ready clip).
pub(crate) const SEGMENT_CACHE: &str = "public, max-age=86400, immutable";

/// `PATCH /api/v1/streams/{id}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamPatch {
    /// Record while running.
    pub record: Option<bool>,
}

/// A recording as the API shows it: the record, and its playlist's URL.
#[derive(Debug, Serialize)]
pub struct RecordingBody {
    /// The recording.
    #[serde(flatten)]
    pub recording: Recording,
    /// Its HLS playlist (EVENT while recording, ended afterwards).
    pub playlist_url: String,
}

impl From<Recording> for RecordingBody {
    fn from(r: Recording) -> Self {
        RecordingBody {
            playlist_url: format!("{MEDIA_PREFIX}{}", r.location),
            recording: r,
        }
    }
}

/// A list query from a client: its times checked like every time a client sends.
pub(super) fn client_query(mut q: ListQuery) -> ApiResult<ListQuery> {
    q.from = super::time::client_time(q.from, "from")?;
    q.to = super::time::client_time(q.to, "to")?;
    Ok(q)
}

/// `GET /api/v1/streams/{id}/playback.m3u8` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybackQuery {
    /// Start (RFC 3339; default: an hour before `to`).
    pub from: Option<DateTime<Utc>>,
    /// End (RFC 3339; default: now).
    pub to: Option<DateTime<Utc>>,
}

pub(super) async fn patch_stream(
    State(state): State<AppState>,
    IdPath(id): IdPath<StreamId>,
    ApiJson(patch): ApiJson<StreamPatch>,
) -> ApiResult<Json<Stream>> {
    let info = match patch.record {
        Some(record) => state.vas.set_recording(id, record).await?,
        None => state.vas.stream(id).await?,
    };
    Ok(Json(info))
}

pub(super) async fn list_recordings(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<RecordingBody>>> {
    let list = state.vas.recordings(client_query(q)?).await?;
    Ok(Json(list.into_iter().map(RecordingBody::from).collect()))
}

pub(super) async fn get_recording(
    State(state): State<AppState>,
    IdPath(id): IdPath<RecordingId>,
) -> ApiResult<Json<RecordingBody>> {
    Ok(Json(state.vas.recording(id).await?.into()))
}

pub(super) async fn playback(
    State(state): State<AppState>,
    IdPath(id): IdPath<StreamId>,
    ApiQuery(q): ApiQuery<PlaybackQuery>,
) -> ApiResult<Response> {
    let to = super::time::client_time(q.to, "to")?.unwrap_or_else(Utc::now);
    let from = match super::time::client_time(q.from, "from")? {
        Some(f) => f,
        None => super::time::before(to, DEFAULT_PLAYBACK_RANGE)?,
    };
    if from >= to {
        return Err(Error::invalid_input("from must be before to").into());
    }
    if (to - from).to_std().unwrap_or(Duration::MAX) > MAX_PLAYBACK_RANGE {
        return Err(Error::invalid_input(format!(
            "a playback range may cover at most {} days",
            MAX_PLAYBACK_RANGE.as_secs() / 86_400
        ))
        .into());
    }
    let playlist = state
        .vas
        .playback_playlist(id, from, to, MEDIA_PREFIX.to_owned())
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.apple.mpegurl"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        playlist.render(),
    )
        .into_response())
}

/// The content type of a media file VAS writes, by extension.
fn media_type(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.').map(|(_, e)| e)?;
    Some(match ext {
        "m3u8" => "application/vnd.apple.mpegurl",
        "ts" => "video/mp2t",
        "jpg" | "jpeg" => "image/jpeg",
        "mp4" => "video/mp4",
        _ => return None,
    })
}

/// `GET /media/{*path}`: a file under the media folder, with byte ranges.
pub(crate) async fn media_file(State(state): State<AppState>, req: Request) -> Response {
    let path = req
        .uri()
        .path()
        .strip_prefix(MEDIA_PREFIX)
        .unwrap_or("")
        .to_owned();
    let decoded = match percent_decode(&path) {
        Some(p) => p,
        None => return ApiError(Error::invalid_input("malformed media path")).into_response(),
    };
    let Some(mime) = media_type(&decoded) else {
        return ApiError(Error::not_found("no such media file")).into_response();
    };
    let file = match state.vas.resolve_media(&decoded) {
        Ok(f) => f,
        Err(e) => return ApiError(e).into_response(),
    };
    let mime_type: mime::Mime = mime.parse().unwrap_or(mime::APPLICATION_OCTET_STREAM);
    let serve = tower_http::services::ServeFile::new_with_mime(file, &mime_type);
    match serve.oneshot(req).await {
        Ok(resp) => {
            let mut resp = resp.into_response();
            if resp.status() == StatusCode::NOT_FOUND {
                return ApiError(Error::not_found("no such media file")).into_response();
            }
            if resp.status().is_server_error() {
                tracing::warn!(status = %resp.status(), "cannot read a media file");
                return ApiError(Error::internal("cannot read the media file")).into_response();
            }
            let cache = if mime == "application/vnd.apple.mpegurl" {
                "no-cache"
            } else {
                SEGMENT_CACHE
            };
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            resp
        }
        Err(never) => match never {},
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
