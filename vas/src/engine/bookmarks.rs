//! The engine's bookmark calls: make one (a pending row at once, the clip once `at + after`
//! has passed), list, get, the clip's file, delete; and, at start, finishing the bookmarks a
//! stop left pending.
//!
//! Where a clip's frames come from: the stream's in-memory pre-roll and its live frames when
//! the moment is recent enough (the clip is cut the moment `at + after` has passed), else the
//! recordings (a bookmark further back than the pre-roll, or one left pending by a restart).
//! The clip file is written first, then the row says `ready`; a bookmark's media is pinned
//! against retention while it is pending (the retention pass asks the store).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use chrono::DateTime;
use tracing::{info, warn};

use super::Vas;
use crate::bookmark::{self, BookmarkConfig, MAX_FUTURE_SKEW, NewBookmark};
use crate::events::Event;
use crate::media::Frame;
use crate::model::ListQuery;
use crate::model::{Bookmark, BookmarkId, BookmarkState, StreamId};
use crate::record::MediaLayout;
use crate::record::fs::MediaFile;
use crate::{Error, ErrorKind, Result};

/// The folder clips go to, under the stream's media folder.
pub const CLIP_DIR_NAME: &str = "clips";

/// Buffer between the MP4 writer and the clip file (a frame or two per write).
const CLIP_WRITE_BUFFER: usize = 256 * 1024;

/// Extra wait, past one segment, before a clip is read from the recordings: time for the
/// segment holding `at + after` to be closed and listed in its playlist.
const RECORDING_SETTLE: Duration = Duration::from_secs(1);

/// Most bytes of frames one clip may hold (90 s of a 16 Mbit/s camera fit).
pub const MAX_CLIP_BYTES: usize = 192 * 1024 * 1024;

/// The bookmarks being made, and the limits.
#[derive(Debug)]
pub(super) struct BookmarkTasks {
    pub(super) config: BookmarkConfig,
    tasks: Mutex<tokio::task::JoinSet<()>>,
    /// Held from the check of a stream's pending bookmarks to the insert of a new one, so
    /// that a burst of requests cannot all pass the cap (bookmarks are made rarely: one
    /// lock for the engine is enough).
    admission: tokio::sync::Mutex<()>,
}

impl BookmarkTasks {
    pub(super) fn new(config: BookmarkConfig) -> Self {
        BookmarkTasks {
            config,
            tasks: Mutex::new(tokio::task::JoinSet::new()),
            admission: tokio::sync::Mutex::new(()),
        }
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        // Forget the ones that have finished.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(task);
    }

    /// Stops every bookmark being made; their rows stay `pending` and the next start
    /// finishes them from the recordings.
    pub(super) fn abort_all(&self) {
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .abort_all();
    }
}

#[vas_macros::calls(bookmarks)]
impl Vas {
    /// Bookmarks a moment of a stream: answers at once with the `pending` bookmark; its clip
    /// of `[at − before, at + after]` (a progressive MP4) is made as soon as `at + after` has
    /// passed, and the bookmark becomes `ready` (or `failed`, with the reason), also as an
    /// [`Event::Bookmark`].
    ///
    /// A request identical to a bookmark still pending (same stream, margins and label, a
    /// moment within [`COALESCE_WINDOW`](crate::bookmark::COALESCE_WINDOW)) answers that
    /// bookmark: one clip, however often it is asked for.
    ///
    /// Errors: `NotFound` (unknown stream), `InvalidInput` (margins or label out of bounds,
    /// see [`NewBookmark::validate`]; `at` more than a few seconds in the future),
    /// `ResourceExhausted` (the stream already has
    /// [`max_pending_per_stream`](BookmarkConfig::max_pending_per_stream) pending
    /// bookmarks; try again once one is ready).
    #[call(rest = "POST /api/v1/bookmarks")]
    pub async fn add_bookmark(&self, bookmark: NewBookmark) -> Result<Bookmark> {
        let new = bookmark;
        new.validate()?;
        self.run(move |v| async move {
            let now = v.inner.clock.now_utc();
            let at = new.at.unwrap_or(now);
            let skew = chrono::TimeDelta::from_std(MAX_FUTURE_SKEW).unwrap_or_default();
            if at > now + skew {
                return Err(Error::invalid_input(format!(
                    "at lies in the future; a bookmark marks a moment up to {} s from now at most",
                    MAX_FUTURE_SKEW.as_secs()
                )));
            }
            let stream = v.inner.store.get_stream(new.stream_id).await?;
            let label = new
                .label
                .map(|l| l.trim().to_owned())
                .filter(|l| !l.is_empty());
            let admission = v.inner.bookmarks.admission.lock().await;
            let pending = v
                .inner
                .store
                .pending_bookmarks_overlapping(new.stream_id, DateTime::UNIX_EPOCH, None)
                .await?;
            let window = chrono::TimeDelta::from_std(bookmark::COALESCE_WINDOW).unwrap_or_default();
            if let Some(same) = pending.iter().find(|p| {
                p.before == new.before
                    && p.after == new.after
                    && p.label == label
                    && (p.at - at).abs() <= window
            }) {
                info!(stream = %new.stream_id, bookmark = %same.id, "bookmark request joined a pending one");
                return Ok(same.clone());
            }
            let cap = v.inner.bookmarks.config.max_pending_per_stream;
            if pending.len() >= cap {
                return Err(Error::new(
                    ErrorKind::ResourceExhausted,
                    format!(
                        "stream {} already has {cap} bookmarks being made; try again once one is ready",
                        new.stream_id
                    ),
                ));
            }
            let bookmark = Bookmark {
                id: BookmarkId::new(),
                stream_id: new.stream_id,
                at,
                before: new.before,
                after: new.after,
                label,
                clip_location: None,
                state: BookmarkState::Pending,
                created_at: now,
                detail: None,
            };
            v.inner.store.insert_bookmark(&bookmark).await?;
            drop(admission);
            info!(stream = %new.stream_id, bookmark = %bookmark.id, "bookmark made");
            v.announce(&bookmark);
            // Subscribe now, so no frame between now and the task's start is missed.
            let room = v.room(new.stream_id);
            let live = room.hub.subscribe();
            let from = at - chrono::TimeDelta::from_std(new.before).unwrap_or_default();
            let held = match room.preroll.since(from) {
                Some(frames) => Some((frames, None)),
                // The stream has run for less than `before` (its pre-roll starts after
                // `from`): without recordings to reach further back, the clip holds what
                // there is, and says so.
                None if !stream.record => room.preroll.all().filter(|f| f[0].wallclock > from).map(
                    |frames| {
                        let late = (frames[0].wallclock - from).num_milliseconds() as f64 / 1000.0;
                        let note = format!(
                            "the stream had been live only since {}: the clip starts {late:.1} s late",
                            frames[0]
                                .wallclock
                                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                        );
                        (frames, Some(note))
                    },
                ),
                None => None,
            };
            let task = v.clone();
            let b = bookmark.clone();
            v.inner.bookmarks.spawn(async move {
                task.make_clip(b, Some((held, live))).await;
            });
            Ok(bookmark)
        })
        .await
    }

    /// Bookmarks matching a query (stream, moment range, limit), oldest first (by moment) or
    /// newest first, as the query asks.
    #[call(rest = "GET /api/v1/bookmarks")]
    pub async fn bookmarks(&self, query: ListQuery) -> Result<Vec<Bookmark>> {
        self.run(|v| async move { v.inner.store.list_bookmarks(query).await })
            .await
    }

    /// One bookmark (`NotFound` if unknown).
    #[call(rest = "GET /api/v1/bookmarks/{id}")]
    pub async fn bookmark(&self, id: BookmarkId) -> Result<Bookmark> {
        self.run(move |v| async move { v.inner.store.get_bookmark(id).await })
            .await
    }

    /// The file of a ready bookmark's clip. `NotFound` if unknown; `FailedPrecondition`
    /// while pending or when it failed (the message says why).
    #[call(rest = "GET /api/v1/bookmarks/{id}/clip.mp4")]
    pub async fn bookmark_clip(&self, id: BookmarkId) -> Result<PathBuf> {
        self.run(move |v| async move {
            let b = v.inner.store.get_bookmark(id).await?;
            match (b.state, &b.clip_location) {
                (BookmarkState::Ready, Some(location)) => v.inner.layout.resolve(location),
                (BookmarkState::Failed, _) => Err(Error::new(
                    ErrorKind::FailedPrecondition,
                    format!(
                        "the bookmark's clip could not be made: {}",
                        b.detail.as_deref().unwrap_or("no reason given")
                    ),
                )),
                _ => Err(Error::new(
                    ErrorKind::FailedPrecondition,
                    "the bookmark's clip is not ready yet",
                )),
            }
        })
        .await
    }

    /// Deletes a bookmark: its row, then its clip. `NotFound` if unknown.
    #[call(rest = "DELETE /api/v1/bookmarks/{id}")]
    pub async fn delete_bookmark(&self, id: BookmarkId) -> Result<()> {
        self.run(move |v| async move {
            let b = v.inner.store.get_bookmark(id).await?;
            v.inner.store.delete_bookmark(id).await?;
            v.remove_clip(b.stream_id, id).await;
            info!(bookmark = %id, "bookmark deleted");
            Ok(())
        })
        .await
    }

    /// Finishes, from the recordings, the bookmarks a stop left pending.
    pub(super) async fn resume_bookmarks(&self) -> Result<()> {
        for s in self.inner.store.list_streams(None).await? {
            let pending = self
                .inner
                .store
                .pending_bookmarks_overlapping(s.id, DateTime::UNIX_EPOCH, None)
                .await?;
            for b in pending {
                info!(bookmark = %b.id, "finishing a bookmark left pending by a restart");
                let task = self.clone();
                self.inner.bookmarks.spawn(async move {
                    task.make_clip(b, None).await;
                });
            }
        }
        Ok(())
    }

    fn announce(&self, b: &Bookmark) {
        self.inner.events.publish(Event::Bookmark {
            stream_id: b.stream_id,
            bookmark_id: b.id,
            state: b.state,
            detail: b.detail.clone(),
            at: self.inner.clock.now_utc(),
        });
    }

    /// Makes a bookmark's clip and records the outcome. `live` holds the pre-roll (if it
    /// reached back far enough) and a live subscription taken when the bookmark was made.
    async fn make_clip(&self, b: Bookmark, live: Option<(HeldFrames, crate::hub::Subscription)>) {
        let outcome = self.clip_frames(&b, live).await;
        let result = match outcome {
            Ok((frames, short)) => self.write_clip(&b, frames, short).await,
            Err(e) => Err(e),
        };
        let (state, location, detail) = match result {
            Ok((location, detail)) => (BookmarkState::Ready, Some(location), detail),
            Err(e) => {
                warn!(bookmark = %b.id, error = %e, "a bookmark's clip could not be made");
                (BookmarkState::Failed, None, Some(e.message().to_owned()))
            }
        };
        match self
            .inner
            .store
            .update_bookmark(b.id, state, location.as_deref(), detail.as_deref())
            .await
        {
            Ok(done) => {
                info!(bookmark = %b.id, state = done.state.as_str(), "bookmark finished");
                self.announce(&done);
            }
            Err(e) => {
                // Deleted meanwhile (or the store is down: the next start tries again).
                if e.kind() == ErrorKind::NotFound {
                    self.remove_clip(b.stream_id, b.id).await;
                } else {
                    warn!(bookmark = %b.id, error = %e, "a bookmark's outcome could not be stored");
                }
            }
        }
    }

    /// The frames of a bookmark's clip and, if they end early, what is missing.
    async fn clip_frames(
        &self,
        b: &Bookmark,
        live: Option<(HeldFrames, crate::hub::Subscription)>,
    ) -> Result<(Vec<Frame>, Option<String>)> {
        let before = chrono::TimeDelta::from_std(b.before).unwrap_or_default();
        let after = chrono::TimeDelta::from_std(b.after).unwrap_or_default();
        let (from, until) = (b.at - before, b.at + after);
        if let Some((Some((held, late)), mut sub)) = live {
            let (frames, complete) = bookmark::collect_live(
                held,
                &mut sub,
                until,
                self.inner.bookmarks.config.grace,
                MAX_CLIP_BYTES,
            )
            .await;
            let short = (!complete).then(|| {
                let last = frames
                    .iter()
                    .rev()
                    .find(|f| f.is_video())
                    .map(|f| f.wallclock);
                match last {
                    Some(t) => format!(
                        "the camera stopped sending at {}: the clip ends {:.1} s early",
                        t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        (until - t).num_milliseconds() as f64 / 1000.0
                    ),
                    None => "the camera sent nothing".to_owned(),
                }
            });
            let notes: Vec<String> = late.into_iter().chain(short).collect();
            return Ok((frames, (!notes.is_empty()).then(|| notes.join("; "))));
        }
        // From the recordings, once what the clip needs has been written.
        let wait = (until - self.inner.clock.now_utc())
            .to_std()
            .unwrap_or_default();
        if !wait.is_zero() {
            tokio::time::sleep(wait + self.inner.recorder.target_duration + RECORDING_SETTLE).await;
        }
        let recorded = self.recorded_frames(b.stream_id, from, until).await.map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                Error::not_found(
                    "the moment is neither in memory nor recorded (the stream does not record, or the recordings were removed)",
                )
            } else {
                e
            }
        })?;
        Ok((recorded.frames, None))
    }

    /// Writes the clip file (a temporary file, synced, renamed into place); its location and
    /// what it lacks, if anything.
    async fn write_clip(
        &self,
        b: &Bookmark,
        frames: Vec<Frame>,
        short: Option<String>,
    ) -> Result<(String, Option<String>)> {
        let location = clip_location(b.stream_id, b.id);
        let path = self.inner.layout.resolve(&location)?;
        let fs = self.inner.fs.clone();
        let (at, before, after) = (b.at, b.before, b.after);
        let info = tokio::task::spawn_blocking(move || -> Result<crate::mp4::ClipInfo> {
            let io = |e: std::io::Error| Error::from(e).context("cannot write the clip file");
            if let Some(dir) = path.parent() {
                fs.create_dir_all(dir).map_err(io)?;
            }
            let tmp = MediaLayout::temp_path(&path);
            let file = fs.create(&tmp).map_err(io)?;
            let mut out = std::io::BufWriter::with_capacity(CLIP_WRITE_BUFFER, ClipFile(file));
            let written = bookmark::write_clip(&frames, at, before, after, &mut out)
                .and_then(|info| {
                    let mut file = out.into_inner().map_err(|e| io(e.into_error()))?;
                    file.0.sync().map_err(io)?;
                    Ok(info)
                })
                .and_then(|info| fs.rename(&tmp, &path).map(|()| info).map_err(io));
            if written.is_err() {
                let _ = fs.remove_file(&tmp);
            }
            let info = written?;
            if let Some(dir) = path.parent() {
                fs.sync_dir(dir).map_err(io)?;
            }
            Ok(info)
        })
        .await
        .map_err(|e| Error::internal(format!("writing a clip failed: {e}")))??;
        let mut notes: Vec<String> = short.into_iter().collect();
        for d in &info.dropped {
            notes.push(format!(
                "{} {:?} audio frames left out (MP4 clips carry AAC audio only)",
                d.frames, d.codec
            ));
        }
        Ok((location, (!notes.is_empty()).then(|| notes.join("; "))))
    }

    async fn remove_clip(&self, stream: StreamId, id: BookmarkId) {
        self.remove_media_file(&clip_location(stream, id)).await;
    }
}

/// The pre-roll's frames a bookmark starts from, and what they lack at the start, if
/// anything (`None`: the pre-roll cannot serve it).
type HeldFrames = Option<(Vec<Frame>, Option<String>)>;

/// Where a bookmark's clip goes, relative to the media folder.
fn clip_location(stream: StreamId, id: BookmarkId) -> String {
    format!("{stream}/{CLIP_DIR_NAME}/{id}.mp4")
}

/// A media file as an [`std::io::Write`] (each write one append).
struct ClipFile(Box<dyn MediaFile>);

impl Write for ClipFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.append(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
