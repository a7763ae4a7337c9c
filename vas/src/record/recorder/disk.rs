//! The disk side of a recorder: the files of one recording, written on the blocking side.
//!
//! Owns: [`RecordingDisk`] (the recording folder, its segment files and its EVENT playlist,
//! all through the [`MediaFs`] seam), the batches of file work the task hands it ([`Op`]),
//! cutting a torn frame off after a failed append, fsync under the [`FsyncPolicy`], the
//! playlist's atomic replacement (temporary file, then rename), and removing a recording's
//! folder. It must never touch the store, the hub, the clock or a task: it is called from
//! tokio's blocking pool and from the segment writer's thread, and only reports results.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use tracing::warn;

use crate::record::fs::{MediaFile, MediaFs, replace_file};
use crate::record::layout::{MediaLayout, PLAYLIST_FILE_NAME};
use crate::record::playlist::MediaPlaylist;
use crate::record::ts_scan::{MAX_SCAN_BYTES, scan_segment};
use crate::{Error, Result};

/// When the recorder forces data to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FsyncPolicy {
    /// Never: the OS writes back on its own schedule (a power cut may lose its last seconds;
    /// crash recovery repairs the files).
    #[default]
    Never,
    /// fsync each segment when it closes, and each playlist (and its folder) when written.
    EverySegment,
}

fn io_error(e: io::Error, what: &str, path: &Path) -> Error {
    Error::from(e).context(format_args!("cannot {what} {}", path.display()))
}

/// What one batch of file work does, in order.
#[derive(Debug)]
pub(crate) enum Op {
    /// Create the recording folder and its (empty) playlist.
    Create { playlist: String },
    /// Open a new segment file.
    Start { uri: String },
    /// Append one frame's bytes to the open segment.
    Append(Bytes),
    /// The open segment is complete.
    Close,
    /// Write the playlist.
    Playlist(String),
}

/// What a batch did before it finished or failed.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    pub(crate) created: bool,
    pub(crate) closed: u64,
    pub(crate) bytes: u64,
    pub(crate) frames: u64,
    pub(crate) error: Option<Error>,
}

#[derive(Debug)]
struct OpenSegment {
    uri: String,
    path: PathBuf,
    file: Box<dyn MediaFile>,
    /// Bytes of whole frames in the file.
    len: u64,
}

/// The files of one recording (blocking side).
#[derive(Debug)]
pub(crate) struct RecordingDisk {
    fs: Arc<dyn MediaFs>,
    dir: PathBuf,
    fsync: FsyncPolicy,
    open: Option<OpenSegment>,
    /// Every segment started: whole-frame bytes on disk, and whether its tail could not be
    /// cut back after a failed write (then it is not kept).
    segments: BTreeMap<String, (u64, bool)>,
    /// The segment whose append failed (cut back to whole frames): it holds fewer frames
    /// than the playlist says, since frames queued after the failure were dropped.
    short: Option<String>,
    playlist_len: u64,
}

impl RecordingDisk {
    /// The files of a recording in `dir`, none written yet.
    pub(crate) fn new(fs: Arc<dyn MediaFs>, dir: PathBuf, fsync: FsyncPolicy) -> Self {
        RecordingDisk {
            fs,
            dir,
            fsync,
            open: None,
            segments: BTreeMap::new(),
            short: None,
            playlist_len: 0,
        }
    }

    /// Whole-frame bytes of a segment on disk, and whether its tail could not be cut back.
    #[cfg(test)]
    pub(crate) fn segment(&self, uri: &str) -> Option<(u64, bool)> {
        self.segments.get(uri).copied()
    }

    /// The segment cut back after a failed append, if any.
    #[cfg(test)]
    pub(crate) fn short(&self) -> Option<&str> {
        self.short.as_deref()
    }

    fn playlist_path(&self) -> PathBuf {
        self.dir.join(PLAYLIST_FILE_NAME)
    }

    /// Bytes of the recording's files.
    pub(crate) fn bytes(&self) -> u64 {
        self.segments.values().map(|(len, _)| len).sum::<u64>() + self.playlist_len
    }

    pub(crate) fn apply(&mut self, ops: Vec<Op>) -> Applied {
        let mut applied = Applied::default();
        for op in ops {
            let result = match op {
                Op::Create { playlist } => self.create(&playlist).map(|()| applied.created = true),
                Op::Start { uri } => self.start(uri),
                Op::Append(bytes) => self.append(&bytes).map(|()| {
                    applied.bytes += bytes.len() as u64;
                    applied.frames += 1;
                }),
                Op::Close => self.close().map(|()| applied.closed += 1),
                Op::Playlist(text) => self.write_playlist(&text),
            };
            if let Err(e) = result {
                applied.error = Some(e);
                break;
            }
        }
        applied
    }

    pub(crate) fn create(&mut self, playlist: &str) -> Result<()> {
        self.fs
            .create_dir_all(&self.dir)
            .map_err(|e| io_error(e, "create recording folder", &self.dir))?;
        self.write_playlist(playlist)
    }

    pub(crate) fn start(&mut self, uri: String) -> Result<()> {
        self.open = None;
        let path = self.dir.join(&uri);
        let file = self
            .fs
            .create(&path)
            .map_err(|e| io_error(e, "create segment", &path))?;
        self.segments.insert(uri.clone(), (0, false));
        self.open = Some(OpenSegment {
            uri,
            path,
            file,
            len: 0,
        });
        Ok(())
    }

    /// Appends one frame's bytes to the open segment; on failure cuts the torn frame off.
    pub(crate) fn append(&mut self, bytes: &[u8]) -> Result<()> {
        let Some(seg) = &mut self.open else {
            return Err(Error::internal("segment bytes without an open segment"));
        };
        match seg.file.append(bytes) {
            Ok(()) => {
                seg.len += bytes.len() as u64;
                self.segments.insert(seg.uri.clone(), (seg.len, false));
                Ok(())
            }
            Err(e) => {
                // Cut the torn frame off so the segment still ends on a whole frame.
                if let Err(cut) = seg.file.truncate(seg.len) {
                    warn!(segment = %seg.path.display(), error = %cut, "cannot cut a torn frame off");
                    self.segments.insert(seg.uri.clone(), (seg.len, true));
                } else {
                    self.short = Some(seg.uri.clone());
                }
                let err = io_error(e, "write segment", &seg.path);
                self.open = None;
                Err(err)
            }
        }
    }

    fn close(&mut self) -> Result<()> {
        if let Some(mut seg) = self.open.take()
            && self.fsync == FsyncPolicy::EverySegment
        {
            seg.file
                .sync()
                .map_err(|e| io_error(e, "sync segment", &seg.path))?;
        }
        Ok(())
    }

    /// Writes the playlist atomically: a temporary file, renamed over the old one.
    pub(crate) fn write_playlist(&mut self, text: &str) -> Result<()> {
        let path = self.playlist_path();
        let sync = self.fsync == FsyncPolicy::EverySegment;
        replace_file(
            &*self.fs,
            &path,
            &MediaLayout::temp_path(&path),
            text.as_bytes(),
            sync,
        )
        .map_err(|e| io_error(e, "write playlist", &path))?;
        self.playlist_len = text.len() as u64;
        Ok(())
    }

    /// Drops from `playlist` the segments without whole frames on disk (removing their
    /// files) and marks it ended.
    pub(crate) fn prepare_end(&mut self, playlist: &mut MediaPlaylist) {
        self.open = None;
        let mut dropped_before = false;
        let mut kept = Vec::with_capacity(playlist.segments.len());
        for mut s in std::mem::take(&mut playlist.segments) {
            let mut usable =
                matches!(self.segments.get(&s.uri), Some(&(len, torn)) if len > 0 && !torn);
            if usable && self.short.as_ref() == Some(&s.uri) {
                // Its duration is what made it to disk.
                match self.duration_on_disk(&s.uri) {
                    Some(secs) => s.duration_secs = secs,
                    None => usable = false,
                }
            }
            if usable {
                s.discontinuity |= dropped_before && !kept.is_empty();
                dropped_before = false;
                kept.push(s);
            } else {
                dropped_before = true;
                let _ = self.fs.remove_file(&self.dir.join(&s.uri));
                self.segments.remove(&s.uri);
            }
        }
        playlist.segments = kept;
        playlist.ended = true;
    }

    /// The duration of the whole frames in a segment file, read back.
    fn duration_on_disk(&self, uri: &str) -> Option<f64> {
        let path = self.dir.join(uri);
        let len = self.segments.get(uri).map_or(0, |&(len, _)| len);
        let scan = self
            .fs
            .open_read(&path)
            .and_then(|mut r| scan_segment(&mut r, MAX_SCAN_BYTES.min(len)));
        match scan {
            Ok(scan) => scan.duration_secs(),
            Err(e) => {
                warn!(segment = %path.display(), error = %e, "cannot read a cut segment back");
                None
            }
        }
    }

    pub(crate) fn remove_all(&self) -> Result<()> {
        match self.fs.remove_dir_all(&self.dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(io_error(e, "remove recording folder", &self.dir))
            }
            _ => Ok(()),
        }
    }
}
