//! What flows: decoded frames (`Frames`, `Frame`), encoded frames (`EncodedFrames`,
//! `EncodedFrame`) and events (`Events`), read by blocking calls that release the GIL and
//! check for Ctrl-C every [`POLL`] while they wait. What a frame says about itself has
//! generated properties (`width`, `time`, …, from `vas::FrameInfo` and
//! `vas::EncodedFrameInfo`); the event classes are generated too.
//!
//! A `Frame` holds its pixels (the engine's buffer, shared with other subscribers of the same
//! format and size) and lends them to numpy through `__array_interface__`: the array shares
//! that memory without a copy, is read-only (writing would change what the other subscribers
//! see; `frame.array.copy()` gives a writable one), and keeps the frame alive, also after the
//! engine closed.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use vas::frames::{
    EncodedDelivery, EncodedFrame as VasEncodedFrame, EncodedSubscription, FrameSubscription,
    PixelFormat, VideoFrame,
};
use vas::{ErrorKind, EventSubscription};

use crate::error::{closed, timeout, to_py};

/// How long one wait lasts before the caller checks for Ctrl-C (and a deadline).
const POLL: Duration = Duration::from_millis(100);

/// The longest wait a `timeout` argument may ask for (about 31 years: "for ever" is None).
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(1_000_000_000);

/// Adds the classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Frame>()?;
    m.add_class::<Frames>()?;
    m.add_class::<EncodedFrame>()?;
    m.add_class::<EncodedFrames>()?;
    m.add_class::<Events>()?;
    Ok(())
}

/// A wait of `timeout` seconds (None: for ever), checked.
fn deadline(timeout: Option<f64>) -> PyResult<Option<Instant>> {
    match timeout {
        None => Ok(None),
        Some(t) if (0.0..=MAX_WAIT.as_secs_f64()).contains(&t) => {
            Ok(Some(Instant::now() + Duration::from_secs_f64(t)))
        }
        Some(t) => Err(crate::error::invalid(format!(
            "timeout must be None or a number of seconds >= 0, got {t}"
        ))),
    }
}

/// Waits for the next item of `recv` in slices of [`POLL`] with the GIL released, raising
/// `KeyboardInterrupt` (or whatever a signal handler raises) between slices and
/// `vas.Timeout` past the deadline.
fn wait<T: Send>(
    py: Python<'_>,
    until: Option<Instant>,
    what: &dyn Fn() -> String,
    recv: &(dyn Fn(Duration) -> vas::Result<T> + Sync),
) -> PyResult<T> {
    loop {
        let slice = until.map_or(POLL, |d| {
            d.saturating_duration_since(Instant::now()).min(POLL)
        });
        match py.detach(|| recv(slice)) {
            Ok(item) => return Ok(item),
            Err(e) if e.kind() == ErrorKind::Timeout => {
                py.check_signals()?;
                if until.is_some_and(|d| Instant::now() >= d) {
                    return Err(timeout(format!("no {} within the timeout", what())));
                }
            }
            Err(e) => return Err(to_py(e)),
        }
    }
}

/// One decoded picture. `array` is a read-only numpy `uint8` array sharing the frame's memory
/// (`frame.array.copy()` for one to draw on):
/// H×W×3 for `rgb24`/`bgr24`, H×W for `gray`, (H·3/2)×W for `i420`/`nv12` (the planes one
/// after the other, as OpenCV lays them out).
#[pyclass(module = "vas._vas", frozen)]
pub(crate) struct Frame {
    /// The pixels (immutable; numpy reads them through `__array_interface__`).
    pixels: Bytes,
    info: vas::FrameInfo,
}

impl Frame {
    fn new(f: VideoFrame) -> Frame {
        Frame {
            pixels: f.data().clone(),
            info: f.info(),
        }
    }

    /// What the frame says about itself (its generated properties read this).
    pub(crate) fn info(&self) -> vas::FrameInfo {
        self.info
    }

    fn shape(&self) -> Vec<usize> {
        let (w, h) = (self.info.width as usize, self.info.height as usize);
        match self.info.format {
            PixelFormat::Rgb24 | PixelFormat::Bgr24 => vec![h, w, 3],
            PixelFormat::Gray8 => vec![h, w],
            _ => vec![h * 3 / 2, w],
        }
    }
}

#[pymethods]
impl Frame {
    /// The numpy array (a new view of the same memory on every access).
    #[getter]
    fn array<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.py().import("numpy")?.call_method1("asarray", (slf,))
    }

    /// The numpy array interface (what `numpy.asarray(frame)` reads).
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("version", 3)?;
        d.set_item("shape", pyo3::types::PyTuple::new(py, self.shape())?)?;
        d.set_item("typestr", "|u1")?;
        // (address, read-only): the buffer is immutable and may be shared.
        d.set_item("data", (self.pixels.as_ptr() as usize, true))?;
        Ok(d)
    }

    /// Size of the pixels in bytes.
    fn __len__(&self) -> usize {
        self.pixels.len()
    }

    fn __repr__(&self) -> String {
        let i = &self.info;
        format!(
            "Frame({}x{} {}, seq={}, pts={}, time='{}', keyframe={})",
            i.width,
            i.height,
            i.format.as_str(),
            i.seq,
            i.pts,
            i.time.to_rfc3339(),
            if i.keyframe { "True" } else { "False" }
        )
    }
}

/// One frame as the camera sent it (encoded): `data` is the payload (video: NAL units, each
/// prefixed with its 4-byte big-endian length; audio: one codec frame).
#[pyclass(module = "vas._vas", frozen)]
pub(crate) struct EncodedFrame {
    data: Bytes,
    info: vas::EncodedFrameInfo,
}

impl EncodedFrame {
    fn new(f: VasEncodedFrame) -> EncodedFrame {
        EncodedFrame {
            info: f.info(),
            data: f.data,
        }
    }

    /// What the frame says about itself (its generated properties read this).
    pub(crate) fn info(&self) -> vas::EncodedFrameInfo {
        self.info
    }
}

#[pymethods]
impl EncodedFrame {
    /// The payload (a copy, as `bytes`).
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.data)
    }

    fn __len__(&self) -> usize {
        self.data.len()
    }

    fn __repr__(&self) -> String {
        let i = &self.info;
        format!(
            "EncodedFrame({} {}, {} bytes, pts={}, keyframe={})",
            i.track.as_str(),
            i.codec.as_str(),
            self.data.len(),
            i.pts,
            if i.keyframe { "True" } else { "False" }
        )
    }
}

/// What a subscription hands out, and the bounded wait for the next one.
trait Source: Send {
    type Item: Send;
    /// What is waited for, for messages ("frame", "event").
    const WHAT: &'static str;
    fn recv(&mut self, wait: Duration) -> vas::Result<Self::Item>;
}

impl Source for FrameSubscription {
    type Item = VideoFrame;
    const WHAT: &'static str = "frame";
    fn recv(&mut self, wait: Duration) -> vas::Result<VideoFrame> {
        self.recv_timeout(wait)
    }
}

/// An encoded subscription and the frames it lost (a reader that fell behind).
pub(crate) struct EncodedSource {
    sub: EncodedSubscription,
    lost: u64,
}

impl Source for EncodedSource {
    type Item = VasEncodedFrame;
    const WHAT: &'static str = "encoded frame";
    fn recv(&mut self, wait: Duration) -> vas::Result<VasEncodedFrame> {
        let until = Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.sub.recv_timeout(left)? {
                EncodedDelivery::Frame(f) => return Ok(f),
                EncodedDelivery::Lost { frames } => self.lost += frames,
                _ => {}
            }
        }
    }
}

impl Source for EventSubscription {
    type Item = vas::Event;
    const WHAT: &'static str = "event";
    fn recv(&mut self, wait: Duration) -> vas::Result<vas::Event> {
        self.recv_timeout(wait)
    }
}

/// What `Frames` and `Events` share: the subscription (None once closed), the default wait
/// and the process that made it (a `fork()` child has none of its threads).
struct Channel<S> {
    sub: Mutex<Option<S>>,
    timeout: Option<f64>,
    pid: u32,
}

impl<S: Source> Channel<S> {
    fn new(sub: S, timeout: Option<f64>) -> Self {
        Channel {
            sub: Mutex::new(Some(sub)),
            timeout,
            pid: std::process::id(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<S>> {
        self.sub.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next item within `timeout` (None: the channel's own), see [`wait`].
    fn read(&self, py: Python<'_>, timeout: Option<f64>, of: &str) -> PyResult<S::Item> {
        if std::process::id() != self.pid {
            return Err(closed(
                "this subscription belongs to the process that created it, not to a fork() child",
            ));
        }
        let until = deadline(timeout.or(self.timeout))?;
        let what = || format!("{}{of}", S::WHAT);
        wait(py, until, &what, &|slice| match self.lock().as_mut() {
            Some(s) => s.recv(slice),
            None => Err(vas::Error::new(
                ErrorKind::Closed,
                format!("the {} subscription was closed", S::WHAT),
            )),
        })
    }

    fn close(&self, py: Python<'_>) {
        let sub = py.detach(|| self.lock().take());
        drop(sub);
    }

    fn closed(&self) -> bool {
        self.lock().is_none()
    }
}

/// A read for `__next__`: the end of the iteration (None) once the subscription is closed.
fn until_closed<T>(py: Python<'_>, read: PyResult<T>) -> PyResult<Option<T>> {
    match read {
        Ok(item) => Ok(Some(item)),
        Err(e) if e.is_instance_of::<crate::error::Closed>(py) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The Python face every subscription class shares (`read`, `aread`, blocking and `async`
/// iteration, `close`, `closed`, `timeout`, the context manager, `repr`), over the class's
/// own `take(py, timeout)`. A macro because pyo3 needs each class's methods in an
/// `#[pymethods]` block of that class (the crate enables `multiple-pymethods`, so a class
/// adds its own getters in a second block).
macro_rules! subscription_methods {
    ($class:ident, $item:ty, $what:literal, $var:literal) => {
        #[pymethods]
        impl $class {
            #[doc = concat!(
                "The next ", $what, ", waiting at most `timeout` seconds (None: the\n",
                "subscription's own timeout, by default for ever); raises `vas.Timeout` when\n",
                "none came, `vas.Closed` once the subscription or the engine is closed."
            )]
            #[pyo3(signature = (timeout=None))]
            fn read(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<$item> {
                self.take(py, timeout)
            }

            #[doc = concat!("`read` as a coroutine: ``await ", $var, ".aread(timeout)``.")]
            #[pyo3(signature = (timeout=None))]
            fn aread<'py>(
                slf: &Bound<'py, Self>,
                timeout: Option<f64>,
            ) -> PyResult<Bound<'py, PyAny>> {
                coroutine(slf, "read", timeout.or(slf.get().channel.timeout))
            }

            fn __iter__(slf: Py<Self>) -> Py<Self> {
                slf
            }

            fn __next__(&self, py: Python<'_>) -> PyResult<Option<$item>> {
                until_closed(py, self.take(py, None))
            }

            fn __aiter__(slf: Py<Self>) -> Py<Self> {
                slf
            }

            fn __anext__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
                coroutine(slf, "next_item", slf.get().channel.timeout)
            }

            /// Ends the subscription (the iteration stops); closing twice is harmless.
            fn close(&self, py: Python<'_>) {
                self.channel.close(py);
            }

            /// Whether `close` was called.
            #[getter]
            fn closed(&self) -> bool {
                self.channel.closed()
            }

            /// The default wait of `read` and of each iteration step, in seconds (None: for
            /// ever).
            #[getter]
            fn timeout(&self) -> Option<f64> {
                self.channel.timeout
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
                let closed = if self.closed() { "True" } else { "False" };
                format!(concat!(stringify!($class), "(closed={})"), closed)
            }
        }
    };
}

/// A coroutine of `vas._aio` (`read` or `next_item`) over a subscription object.
fn coroutine<'py, T: pyo3::PyClass>(
    slf: &Bound<'py, T>,
    function: &str,
    timeout: Option<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    slf.py()
        .import("vas._aio")?
        .call_method1(function, (slf, timeout))
}

/// A `timeout` argument of a subscription: None (for ever) or seconds, checked.
fn checked_timeout(timeout: Option<f64>) -> PyResult<Option<f64>> {
    if let Some(t) = timeout {
        crate::convert::seconds(t, "timeout", MAX_WAIT)?;
    }
    Ok(timeout)
}

/// A subscription to a stream's decoded frames, from `Vas.frames`. Iterate it (blocking or
/// `async for`), or call `read`. Closing it (or the engine) ends the iteration.
#[pyclass(module = "vas._vas", frozen)]
pub(crate) struct Frames {
    channel: Channel<FrameSubscription>,
}

impl Frames {
    /// The subscription `Vas.frames` made, with the default wait of each step.
    pub(crate) fn new(sub: FrameSubscription, timeout: Option<f64>) -> PyResult<Self> {
        Ok(Frames {
            channel: Channel::new(sub, checked_timeout(timeout)?),
        })
    }

    /// The next item, for `read` and the iterations (see `subscription_methods!`).
    fn take(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Frame> {
        self.channel.read(py, timeout, "").map(Frame::new)
    }
}

subscription_methods!(Frames, Frame, "frame", "frames");

#[pymethods]
impl Frames {
    /// Frames not handed out because a newer one replaced them (or the queue was full).
    #[getter]
    fn dropped(&self) -> u64 {
        self.channel.lock().as_ref().map_or(0, |s| s.dropped())
    }

    /// Pictures the decoder could not decode (and skipped).
    #[getter]
    fn decode_errors(&self) -> u64 {
        self.channel
            .lock()
            .as_ref()
            .map_or(0, |s| s.decode_errors())
    }
}

/// A subscription to a stream's encoded frames, from `Vas.encoded_frames`: video and audio
/// as the camera sent them, from the stream's cached keyframe on. Iterate it (blocking or
/// `async for`), or call `read`. A reader that falls behind is skipped to the next keyframe
/// (counted by `lost`).
#[pyclass(module = "vas._vas", frozen)]
pub(crate) struct EncodedFrames {
    channel: Channel<EncodedSource>,
}

impl EncodedFrames {
    /// The subscription `Vas.encoded_frames` made, with the default wait of each step.
    pub(crate) fn new(sub: EncodedSubscription, timeout: Option<f64>) -> PyResult<Self> {
        Ok(EncodedFrames {
            channel: Channel::new(EncodedSource { sub, lost: 0 }, checked_timeout(timeout)?),
        })
    }

    /// The next item, for `read` and the iterations (see `subscription_methods!`).
    fn take(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<EncodedFrame> {
        self.channel.read(py, timeout, "").map(EncodedFrame::new)
    }
}

subscription_methods!(EncodedFrames, EncodedFrame, "encoded frame", "frames");

#[pymethods]
impl EncodedFrames {
    /// Frames skipped because this reader fell behind.
    #[getter]
    fn lost(&self) -> u64 {
        self.channel.lock().as_ref().map_or(0, |s| s.lost)
    }
}

/// A subscription to the engine's events, from `Vas.events`: it sees what happens after it
/// was made. Iterate it (blocking or `async for`), or call `read`.
#[pyclass(module = "vas._vas", frozen)]
pub(crate) struct Events {
    channel: Channel<EventSubscription>,
}

impl Events {
    /// The subscription `Vas.events` made, with the default wait of each step.
    pub(crate) fn new(sub: EventSubscription, timeout: Option<f64>) -> PyResult<Self> {
        Ok(Events {
            channel: Channel::new(sub, checked_timeout(timeout)?),
        })
    }

    /// The next item, for `read` and the iterations (see `subscription_methods!`).
    fn take(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        loop {
            // (An event of a kind newer than this binding is passed over.)
            let e = self.channel.read(py, timeout, "")?;
            if let Some(obj) = crate::generated::event_object(py, e)? {
                return Ok(obj);
            }
        }
    }
}

subscription_methods!(Events, Py<PyAny>, "event", "events");
