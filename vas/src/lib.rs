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
//! assert_eq!(cam.rtsp_url_masked(), "rtsp://admin:***@10.0.0.5/stream1");
//! let streams = vas.streams().await?;
//! let live = vas.start_stream(streams[0].stream.id).await?;
//! assert_eq!(live.stream.desired, vas::model::DesiredState::Running);
//! # Ok::<(), vas::Error>(())
//! # }).unwrap();
//! ```
//!
//! Errors are one type, [`Error`], with an [`ErrorKind`] that each shell maps once.

pub mod camera_url;
pub mod clock;
mod engine;
mod error;
pub mod hub;
pub mod ingest;
pub mod media;
pub mod model;
pub mod record;
pub mod secrets;
pub mod sfu;
pub mod status;
pub mod store;
#[cfg(feature = "synthetic-camera")]
pub mod synth;
#[cfg(feature = "test-util")]
pub mod testutil;

pub use engine::{DEFAULT_DATA_DIR, MEDIA_DIR_NAME, SQLITE_FILE_NAME, Vas, VasBuilder};
pub use error::{Error, ErrorKind, Result};
pub use model::{DeviceId, NewDevice, StreamId};
