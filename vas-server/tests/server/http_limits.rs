//! Slow and greedy clients against the real server, on the API port and the signaling port:
//! a silent socket, trickled headers, a body that never arrives, a keep-alive connection
//! left idle are each closed by their timeout (set short here with the `--http-*` flags); a
//! client over its connection cap gets a 503 while another address is still served; an
//! absurd `Content-Length` is refused at once.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::common::server::Server;

/// Timeouts the server is started with, in seconds: distinct, so each closure below can only
/// be the work of the timeout it tests (a trickling client keeps the connection busy, so only
/// the header timeout ends it; a silent one is ended by the idle timeout long before).
const HEADER_TIMEOUT: u64 = 8;
const IDLE_TIMEOUT: u64 = 4;
const BODY_TIMEOUT: u64 = 2;
/// Connections one address may hold.
const PER_IP: usize = 8;
/// How much later than its timeout a connection may close (the idle check runs every second,
/// and a debug build under load is slow).
const SLACK: Duration = Duration::from_secs(3);

fn start(dir: &std::path::Path) -> Server {
    Server::start_with(
        dir,
        &[
            "--demo-camera-loop",
            crate::common::server::DEMO_LOOP_SECONDS,
            "--http-header-timeout",
            &HEADER_TIMEOUT.to_string(),
            "--http-idle-timeout",
            &IDLE_TIMEOUT.to_string(),
            "--http-body-timeout",
            &BODY_TIMEOUT.to_string(),
            "--http-max-connections-per-ip",
            &PER_IP.to_string(),
        ],
    )
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// Connects from another loopback address (127.0.0.2), a different client to the server.
fn connect_from_other_address(addr: SocketAddr) -> TcpStream {
    // std cannot bind before connecting; tokio's socket can, and converts back.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let s = sock.connect(addr).await.unwrap();
        let s = s.into_std().unwrap();
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s
    })
}

/// Reads until the server closes; returns what it sent and when it closed.
fn until_closed(mut s: TcpStream) -> (String, Duration) {
    let t = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), t.elapsed())
}

fn check_closed_within(what: &str, took: Duration, limit: u64) {
    eprintln!("{what}: closed after {took:?} (limit {limit} s)");
    assert!(
        took <= Duration::from_secs(limit) + SLACK,
        "{what}: still open after {took:?}"
    );
    assert!(
        took + Duration::from_millis(300) >= Duration::from_secs(limit),
        "{what}: closed too early ({took:?})"
    );
}

fn slow_clients(addr: SocketAddr, port_name: &str) {
    // A silent socket that never sends a request.
    let (_, took) = until_closed(connect(addr));
    check_closed_within(&format!("{port_name}: silent socket"), took, IDLE_TIMEOUT);

    // Headers trickled a byte at a time, never finished.
    let mut s = connect(addr);
    let t = Instant::now();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut closed = false;
    while t.elapsed() < Duration::from_secs(HEADER_TIMEOUT) + SLACK {
        if s.write_all(b"X").is_err() {
            closed = true;
            break;
        }
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut b = [0u8; 512];
        match s.read(&mut b) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(_) => {
                closed = true;
                break;
            }
            Err(_) => {}
        }
    }
    eprintln!(
        "{port_name}: trickled headers: closed = {closed} after {:?}",
        t.elapsed()
    );
    assert!(
        closed,
        "{port_name}: trickled headers kept the connection open"
    );
    check_closed_within(
        &format!("{port_name}: trickled headers"),
        t.elapsed(),
        HEADER_TIMEOUT,
    );

    // A keep-alive connection left idle after one request.
    let mut s = connect(addr);
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let t = Instant::now();
    let mut b = [0u8; 4096];
    let n = s.read(&mut b).unwrap();
    assert!(n > 0);
    let (_, took) = until_closed(s);
    let took = took.max(t.elapsed());
    check_closed_within(&format!("{port_name}: idle keep-alive"), took, IDLE_TIMEOUT);
}

#[test]
fn slow_clients_are_cut_off_on_both_ports() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let api: SocketAddr = format!("127.0.0.1:{}", server.port).parse().unwrap();
    slow_clients(api, "API port");
    let signaling = server.signaling_addr();
    slow_clients(signaling, "signaling port");

    // A body that never arrives: 408, then the connection closes.
    let mut s = connect(api);
    let t = Instant::now();
    s.write_all(
        b"POST /api/v1/devices HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"na",
    )
    .unwrap();
    let (reply, _) = until_closed(s);
    eprintln!(
        "missing body: {:?} after {:?}",
        reply.lines().next(),
        t.elapsed()
    );
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains("did not arrive"), "{reply}");
    assert!(t.elapsed() <= Duration::from_secs(BODY_TIMEOUT) + SLACK);

    // An absurd Content-Length: refused at once, before any body.
    let mut s = connect(api);
    let t = Instant::now();
    s.write_all(
        b"POST /api/v1/devices HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 99999999999\r\n\r\n",
    )
    .unwrap();
    let mut b = [0u8; 4096];
    let n = s.read(&mut b).unwrap();
    let reply = String::from_utf8_lossy(&b[..n]).into_owned();
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    server.stop();
}

#[test]
fn a_client_over_its_connection_cap_is_refused_and_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    for (addr, name) in [
        (
            format!("127.0.0.1:{}", server.port).parse().unwrap(),
            "API port",
        ),
        (server.signaling_addr(), "signaling port"),
    ] {
        let held: Vec<TcpStream> = (0..PER_IP).map(|_| connect(addr)).collect();
        std::thread::sleep(Duration::from_millis(300));
        let (reply, _) = until_closed(connect(addr));
        eprintln!(
            "{name}: connection {} from the same address: {:?}",
            PER_IP + 1,
            reply.lines().next()
        );
        assert!(reply.starts_with("HTTP/1.1 503"), "{name}: {reply}");
        assert!(reply.contains("too many connections"), "{reply}");
        // Another client address is still served.
        let mut other = connect_from_other_address(addr);
        other
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (reply, _) = until_closed(other);
        let first = reply.lines().next().unwrap_or("").to_owned();
        eprintln!("{name}: another address meanwhile: {first:?}");
        assert!(
            first.starts_with("HTTP/1.1 200") || first.starts_with("HTTP/1.1 404"),
            "{name}: {reply}"
        );
        drop(held);
        // Once they are gone, the first address is served again.
        std::thread::sleep(Duration::from_millis(300));
        let mut again = connect(addr);
        again
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (reply, _) = until_closed(again);
        assert!(!reply.starts_with("HTTP/1.1 503"), "{name}: {reply}");
    }
    server.stop();
}
