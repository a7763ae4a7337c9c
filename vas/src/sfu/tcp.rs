//! ICE-TCP (RFC 6544, passive host candidates) on the SFU's port, with RFC 4571 framing.
//!
//! Owns: accepting TCP connections, splitting each byte stream into datagrams (16-bit
//! big-endian length prefix) for the driver, and framing the driver's datagrams back onto the
//! connection. It must never interpret the datagrams (the core and str0m do), never buffer
//! without bound (a full connection drops datagrams, an over-long frame closes it), and never
//! hold more than [`MAX_TCP_CONNECTIONS`] connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::core::MAX_DATAGRAM_BYTES;

/// Datagrams buffered from all TCP connections towards the driver.
pub const TCP_IN_QUEUE: usize = 1024;
/// Most concurrent ICE-TCP connections; more are closed at once.
pub const MAX_TCP_CONNECTIONS: usize = 1024;
/// Datagrams buffered per connection towards the peer before new ones are dropped.
pub const TCP_OUT_QUEUE: usize = 512;
/// A connection that delivers nothing for this long is closed (ICE consent checks come
/// every few seconds on a live one).
pub const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What the TCP side tells the driver.
#[derive(Debug)]
pub enum TcpIn {
    /// A connection opened; datagrams for `peer` go to this link.
    Open(TcpLink),
    /// A connection closed.
    Closed(SocketAddr),
    /// A framed datagram arrived.
    Datagram {
        /// The remote address.
        peer: SocketAddr,
        /// Our address on this connection.
        local: SocketAddr,
        /// The datagram.
        data: Vec<u8>,
    },
}

/// The sending half of one connection.
#[derive(Debug)]
pub struct TcpLink {
    /// The remote address.
    pub peer: SocketAddr,
    tx: mpsc::Sender<Vec<u8>>,
}

impl TcpLink {
    /// Queues a datagram; false if the connection's queue is full or it closed (dropped).
    pub fn send(&self, datagram: Vec<u8>) -> bool {
        self.tx.try_send(datagram).is_ok()
    }
}

/// Accepts connections until the driver goes away.
pub async fn accept_loop(listener: TcpListener, to_driver: mpsc::Sender<TcpIn>) {
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!("ICE-TCP accept failed: {e}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        if to_driver.is_closed() {
            return;
        }
        if active.load(Ordering::Relaxed) >= MAX_TCP_CONNECTIONS {
            continue; // dropping the stream closes it
        }
        active.fetch_add(1, Ordering::Relaxed);
        let tx = to_driver.clone();
        let active = active.clone();
        tokio::spawn(async move {
            connection(stream, peer, tx).await;
            active.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

async fn connection(stream: TcpStream, peer: SocketAddr, to_driver: mpsc::Sender<TcpIn>) {
    let Ok(local) = stream.local_addr() else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(TCP_OUT_QUEUE);
    if to_driver
        .send(TcpIn::Open(TcpLink { peer, tx }))
        .await
        .is_err()
    {
        return;
    }
    let writer = tokio::spawn(async move {
        let mut framed = Vec::with_capacity(MAX_DATAGRAM_BYTES + 2);
        while let Some(d) = rx.recv().await {
            let Ok(len) = u16::try_from(d.len()) else {
                continue;
            };
            framed.clear();
            framed.extend_from_slice(&len.to_be_bytes());
            framed.extend_from_slice(&d);
            if wr.write_all(&framed).await.is_err() {
                return;
            }
        }
    });
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(TCP_IDLE_TIMEOUT, rd.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            _ => break,
        }
        let len = usize::from(u16::from_be_bytes(len));
        if len == 0 || len > MAX_DATAGRAM_BYTES {
            break;
        }
        let mut data = vec![0u8; len];
        match tokio::time::timeout(TCP_IDLE_TIMEOUT, rd.read_exact(&mut data)).await {
            Ok(Ok(_)) => {}
            _ => break,
        }
        if to_driver
            .send(TcpIn::Datagram { peer, local, data })
            .await
            .is_err()
        {
            break;
        }
    }
    writer.abort();
    let _ = to_driver.send(TcpIn::Closed(peer)).await;
}
