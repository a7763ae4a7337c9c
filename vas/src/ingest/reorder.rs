//! Puts one track of a UDP camera's RTP back in sequence order before retina sees it.
//!
//! Owns the track's reorder window: packets are held by RTP sequence number until the ones
//! before them arrive, for at most [`REORDER_WAIT`], [`REORDER_WINDOW_PACKETS`] packets and
//! [`REORDER_MAX_BYTES`] bytes; then the missing ones are given up as lost and what follows
//! goes on. Duplicates and packets that come after their place was given up are dropped. What
//! comes out has strictly increasing sequence numbers (gaps where packets were lost), which
//! is what retina's interleaved-TCP path requires: it accepts a forward gap as loss but ends
//! the session on any packet that goes backwards. Every decision is counted
//! ([`PacketCounts`]).
//!
//! Sans-IO: told packets and the time, it returns packets; it owns no socket and reads no
//! clock. It never parses beyond the RTP version and sequence number, never reorders RTCP and
//! never holds more than its bounds.
//!
//! Written here rather than taken from a crate: retina's own UDP reordering is private to its
//! UDP sessions (the relay speaks interleaved TCP to it), and the jitter buffers of the WebRTC
//! stacks are tied to their sessions and their playout clocks; this one is a window and four
//! counters.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::model::PacketCounts;

/// Packets held at most per track (a power of two). At 8 Mbit/s a keyframe of 250 packets
/// arrives in a burst; this leaves room for two of them.
pub(crate) const REORDER_WINDOW_PACKETS: usize = 512;
/// Bytes held at most per track; past this the oldest gap is given up early.
pub(crate) const REORDER_MAX_BYTES: usize = 2 * 1024 * 1024;
/// How long a packet waits for those before it: a gap older than this is loss. Networks that
/// reorder do so by a few to some tens of milliseconds; the wait is paid only while a gap is
/// open (and once at the start, see [`ReorderBuffer::push`]).
pub(crate) const REORDER_WAIT: Duration = Duration::from_millis(100);

/// Sequence-number distances at or past this are "behind" (RFC 3550's modular comparison).
const HALF: u16 = 0x8000;

/// One packet waiting for its turn.
#[derive(Debug)]
struct Held {
    arrived: Instant,
    packet: Bytes,
}

/// One track's reorder window (see the module documentation).
#[derive(Debug)]
pub(crate) struct ReorderBuffer {
    /// The sequence number released next; while starting, a provisional start half a window
    /// before the first packet.
    next: u16,
    /// Until the first release: when the start is decided (`None` before any packet).
    starting: Option<Instant>,
    started: bool,
    /// The window: slot `seq % REORDER_WINDOW_PACKETS` holds `seq` for `seq` in
    /// `next .. next + REORDER_WINDOW_PACKETS`.
    slots: Vec<Option<Held>>,
    held: usize,
    held_bytes: usize,
    /// Whether each of the last [`REORDER_WINDOW_PACKETS`] sequence numbers before `next` was
    /// released (a copy arriving now is a duplicate) or given up (it is late).
    released: [u64; REORDER_WINDOW_PACKETS / 64],
    /// How many sequence numbers before `next` `released` describes.
    history: usize,
    /// The highest sequence number seen (to tell packets that arrived out of order).
    highest: Option<u16>,
    /// When the oldest held packet arrived, or earlier (a lower bound, refreshed on demand).
    oldest: Option<Instant>,
    counts: PacketCounts,
}

impl Default for ReorderBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl ReorderBuffer {
    /// An empty window.
    pub(crate) fn new() -> Self {
        ReorderBuffer {
            next: 0,
            starting: None,
            started: false,
            slots: std::iter::repeat_with(|| None)
                .take(REORDER_WINDOW_PACKETS)
                .collect(),
            held: 0,
            held_bytes: 0,
            released: [0; REORDER_WINDOW_PACKETS / 64],
            history: 0,
            highest: None,
            oldest: None,
            counts: PacketCounts::default(),
        }
    }

    /// What the window has done so far.
    pub(crate) fn counts(&self) -> PacketCounts {
        self.counts
    }

    /// When [`ReorderBuffer::poll`] has something to do, if ever.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        if !self.started {
            return self.starting;
        }
        self.oldest.map(|t| t + REORDER_WAIT)
    }

    /// Takes a packet that arrived at `now`; appends to `out` what is now in order.
    ///
    /// The first packets wait [`REORDER_WAIT`] so that one overtaken on its way is not taken
    /// for the start; the lowest sequence number seen by then is where the track begins (the
    /// relay removes the camera's announced start, `RTP-Info: seq=`, from what retina sees,
    /// so retina starts wherever this does). Something that is not RTP version 2 goes
    /// straight to `out` (retina judges it).
    pub(crate) fn push(&mut self, now: Instant, packet: Bytes, out: &mut Vec<Bytes>) {
        let Some(seq) = sequence_number(&packet) else {
            out.push(packet);
            return;
        };
        if self.starting.is_none() {
            self.starting = Some(now + REORDER_WAIT);
            self.next = seq.wrapping_sub((REORDER_WINDOW_PACKETS / 2) as u16);
        }
        let overtaken = matches!(self.highest, Some(h) if seq.wrapping_sub(h) >= HALF);
        if !overtaken {
            self.highest = Some(seq);
        }
        let ahead = seq.wrapping_sub(self.next);
        if ahead >= HALF {
            let back = usize::from(self.next.wrapping_sub(seq));
            if back <= self.history && self.was_released(seq) {
                self.counts.duplicates += 1;
            } else {
                self.counts.late += 1;
            }
            return;
        }
        if usize::from(ahead) >= REORDER_WINDOW_PACKETS {
            // Past the window: give up what stands between (a burst longer than the window,
            // or the camera jumped its numbering).
            self.start_now();
            self.jump_to(seq, out);
        }
        let slot = slot_of(seq);
        if self.slots[slot].is_some() {
            self.counts.duplicates += 1;
            return;
        }
        while self.held > 0 && self.held_bytes + packet.len() > REORDER_MAX_BYTES {
            self.start_now();
            if !self.give_up_gap(Some(seq), out) {
                break;
            }
        }
        if self.started && seq.wrapping_sub(self.next) >= HALF {
            // Making room released everything up to and past this packet's place.
            self.counts.late += 1;
            return;
        }
        if overtaken {
            self.counts.reordered += 1;
        }
        self.held += 1;
        self.held_bytes += packet.len();
        self.oldest.get_or_insert(now);
        self.slots[slot] = Some(Held {
            arrived: now,
            packet,
        });
        if self.started {
            self.release_run(out);
        }
    }

    /// Acts on the time: decides the start, and gives up gaps whose followers waited
    /// [`REORDER_WAIT`]; appends to `out` what is then in order.
    pub(crate) fn poll(&mut self, now: Instant, out: &mut Vec<Bytes>) {
        if !self.started {
            match self.starting {
                Some(t) if t <= now => self.start_now(),
                _ => return,
            }
            self.release_run(out);
        }
        while let Some(t) = self.oldest {
            if t + REORDER_WAIT > now {
                return;
            }
            // The cached time may be stale (its packet gone); look at what is held.
            self.oldest = self.slots.iter().flatten().map(|h| h.arrived).min();
            match self.oldest {
                Some(t) if t + REORDER_WAIT <= now => {
                    self.give_up_gap(None, out);
                }
                _ => {}
            }
        }
    }

    /// Ends the start: the track begins at the lowest sequence number held.
    fn start_now(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        if self.held > 0 {
            while self.slots[slot_of(self.next)].is_none() {
                self.next = self.next.wrapping_add(1);
            }
        }
    }

    /// Releases the run of held packets starting at `next`.
    fn release_run(&mut self, out: &mut Vec<Bytes>) {
        while let Some(h) = self.slots[slot_of(self.next)].take() {
            self.held -= 1;
            self.held_bytes -= h.packet.len();
            out.push(h.packet);
            self.advance(true);
        }
        if self.held == 0 {
            self.oldest = None;
        }
    }

    /// Gives up the gap at `next` (counting its packets lost) and releases the run after it.
    /// Stops early at `stop` (the place of a packet about to be stored). Returns whether it
    /// moved.
    fn give_up_gap(&mut self, stop: Option<u16>, out: &mut Vec<Bytes>) -> bool {
        if self.held == 0 {
            return false;
        }
        let mut moved = false;
        while self.slots[slot_of(self.next)].is_none() {
            if Some(self.next) == stop {
                return moved;
            }
            self.counts.lost += 1;
            self.advance(false);
            moved = true;
        }
        self.release_run(out);
        true
    }

    /// Releases everything held, in order (gaps between counted lost), so that `seq` fits the
    /// window.
    fn jump_to(&mut self, seq: u16, out: &mut Vec<Bytes>) {
        while self.held > 0 {
            self.give_up_gap(None, out);
        }
        let gap = seq.wrapping_sub(self.next);
        if usize::from(gap) < REORDER_WINDOW_PACKETS {
            // Close enough to be loss.
            for _ in 0..gap {
                self.counts.lost += 1;
                self.advance(false);
            }
        } else {
            // A jump in numbering, not loss: start over there.
            self.next = seq;
            self.history = 0;
        }
    }

    /// Moves `next` on by one, remembering whether its packet went out.
    fn advance(&mut self, released: bool) {
        let slot = slot_of(self.next);
        let (word, bit) = (slot / 64, 1u64 << (slot % 64));
        if released {
            self.released[word] |= bit;
        } else {
            self.released[word] &= !bit;
        }
        self.history = (self.history + 1).min(REORDER_WINDOW_PACKETS);
        self.next = self.next.wrapping_add(1);
    }

    fn was_released(&self, seq: u16) -> bool {
        let slot = slot_of(seq);
        self.released[slot / 64] & (1u64 << (slot % 64)) != 0
    }
}

fn slot_of(seq: u16) -> usize {
    usize::from(seq) % REORDER_WINDOW_PACKETS
}

/// The sequence number of an RTP version 2 packet.
fn sequence_number(packet: &[u8]) -> Option<u16> {
    if packet.len() < 12 || packet[0] >> 6 != 2 {
        return None;
    }
    Some(u16::from_be_bytes([packet[2], packet[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtp(seq: u16) -> Bytes {
        let mut p = vec![0x80, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xaa];
        p[2..4].copy_from_slice(&seq.to_be_bytes());
        Bytes::from(p)
    }

    fn seqs(out: &[Bytes]) -> Vec<u16> {
        out.iter().map(|p| sequence_number(p).unwrap()).collect()
    }

    const MS: Duration = Duration::from_millis(1);

    /// A buffer past its start, with `first` released.
    fn started(t0: Instant, first: u16) -> ReorderBuffer {
        let mut b = ReorderBuffer::new();
        let mut out = Vec::new();
        b.push(t0, rtp(first), &mut out);
        assert!(out.is_empty(), "the first packet waits for the start");
        assert_eq!(b.deadline(), Some(t0 + REORDER_WAIT));
        b.poll(t0 + REORDER_WAIT, &mut out);
        assert_eq!(seqs(&out), [first]);
        b
    }

    #[test]
    fn the_start_waits_for_a_first_packet_that_was_overtaken() {
        let t0 = Instant::now();
        let mut b = ReorderBuffer::new();
        let mut out = Vec::new();
        for s in [12, 11, 13, 10] {
            b.push(t0 + MS, rtp(s), &mut out);
        }
        b.poll(t0 + REORDER_WAIT - MS, &mut out);
        assert!(out.is_empty());
        b.poll(t0 + REORDER_WAIT + MS, &mut out);
        assert_eq!(seqs(&out), [10, 11, 12, 13]);
        b.push(t0 + REORDER_WAIT + MS, rtp(14), &mut out);
        assert_eq!(seqs(&out), [10, 11, 12, 13, 14]);
        assert_eq!(b.counts().reordered, 2);
        assert_eq!(b.deadline(), None, "nothing held, nothing to wait for");
    }

    #[test]
    fn reordered_packets_come_out_in_order_without_waiting_once_the_gap_fills() {
        let t0 = Instant::now();
        let mut b = started(t0, 100);
        let mut out = Vec::new();
        let t = t0 + REORDER_WAIT;
        b.push(t, rtp(102), &mut out);
        b.push(t, rtp(103), &mut out);
        assert!(out.is_empty());
        assert_eq!(b.deadline(), Some(t + REORDER_WAIT));
        b.push(t + 5 * MS, rtp(101), &mut out);
        assert_eq!(seqs(&out), [101, 102, 103]);
        let c = b.counts();
        assert_eq!((c.reordered, c.late, c.duplicates, c.lost), (1, 0, 0, 0));
    }

    #[test]
    fn a_gap_is_given_up_after_the_wait_and_its_packet_is_then_late() {
        let t0 = Instant::now();
        let mut b = started(t0, 7);
        let mut out = Vec::new();
        let t = t0 + REORDER_WAIT;
        b.push(t, rtp(9), &mut out);
        b.push(t + 10 * MS, rtp(10), &mut out);
        b.poll(t + REORDER_WAIT - MS, &mut out);
        assert!(out.is_empty());
        b.poll(t + REORDER_WAIT, &mut out);
        assert_eq!(seqs(&out), [9, 10]);
        b.push(t + REORDER_WAIT + MS, rtp(8), &mut out);
        assert_eq!(seqs(&out), [9, 10], "too late: dropped");
        let c = b.counts();
        assert_eq!((c.late, c.duplicates, c.lost), (1, 0, 1));
    }

    #[test]
    fn duplicates_are_dropped_whether_held_or_already_released() {
        let t0 = Instant::now();
        let mut b = started(t0, 65_534);
        let mut out = Vec::new();
        let t = t0 + REORDER_WAIT;
        b.push(t, rtp(0), &mut out); // 65535 missing: 0 is held
        b.push(t, rtp(0), &mut out); // held copy
        b.push(t, rtp(65_535), &mut out);
        b.push(t, rtp(65_535), &mut out); // released copy
        b.push(t, rtp(65_534), &mut out); // released long ago
        assert_eq!(seqs(&out), [65_535, 0], "in order across the wrap");
        let c = b.counts();
        assert_eq!((c.duplicates, c.late, c.lost), (3, 0, 0));
    }

    #[test]
    fn a_burst_past_the_window_gives_up_the_oldest_gap_at_once() {
        let t0 = Instant::now();
        let mut b = started(t0, 0);
        let mut out = Vec::new();
        let t = t0 + REORDER_WAIT;
        let last = REORDER_WINDOW_PACKETS as u16 + 1;
        for s in 2..=last {
            b.push(t, rtp(s), &mut out);
        }
        assert_eq!(
            out.len(),
            REORDER_WINDOW_PACKETS,
            "1 given up, the rest released"
        );
        assert_eq!(seqs(&out).last(), Some(&last));
        assert_eq!(b.counts().lost, 1);
        assert_eq!(b.deadline(), None);
    }

    #[test]
    fn held_bytes_stay_under_the_bound() {
        let t0 = Instant::now();
        let mut b = started(t0, 0);
        let mut out = Vec::new();
        let t = t0 + REORDER_WAIT;
        let big = |seq: u16| {
            let mut p = vec![0u8; 60_000];
            p[..12].copy_from_slice(&rtp(seq)[..12]);
            Bytes::from(p)
        };
        // 1 never arrives; 2.. pile up behind it.
        for s in 2..100 {
            b.push(t, big(s), &mut out);
            assert!(b.held_bytes <= REORDER_MAX_BYTES);
        }
        assert_eq!(b.counts().lost, 1);
        assert_eq!(seqs(&out), (2..100).collect::<Vec<_>>());
    }

    #[test]
    fn a_jump_in_numbering_restarts_there() {
        let t0 = Instant::now();
        let mut b = started(t0, 10);
        let mut out = Vec::new();
        let t = t0 + REORDER_WAIT;
        b.push(t, rtp(30_000), &mut out);
        b.push(t, rtp(30_001), &mut out);
        assert_eq!(seqs(&out), [30_000, 30_001]);
        assert_eq!(b.counts().lost, 0, "a jump is not counted as loss");
    }

    #[test]
    fn non_rtp_passes_straight_through() {
        let mut b = ReorderBuffer::new();
        let mut out = Vec::new();
        b.push(Instant::now(), Bytes::from_static(b"\x00short"), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(b.deadline(), None);
    }

    #[test]
    fn output_is_strictly_increasing_under_random_faults() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let t0 = Instant::now();
        let mut b = ReorderBuffer::new();
        let mut out = Vec::new();
        // 20 000 packets, 1 ms apart, 30 % delayed 0..40 ms, 3 % doubled, 1 % dropped.
        let mut arrivals: Vec<(Instant, u16)> = Vec::new();
        for i in 0..20_000u32 {
            let seq = (i + 60_000) as u16;
            if i > 0 && rng.random_bool(0.01) {
                continue;
            }
            let copies = if rng.random_bool(0.03) { 2 } else { 1 };
            for _ in 0..copies {
                let delay = if rng.random_bool(0.3) {
                    Duration::from_millis(rng.random_range(0..=40))
                } else {
                    Duration::ZERO
                };
                arrivals.push((t0 + MS * i + delay, seq));
            }
        }
        arrivals.sort_by_key(|a| a.0);
        let mut sent = 0u64;
        for (t, s) in arrivals {
            b.poll(t, &mut out);
            b.push(t, rtp(s), &mut out);
            sent += 1;
            assert!(b.held <= REORDER_WINDOW_PACKETS);
        }
        b.poll(t0 + Duration::from_secs(60), &mut out);
        let got = seqs(&out);
        for w in got.windows(2) {
            let d = w[1].wrapping_sub(w[0]);
            assert!(
                (1..HALF).contains(&d),
                "not increasing: {} then {}",
                w[0],
                w[1]
            );
        }
        let c = b.counts();
        assert_eq!(c.late, 0, "nothing waited longer than the wait: {c:?}");
        assert!(c.reordered > 1_000 && c.duplicates > 300, "{c:?}");
        assert_eq!(
            got.len() as u64 + c.lost,
            20_000,
            "each sequence number either released or lost: {c:?}"
        );
        assert_eq!(sent, got.len() as u64 + c.duplicates, "{c:?}");
    }
}
