//! The segment writer: one OS thread that appends the frames of every recorder it serves to
//! their segment files, in batches.
//!
//! Owns: the queue of pending appends of its recorders, and the thread that drains it. A
//! [`SegmentWriter`] is a handle to both, owned by whoever starts it (the engine starts one
//! and gives every recorder it spawns a clone; nothing is process-global). Each recorder has
//! an append lane: it queues frames without waiting, reads back what was written (bytes,
//! frames, the first error) when it likes, and waits for its lane to drain before anything
//! that must follow the appends (closing a segment, writing a playlist, ending a recording).
//!
//! Why not tokio's blocking pool per frame: handing each frame to a pool thread and waking
//! the recorder when it is written costs two thread switches per frame, which measured as
//! most of a recorder's CPU (see `benches/record_cpu.rs`). Here the writer thread wakes when
//! the queue turns non-empty, writes what is queued, then pauses [`COALESCE`] so that frames
//! of many cameras share one wake-up; a recorder is woken only when its lane drains while it
//! waits, or when a write fails. Frames reach the OS at most [`COALESCE`] (plus the write
//! time) after they arrive, so a crash loses at most that much more than before.
//!
//! Bounded: a lane holds at most [`MAX_LANE_FRAMES`] frames or [`MAX_LANE_BYTES`] bytes; a
//! recorder past either waits for its lane (it then falls behind the hub, which skips it
//! forward: a discontinuity, never unbounded memory). After a failed append the lane drops
//! its remaining queued frames (the recording they belong to has failed) until the
//! recorder, having ended that recording, resets it.
//!
//! Stopping: [`SegmentWriter::shutdown`] asks the thread to write what is queued and exit
//! (so does dropping the last handle, without waiting); [`SegmentWriter::join`] and
//! [`SegmentWriter::stop`] wait for that, bounded. An append that arrives while the thread is
//! still writing its last batches is still queued (it keeps its place after the frames before
//! it); one that arrives after the thread has exited is written at once by the caller, as
//! when the thread could not be started at all. So an append never hangs, never panics and is
//! never lost because the writer stopped; it only costs its caller the write.
//!
//! Appends are plain buffered writes to the page cache. Work that may block for long
//! (fsync, renames, folder creation and removal) stays on tokio's blocking pool, per
//! recorder, so one slow fsync does not hold up every camera.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::Notify;
use tracing::{error, warn};

use super::recorder::disk::RecordingDisk;
use super::recorder::status::StatusTx;
use crate::Error;

/// Pause after each batch, so appends of many cameras share one wake-up of the writer.
pub const COALESCE: Duration = Duration::from_millis(10);

/// Frames one recorder may have queued before it waits for them to be written.
pub const MAX_LANE_FRAMES: usize = 256;

/// Bytes one recorder may have queued before it waits for them to be written.
pub const MAX_LANE_BYTES: usize = 16 << 20;

/// Longest [`SegmentWriter::stop`] waits for the thread to write what is queued and exit.
pub const STOP_LIMIT: Duration = Duration::from_secs(5);

/// Name of the writer's thread (as `/proc/<pid>/task/*/comm` shows it, cut to 15 bytes).
pub const THREAD_NAME: &str = "vas-segment-writer";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every guarded value stays consistent under every panic-free path.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug, Default)]
struct LaneState {
    queued_frames: usize,
    queued_bytes: usize,
    /// The first failure not taken yet.
    error: Option<Error>,
    /// Set by a failed append; queued frames are dropped until [`AppendLane::reset`].
    failed: bool,
}

/// One recorder's appends: queued without waiting, written in order by the writer thread,
/// which counts them in the recorder's status (`bytes`, `frames_written`) as it goes.
#[derive(Debug)]
pub(crate) struct AppendLane {
    state: Mutex<LaneState>,
    status: StatusTx,
    /// The writer that writes this lane's frames.
    writer: SegmentWriter,
    /// Wakes a recorder waiting in [`AppendLane::drain`].
    drained: Notify,
    /// Wakes the recorder when an append fails.
    failed: Notify,
}

impl AppendLane {
    /// A lane counting into `status`, written by `writer`.
    pub(crate) fn new(status: StatusTx, writer: SegmentWriter) -> Self {
        AppendLane {
            state: Mutex::default(),
            status,
            writer,
            drained: Notify::new(),
            failed: Notify::new(),
        }
    }

    /// Queues `bytes` for the open segment of `disk`. Returns whether the lane is past its
    /// bounds (the caller should then [`drain`](Self::drain) it).
    pub(crate) fn push(self: &Arc<Self>, disk: &Arc<Mutex<RecordingDisk>>, bytes: Bytes) -> bool {
        let full = {
            let mut st = lock(&self.state);
            st.queued_frames += 1;
            st.queued_bytes += bytes.len();
            st.queued_frames >= MAX_LANE_FRAMES || st.queued_bytes >= MAX_LANE_BYTES
        };
        self.writer.handle.shared.push(Job {
            lane: self.clone(),
            disk: disk.clone(),
            bytes,
        });
        full
    }

    /// Waits until every queued frame is written (or dropped after a failure).
    pub(crate) async fn drain(&self) {
        loop {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if lock(&self.state).queued_frames == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Takes the first failure since the last call, if any.
    pub(crate) fn take_error(&self) -> Option<Error> {
        lock(&self.state).error.take()
    }

    /// Returns when an append has failed (possibly spuriously: take
    /// [`take_error`](Self::take_error)), so failures are noticed between frames.
    pub(crate) async fn failure(&self) {
        self.failed.notified().await;
    }

    /// After the recording of a failed append has ended: lets appends through again. Call
    /// only once the lane is drained.
    pub(crate) fn reset(&self) {
        let mut st = lock(&self.state);
        st.failed = false;
        st.error = None;
    }

    /// Writes one queued frame (writer thread).
    fn write(&self, disk: &Mutex<RecordingDisk>, bytes: &Bytes) {
        let failed = lock(&self.state).failed;
        let result = if failed {
            Ok(())
        } else {
            lock(disk).append(bytes)
        };
        let mut st = lock(&self.state);
        st.queued_frames -= 1;
        st.queued_bytes -= bytes.len();
        let drained = st.queued_frames == 0;
        let written = !failed && result.is_ok();
        let failure = match result {
            Ok(()) => false,
            Err(e) => {
                st.failed = true;
                st.error.get_or_insert(e);
                true
            }
        };
        drop(st);
        if written {
            self.status.send_modify(|s| {
                s.bytes += bytes.len() as u64;
                s.frames_written += 1;
            });
        }
        if failure {
            self.failed.notify_one();
        }
        if drained {
            // Wakes only a recorder waiting in drain(); free when none is.
            self.drained.notify_waiters();
        }
    }
}

struct Job {
    lane: Arc<AppendLane>,
    disk: Arc<Mutex<RecordingDisk>>,
    bytes: Bytes,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// The writer is waiting for the queue to turn non-empty.
    idle: bool,
    /// Shutdown was asked: the thread writes what is queued, then exits.
    closing: bool,
    /// The thread has exited (or never started): appends are written by the caller at once.
    done: bool,
}

/// What the handles and the thread share.
struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the thread: an append to an idle queue, or shutdown.
    ready: Condvar,
    /// Wakes those waiting in [`SegmentWriter::join`] once the thread is done.
    exited: Condvar,
}

impl Shared {
    fn push(&self, job: Job) {
        let mut q = lock(&self.queue);
        if q.done {
            // Nothing is queued any more (the thread wrote it all before it exited), so
            // writing here keeps the lane's order.
            drop(q);
            return job.lane.write(&job.disk, &job.bytes);
        }
        q.jobs.push_back(job);
        let wake = std::mem::take(&mut q.idle);
        drop(q);
        if wake {
            self.ready.notify_one();
        }
    }

    /// Asks the thread to write what is queued and exit; returns at once.
    fn close(&self) {
        lock(&self.queue).closing = true;
        self.ready.notify_all();
    }

    /// The thread's loop: until shutdown is asked and the queue is empty.
    fn run(&self) {
        // Marks the writer done however the loop ends (a panic included), so that appends
        // never queue behind a thread that is gone and joiners stop waiting.
        struct Done<'a>(&'a Shared);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                lock(&self.0.queue).done = true;
                self.0.exited.notify_all();
            }
        }
        let _done = Done(self);
        loop {
            let (batch, closing) = {
                let mut q = lock(&self.queue);
                while q.jobs.is_empty() && !q.closing {
                    q.idle = true;
                    q = self.ready.wait(q).unwrap_or_else(|p| p.into_inner());
                }
                q.idle = false;
                if q.jobs.is_empty() {
                    return;
                }
                (std::mem::take(&mut q.jobs), q.closing)
            };
            for job in batch {
                job.lane.write(&job.disk, &job.bytes);
            }
            if !closing {
                std::thread::sleep(COALESCE);
            }
        }
    }
}

/// The handle's own part: dropping the last one stops the thread (without waiting).
struct Handle {
    shared: Arc<Shared>,
    /// The thread, until a [`SegmentWriter::join`] has seen it exit.
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.close();
    }
}

/// A segment writer: its thread and its queue (see the [module docs](crate::record::writer)). Cheap to clone;
/// every clone is a handle to the same thread. Give each [`Recorder`] the writer it should
/// use; one writer serves any number of recorders.
///
/// The thread stops on [`shutdown`](Self::shutdown), or when the last handle is dropped.
///
/// [`Recorder`]: super::recorder::Recorder
#[derive(Clone)]
pub struct SegmentWriter {
    handle: Arc<Handle>,
}

impl SegmentWriter {
    /// Starts a writer thread. If the OS refuses a thread, the failure is logged and the
    /// writer still works: every append is then written by its caller at once.
    pub fn start() -> SegmentWriter {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            exited: Condvar::new(),
        });
        let theirs = shared.clone();
        let started = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || theirs.run());
        let thread = match started {
            Ok(t) => Some(t),
            Err(e) => {
                error!(error = %e, "cannot start the segment writer thread; recorders write frames themselves");
                lock(&shared.queue).done = true;
                None
            }
        };
        SegmentWriter {
            handle: Arc::new(Handle {
                shared,
                thread: Mutex::new(thread),
            }),
        }
    }

    /// Asks the thread to write what is queued and exit. Returns at once; idempotent. Later
    /// appends are written by their callers once the thread has exited.
    pub fn shutdown(&self) {
        self.handle.shared.close();
    }

    /// Waits, at most `limit`, for the thread to exit after [`shutdown`](Self::shutdown)
    /// (without it, the thread keeps running and this returns `false` after `limit`).
    /// Returns whether the thread is gone (also when it never started). Idempotent. It
    /// blocks the calling thread: from async code use [`stop`](Self::stop).
    pub fn join(&self, limit: Duration) -> bool {
        let shared = &self.handle.shared;
        let deadline = Instant::now() + limit;
        let mut q = lock(&shared.queue);
        while !q.done {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            q = shared
                .exited
                .wait_timeout(q, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        drop(q);
        // Done is the thread's last act: it has returned, or is about to.
        let thread = lock(&self.handle.thread).take();
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            error!("the segment writer thread panicked");
        }
        true
    }

    /// [`shutdown`](Self::shutdown), then waits (at most [`STOP_LIMIT`], on tokio's blocking
    /// pool, so no runtime worker is held) until the thread has written what was queued and
    /// exited. Returns whether it did; logs when it did not. Idempotent.
    pub async fn stop(&self) -> bool {
        self.shutdown();
        let writer = self.clone();
        let joined = tokio::task::spawn_blocking(move || writer.join(STOP_LIMIT))
            .await
            .unwrap_or(false);
        if !joined {
            warn!(limit = ?STOP_LIMIT, "the segment writer did not finish its queue in time");
        }
        joined
    }

    /// The writer thread's id while it has not been joined.
    #[cfg(test)]
    fn thread_id(&self) -> Option<std::thread::ThreadId> {
        lock(&self.handle.thread).as_ref().map(|t| t.thread().id())
    }
}

impl fmt::Debug for SegmentWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = lock(&self.handle.shared.queue);
        f.debug_struct("SegmentWriter")
            .field("queued", &q.jobs.len())
            .field("closing", &q.closing)
            .field("done", &q.done)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::recorder::FsyncPolicy;
    use crate::record::recorder::status::RecorderStatus;
    use tokio::sync::watch;

    const SEGMENT: &str = "segment-00000000.ts";

    fn packet() -> Bytes {
        Bytes::from(vec![0x47u8; 188])
    }

    #[tokio::test]
    async fn the_writer_counts_bounds_and_stops_at_the_first_failure() {
        let root = tempfile::tempdir().unwrap();
        let fs = Arc::new(crate::record::fs::FaultFs::new(root.path()));
        let mut disk = RecordingDisk::new(
            fs.clone(),
            root.path().join("recording"),
            FsyncPolicy::Never,
        );
        disk.create("#EXTM3U\n").unwrap();
        disk.start(SEGMENT.into()).unwrap();
        let disk = Arc::new(Mutex::new(disk));
        let (tx, status) = watch::channel(RecorderStatus::default());
        let writer = SegmentWriter::start();
        let lane = Arc::new(AppendLane::new(StatusTx::quiet(tx), writer.clone()));
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
            let full: Vec<bool> = (0..MAX_LANE_FRAMES)
                .map(|_| lane.push(&disk, packet()))
                .collect();
            assert!(full[..full.len() - 1].iter().all(|f| !f));
            assert!(full[full.len() - 1]);
        }
        lane.drain().await;
        let written = 10 + MAX_LANE_FRAMES as u64;
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
                d.segment(SEGMENT),
                Some((written * 188, false)),
                "cut to whole frames"
            );
            assert_eq!(d.short(), Some(SEGMENT));
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

    /// A recording folder with an open segment, and a lane into it written by `writer`.
    fn lane_and_disk(
        root: &std::path::Path,
        writer: &SegmentWriter,
    ) -> (
        Arc<AppendLane>,
        Arc<Mutex<RecordingDisk>>,
        watch::Receiver<RecorderStatus>,
    ) {
        let fs = Arc::new(crate::record::fs::OsFs);
        let mut disk = RecordingDisk::new(fs, root.join("recording"), FsyncPolicy::Never);
        disk.create("#EXTM3U\n").unwrap();
        disk.start(SEGMENT.into()).unwrap();
        let (tx, status) = watch::channel(RecorderStatus::default());
        let lane = Arc::new(AppendLane::new(StatusTx::quiet(tx), writer.clone()));
        (lane, Arc::new(Mutex::new(disk)), status)
    }

    #[tokio::test]
    async fn writers_are_independent_threads_that_stop_and_still_write_after() {
        let (a, b) = (SegmentWriter::start(), SegmentWriter::start());
        let (ta, tb) = (a.thread_id(), b.thread_id());
        assert!(ta.is_some() && tb.is_some(), "both threads run");
        assert_ne!(ta, tb, "one thread each");

        let root = tempfile::tempdir().unwrap();
        let (lane, disk, status) = lane_and_disk(root.path(), &a);
        for _ in 0..3 {
            lane.push(&disk, packet());
        }
        assert!(!a.join(Duration::from_millis(20)), "runs until shut down");
        assert!(a.stop().await, "writes what is queued and exits");
        assert_eq!(a.thread_id(), None, "joined");
        assert_eq!(status.borrow().frames_written, 3, "nothing queued is lost");
        assert!(a.join(Duration::ZERO) && a.stop().await, "idempotent");

        // After shutdown, appends are written by the caller at once: no hang, in order.
        for _ in 0..3 {
            lane.push(&disk, packet());
        }
        tokio::time::timeout(Duration::from_secs(5), lane.drain())
            .await
            .expect("drained at once");
        assert_eq!(status.borrow().frames_written, 6);
        assert_eq!(lock(&disk).segment(SEGMENT), Some((6 * 188, false)));

        // The other writer was not touched.
        assert_eq!(b.thread_id(), tb);
        let (lane, disk, status) = lane_and_disk(&root.path().join("b"), &b);
        lane.push(&disk, packet());
        lane.drain().await;
        assert_eq!(status.borrow().frames_written, 1);
        b.shutdown();
        assert!(b.join(Duration::from_secs(5)));
    }

    #[test]
    fn dropping_the_last_handle_stops_the_thread_without_waiting() {
        let writer = SegmentWriter::start();
        let shared = Arc::downgrade(&writer.handle.shared);
        let copy = writer.clone();
        drop(writer);
        assert!(
            !lock(&copy.handle.shared.queue).closing,
            "a clone keeps it running"
        );
        drop(copy);
        // The thread holds the shared state until it exits.
        let deadline = Instant::now() + Duration::from_secs(5);
        while shared.strong_count() > 0 {
            assert!(Instant::now() < deadline, "the writer thread did not exit");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

#[cfg(test)]
mod doc_examples {
    /// How `record::writer::SegmentWriter` is used.
    #[test]
    fn segment_writer_example() {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            use crate::record::SegmentWriter;
            let writer = SegmentWriter::start();
            // … recorders get writer.clone() …
            assert!(
                writer.stop().await,
                "the thread wrote what was queued and exited"
            );
            assert!(writer.stop().await, "stopping again is harmless");
        });
    }
}
