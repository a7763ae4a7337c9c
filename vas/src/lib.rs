//! # VAS — the Video Aggregation Service
//!
//! An embeddable library that takes live video from IP cameras over RTSP and serves it to
//! browsers over WebRTC, records it to HLS, takes snapshots and keeps bookmarked clips, all
//! indexed in SQL (SQLite by default, PostgreSQL in production).
//!
//! The front door is [`Vas`]:
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use vas::{NewDevice, Vas};
//! let dir = tempfile::tempdir().unwrap();
//! let vas = Vas::builder().data_dir(dir.path()).build().await?;
//! let cam = vas.add_device(NewDevice::new("gate", "rtsp://admin:pw@10.0.0.5/stream1")).await?;
//! assert_eq!(cam.rtsp_url, "rtsp://admin:***@10.0.0.5/stream1");
//! assert!(cam.has_credentials); // the password itself never comes back
//! let streams = vas.streams(Some(cam.id), vas::Order::Oldest).await?;
//! let live = vas.start_stream(streams[0].id).await?;
//! assert_eq!(live.desired_state, vas::DesiredState::Running);
//! vas.close().await;
//! # Ok::<(), vas::Error>(())
//! # }).unwrap();
//! ```
//!
//! ## Tasks
//!
//! * **Pull decoded frames** — [`Vas::frames`] with [`FrameOptions`] (pixel format,
//!   size, rate, newest-only or a bounded queue); receive with `recv().await`,
//!   `recv_timeout` from any thread, or `try_recv`. See [`frames`].
//! * **React to events** — [`Vas::events`]: one ordered stream of [`Event`]s (stream states,
//!   recorders, viewers), bounded, with [`Event::Missed`] for a reader that fell behind. See
//!   [`events`].
//! * **Record** — [`Vas::set_recording`]; recordings are listed by [`Vas::recordings`] and
//!   played back through [`Vas::playback_playlist`] (example below).
//! * **Without an async runtime** — [`VasBuilder::build_blocking`] starts an engine that
//!   owns its runtime; [`Vas::blocking`] gives every call in blocking form ([`BlockingVas`]),
//!   usable from any plain thread. Async calls can be awaited from any executor.
//! * **Encoded frames** — [`Vas::encoded_frames`] gives the camera's frames as sent
//!   ([`frames::EncodedSubscription`]), async, blocking with a timeout, or `try`.
//! * **Embed and view** — [`VasBuilder::webrtc`] enables WebRTC; [`Vas::webrtc_answer`] answers
//!   a browser's SDP offer (WHEP-style; example below, and `examples/embed_live.rs` puts it
//!   behind an axum route).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::time::Duration;
//! use vas::frames::{FrameOptions, PixelFormat};
//! let dir = tempfile::tempdir().unwrap();
//! let vas = vas::Vas::builder().data_dir(dir.path()).build().await?;
//! vas.add_device(vas::NewDevice::new("gate", "rtsp://10.0.0.5/stream1")).await?;
//! let stream = vas.streams(None, vas::Order::Oldest).await?[0].id;
//! // Subscribing works before the stream runs; frames come once it does.
//! let mut frames = vas
//!     .frames(stream, FrameOptions::new(PixelFormat::Gray8).max_fps(5.0))
//!     .await?;
//! let err = frames.recv_timeout(Duration::from_millis(50)).unwrap_err();
//! assert_eq!(err.kind(), vas::ErrorKind::Timeout);
//! # Ok::<(), vas::Error>(())
//! # }).unwrap();
//! ```
//!
//! ### Record, and play back what was recorded
//!
//! A stream records while it runs and its recording switch is on (stored, so it survives a
//! restart). Each recording is an HLS playlist of MPEG-TS segments under the media folder;
//! [`Vas::playback_playlist`] stitches the recordings of any time range into one VOD
//! playlist, ready for hls.js, Safari or ffmpeg.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! # use vas_synth::{CameraConfig, CameraMode, SyntheticCamera};
//! # let camera = SyntheticCamera::start(CameraConfig {
//! #     mode: CameraMode::PreEncodedLoop { seconds: 2 },
//! #     bind: "127.0.0.1:0".parse().unwrap(),
//! #     ..CameraConfig::default()
//! # }).await.unwrap();
//! # let url = camera.url();
//! use std::time::{Duration, Instant};
//! use vas::{NewDevice, ListQuery, Vas};
//! let dir = tempfile::tempdir().unwrap();
//! let vas = Vas::builder().data_dir(dir.path()).build().await?;
//! vas.add_device(NewDevice::new("gate", url)).await?; // url: the camera's rtsp://…
//! let stream = vas.streams(None, vas::Order::Oldest).await?[0].id;
//! vas.set_recording(stream, true).await?;
//! vas.start_stream(stream).await?;
//!
//! // The first segment is on disk once the stream's recorder status counts it.
//! let deadline = Instant::now() + Duration::from_secs(30);
//! while !vas.stream(stream).await?.recording.is_some_and(|r| r.segments >= 1) {
//!     assert!(Instant::now() < deadline, "nothing recorded");
//!     tokio::time::sleep(Duration::from_millis(100)).await;
//! }
//!
//! let recordings = vas.recordings(ListQuery::stream(stream)).await?;
//! let from = recordings[0].start;
//! let playlist = vas.playback_playlist(stream, from, chrono::Utc::now(), "/media/".into()).await?;
//! assert!(playlist.segments[0].uri.starts_with("/media/"));
//! assert!(playlist.render().starts_with("#EXTM3U"));
//! vas.close().await; // the open recording ends with a complete playlist
//! # Ok::<(), vas::Error>(())
//! # }).unwrap();
//! ```
//!
//! ### Embed and view
//!
//! With [`VasBuilder::webrtc`] the engine runs an ICE-lite WebRTC service on one UDP port
//! (and ICE-TCP on the same port). A browser's SDP offer, posted to a route of yours, gets
//! its answer from [`Vas::webrtc_answer`]; the answer carries the candidates, so no trickle
//! is needed. Here a str0m peer stands in for the browser.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::time::Instant;
//! use str0m::media::{Direction, MediaKind};
//! use vas::config::WebRtcConfig;
//! use vas::{NewDevice, Vas};
//! let dir = tempfile::tempdir().unwrap();
//! let vas = Vas::builder()
//!     .data_dir(dir.path())
//!     .webrtc(WebRtcConfig { bind: "127.0.0.1:0".parse().unwrap(), ..Default::default() })
//!     .build()
//!     .await?;
//! vas.add_device(NewDevice::new("gate", "rtsp://10.0.0.5/stream1")).await?;
//! let stream = vas.streams(None, vas::Order::Oldest).await?[0].id;
//! vas.start_stream(stream).await?; // watching needs a started stream
//!
//! // The browser's side: a receive-only video offer.
//! let mut browser = str0m::Rtc::builder().build(Instant::now());
//! let mut sdp = browser.sdp_api();
//! sdp.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
//! let (offer, _pending) = sdp.apply().unwrap();
//!
//! let session = vas.webrtc_answer(stream, offer.to_sdp_string()).await?;
//! assert!(session.answer_sdp.starts_with("v=0"));
//! assert_eq!(vas.viewer_count(stream), 1);
//! assert!(vas.webrtc_close(session.viewer).await?);
//! vas.close().await;
//! # Ok::<(), vas::Error>(())
//! # }).unwrap();
//! ```
//!
//! `examples/embed_live.rs` serves the same call to real browsers behind an axum route.
//!
//! Errors are one type, [`Error`], with an [`ErrorKind`] that each shell maps once; the kinds
//! come from one table with stable names and numeric codes ([`ErrorKind::ALL`]).

// The public face: the engine, its value types, events, frames, snapshots and bookmarks.
// Everything else is internal to the crate; what the benchmarks and fuzz targets need is
// re-exported by `_internal_test_exports` (feature of the same name, not API).
pub mod bookmark;
mod camera_url;
mod clock;
pub mod description;
mod engine;
mod error;
pub mod events;
pub mod frames;
mod hub;
mod ingest;
mod media;
mod model;
mod mp4;
mod record;
mod secrets;
mod sfu;
pub mod snapshot;
mod store;
#[cfg(test)]
mod tests;

/// What [`VasBuilder`] is configured with: ingest, hub, recording, retention, WebRTC,
/// secrets and the clock. Every type has a sane [`Default`].
pub mod config {
    pub use crate::bookmark::BookmarkConfig;
    pub use crate::clock::{Clock, SharedClock, SystemClock};
    pub use crate::hub::HubConfig;
    pub use crate::ingest::IngestConfig;
    pub use crate::ingest::backoff::BackoffPolicy;
    pub use crate::record::{FsyncPolicy, RecorderConfig, RetentionPolicy};
    pub use crate::secrets::{KEY_FILE_NAME, SecretKey};
    pub use crate::sfu::{CoreConfig as WebRtcLimits, SfuConfig as WebRtcConfig};
    pub use crate::snapshot::SnapshotConfig;
    pub use crate::store::mask_database_url;
}

pub use engine::{
    BlockingVas, CLOSE_STEP_LIMIT, DEFAULT_DATA_DIR, MEDIA_DIR_NAME, OWNED_RUNTIME_WORKERS,
    SQLITE_FILE_NAME, Vas, VasBuilder, WebRtcAddresses,
};
pub use error::{Error, ErrorKind, Result};
pub use events::{Event, EventSubscription};
pub use model::{
    Bookmark, BookmarkId, BookmarkState, Codec, DEFAULT_LIST_LIMIT, DesiredState, Device, DeviceId,
    DevicePatch, EncodedFrameInfo, EngineOptions, FrameInfo, FrameOptions, ListQuery,
    MAX_LABEL_CHARS, MAX_LIST_LIMIT, MAX_NAME_CHARS, NewBookmark, NewDevice, Order, PixelFormat,
    RecorderState, RecorderStatus, Recording, RecordingId, RtpTransport, Snapshot, SnapshotId,
    SnapshotImage, SnapshotOptions, Strategy, Stream, StreamId, StreamProfile, StreamState,
    SubStreamChange, TrackKind, ViewerId, WebRtcSession,
};
pub use record::MediaPlaylist;
pub use record::playlist::{PlaylistSegment, PlaylistType};
pub use store::Backend;

/// The README's Rust snippet, compiled and run as a doctest so it keeps working as written.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// Internals re-exported for the benchmarks and fuzz targets (feature
/// `_internal_test_exports`, as str0m does it). Not API: no stability promise, and nothing
/// here is reachable without the feature.
#[cfg(feature = "_internal_test_exports")]
#[doc(hidden)]
pub mod _internal_test_exports {
    /// Frames as ingest makes them, and the NAL unit helpers.
    pub mod media {
        pub use crate::media::{
            AudioCodec, AudioParams, CLOCK_RATE, Frame, Track, VideoCodec, VideoParams,
            append_annex_b, h264_nal_type, h265_nal_type, nal_units, push_length_prefixed,
        };
    }
    /// The bounds every byte from a camera passes.
    pub mod guard {
        pub use crate::ingest::guard::{
            FrameBudget, Limits, TrackCodec, Unit, UnitReader, Verdict, count_nals, rtp_payload,
        };
    }
    /// Camera URLs and the secrets in them.
    pub mod camera_url {
        pub use crate::camera_url::{CameraUrl, is_secret_query_key};
    }
    /// A stream's hub (the fan-out every consumer hangs on).
    pub mod hub {
        pub use crate::hub::{Delivery, Hub, HubConfig};
    }
    /// The WebRTC service and its SDP checks.
    pub mod sfu {
        pub use crate::sfu::negotiate::{
            MAX_MEDIA_SECTIONS, describe_unparsable, public_text, scan_offer,
        };
        pub use crate::sfu::{CoreConfig, DEFAULT_NACK_CACHE_PACKETS, Sfu, SfuConfig};
    }
    /// The HLS recorder's pure parts and the segment readers.
    pub mod record {
        pub use crate::record::playlist::MediaPlaylist;
        pub use crate::record::ts_read::{ReadOptions, read_segment_bytes};
        pub use crate::record::ts_scan::scan_segment;
        pub use crate::record::{Segmenter, SegmenterConfig, TsMuxer};
    }
    /// The MP4 clip writer.
    pub mod mp4 {
        pub use crate::mp4::{ClipInput, ClipWriter};
    }
}
