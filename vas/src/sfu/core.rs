//! The sans-IO SFU: every stream's room and every viewer, driven by frames, datagrams and time.
//!
//! Owns: admitting viewers (SDP offer in, answer out, limits enforced), demultiplexing
//! received datagrams to viewers (by remembered source address, else by the ICE username of a
//! STUN request, then confirmed by str0m's `accepts`), fanning each packetized frame out to
//! the stream's viewers, the timer heap that drives each `Rtc`, reaping viewers whose `Rtc`
//! ended, and the event queue. Inputs carry their `Instant`; outputs are datagrams to send and
//! [`SfuEvent`]s. It must never own a socket or task, read a clock or block; garbage input is
//! counted and dropped, never a panic and never state that grows.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive, Transmit};
use str0m::rtp::Extension;
use str0m::{Candidate, Input, Output, RtcConfig};

use crate::media::{AudioParams, Frame, VideoParams};
use crate::{Error, ErrorKind, Result};

use super::negotiate::{self, str0m_audio_codec};
#[cfg(test)]
use super::room::RoomStats;
use super::room::{PacketizedFrame, Room};
use super::viewer::{Drive, End, Phase, TxTrack, Viewer};
use super::{CoreConfig, DisconnectReason, SfuEvent, ViewerId};

/// Largest datagram looked at; anything longer is not WebRTC and is dropped.
pub const MAX_DATAGRAM_BYTES: usize = 2048;
/// Frames whose fan-out may be pending at once (≈2 s at 30 fps) before the oldest is
/// finished without waiting for the driver to drain.
const MAX_PENDING_FANOUTS: usize = 64;
/// Smallest step between two timer wake-ups of one viewer, so a busy `Rtc` cannot spin.
const MIN_TIMER_STEP: Duration = Duration::from_millis(1);
/// The timer heap is rebuilt when stale entries outnumber live viewers this many times.
const TIMER_HEAP_SLACK: usize = 4;
/// Datagrams kept per removed viewer to say goodbye (DTLS close_notify, RTCP BYE).
const FAREWELL_DATAGRAMS: usize = 8;
/// Most farewell datagrams pending at once, over all removed viewers.
const MAX_FAREWELL_QUEUE: usize = 1024;
/// Send buffer of str0m's audio streams, in packets (audio is not retransmitted).
const AUDIO_SEND_BUFFER: usize = 64;
/// Local id of the RTP MID header extension (the answer uses the browser's id for it).
const MID_EXTENSION_ID: u8 = 4;
/// Events kept for a caller that does not poll them; older ones are dropped.
const MAX_QUEUED_EVENTS: usize = 4096;
/// STUN magic cookie (RFC 5389).
const STUN_MAGIC: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
/// STUN USERNAME attribute.
const STUN_ATTR_USERNAME: u16 = 0x0006;

/// SFU-wide counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreStats {
    /// Datagrams that matched no viewer or were not WebRTC.
    pub garbage_datagrams: u64,
    /// Datagrams str0m rejected after demultiplexing.
    pub rejected_datagrams: u64,
    /// Viewers admitted since start.
    pub viewers_added: u64,
    /// Viewers that reached Connected since start.
    pub viewers_connected: u64,
    /// Viewers reaped because their peer vanished or failed.
    pub viewers_reaped: u64,
    /// Keyframe requests from viewers (counted, never forwarded to a camera).
    pub keyframe_requests: u64,
    /// Datagrams dropped because a viewer's queue was full.
    pub dropped_datagrams: u64,
}

/// Hashes viewer ids (sequential integers) cheaply; the maps keyed by them are hit for every
/// viewer on every frame.
#[derive(Debug, Default, Clone, Copy)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing spreads sequential ids over the table.
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type IdMap<V> = HashMap<ViewerId, V, std::hash::BuildHasherDefault<IdHasher>>;

/// A frame being fanned out: viewers get it one by one as the driver drains transmits, so
/// the first viewer's packets leave before the last viewer's are even encrypted.
#[derive(Debug)]
struct Fanout {
    frame: Arc<PacketizedFrame>,
    viewers: Vec<ViewerId>,
    next: usize,
    now: Instant,
}

#[derive(Debug)]
struct RoomEntry {
    room: Room,
    viewers: Vec<ViewerId>,
}

/// The sans-IO SFU. See the module docs.
#[derive(Debug)]
pub struct SfuCore {
    config: CoreConfig,
    candidates: Vec<Candidate>,
    rooms: HashMap<Arc<str>, RoomEntry>,
    viewers: IdMap<Viewer>,
    by_addr: HashMap<SocketAddr, ViewerId>,
    by_ufrag: HashMap<String, ViewerId>,
    timers: BinaryHeap<Reverse<(Instant, ViewerId)>>,
    ready: VecDeque<ViewerId>,
    farewell: VecDeque<Transmit>,
    events: VecDeque<SfuEvent>,
    next_id: u64,
    stats: CoreStats,
    fanouts: VecDeque<Fanout>,
    spare_ids: Vec<Vec<ViewerId>>,
    /// The latest time any input carried (str0m's time never goes backwards).
    last_now: Option<Instant>,
}

impl SfuCore {
    /// An SFU answering with `candidates` (the local addresses media is received on).
    pub fn new(config: CoreConfig, candidates: Vec<Candidate>) -> SfuCore {
        SfuCore {
            config,
            candidates,
            rooms: HashMap::new(),
            viewers: IdMap::default(),
            by_addr: HashMap::new(),
            by_ufrag: HashMap::new(),
            timers: BinaryHeap::new(),
            ready: VecDeque::new(),
            farewell: VecDeque::new(),
            events: VecDeque::new(),
            next_id: 1,
            stats: CoreStats::default(),
            fanouts: VecDeque::new(),
            spare_ids: Vec::new(),
            last_now: None,
        }
    }

    /// Admits a viewer of `stream_key` with the browser's SDP `offer`; returns its id and the
    /// SDP answer. `video`/`audio` are the stream's current parameters (None if not known).
    ///
    /// Errors: `TooLarge`/`InvalidInput` for a hostile or malformed offer, `Unsupported` if
    /// the stream cannot be played by this browser (H.265, no H.264 offered),
    /// `ResourceExhausted` at a viewer limit.
    pub fn add_viewer(
        &mut self,
        now: Instant,
        stream_key: &str,
        offer: &str,
        video: Option<&VideoParams>,
        audio: Option<&AudioParams>,
    ) -> Result<(ViewerId, String)> {
        let now = self.advance(now);
        let in_stream = self.viewer_count(stream_key);
        if in_stream >= self.config.max_viewers_per_stream {
            return Err(Error::new(
                ErrorKind::ResourceExhausted,
                format!(
                    "stream {stream_key:?} already has {in_stream} viewers, the configured limit"
                ),
            ));
        }
        if self.viewers.len() >= self.config.max_viewers {
            return Err(Error::new(
                ErrorKind::ResourceExhausted,
                format!(
                    "the SFU already serves {} viewers, the configured limit",
                    self.viewers.len()
                ),
            ));
        }
        let summary = negotiate::scan_offer(offer)?;
        let parsed = catch_unwind(|| SdpOffer::from_sdp_string(offer))
            .map_err(|_| Error::invalid_input("SDP offer could not be parsed"))?
            .map_err(|_| Error::invalid_input(negotiate::describe_unparsable(offer)))?;

        let codecs = negotiate::choose_codecs(&summary, video, audio)?;
        let config = RtcConfig::new()
            .set_ice_lite(true)
            .set_rtp_mode(true)
            .set_stats_interval(None)
            // Only the MID extension (BUNDLE demultiplexing). No transport-cc or
            // abs-send-time: the SFU never adapts a camera's bitrate, so their per-packet
            // bytes and the feedback they trigger would be pure cost.
            .clear_extension_map()
            .set_extension(MID_EXTENSION_ID, Extension::RtpMid)
            .set_send_buffer_video(self.config.nack_cache_packets.max(1))
            .set_send_buffer_audio(AUDIO_SEND_BUFFER);
        let mut rtc = negotiate::configure(config, &codecs).build(now);
        for c in &self.candidates {
            rtc.add_local_candidate(c.clone());
        }
        let answer = catch_unwind(AssertUnwindSafe(|| rtc.sdp_api().accept_offer(parsed)))
            .map_err(|_| Error::invalid_input("SDP offer could not be negotiated"))?
            .map_err(|e| {
                Error::invalid_input(format!(
                    "SDP offer rejected: {}",
                    negotiate::public_text(&e.to_string())
                ))
            })?;

        // Transmits before ICE (none expected from an ICE-lite answerer) are kept.
        let mut early = VecDeque::new();
        let next_timeout = loop {
            match rtc.poll_output() {
                Ok(Output::Timeout(t)) => break t,
                Ok(Output::Transmit(t)) => early.push_back(t),
                Ok(Output::Event(_)) => {}
                Err(e) => {
                    return Err(Error::invalid_input(format!(
                        "SDP offer rejected: {}",
                        negotiate::public_text(&e.to_string())
                    )));
                }
            }
        };
        // The answer's m-lines are the offer's, by mid.
        let sending = |kind: MediaKind| {
            summary
                .sections
                .iter()
                .filter_map(|s| s.mid.as_deref())
                .map(Mid::from)
                .find(|mid| {
                    rtc.media(*mid)
                        .is_some_and(|m| m.kind() == kind && m.direction() == Direction::SendOnly)
                })
        };
        let video_mid = sending(MediaKind::Video);
        let audio_mid = sending(MediaKind::Audio);
        let video_track = video_mid
            .and_then(|mid| self.tx_track(&mut rtc, mid, |c| c == Codec::H264))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Unsupported,
                    "the offer's video section could not be answered with H.264",
                )
            })?;
        let audio_track = codecs.audio.and_then(|codec| {
            let want = str0m_audio_codec(codec)?;
            let track = self.tx_track(&mut rtc, audio_mid?, |c| c == want)?;
            Some((track, codec))
        });

        let id = ViewerId(self.next_id);
        self.next_id += 1;
        let ufrag = rtc.direct_api().local_ice_credentials().ufrag;
        let key: Arc<str> = match self.rooms.get_key_value(stream_key) {
            Some((k, _)) => k.clone(),
            None => Arc::from(stream_key),
        };
        let mut viewer = Viewer::new(
            key.clone(),
            rtc,
            ufrag.clone(),
            Some(video_track),
            audio_track,
            self.config.viewer_queue_datagrams.max(1),
            now,
            self.config.connect_timeout,
        );
        viewer.next_timeout = next_timeout.min(viewer.deadline);
        viewer.queue = early;
        let ready = !viewer.queue.is_empty();
        self.by_ufrag.insert(ufrag, id);
        let first_timeout = viewer.next_timeout;
        self.viewers.insert(id, viewer);
        self.schedule(id, first_timeout, now);
        if ready {
            self.ready.push_back(id);
        }
        let config = &self.config;
        self.rooms
            .entry(key)
            .or_insert_with(|| RoomEntry {
                room: Room::new(
                    config.max_rtp_payload,
                    config.gop_cache_bytes,
                    rand::random(),
                ),
                viewers: Vec::new(),
            })
            .viewers
            .push(id);
        self.stats.viewers_added += 1;
        Ok((id, answer.to_sdp_string()))
    }

    fn tx_track(
        &self,
        rtc: &mut str0m::Rtc,
        mid: Mid,
        codec: impl Fn(Codec) -> bool,
    ) -> Option<TxTrack> {
        let remote = rtc.media(mid)?.remote_pts().to_vec();
        let pt = rtc
            .codec_config()
            .find(|p| codec(p.spec().codec) && remote.contains(&p.pt()))?
            .pt();
        let mut api = rtc.direct_api();
        let stream = api.stream_tx_by_mid(mid, None)?;
        stream.set_rtx_cache(
            self.config.nack_cache_packets.max(1),
            self.config.nack_cache_age,
            self.config.nack_ratio_cap,
        );
        Some(TxTrack {
            pt,
            ssrc: stream.ssrc(),
            seq: Viewer::initial_seq(),
        })
    }

    /// Removes a viewer (a DTLS close is sent to it). False if it was not there.
    pub fn remove_viewer(&mut self, id: ViewerId) -> bool {
        self.reap(id, DisconnectReason::Removed)
    }

    /// Removes every viewer (for shutdown).
    pub fn remove_all(&mut self) {
        let ids: Vec<ViewerId> = self.viewers.keys().copied().collect();
        for id in ids {
            self.reap(id, DisconnectReason::Shutdown);
        }
    }

    fn reap(&mut self, id: ViewerId, reason: DisconnectReason) -> bool {
        let Some(mut viewer) = self.viewers.remove(&id) else {
            return false;
        };
        self.by_ufrag.remove(&viewer.ufrag);
        for addr in &viewer.addrs {
            if self.by_addr.get(addr) == Some(&id) {
                self.by_addr.remove(addr);
            }
        }
        if let Some(entry) = self.rooms.get_mut(&viewer.stream_key) {
            entry.viewers.retain(|v| *v != id);
            if entry.viewers.is_empty() {
                self.rooms.remove(&viewer.stream_key);
            }
        }
        if matches!(
            reason,
            DisconnectReason::Removed | DisconnectReason::Shutdown
        ) && viewer.rtc.is_alive()
        {
            // Say goodbye so the browser learns at once instead of after a consent timeout.
            if viewer.rtc.close().is_ok() {
                let mut n = 0;
                while let Ok(Output::Transmit(t)) = viewer.rtc.poll_output() {
                    if n < FAREWELL_DATAGRAMS && self.farewell.len() < MAX_FAREWELL_QUEUE {
                        self.farewell.push_back(t);
                    }
                    n += 1;
                    if n > FAREWELL_DATAGRAMS * 4 {
                        break;
                    }
                }
            }
        }
        if matches!(reason, DisconnectReason::Gone | DisconnectReason::Failed(_)) {
            self.stats.viewers_reaped += 1;
        }
        let stream_key = viewer.stream_key.to_string();
        self.push_event(match reason {
            DisconnectReason::Failed(message) => SfuEvent::ViewerFailed {
                stream_key,
                viewer: id,
                message,
            },
            reason => SfuEvent::ViewerDisconnected {
                stream_key,
                viewer: id,
                reason,
            },
        });
        true
    }

    /// Fans a frame of `stream_key` out to its live viewers (packetized once, here). Each
    /// viewer writes it when [`SfuCore::poll_transmit`] reaches that viewer, so sends start
    /// at once. Returns how many viewers are live to receive it.
    pub fn handle_frame(&mut self, now: Instant, stream_key: &str, frame: &Frame) -> usize {
        let now = self.advance(now);
        // Fan-outs run in order; if the driver fell far behind, finish the oldest now so the
        // pending work stays bounded.
        while self.fanouts.len() >= MAX_PENDING_FANOUTS && self.fanout_step() {}
        let Some(entry) = self.rooms.get_mut(stream_key) else {
            return 0;
        };
        let Some(packetized) = entry.room.packetize(frame) else {
            return 0;
        };
        let mut ids = self.spare_ids.pop().unwrap_or_default();
        ids.clear();
        ids.extend(
            entry
                .viewers
                .iter()
                .filter(|id| self.viewers.get(id).is_some_and(|v| v.phase == Phase::Live)),
        );
        let live = ids.len();
        if live > 0 {
            self.fanouts.push_back(Fanout {
                frame: packetized,
                viewers: ids,
                next: 0,
                now,
            });
        } else {
            self.spare_ids.push(ids);
        }
        live
    }

    /// Writes the next pending (frame, viewer) pair; false when none is left.
    fn fanout_step(&mut self) -> bool {
        let Some(f) = self.fanouts.front_mut() else {
            return false;
        };
        let Some(&id) = f.viewers.get(f.next) else {
            if let Some(done) = self.fanouts.pop_front() {
                self.spare_ids.push(done.viewers);
            }
            return true;
        };
        f.next += 1;
        let now = f.now.max(self.last_now.unwrap_or(f.now));
        let frame = f.frame.clone();
        if let Some(v) = self.viewers.get_mut(&id)
            && v.write(now, &frame)
        {
            let d = v.drive(now);
            self.after_drive(now, id, d);
        }
        true
    }

    fn advance(&mut self, now: Instant) -> Instant {
        let now = self.last_now.map_or(now, |l| l.max(now));
        self.last_now = Some(now);
        now
    }

    /// Records that the hub skipped `frames` frames for `stream_key`'s subscription.
    pub fn handle_lost(&mut self, stream_key: &str, frames: u64) {
        if let Some(entry) = self.rooms.get_mut(stream_key) {
            entry.room.note_lost(frames);
        }
    }

    /// Feeds a received datagram; returns whether a viewer took it.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
    ) -> bool {
        let now = self.advance(now);
        if data.is_empty() || data.len() > MAX_DATAGRAM_BYTES {
            self.stats.garbage_datagrams += 1;
            return false;
        }
        let Ok(contents) = data.try_into() else {
            self.stats.garbage_datagrams += 1;
            return false;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto,
                source,
                destination,
                contents,
            },
        );
        // A STUN request names its viewer (the username is authoritative, also when a new
        // peer reuses an old one's address); anything else goes to the viewer last seen at
        // the source address.
        let known = self.by_addr.get(&source).copied();
        let named = stun_local_ufrag(data).and_then(|u| self.by_ufrag.get(u).copied());
        let accepts = |id: ViewerId| self.viewers.get(&id).is_some_and(|v| v.rtc.accepts(&input));
        let id = match (named, known) {
            (Some(id), _) if accepts(id) => id,
            (None, Some(id)) if accepts(id) => id,
            _ => {
                self.stats.garbage_datagrams += 1;
                return false;
            }
        };
        let Some(viewer) = self.viewers.get_mut(&id) else {
            return false; // checked by `accepts` above
        };
        if known != Some(id) {
            if let Some(evicted) = viewer.remember(source) {
                self.by_addr.remove(&evicted);
            }
            self.by_addr.insert(source, id);
        }
        let mut drive = Drive::default();
        if viewer.rtc.handle_input(input).is_err() {
            // A bad packet (replayed SRTP, broken RTCP) is the peer's problem, not fatal.
            self.stats.rejected_datagrams += 1;
        }
        viewer.poll(now, &mut drive);
        self.after_drive(now, id, drive);
        true
    }

    /// Moves time forward: drives every viewer whose timer is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        while let Some(Reverse((t, id))) = self.timers.peek().copied() {
            if t > now {
                break;
            }
            self.timers.pop();
            let Some(v) = self.viewers.get_mut(&id) else {
                continue;
            };
            if v.scheduled != Some(t) {
                continue; // stale entry
            }
            v.scheduled = None;
            let d = v.drive(now);
            self.after_drive(now, id, d);
        }
        if self.timers.len() > TIMER_HEAP_SLACK * self.viewers.len() + 1024 {
            self.timers = self
                .viewers
                .iter()
                .filter_map(|(id, v)| v.scheduled.map(|t| Reverse((t, *id))))
                .collect();
        }
    }

    fn schedule(&mut self, id: ViewerId, at: Instant, now: Instant) {
        let at = at.max(now + MIN_TIMER_STEP);
        let Some(v) = self.viewers.get_mut(&id) else {
            return;
        };
        if v.scheduled == Some(at) {
            return;
        }
        v.scheduled = Some(at);
        self.timers.push(Reverse((at, id)));
    }

    fn after_drive(&mut self, now: Instant, id: ViewerId, d: Drive) {
        let Some(v) = self.viewers.get(&id) else {
            return;
        };
        let stream_key = v.stream_key.clone();
        let next = v.next_timeout;
        if d.became_ready {
            self.ready.push_back(id);
        }
        self.stats.keyframe_requests += u64::from(d.keyframe_requests);
        self.stats.dropped_datagrams += u64::from(d.dropped);
        if d.keyframe_requests > 0 {
            self.push_event(SfuEvent::KeyframeWanted {
                stream_key: stream_key.to_string(),
                viewer: id,
            });
        }
        if let Some(end) = d.end {
            let reason = match end {
                End::Gone => DisconnectReason::Gone,
                End::Failed(m) => DisconnectReason::Failed(m),
            };
            self.reap(id, reason);
            return;
        }
        if d.connected {
            self.stats.viewers_connected += 1;
            self.push_event(SfuEvent::ViewerConnected {
                stream_key: stream_key.to_string(),
                viewer: id,
            });
            // Start at once from the cached GOP (packetized already, shared), one frame at a
            // time as the driver drains, so the viewer's queue stays small.
            let gop: Vec<Arc<PacketizedFrame>> = self
                .rooms
                .get(&stream_key)
                .map(|r| r.room.gop().cloned().collect())
                .unwrap_or_default();
            if gop.is_empty() {
                self.push_event(SfuEvent::KeyframeWanted {
                    stream_key: stream_key.to_string(),
                    viewer: id,
                });
            }
            for frame in gop {
                let mut viewers = self.spare_ids.pop().unwrap_or_default();
                viewers.clear();
                viewers.push(id);
                self.fanouts.push_back(Fanout {
                    frame,
                    viewers,
                    next: 0,
                    now,
                });
            }
        }
        self.schedule(id, next, now);
    }

    /// The next datagram to send, all of one viewer's before the next viewer's (so a driver
    /// can batch them with segmentation offload).
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        loop {
            if let Some(t) = self.farewell.pop_front() {
                return Some(t);
            }
            while let Some(&id) = self.ready.front() {
                let Some(v) = self.viewers.get_mut(&id) else {
                    self.ready.pop_front();
                    continue;
                };
                let t = v.queue.pop_front();
                if v.queue.is_empty() {
                    self.ready.pop_front();
                }
                if t.is_some() {
                    return t;
                }
            }
            // Nothing queued: write the pending frame to the next viewer.
            if !self.fanout_step() {
                return None;
            }
        }
    }

    fn push_event(&mut self, e: SfuEvent) {
        if self.events.len() >= MAX_QUEUED_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SfuEvent> {
        self.events.pop_front()
    }

    /// When [`SfuCore::handle_timeout`] next has work (None: no viewers). A pending fan-out
    /// makes it "now": drain [`SfuCore::poll_transmit`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.fanouts.is_empty() {
            return self.last_now;
        }
        self.timers.peek().map(|Reverse((t, _))| *t)
    }

    /// Viewers of a stream (connecting or live).
    pub fn viewer_count(&self, stream_key: &str) -> usize {
        self.rooms.get(stream_key).map_or(0, |r| r.viewers.len())
    }

    /// Viewers over all streams.
    pub fn total_viewers(&self) -> usize {
        self.viewers.len()
    }

    /// Whether a stream has a room (at least one viewer).
    pub fn has_stream(&self, stream_key: &str) -> bool {
        self.rooms.contains_key(stream_key)
    }

    /// Streams with at least one viewer.
    pub fn stream_keys(&self) -> impl Iterator<Item = &str> {
        self.rooms.keys().map(|k| &**k)
    }

    /// Whether a viewer is connected and receiving.
    #[cfg(test)]
    pub fn is_live(&self, id: ViewerId) -> bool {
        self.viewers
            .get(&id)
            .is_some_and(|v| v.phase == Phase::Live)
    }

    /// A stream's counters.
    #[cfg(test)]
    pub fn room_stats(&self, stream_key: &str) -> Option<RoomStats> {
        self.rooms.get(stream_key).map(|r| r.room.stats())
    }

    /// SFU-wide counters.
    pub fn stats(&self) -> CoreStats {
        self.stats
    }

    /// Entries in the demultiplexing tables (for bounds checks).
    #[cfg(test)]
    pub fn demux_entries(&self) -> usize {
        self.by_addr.len() + self.by_ufrag.len()
    }
}

/// The local (our) ICE username fragment of a STUN binding request: the part of USERNAME
/// before the colon. None for anything that is not a well-formed STUN message.
pub fn stun_local_ufrag(data: &[u8]) -> Option<&str> {
    if data.len() < 20 || data[0] & 0xC0 != 0 || data[4..8] != STUN_MAGIC {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([data[2], data[3]]));
    let mut attrs = data.get(20..20 + len)?;
    while attrs.len() >= 4 {
        let kind = u16::from_be_bytes([attrs[0], attrs[1]]);
        let alen = usize::from(u16::from_be_bytes([attrs[2], attrs[3]]));
        let value = attrs.get(4..4 + alen)?;
        if kind == STUN_ATTR_USERNAME {
            let name = std::str::from_utf8(value).ok()?;
            return name.split(':').next();
        }
        let padded = 4 + alen.div_ceil(4) * 4;
        attrs = attrs.get(padded..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stun_username_is_read_and_junk_is_not() {
        let mut m = vec![0x00, 0x01, 0, 0];
        m.extend_from_slice(&STUN_MAGIC);
        m.extend_from_slice(&[7; 12]);
        let user = b"abcd:wxyz";
        m.extend_from_slice(&STUN_ATTR_USERNAME.to_be_bytes());
        m.extend_from_slice(&(user.len() as u16).to_be_bytes());
        m.extend_from_slice(user);
        m.extend_from_slice(&[0, 0, 0]);
        let len = (m.len() - 20) as u16;
        m[2..4].copy_from_slice(&len.to_be_bytes());
        assert_eq!(stun_local_ufrag(&m), Some("abcd"));
        assert_eq!(stun_local_ufrag(&m[..m.len() - 4]), None, "truncated");
        assert_eq!(stun_local_ufrag(&[0x80; 40]), None, "RTP");
        assert_eq!(stun_local_ufrag(&[]), None);
    }
}

#[cfg(test)]
mod doc_examples {
    /// How `sfu::core::SfuCore` is used.
    #[test]
    fn sfu_core_example() {
        use crate::sfu::{CoreConfig, SfuCore};
        use std::time::Instant;
        use str0m::Candidate;
        use str0m::net::Protocol;

        let media_addr = "192.0.2.10:5000".parse().unwrap();
        let mut sfu = SfuCore::new(
            CoreConfig::default(),
            vec![Candidate::host(media_addr, "udp").unwrap()],
        );
        let now = Instant::now();

        // Offers come from signaling; a malformed one is an error, not a panic.
        let err = sfu
            .add_viewer(now, "cam-1", "not sdp", None, None)
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);

        // Datagrams from the socket: garbage is counted and dropped.
        let from = "198.51.100.7:40000".parse().unwrap();
        assert!(!sfu.handle_receive(now, Protocol::Udp, from, media_addr, b"hello"));
        assert_eq!(sfu.stats().garbage_datagrams, 1);

        // The driver loop: time in, datagrams and events out.
        sfu.handle_timeout(now);
        while let Some(_datagram) = sfu.poll_transmit() { /* send it */ }
        while let Some(_event) = sfu.poll_event() { /* tell the application */ }
        assert_eq!(
            sfu.poll_timeout(),
            None,
            "no viewers, nothing to wake up for"
        );
    }
}
