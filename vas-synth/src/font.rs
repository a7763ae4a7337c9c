//! A tiny built-in 5×7 bitmap font for the test pattern's clock and frame counter.
//!
//! Owns the glyph bitmaps (digits, `:`, `.`, `#` and space) and the routine that stamps text
//! into one 8-bit image plane. It must never allocate per call or read any clock: it only draws
//! what it is given, clipped to the plane.

/// Width of a glyph cell in font pixels.
pub(crate) const GLYPH_WIDTH: usize = 5;
/// Height of a glyph cell in font pixels.
pub(crate) const GLYPH_HEIGHT: usize = 7;
/// Blank font pixels between two glyphs.
pub(crate) const GLYPH_SPACING: usize = 1;

/// One glyph: seven rows, the five low bits of each row are the pixels, most significant left.
type Glyph = [u8; GLYPH_HEIGHT];

const DIGITS: [Glyph; 10] = [
    [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], // 0
    [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E], // 1
    [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], // 2
    [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E], // 3
    [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], // 4
    [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E], // 5
    [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], // 6
    [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08], // 7
    [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], // 8
    [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C], // 9
];
const COLON: Glyph = [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00];
const PERIOD: Glyph = [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C];
const HASH: Glyph = [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A];
const SPACE: Glyph = [0; GLYPH_HEIGHT];

/// The bitmap for `c`, or `None` when the font has no such glyph.
pub(crate) fn glyph(c: char) -> Option<&'static Glyph> {
    match c {
        '0'..='9' => Some(&DIGITS[c as usize - '0' as usize]),
        ':' => Some(&COLON),
        '.' => Some(&PERIOD),
        '#' => Some(&HASH),
        ' ' => Some(&SPACE),
        _ => None,
    }
}

/// Width in image pixels of `text` drawn at `scale` (no trailing spacing).
pub(crate) fn text_width(text: &str, scale: usize) -> usize {
    let n = text.chars().count();
    if n == 0 {
        return 0;
    }
    (n * (GLYPH_WIDTH + GLYPH_SPACING) - GLYPH_SPACING) * scale
}

/// Height in image pixels of one line of text at `scale`.
pub(crate) fn text_height(scale: usize) -> usize {
    GLYPH_HEIGHT * scale
}

/// A plane of 8-bit samples to draw on.
pub(crate) struct Plane<'a> {
    /// The samples, row by row.
    pub(crate) data: &'a mut [u8],
    /// Bytes from one row to the next.
    pub(crate) stride: usize,
    /// Visible width in samples.
    pub(crate) width: usize,
    /// Visible height in rows.
    pub(crate) height: usize,
}

/// Draws `text` with its top-left corner at (`x`, `y`), each font pixel a `scale`×`scale`
/// square of `value`. Characters without a glyph are drawn as blanks; anything outside the
/// plane is clipped.
pub(crate) fn draw_text(
    plane: &mut Plane<'_>,
    x: usize,
    y: usize,
    scale: usize,
    text: &str,
    value: u8,
) {
    let advance = (GLYPH_WIDTH + GLYPH_SPACING) * scale;
    for (i, c) in text.chars().enumerate() {
        let Some(g) = glyph(c) else { continue };
        let gx = x + i * advance;
        for (row, bits) in g.iter().enumerate() {
            for col in 0..GLYPH_WIDTH {
                if bits & (0x10 >> col) == 0 {
                    continue;
                }
                fill_rect(
                    plane,
                    gx + col * scale,
                    y + row * scale,
                    scale,
                    scale,
                    value,
                );
            }
        }
    }
}

/// Fills a rectangle with `value`, clipped to the plane.
pub(crate) fn fill_rect(plane: &mut Plane<'_>, x: usize, y: usize, w: usize, h: usize, value: u8) {
    let x_end = (x + w).min(plane.width);
    let y_end = (y + h).min(plane.height);
    if x >= x_end {
        return;
    }
    for row in y.min(y_end)..y_end {
        let start = row * plane.stride;
        plane.data[start + x..start + x_end].fill(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str, scale: usize) -> (Vec<u8>, usize, usize) {
        let w = text_width(text, scale) + 4;
        let h = text_height(scale) + 4;
        let mut data = vec![0u8; w * h];
        let mut plane = Plane {
            data: &mut data,
            stride: w,
            width: w,
            height: h,
        };
        draw_text(&mut plane, 2, 2, scale, text, 255);
        (data, w, h)
    }

    #[test]
    fn every_needed_character_has_a_distinct_glyph() {
        let chars = "0123456789:.# ";
        let glyphs: Vec<_> = chars
            .chars()
            .map(|c| glyph(c).expect("glyph exists"))
            .collect();
        for (i, a) in glyphs.iter().enumerate() {
            for b in &glyphs[i + 1..] {
                assert_ne!(a, b, "two glyphs look the same");
            }
            assert!(
                a.iter().all(|row| row & !0x1F == 0),
                "glyph wider than 5 pixels"
            );
        }
        assert!(glyph('x').is_none());
    }

    #[test]
    fn eight_lights_the_pixels_its_bitmap_says() {
        let (data, _, _) = render("8", 1);
        let lit = data.iter().filter(|&&v| v == 255).count();
        let expected: u32 = glyph('8').unwrap().iter().map(|r| r.count_ones()).sum();
        assert_eq!(lit, expected as usize);
        // Scaling multiplies every font pixel into scale² image pixels.
        let (data, _, _) = render("8", 3);
        assert_eq!(
            data.iter().filter(|&&v| v == 255).count(),
            expected as usize * 9
        );
    }

    #[test]
    fn text_stays_inside_its_box_and_a_margin_stays_blank() {
        let (data, w, h) = render("12:34:56.789 #0042", 2);
        for y in 0..h {
            for x in 0..w {
                let inside = (2..w - 2).contains(&x) && (2..h - 2).contains(&y);
                if !inside {
                    assert_eq!(
                        data[y * w + x],
                        0,
                        "pixel ({x},{y}) outside the text box is lit"
                    );
                }
            }
        }
        assert!(data.contains(&255));
    }

    #[test]
    fn drawing_off_the_plane_is_clipped_not_a_panic() {
        let mut data = vec![0u8; 10 * 10];
        let mut plane = Plane {
            data: &mut data,
            stride: 10,
            width: 10,
            height: 10,
        };
        draw_text(&mut plane, 5, 5, 2, "888", 1);
        draw_text(&mut plane, 100, 100, 4, "8", 1);
        assert!(data.contains(&1));
    }

    #[test]
    fn width_counts_spacing_between_glyphs_only() {
        assert_eq!(text_width("", 3), 0);
        assert_eq!(text_width("1", 1), 5);
        assert_eq!(text_width("11", 1), 11);
        assert_eq!(text_width("11", 2), 22);
    }
}
