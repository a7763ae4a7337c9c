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
        }
    }
}

/// The whole HTTP application. A handler that panics (a bug) is answered `500` with the
/// usual JSON error body, never an empty reply.
pub fn app(state: AppState) -> Router {
    api::routes(state)
        .merge(dashboard::routes())
        .layer(TraceLayer::new_for_http())
        .layer(catch_panic())
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
