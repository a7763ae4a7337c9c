//! The camera guard's driver: a one-connection relay on loopback between retina and the
//! camera, so every byte the camera sends passes [`super::guard`]'s bounds first.
//!
//! Owns: connecting to the camera, admitting retina's one connection, pumping both
//! directions through a [`UnitReader`] each, applying each track's [`FrameBudget`], rewriting
//! the request URI back to the camera's (retina is pointed at the relay), and — for cameras
//! reached over UDP — speaking UDP to the camera while retina speaks interleaved TCP to the
//! relay, so UDP media is bounded the same way (and the session is torn down when retina
//! leaves). UDP media goes through a [`ReorderBuffer`] per track first: retina's TCP path
//! ends the session on a packet that goes backwards, so packets a network reordered are put
//! back in order and duplicates and stragglers are dropped and counted. It never parses
//! media beyond RTP headers and NAL unit types, never retries, and ends when either side
//! closes or its [`Relay`] is dropped.
//!
//! Only the engine's own client can use a relay: the relay's URL carries a random secret as
//! its first path segment ([`SECRET_BYTES`], from the system's cryptographic generator). A
//! connection is admitted only if its first request names that secret (compared in constant
//! time), and the secret is stripped from every request before it goes to the camera. Any
//! other local process that connects — before or alongside retina — is closed without an
//! answer and without a byte reaching the camera, and the relay keeps listening for retina
//! until [`ACCEPT_LIMIT`]. Once one connection is admitted the listener closes, so the
//! secret is good for one connection only. It never logs the secret or the relay's URL.
//!
//! What a violation looks like from outside: the relay records it in [`GuardShared`] and
//! closes both sides; the RTSP source reports the recorded message instead of retina's
//! generic "connection closed". An oversized frame is not fatal: its remaining packets are
//! dropped, the overflow is counted, and the source skips to the next keyframe.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tracing::{debug, warn};

use super::guard::{
    self, DigestAuth, FrameBudget, Limits, Message, TrackCodec, TransportSpec, Unit, UnitReader,
    Verdict, Violation,
};
use super::reorder::ReorderBuffer;
use super::source::{CameraTarget, RtpTransport};
use crate::model::PacketCounts;
use crate::{Error, Result};

/// Tracks (SETUPs) a relay keeps budgets for; retina sets up at most a video and an audio
/// track for VAS.
pub const MAX_TRACKS: usize = 4;
/// How long retina may take to connect to the relay and send its first request once the
/// relay listens.
pub const ACCEPT_LIMIT: Duration = Duration::from_secs(5);
/// Random bytes in the relay's secret (written as hex in the relay's URL).
pub const SECRET_BYTES: usize = 16;
/// Connections waiting at once to present the secret; more are closed at once.
const MAX_CANDIDATES: usize = 8;
/// How long the relay waits for the camera to answer the TEARDOWN it sends for a UDP session.
pub const TEARDOWN_LIMIT: Duration = Duration::from_secs(1);
/// Bytes read from a socket at a time.
const READ_CHUNK: usize = 16 * 1024;
/// UDP packets queued between the UDP sockets and the relay loop.
const UDP_QUEUE: usize = 256;
/// Attempts at binding an even/odd UDP port pair.
const PORT_PAIR_ATTEMPTS: usize = 32;

/// State the relay shares with the RTSP source that reads from retina.
#[derive(Debug, Default)]
pub(crate) struct GuardShared {
    /// Per track, in SETUP order: codec (set by the source before SETUP) and the frames the
    /// source has taken from retina (the budget's notion of progress).
    slots: [Slot; MAX_TRACKS],
    /// The violation that ended the relay, if one did.
    violation: Mutex<Option<Violation>>,
    /// Oversized frames discarded so far, and the message of the last one.
    overflows: AtomicU64,
    overflow_message: Mutex<Option<Violation>>,
    /// What the reorder buffers of a UDP camera's tracks did, summed.
    packets: Mutex<PacketCounts>,
}

#[derive(Debug, Default)]
struct Slot {
    codec: AtomicU8,
    frames: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl GuardShared {
    /// Says which codec the track set up `slot`-th carries.
    pub(crate) fn set_codec(&self, slot: usize, codec: TrackCodec) {
        if let Some(s) = self.slots.get(slot) {
            let v = match codec {
                TrackCodec::H264 => 1,
                TrackCodec::H265 => 2,
                TrackCodec::Other => 0,
            };
            s.codec.store(v, Ordering::Relaxed);
        }
    }

    fn codec(&self, slot: usize) -> TrackCodec {
        match self
            .slots
            .get(slot)
            .map(|s| s.codec.load(Ordering::Relaxed))
        {
            Some(1) => TrackCodec::H264,
            Some(2) => TrackCodec::H265,
            _ => TrackCodec::Other,
        }
    }

    /// Counts a frame the source took from retina for the `slot`-th track.
    pub(crate) fn frame_done(&self, slot: usize) {
        if let Some(s) = self.slots.get(slot) {
            s.frames.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn progress(&self, slot: usize) -> u64 {
        self.slots
            .get(slot)
            .map_or(0, |s| s.frames.load(Ordering::Relaxed))
    }

    /// The violation that ended the relay.
    pub(crate) fn violation(&self) -> Option<Violation> {
        lock(&self.violation).clone()
    }

    /// Oversized frames discarded so far (a cheap check, once per frame).
    pub(crate) fn overflows(&self) -> u64 {
        self.overflows.load(Ordering::Acquire)
    }

    /// The message of the last oversized frame.
    pub(crate) fn overflow_message(&self) -> Option<Violation> {
        lock(&self.overflow_message).clone()
    }

    /// What the relay did to keep a UDP camera's packets in order so far.
    pub(crate) fn packet_counts(&self) -> PacketCounts {
        *lock(&self.packets)
    }

    fn fail(&self, v: Violation) {
        let mut slot = lock(&self.violation);
        if slot.is_none() {
            *slot = Some(v);
        }
    }
}

/// A running relay; dropping it ends the relay (after tearing down a UDP session). `Debug`
/// leaves out its URL (the secret is in it).
pub(crate) struct Relay {
    /// The URL retina connects to: the secret, then the camera's path and query, on the
    /// relay's address. Never log it.
    pub(crate) url: url::Url,
    /// State shared with the source.
    pub(crate) shared: Arc<GuardShared>,
    /// `rtsp://127.0.0.1:port/secret` and the camera's `rtsp://host:port`, for [`Relay::scrub`].
    prefixes: (String, String),
    _stop: oneshot::Sender<()>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").finish_non_exhaustive()
    }
}

impl Relay {
    /// A message (retina's error text) with the relay's URLs written as the camera's, so it
    /// carries no secret and names what the user configured.
    pub(crate) fn scrub(&self, message: &str) -> String {
        message.replace(&self.prefixes.0, &self.prefixes.1)
    }
}

/// Connects to the camera and starts a relay for one retina session.
pub(crate) async fn open(target: &CameraTarget, limits: Limits) -> Result<Relay> {
    let camera_url = url::Url::parse(target.url.as_str())
        .map_err(|e| Error::invalid_input(format!("camera URL does not parse: {e}")))?;
    let host = camera_url
        .host_str()
        .ok_or_else(|| Error::invalid_input("camera URL has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = camera_url.port().unwrap_or(554);
    let camera = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| Error::unavailable(format!("cannot connect to the camera: {e}")))?;
    let _ = camera.set_nodelay(true);
    let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(|e| Error::internal(format!("cannot listen on loopback for the relay: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::internal(format!("relay address: {e}")))?;
    let secret = new_secret()?;
    let mut url = camera_url.clone();
    let _ = url.set_host(Some("127.0.0.1"));
    let _ = url.set_port(Some(local.port()));
    url.set_path(&format!("/{secret}{}", camera_url.path()));
    let origin = format!("rtsp://127.0.0.1:{}", local.port());
    let relay_prefix = format!("{origin}/{secret}");
    let camera_prefix = authority_prefix(&camera_url);
    let shared = Arc::new(GuardShared::default());
    let (stop_tx, stop_rx) = oneshot::channel();
    let prefixes = (relay_prefix.clone(), camera_prefix.clone());
    let ctx = RelayCtx {
        limits,
        shared: shared.clone(),
        udp: target.transport == RtpTransport::Udp,
        password: target.credentials.as_ref().map(|c| c.password.clone()),
        relay_prefix,
        camera_prefix,
    };
    let door = Door {
        origin: Arc::from(format!("{origin}/")),
        secret: Arc::from(secret),
    };
    tokio::spawn(async move {
        let mut stop_rx = stop_rx;
        let admitted = tokio::select! {
            r = tokio::time::timeout(ACCEPT_LIMIT, door.admit_one(&listener)) => match r {
                Ok(Some(a)) => a,
                _ => return,
            },
            _ = &mut stop_rx => return,
        };
        drop(listener);
        let _ = admitted.stream.set_nodelay(true);
        Pump::new(ctx, camera, admitted).run(stop_rx).await;
    });
    Ok(Relay {
        url,
        shared,
        prefixes,
        _stop: stop_tx,
    })
}

/// A new relay secret: [`SECRET_BYTES`] from the system's cryptographic generator, in hex.
fn new_secret() -> Result<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| Error::internal("no randomness for the camera relay's secret"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// What a connection must present to be admitted: a first request whose URI is
/// `origin` + `secret` (then `/`, `?` or the end).
struct Door {
    /// `rtsp://127.0.0.1:port/`.
    origin: Arc<str>,
    secret: Arc<str>,
}

/// A connection that presented the secret: its socket, the reader holding whatever it sent
/// after its first request, and that request.
struct Admitted {
    stream: TcpStream,
    reader: UnitReader,
    first: Message,
}

impl Door {
    /// Accepts connections until one presents the secret (each is read concurrently, so a
    /// silent one cannot hold the door); the others are closed.
    async fn admit_one(&self, listener: &TcpListener) -> Option<Admitted> {
        let mut candidates = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            warn!(error = %e, "camera relay: accept failed");
                            return None;
                        }
                    };
                    if candidates.len() >= MAX_CANDIDATES {
                        warn!(%peer, "camera relay: refused a local connection (too many waiting to present the relay's secret)");
                        continue;
                    }
                    let (origin, secret) = (self.origin.clone(), self.secret.clone());
                    candidates.spawn(async move {
                        (peer, first_request(stream, &origin, &secret).await)
                    });
                }
                Some(joined) = candidates.join_next(), if !candidates.is_empty() => match joined {
                    Ok((_, Some(admitted))) => return Some(admitted),
                    Ok((peer, None)) => {
                        warn!(%peer, "camera relay: refused a local connection that did not present the relay's secret");
                    }
                    Err(_) => {}
                },
            }
        }
    }
}

/// Reads a connection's first request and admits the connection if the request presents the
/// secret; `None` (the connection is then dropped, closing it) otherwise.
async fn first_request(mut stream: TcpStream, origin: &str, secret: &str) -> Option<Admitted> {
    let mut reader = UnitReader::new(Limits::default());
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        match reader.next_unit() {
            Ok(Some(Unit::Message(first))) => {
                let presented = first
                    .request_line()
                    .is_some_and(|(_, uri)| presents_secret(uri, origin, secret));
                return presented.then_some(Admitted {
                    stream,
                    reader,
                    first,
                });
            }
            Ok(Some(Unit::Data { .. })) | Err(_) => return None,
            Ok(None) => {}
        }
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        reader.push(&buf[..n]);
    }
}

/// Whether `uri` is `origin` followed by `secret` as a whole path segment; the secret is
/// compared in constant time.
fn presents_secret(uri: &str, origin: &str, secret: &str) -> bool {
    let Some(rest) = uri.strip_prefix(origin) else {
        return false;
    };
    let token = rest.split(['/', '?']).next().unwrap_or_default();
    aws_lc_rs::constant_time::verify_slices_are_equal(token.as_bytes(), secret.as_bytes()).is_ok()
}

/// `rtsp://host:port` of a URL (the port as written, the host as the URL has it).
fn authority_prefix(url: &url::Url) -> String {
    let mut s = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(p) = url.port() {
        s.push_str(&format!(":{p}"));
    }
    s
}

struct RelayCtx {
    limits: Limits,
    shared: Arc<GuardShared>,
    udp: bool,
    password: Option<String>,
    relay_prefix: String,
    camera_prefix: String,
}

/// A SETUP the relay has seen go out and waits for the answer to.
struct PendingSetup {
    channels: Option<(u8, u8)>,
    udp: Option<(Arc<UdpSocket>, Arc<UdpSocket>)>,
}

/// A track once set up.
struct Track {
    rtp_channel: u8,
    budget: FrameBudget,
    /// For UDP cameras: where to send the client's RTCP, and the socket to send it from.
    rtcp_out: Option<(Arc<UdpSocket>, SocketAddr)>,
    /// For UDP cameras: the RTP put back in order.
    reorder: Option<ReorderBuffer>,
}

/// A packet from a UDP camera: track, whether it came on the RTCP port, the datagram.
type UdpPacket = (usize, bool, Bytes);

struct Pump {
    ctx: RelayCtx,
    cam_read: OwnedReadHalf,
    cam_write: OwnedWriteHalf,
    client_read: OwnedReadHalf,
    client_write: OwnedWriteHalf,
    camera_ip: IpAddr,
    from_camera: UnitReader,
    from_client: UnitReader,
    pending: HashMap<u32, PendingSetup>,
    tracks: Vec<Track>,
    udp_tx: mpsc::Sender<UdpPacket>,
    udp_rx: mpsc::Receiver<UdpPacket>,
    udp_tasks: JoinSet<()>,
    session: Option<String>,
    play_uri: Option<String>,
    last_auth: Option<String>,
    /// The client's User-Agent, which the relay's own TEARDOWN sends too.
    user_agent: Option<String>,
    last_cseq: u32,
    out: Vec<u8>,
    /// UDP packets a reorder buffer released, on their way to `out`.
    ready: Vec<Bytes>,
    /// The client's first request, read when it was admitted.
    first: Option<Message>,
}

enum Flow {
    Continue,
    Stop,
}

impl Pump {
    fn new(ctx: RelayCtx, camera: TcpStream, client: Admitted) -> Pump {
        let camera_ip = camera
            .peer_addr()
            .map_or(IpAddr::from([127, 0, 0, 1]), |a| a.ip());
        let (cam_read, cam_write) = camera.into_split();
        let (client_read, client_write) = client.stream.into_split();
        let (udp_tx, udp_rx) = mpsc::channel(UDP_QUEUE);
        Pump {
            from_camera: UnitReader::new(ctx.limits),
            from_client: client.reader,
            first: Some(client.first),
            ctx,
            cam_read,
            cam_write,
            client_read,
            client_write,
            camera_ip,
            pending: HashMap::new(),
            tracks: Vec::new(),
            udp_tx,
            udp_rx,
            udp_tasks: JoinSet::new(),
            session: None,
            play_uri: None,
            last_auth: None,
            user_agent: None,
            last_cseq: 0,
            out: Vec::with_capacity(READ_CHUNK),
            ready: Vec::new(),
        }
    }

    async fn run(mut self, mut stop: oneshot::Receiver<()>) {
        let mut cam_buf = vec![0u8; READ_CHUNK];
        let mut client_buf = vec![0u8; READ_CHUNK];
        // The admitted request, then whatever the client sent behind it.
        let first = match self.first.take() {
            Some(m) => self.on_client_unit(Unit::Message(m)).await,
            None => true,
        };
        let mut flow = if first {
            self.on_client_bytes(&[]).await
        } else {
            Flow::Stop
        };
        while matches!(flow, Flow::Continue) {
            let reorder_deadline = self.reorder_deadline();
            flow = tokio::select! {
                r = self.cam_read.read(&mut cam_buf) => match r {
                    Ok(0) | Err(_) => Flow::Stop,
                    Ok(n) => self.on_camera_bytes(&cam_buf[..n]).await,
                },
                r = self.client_read.read(&mut client_buf) => match r {
                    Ok(0) | Err(_) => {
                        self.teardown().await;
                        Flow::Stop
                    }
                    Ok(n) => self.on_client_bytes(&client_buf[..n]).await,
                },
                Some(p) = self.udp_rx.recv() => self.on_udp(p).await,
                () = sleep_until(reorder_deadline) => self.on_reorder_deadline().await,
                _ = &mut stop => {
                    self.teardown().await;
                    Flow::Stop
                }
            };
        }
        let _ = self.client_write.shutdown().await;
        let _ = self.cam_write.shutdown().await;
    }

    /// Everything one read from the camera holds goes to the client in one write (a read
    /// carries a dozen RTP packets at typical rates; a write per packet cost a syscall and a
    /// wake-up of the reader each).
    async fn on_camera_bytes(&mut self, data: &[u8]) -> Flow {
        self.from_camera.push(data);
        self.out.clear();
        let flow = loop {
            let unit = match self.from_camera.next_unit() {
                Ok(Some(u)) => u,
                Ok(None) => break Flow::Continue,
                Err(v) => {
                    warn!(violation = %v, "camera refused by the guard");
                    self.ctx.shared.fail(v);
                    break Flow::Stop;
                }
            };
            match unit {
                Unit::Message(m) => {
                    let m = self.camera_message(m).await;
                    self.out.extend_from_slice(&m.encode());
                }
                Unit::Data { channel, packet } => self.queue_packet(channel, &packet),
            }
        };
        // What came before a violation is still the client's.
        if !self.out.is_empty() && !write_out(&mut self.client_write, &self.out).await {
            return Flow::Stop;
        }
        flow
    }

    /// Passes an RTP packet of a track through its budget and, if admitted, appends it to
    /// the client's pending output as an interleaved frame.
    fn queue_packet(&mut self, channel: u8, packet: &[u8]) {
        if let Some(i) = self.tracks.iter().position(|t| t.rtp_channel == channel) {
            let progress = self.ctx.shared.progress(i);
            match self.tracks[i].budget.admit(packet, progress) {
                Verdict::Forward => {}
                Verdict::Drop => return,
                Verdict::Overflow(v) => {
                    warn!(violation = %v, "camera frame discarded by the guard");
                    *lock(&self.ctx.shared.overflow_message) = Some(v);
                    self.ctx.shared.overflows.fetch_add(1, Ordering::Release);
                    return;
                }
            }
        }
        self.out.push(b'$');
        self.out.push(channel);
        // Packets come from a `$` frame or a datagram of at most u16::MAX bytes.
        let len = u16::try_from(packet.len()).unwrap_or(u16::MAX);
        self.out.extend_from_slice(&len.to_be_bytes());
        self.out
            .extend_from_slice(&packet[..usize::from(len).min(packet.len())]);
    }

    /// A message from the camera: SETUP answers map tracks (and, for UDP cameras, are
    /// rewritten to interleaved); the session id is remembered for TEARDOWN. For UDP cameras
    /// the PLAY answer's `RTP-Info` loses its `seq` ([`guard::rtp_info_without_seq`]).
    async fn camera_message(&mut self, mut m: Message) -> Message {
        if !m.is_response() {
            return m;
        }
        if self.ctx.udp
            && let Some(info) = m.header("RTP-Info")
        {
            let info = guard::rtp_info_without_seq(info);
            m.set_header("RTP-Info", info);
        }
        let Some(pending) = m.cseq().and_then(|c| self.pending.remove(&c)) else {
            return m;
        };
        if m.status() != Some(200) {
            return m;
        }
        if let Some(s) = m.header("Session") {
            self.session = Some(s.split(';').next().unwrap_or(s).trim().to_owned());
        }
        let slot = self.tracks.len();
        let camera_transport = m.header("Transport").map(TransportSpec::parse);
        let channels = if self.ctx.udp {
            pending.channels
        } else {
            camera_transport
                .as_ref()
                .and_then(|t| t.interleaved)
                .or(pending.channels)
        };
        let Some(channels) = channels else {
            return m;
        };
        let mut rtcp_out = None;
        let reorder = pending.udp.is_some().then(ReorderBuffer::new);
        if let (Some((rtp, rtcp)), Some(t)) = (pending.udp, camera_transport.as_ref()) {
            let source = t
                .source
                .as_deref()
                .and_then(|s| s.parse::<IpAddr>().ok())
                .unwrap_or(self.camera_ip);
            if let Some((rtp_port, rtcp_port)) = t.server_port {
                let camera_rtp = SocketAddr::new(source, rtp_port);
                let camera_rtcp = SocketAddr::new(source, rtcp_port);
                punch_holes(&rtp, camera_rtp, &rtcp, camera_rtcp).await;
                for (sock, is_rtcp) in [(rtp.clone(), false), (rtcp.clone(), true)] {
                    let tx = self.udp_tx.clone();
                    let want = source;
                    self.udp_tasks
                        .spawn(receive_udp(sock, want, slot, is_rtcp, tx));
                }
                rtcp_out = Some((rtcp, camera_rtcp));
            }
            m.set_header(
                "Transport",
                guard::interleaved_response_transport(channels, t),
            );
        }
        if slot < MAX_TRACKS {
            self.tracks.push(Track {
                rtp_channel: channels.0,
                budget: FrameBudget::new(
                    self.ctx.shared.codec(slot),
                    guard::MAX_FRAME_BYTES,
                    guard::MAX_FRAME_NALS,
                ),
                rtcp_out,
                reorder,
            });
        }
        m
    }

    async fn on_client_bytes(&mut self, data: &[u8]) -> Flow {
        self.from_client.push(data);
        loop {
            let unit = match self.from_client.next_unit() {
                Ok(Some(u)) => u,
                Ok(None) => return Flow::Continue,
                Err(v) => {
                    debug!(violation = %v, "the RTSP client sent something the relay cannot pass");
                    return Flow::Stop;
                }
            };
            if !self.on_client_unit(unit).await {
                return Flow::Stop;
            }
        }
    }

    /// Passes one unit from the client on to the camera; false when the relay must end.
    async fn on_client_unit(&mut self, unit: Unit) -> bool {
        match unit {
            Unit::Message(m) => match self.client_message(m).await {
                Some(bytes) => write_out(&mut self.cam_write, &bytes).await,
                None => false,
            },
            Unit::Data { channel, packet } => {
                if self.ctx.udp {
                    // The client's RTCP goes to the camera's RTCP port.
                    if let Some(t) = self
                        .tracks
                        .iter()
                        .find(|t| t.rtp_channel.wrapping_add(1) == channel)
                        && let Some((sock, addr)) = &t.rtcp_out
                    {
                        let _ = sock.send_to(&packet, *addr).await;
                    }
                    true
                } else {
                    self.out.clear();
                    self.out.push(b'$');
                    self.out.push(channel);
                    let len = u16::try_from(packet.len()).unwrap_or(u16::MAX);
                    self.out.extend_from_slice(&len.to_be_bytes());
                    self.out.extend_from_slice(&packet);
                    write_out(&mut self.cam_write, &self.out).await
                }
            }
        }
    }

    /// A request from the client, as the camera should see it.
    async fn client_message(&mut self, mut m: Message) -> Option<Vec<u8>> {
        if let Some(c) = m.cseq() {
            self.last_cseq = self.last_cseq.max(c);
        }
        if let Some(agent) = m.header("User-Agent") {
            self.user_agent = Some(agent.to_owned());
        }
        let Some((method, uri)) = m.request_line().map(|(a, b)| (a.to_owned(), b.to_owned()))
        else {
            return Some(m.encode());
        };
        // Point the request back at the camera, keeping its authorization valid.
        if let Some(new_uri) =
            guard::rewrite_uri(&uri, &self.ctx.relay_prefix, &self.ctx.camera_prefix)
        {
            let auth = m.header("Authorization").map(str::to_owned);
            let rewritten_auth = match auth.as_deref().map(DigestAuth::parse) {
                None => Some(None),
                Some(None) => Some(auth.clone()), // Basic: independent of the URI
                Some(Some(d)) => self
                    .ctx
                    .password
                    .as_deref()
                    .and_then(|p| d.for_request(&method, &new_uri, p))
                    .map(|d| Some(d.encode())),
            };
            if let Some(a) = rewritten_auth {
                let version = m.start.rsplit(' ').next().unwrap_or("RTSP/1.0").to_owned();
                m.start = format!("{method} {new_uri} {version}");
                if let Some(a) = a {
                    m.set_header("Authorization", a);
                }
            }
        }
        if let Some(a) = m.header("Authorization") {
            self.last_auth = Some(a.to_owned());
        }
        let target_uri = m
            .request_line()
            .map(|(_, u)| u.to_owned())
            .unwrap_or_default();
        match method.as_str() {
            "SETUP" => {
                let cseq = m.cseq()?;
                let asked = m.header("Transport").map(TransportSpec::parse);
                let channels = asked.and_then(|t| t.interleaved);
                let udp = if self.ctx.udp {
                    let Some((rtp, rtcp)) = bind_port_pair(self.camera_ip).await else {
                        self.ctx.shared.fail(Violation(
                            "no free UDP port pair on this host for the camera's media".into(),
                        ));
                        return None;
                    };
                    let port = rtp.local_addr().ok()?.port();
                    m.set_header("Transport", guard::udp_request_transport(port));
                    Some((rtp, rtcp))
                } else {
                    None
                };
                if self.pending.len() < 2 * MAX_TRACKS {
                    self.pending.insert(cseq, PendingSetup { channels, udp });
                }
            }
            "PLAY" => self.play_uri = Some(target_uri),
            _ => {}
        }
        Some(m.encode())
    }

    /// A datagram from a UDP camera: RTCP goes on at once, RTP through the track's reorder
    /// buffer.
    async fn on_udp(&mut self, (slot, rtcp, packet): UdpPacket) -> Flow {
        let Some(track) = self.tracks.get_mut(slot) else {
            return Flow::Continue;
        };
        let channel = track.rtp_channel;
        self.out.clear();
        if rtcp {
            self.queue_packet(channel.wrapping_add(1), &packet);
        } else {
            let mut ready = std::mem::take(&mut self.ready);
            match track.reorder.as_mut() {
                Some(r) => r.push(std::time::Instant::now(), packet, &mut ready),
                None => ready.push(packet),
            }
            for p in ready.drain(..) {
                self.queue_packet(channel, &p);
            }
            self.ready = ready;
            self.publish_packet_counts();
        }
        self.flush_to_client().await
    }

    /// When the first reorder buffer has something to do.
    fn reorder_deadline(&self) -> Option<std::time::Instant> {
        self.tracks
            .iter()
            .filter_map(|t| t.reorder.as_ref()?.deadline())
            .min()
    }

    /// Lets every reorder buffer act on the time (give up gaps that waited too long).
    async fn on_reorder_deadline(&mut self) -> Flow {
        let now = std::time::Instant::now();
        self.out.clear();
        let mut ready = std::mem::take(&mut self.ready);
        for i in 0..self.tracks.len() {
            let channel = self.tracks[i].rtp_channel;
            if let Some(r) = self.tracks[i].reorder.as_mut() {
                r.poll(now, &mut ready);
            }
            for p in ready.drain(..) {
                self.queue_packet(channel, &p);
            }
        }
        self.ready = ready;
        self.publish_packet_counts();
        self.flush_to_client().await
    }

    fn publish_packet_counts(&self) {
        let total = self
            .tracks
            .iter()
            .filter_map(|t| t.reorder.as_ref())
            .fold(PacketCounts::default(), |sum, r| sum.plus(r.counts()));
        *lock(&self.ctx.shared.packets) = total;
    }

    async fn flush_to_client(&mut self) -> Flow {
        if self.out.is_empty() || write_out(&mut self.client_write, &self.out).await {
            Flow::Continue
        } else {
            Flow::Stop
        }
    }

    /// For a UDP camera, ends its session (the client thinks it spoke TCP and would not).
    async fn teardown(&mut self) {
        if !self.ctx.udp {
            return;
        }
        let (Some(session), Some(uri)) = (self.session.clone(), self.play_uri.clone()) else {
            return;
        };
        let mut m = Message {
            start: format!("TEARDOWN {uri} RTSP/1.0"),
            headers: vec![
                ("CSeq".into(), (self.last_cseq + 1).to_string()),
                ("Session".into(), session),
            ],
            body: Bytes::new(),
        };
        if let Some(agent) = &self.user_agent {
            m.set_header("User-Agent", agent.clone());
        }
        if let Some(auth) = &self.last_auth {
            match DigestAuth::parse(auth) {
                None => m.set_header("Authorization", auth.clone()),
                Some(d) => {
                    if let Some(next) = self
                        .ctx
                        .password
                        .as_deref()
                        .and_then(|p| d.next_request("TEARDOWN", &uri, p))
                    {
                        m.set_header("Authorization", next.encode());
                    }
                }
            }
        }
        if !write_out(&mut self.cam_write, &m.encode()).await {
            return;
        }
        let mut buf = vec![0u8; READ_CHUNK];
        let _ = tokio::time::timeout(TEARDOWN_LIMIT, async {
            loop {
                match self.cam_read.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        self.from_camera.push(&buf[..n]);
                        while let Ok(Some(u)) = self.from_camera.next_unit() {
                            if matches!(u, Unit::Message(ref m) if m.is_response()) {
                                return;
                            }
                        }
                    }
                }
            }
        })
        .await;
        debug!("UDP camera session torn down");
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<std::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}

async fn write_out(w: &mut OwnedWriteHalf, bytes: &[u8]) -> bool {
    w.write_all(bytes).await.is_ok()
}

/// Binds an even RTP port and the odd RTCP port after it, for the camera's address family.
async fn bind_port_pair(camera: IpAddr) -> Option<(Arc<UdpSocket>, Arc<UdpSocket>)> {
    let any: IpAddr = match camera {
        IpAddr::V4(_) => IpAddr::from([0, 0, 0, 0]),
        IpAddr::V6(_) => IpAddr::from([0u16; 8]),
    };
    for _ in 0..PORT_PAIR_ATTEMPTS {
        let rtp = UdpSocket::bind(SocketAddr::new(any, 0)).await.ok()?;
        let port = rtp.local_addr().ok()?.port();
        if port % 2 != 0 || port == u16::MAX {
            continue;
        }
        if let Ok(rtcp) = UdpSocket::bind(SocketAddr::new(any, port + 1)).await {
            return Some((Arc::new(rtp), Arc::new(rtcp)));
        }
    }
    warn!("no free UDP port pair for a camera");
    None
}

/// Sends one packet each way so a firewall or NAT lets the camera's packets in.
async fn punch_holes(rtp: &UdpSocket, rtp_to: SocketAddr, rtcp: &UdpSocket, rtcp_to: SocketAddr) {
    // An RTP header with no payload, and an empty RTCP receiver report.
    let _ = rtp
        .send_to(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], rtp_to)
        .await;
    let _ = rtcp.send_to(&[0x80, 0xc9, 0, 1, 0, 0, 0, 0], rtcp_to).await;
}

/// Reads a UDP camera socket, keeping only datagrams from the camera's address.
async fn receive_udp(
    sock: Arc<UdpSocket>,
    camera: IpAddr,
    slot: usize,
    rtcp: bool,
    tx: mpsc::Sender<UdpPacket>,
) {
    let mut buf = vec![0u8; usize::from(u16::MAX)];
    loop {
        let Ok((n, from)) = sock.recv_from(&mut buf).await else {
            return;
        };
        if from.ip() != camera {
            continue;
        }
        if tx
            .send((slot, rtcp, Bytes::copy_from_slice(&buf[..n])))
            .await
            .is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_whole_secret_as_the_first_path_segment_is_presented() {
        let origin = "rtsp://127.0.0.1:4242/";
        let secret = "0123456789abcdef0123456789abcdef";
        for uri in [
            "rtsp://127.0.0.1:4242/0123456789abcdef0123456789abcdef",
            "rtsp://127.0.0.1:4242/0123456789abcdef0123456789abcdef/synthetic",
            "rtsp://127.0.0.1:4242/0123456789abcdef0123456789abcdef?channel=1",
        ] {
            assert!(presents_secret(uri, origin, secret), "{uri}");
        }
        for uri in [
            "rtsp://127.0.0.1:4242/synthetic",
            "rtsp://127.0.0.1:4242/",
            "rtsp://127.0.0.1:4242/0123456789abcdef0123456789abcde",
            "rtsp://127.0.0.1:4242/0123456789abcdef0123456789abcdef0/synthetic",
            "rtsp://127.0.0.1:4243/0123456789abcdef0123456789abcdef",
            "rtsp://127.0.0.1:4242/synthetic/0123456789abcdef0123456789abcdef",
            "*",
        ] {
            assert!(!presents_secret(uri, origin, secret), "{uri}");
        }
    }

    #[test]
    fn secrets_are_fresh_hex() {
        let a = new_secret().unwrap();
        assert_eq!(a.len(), 2 * SECRET_BYTES);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, new_secret().unwrap());
    }
}
