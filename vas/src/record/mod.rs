//! Recording to HLS: the sans-IO core.
//!
//! Frames go in, segment bytes and playlist text come out; nothing here touches a file, a
//! socket, a task or a clock (a thin driver does, as the [`Segmenter`] docs show). The parts:
//!
//! * [`segmenter`]: where segments start and end, discontinuities, durations, the recording's
//!   EVENT playlist. The entry point.
//! * [`ts`]: the MPEG-TS muxer (PAT/PMT, PES, PCR, continuity counters).
//! * [`playlist`]: RFC 8216 media playlists, rendered and parsed back (EVENT and VOD).
//! * [`adts`]: ADTS headers for AAC from its AudioSpecificConfig.
//! * `annexb` and `timeline` (private): Annex B access units for video, and the mapping
//!   from camera timestamps to the continuous output timeline.
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
mod annexb;
pub mod playlist;
pub mod segmenter;
mod timeline;
pub mod ts;

pub use playlist::{MediaPlaylist, PlaylistSegment, PlaylistType};
pub use segmenter::{SegmentEvent, Segmenter, SegmenterConfig, SegmenterStats};
pub use timeline::{
    DEFAULT_FRAME_DURATION_TICKS, DiscontinuityReason, MAX_AUDIO_LAG_TICKS, MAX_AUDIO_LEAD_TICKS,
    OUTPUT_START_PTS, RTP_TIMESTAMP_MODULUS,
};
pub use ts::TsMuxer;
