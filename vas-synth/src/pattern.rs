//! The moving test pattern the synthetic camera films.
//!
//! Owns rendering of one I420 picture: colour bars, a box that moves with the frame number,
//! a caption with the wall-clock time (UTC, `HH:MM:SS.mmm`) and the frame counter drawn
//! with the built-in font, and a patch of faint noise that makes the encoder spend the
//! configured bitrate (a static pattern alone would compress to almost nothing). It must never encode, read the clock or allocate per frame: the
//! caller passes the frame number and the time to print, and the buffers are reused.

use chrono::{DateTime, Timelike, Utc};

use super::font::{self, Plane};

/// Limited-range BT.601 Y/U/V of the seven classic colour bars, left to right
/// (white, yellow, cyan, green, magenta, red, blue).
const BARS_YUV: [(u8, u8, u8); 7] = [
    (235, 128, 128),
    (210, 16, 146),
    (170, 166, 16),
    (145, 54, 34),
    (106, 202, 222),
    (81, 90, 240),
    (41, 240, 110),
];
/// Luma of the caption band (black).
const BAND_Y: u8 = 16;
/// Luma of the caption text and of the moving box (white).
const INK_Y: u8 = 235;
/// Chroma of grey (no colour).
const NEUTRAL_CHROMA: u8 = 128;
/// Fraction of the picture height (1/n) taken by the caption band at the bottom.
const BAND_FRACTION: usize = 3;
/// Picture height per unit of font scale (a 360-line picture draws 3×-scaled glyphs).
const LINES_PER_FONT_SCALE: usize = 120;
/// Fraction of the picture height (1/n) that is the moving box's side.
const BOX_FRACTION: usize = 6;
/// How far the box moves per frame, in pixels per unit of font scale.
const BOX_STEP_PER_SCALE: usize = 4;

/// The widest caption line, for sizing the font.
const CLOCK_TEMPLATE: &str = "00:00:00.000";

/// Fraction of the picture width (1/n) where the noise patch in the caption band starts; the
/// patch runs to the right edge. Fresh noise every frame costs the encoder real bits, so the
/// stream's bitrate follows the configured target instead of collapsing on a static pattern.
const NOISE_START_FRACTION: usize = 2;

/// Mid-grey luma the noise varies around.
const NOISE_BASE_Y: u8 = 128;
/// Peak deviation of the noise from [`NOISE_BASE_Y`].
const NOISE_AMPLITUDE: u8 = 8;

/// A reusable renderer of the test pattern at one resolution.
pub(crate) struct TestPattern {
    width: usize,
    height: usize,
    /// The static part (bars and the empty band), I420.
    background: Vec<u8>,
    /// The picture being drawn, I420.
    picture: Vec<u8>,
}

impl TestPattern {
    /// A renderer for `width`×`height`; both must be even and at least 16 (checked by the
    /// camera config).
    pub(crate) fn new(width: usize, height: usize) -> Self {
        let mut background = vec![0u8; width * height * 3 / 2];
        let band_top = height - height / BAND_FRACTION;
        let (y_plane, chroma) = background.split_at_mut(width * height);
        let (u_plane, v_plane) = chroma.split_at_mut(width * height / 4);
        for row in 0..height {
            for col in 0..width {
                let (y, u, v) = if row >= band_top {
                    (BAND_Y, NEUTRAL_CHROMA, NEUTRAL_CHROMA)
                } else {
                    BARS_YUV[col * BARS_YUV.len() / width]
                };
                y_plane[row * width + col] = y;
                if row % 2 == 0 && col % 2 == 0 {
                    let ci = (row / 2) * (width / 2) + col / 2;
                    u_plane[ci] = u;
                    v_plane[ci] = v;
                }
            }
        }
        let picture = background.clone();
        TestPattern {
            width,
            height,
            background,
            picture,
        }
    }

    /// Picture width in pixels.
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    /// Picture height in pixels.
    pub(crate) fn height(&self) -> usize {
        self.height
    }

    /// The font scale used at this resolution.
    pub(crate) fn font_scale(&self) -> usize {
        // As large as the height allows, but the clock must fit left of the noise patch.
        let widest = font::text_width(CLOCK_TEMPLATE, 1) + 4;
        (self.height / LINES_PER_FONT_SCALE)
            .min(self.width / widest)
            .max(1)
    }

    /// Draws frame `frame_number`, captioned with `wall` and the counter; returns the I420
    /// planes (Y, then U, then V, tightly packed).
    pub(crate) fn render(&mut self, frame_number: u64, wall: DateTime<Utc>) -> &[u8] {
        self.picture.copy_from_slice(&self.background);
        let (w, h) = (self.width, self.height);
        let scale = self.font_scale();
        let band_top = h - h / BAND_FRACTION;

        // The moving box bounces left and right across the bars, on even coordinates so its
        // chroma lines up.
        let side = ((h / BOX_FRACTION) & !1).max(2);
        let travel = w.saturating_sub(side).max(1);
        let step = (frame_number as usize).wrapping_mul(BOX_STEP_PER_SCALE * scale) % (2 * travel);
        let box_x = (if step < travel {
            step
        } else {
            2 * travel - step
        }) & !1;
        let box_y = ((band_top.saturating_sub(side)) / 2) & !1;
        {
            let (y_plane, chroma) = self.picture.split_at_mut(w * h);
            let mut luma = Plane {
                data: y_plane,
                stride: w,
                width: w,
                height: h,
            };
            // A white box with a black rim, visible on every bar including the white one.
            font::fill_rect(&mut luma, box_x, box_y, side, side, BAND_Y);
            let rim = (side / 8).max(1);
            font::fill_rect(
                &mut luma,
                box_x + rim,
                box_y + rim,
                side - 2 * rim,
                side - 2 * rim,
                INK_Y,
            );

            let clock = format!(
                "{:02}:{:02}:{:02}.{:03}",
                wall.hour(),
                wall.minute(),
                wall.second(),
                wall.timestamp_subsec_millis().min(999)
            );
            let counter = format!("#{frame_number:07}");
            let line = font::text_height(scale);
            let margin = 2 * scale;
            font::draw_text(&mut luma, margin, band_top + margin, scale, &clock, INK_Y);
            font::draw_text(
                &mut luma,
                margin,
                band_top + 2 * margin + line,
                scale,
                &counter,
                INK_Y,
            );

            fill_noise(&mut luma, w / NOISE_START_FRACTION, band_top, frame_number);

            let (u_plane, v_plane) = chroma.split_at_mut(w * h / 4);
            for plane in [u_plane, v_plane] {
                let mut c = Plane {
                    data: plane,
                    stride: w / 2,
                    width: w / 2,
                    height: h / 2,
                };
                font::fill_rect(
                    &mut c,
                    box_x / 2,
                    box_y / 2,
                    side / 2,
                    side / 2,
                    NEUTRAL_CHROMA,
                );
            }
        }
        &self.picture
    }
}

/// Fills the plane right of `x` and below `y` with pseudo-random luma that differs per frame.
fn fill_noise(plane: &mut Plane<'_>, x: usize, y: usize, frame_number: u64) {
    // xorshift64*, seeded by the frame number: deterministic, cheap, never zero.
    let mut state = frame_number.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for row in y..plane.height {
        let line = &mut plane.data[row * plane.stride + x..row * plane.stride + plane.width];
        for chunk in line.chunks_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let bits = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            for (px, b) in chunk.iter_mut().zip(bits) {
                *px = NOISE_BASE_Y - NOISE_AMPLITUDE
                    + (u16::from(b) * u16::from(2 * NOISE_AMPLITUDE) / 255) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).unwrap()
    }

    #[test]
    fn picture_is_i420_sized_and_has_the_bars() {
        let mut p = TestPattern::new(64, 48);
        let pic = p.render(0, at(0)).to_vec();
        assert_eq!(pic.len(), 64 * 48 * 3 / 2);
        // Top-right pixel lies in the blue bar.
        assert_eq!(pic[63], BARS_YUV[6].0);
    }

    #[test]
    fn box_moves_with_the_frame_number() {
        let mut p = TestPattern::new(320, 180);
        let a = p.render(0, at(0)).to_vec();
        let b = p.render(5, at(0)).to_vec();
        let bars = 320 * (180 - 180 / BAND_FRACTION);
        assert_ne!(a[..bars], b[..bars], "the box did not move");
    }

    /// The caption's part of the band (left of the noise patch), row by row.
    fn caption(pic: &[u8], w: usize, h: usize) -> Vec<u8> {
        let top = h - h / BAND_FRACTION;
        (top..h)
            .flat_map(|row| pic[row * w..row * w + w / NOISE_START_FRACTION].to_vec())
            .collect()
    }

    #[test]
    fn caption_changes_with_time_and_counter() {
        let mut p = TestPattern::new(320, 180);
        let a = caption(p.render(1, at(1_000)), 320, 180);
        let b = caption(p.render(1, at(1_001)), 320, 180);
        let c = caption(p.render(2, at(1_001)), 320, 180);
        assert_ne!(a, b, "clock text did not change");
        assert_ne!(b, c, "counter text did not change");
        assert!(a.contains(&INK_Y), "no caption drawn");
        assert!(
            a.iter().all(|&y| y == INK_Y || y == BAND_Y),
            "noise over the caption"
        );
    }

    #[test]
    fn noise_patch_changes_every_frame_and_stays_in_range() {
        let mut p = TestPattern::new(320, 180);
        let top = 180 - 180 / BAND_FRACTION;
        let patch = |pic: &[u8]| -> Vec<u8> {
            (top..180)
                .flat_map(|row| pic[row * 320 + 160..row * 320 + 320].to_vec())
                .collect()
        };
        let a = patch(p.render(1, at(0)));
        let b = patch(p.render(2, at(0)));
        assert_ne!(a, b);
        assert!(
            a.iter()
                .all(|&y| y.abs_diff(NOISE_BASE_Y) <= NOISE_AMPLITUDE)
        );
        let distinct = a.iter().collect::<std::collections::HashSet<_>>().len();
        assert!(
            distinct > usize::from(NOISE_AMPLITUDE),
            "noise has only {distinct} levels"
        );
    }

    #[test]
    fn tiny_and_odd_sized_pictures_do_not_panic() {
        for (w, h) in [(16, 16), (18, 16), (3840, 16), (16, 2160)] {
            let mut p = TestPattern::new(w, h);
            for n in [0, 1, 99, u64::MAX] {
                assert_eq!(p.render(n, at(0)).len(), w * h * 3 / 2);
            }
        }
    }
}
