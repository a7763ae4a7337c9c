//! The recorder: one task per recorded stream, turning the hub's frames into HLS recordings
//! on disk and rows in the store.
//!
//! This module owns the task: subscribing to a stream's [`Hub`], running the [`Segmenter`],
//! handing each frame's segment bytes to the recorder's [`SegmentWriter`] (which batches
//! the writes of every recorder it serves and hands them to the OS within milliseconds of
//! their arrival), and the EVENT playlist on every change; rolling over to a new recording (new
//! folder, playlist and row) every chunk length; the `recordings` rows (inserted once the
//! playlist file exists, bytes updated as segments close, closed with their end when the
//! recording ends). Two leaf modules hold the rest: `disk`, the files of one recording
//! (segments, the playlist written atomically, fsync, renames, all through the [`MediaFs`]
//! seam), and `status`, its health ([`RecorderStatus`]) and how that is announced.
//!
//! On a write error (a full disk, a failing rename) it cuts the segment back to its last
//! whole frame, ends the recording cleanly with what it has, reports `error`, drops frames,
//! and opens a new recording once a backoff delay has passed. An ending that cannot be
//! written yet (the disk is still full) is retried later; crash recovery finishes it after a
//! restart. It must never panic, never block ingest or the hub (it only receives, and a
//! recorder that falls behind is skipped forward, which becomes a discontinuity), and never
//! leave a row pointing at files that do not exist.
//!
//! Frame appends run on the writer's thread; segment boundaries, playlists and endings
//! wait for those and run on tokio's blocking pool; store calls are awaited in the task, so a
//! slow database slows the recorder (and may cost frames), never ingest.

pub(crate) mod disk;
pub(crate) mod status;

pub use disk::FsyncPolicy;
pub use status::{RecorderState, RecorderStatus};

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use self::disk::{Applied, Op, RecordingDisk};
use self::status::StatusTx;
use super::fs::MediaFs;
use super::layout::MediaLayout;
use super::playlist::{MediaPlaylist, segment_end};
use super::segmenter::{
    DEFAULT_MAX_TIMESTAMP_JUMP, DEFAULT_TARGET_DURATION, SegmentEvent, Segmenter, SegmenterConfig,
};
use super::writer::{AppendLane, SegmentWriter};
use crate::clock::SharedClock;
use crate::events::EventBus;
use crate::hub::{Delivery, Hub, Subscription};
use crate::ingest::backoff::{Backoff, BackoffPolicy};
use crate::media::{Frame, Track};
use crate::model::{Recording, RecordingId, StreamId};
use crate::store::Store;
use crate::{Error, ErrorKind, Result};

/// Default length of one recording before the recorder rolls over to a new one, so
/// playlists (and what a crash can leave open) stay bounded.
pub const DEFAULT_CHUNK_LENGTH: Duration = Duration::from_secs(600);

/// Shortest chunk length accepted (it must also be at least the target segment duration).
pub const MIN_CHUNK_LENGTH: Duration = Duration::from_secs(1);

/// Longest chunk length accepted (a day of 2-second segments is 43 200 playlist entries).
pub const MAX_CHUNK_LENGTH: Duration = Duration::from_secs(24 * 3600);

/// Default first delay before a new recording is tried after a write error.
pub const DEFAULT_RETRY_INITIAL_DELAY: Duration = Duration::from_secs(1);

/// Default longest delay between attempts after repeated write errors.
pub const DEFAULT_RETRY_MAX_DELAY: Duration = Duration::from_secs(60);

/// Recordings whose ending (final playlist, closed row) is kept in memory for retrying; past
/// this the oldest is left to crash recovery at the next start.
pub const MAX_UNFINISHED_RECORDINGS: usize = 16;

/// How a recorder records.
#[derive(Debug, Clone, PartialEq)]
pub struct RecorderConfig {
    /// Target segment duration (see `SegmenterConfig::target_duration`).
    pub target_duration: Duration,
    /// Timestamp jump treated as a discontinuity (see
    /// `SegmenterConfig::max_timestamp_jump`).
    pub max_timestamp_jump: Duration,
    /// Length of one recording: at the first keyframe after it, a new recording starts
    /// (measured in frame wall-clock time).
    pub chunk_length: Duration,
    /// When to fsync.
    pub fsync: FsyncPolicy,
    /// Delays between attempts to record again after a write error.
    pub retry: BackoffPolicy,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig {
            target_duration: DEFAULT_TARGET_DURATION,
            max_timestamp_jump: DEFAULT_MAX_TIMESTAMP_JUMP,
            chunk_length: DEFAULT_CHUNK_LENGTH,
            fsync: FsyncPolicy::default(),
            retry: BackoffPolicy {
                initial: DEFAULT_RETRY_INITIAL_DELAY,
                max: DEFAULT_RETRY_MAX_DELAY,
                ..BackoffPolicy::default()
            },
        }
    }
}

impl RecorderConfig {
    /// The segmenter configuration for one recording (segment names fixed by the layout).
    fn segmenter(&self) -> SegmenterConfig {
        SegmenterConfig::default()
            .target_duration(self.target_duration)
            .max_timestamp_jump(self.max_timestamp_jump)
    }

    /// Checks every bound; `InvalidInput` names the first one broken.
    pub fn validate(&self) -> Result<()> {
        Segmenter::new(self.segmenter())?;
        if !(MIN_CHUNK_LENGTH..=MAX_CHUNK_LENGTH).contains(&self.chunk_length)
            || self.chunk_length < self.target_duration
        {
            return Err(Error::invalid_input(format!(
                "chunk length must be between {MIN_CHUNK_LENGTH:?} (and the target duration) \
                 and {MAX_CHUNK_LENGTH:?}"
            )));
        }
        Ok(())
    }
}

/// One stream's recorder, ready to start: what it records, and where.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// The stream recorded.
    pub stream: StreamId,
    /// Its hub.
    pub hub: Hub,
    /// Where rows go.
    pub store: Arc<dyn Store>,
    /// Where files go.
    pub fs: Arc<dyn MediaFs>,
    /// The media folder layout.
    pub layout: MediaLayout,
    /// Monotonic time for the retry backoff.
    pub clock: SharedClock,
    /// Policy.
    pub config: RecorderConfig,
    /// Writes its frames (shared with other recorders, typically all of one engine's).
    pub writer: SegmentWriter,
}

impl Recorder {
    /// Subscribes to the hub at once (so no frame published after this call is missed) and
    /// starts the task. Fails only on an invalid config.
    #[cfg(test)]
    pub fn spawn(self) -> Result<RecorderTask> {
        self.spawn_inner(None)
    }

    /// [`spawn`](Self::spawn), announcing changes of state, recording and error on the
    /// engine's event bus.
    pub(crate) fn spawn_announcing(self, events: EventBus) -> Result<RecorderTask> {
        self.spawn_inner(Some(events))
    }

    fn spawn_inner(self, events: Option<EventBus>) -> Result<RecorderTask> {
        self.config.validate()?;
        let subscription = self.hub.subscribe();
        let (watch_tx, status_rx) = watch::channel(RecorderStatus::default());
        let status_tx = StatusTx {
            tx: watch_tx,
            events: events.map(|bus| (bus, self.stream, self.clock.clone())),
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let lane = Arc::new(AppendLane::new(status_tx.clone(), self.writer.clone()));
        let runner = Runner {
            drain_limit: self.hub.config().ring_frames,
            backoff: Backoff::new(self.config.retry),
            rec: self,
            phase: Phase::Idle,
            unfinished: Vec::new(),
            lane,
            status: status_tx,
        };
        let handle = tokio::spawn(runner.run(subscription, stop_rx));
        Ok(RecorderTask {
            stop: stop_tx,
            status: status_rx,
            handle,
        })
    }
}

/// A running recorder. Dropping it stops the recorder (without waiting).
#[derive(Debug)]
pub struct RecorderTask {
    stop: watch::Sender<bool>,
    status: watch::Receiver<RecorderStatus>,
    handle: JoinHandle<()>,
}

impl RecorderTask {
    /// The current status.
    #[cfg(test)]
    pub fn status(&self) -> RecorderStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change.
    pub fn watch_status(&self) -> watch::Receiver<RecorderStatus> {
        self.status.clone()
    }

    /// Stops recording: frames already delivered are written, the recording is ended
    /// (`#EXT-X-ENDLIST`, row closed), and the final status is returned.
    pub async fn stop(self) -> RecorderStatus {
        let _ = self.stop.send(true);
        if let Err(e) = self.handle.await
            && e.is_panic()
        {
            warn!("a recorder task panicked while stopping");
        }
        self.status.borrow().clone()
    }

    /// Ends the task at once without ending anything: the playlist stays an open EVENT
    /// playlist, the row stays open and the last segment is left as written, exactly what a
    /// crash leaves ([`super::recovery::recover`] repairs it at the next start).
    pub fn abort(self) {
        self.handle.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded values stay consistent under every panic-free path.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs blocking file work on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("recorder file task failed: {e}")))
}

/// The end time of a recording: the wall-clock end of its last segment.
pub(crate) fn recording_end(start: DateTime<Utc>, playlist: &MediaPlaylist) -> DateTime<Utc> {
    let end = match playlist.segments.last() {
        Some(last) => {
            let from = last.program_date_time.unwrap_or(start);
            let secs = if last.program_date_time.is_some() {
                last.duration_secs
            } else {
                playlist.total_duration_secs()
            };
            segment_end(from, secs)
        }
        None => start,
    };
    crate::model::to_micros(end.max(start))
}

/// A recording with files on disk.
#[derive(Debug)]
struct Files {
    id: RecordingId,
    start: DateTime<Utc>,
    /// Whether its row was inserted.
    row: bool,
    disk: Arc<Mutex<RecordingDisk>>,
}

/// A recording being written.
#[derive(Debug)]
struct Active {
    segmenter: Segmenter,
    /// Created at its first segment.
    files: Option<Files>,
}

#[derive(Debug)]
enum Phase {
    /// No recording; the next frame starts one.
    Idle,
    Active(Box<Active>),
    /// After an error: frames are dropped until then.
    Failed {
        retry_at: Instant,
    },
}

/// A recording that has ended but whose final playlist or row is not written yet.
#[derive(Debug)]
struct Ending {
    id: RecordingId,
    start: DateTime<Utc>,
    row: bool,
    disk: Arc<Mutex<RecordingDisk>>,
    playlist: MediaPlaylist,
    prepared: bool,
    written: bool,
}

struct Runner {
    rec: Recorder,
    status: StatusTx,
    phase: Phase,
    backoff: Backoff,
    unfinished: Vec<Ending>,
    drain_limit: usize,
    /// Frames on their way to the open segment (see [`super::writer`]), through `rec.writer`.
    lane: Arc<AppendLane>,
}

impl Runner {
    async fn run(mut self, mut sub: Subscription, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                d = sub.recv() => match d {
                    Some(d) => self.on_delivery(d).await,
                    None => break,
                },
                () = self.lane.failure() => self.collect_written().await,
            }
        }
        // Write what was already delivered (bounded by the hub's ring).
        for _ in 0..self.drain_limit {
            match sub.try_recv() {
                Ok(d) => self.on_delivery(d).await,
                Err(_) => break,
            }
        }
        drop(sub);
        self.end_active().await;
        self.finish_endings().await;
        if !self.unfinished.is_empty() {
            warn!(
                stream = %self.rec.stream,
                recordings = self.unfinished.len(),
                "recordings left open at stop; crash recovery will close them at the next start"
            );
        }
        self.status.send_modify(|s| {
            s.state = RecorderState::Stopped;
            s.recording_id = None;
        });
    }

    async fn on_delivery(&mut self, d: Delivery) {
        match d {
            Delivery::Frame(f) => self.on_frame(f).await,
            Delivery::Lost { frames } => {
                self.status.send_modify(|s| s.frames_lost += frames);
                if let Phase::Active(a) = &mut self.phase {
                    a.segmenter.frames_lost();
                    self.write_events().await;
                }
            }
        }
    }

    async fn on_frame(&mut self, frame: Frame) {
        self.status.send_modify(|s| s.frames_received += 1);
        match &self.phase {
            Phase::Failed { retry_at } if self.rec.clock.now() < *retry_at => {
                self.status.send_modify(|s| s.frames_dropped += 1);
                return;
            }
            Phase::Failed { .. } | Phase::Idle => {
                self.finish_endings().await;
                self.phase = self.new_active();
            }
            Phase::Active(_) => {}
        }
        if self.rolls_over(&frame) {
            self.end_active().await;
            self.phase = self.new_active();
        }
        if let Phase::Active(a) = &mut self.phase {
            a.segmenter.push(&frame);
        }
        self.write_events().await;
    }

    /// Whether `frame` starts a new recording: a video keyframe a chunk length or more after
    /// the current recording started.
    fn rolls_over(&self, frame: &Frame) -> bool {
        let Phase::Active(a) = &self.phase else {
            return false;
        };
        let Some(files) = &a.files else { return false };
        frame.is_video()
            && frame.keyframe
            && (frame.wallclock - files.start)
                .to_std()
                .is_ok_and(|d| d >= self.rec.config.chunk_length)
    }

    fn new_active(&self) -> Phase {
        let Ok(mut segmenter) = Segmenter::new(self.rec.config.segmenter()) else {
            // validate() in spawn() checked this config.
            return Phase::Idle;
        };
        if let Some(audio) = self.rec.hub.audio_params() {
            // Refused for codecs MPEG-TS does not carry here; their frames are skipped.
            let _ = segmenter.declare_track(&Track::Audio(audio));
        }
        Phase::Active(Box::new(Active {
            segmenter,
            files: None,
        }))
    }

    /// Turns the segmenter's pending events into file work, does it, and updates rows.
    async fn write_events(&mut self) {
        let Phase::Active(a) = &mut self.phase else {
            return;
        };
        let mut ops = Vec::new();
        let mut discontinuities = 0;
        while let Some(event) = a.segmenter.poll() {
            match event {
                SegmentEvent::SegmentStarted {
                    uri,
                    wallclock,
                    discontinuity,
                    ..
                } => {
                    if a.files.is_none() {
                        let id = RecordingId::new();
                        a.files = Some(Files {
                            id,
                            start: crate::model::to_micros(wallclock),
                            row: false,
                            disk: Arc::new(Mutex::new(RecordingDisk::new(
                                self.rec.fs.clone(),
                                self.rec.layout.recording_dir(self.rec.stream, id),
                                self.rec.config.fsync,
                            ))),
                        });
                        ops.push(Op::Create {
                            playlist: a.segmenter.playlist().render(),
                        });
                    }
                    discontinuities += u64::from(discontinuity);
                    ops.push(Op::Start { uri });
                }
                SegmentEvent::Bytes(b) => ops.push(Op::Append(b)),
                SegmentEvent::SegmentClosed { .. } => ops.push(Op::Close),
                SegmentEvent::PlaylistChanged => {
                    ops.push(Op::Playlist(a.segmenter.playlist().render()));
                }
            }
        }
        let Some(files) = &a.files else { return };
        if ops.is_empty() {
            return;
        }
        let (id, start, row) = (files.id, files.start, files.row);
        let disk = files.disk.clone();
        if ops.iter().all(|op| matches!(op, Op::Append(_))) {
            // The common case, one frame: queued for the shared writer, not waited for.
            let mut full = false;
            for op in ops {
                if let Op::Append(bytes) = op {
                    full |= self.lane.push(&disk, bytes);
                }
            }
            if full {
                self.lane.drain().await;
            }
            if discontinuities > 0 {
                self.status
                    .send_modify(|s| s.discontinuities += discontinuities);
            }
            return self.collect_written().await;
        }
        // Segment boundaries and playlists follow every queued frame of this recording.
        self.lane.drain().await;
        if let Some(e) = self.lane.take_error() {
            return self.fail(e).await;
        }
        let applied = match blocking(move || lock(&disk).apply(ops)).await {
            Ok(a) => a,
            Err(e) => Applied {
                error: Some(e),
                ..Applied::default()
            },
        };
        self.status.send_modify(|s| {
            s.bytes += applied.bytes;
            s.frames_written += applied.frames;
            s.segments += applied.closed;
            s.discontinuities += discontinuities;
        });
        if let Some(e) = applied.error {
            return self.fail(e).await;
        }
        if applied.created {
            if let Err(e) = self.insert_row(id, start).await {
                return self.fail(e.context("cannot index the new recording")).await;
            }
        } else if applied.closed > 0 && row {
            self.update_row_bytes(id).await;
            self.finish_endings().await;
        }
    }

    /// Fails the recording if one of its queued frames could not be written.
    async fn collect_written(&mut self) {
        if let Some(e) = self.lane.take_error()
            && matches!(self.phase, Phase::Active(_))
        {
            self.fail(e).await;
        }
    }

    async fn insert_row(&mut self, id: RecordingId, start: DateTime<Utc>) -> Result<()> {
        let Phase::Active(a) = &mut self.phase else {
            return Ok(());
        };
        let Some(files) = &mut a.files else {
            return Ok(());
        };
        let bytes = lock(&files.disk).bytes();
        let row = Recording {
            id,
            stream_id: self.rec.stream,
            start,
            end: None,
            location: self.rec.layout.recording_location(self.rec.stream, id),
            bytes,
        };
        self.rec.store.insert_recording(&row).await?;
        files.row = true;
        self.backoff = Backoff::new(self.rec.config.retry);
        info!(stream = %self.rec.stream, recording = %id, "recording started");
        self.status.send_modify(|s| {
            s.state = RecorderState::Recording;
            s.recording_id = Some(id);
            s.recordings += 1;
        });
        Ok(())
    }

    async fn update_row_bytes(&mut self, id: RecordingId) {
        let Phase::Active(a) = &self.phase else {
            return;
        };
        let Some(files) = &a.files else { return };
        let bytes = lock(&files.disk).bytes();
        if let Err(e) = self.rec.store.update_recording(id, None, bytes).await {
            // Not fatal: the row is corrected when the recording ends (or by recovery).
            warn!(stream = %self.rec.stream, recording = %id, error = %e, "cannot update a recording's size");
            self.status.send_modify(|s| {
                s.errors += 1;
                s.last_error = Some(e.message().to_owned());
            });
        }
    }

    /// A write failed: end what there is, report, and wait before trying again.
    async fn fail(&mut self, err: Error) {
        let delay = self.backoff.next_delay(false, rand::random::<f64>());
        warn!(stream = %self.rec.stream, error = %err, retry_in = ?delay, "recording failed");
        self.status.send_modify(|s| {
            s.state = RecorderState::Error;
            s.last_error = Some(err.message().to_owned());
            s.errors += 1;
        });
        self.end_active().await;
        self.phase = Phase::Failed {
            retry_at: self.rec.clock.now() + delay,
        };
        self.status.send_modify(|s| s.recording_id = None);
    }

    /// Ends the current recording (if it has files) and tries to write its ending.
    async fn end_active(&mut self) {
        let Phase::Active(a) = std::mem::replace(&mut self.phase, Phase::Idle) else {
            return;
        };
        let mut a = *a;
        a.segmenter.finish();
        let mut closed = false;
        while let Some(event) = a.segmenter.poll() {
            closed |= matches!(event, SegmentEvent::SegmentClosed { .. });
        }
        // Every queued frame is written before the recording ends; a failure among them
        // belongs to this recording, which ends now anyway.
        self.lane.drain().await;
        if let Some(e) = self.lane.take_error() {
            warn!(stream = %self.rec.stream, error = %e, "the last frames of a recording could not be written");
            self.status.send_modify(|s| {
                s.errors += 1;
                s.last_error = Some(e.message().to_owned());
            });
        }
        self.lane.reset();
        let Some(files) = a.files else { return };
        if closed {
            // The last segment is complete (its fsync, under that policy, happens here).
            let disk = files.disk.clone();
            let applied = blocking(move || lock(&disk).apply(vec![Op::Close])).await;
            if let Ok(Applied { closed: 1, .. }) = applied {
                self.status.send_modify(|s| s.segments += 1);
            }
        }
        if self.unfinished.len() >= MAX_UNFINISHED_RECORDINGS {
            let oldest = self.unfinished.remove(0);
            warn!(recording = %oldest.id, "too many unfinished recordings; leaving one to crash recovery");
        }
        self.unfinished.push(Ending {
            id: files.id,
            start: files.start,
            row: files.row,
            disk: files.disk,
            playlist: a.segmenter.playlist().clone(),
            prepared: false,
            written: false,
        });
        self.finish_endings().await;
    }

    /// Tries to write every pending ending; keeps those that fail for later.
    async fn finish_endings(&mut self) {
        for mut ending in std::mem::take(&mut self.unfinished) {
            match self.finish_ending(&mut ending).await {
                Ok(()) => {}
                Err(e) => {
                    warn!(stream = %self.rec.stream, recording = %ending.id, error = %e, "cannot end a recording yet");
                    self.status.send_modify(|s| {
                        s.errors += 1;
                        s.last_error = Some(e.message().to_owned());
                    });
                    self.unfinished.push(ending);
                }
            }
        }
    }

    async fn finish_ending(&self, e: &mut Ending) -> Result<()> {
        if !e.prepared {
            let disk = e.disk.clone();
            let mut playlist = e.playlist.clone();
            e.playlist = blocking(move || {
                lock(&disk).prepare_end(&mut playlist);
                playlist
            })
            .await?;
            e.prepared = true;
        }
        if e.playlist.segments.is_empty() || !e.row {
            // Nothing worth keeping (or never indexed): row first, then files.
            if e.row {
                match self.rec.store.delete_recording(e.id).await {
                    Err(err) if err.kind() != ErrorKind::NotFound => return Err(err),
                    _ => e.row = false,
                }
            }
            let disk = e.disk.clone();
            return blocking(move || lock(&disk).remove_all()).await?;
        }
        if !e.written {
            let disk = e.disk.clone();
            let text = e.playlist.render();
            blocking(move || lock(&disk).write_playlist(&text)).await??;
            e.written = true;
        }
        let bytes = lock(&e.disk).bytes();
        let end = recording_end(e.start, &e.playlist);
        match self
            .rec
            .store
            .update_recording(e.id, Some(end), bytes)
            .await
        {
            Err(err) if err.kind() == ErrorKind::NotFound => {
                // The row was deleted meanwhile (its stream was removed): so go its files.
                e.row = false;
                let disk = e.disk.clone();
                return blocking(move || lock(&disk).remove_all()).await?;
            }
            other => other?,
        }
        info!(stream = %self.rec.stream, recording = %e.id, %end, bytes, "recording ended");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::playlist::PlaylistSegment;

    #[test]
    fn config_bounds_are_checked() {
        assert!(RecorderConfig::default().validate().is_ok());
        for chunk in [
            Duration::ZERO,
            Duration::from_millis(500),
            MAX_CHUNK_LENGTH + Duration::from_secs(1),
        ] {
            let c = RecorderConfig {
                chunk_length: chunk,
                ..Default::default()
            };
            assert!(c.validate().is_err(), "{chunk:?}");
        }
        let c = RecorderConfig {
            target_duration: Duration::from_secs(6),
            chunk_length: Duration::from_secs(5),
            ..Default::default()
        };
        assert!(c.validate().is_err());
        let c = RecorderConfig {
            target_duration: Duration::ZERO,
            ..Default::default()
        };
        assert!(c.validate().is_err());
    }

    #[test]
    fn end_is_the_wall_clock_end_of_the_last_segment() {
        let t0: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let seg = |at: i64, d: f64| PlaylistSegment {
            uri: "s.ts".into(),
            duration_secs: d,
            program_date_time: Some(t0 + chrono::Duration::seconds(at)),
            discontinuity: false,
        };
        let mut p = MediaPlaylist::event(2);
        assert_eq!(recording_end(t0, &p), t0);
        // A gap (camera away for 30 s) between the segments counts in wall-clock time.
        p.segments = vec![seg(0, 2.0), seg(32, 1.5)];
        assert_eq!(
            recording_end(t0, &p),
            t0 + chrono::Duration::milliseconds(33_500)
        );
        p.segments[1].program_date_time = None;
        assert_eq!(
            recording_end(t0, &p),
            t0 + chrono::Duration::milliseconds(3_500)
        );
    }
}
