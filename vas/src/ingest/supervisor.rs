//! The per-stream ingest task: connect, read, publish, and reconnect by policy.
//!
//! Owns one stream's connection lifecycle (`Connecting → Live ⇄ Reconnecting`, `Failed` for
//! errors retrying cannot fix soon, which are still retried at a slow pace), its health
//! figures, and the stream's timeline: frames get a continuous 90 kHz timeline across
//! reconnects (a new [`Frame::epoch`] marks each connection) and a wall-clock time. It must
//! never block the hub, spin without a delay, or keep anything of a connection after it ends.
//!
//! What a connection did to keep a UDP camera's packets in order ([`PacketCounts`]) goes into
//! the stream's status as it changes, and into the log at most once per
//! [`PACKET_LOG_INTERVAL`] and when the connection ends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::IngestConfig;
use super::backoff::Backoff;
use super::source::{CameraConnection, CameraSource, CameraTarget, RawFrame};
use super::stats::RateMeter;
use crate::clock::SharedClock;
use crate::events::{Event, EventBus};
use crate::hub::Hub;
use crate::media::{CLOCK_RATE, Frame};
use crate::model::{PacketCounts, StreamId};
use crate::model::{StreamState, StreamStatus};
use crate::{Error, ErrorKind};

/// Gap assumed between the last frame of one connection and the first of the next (one
/// frame at 30 fps), so the timeline never repeats a timestamp.
const RECONNECT_PTS_GAP: i64 = 3_000;
/// Shortest time between two log lines about a camera's reordered, late, duplicate or lost
/// packets (a lossy network would otherwise log with every frame).
pub const PACKET_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// The stream's timeline, kept across ingest tasks so a restarted stream continues it.
#[derive(Debug, Default)]
pub struct Timeline {
    epoch: u32,
    next_pts: i64,
}

/// Everything one ingest task needs.
#[derive(Debug, Clone)]
pub struct IngestContext {
    /// The stream.
    pub stream: StreamId,
    /// Where its camera is.
    pub target: CameraTarget,
    /// How to connect.
    pub source: Arc<dyn CameraSource>,
    /// Where frames go.
    pub hub: Hub,
    /// Live status, shared with the engine.
    pub status: Arc<Mutex<StreamStatus>>,
    /// The stream's timeline, shared across tasks.
    pub timeline: Arc<Mutex<Timeline>>,
    /// Where state changes are announced.
    pub events: EventBus,
    /// Wall-clock source.
    pub clock: SharedClock,
    /// Policy.
    pub config: IngestConfig,
}

/// A running ingest task; [`IngestTask::stop`] ends it and waits until it has released
/// its connection.
#[derive(Debug)]
pub struct IngestTask {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl IngestTask {
    /// Starts ingest for one stream.
    pub fn spawn(ctx: IngestContext) -> IngestTask {
        let (stop, stop_rx) = watch::channel(false);
        let handle = tokio::spawn(run(ctx, stop_rx));
        IngestTask { stop, handle }
    }

    /// Ends the task at once without waiting (for use where awaiting is impossible).
    pub fn abort(self) {
        let _ = self.stop.send(true);
        self.handle.abort();
    }

    /// Stops the task and waits for it to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.handle.await
            && e.is_panic()
        {
            warn!("an ingest task panicked while stopping");
        }
    }
}

fn lock(status: &Mutex<StreamStatus>) -> std::sync::MutexGuard<'_, StreamStatus> {
    status.lock().unwrap_or_else(|p| p.into_inner())
}

struct Runner {
    ctx: IngestContext,
    stop: watch::Receiver<bool>,
    backoff: Backoff,
    meter: RateMeter,
}

/// Whether an error is one retrying cannot fix soon.
fn persistent(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Unauthenticated
            | ErrorKind::PermissionDenied
            | ErrorKind::NotFound
            | ErrorKind::Unsupported
    )
}

impl Runner {
    fn set_state(&self, state: StreamState, error: Option<String>) {
        let changed = {
            let mut st = lock(&self.ctx.status);
            let changed = st.state != state || (error.is_some() && st.last_error != error);
            st.state = state;
            if error.is_some() {
                st.last_error = error.clone();
            }
            if state != StreamState::Live {
                st.fps = 0.0;
                st.bitrate_bps = 0;
            }
            changed
        };
        if changed {
            self.ctx.events.publish(Event::StreamState {
                stream_id: self.ctx.stream,
                state,
                error,
                at: self.ctx.clock.now_utc(),
            });
        }
    }

    /// Sleeps `d` unless asked to stop first; returns false when stopping.
    async fn pause(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = self.stop.changed() => false,
            () = tokio::time::sleep(d) => !*self.stop.borrow(),
        }
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Connects (with the connect timeout); `None` when asked to stop meanwhile.
    async fn connect(&mut self) -> Option<Result<Box<dyn CameraConnection>, Error>> {
        let timeout = self.ctx.config.connect_timeout;
        let attempt = tokio::time::timeout(timeout, self.ctx.source.connect(&self.ctx.target));
        tokio::select! {
            _ = self.stop.changed() => None,
            r = attempt => Some(match r {
                Ok(r) => r,
                Err(_) => Err(Error::unavailable(format!(
                    "the camera did not answer within {} s",
                    timeout.as_secs()
                ))),
            }),
        }
    }

    /// Reads one connection until it fails or ingest stops; returns the error, or `None`
    /// when stopping.
    async fn read(&mut self, mut conn: Box<dyn CameraConnection>) -> Option<Error> {
        let stall = self.ctx.config.stall_timeout;
        let (epoch, base_pts) = {
            let mut tl = self.ctx.timeline.lock().unwrap_or_else(|p| p.into_inner());
            tl.epoch = tl.epoch.wrapping_add(1);
            (tl.epoch, tl.next_pts)
        };
        let mut offset: Option<i64> = None;
        let mut wall_base: Option<(DateTime<Utc>, i64)> = None;
        let live_since = tokio::time::Instant::now();
        let mut packets = PacketLog {
            before: lock(&self.ctx.status).packets,
            seen: PacketCounts::default(),
            logged: None,
        };
        let result = loop {
            let next = tokio::time::timeout(stall, conn.next_frame());
            let raw: RawFrame = tokio::select! {
                _ = self.stop.changed() => break None,
                r = next => match r {
                    Ok(Ok(Some(f))) => f,
                    Ok(Ok(None)) => break Some(Error::unavailable("the camera ended the session")),
                    Ok(Err(e)) => break Some(e),
                    Err(_) => break Some(Error::unavailable(format!(
                        "no frames for {} s (stalled)",
                        stall.as_secs()
                    ))),
                },
            };
            if let Some(notice) = conn.take_notice() {
                let message = self.ctx.target.scrub(notice.message());
                warn!(stream = %self.ctx.stream, notice = %message, "camera misbehaved");
                lock(&self.ctx.status).last_error = Some(message);
            }
            let off = *offset.get_or_insert(base_pts - raw.pts);
            let pts = raw.pts + off;
            let now_utc = self.ctx.clock.now_utc();
            let (wall0, pts0) = *wall_base.get_or_insert((now_utc, pts));
            let wallclock = wall0
                + chrono::Duration::microseconds((pts - pts0) * 1_000_000 / i64::from(CLOCK_RATE));
            let is_video = matches!(raw.track, crate::media::Track::Video(_));
            let size = raw.data.len();
            {
                let mut tl = self.ctx.timeline.lock().unwrap_or_else(|p| p.into_inner());
                tl.next_pts = tl.next_pts.max(pts + RECONNECT_PTS_GAP);
            }
            self.ctx.hub.publish(Frame {
                track: raw.track,
                pts,
                keyframe: raw.keyframe,
                data: raw.data,
                epoch,
                wallclock,
            });
            let became_live = {
                let mut st = lock(&self.ctx.status);
                st.last_frame_at = Some(now_utc);
                st.frames += u64::from(is_video);
                if is_video && self.meter.frame(self.ctx.clock.now(), size) {
                    st.fps = self.meter.fps();
                    st.bitrate_bps = self.meter.bitrate_bps();
                }
                st.state != StreamState::Live
            };
            if became_live {
                self.set_state(StreamState::Live, None);
                info!(stream = %self.ctx.stream, "stream live");
            }
            let counts = conn.packet_counts();
            if counts != packets.seen {
                packets.seen = counts;
                lock(&self.ctx.status).packets = packets.before.plus(counts);
                let now = self.ctx.clock.now();
                if packets
                    .logged
                    .is_none_or(|t| now.saturating_duration_since(t) >= PACKET_LOG_INTERVAL)
                {
                    packets.logged = Some(now);
                    log_packets(self.ctx.stream, counts, "so far on this connection");
                }
            }
        };
        let last = conn.packet_counts();
        if last != PacketCounts::default() {
            lock(&self.ctx.status).packets = packets.before.plus(last);
            log_packets(self.ctx.stream, last, "on the connection that ended");
        }
        self.backoff.connection_lasted(live_since.elapsed());
        self.meter.reset();
        // What the camera did wrong (an oversized frame) explains a stall better than "no
        // frames".
        match (result, conn.take_notice()) {
            (Some(e), Some(notice)) => Some(Error::new(
                notice.kind(),
                format!("{}: {}", e.message(), notice.message()),
            )),
            (r, _) => r,
        }
    }
}

/// A connection's packet counts: the stream's before it, the connection's last seen, and
/// when they were last logged.
struct PacketLog {
    before: PacketCounts,
    seen: PacketCounts,
    logged: Option<std::time::Instant>,
}

fn log_packets(stream: StreamId, c: PacketCounts, when: &str) {
    info!(
        %stream,
        reordered = c.reordered,
        late = c.late,
        duplicates = c.duplicates,
        lost = c.lost,
        "camera packets put back in order, dropped (late, duplicate) or lost {when}"
    );
}

async fn run(ctx: IngestContext, stop: watch::Receiver<bool>) {
    let mut r = Runner {
        backoff: Backoff::new(ctx.config.backoff),
        ctx,
        stop,
        meter: RateMeter::new(),
    };
    let mut first = true;
    r.set_state(StreamState::Connecting, None);
    loop {
        if r.stopping() {
            break;
        }
        if !first {
            lock(&r.ctx.status).reconnects += 1;
        }
        first = false;
        let error = match r.connect().await {
            None => break,
            Some(Ok(conn)) => match r.read(conn).await {
                None => break,
                Some(e) => e,
            },
            Some(Err(e)) => e,
        };
        let message = r.ctx.target.scrub(error.message());
        let kind = error.kind();
        let state = if persistent(kind) {
            StreamState::Failed
        } else {
            StreamState::Reconnecting
        };
        let delay = r
            .backoff
            .next_delay(persistent(kind), rand::random::<f64>());
        warn!(stream = %r.ctx.stream, error = %message, retry_in = ?delay, "camera connection failed");
        r.set_state(state, Some(message));
        if !r.pause(delay).await {
            break;
        }
    }
    r.set_state(StreamState::Stopped, None);
}
