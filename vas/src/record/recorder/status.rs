//! A recorder's health and how it is announced: [`RecorderStatus`] (counts, state, last
//! error), [`RecorderState`], and the sender every part of a recorder reports through.
//!
//! Owns: the status value a [`super::RecorderTask`] hands out, and the rule for what reaches
//! the engine's event bus (a change of state, recording or error count; never the per-frame
//! counts). It must never block, touch a file or the store, or know how a recording is
//! written: the task and the disk side only report into it.

use serde::Serialize;
use tokio::sync::watch;

use crate::clock::SharedClock;
use crate::events::{Event, EventBus};
use crate::model::{RecordingId, StreamId};

/// Where a recorder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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

/// A recorder's health, as [`RecorderTask::status`](super::RecorderTask::status) reports it.
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

/// Where a recorder's status goes: every count to its watch channel (read by
/// [`RecorderTask::status`](super::RecorderTask::status)); a change of state, recording or
/// error count also to the engine's event bus, if it has one.
#[derive(Debug, Clone)]
pub(crate) struct StatusTx {
    pub(super) tx: watch::Sender<RecorderStatus>,
    pub(super) events: Option<(EventBus, StreamId, SharedClock)>,
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
