//! HLS media playlists (RFC 8216): rendering ours and reading them back.
//!
//! Owns the text of `.m3u8` media playlists: the EVENT playlist of a recording in progress
//! (closed with `#EXT-X-ENDLIST` when it ends), VOD playlists stitched from the segments of
//! several recordings, and a bounded parser for the playlists we write (crash recovery reads
//! an EVENT playlist back to end it or rebuild it). It must never read or write files, never
//! choose segment boundaries, and the parser must never panic or allocate beyond its limits
//! on hostile input.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::{Error, ErrorKind, Result};

/// `#EXT-X-VERSION` we write: 3 allows decimal `#EXTINF` durations.
pub const PLAYLIST_VERSION: u32 = 3;

/// Largest playlist text [`MediaPlaylist::parse`] accepts.
pub const MAX_PLAYLIST_BYTES: usize = 64 << 20;

/// Most segments [`MediaPlaylist::parse`] accepts (a year of 2-second segments is 15.8 M;
/// recordings are far shorter).
pub const MAX_PLAYLIST_SEGMENTS: usize = 1_000_000;

/// Longest line [`MediaPlaylist::parse`] accepts.
pub const MAX_LINE_LEN: usize = 4096;

/// Longest segment duration [`MediaPlaylist::parse`] accepts, in seconds.
pub const MAX_SEGMENT_DURATION_SECS: f64 = 86_400.0;

/// Milliseconds per second, for the three decimals of `#EXTINF`.
const MILLIS_PER_SEC: f64 = 1000.0;

/// Microseconds per second: segment ends are kept to the microsecond, like stored times.
const MICROS_PER_SEC: f64 = 1_000_000.0;

/// The `#EXT-X-PLAYLIST-TYPE` of a playlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaylistType {
    /// Segments are only ever appended (a recording in progress, or ended).
    Event,
    /// The playlist never changes (a stitched range of recordings).
    Vod,
}

impl PlaylistType {
    fn as_str(self) -> &'static str {
        match self {
            PlaylistType::Event => "EVENT",
            PlaylistType::Vod => "VOD",
        }
    }
}

/// One segment line of a media playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaylistSegment {
    /// URI, relative to the playlist (control characters are percent-encoded on output).
    pub uri: String,
    /// Duration in seconds (`#EXTINF`, written with three decimals).
    pub duration_secs: f64,
    /// Wall-clock time of the segment's first frame (`#EXT-X-PROGRAM-DATE-TIME`).
    pub program_date_time: Option<DateTime<Utc>>,
    /// Whether a discontinuity precedes this segment (`#EXT-X-DISCONTINUITY`).
    pub discontinuity: bool,
}

/// An HLS media playlist.
///
/// ```
/// use vas::{MediaPlaylist, PlaylistSegment};
/// let mut p = MediaPlaylist::event(2);
/// p.segments.push(PlaylistSegment {
///     uri: "segment-00000000.ts".into(),
///     duration_secs: 2.0,
///     program_date_time: Some("2026-01-01T00:00:00Z".parse().unwrap()),
///     discontinuity: false,
/// });
/// p.ended = true;
/// let text = p.render();
/// assert_eq!(text, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n\
///     #EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n\
///     #EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n#EXTINF:2.000,\n\
///     segment-00000000.ts\n#EXT-X-ENDLIST\n");
/// assert_eq!(MediaPlaylist::parse(&text)?, p);
/// # Ok::<(), vas::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MediaPlaylist {
    /// `#EXT-X-PLAYLIST-TYPE`, if any.
    pub playlist_type: Option<PlaylistType>,
    /// The smallest `#EXT-X-TARGETDURATION` to write, in seconds; rendering raises it to
    /// cover the longest segment.
    pub target_duration_secs: u64,
    /// `#EXT-X-MEDIA-SEQUENCE`: the sequence number of the first segment.
    pub media_sequence: u64,
    /// The segments, in order.
    pub segments: Vec<PlaylistSegment>,
    /// Whether `#EXT-X-ENDLIST` is written (no more segments will be added).
    pub ended: bool,
}

impl MediaPlaylist {
    /// An empty EVENT playlist (a recording just started).
    pub fn event(target_duration_secs: u64) -> Self {
        MediaPlaylist {
            playlist_type: Some(PlaylistType::Event),
            target_duration_secs,
            media_sequence: 0,
            segments: Vec::new(),
            ended: false,
        }
    }

    /// A VOD playlist of `segments` (their discontinuity flags kept as given).
    pub fn vod(segments: Vec<PlaylistSegment>) -> Self {
        MediaPlaylist {
            playlist_type: Some(PlaylistType::Vod),
            target_duration_secs: 1,
            media_sequence: 0,
            segments,
            ended: true,
        }
    }

    /// A VOD playlist stitched from several recordings' segments, in order: the first segment
    /// of every recording after the first is marked as a discontinuity (each recording is its
    /// own timeline), and discontinuities inside a recording are kept.
    ///
    /// ```
    /// use vas::{MediaPlaylist, PlaylistSegment};
    /// let seg = |uri: &str| PlaylistSegment {
    ///     uri: uri.into(), duration_secs: 2.0, program_date_time: None, discontinuity: false,
    /// };
    /// let p = MediaPlaylist::vod_from_recordings([
    ///     vec![seg("a/0.ts"), seg("a/1.ts")],
    ///     vec![seg("b/0.ts")],
    /// ]);
    /// let flags: Vec<bool> = p.segments.iter().map(|s| s.discontinuity).collect();
    /// assert_eq!(flags, [false, false, true]);
    /// assert!(p.render().ends_with("#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\nb/0.ts\n#EXT-X-ENDLIST\n"));
    /// ```
    pub fn vod_from_recordings<I>(recordings: I) -> Self
    where
        I: IntoIterator<Item = Vec<PlaylistSegment>>,
    {
        let mut segments = Vec::new();
        for recording in recordings {
            let first_of_recording = segments.len();
            segments.extend(recording);
            if first_of_recording > 0
                && let Some(s) = segments.get_mut(first_of_recording)
            {
                s.discontinuity = true;
            }
        }
        Self::vod(segments)
    }

    /// The `#EXT-X-TARGETDURATION` written: the configured minimum, raised to the longest
    /// segment's duration (as written, to the millisecond) rounded up.
    pub fn effective_target_duration(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| millis(s.duration_secs).div_ceil(1000))
            .fold(self.target_duration_secs, u64::max)
    }

    /// Sum of the segment durations in seconds.
    pub fn total_duration_secs(&self) -> f64 {
        self.segments
            .iter()
            .map(|s| sanitize(s.duration_secs))
            .sum()
    }

    /// The playlist text (LF line endings).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(128 + self.segments.len() * 96);
        self.write_to(&mut out)
            .expect("writing to a String cannot fail");
        out
    }

    fn write_to(&self, out: &mut impl fmt::Write) -> fmt::Result {
        writeln!(out, "#EXTM3U")?;
        writeln!(out, "#EXT-X-VERSION:{PLAYLIST_VERSION}")?;
        writeln!(
            out,
            "#EXT-X-TARGETDURATION:{}",
            self.effective_target_duration()
        )?;
        writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{}", self.media_sequence)?;
        if let Some(t) = self.playlist_type {
            writeln!(out, "#EXT-X-PLAYLIST-TYPE:{}", t.as_str())?;
        }
        for s in &self.segments {
            if s.discontinuity {
                writeln!(out, "#EXT-X-DISCONTINUITY")?;
            }
            if let Some(t) = s.program_date_time {
                writeln!(
                    out,
                    "#EXT-X-PROGRAM-DATE-TIME:{}",
                    t.to_rfc3339_opts(SecondsFormat::Millis, true)
                )?;
            }
            let ms = millis(s.duration_secs);
            writeln!(out, "#EXTINF:{}.{:03},", ms / 1000, ms % 1000)?;
            write_uri(out, &s.uri)?;
            out.write_char('\n')?;
        }
        if self.ended {
            writeln!(out, "#EXT-X-ENDLIST")?;
        }
        Ok(())
    }

    /// Reads a media playlist back (ours, or any simple one): the tags above are understood,
    /// other tags and comments are skipped. A trailing `#EXTINF` without its URI (a write cut
    /// short) is dropped rather than failing, so recovery can still use the rest.
    ///
    /// Fails with `TooLarge` beyond `MAX_PLAYLIST_BYTES`, `MAX_PLAYLIST_SEGMENTS` or
    /// `MAX_LINE_LEN`, and with `Corrupt` for anything malformed (playlists are
    /// VAS's own files: a bad one is damage on disk, not a caller's mistake).
    pub fn parse(text: &str) -> Result<Self> {
        if text.len() > MAX_PLAYLIST_BYTES {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!("playlist exceeds {MAX_PLAYLIST_BYTES} bytes"),
            ));
        }
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        let mut lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        match lines.next() {
            Some((_, l)) if l.trim_end() == "#EXTM3U" => {}
            _ => {
                return Err(Error::new(
                    ErrorKind::Corrupt,
                    "playlist does not start with #EXTM3U",
                ));
            }
        }

        let mut p = MediaPlaylist {
            playlist_type: None,
            target_duration_secs: 0,
            media_sequence: 0,
            segments: Vec::new(),
            ended: false,
        };
        let mut duration: Option<f64> = None;
        let mut program_date_time = None;
        let mut discontinuity = false;

        for (index, line) in lines {
            let line_no = index + 1;
            let bad = |what: &str| {
                Error::new(
                    ErrorKind::Corrupt,
                    format!("playlist line {line_no}: {what}"),
                )
            };
            if line.len() > MAX_LINE_LEN {
                return Err(Error::new(
                    ErrorKind::TooLarge,
                    format!("playlist line {line_no} exceeds {MAX_LINE_LEN} bytes"),
                ));
            }
            let line = line.trim();
            if let Some(tag) = line.strip_prefix('#') {
                let (name, value) = tag.split_once(':').unwrap_or((tag, ""));
                match name {
                    "EXT-X-TARGETDURATION" => {
                        p.target_duration_secs =
                            value.parse().map_err(|_| bad("bad target duration"))?;
                    }
                    "EXT-X-MEDIA-SEQUENCE" => {
                        p.media_sequence = value.parse().map_err(|_| bad("bad media sequence"))?;
                    }
                    "EXT-X-PLAYLIST-TYPE" => {
                        p.playlist_type = Some(match value {
                            "EVENT" => PlaylistType::Event,
                            "VOD" => PlaylistType::Vod,
                            _ => return Err(bad("unknown playlist type")),
                        });
                    }
                    "EXT-X-DISCONTINUITY" => discontinuity = true,
                    "EXT-X-PROGRAM-DATE-TIME" => {
                        let t = DateTime::parse_from_rfc3339(value)
                            .map_err(|_| bad("bad program date time"))?;
                        program_date_time = Some(t.with_timezone(&Utc));
                    }
                    "EXTINF" => {
                        let d = value.split(',').next().unwrap_or_default().trim();
                        let d: f64 = d.parse().map_err(|_| bad("bad segment duration"))?;
                        if !(0.0..=MAX_SEGMENT_DURATION_SECS).contains(&d) {
                            return Err(bad("segment duration out of range"));
                        }
                        duration = Some(d);
                    }
                    "EXT-X-ENDLIST" => p.ended = true,
                    _ => {} // EXT-X-VERSION, unknown tags and comments
                }
            } else {
                let duration_secs = duration.take().ok_or_else(|| bad("URI without #EXTINF"))?;
                if p.segments.len() >= MAX_PLAYLIST_SEGMENTS {
                    return Err(Error::new(
                        ErrorKind::TooLarge,
                        format!("playlist has more than {MAX_PLAYLIST_SEGMENTS} segments"),
                    ));
                }
                p.segments.push(PlaylistSegment {
                    uri: line.to_owned(),
                    duration_secs,
                    program_date_time: program_date_time.take(),
                    discontinuity: std::mem::take(&mut discontinuity),
                });
            }
        }
        Ok(p)
    }
}

impl fmt::Display for MediaPlaylist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

/// The wall-clock end of a segment that starts at `start` and lasts `duration_secs`: the
/// one rule for a segment's end (the recorder's row end, recovery's rebuilt playlist and
/// playback's range all use it).
///
/// The duration is rounded to the nearest microsecond; a negative, NaN or infinite duration
/// counts as zero (as in [`MediaPlaylist::render`]), and an end past the latest time
/// `DateTime` holds is that time. Never panics.
pub(crate) fn segment_end(start: DateTime<Utc>, duration_secs: f64) -> DateTime<Utc> {
    // Saturating float-to-int cast; sanitize() already removed NaN and negatives.
    let micros = (sanitize(duration_secs) * MICROS_PER_SEC).round() as i64;
    start
        .checked_add_signed(chrono::TimeDelta::microseconds(micros))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A duration as whole milliseconds (negative, NaN and infinite count as zero).
fn millis(secs: f64) -> u64 {
    // Saturating float-to-int cast; sanitize() already removed NaN and negatives.
    (sanitize(secs) * MILLIS_PER_SEC).round() as u64
}

fn sanitize(secs: f64) -> f64 {
    if secs.is_finite() && secs > 0.0 {
        secs
    } else {
        0.0
    }
}

/// Writes a URI with control characters percent-encoded, so a URI can never add a line.
fn write_uri(out: &mut impl fmt::Write, uri: &str) -> fmt::Result {
    for c in uri.chars() {
        if c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                write!(out, "%{b:02X}")?;
            }
        } else {
            out.write_char(c)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(uri: &str, d: f64, disc: bool) -> PlaylistSegment {
        PlaylistSegment {
            uri: uri.into(),
            duration_secs: d,
            program_date_time: Some("2026-03-01T12:00:00.040Z".parse().unwrap()),
            discontinuity: disc,
        }
    }

    #[test]
    fn target_duration_covers_the_longest_segment() {
        let mut p = MediaPlaylist::event(2);
        assert_eq!(p.effective_target_duration(), 2);
        p.segments.push(seg("a", 2.0004, false));
        assert_eq!(p.effective_target_duration(), 2);
        p.segments.push(seg("b", 2.0006, false));
        assert_eq!(p.effective_target_duration(), 3);
        p.segments.push(seg("c", f64::NAN, false));
        p.segments.push(seg("d", -1.0, false));
        assert!(p.render().contains("#EXTINF:0.000,\nd\n"));
    }

    #[test]
    fn event_playlist_round_trips_with_discontinuities() {
        let mut p = MediaPlaylist::event(2);
        p.media_sequence = 7;
        p.segments = vec![seg("x-7.ts", 1.96, false), seg("x-8.ts", 2.0, true)];
        let text = p.render();
        assert!(text.contains("#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2026-03-01T12:00:00.040Z\n#EXTINF:2.000,\nx-8.ts\n"));
        assert!(!text.contains("ENDLIST"));
        assert_eq!(MediaPlaylist::parse(&text).unwrap(), p);
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(MediaPlaylist::parse(&crlf).unwrap(), p);
    }

    #[test]
    fn uris_cannot_inject_lines() {
        let mut p = MediaPlaylist::vod(vec![seg("a\n#EXT-X-ENDLIST\nb", 1.0, false)]);
        p.ended = false;
        let text = p.render();
        assert!(text.contains("\na%0A#EXT-X-ENDLIST%0Ab\n"));
        let back = MediaPlaylist::parse(&text).unwrap();
        assert_eq!(back.segments.len(), 1);
        assert!(!back.ended);
    }

    #[test]
    fn truncated_playlist_keeps_complete_segments() {
        let p = MediaPlaylist::vod(vec![seg("a.ts", 2.0, false)]);
        let text = p.render().replace("#EXT-X-ENDLIST\n", "#EXTINF:2.0");
        let back = MediaPlaylist::parse(&text).unwrap();
        assert_eq!(back.segments.len(), 1);
        assert!(!back.ended);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for text in [
            "",
            "hello",
            "#EXTM3U\nseg.ts",
            "#EXTM3U\n#EXTINF:abc,\nx",
            "#EXTM3U\n#EXTINF:-1,\nx",
            "#EXTM3U\n#EXTINF:1e308,\nx",
            "#EXTM3U\n#EXTINF:NaN,\nx",
            "#EXTM3U\n#EXT-X-TARGETDURATION:-3",
            "#EXTM3U\n#EXT-X-PLAYLIST-TYPE:LIVE",
            "#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:yesterday",
        ] {
            assert_eq!(
                MediaPlaylist::parse(text).unwrap_err().kind(),
                ErrorKind::Corrupt,
                "{text:?}"
            );
        }
        let long = format!("#EXTM3U\n#{}", "A".repeat(MAX_LINE_LEN + 1));
        assert_eq!(
            MediaPlaylist::parse(&long).unwrap_err().kind(),
            ErrorKind::TooLarge
        );
        // Unknown tags and comments are fine.
        let ok = MediaPlaylist::parse(
            "\u{FEFF}#EXTM3U\n# a comment\n#EXT-X-FOO:1\n#EXT-X-INDEPENDENT-SEGMENTS\n",
        )
        .unwrap();
        assert!(ok.segments.is_empty());
    }

    #[test]
    fn a_segment_ends_at_its_start_plus_its_rounded_duration_and_never_panics() {
        let t0: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
        let us = chrono::TimeDelta::microseconds;
        assert_eq!(segment_end(t0, 2.0), t0 + chrono::TimeDelta::seconds(2));
        assert_eq!(segment_end(t0, 1.5), t0 + us(1_500_000));
        // Rounded to the nearest microsecond, not truncated (2.002 * 1e6 is 2_001_999.99…).
        assert_eq!(segment_end(t0, 2.002), t0 + us(2_002_000));
        assert_eq!(segment_end(t0, 0.000_000_4), t0);
        assert_eq!(segment_end(t0, 0.000_000_6), t0 + us(1));
        // Nonsense durations count as zero.
        for d in [0.0, -0.0, -2.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(segment_end(t0, d), t0, "{d}");
        }
        // Past the latest representable time: that time.
        assert_eq!(segment_end(t0, 1e300), DateTime::<Utc>::MAX_UTC);
        assert_eq!(segment_end(t0, f64::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            segment_end(DateTime::<Utc>::MAX_UTC, 1.0),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(
            segment_end(DateTime::<Utc>::MIN_UTC, 1.0),
            DateTime::<Utc>::MIN_UTC + chrono::TimeDelta::seconds(1)
        );
    }
}
