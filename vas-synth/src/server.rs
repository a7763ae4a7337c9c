//! The RTSP listener of one camera run (from start or restart until stop).
//!
//! Owns the TCP listener, the accept loop, the cap on concurrent connections, and the set of
//! connection tasks, so that stopping the run closes the listener and every session before it
//! returns. It must never produce media or parse requests: connections do that.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{OnceCell, Semaphore, oneshot};
use tokio::task::JoinSet;

use super::auth::Authenticator;
use super::config::CameraConfig;
use super::connection::{self, ServerShared};
use super::feed::Feed;
use super::tasks::AbortOnDrop;
use crate::{Error, Result};

/// Most client connections one camera serves at once; more are answered 503 and closed.
pub(crate) const MAX_CONNECTIONS: usize = 4096;
/// Kernel send buffer of each client connection (the kernel doubles it). Fixed rather than
/// auto-tuned so that a client that stops reading is noticed within a fraction of a second of
/// video instead of after megabytes, and its session skips ahead instead of lagging.
pub(crate) const SOCKET_SEND_BUFFER_BYTES: u32 = 128 * 1024;
/// Pending connections the kernel queues before `accept`.
const LISTEN_BACKLOG: u32 = 1024;
/// Answer to a connection over [`MAX_CONNECTIONS`].
const BUSY_RESPONSE: &[u8] =
    b"RTSP/1.0 503 Service Unavailable\r\nServer: VAS synthetic camera\r\n\r\n";

/// A running listener; [`ServerRun::stop`] (or dropping it) ends it and all its connections.
#[derive(Debug)]
pub(crate) struct ServerRun {
    local_addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    accept: Option<AbortOnDrop<()>>,
}

impl ServerRun {
    /// Binds `bind` and starts accepting. Must run inside a tokio runtime.
    pub(crate) async fn start(
        bind: SocketAddr,
        feed: Arc<Feed>,
        config: Arc<CameraConfig>,
    ) -> Result<Self> {
        let listener =
            listen(bind).map_err(|e| Error::from(e).context(format!("cannot listen on {bind}")))?;
        let local_addr = listener.local_addr()?;
        let auth = config
            .credentials
            .clone()
            .map(|c| Authenticator::new(c, format!("{:032x}", rand::random::<u128>())));
        let shared = Arc::new(ServerShared {
            feed,
            config,
            auth,
            local_addr,
            udp: OnceCell::new(),
        });
        let (shutdown, stop_rx) = oneshot::channel();
        let accept = AbortOnDrop(tokio::spawn(accept_loop(listener, shared, stop_rx)));
        tracing::debug!(%local_addr, "synthetic camera: listening");
        Ok(ServerRun {
            local_addr,
            shutdown: Some(shutdown),
            accept: Some(accept),
        })
    }

    /// The address the listener is bound to.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Closes the listener and every connection, waiting until they are gone.
    pub(crate) async fn stop(mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(a) = self.accept.take() {
            let _ = a.join().await;
        }
    }
}

/// A listener whose accepted sockets inherit [`SOCKET_SEND_BUFFER_BYTES`].
fn listen(bind: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if bind.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_send_buffer_size(SOCKET_SEND_BUFFER_BYTES)?;
    socket.bind(bind)?;
    socket.listen(LISTEN_BACKLOG)
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<ServerShared>,
    mut stop: oneshot::Receiver<()>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: back off briefly, keep serving.
                        tracing::warn!(error = %e, "synthetic camera: accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    let _ = stream.try_write(BUSY_RESPONSE);
                    continue;
                };
                let shared = shared.clone();
                connections.spawn(async move {
                    connection::serve(stream, peer, shared).await;
                    drop(slot);
                });
            }
        }
    }
    drop(listener);
    connections.shutdown().await;
}
