//! The shared segment writer: one OS thread that appends every recorder's frames to their
//! segment files, in batches.
//!
//! Owns: the queue of pending appends of all recorders in the process, and the thread that
//! drains it. Each recorder has an append lane: it queues frames without waiting, reads
//! back what was written (bytes, frames, the first error) when it likes, and waits for its
//! lane to drain before anything that must follow the appends (closing a segment, writing a
//! playlist, ending a recording).
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
//! Appends are plain buffered writes to the page cache. Work that may block for long
//! (fsync, renames, folder creation and removal) stays on tokio's blocking pool, per
//! recorder, so one slow fsync does not hold up every camera.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;
use tracing::error;

use super::recorder::{RecordingDisk, StatusTx};
use crate::Error;

/// Pause after each batch, so appends of many cameras share one wake-up of the writer.
pub const COALESCE: Duration = Duration::from_millis(10);

/// Frames one recorder may have queued before it waits for them to be written.
pub const MAX_LANE_FRAMES: usize = 256;

/// Bytes one recorder may have queued before it waits for them to be written.
pub const MAX_LANE_BYTES: usize = 16 << 20;

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
    /// Wakes a recorder waiting in [`AppendLane::drain`].
    drained: Notify,
    /// Wakes the recorder when an append fails.
    failed: Notify,
}

impl AppendLane {
    /// A lane counting into `status`.
    pub(crate) fn new(status: StatusTx) -> Self {
        AppendLane {
            state: Mutex::default(),
            status,
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
        writer().push(Job {
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
}

struct Writer {
    queue: Mutex<Queue>,
    ready: Condvar,
    /// Whether the thread runs; if it could not be started, appends are written at once
    /// by the caller instead.
    threaded: OnceLock<bool>,
}

impl Writer {
    fn push(&self, job: Job) {
        if self.threaded.get() == Some(&false) {
            return job.lane.write(&job.disk, &job.bytes);
        }
        let mut q = lock(&self.queue);
        q.jobs.push_back(job);
        let wake = std::mem::take(&mut q.idle);
        drop(q);
        if wake {
            self.ready.notify_one();
        }
    }

    fn run(&self) {
        loop {
            let batch = {
                let mut q = lock(&self.queue);
                while q.jobs.is_empty() {
                    q.idle = true;
                    q = self.ready.wait(q).unwrap_or_else(|p| p.into_inner());
                }
                q.idle = false;
                std::mem::take(&mut q.jobs)
            };
            for job in batch {
                job.lane.write(&job.disk, &job.bytes);
            }
            std::thread::sleep(COALESCE);
        }
    }
}

/// The process's writer, started on first use.
fn writer() -> &'static Writer {
    static WRITER: OnceLock<&'static Writer> = OnceLock::new();
    WRITER.get_or_init(|| {
        let w: &'static Writer = Box::leak(Box::new(Writer {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            threaded: OnceLock::new(),
        }));
        let started = std::thread::Builder::new()
            .name("vas-segment-writer".into())
            .spawn(move || w.run());
        if let Err(e) = &started {
            error!(error = %e, "cannot start the segment writer thread; recorders write frames themselves");
        }
        let _ = w.threaded.set(started.is_ok());
        w
    })
}
