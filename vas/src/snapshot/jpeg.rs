//! JPEG encoding of decoded pictures: tightly packed I420 in, a baseline JFIF file out.
//!
//! Owns one conversion: the decoder's limited-range BT.601 YUV 4:2:0 to JFIF's full-range
//! YCbCr (two 256-entry tables, no RGB round trip), encoded by the `jpeg-encoder` crate with
//! 4:2:0 chroma. It never panics on a short buffer: sizes are checked first.

use bytes::Bytes;
use jpeg_encoder::{Encoder, ImageBuffer, JpegColorType, SamplingFactor};

use crate::{Error, Result};

/// Limited range (16–235 luma, 16–240 chroma) to full range (0–255), as ffmpeg does when it
/// writes a JPEG from a camera's video.
struct RangeTables {
    luma: [u8; 256],
    chroma: [u8; 256],
}

impl RangeTables {
    fn new() -> Self {
        let mut luma = [0u8; 256];
        let mut chroma = [0u8; 256];
        for v in 0..256usize {
            let y = (v as f64 - 16.0) * 255.0 / 219.0;
            luma[v] = y.round().clamp(0.0, 255.0) as u8;
            let c = (v as f64 - 128.0) * 255.0 / 224.0 + 128.0;
            chroma[v] = c.round().clamp(0.0, 255.0) as u8;
        }
        RangeTables { luma, chroma }
    }
}

/// A tightly packed I420 picture seen as JFIF YCbCr rows.
struct I420Rows<'a> {
    y: &'a [u8],
    u: &'a [u8],
    v: &'a [u8],
    width: usize,
    height: usize,
    chroma_width: usize,
    tables: &'a RangeTables,
}

impl ImageBuffer for I420Rows<'_> {
    fn get_jpeg_color_type(&self) -> JpegColorType {
        JpegColorType::Ycbcr
    }

    fn width(&self) -> u16 {
        self.width as u16
    }

    fn height(&self) -> u16 {
        self.height as u16
    }

    fn fill_buffers(&self, row: u16, buffers: &mut [Vec<u8>; 4]) {
        let row = usize::from(row).min(self.height.saturating_sub(1));
        let t = self.tables;
        let y = &self.y[row * self.width..(row + 1) * self.width];
        buffers[0].extend(y.iter().map(|&v| t.luma[usize::from(v)]));
        let c = (row / 2) * self.chroma_width;
        let (u, v) = (
            &self.u[c..c + self.chroma_width],
            &self.v[c..c + self.chroma_width],
        );
        for x in 0..self.width {
            buffers[1].push(t.chroma[usize::from(u[x / 2])]);
            buffers[2].push(t.chroma[usize::from(v[x / 2])]);
        }
    }
}

/// Encodes a tightly packed I420 picture (`width`×`height` luma, then the two half-size
/// chroma planes) as a JPEG of `quality` (1–100).
pub(crate) fn encode_i420(data: &[u8], width: u32, height: u32, quality: u8) -> Result<Bytes> {
    let (w, h) = (width as usize, height as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    if w == 0 || h == 0 || w > usize::from(u16::MAX) || h > usize::from(u16::MAX) {
        return Err(Error::invalid_input(format!(
            "a {width}×{height} picture cannot be a JPEG"
        )));
    }
    let need = w * h + 2 * cw * ch;
    if data.len() < need {
        return Err(Error::internal(format!(
            "picture buffer holds {} bytes, {need} needed",
            data.len()
        )));
    }
    let (y, rest) = data.split_at(w * h);
    let (u, rest) = rest.split_at(cw * ch);
    let v = &rest[..cw * ch];
    let tables = RangeTables::new();
    let rows = I420Rows {
        y,
        u,
        v,
        width: w,
        height: h,
        chroma_width: cw,
        tables: &tables,
    };
    // About a tenth of the raw picture is typical at quality 85.
    let mut out = Vec::with_capacity(need / 8);
    let mut encoder = Encoder::new(&mut out, quality.clamp(1, 100));
    encoder.set_sampling_factor(SamplingFactor::F_2_2);
    encoder
        .encode_image(rows)
        .map_err(|e| Error::internal(format!("JPEG encoding failed: {e}")))?;
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_grey_picture_encodes_and_keeps_its_size() {
        let (w, h) = (64u32, 48u32);
        let mut pic = vec![126u8; (w * h) as usize];
        pic.extend(std::iter::repeat_n(128u8, (w * h / 2) as usize));
        let jpeg = encode_i420(&pic, w, h, 85).unwrap();
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "SOI");
        assert_eq!(&jpeg[jpeg.len() - 2..], &[0xFF, 0xD9], "EOI");
        // The frame header (SOF0) carries the size.
        let sof = jpeg.windows(2).position(|p| p == [0xFF, 0xC0]).unwrap();
        let hh = u16::from_be_bytes([jpeg[sof + 5], jpeg[sof + 6]]);
        let ww = u16::from_be_bytes([jpeg[sof + 7], jpeg[sof + 8]]);
        assert_eq!((u32::from(ww), u32::from(hh)), (w, h));
    }

    #[test]
    fn odd_sizes_and_short_buffers_are_errors_not_panics() {
        // 5×3: chroma is 3×2.
        let pic = vec![100u8; 15 + 2 * 6];
        assert!(encode_i420(&pic, 5, 3, 50).is_ok());
        assert!(encode_i420(&pic[..20], 5, 3, 50).is_err());
        assert!(encode_i420(&pic, 0, 3, 50).is_err());
    }

    #[test]
    fn limited_range_maps_to_full_range() {
        let t = RangeTables::new();
        assert_eq!(
            (t.luma[16], t.luma[235], t.luma[0], t.luma[255]),
            (0, 255, 0, 255)
        );
        // 16 and 240 are the ends of the chroma range: 0.5 and 255.5 before rounding.
        assert_eq!((t.chroma[128], t.chroma[16], t.chroma[240]), (128, 1, 255));
    }
}
