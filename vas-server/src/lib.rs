//! The VAS reference server: the REST API (and, as they arrive, signaling, WHEP, the
//! dashboard and metrics) over the [`vas::Vas`] engine.
//!
//! [`app`] builds the whole HTTP application as a [`Router`], so tests drive it without a
//! socket; `main.rs` only parses configuration, binds and serves.

pub mod api;
pub mod config;
pub mod dashboard;
pub mod demo;
pub mod serve;
pub use api::signaling;

use std::sync::Arc;

use axum::Router;
use tower_http::trace::TraceLayer;

/// What every request handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The engine.
    pub vas: vas::Vas,
    /// When set, `/api` requests must carry `Authorization: Bearer <token>`.
    pub api_token: Option<Arc<str>>,
    /// Open WHEP sessions.
    pub whep: signaling::SharedWhep,
    /// Whether the server is shutting down (see [`Drain`]).
    pub drain: Drain,
    /// Per-client limits of the expensive routes.
    pub throttles: Arc<api::throttle::Throttles>,
}

/// The server's shutdown switch: once [`start`](Drain::start)ed, `/readyz` answers 503, new
/// requests are refused with 503 `unavailable`, and WebSocket signaling sessions close with
/// "going away", while the requests already running finish.
///
/// ```
/// let drain = vas_server::Drain::default();
/// assert!(!drain.is_draining());
/// drain.start();
/// assert!(drain.is_draining());
/// ```
#[derive(Clone, Debug)]
pub struct Drain(Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Drain {
    fn default() -> Self {
        Drain(Arc::new(tokio::sync::watch::Sender::new(false)))
    }
}

impl Drain {
    /// Starts draining (again: no effect).
    pub fn start(&self) {
        self.0.send_replace(true);
    }

    /// Whether draining has started.
    pub fn is_draining(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once draining has started.
    pub fn started(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.0.subscribe();
        async move {
            // The sender lives in `self`'s Arc: an error means every handle is gone.
            let _ = rx.wait_for(|draining| *draining).await;
        }
    }
}

impl AppState {
    /// State over an engine, requiring `token` on API requests.
    pub fn with_token(vas: vas::Vas, token: Option<&str>) -> Self {
        AppState {
            api_token: token.map(Arc::from),
            ..AppState::new(vas)
        }
    }

    /// State over an engine, without authentication.
    pub fn new(vas: vas::Vas) -> Self {
        AppState {
            vas,
            api_token: None,
            whep: Default::default(),
            drain: Drain::default(),
            throttles: Default::default(),
        }
    }
}

/// The longest request id kept from a client (longer ones are replaced).
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// The header carrying a request's id: the client's own (up to [`MAX_REQUEST_ID_LEN`]
/// visible characters) or
/// one the server makes (a UUID), answered back on the response and in every log line of
/// the request.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The whole HTTP application. A handler that panics (a bug) is answered `500` with the
/// usual JSON error body, never an empty reply. Every request gets an id
/// ([`REQUEST_ID_HEADER`]) and one log line when it is answered (method, path without the
/// query string, status, latency; never a header or a query value, where tokens travel).
pub fn app(state: AppState) -> Router {
    use tower_http::request_id::{
        MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
    };
    let header = axum::http::HeaderName::from_static(REQUEST_ID_HEADER);
    let span = |req: &axum::http::Request<axum::body::Body>| {
        let id = req
            .extensions()
            .get::<RequestId>()
            .and_then(|id| id.header_value().to_str().ok())
            .unwrap_or("");
        tracing::info_span!(
            "request",
            request_id = %id,
            method = %req.method(),
            path = %req.uri().path(),
        )
    };
    api::routes(state)
        .merge(dashboard::routes())
        .layer(
            TraceLayer::new_for_http().make_span_with(span).on_response(
                tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO),
            ),
        )
        .layer(PropagateRequestIdLayer::new(header.clone()))
        .layer(axum::middleware::from_fn(sane_request_id))
        .layer(SetRequestIdLayer::new(header, MakeRequestUuid))
        .layer(catch_panic())
}

/// Drops a client's request id that is longer than [`MAX_REQUEST_ID_LEN`] or not visible ASCII and
/// makes a new one, so that an id in the logs is always short and printable.
async fn sane_request_id(
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tower_http::request_id::RequestId;
    let ok = req.headers().get(REQUEST_ID_HEADER).is_some_and(|v| {
        v.len() <= MAX_REQUEST_ID_LEN && v.as_bytes().iter().all(|b| b.is_ascii_graphic())
    });
    if !ok {
        let id = uuid::Uuid::new_v4().to_string();
        if let Ok(value) = axum::http::HeaderValue::from_str(&id) {
            req.headers_mut().insert(REQUEST_ID_HEADER, value.clone());
            req.extensions_mut().insert(RequestId::new(value));
        }
    }
    next.run(req).await
}

/// The layer turning a panic in a handler into a `500` JSON error.
pub fn catch_panic() -> tower_http::catch_panic::CatchPanicLayer<
    fn(Box<dyn std::any::Any + Send>) -> axum::response::Response,
> {
    fn answer(_: Box<dyn std::any::Any + Send>) -> axum::response::Response {
        use axum::response::IntoResponse;
        api::error::ApiError(vas::Error::internal(
            "the server hit a bug handling this request; it is logged",
        ))
        .into_response()
    }
    tower_http::catch_panic::CatchPanicLayer::custom(answer as fn(_) -> _)
}
