//! `vas.Vas`: the engine. Every method converts its arguments, releases the GIL for the
//! engine call (each bounded by the engine's own limits), and converts the result.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use vas::snapshot::{SnapshotOptions, Source};

use crate::convert::{id, opt_time, range, seconds};
use crate::error::{IntoPyResult, closed, invalid};
use crate::model::{Bookmark, Camera, Recording, Snapshot, SnapshotImage, Stream, WebRtcSession};
use crate::stream::{Events, Frames};

/// The VAS engine: cameras, streams, recording, snapshots, bookmarks, live view and
/// decoded frames. One engine may be used from many threads at once.
#[pyclass(module = "vas._vas", subclass, frozen)]
pub(crate) struct Vas {
    vas: Option<vas::BlockingVas>,
    /// The process that made it: a `fork()` child must not use (or tear down) the parent's
    /// runtime, whose threads it did not inherit.
    pid: u32,
}

impl Drop for Vas {
    fn drop(&mut self) {
        if std::process::id() != self.pid {
            // A fork() child: the runtime's threads are not here; dropping it would wait on
            // them for ever. Leak it instead (the child's copy of the memory).
            std::mem::forget(self.vas.take());
        }
    }
}

fn transport(t: Option<&str>) -> PyResult<Option<vas::RtpTransport>> {
    match t {
        None => Ok(None),
        Some("tcp") => Ok(Some(vas::RtpTransport::Tcp)),
        Some("udp") => Ok(Some(vas::RtpTransport::Udp)),
        Some(other) => Err(invalid(format!(
            "transport must be \"tcp\" or \"udp\", got {other:?}"
        ))),
    }
}

fn snapshot_options(
    at: Option<&Bound<'_, PyAny>>,
    width: Option<u32>,
    quality: Option<u8>,
) -> PyResult<SnapshotOptions> {
    let mut o = SnapshotOptions::new();
    if let Some(at) = opt_time(at, "at")? {
        o = o.from_source(Source::At(at));
    }
    if let Some(w) = width {
        o = o.width(w);
    }
    if let Some(q) = quality {
        o = o.quality(q);
    }
    o.validate().py()?;
    Ok(o)
}

impl Vas {
    /// The engine, unless this is a `fork()` child.
    fn engine(&self) -> PyResult<&vas::BlockingVas> {
        if std::process::id() != self.pid {
            return Err(closed(format!(
                "this engine belongs to process {} and cannot be used after fork(); create a \
                 new vas.Vas in the child",
                self.pid
            )));
        }
        self.vas
            .as_ref()
            .ok_or_else(|| closed("the engine is closed"))
    }

    /// Runs an engine call with the GIL released.
    fn call<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&vas::BlockingVas) -> vas::Result<T> + Send,
    ) -> PyResult<T> {
        let v = self.engine()?;
        py.detach(|| f(v)).py()
    }
}

#[pymethods]
impl Vas {
    /// Starts an engine: opens (and migrates) the database, prepares the media folder and
    /// resumes the streams that were running.
    ///
    /// `data_dir` (default `./vas-data`) holds the SQLite database and, unless `media_dir`
    /// says otherwise, the media; `database_url` may name a PostgreSQL server instead (`postgres://...`).
    /// `webrtc_bind` (e.g. `"0.0.0.0:8189"`) enables live view through `webrtc_answer`;
    /// `webrtc_public_ip` adds an address to advertise (a 1:1 NAT's public one).
    #[new]
    #[pyo3(signature = (data_dir=None, database_url=None, media_dir=None, *, webrtc_bind=None, webrtc_public_ip=None))]
    fn new(
        py: Python<'_>,
        data_dir: Option<PathBuf>,
        database_url: Option<String>,
        media_dir: Option<PathBuf>,
        webrtc_bind: Option<String>,
        webrtc_public_ip: Option<String>,
    ) -> PyResult<Self> {
        let mut b = vas::Vas::builder().data_dir(data_dir.unwrap_or_else(|| "vas-data".into()));
        if let Some(u) = database_url {
            b = b.database_url(u);
        }
        if let Some(m) = media_dir {
            b = b.media_dir(m);
        }
        if let Some(bind) = webrtc_bind {
            let bind = bind.parse().map_err(|e| {
                invalid(format!(
                    "webrtc_bind {bind:?} is not an address (ip:port): {e}"
                ))
            })?;
            let mut webrtc = vas::config::WebRtcConfig {
                bind,
                ..Default::default()
            };
            if let Some(ip) = webrtc_public_ip {
                webrtc.public_ips.push(ip.parse().map_err(|e| {
                    invalid(format!("webrtc_public_ip {ip:?} is not an IP address: {e}"))
                })?);
            }
            b = b.webrtc(webrtc);
        } else if webrtc_public_ip.is_some() {
            return Err(invalid("webrtc_public_ip needs webrtc_bind"));
        }
        let vas = py.detach(|| b.build_blocking()).py()?;
        Ok(Vas {
            vas: Some(vas.blocking()),
            pid: std::process::id(),
        })
    }

    /// Closes the engine: streams stop, subscriptions end, recordings are finished. Bounded
    /// (a few seconds at most). Later calls raise `vas.Closed`; closing twice is harmless.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let v = self.engine()?;
        py.detach(|| v.close());
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    /// Raises unless the engine and its database answer.
    fn health(&self, py: Python<'_>) -> PyResult<()> {
        self.call(py, |v| v.health())
    }

    /// Adds a camera (with its main stream, and a sub stream when `sub_rtsp_url` is given).
    /// Credentials may be in the URL or given apart; they are stored encrypted and never
    /// returned. `transport` is `"tcp"` (default) or `"udp"`.
    #[pyo3(signature = (name, rtsp_url, username=None, password=None, *, sub_rtsp_url=None, transport=None, enabled=true))]
    #[allow(clippy::too_many_arguments)]
    fn add_camera(
        &self,
        py: Python<'_>,
        name: String,
        rtsp_url: String,
        username: Option<String>,
        password: Option<String>,
        sub_rtsp_url: Option<String>,
        transport: Option<&str>,
        enabled: bool,
    ) -> PyResult<Camera> {
        let mut new = vas::NewDevice::new(name, rtsp_url);
        new.username = username;
        new.password = password;
        new.sub_rtsp_url = sub_rtsp_url;
        new.rtsp_transport = self::transport(transport)?;
        new.enabled = enabled;
        self.call(py, |v| v.add_device(new)).map(Camera::from)
    }

    /// Every camera.
    fn cameras(&self, py: Python<'_>) -> PyResult<Vec<Camera>> {
        Ok(self
            .call(py, |v| v.devices())?
            .into_iter()
            .map(Camera::from)
            .collect())
    }

    /// One camera; raises `vas.NotFound` for an unknown id.
    fn camera(&self, py: Python<'_>, camera_id: &str) -> PyResult<Camera> {
        let id = id(camera_id)?;
        self.call(py, |v| v.device(id)).map(Camera::from)
    }

    /// Changes a camera; arguments left out (None) keep their value. `sub_rtsp_url=""`
    /// removes the sub stream. Username and password both `""` clear the credentials.
    #[pyo3(signature = (camera_id, *, name=None, rtsp_url=None, username=None, password=None, sub_rtsp_url=None, transport=None, enabled=None))]
    #[allow(clippy::too_many_arguments)]
    fn update_camera(
        &self,
        py: Python<'_>,
        camera_id: &str,
        name: Option<String>,
        rtsp_url: Option<String>,
        username: Option<String>,
        password: Option<String>,
        sub_rtsp_url: Option<String>,
        transport: Option<&str>,
        enabled: Option<bool>,
    ) -> PyResult<Camera> {
        let id = id(camera_id)?;
        let patch = vas::DevicePatch {
            name,
            rtsp_url,
            sub_rtsp_url: match sub_rtsp_url {
                None => vas::SubStreamChange::Keep,
                Some(u) if u.is_empty() => vas::SubStreamChange::Remove,
                Some(u) => vas::SubStreamChange::Set(u),
            },
            username,
            password,
            rtsp_transport: self::transport(transport)?,
            enabled,
        };
        self.call(py, |v| v.update_device(id, patch))
            .map(Camera::from)
    }

    /// Removes a camera, its streams, and what was recorded and indexed for them.
    fn remove_camera(&self, py: Python<'_>, camera_id: &str) -> PyResult<()> {
        let id = id(camera_id)?;
        self.call(py, |v| v.remove_device(id))
    }

    /// Every stream (optionally of one camera) with its live status.
    #[pyo3(signature = (camera_id=None))]
    fn streams(&self, py: Python<'_>, camera_id: Option<&str>) -> PyResult<Vec<Stream>> {
        let camera: Option<vas::DeviceId> = camera_id.map(id).transpose()?;
        Ok(self
            .call(py, |v| v.streams())?
            .into_iter()
            .filter(|s| camera.is_none_or(|c| s.stream.device_id == c))
            .map(Stream::from)
            .collect())
    }

    /// One stream with its live status; raises `vas.NotFound` for an unknown id.
    fn stream(&self, py: Python<'_>, stream_id: &str) -> PyResult<Stream> {
        let id = id(stream_id)?;
        self.call(py, |v| v.stream(id)).map(Stream::from)
    }

    /// Starts a stream (it then reconnects by itself for as long as it is not stopped).
    fn start(&self, py: Python<'_>, stream_id: &str) -> PyResult<Stream> {
        let id = id(stream_id)?;
        self.call(py, |v| v.start_stream(id)).map(Stream::from)
    }

    /// Stops a stream.
    fn stop(&self, py: Python<'_>, stream_id: &str) -> PyResult<Stream> {
        let id = id(stream_id)?;
        self.call(py, |v| v.stop_stream(id)).map(Stream::from)
    }

    /// Turns recording of a stream on or off.
    fn set_recording(&self, py: Python<'_>, stream_id: &str, record: bool) -> PyResult<Stream> {
        let id = id(stream_id)?;
        self.call(py, |v| v.set_recording(id, record))
            .map(Stream::from)
    }

    /// Subscribes to a stream's decoded frames (the stream must be started).
    ///
    /// `format`: `"bgr24"` (OpenCV's order, the default), `"rgb24"`, `"gray"`, `"i420"` or
    /// `"nv12"`. `size=(w, h)` scales to fit inside that box, keeping the aspect ratio.
    /// `fps` caps the rate. `strategy="latest"` hands out only the newest frame (never a
    /// stale one); `"queue"` keeps up to `max_queue` (1..=64), dropping the oldest.
    /// `timeout` bounds each wait of the iteration (None: wait for ever, e.g. through a
    /// camera's reconnection; Ctrl-C still interrupts).
    #[pyo3(signature = (stream_id, format="bgr24", size=None, fps=None, strategy="latest", *, max_queue=8, timeout=None))]
    #[allow(clippy::too_many_arguments)]
    fn frames(
        &self,
        py: Python<'_>,
        stream_id: &str,
        format: &str,
        size: Option<(u32, u32)>,
        fps: Option<f64>,
        strategy: &str,
        max_queue: usize,
        timeout: Option<f64>,
    ) -> PyResult<Frames> {
        let sid = id(stream_id)?;
        let mut o = vas::frames::FrameOptions::new(vas::frames::PixelFormat::parse(format).py()?);
        if let Some((w, h)) = size {
            o = o.max_size(w, h);
        }
        if let Some(f) = fps {
            o = o.max_fps(f);
        }
        o = o.strategy(match strategy {
            "latest" => vas::frames::Strategy::Latest,
            "queue" => vas::frames::Strategy::Queue { max: max_queue },
            other => {
                return Err(invalid(format!(
                    "strategy must be \"latest\" or \"queue\", got {other:?}"
                )));
            }
        });
        o.validate().py()?;
        if let Some(t) = timeout {
            seconds(t, "timeout", crate::stream::MAX_WAIT)?;
        }
        let sub = self.call(py, |v| v.frames(sid, o))?;
        Ok(Frames::new(sub, stream_id.to_owned(), timeout))
    }

    /// Subscribes to the engine's events (what happens from now on). `timeout` bounds each
    /// wait of the iteration (None: for ever).
    #[pyo3(signature = (timeout=None))]
    fn events(&self, timeout: Option<f64>) -> PyResult<Events> {
        if let Some(t) = timeout {
            seconds(t, "timeout", crate::stream::MAX_WAIT)?;
        }
        Ok(Events::new(self.engine()?.events(), timeout))
    }

    /// A JPEG of a stream: the newest frame, or the moment `at` (a timezone-aware
    /// datetime, from memory or the recordings); `width` scales it (keeping the aspect).
    #[pyo3(signature = (stream_id, at=None, width=None, *, quality=None))]
    fn snapshot<'py>(
        &self,
        py: Python<'py>,
        stream_id: &str,
        at: Option<&Bound<'py, PyAny>>,
        width: Option<u32>,
        quality: Option<u8>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let id = id(stream_id)?;
        let o = snapshot_options(at, width, quality)?;
        let j = self.call(py, |v| v.snapshot(id, o))?;
        Ok(PyBytes::new(py, &j.bytes))
    }

    /// As `snapshot`, with what the picture shows (time, size, whether the stream was
    /// offline).
    #[pyo3(signature = (stream_id, at=None, width=None, *, quality=None))]
    fn snapshot_image(
        &self,
        py: Python<'_>,
        stream_id: &str,
        at: Option<&Bound<'_, PyAny>>,
        width: Option<u32>,
        quality: Option<u8>,
    ) -> PyResult<SnapshotImage> {
        let id = id(stream_id)?;
        let o = snapshot_options(at, width, quality)?;
        let j = self.call(py, |v| v.snapshot(id, o))?;
        Ok(SnapshotImage::new(py, j))
    }

    /// Takes a snapshot and keeps it (a file in the media folder and a row in the index).
    #[pyo3(signature = (stream_id, label=None, *, at=None, width=None, quality=None))]
    fn save_snapshot(
        &self,
        py: Python<'_>,
        stream_id: &str,
        label: Option<String>,
        at: Option<&Bound<'_, PyAny>>,
        width: Option<u32>,
        quality: Option<u8>,
    ) -> PyResult<Snapshot> {
        let id = id(stream_id)?;
        let o = snapshot_options(at, width, quality)?;
        self.call(py, |v| v.save_snapshot(id, o, label))
            .map(Snapshot::from)
    }

    /// Saved snapshots, newest first, optionally of one stream and between `start` and
    /// `end`.
    #[pyo3(signature = (stream_id=None, start=None, end=None, limit=None))]
    fn snapshots(
        &self,
        py: Python<'_>,
        stream_id: Option<&str>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        limit: Option<u32>,
    ) -> PyResult<Vec<Snapshot>> {
        let q = range(stream_id, start, end, limit)?;
        Ok(self
            .call(py, |v| v.stored_snapshots(q))?
            .into_iter()
            .map(Snapshot::from)
            .collect())
    }

    /// The JPEG of a saved snapshot.
    fn snapshot_file<'py>(
        &self,
        py: Python<'py>,
        snapshot_id: &str,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let id = id(snapshot_id)?;
        let b = self.call(py, |v| v.stored_snapshot_image(id))?;
        Ok(PyBytes::new(py, &b))
    }

    /// Deletes a saved snapshot (file and row).
    fn delete_snapshot(&self, py: Python<'_>, snapshot_id: &str) -> PyResult<()> {
        let id = id(snapshot_id)?;
        self.call(py, |v| v.delete_snapshot(id))
    }

    /// Bookmarks a moment (now, or `at`) of a stream: a clip of `before` + `after` seconds
    /// (5 + 5 by default) is written once the moment has passed (`bookmark(id).state`).
    #[pyo3(signature = (stream_id, at=None, label=None, *, before=5.0, after=5.0))]
    fn add_bookmark(
        &self,
        py: Python<'_>,
        stream_id: &str,
        at: Option<&Bound<'_, PyAny>>,
        label: Option<String>,
        before: f64,
        after: f64,
    ) -> PyResult<Bookmark> {
        let mut b = vas::bookmark::NewBookmark::new(id(stream_id)?)
            .before(seconds(before, "before", vas::bookmark::MAX_BEFORE)?)
            .after(seconds(after, "after", vas::bookmark::MAX_AFTER)?);
        if let Some(at) = opt_time(at, "at")? {
            b = b.at(at);
        }
        if let Some(l) = label {
            b = b.label(l);
        }
        self.call(py, |v| v.add_bookmark(b)).map(Bookmark::from)
    }

    /// Bookmarks, newest first, optionally of one stream and between `start` and `end`.
    #[pyo3(signature = (stream_id=None, start=None, end=None, limit=None))]
    fn bookmarks(
        &self,
        py: Python<'_>,
        stream_id: Option<&str>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        limit: Option<u32>,
    ) -> PyResult<Vec<Bookmark>> {
        let q = range(stream_id, start, end, limit)?;
        Ok(self
            .call(py, |v| v.bookmarks(q))?
            .into_iter()
            .map(Bookmark::from)
            .collect())
    }

    /// One bookmark.
    fn bookmark(&self, py: Python<'_>, bookmark_id: &str) -> PyResult<Bookmark> {
        let id = id(bookmark_id)?;
        self.call(py, |v| v.bookmark(id)).map(Bookmark::from)
    }

    /// The path of a bookmark's MP4 clip; raises `vas.FailedPrecondition` while it is
    /// pending.
    fn bookmark_clip(&self, py: Python<'_>, bookmark_id: &str) -> PyResult<PathBuf> {
        let id = id(bookmark_id)?;
        self.call(py, |v| v.bookmark_clip(id))
    }

    /// Deletes a bookmark and its clip.
    fn delete_bookmark(&self, py: Python<'_>, bookmark_id: &str) -> PyResult<()> {
        let id = id(bookmark_id)?;
        self.call(py, |v| v.delete_bookmark(id))
    }

    /// Recordings, newest first, optionally of one stream and between `start` and `end`.
    #[pyo3(signature = (stream_id=None, start=None, end=None, limit=None))]
    fn recordings(
        &self,
        py: Python<'_>,
        stream_id: Option<&str>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        limit: Option<u32>,
    ) -> PyResult<Vec<Recording>> {
        let q = range(stream_id, start, end, limit)?;
        Ok(self
            .call(py, |v| v.recordings(q))?
            .into_iter()
            .map(Recording::from)
            .collect())
    }

    /// One recording.
    fn recording(&self, py: Python<'_>, recording_id: &str) -> PyResult<Recording> {
        let id = id(recording_id)?;
        self.call(py, |v| v.recording(id)).map(Recording::from)
    }

    /// Answers a browser's WebRTC offer (SDP) for live view of a stream; send
    /// `answer_sdp` back. Needs `webrtc_bind` (else `vas.Unsupported`).
    fn webrtc_answer(
        &self,
        py: Python<'_>,
        stream_id: &str,
        offer_sdp: &str,
    ) -> PyResult<WebRtcSession> {
        let id = id(stream_id)?;
        self.call(py, |v| v.webrtc_offer(id, offer_sdp))
            .map(WebRtcSession::from)
    }

    /// Ends a WebRTC viewer's session; False when it had already ended.
    fn webrtc_close(&self, py: Python<'_>, viewer: u64) -> PyResult<bool> {
        let v = self.engine()?;
        Ok(py.detach(|| v.webrtc_close(vas::ViewerId(viewer))))
    }

    fn __repr__(&self) -> String {
        format!("Vas(pid={})", self.pid)
    }
}
