//! `--demo`: the built-in synthetic camera, registered once as a device with its stream
//! running, so the run command shows live video out of the box.
//!
//! Owns only the demo camera's settings and its registration; it goes through the engine's
//! public API like any client and never touches the store.

use std::net::{Ipv4Addr, SocketAddr};

use vas::Vas;
use vas::{DevicePatch, NewDevice, StreamProfile};
use vas_synth::{CameraConfig, CameraMode, SyntheticCamera};

/// The demo camera's device name (how a restart finds it again).
pub const DEMO_CAMERA_NAME: &str = "Synthetic camera";
/// Default port of the demo camera's RTSP server.
pub const DEFAULT_DEMO_CAMERA_PORT: u16 = 8554;

/// The demo camera's picture: 720p30 at 2 Mbit/s, a keyframe every second, with a tone;
/// encoded live, or replayed from a loop of `loop_seconds` encoded once.
pub fn demo_camera_config(port: u16, loop_seconds: Option<u32>) -> CameraConfig {
    CameraConfig {
        width: 1280,
        height: 720,
        fps: 30,
        bitrate_bps: 2_000_000,
        gop: 30,
        audio: true,
        mode: match loop_seconds {
            Some(seconds) => CameraMode::PreEncodedLoop { seconds },
            None => CameraMode::Live,
        },
        bind: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        ..CameraConfig::default()
    }
}

/// Starts the synthetic camera on loopback.
pub async fn start_camera(port: u16, loop_seconds: Option<u32>) -> Result<SyntheticCamera, String> {
    SyntheticCamera::start(demo_camera_config(port, loop_seconds))
        .await
        .map_err(|e| {
            format!(
                "cannot start the demo camera on 127.0.0.1:{port}: {} (choose another port with --demo-camera-port)",
                e.message()
            )
        })
}

/// Makes sure the demo camera is a device: added (with its stream started) the first time,
/// pointed at the camera's current address afterwards, never duplicated.
pub async fn register(vas: &Vas, camera: &SyntheticCamera) -> Result<(), vas::Error> {
    let url = camera.url();
    let existing = vas
        .devices(vas::Order::Oldest)
        .await?
        .into_iter()
        .find(|d| d.name == DEMO_CAMERA_NAME);
    match existing {
        Some(d) if d.rtsp_url.as_str() == url => {}
        Some(d) => {
            vas.update_device(
                d.id,
                DevicePatch {
                    rtsp_url: Some(url),
                    ..Default::default()
                },
            )
            .await?;
        }
        None => {
            let device = vas
                .add_device(NewDevice::new(DEMO_CAMERA_NAME, url))
                .await?;
            for s in vas.streams(Some(device.id), vas::Order::Oldest).await? {
                if s.profile == StreamProfile::Main {
                    vas.start_stream(s.id).await?;
                }
            }
        }
    }
    Ok(())
}
