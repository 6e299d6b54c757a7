//! Input images: 8-bit gray or RGBA pixels → the model's input (white digit on black, in [0, 1]).

use crate::error::{Error, Result};

/// Largest accepted side, in pixels.
pub const MAX_SIDE: usize = 4096;
/// Largest accepted pixel count (a 2048×2048 image; about 300 MB of activations on the CPU).
pub const MAX_PIXELS: usize = 2048 * 2048;

/// A grayscale image in the model's convention: `0.0` is background (black), `1.0` is ink.
#[derive(Debug, Clone, PartialEq)]
pub struct GrayImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major intensities in [0, 1].
    pub pixels: Vec<f32>,
}

/// How the caller's pixels are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// One byte per pixel.
    Gray8,
    /// Two bytes per pixel: gray, alpha.
    GrayAlpha8,
    /// Three bytes per pixel.
    Rgb8,
    /// Four bytes per pixel (a canvas `ImageData`).
    Rgba8,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub fn channels(self) -> usize {
        match self {
            PixelFormat::Gray8 => 1,
            PixelFormat::GrayAlpha8 => 2,
            PixelFormat::Rgb8 => 3,
            PixelFormat::Rgba8 => 4,
        }
    }
}

/// Checks an image size against the documented limits.
pub fn check_size(width: usize, height: usize) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::InvalidInput(format!(
            "image is {width}×{height}; both sides must be at least 1 pixel"
        )));
    }
    if width > MAX_SIDE || height > MAX_SIDE || width * height > MAX_PIXELS {
        return Err(Error::InvalidInput(format!(
            "image is {width}×{height}; the limit is {MAX_SIDE} pixels a side and {MAX_PIXELS} pixels in all"
        )));
    }
    Ok(())
}

/// Checks a width and a height given as numbers (as JavaScript passes them): each a whole number
/// from 1 to [`MAX_SIDE`], at most [`MAX_PIXELS`] in all.
pub fn dimensions(width: f64, height: f64) -> Result<(usize, usize)> {
    let side = |v: f64, what: &str| {
        if v.is_finite() && v.fract() == 0.0 && (1.0..=MAX_SIDE as f64).contains(&v) {
            Ok(v as usize)
        } else {
            Err(Error::InvalidInput(format!("{what} must be a whole number from 1 to {MAX_SIDE}, not {v}")))
        }
    };
    let (w, h) = (side(width, "width")?, side(height, "height")?);
    if w * h > MAX_PIXELS {
        return Err(Error::InvalidInput(format!("image is {w}×{h}; the limit is {MAX_PIXELS} pixels in all")));
    }
    Ok((w, h))
}

impl PixelFormat {
    /// The layout of a `width`×`height` byte buffer of `len` bytes: RGBA (a canvas) or gray.
    pub fn from_len(len: usize, width: usize, height: usize) -> Result<Self> {
        let pixels = width.saturating_mul(height);
        match len {
            n if n == pixels.saturating_mul(4) => Ok(PixelFormat::Rgba8),
            n if n == pixels => Ok(PixelFormat::Gray8),
            n => Err(Error::InvalidInput(format!(
                "pixels hold {n} bytes; a {width}×{height} image needs {} (RGBA) or {pixels} (gray)",
                pixels.saturating_mul(4)
            ))),
        }
    }
}

impl GrayImage {
    /// Converts 8-bit pixels. Colour is reduced to luminance (Rec. 601); transparent pixels
    /// count as the page (black, or white when `invert`). With `invert`, dark-on-light input is
    /// turned into the model's light-on-dark.
    pub fn from_bytes(
        width: usize,
        height: usize,
        bytes: &[u8],
        format: PixelFormat,
        invert: bool,
    ) -> Result<Self> {
        check_size(width, height)?;
        let expected = width * height * format.channels();
        if bytes.len() != expected {
            return Err(Error::InvalidInput(format!(
                "{} bytes for a {width}×{height} {format:?} image; expected {expected}",
                bytes.len()
            )));
        }
        let page = if invert { 1.0 } else { 0.0 };
        let pixels = bytes
            .chunks_exact(format.channels())
            .map(|p| {
                let (value, alpha) = match *p {
                    [g] => (g as f32, 255.0),
                    [g, a] => (g as f32, a as f32),
                    [r, g, b] => (luma(r, g, b), 255.0),
                    [r, g, b, a] => (luma(r, g, b), a as f32),
                    _ => unreachable!("chunks_exact yields 1 to 4 bytes"),
                };
                let alpha = alpha / 255.0;
                let v = value / 255.0 * alpha + page * (1.0 - alpha);
                if invert { 1.0 - v } else { v }
            })
            .collect();
        Ok(Self { width, height, pixels })
    }

    /// Wraps float intensities, rejecting NaN and infinities.
    pub fn from_f32(width: usize, height: usize, pixels: Vec<f32>) -> Result<Self> {
        check_size(width, height)?;
        if pixels.len() != width * height {
            return Err(Error::InvalidInput(format!(
                "{} values for a {width}×{height} image; expected {}",
                pixels.len(),
                width * height
            )));
        }
        if let Some(i) = pixels.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidInput(format!(
                "pixel {i} is {} (values must be finite)",
                pixels[i]
            )));
        }
        Ok(Self { width, height, pixels })
    }

    /// A black image.
    pub fn blank(width: usize, height: usize) -> Self {
        Self { width, height, pixels: vec![0.0; width * height] }
    }

    /// Copies `patch` (`side`×`side` row-major bytes, MNIST convention) with its top-left corner at
    /// (`x`, `y`), overwriting what is there (the notebook's slice assignment).
    pub fn paste_u8(&mut self, patch: &[u8], side: usize, x: usize, y: usize) {
        for r in 0..side.min(self.height.saturating_sub(y)) {
            for c in 0..side.min(self.width.saturating_sub(x)) {
                self.pixels[(y + r) * self.width + x + c] = patch[r * side + c] as f32 / 255.0;
            }
        }
    }

    /// Shrunk by an integer `factor` with a box filter (edges: partial boxes averaged over
    /// what exists). Pixel `i` of the result covers pixels `factor·i .. factor·i + factor − 1`.
    pub fn downscaled(&self, factor: usize) -> Self {
        if factor <= 1 {
            return self.clone();
        }
        let (w, h) = (self.width.div_ceil(factor), self.height.div_ceil(factor));
        let mut pixels = vec![0.0; w * h];
        for (y, row) in pixels.chunks_mut(w).enumerate() {
            for (x, out) in row.iter_mut().enumerate() {
                let (mut sum, mut n) = (0.0, 0);
                for sy in y * factor..((y + 1) * factor).min(self.height) {
                    for sx in x * factor..((x + 1) * factor).min(self.width) {
                        sum += self.pixels[sy * self.width + sx];
                        n += 1;
                    }
                }
                *out = sum / n as f32;
            }
        }
        Self { width: w, height: h, pixels }
    }

    /// 8-bit gray bytes (for writing a PNG).
    pub fn to_gray8(&self) -> Vec<u8> {
        self.pixels
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect()
    }
}

fn luma(r: u8, g: u8, b: u8) -> f32 {
    0.299 * r as f32 + 0.587 * g as f32 + 0.114 * b as f32
}
