//! `vas.SyntheticCamera`: VAS's built-in RTSP camera, for examples and tests without
//! hardware. It runs on a small runtime of its own (one worker thread).

use std::time::Duration;

use pyo3::prelude::*;

use crate::model::q;
use vas::synth::{CameraConfig, CameraMode};

use crate::error::{IntoPyResult, closed, invalid};

/// How long `close` waits for the camera's thread to finish.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(2);

/// A synthetic H.264 RTSP camera on loopback: a moving test picture at `width`×`height`
/// and `fps`. `loop_seconds` of video are encoded once and replayed (0: encode every
/// frame live, which costs a core at 1080p). Use it as a context manager, or `close()`.
#[pyclass(module = "vas._vas", frozen)]
pub(crate) struct SyntheticCamera {
    inner: std::sync::Mutex<Option<(vas::synth::SyntheticCamera, tokio::runtime::Runtime)>>,
    url: String,
}

impl SyntheticCamera {
    fn with<T>(
        &self,
        f: impl FnOnce(&vas::synth::SyntheticCamera, &tokio::runtime::Runtime) -> T,
    ) -> PyResult<T> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (c, rt) = g.as_ref().ok_or_else(|| closed("the camera is closed"))?;
        Ok(f(c, rt))
    }
}

#[pymethods]
impl SyntheticCamera {
    /// Starts the camera (on a free loopback port unless `bind` says otherwise).
    #[new]
    #[pyo3(signature = (width=640, height=360, fps=30, *, loop_seconds=2, audio=false, bind="127.0.0.1:0"))]
    fn new(
        py: Python<'_>,
        width: u32,
        height: u32,
        fps: u32,
        loop_seconds: u32,
        audio: bool,
        bind: &str,
    ) -> PyResult<Self> {
        let bind = bind
            .parse()
            .map_err(|e| invalid(format!("bind {bind:?} is not an address (ip:port): {e}")))?;
        let config = CameraConfig {
            width,
            height,
            fps,
            gop: fps.max(1),
            audio,
            mode: match loop_seconds {
                0 => CameraMode::Live,
                s => CameraMode::PreEncodedLoop { seconds: s },
            },
            bind,
            ..CameraConfig::default()
        };
        config.validate().py()?;
        let (camera, runtime) = py
            .detach(|| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("vas-synth")
                    .enable_all()
                    .build()
                    .map_err(|e| {
                        vas::Error::new(
                            vas::ErrorKind::ResourceExhausted,
                            format!("cannot start a runtime: {e}"),
                        )
                    })?;
                let camera = runtime.block_on(vas::synth::SyntheticCamera::start(config))?;
                Ok::<_, vas::Error>((camera, runtime))
            })
            .py()?;
        Ok(SyntheticCamera {
            url: camera.url(),
            inner: std::sync::Mutex::new(Some((camera, runtime))),
        })
    }

    /// Its `rtsp://` URL.
    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    /// Frames sent so far (to all its sessions).
    #[getter]
    fn frames_sent(&self) -> PyResult<u64> {
        self.with(|c, _| c.frames_sent())
    }

    /// A fault for tests: `True` drops every session and stops listening, as if the camera
    /// lost power; `False` listens again on the same address.
    fn set_down(&self, py: Python<'_>, down: bool) -> PyResult<()> {
        py.detach(|| {
            self.with(|c, rt| {
                if down {
                    rt.block_on(c.stop());
                    Ok(())
                } else {
                    rt.block_on(c.restart())
                }
            })
        })?
        .py()
    }

    /// Stops the camera; closing twice is harmless.
    fn close(&self, py: Python<'_>) {
        py.detach(|| {
            let taken = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some((camera, runtime)) = taken {
                runtime.block_on(camera.stop());
                drop(camera);
                runtime.shutdown_timeout(SHUTDOWN_LIMIT);
            }
        });
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close(py);
        false
    }

    fn __repr__(&self) -> String {
        format!("SyntheticCamera(url={})", q(&self.url))
    }
}
