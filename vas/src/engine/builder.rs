//! Configuring and starting an engine: [`VasBuilder`].
//!
//! Owns the defaults (data folder, SQLite file, media folder), the choice of runtime (the
//! caller's, given or current, or one the engine creates and owns), opening and migrating the
//! store, sealing secrets an older version stored in plain text, recovery of recordings a
//! crash left open, and starting what was running before a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing::{info, warn};

use super::streams::StreamRooms;
use super::viewers::Viewers;
use super::{EngineRuntime, Inner, Vas};
use crate::bookmark::BookmarkConfig;
use crate::clock::{SharedClock, SystemClock};
use crate::events::EventBus;
use crate::hub::HubConfig;
use crate::ingest::{CameraSource, IngestConfig, RtspSource};
use crate::model::{DesiredState, EngineOptions};
use crate::record::fs::{MediaFs, OsFs};
use crate::record::{MediaLayout, RecorderConfig, Retention, RetentionPolicy, recover};
use crate::secrets::{self, SecretBox, SecretKey};
use crate::sfu::{Sfu, SfuConfig};
use crate::snapshot::{SnapshotConfig, Snapshots};
use crate::store;
use crate::{Error, ErrorKind, Result};

/// Time between retention passes.
pub const DEFAULT_RETENTION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Default folder for the SQLite file and media when nothing else is configured.
pub const DEFAULT_DATA_DIR: &str = "./vas-data";
/// Name of the SQLite file inside the data folder.
pub const SQLITE_FILE_NAME: &str = "vas.db";
/// Name of the media folder inside the data folder.
pub const MEDIA_DIR_NAME: &str = "media";

/// Worker threads of a runtime the engine creates for itself (at most; fewer on smaller
/// machines).
pub const OWNED_RUNTIME_WORKERS: usize = 4;

/// Configures and starts a [`Vas`] engine.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let vas = vas::Vas::builder().data_dir(dir.path()).build().await.unwrap();
/// let cam = vas.add_device(vas::NewDevice::new("door", "rtsp://10.0.0.9/main")).await.unwrap();
/// assert_eq!(vas.streams(None, vas::Order::Oldest).await.unwrap().len(), 1);
/// vas.remove_device(cam.id).await.unwrap();
/// vas.close().await;
/// # });
/// ```
///
/// From a program without an async runtime, [`build_blocking`](Self::build_blocking) starts
/// one the engine owns:
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let vas = vas::Vas::builder().data_dir(dir.path()).build_blocking()?;
/// let cam = vas.blocking().add_device(vas::NewDevice::new("door", "rtsp://10.0.0.9/main"))?;
/// assert!(!cam.has_credentials);
/// vas.blocking().close();
/// # Ok::<(), vas::Error>(())
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
    runtime: Option<tokio::runtime::Handle>,
    snapshots: SnapshotConfig,
    bookmarks: BookmarkConfig,
}

impl VasBuilder {
    /// A builder set up from the shells' [`EngineOptions`].
    ///
    /// Errors: `InvalidInput` for a WebRTC address that is not `ip:port`, a public IP that
    /// is not an IP address, or public IPs without a WebRTC address.
    pub fn from_options(options: EngineOptions) -> Result<VasBuilder> {
        let mut b = VasBuilder::default().data_dir(
            options
                .data_dir
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
        );
        if let Some(url) = options.database_url {
            b = b.database_url(url);
        }
        if let Some(dir) = options.media_dir {
            b = b.media_dir(dir);
        }
        match options.webrtc_bind {
            Some(bind) => {
                let bind = bind.parse().map_err(|e| {
                    Error::invalid_input(format!(
                        "webrtc_bind {bind:?} is not an address (ip:port): {e}"
                    ))
                })?;
                let mut webrtc = SfuConfig {
                    bind,
                    ..Default::default()
                };
                for ip in options.webrtc_public_ips {
                    webrtc.public_ips.push(ip.parse().map_err(|e| {
                        Error::invalid_input(format!(
                            "webrtc_public_ips: {ip:?} is not an IP address: {e}"
                        ))
                    })?);
                }
                b = b.webrtc(webrtc);
            }
            None if !options.webrtc_public_ips.is_empty() => {
                return Err(Error::invalid_input("webrtc_public_ips needs webrtc_bind"));
            }
            None => {}
        }
        Ok(b)
    }

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

    /// The tokio runtime the engine runs its tasks on. Without it, [`build`](Self::build)
    /// uses the runtime it is awaited in, if it is awaited in one, and otherwise (and
    /// [`build_blocking`](Self::build_blocking) always) creates a runtime the engine owns
    /// and stops when it is closed or dropped. Either way every call works from any thread
    /// and any executor: the engine's work always runs on this runtime.
    pub fn runtime(mut self, handle: tokio::runtime::Handle) -> Self {
        self.runtime = Some(handle);
        self
    }

    /// The clock used to stamp rows (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
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

    /// Limits of snapshots: concurrent work, how long a stream stays warm, the longest
    /// wait (see [`SnapshotConfig`]).
    pub fn snapshot_config(mut self, config: SnapshotConfig) -> Self {
        self.snapshots = config;
        self
    }

    /// Limits of bookmarks: each running stream's pre-roll, the wait for late frames, the
    /// pending bookmarks per stream (see [`BookmarkConfig`]).
    pub fn bookmark_config(mut self, config: BookmarkConfig) -> Self {
        self.bookmarks = config;
        self
    }

    /// Enables WebRTC live view: one UDP port (and ICE-TCP) for all viewers. Without it,
    /// [`Vas::webrtc_answer`] answers `Unsupported`.
    pub fn webrtc(mut self, config: SfuConfig) -> Self {
        self.webrtc = Some(config);
        self
    }

    /// The key camera secrets are sealed with in the database (default: the key file
    /// `secret.key` in the data folder, created on first start). Every engine sharing a
    /// database needs the same key.
    pub fn secret_key(mut self, key: SecretKey) -> Self {
        self.secret_key = Some(key);
        self
    }

    /// The filesystem media goes through (default: the real one). Tests inject faults here.
    #[cfg(test)]
    pub(crate) fn media_fs(mut self, fs: Arc<dyn MediaFs>) -> Self {
        self.media_fs = Some(fs);
        self
    }

    /// Opens the store (migrating it) and the media folder, starts ingest for every stream
    /// that was running, and returns the engine.
    ///
    /// Errors: `InvalidInput` for a bad database URL, `Unavailable` when the database cannot
    /// be reached, `PermissionDenied` when the media folder cannot be written,
    /// `ResourceExhausted` when a runtime of its own cannot be started.
    pub async fn build(mut self) -> Result<Vas> {
        let runtime = match self.runtime.take() {
            Some(h) => EngineRuntime::shared(h),
            None => match tokio::runtime::Handle::try_current() {
                Ok(h) => EngineRuntime::shared(h),
                Err(_) => EngineRuntime::owned()?,
            },
        };
        let handle = runtime.handle().clone();
        match handle.spawn(self.start(runtime)).await {
            Ok(r) => r,
            Err(e) => Err(Error::internal(format!("engine start failed: {e}"))),
        }
    }

    /// [`build`](Self::build) for a caller without an async runtime: blocks the calling
    /// thread until the engine has started. Unless [`runtime`](Self::runtime) gave one, the
    /// engine creates and owns its runtime. Use it with [`Vas::blocking`].
    ///
    /// Errors: as [`build`](Self::build), and `FailedPrecondition` when called from inside
    /// an async runtime (await [`build`](Self::build) there instead).
    pub fn build_blocking(mut self) -> Result<Vas> {
        super::blocking::refuse_inside_runtime()?;
        let runtime = match self.runtime.take() {
            Some(h) => EngineRuntime::shared(h),
            None => EngineRuntime::owned()?,
        };
        let handle = runtime.handle().clone();
        super::blocking::wait(&handle, self.start(runtime))
    }

    async fn start(self, runtime: EngineRuntime) -> Result<Vas> {
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
        self.snapshots.validate()?;
        self.bookmarks.validate()?;
        let report = recover(&*store, &layout, &fs).await?;
        if report != Default::default() {
            warn!(?report, "recovered recordings left open by an unclean stop");
        }
        let sfu = match self.webrtc {
            Some(config) => Some(Arc::new(Sfu::start(config).await.map_err(|e| {
                let kind = e.kind();
                Error::new(kind, format!("cannot start WebRTC: {}", e.message()))
            })?)),
            None => None,
        };
        info!(
            database = %store::mask_database_url(&database_url),
            media = %media_dir.display(),
            "VAS engine started"
        );
        let vas = Vas {
            inner: Arc::new(Inner {
                runtime,
                store,
                media_dir,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                source: self
                    .source
                    .unwrap_or_else(|| Arc::new(RtspSource::default())),
                ingest: self.ingest,
                hub: self.hub,
                events: EventBus::default(),
                streams: StreamRooms::default(),
                layout,
                fs,
                recorder: self.recorder,
                writer: crate::record::SegmentWriter::start(),
                retention: Mutex::new(None),
                viewers: Viewers::new(sfu),
                snapshots: Snapshots::new(self.snapshots),
                bookmarks: super::bookmarks::BookmarkTasks::new(self.bookmarks),
                secrets: sealer,
                closed: std::sync::atomic::AtomicBool::new(false),
                close_done: tokio::sync::OnceCell::new(),
            }),
        };
        vas.inner.viewers.follow(&vas.inner);
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
        // Bookmarks a stop left pending are finished from the recordings.
        vas.resume_bookmarks().await?;
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
