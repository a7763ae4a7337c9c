//! Real-socket str0m clients for driver scenarios (UDP, or ICE-TCP with RFC 4571 framing).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::hub::Hub;
use crate::sfu::Sfu;
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive, TcpType};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, UdpSocket};
use tokio::sync::mpsc;

use super::chromium_like_config;

/// What a client saw.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    pub connected: bool,
    pub frames: usize,
    pub seqs: BTreeSet<u64>,
}

impl Seen {
    pub fn gaps(&self) -> u64 {
        match (self.seqs.first(), self.seqs.last()) {
            (Some(a), Some(b)) => (b - a + 1) - self.seqs.len() as u64,
            _ => 0,
        }
    }
}

enum Link {
    Udp(UdpSocket),
    Tcp {
        wr: tokio::net::tcp::OwnedWriteHalf,
        rx: mpsc::Receiver<Vec<u8>>,
    },
}

/// A str0m peer on a real socket.
pub struct NetClient {
    rtc: Rtc,
    link: Link,
    local: SocketAddr,
    server: SocketAddr,
    pub seen: Seen,
    /// While set, the TCP reader stops reading (the peer stalls; its window closes).
    pub stall: Arc<AtomicBool>,
}

impl NetClient {
    /// A UDP client of `stream`, admitted by `sfu`.
    pub async fn udp(sfu: &Sfu, stream: &str, hub: &Hub) -> NetClient {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let local = socket.local_addr().expect("addr");
        let candidate = Candidate::host(local, "udp").expect("candidate");
        Self::admit(
            sfu,
            stream,
            hub,
            candidate,
            Link::Udp(socket),
            local,
            Arc::default(),
        )
        .await
    }

    /// An ICE-TCP client of `stream` whose socket receive buffer is `recv_buffer` bytes.
    pub async fn tcp(sfu: &Sfu, stream: &str, hub: &Hub, recv_buffer: u32) -> NetClient {
        let socket = TcpSocket::new_v4().expect("tcp socket");
        socket.set_recv_buffer_size(recv_buffer).expect("rcvbuf");
        let stream_ = socket
            .connect(sfu.local_addr())
            .await
            .expect("ICE-TCP port");
        let local = stream_.local_addr().expect("addr");
        let (mut rd, wr) = stream_.into_split();
        let (tx, rx) = mpsc::channel::<Vec<u8>>(1024);
        let stall: Arc<AtomicBool> = Arc::default();
        let stalled = stall.clone();
        tokio::spawn(async move {
            loop {
                while stalled.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let mut len = [0u8; 2];
                if rd.read_exact(&mut len).await.is_err() {
                    return;
                }
                let mut data = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if rd.read_exact(&mut data).await.is_err() || tx.send(data).await.is_err() {
                    return;
                }
            }
        });
        let candidate = Candidate::builder()
            .tcp()
            .host(local)
            .tcptype(TcpType::Active)
            .build()
            .expect("candidate");
        Self::admit(
            sfu,
            stream,
            hub,
            candidate,
            Link::Tcp { wr, rx },
            local,
            stall,
        )
        .await
    }

    async fn admit(
        sfu: &Sfu,
        stream: &str,
        hub: &Hub,
        candidate: Candidate,
        link: Link,
        local: SocketAddr,
        stall: Arc<AtomicBool>,
    ) -> NetClient {
        let mut rtc = chromium_like_config().build(Instant::now());
        rtc.add_local_candidate(candidate)
            .expect("candidate accepted");
        let mut api = rtc.sdp_api();
        api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        let (offer, pending) = api.apply().expect("offer");
        let (_, answer) = sfu
            .add_viewer(stream, hub, &offer.to_sdp_string())
            .await
            .expect("admitted");
        rtc.sdp_api()
            .accept_answer(
                pending,
                SdpAnswer::from_sdp_string(&answer).expect("answer"),
            )
            .expect("accepted");
        NetClient {
            rtc,
            link,
            local,
            server: sfu.local_addr(),
            seen: Seen::default(),
            stall,
        }
    }

    /// Runs the peer until `until`.
    pub async fn run_until(&mut self, until: Instant) {
        let mut buf = vec![0u8; 2048];
        while Instant::now() < until {
            let timeout = loop {
                match self.rtc.poll_output().expect("poll") {
                    Output::Timeout(t) => break t,
                    Output::Transmit(t) => match &mut self.link {
                        Link::Udp(s) => {
                            let _ = s.send_to(&t.contents, t.destination).await;
                        }
                        Link::Tcp { wr, .. } => {
                            let mut framed = (t.contents.len() as u16).to_be_bytes().to_vec();
                            framed.extend_from_slice(&t.contents);
                            let _ = wr.write_all(&framed).await;
                        }
                    },
                    Output::Event(Event::Connected) => self.seen.connected = true,
                    Output::Event(Event::RtpPacket(p)) => {
                        self.seen.frames += usize::from(p.header.marker);
                        self.seen.seqs.insert(*p.seq_no);
                    }
                    Output::Event(_) => {}
                }
            };
            let wait = timeout
                .min(until)
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            let got: Option<(Protocol, SocketAddr, Vec<u8>)> = match &mut self.link {
                Link::Udp(s) => tokio::select! {
                    r = s.recv_from(&mut buf) => r.ok().map(|(n, from)| (Protocol::Udp, from, buf[..n].to_vec())),
                    _ = tokio::time::sleep(wait) => None,
                },
                Link::Tcp { rx, .. } => tokio::select! {
                    d = rx.recv() => d.map(|d| (Protocol::Tcp, self.server, d)),
                    _ = tokio::time::sleep(wait) => None,
                },
            };
            let input = match &got {
                Some((proto, source, data)) => Input::Receive(
                    Instant::now(),
                    Receive {
                        proto: *proto,
                        source: *source,
                        destination: self.local,
                        contents: data.as_slice().try_into().expect("datagram"),
                    },
                ),
                None => Input::Timeout(Instant::now()),
            };
            self.rtc.handle_input(input).expect("input");
        }
    }
}
