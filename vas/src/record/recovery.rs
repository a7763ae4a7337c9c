//! Crash recovery: at start-up, make the `recordings` rows and the recording folders match.
//!
//! Owns repairing what a crash (or a power cut, or a kill) leaves behind: every open row
//! gets a closed playlist covering what is on disk — the playlist read back, plus a trailing
//! segment the playlist did not list yet (cut to whole packets and whole frames, its
//! duration read from its timestamps, dropped without a complete video frame) — then
//! `#EXT-X-ENDLIST`, and its row closed with the real end and size. Rows whose files are gone
//! are deleted; recording folders without a row (a crash between file and row) are deleted.
//! Afterwards rows and folders match exactly.
//!
//! It must run before any recorder of the media folder starts (every open row is taken for a
//! crashed one). It must never delete anything that is not a recording folder or file (other
//! media, such as snapshots, lives beside them), and never a file a row still points to.
//! A row goes before its files.

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::fs::{EntryKind, MediaFs, read_to_string_bounded, replace_file};
use super::layout::{MediaLayout, PLAYLIST_FILE_NAME, TEMP_FILE_SUFFIX};
use super::playlist::{
    MAX_PLAYLIST_BYTES, MediaPlaylist, PlaylistSegment, PlaylistType, segment_end,
};
use super::recorder::recording_end;
use super::segmenter::DEFAULT_TARGET_DURATION;
use super::ts::TS_PACKET_LEN;
use super::ts_scan::{MAX_SCAN_BYTES, scan_segment};
use crate::model::{Recording, RecordingId};
use crate::store::Store;
use crate::{Error, ErrorKind, Result};

/// What [`recover`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecoveryReport {
    /// Open recordings closed with a rebuilt playlist.
    pub closed: Vec<RecordingId>,
    /// Rows deleted because their files were gone (or held no usable media).
    pub rows_deleted: Vec<RecordingId>,
    /// Recording folders deleted because no row pointed at them.
    pub folders_deleted: Vec<PathBuf>,
    /// Segment files the playlists did not list yet, added.
    pub segments_added: u64,
    /// Segments dropped: listed but missing, without a complete video frame, or stray.
    pub segments_dropped: u64,
    /// Bytes cut off the ends of segments (partial packets and frames).
    pub bytes_cut: u64,
    /// Recordings that could not be repaired (left as they were), with why.
    pub failed: Vec<(RecordingId, String)>,
}

/// How a recording folder was rebuilt.
#[derive(Debug)]
enum Rebuilt {
    /// A closed playlist was written; the recording's files total `bytes`.
    Closed { playlist: MediaPlaylist, bytes: u64 },
    /// Nothing usable is left.
    Empty,
}

#[derive(Debug, Default)]
struct Counts {
    added: u64,
    dropped: u64,
    cut: u64,
}

/// Repairs the media folder and the rows after a crash; see the module docs.
///
/// Store failures end recovery with that error (nothing is lost: run it again); a folder that
/// cannot be repaired is reported in [`RecoveryReport::failed`] and left as it was.
pub async fn recover(
    store: &dyn Store,
    layout: &MediaLayout,
    fs: &Arc<dyn MediaFs>,
) -> Result<RecoveryReport> {
    let mut report = RecoveryReport::default();
    for row in store.open_recordings().await? {
        recover_open(store, layout, fs, &row, &mut report).await?;
    }
    for stream in store.list_streams(None).await? {
        reconcile_stream(store, layout, fs, stream.id, &mut report).await?;
    }
    info!(
        closed = report.closed.len(),
        rows_deleted = report.rows_deleted.len(),
        folders_deleted = report.folders_deleted.len(),
        segments_added = report.segments_added,
        segments_dropped = report.segments_dropped,
        bytes_cut = report.bytes_cut,
        failed = report.failed.len(),
        "media folder recovered"
    );
    Ok(report)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("recovery file task failed: {e}")))
}

/// Deletes a row, then its folder.
async fn delete_recording(
    store: &dyn Store,
    fs: &Arc<dyn MediaFs>,
    id: RecordingId,
    dir: Option<PathBuf>,
    report: &mut RecoveryReport,
) -> Result<()> {
    match store.delete_recording(id).await {
        Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
        _ => report.rows_deleted.push(id),
    }
    if let Some(dir) = dir {
        let fs = fs.clone();
        let removed = blocking(move || match fs.remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        })
        .await?;
        if let Err(e) = removed {
            warn!(recording = %id, error = %e, "row deleted but its folder could not be removed");
        }
    }
    Ok(())
}

async fn recover_open(
    store: &dyn Store,
    layout: &MediaLayout,
    fs: &Arc<dyn MediaFs>,
    row: &Recording,
    report: &mut RecoveryReport,
) -> Result<()> {
    if row.location != layout.recording_location(row.stream_id, row.id) {
        // Not a folder of ours: repairing it could touch files that are not recordings.
        warn!(recording = %row.id, location = %row.location, "open recording outside the layout; left open");
        report.failed.push((
            row.id,
            format!("location {:?} is not in the recording layout", row.location),
        ));
        return Ok(());
    }
    let playlist_path = match layout.resolve(&row.location) {
        Ok(p) => p,
        Err(e) => {
            // A location we would not write: nothing on disk can be trusted for it.
            warn!(recording = %row.id, error = %e, "open recording with an unusable location; deleting its row");
            return delete_recording(store, fs, row.id, None, report).await;
        }
    };
    let Some(dir) = playlist_path.parent().map(Path::to_path_buf) else {
        return delete_recording(store, fs, row.id, None, report).await;
    };
    let (fs2, dir2, start) = (fs.clone(), dir.clone(), row.start);
    let rebuilt = blocking(move || {
        let mut counts = Counts::default();
        let r = rebuild(&*fs2, &dir2, start, &mut counts);
        (r, counts)
    })
    .await?;
    let (rebuilt, counts) = rebuilt;
    report.segments_added += counts.added;
    report.segments_dropped += counts.dropped;
    report.bytes_cut += counts.cut;
    match rebuilt {
        Ok(Rebuilt::Closed { playlist, bytes }) => {
            let end = recording_end(row.start, &playlist);
            store.update_recording(row.id, Some(end), bytes).await?;
            info!(recording = %row.id, %end, bytes, segments = playlist.segments.len(), "open recording closed");
            report.closed.push(row.id);
        }
        Ok(Rebuilt::Empty) => {
            info!(recording = %row.id, "open recording has no media left; deleting it");
            delete_recording(store, fs, row.id, Some(dir), report).await?;
        }
        Err(e) => {
            warn!(recording = %row.id, error = %e, "cannot repair a recording; leaving it open");
            report.failed.push((row.id, e.message().to_owned()));
        }
    }
    Ok(())
}

fn io_error(e: io::Error, what: &str, path: &Path) -> Error {
    Error::from(e).context(format_args!("cannot {what} {}", path.display()))
}

/// Rebuilds one recording folder's closed playlist from what is on disk (blocking).
fn rebuild(
    fs: &dyn MediaFs,
    dir: &Path,
    start: DateTime<Utc>,
    counts: &mut Counts,
) -> Result<Rebuilt> {
    let entries = match fs.list_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Rebuilt::Empty),
        Err(e) => return Err(io_error(e, "list", dir)),
    };
    let mut files: BTreeMap<u64, (String, u64)> = BTreeMap::new();
    let mut has_playlist = false;
    for e in entries.into_iter().filter(|e| e.kind == EntryKind::File) {
        if let Some(seq) = MediaLayout::parse_segment_name(&e.name) {
            files.insert(seq, (e.name, e.len));
        } else if e.name == PLAYLIST_FILE_NAME {
            has_playlist = true;
        } else if e.name.ends_with(TEMP_FILE_SUFFIX) {
            // A playlist write cut short: the renamed-into-place one is intact.
            let _ = fs.remove_file(&dir.join(&e.name));
        }
    }

    let playlist_path = dir.join(PLAYLIST_FILE_NAME);
    let parsed = if has_playlist {
        match read_to_string_bounded(fs, &playlist_path, MAX_PLAYLIST_BYTES as u64)
            .map_err(|e| io_error(e, "read", &playlist_path))
            .and_then(|text| MediaPlaylist::parse(&text))
        {
            Ok(p) => Some(p),
            Err(e) => {
                warn!(playlist = %playlist_path.display(), error = %e, "unreadable playlist; rebuilding it from the segments");
                None
            }
        }
    } else {
        None
    };
    let mut base = parsed.unwrap_or_else(|| {
        let mut p = MediaPlaylist::event(DEFAULT_TARGET_DURATION.as_secs().max(1));
        p.media_sequence = files.keys().next().copied().unwrap_or(0);
        p
    });

    // Listed segments: kept while their files exist.
    let mut kept: Vec<PlaylistSegment> = Vec::with_capacity(base.segments.len() + 1);
    let mut listed: HashSet<u64> = HashSet::new();
    let mut last_listed: Option<u64> = None;
    let mut gap = false;
    for mut s in std::mem::take(&mut base.segments) {
        let seq = MediaLayout::parse_segment_name(&s.uri);
        if let Some(seq) = seq {
            listed.insert(seq);
            last_listed = last_listed.max(Some(seq));
        }
        match seq.and_then(|q| files.get(&q)) {
            Some((_, len)) if *len > 0 => {
                s.discontinuity |= gap && !kept.is_empty();
                gap = false;
                kept.push(s);
            }
            _ => {
                counts.dropped += 1;
                gap = true;
            }
        }
    }

    // Files the playlist does not list: the trailing ones were being written; any other is
    // stray.
    for (&seq, (name, len)) in &files {
        if listed.contains(&seq) {
            continue;
        }
        let path = dir.join(name);
        if last_listed.is_some_and(|last| seq <= last) {
            counts.dropped += 1;
            let _ = fs.remove_file(&path);
            continue;
        }
        match recover_trailing(fs, &path, *len, counts)? {
            Some(duration_secs) => {
                let program_date_time = match kept.last() {
                    Some(prev) => prev
                        .program_date_time
                        .map(|t| segment_end(t, prev.duration_secs)),
                    None => Some(start),
                };
                kept.push(PlaylistSegment {
                    uri: name.clone(),
                    duration_secs,
                    program_date_time,
                    discontinuity: gap && !kept.is_empty(),
                });
                gap = false;
                counts.added += 1;
            }
            None => {
                counts.dropped += 1;
                gap = true;
                fs.remove_file(&path)
                    .map_err(|e| io_error(e, "remove", &path))?;
            }
        }
    }

    if kept.is_empty() {
        return Ok(Rebuilt::Empty);
    }
    let mut segment_bytes = 0;
    for s in &kept {
        let path = dir.join(&s.uri);
        segment_bytes += fs
            .file_len(&path)
            .map_err(|e| io_error(e, "measure", &path))?;
    }
    base.segments = kept;
    base.ended = true;
    base.playlist_type.get_or_insert(PlaylistType::Event);
    let text = base.render();
    replace_file(
        fs,
        &playlist_path,
        &MediaLayout::temp_path(&playlist_path),
        text.as_bytes(),
        true,
    )
    .map_err(|e| io_error(e, "write", &playlist_path))?;
    Ok(Rebuilt::Closed {
        bytes: segment_bytes + text.len() as u64,
        playlist: base,
    })
}

/// Cuts a segment that was being written to whole packets and whole frames; returns its
/// duration, or `None` if it holds no complete video frame.
fn recover_trailing(
    fs: &dyn MediaFs,
    path: &Path,
    len: u64,
    counts: &mut Counts,
) -> Result<Option<f64>> {
    let whole = len - len % TS_PACKET_LEN as u64;
    let mut reader = fs.open_read(path).map_err(|e| io_error(e, "open", path))?;
    let scan = scan_segment(&mut reader, MAX_SCAN_BYTES.min(whole))
        .map_err(|e| io_error(e, "read", path))?;
    let Some(duration) = scan.duration_secs() else {
        return Ok(None);
    };
    if scan.usable_len < len {
        fs.truncate(path, scan.usable_len)
            .map_err(|e| io_error(e, "cut", path))?;
        counts.cut += len - scan.usable_len;
    }
    Ok(Some(duration))
}

/// Makes one stream's rows and recording folders match.
async fn reconcile_stream(
    store: &dyn Store,
    layout: &MediaLayout,
    fs: &Arc<dyn MediaFs>,
    stream: crate::model::StreamId,
    report: &mut RecoveryReport,
) -> Result<()> {
    let ids: HashSet<RecordingId> = store.recording_ids(stream).await?.into_iter().collect();
    let stream_dir = layout.stream_dir(stream);
    let fs2 = fs.clone();
    let ids2 = ids.clone();
    // (folders with a row whose playlist exists, orphan folders removed, folders left alone)
    let (present, removed, alien) = blocking(move || -> Result<_> {
        let entries = match fs2.list_dir(&stream_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_error(e, "list", &stream_dir)),
        };
        let mut present = HashSet::new();
        let mut removed = Vec::new();
        let mut alien = Vec::new();
        for e in entries.into_iter().filter(|e| e.kind == EntryKind::Dir) {
            let Ok(id) = e.name.parse::<RecordingId>() else {
                continue; // not a recording folder (snapshots, clips, …)
            };
            let dir = stream_dir.join(&e.name);
            if ids2.contains(&id) {
                if fs2.file_len(&dir.join(PLAYLIST_FILE_NAME)).is_ok() {
                    present.insert(id);
                }
                continue;
            }
            let contents = fs2.list_dir(&dir).map_err(|e| io_error(e, "list", &dir))?;
            let ours = contents
                .iter()
                .all(|c| c.kind == EntryKind::File && MediaLayout::is_recording_file_name(&c.name));
            if ours {
                fs2.remove_dir_all(&dir)
                    .map_err(|e| io_error(e, "remove", &dir))?;
                removed.push(dir);
            } else {
                alien.push(dir);
            }
        }
        Ok((present, removed, alien))
    })
    .await??;
    for dir in alien {
        warn!(folder = %dir.display(), "a folder named like a recording holds other files; left alone");
    }
    for dir in &removed {
        info!(folder = %dir.display(), "recording folder without a row deleted");
    }
    report.folders_deleted.extend(removed);
    for id in ids.difference(&present) {
        // The layout's folder is missing (or lacks its playlist): check where the row says.
        let row = match store.get_recording(*id).await {
            Ok(r) => r,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let exists = match layout.resolve(&row.location) {
            Ok(path) => {
                let fs = fs.clone();
                blocking(move || fs.file_len(&path).is_ok()).await?
            }
            Err(_) => false,
        };
        if !exists {
            info!(recording = %id, "recording whose files are gone; deleting its row");
            // The folder named by the recording under its stream is ours to remove.
            let dir = Some(layout.recording_dir(stream, *id));
            delete_recording(store, fs, *id, dir, report).await?;
        }
    }
    Ok(())
}
