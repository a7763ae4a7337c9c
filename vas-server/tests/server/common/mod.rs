//! Shared helpers for the server's tests: an app over a fresh engine, and a request helper
//! that drives the router without a socket.
#![allow(dead_code)]

pub mod browser;
pub mod media;
pub mod server;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;
use vas_server::{AppState, app};

/// Largest response body a test reads.
const MAX_RESPONSE: usize = 1 << 20;

/// An app over an engine on a fresh SQLite file; keep the tempdir alive as long as the app.
pub async fn sqlite_app() -> (Router, vas::Vas, tempfile::TempDir) {
    let (state, vas, dir) = sqlite_state().await;
    (app(state), vas, dir)
}

/// The state of such an app (to reach its switches, such as the drain).
pub async fn sqlite_state() -> (AppState, vas::Vas, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let vas = vas::Vas::builder()
        .data_dir(dir.path())
        .build()
        .await
        .unwrap();
    (AppState::new(vas.clone()), vas, dir)
}

/// A response as tests look at it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as received.
    pub bytes: Vec<u8>,
    pub text: String,
    pub json: Value,
}

impl Reply {
    /// The `error.kind` of an error body ("" if absent).
    pub fn kind(&self) -> &str {
        self.json["error"]["kind"].as_str().unwrap_or("")
    }
}

/// Sends one request through the router.
pub async fn call(app: &Router, method: Method, path: &str, body: Option<&str>) -> Reply {
    call_with(app, method, path, body, Some("application/json"), &[]).await
}

/// Sends one request with an explicit content type and extra headers.
pub async fn call_with(
    app: &Router,
    method: Method,
    path: &str,
    body: Option<&str>,
    content_type: Option<&str>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut req = Request::builder().method(method).uri(path);
    if body.is_some()
        && let Some(ct) = content_type
    {
        req = req.header("content-type", ct);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(
            body.map(|b| Body::from(b.to_owned()))
                .unwrap_or_else(Body::empty),
        )
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), MAX_RESPONSE)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        bytes: bytes.to_vec(),
        text,
        json,
    }
}

/// A 320×180 synthetic camera replaying a 2 s loop (cheap), on a free port.
pub async fn loop_camera() -> vas_synth::SyntheticCamera {
    vas_synth::SyntheticCamera::start(vas_synth::CameraConfig {
        width: 320,
        height: 180,
        mode: vas_synth::CameraMode::PreEncodedLoop { seconds: 2 },
        bind: "127.0.0.1:0".parse().unwrap(),
        ..vas_synth::CameraConfig::default()
    })
    .await
    .unwrap()
}

/// Adds a camera at `url`, starts its main stream and returns it once live.
pub async fn live_stream(vas: &vas::Vas, url: &str) -> vas::StreamId {
    let d = vas
        .add_device(vas::NewDevice::new("gate", url))
        .await
        .unwrap();
    let id = vas
        .streams(None, vas::Order::Oldest)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.device_id == d.id)
        .unwrap()
        .id;
    vas.start_stream(id).await.unwrap();
    let t = std::time::Instant::now();
    while vas.stream(id).await.unwrap().state != vas::StreamState::Live {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(20),
            "stream never live"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    id
}

/// Runs `scenario` on an app over an engine on a fresh SQLite file, then on a fresh
/// database of the test PostgreSQL server (which outside CI may be skipped explicitly).
pub async fn on_both_backends<F, Fut>(scenario: F)
where
    F: Fn(Router, vas::Vas) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let vas = vas::Vas::builder()
        .data_dir(dir.path())
        .build()
        .await
        .unwrap();
    scenario(app(AppState::new(vas.clone())), vas).await;
    let Some(server) = vas_testkit::postgres_url() else {
        return;
    };
    let db = vas_testkit::TestDatabase::create(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let vas = vas::Vas::builder()
        .data_dir(dir.path())
        .database_url(&db.url)
        .build()
        .await
        .unwrap();
    scenario(app(AppState::new(vas.clone())), vas).await;
    db.drop_db().await;
}
