//! The VAS reference server: the REST API (and, as they arrive, signaling, WHEP, the
//! dashboard and metrics) over the [`vas::Vas`] engine.
//!
//! [`app`] builds the whole HTTP application as a [`Router`], so tests drive it without a
//! socket; `main.rs` only parses configuration, binds and serves.

pub mod api;
pub mod config;
pub mod dashboard;
pub mod demo;
pub mod signaling;

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

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    api::routes(state)
        .merge(dashboard::routes())
        .layer(TraceLayer::new_for_http())
}
