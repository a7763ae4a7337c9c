//! Snapshot endpoints: an instant JPEG of any stream (now, its newest keyframe, or a past
//! moment from the recordings), and saved snapshots (take, list, get, image, delete).
//!
//! Owns the HTTP shape only: query and body parsing, headers (`X-Frame-Time`,
//! `X-Stream-Offline`), status codes. Pictures and files are the engine's.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use vas::{
    Error, ErrorKind, ListQuery, Snapshot, SnapshotId, SnapshotImage, SnapshotOptions, StreamId,
};

use super::ApiResult;
use super::error::ApiError;
use super::extract::{ApiQuery, IdPath};
use crate::AppState;

/// How far in the future `at` may be (clock skew between a client and the server).
pub const MAX_FUTURE_SKEW: Duration = Duration::from_secs(5);

/// The capture time of the frame a JPEG shows (RFC 3339, milliseconds, UTC).
pub const FRAME_TIME_HEADER: &str = "x-frame-time";
/// Present (`true`) when the stream was not live and the picture is its last good one.
pub const OFFLINE_HEADER: &str = "x-stream-offline";

/// `GET /api/v1/streams/{id}/snapshot.jpg` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotQuery {
    /// Output width in pixels, scaling down only (aspect kept; default, or wider than the
    /// stream: the stream's).
    pub width: Option<u32>,
    /// JPEG quality 1–100 (default 85).
    pub quality: Option<u32>,
    /// A past moment (RFC 3339), from the recordings; default: now.
    pub at: Option<DateTime<Utc>>,
    /// The newest keyframe instead of the newest frame (faster, up to a GOP old).
    pub keyframe: Option<bool>,
    /// When the stream is not live, answer with its last good picture (and
    /// `X-Stream-Offline: true`) instead of 503.
    pub stale_ok: Option<bool>,
}

/// `POST /api/v1/streams/{id}/snapshots` body (optional: an empty body takes one now).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSnapshotBody {
    /// A past moment (RFC 3339), from the recordings; default: now.
    pub at: Option<DateTime<Utc>>,
    /// A label (at most 256 characters).
    pub label: Option<String>,
}

/// A saved snapshot as the API shows it: the record, and its image's URL.
#[derive(Debug, Serialize)]
pub struct SnapshotBody {
    /// The snapshot.
    #[serde(flatten)]
    pub snapshot: Snapshot,
    /// Where the JPEG is served.
    pub image_url: String,
}

impl From<Snapshot> for SnapshotBody {
    fn from(s: Snapshot) -> Self {
        SnapshotBody {
            image_url: format!("/api/v1/snapshots/{}/image.jpg", s.id),
            snapshot: s,
        }
    }
}

/// Checks `at`: a valid time, not further in the future than [`MAX_FUTURE_SKEW`].
fn past_moment(at: Option<DateTime<Utc>>) -> ApiResult<Option<DateTime<Utc>>> {
    let Some(at) = super::time::client_time(at, "at")? else {
        return Ok(None);
    };
    let skew = chrono::TimeDelta::from_std(MAX_FUTURE_SKEW).unwrap_or_default();
    if at > Utc::now() + skew {
        return Err(Error::invalid_input(format!(
            "at lies in the future; a snapshot shows a moment up to {} s from now at most",
            MAX_FUTURE_SKEW.as_secs()
        ))
        .into());
    }
    Ok(Some(at))
}

fn quality(q: Option<u32>) -> ApiResult<u8> {
    match q {
        None => Ok(vas::snapshot::DEFAULT_QUALITY),
        Some(q) => u8::try_from(q)
            .ok()
            .filter(|q| (1..=100).contains(q))
            .ok_or_else(|| {
                ApiError(Error::invalid_input(format!(
                    "quality must be 1–100, not {q}"
                )))
            }),
    }
}

fn jpeg_response(jpeg: SnapshotImage) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(t) = HeaderValue::from_str(&jpeg.time.to_rfc3339_opts(SecondsFormat::Millis, true)) {
        headers.insert(FRAME_TIME_HEADER, t);
    }
    if jpeg.offline {
        headers.insert(OFFLINE_HEADER, HeaderValue::from_static("true"));
    }
    (headers, jpeg.jpeg).into_response()
}

pub(super) async fn instant(
    State(state): State<AppState>,
    IdPath(id): IdPath<StreamId>,
    ApiQuery(q): ApiQuery<SnapshotQuery>,
) -> ApiResult<Response> {
    let mut options = SnapshotOptions::new().quality(quality(q.quality)?);
    if let Some(w) = q.width {
        options = options.width(w);
    }
    let at = past_moment(q.at)?;
    let keyframe = q.keyframe.unwrap_or(false);
    if at.is_some() && keyframe {
        return Err(Error::invalid_input("at and keyframe cannot be combined").into());
    }
    options.at = at;
    options.keyframe = keyframe;
    options.stale_ok = q.stale_ok.unwrap_or(false);
    Ok(jpeg_response(state.vas.snapshot(id, options).await?))
}

pub(super) async fn take(
    State(state): State<AppState>,
    IdPath(id): IdPath<StreamId>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let new: NewSnapshotBody = if body.iter().all(u8::is_ascii_whitespace) {
        NewSnapshotBody::default()
    } else {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "request body must be JSON (Content-Type: application/json)",
            )
            .into());
        }
        serde_json::from_slice(&body)
            .map_err(|e| Error::invalid_input(format!("invalid request body: {e}")))?
    };
    let options = SnapshotOptions {
        at: past_moment(new.at)?,
        ..SnapshotOptions::default()
    };
    let s = state.vas.save_snapshot(id, options, new.label).await?;
    let location = format!("/api/v1/snapshots/{}", s.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(SnapshotBody::from(s)),
    )
        .into_response())
}

pub(super) async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<SnapshotBody>>> {
    let list = state
        .vas
        .saved_snapshots(super::recordings::client_query(q)?)
        .await?;
    Ok(Json(list.into_iter().map(SnapshotBody::from).collect()))
}

pub(super) async fn get(
    State(state): State<AppState>,
    IdPath(id): IdPath<SnapshotId>,
) -> ApiResult<Json<SnapshotBody>> {
    Ok(Json(state.vas.saved_snapshot(id).await?.into()))
}

pub(super) async fn image(
    State(state): State<AppState>,
    IdPath(id): IdPath<SnapshotId>,
) -> ApiResult<Response> {
    let s = state.vas.saved_snapshot(id).await?;
    let bytes = state.vas.saved_snapshot_image(id).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    // A saved snapshot never changes.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(super::recordings::SEGMENT_CACHE),
    );
    if let Ok(t) = HeaderValue::from_str(&s.taken_at.to_rfc3339_opts(SecondsFormat::Millis, true)) {
        headers.insert(FRAME_TIME_HEADER, t);
    }
    Ok((headers, bytes).into_response())
}

pub(super) async fn delete(
    State(state): State<AppState>,
    IdPath(id): IdPath<SnapshotId>,
) -> ApiResult<StatusCode> {
    state.vas.delete_snapshot(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
