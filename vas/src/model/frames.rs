//! Frames handed to callers: what a decoded-frame subscription delivers and how, and what a
//! decoded or encoded frame says about itself.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vas_macros::{Names, Record};

/// How a decoded frame's pixels are laid out.
///
/// Rows are tightly packed (a plane's stride is its width in bytes). Colour is converted with
/// the BT.601 limited-range matrix, as ffmpeg does for streams that do not say otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Names)]
#[names(what = "pixel format")]
#[non_exhaustive]
pub enum PixelFormat {
    /// Planar YUV 4:2:0: a Y plane, then U, then V at half width and height (the decoder's own
    /// format: no conversion).
    #[alias = "yuv420p"]
    I420,
    /// YUV 4:2:0 with a Y plane and one interleaved UV plane at half height.
    Nv12,
    /// Packed 8-bit R, G, B.
    Rgb24,
    /// Packed 8-bit B, G, R (OpenCV's order; the default).
    #[default]
    Bgr24,
    /// The Y (luma) plane alone.
    #[name = "gray"]
    #[alias = "gray8"]
    Gray8,
}

/// How decoded frames wait for a subscriber that is not reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Names)]
#[names(what = "strategy")]
#[non_exhaustive]
pub enum Strategy {
    /// Keep only the newest frame (the default): a consumer never sees a stale picture.
    #[default]
    Latest,
    /// Keep up to `max_queue` frames, dropping the oldest when full.
    Queue,
}

/// What a decoded-frame subscription delivers.
///
/// ```
/// use vas::frames::{FrameOptions, PixelFormat};
/// let opts = FrameOptions::new(PixelFormat::Rgb24).max_size(640, 640).max_fps(5.0).queue(8);
/// assert!(opts.validate().is_ok());
/// assert!(FrameOptions::new(PixelFormat::Gray8).max_size(0, 10).validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Record)]
#[record(input)]
#[serde(deny_unknown_fields, default)]
pub struct FrameOptions {
    /// The pixel format.
    pub format: PixelFormat,
    /// Scale to fit inside this width (1–8192), keeping the aspect ratio (absent: no bound).
    pub max_width: Option<u32>,
    /// Scale to fit inside this height (1–8192), keeping the aspect ratio (absent: no bound).
    pub max_height: Option<u32>,
    /// Deliver at most this many frames per second, by capture time (absent: every frame).
    pub max_fps: Option<f64>,
    /// How frames wait for a subscriber that is not reading.
    pub strategy: Strategy,
    /// Frames kept with the `queue` strategy, 1–64.
    #[field(default = 8)]
    pub max_queue: u32,
}

/// What a decoded frame says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Record)]
#[non_exhaustive]
pub struct FrameInfo {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixel format.
    pub format: PixelFormat,
    /// Presentation time in the stream's 90 kHz clock (restarts with a new `epoch`).
    pub pts: i64,
    /// When the frame was captured (or received, when the camera does not say).
    pub time: DateTime<Utc>,
    /// Whether it was a keyframe in the stream.
    pub keyframe: bool,
    /// The subscription's sequence number of the frame: a gap says how many were skipped (by
    /// the rate cap or a slow consumer).
    pub seq: u64,
    /// The camera connection it came from (increments on reconnection).
    pub epoch: u32,
}

/// The kind of a camera's track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Names)]
#[names(what = "track kind")]
#[non_exhaustive]
pub enum TrackKind {
    /// Video.
    Video,
    /// Audio.
    Audio,
}

/// A codec of a camera's track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Names)]
#[names(what = "codec")]
#[non_exhaustive]
pub enum Codec {
    /// H.264 video.
    H264,
    /// H.265 (HEVC) video.
    H265,
    /// AAC audio.
    Aac,
    /// G.711 µ-law audio.
    Pcmu,
    /// G.711 A-law audio.
    Pcma,
    /// Opus audio.
    Opus,
}

/// What an encoded frame (as the camera sent it) says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Record)]
#[non_exhaustive]
pub struct EncodedFrameInfo {
    /// Video or audio.
    pub track: TrackKind,
    /// The codec.
    pub codec: Codec,
    /// Presentation time in the track's clock (90 kHz for video), restarting with a new
    /// `epoch`.
    pub pts: i64,
    /// When it was captured (or received, when the camera does not say).
    pub time: DateTime<Utc>,
    /// Whether a decoder can start here (always true for audio).
    pub keyframe: bool,
    /// The camera connection it came from (increments on reconnection).
    pub epoch: u32,
    /// Picture width (video; 0 for audio).
    pub width: u32,
    /// Picture height (video; 0 for audio).
    pub height: u32,
    /// Size of the payload in bytes.
    pub bytes: u64,
}
