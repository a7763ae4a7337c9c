//! Media delivery for one playing RTSP session.
//!
//! Owns the per-session RTP state (SSRC, sequence numbers, timestamp offset, packet and octet
//! counts), writing the 12-byte header in front of the feed's shared payloads, the transport
//! routes (TCP interleaved channels or UDP ports), skipping ahead to the next keyframe when
//! the session falls behind, RTCP sender reports, and the session's faulty network when the
//! camera has one (RTP over UDP passes through a [`NetSim`]; its delayed packets leave from
//! this task when due). It must never wait on a slow client: a full queue or socket buffer
//! drops media, it never blocks the feed or other sessions.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::audio;
use super::config::NetworkFaults;
use super::feed::{Feed, MediaEvent, VideoFrame};
use super::netsim::NetSim;
use super::rtp::{
    self, H264_PAYLOAD_TYPE, PCMU_PAYLOAD_TYPE, RTP_HEADER_LEN, RtpHeader, SenderReport,
};
use super::tasks::AbortOnDrop;

/// How often each track sends an RTCP sender report (RFC 3550 suggests about 5 s).
pub(crate) const RTCP_REPORT_INTERVAL: Duration = Duration::from_secs(5);
/// The RTCP canonical name the camera reports.
const CNAME: &str = "vas-synthetic-camera";
/// Bytes of the `$`, channel and length prefix of an interleaved frame.
const INTERLEAVED_PREFIX_LEN: usize = 4;

/// Which media a track carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrackKind {
    /// H.264 at 90 kHz.
    Video,
    /// PCMU at 8 kHz.
    Audio,
}

impl TrackKind {
    /// RTP clock rate.
    pub(crate) fn clock_rate(self) -> u32 {
        match self {
            TrackKind::Video => crate::VIDEO_CLOCK_RATE,
            TrackKind::Audio => audio::SAMPLE_RATE,
        }
    }

    fn payload_type(self) -> u8 {
        match self {
            TrackKind::Video => H264_PAYLOAD_TYPE,
            TrackKind::Audio => PCMU_PAYLOAD_TYPE,
        }
    }
}

/// Where a track's packets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// Interleaved on the RTSP connection.
    Interleaved {
        /// Channel for RTP.
        rtp: u8,
        /// Channel for RTCP.
        rtcp: u8,
    },
    /// UDP datagrams to the client.
    Udp {
        /// Client RTP address.
        rtp: SocketAddr,
        /// Client RTCP address.
        rtcp: SocketAddr,
    },
}

/// One set-up track of a session.
#[derive(Debug, Clone)]
pub(crate) struct Track {
    /// Video or audio.
    pub(crate) kind: TrackKind,
    /// Where packets go.
    pub(crate) route: Route,
    /// Synchronisation source (random per session).
    pub(crate) ssrc: u32,
    /// Added to media time to form RTP timestamps (random per session).
    pub(crate) timestamp_offset: u32,
    /// Sequence number of the next packet (random start).
    pub(crate) next_sequence: u16,
    /// RTP packets sent.
    pub(crate) packets: u32,
    /// RTP payload octets sent.
    pub(crate) octets: u32,
}

impl Track {
    /// A track with random SSRC, sequence start and timestamp offset (RFC 3550 §5.1).
    pub(crate) fn new(kind: TrackKind, route: Route) -> Self {
        Track {
            kind,
            route,
            ssrc: rand::random(),
            timestamp_offset: rand::random(),
            next_sequence: rand::random(),
            packets: 0,
            octets: 0,
        }
    }

    /// The RTP timestamp of media time `ticks` (in this track's clock).
    pub(crate) fn rtp_timestamp(&self, ticks: u64) -> u32 {
        self.timestamp_offset.wrapping_add(ticks as u32)
    }

    fn header(&mut self, marker: bool, timestamp: u32) -> RtpHeader {
        let h = RtpHeader {
            marker,
            payload_type: self.kind.payload_type(),
            sequence: self.next_sequence,
            timestamp,
            ssrc: self.ssrc,
        };
        self.next_sequence = self.next_sequence.wrapping_add(1);
        h
    }

    fn count(&mut self, payload_len: usize) {
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(payload_len as u32);
    }
}

/// The server's UDP sockets for RTP and RTCP (an even/odd port pair shared by all UDP
/// sessions of one server run), plus the tasks that drain what clients send to them.
#[derive(Debug)]
pub(crate) struct UdpPair {
    /// Socket RTP leaves from.
    pub(crate) rtp: Arc<UdpSocket>,
    /// Socket RTCP leaves from.
    pub(crate) rtcp: Arc<UdpSocket>,
    _drains: [AbortOnDrop<()>; 2],
}

impl UdpPair {
    /// Wraps two bound sockets and starts draining them (clients send NAT punches and
    /// receiver reports; the camera does not need them).
    pub(crate) fn new(rtp: UdpSocket, rtcp: UdpSocket) -> Self {
        let (rtp, rtcp) = (Arc::new(rtp), Arc::new(rtcp));
        let drain = |s: Arc<UdpSocket>| {
            AbortOnDrop(tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                while s.recv_from(&mut buf).await.is_ok() {}
            }))
        };
        UdpPair {
            _drains: [drain(rtp.clone()), drain(rtcp.clone())],
            rtp,
            rtcp,
        }
    }

    /// The server's RTP and RTCP ports.
    pub(crate) fn ports(&self) -> (u16, u16) {
        let port = |s: &UdpSocket| s.local_addr().map(|a| a.port()).unwrap_or(0);
        (port(&self.rtp), port(&self.rtcp))
    }
}

/// How a session's packets leave the server.
#[derive(Debug, Clone)]
pub(crate) struct Sinks {
    /// The connection's bounded outgoing queue (interleaved data and responses).
    pub(crate) connection: mpsc::Sender<Bytes>,
    /// The UDP pair, when any track uses UDP.
    pub(crate) udp: Option<Arc<UdpPair>>,
}

/// Why sending stopped.
enum Sent {
    /// Everything went out (or was given to the kernel).
    All,
    /// The session is behind: the frame was dropped.
    Dropped,
    /// The connection is gone.
    Closed,
}

/// A session's media flow while it plays.
pub(crate) struct Delivery {
    feed: Arc<Feed>,
    video: Option<Track>,
    audio: Option<Track>,
    sinks: Sinks,
    waiting_for_keyframe: bool,
    /// The faulty network RTP over UDP goes through, if the camera has one.
    network: Option<NetSim>,
    /// Packets to send now (the network's output), reused.
    outgoing: Vec<(Bytes, SocketAddr)>,
}

/// A playing delivery task; stop it to get the tracks back (their sequence numbers continue
/// after PAUSE), or drop it to abort.
pub(crate) struct Playing {
    stop: Option<oneshot::Sender<()>>,
    task: AbortOnDrop<(Option<Track>, Option<Track>)>,
}

impl Playing {
    /// Stops sending and returns the tracks.
    pub(crate) async fn stop(mut self) -> Option<(Option<Track>, Option<Track>)> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.join().await
    }
}

impl Delivery {
    /// Delivery of `feed` to the given tracks, through `faults` for tracks sent over UDP.
    pub(crate) fn new(
        feed: Arc<Feed>,
        video: Option<Track>,
        audio: Option<Track>,
        sinks: Sinks,
        faults: NetworkFaults,
    ) -> Self {
        let udp = [&video, &audio]
            .into_iter()
            .flatten()
            .any(|t| matches!(t.route, Route::Udp { .. }));
        let network = (udp && faults.is_active()).then(|| NetSim::new(faults, &feed.network));
        Delivery {
            feed,
            video,
            audio,
            sinks,
            waiting_for_keyframe: true,
            network,
            outgoing: Vec::new(),
        }
    }

    /// Starts sending on a new task. The first video frame sent is a keyframe.
    pub(crate) fn spawn(self) -> Playing {
        let events = self.feed.events.subscribe();
        let (stop_tx, stop_rx) = oneshot::channel();
        Playing {
            stop: Some(stop_tx),
            task: AbortOnDrop(tokio::spawn(self.run(events, stop_rx))),
        }
    }

    async fn run(
        mut self,
        mut events: broadcast::Receiver<MediaEvent>,
        mut stop: oneshot::Receiver<()>,
    ) -> (Option<Track>, Option<Track>) {
        self.feed.keyframe_wanted.store(true, Ordering::Relaxed);
        let mut reports = tokio::time::interval(RTCP_REPORT_INTERVAL);
        reports.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let due = self.network.as_ref().and_then(NetSim::next_due);
            tokio::select! {
                biased;
                _ = &mut stop => break,
                () = sleep_until(due) => self.send_due(),
                _ = reports.tick() => {
                    if !self.feed.is_frozen() && self.send_reports().await.is_err() {
                        break;
                    }
                }
                event = events.recv() => match event {
                    Ok(MediaEvent::Video { frame, pts }) => {
                        if matches!(self.send_video(&frame, pts), Sent::Closed) {
                            break;
                        }
                    }
                    Ok(MediaEvent::Audio { pts }) => {
                        if matches!(self.send_audio(pts), Sent::Closed) {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => self.fell_behind(),
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
        (self.video, self.audio)
    }

    /// Sends the delayed packets that are due.
    fn send_due(&mut self) {
        if let (Some(net), Some(udp)) = (self.network.as_mut(), &self.sinks.udp) {
            net.due(Instant::now(), &mut self.outgoing);
            for (p, to) in self.outgoing.drain(..) {
                if udp.rtp.try_send_to(&p, to).is_err() {
                    self.feed.network.socket_dropped();
                }
            }
        }
    }

    fn fell_behind(&mut self) {
        self.waiting_for_keyframe = true;
        self.feed.keyframe_wanted.store(true, Ordering::Relaxed);
    }

    fn send_video(&mut self, frame: &VideoFrame, pts: u64) -> Sent {
        let Some(track) = self.video.as_mut() else {
            return Sent::All;
        };
        if self.waiting_for_keyframe && !frame.keyframe {
            return Sent::All;
        }
        let ts = track.rtp_timestamp(pts);
        let mut path = Path {
            sinks: &self.sinks,
            network: self.network.as_mut().map(|n| (n, &mut self.outgoing)),
            feed: &self.feed,
        };
        let result = send_packets(track, &mut path, &frame.payloads, ts);
        match result {
            Sent::All => {
                self.waiting_for_keyframe = false;
                self.feed.frames_sent.fetch_add(1, Ordering::Relaxed);
            }
            Sent::Dropped => self.fell_behind(),
            Sent::Closed => {}
        }
        result
    }

    fn send_audio(&mut self, pts: u64) -> Sent {
        let Some(track) = self.audio.as_mut() else {
            return Sent::All;
        };
        let ts = track.rtp_timestamp(pts);
        let mut path = Path {
            sinks: &self.sinks,
            network: self.network.as_mut().map(|n| (n, &mut self.outgoing)),
            feed: &self.feed,
        };
        match send_packets(track, &mut path, std::slice::from_ref(tone()), ts) {
            // Audio has no keyframes: a dropped packet is just a gap.
            Sent::Dropped => Sent::All,
            other => other,
        }
    }

    async fn send_reports(&mut self) -> Result<(), ()> {
        let now = Instant::now();
        let clock = self.feed.clock;
        let ntp = rtp::ntp_timestamp(clock.wall_at(now));
        for track in [self.video.as_ref(), self.audio.as_ref()]
            .into_iter()
            .flatten()
        {
            let sr = SenderReport {
                ssrc: track.ssrc,
                ntp,
                rtp_timestamp: track.rtp_timestamp(clock.ticks_at(now, track.kind.clock_rate())),
                packets: track.packets,
                octets: track.octets,
            }
            .to_compound(CNAME);
            match track.route {
                Route::Interleaved { rtcp, .. } => {
                    let mut b = BytesMut::with_capacity(INTERLEAVED_PREFIX_LEN + sr.len());
                    put_interleaved_prefix(&mut b, rtcp, sr.len());
                    b.put_slice(&sr);
                    if let Err(mpsc::error::TrySendError::Closed(_)) =
                        self.sinks.connection.try_send(b.freeze())
                    {
                        return Err(());
                    }
                }
                Route::Udp { rtcp, .. } => {
                    if let Some(udp) = &self.sinks.udp {
                        let _ = udp.rtcp.try_send_to(&sr, rtcp);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The tone payload, built once per process.
fn tone() -> &'static Bytes {
    static TONE: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
    TONE.get_or_init(audio::tone_payload)
}

fn put_interleaved_prefix(b: &mut BytesMut, channel: u8, len: usize) {
    b.put_u8(b'$');
    b.put_u8(channel);
    b.put_u16(len as u16);
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// Where a session's packets go: its sinks, and for UDP its faulty network (with the buffer
/// of packets it lets through at once) if it has one.
struct Path<'a> {
    sinks: &'a Sinks,
    network: Option<(&'a mut NetSim, &'a mut Vec<(Bytes, SocketAddr)>)>,
    feed: &'a Feed,
}

/// Sends one frame's payloads on `track`'s route, all with `timestamp`, the marker on the last.
/// Over TCP the whole frame is one queue entry, so it is either queued whole or dropped whole
/// (and sequence numbers stay gap-free).
fn send_packets(
    track: &mut Track,
    path: &mut Path<'_>,
    payloads: &[Bytes],
    timestamp: u32,
) -> Sent {
    let sinks = path.sinks;
    let last = payloads.len().saturating_sub(1);
    match track.route {
        Route::Interleaved { rtp: channel, .. } => {
            let total: usize = payloads
                .iter()
                .map(|p| INTERLEAVED_PREFIX_LEN + RTP_HEADER_LEN + p.len())
                .sum();
            let mut b = BytesMut::with_capacity(total);
            let first_sequence = track.next_sequence;
            for (i, p) in payloads.iter().enumerate() {
                put_interleaved_prefix(&mut b, channel, RTP_HEADER_LEN + p.len());
                track.header(i == last, timestamp).write(&mut b);
                b.put_slice(p);
            }
            match sinks.connection.try_send(b.freeze()) {
                Ok(()) => {
                    for p in payloads {
                        track.count(p.len());
                    }
                    Sent::All
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    track.next_sequence = first_sequence;
                    Sent::Dropped
                }
                Err(mpsc::error::TrySendError::Closed(_)) => Sent::Closed,
            }
        }
        Route::Udp { rtp: dest, .. } => {
            let Some(udp) = &sinks.udp else {
                return Sent::Closed;
            };
            if let Some((net, outgoing)) = path.network.as_mut() {
                // Through the faulty network: what it lets through now goes out now.
                let now = Instant::now();
                let mut damaged = false;
                for (i, p) in payloads.iter().enumerate() {
                    let mut b = BytesMut::with_capacity(RTP_HEADER_LEN + p.len());
                    track.header(i == last, timestamp).write(&mut b);
                    b.put_slice(p);
                    track.count(p.len());
                    damaged |= !net.send(now, b.freeze(), dest, &path.feed.network, outgoing);
                    for (p, to) in outgoing.drain(..) {
                        if udp.rtp.try_send_to(&p, to).is_err() {
                            path.feed.network.socket_dropped();
                            damaged = true;
                        }
                    }
                }
                if damaged && track.kind == TrackKind::Video {
                    path.feed.network.frame_damaged();
                }
                return Sent::All;
            }
            let mut b = BytesMut::with_capacity(RTP_HEADER_LEN + rtp::MAX_RTP_PAYLOAD);
            for (i, p) in payloads.iter().enumerate() {
                b.clear();
                track.header(i == last, timestamp).write(&mut b);
                b.put_slice(p);
                match udp.rtp.try_send_to(&b, dest) {
                    Ok(_) => track.count(p.len()),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Sent::Dropped,
                    // A vanished client is noticed by its RTSP connection, not here.
                    Err(_) => {}
                }
            }
            Sent::All
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::FANOUT_CAPACITY;

    fn frame(keyframe: bool, sizes: &[usize]) -> Arc<VideoFrame> {
        Arc::new(VideoFrame {
            keyframe,
            payloads: sizes
                .iter()
                .map(|&n| Bytes::from(vec![0x41u8; n]))
                .collect(),
        })
    }

    /// Splits a queue entry into interleaved frames: (channel, rtp header, payload length).
    fn frames_of(b: &[u8]) -> Vec<(u8, RtpHeader, usize)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < b.len() {
            assert_eq!(b[at], b'$');
            let len = usize::from(u16::from_be_bytes([b[at + 2], b[at + 3]]));
            let pkt = &b[at + 4..at + 4 + len];
            out.push((
                b[at + 1],
                RtpHeader::parse(pkt).unwrap(),
                len - RTP_HEADER_LEN,
            ));
            at += 4 + len;
        }
        out
    }

    fn tcp_delivery(queue: usize) -> (Arc<Feed>, Delivery, mpsc::Receiver<Bytes>) {
        let feed = Arc::new(Feed::new(30));
        let (tx, rx) = mpsc::channel(queue);
        let video = Track::new(TrackKind::Video, Route::Interleaved { rtp: 0, rtcp: 1 });
        let d = Delivery::new(
            feed.clone(),
            Some(video),
            None,
            Sinks {
                connection: tx,
                udp: None,
            },
            NetworkFaults::default(),
        );
        (feed, d, rx)
    }

    #[test]
    fn starts_at_a_keyframe_marks_the_last_packet_and_numbers_in_order() {
        let (feed, mut d, mut rx) = tcp_delivery(8);
        let offset = d.video.as_ref().unwrap().timestamp_offset;
        let seq0 = d.video.as_ref().unwrap().next_sequence;
        assert!(matches!(d.send_video(&frame(false, &[10]), 0), Sent::All));
        assert!(
            rx.try_recv().is_err(),
            "a P-frame went out before any keyframe"
        );
        assert!(matches!(
            d.send_video(&frame(true, &[5, 1200, 700]), 3000),
            Sent::All
        ));
        assert!(matches!(
            d.send_video(&frame(false, &[10]), 6000),
            Sent::All
        ));
        let key = frames_of(&rx.try_recv().unwrap());
        let p = frames_of(&rx.try_recv().unwrap());
        assert_eq!(key.len(), 3);
        let markers: Vec<bool> = key.iter().chain(&p).map(|(_, h, _)| h.marker).collect();
        assert_eq!(markers, [false, false, true, true]);
        let seqs: Vec<u16> = key.iter().chain(&p).map(|(_, h, _)| h.sequence).collect();
        assert_eq!(seqs, [0, 1, 2, 3].map(|i: u16| seq0.wrapping_add(i)));
        assert!(
            key.iter()
                .all(|(c, h, _)| *c == 0 && h.timestamp == offset.wrapping_add(3000))
        );
        assert_eq!(p[0].1.timestamp, offset.wrapping_add(6000));
        assert_eq!(feed.frames_sent.load(Ordering::Relaxed), 2);
        let t = d.video.as_ref().unwrap();
        assert_eq!((t.packets, t.octets), (4, 5 + 1200 + 700 + 10));
    }

    #[test]
    fn a_full_queue_drops_to_the_next_keyframe_without_a_sequence_gap() {
        let (feed, mut d, mut rx) = tcp_delivery(2);
        assert!(matches!(d.send_video(&frame(true, &[10]), 0), Sent::All));
        assert!(matches!(d.send_video(&frame(false, &[10]), 1), Sent::All));
        // The client reads nothing: the queue is full, so this frame is dropped...
        assert!(matches!(
            d.send_video(&frame(false, &[10]), 2),
            Sent::Dropped
        ));
        assert!(
            feed.keyframe_wanted.load(Ordering::Relaxed),
            "recovery asks for a keyframe"
        );
        // ...and so is everything up to the next keyframe, even once there is room.
        let a = frames_of(&rx.try_recv().unwrap());
        let b = frames_of(&rx.try_recv().unwrap());
        assert!(matches!(d.send_video(&frame(false, &[10]), 3), Sent::All));
        assert!(rx.try_recv().is_err());
        assert!(matches!(d.send_video(&frame(true, &[10]), 4), Sent::All));
        let c = frames_of(&rx.try_recv().unwrap());
        assert_eq!(b[0].1.sequence, a[0].1.sequence.wrapping_add(1));
        assert_eq!(c[0].1.sequence, b[0].1.sequence.wrapping_add(1));
        assert_eq!(feed.frames_sent.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn closed_connection_ends_delivery() {
        let (_feed, mut d, rx) = tcp_delivery(2);
        drop(rx);
        assert!(matches!(d.send_video(&frame(true, &[10]), 0), Sent::Closed));
    }

    #[tokio::test]
    async fn a_lagging_session_skips_to_a_keyframe_and_memory_stays_bounded() {
        let (feed, d, mut rx) = tcp_delivery(4);
        let playing = d.spawn();
        tokio::task::yield_now().await;
        // Flood far more events than the fan-out holds while the session's queue is full.
        for i in 0..(FANOUT_CAPACITY as u64 * 4) {
            feed.publish(MediaEvent::Video {
                frame: frame(i % 50 == 0, &[100]),
                pts: i,
            });
        }
        assert!(feed.events.len() <= FANOUT_CAPACITY);
        // Drain: whatever arrives is whole frames starting at a keyframe after each gap.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut got = 0;
        while let Ok(b) = rx.try_recv() {
            got += frames_of(&b).len();
        }
        assert!(got <= 4 + 1, "the session queue outgrew its bound: {got}");
        drop(playing);
    }

    #[tokio::test]
    async fn pause_returns_tracks_with_their_sequence_numbers() {
        let (feed, d, mut rx) = tcp_delivery(8);
        let seq0 = d.video.as_ref().unwrap().next_sequence;
        let playing = d.spawn();
        tokio::task::yield_now().await;
        feed.publish(MediaEvent::Video {
            frame: frame(true, &[10, 10]),
            pts: 0,
        });
        // First the RTCP report, then the frame.
        let mut seen = 0;
        while seen < 2 {
            let b = tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .unwrap()
                .unwrap();
            if b[1] == 0 {
                seen += frames_of(&b).len();
            }
        }
        let (video, audio) = playing.stop().await.unwrap();
        assert!(audio.is_none());
        assert_eq!(video.unwrap().next_sequence, seq0.wrapping_add(2));
    }
}
