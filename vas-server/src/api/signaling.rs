//! WebRTC signaling: the WebSocket protocol (on the signaling port and at `/api/v1/ws`) and
//! WHEP (`POST /api/v1/streams/{id}/whep`, `DELETE /api/v1/whep/{session}`).
//!
//! Owns session bookkeeping between HTTP/WebSocket clients and the engine's WebRTC viewers:
//! every viewer a socket opened is closed with the socket, WHEP sessions are named by
//! unguessable tokens, and every input is bounded (message size, messages per second,
//! sessions per socket). It never touches media; the engine's SFU does.
//!
//! The WebSocket protocol is JSON text messages:
//!
//! | client → server | server → client |
//! |---|---|
//! | `{"type":"offer","request_id":"1","stream_id":"…","sdp":"…"}` | `{"type":"answer","request_id":"1","session_id":"…","sdp":"…"}` |
//! | `{"type":"close","request_id":"2","session_id":"…"}` | `{"type":"closed","request_id":"2","session_id":"…"}` |
//! | `{"type":"ping","request_id":"3"}` | `{"type":"pong","request_id":"3"}` |
//! | anything wrong | `{"type":"error","request_id":…,"kind":"…","message":"…"}` |

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use vas::ViewerId;
use vas::{Error, ErrorKind, StreamId};

use super::error::{ApiError, error_body};
use super::extract::IdPath;
use crate::AppState;

/// Largest WebSocket message accepted (an SDP offer is a few KB).
pub const MAX_WS_MESSAGE: usize = 64 * 1024;
/// Live-view sessions one WebSocket may hold.
pub const MAX_SESSIONS_PER_SOCKET: usize = 32;
/// Messages per second a socket may send on average…
pub const MESSAGES_PER_SECOND: f64 = 20.0;
/// …with bursts up to this many.
pub const MESSAGE_BURST: f64 = 40.0;
/// A socket that says nothing (not even a ping) for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// WHEP sessions remembered before stale ones (viewers already gone) are pruned.
pub const WHEP_PRUNE_AT: usize = 1024;
/// Content type of SDP bodies.
pub const SDP: &str = "application/sdp";

/// WHEP sessions: token → viewer.
#[derive(Debug, Default)]
pub struct WhepSessions {
    sessions: Mutex<HashMap<String, ViewerId>>,
}

impl WhepSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ViewerId>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An unguessable session name (128 random bits, hex).
fn session_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ClientMessage {
    Offer {
        request_id: Option<String>,
        stream_id: String,
        sdp: String,
    },
    Close {
        request_id: Option<String>,
        session_id: String,
    },
    Ping {
        request_id: Option<String>,
    },
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ServerMessage {
    Answer {
        request_id: Option<String>,
        session_id: String,
        sdp: String,
    },
    Closed {
        request_id: Option<String>,
        session_id: String,
    },
    Pong {
        request_id: Option<String>,
    },
    Error {
        request_id: Option<String>,
        kind: &'static str,
        message: String,
    },
}

impl ServerMessage {
    fn error(request_id: Option<String>, e: &Error) -> Self {
        ServerMessage::Error {
            request_id,
            kind: e.kind().as_str(),
            message: e.message().to_owned(),
        }
    }
}

/// Parses one client message as the WebSocket handler does and names its type (`offer`,
/// `close`, `ping`); for fuzzing and tests, not an API.
#[doc(hidden)]
pub fn client_message_kind(text: &str) -> Result<&'static str, Error> {
    match parse_client_message(text)? {
        ClientMessage::Offer { .. } => Ok("offer"),
        ClientMessage::Close { .. } => Ok("close"),
        ClientMessage::Ping { .. } => Ok("ping"),
    }
}

fn parse_client_message(text: &str) -> Result<ClientMessage, Error> {
    serde_json::from_str::<ClientMessage>(text)
        .map_err(|e| Error::invalid_input(format!("not a signaling message: {e}")))
}

/// `?token=` for WebSocket clients, which cannot send an Authorization header.
#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

fn authorized(state: &AppState, headers: &HeaderMap, query: &TokenQuery) -> bool {
    let Some(expected) = state.api_token.as_deref() else {
        return true;
    };
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let given = from_header.or(query.token.as_deref()).unwrap_or("");
    super::limits::constant_time_eq(given.as_bytes(), expected.as_bytes())
}

/// `GET /api/v1/ws` (and `/` on the signaling port): upgrades to the signaling protocol.
pub async fn websocket(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<TokenQuery>, axum::extract::rejection::QueryRejection>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return ApiError(Error::invalid_input("malformed query string")).into_response();
    };
    let Ok(ws) = ws else {
        return ApiError(Error::invalid_input(
            "this endpoint speaks WebSocket: send an Upgrade request",
        ))
        .into_response();
    };
    if !authorized(&state, &headers, &query) {
        return error_body(
            StatusCode::UNAUTHORIZED,
            ErrorKind::Unauthenticated,
            "missing or wrong API token (send Authorization: Bearer <token> or ?token=)",
        );
    }
    ws.max_message_size(MAX_WS_MESSAGE)
        .max_frame_size(MAX_WS_MESSAGE)
        .on_upgrade(move |socket| run_socket(state, socket))
}

/// A token bucket limiting a socket's message rate.
struct RateLimit {
    tokens: f64,
    at: Instant,
}

impl RateLimit {
    fn allow(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * MESSAGES_PER_SECOND;
        self.tokens = (self.tokens + refill).min(MESSAGE_BURST);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn send(socket: &mut WebSocket, msg: &ServerMessage) -> bool {
    match serde_json::to_string(msg) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => false,
    }
}

/// How long a socket being closed for misbehaving is drained, so the client reads our
/// last words instead of a connection reset.
const CLOSE_DRAIN: Duration = Duration::from_secs(1);

/// Sends a policy-violation close frame and discards what the client still sends for a
/// moment (closing with unread input would reset the connection and lose our reply).
async fn close_politely(socket: &mut WebSocket) {
    let frame = axum::extract::ws::CloseFrame {
        code: axum::extract::ws::close_code::POLICY,
        reason: "rate limit".into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
    let deadline = Instant::now() + CLOSE_DRAIN;
    while let Ok(Some(Ok(_))) = tokio::time::timeout(
        deadline.saturating_duration_since(Instant::now()),
        socket.recv(),
    )
    .await
    {}
}

async fn run_socket(state: AppState, mut socket: WebSocket) {
    let mut sessions: HashMap<String, ViewerId> = HashMap::new();
    let mut limit = RateLimit {
        tokens: MESSAGE_BURST,
        at: Instant::now(),
    };
    let draining = state.drain.started();
    tokio::pin!(draining);
    loop {
        let msg = tokio::select! {
            m = tokio::time::timeout(IDLE_TIMEOUT, socket.recv()) => match m {
                Ok(Some(Ok(m))) => m,
                // Idle, closed, or broken: end the session either way.
                _ => break,
            },
            () = &mut draining => {
                // The server is shutting down: "going away", then the viewers end below.
                let frame = axum::extract::ws::CloseFrame {
                    code: axum::extract::ws::close_code::AWAY,
                    reason: "server shutting down".into(),
                };
                let _ = socket.send(Message::Close(Some(frame))).await;
                break;
            }
        };
        let text = match msg {
            Message::Text(t) => t,
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Binary(_) => {
                let e = Error::invalid_input("binary messages are not part of the protocol");
                if !send(&mut socket, &ServerMessage::error(None, &e)).await {
                    break;
                }
                continue;
            }
        };
        if !limit.allow() {
            let e = Error::new(
                ErrorKind::ResourceExhausted,
                format!("more than {MESSAGES_PER_SECOND} messages per second; closing"),
            );
            let _ = send(&mut socket, &ServerMessage::error(None, &e)).await;
            close_politely(&mut socket).await;
            break;
        }
        let reply = match parse_client_message(&text) {
            Err(e) => ServerMessage::error(None, &e),
            Ok(ClientMessage::Ping { request_id }) => ServerMessage::Pong { request_id },
            Ok(ClientMessage::Offer {
                request_id,
                stream_id,
                sdp,
            }) => match offer(&state, &sessions, &stream_id, &sdp).await {
                Ok((session_id, viewer, answer)) => {
                    sessions.insert(session_id.clone(), viewer);
                    ServerMessage::Answer {
                        request_id,
                        session_id,
                        sdp: answer,
                    }
                }
                Err(e) => ServerMessage::error(request_id, &e),
            },
            Ok(ClientMessage::Close {
                request_id,
                session_id,
            }) => match sessions.remove(&session_id) {
                Some(viewer) => {
                    // Gone either way; an engine that closed meanwhile has no viewer left.
                    let _ = state.vas.webrtc_close(viewer).await;
                    ServerMessage::Closed {
                        request_id,
                        session_id,
                    }
                }
                None => ServerMessage::error(
                    request_id,
                    &Error::not_found("no such session on this connection"),
                ),
            },
        };
        if !send(&mut socket, &reply).await {
            break;
        }
    }
    for viewer in sessions.into_values() {
        // The socket is gone: end its viewers (an engine that closed has none left).
        let _ = state.vas.webrtc_close(viewer).await;
    }
}

async fn offer(
    state: &AppState,
    sessions: &HashMap<String, ViewerId>,
    stream_id: &str,
    sdp: &str,
) -> Result<(String, ViewerId, String), Error> {
    if sessions.len() >= MAX_SESSIONS_PER_SOCKET {
        return Err(Error::new(
            ErrorKind::ResourceExhausted,
            format!("at most {MAX_SESSIONS_PER_SOCKET} live views per connection"),
        ));
    }
    let id: StreamId = stream_id.parse()?;
    let session = state.vas.webrtc_answer(id, sdp.to_owned()).await?;
    Ok((session_token(), session.viewer, session.answer_sdp))
}

/// `POST /api/v1/streams/{id}/whep`: an SDP offer in, 201 with the answer and the
/// session's `Location` out.
pub async fn whep_offer(
    State(state): State<AppState>,
    IdPath(id): IdPath<StreamId>,
    headers: HeaderMap,
    body: Result<String, axum::extract::rejection::StringRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::new(
                ErrorKind::TooLarge,
                format!(
                    "the SDP offer is larger than {} bytes",
                    super::limits::MAX_BODY_BYTES
                ),
            )
        } else {
            Error::invalid_input("the SDP offer is not readable UTF-8 text")
        }
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // Media types are case-insensitive (RFC 9110 §8.3.1); parameters are allowed.
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case(SDP) {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "a WHEP offer must be sent as Content-Type: application/sdp",
        )
        .into());
    }
    let vas::WebRtcSession {
        viewer,
        answer_sdp: answer,
        ..
    } = state.vas.webrtc_answer(id, body).await?;
    let token = session_token();
    {
        let mut sessions = state.whep.lock();
        if sessions.len() >= WHEP_PRUNE_AT {
            sessions.retain(|_, v| state.vas.has_viewer(*v));
        }
        sessions.insert(token.clone(), viewer);
    }
    Ok((
        StatusCode::CREATED,
        [
            (header::CONTENT_TYPE, SDP.to_owned()),
            (header::LOCATION, format!("/api/v1/whep/{token}")),
        ],
        answer,
    )
        .into_response())
}

/// `DELETE /api/v1/whep/{session}`: ends a WHEP session.
pub async fn whep_delete(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let viewer = state.whep.lock().remove(&token);
    match viewer {
        Some(v) => {
            state.vas.webrtc_close(v).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(Error::not_found("no such WHEP session").into()),
    }
}

/// The signaling port's app: the WebSocket at `/` and `/api/v1/ws`.
pub fn signaling_app(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/", axum::routing::get(websocket))
        .route("/api/v1/ws", axum::routing::get(websocket))
        .fallback(|| async {
            error_body(
                StatusCode::NOT_FOUND,
                ErrorKind::NotFound,
                "this port serves only WebSocket signaling at /",
            )
        })
        .with_state(state)
        .layer(crate::catch_panic())
}

/// Debug representation that does not list session tokens.
impl std::fmt::Display for WhepSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} WHEP sessions", self.lock().len())
    }
}

/// Shared handle type kept in [`AppState`].
pub type SharedWhep = Arc<WhepSessions>;
