//! The REST API under `/api/v1`, plus `/healthz`.
//!
//! Owns request parsing, response shapes and authentication. It calls only the [`vas::Vas`]
//! engine (never the store) and maps errors only through [`error::ApiError`].

pub mod bookmarks;
pub mod error;
pub mod extract;
pub mod recordings;
pub mod snapshots;
pub mod time;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use vas::StreamInfo;
use vas::{Camera, DevicePatch, NewDevice, RtpTransport, SubStreamChange};
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
    pub rtsp_transport: vas::RtpTransport,
    /// Whether VAS may connect to it.
    pub enabled: bool,
    /// Whether credentials are stored for it.
    pub has_credentials: bool,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&Camera> for DeviceBody {
    fn from(c: &Camera) -> Self {
        DeviceBody {
            id: c.id,
            name: c.name.clone(),
            rtsp_url: c.rtsp_url.clone(),
            sub_rtsp_url: c.sub_rtsp_url.clone(),
            rtsp_transport: c.rtsp_transport,
            enabled: c.enabled,
            has_credentials: c.has_credentials,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// `POST /api/v1/devices`: what a client sends to add a camera.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDeviceBody {
    /// Unique name.
    pub name: String,
    /// Main-stream URL; may carry `user:password@`.
    pub rtsp_url: String,
    /// Optional sub-stream URL.
    #[serde(default)]
    pub sub_rtsp_url: Option<String>,
    /// Username, when not given in the URL.
    #[serde(default)]
    pub username: Option<String>,
    /// Password, when not given in the URL.
    #[serde(default)]
    pub password: Option<String>,
    /// `tcp` (default) or `udp`.
    #[serde(default)]
    pub rtsp_transport: Option<RtpTransport>,
    /// Whether VAS may connect to it (default true).
    #[serde(default = "default_true")]
    pub enabled: bool,
}

fn default_true() -> bool {
    true
}

impl From<NewDeviceBody> for NewDevice {
    fn from(b: NewDeviceBody) -> Self {
        NewDevice {
            sub_rtsp_url: b.sub_rtsp_url,
            username: b.username,
            password: b.password,
            rtsp_transport: b.rtsp_transport,
            enabled: b.enabled,
            ..NewDevice::new(b.name, b.rtsp_url)
        }
    }
}

/// `PATCH /api/v1/devices/{id}`: absent fields are left alone; `"sub_rtsp_url": null`
/// removes the sub stream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicePatchBody {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New main URL.
    #[serde(default)]
    pub rtsp_url: Option<String>,
    /// New sub URL, or `null` to remove the sub stream.
    #[serde(default, deserialize_with = "double_option")]
    pub sub_rtsp_url: Option<Option<String>>,
    /// New username (empty with an empty password clears credentials).
    #[serde(default)]
    pub username: Option<String>,
    /// New password.
    #[serde(default)]
    pub password: Option<String>,
    /// `tcp` or `udp`.
    #[serde(default)]
    pub rtsp_transport: Option<RtpTransport>,
    /// Enable or disable the camera.
    #[serde(default)]
    pub enabled: Option<bool>,
}

fn double_option<'de, D, T>(d: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl From<DevicePatchBody> for DevicePatch {
    fn from(b: DevicePatchBody) -> Self {
        DevicePatch {
            name: b.name,
            rtsp_url: b.rtsp_url,
            sub_rtsp_url: match b.sub_rtsp_url {
                None => SubStreamChange::Keep,
                Some(None) => SubStreamChange::Remove,
                Some(Some(url)) => SubStreamChange::Set(url),
            },
            username: b.username,
            password: b.password,
            rtsp_transport: b.rtsp_transport,
            enabled: b.enabled,
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
    pub profile: vas::StreamProfile,
    /// What ingest is doing now: `stopped`, `connecting`, `live`, `reconnecting`, `failed`.
    pub state: vas::StreamState,
    /// What the user asked for: `running` or `stopped` (stored; survives restarts).
    pub desired_state: vas::DesiredState,
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
    pub recording_id: Option<vas::RecordingId>,
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
                    vas::RecorderState::Recording => "recording",
                    vas::RecorderState::Error => "error",
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
        .route("/streams/{id}/snapshot.jpg", get(snapshots::instant))
        .route("/streams/{id}/snapshots", post(snapshots::take))
        .route("/snapshots", get(snapshots::list))
        .route(
            "/snapshots/{id}",
            get(snapshots::get).delete(snapshots::delete),
        )
        .route("/snapshots/{id}/image.jpg", get(snapshots::image))
        .route("/bookmarks", post(bookmarks::create).get(bookmarks::list))
        .route(
            "/bookmarks/{id}",
            get(bookmarks::get).delete(bookmarks::delete),
        )
        .route("/bookmarks/{id}/clip.mp4", get(bookmarks::clip))
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
    ApiJson(new): ApiJson<NewDeviceBody>,
) -> ApiResult<Response> {
    let d = state.vas.add_device(new.into()).await?;
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
    ApiJson(patch): ApiJson<DevicePatchBody>,
) -> ApiResult<Json<DeviceBody>> {
    Ok(Json(DeviceBody::from(
        &state.vas.update_device(id, patch.into()).await?,
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

#[cfg(test)]
mod body_tests {
    use super::*;

    #[test]
    fn patch_distinguishes_null_from_absent() {
        let p: DevicePatchBody = serde_json::from_str(r#"{"sub_rtsp_url": null}"#).unwrap();
        assert_eq!(DevicePatch::from(p).sub_rtsp_url, SubStreamChange::Remove);
        let p: DevicePatchBody = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(DevicePatch::from(p).sub_rtsp_url, SubStreamChange::Keep);
        let p: DevicePatchBody =
            serde_json::from_str(r#"{"sub_rtsp_url": "rtsp://10.0.0.1/sub"}"#).unwrap();
        assert_eq!(
            DevicePatch::from(p).sub_rtsp_url,
            SubStreamChange::Set("rtsp://10.0.0.1/sub".into())
        );
        assert!(serde_json::from_str::<DevicePatchBody>(r#"{"bogus": 1}"#).is_err());
    }

    #[test]
    fn new_device_defaults_to_enabled() {
        let b: NewDeviceBody =
            serde_json::from_str(r#"{"name": "a", "rtsp_url": "rtsp://10.0.0.1/x"}"#).unwrap();
        let d = NewDevice::from(b);
        assert!(d.enabled);
        assert_eq!(d.rtsp_transport, None);
    }
}
