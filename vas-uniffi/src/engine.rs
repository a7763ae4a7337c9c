//! The engine object. Its calls are generated from the engine's description
//! (`generated.rs`), each an async function: the engine runs its work on its own runtime, so
//! the foreign executor (Kotlin coroutines, Swift concurrency, Python asyncio) only awaits.
//! What is written here by hand: opening, closing and the subscriptions, which deliver to
//! foreign callbacks.

use std::sync::Arc;

use crate::error::VasError;
use crate::generated::{EngineOptions, FrameOptions};
use crate::listen::{self, EncodedFrameListener, EventListener, FrameListener, Subscription};

/// The engine: cameras, streams, recording, snapshots, bookmarks, live view, frames.
#[derive(uniffi::Object)]
pub struct Engine {
    pub(crate) vas: vas::Vas,
}

#[uniffi::export]
impl Engine {
    /// Opens an engine: the database (opened and migrated), the media folder, the streams
    /// that were running.
    #[uniffi::constructor]
    pub async fn open(options: EngineOptions) -> Result<Arc<Self>, VasError> {
        let options = vas::EngineOptions::try_from(options)?;
        Ok(Arc::new(Engine {
            vas: vas::Vas::open(options).await?,
        }))
    }

    /// Closes the engine: streams stop, subscriptions end (frame listeners get `on_end`
    /// with `Closed`), recordings are finished. Later calls fail with `Closed`. (Named so
    /// as not to clash with the `close()` every uniffi object has, which frees it.)
    pub async fn shutdown(&self) {
        self.vas.close().await;
    }

    /// Delivers the engine's events (from now on) to `listener` until cancelled.
    pub fn subscribe_events(
        &self,
        listener: Arc<dyn EventListener>,
    ) -> Result<Arc<Subscription>, VasError> {
        listen::events(self.vas.events(), listener)
    }

    /// Delivers a stream's decoded frames to `listener` until cancelled (with the default
    /// options, only the newest frame: never a stale backlog).
    pub async fn subscribe_frames(
        &self,
        stream_id: String,
        options: FrameOptions,
        listener: Arc<dyn FrameListener>,
    ) -> Result<Arc<Subscription>, VasError> {
        let options = vas::FrameOptions::try_from(options)?;
        options.validate()?;
        let sub = self.vas.frames(stream_id.parse()?, options).await?;
        listen::frames(sub, listener)
    }

    /// Delivers a stream's encoded frames (as the camera sent them, from its cached keyframe
    /// on) to `listener` until cancelled; a slow listener is skipped to the next keyframe.
    pub async fn subscribe_encoded_frames(
        &self,
        stream_id: String,
        listener: Arc<dyn EncodedFrameListener>,
    ) -> Result<Arc<Subscription>, VasError> {
        let sub = self.vas.encoded_frames(stream_id.parse()?).await?;
        listen::encoded_frames(sub, listener)
    }
}
