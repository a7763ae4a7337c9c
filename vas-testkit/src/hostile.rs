//! A hostile camera for tests: an RTSP server on loopback that misbehaves in one chosen way
//! ([`HostileMode`]), to check that what a broken or malicious camera sends is bounded.
//!
//! Owns only the misbehaviour: a minimal RTSP dialogue (OPTIONS, DESCRIBE, SETUP over TCP,
//! PLAY, answered by CSeq) good enough for an RTSP client to reach the point where the
//! attack starts, and the attack itself at a bounded rate. It counts what it managed to send
//! so a test can compare memory growth with the bytes thrown at the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A real 640×360 Constrained Baseline SPS (x264), for a DESCRIBE that clients accept.
pub const SPS: &[u8] = &[
    0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01,
    0x00, 0x00, 0x03, 0x00, 0x3c, 0x0f, 0x16, 0x2e, 0x48,
];
/// The PPS that goes with [`SPS`].
pub const PPS: &[u8] = &[0x68, 0xcb, 0x83, 0xcb, 0x20];
/// Bytes the attacks write per call.
const CHUNK: usize = 16 * 1024;
/// Longest the camera waits for a request line before giving up on a connection.
const READ_LIMIT: Duration = Duration::from_secs(30);

/// How the camera misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostileMode {
    /// DESCRIBE is answered with a header line that never ends (`bytes` of it).
    EndlessHeaderLine {
        /// How much of the line to send.
        bytes: u64,
    },
    /// DESCRIBE is answered with `Content-Length: 4000000000`, then `bytes` of body.
    HugeContentLength {
        /// How much body to send.
        bytes: u64,
    },
    /// DESCRIBE is answered with `count` header lines.
    ManyHeaders {
        /// Header lines.
        count: usize,
    },
    /// The SDP has `count` media sections.
    ManyMediaSections {
        /// Sections.
        count: usize,
    },
    /// The SDP's `sprop-parameter-sets` carries an SPS of `bytes` bytes.
    HugeSps {
        /// SPS size.
        bytes: usize,
    },
    /// After PLAY: an H.264 FU-A fragment series that never ends (same timestamp, never the
    /// end bit), `bytes` in all at `rate` bytes per second.
    EndlessFuA {
        /// Total payload.
        bytes: u64,
        /// Bytes per second.
        rate: u64,
    },
    /// After PLAY: single NAL units that all share one timestamp, never a marker bit.
    SameTimestampNoMarker {
        /// Total payload.
        bytes: u64,
        /// Bytes per second.
        rate: u64,
    },
    /// DESCRIBE is answered with binary garbage (`bytes` of it).
    Garbage {
        /// How much.
        bytes: u64,
    },
}

impl HostileMode {
    /// A short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            HostileMode::EndlessHeaderLine { .. } => "endless header line",
            HostileMode::HugeContentLength { .. } => "Content-Length 4000000000",
            HostileMode::ManyHeaders { .. } => "many header lines",
            HostileMode::ManyMediaSections { .. } => "many SDP media sections",
            HostileMode::HugeSps { .. } => "huge SPS",
            HostileMode::EndlessFuA { .. } => "endless FU-A",
            HostileMode::SameTimestampNoMarker { .. } => "same timestamp, no marker",
            HostileMode::Garbage { .. } => "garbage",
        }
    }
}

/// A running hostile camera; stopped on drop.
#[derive(Debug)]
pub struct HostileCamera {
    /// Its port on 127.0.0.1.
    pub port: u16,
    mode: HostileMode,
    sent: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl HostileCamera {
    /// Listens on a free loopback port.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start(mode: HostileMode) -> HostileCamera {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let port = listener.local_addr().expect("its address").port();
        let sent = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let (s, c) = (sent.clone(), connections.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(session(stream, mode, s.clone()));
            }
        });
        HostileCamera {
            port,
            mode,
            sent,
            connections,
            task,
        }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}/hostile", self.port)
    }

    /// How it misbehaves.
    pub fn mode(&self) -> HostileMode {
        self.mode
    }

    /// Bytes of attack the client accepted so far (written to the socket).
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Drop for HostileCamera {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request; returns (method, CSeq).
async fn request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(String, String)> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 4);
            let method = head.split(' ').next().unwrap_or_default().to_owned();
            let cseq = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case("cseq")
                        .then(|| v.trim().to_owned())
                })
                .unwrap_or_else(|| "0".into());
            return Some((method, cseq));
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(READ_LIMIT, stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn b64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn sdp(mode: HostileMode) -> String {
    let sps = match mode {
        HostileMode::HugeSps { bytes } => {
            let mut s = SPS.to_vec();
            s.resize(bytes.max(SPS.len()), 0x11);
            s
        }
        _ => SPS.to_vec(),
    };
    let mut sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=hostile\r\nt=0 0\r\nc=IN IP4 127.0.0.1\r\n\
         m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
         a=fmtp:96 packetization-mode=1;profile-level-id=42c01e;sprop-parameter-sets={},{}\r\n\
         a=control:track1\r\n",
        b64(&sps),
        b64(PPS)
    );
    if let HostileMode::ManyMediaSections { count } = mode {
        for i in 0..count {
            sdp.push_str(&format!(
                "m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=control:audio{i}\r\n"
            ));
        }
    }
    sdp
}

/// Writes `total` bytes produced by `next` at about `rate` bytes per second.
async fn flood(
    stream: &mut TcpStream,
    total: u64,
    rate: u64,
    sent: &AtomicU64,
    mut next: impl FnMut(usize) -> Vec<u8>,
) {
    let started = tokio::time::Instant::now();
    let mut done = 0u64;
    let mut i = 0;
    while done < total {
        let chunk = next(i);
        i += 1;
        if stream.write_all(&chunk).await.is_err() {
            return;
        }
        done += chunk.len() as u64;
        sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        if rate > 0 {
            let due = started + Duration::from_secs_f64(done as f64 / rate as f64);
            tokio::time::sleep_until(due).await;
        }
    }
}

/// An interleaved RTP packet on channel 0 with `payload`, timestamp 1000, no marker.
fn rtp(seq: u16, payload: &[u8]) -> Vec<u8> {
    let len = 12 + payload.len();
    let mut p = Vec::with_capacity(4 + len);
    p.extend_from_slice(&[b'$', 0]);
    p.extend_from_slice(&(len as u16).to_be_bytes());
    p.extend_from_slice(&[0x80, 96]);
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&1000u32.to_be_bytes());
    p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

async fn session(mut stream: TcpStream, mode: HostileMode, sent: Arc<AtomicU64>) {
    let mut buf = Vec::new();
    while let Some((method, cseq)) = request(&mut stream, &mut buf).await {
        let ok = |extra: &str, body: &str| {
            format!(
                "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n{extra}Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        let reply = match method.as_str() {
            "OPTIONS" => ok("Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n", ""),
            "DESCRIBE" => match mode {
                HostileMode::EndlessHeaderLine { bytes } => {
                    let head = format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nX-Junk: ");
                    if stream.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    flood(&mut stream, bytes, 0, &sent, |_| vec![b'a'; CHUNK]).await;
                    return;
                }
                HostileMode::HugeContentLength { bytes } => {
                    let head = format!(
                        "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Type: application/sdp\r\n\
                         Content-Length: 4000000000\r\n\r\n"
                    );
                    if stream.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    flood(&mut stream, bytes, 0, &sent, |_| vec![b'v'; CHUNK]).await;
                    return;
                }
                HostileMode::Garbage { bytes } => {
                    flood(&mut stream, bytes, 0, &sent, |i| {
                        (0..CHUNK).map(|j| ((i * 31 + j * 7) % 251) as u8).collect()
                    })
                    .await;
                    return;
                }
                HostileMode::ManyHeaders { count } => {
                    let extra: String = (0..count).map(|i| format!("X-H{i}: v\r\n")).collect();
                    let body = sdp(mode);
                    ok(&format!("Content-Type: application/sdp\r\n{extra}"), &body)
                }
                _ => ok("Content-Type: application/sdp\r\n", &sdp(mode)),
            },
            "SETUP" => ok(
                "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: 4242;timeout=60\r\n",
                "",
            ),
            "PLAY" => {
                let reply = ok("Session: 4242\r\nRange: npt=0.000-\r\n", "");
                if stream.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
                match mode {
                    HostileMode::EndlessFuA { bytes, rate } => {
                        let fragment = vec![0x55u8; 1_400];
                        flood(&mut stream, bytes, rate, &sent, |i| {
                            // FU-A of an IDR slice: start bit on the first, never the end bit.
                            let fu_header = if i == 0 { 0x85 } else { 0x05 };
                            let mut payload = vec![0x7c, fu_header];
                            payload.extend_from_slice(&fragment);
                            rtp(i as u16, &payload)
                        })
                        .await;
                    }
                    HostileMode::SameTimestampNoMarker { bytes, rate } => {
                        let slice = vec![0x66u8; 1_400];
                        flood(&mut stream, bytes, rate, &sent, |i| {
                            let mut payload = vec![0x41]; // non-IDR slice
                            payload.extend_from_slice(&slice);
                            rtp(i as u16, &payload)
                        })
                        .await;
                    }
                    _ => {}
                }
                // Then hold the connection until the client gives up.
                let mut sink = [0u8; 4096];
                while let Ok(Ok(n)) = tokio::time::timeout(READ_LIMIT, stream.read(&mut sink)).await
                {
                    if n == 0 {
                        break;
                    }
                }
                return;
            }
            "TEARDOWN" => ok("", ""),
            _ => format!("RTSP/1.0 501 Not Implemented\r\nCSeq: {cseq}\r\n\r\n"),
        };
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}
