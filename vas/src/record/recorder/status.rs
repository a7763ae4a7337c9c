//! A recorder's health and how it is announced: [`RecorderStatus`] (counts, state, last
//! error), [`RecorderState`], and the sender every part of a recorder reports through.
//!
//! Owns: the status value a [`super::RecorderTask`] hands out, and the rule for what reaches
//! the engine's event bus (a change of state, recording or error count; never the per-frame
//! counts). It must never block, touch a file or the store, or know how a recording is
//! written: the task and the disk side only report into it.

use tokio::sync::watch;

use crate::clock::SharedClock;
use crate::events::{Event, EventBus};
use crate::model::StreamId;
pub use crate::model::{RecorderState, RecorderStatus};

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
            let before = (s.state, s.recording_id, s.errors);
            f(s);
            if (s.state, s.recording_id, s.errors) != before {
                announce = Some((s.state, s.recording_id, s.last_error.clone()));
            }
        });
        if let (Some((state, recording, error)), Some((bus, stream, clock))) =
            (announce, &self.events)
        {
            bus.publish(Event::Recorder {
                stream_id: *stream,
                state,
                recording_id: recording,
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
