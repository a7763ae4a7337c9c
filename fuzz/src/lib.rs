//! The fuzz targets' invariants, one module per parser VAS owns. Each `check` takes the raw
//! input libFuzzer (or the seed replay in `tests/seeds.rs`) hands it and panics when an
//! invariant fails; the binaries in `fuzz_targets/` are one-line libFuzzer entry points.
//! See `scripts/fuzz.sh`.

pub mod camera_url;
pub mod frame_budget;
pub mod mp4_clip;
pub mod nal_units;
pub mod playlist;
pub mod rtsp_guard;
pub mod sdp_offer;
pub mod signaling_message;
pub mod ts_read;
pub mod ts_scan;
