//! The REST API under `/api/v1`, plus `/healthz`.
//!
//! Owns request parsing, response shapes and authentication. It calls only the [`vas::Vas`]
//! engine (never the store) and maps errors only through [`error::ApiError`].

pub mod error;
pub mod extract;
pub mod recordings;
pub mod time;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use vas::model::{Device, DevicePatch, NewDevice};
use vas::status::StreamInfo;
use vas::{DeviceId, ErrorKind, StreamId};

use crate::AppState;
use error::{ApiError, error_body};
use extract::{ApiJson, IdPath};

/// Largest request body the API accepts, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A camera as the API shows it: credentials never appear, the password is masked.
#[derive(Debug, Serialize)]
pub struct DeviceBody {
    /// Id.
    pub id: DeviceId,
    /// Name.
    pub name: String,
    /// Main URL, password masked.
    pub rtsp_url: String,
    /// Sub URL, password masked.
    pub sub_rtsp_url: Option<String>,
    /// `tcp` or `udp`.
    pub rtsp_transport: vas::model::RtpTransport,
    /// Whether VAS may connect to it.
    pub enabled: bool,
    /// Whether credentials are stored for it.
    pub has_credentials: bool,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&Device> for DeviceBody {
    fn from(d: &Device) -> Self {
        DeviceBody {
            id: d.id,
            name: d.name.clone(),
            rtsp_url: d.rtsp_url_masked(),
            sub_rtsp_url: d.sub_rtsp_url_masked(),
            rtsp_transport: d.rtsp_transport,
            enabled: d.enabled,
            has_credentials: d.credentials.is_some(),
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// A stream as the API shows it: stored settings plus live status.
#[derive(Debug, Serialize)]
pub struct StreamBody {
    /// Id.
    pub id: StreamId,
    /// The camera it belongs to.
    pub device_id: DeviceId,
    /// `main` or `sub`.
    pub profile: vas::model::StreamProfile,
    /// What ingest is doing now: `stopped`, `connecting`, `live`, `reconnecting`, `failed`.
    pub state: vas::status::StreamState,
    /// What the user asked for: `running` or `stopped` (stored; survives restarts).
    pub desired_state: vas::model::DesiredState,
    /// Whether it records while running.
    pub record: bool,
    /// Frames per second, recent.
    pub fps: f64,
    /// Bits per second, recent.
    pub bitrate_bps: u64,
    /// Video frames received from the camera since the stream was started.
    pub frames: u64,
    /// Reconnections since it was started.
    pub reconnects: u64,
    /// The last failure (credentials masked).
    pub last_error: Option<String>,
    /// When the last frame arrived.
    pub last_frame_at: Option<DateTime<Utc>>,
    /// WebRTC viewers watching it.
    pub viewers: usize,
    /// The recorder's state while the stream records (`null` otherwise).
    pub recording: Option<RecordingStatusBody>,
    /// When the stream was created.
    pub created_at: DateTime<Utc>,
}

/// A stream's recorder status.
#[derive(Debug, Serialize)]
pub struct RecordingStatusBody {
    /// `recording`, `error` or `stopped`.
    pub state: &'static str,
    /// The recording being written.
    pub recording_id: Option<vas::model::RecordingId>,
    /// The last write or database error, if any.
    pub last_error: Option<String>,
    /// Segments written since recording started.
    pub segments: u64,
    /// Bytes written since recording started.
    pub bytes: u64,
}

impl From<StreamInfo> for StreamBody {
    fn from(i: StreamInfo) -> Self {
        StreamBody {
            id: i.stream.id,
            device_id: i.stream.device_id,
            profile: i.stream.profile,
            state: i.status.state,
            desired_state: i.stream.desired,
            record: i.stream.record,
            fps: i.status.fps,
            bitrate_bps: i.status.bitrate_bps,
            frames: i.status.frames,
            reconnects: i.status.reconnects,
            last_error: i.status.last_error,
            last_frame_at: i.status.last_frame_at,
            viewers: i.viewers,
            recording: i.recording.map(|r| RecordingStatusBody {
                state: match r.state {
                    vas::record::RecorderState::Recording => "recording",
                    vas::record::RecorderState::Error => "error",
                    _ => "stopped",
                },
                recording_id: r.recording,
                last_error: r.last_error,
                segments: r.segments,
                bytes: r.bytes,
            }),
            created_at: i.stream.created_at,
        }
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// The `/api/v1` routes and `/healthz`, with JSON errors for unknown routes and methods.
pub fn routes(state: AppState) -> Router {
    let api = Router::new()
        .route("/devices", post(create_device).get(list_devices))
        .route(
            "/devices/{id}",
            get(get_device).patch(patch_device).delete(delete_device),
        )
        .route("/streams", get(list_streams))
        .route(
            "/streams/{id}",
            get(get_stream).patch(recordings::patch_stream),
        )
        .route("/streams/{id}/playback.m3u8", get(recordings::playback))
        .route("/recordings", get(recordings::list_recordings))
        .route("/recordings/{id}", get(recordings::get_recording))
        .route("/streams/{id}/whep", post(crate::signaling::whep_offer))
        .route(
            "/whep/{session}",
            axum::routing::delete(crate::signaling::whep_delete),
        )
        .route("/streams/{id}/start", post(start_stream))
        .route("/streams/{id}/stop", post(stop_stream))
        .fallback(unknown_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let media = Router::new()
        .route("/media/{*path}", get(recordings::media_file))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ));
    // The WebSocket authenticates itself (browsers cannot send headers on it).
    let ws = Router::new().route("/api/v1/ws", get(crate::signaling::websocket));
    Router::new()
        .nest("/api/v1", api)
        .merge(ws)
        .merge(media)
        .route("/healthz", get(healthz))
        .fallback(unknown_endpoint)
        .with_state(state)
}

async fn unknown_endpoint() -> Response {
    error_body(
        StatusCode::NOT_FOUND,
        ErrorKind::NotFound,
        "no such endpoint",
    )
}

async fn method_not_allowed() -> Response {
    error_body(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::Unsupported,
        "method not allowed on this endpoint",
    )
}

/// Requires `Authorization: Bearer <token>` when the server was given an API token.
async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(expected) = state.api_token.as_deref() else {
        return next.run(req).await;
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        next.run(req).await
    } else {
        error_body(
            StatusCode::UNAUTHORIZED,
            ErrorKind::Unauthenticated,
            "missing or wrong API token (send Authorization: Bearer <token>)",
        )
    }
}

/// Compares secrets without leaking where they differ through timing.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.vas.health().await {
        Ok(()) => Json(json!({ "status": "ok", "database": "ok" })).into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

async fn create_device(
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewDevice>,
) -> ApiResult<Response> {
    let d = state.vas.add_device(new).await?;
    let location = format!("/api/v1/devices/{}", d.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(DeviceBody::from(&d)),
    )
        .into_response())
}

async fn list_devices(State(state): State<AppState>) -> ApiResult<Json<Vec<DeviceBody>>> {
    let devices = state.vas.devices().await?;
    Ok(Json(devices.iter().map(DeviceBody::from).collect()))
}

async fn get_device(
    State(state): State<AppState>,
    IdPath(id): IdPath<DeviceId>,
) -> ApiResult<Json<DeviceBody>> {
    Ok(Json(DeviceBody::from(&state.vas.device(id).await?)))
}

async fn patch_device(
    State(state): State<AppState>,
    IdPath(id): IdPath<DeviceId>,
    ApiJson(patch): ApiJson<DevicePatch>,
) -> ApiResult<Json<DeviceBody>> {
    Ok(Json(DeviceBody::from(
        &state.vas.update_device(id, patch).await?,
    )))
}

async fn delete_device(
    State(state): State<AppState>,
    IdPath(id): IdPath<DeviceId>,
) -> ApiResult<StatusCode> {
    state.vas.remove_device(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_streams(State(state): State<AppState>) -> ApiResult<Json<Vec<StreamBody>>> {
    let streams = state.vas.streams().await?;
    Ok(Json(streams.into_iter().map(StreamBody::from).collect()))
}

async fn get_stream(
    State(state): State<AppState>,
    IdPath(id): IdPath<StreamId>,
) -> ApiResult<Json<StreamBody>> {
    Ok(Json(state.vas.stream(id).await?.into()))
}

async fn start_stream(
    State(state): State<AppState>,
    IdPath(id): IdPath<StreamId>,
) -> ApiResult<Json<StreamBody>> {
    Ok(Json(state.vas.start_stream(id).await?.into()))
}

async fn stop_stream(
    State(state): State<AppState>,
    IdPath(id): IdPath<StreamId>,
) -> ApiResult<Json<StreamBody>> {
    Ok(Json(state.vas.stop_stream(id).await?.into()))
}
