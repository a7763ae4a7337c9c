//! The faulty network of one UDP session ([`NetworkFaults`]), after the payloader like
//! GStreamer's `netsim`.
//!
//! Owns the session's seeded decisions (drop, duplicate, delay each copy), the line of
//! delayed packets ordered by when they are due, and the camera-wide counts of what it did
//! ([`NetworkCounters`], read as [`NetworkStats`]). Sans-IO: told packets and the time, it
//! says what to send now and when to ask again; it never sends, sleeps or reads a clock. The
//! delay line holds at most [`MAX_DELAYED_PACKETS`]; a packet that finds it full is dropped
//! (and counted as dropped).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::config::{NetworkFaults, Share};

/// Packets one session's delay line holds at most (about a second of 8 Mbit/s video).
pub(crate) const MAX_DELAYED_PACKETS: usize = 1024;

/// What the faulty networks of a camera's sessions have done, as counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct NetworkStats {
    /// RTP packets handed to the faulty network.
    pub packets: u64,
    /// Copies held back by a delay.
    pub delayed: u64,
    /// Packets sent twice.
    pub duplicated: u64,
    /// Packets never sent (the drop fault, a full delay line, or a full socket buffer).
    pub dropped: u64,
    /// Video frames at least one packet of which was dropped: at most this many of the frames
    /// counted by [`SyntheticCamera::frames_sent`](crate::SyntheticCamera::frames_sent) can
    /// be missing at a receiver that loses nothing itself.
    pub frames_damaged: u64,
}

/// Camera-wide counters behind [`NetworkStats`].
#[derive(Debug, Default)]
pub(crate) struct NetworkCounters {
    packets: AtomicU64,
    delayed: AtomicU64,
    duplicated: AtomicU64,
    dropped: AtomicU64,
    frames_damaged: AtomicU64,
    /// Sessions given a network so far (each seeds its generator with its number).
    sessions: AtomicU64,
}

impl NetworkCounters {
    /// The counts now.
    pub(crate) fn stats(&self) -> NetworkStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        NetworkStats {
            packets: get(&self.packets),
            delayed: get(&self.delayed),
            duplicated: get(&self.duplicated),
            dropped: get(&self.dropped),
            frames_damaged: get(&self.frames_damaged),
        }
    }

    /// Counts a video frame that lost a packet.
    pub(crate) fn frame_damaged(&self) {
        self.frames_damaged.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a packet the socket refused (its buffer was full).
    pub(crate) fn socket_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// A packet on the delay line.
#[derive(Debug)]
struct Delayed {
    due: Instant,
    /// Tie-break, so packets due at once leave in the order they were delayed.
    order: u64,
    packet: Bytes,
    to: SocketAddr,
}

impl PartialEq for Delayed {
    fn eq(&self, o: &Self) -> bool {
        (self.due, self.order) == (o.due, o.order)
    }
}
impl Eq for Delayed {}
impl PartialOrd for Delayed {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Delayed {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.due, self.order).cmp(&(o.due, o.order))
    }
}

/// One session's faulty network.
#[derive(Debug)]
pub(crate) struct NetSim {
    faults: NetworkFaults,
    rng: StdRng,
    line: BinaryHeap<Reverse<Delayed>>,
    order: u64,
}

impl NetSim {
    /// The network of the next session of a camera whose counters are `counters`.
    pub(crate) fn new(faults: NetworkFaults, counters: &NetworkCounters) -> NetSim {
        let session = counters.sessions.fetch_add(1, Ordering::Relaxed);
        NetSim {
            faults,
            rng: StdRng::seed_from_u64(faults.seed.wrapping_add(session)),
            line: BinaryHeap::new(),
            order: 0,
        }
    }

    fn happens(&mut self, share: Share) -> bool {
        share.ppm() > 0 && self.rng.random_range(0..Share::ALL.ppm()) < share.ppm()
    }

    /// Sends `packet` to `to` through the network at `now`: copies to send at once are
    /// appended to `now_out`, delayed ones wait on the line. Returns false when the packet
    /// was dropped (no copy will arrive).
    pub(crate) fn send(
        &mut self,
        now: Instant,
        packet: Bytes,
        to: SocketAddr,
        counters: &NetworkCounters,
        now_out: &mut Vec<(Bytes, SocketAddr)>,
    ) -> bool {
        counters.packets.fetch_add(1, Ordering::Relaxed);
        if self.happens(self.faults.drop) {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let copies = if self.happens(self.faults.duplicate) {
            counters.duplicated.fetch_add(1, Ordering::Relaxed);
            2
        } else {
            1
        };
        let mut sent = false;
        for _ in 0..copies {
            if !self.happens(self.faults.delay) {
                now_out.push((packet.clone(), to));
                sent = true;
                continue;
            }
            if self.line.len() >= MAX_DELAYED_PACKETS {
                continue;
            }
            let (lo, hi) = (self.faults.min_delay, self.faults.max_delay);
            let micros = self
                .rng
                .random_range(lo.as_micros() as u64..=hi.as_micros() as u64);
            self.order += 1;
            self.line.push(Reverse(Delayed {
                due: now + Duration::from_micros(micros),
                order: self.order,
                packet: packet.clone(),
                to,
            }));
            counters.delayed.fetch_add(1, Ordering::Relaxed);
            sent = true;
        }
        if !sent {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// When the next delayed packet is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.line.peek().map(|d| d.0.due)
    }

    /// Appends to `out` the delayed packets due by `now`, in the order they are due.
    pub(crate) fn due(&mut self, now: Instant, out: &mut Vec<(Bytes, SocketAddr)>) {
        while self.line.peek().is_some_and(|d| d.0.due <= now) {
            if let Some(Reverse(d)) = self.line.pop() {
                out.push((d.packet, d.to));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults() -> NetworkFaults {
        NetworkFaults {
            delay: Share::percent(30.0),
            min_delay: Duration::ZERO,
            max_delay: Duration::from_millis(40),
            duplicate: Share::percent(3.0),
            drop: Share::percent(0.5),
            seed: 42,
        }
    }

    /// Runs 20 000 packets 1 ms apart; returns the arrival order (packet numbers) and counts.
    fn run(faults: NetworkFaults) -> (Vec<u32>, NetworkStats) {
        let counters = NetworkCounters::default();
        let mut net = NetSim::new(faults, &counters);
        let to: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let t0 = Instant::now();
        let mut arrived = Vec::new();
        let mut out = Vec::new();
        for i in 0..20_000u32 {
            let now = t0 + Duration::from_millis(u64::from(i));
            net.due(now, &mut out);
            net.send(
                now,
                Bytes::from(i.to_be_bytes().to_vec()),
                to,
                &counters,
                &mut out,
            );
            assert!(net.line.len() <= MAX_DELAYED_PACKETS);
            if let Some(due) = net.next_due() {
                assert!(due <= now + faults.max_delay);
            }
            arrived.extend(
                out.drain(..)
                    .map(|(p, _)| u32::from_be_bytes(p[..].try_into().unwrap())),
            );
        }
        net.due(t0 + Duration::from_secs(60), &mut out);
        arrived.extend(
            out.drain(..)
                .map(|(p, _)| u32::from_be_bytes(p[..].try_into().unwrap())),
        );
        (arrived, counters.stats())
    }

    #[test]
    fn faults_come_in_the_configured_shares_and_repeat_with_the_seed() {
        let (arrived, stats) = run(faults());
        let share = |n: u64| n as f64 / 20_000.0;
        assert!((0.004..0.006).contains(&share(stats.dropped)), "{stats:?}");
        assert!(
            (0.025..0.035).contains(&share(stats.duplicated)),
            "{stats:?}"
        );
        assert!((0.28..0.32).contains(&share(stats.delayed)), "{stats:?}");
        assert_eq!(
            arrived.len() as u64,
            20_000 - stats.dropped + stats.duplicated
        );
        let overtaken = arrived.windows(2).filter(|w| w[1] < w[0]).count();
        assert!(
            overtaken > 1_000,
            "{overtaken} packets arrived out of order"
        );
        assert_eq!(run(faults()), (arrived, stats), "same seed, same network");
        let (other, _) = run(NetworkFaults {
            seed: 43,
            ..faults()
        });
        assert_ne!(other, run(faults()).0, "another seed, another network");
    }

    #[test]
    fn a_perfect_network_passes_everything_at_once_in_order() {
        let (arrived, stats) = run(NetworkFaults::default());
        assert_eq!(arrived, (0..20_000).collect::<Vec<_>>());
        assert_eq!((stats.dropped, stats.delayed, stats.duplicated), (0, 0, 0));
    }
}
