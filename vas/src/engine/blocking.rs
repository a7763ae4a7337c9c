//! The blocking twins of the engine's calls: [`BlockingVas`].
//!
//! Owns running a call on the engine's runtime and parking the calling thread until it is
//! done, for threads without an async runtime (the C and Python shells, a plain `main`).
//! A blocking call made from inside an async runtime would stall that runtime's thread (or
//! deadlock a single-threaded one), so it is refused with `FailedPrecondition` instead.

use std::future::Future;

use super::{Vas, closed};
use crate::bookmark::NewBookmark;
use crate::events::EventSubscription;
use crate::frames::{EncodedSubscription, FrameOptions, FrameSubscription};
use crate::model::{Bookmark, BookmarkId};
use crate::model::{
    Camera, DeviceId, DevicePatch, NewDevice, Recording, RecordingId, Snapshot, SnapshotId,
    StreamId,
};
use crate::record::MediaPlaylist;
use crate::sfu::ViewerId;
use crate::snapshot::{Jpeg, SnapshotOptions};
use crate::status::StreamInfo;
use crate::store::Range;
use crate::{Error, ErrorKind, Result};

use super::viewers::WebRtcSession;

/// `FailedPrecondition` when the calling thread is inside an async runtime.
pub(super) fn refuse_inside_runtime() -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::new(
            ErrorKind::FailedPrecondition,
            "a blocking VAS call was made from inside an async runtime; await the async form instead",
        ));
    }
    Ok(())
}

/// Runs `work` on `handle`'s runtime and parks this thread until it is done.
pub(super) fn wait<T: Send + 'static>(
    handle: &tokio::runtime::Handle,
    work: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = tx.send(work.await);
    });
    // A runtime that stopped drops the task, and with it the sender.
    rx.recv().unwrap_or_else(|_| Err(closed()))
}

/// The engine's calls in blocking form, from [`Vas::blocking`]. Each call parks the calling
/// thread until the engine's runtime has done the work; the semantics and errors are those
/// of the `async` call of the same name on [`Vas`]. Calling one from inside an async
/// runtime answers `FailedPrecondition` (await the `async` form there).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let vas = vas::Vas::builder().data_dir(dir.path()).build_blocking()?;
/// let engine = vas.blocking();
/// let cam = engine.add_device(vas::NewDevice::new("door", "rtsp://10.0.0.9/main"))?;
/// let stream = engine.streams()?[0].stream.id;
/// engine.start_stream(stream)?;
/// engine.remove_device(cam.id)?;
/// engine.close();
/// assert_eq!(engine.streams().unwrap_err().kind(), vas::ErrorKind::Closed);
/// # Ok::<(), vas::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct BlockingVas {
    vas: Vas,
}

impl BlockingVas {
    pub(super) fn new(vas: Vas) -> Self {
        BlockingVas { vas }
    }

    fn call<T, F>(&self, work: impl FnOnce(Vas) -> F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        refuse_inside_runtime()?;
        self.vas.check_open()?;
        wait(self.vas.inner.runtime.handle(), work(self.vas.clone()))
    }

    /// The engine these calls go to.
    pub fn engine(&self) -> &Vas {
        &self.vas
    }

    /// See [`Vas::health`].
    pub fn health(&self) -> Result<()> {
        self.call(|v| async move { v.health().await })
    }

    /// See [`Vas::add_device`].
    pub fn add_device(&self, new: NewDevice) -> Result<Camera> {
        self.call(|v| async move { v.add_device(new).await })
    }

    /// See [`Vas::devices`].
    pub fn devices(&self) -> Result<Vec<Camera>> {
        self.call(|v| async move { v.devices().await })
    }

    /// See [`Vas::device`].
    pub fn device(&self, id: DeviceId) -> Result<Camera> {
        self.call(move |v| async move { v.device(id).await })
    }

    /// See [`Vas::update_device`].
    pub fn update_device(&self, id: DeviceId, patch: DevicePatch) -> Result<Camera> {
        self.call(move |v| async move { v.update_device(id, patch).await })
    }

    /// See [`Vas::remove_device`].
    pub fn remove_device(&self, id: DeviceId) -> Result<()> {
        self.call(move |v| async move { v.remove_device(id).await })
    }

    /// See [`Vas::streams`].
    pub fn streams(&self) -> Result<Vec<StreamInfo>> {
        self.call(|v| async move { v.streams().await })
    }

    /// See [`Vas::stream`].
    pub fn stream(&self, id: StreamId) -> Result<StreamInfo> {
        self.call(move |v| async move { v.stream(id).await })
    }

    /// See [`Vas::start_stream`].
    pub fn start_stream(&self, id: StreamId) -> Result<StreamInfo> {
        self.call(move |v| async move { v.start_stream(id).await })
    }

    /// See [`Vas::stop_stream`].
    pub fn stop_stream(&self, id: StreamId) -> Result<StreamInfo> {
        self.call(move |v| async move { v.stop_stream(id).await })
    }

    /// See [`Vas::set_recording`].
    pub fn set_recording(&self, id: StreamId, record: bool) -> Result<StreamInfo> {
        self.call(move |v| async move { v.set_recording(id, record).await })
    }

    /// See [`Vas::subscribe`]; receive with [`EncodedSubscription::recv_timeout`].
    pub fn subscribe(&self, id: StreamId) -> Result<EncodedSubscription> {
        self.call(move |v| async move { v.subscribe(id).await })
    }

    /// See [`Vas::frames`]; receive with [`FrameSubscription::recv_timeout`].
    pub fn frames(&self, id: StreamId, options: FrameOptions) -> Result<FrameSubscription> {
        self.call(move |v| async move { v.frames(id, options).await })
    }

    /// See [`Vas::events`]; receive with [`EventSubscription::recv_timeout`].
    pub fn events(&self) -> EventSubscription {
        self.vas.events()
    }

    /// See [`Vas::webrtc_offer`].
    pub fn webrtc_offer(&self, id: StreamId, offer_sdp: &str) -> Result<WebRtcSession> {
        let offer = offer_sdp.to_owned();
        self.call(move |v| async move { v.webrtc_offer(id, &offer).await })
    }

    /// See [`Vas::webrtc_close`].
    pub fn webrtc_close(&self, viewer: ViewerId) -> bool {
        self.call(move |v| async move { Ok(v.webrtc_close(viewer).await) })
            .unwrap_or(false)
    }

    /// See [`Vas::snapshot`].
    pub fn snapshot(&self, id: StreamId, options: SnapshotOptions) -> Result<Jpeg> {
        self.call(move |v| async move { v.snapshot(id, options).await })
    }

    /// See [`Vas::save_snapshot`].
    pub fn save_snapshot(
        &self,
        id: StreamId,
        options: SnapshotOptions,
        label: Option<String>,
    ) -> Result<Snapshot> {
        self.call(move |v| async move { v.save_snapshot(id, options, label).await })
    }

    /// See [`Vas::stored_snapshots`].
    pub fn stored_snapshots(&self, query: Range) -> Result<Vec<Snapshot>> {
        self.call(move |v| async move { v.stored_snapshots(query).await })
    }

    /// See [`Vas::stored_snapshot`].
    pub fn stored_snapshot(&self, id: SnapshotId) -> Result<Snapshot> {
        self.call(move |v| async move { v.stored_snapshot(id).await })
    }

    /// See [`Vas::stored_snapshot_image`].
    pub fn stored_snapshot_image(&self, id: SnapshotId) -> Result<bytes::Bytes> {
        self.call(move |v| async move { v.stored_snapshot_image(id).await })
    }

    /// See [`Vas::delete_snapshot`].
    pub fn delete_snapshot(&self, id: SnapshotId) -> Result<()> {
        self.call(move |v| async move { v.delete_snapshot(id).await })
    }

    /// See [`Vas::add_bookmark`].
    pub fn add_bookmark(&self, new: NewBookmark) -> Result<Bookmark> {
        self.call(move |v| async move { v.add_bookmark(new).await })
    }

    /// See [`Vas::bookmarks`].
    pub fn bookmarks(&self, query: Range) -> Result<Vec<Bookmark>> {
        self.call(move |v| async move { v.bookmarks(query).await })
    }

    /// See [`Vas::bookmark`].
    pub fn bookmark(&self, id: BookmarkId) -> Result<Bookmark> {
        self.call(move |v| async move { v.bookmark(id).await })
    }

    /// See [`Vas::bookmark_clip`].
    pub fn bookmark_clip(&self, id: BookmarkId) -> Result<std::path::PathBuf> {
        self.call(move |v| async move { v.bookmark_clip(id).await })
    }

    /// See [`Vas::delete_bookmark`].
    pub fn delete_bookmark(&self, id: BookmarkId) -> Result<()> {
        self.call(move |v| async move { v.delete_bookmark(id).await })
    }

    /// See [`Vas::recordings`].
    pub fn recordings(&self, query: Range) -> Result<Vec<Recording>> {
        self.call(move |v| async move { v.recordings(query).await })
    }

    /// See [`Vas::recording`].
    pub fn recording(&self, id: RecordingId) -> Result<Recording> {
        self.call(move |v| async move { v.recording(id).await })
    }

    /// See [`Vas::playback_playlist`].
    pub fn playback_playlist(
        &self,
        stream: StreamId,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        uri_prefix: &str,
    ) -> Result<MediaPlaylist> {
        let prefix = uri_prefix.to_owned();
        self.call(move |v| async move { v.playback_playlist(stream, from, to, &prefix).await })
    }

    /// See [`Vas::close`]. An engine that owns its runtime also stops that runtime's
    /// threads (waiting up to [`super::CLOSE_STEP_LIMIT`] for them). Safe to call more than
    /// once and from several threads; from inside an async runtime it starts the close
    /// without waiting for it (await [`Vas::close`] there).
    pub fn close(&self) {
        if refuse_inside_runtime().is_err() {
            let vas = self.vas.clone();
            self.vas
                .inner
                .runtime
                .handle()
                .spawn(async move { vas.close().await });
            return;
        }
        let vas = self.vas.clone();
        let _ = wait(self.vas.inner.runtime.handle(), async move {
            vas.close().await;
            Ok(())
        });
        self.vas.inner.runtime.shut_down(super::CLOSE_STEP_LIMIT);
    }
}
