//! The camera guard's sans-IO core: every byte a camera sends is checked against a named
//! bound before the RTSP client (retina) sees it.
//!
//! Owns: splitting an RTSP byte stream into units (messages and interleaved `$` frames) with
//! [`Limits`] on the start line, each header line, the header count, the head and the body
//! (a `Content-Length` above the limit is refused before a byte of the body is read); counting
//! SDP media sections; the per-track [`FrameBudget`] that bounds what a frame under reassembly
//! may hold (bytes and NAL units) and discards the rest of an oversized frame; rewriting
//! requests and responses where the relay stands between client and camera (the request URI,
//! its digest response, and the transport of a SETUP when the camera is reached over UDP).
//! It owns no sockets, no tasks and reads no clock: `super::relay` drives it.
//!
//! Why by hand: retina (0.4.21) parses RTSP messages with no size limit exposed
//! (`Parser::max_message_size` exists inside it but is not reachable), and its H.264/H.265
//! depacketizers keep every packet of an unfinished access unit. Neither can be bounded
//! through its public API, so the bounds are enforced on the bytes before they reach it. The
//! upstream fix (exposing the parser limit and a depacketizer size cap through
//! `SessionOptions`) is written up in `docs/upstream/retina-limits.md`; once it lands, the
//! message limits here can move into retina's options.

use bytes::{Buf, Bytes, BytesMut};

/// Longest start line or header line a camera may send, in bytes.
pub const MAX_LINE_BYTES: usize = 8 * 1024;
/// Most header lines in one message.
pub const MAX_HEADERS: usize = 64;
/// Largest message head (start line and headers), in bytes.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;
/// Largest message body (an SDP description, a GET_PARAMETER answer), in bytes. A larger
/// `Content-Length` is refused before any of the body is read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most media sections (`m=` lines) in one SDP description.
pub const MAX_MEDIA_SECTIONS: usize = 16;
/// Largest frame under reassembly, in bytes of RTP payload (a 4K H.265 keyframe at a high
/// bitrate is 2–4 MiB).
pub const MAX_FRAME_BYTES: usize = 8 * 1024 * 1024;
/// Most NAL units in one frame under reassembly (a 4K picture with a slice per macroblock row
/// has about 140).
pub const MAX_FRAME_NALS: usize = 4096;
/// Largest parameter set (SPS, PPS, VPS) accepted from a camera, in bytes.
pub const MAX_PARAMETER_SET_BYTES: usize = 4096;
/// Largest interleaved frame: the RTSP framing's 16-bit length plus its 4-byte header.
#[cfg(any(test, feature = "_internal_test_exports"))]
pub const MAX_INTERLEAVED_BYTES: usize = 4 + u16::MAX as usize;

/// The bounds a [`UnitReader`] enforces (the constants above by default; tests shrink them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// See [`MAX_LINE_BYTES`].
    pub line_bytes: usize,
    /// See [`MAX_HEADERS`].
    pub headers: usize,
    /// See [`MAX_HEAD_BYTES`].
    pub head_bytes: usize,
    /// See [`MAX_BODY_BYTES`].
    pub body_bytes: usize,
    /// See [`MAX_MEDIA_SECTIONS`].
    pub media_sections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            line_bytes: MAX_LINE_BYTES,
            headers: MAX_HEADERS,
            head_bytes: MAX_HEAD_BYTES,
            body_bytes: MAX_BODY_BYTES,
            media_sections: MAX_MEDIA_SECTIONS,
        }
    }
}

impl Limits {
    /// The most bytes a [`UnitReader`] ever holds before it has a complete unit or refuses.
    #[cfg(any(test, feature = "_internal_test_exports"))]
    pub fn max_buffered(&self) -> usize {
        (self.head_bytes + self.body_bytes).max(MAX_INTERLEAVED_BYTES)
    }
}

/// What a camera did wrong; the message is for `last_error` (it never echoes the camera's
/// bytes beyond a short, printable excerpt).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Violation(pub String);

/// One unit of an RTSP byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    /// A request or response.
    Message(Message),
    /// An interleaved frame: `channel` and the frame's payload (an RTP or RTCP packet).
    Data {
        /// Interleaved channel.
        channel: u8,
        /// The packet (without the 4-byte `$` header).
        packet: Bytes,
    },
}

/// An RTSP message: its start line, headers (in order, names as sent) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The request line or status line, without its line ending.
    pub start: String,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes).
    pub body: Bytes,
}

impl Message {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces the value of every header named `name` (or appends it).
    pub fn set_header(&mut self, name: &str, value: String) {
        let mut found = false;
        for (n, v) in &mut self.headers {
            if n.eq_ignore_ascii_case(name) {
                *v = value.clone();
                found = true;
            }
        }
        if !found {
            self.headers.push((name.to_owned(), value));
        }
    }

    /// Whether this is a response (`RTSP/1.0 200 OK`).
    pub fn is_response(&self) -> bool {
        self.start.starts_with("RTSP/")
    }

    /// A response's status code.
    pub fn status(&self) -> Option<u16> {
        if !self.is_response() {
            return None;
        }
        self.start.split(' ').nth(1)?.parse().ok()
    }

    /// A request's method and URI.
    pub fn request_line(&self) -> Option<(&str, &str)> {
        if self.is_response() {
            return None;
        }
        let mut parts = self.start.splitn(3, ' ');
        Some((parts.next()?, parts.next()?))
    }

    /// `CSeq`, if it parses.
    pub fn cseq(&self) -> Option<u32> {
        self.header("CSeq")?.trim().parse().ok()
    }

    /// The message as bytes on the wire (`Content-Length` as the body has it).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        out.extend_from_slice(self.start.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (n, v) in &self.headers {
            if n.eq_ignore_ascii_case("Content-Length") {
                continue;
            }
            out.extend_from_slice(n.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if !self.body.is_empty() {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// Where the reader is inside the unit it is assembling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// Between units.
    Idle,
    /// Inside a message head: `pos` bytes scanned, the current line started at `line_start`,
    /// `lines` complete lines so far.
    Head {
        pos: usize,
        line_start: usize,
        lines: usize,
    },
    /// Head complete (`head_len` bytes); waiting for `body_len` more bytes.
    Body { head_len: usize, body_len: usize },
}

/// Splits an RTSP byte stream into [`Unit`]s, refusing anything past its [`Limits`]. It holds
/// at most [`Limits::max_buffered`] bytes plus the last chunk pushed.
#[derive(Debug)]
pub struct UnitReader {
    limits: Limits,
    buf: BytesMut,
    scan: Scan,
    failed: Option<Violation>,
}

impl UnitReader {
    /// A reader enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        UnitReader {
            limits,
            buf: BytesMut::with_capacity(16 * 1024),
            scan: Scan::Idle,
            failed: None,
        }
    }

    /// Appends bytes read from the socket. Call [`UnitReader::next_unit`] until it returns
    /// `None` before pushing more.
    pub fn push(&mut self, data: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(data);
        }
    }

    /// Bytes held and not yet returned as a unit.
    #[cfg(any(test, feature = "_internal_test_exports"))]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete unit, `None` when more bytes are needed, or the violation (after
    /// which the reader refuses everything).
    pub fn next_unit(&mut self) -> Result<Option<Unit>, Violation> {
        if let Some(v) = &self.failed {
            return Err(v.clone());
        }
        let r = self.step();
        if let Err(v) = &r {
            self.failed = Some(v.clone());
            self.buf.clear();
        }
        r
    }

    fn step(&mut self) -> Result<Option<Unit>, Violation> {
        loop {
            match self.scan {
                Scan::Idle => {
                    // Line endings between units are allowed (some cameras send them).
                    let skip = self.buf.iter().take_while(|&&b| b == b'\r' || b == b'\n');
                    let skip = skip.count();
                    self.buf.advance(skip);
                    let Some(&first) = self.buf.first() else {
                        return Ok(None);
                    };
                    if first == b'$' {
                        if self.buf.len() < 4 {
                            return Ok(None);
                        }
                        let channel = self.buf[1];
                        let len = usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]]));
                        if self.buf.len() < 4 + len {
                            return Ok(None);
                        }
                        self.buf.advance(4);
                        let packet = self.buf.split_to(len).freeze();
                        return Ok(Some(Unit::Data { channel, packet }));
                    }
                    self.scan = Scan::Head {
                        pos: 0,
                        line_start: 0,
                        lines: 0,
                    };
                }
                Scan::Head {
                    mut pos,
                    mut line_start,
                    mut lines,
                } => {
                    let mut head_len = None;
                    while pos < self.buf.len() {
                        if self.buf[pos] == b'\n' {
                            let line = &self.buf[line_start..pos];
                            let line = line.strip_suffix(b"\r").unwrap_or(line);
                            if line.is_empty() && lines > 0 {
                                head_len = Some(pos + 1);
                                break;
                            }
                            lines += 1;
                            if lines > self.limits.headers + 1 {
                                return Err(Violation(format!(
                                    "the camera sent a message with more than {} header lines",
                                    self.limits.headers
                                )));
                            }
                            line_start = pos + 1;
                        } else if pos - line_start >= self.limits.line_bytes {
                            return Err(Violation(format!(
                                "the camera sent a {} longer than {} bytes",
                                if lines == 0 {
                                    "status line"
                                } else {
                                    "header line"
                                },
                                self.limits.line_bytes
                            )));
                        }
                        pos += 1;
                        if pos > self.limits.head_bytes {
                            return Err(Violation(format!(
                                "the camera sent a message head larger than {} bytes",
                                self.limits.head_bytes
                            )));
                        }
                    }
                    let Some(head_len) = head_len else {
                        self.scan = Scan::Head {
                            pos,
                            line_start,
                            lines,
                        };
                        return Ok(None);
                    };
                    let body_len = content_length(&self.buf[..head_len], self.limits.body_bytes)?;
                    self.scan = Scan::Body { head_len, body_len };
                }
                Scan::Body { head_len, body_len } => {
                    if self.buf.len() < head_len + body_len {
                        return Ok(None);
                    }
                    let head = self.buf.split_to(head_len);
                    let body = self.buf.split_to(body_len).freeze();
                    self.scan = Scan::Idle;
                    let message = parse_head(&head, body)?;
                    let sections = count_media_sections(&message.body);
                    if sections > self.limits.media_sections {
                        return Err(Violation(format!(
                            "the camera's SDP has {sections} media sections, more than {}",
                            self.limits.media_sections
                        )));
                    }
                    return Ok(Some(Unit::Message(message)));
                }
            }
        }
    }
}

/// A short printable excerpt of camera bytes for an error message.
fn excerpt(bytes: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(&bytes[..bytes.len().min(40)])
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    text
}

/// The `Content-Length` of a complete head, checked against `max`.
fn content_length(head: &[u8], max: usize) -> Result<usize, Violation> {
    let mut found: Option<u64> = None;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if !line[..colon]
            .trim_ascii()
            .eq_ignore_ascii_case(b"content-length")
        {
            continue;
        }
        let value = line[colon + 1..].trim_ascii();
        let n = std::str::from_utf8(value)
            .ok()
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| {
                Violation(format!(
                    "the camera sent a malformed Content-Length ({:?})",
                    excerpt(value)
                ))
            })?;
        if found.is_some_and(|f| f != n) {
            return Err(Violation(
                "the camera sent two different Content-Length headers".into(),
            ));
        }
        found = Some(n);
    }
    let n = found.unwrap_or(0);
    if n > max as u64 {
        return Err(Violation(format!(
            "the camera announced a {n}-byte body (Content-Length), more than the {max} bytes allowed"
        )));
    }
    Ok(n as usize)
}

fn parse_head(head: &[u8], body: Bytes) -> Result<Message, Violation> {
    let text = std::str::from_utf8(head).map_err(|_| {
        Violation(format!(
            "the camera sent a message head that is not text ({:?}…)",
            excerpt(head)
        ))
    })?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start = lines.next().unwrap_or_default().to_owned();
    if start.split(' ').count() < 2 || start.chars().any(|c| c.is_control()) {
        return Err(Violation(format!(
            "the camera sent a malformed start line ({:?})",
            excerpt(start.as_bytes())
        )));
    }
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(Violation(format!(
                "the camera sent a header line without a colon ({:?})",
                excerpt(line.as_bytes())
            )));
        };
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(Message {
        start,
        headers,
        body,
    })
}

fn count_media_sections(body: &[u8]) -> usize {
    body.split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"m="))
        .count()
}

/// The codec of a track, as far as the budget needs it (to count NAL units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrackCodec {
    /// H.264 (RFC 6184 packetization).
    H264,
    /// H.265 (RFC 7798 packetization).
    H265,
    /// Anything else (audio): only bytes are counted.
    #[default]
    Other,
}

/// What to do with an RTP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Pass it on.
    Forward,
    /// Drop it: the rest of an oversized frame.
    Drop,
    /// Drop it: this packet made the frame under reassembly too large. The client sees the
    /// gap as loss and discards the partial frame; the consumer skips to the next keyframe.
    Overflow(Violation),
}

/// Bounds one track's frame under reassembly. The client's progress (frames it has
/// completed on this track) resets the count, so what it holds for an unfinished frame is
/// never more than [`MAX_FRAME_BYTES`] (plus what is in flight in socket buffers) and
/// [`MAX_FRAME_NALS`] NAL units.
#[derive(Debug, Clone)]
pub struct FrameBudget {
    codec: TrackCodec,
    max_bytes: usize,
    max_nals: usize,
    bytes: usize,
    nals: usize,
    progress: u64,
    dropping: Option<u32>,
    overflows: u64,
}

impl FrameBudget {
    /// A budget for a track of `codec` allowing `max_bytes` and `max_nals` per frame.
    pub fn new(codec: TrackCodec, max_bytes: usize, max_nals: usize) -> Self {
        FrameBudget {
            codec,
            max_bytes,
            max_nals,
            bytes: 0,
            nals: 0,
            progress: 0,
            dropping: None,
            overflows: 0,
        }
    }

    /// Frames found oversized so far.
    #[cfg(any(test, feature = "_internal_test_exports"))]
    pub fn overflows(&self) -> u64 {
        self.overflows
    }

    /// Judges one RTP packet; `progress` is how many frames the client has completed on this
    /// track (any change starts a new count).
    pub fn admit(&mut self, packet: &[u8], progress: u64) -> Verdict {
        if progress != self.progress {
            self.progress = progress;
            self.bytes = 0;
            self.nals = 0;
        }
        let Some((timestamp, payload)) = rtp_payload(packet) else {
            // Not RTP: the client rejects it with its own error; it holds nothing for it.
            return Verdict::Forward;
        };
        if let Some(ts) = self.dropping {
            if ts == timestamp {
                return Verdict::Drop;
            }
            self.dropping = None;
            self.bytes = 0;
            self.nals = 0;
        }
        self.bytes += payload.len();
        self.nals += count_nals(self.codec, payload);
        if self.bytes > self.max_bytes || self.nals > self.max_nals {
            self.dropping = Some(timestamp);
            self.overflows += 1;
            let what = if self.bytes > self.max_bytes {
                format!("more than {} bytes", self.max_bytes)
            } else {
                format!("more than {} NAL units", self.max_nals)
            };
            self.bytes = 0;
            self.nals = 0;
            return Verdict::Overflow(Violation(format!(
                "the camera sent a frame of {what}; discarded it and skipped to the next keyframe"
            )));
        }
        Verdict::Forward
    }
}

/// The RTP timestamp and payload of a packet, or `None` if it is not RTP version 2.
pub fn rtp_payload(packet: &[u8]) -> Option<(u32, &[u8])> {
    if packet.len() < 12 || packet[0] >> 6 != 2 {
        return None;
    }
    let csrc = usize::from(packet[0] & 0x0f);
    let mut start = 12 + 4 * csrc;
    if packet[0] & 0x10 != 0 {
        let ext = packet.get(start + 2..start + 4)?;
        start += 4 + 4 * usize::from(u16::from_be_bytes([ext[0], ext[1]]));
    }
    let mut end = packet.len();
    if packet[0] & 0x20 != 0 {
        end = end.checked_sub(usize::from(*packet.last()?))?;
    }
    let timestamp = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
    Some((timestamp, packet.get(start..end)?))
}

/// NAL units an RTP payload starts or carries (fragments count once, at their start).
pub fn count_nals(codec: TrackCodec, payload: &[u8]) -> usize {
    match codec {
        TrackCodec::Other => 0,
        TrackCodec::H264 => match payload.first().map(|b| b & 0x1f) {
            None => 0,
            Some(1..=23) => 1,
            Some(24) => count_length_prefixed(payload.get(1..).unwrap_or_default()),
            Some(25) => count_length_prefixed(payload.get(3..).unwrap_or_default()),
            // MTAP: each unit has a 2-byte size; count conservatively by its sizes.
            Some(26 | 27) => count_length_prefixed(payload.get(3..).unwrap_or_default()),
            Some(28 | 29) => usize::from(payload.get(1).is_some_and(|b| b & 0x80 != 0)),
            Some(_) => 1,
        },
        TrackCodec::H265 => match payload.first().map(|b| (b >> 1) & 0x3f) {
            None => 0,
            Some(48) => count_length_prefixed(payload.get(2..).unwrap_or_default()),
            Some(49) => usize::from(payload.get(2).is_some_and(|b| b & 0x80 != 0)),
            Some(_) => 1,
        },
    }
}

/// Units in a run of 16-bit-length-prefixed units (a truncated tail counts once).
fn count_length_prefixed(mut data: &[u8]) -> usize {
    let mut n = 0;
    while data.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
        n += 1;
        data = data.get(2 + len..).unwrap_or_default();
    }
    n
}

/// The parts of an RTSP `Transport` header the relay rewrites.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportSpec {
    /// `interleaved=a-b`.
    pub interleaved: Option<(u8, u8)>,
    /// `server_port=x-y` (a single port means RTCP on the next one).
    pub server_port: Option<(u16, u16)>,
    /// `source=` address.
    pub source: Option<String>,
    /// `ssrc=` (kept as sent).
    pub ssrc: Option<String>,
    /// `mode=` (kept as sent).
    pub mode: Option<String>,
}

impl TransportSpec {
    /// Parses the first transport of a header value.
    pub fn parse(value: &str) -> TransportSpec {
        let first = value.split(',').next().unwrap_or_default();
        let mut t = TransportSpec::default();
        for param in first.split(';').skip(1) {
            let (k, v) = param.split_once('=').unwrap_or((param, ""));
            let pair = |v: &str| -> Option<(u16, u16)> {
                let (a, b) = v.split_once('-').unwrap_or((v, ""));
                let a: u16 = a.trim().parse().ok()?;
                let b = if b.is_empty() {
                    a.checked_add(1)?
                } else {
                    b.trim().parse().ok()?
                };
                Some((a, b))
            };
            match k.trim().to_ascii_lowercase().as_str() {
                "interleaved" => {
                    t.interleaved = pair(v)
                        .and_then(|(a, b)| Some((u8::try_from(a).ok()?, u8::try_from(b).ok()?)))
                }
                "server_port" => t.server_port = pair(v),
                "source" => t.source = Some(v.trim().to_owned()),
                "ssrc" => t.ssrc = Some(v.trim().to_owned()),
                "mode" => t.mode = Some(v.trim().to_owned()),
                _ => {}
            }
        }
        t
    }
}

/// The SETUP transport the relay asks a UDP camera for, on its own port pair.
pub fn udp_request_transport(rtp_port: u16) -> String {
    format!(
        "RTP/AVP;unicast;client_port={}-{}",
        rtp_port,
        rtp_port.saturating_add(1)
    )
}

/// The transport the relay answers the client with for a UDP camera: interleaved on the
/// channels the client asked for, with the camera's SSRC and mode.
pub fn interleaved_response_transport(channels: (u8, u8), camera: &TransportSpec) -> String {
    let mut t = format!(
        "RTP/AVP/TCP;unicast;interleaved={}-{}",
        channels.0, channels.1
    );
    if let Some(ssrc) = &camera.ssrc {
        t.push_str(";ssrc=");
        t.push_str(ssrc);
    }
    if let Some(mode) = &camera.mode {
        t.push_str(";mode=");
        t.push_str(mode);
    }
    t
}

/// A PLAY response's `RTP-Info` for a UDP camera, without its `seq` parameters: the relay's
/// reorder buffer, not the camera's announcement, decides which packet a track starts at
/// (on a network that reorders, packets sent before the PLAY can still arrive after it, and
/// retina's TCP path would end the session on one numbered before the announced start).
pub fn rtp_info_without_seq(value: &str) -> String {
    value
        .split(',')
        .map(|entry| {
            entry
                .split(';')
                .filter(|p| !p.trim().to_ascii_lowercase().starts_with("seq="))
                .collect::<Vec<_>>()
                .join(";")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The parameters of a `Digest` authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestAuth {
    params: Vec<(String, String)>,
}

impl DigestAuth {
    /// Parses `Digest k=v, k="v", …` (`None` for other schemes or malformed values).
    pub fn parse(value: &str) -> Option<DigestAuth> {
        let rest = value.trim();
        let (scheme, rest) = rest.split_once(char::is_whitespace)?;
        if !scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let mut params = Vec::new();
        let mut chars = rest.trim();
        while !chars.is_empty() {
            let (key, after) = chars.split_once('=')?;
            let key = key
                .trim()
                .trim_start_matches(',')
                .trim()
                .to_ascii_lowercase();
            let after = after.trim_start();
            let (val, after) = if let Some(q) = after.strip_prefix('"') {
                let end = q.find('"')?;
                (q[..end].to_owned(), &q[end + 1..])
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_owned(), &after[end..])
            };
            params.push((key, val));
            chars = after.trim_start().trim_start_matches(',').trim_start();
        }
        Some(DigestAuth { params })
    }

    /// A parameter's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn set(&mut self, key: &str, value: String) {
        match self.params.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.params.push((key.to_owned(), value)),
        }
    }

    /// The same authorization for `method` on `uri`, its response recomputed with
    /// `password` (MD5 and MD5 with `qop=auth` only; `None` otherwise).
    pub fn for_request(&self, method: &str, uri: &str, password: &str) -> Option<DigestAuth> {
        let algorithm = self.get("algorithm").unwrap_or("MD5");
        if !algorithm.eq_ignore_ascii_case("md5") {
            return None;
        }
        let qop = self.get("qop");
        if qop.is_some_and(|q| !q.eq_ignore_ascii_case("auth")) {
            return None;
        }
        let ha1 = md5_hex(&format!(
            "{}:{}:{password}",
            self.get("username")?,
            self.get("realm")?
        ));
        let ha2 = md5_hex(&format!("{method}:{uri}"));
        let nonce = self.get("nonce")?;
        let response = match qop {
            Some(q) => md5_hex(&format!(
                "{ha1}:{nonce}:{}:{}:{q}:{ha2}",
                self.get("nc")?,
                self.get("cnonce")?
            )),
            None => md5_hex(&format!("{ha1}:{nonce}:{ha2}")),
        };
        let mut out = self.clone();
        out.set("uri", uri.to_owned());
        out.set("response", response);
        Some(out)
    }

    /// The next request's authorization: like [`DigestAuth::for_request`] with the nonce
    /// count advanced.
    pub fn next_request(&self, method: &str, uri: &str, password: &str) -> Option<DigestAuth> {
        let mut next = self.clone();
        if let Some(nc) = self.get("nc") {
            let n = u32::from_str_radix(nc, 16).ok()?.wrapping_add(1);
            next.set("nc", format!("{n:08x}"));
        }
        next.for_request(method, uri, password)
    }

    /// The header value.
    pub fn encode(&self) -> String {
        let unquoted = ["algorithm", "qop", "nc"];
        let parts: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| {
                if unquoted.contains(&k.as_str()) {
                    format!("{k}={v}")
                } else {
                    format!("{k}=\"{v}\"")
                }
            })
            .collect();
        format!("Digest {}", parts.join(", "))
    }
}

fn md5_hex(s: &str) -> String {
    use md5::Digest;
    let digest = md5::Md5::digest(s.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Replaces a request URI's scheme and authority (`rtsp://127.0.0.1:port`) with the
/// camera's, when it starts with `from`.
pub fn rewrite_uri(uri: &str, from: &str, to: &str) -> Option<String> {
    let rest = uri.strip_prefix(from)?;
    if !(rest.is_empty() || rest.starts_with(['/', '?'])) {
        return None;
    }
    Some(format!("{to}{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(r: &mut UnitReader) -> Result<Vec<Unit>, Violation> {
        let mut out = Vec::new();
        while let Some(u) = r.next_unit()? {
            out.push(u);
        }
        Ok(out)
    }

    #[test]
    fn splits_messages_and_frames_fed_byte_by_byte() {
        let input = b"\r\nRTSP/1.0 200 OK\r\nCSeq: 2\r\nSession: 12;timeout=60\r\n\r\n\
            $\x01\x00\x03abcRTSP/1.0 200 OK\nCSeq: 3\nContent-Length: 2\n\nhi";
        let mut r = UnitReader::new(Limits::default());
        let mut units = Vec::new();
        for b in input.iter() {
            r.push(&[*b]);
            units.extend(all(&mut r).unwrap());
            assert!(r.buffered() <= Limits::default().max_buffered());
        }
        assert_eq!(units.len(), 3, "{units:?}");
        let Unit::Message(m) = &units[0] else {
            panic!()
        };
        assert_eq!(m.header("session"), Some("12;timeout=60"));
        assert_eq!(
            units[1],
            Unit::Data {
                channel: 1,
                packet: Bytes::from_static(b"abc")
            }
        );
        let Unit::Message(m) = &units[2] else {
            panic!()
        };
        assert_eq!((m.cseq(), &m.body[..]), (Some(3), &b"hi"[..]));
    }

    #[test]
    fn refuses_each_oversized_part_without_buffering_it() {
        let small = Limits {
            line_bytes: 64,
            headers: 4,
            head_bytes: 200,
            body_bytes: 100,
            media_sections: 2,
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![b'R'; 1_000], "status line longer"),
            (
                [&b"RTSP/1.0 200 OK\r\nX: "[..], &[b'a'; 1_000]].concat(),
                "header line longer",
            ),
            (
                [&b"RTSP/1.0 200 OK\r\n"[..], &b"A: b\r\n".repeat(10)].concat(),
                "more than 4 header lines",
            ),
            (
                b"RTSP/1.0 200 OK\r\nContent-Length: 4000000000\r\n\r\n".to_vec(),
                "4000000000-byte body",
            ),
            (
                b"RTSP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n".to_vec(),
                "malformed Content-Length",
            ),
            (
                b"RTSP/1.0 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n".to_vec(),
                "two different",
            ),
            (
                b"RTSP/1.0 200 OK\r\nContent-Length: 14\r\n\r\nm=a\nm=b\nm=c\nxx".to_vec(),
                "3 media sections",
            ),
            (
                b"RTSP/1.0 200 OK\r\nno colon\r\n\r\n".to_vec(),
                "without a colon",
            ),
            (b"\xff\xfe x\r\n\r\n".to_vec(), "not text"),
        ];
        for (input, want) in cases {
            let mut r = UnitReader::new(small);
            let mut result = Ok(Vec::new());
            for chunk in input.chunks(7) {
                r.push(chunk);
                result = all(&mut r);
                assert!(r.buffered() <= small.max_buffered() + 7);
                if result.is_err() {
                    break;
                }
            }
            let e = result.expect_err(want);
            assert!(e.0.contains(want), "{want}: {e}");
            // A failed reader stays failed and holds nothing.
            r.push(b"RTSP/1.0 200 OK\r\n\r\n");
            assert!(r.next_unit().is_err());
            assert_eq!(r.buffered(), 0);
        }
    }

    #[test]
    fn budget_counts_nal_units_and_resets_on_progress() {
        let stap = |n: usize| {
            let mut p = vec![0x80, 96, 0, 1, 0, 0, 0, 9, 0, 0, 0, 1, 24];
            for _ in 0..n {
                p.extend_from_slice(&[0, 1, 0x06]);
            }
            p
        };
        let mut b = FrameBudget::new(TrackCodec::H264, 1 << 20, 10);
        assert_eq!(b.admit(&stap(6), 0), Verdict::Forward);
        assert!(matches!(b.admit(&stap(6), 0), Verdict::Overflow(_)));
        // The client completed a frame: a new count, and the timestamp moved on.
        let mut next = stap(6);
        next[7] = 10;
        assert_eq!(b.admit(&next, 1), Verdict::Forward);
        assert_eq!(
            count_nals(TrackCodec::H265, &[48 << 1, 1, 0, 1, 7, 0, 1, 7]),
            2
        );
        assert_eq!(count_nals(TrackCodec::H265, &[49 << 1, 1, 0x80]), 1);
        assert_eq!(count_nals(TrackCodec::H265, &[49 << 1, 1, 0x00]), 0);
        assert_eq!(count_nals(TrackCodec::Other, &[1, 2, 3]), 0);
    }

    #[test]
    fn rtp_payload_honours_csrc_extension_and_padding() {
        let mut p = vec![0xb1, 96, 0, 1, 0, 0, 0, 5, 0, 0, 0, 1];
        p.extend_from_slice(&[9, 9, 9, 9]); // one CSRC
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 1, 2, 3, 4]); // extension of one word
        p.extend_from_slice(b"data");
        p.extend_from_slice(&[0, 2]); // two bytes of padding
        assert_eq!(rtp_payload(&p), Some((5, &b"data"[..])));
        assert_eq!(rtp_payload(&[0x80; 5]), None);
        assert_eq!(
            rtp_payload(&[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200]),
            None
        );
    }

    #[test]
    fn transports_parse_and_rewrite() {
        let t = TransportSpec::parse(
            "RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=1A2B;mode=\"PLAY\"",
        );
        assert_eq!(t.server_port, Some((6970, 6971)));
        assert_eq!(t.ssrc.as_deref(), Some("1A2B"));
        assert_eq!(
            interleaved_response_transport((2, 3), &t),
            "RTP/AVP/TCP;unicast;interleaved=2-3;ssrc=1A2B;mode=\"PLAY\""
        );
        let t = TransportSpec::parse("RTP/AVP/TCP;unicast;interleaved=0-1");
        assert_eq!(t.interleaved, Some((0, 1)));
        assert_eq!(
            TransportSpec::parse("RTP/AVP;server_port=7000").server_port,
            Some((7000, 7001))
        );
        assert_eq!(
            udp_request_transport(4000),
            "RTP/AVP;unicast;client_port=4000-4001"
        );
    }

    #[test]
    fn rtp_info_loses_only_its_seq() {
        assert_eq!(
            rtp_info_without_seq(
                "url=rtsp://cam/s/trackID=0;seq=14275;rtptime=1234, url=rtsp://cam/s/trackID=1;SEQ=7"
            ),
            "url=rtsp://cam/s/trackID=0;rtptime=1234, url=rtsp://cam/s/trackID=1"
        );
        assert_eq!(rtp_info_without_seq("url=x;rtptime=5"), "url=x;rtptime=5");
    }

    #[test]
    fn digest_is_recomputed_for_the_camera_uri() {
        // RFC 2617's example, RTSP-ified: the same inputs give the same response.
        let header = r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="x", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
        let d = DigestAuth::parse(header).unwrap();
        let again = d
            .for_request("GET", "/dir/index.html", "Circle Of Life")
            .unwrap();
        assert_eq!(
            again.get("response"),
            Some("6629fae49393a05397450978507c4ef1")
        );
        let moved = d
            .for_request("DESCRIBE", "rtsp://cam/x", "Circle Of Life")
            .unwrap();
        assert_eq!(moved.get("uri"), Some("rtsp://cam/x"));
        assert_ne!(moved.get("response"), again.get("response"));
        assert_eq!(DigestAuth::parse(&moved.encode()).unwrap(), moved);
        assert_eq!(
            d.next_request("TEARDOWN", "rtsp://cam/x", "p")
                .unwrap()
                .get("nc"),
            Some("00000002")
        );
        assert!(DigestAuth::parse("Basic abc").is_none());
        assert_eq!(
            rewrite_uri(
                "rtsp://127.0.0.1:9/a?b",
                "rtsp://127.0.0.1:9",
                "rtsp://cam:554"
            ),
            Some("rtsp://cam:554/a?b".into())
        );
        assert_eq!(
            rewrite_uri("rtsp://127.0.0.1:99/a", "rtsp://127.0.0.1:9", "x"),
            None
        );
    }
}

#[cfg(test)]
mod doc_examples {
    /// How `ingest::guard::UnitReader` is used.
    #[test]
    fn unit_reader_example() {
        use crate::ingest::guard::{Limits, Unit, UnitReader};
        let mut r = UnitReader::new(Limits::default());
        r.push(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 3\r\n\r\nv=0$\x00\x00\x02hi");
        let Some(Unit::Message(m)) = r.next_unit().unwrap() else {
            panic!()
        };
        assert_eq!(
            (m.status(), m.cseq(), &m.body[..]),
            (Some(200), Some(1), &b"v=0"[..])
        );
        assert!(matches!(
            r.next_unit().unwrap(),
            Some(Unit::Data { channel: 0, .. })
        ));
        assert_eq!(r.next_unit().unwrap(), None);

        let mut r = UnitReader::new(Limits::default());
        r.push(b"RTSP/1.0 200 OK\r\nContent-Length: 4000000000\r\n\r\n");
        assert!(r.next_unit().unwrap_err().0.contains("Content-Length"));
    }

    /// How `ingest::guard::FrameBudget` is used.
    #[test]
    fn frame_budget_example() {
        use crate::ingest::guard::{FrameBudget, TrackCodec, Verdict};
        let mut b = FrameBudget::new(TrackCodec::H264, 2_000, 100);
        // An FU-A that never ends: 1,000 bytes per packet, same timestamp, no frame completed.
        let fu = |start: bool| {
            let mut p = vec![
                0x80,
                96,
                0,
                1,
                0,
                0,
                0,
                7,
                0,
                0,
                0,
                1,
                0x7c,
                if start { 0x85 } else { 0x05 },
            ];
            p.resize(12 + 1_000, 0);
            p
        };
        assert_eq!(b.admit(&fu(true), 0), Verdict::Forward);
        assert_eq!(b.admit(&fu(false), 0), Verdict::Forward);
        assert!(matches!(b.admit(&fu(false), 0), Verdict::Overflow(_)));
        assert_eq!(b.admit(&fu(false), 0), Verdict::Drop);
        assert_eq!(b.overflows(), 1);
    }
}
