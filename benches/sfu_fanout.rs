//! SFU fan-out load generator: N real WebRTC receivers against one 2 Mbit/s, 30 fps stream.
//!
//! Three roles of this one binary (chosen by `VAS_FANOUT_ROLE`):
//! * **orchestrator** (default): for each N of the ladder, starts a server process pinned to
//!   core 0 and a client process pinned to core 1 (`taskset`), collects one JSON result line
//!   and prints the table. The ladder stops at the first N that loses packets.
//! * **server**: `vas::sfu::Sfu` on loopback fed by a `Hub` with synthetic H.264-like frames
//!   (≈8 KB deltas, ≈60 KB keyframe every 30 frames); a line-based signaling port over TCP
//!   answers offers and reports CPU time, RSS and SFU counters.
//! * **clients**: N str0m peers (real ICE, DTLS, SRTP decrypt over loopback UDP, RTP mode so
//!   no depacketizing), each on its own socket, receiving with `recvmmsg` via quinn-udp and
//!   counting packets and sequence gaps.
//!
//! CPU is the server process's own time (`/proc/self/stat`), so other work on the machine
//! does not inflate it (but can still delay the server and show in the latency columns).
//! Loopback makes the sender also pay for delivering into the clients' sockets where the
//! kernel does that in the sending context.
//!
//! Run: `cargo bench -p vas-benches --bench sfu_fanout` (env: `VAS_FANOUT_N=50,100,200`,
//! `VAS_FANOUT_SECS=10`, `VAS_FANOUT_NACK_PACKETS=512` for the retransmit cache size).
#![allow(clippy::print_stdout)]

use std::io::{BufRead, BufReader, IoSliceMut, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use quinn_udp::{RecvMeta, UdpSocketState};
use serde_json::{Value, json};
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, RtcConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, Interest};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use vas::_internal_test_exports::hub::{Hub, HubConfig};
use vas::_internal_test_exports::media::{
    Frame, Track, VideoCodec, VideoParams, push_length_prefixed,
};
use vas::_internal_test_exports::sfu::{CoreConfig, Sfu, SfuConfig};

/// Default ladder of viewer counts.
const DEFAULT_LADDER: &str = "50,100,200,300,400";
/// Default measurement window.
const DEFAULT_SECS: u64 = 10;
/// Time after all clients connected before measuring.
const WARMUP: Duration = Duration::from_secs(3);
/// Time allowed for all clients to connect.
const CONNECT_LIMIT: Duration = Duration::from_secs(60);
/// Loss above this fraction ends the ladder (0.1 %).
const LOSS_LIMIT: f64 = 0.001;
/// Frames per second of the synthetic camera.
const FPS: u64 = 30;
/// Frames per GOP.
const GOP: u64 = 30;
/// Keyframe and delta frame sizes.
const KEYFRAME_BYTES: usize = 60_000;
const DELTA_BYTES: usize = 8_000;
/// Receive slots per recvmmsg call in a client.
const RECV_BATCH: usize = 32;
/// Core the server is pinned to, and the clients' core.
const SERVER_CORE: usize = 0;
const CLIENT_CORE: usize = 1;
/// Egress delay above which an N counts as not sustained (keyframe bursts included).
const DELAY_P99_LIMIT_MS: f64 = 100.0;
/// Clock ticks per second of /proc/self/stat (Linux: USER_HZ).
const USER_HZ: f64 = 100.0;

fn main() {
    match std::env::var("VAS_FANOUT_ROLE").as_deref() {
        Ok("server") => server_main(),
        Ok("clients") => clients_main(),
        _ => orchestrate(),
    }
}

// ---------------------------------------------------------------------------------------------
// Orchestrator

fn spawn_role(role: &str, core: usize, env: &[(&str, String)]) -> Child {
    let exe = std::env::current_exe().expect("own path");
    let pinned = Command::new("taskset").arg("--version").output().is_ok();
    let mut cmd = if pinned {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(core.to_string()).arg(&exe);
        c
    } else {
        eprintln!("taskset not found: running unpinned");
        Command::new(&exe)
    };
    cmd.env("VAS_FANOUT_ROLE", role)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn role")
}

fn read_line(child: &mut Child) -> String {
    let out = child.stdout.as_mut().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(out)
        .read_line(&mut line)
        .expect("read role output");
    line.trim().to_string()
}

fn orchestrate() {
    let ladder: Vec<usize> = std::env::var("VAS_FANOUT_N")
        .unwrap_or_else(|_| DEFAULT_LADDER.into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let secs: u64 = std::env::var("VAS_FANOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SECS);
    println!("sfu_fanout: server on core 0, clients on core 1, {secs} s windows");
    println!(
        "{:>5} {:>7} {:>8} {:>9} {:>7} {:>10} {:>7} {:>7} {:>7} {:>5}",
        "N",
        "loss%",
        "srv CPU",
        "CPU/view",
        "MB/view",
        "pkt/s/core",
        "v/core",
        "p50 ms",
        "p99 ms",
        "gso"
    );
    let mut best: Option<Value> = None;
    for n in ladder {
        let mut server = spawn_role("server", SERVER_CORE, &[]);
        let ready = read_line(&mut server);
        let signal = ready
            .strip_prefix("READY ")
            .expect("server READY")
            .to_string();
        let mut clients = spawn_role(
            "clients",
            CLIENT_CORE,
            &[
                ("VAS_FANOUT_SIGNAL", signal),
                ("VAS_FANOUT_COUNT", n.to_string()),
                ("VAS_FANOUT_SECS", secs.to_string()),
            ],
        );
        let result = read_line(&mut clients);
        let _ = clients.wait();
        let _ = server.kill();
        let _ = server.wait();
        let r: Value = match serde_json::from_str(&result) {
            Ok(v) => v,
            Err(_) => {
                println!("{n:>5} failed: {result}");
                break;
            }
        };
        let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
        let window = f("window_s");
        let cpu = f("server_cpu_s") / window; // fraction of one core
        let per_view = cpu / n as f64;
        let mb_per_view = (f("rss_end") - f("rss_start")) / n as f64 / 1e6;
        let pps = f("datagrams_sent") / window;
        let loss = f("loss");
        let p99_ms = f("delay_p99_us") / 1000.0;
        println!(
            "{:>5} {:>7.3} {:>7.1}% {:>8.4}% {:>7.3} {:>10.0} {:>7.0} {:>7.2} {:>7.2} {:>5.1}",
            n,
            loss * 100.0,
            cpu * 100.0,
            per_view * 100.0,
            mb_per_view,
            pps / cpu,
            1.0 / per_view,
            f("delay_p50_us") / 1000.0,
            p99_ms,
            f("datagrams_sent") / f("send_calls"),
        );
        let sustained = f("connected") >= n as f64
            && !loss.is_nan()
            && loss <= LOSS_LIMIT
            && p99_ms <= DELAY_P99_LIMIT_MS;
        if !sustained {
            println!(
                "{n:>5} viewers not sustained (connected {} of {n}, loss {:.4} %, p99 {p99_ms:.1} ms) — ladder ends",
                f("connected"),
                loss * 100.0
            );
            break;
        }
        best = Some(r);
    }
    match best {
        Some(r) => println!(
            "largest sustained N (lossless, p99 ≤ {DELAY_P99_LIMIT_MS} ms): {} (client CPU {:.0} % of core 1)",
            r["n"],
            r["client_cpu_s"].as_f64().unwrap_or(0.0) / r["window_s"].as_f64().unwrap_or(1.0)
                * 100.0
        ),
        None => println!("no sustained N"),
    }
}

// ---------------------------------------------------------------------------------------------
// Server

fn proc_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / USER_HZ
}

fn proc_rss_bytes() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb * 1024.0)
}

fn params() -> Arc<VideoParams> {
    Arc::new(VideoParams {
        codec: VideoCodec::H264,
        width: 1280,
        height: 720,
        vps: None,
        sps: Bytes::from_static(&[0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40]),
        pps: Bytes::from_static(&[0x68, 0xeb, 0xe3, 0xcb]),
        rfc6381_codec: "avc1.64001F".into(),
    })
}

fn server_main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let sfu = Sfu::start(SfuConfig {
            bind: "127.0.0.1:0".parse().expect("addr"),
            ice_tcp: false,
            core: CoreConfig {
                max_viewers_per_stream: 10_000,
                max_viewers: 10_000,
                nack_cache_packets: std::env::var("VAS_FANOUT_NACK_PACKETS")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(vas::_internal_test_exports::sfu::DEFAULT_NACK_CACHE_PACKETS),
                ..CoreConfig::default()
            },
            ..SfuConfig::default()
        })
        .await
        .expect("sfu");
        let sfu = Arc::new(sfu);
        let hub = Hub::new(HubConfig::default());
        let feeder = hub.clone();
        tokio::spawn(async move {
            let params = params();
            let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / FPS));
            let mut n: u64 = 0;
            loop {
                tick.tick().await;
                let keyframe = n.is_multiple_of(GOP);
                let mut data = Vec::with_capacity(KEYFRAME_BYTES + 8);
                let size = if keyframe {
                    KEYFRAME_BYTES
                } else {
                    DELTA_BYTES
                };
                let mut unit = vec![0xA5u8; size];
                unit[0] = if keyframe { 0x65 } else { 0x41 };
                push_length_prefixed(&mut data, &unit);
                feeder.publish(Frame {
                    track: Track::Video(params.clone()),
                    pts: (n * 90_000 / FPS) as i64,
                    keyframe,
                    data: data.into(),
                    epoch: 0,
                    wallclock: chrono::Utc::now(),
                });
                n += 1;
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("signal port");
        println!("READY {}", listener.local_addr().expect("addr"));
        std::io::stdout().flush().expect("stdout");
        let (stream, _) = listener.accept().await.expect("clients connect");
        let (rd, mut wr) = stream.into_split();
        let mut lines = tokio::io::BufReader::new(rd).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let reply = if let Some(offer) = line.strip_prefix("OFFER ") {
                let offer: String = serde_json::from_str(offer).expect("json offer");
                match sfu.add_viewer("bench", &hub, &offer).await {
                    Ok((_, answer)) => format!("ANSWER {}", json!(answer)),
                    Err(e) => format!("ERROR {}", json!(e.to_string())),
                }
            } else if line == "RESET" {
                sfu.reset_egress_delay();
                "OK".to_string()
            } else if line == "STATS" {
                let s = sfu.stats();
                json!({
                    "cpu_s": proc_cpu_seconds(),
                    "rss": proc_rss_bytes(),
                    "viewers": s.viewers,
                    "datagrams_sent": s.datagrams_sent,
                    "send_calls": s.send_calls,
                    "send_errors": s.send_errors,
                    "dropped": s.core.dropped_datagrams,
                    "delay_p50_us": s.egress_delay_p50_us,
                    "delay_p99_us": s.egress_delay_p99_us,
                })
                .to_string()
            } else {
                break;
            };
            if wr.write_all(format!("{reply}\n").as_bytes()).await.is_err() {
                break;
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Clients

#[derive(Default)]
struct Counters {
    connected: AtomicU64,
    packets: AtomicU64,
    expected: AtomicU64,
}

fn chromium_like() -> RtcConfig {
    let mut cfg = RtcConfig::new().clear_codecs().set_rtp_mode(true);
    let cc = cfg.codec_config();
    cc.add_h264(102.into(), Some(103.into()), true, 0x42001f);
    cc.add_h264(108.into(), Some(109.into()), true, 0x42e01f);
    cc.add_h264(116.into(), Some(117.into()), true, 0x4d001f);
    cfg
}

async fn signal(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>>,
    wr: &mut tokio::net::tcp::OwnedWriteHalf,
    msg: &str,
) -> String {
    wr.write_all(format!("{msg}\n").as_bytes())
        .await
        .expect("signal write");
    lines
        .next_line()
        .await
        .expect("signal read")
        .expect("signal line")
}

fn clients_main() {
    let addr: SocketAddr = std::env::var("VAS_FANOUT_SIGNAL")
        .expect("signal")
        .parse()
        .expect("addr");
    let n: usize = std::env::var("VAS_FANOUT_COUNT")
        .expect("count")
        .parse()
        .expect("n");
    let secs: u64 = std::env::var("VAS_FANOUT_SECS")
        .expect("secs")
        .parse()
        .expect("secs");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = rt.block_on(async move {
        let (rd, mut wr) = TcpStream::connect(addr).await.expect("signal").into_split();
        let mut lines = tokio::io::BufReader::new(rd).lines();
        let before: Value =
            serde_json::from_str(&signal(&mut lines, &mut wr, "STATS").await).expect("stats");
        let counters = Arc::new(Counters::default());
        for _ in 0..n {
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
            let state = UdpSocketState::new((&socket).into()).expect("socket state");
            let socket = UdpSocket::from_std(socket).expect("tokio socket");
            let local = socket.local_addr().expect("addr");
            let mut rtc = chromium_like().build(Instant::now());
            rtc.add_local_candidate(Candidate::host(local, "udp").expect("candidate"));
            let mut api = rtc.sdp_api();
            api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
            let (offer, pending) = api.apply().expect("offer");
            let reply = signal(
                &mut lines,
                &mut wr,
                &format!("OFFER {}", json!(offer.to_sdp_string())),
            )
            .await;
            let Some(answer) = reply.strip_prefix("ANSWER ") else {
                eprintln!("offer refused: {reply}");
                break;
            };
            let answer: String = serde_json::from_str(answer).expect("json answer");
            rtc.sdp_api()
                .accept_answer(
                    pending,
                    SdpAnswer::from_sdp_string(&answer).expect("answer"),
                )
                .expect("accept");
            tokio::spawn(run_client(rtc, socket, state, local, counters.clone()));
        }
        let start = Instant::now();
        while counters.connected.load(Ordering::Relaxed) < n as u64
            && start.elapsed() < CONNECT_LIMIT
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(WARMUP).await;
        signal(&mut lines, &mut wr, "RESET").await;
        let s0: Value =
            serde_json::from_str(&signal(&mut lines, &mut wr, "STATS").await).expect("stats");
        let (p0, e0) = (
            counters.packets.load(Ordering::Relaxed),
            counters.expected.load(Ordering::Relaxed),
        );
        let c0 = proc_cpu_seconds();
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let window = t0.elapsed().as_secs_f64();
        let s1: Value =
            serde_json::from_str(&signal(&mut lines, &mut wr, "STATS").await).expect("stats");
        let (p1, e1) = (
            counters.packets.load(Ordering::Relaxed),
            counters.expected.load(Ordering::Relaxed),
        );
        let client_cpu = proc_cpu_seconds() - c0;
        let got = p1 - p0;
        let expected = (e1 - e0).max(1);
        let g = |v: &Value, k: &str| v[k].as_f64().unwrap_or(0.0);
        json!({
            "n": n,
            "connected": counters.connected.load(Ordering::Relaxed),
            "window_s": window,
            "server_cpu_s": g(&s1, "cpu_s") - g(&s0, "cpu_s"),
            "client_cpu_s": client_cpu,
            "rss_start": g(&before, "rss"),
            "rss_end": g(&s1, "rss"),
            "datagrams_sent": g(&s1, "datagrams_sent") - g(&s0, "datagrams_sent"),
            "send_calls": g(&s1, "send_calls") - g(&s0, "send_calls"),
            "dropped": g(&s1, "dropped") - g(&s0, "dropped"),
            "packets_received": got,
            "expected": expected,
            "loss": (1.0 - got as f64 / expected as f64).max(0.0),
            "delay_p50_us": s1["delay_p50_us"],
            "delay_p99_us": s1["delay_p99_us"],
        })
    });
    println!("{result}");
}

/// Tracks the highest extended sequence number seen, to count expected packets.
#[derive(Default)]
struct SeqTrack {
    max: Option<u64>,
}

impl SeqTrack {
    fn packet(&mut self, seq: u64, counters: &Counters) {
        counters.packets.fetch_add(1, Ordering::Relaxed);
        match self.max {
            Some(m) if seq > m => {
                counters.expected.fetch_add(seq - m, Ordering::Relaxed);
                self.max = Some(seq);
            }
            // A late (retransmitted) packet: it was already counted as expected.
            Some(_) => {}
            None => {
                counters.expected.fetch_add(1, Ordering::Relaxed);
                self.max = Some(seq);
            }
        }
    }
}

/// Drains the client's output; the next timeout, or None if the peer ended.
fn drain(
    rtc: &mut str0m::Rtc,
    socket: &UdpSocket,
    counters: &Counters,
    seq: &mut SeqTrack,
) -> Option<Instant> {
    loop {
        match rtc.poll_output() {
            Ok(Output::Timeout(t)) => return rtc.is_alive().then_some(t),
            Ok(Output::Transmit(t)) => {
                let _ = socket.try_send_to(&t.contents, t.destination);
            }
            Ok(Output::Event(Event::Connected)) => {
                counters.connected.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Output::Event(Event::RtpPacket(p))) => seq.packet(*p.seq_no, counters),
            Ok(Output::Event(_)) => {}
            Err(_) => return None,
        }
    }
}

async fn run_client(
    mut rtc: str0m::Rtc,
    socket: UdpSocket,
    state: UdpSocketState,
    local: SocketAddr,
    counters: Arc<Counters>,
) {
    // With GRO the kernel coalesces a GSO burst into one buffer of `stride`-sized datagrams.
    let slot = 2048 * state.gro_segments().max(1);
    let mut bufs = vec![vec![0u8; slot]; RECV_BATCH];
    let mut metas = vec![RecvMeta::default(); RECV_BATCH];
    let mut seq = SeqTrack::default();
    while let Some(timeout) = drain(&mut rtc, &socket, &counters, &mut seq) {
        tokio::select! {
            r = socket.readable() => {
                if r.is_err() {
                    return;
                }
                let mut slices: Vec<IoSliceMut<'_>> =
                    bufs.iter_mut().map(|b| IoSliceMut::new(b)).collect();
                let got = socket.try_io(Interest::READABLE, || {
                    state.recv((&socket).into(), &mut slices, &mut metas)
                });
                drop(slices);
                let Ok(count) = got else { continue };
                let now = Instant::now();
                let datagrams = metas.iter().zip(bufs.iter()).take(count).flat_map(|(meta, buf)| {
                    buf[..meta.len].chunks(meta.stride.max(1)).map(move |d| (meta, d))
                });
                for (meta, datagram) in datagrams {
                    let Ok(contents) = datagram.try_into() else {
                        continue;
                    };
                    let input = Input::Receive(now, Receive {
                        proto: Protocol::Udp,
                        source: meta.addr,
                        destination: local,
                        contents,
                    });
                    if rtc.handle_input(input).is_ok() {
                        // Drain after each datagram (DTLS keys before SRTP, RTP events).
                        if drain(&mut rtc, &socket, &counters, &mut seq).is_none() {
                            return;
                        }
                    }
                }
            }
            _ = tokio::time::sleep_until(timeout.into()) => {
                if rtc.handle_input(Input::Timeout(Instant::now())).is_err() {
                    return;
                }
            }
        }
    }
}
