//! The reference server from the outside, one scenario per module: the app in process
//! (`vas_server::app`) and the real binary, over real sockets, with real cameras, PostgreSQL
//! and headless Chromium.

mod common;

mod api;
mod bookmarks_api;
mod browser_bookmarks;
mod browser_live;
mod browser_recordings;
mod browser_snapshot_at;
mod browser_snapshots;
mod credentials;
mod demo;
mod hostile_camera;
mod hostile_requests;
mod http_limits;
mod operations;
mod postgres_outage;
mod process;
mod recording;
mod recordings_api;
mod signaling;
mod snapshots_api;
