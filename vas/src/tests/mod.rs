//! Scenario tests of the engine and its parts, one scenario per file, with their shared
//! support (`*_support`). They are unit tests of the crate so that they can reach its
//! internals without making them public; each runs in a process of its own under
//! `cargo nextest` (`make test`), so a test that counts threads, descriptors or memory sees
//! only its own.

mod log_support;
mod record_support;
mod recorder_support;
mod sfu_support;

mod engine_blocking;
mod engine_bookmarks;
mod engine_close;
mod engine_events;
mod engine_frames;
mod engine_snapshots;
mod engine_streams;
mod ingest_faults;
mod ingest_flap;
mod ingest_gstreamer;
mod ingest_gstreamer_netsim;
mod ingest_relay_admission;
mod ingest_supervisor;
mod ingest_synthetic;
mod ingest_udp_reorder;
mod mp4_clip_ffprobe;
mod record_ffmpeg_h264;
mod record_ffmpeg_h265;
mod record_fuzz;
mod record_range;
mod record_segmenter;
mod recorder_crash_recovery;
mod recorder_discontinuity;
mod recorder_disk_faults;
mod recorder_hls;
mod recorder_writer;
mod recording_disk_full;
mod retention;
mod sfu_audio;
mod sfu_chromium_high_profile;
mod sfu_connect;
mod sfu_connect_timeout;
mod sfu_driver_loopback;
mod sfu_driver_tcp;
mod sfu_garbage;
mod sfu_malformed_sdp;
mod sfu_nack;
mod sfu_port_reuse;
mod sfu_reconnect;
mod sfu_stalled_viewer;
mod sfu_viewer_leaves;
mod sfu_viewer_limit;
mod store_backends;
