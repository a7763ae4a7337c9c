//! Streams: each camera's main and sub stream, what the user asked of them (stored), and
//! what they are doing now (ingest's and the recorder's live state).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vas_macros::{Names, Record};

use super::{DeviceId, RecordingId, StreamId};

/// One stream (profile) of a camera, as stored: the user's wishes, no live state.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StreamRow {
    /// Its id (stable across device edits).
    pub id: StreamId,
    /// The camera it belongs to.
    pub device_id: DeviceId,
    /// Main or sub.
    pub profile: StreamProfile,
    /// Whether the user wants it running.
    pub desired: DesiredState,
    /// Whether it records while running.
    pub record: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A stream of a camera with its live status: what the user asked for (stored, so it
/// survives restarts) and what ingest and the recorder are doing now.
#[derive(Clone, Debug, PartialEq, Serialize, Record)]
#[non_exhaustive]
pub struct Stream {
    /// Its id (stable across edits of the camera).
    pub id: StreamId,
    /// The camera it belongs to.
    pub device_id: DeviceId,
    /// Which of the camera's encodings it is.
    pub profile: StreamProfile,
    /// What ingest is doing now.
    pub state: StreamState,
    /// What the user asked for (stored; it survives restarts).
    pub desired_state: DesiredState,
    /// Whether it records while it runs (stored).
    pub record: bool,
    /// Video frames per second over the last measuring window.
    pub fps: f64,
    /// Bits per second over the last measuring window.
    pub bitrate_bps: u64,
    /// Video frames received from the camera since the stream was started (across
    /// reconnections).
    pub frames: u64,
    /// Reconnections since the stream was started.
    pub reconnects: u64,
    /// The last failure, credentials masked.
    pub last_error: Option<String>,
    /// When the last frame arrived.
    pub last_frame_at: Option<DateTime<Utc>>,
    /// WebRTC viewers watching it now.
    pub viewers: u32,
    /// Its recorder's status while it records.
    pub recording: Option<RecorderStatus>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl Stream {
    /// The stored stream with its live status.
    pub(crate) fn of(
        row: &StreamRow,
        status: StreamStatus,
        recording: Option<RecorderStatus>,
        viewers: usize,
    ) -> Stream {
        Stream {
            id: row.id,
            device_id: row.device_id,
            profile: row.profile,
            state: status.state,
            desired_state: row.desired,
            record: row.record,
            fps: status.fps,
            bitrate_bps: status.bitrate_bps,
            frames: status.frames,
            reconnects: status.reconnects,
            last_error: status.last_error,
            last_frame_at: status.last_frame_at,
            viewers: u32::try_from(viewers).unwrap_or(u32::MAX),
            recording,
            created_at: row.created_at,
        }
    }
}

/// Which of a camera's encodings a stream is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Names)]
#[names(what = "stream profile")]
#[non_exhaustive]
pub enum StreamProfile {
    /// The full-resolution stream.
    Main,
    /// The lower-resolution sub stream.
    Sub,
}

/// Whether the user wants a stream running; stored, so it survives restarts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Names)]
#[names(what = "desired state")]
#[non_exhaustive]
pub enum DesiredState {
    /// Ingest should run.
    Running,
    /// Ingest should not run.
    Stopped,
}

/// Where a stream's ingest is in its lifecycle:
/// `stopped → connecting → live ⇄ reconnecting → failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Names)]
#[names(what = "stream state")]
#[non_exhaustive]
pub enum StreamState {
    /// Not running (not wanted, or its camera is disabled).
    #[default]
    Stopped,
    /// First connection attempt under way.
    Connecting,
    /// Frames are flowing.
    Live,
    /// Lost the camera; retrying with backoff.
    Reconnecting,
    /// Gave up until asked again, or retried slowly (for errors retrying cannot fix soon).
    Failed,
}

/// What a connection did to keep a camera's RTP in order (a UDP camera's packets can arrive
/// out of order, twice, or not at all), counted since the connection opened. All zero for
/// transports that cannot reorder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PacketCounts {
    /// Packets that arrived after a later one and were put back in order.
    pub reordered: u64,
    /// Packets that arrived after their place had been given up as lost: dropped.
    pub late: u64,
    /// Second copies of a packet: dropped.
    pub duplicates: u64,
    /// Packets that never arrived in time (sequence numbers skipped).
    pub lost: u64,
}

impl PacketCounts {
    /// The sum of two counts.
    pub(crate) fn plus(self, o: PacketCounts) -> PacketCounts {
        PacketCounts {
            reordered: self.reordered + o.reordered,
            late: self.late + o.late,
            duplicates: self.duplicates + o.duplicates,
            lost: self.lost + o.lost,
        }
    }
}

/// Live health figures of one stream, as ingest keeps them.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct StreamStatus {
    /// Lifecycle state.
    pub state: StreamState,
    /// Frames per second over the last measuring window.
    pub fps: f64,
    /// Bits per second over the last measuring window.
    pub bitrate_bps: u64,
    /// Video frames received from the camera since the stream was started (across
    /// reconnects).
    pub frames: u64,
    /// Reconnections since the stream was started.
    pub reconnects: u64,
    /// The last failure, credentials masked.
    pub last_error: Option<String>,
    /// When the last frame arrived.
    pub last_frame_at: Option<DateTime<Utc>>,
    /// What ingest did to keep a UDP camera's packets in order since the stream was started
    /// (across reconnects); logged, not yet part of [`Stream`].
    pub packets: PacketCounts,
}

/// Where a stream's recorder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Names)]
#[names(what = "recorder state")]
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

/// A stream's recorder: its state and what it has written.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Record)]
#[non_exhaustive]
pub struct RecorderStatus {
    /// Its state.
    pub state: RecorderState,
    /// The recording being written, if any.
    pub recording_id: Option<RecordingId>,
    /// The last error (a write or the database), if any; kept after recovering from it.
    pub last_error: Option<String>,
    /// Recordings started.
    pub recordings: u64,
    /// Segments completed.
    pub segments: u64,
    /// Segment bytes written.
    pub bytes: u64,
    /// Frames written into segments.
    pub frames_written: u64,
    /// Frames received from the stream.
    pub frames_received: u64,
    /// Frames dropped while in the error state.
    pub frames_dropped: u64,
    /// Frames skipped because the recorder fell behind.
    pub frames_lost: u64,
    /// Discontinuities written (`#EXT-X-DISCONTINUITY`: the camera dropped and came back).
    pub discontinuities: u64,
    /// Write and database errors so far.
    pub errors: u64,
}
