//! The recorder: one task per recorded stream, turning the hub's frames into HLS recordings
//! on disk and rows in the store.
//!
//! Owns: subscribing to a stream's [`Hub`], running the [`Segmenter`], writing each frame's
//! segment bytes with one write, handed to the OS within milliseconds of its arrival
//! (through the shared [`super::writer`], which batches the writes of all recorders), and
//! the EVENT playlist atomically (temporary file, then rename) on every change, all through
//! the [`MediaFs`] seam; rolling over to a
//! new recording (new folder, playlist and row) every chunk length; the `recordings` rows
//! (inserted once the playlist file exists, bytes updated as segments close, closed with
//! their end when the recording ends); and its health, a [`RecorderStatus`].
//!
//! On a write error (a full disk, a failing rename) it cuts the segment back to its last
//! whole frame, ends the recording cleanly with what it has, reports `error`, drops frames,
//! and opens a new recording once a backoff delay has passed. An ending that cannot be
//! written yet (the disk is still full) is retried later; crash recovery finishes it after a
//! restart. It must never panic, never block ingest or the hub (it only receives, and a
//! recorder that falls behind is skipped forward, which becomes a discontinuity), and never
//! leave a row pointing at files that do not exist.
//!
//! Frame appends run on the shared writer thread; segment boundaries, playlists and endings
//! wait for those and run on tokio's blocking pool; store calls are awaited in the task, so a
//! slow database slows the recorder (and may cost frames), never ingest.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::fs::{MediaFile, MediaFs, replace_file};
use super::layout::{MediaLayout, PLAYLIST_FILE_NAME};
use super::playlist::MediaPlaylist;
use super::segmenter::{
    DEFAULT_MAX_TIMESTAMP_JUMP, DEFAULT_TARGET_DURATION, SegmentEvent, Segmenter, SegmenterConfig,
};
use super::ts_scan::{MAX_SCAN_BYTES, scan_segment};
use super::writer::AppendLane;
use crate::clock::SharedClock;
use crate::events::{Event, EventBus};
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

/// When the recorder forces data to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FsyncPolicy {
    /// Never: the OS writes back on its own schedule (a power cut may lose its last seconds;
    /// crash recovery repairs the files).
    #[default]
    Never,
    /// fsync each segment when it closes, and each playlist (and its folder) when written.
    EverySegment,
}

/// How a recorder records.
#[derive(Debug, Clone, PartialEq)]
pub struct RecorderConfig {
    /// Target segment duration (see [`SegmenterConfig::target_duration`]).
    pub target_duration: Duration,
    /// Timestamp jump treated as a discontinuity (see
    /// [`SegmenterConfig::max_timestamp_jump`]).
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

/// Where a recorder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecorderState {
    /// Running: recording, or waiting for the next keyframe to start.
    #[default]
    Recording,
    /// The last write failed: frames are dropped until a new recording can be opened.
    Error,
    /// Stopped.
    Stopped,
}

impl RecorderState {
    /// The snake_case name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            RecorderState::Recording => "recording",
            RecorderState::Error => "error",
            RecorderState::Stopped => "stopped",
        }
    }
}

/// A recorder's health, as [`RecorderTask::status`] reports it.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct RecorderStatus {
    /// Lifecycle state.
    pub state: RecorderState,
    /// The recording being written, if any.
    pub recording: Option<RecordingId>,
    /// The last error (write, store), if any; kept after recovering from it.
    pub last_error: Option<String>,
    /// Recordings started.
    pub recordings: u64,
    /// Segments completed.
    pub segments: u64,
    /// Segment bytes written.
    pub bytes: u64,
    /// Frames written into segments (one write each).
    pub frames_written: u64,
    /// Frames received from the hub.
    pub frames_received: u64,
    /// Frames dropped while in the error state.
    pub frames_dropped: u64,
    /// Frames the hub skipped because the recorder fell behind.
    pub frames_lost: u64,
    /// Discontinuities written (`#EXT-X-DISCONTINUITY`).
    pub discontinuities: u64,
    /// Write and store errors so far.
    pub errors: u64,
}

/// One stream's recorder, ready to start: what it records, and where.
///
/// ```no_run
/// # async fn demo(hub: vas::hub::Hub, store: std::sync::Arc<dyn vas::store::Store>,
/// #     stream: vas::StreamId) -> vas::Result<()> {
/// use std::sync::Arc;
/// use vas::record::{fs::OsFs, layout::MediaLayout, recorder::Recorder};
/// let task = Recorder {
///     stream,
///     hub,
///     store,
///     fs: Arc::new(OsFs),
///     layout: MediaLayout::new("./vas-data/media"),
///     clock: Arc::new(vas::clock::SystemClock),
///     config: Default::default(),
/// }
/// .spawn()?;
/// // … later:
/// let status = task.stop().await;
/// assert_eq!(status.state, vas::record::recorder::RecorderState::Stopped);
/// # Ok(()) }
/// ```
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
}

impl Recorder {
    /// Subscribes to the hub at once (so no frame published after this call is missed) and
    /// starts the task. Fails only on an invalid config.
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
        let runner = Runner {
            drain_limit: self.hub.config().ring_frames,
            backoff: Backoff::new(self.config.retry),
            rec: self,
            phase: Phase::Idle,
            unfinished: Vec::new(),
            lane: Arc::new(AppendLane::new(status_tx.clone())),
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

/// Where a recorder's status goes: every count to its watch channel (read by
/// [`RecorderTask::status`]); a change of state, recording or error count also to the
/// engine's event bus, if it has one.
#[derive(Debug, Clone)]
pub(crate) struct StatusTx {
    tx: watch::Sender<RecorderStatus>,
    events: Option<(EventBus, StreamId, SharedClock)>,
}

impl StatusTx {
    /// A status sender that announces nothing (for tests of the disk side).
    #[cfg(test)]
    pub(crate) fn quiet(tx: watch::Sender<RecorderStatus>) -> Self {
        StatusTx { tx, events: None }
    }

    /// Changes the status with `f`.
    pub(crate) fn send_modify(&self, f: impl FnOnce(&mut RecorderStatus)) {
        let mut announce = None;
        self.tx.send_modify(|s| {
            let before = (s.state, s.recording, s.errors);
            f(s);
            if (s.state, s.recording, s.errors) != before {
                announce = Some((s.state, s.recording, s.last_error.clone()));
            }
        });
        if let (Some((state, recording, error)), Some((bus, stream, clock))) =
            (announce, &self.events)
        {
            bus.publish(Event::Recorder {
                stream: *stream,
                state,
                recording,
                error: if state == RecorderState::Error {
                    error
                } else {
                    None
                },
                at: clock.now_utc(),
            });
        }
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

fn io_error(e: io::Error, what: &str, path: &Path) -> Error {
    Error::from(e).context(format_args!("cannot {what} {}", path.display()))
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
            from + chrono::Duration::microseconds((secs.max(0.0) * 1e6).round() as i64)
        }
        None => start,
    };
    crate::model::to_micros(end.max(start))
}

/// What one batch of file work does, in order.
#[derive(Debug)]
enum Op {
    /// Create the recording folder and its (empty) playlist.
    Create { playlist: String },
    /// Open a new segment file.
    Start { uri: String },
    /// Append one frame's bytes to the open segment.
    Append(Bytes),
    /// The open segment is complete.
    Close,
    /// Write the playlist.
    Playlist(String),
}

/// What a batch did before it finished or failed.
#[derive(Debug, Default)]
struct Applied {
    created: bool,
    closed: u64,
    bytes: u64,
    frames: u64,
    error: Option<Error>,
}

#[derive(Debug)]
struct OpenSegment {
    uri: String,
    path: PathBuf,
    file: Box<dyn MediaFile>,
    /// Bytes of whole frames in the file.
    len: u64,
}

/// The files of one recording (blocking side).
#[derive(Debug)]
pub(crate) struct RecordingDisk {
    fs: Arc<dyn MediaFs>,
    dir: PathBuf,
    fsync: FsyncPolicy,
    open: Option<OpenSegment>,
    /// Every segment started: whole-frame bytes on disk, and whether its tail could not be
    /// cut back after a failed write (then it is not kept).
    segments: BTreeMap<String, (u64, bool)>,
    /// The segment whose append failed (cut back to whole frames): it holds fewer frames
    /// than the playlist says, since frames queued after the failure were dropped.
    short: Option<String>,
    playlist_len: u64,
}

impl RecordingDisk {
    fn playlist_path(&self) -> PathBuf {
        self.dir.join(PLAYLIST_FILE_NAME)
    }

    /// Bytes of the recording's files.
    fn bytes(&self) -> u64 {
        self.segments.values().map(|(len, _)| len).sum::<u64>() + self.playlist_len
    }

    fn apply(&mut self, ops: Vec<Op>) -> Applied {
        let mut applied = Applied::default();
        for op in ops {
            let result = match op {
                Op::Create { playlist } => self.create(&playlist).map(|()| applied.created = true),
                Op::Start { uri } => self.start(uri),
                Op::Append(bytes) => self.append(&bytes).map(|()| {
                    applied.bytes += bytes.len() as u64;
                    applied.frames += 1;
                }),
                Op::Close => self.close().map(|()| applied.closed += 1),
                Op::Playlist(text) => self.write_playlist(&text),
            };
            if let Err(e) = result {
                applied.error = Some(e);
                break;
            }
        }
        applied
    }

    fn create(&mut self, playlist: &str) -> Result<()> {
        self.fs
            .create_dir_all(&self.dir)
            .map_err(|e| io_error(e, "create recording folder", &self.dir))?;
        self.write_playlist(playlist)
    }

    fn start(&mut self, uri: String) -> Result<()> {
        self.open = None;
        let path = self.dir.join(&uri);
        let file = self
            .fs
            .create(&path)
            .map_err(|e| io_error(e, "create segment", &path))?;
        self.segments.insert(uri.clone(), (0, false));
        self.open = Some(OpenSegment {
            uri,
            path,
            file,
            len: 0,
        });
        Ok(())
    }

    /// Appends one frame's bytes to the open segment; on failure cuts the torn frame off.
    pub(crate) fn append(&mut self, bytes: &[u8]) -> Result<()> {
        let Some(seg) = &mut self.open else {
            return Err(Error::internal("segment bytes without an open segment"));
        };
        match seg.file.append(bytes) {
            Ok(()) => {
                seg.len += bytes.len() as u64;
                self.segments.insert(seg.uri.clone(), (seg.len, false));
                Ok(())
            }
            Err(e) => {
                // Cut the torn frame off so the segment still ends on a whole frame.
                if let Err(cut) = seg.file.truncate(seg.len) {
                    warn!(segment = %seg.path.display(), error = %cut, "cannot cut a torn frame off");
                    self.segments.insert(seg.uri.clone(), (seg.len, true));
                } else {
                    self.short = Some(seg.uri.clone());
                }
                let err = io_error(e, "write segment", &seg.path);
                self.open = None;
                Err(err)
            }
        }
    }

    fn close(&mut self) -> Result<()> {
        if let Some(mut seg) = self.open.take()
            && self.fsync == FsyncPolicy::EverySegment
        {
            seg.file
                .sync()
                .map_err(|e| io_error(e, "sync segment", &seg.path))?;
        }
        Ok(())
    }

    /// Writes the playlist atomically: a temporary file, renamed over the old one.
    fn write_playlist(&mut self, text: &str) -> Result<()> {
        let path = self.playlist_path();
        let sync = self.fsync == FsyncPolicy::EverySegment;
        replace_file(
            &*self.fs,
            &path,
            &MediaLayout::temp_path(&path),
            text.as_bytes(),
            sync,
        )
        .map_err(|e| io_error(e, "write playlist", &path))?;
        self.playlist_len = text.len() as u64;
        Ok(())
    }

    /// Drops from `playlist` the segments without whole frames on disk (removing their
    /// files) and marks it ended.
    fn prepare_end(&mut self, playlist: &mut MediaPlaylist) {
        self.open = None;
        let mut dropped_before = false;
        let mut kept = Vec::with_capacity(playlist.segments.len());
        for mut s in std::mem::take(&mut playlist.segments) {
            let mut usable =
                matches!(self.segments.get(&s.uri), Some(&(len, torn)) if len > 0 && !torn);
            if usable && self.short.as_ref() == Some(&s.uri) {
                // Its duration is what made it to disk.
                match self.duration_on_disk(&s.uri) {
                    Some(secs) => s.duration_secs = secs,
                    None => usable = false,
                }
            }
            if usable {
                s.discontinuity |= dropped_before && !kept.is_empty();
                dropped_before = false;
                kept.push(s);
            } else {
                dropped_before = true;
                let _ = self.fs.remove_file(&self.dir.join(&s.uri));
                self.segments.remove(&s.uri);
            }
        }
        playlist.segments = kept;
        playlist.ended = true;
    }

    /// The duration of the whole frames in a segment file, read back.
    fn duration_on_disk(&self, uri: &str) -> Option<f64> {
        let path = self.dir.join(uri);
        let len = self.segments.get(uri).map_or(0, |&(len, _)| len);
        let scan = self
            .fs
            .open_read(&path)
            .and_then(|mut r| scan_segment(&mut r, MAX_SCAN_BYTES.min(len)));
        match scan {
            Ok(scan) => scan.duration_secs(),
            Err(e) => {
                warn!(segment = %path.display(), error = %e, "cannot read a cut segment back");
                None
            }
        }
    }

    fn remove_all(&self) -> Result<()> {
        match self.fs.remove_dir_all(&self.dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(io_error(e, "remove recording folder", &self.dir))
            }
            _ => Ok(()),
        }
    }
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
    /// Frames on their way to the open segment (see [`super::writer`]).
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
            s.recording = None;
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
                            disk: Arc::new(Mutex::new(RecordingDisk {
                                fs: self.rec.fs.clone(),
                                dir: self.rec.layout.recording_dir(self.rec.stream, id),
                                fsync: self.rec.config.fsync,
                                open: None,
                                segments: BTreeMap::new(),
                                short: None,
                                playlist_len: 0,
                            })),
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
            s.recording = Some(id);
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
        self.status.send_modify(|s| s.recording = None);
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

    const SEGMENT: &str = "segment-00000000.ts";

    fn packet() -> Bytes {
        Bytes::from(vec![0x47u8; 188])
    }

    #[tokio::test]
    async fn the_shared_writer_counts_bounds_and_stops_at_the_first_failure() {
        let root = tempfile::tempdir().unwrap();
        let fs = Arc::new(crate::record::fs::FaultFs::new(root.path()));
        let mut disk = RecordingDisk {
            fs: fs.clone(),
            dir: root.path().join("recording"),
            fsync: FsyncPolicy::Never,
            open: None,
            segments: BTreeMap::new(),
            short: None,
            playlist_len: 0,
        };
        disk.create("#EXTM3U\n").unwrap();
        disk.start(SEGMENT.into()).unwrap();
        let disk = Arc::new(Mutex::new(disk));
        let (tx, status) = watch::channel(RecorderStatus::default());
        let lane = Arc::new(AppendLane::new(StatusTx::quiet(tx)));
        let appends_before = fs.appends();

        // Written in order and counted into the status.
        for _ in 0..10 {
            assert!(!lane.push(&disk, packet()));
        }
        lane.drain().await;
        assert_eq!(
            (status.borrow().frames_written, status.borrow().bytes),
            (10, 1880)
        );
        assert!(lane.take_error().is_none());
        assert_eq!(fs.appends() - appends_before, 10, "one append per frame");

        // Bounded: while the writer cannot finish a write, the lane says it is full at
        // its cap.
        {
            let _held = lock(&disk);
            let full: Vec<bool> = (0..super::super::writer::MAX_LANE_FRAMES)
                .map(|_| lane.push(&disk, packet()))
                .collect();
            assert!(full[..full.len() - 1].iter().all(|f| !f));
            assert!(full[full.len() - 1]);
        }
        lane.drain().await;
        let written = 10 + super::super::writer::MAX_LANE_FRAMES as u64;
        assert_eq!(status.borrow().frames_written, written);

        // A full disk: the failing frame is cut off, the frames queued after it are not
        // tried, and the failure is reported once.
        fs.set_capacity(Some(fs.used_bytes() + 100));
        for _ in 0..5 {
            lane.push(&disk, packet());
        }
        lane.drain().await;
        let err = lane.take_error().expect("the failure is reported");
        assert!(err.message().contains("no space"), "{err}");
        assert!(lane.take_error().is_none(), "once");
        assert_eq!(fs.failed_writes(), 1, "nothing tried after the failure");
        assert_eq!(status.borrow().frames_written, written);
        {
            let d = lock(&disk);
            assert_eq!(
                d.segments[SEGMENT],
                (written * 188, false),
                "cut to whole frames"
            );
            assert_eq!(d.short.as_deref(), Some(SEGMENT));
        }

        // Until reset, the lane drops what it is given; then it writes again.
        lane.push(&disk, packet());
        lane.drain().await;
        assert_eq!(fs.failed_writes(), 1);
        fs.set_capacity(None);
        lane.reset();
        lock(&disk).start("segment-00000001.ts".into()).unwrap();
        lane.push(&disk, packet());
        lane.drain().await;
        assert!(lane.take_error().is_none());
        assert_eq!(status.borrow().frames_written, written + 1);
    }

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
