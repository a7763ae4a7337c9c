//! `SyntheticCamera`: VAS's synthetic RTSP camera (crate `vas-synth`), for tests and demos
//! without hardware. Only in builds with the `demo` feature; without it the constructor
//! throws `Unsupported`, so the generated bindings are the same in both builds.

use std::sync::Arc;

use crate::error::VasError;

/// VAS's synthetic RTSP camera (a moving test picture, pre-encoded), for tests and demos
/// without hardware. It runs on a one-thread runtime of its own.
#[derive(uniffi::Object)]
pub struct SyntheticCamera {
    #[cfg(feature = "demo")]
    camera: vas_synth::SyntheticCamera,
    #[cfg(feature = "demo")]
    runtime: tokio::runtime::Runtime,
    url: String,
}

/// The engine's error for a camera's.
#[cfg(feature = "demo")]
fn synth_error(e: vas_synth::Error) -> VasError {
    let kind = vas::ErrorKind::from_name(e.kind().as_str()).unwrap_or(vas::ErrorKind::Internal);
    vas::Error::new(kind, e.message()).into()
}

#[uniffi::export]
impl SyntheticCamera {
    /// Starts a camera on a free loopback port.
    #[uniffi::constructor]
    pub fn new(width: u32, height: u32, fps: u32) -> Result<Arc<Self>, VasError> {
        #[cfg(not(feature = "demo"))]
        {
            let _ = (width, height, fps);
            Err(VasError::Unsupported {
                message: "this build of vas-uniffi has no synthetic camera: build it with the demo feature".into(),
            })
        }
        #[cfg(feature = "demo")]
        {
            let config = vas_synth::CameraConfig {
                width,
                height,
                fps,
                gop: fps.max(1),
                mode: vas_synth::CameraMode::PreEncodedLoop { seconds: 2 },
                bind: std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)),
                ..Default::default()
            };
            config.validate().map_err(synth_error)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("vas-synth")
                .enable_all()
                .build()
                .map_err(|e| VasError::ResourceExhausted {
                    message: format!("cannot start a runtime: {e}"),
                })?;
            let camera = runtime
                .block_on(vas_synth::SyntheticCamera::start(config))
                .map_err(synth_error)?;
            Ok(Arc::new(SyntheticCamera {
                url: camera.url(),
                camera,
                runtime,
            }))
        }
    }

    /// Its `rtsp://` URL.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Stops it.
    pub fn stop(&self) {
        #[cfg(feature = "demo")]
        self.runtime.block_on(self.camera.stop());
    }
}
