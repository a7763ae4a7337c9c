//! Serving the app on a socket with the limits a network-facing server needs (`axum::serve`
//! has none of them).
//!
//! Owns, for every port the server listens on: a cap on concurrent connections in total and
//! per client address (over the cap: an immediate `503` and close), a header-read timeout
//! (hyper's), an idle timeout (no byte in either direction for [`HttpLimits::idle_timeout`]:
//! a keep-alive connection between requests, a silent socket that never sent a request), the
//! body-read deadline with a minimum rate ([`body_deadline`], a middleware), and graceful
//! shutdown with a bound. A WebSocket keeps its connection slot until it closes; once
//! upgraded it is the signaling code's to police. It never looks inside requests beyond
//! their length.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::{debug, warn};

/// Default: most connections open at once, in total.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default: most connections open at once from one client address.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 64;
/// Default: how long a client may take to send a request's head (line and headers).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default: how long a connection may stay without a byte in either direction.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default: the time any request body gets, on top of what its size earns at the minimum rate.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Default: the slowest upload accepted, in bytes per second.
pub const DEFAULT_MIN_BODY_RATE: u64 = 16 * 1024;
/// Default: how long shutdown waits for open connections to finish their requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How often a connection checks whether it has been idle too long.
const IDLE_CHECK: Duration = Duration::from_secs(1);
/// How long the refusal of an over-the-cap connection may take to write.
const REFUSE_WRITE_LIMIT: Duration = Duration::from_secs(1);

/// The limits every listening port enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Connections open at once, in total.
    pub max_connections: usize,
    /// Connections open at once from one client address.
    pub max_connections_per_ip: usize,
    /// Time for a request's head.
    pub header_read_timeout: Duration,
    /// Time without a byte in either direction before a connection is closed (a request in
    /// progress finishes first).
    pub idle_timeout: Duration,
    /// Base time for a request body.
    pub body_timeout: Duration,
    /// Minimum body rate in bytes per second: a body of `n` bytes gets
    /// `body_timeout + n / min_body_rate`.
    pub min_body_rate: u64,
    /// How long shutdown lets open requests finish before their connections are dropped.
    pub shutdown_drain: Duration,
}

impl HttpLimits {
    /// These limits with the connection drain fitted into a shutdown of `grace`: half of it,
    /// at most [`SHUTDOWN_GRACE`] (the rest is the engine's: recordings, viewers, cameras).
    pub fn with_shutdown_grace(self, grace: Duration) -> Self {
        HttpLimits {
            shutdown_drain: (grace / 2).min(SHUTDOWN_GRACE),
            ..self
        }
    }
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            min_body_rate: DEFAULT_MIN_BODY_RATE,
            shutdown_drain: SHUTDOWN_GRACE,
        }
    }
}

/// Who holds how many connections.
#[derive(Debug, Default)]
struct Table {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// A connection's place in the [`Table`]; given back on drop.
#[derive(Debug)]
struct Slot {
    table: Arc<Mutex<Table>>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        t.total = t.total.saturating_sub(1);
        if let Some(n) = t.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                t.per_ip.remove(&self.ip);
            }
        }
    }
}

fn admit(table: &Arc<Mutex<Table>>, ip: IpAddr, limits: &HttpLimits) -> Option<Slot> {
    let mut t = table.lock().unwrap_or_else(|p| p.into_inner());
    let mine = t.per_ip.get(&ip).copied().unwrap_or(0);
    if t.total >= limits.max_connections || mine >= limits.max_connections_per_ip {
        return None;
    }
    t.total += 1;
    *t.per_ip.entry(ip).or_insert(0) += 1;
    Some(Slot {
        table: table.clone(),
        ip,
    })
}

/// Serves `app` on `listener` under `limits` until `shutdown` completes, then lets open
/// requests finish for up to [`HttpLimits::shutdown_drain`].
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let app = app.layer(axum::middleware::from_fn_with_state(limits, body_deadline));
    let table = Arc::new(Mutex::new(Table::default()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        while tasks.try_join_next().is_some() {}
        let Some(slot) = admit(&table, peer.ip(), &limits) else {
            debug!(%peer, "connection refused: too many connections");
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        tasks.spawn(connection(
            stream,
            peer,
            app.clone(),
            limits,
            slot,
            stop_rx.clone(),
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(limits.shutdown_drain, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

/// Answers an over-the-cap connection with a 503 and closes it.
async fn refuse(mut stream: TcpStream) {
    let body = r#"{"error":{"kind":"resource_exhausted","message":"too many connections; try again later"}}"#;
    let reply = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(REFUSE_WRITE_LIMIT, stream.write_all(reply.as_bytes())).await;
    let _ = stream.shutdown().await;
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: HttpLimits,
    slot: Slot,
    mut stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(WatchedIo {
        inner: stream,
        activity: activity.clone(),
        _slot: slot,
    });
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            let app = app.clone();
            async move {
                use tower::ServiceExt;
                app.oneshot(req.map(Body::new)).await
            }
        });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        // A request that moves no byte for twice the idle time even after it was asked to
        // finish (a client that stopped reading its response) is dropped.
        if closing && activity.idle_for() >= limits.idle_timeout * 2 {
            debug!(%peer, "dropping a connection that stopped moving");
            return;
        }
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            () = tokio::time::sleep(IDLE_CHECK) => {
                if !closing && activity.idle_for() >= limits.idle_timeout {
                    debug!(%peer, "closing an idle connection");
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
            _ = stop.changed(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// When a connection last moved a byte.
#[derive(Debug)]
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// The socket, noting every byte moved and holding the connection's slot until it is dropped
/// (an upgraded WebSocket keeps it).
struct WatchedIo {
    inner: TcpStream,
    activity: Arc<Activity>,
    _slot: Slot,
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The time a body of `len` bytes may take to arrive under `limits`.
pub fn body_allowance(limits: &HttpLimits, len: u64) -> Duration {
    limits.body_timeout + Duration::from_secs(len / limits.min_body_rate.max(1))
}

/// Middleware: reads a request's body within its allowance ([`body_allowance`] of its
/// `Content-Length`, or of the largest body accepted when it is chunked), so a body that
/// trickles or never comes ends in `408` instead of holding the connection. Bodies above
/// [`crate::api::MAX_BODY_BYTES`] are refused with `413` before they are read.
pub async fn body_deadline(
    axum::extract::State(limits): axum::extract::State<HttpLimits>,
    req: Request,
    next: Next,
) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let chunked = req.headers().contains_key(header::TRANSFER_ENCODING);
    if declared.unwrap_or(0) == 0 && !chunked {
        return next.run(req).await;
    }
    let max = crate::api::MAX_BODY_BYTES as u64;
    if declared.is_some_and(|n| n > max) {
        return crate::api::error::ApiError(vas::Error::new(
            vas::ErrorKind::TooLarge,
            format!("the request body is larger than {max} bytes"),
        ))
        .into_response();
    }
    let allowance = body_allowance(&limits, declared.unwrap_or(max));
    let (parts, body) = req.into_parts();
    let bytes = match tokio::time::timeout(
        allowance,
        axum::body::to_bytes(body, crate::api::MAX_BODY_BYTES),
    )
    .await
    {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => {
            return crate::api::error::ApiError(vas::Error::new(
                vas::ErrorKind::TooLarge,
                format!("the request body is larger than {max} bytes, or was cut off"),
            ))
            .into_response();
        }
        Err(_) => {
            let mut resp = crate::api::error::ApiError(vas::Error::invalid_input(format!(
                "the request body did not arrive within {} s",
                allowance.as_secs()
            )))
            .into_response();
            *resp.status_mut() = StatusCode::REQUEST_TIMEOUT;
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return resp;
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
