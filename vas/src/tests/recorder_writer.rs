//! The segment writer is owned, not process-global: two writers are two threads; shutdown
//! and join end one writer's thread and leave the other running (threads counted by name in
//! `/proc/self/task`); a recorder given a writer that was shut down still records every frame
//! (its appends are written at once, nothing hangs); dropping the last handle of a writer
//! without shutdown ends its thread too.
//!
//! One test in this binary, so that nothing else starts writer threads while it counts.

use std::time::{Duration, Instant};

use crate::record::SegmentWriter;
use crate::record::recorder::{RecorderConfig, RecorderState};
use crate::record::writer::THREAD_NAME;
use crate::tests::recorder_support::*;

/// The kernel keeps the first 15 bytes of a thread's name.
const COMM_LEN: usize = 15;

/// Threads of this process named like the segment writer's.
fn writer_threads() -> usize {
    let name = &THREAD_NAME[..COMM_LEN.min(THREAD_NAME.len())];
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

/// Waits (bounded by [`WAIT`]) until `n` writer threads run; a thread that was joined may
/// linger in `/proc` for an instant while the kernel reaps it.
fn wait_for_threads(n: usize, why: &str) {
    let deadline = Instant::now() + WAIT;
    while writer_threads() != n {
        assert!(
            Instant::now() < deadline,
            "{why}: {} writer threads, expected {n}",
            writer_threads()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[tokio::test]
async fn writers_are_owned_threads_that_stop_and_never_hang_an_append() {
    assert_eq!(writer_threads(), 0, "no writer before one is started");
    let env = Env::new(8192).await;
    let other = SegmentWriter::start();
    wait_for_threads(2, "two writers");

    env.writer.shutdown();
    assert!(env.writer.join(WAIT), "the thread exits after shutdown");
    wait_for_threads(1, "one writer shut down");
    assert!(
        env.writer.join(Duration::ZERO),
        "joining again returns at once"
    );

    // A recorder on the shut-down writer: every frame still reaches its recording.
    let task = env.recorder(RecorderConfig::default());
    let frames = frames(0, 4 * FPS, 1, 1_000_000, t0(), true);
    let fed = tokio::time::timeout(WAIT, feed(&env.hub, &task, &frames, 25));
    fed.await.expect("appends after shutdown never hang");
    let status = tokio::time::timeout(WAIT, task.stop())
        .await
        .expect("the recording ends");
    assert_eq!(status.state, RecorderState::Stopped);
    assert_eq!(status.frames_written, frames.len() as u64, "{status:?}");
    assert_eq!(status.errors, 0, "{status:?}");
    let rows = env.recordings().await;
    assert_eq!(rows.len(), 1);
    let checked = check_recording(&env.layout, &rows[0]);
    assert_eq!(checked.video_frames, 4 * FPS, "every frame recorded");
    assert_eq!(writer_threads(), 1, "the other writer still runs");

    // The last handle dropped without shutdown: its thread ends as well.
    drop(other);
    wait_for_threads(0, "the last handle dropped");
}
