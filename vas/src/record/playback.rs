//! Playback: one VOD playlist for a stream's time range, stitched from its recordings.
//!
//! Owns: finding the recordings that overlap the range, reading each one's playlist back
//! (bounded by [`MAX_PLAYLIST_READ`], on tokio's blocking pool, through the [`MediaFs`]
//! seam), keeping the segments that overlap the range (a segment starts at its program date
//! time, or where the one before it ended, and ends by [`segment_end`]), pointing their URIs
//! at the media folder, and a discontinuity between recordings. It must never write a file or
//! a row; a recording whose playlist is gone (retention deleted it meanwhile) is skipped, not
//! an error. Whether the stream exists and the engine is open is the caller's to check.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::fs::{MediaFs, read_to_string_bounded};
use super::layout::MediaLayout;
use super::playlist::{MediaPlaylist, PlaylistSegment, segment_end};
use crate::model::ListQuery;
use crate::model::StreamId;
use crate::store::{self, Store};
use crate::{Error, Result};

/// Largest playlist file playback reads back.
pub(crate) const MAX_PLAYLIST_READ: u64 = 4 * 1024 * 1024;

/// A VOD playlist for `stream` between `from` and `to`, across recordings, with a
/// discontinuity between recordings. Segment URIs are `uri_prefix` + their location under the
/// media folder. `NotFound` when nothing was recorded in the range.
pub(crate) async fn playback_playlist(
    store: &dyn Store,
    layout: &MediaLayout,
    fs: &Arc<dyn MediaFs>,
    stream: StreamId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    uri_prefix: &str,
) -> Result<MediaPlaylist> {
    let range = ListQuery {
        limit: store::MAX_LIST_LIMIT,
        ..ListQuery::stream(stream).between(from, to)
    };
    let recordings = store.list_recordings(range).await?;
    let mut groups = Vec::new();
    for rec in recordings {
        let path = layout.resolve(&rec.location)?;
        let fs = fs.clone();
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
            let end = segment_end(start, seg.duration_secs);
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
