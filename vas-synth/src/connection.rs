//! One RTSP client connection: the request/response state machine and its session.
//!
//! Owns reading requests off the socket (bounded buffer, idle timeout), authentication,
//! the methods (OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, GET/SET_PARAMETER, TEARDOWN), the
//! connection's one session and its tracks, and the writer task that owns the socket's write
//! half behind a bounded queue shared with media delivery. It must never block on media: a
//! response waits for room in the queue (bounded by a timeout), media never does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{OnceCell, mpsc};

use super::auth::Authenticator;
use super::config::CameraConfig;
use super::delivery::{Delivery, Playing, Route, Sinks, Track, TrackKind, UdpPair};
use super::feed::{Feed, SessionCount};
use super::rtsp::{self, Input, Method, Request, Response, TransportRequest};
use super::sdp::{self, AUDIO_CONTROL, VIDEO_CONTROL};
use super::tasks::AbortOnDrop;
use crate::{Error, Result};

/// A connection with no request (nor interleaved data) for this long is closed; also the
/// session timeout announced in the `Session` header.
pub(crate) const SESSION_TIMEOUT: Duration = Duration::from_secs(60);
/// Entries (responses, or one whole video frame, audio packet or RTCP report each) a
/// connection may have waiting to be written; beyond that, media is dropped.
pub(crate) const OUTGOING_QUEUE_ENTRIES: usize = 64;
/// Longest a response waits for room in the outgoing queue before the connection is closed.
const RESPONSE_SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Initial capacity of the read buffer (it grows to at most a head or one interleaved frame).
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Product name in the `Server` header.
const SERVER_NAME: &str = "VAS synthetic camera";
/// Attempts at binding an even/odd UDP port pair before giving up.
const UDP_PAIR_BIND_ATTEMPTS: usize = 64;

/// What every connection of one server run shares.
#[derive(Debug)]
pub(crate) struct ServerShared {
    /// The camera's feed.
    pub(crate) feed: Arc<Feed>,
    /// The camera's configuration.
    pub(crate) config: Arc<CameraConfig>,
    /// Set when the camera has credentials.
    pub(crate) auth: Option<Authenticator>,
    /// The listener's address (UDP sockets bind on its IP).
    pub(crate) local_addr: SocketAddr,
    /// The UDP port pair, bound on the first UDP SETUP.
    pub(crate) udp: OnceCell<Arc<UdpPair>>,
}

impl ServerShared {
    async fn udp_pair(&self) -> Result<Arc<UdpPair>> {
        self.udp
            .get_or_try_init(|| async {
                let ip = self.local_addr.ip();
                for _ in 0..UDP_PAIR_BIND_ATTEMPTS {
                    let rtp = tokio::net::UdpSocket::bind((ip, 0)).await?;
                    let port = rtp.local_addr()?.port();
                    if port % 2 != 0 || port == u16::MAX {
                        continue;
                    }
                    if let Ok(rtcp) = tokio::net::UdpSocket::bind((ip, port + 1)).await {
                        return Ok(Arc::new(UdpPair::new(rtp, rtcp)));
                    }
                }
                Err(Error::unavailable(
                    "no free even/odd UDP port pair for RTP/RTCP",
                ))
            })
            .await
            .cloned()
    }
}

/// The connection's session.
struct Session {
    id: String,
    video: Option<Track>,
    audio: Option<Track>,
    playing: Option<Playing>,
    _count: SessionCount,
}

/// Serves one client until it leaves, times out, sends garbage, or the task is aborted.
pub(crate) async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<ServerShared>) {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().unwrap_or(shared.local_addr);
    let (mut reader, writer) = stream.into_split();
    let (out, out_rx) = mpsc::channel(OUTGOING_QUEUE_ENTRIES);
    let _writer = AbortOnDrop(tokio::spawn(write_loop(writer, out_rx)));
    let mut conn = Connection {
        shared,
        peer,
        local,
        out,
        session: None,
    };
    let mut buf = BytesMut::with_capacity(READ_BUFFER_BYTES);
    loop {
        loop {
            match rtsp::parse(&buf) {
                Ok(Some((input, used))) => {
                    buf.advance(used);
                    match input {
                        Input::Request(req) => {
                            tracing::trace!(%peer, method = req.method.as_str(), body = req.body.len(), "synthetic camera: request");
                            if conn.handle(req).await.is_err() {
                                return;
                            }
                        }
                        // Receiver reports and the like: nothing the camera acts on.
                        Input::Interleaved { channel } => {
                            tracing::trace!(%peer, channel, "synthetic camera: interleaved data from client");
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(%peer, error = ?e, "synthetic camera: bad request");
                    let _ = conn
                        .send(Response::new(e.status()).header("Server", SERVER_NAME))
                        .await;
                    // Let the writer flush the error before the socket closes.
                    drop(conn);
                    let _ = tokio::time::timeout(RESPONSE_SEND_TIMEOUT, _writer.join()).await;
                    return;
                }
            }
        }
        match tokio::time::timeout(SESSION_TIMEOUT, reader.read_buf(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            Ok(_) => return,
            Err(_) => {
                tracing::debug!(%peer, "synthetic camera: connection idle past the session timeout");
                return;
            }
        }
    }
}

async fn write_loop(mut writer: OwnedWriteHalf, mut rx: mpsc::Receiver<Bytes>) {
    while let Some(b) = rx.recv().await {
        if writer.write_all(&b).await.is_err() {
            return;
        }
    }
    let _ = writer.shutdown().await;
}

struct Connection {
    shared: Arc<ServerShared>,
    peer: SocketAddr,
    local: SocketAddr,
    out: mpsc::Sender<Bytes>,
    session: Option<Session>,
}

/// Ends the connection (the client is gone or cannot be answered).
struct Hangup;

impl Connection {
    async fn send(&self, response: Response) -> Result<(), Hangup> {
        match tokio::time::timeout(RESPONSE_SEND_TIMEOUT, self.out.send(response.to_bytes())).await
        {
            Ok(Ok(())) => Ok(()),
            _ => Err(Hangup),
        }
    }

    async fn handle(&mut self, req: Request) -> Result<(), Hangup> {
        let Some(cseq) = req.cseq().map(str::to_owned) else {
            return self
                .send(Response::new(400).header("Server", SERVER_NAME))
                .await;
        };
        let base = |status| {
            Response::new(status)
                .header("CSeq", cseq.clone())
                .header("Server", SERVER_NAME)
        };
        if let Some(auth) = &self.shared.auth
            && !auth.verify(req.method.as_str(), req.header("Authorization"))
        {
            let [digest, basic] = auth.challenges();
            let r = base(401)
                .header("WWW-Authenticate", digest)
                .header("WWW-Authenticate", basic);
            return self.send(r).await;
        }
        let mut start = None;
        let response = match req.method {
            Method::Options => base(200).header("Public", rtsp::PUBLIC_METHODS),
            Method::Describe => self.describe(&req, base(200), base),
            Method::Setup => self.setup(&req, base(200), base).await,
            Method::Play => self.play(&req, base(200), base, &mut start),
            Method::Pause => self.pause(&req, base(200), base).await,
            Method::Teardown => match self.check_session(&req) {
                Ok(()) => {
                    self.session = None;
                    base(200)
                }
                Err(status) => base(status),
            },
            Method::GetParameter | Method::SetParameter => match self.check_session(&req) {
                Ok(()) => self.with_session_header(base(200)),
                Err(status) => base(status),
            },
            Method::Other(_) => base(501).header("Public", rtsp::PUBLIC_METHODS),
        };
        self.send(response).await?;
        // Media starts only after the PLAY response is queued, so it never precedes it.
        if let (Some(delivery), Some(session)) = (start, self.session.as_mut()) {
            session.playing = Some(delivery.spawn());
        }
        Ok(())
    }

    fn path_matches(&self, uri: &str) -> Option<String> {
        let path = rtsp::uri_path(uri)?;
        let base = self.shared.config.base_path();
        let rest = path.strip_prefix(base)?;
        (rest.is_empty() || rest.starts_with('/') || base == "/")
            .then(|| rest.trim_start_matches('/').to_owned())
    }

    fn describe(&self, req: &Request, ok: Response, base: impl Fn(u16) -> Response) -> Response {
        if self
            .path_matches(&req.uri)
            .is_none_or(|rest| !rest.is_empty())
        {
            return base(404);
        }
        let Some(params) = self.shared.feed.current_params() else {
            return base(503);
        };
        let sdp = sdp::Description {
            session_id: u64::from(rand::random::<u32>()),
            origin: self.local.ip(),
            sps: &params.sps,
            pps: &params.pps,
            fps: self.shared.config.fps,
            audio: self.shared.config.audio,
        }
        .to_sdp();
        ok.header("Content-Base", content_base(&req.uri))
            .body("application/sdp", sdp)
    }

    /// Checks the request's `Session` header against the connection's session.
    fn check_session(&self, req: &Request) -> Result<(), u16> {
        match (req.session_id(), &self.session) {
            (None, _) => Ok(()),
            (Some(id), Some(s)) if id == s.id => Ok(()),
            _ => Err(454),
        }
    }

    fn with_session_header(&self, r: Response) -> Response {
        match &self.session {
            Some(s) => r.header(
                "Session",
                format!("{};timeout={}", s.id, SESSION_TIMEOUT.as_secs()),
            ),
            None => r,
        }
    }

    async fn setup(
        &mut self,
        req: &Request,
        ok: Response,
        base: impl Fn(u16) -> Response,
    ) -> Response {
        let Some(rest) = self.path_matches(&req.uri) else {
            return base(404);
        };
        let kind = match rest.as_str() {
            VIDEO_CONTROL | "" => TrackKind::Video,
            AUDIO_CONTROL if self.shared.config.audio => TrackKind::Audio,
            _ => return base(404),
        };
        if let Err(status) = self.check_session(req) {
            return base(status);
        }
        if self.session.as_ref().is_some_and(|s| s.playing.is_some()) {
            return base(455);
        }
        let Some(transport) = req.header("Transport").and_then(rtsp::parse_transport) else {
            return base(461);
        };
        let index = match kind {
            TrackKind::Video => 0u8,
            TrackKind::Audio => 1u8,
        };
        let (route, reply) = match transport {
            TransportRequest::Interleaved { channels } => {
                let (rtp, rtcp) = channels.unwrap_or((2 * index, 2 * index + 1));
                (
                    Route::Interleaved { rtp, rtcp },
                    format!("RTP/AVP/TCP;unicast;interleaved={rtp}-{rtcp}"),
                )
            }
            TransportRequest::Udp {
                client_ports: (a, b),
            } => {
                let pair = match self.shared.udp_pair().await {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(error = %e, "synthetic camera: cannot bind UDP");
                        return base(503);
                    }
                };
                let (sa, sb) = pair.ports();
                // Media only ever goes to the client that asked, never to a `destination`.
                let ip = self.peer.ip();
                (
                    Route::Udp {
                        rtp: SocketAddr::new(ip, a),
                        rtcp: SocketAddr::new(ip, b),
                    },
                    format!("RTP/AVP;unicast;client_port={a}-{b};server_port={sa}-{sb}"),
                )
            }
        };
        let track = Track::new(kind, route);
        let reply = format!("{reply};ssrc={:08X}", track.ssrc);
        let session = self.session.get_or_insert_with(|| Session {
            id: format!("{:016X}", rand::random::<u64>()),
            video: None,
            audio: None,
            playing: None,
            _count: SessionCount::new(self.shared.feed.clone()),
        });
        match kind {
            TrackKind::Video => session.video = Some(track),
            TrackKind::Audio => session.audio = Some(track),
        }
        self.with_session_header(ok.header("Transport", reply))
    }

    fn play(
        &mut self,
        req: &Request,
        ok: Response,
        base: impl Fn(u16) -> Response,
        start: &mut Option<Delivery>,
    ) -> Response {
        if let Err(status) = self.check_session(req) {
            return base(status);
        }
        let Some(session) = self.session.as_ref() else {
            return base(454);
        };
        if session.playing.is_some() {
            return self.with_session_header(ok.header("Range", "npt=0.000-"));
        }
        if session.video.is_none() && session.audio.is_none() {
            return base(455);
        }
        let feed = &self.shared.feed;
        let now = std::time::Instant::now();
        let url = content_base(&req.uri);
        let mut info = Vec::new();
        for (control, track) in [
            (VIDEO_CONTROL, &session.video),
            (AUDIO_CONTROL, &session.audio),
        ] {
            if let Some(t) = track {
                let rtptime = t.rtp_timestamp(feed.clock.ticks_at(now, t.kind.clock_rate()));
                info.push(format!(
                    "url={url}{control};seq={};rtptime={rtptime}",
                    t.next_sequence
                ));
            }
        }
        let response = self.with_session_header(
            ok.header("Range", "npt=0.000-")
                .header("RTP-Info", info.join(",")),
        );
        let sinks = Sinks {
            connection: self.out.clone(),
            udp: self.shared.udp.get().cloned(),
        };
        if let Some(session) = self.session.as_mut() {
            *start = Some(Delivery::new(
                self.shared.feed.clone(),
                session.video.take(),
                session.audio.take(),
                sinks,
                self.shared.config.network,
            ));
        }
        response
    }

    async fn pause(
        &mut self,
        req: &Request,
        ok: Response,
        base: impl Fn(u16) -> Response,
    ) -> Response {
        if let Err(status) = self.check_session(req) {
            return base(status);
        }
        let Some(session) = self.session.as_mut() else {
            return base(454);
        };
        if let Some(playing) = session.playing.take()
            && let Some((video, audio)) = playing.stop().await
        {
            session.video = video;
            session.audio = audio;
        }
        self.with_session_header(ok)
    }
}

/// The `Content-Base` for a request URI: the URI without user info or query, ending in `/`.
pub(crate) fn content_base(uri: &str) -> String {
    let mut s = match uri.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit('@').next().unwrap_or(authority);
            format!("{scheme}://{host}{path}")
        }
        None => uri.to_owned(),
    };
    if let Some(q) = s.find(['?', '#']) {
        s.truncate(q);
    }
    if !s.ends_with('/') {
        s.push('/');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_base_strips_credentials_and_query() {
        assert_eq!(
            content_base("rtsp://u:p@127.0.0.1:8554/synthetic"),
            "rtsp://127.0.0.1:8554/synthetic/"
        );
        assert_eq!(content_base("rtsp://h/a/?x=1"), "rtsp://h/a/");
        assert_eq!(content_base("rtsp://h:1"), "rtsp://h:1/");
        assert_eq!(content_base("rtsp://a@b@h/p"), "rtsp://h/p/");
    }
}
