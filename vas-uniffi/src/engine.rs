//! The engine object. Every call that waits is async: the engine
//! runs its work on its own runtime, so the foreign executor (Kotlin coroutines, Swift
//! concurrency, Python asyncio) only awaits.

use std::str::FromStr;
use std::sync::Arc;

use crate::error::VasError;
use crate::listen::{self, EventListener, FrameListener, Subscription};
use crate::model::*;

fn id<T: FromStr<Err = vas::Error>>(s: &str) -> Result<T, VasError> {
    Ok(T::from_str(s)?)
}

fn range(stream_id: Option<String>) -> Result<vas::Range, VasError> {
    Ok(vas::Range {
        stream: stream_id.as_deref().map(id).transpose()?,
        ..Default::default()
    })
}

/// Opens an engine: the database (migrated), the media folder, the streams that were
/// running.
#[uniffi::export]
pub async fn open_engine(config: EngineConfig) -> Result<Arc<Engine>, VasError> {
    let mut b = vas::Vas::builder().data_dir(config.data_dir);
    if let Some(u) = config.database_url {
        b = b.database_url(u);
    }
    if let Some(m) = config.media_dir {
        b = b.media_dir(m);
    }
    if let Some(bind) = config.webrtc_bind {
        let bind = bind
            .parse()
            .map_err(|e| VasError::invalid(format!("webrtc_bind {bind:?} is not ip:port: {e}")))?;
        b = b.webrtc(vas::config::WebRtcConfig {
            bind,
            ..Default::default()
        });
    }
    Ok(Arc::new(Engine {
        vas: b.build().await?,
    }))
}

/// The engine: cameras, streams, recording, snapshots, bookmarks, live view, frames.
#[derive(uniffi::Object)]
pub struct Engine {
    vas: vas::Vas,
}

#[uniffi::export]
impl Engine {
    /// Closes the engine: streams stop, subscriptions end (frame listeners get `on_end`
    /// with `Closed`), recordings are finished. Later calls fail with `Closed`. (Named so
    /// as not to clash with the generated `close()`/`destroy()` that free the object.)
    pub async fn shutdown(&self) {
        self.vas.close().await;
    }

    /// Adds a camera (and its main stream).
    pub async fn add_camera(&self, camera: NewCamera) -> Result<Camera, VasError> {
        let mut new = vas::NewDevice::new(camera.name, camera.rtsp_url);
        new.username = camera.username;
        new.password = camera.password;
        Ok(self.vas.add_device(new).await?.into())
    }

    /// Every camera.
    pub async fn cameras(&self) -> Result<Vec<Camera>, VasError> {
        Ok(self
            .vas
            .devices()
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// One camera.
    pub async fn camera(&self, id: String) -> Result<Camera, VasError> {
        Ok(self.vas.device(self::id(&id)?).await?.into())
    }

    /// Removes a camera and what was recorded for it.
    pub async fn remove_camera(&self, id: String) -> Result<(), VasError> {
        Ok(self.vas.remove_device(self::id(&id)?).await?)
    }

    /// Every stream with its status.
    pub async fn streams(&self) -> Result<Vec<Stream>, VasError> {
        Ok(self
            .vas
            .streams()
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Starts a stream (it reconnects by itself until stopped).
    pub async fn start_stream(&self, id: String) -> Result<Stream, VasError> {
        Ok(self.vas.start_stream(self::id(&id)?).await?.into())
    }

    /// Stops a stream.
    pub async fn stop_stream(&self, id: String) -> Result<Stream, VasError> {
        Ok(self.vas.stop_stream(self::id(&id)?).await?.into())
    }

    /// A JPEG of the stream's newest frame, `width` pixels wide if given.
    pub async fn snapshot(
        &self,
        stream_id: String,
        width: Option<u32>,
    ) -> Result<Snapshot, VasError> {
        let mut o = vas::snapshot::SnapshotOptions::new();
        if let Some(w) = width {
            o = o.width(w);
        }
        let j = self.vas.snapshot(id(&stream_id)?, o).await?;
        Ok(Snapshot {
            jpeg: j.bytes.to_vec(),
            width: j.width,
            height: j.height,
            time: j.time.into(),
            offline: j.offline,
        })
    }

    /// Bookmarks this moment of a stream (a clip of 5 s before and after).
    pub async fn add_bookmark(
        &self,
        stream_id: String,
        label: Option<String>,
    ) -> Result<Bookmark, VasError> {
        let mut b = vas::bookmark::NewBookmark::new(id(&stream_id)?);
        if let Some(l) = label {
            b = b.label(l);
        }
        Ok(self.vas.add_bookmark(b).await?.into())
    }

    /// One bookmark.
    pub async fn bookmark(&self, id: String) -> Result<Bookmark, VasError> {
        Ok(self.vas.bookmark(self::id(&id)?).await?.into())
    }

    /// Bookmarks, newest first (optionally of one stream).
    pub async fn bookmarks(&self, stream_id: Option<String>) -> Result<Vec<Bookmark>, VasError> {
        Ok(self
            .vas
            .bookmarks(range(stream_id)?)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Recordings, newest first (optionally of one stream).
    pub async fn recordings(&self, stream_id: Option<String>) -> Result<Vec<Recording>, VasError> {
        Ok(self
            .vas
            .recordings(range(stream_id)?)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Answers a browser's WebRTC offer for live view of a stream.
    pub async fn webrtc_answer(
        &self,
        stream_id: String,
        offer_sdp: String,
    ) -> Result<WebRtcAnswer, VasError> {
        let s = self.vas.webrtc_offer(id(&stream_id)?, &offer_sdp).await?;
        Ok(WebRtcAnswer {
            answer_sdp: s.answer_sdp,
            viewer: s.viewer.0,
        })
    }

    /// Delivers the engine's events (from now on) to `listener` until cancelled.
    pub fn subscribe_events(
        &self,
        listener: Arc<dyn EventListener>,
    ) -> Result<Arc<Subscription>, VasError> {
        listen::events(self.vas.events(), listener)
    }

    /// Delivers a stream's decoded frames (newest only: never a stale backlog) to
    /// `listener` until cancelled, scaled to fit `max_width`×`max_height` if given.
    pub async fn subscribe_frames(
        &self,
        stream_id: String,
        format: PixelFormat,
        max_width: Option<u32>,
        max_height: Option<u32>,
        listener: Arc<dyn FrameListener>,
    ) -> Result<Arc<Subscription>, VasError> {
        let mut o = vas::frames::FrameOptions::new(format.into());
        if let (Some(w), Some(h)) = (max_width, max_height) {
            o = o.max_size(w, h);
        }
        o.validate()?;
        let sub = self.vas.frames(id(&stream_id)?, o).await?;
        listen::frames(sub, listener)
    }
}
