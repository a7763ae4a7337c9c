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
