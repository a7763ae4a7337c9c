//! The engine's snapshot calls: a JPEG of any stream at once, and saved snapshots (file and
//! row) with their listing, image and deletion. The pictures themselves come from
//! [`crate::snapshot`]; this room decides which stream, stores the file, then the row.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::Vas;
use crate::events::Event;
use crate::frames::{FrameOptions, PixelFormat};
use crate::model::{
    ListQuery, MAX_LABEL_CHARS, Snapshot, SnapshotId, SnapshotImage, SnapshotOptions, StreamId,
    StreamState,
};
use crate::record::MediaLayout;
use crate::snapshot::Source;
use crate::{Error, ErrorKind, Result};

/// Largest saved snapshot file read back ([`Vas::saved_snapshot_image`]); our own JPEGs
/// are far smaller, so anything larger is not one of ours.
pub const MAX_SNAPSHOT_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The folder saved snapshots go to, under the stream's media folder.
pub const SNAPSHOT_DIR_NAME: &str = "snapshots";

#[vas_macros::calls(snapshots)]
impl Vas {
    /// A JPEG of a stream, nothing stored: the newest frame (decoded forward from the
    /// cached keyframe, so without waiting for the camera's next one), the newest keyframe,
    /// or the frame at a past moment, from memory or the recordings.
    ///
    /// Errors: `NotFound` (unknown stream, or nothing recorded at a past moment),
    /// `InvalidInput` (options out of range, see [`SnapshotOptions::validate`]),
    /// `Unavailable` (the stream is not live, unless [`SnapshotOptions::stale_ok`]; or it has
    /// sent no picture yet; never a hang), `Unsupported` (an H.265 stream).
    #[call(rest = "GET /api/v1/streams/{id}/snapshot.jpg")]
    pub async fn snapshot(&self, id: StreamId, options: SnapshotOptions) -> Result<SnapshotImage> {
        options.validate()?;
        self.run(move |v| async move {
            v.inner.store.get_stream(id).await?;
            v.picture(id, options).await
        })
        .await
    }

    /// The picture for [`snapshot`](Self::snapshot), once the stream is known.
    async fn picture(&self, id: StreamId, options: SnapshotOptions) -> Result<SnapshotImage> {
        let room = self.room(id);
        let live = room.status().state == StreamState::Live;
        let snapshots = &self.inner.snapshots;
        match options.source() {
            Source::Newest => {
                let hub = room.hub.clone();
                snapshots
                    .newest(id, &room.hub, live, options, || {
                        room.frames
                            .subscribe(id, &hub, FrameOptions::new(PixelFormat::I420))
                    })
                    .await
            }
            Source::Keyframe => snapshots.keyframe(id, &room.hub, live, options).await,
            Source::At(at) => self.recorded_picture(id, at, options).await,
        }
    }

    /// Takes a snapshot and saves it: the JPEG under the stream's media folder, then its row.
    /// `label` is trimmed; at most [`MAX_LABEL_CHARS`] characters.
    ///
    /// Errors: as [`snapshot`](Self::snapshot), plus `InvalidInput` (label too long) and the
    /// disk's (`StorageFull`, `Io`).
    #[call(rest = "POST /api/v1/streams/{id}/snapshots")]
    pub async fn save_snapshot(
        &self,
        id: StreamId,
        options: SnapshotOptions,
        label: Option<String>,
    ) -> Result<Snapshot> {
        options.validate()?;
        let label = label.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty());
        if let Some(l) = &label
            && l.chars().count() > MAX_LABEL_CHARS
        {
            return Err(Error::invalid_input(format!(
                "snapshot label exceeds {MAX_LABEL_CHARS} characters"
            )));
        }
        self.run(move |v| async move {
            v.inner.store.get_stream(id).await?;
            let jpeg = v.picture(id, options).await?;
            let snapshot = Snapshot {
                id: SnapshotId::new(),
                stream_id: id,
                taken_at: jpeg.time,
                location: snapshot_location(id, SnapshotId::new()),
                bytes: jpeg.jpeg.len() as u64,
                width: jpeg.width,
                height: jpeg.height,
                label,
            };
            let snapshot = Snapshot {
                location: snapshot_location(id, snapshot.id),
                ..snapshot
            };
            v.write_snapshot_file(&snapshot.location, jpeg.jpeg).await?;
            // The file exists; now the row (and without a row, no file is left behind).
            if let Err(e) = v.inner.store.insert_snapshot(&snapshot).await {
                v.remove_media_file(&snapshot.location).await;
                return Err(e);
            }
            info!(stream = %id, snapshot = %snapshot.id, "snapshot saved");
            v.inner.events.publish(Event::SnapshotSaved {
                stream_id: id,
                snapshot_id: snapshot.id,
                taken_at: snapshot.taken_at,
            });
            Ok(snapshot)
        })
        .await
    }

    /// Saved snapshots matching a query (stream, capture-time range, limit), oldest first
    /// (by capture time) or newest first, as the query asks.
    #[call(rest = "GET /api/v1/snapshots")]
    pub async fn saved_snapshots(&self, query: ListQuery) -> Result<Vec<Snapshot>> {
        self.run(|v| async move { v.inner.store.list_snapshots(query).await })
            .await
    }

    /// One saved snapshot (`NotFound` if unknown).
    #[call(rest = "GET /api/v1/snapshots/{id}")]
    pub async fn saved_snapshot(&self, id: SnapshotId) -> Result<Snapshot> {
        self.run(move |v| async move { v.inner.store.get_snapshot(id).await })
            .await
    }

    /// A saved snapshot's JPEG. `NotFound` if unknown; `Corrupt` if its file is missing or
    /// not what was saved.
    #[call(rest = "GET /api/v1/snapshots/{id}/image.jpg")]
    pub async fn saved_snapshot_image(&self, id: SnapshotId) -> Result<Bytes> {
        self.run(move |v| async move {
            let s = v.inner.store.get_snapshot(id).await?;
            let path = v.inner.layout.resolve(&s.location)?;
            let fs = v.inner.fs.clone();
            let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
                let len = fs.file_len(&path).map_err(|e| missing(&e))?;
                if len > MAX_SNAPSHOT_FILE_BYTES {
                    return Err(Error::new(
                        ErrorKind::Corrupt,
                        "the snapshot file is larger than any snapshot",
                    ));
                }
                let mut buf = Vec::with_capacity(len as usize);
                std::io::Read::read_to_end(
                    &mut std::io::Read::take(fs.open_read(&path).map_err(|e| missing(&e))?, len),
                    &mut buf,
                )
                .map_err(|e| missing(&e))?;
                Ok(buf)
            })
            .await
            .map_err(|e| Error::internal(format!("reading a snapshot failed: {e}")))??;
            if bytes.len() as u64 != s.bytes {
                return Err(Error::new(
                    ErrorKind::Corrupt,
                    "the snapshot file does not match what was saved",
                ));
            }
            Ok(Bytes::from(bytes))
        })
        .await
    }

    /// Deletes a saved snapshot: its row, then its file. `NotFound` if unknown.
    #[call(rest = "DELETE /api/v1/snapshots/{id}")]
    pub async fn delete_snapshot(&self, id: SnapshotId) -> Result<()> {
        self.run(move |v| async move {
            let s = v.inner.store.get_snapshot(id).await?;
            v.inner.store.delete_snapshot(id).await?;
            v.remove_media_file(&s.location).await;
            info!(snapshot = %id, "snapshot deleted");
            Ok(())
        })
        .await
    }

    /// JPEG encodings the snapshot service has made (for tests of single-flight).
    #[cfg(test)]
    pub(crate) fn snapshot_encodes(&self) -> u64 {
        self.inner.snapshots.encodes()
    }

    /// Streams whose decoder is kept warm for snapshots (for tests).
    #[cfg(test)]
    pub(crate) fn warm_snapshot_streams(&self) -> usize {
        self.inner.snapshots.warm_count()
    }

    /// Writes a snapshot file: a temporary file, synced, renamed into place.
    async fn write_snapshot_file(&self, location: &str, bytes: Bytes) -> Result<()> {
        let path = self.inner.layout.resolve(location)?;
        let fs = self.inner.fs.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            let io = |e: std::io::Error| Error::from(e).context("cannot write the snapshot file");
            if let Some(dir) = path.parent() {
                fs.create_dir_all(dir).map_err(io)?;
            }
            let tmp = MediaLayout::temp_path(&path);
            let written = (|| {
                let mut f = fs.create(&tmp)?;
                f.append(&bytes)?;
                f.sync()?;
                fs.rename(&tmp, &path)
            })();
            if let Err(e) = written {
                let _ = fs.remove_file(&tmp);
                return Err(io(e));
            }
            if let Some(dir) = path.parent() {
                fs.sync_dir(dir).map_err(io)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| Error::internal(format!("writing a snapshot failed: {e}")))?
    }

    /// Removes a file under the media folder (a saved snapshot, a clip); a file already gone
    /// is fine, any other failure is logged (the row is gone either way).
    pub(super) async fn remove_media_file(&self, location: &str) {
        let Ok(path) = self.inner.layout.resolve(location) else {
            return;
        };
        let fs = self.inner.fs.clone();
        let removed = tokio::task::spawn_blocking(move || fs.remove_file(&path)).await;
        if let Ok(Err(e)) = removed
            && e.kind() != std::io::ErrorKind::NotFound
        {
            warn!(location, error = %e, "a media file could not be removed");
        }
    }

    /// The frame showing at a past moment: decoded from the keyframe before it up to it,
    /// from the stream's in-memory pre-roll when it reaches back that far, else from the
    /// recordings. `NotFound` when it is in neither.
    async fn recorded_picture(
        &self,
        id: StreamId,
        at: DateTime<Utc>,
        options: SnapshotOptions,
    ) -> Result<SnapshotImage> {
        let held = self
            .room(id)
            .preroll
            .since(at)
            .filter(|frames| frames.iter().any(|f| f.is_video() && f.wallclock >= at));
        let frames = match held {
            Some(frames) => frames,
            None => {
                self.recorded_frames(id, at, at)
                    .await
                    .map_err(|e| {
                        if e.kind() == ErrorKind::NotFound {
                            Error::not_found(format!(
                                "nothing of the stream is recorded at {}",
                                at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                            ))
                        } else {
                            e
                        }
                    })?
                    .frames
            }
        };
        self.inner
            .snapshots
            .blocking(move || crate::snapshot::decode_and_encode(&frames, Some(at), options))
            .await
    }
}

/// Where a saved snapshot's file goes, relative to the media folder.
fn snapshot_location(stream: StreamId, id: SnapshotId) -> String {
    format!("{stream}/{SNAPSHOT_DIR_NAME}/{id}.jpg")
}

fn missing(e: &std::io::Error) -> Error {
    Error::new(
        ErrorKind::Corrupt,
        format!("the snapshot file cannot be read: {e}"),
    )
}
