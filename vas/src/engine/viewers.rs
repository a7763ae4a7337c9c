//! The one registry of WebRTC viewers.
//!
//! Owns which viewers exist and which stream each watches (the SFU is asked for nothing
//! else), adding a viewer from a browser's offer, closing one, disconnecting every viewer of
//! a removed stream, and turning what the SFU reports (joined, left, failed, reaped) into
//! engine events while forgetting viewers that ended.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::broadcast;
use tracing::{info, warn};

use super::{Inner, Vas};
use crate::events::Event;
use crate::model::{DesiredState, StreamId, WebRtcSession};
use crate::sfu::{DisconnectReason, Sfu, SfuEvent, ViewerId};
use crate::{Error, ErrorKind, Result};

#[derive(Debug)]
pub(super) struct Viewers {
    sfu: Option<Arc<Sfu>>,
    /// Live viewers and the stream each watches.
    watching: Mutex<HashMap<ViewerId, StreamId>>,
}

impl Viewers {
    pub(super) fn new(sfu: Option<Arc<Sfu>>) -> Self {
        Viewers {
            sfu,
            watching: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ViewerId, StreamId>> {
        self.watching.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts following the SFU's reports for the engine `inner` (runs on its runtime,
    /// ends with the SFU or the engine).
    pub(super) fn follow(&self, inner: &Arc<Inner>) {
        let Some(sfu) = &self.sfu else { return };
        let mut events = sfu.events();
        let weak: Weak<Inner> = Arc::downgrade(inner);
        inner.runtime.handle().spawn(async move {
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
                inner.viewers.on_sfu_event(&inner, event);
            }
        });
    }

    /// Turns what the SFU reports into engine events, and forgets viewers that ended.
    fn on_sfu_event(&self, inner: &Inner, event: SfuEvent) {
        let stream_of = |key: &str| key.parse::<StreamId>().ok();
        let now = inner.clock.now_utc();
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
            self.lock().remove(&viewer);
        }
        let Some(stream) = stream else { return };
        inner.events.publish(match left {
            None => Event::ViewerJoined {
                stream_id: stream,
                viewer,
                at: now,
            },
            Some(reason) => Event::ViewerLeft {
                stream_id: stream,
                viewer,
                reason,
                at: now,
            },
        });
    }

    /// Viewers of a stream (connecting or live).
    pub(super) fn count(&self, stream: StreamId) -> usize {
        self.sfu
            .as_ref()
            .map_or(0, |sfu| sfu.viewer_count(&stream.to_string()))
    }

    /// Disconnects every viewer of a stream (it was removed).
    pub(super) async fn remove_stream(&self, stream: StreamId) {
        let gone: Vec<ViewerId> = {
            let mut watching = self.lock();
            let ids: Vec<ViewerId> = watching
                .iter()
                .filter(|(_, s)| **s == stream)
                .map(|(v, _)| *v)
                .collect();
            for v in &ids {
                watching.remove(v);
            }
            ids
        };
        if let Some(sfu) = &self.sfu {
            for v in gone {
                sfu.remove_viewer(v).await;
            }
        }
    }

    /// Disconnects every viewer and stops the SFU (the engine closes).
    pub(super) async fn shutdown(&self) {
        if let Some(sfu) = &self.sfu {
            sfu.shutdown().await;
        }
        self.lock().clear();
    }
}

#[vas_macros::calls(viewers)]
impl Vas {
    /// Answers a browser's SDP offer to watch a stream (WHEP-style; the answer carries the
    /// candidates, so no trickle is needed): the viewer and the answer to send back.
    ///
    /// Errors: `NotFound` (unknown stream), `FailedPrecondition` (stream stopped or its
    /// camera disabled), `InvalidInput`/`TooLarge` (bad offer), `Unsupported` (no usable
    /// codec, H.265, or WebRTC not enabled), `ResourceExhausted` (viewer limit).
    #[call(rest = "POST /api/v1/streams/{id}/whep")]
    pub async fn webrtc_answer(&self, id: StreamId, offer_sdp: String) -> Result<WebRtcSession> {
        let offer = offer_sdp;
        self.run(move |v| async move {
            let sfu = v.inner.viewers.sfu.clone().ok_or_else(|| {
                Error::new(
                    ErrorKind::Unsupported,
                    "WebRTC live view is not enabled on this engine",
                )
            })?;
            let stream = v.inner.store.get_stream(id).await?;
            let device = v.device_with_secrets(stream.device_id).await?;
            if stream.desired != DesiredState::Running || !device.enabled {
                return Err(Error::new(
                    ErrorKind::FailedPrecondition,
                    "the stream is stopped; start it before watching",
                ));
            }
            let hub = v.room_hub(id);
            let (viewer, answer_sdp) = sfu.add_viewer(&id.to_string(), &hub, &offer).await?;
            v.inner.viewers.lock().insert(viewer, id);
            info!(stream = %id, viewer = viewer.0, "WebRTC viewer added");
            Ok(WebRtcSession {
                viewer,
                stream_id: id,
                answer_sdp,
            })
        })
        .await
    }

    /// Ends a WebRTC viewer: true if it was watching, false if it had already gone.
    ///
    /// Errors: `Closed` once the engine is closed.
    #[call(rest = "DELETE /api/v1/whep/{session}")]
    pub async fn webrtc_close(&self, viewer: ViewerId) -> Result<bool> {
        self.inner.viewers.lock().remove(&viewer);
        let Some(sfu) = self.inner.viewers.sfu.clone() else {
            self.check_open()?;
            return Ok(false);
        };
        self.run(move |_| async move { Ok(sfu.remove_viewer(viewer).await) })
            .await
    }

    /// Whether a WebRTC viewer is still known (not closed, reaped or failed).
    pub fn has_viewer(&self, viewer: ViewerId) -> bool {
        self.inner.viewers.lock().contains_key(&viewer)
    }

    /// WebRTC viewers of a stream (connecting or live).
    pub fn viewer_count(&self, id: StreamId) -> usize {
        self.inner.viewers.count(id)
    }

    /// Where the WebRTC service listens: its UDP (and ICE-TCP) address and the candidates
    /// every answer carries; `None` when the engine was built without
    /// [`webrtc`](crate::VasBuilder::webrtc).
    pub fn webrtc_addresses(&self) -> Option<WebRtcAddresses> {
        self.inner
            .viewers
            .sfu
            .as_deref()
            .map(|sfu| WebRtcAddresses {
                local: sfu.local_addr(),
                candidates: sfu.candidates(),
            })
    }
}

/// Where the WebRTC service listens, from [`Vas::webrtc_addresses`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebRtcAddresses {
    /// The one UDP port (and ICE-TCP on the same port) all viewers share.
    pub local: std::net::SocketAddr,
    /// The ICE host candidates put in every answer (public IPs first, when configured).
    pub candidates: Vec<std::net::SocketAddr>,
}
