//! RTSP/1.0 (RFC 2326) messages on the wire: parsing requests, writing responses.
//!
//! Owns the sans-IO request parser (bounded header and body size, interleaved `$` frames from
//! clients, stray line breaks between requests), the response writer, and the small header
//! grammars the server reads (`Transport`, `Session`, request URLs). It must never block, do
//! I/O or panic on any input: garbage is a [`ParseError`] that maps to a 4xx/5xx status.

use bytes::{BufMut, Bytes, BytesMut};

/// Largest request head (request line plus headers) accepted.
pub(crate) const MAX_HEADER_BYTES: usize = 8 * 1024;
/// Largest request body accepted (SET_PARAMETER / GET_PARAMETER bodies are tiny).
pub(crate) const MAX_BODY_BYTES: usize = 4 * 1024;
/// Most header lines accepted in one request.
pub(crate) const MAX_HEADERS: usize = 64;

/// An RTSP method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Method {
    /// OPTIONS.
    Options,
    /// DESCRIBE.
    Describe,
    /// SETUP.
    Setup,
    /// PLAY.
    Play,
    /// PAUSE.
    Pause,
    /// TEARDOWN.
    Teardown,
    /// GET_PARAMETER (also used as a keepalive).
    GetParameter,
    /// SET_PARAMETER.
    SetParameter,
    /// Any other well-formed method name.
    Other(String),
}

impl Method {
    fn parse(token: &str) -> Method {
        match token {
            "OPTIONS" => Method::Options,
            "DESCRIBE" => Method::Describe,
            "SETUP" => Method::Setup,
            "PLAY" => Method::Play,
            "PAUSE" => Method::Pause,
            "TEARDOWN" => Method::Teardown,
            "GET_PARAMETER" => Method::GetParameter,
            "SET_PARAMETER" => Method::SetParameter,
            other => Method::Other(other.to_owned()),
        }
    }

    /// The method name as sent on the wire.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Method::Options => "OPTIONS",
            Method::Describe => "DESCRIBE",
            Method::Setup => "SETUP",
            Method::Play => "PLAY",
            Method::Pause => "PAUSE",
            Method::Teardown => "TEARDOWN",
            Method::GetParameter => "GET_PARAMETER",
            Method::SetParameter => "SET_PARAMETER",
            Method::Other(s) => s,
        }
    }
}

/// The methods the server implements, for the `Public` header.
pub(crate) const PUBLIC_METHODS: &str =
    "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

/// One parsed request.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// The method.
    pub(crate) method: Method,
    /// The request URI exactly as sent.
    pub(crate) uri: String,
    /// Headers in order, names as sent.
    pub(crate) headers: Vec<(String, String)>,
    /// The body (empty when there is none).
    pub(crate) body: Bytes,
}

impl Request {
    /// The first header named `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `CSeq` header.
    pub(crate) fn cseq(&self) -> Option<&str> {
        self.header("CSeq")
    }

    /// The session id from the `Session` header (without `;timeout=`).
    pub(crate) fn session_id(&self) -> Option<&str> {
        self.header("Session")
            .map(|v| v.split(';').next().unwrap_or("").trim())
            .filter(|s| !s.is_empty())
    }
}

/// What the client sent next on the connection.
#[derive(Debug)]
pub(crate) enum Input {
    /// An RTSP request.
    Request(Request),
    /// An interleaved binary frame (`$`, channel, length, data), e.g. RTCP receiver reports.
    Interleaved {
        /// The interleaved channel.
        channel: u8,
    },
}

/// Why a request could not be parsed; the connection answers with [`ParseError::status`] and
/// closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// The head is longer than [`MAX_HEADER_BYTES`] or has more than [`MAX_HEADERS`] lines.
    HeaderTooLarge,
    /// `Content-Length` is above [`MAX_BODY_BYTES`].
    BodyTooLarge,
    /// The version is not RTSP/1.0.
    UnsupportedVersion,
    /// Not an RTSP request at all.
    Malformed(&'static str),
}

impl ParseError {
    /// The status code to answer with.
    pub(crate) fn status(&self) -> u16 {
        match self {
            ParseError::HeaderTooLarge | ParseError::BodyTooLarge => 413,
            ParseError::UnsupportedVersion => 505,
            ParseError::Malformed(_) => 400,
        }
    }
}

/// Parses the next input at the start of `buf`. Returns the input and how many bytes it took,
/// `Ok(None)` when more bytes are needed, or an error when the bytes can never become a valid
/// request.
pub(crate) fn parse(buf: &[u8]) -> Result<Option<(Input, usize)>, ParseError> {
    // Stray line breaks between requests are allowed (RFC 2326 §15.1 keeps HTTP's leniency).
    let skip = buf
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    let buf = &buf[skip..];
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] == b'$' {
        if buf.len() < 4 {
            return Ok(None);
        }
        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        if buf.len() < 4 + len {
            return Ok(None);
        }
        return Ok(Some((
            Input::Interleaved { channel: buf[1] },
            skip + 4 + len,
        )));
    }

    let Some(head_len) = find_head_end(buf) else {
        return if buf.len() >= MAX_HEADER_BYTES {
            Err(ParseError::HeaderTooLarge)
        } else {
            Ok(None)
        };
    };
    let head = std::str::from_utf8(&buf[..head_len])
        .map_err(|_| ParseError::Malformed("request is not UTF-8"))?;
    let mut lines = head.lines().map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split_ascii_whitespace();
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::Malformed(
            "request line is not METHOD URI VERSION",
        ));
    };
    if !method
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b == b'_' || b == b'-' || b.is_ascii_digit())
    {
        return Err(ParseError::Malformed("method is not a token"));
    }
    if !version.starts_with("RTSP/") {
        return Err(ParseError::Malformed("not an RTSP request"));
    }
    if version != "RTSP/1.0" {
        return Err(ParseError::UnsupportedVersion);
    }
    let mut headers = Vec::new();
    for line in lines.take_while(|l| !l.is_empty()) {
        if headers.len() == MAX_HEADERS {
            return Err(ParseError::HeaderTooLarge);
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ParseError::Malformed("header line without a colon"));
        };
        let name = name.trim();
        if name.is_empty()
            || name
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(ParseError::Malformed("bad header name"));
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let body_len = match headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
    {
        None => 0,
        Some((_, v)) => v
            .parse::<usize>()
            .map_err(|_| ParseError::Malformed("bad Content-Length"))?,
    };
    if body_len > MAX_BODY_BYTES {
        return Err(ParseError::BodyTooLarge);
    }
    if buf.len() < head_len + body_len {
        return Ok(None);
    }
    let request = Request {
        method: Method::parse(method),
        uri: uri.to_owned(),
        headers,
        body: Bytes::copy_from_slice(&buf[head_len..head_len + body_len]),
    };
    Ok(Some((Input::Request(request), skip + head_len + body_len)))
}

/// Length of the head (through the blank line), looking no further than [`MAX_HEADER_BYTES`].
fn find_head_end(buf: &[u8]) -> Option<usize> {
    let limit = buf.len().min(MAX_HEADER_BYTES);
    let mut line_start = 0;
    for (i, &b) in buf[..limit].iter().enumerate() {
        if b != b'\n' {
            continue;
        }
        let line = &buf[line_start..i];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() && line_start > 0 {
            return Some(i + 1);
        }
        line_start = i + 1;
    }
    None
}

/// The reason phrase of a status code the server uses.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Request Entity Too Large",
        454 => "Session Not Found",
        455 => "Method Not Valid in This State",
        459 => "Aggregate Operation Not Allowed",
        461 => "Unsupported Transport",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "RTSP Version Not Supported",
        _ => "Unknown",
    }
}

/// A response being built.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    /// Status code.
    pub(crate) status: u16,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
}

impl Response {
    /// A response with `status` and no headers yet.
    pub(crate) fn new(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Sets the body and its `Content-Type`.
    pub(crate) fn body(mut self, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        self.headers.push(("Content-Type", content_type.to_owned()));
        self.body = body.into();
        self
    }

    /// The wire form.
    pub(crate) fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(256 + self.body.len());
        b.put_slice(format!("RTSP/1.0 {} {}\r\n", self.status, reason(self.status)).as_bytes());
        for (n, v) in &self.headers {
            // A header value never carries a line break into the response.
            let v: String = v.chars().filter(|c| *c != '\r' && *c != '\n').collect();
            b.put_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        if !self.body.is_empty() {
            b.put_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        b.put_slice(b"\r\n");
        b.put_slice(&self.body);
        b.freeze()
    }
}

/// The path of a request URI (`rtsp://user@host:port/a/b?q` → `/a/b`), or `None` for `*` and
/// URIs that are not `rtsp://` or absolute paths.
pub(crate) fn uri_path(uri: &str) -> Option<&str> {
    let rest = if let Some(r) = uri
        .strip_prefix("rtsp://")
        .or_else(|| uri.strip_prefix("RTSP://"))
        .or_else(|| uri.strip_prefix("rtspt://"))
    {
        match r.find('/') {
            Some(i) => &r[i..],
            None => "/",
        }
    } else if uri.starts_with('/') {
        uri
    } else {
        return None;
    };
    Some(rest.split(['?', '#']).next().unwrap_or(rest))
}

/// What a client asked for in its `Transport` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportRequest {
    /// RTP/AVP/TCP interleaved on the RTSP connection; channels if the client chose them.
    Interleaved {
        /// RTP and RTCP channel.
        channels: Option<(u8, u8)>,
    },
    /// RTP/AVP over UDP unicast to these client ports.
    Udp {
        /// RTP and RTCP port.
        client_ports: (u16, u16),
    },
}

/// The first transport in `value` that the server supports (unicast RTP/AVP over TCP
/// interleaved, or over UDP with `client_port`), or `None`.
pub(crate) fn parse_transport(value: &str) -> Option<TransportRequest> {
    value.split(',').find_map(parse_transport_spec)
}

fn parse_transport_spec(spec: &str) -> Option<TransportRequest> {
    let mut params = spec.split(';').map(str::trim);
    let profile = params.next()?;
    let tcp = match profile.to_ascii_uppercase().as_str() {
        "RTP/AVP" | "RTP/AVP/UDP" => false,
        "RTP/AVP/TCP" => true,
        _ => return None,
    };
    let mut interleaved = None;
    let mut client_port = None;
    for p in params {
        let (key, val) = p.split_once('=').unwrap_or((p, ""));
        match key.to_ascii_lowercase().as_str() {
            "multicast" => return None,
            "interleaved" => interleaved = Some(parse_pair(val)?),
            "client_port" => client_port = Some(parse_pair(val)?),
            _ => {}
        }
    }
    if tcp {
        let channels = match interleaved {
            None => None,
            Some((a, b)) => Some((u8::try_from(a).ok()?, u8::try_from(b).ok()?)),
        };
        Some(TransportRequest::Interleaved { channels })
    } else {
        let (a, b) = client_port?;
        (a != 0).then_some(TransportRequest::Udp {
            client_ports: (a, b),
        })
    }
}

/// `a-b` or `a` (meaning `a-(a+1)`) as a pair of numbers.
fn parse_pair(val: &str) -> Option<(u16, u16)> {
    match val.split_once('-') {
        Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
        None => {
            let a: u16 = val.trim().parse().ok()?;
            Some((a, a.checked_add(1)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(text: &str) -> (Request, usize) {
        match parse(text.as_bytes()).unwrap() {
            Some((Input::Request(r), n)) => (r, n),
            other => panic!("expected a request, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_request_with_headers() {
        let text = "DESCRIBE rtsp://127.0.0.1:8554/synthetic RTSP/1.0\r\nCSeq: 2\r\nAccept:application/sdp\r\nUser-Agent: Lavf\r\n\r\n";
        let (r, n) = req(text);
        assert_eq!(n, text.len());
        assert_eq!(r.method, Method::Describe);
        assert_eq!(r.uri, "rtsp://127.0.0.1:8554/synthetic");
        assert_eq!(r.cseq(), Some("2"));
        assert_eq!(r.header("accept"), Some("application/sdp"));
        assert!(r.body.is_empty());
    }

    #[test]
    fn waits_for_the_whole_head_and_body() {
        let text = "SET_PARAMETER rtsp://h/p RTSP/1.0\r\nCSeq: 9\r\nContent-Length: 5\r\n\r\nhello";
        for cut in 0..text.len() {
            assert!(
                parse(&text.as_bytes()[..cut]).unwrap().is_none(),
                "cut at {cut}"
            );
        }
        let (r, n) = req(text);
        assert_eq!(n, text.len());
        assert_eq!(&r.body[..], b"hello");
    }

    #[test]
    fn two_requests_back_to_back_and_bare_newlines() {
        let text = "\r\nOPTIONS * RTSP/1.0\nCSeq: 1\n\nOPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n";
        let (r1, n1) = req(text);
        assert_eq!(r1.cseq(), Some("1"));
        let (r2, n2) = req(&text[n1..]);
        assert_eq!(r2.cseq(), Some("2"));
        assert_eq!(n1 + n2, text.len());
    }

    #[test]
    fn interleaved_frames_are_skipped_whole() {
        let mut buf = vec![b'$', 1, 0, 3, 0xAA, 0xBB];
        assert!(parse(&buf).unwrap().is_none());
        buf.push(0xCC);
        buf.extend_from_slice(b"OPTIONS");
        match parse(&buf).unwrap() {
            Some((Input::Interleaved { channel: 1 }, 7)) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_is_a_clear_error_never_a_panic() {
        let cases: &[(&[u8], u16)] = &[
            (b"GET / HTTP/1.1\r\n\r\n", 400),
            (b"hello\r\n\r\n", 400),
            (b"OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n", 505),
            (b"OPTIONS * RTSP/1.0\r\nno colon here\r\n\r\n", 400),
            (b"OPTIONS * RTSP/1.0\r\nContent-Length: x\r\n\r\n", 400),
            (b"OPTIONS * RTSP/1.0\r\nContent-Length: 999999\r\n\r\n", 413),
            (b"OPT\xffIONS * RTSP/1.0\r\n\r\n", 400),
            (b"options * RTSP/1.0\r\n\r\n", 400),
            (b"OPTIONS * RTSP/1.0 extra\r\n\r\n", 400),
        ];
        for (input, status) in cases {
            let e = parse(input).expect_err(&String::from_utf8_lossy(input));
            assert_eq!(e.status(), *status, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn head_size_and_header_count_are_bounded() {
        let big = vec![b'A'; MAX_HEADER_BYTES + 1];
        assert_eq!(parse(&big).unwrap_err(), ParseError::HeaderTooLarge);
        let mut many = String::from("OPTIONS * RTSP/1.0\r\n");
        for i in 0..=MAX_HEADERS {
            many.push_str(&format!("X-{i}: y\r\n"));
        }
        many.push_str("\r\n");
        assert_eq!(
            parse(many.as_bytes()).unwrap_err(),
            ParseError::HeaderTooLarge
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic fuzz: every prefix of mangled requests.
        let seed = b"SETUP rtsp://h:1/p/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\nContent-Length: 2\r\n\r\nab$\x00\x00\x01x";
        let mut x: u32 = 1;
        for round in 0..2_000 {
            let mut v = seed.to_vec();
            for _ in 0..(round % 7) {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let i = (x as usize >> 8) % v.len();
                v[i] = (x >> 16) as u8;
            }
            let mut at = 0;
            while let Ok(Some((_, n))) = parse(&v[at..]) {
                assert!(n > 0);
                at += n;
            }
        }
    }

    #[test]
    fn response_wire_form() {
        let r = Response::new(200)
            .header("CSeq", "3")
            .body("application/sdp", "v=0\r\n");
        let text = String::from_utf8(r.to_bytes().to_vec()).unwrap();
        assert_eq!(
            text,
            "RTSP/1.0 200 OK\r\nCSeq: 3\r\nContent-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n"
        );
        let r = Response::new(454).header("CSeq", "1\r\nEvil: yes");
        let text = String::from_utf8(r.to_bytes().to_vec()).unwrap();
        assert_eq!(
            text,
            "RTSP/1.0 454 Session Not Found\r\nCSeq: 1Evil: yes\r\n\r\n"
        );
    }

    #[test]
    fn uri_paths() {
        assert_eq!(
            uri_path("rtsp://127.0.0.1:8554/synthetic"),
            Some("/synthetic")
        );
        assert_eq!(
            uri_path("rtsp://u:p@h/synthetic/trackID=1?x=1"),
            Some("/synthetic/trackID=1")
        );
        assert_eq!(uri_path("rtsp://h:1"), Some("/"));
        assert_eq!(uri_path("/a"), Some("/a"));
        assert_eq!(uri_path("*"), None);
        assert_eq!(uri_path("http://h/a"), None);
    }

    #[test]
    fn transports() {
        use TransportRequest::*;
        assert_eq!(
            parse_transport("RTP/AVP/TCP;unicast;interleaved=2-3"),
            Some(Interleaved {
                channels: Some((2, 3))
            })
        );
        assert_eq!(
            parse_transport("RTP/AVP/TCP;unicast"),
            Some(Interleaved { channels: None })
        );
        assert_eq!(
            parse_transport("RTP/AVP/UDP;unicast;client_port=5000-5001"),
            Some(Udp {
                client_ports: (5000, 5001)
            })
        );
        assert_eq!(
            parse_transport("RTP/AVP;unicast;client_port=5000"),
            Some(Udp {
                client_ports: (5000, 5001)
            })
        );
        // Multicast is skipped in favour of the next acceptable spec.
        assert_eq!(
            parse_transport("RTP/AVP;multicast,RTP/AVP/TCP;interleaved=0-1"),
            Some(Interleaved {
                channels: Some((0, 1))
            })
        );
        assert_eq!(parse_transport("RTP/AVP;unicast"), None);
        assert_eq!(parse_transport("RTP/AVP/TCP;interleaved=300-301"), None);
        assert_eq!(parse_transport("RAW/RAW/UDP"), None);
        assert_eq!(parse_transport(""), None);
    }

    #[test]
    fn session_header_drops_timeout() {
        let (r, _) = req("PLAY * RTSP/1.0\r\nCSeq: 5\r\nSession: ABC;timeout=60\r\n\r\n");
        assert_eq!(r.session_id(), Some("ABC"));
        assert_eq!(r.method.as_str(), "PLAY");
    }
}
