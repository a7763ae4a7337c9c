//! ISO BMFF box serialisation (ISO/IEC 14496-12): the generic box and full-box framing, and
//! the fixed-layout boxes of a progressive movie. Every box is built in memory (the `moov`
//! of a clip is a few hundred kilobytes at most); sizes are checked, never truncated.

use crate::{Error, ErrorKind, Result};

/// The unity transformation matrix of `mvhd` and `tkhd` (16.16 and 2.30 fixed point).
const UNITY_MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];
/// ISO 639-2 "und" packed into 15 bits, for `mdhd`.
const LANGUAGE_UNDETERMINED: u16 = 0x55C4;

/// Appends a box of type `kind` whose body `body` writes, patching its size afterwards.
pub(crate) fn bx(
    out: &mut Vec<u8>,
    kind: &[u8; 4],
    body: impl FnOnce(&mut Vec<u8>) -> Result<()>,
) -> Result<()> {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(kind);
    body(out)?;
    let size = u32::try_from(out.len().saturating_sub(at)).map_err(|_| {
        Error::new(
            ErrorKind::TooLarge,
            format!("the {} box exceeds 4 GiB", String::from_utf8_lossy(kind)),
        )
    })?;
    match out.get_mut(at..at.saturating_add(4)) {
        Some(slot) => slot.copy_from_slice(&size.to_be_bytes()),
        None => return Err(Error::internal("a box's size slot went missing")),
    }
    Ok(())
}

/// Appends a full box (version and flags before the body).
pub(crate) fn full(
    out: &mut Vec<u8>,
    kind: &[u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut Vec<u8>) -> Result<()>,
) -> Result<()> {
    bx(out, kind, |o| {
        o.push(version);
        o.extend_from_slice(&flags.to_be_bytes()[1..]);
        body(o)
    })
}

pub(crate) fn u16be(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn u32be(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn u64be(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Writes a duration in the version-0 (32-bit) or version-1 (64-bit) field.
fn duration_field(out: &mut Vec<u8>, version: u8, d: u64) {
    if version == 1 {
        u64be(out, d);
    } else {
        u32be(out, u32::try_from(d).unwrap_or(u32::MAX));
    }
}

/// Version 1 when a duration does not fit in 32 bits.
fn version_for(d: u64) -> u8 {
    u8::from(d > u64::from(u32::MAX))
}

/// Writes creation and modification times (zero: unknown) in the version's width.
fn times(out: &mut Vec<u8>, version: u8) {
    duration_field(out, version, 0);
    duration_field(out, version, 0);
}

/// `ftyp`: major brand isom, compatible isom, iso2, avc1, mp41.
pub(crate) fn ftyp(out: &mut Vec<u8>) -> Result<()> {
    bx(out, b"ftyp", |o| {
        o.extend_from_slice(b"isom");
        u32be(o, 0x200);
        for brand in [b"isom", b"iso2", b"avc1", b"mp41"] {
            o.extend_from_slice(brand);
        }
        Ok(())
    })
}

/// `mvhd`.
pub(crate) fn mvhd(
    out: &mut Vec<u8>,
    timescale: u32,
    duration: u64,
    next_track: u32,
) -> Result<()> {
    let v = version_for(duration);
    full(out, b"mvhd", v, 0, |o| {
        times(o, v);
        u32be(o, timescale);
        duration_field(o, v, duration);
        u32be(o, 0x0001_0000); // rate 1.0
        u16be(o, 0x0100); // volume 1.0
        o.extend_from_slice(&[0; 10]); // reserved
        UNITY_MATRIX.iter().for_each(|m| u32be(o, *m));
        o.extend_from_slice(&[0; 24]); // pre_defined
        u32be(o, next_track);
        Ok(())
    })
}

/// `tkhd` (enabled, in movie). `size` is (width, height) in pixels for video.
pub(crate) fn tkhd(
    out: &mut Vec<u8>,
    track_id: u32,
    duration: u64,
    audio: bool,
    size: (u16, u16),
) -> Result<()> {
    let v = version_for(duration);
    full(out, b"tkhd", v, 3, |o| {
        times(o, v);
        u32be(o, track_id);
        u32be(o, 0); // reserved
        duration_field(o, v, duration);
        o.extend_from_slice(&[0; 8]); // reserved
        u16be(o, 0); // layer
        u16be(o, 0); // alternate_group
        u16be(o, if audio { 0x0100 } else { 0 }); // volume
        u16be(o, 0); // reserved
        UNITY_MATRIX.iter().for_each(|m| u32be(o, *m));
        u32be(o, u32::from(size.0) << 16);
        u32be(o, u32::from(size.1) << 16);
        Ok(())
    })
}

/// One edit: `media_time` -1 is an empty edit (nothing shown for `duration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edit {
    /// Movie timescale.
    pub(crate) duration: u64,
    /// Media timescale; -1 for an empty edit.
    pub(crate) media_time: i64,
}

/// `edts` with its `elst`.
pub(crate) fn edts(out: &mut Vec<u8>, edits: &[Edit]) -> Result<()> {
    let wide = edits
        .iter()
        .any(|e| e.duration > u64::from(u32::MAX) || i32::try_from(e.media_time).is_err());
    let count = u32::try_from(edits.len()).map_err(|_| Error::internal("few edits"))?;
    bx(out, b"edts", |o| {
        full(o, b"elst", u8::from(wide), 0, |o| {
            u32be(o, count);
            for e in edits {
                if wide {
                    u64be(o, e.duration);
                    o.extend_from_slice(&e.media_time.to_be_bytes());
                } else {
                    u32be(o, u32::try_from(e.duration).unwrap_or(u32::MAX));
                    let t = i32::try_from(e.media_time).unwrap_or(-1);
                    o.extend_from_slice(&t.to_be_bytes());
                }
                u16be(o, 1); // media_rate_integer
                u16be(o, 0); // media_rate_fraction
            }
            Ok(())
        })
    })
}

/// `mdhd`.
pub(crate) fn mdhd(out: &mut Vec<u8>, timescale: u32, duration: u64) -> Result<()> {
    let v = version_for(duration);
    full(out, b"mdhd", v, 0, |o| {
        times(o, v);
        u32be(o, timescale);
        duration_field(o, v, duration);
        u16be(o, LANGUAGE_UNDETERMINED);
        u16be(o, 0);
        Ok(())
    })
}

/// `hdlr` for a video (`vide`) or sound (`soun`) track.
pub(crate) fn hdlr(out: &mut Vec<u8>, audio: bool) -> Result<()> {
    full(out, b"hdlr", 0, 0, |o| {
        u32be(o, 0);
        o.extend_from_slice(if audio { b"soun" } else { b"vide" });
        o.extend_from_slice(&[0; 12]);
        o.extend_from_slice(if audio {
            b"SoundHandler\0".as_slice()
        } else {
            b"VideoHandler\0".as_slice()
        });
        Ok(())
    })
}

/// `vmhd` or `smhd`, then `dinf` with a self-reference.
pub(crate) fn media_header_and_dinf(out: &mut Vec<u8>, audio: bool) -> Result<()> {
    if audio {
        full(out, b"smhd", 0, 0, |o| {
            u32be(o, 0); // balance, reserved
            Ok(())
        })?;
    } else {
        full(out, b"vmhd", 0, 1, |o| {
            o.extend_from_slice(&[0; 8]); // graphicsmode, opcolor
            Ok(())
        })?;
    }
    bx(out, b"dinf", |o| {
        full(o, b"dref", 0, 0, |o| {
            u32be(o, 1);
            full(o, b"url ", 0, 1, |_| Ok(())) // flag 1: media in this file
        })
    })
}

/// A visual sample entry (`avc1`/`hvc1`) with its configuration box.
pub(crate) fn visual_entry(
    out: &mut Vec<u8>,
    kind: &[u8; 4],
    size: (u16, u16),
    config_kind: &[u8; 4],
    config: &[u8],
) -> Result<()> {
    bx(out, kind, |o| {
        o.extend_from_slice(&[0; 6]);
        u16be(o, 1); // data_reference_index
        o.extend_from_slice(&[0; 16]); // pre_defined, reserved
        u16be(o, size.0);
        u16be(o, size.1);
        u32be(o, 0x0048_0000); // 72 dpi
        u32be(o, 0x0048_0000);
        u32be(o, 0);
        u16be(o, 1); // frame_count
        o.extend_from_slice(&[0; 32]); // compressorname
        u16be(o, 0x0018); // depth
        u16be(o, 0xFFFF); // pre_defined -1
        bx(o, config_kind, |o| {
            o.extend_from_slice(config);
            Ok(())
        })
    })
}

/// An `mp4a` sample entry with its `esds`.
pub(crate) fn mp4a_entry(out: &mut Vec<u8>, channels: u16, rate: u32, esds: &[u8]) -> Result<()> {
    bx(out, b"mp4a", |o| {
        o.extend_from_slice(&[0; 6]);
        u16be(o, 1); // data_reference_index
        o.extend_from_slice(&[0; 8]); // reserved
        u16be(o, channels);
        u16be(o, 16); // samplesize
        u32be(o, 0); // pre_defined, reserved
        // 16.16 fixed point; rates above 65535 Hz do not fit (the esds carries the rate).
        u32be(o, if rate <= 0xFFFF { rate << 16 } else { 0 });
        full(o, b"esds", 0, 0, |o| {
            o.extend_from_slice(esds);
            Ok(())
        })
    })
}

/// Run-length entries `(count, value)` of consecutive equal values.
pub(crate) fn runs(values: impl IntoIterator<Item = u32>) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for v in values {
        match out.last_mut() {
            Some((n, last)) if *last == v && *n < u32::MAX => *n += 1,
            _ => out.push((1, v)),
        }
    }
    out
}

/// A table box of `(u32, u32)` entries (`stts`, `ctts`).
pub(crate) fn pair_table(out: &mut Vec<u8>, kind: &[u8; 4], entries: &[(u32, u32)]) -> Result<()> {
    let count = u32::try_from(entries.len()).map_err(|_| Error::internal("too many entries"))?;
    full(out, kind, 0, 0, |o| {
        u32be(o, count);
        for (a, b) in entries {
            u32be(o, *a);
            u32be(o, *b);
        }
        Ok(())
    })
}

/// `stss`: 1-based numbers of the sync samples.
pub(crate) fn stss(out: &mut Vec<u8>, sync: &[u32]) -> Result<()> {
    let count = u32::try_from(sync.len()).map_err(|_| Error::internal("too many entries"))?;
    full(out, b"stss", 0, 0, |o| {
        u32be(o, count);
        sync.iter().for_each(|s| u32be(o, *s));
        Ok(())
    })
}

/// `stsc` from `(first_chunk, samples_per_chunk, description_index)` entries.
pub(crate) fn stsc(out: &mut Vec<u8>, entries: &[(u32, u32, u32)]) -> Result<()> {
    let count = u32::try_from(entries.len()).map_err(|_| Error::internal("too many entries"))?;
    full(out, b"stsc", 0, 0, |o| {
        u32be(o, count);
        for (first, per, desc) in entries {
            u32be(o, *first);
            u32be(o, *per);
            u32be(o, *desc);
        }
        Ok(())
    })
}

/// `stsz` with one size per sample.
pub(crate) fn stsz(out: &mut Vec<u8>, sizes: &[u32]) -> Result<()> {
    let count = u32::try_from(sizes.len()).map_err(|_| Error::internal("too many samples"))?;
    full(out, b"stsz", 0, 0, |o| {
        u32be(o, 0); // sizes differ: one entry each
        u32be(o, count);
        sizes.iter().for_each(|s| u32be(o, *s));
        Ok(())
    })
}

/// `stco` (32-bit) or `co64` chunk offsets.
pub(crate) fn chunk_offsets(out: &mut Vec<u8>, offsets: &[u64], co64: bool) -> Result<()> {
    let count = u32::try_from(offsets.len()).map_err(|_| Error::internal("too many chunks"))?;
    full(out, if co64 { b"co64" } else { b"stco" }, 0, 0, |o| {
        u32be(o, count);
        for off in offsets {
            if co64 {
                u64be(o, *off);
            } else {
                let off = u32::try_from(*off)
                    .map_err(|_| Error::internal("a chunk offset past 4 GiB in stco"))?;
                u32be(o, off);
            }
        }
        Ok(())
    })
}

/// The `mdat` header for `payload` bytes: 8 bytes, or 16 with a 64-bit size.
pub(crate) fn mdat_header(payload: u64) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(16);
    match u32::try_from(payload.saturating_add(8)) {
        Ok(size) => {
            u32be(&mut out, size);
            out.extend_from_slice(b"mdat");
        }
        Err(_) => {
            let size = payload
                .checked_add(16)
                .ok_or_else(|| Error::new(ErrorKind::TooLarge, "media data too large"))?;
            u32be(&mut out, 1);
            out.extend_from_slice(b"mdat");
            u64be(&mut out, size);
        }
    }
    Ok(out)
}
