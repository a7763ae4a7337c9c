//! In-memory harness for SFU scenarios: the sans-IO [`SfuCore`] and str0m client peers wired
//! together without sockets, moved forward on a simulated clock (str0m `tests/common.rs`
//! style). Clients are configured like headless Debian Chromium: H.264 Baseline, Constrained
//! Baseline, Main and High 4:4:4 offered, no High.
#![allow(dead_code)]

pub mod net;

use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::media::push_length_prefixed;
use crate::media::{AudioCodec, AudioParams, Frame, Track, VideoCodec, VideoParams};
use crate::sfu::{CoreConfig, SfuCore, SfuEvent, ViewerId};
use bytes::Bytes;
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};

/// The SFU's (fake) media address.
pub const SERVER: &str = "10.0.0.1:5000";
/// Step of the simulated clock.
pub const TICK: Duration = Duration::from_millis(2);
/// Frame interval at 30 fps, in 90 kHz ticks.
pub const FRAME_90K: i64 = 3000;
/// Payload types the client uses for audio (Opus, PCMU, PCMA).
pub const AUDIO_PTS: [u8; 3] = [111, 0, 8];
/// One GOP is this many frames.
pub const GOP: u64 = 30;

/// A High-profile SPS (profile_idc 100), as cameras send.
pub fn high_params() -> Arc<VideoParams> {
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

/// A synthetic camera: H.264-like access units at 30 fps.
pub struct Device {
    pub params: Arc<VideoParams>,
    pub n: u64,
    pub pts: i64,
    pub epoch: u32,
    pub key_bytes: usize,
    pub delta_bytes: usize,
}

impl Device {
    pub fn new() -> Device {
        Device {
            params: high_params(),
            n: 0,
            pts: 1_000_000,
            epoch: 0,
            key_bytes: 20_000,
            delta_bytes: 3_000,
        }
    }

    /// The next frame (keyframe every [`GOP`] frames).
    pub fn next(&mut self) -> Frame {
        let keyframe = self.n.is_multiple_of(GOP);
        let mut data = Vec::new();
        if keyframe {
            push_length_prefixed(&mut data, &vec![0x65; self.key_bytes]);
        } else {
            let mut unit = vec![0x41; self.delta_bytes];
            unit[1..9].copy_from_slice(&self.n.to_be_bytes());
            push_length_prefixed(&mut data, &unit);
        }
        let f = Frame {
            track: Track::Video(self.params.clone()),
            pts: self.pts,
            keyframe,
            data: data.into(),
            epoch: self.epoch,
            wallclock: chrono::Utc::now(),
        };
        self.n += 1;
        self.pts += FRAME_90K;
        f
    }

    /// A G.711 µ-law frame of 20 ms at the current pts.
    pub fn audio(&self) -> Frame {
        Frame {
            track: Track::Audio(Arc::new(AudioParams {
                codec: AudioCodec::Pcmu,
                sample_rate: 8000,
                channels: 1,
                config: Bytes::new(),
            })),
            pts: self.pts,
            keyframe: true,
            data: Bytes::from(vec![0xff; 160]),
            epoch: self.epoch,
            wallclock: chrono::Utc::now(),
        }
    }
}

/// One received RTP packet, as the client saw it.
#[derive(Debug, Clone)]
pub struct Got {
    pub seq: u64,
    pub timestamp: u32,
    pub marker: bool,
    pub payload: Vec<u8>,
    pub audio: bool,
    pub ssrc: u32,
}

/// Decides, per server→client datagram (index, bytes), whether the network loses it.
pub type DropFilter = Box<dyn FnMut(u64, &[u8]) -> bool>;

/// A browser-like client peer.
pub struct Client {
    pub rtc: Rtc,
    pub addr: SocketAddr,
    pub id: Option<ViewerId>,
    pub got: Vec<Got>,
    pub connected: bool,
    pub next_timeout: Instant,
    /// Drop server→client datagrams while this returns true (given the datagram index).
    pub drop_in: Option<DropFilter>,
    pub received_datagrams: u64,
    /// Stops taking part in the network (a vanished browser).
    pub vanished: bool,
    pub pli_sent: u32,
}

/// A str0m configuration that offers what headless Debian Chromium offers for H.264.
pub fn chromium_like_config() -> RtcConfig {
    let mut cfg = RtcConfig::new().clear_codecs().set_rtp_mode(true);
    let cc = cfg.codec_config();
    cc.add_h264(102.into(), Some(103.into()), true, 0x42001f);
    cc.add_h264(108.into(), Some(109.into()), true, 0x42e01f);
    cc.add_h264(116.into(), Some(117.into()), true, 0x4d001f);
    cc.add_h264(41.into(), Some(42.into()), true, 0xf4001f);
    cfg.enable_opus(true, false)
        .enable_pcmu(true, false)
        .enable_pcma(true, false)
}

impl Client {
    /// A client at `addr` whose offer receives video (and audio if `audio`).
    pub fn new(
        now: Instant,
        addr: SocketAddr,
        audio: bool,
    ) -> (Client, String, impl FnOnce(&mut Rtc, &str)) {
        let mut rtc = chromium_like_config().build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").expect("candidate"));
        let mut api = rtc.sdp_api();
        api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        if audio {
            api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        }
        let (offer, pending) = api.apply().expect("an offer");
        let accept = move |rtc: &mut Rtc, answer: &str| {
            let answer = SdpAnswer::from_sdp_string(answer).expect("a parseable answer");
            rtc.sdp_api()
                .accept_answer(pending, answer)
                .expect("answer accepted");
        };
        (
            Client {
                rtc,
                addr,
                id: None,
                got: Vec::new(),
                connected: false,
                next_timeout: now,
                drop_in: None,
                received_datagrams: 0,
                vanished: false,
                pli_sent: 0,
            },
            offer.to_sdp_string(),
            accept,
        )
    }

    pub fn video(&self) -> impl Iterator<Item = &Got> {
        self.got.iter().filter(|g| !g.audio)
    }

    /// Distinct video sequence numbers received.
    pub fn video_seqs(&self) -> BTreeSet<u64> {
        self.video().map(|g| g.seq).collect()
    }

    /// Video frames completed (marker bits).
    pub fn frames(&self) -> usize {
        self.video().filter(|g| g.marker).count()
    }

    /// Missing sequence numbers between the first and the last received.
    pub fn video_gaps(&self) -> u64 {
        let seqs = self.video_seqs();
        match (seqs.first(), seqs.last()) {
            (Some(a), Some(b)) => (b - a + 1) - seqs.len() as u64,
            _ => 0,
        }
    }
}

/// The SFU core plus clients and an in-memory network.
pub struct World {
    pub now: Instant,
    pub start: Instant,
    pub sfu: SfuCore,
    pub clients: Vec<Client>,
    pub events: Vec<SfuEvent>,
    pub server: SocketAddr,
    /// Datagrams to the server, with their source and destination.
    to_server: VecDeque<(SocketAddr, Vec<u8>)>,
}

impl World {
    pub fn new(config: CoreConfig) -> World {
        let server: SocketAddr = SERVER.parse().expect("addr");
        let now = Instant::now();
        World {
            now,
            start: now,
            sfu: SfuCore::new(
                config,
                vec![Candidate::host(server, "udp").expect("candidate")],
            ),
            clients: Vec::new(),
            events: Vec::new(),
            server,
            to_server: VecDeque::new(),
        }
    }

    /// Adds a client for `stream` (video; audio too if `audio`); returns its index.
    pub fn connect_client(
        &mut self,
        stream: &str,
        video: Option<&VideoParams>,
        audio_params: Option<&AudioParams>,
    ) -> crate::Result<usize> {
        let i = self.clients.len();
        let addr: SocketAddr = format!("10.0.1.{}:{}", 1 + i / 200, 40_000 + i)
            .parse()
            .expect("addr");
        self.connect_client_at(stream, addr, video, audio_params)
    }

    /// Like [`World::connect_client`], from a given address.
    pub fn connect_client_at(
        &mut self,
        stream: &str,
        addr: SocketAddr,
        video: Option<&VideoParams>,
        audio_params: Option<&AudioParams>,
    ) -> crate::Result<usize> {
        let i = self.clients.len();
        let (mut client, offer, accept) = Client::new(self.now, addr, audio_params.is_some());
        let (id, answer) = self
            .sfu
            .add_viewer(self.now, stream, &offer, video, audio_params)?;
        accept(&mut client.rtc, &answer);
        client.id = Some(id);
        self.clients.push(client);
        Ok(i)
    }

    /// Runs the network and every peer for `d` of simulated time.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.now += TICK;
            self.step();
        }
    }

    /// Runs until `pred` holds or `limit` passes; returns whether it held.
    pub fn run_until(&mut self, limit: Duration, mut pred: impl FnMut(&World) -> bool) -> bool {
        let end = self.now + limit;
        while self.now < end {
            if pred(self) {
                return true;
            }
            self.now += TICK;
            self.step();
        }
        pred(self)
    }

    /// Hands a frame to the SFU (as the driver does for a hub delivery) and runs the network.
    pub fn publish(&mut self, stream: &str, frame: &Frame) -> usize {
        let n = self.sfu.handle_frame(self.now, stream, frame);
        self.step();
        n
    }

    /// One step: timers, then datagrams both ways until quiet.
    pub fn step(&mut self) {
        let now = self.now;
        self.sfu.handle_timeout(now);
        for c in &mut self.clients {
            if c.vanished || !c.rtc.is_alive() {
                continue;
            }
            if c.next_timeout <= now {
                c.rtc
                    .handle_input(Input::Timeout(now))
                    .expect("client timeout");
            }
        }
        for _ in 0..64 {
            let mut moved = false;
            // Clients → server.
            for c in &mut self.clients {
                if c.vanished {
                    continue;
                }
                poll_client(c, &mut self.to_server);
            }
            while let Some((src, data)) = self.to_server.pop_front() {
                moved = true;
                self.sfu
                    .handle_receive(now, Protocol::Udp, src, self.server, &data);
            }
            // Server → clients.
            while let Some(t) = self.sfu.poll_transmit() {
                moved = true;
                let Some(c) = self
                    .clients
                    .iter_mut()
                    .find(|c| c.addr == t.destination && !c.vanished)
                else {
                    continue;
                };
                if c.vanished || !c.rtc.is_alive() {
                    continue;
                }
                let idx = c.received_datagrams;
                c.received_datagrams += 1;
                if let Some(f) = c.drop_in.as_mut()
                    && f(idx, &t.contents)
                {
                    continue;
                }
                let input = Input::Receive(
                    now,
                    Receive {
                        proto: Protocol::Udp,
                        source: t.source,
                        destination: t.destination,
                        contents: (&t.contents[..]).try_into().expect("datagram"),
                    },
                );
                c.rtc.handle_input(input).expect("client input");
                // A browser handles each datagram before the next (DTLS keys before SRTP).
                poll_client(c, &mut self.to_server);
            }
            while let Some(e) = self.sfu.poll_event() {
                self.events.push(e);
            }
            if !moved {
                break;
            }
        }
    }
}

fn poll_client(c: &mut Client, out: &mut VecDeque<(SocketAddr, Vec<u8>)>) {
    loop {
        if !c.rtc.is_alive() {
            return;
        }
        match c.rtc.poll_output().expect("client poll") {
            Output::Timeout(t) => {
                c.next_timeout = t;
                return;
            }
            Output::Transmit(t) => out.push_back((t.source, t.contents.into())),
            Output::Event(e) => match e {
                Event::Connected => c.connected = true,
                Event::RtpPacket(p) => c.got.push(Got {
                    seq: *p.seq_no,
                    timestamp: p.header.timestamp,
                    marker: p.header.marker,
                    payload: p.payload.to_vec(),
                    audio: AUDIO_PTS.contains(&*p.header.payload_type),
                    ssrc: *p.header.ssrc,
                }),
                _ => {}
            },
        }
    }
}
