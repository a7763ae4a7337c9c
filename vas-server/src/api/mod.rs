//! The REST API under `/api/v1`, plus `/healthz` (alive) and `/readyz` (ready for work).
//!
//! Owns routing, request parsing and authentication. The JSON of what it answers is the
//! engine's records' own serde form (the shapes every shell shares, from `vas::description`),
//! with links added where a record names a file (`playlist_url`, `image_url`, `clip_url`).
//! It calls only the [`vas::Vas`] engine (never the store) and maps errors only through
//! [`error::ApiError`].

pub mod bookmarks;
pub mod error;
pub mod extract;
mod limits;
pub mod recordings;
pub mod signaling;
pub mod snapshots;
pub mod throttle;
pub mod time;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use vas::{Device, DeviceId, DevicePatch, ErrorKind, NewDevice, Order, Stream, StreamId};

use crate::AppState;
use error::{ApiError, error_body};
use extract::{ApiJson, ApiQuery, IdPath};

pub use limits::MAX_BODY_BYTES;
use limits::constant_time_eq;

/// `GET /api/v1/devices` query: the order (`oldest`, the default, or `newest`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeviceListQuery {
    /// Oldest (by when it was added) or newest first.
    pub order: Order,
}

/// `GET /api/v1/streams` query: one camera's streams or all, in an order.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamListQuery {
    /// Only this camera's streams.
    pub device_id: Option<DeviceId>,
    /// Oldest (by when it was created) or newest first.
    pub order: Order,
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// The `/api/v1` routes, `/media`, `/healthz` and `/readyz`, with JSON errors for unknown
/// routes and methods.
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
        .route("/streams/{id}/whep", post(signaling::whep_offer))
        .route(
            "/whep/{session}",
            axum::routing::delete(signaling::whep_delete),
        )
        .route(
            "/streams/{id}/snapshot.jpg",
            get(snapshots::instant).route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                throttle::pictures,
            )),
        )
        .route(
            "/streams/{id}/snapshots",
            post(snapshots::take).route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                throttle::pictures,
            )),
        )
        .route("/snapshots", get(snapshots::list))
        .route(
            "/snapshots/{id}",
            get(snapshots::get).delete(snapshots::delete),
        )
        .route("/snapshots/{id}/image.jpg", get(snapshots::image))
        .route(
            "/bookmarks",
            post(bookmarks::create)
                .route_layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    throttle::bookmarks,
                ))
                .get(bookmarks::list),
        )
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
    let ws = Router::new().route("/api/v1/ws", get(signaling::websocket));
    let work = Router::new()
        .nest("/api/v1", api)
        .merge(ws)
        .merge(media)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            refuse_while_draining,
        ));
    Router::new()
        .merge(work)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(unknown_endpoint)
        .with_state(state)
}

/// Once the server is shutting down, new requests are `503 unavailable` (with
/// `Connection: close`); those already running finish.
async fn refuse_while_draining(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if !state.drain.is_draining() {
        return next.run(req).await;
    }
    let mut r = error_body(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Unavailable,
        "the server is shutting down; try another one or again shortly",
    );
    r.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    r
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

/// `GET /healthz`: the process is alive and serving (for a liveness probe: it depends on
/// nothing outside the process, so an unreachable database never gets the server restarted).
async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// How long `/readyz` waits for each of its checks.
const READY_CHECK_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /readyz`: ready for work — not shutting down, the database answers, the media folder
/// takes a file. `200 {"status": "ok", "database": "ok", "media": "ok"}`, else `503` with the
/// JSON error body naming the first check that failed.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.drain.is_draining() {
        return error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Unavailable,
            "the server is shutting down",
        );
    }
    match tokio::time::timeout(READY_CHECK_LIMIT, state.vas.health()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return ApiError(e).into_response(),
        Err(_) => {
            return error_body(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorKind::Unavailable,
                &format!(
                    "the database did not answer within {} s",
                    READY_CHECK_LIMIT.as_secs()
                ),
            );
        }
    }
    let dir = state.vas.media_dir().to_path_buf();
    let probe = tokio::task::spawn_blocking(move || media_writable(&dir));
    match tokio::time::timeout(READY_CHECK_LIMIT, probe).await {
        Ok(Ok(Ok(()))) => {
            Json(json!({ "status": "ok", "database": "ok", "media": "ok" })).into_response()
        }
        Ok(Ok(Err(e))) => error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Unavailable,
            &format!("the media folder is not writable: {e}"),
        ),
        _ => error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Unavailable,
            &format!(
                "the media folder did not take a file within {} s",
                READY_CHECK_LIMIT.as_secs()
            ),
        ),
    }
}

/// Creates, writes and removes a small file in the media folder (its name unique to this
/// probe, so probes running at once do not meet).
fn media_writable(dir: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write;
    let path = dir.join(format!(".vas-ready-{}", uuid::Uuid::new_v4().simple()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| f.write_all(b"ready\n"));
    let removed = std::fs::remove_file(&path);
    written?;
    removed
}

async fn create_device(
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewDevice>,
) -> ApiResult<Response> {
    let d = state.vas.add_device(new).await?;
    let location = format!("/api/v1/devices/{}", d.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(d)).into_response())
}

async fn list_devices(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DeviceListQuery>,
) -> ApiResult<Json<Vec<Device>>> {
    Ok(Json(state.vas.devices(q.order).await?))
}

async fn get_device(
    State(state): State<AppState>,
    IdPath(id): IdPath<DeviceId>,
) -> ApiResult<Json<Device>> {
    Ok(Json(state.vas.device(id).await?))
}

async fn patch_device(
    State(state): State<AppState>,
    IdPath(id): IdPath<DeviceId>,
    ApiJson(patch): ApiJson<DevicePatch>,
) -> ApiResult<Json<Device>> {
    Ok(Json(state.vas.update_device(id, patch).await?))
}

async fn delete_device(
    State(state): State<AppState>,
    IdPath(id): IdPath<DeviceId>,
) -> ApiResult<StatusCode> {
    state.vas.remove_device(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_streams(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StreamListQuery>,
) -> ApiResult<Json<Vec<Stream>>> {
    Ok(Json(state.vas.streams(q.device_id, q.order).await?))
}

async fn get_stream(
    State(state): State<AppState>,
    IdPath(id): IdPath<StreamId>,
) -> ApiResult<Json<Stream>> {
    Ok(Json(state.vas.stream(id).await?))
}

async fn start_stream(
    State(state): State<AppState>,
    IdPath(id): IdPath<StreamId>,
) -> ApiResult<Json<Stream>> {
    Ok(Json(state.vas.start_stream(id).await?))
}

async fn stop_stream(
    State(state): State<AppState>,
    IdPath(id): IdPath<StreamId>,
) -> ApiResult<Json<Stream>> {
    Ok(Json(state.vas.stop_stream(id).await?))
}
