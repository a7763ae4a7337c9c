//! The [`Vas`] engine: the library's front door.
//!
//! Owns the lifecycle of cameras and streams: it validates what callers ask for, keeps the
//! store and the media folder consistent (rows are written after files and removed before
//! them), and knows the live state of every stream. Shells (server, C, Python) call only this;
//! they never reach the store directly.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;
use tracing::{info, warn};

use crate::camera_url::CameraUrl;
use crate::clock::{SharedClock, SystemClock};
use crate::events::{Event, EventBus, EventSubscription};
use crate::frames::{FrameOptions, FrameSubscription, FrameTap};
use crate::hub::{Hub, HubConfig, Subscription};
use crate::ingest::supervisor::{IngestContext, IngestTask, Timeline};
use crate::ingest::{CameraSource, CameraTarget, IngestConfig, RtspSource};
use crate::model::{
    DesiredState, Device, DeviceId, DevicePatch, NewDevice, Stream, StreamId, StreamProfile,
    resolve_credentials, validate_name,
};
use crate::model::{Recording, RecordingId};
use crate::record::fs::{MediaFs, OsFs, read_to_string_bounded};
use crate::record::{
    MediaLayout, MediaPlaylist, PlaylistSegment, Recorder, RecorderConfig, RecorderTask, Retention,
    RetentionPolicy, RetentionTask, recover,
};
use crate::secrets::{self, SecretBox, SecretKey};
use crate::sfu::{DisconnectReason, Sfu, SfuConfig, SfuEvent, ViewerId};
use crate::status::{StreamInfo, StreamStatus};
use crate::store::Range;
use crate::store::{self, Store};
use crate::{Error, ErrorKind, Result};

/// Time between retention passes.
pub const DEFAULT_RETENTION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
/// Longest [`Vas::close`] waits for one recorder to finish its recording.
pub const CLOSE_STEP_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);
/// Largest playlist file the engine reads back.
pub const MAX_PLAYLIST_READ: u64 = 4 * 1024 * 1024;

/// Default folder for the SQLite file and media when nothing else is configured.
pub const DEFAULT_DATA_DIR: &str = "./vas-data";
/// Name of the SQLite file inside the data folder.
pub const SQLITE_FILE_NAME: &str = "vas.db";
/// Name of the media folder inside the data folder.
pub const MEDIA_DIR_NAME: &str = "media";

/// Configures and starts a [`Vas`] engine.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let vas = vas::Vas::builder().data_dir(dir.path()).build().await.unwrap();
/// let cam = vas.add_device(vas::NewDevice::new("door", "rtsp://10.0.0.9/main")).await.unwrap();
/// assert_eq!(vas.streams().await.unwrap().len(), 1);
/// vas.remove_device(cam.id).await.unwrap();
/// # });
/// ```
#[derive(Debug, Default)]
pub struct VasBuilder {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    media_dir: Option<PathBuf>,
    clock: Option<SharedClock>,
    source: Option<Arc<dyn CameraSource>>,
    ingest: IngestConfig,
    hub: HubConfig,
    recorder: RecorderConfig,
    retention: RetentionPolicy,
    retention_interval: Option<std::time::Duration>,
    media_fs: Option<Arc<dyn MediaFs>>,
    webrtc: Option<SfuConfig>,
    secret_key: Option<SecretKey>,
}

impl VasBuilder {
    /// Folder holding the default SQLite file and media folder (default `./vas-data`).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// `sqlite://…` or `postgres://…` (default: `sqlite://<data_dir>/vas.db`).
    pub fn database_url(mut self, url: impl Into<String>) -> Self {
        self.database_url = Some(url.into());
        self
    }

    /// Where recordings, snapshots and clips go (default `<data_dir>/media`).
    pub fn media_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.media_dir = Some(dir.into());
        self
    }

    /// The clock used to stamp rows (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// How cameras are reached (default: RTSP through retina). Tests inject their own.
    pub fn camera_source(mut self, source: Arc<dyn CameraSource>) -> Self {
        self.source = Some(source);
        self
    }

    /// Ingest policy: timeouts, backoff, RTP transport.
    pub fn ingest_config(mut self, config: IngestConfig) -> Self {
        self.ingest = config;
        self
    }

    /// Bounds of every stream's hub.
    pub fn hub_config(mut self, config: HubConfig) -> Self {
        self.hub = config;
        self
    }

    /// Recording policy: segment duration, recording length, fsync.
    pub fn recorder_config(mut self, config: RecorderConfig) -> Self {
        self.recorder = config;
        self
    }

    /// What recordings to keep (default: everything) and how often to check
    /// (default `DEFAULT_RETENTION_INTERVAL`, 60 s).
    pub fn retention(mut self, policy: RetentionPolicy, interval: std::time::Duration) -> Self {
        self.retention = policy;
        self.retention_interval = Some(interval);
        self
    }

    /// Enables WebRTC live view: one UDP port (and ICE-TCP) for all viewers. Without it,
    /// [`Vas::webrtc_offer`] answers `Unsupported`.
    pub fn webrtc(mut self, config: SfuConfig) -> Self {
        self.webrtc = Some(config);
        self
    }

    /// The key camera secrets are sealed with in the database (default: the key file
    /// [`secrets::KEY_FILE_NAME`] in the data folder, created on first start). Every engine
    /// sharing a database needs the same key.
    pub fn secret_key(mut self, key: SecretKey) -> Self {
        self.secret_key = Some(key);
        self
    }

    /// The filesystem media goes through (default: the real one). Tests inject faults here.
    pub fn media_fs(mut self, fs: Arc<dyn MediaFs>) -> Self {
        self.media_fs = Some(fs);
        self
    }

    /// Opens the store (migrating it) and the media folder, starts ingest for every stream
    /// that was running, and returns the engine.
    ///
    /// Errors: `InvalidInput` for a bad database URL, `Unavailable` when the database cannot
    /// be reached, `PermissionDenied` when the media folder cannot be written.
    pub async fn build(self) -> Result<Vas> {
        let data_dir = self
            .data_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = self
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join(SQLITE_FILE_NAME).display()));
        let media_dir = self
            .media_dir
            .unwrap_or_else(|| data_dir.join(MEDIA_DIR_NAME));
        prepare_media_dir(&media_dir)?;
        let key = match self.secret_key {
            Some(k) => k,
            None => {
                std::fs::create_dir_all(&data_dir).map_err(|e| {
                    Error::from(e).context(format_args!(
                        "cannot create data folder {}",
                        data_dir.display()
                    ))
                })?;
                SecretKey::load_or_create(&data_dir.join(secrets::KEY_FILE_NAME))?
            }
        };
        let sealer = SecretBox::new(&key)?;
        let store = store::open(&database_url).await?;
        // Seal what an earlier version stored in plain text.
        let mut resealed = 0;
        for d in store.list_devices().await? {
            if secrets::has_plain_secrets(&d) {
                let d = secrets::open_device(&sealer, d)?;
                store
                    .update_device(&secrets::seal_device(&sealer, &d)?, &[], &[])
                    .await?;
                resealed += 1;
            }
        }
        if resealed > 0 {
            info!(
                devices = resealed,
                "sealed camera secrets stored in plain text"
            );
        }
        let fs: Arc<dyn MediaFs> = self.media_fs.unwrap_or_else(|| Arc::new(OsFs));
        let layout = MediaLayout::new(&media_dir);
        // Close what a crash left open before anything records again.
        self.recorder.validate()?;
        let report = recover(&*store, &layout, &fs).await?;
        if report != Default::default() {
            warn!(?report, "recovered recordings left open by an unclean stop");
        }
        info!(
            database = %store::mask_database_url(&database_url),
            media = %media_dir.display(),
            "VAS engine started"
        );
        let events = EventBus::default();
        let sfu = match self.webrtc {
            Some(config) => Some(Arc::new(Sfu::start(config).await.map_err(|e| {
                let kind = e.kind();
                Error::new(kind, format!("cannot start WebRTC: {}", e.message()))
            })?)),
            None => None,
        };
        let vas = Vas {
            inner: Arc::new(Inner {
                store,
                media_dir,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                source: self
                    .source
                    .unwrap_or_else(|| Arc::new(RtspSource::default())),
                ingest: self.ingest,
                hub: self.hub,
                events,
                runtimes: tokio::sync::Mutex::new(HashMap::new()),
                layout,
                fs,
                recorder: self.recorder,
                retention: Mutex::new(None),
                sfu: sfu.clone(),
                viewers: Mutex::new(HashMap::new()),
                secrets: sealer,
                closed: std::sync::atomic::AtomicBool::new(false),
                close_done: tokio::sync::OnceCell::new(),
            }),
        };
        if let Some(sfu) = sfu {
            // Announce viewers joining and leaving, and forget those the SFU let go of
            // (reaped, failed, closed).
            let mut events = sfu.events();
            let weak = Arc::downgrade(&vas.inner);
            tokio::spawn(async move {
                loop {
                    let event = match events.recv().await {
                        Ok(e) => e,
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            warn!(events = n, "viewer events lost (the engine fell behind)");
                            continue;
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    };
                    let Some(inner) = weak.upgrade() else { return };
                    inner.viewer_event(event);
                }
            });
        }
        if !self.retention.keeps_everything() {
            let task = Retention {
                store: vas.inner.store.clone(),
                layout: vas.inner.layout.clone(),
                fs: vas.inner.fs.clone(),
                clock: vas.inner.clock.clone(),
                policy: self.retention,
                interval: self
                    .retention_interval
                    .unwrap_or(DEFAULT_RETENTION_INTERVAL),
            }
            .spawn();
            *vas.inner
                .retention
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(task);
        }
        // Streams that were running before a restart run again.
        for s in vas.inner.store.list_streams(None).await? {
            if s.desired == DesiredState::Running {
                vas.reconcile(s.id).await?;
            }
        }
        Ok(vas)
    }
}

fn prepare_media_dir(dir: &Path) -> Result<()> {
    let fail = |e: std::io::Error| {
        let kind = match e.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                ErrorKind::PermissionDenied
            }
            _ => Error::from(e).kind(),
        };
        Error::new(
            kind,
            format!("media folder {} is not writable", dir.display()),
        )
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".vas-write-probe");
    std::fs::write(&probe, b"ok").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(())
}

/// The VAS engine. Cheap to clone; all clones share one state.
#[derive(Debug, Clone)]
pub struct Vas {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    media_dir: PathBuf,
    clock: SharedClock,
    source: Arc<dyn CameraSource>,
    ingest: IngestConfig,
    hub: HubConfig,
    events: EventBus,
    runtimes: tokio::sync::Mutex<HashMap<StreamId, Runtime>>,
    layout: MediaLayout,
    fs: Arc<dyn MediaFs>,
    recorder: RecorderConfig,
    retention: Mutex<Option<RetentionTask>>,
    sfu: Option<Arc<Sfu>>,
    /// Live WebRTC viewers and the stream each watches.
    viewers: Mutex<HashMap<ViewerId, StreamId>>,
    /// Seals camera secrets on their way into the store and opens them on the way out.
    secrets: SecretBox,
    /// Set by the first `close()`; every later call is refused with `Closed`.
    closed: std::sync::atomic::AtomicBool,
    /// Completes when the first `close()` has finished (later callers wait for it).
    close_done: tokio::sync::OnceCell<()>,
}

impl Inner {
    /// Turns what the SFU reports into engine events, and forgets viewers that ended.
    fn viewer_event(&self, event: SfuEvent) {
        let stream_of = |key: &str| key.parse::<StreamId>().ok();
        let now = self.clock.now_utc();
        let (stream, viewer, left) = match event {
            SfuEvent::ViewerConnected { stream_key, viewer } => {
                (stream_of(&stream_key), viewer, None)
            }
            SfuEvent::ViewerDisconnected {
                stream_key,
                viewer,
                reason,
            } => {
                let reason = match reason {
                    DisconnectReason::Removed => "closed".to_owned(),
                    DisconnectReason::Gone => "gone: the browser left or stopped answering".into(),
                    DisconnectReason::Failed(m) => format!("failed: {m}"),
                    DisconnectReason::Shutdown => "the engine shut down".into(),
                };
                (stream_of(&stream_key), viewer, Some(reason))
            }
            SfuEvent::ViewerFailed {
                stream_key,
                viewer,
                message,
            } => (
                stream_of(&stream_key),
                viewer,
                Some(format!("failed: {message}")),
            ),
            _ => return,
        };
        if left.is_some() {
            self.viewers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&viewer);
        }
        let Some(stream) = stream else { return };
        self.events.publish(match left {
            None => Event::ViewerJoined {
                stream,
                viewer,
                at: now,
            },
            Some(reason) => Event::ViewerLeft {
                stream,
                viewer,
                reason,
                at: now,
            },
        });
    }
}

/// What the engine keeps for a stream while it exists: its hub (which outlives
/// connections), live status, timeline, and the ingest task when running.
#[derive(Debug)]
struct Runtime {
    hub: Hub,
    status: Arc<Mutex<StreamStatus>>,
    timeline: Arc<Mutex<Timeline>>,
    task: Option<(IngestTask, CameraTarget)>,
    recorder: Option<RecorderTask>,
    /// The stream's decoder, running only while someone subscribes to decoded frames.
    frames: FrameTap,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if !self.closed.load(std::sync::atomic::Ordering::Acquire) {
            warn!(
                "the VAS engine was dropped without close(): stopping without waiting; recordings left open are finished by the next start's recovery"
            );
        }
        // The last handle is gone: stop every ingest task without waiting.
        for rt in self.runtimes.get_mut().values_mut() {
            if let Some(rec) = rt.recorder.take() {
                rec.abort();
            }
            if let Some((task, _)) = rt.task.take() {
                task.abort();
            }
            rt.hub.close();
        }
        self.events.close();
    }
}

impl Vas {
    /// Starts configuring an engine.
    pub fn builder() -> VasBuilder {
        VasBuilder::default()
    }

    /// The media folder.
    pub fn media_dir(&self) -> &Path {
        &self.inner.media_dir
    }

    /// Which database backend the engine uses.
    pub fn backend(&self) -> store::Backend {
        self.inner.store.backend()
    }

    /// Checks the database answers (`Unavailable` if not).
    pub async fn health(&self) -> Result<()> {
        self.check_open()?;
        self.inner.store.ping().await
    }

    /// Adds a camera with its main stream (and sub stream, if a sub URL is given). Streams
    /// start out stopped and not recording.
    ///
    /// Errors: `InvalidInput` for a bad name or URL, `AlreadyExists` for a duplicate name or
    /// URL, `Unavailable` when the database is down.
    pub async fn add_device(&self, new: NewDevice) -> Result<Device> {
        self.check_open()?;
        let name = validate_name(&new.name)?;
        let (rtsp_url, url_creds) = CameraUrl::parse(&new.rtsp_url)?;
        let (sub_rtsp_url, sub_creds) = match new.sub_rtsp_url.as_deref() {
            Some(s) => {
                let (u, c) = CameraUrl::parse(s)?;
                (Some(u), c)
            }
            None => (None, None),
        };
        let credentials =
            resolve_credentials(url_creds, new.username.as_deref(), new.password.as_deref())?;
        check_sub_credentials(sub_creds.as_ref(), credentials.as_ref())?;
        let now = self.inner.clock.now_utc();
        let device = Device {
            id: DeviceId::new(),
            name,
            rtsp_url,
            sub_rtsp_url,
            credentials,
            rtsp_transport: new.rtsp_transport.unwrap_or(self.inner.ingest.transport),
            enabled: new.enabled,
            created_at: now,
            updated_at: now,
        };
        let mut streams = vec![self.new_stream(device.id, StreamProfile::Main)];
        if device.sub_rtsp_url.is_some() {
            streams.push(self.new_stream(device.id, StreamProfile::Sub));
        }
        self.inner
            .store
            .insert_device(
                &secrets::seal_device(&self.inner.secrets, &device)?,
                &streams,
            )
            .await?;
        info!(device = %device.id, name = %device.name, url = %device.rtsp_url_masked(), "camera added");
        Ok(device)
    }

    fn new_stream(&self, device_id: DeviceId, profile: StreamProfile) -> Stream {
        Stream {
            id: StreamId::new(),
            device_id,
            profile,
            desired: DesiredState::Stopped,
            record: false,
            created_at: self.inner.clock.now_utc(),
        }
    }

    /// All cameras.
    pub async fn devices(&self) -> Result<Vec<Device>> {
        self.check_open()?;
        self.inner
            .store
            .list_devices()
            .await?
            .into_iter()
            .map(|d| secrets::open_device(&self.inner.secrets, d))
            .collect()
    }

    /// One camera (`NotFound` if unknown).
    pub async fn device(&self, id: DeviceId) -> Result<Device> {
        self.check_open()?;
        let d = self.inner.store.get_device(id).await?;
        secrets::open_device(&self.inner.secrets, d)
    }

    /// Changes a camera. Setting `sub_rtsp_url` adds a sub stream; setting it to `null`
    /// removes it (and what was indexed for it). A new URL with credentials in it replaces the
    /// stored credentials; `username` and `password` both `""` clear them.
    pub async fn update_device(&self, id: DeviceId, patch: DevicePatch) -> Result<Device> {
        self.check_open()?;
        let mut device = self.device(id).await?;
        let mut url_creds = None;
        if let Some(name) = &patch.name {
            device.name = validate_name(name)?;
        }
        if let Some(url) = &patch.rtsp_url {
            let (u, c) = CameraUrl::parse(url)?;
            device.rtsp_url = u;
            url_creds = c;
        }
        let clear = patch.username.as_deref() == Some("") && patch.password.as_deref() == Some("");
        if clear {
            if url_creds.is_some() {
                return Err(Error::invalid_input(
                    "cannot clear credentials and set them in the URL at once",
                ));
            }
            device.credentials = None;
        } else if let Some(c) = resolve_credentials(
            url_creds,
            patch.username.as_deref(),
            patch.password.as_deref(),
        )? {
            device.credentials = Some(c);
        }
        let streams = self.inner.store.list_streams(Some(id)).await?;
        let existing_sub = streams.iter().find(|s| s.profile == StreamProfile::Sub);
        let mut add = Vec::new();
        let mut remove = Vec::new();
        match &patch.sub_rtsp_url {
            None => {}
            Some(None) => {
                device.sub_rtsp_url = None;
                remove.extend(existing_sub.map(|s| s.id));
            }
            Some(Some(url)) => {
                let (u, c) = CameraUrl::parse(url)?;
                check_sub_credentials(c.as_ref(), device.credentials.as_ref())?;
                device.sub_rtsp_url = Some(u);
                if existing_sub.is_none() {
                    add.push(self.new_stream(id, StreamProfile::Sub));
                }
            }
        }
        if let Some(enabled) = patch.enabled {
            device.enabled = enabled;
        }
        if let Some(transport) = patch.rtsp_transport {
            device.rtsp_transport = transport;
        }
        device.updated_at = self.inner.clock.now_utc();
        self.inner
            .store
            .update_device(
                &secrets::seal_device(&self.inner.secrets, &device)?,
                &add,
                &remove,
            )
            .await?;
        for sid in &remove {
            self.drop_runtime(*sid).await;
            self.remove_stream_media(*sid).await;
        }
        // A new address, new credentials or a disabled camera change what ingest does.
        for s in self.inner.store.list_streams(Some(id)).await? {
            self.reconcile(s.id).await?;
        }
        info!(device = %device.id, name = %device.name, url = %device.rtsp_url_masked(), "camera updated");
        Ok(device)
    }

    /// Removes a camera, its streams and everything indexed for them (rows first, then
    /// files, so no row ever points at a missing file).
    pub async fn remove_device(&self, id: DeviceId) -> Result<()> {
        self.check_open()?;
        let streams = self.inner.store.list_streams(Some(id)).await?;
        self.inner.store.delete_device(id).await?;
        for s in &streams {
            self.drop_runtime(s.id).await;
            self.remove_stream_media(s.id).await;
        }
        info!(device = %id, "camera removed");
        Ok(())
    }

    async fn remove_stream_media(&self, id: StreamId) {
        let dir = self.stream_media_dir(id);
        match tokio::fs::remove_dir_all(&dir).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => warn!(stream = %id, error = %e, "could not remove media of a deleted stream"),
        }
    }

    /// The folder holding one stream's media.
    pub fn stream_media_dir(&self, id: StreamId) -> PathBuf {
        self.inner.media_dir.join(id.to_string())
    }

    /// All streams with their live status.
    pub async fn streams(&self) -> Result<Vec<StreamInfo>> {
        self.check_open()?;
        let streams = self.inner.store.list_streams(None).await?;
        let runtimes = self.inner.runtimes.lock().await;
        Ok(streams
            .into_iter()
            .map(|s| {
                let mut info = info_from(&runtimes, s);
                info.viewers = self.viewer_count(info.stream.id);
                info
            })
            .collect())
    }

    /// One stream with its live status (`NotFound` if unknown).
    pub async fn stream(&self, id: StreamId) -> Result<StreamInfo> {
        self.check_open()?;
        let s = self.inner.store.get_stream(id).await?;
        Ok(self.info(s).await)
    }

    /// Subscribes to a stream's frames: starts at the cached GOP (or the next keyframe) and
    /// stays subscribed across camera reconnects. Works for stopped streams too (frames
    /// arrive once it runs).
    pub async fn subscribe(&self, id: StreamId) -> Result<Subscription> {
        self.check_open()?;
        self.inner.store.get_stream(id).await?;
        let mut runtimes = self.inner.runtimes.lock().await;
        Ok(self.runtime(&mut runtimes, id).hub.subscribe())
    }

    /// Subscribes to a stream's decoded frames (see [`crate::frames`]): the first frame comes
    /// from the cached keyframe at once, later ones as the camera sends them, across camera
    /// reconnects. Works for stopped streams too (frames arrive once it runs). The stream is
    /// decoded only while at least one such subscription exists.
    ///
    /// Errors: `NotFound` (unknown stream), `InvalidInput` (options out of range, see
    /// [`FrameOptions::validate`]), `ResourceExhausted` (no thread for the decoder).
    pub async fn frames(&self, id: StreamId, options: FrameOptions) -> Result<FrameSubscription> {
        self.check_open()?;
        options.validate()?;
        self.inner.store.get_stream(id).await?;
        let mut runtimes = self.inner.runtimes.lock().await;
        let rt = self.runtime(&mut runtimes, id);
        rt.frames.subscribe(id, &rt.hub, options)
    }

    /// Whether a stream is being decoded right now (someone holds a decoded-frame
    /// subscription).
    #[doc(hidden)]
    pub async fn is_decoding(&self, id: StreamId) -> bool {
        let runtimes = self.inner.runtimes.lock().await;
        runtimes.get(&id).is_some_and(|rt| rt.frames.is_decoding())
    }

    /// The stream's hub (`NotFound` if the stream does not exist).
    pub async fn hub(&self, id: StreamId) -> Result<Hub> {
        self.check_open()?;
        self.inner.store.get_stream(id).await?;
        let mut runtimes = self.inner.runtimes.lock().await;
        Ok(self.runtime(&mut runtimes, id).hub.clone())
    }

    /// The engine's events (see [`crate::events`]) from now on: stream states, recorders,
    /// viewers joining and leaving. Bounded: a reader that falls more than
    /// [`crate::events::EVENT_BUFFER`] events behind is told how many it missed.
    pub fn events(&self) -> EventSubscription {
        self.inner.events.subscribe()
    }

    /// `Closed` once [`close`](Self::close) was called.
    fn check_open(&self) -> Result<()> {
        if self.inner.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(Error::new(ErrorKind::Closed, "the engine was closed"));
        }
        Ok(())
    }

    /// Closes the engine: recordings are finished with complete playlists, WebRTC viewers
    /// are disconnected, ingest stops and releases its camera connections, decoded-frame and
    /// event subscriptions end with `Closed`. Every later call answers `Closed`. Calling it
    /// again, or from several tasks at once, waits for the first close to finish.
    ///
    /// Each recorder gets [`CLOSE_STEP_LIMIT`] to finish; one that takes longer (a disk that
    /// hangs) is left behind with a warning, and the next start's recovery closes its
    /// recording. Dropping the last handle without closing stops everything without waiting
    /// (logged); the next start's recovery then finishes any recording left open.
    pub async fn close(&self) {
        self.inner
            .closed
            .store(true, std::sync::atomic::Ordering::Release);
        self.inner
            .close_done
            .get_or_init(|| self.close_once())
            .await;
    }

    /// The previous name of [`close`](Self::close).
    pub async fn shutdown(&self) {
        self.close().await;
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
        if let Some(sfu) = &self.inner.sfu {
            sfu.shutdown().await;
        }
        let mut runtimes = self.inner.runtimes.lock().await;
        for (id, rt) in runtimes.iter_mut() {
            // Recorders first, so playlists end cleanly with everything ingest delivered.
            if let Some(rec) = rt.recorder.take()
                && tokio::time::timeout(CLOSE_STEP_LIMIT, rec.stop())
                    .await
                    .is_err()
            {
                warn!(stream = %id, "a recorder did not finish in time; recovery closes its recording at the next start");
            }
            if let Some((task, _)) = rt.task.take() {
                task.stop().await;
            }
            rt.frames
                .close(&Error::new(ErrorKind::Closed, "the engine was closed"));
            rt.hub.close();
        }
        drop(runtimes);
        // Readers of the event stream get what is left, then `Closed`.
        self.inner.events.close();
        info!("VAS engine closed");
    }

    fn runtime<'a>(
        &self,
        runtimes: &'a mut HashMap<StreamId, Runtime>,
        id: StreamId,
    ) -> &'a mut Runtime {
        runtimes.entry(id).or_insert_with(|| Runtime {
            hub: Hub::new(self.inner.hub),
            status: Arc::new(Mutex::new(StreamStatus::default())),
            timeline: Arc::new(Mutex::new(Timeline::default())),
            task: None,
            recorder: None,
            frames: FrameTap::default(),
        })
    }

    /// Stops a stream's ingest and forgets it (its hub closes; subscribers see the end, and
    /// its WebRTC viewers are disconnected).
    async fn drop_runtime(&self, id: StreamId) {
        let watching: Vec<ViewerId> = {
            let mut viewers = self.inner.viewers.lock().unwrap_or_else(|p| p.into_inner());
            let ids: Vec<ViewerId> = viewers
                .iter()
                .filter(|(_, s)| **s == id)
                .map(|(v, _)| *v)
                .collect();
            for v in &ids {
                viewers.remove(v);
            }
            ids
        };
        if let Some(sfu) = &self.inner.sfu {
            for v in watching {
                sfu.remove_viewer(v).await;
            }
        }
        let rt = self.inner.runtimes.lock().await.remove(&id);
        if let Some(mut rt) = rt {
            if let Some(rec) = rt.recorder.take() {
                rec.stop().await;
            }
            if let Some((task, _)) = rt.task.take() {
                task.stop().await;
            }
            rt.hub.close();
        }
    }

    /// Makes a stream's ingest match what is stored: running (with the current camera
    /// address) when wanted and its camera is enabled, stopped otherwise.
    async fn reconcile(&self, id: StreamId) -> Result<()> {
        let stream = self.inner.store.get_stream(id).await?;
        let device = self.device(stream.device_id).await?;
        let target = device.url_for(stream.profile).map(|url| CameraTarget {
            url: url.clone(),
            credentials: device.credentials.clone(),
            transport: device.rtsp_transport,
        });
        let want = match target {
            Some(t) if stream.desired == DesiredState::Running && device.enabled => Some(t),
            _ => None,
        };
        let record = want.is_some() && stream.record;
        let mut runtimes = self.inner.runtimes.lock().await;
        let rt = self.runtime(&mut runtimes, id);
        if !record && let Some(rec) = rt.recorder.take() {
            rec.stop().await;
            info!(stream = %id, "recording stopped");
        }
        let current = rt.task.as_ref().map(|(_, t)| t);
        if current != want.as_ref() {
            if let Some((task, _)) = rt.task.take() {
                task.stop().await;
            }
            if let Some(target) = want {
                // Say "connecting" from the moment start returns, not when the task first runs.
                *rt.status.lock().unwrap_or_else(|p| p.into_inner()) = StreamStatus {
                    state: crate::status::StreamState::Connecting,
                    ..StreamStatus::default()
                };
                self.inner.events.publish(Event::StreamState {
                    stream: id,
                    state: crate::status::StreamState::Connecting,
                    error: None,
                    at: self.inner.clock.now_utc(),
                });
                let ctx = IngestContext {
                    stream: id,
                    target: target.clone(),
                    source: self.inner.source.clone(),
                    hub: rt.hub.clone(),
                    status: rt.status.clone(),
                    timeline: rt.timeline.clone(),
                    events: self.inner.events.clone(),
                    clock: self.inner.clock.clone(),
                    config: self.inner.ingest,
                };
                rt.task = Some((IngestTask::spawn(ctx), target));
                info!(stream = %id, url = %device.rtsp_url_masked(), "ingest started");
            }
        }
        if record && rt.recorder.is_none() {
            let task = Recorder {
                stream: id,
                hub: rt.hub.clone(),
                store: self.inner.store.clone(),
                fs: self.inner.fs.clone(),
                layout: self.inner.layout.clone(),
                clock: self.inner.clock.clone(),
                config: self.inner.recorder.clone(),
            }
            .spawn_announcing(self.inner.events.clone())?;
            rt.recorder = Some(task);
            info!(stream = %id, "recording started");
        }
        Ok(())
    }

    /// Asks for a stream to run; stored, so it runs again after a restart.
    ///
    /// Errors: `NotFound`, or `FailedPrecondition` when its camera is disabled.
    pub async fn start_stream(&self, id: StreamId) -> Result<StreamInfo> {
        self.check_open()?;
        let s = self.inner.store.get_stream(id).await?;
        let device = self.device(s.device_id).await?;
        if !device.enabled {
            return Err(Error::new(
                ErrorKind::FailedPrecondition,
                "the stream's camera is disabled; enable it first",
            ));
        }
        let s = self
            .inner
            .store
            .set_stream_desired(id, DesiredState::Running)
            .await?;
        info!(stream = %id, "stream start requested");
        self.reconcile(id).await?;
        Ok(self.info(s).await)
    }

    /// Starts a WebRTC viewer of a stream from the browser's SDP offer; returns the viewer's
    /// id and the SDP answer (ICE-lite, host candidates included, no trickle needed).
    ///
    /// Errors: `NotFound` (unknown stream), `FailedPrecondition` (stream stopped or its
    /// camera disabled), `InvalidInput`/`TooLarge` (bad offer), `Unsupported` (no usable
    /// codec, H.265, or WebRTC not enabled), `ResourceExhausted` (viewer limit).
    pub async fn webrtc_offer(&self, id: StreamId, offer_sdp: &str) -> Result<(ViewerId, String)> {
        self.check_open()?;
        let sfu = self.inner.sfu.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                "WebRTC live view is not enabled on this engine",
            )
        })?;
        let stream = self.inner.store.get_stream(id).await?;
        let device = self.device(stream.device_id).await?;
        if stream.desired != DesiredState::Running || !device.enabled {
            return Err(Error::new(
                ErrorKind::FailedPrecondition,
                "the stream is stopped; start it before watching",
            ));
        }
        let hub = self.hub(id).await?;
        let (viewer, answer) = sfu.add_viewer(&id.to_string(), &hub, offer_sdp).await?;
        self.inner
            .viewers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(viewer, id);
        info!(stream = %id, viewer = viewer.0, "WebRTC viewer added");
        Ok((viewer, answer))
    }

    /// Ends a WebRTC viewer; false if it was already gone.
    pub async fn webrtc_close(&self, viewer: ViewerId) -> bool {
        self.inner
            .viewers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&viewer);
        match &self.inner.sfu {
            Some(sfu) => sfu.remove_viewer(viewer).await,
            None => false,
        }
    }

    /// Whether a WebRTC viewer is still known (not closed, reaped or failed).
    pub fn has_viewer(&self, viewer: ViewerId) -> bool {
        self.inner
            .viewers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&viewer)
    }

    /// WebRTC viewers of a stream (connecting or live).
    pub fn viewer_count(&self, id: StreamId) -> usize {
        self.inner
            .sfu
            .as_ref()
            .map_or(0, |sfu| sfu.viewer_count(&id.to_string()))
    }

    /// The WebRTC service, when enabled (its address, candidates, counters).
    pub fn sfu(&self) -> Option<&Sfu> {
        self.inner.sfu.as_deref()
    }

    /// Switches recording of a stream on or off; stored, so it survives restarts. A stream
    /// records while it runs.
    pub async fn set_recording(&self, id: StreamId, record: bool) -> Result<StreamInfo> {
        self.check_open()?;
        let s = self.inner.store.set_stream_record(id, record).await?;
        info!(stream = %id, record, "stream recording setting changed");
        self.reconcile(id).await?;
        Ok(self.info(s).await)
    }

    /// Recordings overlapping a range, oldest first.
    pub async fn recordings(&self, range: Range) -> Result<Vec<Recording>> {
        self.check_open()?;
        self.inner.store.list_recordings(range).await
    }

    /// One recording.
    pub async fn recording(&self, id: RecordingId) -> Result<Recording> {
        self.check_open()?;
        self.inner.store.get_recording(id).await
    }

    /// Resolves a stored media location (or a path under the media folder) to a file,
    /// refusing anything that would escape the media folder.
    pub fn resolve_media(&self, location: &str) -> Result<PathBuf> {
        self.inner.layout.resolve(location)
    }

    /// A VOD playlist for a stream's time range, across recordings, with a discontinuity
    /// between recordings. Segment URIs are `uri_prefix` + their location under the media
    /// folder. `NotFound` when nothing was recorded in the range.
    pub async fn playback_playlist(
        &self,
        stream: StreamId,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        uri_prefix: &str,
    ) -> Result<MediaPlaylist> {
        self.check_open()?;
        self.inner.store.get_stream(stream).await?;
        let range = Range {
            limit: store::MAX_LIST_LIMIT,
            ..Range::stream(stream).between(from, to)
        };
        let recordings = self.inner.store.list_recordings(range).await?;
        let mut groups = Vec::new();
        for rec in recordings {
            let path = self.inner.layout.resolve(&rec.location)?;
            let fs = self.inner.fs.clone();
            let text = tokio::task::spawn_blocking(move || {
                read_to_string_bounded(&*fs, &path, MAX_PLAYLIST_READ)
            })
            .await
            .map_err(|_| Error::internal("playlist reader failed"))?;
            let Ok(text) = text else {
                // Deleted by retention meanwhile: skip it.
                continue;
            };
            let playlist = MediaPlaylist::parse(&text)?;
            let dir = rec
                .location
                .rsplit_once('/')
                .map_or("", |(d, _)| d)
                .to_owned();
            let mut at = rec.start;
            let mut segments: Vec<PlaylistSegment> = Vec::new();
            for mut seg in playlist.segments {
                let start = seg.program_date_time.unwrap_or(at);
                let end = start + chrono::Duration::microseconds((seg.duration_secs * 1e6) as i64);
                at = end;
                if end <= from || start >= to {
                    continue;
                }
                seg.uri = format!("{uri_prefix}{dir}/{}", seg.uri);
                seg.program_date_time = Some(start);
                segments.push(seg);
            }
            if !segments.is_empty() {
                groups.push(segments);
            }
        }
        if groups.is_empty() {
            return Err(Error::not_found(
                "nothing of this stream was recorded in that time range",
            ));
        }
        Ok(MediaPlaylist::vod_from_recordings(groups))
    }

    /// Asks for a stream to stop; stored.
    pub async fn stop_stream(&self, id: StreamId) -> Result<StreamInfo> {
        self.check_open()?;
        let s = self
            .inner
            .store
            .set_stream_desired(id, DesiredState::Stopped)
            .await?;
        info!(stream = %id, "stream stop requested");
        self.reconcile(id).await?;
        Ok(self.info(s).await)
    }

    async fn info(&self, stream: Stream) -> StreamInfo {
        let runtimes = self.inner.runtimes.lock().await;
        let mut info = info_from(&runtimes, stream);
        info.viewers = self.viewer_count(info.stream.id);
        info
    }
}

fn info_from(runtimes: &HashMap<StreamId, Runtime>, stream: Stream) -> StreamInfo {
    let rt = runtimes.get(&stream.id);
    let status = rt
        .map(|rt| rt.status.lock().unwrap_or_else(|p| p.into_inner()).clone())
        .unwrap_or_default();
    let recording = rt.and_then(|rt| rt.recorder.as_ref().map(RecorderTask::status));
    StreamInfo {
        stream,
        status,
        recording,
        viewers: 0,
    }
}

fn check_sub_credentials(
    sub: Option<&crate::camera_url::Credentials>,
    main: Option<&crate::camera_url::Credentials>,
) -> Result<()> {
    match sub {
        Some(c) if Some(c) != main => Err(Error::invalid_input(
            "the sub-stream URL's credentials differ from the camera's; a camera has one set",
        )),
        _ => Ok(()),
    }
}
