//! The notebook's picture: argmax per cell coloured with matplotlib's `hsv` map sampled at 12
//! levels (class i → hue i/12), over the input, with detection boxes and a legend.

use crate::detect::Detection;
use crate::heatmap::Heatmap;
use crate::image::GrayImage;
use crate::network::{BACKGROUND, CLASSES};

/// An RGB picture.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major RGB bytes.
    pub rgb: Vec<u8>,
}

/// The colour of a class: `hsv(class / 12)` with full saturation and value.
pub fn class_colour(class: usize) -> [u8; 3] {
    let h = class as f32 / 12.0 * 6.0;
    let x = 1.0 - (h % 2.0 - 1.0).abs();
    let (r, g, b) = match h as usize {
        0 => (1.0, x, 0.0),
        1 => (x, 1.0, 0.0),
        2 => (0.0, 1.0, x),
        3 => (0.0, x, 1.0),
        4 => (x, 0.0, 1.0),
        _ => (1.0, 0.0, x),
    };
    [(r * 255.0) as u8, (g * 255.0) as u8, (b * 255.0) as u8]
}

/// Short label of a class: `0`–`9`, `bg`.
pub fn class_label(class: usize) -> String {
    if class == BACKGROUND { "bg".into() } else { class.to_string() }
}

// 3×5 glyphs for the legend and boxes: digits, 'b', 'g'.
fn glyph(ch: char) -> [u8; 5] {
    match ch {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b010, 0b010, 0b010],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        'b' => [0b100, 0b100, 0b111, 0b101, 0b111],
        'g' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '.' => [0b000, 0b000, 0b000, 0b000, 0b010],
        _ => [0; 5],
    }
}

impl Picture {
    fn blank(width: usize, height: usize) -> Self {
        Self { width, height, rgb: vec![0; width * height * 3] }
    }

    fn blend(&mut self, x: usize, y: usize, colour: [u8; 3], alpha: f32) {
        if x >= self.width || y >= self.height {
            return;
        }
        let i = (y * self.width + x) * 3;
        for (k, &c) in colour.iter().enumerate() {
            let old = self.rgb[i + k] as f32;
            self.rgb[i + k] = (old * (1.0 - alpha) + c as f32 * alpha).round() as u8;
        }
    }

    fn rect(&mut self, x0: usize, y0: usize, x1: usize, y1: usize, colour: [u8; 3], fill: bool) {
        for y in y0..=y1 {
            for x in x0..=x1 {
                if fill || y == y0 || y == y1 || x == x0 || x == x1 {
                    self.blend(x, y, colour, 1.0);
                }
            }
        }
    }

    fn text(&mut self, x: usize, y: usize, text: &str, scale: usize, colour: [u8; 3]) {
        for (n, ch) in text.chars().enumerate() {
            for (r, bits) in glyph(ch).iter().enumerate() {
                for c in 0..3 {
                    if bits >> (2 - c) & 1 == 1 {
                        let (px, py) = (x + (n * 4 + c) * scale, y + r * scale);
                        self.rect(px, py, px + scale - 1, py + scale - 1, colour, true);
                    }
                }
            }
        }
    }
}

/// Renders the input (scaled by `scale`), each non-background cell's 8×8 block tinted with its
/// class colour, the detection boxes with their digit, and a legend strip of the 11 classes.
pub fn render(image: &GrayImage, heatmap: &Heatmap, detections: &[Detection], scale: usize) -> Picture {
    let scale = scale.max(1);
    let legend = 12 * scale.min(2) + 4;
    let (w, h) = (image.width * scale, image.height * scale);
    let mut pic = Picture::blank(w.max(CLASSES * 22), h + legend);
    for y in 0..h {
        for x in 0..w {
            let v = (image.pixels[(y / scale) * image.width + x / scale].clamp(0.0, 1.0) * 255.0) as u8;
            pic.blend(x, y, [v, v, v], 1.0);
        }
    }
    for r in 0..heatmap.rows {
        for c in 0..heatmap.cols {
            let (class, _) = heatmap.argmax(r, c);
            if class == BACKGROUND {
                continue;
            }
            let (cx, cy) = heatmap.cell_centre(r, c);
            let (x0, y0) = ((cx - 4.0).max(0.0) as usize, (cy - 4.0).max(0.0) as usize);
            for y in y0 * scale..((y0 + 8) * scale).min(h) {
                for x in x0 * scale..((x0 + 8) * scale).min(w) {
                    pic.blend(x, y, class_colour(class), 0.45);
                }
            }
        }
    }
    let s = scale as f32;
    for d in detections {
        let colour = class_colour(d.digit as usize);
        let x0 = ((d.x - d.w / 2.0) * s).max(0.0) as usize;
        let y0 = ((d.y - d.h / 2.0) * s).max(0.0) as usize;
        let x1 = (((d.x + d.w / 2.0) * s) as usize).min(w - 1);
        let y1 = (((d.y + d.h / 2.0) * s) as usize).min(h - 1);
        pic.rect(x0, y0, x1, y1, colour, false);
        let label = d.digit.to_string();
        pic.text(x0 + 2, y0 + 2, &label, scale.min(3), colour);
    }
    let ts = scale.min(2);
    for class in 0..CLASSES {
        let x = class * 22;
        pic.rect(x + 1, h + 2, x + 8, h + 2 + 5 * ts, class_colour(class), true);
        pic.text(x + 11, h + 2, &class_label(class), ts, [255, 255, 255]);
    }
    pic
}
