//! Pixel conversion and scaling of decoded pictures.
//!
//! Owns turning a decoder's YUV 4:2:0 picture into what a subscriber asked for: the same
//! picture tightly packed (I420), NV12, RGB24, BGR24 or gray, optionally scaled. Scaling works
//! on the YUV planes (cheaper than scaling RGB) with `fast_image_resize`'s bilinear
//! convolution; colour conversion uses the `yuv` crate's SIMD kernels with the BT.601
//! limited-range matrix. Nothing here is written by hand beyond copying and interleaving
//! planes, and a small pool of output buffers: a 1080p RGB picture is 6 MB, and allocating
//! (and zeroing, and faulting in) one per frame cost more than the conversion itself.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use yuv::{YuvPlanarImage, YuvRange, YuvStandardMatrix};

use super::PixelFormat;
use super::decoder::YuvView;
use crate::{Error, Result};

/// Output buffers kept for reuse once every holder of a frame let go of it.
const POOLED_BUFFERS: usize = 6;

/// Buffers handed out as frames come back here when the last [`Bytes`] holding them drops.
#[derive(Debug, Default, Clone)]
struct BufferPool {
    free: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl BufferPool {
    /// An empty buffer with room for `len` bytes (a returned one if one fits).
    fn take(&self, len: usize) -> Vec<u8> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        let fit = free
            .iter()
            .position(|b| b.capacity() >= len && b.capacity() <= len.saturating_mul(2));
        match fit {
            Some(i) => {
                let mut b = free.swap_remove(i);
                b.clear();
                b
            }
            None => Vec::with_capacity(len),
        }
    }

    /// A buffer of exactly `len` bytes whose contents the caller overwrites entirely (a
    /// returned buffer of the same length is not zeroed again).
    fn take_len(&self, len: usize) -> Vec<u8> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = free.iter().position(|b| b.len() == len) {
            return free.swap_remove(i);
        }
        drop(free);
        vec![0; len]
    }

    /// Shares a filled buffer as [`Bytes`]; it returns to the pool when the last clone drops.
    fn share(&self, buf: Vec<u8>) -> Bytes {
        Bytes::from_owner(Pooled {
            buf,
            pool: Arc::downgrade(&self.free),
        })
    }
}

/// A frame's buffer on loan from a [`BufferPool`].
struct Pooled {
    buf: Vec<u8>,
    pool: std::sync::Weak<Mutex<Vec<Vec<u8>>>>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            let mut free = pool.lock().unwrap_or_else(|p| p.into_inner());
            if free.len() < POOLED_BUFFERS {
                free.push(std::mem::take(&mut self.buf));
            }
        }
    }
}

/// Reusable conversion state (one per decoder thread): the scaler and the buffer pool.
pub(crate) struct Scaler {
    resizer: Resizer,
    options: ResizeOptions,
    pool: BufferPool,
}

impl std::fmt::Debug for Scaler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scaler").finish_non_exhaustive()
    }
}

impl Scaler {
    pub(crate) fn new() -> Self {
        Scaler {
            resizer: Resizer::new(),
            options: ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear)),
            pool: BufferPool::default(),
        }
    }
}

/// Copies a strided plane into a tight buffer.
fn copy_plane(src: &[u8], stride: usize, width: usize, rows: usize, out: &mut Vec<u8>) {
    for r in 0..rows {
        out.extend_from_slice(&src[r * stride..r * stride + width]);
    }
}

/// Scales one tight plane.
fn scale_plane(
    scaler: &mut Scaler,
    src: &[u8],
    (sw, sh): (u32, u32),
    (dw, dh): (u32, u32),
    out: &mut Vec<u8>,
) -> Result<()> {
    let fail = |e: &dyn std::fmt::Display| Error::internal(format!("scaling failed: {e}"));
    let src = ImageRef::new(sw, sh, src, PixelType::U8).map_err(|e| fail(&e))?;
    let start = out.len();
    out.resize(start + dw as usize * dh as usize, 0);
    let mut dst =
        Image::from_slice_u8(dw, dh, &mut out[start..], PixelType::U8).map_err(|e| fail(&e))?;
    let options = scaler.options;
    scaler
        .resizer
        .resize(&src, &mut dst, &options)
        .map_err(|e| fail(&e))
}

/// Appends the picture as tight I420 at `size` to `out`.
fn tight_i420(
    pic: &YuvView<'_>,
    size: (u32, u32),
    scaler: &mut Scaler,
    out: &mut Vec<u8>,
) -> Result<()> {
    let (w, h) = (pic.width as usize, pic.height as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let (ow, oh) = (size.0 as usize, size.1 as usize);
    let (ocw, och) = (ow.div_ceil(2), oh.div_ceil(2));
    out.reserve(ow * oh + 2 * ocw * och);
    if (ow, oh) == (w, h) {
        copy_plane(pic.y, pic.y_stride, w, h, out);
        copy_plane(pic.u, pic.uv_stride, cw, ch, out);
        copy_plane(pic.v, pic.uv_stride, cw, ch, out);
        return Ok(());
    }
    let mut tight = Vec::with_capacity(w * h);
    for (plane, stride, pw, ph, dw, dh) in [
        (pic.y, pic.y_stride, w, h, ow, oh),
        (pic.u, pic.uv_stride, cw, ch, ocw, och),
        (pic.v, pic.uv_stride, cw, ch, ocw, och),
    ] {
        tight.clear();
        copy_plane(plane, stride, pw, ph, &mut tight);
        scale_plane(
            scaler,
            &tight,
            (pw as u32, ph as u32),
            (dw as u32, dh as u32),
            out,
        )?;
    }
    Ok(())
}

/// Converts (and scales) a picture to `format` at `size`.
pub(crate) fn convert(
    pic: &YuvView<'_>,
    format: PixelFormat,
    size: (u32, u32),
    scaler: &mut Scaler,
) -> Result<Bytes> {
    let (ow, oh) = (size.0 as usize, size.1 as usize);
    let same_size = size == (pic.width, pic.height);
    let pool = scaler.pool.clone();
    let (ocw, och) = (ow.div_ceil(2), oh.div_ceil(2));
    match format {
        PixelFormat::I420 => {
            let mut out = pool.take(ow * oh + 2 * ocw * och);
            tight_i420(pic, size, scaler, &mut out)?;
            Ok(pool.share(out))
        }
        PixelFormat::Gray8 => {
            let mut out = pool.take(ow * oh);
            if same_size {
                copy_plane(pic.y, pic.y_stride, ow, oh, &mut out);
            } else {
                let (w, h) = (pic.width as usize, pic.height as usize);
                let mut tight = Vec::with_capacity(w * h);
                copy_plane(pic.y, pic.y_stride, w, h, &mut tight);
                scale_plane(scaler, &tight, (pic.width, pic.height), size, &mut out)?;
            }
            Ok(pool.share(out))
        }
        PixelFormat::Nv12 => {
            let mut i420 = Vec::new();
            tight_i420(pic, size, scaler, &mut i420)?;
            let (y, uv) = i420.split_at(ow * oh);
            let (u, v) = uv.split_at(ocw * och);
            let mut out = pool.take(ow * oh + 2 * ocw * och);
            out.extend_from_slice(y);
            out.extend(u.iter().zip(v).flat_map(|(&u, &v)| [u, v]));
            Ok(pool.share(out))
        }
        PixelFormat::Rgb24 | PixelFormat::Bgr24 => {
            let mut scaled = Vec::new();
            let planar = if same_size {
                YuvPlanarImage {
                    y_plane: pic.y,
                    y_stride: pic.y_stride as u32,
                    u_plane: pic.u,
                    u_stride: pic.uv_stride as u32,
                    v_plane: pic.v,
                    v_stride: pic.uv_stride as u32,
                    width: pic.width,
                    height: pic.height,
                }
            } else {
                tight_i420(pic, size, scaler, &mut scaled)?;
                let (y, uv) = scaled.split_at(ow * oh);
                let (u, v) = uv.split_at(ocw * och);
                YuvPlanarImage {
                    y_plane: y,
                    y_stride: ow as u32,
                    u_plane: u,
                    u_stride: ocw as u32,
                    v_plane: v,
                    v_stride: ocw as u32,
                    width: size.0,
                    height: size.1,
                }
            };
            let mut out = pool.take_len(ow * oh * 3);
            let stride = (ow * 3) as u32;
            let r = if format == PixelFormat::Rgb24 {
                yuv::yuv420_to_rgb(
                    &planar,
                    &mut out,
                    stride,
                    YuvRange::Limited,
                    YuvStandardMatrix::Bt601,
                )
            } else {
                yuv::yuv420_to_bgr(
                    &planar,
                    &mut out,
                    stride,
                    YuvRange::Limited,
                    YuvStandardMatrix::Bt601,
                )
            };
            r.map_err(|e| Error::internal(format!("colour conversion failed: {e}")))?;
            Ok(pool.share(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flat picture: luma `y`, chroma `u`/`v`, with padded strides like the decoder's.
    fn flat(w: u32, h: u32, y: u8, u: u8, v: u8) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let (ys, cs) = (w as usize + 32, w.div_ceil(2) as usize + 16);
        (
            vec![y; ys * h as usize],
            vec![u; cs * h.div_ceil(2) as usize],
            vec![v; cs * h.div_ceil(2) as usize],
        )
    }

    fn view<'a>(w: u32, h: u32, p: &'a (Vec<u8>, Vec<u8>, Vec<u8>)) -> YuvView<'a> {
        YuvView {
            width: w,
            height: h,
            y: &p.0,
            u: &p.1,
            v: &p.2,
            y_stride: w as usize + 32,
            uv_stride: w.div_ceil(2) as usize + 16,
        }
    }

    #[test]
    fn buffers_return_to_the_pool_when_the_last_holder_drops() {
        let mut scaler = Scaler::new();
        let planes = flat(64, 36, 81, 90, 240);
        let pic = view(64, 36, &planes);
        let a = convert(&pic, PixelFormat::Rgb24, (64, 36), &mut scaler).unwrap();
        let ptr = a.as_ptr();
        let kept = a.clone();
        drop(a);
        // Still held: a new frame gets another buffer.
        let b = convert(&pic, PixelFormat::Rgb24, (64, 36), &mut scaler).unwrap();
        assert_ne!(b.as_ptr(), ptr);
        drop(kept);
        drop(b);
        // Both back: the next frame reuses one, with the right contents.
        let c = convert(&pic, PixelFormat::Rgb24, (64, 36), &mut scaler).unwrap();
        assert_eq!(c.len(), 64 * 36 * 3);
        assert!(c[0] >= 250 && c[1] <= 5);
        assert_eq!(scaler.pool.free.lock().unwrap().len(), 1);
        // The pool never holds more than its bound.
        let many: Vec<Bytes> = (0..20)
            .map(|_| convert(&pic, PixelFormat::Gray8, (64, 36), &mut scaler).unwrap())
            .collect();
        drop(many);
        assert!(scaler.pool.free.lock().unwrap().len() <= POOLED_BUFFERS);
    }

    #[test]
    fn every_format_has_the_documented_size_and_colour() {
        let mut scaler = Scaler::new();
        // BT.601 limited: Y 81, U 90, V 240 is pure red (255, 0, 0) within rounding.
        let planes = flat(64, 36, 81, 90, 240);
        let pic = view(64, 36, &planes);
        for size in [(64, 36), (32, 18), (128, 72)] {
            for &f in PixelFormat::ALL {
                let out = convert(&pic, f, size, &mut scaler).unwrap();
                let planes = f.layout(size.0, size.1);
                let last = planes.last().unwrap();
                assert_eq!(
                    out.len(),
                    last.offset + last.stride * last.rows,
                    "{f} {size:?}"
                );
                match f {
                    PixelFormat::Rgb24 => {
                        assert!(
                            out[0] >= 250 && out[1] <= 5 && out[2] <= 5,
                            "{:?}",
                            &out[..3]
                        );
                    }
                    PixelFormat::Bgr24 => {
                        assert!(
                            out[2] >= 250 && out[1] <= 5 && out[0] <= 5,
                            "{:?}",
                            &out[..3]
                        );
                    }
                    PixelFormat::Gray8 => assert!(out.iter().all(|&b| b == 81)),
                    PixelFormat::I420 => {
                        assert_eq!(out[0], 81);
                        assert_eq!(out[planes[1].offset], 90);
                        assert_eq!(out[planes[2].offset], 240);
                    }
                    PixelFormat::Nv12 => {
                        assert_eq!(&out[planes[1].offset..planes[1].offset + 2], &[90, 240]);
                    }
                }
            }
        }
    }
}
