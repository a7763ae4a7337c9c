//! Where recordings live on disk, and turning stored relative paths back into safe ones.
//!
//! Owns the media folder layout of recordings,
//! `<media>/<stream_id>/<recording_id>/index.m3u8` beside `segment-NNNNNNNN.ts`, the
//! relative locations stored in rows (always `/`-separated, relative to the media folder),
//! and [`resolve_media_path`], which maps such a location to a path that cannot leave the
//! media folder (no `..`, no absolute paths, no symbolic link pointing outside). It must never
//! create, read or delete anything: it only names paths (and inspects existing ones to resolve
//! symbolic links).

use std::io;
use std::path::{Component, Path, PathBuf};

use crate::model::{RecordingId, StreamId};
use crate::{Error, ErrorKind, Result};

/// File name of a recording's playlist.
pub const PLAYLIST_FILE_NAME: &str = "index.m3u8";

/// Suffix of the temporary file a playlist is written to before it is renamed into place.
pub const TEMP_FILE_SUFFIX: &str = ".tmp";

/// File name prefix of segments (followed by the zero-padded sequence number).
pub const SEGMENT_FILE_PREFIX: &str = super::segmenter::DEFAULT_SEGMENT_PREFIX;

/// File name extension of segments.
pub const SEGMENT_FILE_SUFFIX: &str = ".ts";

/// Longest relative location [`resolve_media_path`] accepts, in bytes.
pub const MAX_LOCATION_LEN: usize = 1024;
/// Longest single name (file or folder) a location may have: what Linux filesystems hold.
pub const MAX_NAME_BYTES: usize = 255;

/// The layout of recordings under one media folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLayout {
    root: PathBuf,
}

impl MediaLayout {
    /// The layout under media folder `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        MediaLayout { root: root.into() }
    }

    /// The media folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of one stream's media.
    pub fn stream_dir(&self, stream: StreamId) -> PathBuf {
        self.root.join(stream.to_string())
    }

    /// The folder of one recording.
    pub fn recording_dir(&self, stream: StreamId, recording: RecordingId) -> PathBuf {
        self.stream_dir(stream).join(recording.to_string())
    }

    /// The playlist's location as stored in the recording's row (relative to the media
    /// folder).
    pub fn recording_location(&self, stream: StreamId, recording: RecordingId) -> String {
        format!("{stream}/{recording}/{PLAYLIST_FILE_NAME}")
    }

    /// A stored location resolved safely under the media folder; see [`resolve_media_path`].
    pub fn resolve(&self, location: &str) -> Result<PathBuf> {
        resolve_media_path(&self.root, location)
    }

    /// The temporary file a file is first written to (`<name>.tmp`, same folder).
    pub fn temp_path(path: &Path) -> PathBuf {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(TEMP_FILE_SUFFIX);
        path.with_file_name(name)
    }

    /// The sequence number of a segment file name (`segment-00000042.ts` → 42), or `None`
    /// for any other name.
    pub fn parse_segment_name(name: &str) -> Option<u64> {
        let digits = name
            .strip_prefix(SEGMENT_FILE_PREFIX)?
            .strip_suffix(SEGMENT_FILE_SUFFIX)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }

    /// Whether `name` is a file a recording folder may hold: its playlist, a temporary
    /// playlist, or a segment.
    pub fn is_recording_file_name(name: &str) -> bool {
        name == PLAYLIST_FILE_NAME
            || name
                .strip_suffix(TEMP_FILE_SUFFIX)
                .is_some_and(|n| n == PLAYLIST_FILE_NAME)
            || Self::parse_segment_name(name).is_some()
    }
}

/// Resolves `location`, a `/`-separated path relative to `media_dir` as stored in rows, to
/// a path inside `media_dir`.
///
/// Refused with `InvalidInput`: an empty or overlong location, an absolute one, one with
/// `..`, `.` or empty components, backslashes, colons or NUL. Refused with
/// `PermissionDenied`: a location whose existing part leads, through symbolic links, outside
/// the media folder, or ends in a dangling symbolic link. `NotFound` when the media folder
/// itself does not exist. The location need not exist; when part of it does, the returned
/// path has that part canonicalized.
///
/// A symbolic link created after this check can still redirect a later open (a race this
/// cannot close); the media folder must not be writable by untrusted users.
pub fn resolve_media_path(media_dir: &Path, location: &str) -> Result<PathBuf> {
    check_location_syntax(location)?;
    // A component no filesystem can hold names nothing (not a server error).
    if location.split('/').any(|c| c.len() > MAX_NAME_BYTES) {
        return Err(Error::not_found(format!(
            "no media file has a name longer than {MAX_NAME_BYTES} bytes"
        )));
    }
    let root = std::fs::canonicalize(media_dir).map_err(|e| {
        Error::from(e).context(format_args!(
            "cannot resolve media folder {}",
            media_dir.display()
        ))
    })?;
    let mut existing = root.clone();
    let mut components = location.split('/');
    while let Some(name) = components.next() {
        let next = existing.join(name);
        match std::fs::symlink_metadata(&next) {
            Ok(meta) => {
                let resolved = if meta.file_type().is_symlink() {
                    match std::fs::canonicalize(&next) {
                        Ok(p) => p,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {
                            return Err(escape(location, "ends in a dangling symbolic link"));
                        }
                        Err(e) => return Err(Error::from(e).context("cannot resolve location")),
                    }
                } else {
                    next
                };
                if !resolved.starts_with(&root) {
                    return Err(escape(location, "leads outside the media folder"));
                }
                existing = resolved;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound
                        | io::ErrorKind::NotADirectory
                        | io::ErrorKind::InvalidFilename
                ) =>
            {
                // Nothing further exists: the rest is plain names under a checked folder.
                let mut path = existing.join(name);
                path.extend(components);
                return Ok(path);
            }
            Err(e) => return Err(Error::from(e).context("cannot resolve location")),
        }
    }
    Ok(existing)
}

fn escape(location: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::PermissionDenied,
        format!("media location {location:?} {why}"),
    )
}

fn check_location_syntax(location: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::invalid_input(format!("media location {why}")));
    if location.is_empty() {
        return bad("is empty");
    }
    if location.len() > MAX_LOCATION_LEN {
        return bad(&format!("exceeds {MAX_LOCATION_LEN} bytes"));
    }
    if location
        .chars()
        .any(|c| c == '\\' || c == ':' || c.is_control())
    {
        return bad("contains a backslash, colon or control character");
    }
    if location.starts_with('/') || Path::new(location).is_absolute() {
        return bad("is absolute");
    }
    for part in location.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return bad("has an empty, '.' or '..' component");
        }
        // Belt and braces: what the platform considers a plain name.
        let mut comps = Path::new(part).components();
        if !matches!(
            (comps.next(), comps.next()),
            (Some(Component::Normal(_)), None)
        ) {
            return bad("has a component that is not a plain name");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_is_checked_before_touching_the_disk() {
        let media = tempfile::tempdir().unwrap();
        for bad in [
            "", "/abs", "..", "../x", "a/../b", "a/./b", "./a", "a/", "a//b", "a\\..\\b", "c:/x",
            "a\0b", "a\nb",
        ] {
            let e = resolve_media_path(media.path(), bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
        let long = "a/".repeat(MAX_LOCATION_LEN) + "b";
        assert_eq!(
            resolve_media_path(media.path(), &long).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        // Dots inside names are fine.
        assert!(resolve_media_path(media.path(), "a..b/.hidden/x.ts").is_ok());
    }

    #[test]
    fn existing_and_missing_paths_resolve_inside() {
        let media = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(media.path()).unwrap();
        std::fs::create_dir_all(media.path().join("s/r")).unwrap();
        std::fs::write(media.path().join("s/r/index.m3u8"), "#EXTM3U\n").unwrap();
        assert_eq!(
            resolve_media_path(media.path(), "s/r/index.m3u8").unwrap(),
            root.join("s/r/index.m3u8")
        );
        assert_eq!(
            resolve_media_path(media.path(), "s/new/x.ts").unwrap(),
            root.join("s/new/x.ts")
        );
        let missing = media.path().join("nope");
        assert_eq!(
            resolve_media_path(&missing, "a").unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_may_not_lead_outside() {
        use std::os::unix::fs::symlink;
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        let media = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(media.path()).unwrap();
        std::fs::create_dir(media.path().join("s")).unwrap();
        std::fs::write(media.path().join("s/real.ts"), "x").unwrap();
        symlink(outside.path(), media.path().join("out")).unwrap();
        symlink(
            outside.path().join("secret"),
            media.path().join("s/leak.ts"),
        )
        .unwrap();
        symlink(media.path().join("s"), media.path().join("alias")).unwrap();
        symlink(media.path().join("gone"), media.path().join("dangling")).unwrap();
        for bad in ["out/secret", "out/new-file", "s/leak.ts", "dangling"] {
            let e = resolve_media_path(media.path(), bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{bad}");
        }
        // A link that stays inside is followed.
        assert_eq!(
            resolve_media_path(media.path(), "alias/real.ts").unwrap(),
            root.join("s/real.ts")
        );
    }

    #[test]
    fn names_of_the_layout() {
        let layout = MediaLayout::new("/m");
        assert_eq!(
            MediaLayout::temp_path(Path::new("/m/a/index.m3u8")),
            Path::new("/m/a/index.m3u8.tmp")
        );
        assert_eq!(
            MediaLayout::parse_segment_name("segment-123456789.ts"),
            Some(123_456_789)
        );
        for bad in ["segment-.ts", "segment-1a.ts", "segment-1.tsx", "x-1.ts"] {
            assert_eq!(MediaLayout::parse_segment_name(bad), None, "{bad}");
        }
        assert!(MediaLayout::is_recording_file_name("index.m3u8.tmp"));
        assert!(!MediaLayout::is_recording_file_name("clip.mp4"));
        assert_eq!(layout.root(), Path::new("/m"));
    }
}

#[cfg(test)]
mod doc_examples {
    /// How `record::layout::MediaLayout` is used.
    #[test]
    fn media_layout_example() {
        use crate::model::{RecordingId, StreamId};
        use crate::record::layout::MediaLayout;
        let layout = MediaLayout::new("/srv/media");
        let (s, r) = (StreamId::new(), RecordingId::new());
        assert_eq!(
            layout.recording_location(s, r),
            format!("{s}/{r}/index.m3u8")
        );
        assert_eq!(
            layout.recording_dir(s, r),
            std::path::Path::new(&format!("/srv/media/{s}/{r}"))
        );
        assert_eq!(
            MediaLayout::parse_segment_name("segment-00000042.ts"),
            Some(42)
        );
    }

    /// How `record::layout::resolve_media_path` is used.
    #[test]
    fn resolve_media_path_example() {
        use crate::record::layout::resolve_media_path;
        let media = tempfile::tempdir().unwrap();
        let p = resolve_media_path(media.path(), "cam/rec/index.m3u8").unwrap();
        assert!(p.ends_with("cam/rec/index.m3u8"));
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "a/../../b",
            "a//b",
            "a\\b",
            "",
        ] {
            assert!(resolve_media_path(media.path(), bad).is_err(), "{bad}");
        }
    }
}
