//! The [`Vas`] engine: the library's front door.
//!
//! The engine validates what callers ask for, keeps the store and the media folder
//! consistent (rows are written after files and removed before them), and knows the live
//! state of every stream. Shells (server, C, Python) call only this; they never reach the
//! store directly. It is split by duty, one room per file:
//!
//! * `builder.rs`: configuration, the runtime choice, start-up (store, recovery, restarts);
//! * `devices.rs`: cameras and the credential rules;
//! * `streams.rs`: each stream's lifecycle (ingest, recorder, hub, decoder), serialised per
//!   stream, so one stream's slow stop never holds up another stream's calls;
//! * `viewers.rs`: the one registry of WebRTC viewers;
//! * `blocking.rs`: the blocking twins of every call, for callers without a runtime;
//! * this file: the engine handle, its runtime, recordings and playback, and `close()`.
//!
//! Every `async` call runs its work on the engine's runtime (see [`VasBuilder::runtime`]),
//! so it can be awaited from any executor; a call that is cancelled by its caller still
//! finishes what it started, so the store and the live state never disagree.

mod blocking;
mod bookmarks;
mod builder;
mod devices;
mod snapshots;
mod streams;
mod viewers;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::{info, warn};

pub use blocking::BlockingVas;
pub(crate) use bookmarks::bookmarks_calls;
pub use builder::{
    DEFAULT_DATA_DIR, MEDIA_DIR_NAME, OWNED_RUNTIME_WORKERS, SQLITE_FILE_NAME, VasBuilder,
};
pub(crate) use devices::devices_calls;
pub(crate) use snapshots::snapshots_calls;
pub(crate) use streams::streams_calls;
pub use viewers::WebRtcAddresses;
pub(crate) use viewers::viewers_calls;

use crate::clock::SharedClock;
use crate::events::{EventBus, EventSubscription};
use crate::hub::HubConfig;
use crate::ingest::{CameraSource, IngestConfig};
use crate::model::ListQuery;
use crate::model::{EngineOptions, Recording, RecordingId, StreamId};
use crate::record::fs::MediaFs;
use crate::record::{MediaLayout, MediaPlaylist, RecorderConfig, RetentionTask, SegmentWriter};
use crate::secrets::SecretBox;
use crate::store::{self, Store};
use crate::{Error, ErrorKind, Result};

/// Longest [`Vas::close`] waits for one recorder to finish its recording (streams close
/// side by side, so this bounds the whole close too).
pub const CLOSE_STEP_LIMIT: Duration = Duration::from_secs(10);

/// The VAS engine. Cheap to clone; all clones share one state.
///
/// Every call is `async` and can be awaited from any executor; [`Vas::blocking`] gives the
/// same calls for threads without one. [`Vas::close`] ends it.
#[derive(Debug, Clone)]
pub struct Vas {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    runtime: EngineRuntime,
    store: Arc<dyn Store>,
    media_dir: PathBuf,
    clock: SharedClock,
    source: Arc<dyn CameraSource>,
    ingest: IngestConfig,
    hub: HubConfig,
    events: EventBus,
    streams: streams::StreamRooms,
    layout: MediaLayout,
    fs: Arc<dyn MediaFs>,
    recorder: RecorderConfig,
    /// Appends every recorder's frames to their segment files, on one thread the engine
    /// starts, stops and joins.
    writer: SegmentWriter,
    retention: Mutex<Option<RetentionTask>>,
    viewers: viewers::Viewers,
    /// Bookmarks whose clips are being made, and their limits.
    bookmarks: bookmarks::BookmarkTasks,
    /// Snapshots: warm decoders, the cap on picture work.
    snapshots: crate::snapshot::Snapshots,
    /// Seals camera secrets on their way into the store and opens them on the way out.
    secrets: SecretBox,
    /// Set by the first `close()`; every later call is refused with `Closed`.
    closed: std::sync::atomic::AtomicBool,
    /// Completes when the first `close()` has finished (later callers wait for it).
    close_done: tokio::sync::OnceCell<()>,
}

/// The runtime the engine's tasks run on: the caller's, or one the engine owns.
#[derive(Debug)]
struct EngineRuntime {
    handle: tokio::runtime::Handle,
    /// Present when the engine created the runtime; taken when it is shut down.
    owned: Mutex<Option<tokio::runtime::Runtime>>,
}

impl EngineRuntime {
    fn shared(handle: tokio::runtime::Handle) -> Self {
        EngineRuntime {
            handle,
            owned: Mutex::new(None),
        }
    }

    fn owned() -> Result<Self> {
        let workers = std::thread::available_parallelism()
            .map_or(2, usize::from)
            .min(OWNED_RUNTIME_WORKERS);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("vas-rt")
            .enable_all()
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorKind::ResourceExhausted,
                    format!("cannot start the engine's runtime: {e}"),
                )
            })?;
        Ok(EngineRuntime {
            handle: rt.handle().clone(),
            owned: Mutex::new(Some(rt)),
        })
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }

    /// Stops an owned runtime, waiting up to `limit` for its threads when the caller may
    /// block (not inside an async context), without waiting otherwise.
    fn shut_down(&self, limit: Duration) {
        let rt = self.owned.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(rt) = rt {
            if tokio::runtime::Handle::try_current().is_ok() {
                rt.shutdown_background();
            } else {
                rt.shutdown_timeout(limit);
            }
        }
    }
}

impl Drop for EngineRuntime {
    fn drop(&mut self) {
        // Never blocks: the last handle may be dropped on one of the runtime's own threads.
        if let Some(rt) = self
            .owned
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            rt.shutdown_background();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if !self.closed.load(std::sync::atomic::Ordering::Acquire) {
            warn!(
                "the VAS engine was dropped without close(): stopping without waiting; recordings left open are finished by the next start's recovery"
            );
        }
        // The last handle is gone: stop every task without waiting.
        self.bookmarks.abort_all();
        self.streams.abort_all();
        self.writer.shutdown();
        self.events.close();
    }
}

#[vas_macros::calls(engine)]
impl Vas {
    /// Starts configuring an engine.
    pub fn builder() -> VasBuilder {
        VasBuilder::default()
    }

    /// Opens an engine with the shells' options: opens (and migrates) the database,
    /// prepares the media folder, recovers what a crash left, and resumes the streams that
    /// were running. [`Vas::builder`] offers more.
    ///
    /// Errors: `InvalidInput` (a malformed database URL or WebRTC address), `Unavailable`
    /// (the database cannot be reached), the disk's (the data folder cannot be made).
    #[call(rest = "none: the server opens its engine at start-up", twin = false)]
    pub async fn open(options: EngineOptions) -> Result<Vas> {
        VasBuilder::from_options(options)?.build().await
    }

    /// [`open`](Self::open) for callers without an async runtime: the engine owns its runtime
    /// and threads ([`VasBuilder::build_blocking`]).
    pub fn open_blocking(options: EngineOptions) -> Result<Vas> {
        VasBuilder::from_options(options)?.build_blocking()
    }

    /// The same engine, with calls that block the calling thread instead of being awaited
    /// (for threads without an async runtime: C, Python, plain `main`).
    pub fn blocking(&self) -> BlockingVas {
        BlockingVas::new(self.clone())
    }

    /// Runs `work` on the engine's runtime and waits for it from whatever executor the
    /// caller uses. The work finishes even if the caller stops waiting.
    async fn run<T, F>(&self, work: impl FnOnce(Vas) -> F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.check_open()?;
        let task = self.inner.runtime.handle().spawn(work(self.clone()));
        match task.await {
            Ok(r) => r,
            Err(e) if e.is_cancelled() => Err(closed()),
            Err(e) => Err(Error::internal(format!("an engine task failed: {e}"))),
        }
    }

    /// The media folder.
    pub fn media_dir(&self) -> &Path {
        &self.inner.media_dir
    }

    /// Which database backend the engine uses.
    pub fn backend(&self) -> store::Backend {
        self.inner.store.backend()
    }

    /// Checks that the engine and its database answer (`Unavailable` if not).
    #[call(rest = "GET /readyz")]
    pub async fn health(&self) -> Result<()> {
        self.run(|v| async move { v.inner.store.ping().await })
            .await
    }

    /// The folder holding one stream's media.
    pub fn stream_media_dir(&self, id: StreamId) -> PathBuf {
        self.inner.media_dir.join(id.to_string())
    }

    /// The engine's events (see [`crate::events`]) from now on: stream states, recorders,
    /// viewers joining and leaving. Bounded: a reader that falls more than
    /// [`crate::events::EVENT_BUFFER`] events behind is told how many it missed.
    #[call(rest = "none: events reach embedders; the server shows them as stream states")]
    pub fn events(&self) -> EventSubscription {
        self.inner.events.subscribe()
    }

    /// `Closed` once [`close`](Self::close) was called.
    fn check_open(&self) -> Result<()> {
        if self.inner.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(closed());
        }
        Ok(())
    }

    /// Closes the engine: recordings are finished with complete playlists, WebRTC viewers
    /// are disconnected, ingest stops and releases its camera connections, decoder threads
    /// are stopped and joined, decoded-frame and event subscriptions end with `Closed`.
    /// Every later call answers `Closed`. Calling it again, or from several tasks or threads
    /// at once, waits for the first close to finish.
    ///
    /// Streams close side by side; each recorder gets [`CLOSE_STEP_LIMIT`] to finish, and
    /// one that takes longer (a disk that hangs) is left behind with a warning: the next
    /// start's recovery closes its recording. Dropping the last handle without closing
    /// stops everything without waiting (logged); the next start's recovery then finishes
    /// any recording left open. An engine that owns its runtime stops it when it is dropped
    /// (or at once, by [`BlockingVas::close`]).
    #[call(
        rest = "none: the server closes its engine when it stops",
        twin = false
    )]
    pub async fn close(&self) {
        self.inner
            .closed
            .store(true, std::sync::atomic::Ordering::Release);
        if self.inner.close_done.initialized() {
            return;
        }
        let vas = self.clone();
        let done = self.inner.runtime.handle().spawn(async move {
            vas.inner.close_done.get_or_init(|| vas.close_once()).await;
        });
        if done.await.is_err() {
            warn!("the engine's runtime stopped while it was closing");
        }
    }

    async fn close_once(&self) {
        let retention = self
            .inner
            .retention
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(task) = retention {
            task.stop().await;
        }
        self.inner.viewers.shutdown().await;
        self.inner.snapshots.forget(None);
        // Bookmarks still being made stay pending; the next start finishes them.
        self.inner.bookmarks.abort_all();
        self.inner.streams.close_all(&closed()).await;
        // Every recorder has finished: the writer drains what is left and its thread ends.
        if !self.inner.writer.stop().await {
            warn!("the segment writer did not stop in time");
        }
        // Readers of the event stream get what is left, then `Closed`.
        self.inner.events.close();
        info!("VAS engine closed");
    }

    /// Recordings matching a query (stream, time range, limit), oldest first (by start) or
    /// newest first, as the query asks.
    #[call(rest = "GET /api/v1/recordings")]
    pub async fn recordings(&self, query: ListQuery) -> Result<Vec<Recording>> {
        self.run(|v| async move { v.inner.store.list_recordings(query).await })
            .await
    }

    /// One recording (`NotFound` if unknown).
    #[call(rest = "GET /api/v1/recordings/{id}")]
    pub async fn recording(&self, id: RecordingId) -> Result<Recording> {
        self.run(|v| async move { v.inner.store.get_recording(id).await })
            .await
    }

    /// Resolves a stored media location (or a path under the media folder) to a file,
    /// refusing anything that would escape the media folder.
    pub fn resolve_media(&self, location: &str) -> Result<PathBuf> {
        self.inner.layout.resolve(location)
    }

    /// A VOD playlist for a stream's time range, across recordings, with a discontinuity
    /// between recordings. Segment URIs are `uri_prefix` + their location under the media
    /// folder. `NotFound` when nothing was recorded in the range.
    #[call(rest = "GET /api/v1/streams/{id}/playback.m3u8")]
    pub async fn playback_playlist(
        &self,
        id: StreamId,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        uri_prefix: String,
    ) -> Result<MediaPlaylist> {
        self.run(move |v| async move {
            v.inner.store.get_stream(id).await?;
            crate::record::playback::playback_playlist(
                &*v.inner.store,
                &v.inner.layout,
                &v.inner.fs,
                id,
                from,
                to,
                &uri_prefix,
            )
            .await
        })
        .await
    }

    /// The recorded frames of a stream from the last keyframe at or before `from` through
    /// the frame showing at `to`, across segments and recordings (each recording its own
    /// epoch), within the default [`RangeLimits`](crate::record::range::RangeLimits); see
    /// [`crate::record::range`]. `NotFound` when nothing is recorded at `from`. The files
    /// are read on tokio's blocking pool.
    pub(crate) async fn recorded_frames(
        &self,
        stream: StreamId,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::record::range::RangeFrames> {
        self.run(move |v| async move {
            v.inner.store.get_stream(stream).await?;
            crate::record::range::frames_for_range(
                &*v.inner.store,
                &v.inner.layout,
                &v.inner.fs,
                stream,
                from,
                to,
                &crate::record::range::RangeLimits::default(),
            )
            .await
        })
        .await
    }
}

fn closed() -> Error {
    Error::new(ErrorKind::Closed, "the engine was closed")
}
