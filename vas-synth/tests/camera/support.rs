//! Helpers shared by the synthetic camera's integration tests: finding and running the real
//! ffmpeg tools (failing loudly when they are missing), and a tiny raw RTSP client for the
//! scenarios ffmpeg cannot express (a client that never reads, a frozen stream, garbage).

#![allow(dead_code)] // each test file uses a different subset

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vas_synth::{CameraConfig, SyntheticCamera};

/// Longest any external tool may run before the test fails.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest the raw client waits for a response or a packet.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The path of `name` (ffprobe, ffmpeg); panics with a clear message when it is missing, so a
/// machine without ffmpeg fails these tests instead of skipping them.
pub fn tool(name: &str) -> PathBuf {
    let dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    for dir in dirs
        .iter()
        .map(PathBuf::as_path)
        .chain([std::path::Path::new("/usr/bin")])
    {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "`{name}` is required by the synthetic camera tests but is not installed (apt-get install ffmpeg)"
    );
}

/// Runs `name args…` with a timeout; returns its output.
pub async fn run(name: &str, args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new(tool(name));
    cmd.args(args)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    match tokio::time::timeout(TOOL_TIMEOUT, cmd.output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => panic!("cannot run {name}: {e}"),
        Err(_) => panic!("{name} {args:?} did not finish within {TOOL_TIMEOUT:?}"),
    }
}

/// A camera on a free loopback port with `config`'s other settings.
pub async fn camera(config: CameraConfig) -> SyntheticCamera {
    SyntheticCamera::start(CameraConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..config
    })
    .await
    .expect("camera starts")
}

/// `ffprobe`'s JSON description of the first video stream at `url` over `transport`.
pub async fn probe(url: &str, transport: &str) -> (Output, serde_json::Value) {
    let out = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-rtsp_transport",
            transport,
            "-show_streams",
            "-of",
            "json",
            "-timeout",
            "10000000",
            url,
        ],
    )
    .await;
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, json)
}

/// The streams of an ffprobe JSON answer.
pub fn streams(json: &serde_json::Value) -> Vec<serde_json::Value> {
    json["streams"].as_array().cloned().unwrap_or_default()
}

/// A parsed RTSP response.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// One interleaved frame the server sent.
#[derive(Debug)]
pub struct Interleaved {
    pub channel: u8,
    pub data: Vec<u8>,
}

/// A deliberately simple RTSP client over TCP.
pub struct RawClient {
    pub stream: TcpStream,
    buf: Vec<u8>,
    cseq: u32,
    pub session: Option<String>,
    /// Interleaved frames that arrived while waiting for a response.
    pub pending: Vec<Interleaved>,
}

impl RawClient {
    pub async fn connect(addr: std::net::SocketAddr) -> RawClient {
        let stream = tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(addr))
            .await
            .unwrap()
            .unwrap();
        RawClient::from_stream(stream)
    }

    pub fn from_stream(stream: TcpStream) -> RawClient {
        RawClient {
            stream,
            buf: Vec::new(),
            cseq: 0,
            session: None,
            pending: Vec::new(),
        }
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Sends a request (with CSeq and, once known, Session) and waits for its response.
    pub async fn request(
        &mut self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> RawResponse {
        self.cseq += 1;
        let mut text = format!("{method} {uri} RTSP/1.0\r\nCSeq: {}\r\n", self.cseq);
        if let Some(s) = &self.session {
            text.push_str(&format!("Session: {s}\r\n"));
        }
        for (n, v) in headers {
            text.push_str(&format!("{n}: {v}\r\n"));
        }
        text.push_str("\r\n");
        self.send_raw(text.as_bytes()).await;
        let r = self.response().await.expect("a response");
        assert_eq!(
            r.header("CSeq"),
            Some(self.cseq.to_string().as_str()),
            "CSeq echoed"
        );
        if let Some(s) = r.header("Session") {
            self.session = Some(s.split(';').next().unwrap().to_owned());
        }
        r
    }

    /// Reads the next response, keeping interleaved frames in `pending`. `None` on EOF.
    pub async fn response(&mut self) -> Option<RawResponse> {
        loop {
            while self.buf.first() == Some(&b'$') {
                match self.take_interleaved() {
                    Some(f) => self.pending.push(f),
                    None => break,
                }
            }
            if self.buf.first() != Some(&b'$')
                && let Some(end) = find(&self.buf, b"\r\n\r\n")
            {
                let head = String::from_utf8(self.buf[..end].to_vec()).unwrap();
                let mut lines = head.split("\r\n");
                let status_line = lines.next().unwrap();
                let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
                    .map_or(0, |(_, v)| v.parse().unwrap());
                if self.buf.len() >= end + 4 + len {
                    let body = self.buf[end + 4..end + 4 + len].to_vec();
                    self.buf.drain(..end + 4 + len);
                    return Some(RawResponse {
                        status,
                        headers,
                        body,
                    });
                }
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// The next interleaved frame, or `None` on EOF or after `wait` without one.
    pub async fn next_interleaved(&mut self, wait: Duration) -> Option<Interleaved> {
        if !self.pending.is_empty() {
            return Some(self.pending.remove(0));
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(f) = self.take_interleaved() {
                return Some(f);
            }
            match tokio::time::timeout_at(deadline, self.fill()).await {
                Ok(true) => {}
                _ => return None,
            }
        }
    }

    /// The next RTP packet on `channel`, skipping others.
    pub async fn next_on(&mut self, channel: u8, wait: Duration) -> Option<Vec<u8>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let f = self.next_interleaved(left).await?;
            if f.channel == channel {
                return Some(f.data);
            }
        }
    }

    fn take_interleaved(&mut self) -> Option<Interleaved> {
        if self.buf.len() < 4 || self.buf[0] != b'$' {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]]));
        if self.buf.len() < 4 + len {
            return None;
        }
        let f = Interleaved {
            channel: self.buf[1],
            data: self.buf[4..4 + len].to_vec(),
        };
        self.buf.drain(..4 + len);
        Some(f)
    }

    /// Reads more bytes; false on EOF or error.
    async fn fill(&mut self) -> bool {
        self.buf.reserve(16 * 1024);
        matches!(tokio::time::timeout(IO_TIMEOUT, self.stream.read_buf(&mut self.buf)).await, Ok(Ok(n)) if n > 0)
    }

    /// DESCRIBE, SETUP video over TCP (channels 0-1), PLAY. Returns the PLAY response.
    pub async fn play_tcp(&mut self, url: &str) -> RawResponse {
        let d = self
            .request("DESCRIBE", url, &[("Accept", "application/sdp")])
            .await;
        assert_eq!(d.status, 200, "DESCRIBE: {d:?}");
        let s = self
            .request(
                "SETUP",
                &format!("{url}/trackID=0"),
                &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
            )
            .await;
        assert_eq!(s.status, 200, "SETUP: {s:?}");
        let p = self.request("PLAY", url, &[("Range", "npt=0.000-")]).await;
        assert_eq!(p.status, 200, "PLAY: {p:?}");
        p
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// RTP fields of a packet: (marker, sequence, timestamp, ssrc, payload).
pub fn rtp(packet: &[u8]) -> (bool, u16, u32, u32, &[u8]) {
    assert!(
        packet.len() >= 12 && packet[0] >> 6 == 2,
        "not RTP: {packet:?}"
    );
    (
        packet[1] & 0x80 != 0,
        u16::from_be_bytes([packet[2], packet[3]]),
        u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]),
        u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]),
        &packet[12..],
    )
}

/// The H.264 NAL unit type an RTP payload starts (for FU-A, the fragmented unit's type).
pub fn h264_type(payload: &[u8]) -> u8 {
    match payload[0] & 0x1F {
        28 => payload[1] & 0x1F,
        t => t,
    }
}
