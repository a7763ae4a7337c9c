//! Recording to HLS: the sans-IO core, and the tasks that write it to disk.
//!
//! The core takes frames in and hands segment bytes and playlist text out; nothing in it
//! touches a file, a socket, a task or a clock:
//!
//! * [`segmenter`]: where segments start and end, discontinuities, durations, the recording's
//!   EVENT playlist. The entry point.
//! * [`ts`]: the MPEG-TS muxer (PAT/PMT, PES, PCR, continuity counters).
//! * [`playlist`]: RFC 8216 media playlists, rendered and parsed back (EVENT and VOD).
//! * [`adts`]: ADTS headers for AAC from its AudioSpecificConfig.
//! * [`ts_scan`]: reading our own segments back (whole frames, durations) for recovery.
//! * [`ts_read`]: reading our own segments back into frames (snapshots at a past time,
//!   clips); [`range`]: the frames of a stream's time range, across segments and recordings.
//! * [`retention::plan`]: which recordings a retention policy deletes.
//! * `annexb`, `ts_packet` and `timeline` (private): Annex B access units for video, the
//!   packet and PES syntax both readers share, and the mapping from camera timestamps to the
//!   continuous output timeline.
//!
//! The I/O side, all of it through the [`fs::MediaFs`] seam:
//!
//! * [`layout`]: `<media>/<stream>/<recording>/index.m3u8` + `segment-NNNNNNNN.ts`, and
//!   resolving stored relative paths safely.
//! * [`recorder`]: the per-stream task (hub in, files and rows out, roll-over, errors).
//! * [`writer`]: the [`SegmentWriter`], a thread (one per engine) that appends the frames of
//!   every recorder it serves, in batches.
//! * [`recovery`]: at start-up, closing what a crash left open and matching rows to folders.
//! * [`retention`]: the driver that deletes old recordings (row first, then files).
//! * `playback` (crate-private): the VOD playlist of a stream's time range, stitched from its
//!   recordings (what [`crate::Vas::playback_playlist`] returns).
//!
//! What is recorded: H.264 and H.265 video, AAC audio. G.711 and Opus audio have no
//! HLS-compatible MPEG-TS mapping and are skipped (counted, and logged once per codec).
//! A recording needs video: segments only ever start at a video keyframe.
//!
//! Known limits, by design for live cameras:
//! * Timestamps are presentation times and DTS is implied equal to PTS, so streams with
//!   B-frames (reordered timestamps) are not supported: a video timestamp going backwards
//!   is treated as a discontinuity.
//! * The PCR rides on every video frame; below 10 fps, audio frames add PCR-only packets,
//!   but never past the latest video frame, so a video-only stream under 10 fps has PCR
//!   gaps of one frame interval.
//! * A segment cannot be cut without a keyframe, so a GOP longer than the target duration
//!   makes longer segments (and raises `#EXT-X-TARGETDURATION` to cover them).
//! * The EVENT playlist keeps every segment of the recording in memory (about 100 bytes
//!   each); drivers should roll over to a new recording periodically.

pub mod adts;
pub(crate) mod annexb;
pub mod fs;
pub mod layout;
pub(crate) mod playback;
pub mod playlist;
pub mod range;
pub mod recorder;
pub mod recovery;
pub mod retention;
pub mod segmenter;
pub mod timeline;
pub mod ts;
mod ts_packet;
pub mod ts_read;
pub mod ts_scan;
pub mod writer;

pub use layout::MediaLayout;
pub use playlist::MediaPlaylist;
pub use recorder::{FsyncPolicy, Recorder, RecorderConfig, RecorderTask};
pub use recovery::recover;
pub use retention::{Retention, RetentionPolicy, RetentionTask};
#[cfg(any(test, feature = "_internal_test_exports"))]
pub use segmenter::{Segmenter, SegmenterConfig};
#[cfg(feature = "_internal_test_exports")]
pub use ts::TsMuxer;
pub use writer::SegmentWriter;
