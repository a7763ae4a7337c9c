//! One viewer: a str0m `Rtc` (ICE-lite, RTP mode) and what differs per viewer.
//!
//! Owns: the viewer's `Rtc`, its RTP sequence numbers, its bounded queue of datagrams waiting
//! for the socket, and its connection phase. Per viewer only this happens: `write_rtp` of
//! payloads shared with every other viewer, SRTP, and queueing. It must never re-packetize or
//! copy a payload, never block, and never let its queue grow past its bound (it drops instead,
//! and NACK recovers).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::media::Pt;
use str0m::net::Transmit;
use str0m::rtp::{RtpWrite, SeqNo, Ssrc};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};

use crate::media::AudioCodec;

use super::room::{MediaTrack, PacketizedFrame};

/// Most source addresses remembered per viewer for demultiplexing (ICE may try several).
pub const MAX_ADDRS_PER_VIEWER: usize = 8;
/// Sequence numbers start below this, so the SRTP rollover counter starts at 0 on both sides.
const SEQ_START_MAX: u64 = 1 << 15;

/// One outgoing track of a viewer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TxTrack {
    pub pt: Pt,
    pub ssrc: Ssrc,
    /// Next extended sequence number: continuous for the viewer's whole life.
    pub seq: u64,
}

/// Where a viewer is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// ICE/DTLS in progress: media is not written.
    Connecting,
    /// Connected and receiving.
    Live,
}

/// Why a viewer's `Rtc` ended, found while driving it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// ICE consent expired or the peer closed DTLS.
    Gone,
    /// It never connected in time, or str0m reported a fatal error.
    Failed(String),
}

/// Per-viewer counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ViewerStats {
    /// RTP packets handed to str0m (first transmissions).
    pub rtp_packets: u64,
    /// Datagrams queued for the socket.
    pub datagrams: u64,
    /// Datagrams dropped because the viewer's queue was full.
    pub dropped_datagrams: u64,
    /// PLI/FIR keyframe requests received (never forwarded to the camera).
    pub keyframe_requests: u64,
    /// Video frames skipped while waiting for a keyframe.
    pub skipped_frames: u64,
}

/// What driving a viewer produced that the SFU must act on.
#[derive(Debug, Default)]
pub(crate) struct Drive {
    pub connected: bool,
    pub keyframe_requests: u32,
    /// Datagrams dropped on a full queue during this drive.
    pub dropped: u32,
    pub end: Option<End>,
    /// The queue went from empty to non-empty.
    pub became_ready: bool,
}

/// A viewer.
#[derive(Debug)]
pub(crate) struct Viewer {
    pub stream_key: Arc<str>,
    pub rtc: Rtc,
    pub ufrag: String,
    pub video: Option<TxTrack>,
    pub audio: Option<(TxTrack, AudioCodec)>,
    pub phase: Phase,
    /// Whether the video decoder has had a keyframe (false: skip video to the next one).
    pub video_synced: bool,
    pub queue: VecDeque<Transmit>,
    pub queue_limit: usize,
    pub next_timeout: Instant,
    /// The time this viewer's live entry in the SFU's timer heap is for.
    pub scheduled: Option<Instant>,
    pub deadline: Instant,
    pub addrs: VecDeque<SocketAddr>,
    pub stats: ViewerStats,
}

impl Viewer {
    /// A viewer around a negotiated `Rtc`; `connect_timeout` bounds ICE + DTLS.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        stream_key: Arc<str>,
        rtc: Rtc,
        ufrag: String,
        video: Option<TxTrack>,
        audio: Option<(TxTrack, AudioCodec)>,
        queue_limit: usize,
        now: Instant,
        connect_timeout: Duration,
    ) -> Viewer {
        Viewer {
            stream_key,
            rtc,
            ufrag,
            video,
            audio,
            phase: Phase::Connecting,
            video_synced: false,
            queue: VecDeque::new(),
            queue_limit,
            next_timeout: now,
            scheduled: None,
            deadline: now + connect_timeout,
            addrs: VecDeque::new(),
            stats: ViewerStats::default(),
        }
    }

    /// A random starting sequence number with a rollover counter of 0.
    pub fn initial_seq() -> u64 {
        rand::random::<u64>() % SEQ_START_MAX
    }

    /// Remembers a source address; returns the one evicted to stay in bound, if any.
    pub fn remember(&mut self, addr: SocketAddr) -> Option<SocketAddr> {
        if self.addrs.contains(&addr) {
            return None;
        }
        self.addrs.push_back(addr);
        if self.addrs.len() > MAX_ADDRS_PER_VIEWER {
            self.addrs.pop_front()
        } else {
            None
        }
    }

    /// Writes one shared frame. Returns false if nothing was written (not live, no such
    /// track, or waiting for a keyframe).
    pub fn write(&mut self, now: Instant, frame: &PacketizedFrame) -> bool {
        if self.phase != Phase::Live {
            return false;
        }
        let track = match frame.track {
            MediaTrack::Video => {
                if !frame.keyframe && !self.video_synced {
                    self.stats.skipped_frames += 1;
                    return false;
                }
                self.video_synced = true;
                self.video.as_mut()
            }
            MediaTrack::Audio(codec) => match self.audio.as_mut() {
                Some((t, c)) if *c == codec => Some(t),
                _ => None,
            },
        };
        let Some(track) = track else { return false };
        let mut api = self.rtc.direct_api();
        let Some(stream) = api.stream_tx(&track.ssrc) else {
            return false;
        };
        for p in &frame.payloads {
            let seq = SeqNo::from(track.seq);
            track.seq += 1;
            stream.write_rtp(
                RtpWrite::new(track.pt, seq, frame.rtp_time, now, p.data.clone())
                    .marker(p.marker)
                    .nackable(frame.track == MediaTrack::Video),
            );
        }
        self.stats.rtp_packets += frame.payloads.len() as u64;
        true
    }

    /// Feeds time and drains `poll_output` until str0m asks for the next timeout.
    pub fn drive(&mut self, now: Instant) -> Drive {
        let mut out = Drive::default();
        if let Err(e) = self.rtc.handle_input(Input::Timeout(now)) {
            out.end = Some(End::Failed(format!("WebRTC error: {e}")));
            self.rtc.disconnect();
        }
        self.poll(now, &mut out);
        out
    }

    /// Drains `poll_output` (after a `handle_input` the caller made).
    pub fn poll(&mut self, now: Instant, out: &mut Drive) {
        let was_empty = self.queue.is_empty();
        loop {
            if !self.rtc.is_alive() {
                break;
            }
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.next_timeout = t;
                    break;
                }
                Ok(Output::Transmit(t)) => {
                    if self.queue.len() >= self.queue_limit {
                        self.stats.dropped_datagrams += 1;
                        out.dropped += 1;
                    } else {
                        self.stats.datagrams += 1;
                        self.queue.push_back(t);
                    }
                }
                Ok(Output::Event(e)) => match e {
                    Event::Connected if self.phase == Phase::Connecting => {
                        self.phase = Phase::Live;
                        out.connected = true;
                    }
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                        self.rtc.disconnect();
                        out.end.get_or_insert(End::Gone);
                    }
                    Event::KeyframeRequest(_) => {
                        self.stats.keyframe_requests += 1;
                        out.keyframe_requests += 1;
                    }
                    Event::Closed => {
                        out.end.get_or_insert(End::Gone);
                    }
                    _ => {}
                },
                Err(e) => {
                    self.rtc.disconnect();
                    out.end
                        .get_or_insert(End::Failed(format!("WebRTC error: {e}")));
                    break;
                }
            }
        }
        if self.phase == Phase::Connecting && now >= self.deadline && out.end.is_none() {
            self.rtc.disconnect();
            out.end = Some(End::Failed("ICE/DTLS did not connect in time".into()));
        }
        if !self.rtc.is_alive() {
            out.end.get_or_insert(End::Gone);
        }
        if self.phase == Phase::Connecting {
            // Wake up at the connect deadline even if str0m has nothing to do before it.
            self.next_timeout = self.next_timeout.min(self.deadline);
        }
        out.became_ready = was_empty && !self.queue.is_empty();
    }
}
