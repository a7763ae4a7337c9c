//! `vas.SyntheticCamera`: VAS's synthetic RTSP camera (crate `vas-synth`), for examples and
//! tests without hardware. It runs on a small runtime of its own (one worker thread).
//!
//! Only in builds with the `demo` feature (`pip install ./vas-py` with
//! `MATURIN_PEP517_ARGS="--features demo"`); without it the class exists with the same
//! signature and its constructor raises `vas.Unsupported`, so a program fails with a clear
//! error instead of an `AttributeError`.

#[cfg(feature = "demo")]
use std::time::Duration;

use pyo3::prelude::*;

use crate::error::{IntoPyResult, closed, invalid};

#[cfg(feature = "demo")]
type Camera = (vas_synth::SyntheticCamera, tokio::runtime::Runtime);
/// Without the `demo` feature no camera can exist.
#[cfg(not(feature = "demo"))]
type Camera = (std::convert::Infallible, ());

/// The engine's error for a camera's.
#[cfg(feature = "demo")]
fn synth_error(e: vas_synth::Error) -> vas::Error {
    let kind = vas::ErrorKind::from_name(e.kind().as_str()).unwrap_or(vas::ErrorKind::Internal);
    vas::Error::new(kind, e.message())
}

/// How long `close` waits for the camera's thread to finish.
#[cfg(feature = "demo")]
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(2);

/// A synthetic H.264 RTSP camera on loopback: a moving test picture at `width`×`height`
/// and `fps`. `loop_seconds` of video are encoded once and replayed (0: encode every
/// frame live, which costs a core at 1080p). Use it as a context manager, or `close()`.
#[pyclass(module = "vas._vas", frozen)]
pub(crate) struct SyntheticCamera {
    inner: std::sync::Mutex<Option<Camera>>,
    url: String,
}

impl SyntheticCamera {
    #[cfg(feature = "demo")]
    fn with<T>(
        &self,
        f: impl FnOnce(&vas_synth::SyntheticCamera, &tokio::runtime::Runtime) -> T,
    ) -> PyResult<T> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (c, rt) = g.as_ref().ok_or_else(|| closed("the camera is closed"))?;
        Ok(f(c, rt))
    }

    #[cfg(not(feature = "demo"))]
    fn with<T>(&self, _f: impl FnOnce(&std::convert::Infallible, &()) -> T) -> PyResult<T> {
        Err(closed("the camera is closed"))
    }
}

/// Starts a camera on a runtime of its own.
#[cfg(feature = "demo")]
#[allow(clippy::too_many_arguments)]
fn start(
    py: Python<'_>,
    width: u32,
    height: u32,
    fps: u32,
    loop_seconds: u32,
    audio: bool,
    bind: std::net::SocketAddr,
) -> PyResult<Camera> {
    use vas_synth::{CameraConfig, CameraMode};
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
    config.validate().map_err(synth_error).py()?;
    py.detach(|| {
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
        let camera = runtime
            .block_on(vas_synth::SyntheticCamera::start(config))
            .map_err(synth_error)?;
        Ok::<_, vas::Error>((camera, runtime))
    })
    .py()
}

#[cfg(not(feature = "demo"))]
fn start(
    _py: Python<'_>,
    _width: u32,
    _height: u32,
    _fps: u32,
    _loop_seconds: u32,
    _audio: bool,
    _bind: std::net::SocketAddr,
) -> PyResult<Camera> {
    Err(vas::Error::new(
        vas::ErrorKind::Unsupported,
        "this build of vas has no synthetic camera: build it with the demo feature \
         (MATURIN_PEP517_ARGS=\"--features demo\" pip install ./vas-py)",
    ))
    .py()
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
        let (camera, runtime) = start(py, width, height, fps, loop_seconds, audio, bind)?;
        let url = camera_url(&camera);
        Ok(SyntheticCamera {
            url,
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
        self.with(|c, _| frames_sent(c))
    }

    /// A fault for tests: `True` drops every session and stops listening, as if the camera
    /// lost power; `False` listens again on the same address.
    fn set_down(&self, py: Python<'_>, down: bool) -> PyResult<()> {
        py.detach(|| self.with(|c, rt| set_down(c, rt, down)))?.py()
    }

    /// Stops the camera; closing twice is harmless.
    fn close(&self, py: Python<'_>) {
        py.detach(|| {
            let taken = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(camera) = taken {
                stop(camera);
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
        format!("SyntheticCamera(url={:?})", self.url)
    }
}

#[cfg(feature = "demo")]
fn camera_url(c: &vas_synth::SyntheticCamera) -> String {
    c.url()
}

#[cfg(feature = "demo")]
fn frames_sent(c: &vas_synth::SyntheticCamera) -> u64 {
    c.frames_sent()
}

#[cfg(feature = "demo")]
fn set_down(
    c: &vas_synth::SyntheticCamera,
    rt: &tokio::runtime::Runtime,
    down: bool,
) -> vas::Result<()> {
    if down {
        rt.block_on(c.stop());
        Ok(())
    } else {
        rt.block_on(c.restart()).map_err(synth_error)
    }
}

#[cfg(feature = "demo")]
fn stop((camera, runtime): Camera) {
    runtime.block_on(camera.stop());
    drop(camera);
    runtime.shutdown_timeout(SHUTDOWN_LIMIT);
}

#[cfg(not(feature = "demo"))]
fn camera_url(c: &std::convert::Infallible) -> String {
    match *c {}
}

#[cfg(not(feature = "demo"))]
fn frames_sent(c: &std::convert::Infallible) -> u64 {
    match *c {}
}

#[cfg(not(feature = "demo"))]
fn set_down(c: &std::convert::Infallible, _rt: &(), _down: bool) -> vas::Result<()> {
    match *c {}
}

#[cfg(not(feature = "demo"))]
fn stop((camera, ()): Camera) {
    match camera {}
}
