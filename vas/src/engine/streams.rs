//! Each stream's lifecycle: its room.
//!
//! Owns, per stream, what lives while the stream exists: the hub (which outlives camera
//! connections), the live status and timeline, the decoder tap, and the ingest and recorder
//! tasks. Changes to one stream's tasks (start, stop, record, remove) are serialised by that
//! stream's own lock, held across the tasks' shutdown; nothing else waits on it. Reading a
//! stream's state, subscribing and every call about another stream take only a short map
//! lock, so one stream's slow stop (a recorder finishing on a slow disk, a camera that does
//! not answer its TEARDOWN) never holds up anything else.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;
use tracing::{info, warn};

use super::{CLOSE_STEP_LIMIT, Vas};
use crate::bookmark::{MAX_BEFORE, PreRoll, feed_preroll};
use crate::events::Event;
use crate::frames::{EncodedSubscription, FrameOptions, FrameSubscription, FrameTap};
use crate::hub::{Hub, HubConfig};
use crate::ingest::CameraTarget;
use crate::ingest::supervisor::{IngestContext, IngestTask, Timeline};
use crate::model::{
    DesiredState, DeviceId, Order, RecorderStatus, Stream, StreamId, StreamRow, StreamState,
    StreamStatus,
};
use crate::record::{Recorder, RecorderTask};
use crate::{Error, ErrorKind, Result};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every guarded value stays consistent under every panic-free path.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Every stream's room, by id.
#[derive(Debug, Default)]
pub(super) struct StreamRooms {
    rooms: Mutex<HashMap<StreamId, Arc<StreamRoom>>>,
}

/// One stream's room.
#[derive(Debug)]
pub(super) struct StreamRoom {
    pub(super) hub: Hub,
    status: Arc<Mutex<StreamStatus>>,
    timeline: Arc<Mutex<Timeline>>,
    /// The stream's decoder, running only while someone subscribes to decoded frames.
    pub(super) frames: FrameTap,
    /// The last seconds of the running stream's frames, for bookmarks.
    pub(super) preroll: Arc<PreRoll>,
    /// The running recorder's status, readable without the task lock.
    recording: Mutex<Option<watch::Receiver<RecorderStatus>>>,
    /// The stream's tasks; held across their start and stop (the per-stream serialisation).
    tasks: tokio::sync::Mutex<Tasks>,
}

#[derive(Debug, Default)]
struct Tasks {
    ingest: Option<(IngestTask, CameraTarget)>,
    /// Feeds the pre-roll while ingest runs.
    preroll: Option<tokio::task::JoinHandle<()>>,
    recorder: Option<RecorderTask>,
    /// The stream was removed: nothing may start in this room again.
    removed: bool,
}

impl StreamRoom {
    fn new(hub: HubConfig) -> Self {
        StreamRoom {
            hub: Hub::new(hub),
            status: Arc::new(Mutex::new(StreamStatus::default())),
            timeline: Arc::new(Mutex::new(Timeline::default())),
            frames: FrameTap::default(),
            preroll: Arc::default(),
            recording: Mutex::new(None),
            tasks: tokio::sync::Mutex::new(Tasks::default()),
        }
    }

    /// The stream's live status now.
    pub(super) fn status(&self) -> StreamStatus {
        lock(&self.status).clone()
    }

    fn info(&self, stream: &StreamRow, viewers: usize) -> Stream {
        let recording = lock(&self.recording).as_ref().map(|rx| rx.borrow().clone());
        Stream::of(stream, lock(&self.status).clone(), recording, viewers)
    }

    /// Stops the recorder and ingest, in that order (so the recording ends with everything
    /// ingest delivered), then closes the hub.
    async fn stop_tasks(
        &self,
        tasks: &mut Tasks,
        id: StreamId,
        limit: Option<std::time::Duration>,
    ) {
        if let Some(rec) = tasks.recorder.take() {
            match limit {
                Some(limit) => {
                    if tokio::time::timeout(limit, rec.stop()).await.is_err() {
                        warn!(stream = %id, "a recorder did not finish in time; recovery closes its recording at the next start");
                    }
                }
                None => {
                    rec.stop().await;
                }
            }
            *lock(&self.recording) = None;
        }
        if let Some((task, _)) = tasks.ingest.take() {
            task.stop().await;
        }
        if let Some(feed) = tasks.preroll.take() {
            feed.abort();
        }
        self.preroll.clear();
    }
}

impl StreamRooms {
    /// The room of a stream, created on first use (the caller checked the stream exists).
    pub(super) fn get_or_create(&self, id: StreamId, hub: HubConfig) -> Arc<StreamRoom> {
        lock(&self.rooms)
            .entry(id)
            .or_insert_with(|| Arc::new(StreamRoom::new(hub)))
            .clone()
    }

    fn get(&self, id: StreamId) -> Option<Arc<StreamRoom>> {
        lock(&self.rooms).get(&id).cloned()
    }

    fn take(&self, id: StreamId) -> Option<Arc<StreamRoom>> {
        lock(&self.rooms).remove(&id)
    }

    fn all(&self) -> Vec<(StreamId, Arc<StreamRoom>)> {
        lock(&self.rooms)
            .iter()
            .map(|(id, r)| (*id, r.clone()))
            .collect()
    }

    /// Closes every stream side by side (each recorder bounded by [`CLOSE_STEP_LIMIT`]):
    /// recorders finish, ingest stops, decoder threads stop and are joined, hubs close.
    pub(super) async fn close_all(&self, error: &Error) {
        let rooms = self.all();
        let mut closing = tokio::task::JoinSet::new();
        for (id, room) in rooms {
            let error = Error::new(error.kind(), error.message().to_owned());
            closing.spawn(async move {
                {
                    let mut tasks = room.tasks.lock().await;
                    tasks.removed = true;
                    room.stop_tasks(&mut tasks, id, Some(CLOSE_STEP_LIMIT))
                        .await;
                    // Decoded-frame subscribers learn why first, then the hub ends.
                    room.frames.close(&error);
                    room.hub.close();
                }
                room
            });
        }
        while let Some(done) = closing.join_next().await {
            match done {
                Ok(room) => {
                    // Joining the decoder thread may wait for a frame being decoded.
                    let joined =
                        tokio::task::spawn_blocking(move || room.frames.join(CLOSE_STEP_LIMIT))
                            .await
                            .unwrap_or(false);
                    if !joined {
                        warn!("a decoder thread did not stop in time");
                    }
                }
                Err(e) => warn!(error = %e, "closing a stream failed"),
            }
        }
    }

    /// Stops everything without waiting (the engine was dropped without `close()`).
    pub(super) fn abort_all(&self) {
        for (_, room) in lock(&self.rooms).drain() {
            if let Ok(mut tasks) = room.tasks.try_lock() {
                tasks.removed = true;
                if let Some(rec) = tasks.recorder.take() {
                    rec.abort();
                }
                if let Some((task, _)) = tasks.ingest.take() {
                    task.abort();
                }
            }
            room.frames
                .close(&Error::new(ErrorKind::Closed, "the engine was dropped"));
            room.hub.close();
        }
    }
}

#[vas_macros::calls(streams)]
impl Vas {
    pub(super) fn room(&self, id: StreamId) -> Arc<StreamRoom> {
        self.inner.streams.get_or_create(id, self.inner.hub)
    }

    /// The streams, with their live status: of one camera (`device_id`) or of every camera,
    /// oldest first (by when they were created; a camera's main stream before its sub
    /// stream), or newest first.
    ///
    /// Errors: `NotFound` for an unknown `device_id`.
    #[call(rest = "GET /api/v1/streams")]
    pub async fn streams(&self, device_id: Option<DeviceId>, order: Order) -> Result<Vec<Stream>> {
        self.run(move |v| async move {
            if let Some(d) = device_id {
                v.inner.store.get_device(d).await?;
            }
            let mut streams: Vec<Stream> = v
                .inner
                .store
                .list_streams(device_id)
                .await?
                .into_iter()
                .map(|s| v.info(s))
                .collect();
            if order == Order::Newest {
                streams.reverse();
            }
            Ok(streams)
        })
        .await
    }

    /// One stream with its live status (`NotFound` if unknown).
    #[call(rest = "GET /api/v1/streams/{id}")]
    pub async fn stream(&self, id: StreamId) -> Result<Stream> {
        self.run(move |v| async move {
            let s = v.inner.store.get_stream(id).await?;
            Ok(v.info(s))
        })
        .await
    }

    pub(super) fn info(&self, stream: StreamRow) -> Stream {
        let viewers = self.inner.viewers.count(stream.id);
        match self.inner.streams.get(stream.id) {
            Some(room) => room.info(&stream, viewers),
            None => Stream::of(&stream, StreamStatus::default(), None, viewers),
        }
    }

    /// Subscribes to a stream's encoded frames (see [`EncodedSubscription`]): starts at the
    /// cached GOP (or the next keyframe) and stays subscribed across camera reconnects.
    /// Works for stopped streams too (frames arrive once it runs).
    ///
    /// Errors: `NotFound` (unknown stream).
    #[call(rest = "none: encoded frames are for embedders; browsers get WebRTC")]
    pub async fn encoded_frames(&self, id: StreamId) -> Result<EncodedSubscription> {
        self.run(move |v| async move {
            v.inner.store.get_stream(id).await?;
            Ok(EncodedSubscription::new(v.room(id).hub.subscribe()))
        })
        .await
    }

    /// Subscribes to a stream's decoded frames (see [`crate::frames`]): the first frame comes
    /// from the cached keyframe at once, later ones as the camera sends them, across camera
    /// reconnects. Works for stopped streams too (frames arrive once it runs). The stream is
    /// decoded only while at least one such subscription exists.
    ///
    /// Errors: `NotFound` (unknown stream), `InvalidInput` (options out of range, see
    /// [`FrameOptions::validate`]), `ResourceExhausted` (no thread for the decoder).
    #[call(rest = "none: decoded frames are for embedders; browsers get WebRTC")]
    pub async fn frames(&self, id: StreamId, options: FrameOptions) -> Result<FrameSubscription> {
        // The tap validates the options (it owns what they mean).
        self.run(move |v| async move {
            v.inner.store.get_stream(id).await?;
            let room = v.room(id);
            room.frames.subscribe(id, &room.hub, options)
        })
        .await
    }

    /// Whether a stream is being decoded right now (someone holds a decoded-frame
    /// subscription).
    #[cfg(test)]
    pub(crate) fn is_decoding(&self, id: StreamId) -> bool {
        self.inner
            .streams
            .get(id)
            .is_some_and(|room| room.frames.is_decoding())
    }

    /// Asks for a stream to run; stored, so it runs again after a restart.
    ///
    /// Errors: `NotFound`, or `FailedPrecondition` when its camera is disabled.
    #[call(rest = "POST /api/v1/streams/{id}/start")]
    pub async fn start_stream(&self, id: StreamId) -> Result<Stream> {
        self.run(move |v| async move {
            let s = v.inner.store.get_stream(id).await?;
            let device = v.device_with_secrets(s.device_id).await?;
            if !device.enabled {
                return Err(Error::new(
                    ErrorKind::FailedPrecondition,
                    "the stream's camera is disabled; enable it first",
                ));
            }
            let s = v
                .inner
                .store
                .set_stream_desired(id, DesiredState::Running)
                .await?;
            info!(stream = %id, "stream start requested");
            v.reconcile(id).await?;
            Ok(v.info(s))
        })
        .await
    }

    /// Asks for a stream to stop; stored.
    ///
    /// Errors: `NotFound`.
    #[call(rest = "POST /api/v1/streams/{id}/stop")]
    pub async fn stop_stream(&self, id: StreamId) -> Result<Stream> {
        self.run(move |v| async move {
            let s = v
                .inner
                .store
                .set_stream_desired(id, DesiredState::Stopped)
                .await?;
            info!(stream = %id, "stream stop requested");
            v.reconcile(id).await?;
            Ok(v.info(s))
        })
        .await
    }

    /// Switches recording of a stream on or off; stored, so it survives restarts. A stream
    /// records while it runs.
    ///
    /// Errors: `NotFound`.
    #[call(rest = "PATCH /api/v1/streams/{id}")]
    pub async fn set_recording(&self, id: StreamId, record: bool) -> Result<Stream> {
        self.run(move |v| async move {
            let s = v.inner.store.set_stream_record(id, record).await?;
            info!(stream = %id, record, "stream recording setting changed");
            v.reconcile(id).await?;
            Ok(v.info(s))
        })
        .await
    }

    /// Stops a stream's tasks and forgets its room (its hub closes: subscribers see the
    /// end, and its WebRTC viewers are disconnected), then removes its media folder.
    pub(super) async fn remove_stream_room(&self, id: StreamId) {
        self.inner.viewers.remove_stream(id).await;
        self.inner.snapshots.forget(Some(id));
        if let Some(room) = self.inner.streams.take(id) {
            let mut tasks = room.tasks.lock().await;
            tasks.removed = true;
            room.stop_tasks(&mut tasks, id, None).await;
            room.hub.close();
        }
        let dir = self.stream_media_dir(id);
        match tokio::fs::remove_dir_all(&dir).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => warn!(stream = %id, error = %e, "could not remove media of a deleted stream"),
        }
    }

    /// Makes a stream's tasks match what is stored: ingest running (with the current camera
    /// address) when wanted and its camera is enabled, stopped otherwise; a recorder while
    /// it runs and records. Serialised per stream by the room's task lock.
    pub(super) async fn reconcile(&self, id: StreamId) -> Result<()> {
        let room = self.room(id);
        let mut tasks = room.tasks.lock().await;
        if tasks.removed {
            return Err(Error::not_found("the stream was removed"));
        }
        // Read what is wanted under the lock, so concurrent changes apply in order.
        let stream = self.inner.store.get_stream(id).await?;
        let device = self.device_with_secrets(stream.device_id).await?;
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
        if !record && let Some(rec) = tasks.recorder.take() {
            rec.stop().await;
            *lock(&room.recording) = None;
            info!(stream = %id, "recording stopped");
        }
        if want.is_none()
            && let Some(feed) = tasks.preroll.take()
        {
            feed.abort();
            room.preroll.clear();
        }
        let current = tasks.ingest.as_ref().map(|(_, t)| t);
        if current != want.as_ref() {
            if let Some((task, _)) = tasks.ingest.take() {
                task.stop().await;
            }
            if let Some(target) = want {
                // Say "connecting" from the moment start returns, not when the task first runs.
                *lock(&room.status) = StreamStatus {
                    state: StreamState::Connecting,
                    ..StreamStatus::default()
                };
                self.inner.events.publish(Event::StreamState {
                    stream_id: id,
                    state: StreamState::Connecting,
                    error: None,
                    at: self.inner.clock.now_utc(),
                });
                let ctx = IngestContext {
                    stream: id,
                    target: target.clone(),
                    source: self.inner.source.clone(),
                    hub: room.hub.clone(),
                    status: room.status.clone(),
                    timeline: room.timeline.clone(),
                    events: self.inner.events.clone(),
                    clock: self.inner.clock.clone(),
                    config: self.inner.ingest,
                };
                tasks.ingest = Some((IngestTask::spawn(ctx), target));
                if tasks.preroll.is_none() {
                    tasks.preroll = Some(tokio::spawn(feed_preroll(
                        room.hub.clone(),
                        room.preroll.clone(),
                        MAX_BEFORE,
                        self.inner.bookmarks.config.preroll_bytes,
                    )));
                }
                info!(stream = %id, url = %device.rtsp_url_masked(), "ingest started");
            }
        }
        if record && tasks.recorder.is_none() {
            let task = Recorder {
                stream: id,
                hub: room.hub.clone(),
                store: self.inner.store.clone(),
                fs: self.inner.fs.clone(),
                layout: self.inner.layout.clone(),
                clock: self.inner.clock.clone(),
                config: self.inner.recorder.clone(),
                writer: self.inner.writer.clone(),
            }
            .spawn_announcing(self.inner.events.clone())?;
            *lock(&room.recording) = Some(task.watch_status());
            tasks.recorder = Some(task);
            info!(stream = %id, "recording started");
        }
        Ok(())
    }
}

impl Vas {
    /// The hub of a stream known to exist.
    pub(super) fn room_hub(&self, id: StreamId) -> Hub {
        self.room(id).hub.clone()
    }
}
