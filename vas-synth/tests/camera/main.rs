//! The synthetic camera from the outside, one scenario per module: real RTSP clients (ffmpeg,
//! ffprobe, a raw client) against a camera on loopback.

mod support;

mod auth;
mod faults;
mod ffprobe;
mod pre_encoded_loop;
mod sessions;
