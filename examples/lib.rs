//! What the examples share: reading `[rtsp://…] [seconds]` from the command line, and the
//! camera to watch (the URL given, or VAS's synthetic camera started on a free port).
//! Run the examples with `cargo run --release --example NAME`.

use vas_synth::{CameraConfig, CameraMode, SyntheticCamera};

/// The camera an example watches.
#[derive(Debug)]
pub struct Camera {
    /// Its RTSP URL.
    pub url: String,
    /// The synthetic camera, when no URL was given (kept running while this lives).
    pub synthetic: Option<SyntheticCamera>,
    /// The number given on the command line, if any (seconds to run).
    pub seconds: Option<u64>,
}

impl Camera {
    /// Reads the arguments (in any order: an `rtsp://` URL, a number of seconds) and starts the
    /// synthetic camera (30 fps, replaying a pre-encoded loop) when no URL was given.
    pub async fn from_args() -> Result<Camera, Box<dyn std::error::Error>> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let url = args.iter().find(|a| a.starts_with("rtsp://")).cloned();
        let seconds = match args.iter().find(|a| !a.starts_with("rtsp://")) {
            Some(s) => Some(
                s.parse()
                    .map_err(|_| format!("not a number of seconds: {s}"))?,
            ),
            None => None,
        };
        if let Some(url) = url {
            return Ok(Camera {
                url,
                synthetic: None,
                seconds,
            });
        }
        let cam = SyntheticCamera::start(CameraConfig {
            mode: CameraMode::PreEncodedLoop { seconds: 2 },
            fps: 30,
            bind: "127.0.0.1:0".parse()?,
            ..CameraConfig::default()
        })
        .await?;
        Ok(Camera {
            url: cam.url(),
            synthetic: Some(cam),
            seconds,
        })
    }
}

/// Adds the camera to `vas` as `name` and returns its main stream.
pub async fn add_camera(
    vas: &vas::Vas,
    name: &str,
    url: &str,
) -> vas::Result<(vas::Device, vas::StreamId)> {
    let device = vas.add_device(vas::NewDevice::new(name, url)).await?;
    let stream = vas
        .streams(Some(device.id), vas::Order::Oldest)
        .await?
        .first()
        .ok_or_else(|| vas::Error::internal("a new camera has no stream"))?
        .id;
    Ok((device, stream))
}
