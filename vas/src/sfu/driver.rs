//! The tokio driver of the SFU: one UDP socket (and ICE-TCP on the same port) for all viewers.
//!
//! Owns: the socket, the task that feeds [`SfuCore`] with datagrams, frames (one hub
//! subscription per watched stream, shared by its viewers) and time, the batched sending of
//! what the core emits (UDP GSO through `quinn-udp`: a viewer's consecutive equal-size
//! datagrams leave in one `sendmsg`; receiving uses `recvmmsg`), and the [`Sfu`] handle the
//! application holds. It must never make protocol decisions (the core does) and never block
//! on one viewer: a full per-viewer queue drops, and a full TCP connection drops.
//!
//! Host candidates: the bound address, or 127.0.0.1 (`::1` for IPv6) when bound to the
//! unspecified address or loopback (browsers on the same machine connect to an ICE-lite
//! server that advertises 127.0.0.1), plus every configured public IP (for 1:1 NAT). Datagrams that arrive on an
//! address that is not a candidate are presented to str0m as if sent to the first one.
//!
//! ICE-TCP: str0m 0.25 supports TCP candidates (RFC 6544, `tcptype passive`), leaving the
//! RFC 4571 framing and the connections to the application; with [`SfuConfig::ice_tcp`] the
//! driver listens on the same port over TCP, advertises passive TCP host candidates and does
//! the framing (see [`super::tcp`]).

use std::collections::HashMap;
use std::io::IoSliceMut;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use quinn_udp::{RecvMeta, UdpSocketState};
use str0m::Candidate;
use str0m::net::{Protocol, TcpType, Transmit};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::hub::{Delivery, Hub};
use crate::media::Frame;
use crate::{Error, Result};

use super::core::{CoreStats, SfuCore};
use super::tcp::{self, TcpIn, TcpLink};
use super::{CoreConfig, SfuEvent, ViewerId};

/// Default bind address: every interface, an ephemeral port.
pub const DEFAULT_BIND: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
/// Socket send and receive buffer size requested from the kernel.
pub const SOCKET_BUFFER_BYTES: usize = 8 * 1024 * 1024;
/// Frames buffered between the hub subscriptions and the driver (the hub bounds the rest).
pub const FRAME_QUEUE: usize = 64;
/// Commands (add/remove viewer) buffered for the driver.
pub const COMMAND_QUEUE: usize = 256;
/// Events buffered for slow event subscribers (older ones are dropped for them).
pub const EVENT_CAPACITY: usize = 1024;
/// Receive batches handled per wake before the driver looks at its other inputs.
const RECV_BATCHES_PER_WAKE: usize = 16;
/// Frames handled per wake before the driver looks at its other inputs.
const FRAMES_PER_WAKE: usize = 16;
/// Most bytes in one GSO send (the kernel's limit is 64 KiB).
const MAX_GSO_BYTES: usize = 60_000;
/// Most segments in one GSO send (the kernel's UDP_MAX_SEGMENTS).
const MAX_GSO_SEGMENTS: usize = 64;
/// Receive buffer per datagram slot (no GRO) and stride unit.
const RECV_SLOT_BYTES: usize = 2048;
/// Egress delay histogram: bucket width and bucket count (20 µs × 50,000 = 1 s; slower
/// samples count in the last bucket).
const DELAY_BUCKET_US: u64 = 20;
const DELAY_BUCKETS: usize = 50_000;

/// Settings of the SFU service.
#[derive(Debug, Clone, PartialEq)]
pub struct SfuConfig {
    /// Where the UDP socket (and the ICE-TCP listener) binds; with port 0 the system picks
    /// a port free for both.
    pub bind: SocketAddr,
    /// Extra IPs to advertise as host candidates (public address of a 1:1 NAT).
    pub public_ips: Vec<IpAddr>,
    /// Also accept ICE over TCP on the same port.
    pub ice_tcp: bool,
    /// Limits and media settings.
    pub core: CoreConfig,
}

impl Default for SfuConfig {
    fn default() -> Self {
        SfuConfig {
            bind: DEFAULT_BIND,
            public_ips: Vec::new(),
            ice_tcp: true,
            core: CoreConfig::default(),
        }
    }
}

/// Service counters (a snapshot).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[cfg(any(test, feature = "_internal_test_exports"))]
pub struct SfuStats {
    /// Viewers over all streams.
    pub viewers: usize,
    /// Datagrams sent.
    pub datagrams_sent: u64,
    /// Send system calls made (datagrams_sent / send_calls is the batching factor).
    pub send_calls: u64,
    /// Datagrams received.
    pub datagrams_received: u64,
    /// Datagrams not sent: socket errors, or dropped for an ICE-TCP viewer that is not
    /// reading (its bounded queue was full).
    pub send_errors: u64,
    /// Frames received from hubs.
    pub frames: u64,
    /// Median delay from a video frame's wall-clock stamp to its first packet leaving the
    /// socket, in microseconds (None before any sample).
    pub egress_delay_p50_us: Option<u64>,
    /// 99th percentile of the same.
    pub egress_delay_p99_us: Option<u64>,
    /// Samples behind the percentiles.
    pub egress_delay_samples: u64,
    /// Core counters (garbage, drops, keyframe requests, …).
    pub core: CoreStats,
}

#[derive(Debug)]
struct Shared {
    counts: Mutex<HashMap<String, usize>>,
    total: AtomicU64,
    sent: AtomicU64,
    send_calls: AtomicU64,
    received: AtomicU64,
    send_errors: AtomicU64,
    frames: AtomicU64,
    delay: Mutex<Vec<u32>>,
    core: Mutex<CoreStats>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves the data consistent; recover from poisoning.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn record_delay(&self, us: u64) {
        let i = usize::try_from(us / DELAY_BUCKET_US)
            .unwrap_or(usize::MAX)
            .min(DELAY_BUCKETS - 1);
        let mut h = lock(&self.delay);
        h[i] = h[i].saturating_add(1);
    }

    #[cfg(any(test, feature = "_internal_test_exports"))]
    fn percentiles(&self) -> (Option<u64>, Option<u64>, u64) {
        let h = lock(&self.delay);
        let n: u64 = h.iter().map(|&c| u64::from(c)).sum();
        if n == 0 {
            return (None, None, 0);
        }
        let at = |q: f64| {
            let target = ((n as f64) * q).ceil().max(1.0) as u64;
            let mut acc = 0;
            for (i, &c) in h.iter().enumerate() {
                acc += u64::from(c);
                if acc >= target {
                    return Some((i as u64 + 1) * DELAY_BUCKET_US);
                }
            }
            None
        };
        (at(0.5), at(0.99), n)
    }
}

enum Command {
    Add {
        key: String,
        hub: Hub,
        offer: String,
        reply: oneshot::Sender<Result<(ViewerId, String)>>,
    },
    Remove {
        id: ViewerId,
        reply: oneshot::Sender<bool>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

enum Feed {
    Frame(Arc<str>, Frame),
    Lost(Arc<str>, u64),
}

/// The running SFU service. Cheap to share behind an `Arc`; see the module docs.
#[derive(Debug)]
pub struct Sfu {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<SfuEvent>,
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    candidates: Vec<Candidate>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

/// Attempts at finding a port free for both UDP and TCP when the configured port is 0.
const PORT_PAIR_ATTEMPTS: usize = 16;

/// Binds the UDP socket and, with ICE-TCP, the TCP listener on the same port. With port 0
/// the system picks the UDP port; should its TCP twin be taken, another is tried.
fn bind_port(config: &SfuConfig) -> Result<(std::net::UdpSocket, Option<std::net::TcpListener>)> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let udp = std::net::UdpSocket::bind(config.bind)
            .map_err(|e| Error::from(e).context(format!("cannot bind UDP {}", config.bind)))?;
        if !config.ice_tcp {
            return Ok((udp, None));
        }
        let port = udp.local_addr()?.port();
        match std::net::TcpListener::bind(SocketAddr::new(config.bind.ip(), port)) {
            Ok(tcp) => {
                tcp.set_nonblocking(true)
                    .map_err(|e| Error::from(e).context("cannot configure the ICE-TCP listener"))?;
                return Ok((udp, Some(tcp)));
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse
                    && config.bind.port() == 0
                    && attempt < PORT_PAIR_ATTEMPTS => {}
            Err(e) => {
                return Err(
                    Error::from(e).context(format!("cannot listen for ICE-TCP on port {port}"))
                );
            }
        }
    }
}

impl Sfu {
    /// Binds the socket(s) and starts the driver task on the current tokio runtime.
    pub async fn start(config: SfuConfig) -> Result<Sfu> {
        let (std_socket, std_listener) = bind_port(&config)?;
        let state = UdpSocketState::new((&std_socket).into())
            .map_err(|e| Error::from(e).context("cannot configure the UDP socket"))?;
        // Larger buffers absorb keyframe bursts; the kernel may cap them, which is fine.
        let _ = state.set_send_buffer_size((&std_socket).into(), SOCKET_BUFFER_BYTES);
        let _ = state.set_recv_buffer_size((&std_socket).into(), SOCKET_BUFFER_BYTES);
        let socket = UdpSocket::from_std(std_socket)
            .map_err(|e| Error::from(e).context("cannot register the UDP socket"))?;
        let local_addr = socket.local_addr()?;

        let mut ips = Vec::new();
        let bound = local_addr.ip();
        if bound.is_unspecified() || bound.is_loopback() {
            ips.push(match bound {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        } else {
            ips.push(bound);
        }
        for ip in &config.public_ips {
            if !ips.contains(ip) {
                ips.push(*ip);
            }
        }
        let mut candidates = Vec::new();
        for ip in &ips {
            let addr = SocketAddr::new(*ip, local_addr.port());
            candidates.push(
                Candidate::host(addr, "udp")
                    .map_err(|e| Error::invalid_input(format!("bad candidate {addr}: {e}")))?,
            );
        }

        let (tcp_tx, tcp_rx) = mpsc::channel(tcp::TCP_IN_QUEUE);
        let tcp_task = if let Some(listener) = std_listener {
            let listener = tokio::net::TcpListener::from_std(listener)
                .map_err(|e| Error::from(e).context("cannot register the ICE-TCP listener"))?;
            for ip in &ips {
                let addr = SocketAddr::new(*ip, local_addr.port());
                let c = Candidate::builder()
                    .tcp()
                    .host(addr)
                    .tcptype(TcpType::Passive)
                    .build()
                    .map_err(|e| Error::invalid_input(format!("bad candidate {addr}: {e}")))?;
                candidates.push(c);
            }
            Some(tokio::spawn(tcp::accept_loop(listener, tcp_tx)))
        } else {
            drop(tcp_tx);
            None
        };

        let (commands, command_rx) = mpsc::channel(COMMAND_QUEUE);
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let shared = Arc::new(Shared {
            counts: Mutex::new(HashMap::new()),
            total: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            send_calls: AtomicU64::new(0),
            received: AtomicU64::new(0),
            send_errors: AtomicU64::new(0),
            frames: AtomicU64::new(0),
            delay: Mutex::new(vec![0; DELAY_BUCKETS]),
            core: Mutex::new(CoreStats::default()),
        });
        let advertised: Vec<SocketAddr> = candidates
            .iter()
            .filter(|c| c.proto() == Protocol::Udp)
            .map(|c| c.addr())
            .collect();
        let driver = Driver {
            core: SfuCore::new(config.core.clone(), candidates.clone()),
            socket,
            state,
            advertised,
            commands: command_rx,
            events: events.clone(),
            shared: shared.clone(),
            feeds: HashMap::new(),
            tcp_in: tcp_rx,
            tcp_links: HashMap::new(),
            tcp_task,
        };
        let task = tokio::spawn(driver.run());
        Ok(Sfu {
            commands,
            events,
            shared,
            local_addr,
            candidates,
            task: Mutex::new(Some(task)),
        })
    }

    /// Admits a viewer of `stream_key`, fed from `hub` (the first viewer of a stream
    /// subscribes to it; later ones share that subscription). Returns the viewer's id and
    /// the SDP answer for the browser.
    ///
    /// Errors: `InvalidInput`/`TooLarge` for a malformed or hostile offer, `Unsupported` for
    /// a stream the browser cannot play (H.265) or an offer without usable H.264,
    /// `ResourceExhausted` at a viewer limit, `Unavailable` after shutdown.
    pub async fn add_viewer(
        &self,
        stream_key: &str,
        hub: &Hub,
        offer_sdp: &str,
    ) -> Result<(ViewerId, String)> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Add {
                key: stream_key.to_string(),
                hub: hub.clone(),
                offer: offer_sdp.to_string(),
                reply,
            })
            .await
            .map_err(|_| Error::unavailable("the SFU has shut down"))?;
        rx.await
            .map_err(|_| Error::unavailable("the SFU has shut down"))?
    }

    /// Removes a viewer; false if there was none with this id.
    pub async fn remove_viewer(&self, id: ViewerId) -> bool {
        let (reply, rx) = oneshot::channel();
        if self
            .commands
            .send(Command::Remove { id, reply })
            .await
            .is_err()
        {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// Viewers of a stream (connecting or live).
    pub fn viewer_count(&self, stream_key: &str) -> usize {
        lock(&self.shared.counts)
            .get(stream_key)
            .copied()
            .unwrap_or(0)
    }

    /// The bound UDP address (also the ICE-TCP port).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The ICE host candidates put in every answer.
    pub fn candidates(&self) -> Vec<SocketAddr> {
        self.candidates.iter().map(|c| c.addr()).collect()
    }

    /// Subscribes to viewer events (a lagging subscriber loses the oldest).
    pub fn events(&self) -> broadcast::Receiver<SfuEvent> {
        self.events.subscribe()
    }

    /// A snapshot of the counters.
    #[cfg(any(test, feature = "_internal_test_exports"))]
    pub fn stats(&self) -> SfuStats {
        let s = &self.shared;
        let (p50, p99, n) = s.percentiles();
        SfuStats {
            viewers: s.total.load(Ordering::Relaxed) as usize,
            datagrams_sent: s.sent.load(Ordering::Relaxed),
            send_calls: s.send_calls.load(Ordering::Relaxed),
            datagrams_received: s.received.load(Ordering::Relaxed),
            send_errors: s.send_errors.load(Ordering::Relaxed),
            frames: s.frames.load(Ordering::Relaxed),
            egress_delay_p50_us: p50,
            egress_delay_p99_us: p99,
            egress_delay_samples: n,
            core: *lock(&s.core),
        }
    }

    /// Forgets the egress delay samples so far (to measure a window).
    #[cfg(feature = "_internal_test_exports")]
    pub fn reset_egress_delay(&self) {
        lock(&self.shared.delay).iter_mut().for_each(|c| *c = 0);
    }

    /// Disconnects every viewer (sending DTLS close) and stops the driver. Later calls (and
    /// `add_viewer` after it) find it stopped.
    pub async fn shutdown(&self) {
        let (reply, rx) = oneshot::channel();
        if self
            .commands
            .send(Command::Shutdown { reply })
            .await
            .is_ok()
        {
            let _ = rx.await;
        }
        let task = lock(&self.task).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

struct Driver {
    core: SfuCore,
    socket: UdpSocket,
    state: UdpSocketState,
    advertised: Vec<SocketAddr>,
    commands: mpsc::Receiver<Command>,
    events: broadcast::Sender<SfuEvent>,
    shared: Arc<Shared>,
    feeds: HashMap<Arc<str>, JoinHandle<()>>,
    tcp_in: mpsc::Receiver<TcpIn>,
    tcp_links: HashMap<SocketAddr, TcpLink>,
    tcp_task: Option<JoinHandle<()>>,
}

impl Driver {
    async fn run(mut self) {
        let (feed_tx, mut feed_rx) = mpsc::channel::<Feed>(FRAME_QUEUE);
        let gro = self.state.gro_segments().max(1);
        let slot = RECV_SLOT_BYTES * gro;
        let mut recv_bufs = vec![vec![0u8; slot]; quinn_udp::BATCH_SIZE];
        let mut metas = vec![RecvMeta::default(); quinn_udp::BATCH_SIZE];
        let mut gso = Vec::with_capacity(MAX_GSO_BYTES + RECV_SLOT_BYTES);
        loop {
            self.flush(&mut gso, None).await;
            self.publish_events();
            let timeout = self
                .core
                .poll_timeout()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                cmd = self.commands.recv() => match cmd {
                    Some(Command::Add { key, hub, offer, reply }) => {
                        let r = self.add(&key, &hub, &offer, &feed_tx);
                        let _ = reply.send(r);
                    }
                    Some(Command::Remove { id, reply }) => {
                        let removed = self.core.remove_viewer(id);
                        // Counted out before the caller hears it is gone.
                        self.sync_counts();
                        let _ = reply.send(removed);
                    }
                    Some(Command::Shutdown { reply }) => {
                        self.stop(&mut gso).await;
                        let _ = reply.send(());
                        return;
                    }
                    None => {
                        self.stop(&mut gso).await;
                        return;
                    }
                },
                r = self.socket.readable() => {
                    if r.is_ok() {
                        self.receive(&mut recv_bufs, &mut metas);
                    }
                }
                Some(feed) = feed_rx.recv() => {
                    let mut feed = Some(feed);
                    for _ in 0..FRAMES_PER_WAKE {
                        let Some(f) = feed.take().or_else(|| feed_rx.try_recv().ok()) else {
                            break;
                        };
                        match f {
                            Feed::Frame(key, frame) => {
                                self.shared.frames.fetch_add(1, Ordering::Relaxed);
                                let video = frame.is_video();
                                let n = self.core.handle_frame(Instant::now(), &key, &frame);
                                let stamp = (video && n > 0).then_some(frame.wallclock);
                                self.flush(&mut gso, stamp).await;
                            }
                            Feed::Lost(key, frames) => self.core.handle_lost(&key, frames),
                        }
                    }
                }
                Some(input) = self.tcp_in.recv() => self.tcp(input),
                _ = tokio::time::sleep_until(timeout.into()) => {
                    self.core.handle_timeout(Instant::now());
                }
            }
            self.prune_feeds();
        }
    }

    fn add(
        &mut self,
        key: &str,
        hub: &Hub,
        offer: &str,
        feed_tx: &mpsc::Sender<Feed>,
    ) -> Result<(ViewerId, String)> {
        let video = hub.video_params();
        let audio = hub.audio_params();
        let r = self.core.add_viewer(
            Instant::now(),
            key,
            offer,
            video.as_deref(),
            audio.as_deref(),
        )?;
        // Subscribe for the stream's first viewer, or again if the old hub was closed.
        if self.feeds.get(key).is_none_or(|t| t.is_finished()) {
            let key: Arc<str> = Arc::from(key);
            let mut sub = hub.subscribe();
            let tx = feed_tx.clone();
            let k = key.clone();
            let task = tokio::spawn(async move {
                while let Some(d) = sub.recv().await {
                    let feed = match d {
                        Delivery::Frame(f) => Feed::Frame(k.clone(), f),
                        Delivery::Lost { frames } => Feed::Lost(k.clone(), frames),
                    };
                    if tx.send(feed).await.is_err() {
                        return;
                    }
                }
            });
            self.feeds.insert(key, task);
        }
        self.sync_counts();
        Ok(r)
    }

    fn prune_feeds(&mut self) {
        let core = &self.core;
        let before = self.feeds.len();
        self.feeds.retain(|k, task| {
            let keep = core.has_stream(k);
            if !keep {
                task.abort();
            }
            keep
        });
        if before != self.feeds.len() {
            self.sync_counts();
        }
    }

    fn sync_counts(&self) {
        let mut counts = lock(&self.shared.counts);
        counts.clear();
        for k in self.core.stream_keys() {
            counts.insert(k.to_string(), self.core.viewer_count(k));
        }
        self.shared
            .total
            .store(self.core.total_viewers() as u64, Ordering::Relaxed);
    }

    fn publish_events(&mut self) {
        let mut changed = false;
        while let Some(e) = self.core.poll_event() {
            tracing::debug!(event = ?e, "sfu");
            changed |= !matches!(e, SfuEvent::KeyframeWanted { .. });
            // No subscriber is fine.
            let _ = self.events.send(e);
        }
        if changed {
            self.sync_counts();
        }
        *lock(&self.shared.core) = self.core.stats();
    }

    fn local_destination(&self, dst_ip: Option<IpAddr>) -> SocketAddr {
        let port = self.advertised[0].port();
        match dst_ip {
            Some(ip) if self.advertised.iter().any(|a| a.ip() == ip) => SocketAddr::new(ip, port),
            _ => self.advertised[0],
        }
    }

    fn receive(&mut self, bufs: &mut [Vec<u8>], metas: &mut [RecvMeta]) {
        for _ in 0..RECV_BATCHES_PER_WAKE {
            let mut slices: Vec<IoSliceMut<'_>> =
                bufs.iter_mut().map(|b| IoSliceMut::new(b)).collect();
            let socket = &self.socket;
            let state = &self.state;
            let r = socket.try_io(Interest::READABLE, || {
                state.recv(socket.into(), &mut slices, metas)
            });
            let n = match r {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::debug!("UDP receive error: {e}");
                    return;
                }
            };
            drop(slices);
            let now = Instant::now();
            for (meta, buf) in metas.iter().zip(bufs.iter()).take(n) {
                let destination = self.local_destination(meta.dst_ip);
                let stride = meta.stride.max(1);
                for chunk in buf[..meta.len.min(buf.len())].chunks(stride) {
                    self.shared.received.fetch_add(1, Ordering::Relaxed);
                    self.core
                        .handle_receive(now, Protocol::Udp, meta.addr, destination, chunk);
                }
            }
        }
    }

    fn tcp(&mut self, input: TcpIn) {
        match input {
            TcpIn::Open(link) => {
                self.tcp_links.insert(link.peer, link);
            }
            TcpIn::Closed(peer) => {
                self.tcp_links.remove(&peer);
            }
            TcpIn::Datagram { peer, local, data } => {
                self.shared.received.fetch_add(1, Ordering::Relaxed);
                let destination = self.local_destination(Some(local.ip()));
                let destination = SocketAddr::new(destination.ip(), local.port());
                self.core
                    .handle_receive(Instant::now(), Protocol::Tcp, peer, destination, &data);
            }
        }
    }

    /// Sends everything the core has queued, batching a viewer's datagrams with GSO.
    async fn flush(&mut self, gso: &mut Vec<u8>, stamp: Option<chrono::DateTime<chrono::Utc>>) {
        let max_segments = self.state.max_gso_segments().clamp(1, MAX_GSO_SEGMENTS);
        let mut stamp = stamp;
        let mut dest: Option<SocketAddr> = None;
        let mut seg = 0usize;
        let mut count = 0usize;
        let mut closed = false;
        while let Some(t) = self.core.poll_transmit() {
            if t.proto != Protocol::Udp {
                self.send_tcp(t);
                continue;
            }
            let len = t.contents.len();
            let fits = dest == Some(t.destination)
                && !closed
                && len <= seg
                && count < max_segments
                && gso.len() + len <= MAX_GSO_BYTES;
            if !fits && count > 0 {
                self.send_batch(gso, dest, seg, count, &mut stamp).await;
                gso.clear();
                count = 0;
            }
            if count == 0 {
                dest = Some(t.destination);
                seg = len;
                closed = false;
            }
            gso.extend_from_slice(&t.contents);
            count += 1;
            // A shorter datagram must be the last of a GSO batch.
            closed |= len < seg;
        }
        if count > 0 {
            self.send_batch(gso, dest, seg, count, &mut stamp).await;
            gso.clear();
        }
    }

    async fn send_batch(
        &self,
        contents: &[u8],
        dest: Option<SocketAddr>,
        seg: usize,
        count: usize,
        stamp: &mut Option<chrono::DateTime<chrono::Utc>>,
    ) {
        let Some(destination) = dest else { return };
        let transmit = quinn_udp::Transmit {
            destination,
            ecn: None,
            contents,
            segment_size: (count > 1).then_some(seg),
            src_ip: None,
        };
        loop {
            let r = self.socket.try_io(Interest::WRITABLE, || {
                self.state.try_send((&self.socket).into(), &transmit)
            });
            match r {
                Ok(()) => {
                    self.shared.sent.fetch_add(count as u64, Ordering::Relaxed);
                    self.shared.send_calls.fetch_add(1, Ordering::Relaxed);
                    if let Some(t) = stamp.take() {
                        let us = (chrono::Utc::now() - t).num_microseconds().unwrap_or(0);
                        self.shared.record_delay(us.max(0) as u64);
                    }
                    return;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if self.socket.writable().await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::debug!("UDP send to {destination} failed: {e}");
                    self.shared
                        .send_errors
                        .fetch_add(count as u64, Ordering::Relaxed);
                    return;
                }
            }
        }
    }

    fn send_tcp(&mut self, t: Transmit) {
        let Some(link) = self.tcp_links.get(&t.destination) else {
            return;
        };
        if !link.send(Vec::from(t.contents)) {
            self.shared.send_errors.fetch_add(1, Ordering::Relaxed);
        } else {
            self.shared.sent.fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn stop(&mut self, gso: &mut Vec<u8>) {
        self.core.remove_all();
        self.flush(gso, None).await;
        self.publish_events();
        for (_, task) in self.feeds.drain() {
            task.abort();
        }
        if let Some(t) = self.tcp_task.take() {
            t.abort();
        }
        self.tcp_links.clear();
        self.sync_counts();
    }
}
