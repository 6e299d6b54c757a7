//! Input images: 8-bit gray or RGBA pixels → the model's input (white digit on black, in [0, 1]).

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Largest accepted side, in pixels.
pub const MAX_SIDE: usize = 4096;
/// Side of the blocks over which [`GrayImage::flattened`] estimates the page.
pub const PAGE_BLOCK: usize = 32;
/// Regions of the page at least this wide, lighter than the rest of it (in the model's
/// convention: a dark desk around a sheet of paper), are page too ([`GrayImage::flattened`]):
/// wider than any stroke people draw or write.
pub const FLAT_REGION: usize = 48;
/// How much lighter than the page's estimate such a region must be to count ([`FLAT_REGION`]):
/// the page's own unevenness stays with the estimate.
pub const FLAT_MARGIN: f32 = 0.03;
/// What stays of the page after flattening (paper grain) is dropped below this.
pub const PAGE_NOISE: f32 = 0.08;
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
    check_size_within(width, height, MAX_SIDE, MAX_PIXELS)
}

/// Checks an image size: at least 1 pixel a side, at most `max_side` a side and `max_pixels` in
/// all.
pub fn check_size_within(width: usize, height: usize, max_side: usize, max_pixels: usize) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::InvalidInput(format!("image is {width}×{height}; both sides must be at least 1 pixel")));
    }
    if width > max_side || height > max_side || width * height > max_pixels {
        return Err(Error::InvalidInput(format!(
            "image is {width}×{height}; the limit is {max_side} pixels a side and {max_pixels} pixels in all"
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

/// Which way an image's ink runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ink {
    /// Light ink on a dark page (MNIST's convention, a canvas drawn in white).
    Light,
    /// Dark ink on a light page (paper, a scan, a photo): inverted for the model.
    Dark,
    /// Decided from the image ([`dark_ink`]): by its thin strokes — darker than what lies on
    /// both sides of them, or lighter — where they clearly say; else dark ink when most of it
    /// is light (the median luminance of its opaque pixels above one half).
    #[default]
    Auto,
}

impl Ink {
    /// Whether an image with this ink is inverted for the model; `dark` tells whether its ink
    /// is dark ([`dark_ink`]), asked for by `Auto` only.
    fn inverts(self, dark: impl FnOnce() -> bool) -> bool {
        match self {
            Ink::Light => false,
            Ink::Dark => true,
            Ink::Auto => dark(),
        }
    }
}

impl Ink {
    /// The ink [`Ink::Auto`] finds in a caller's pixels, as [`GrayImage::from_pixels`] takes
    /// them (transparent pixels are page: see `opaque_luma`): `Dark` or `Light`.
    pub fn of_pixels(width: f64, height: f64, pixels: &Pixels) -> Result<Ink> {
        let (w, h) = dimensions(width, height)?;
        let dark = match pixels {
            Pixels::Bytes(bytes) => dark_ink(&opaque_luma(bytes, PixelFormat::from_len(bytes.len(), w, h)?), w, h),
            Pixels::Floats(values) => dark_ink(&GrayImage::from_f32(w, h, values.clone())?.pixels, w, h),
        };
        Ok(if dark { Ink::Dark } else { Ink::Light })
    }
}

/// Below this contrast with both sides, a pixel is not part of a thin stroke ([`dark_ink`]):
/// paper grain, JPEG noise.
const STROKE_CONTRAST: f32 = 0.1;
/// How many times the other kind's thin-stroke evidence one kind needs to decide ([`dark_ink`]).
const STROKE_EVIDENCE: f64 = 2.0;

/// Whether the ink of a `width`×`height` image of luminances in [0, 1] (NaN: a transparent
/// pixel, which says nothing) is dark. Ink is drawn in thin strokes, the page is what lies
/// around them: at distances of 2 to 16 pixels (times the shorter side / 336 for large
/// images), across and down, a pixel darker than both its neighbours by more than
/// [`STROKE_CONTRAST`] is evidence of dark ink, one lighter than both of light ink (the edge
/// of a sheet of paper, a shadow's border or uneven light are steps or slopes, and count for
/// neither). Where one kind has [`STROKE_EVIDENCE`] times the other's, it decides; else the
/// median does (dark ink when it is above one half). So a photo of a sheet on a dark desk,
/// the desk more than half of it, still reads as dark ink, and a drawing in white on black
/// as light ink, however much of it is ink.
pub fn dark_ink(luma: &[f32], width: usize, height: usize) -> bool {
    let by_median = median(luma.iter().copied().filter(|v| !v.is_nan())).is_some_and(|m| m > 0.5);
    let (dark, light) = thin_strokes(luma, width, height);
    if by_median { light <= STROKE_EVIDENCE * dark } else { dark > STROKE_EVIDENCE * light }
}

/// [`dark_ink`]'s evidence: the summed contrasts of dark and of light thin strokes, sampled at
/// every other row and column.
fn thin_strokes(luma: &[f32], width: usize, height: usize) -> (f64, f64) {
    let scale = (width.min(height) as f32 / 336.0).max(1.0);
    let (mut dark, mut light) = (0.0f64, 0.0f64);
    let mut weigh = |a: f32, c: f32, b: f32| {
        // NaN (transparent) fails every comparison: no evidence.
        let (low, high) = (a.min(b), a.max(b));
        if low - c > STROKE_CONTRAST {
            dark += f64::from(low - c - STROKE_CONTRAST);
        } else if c - high > STROKE_CONTRAST {
            light += f64::from(c - high - STROKE_CONTRAST);
        }
    };
    for reach in [2.0f32, 4.0, 8.0, 16.0] {
        let d = (reach * scale).round() as usize;
        for y in (0..height).step_by(2) {
            let row = &luma[y * width..(y + 1) * width];
            for x in (d..width.saturating_sub(d)).step_by(2) {
                weigh(row[x - d], row[x], row[x + d]);
            }
        }
        for y in (d..height.saturating_sub(d)).step_by(2) {
            for x in (0..width).step_by(2) {
                weigh(luma[(y - d) * width + x], luma[y * width + x], luma[(y + d) * width + x]);
            }
        }
    }
    (dark, light)
}

impl crate::Named for Ink {
    const WHAT: &'static str = "ink";
}

impl Ink {
    /// The ink a call asks for (the wasm boundary's options): `ink` when given (`Some(None)`:
    /// given, but not a string), else `invert` (`true` = dark), else `default`.
    pub fn from_options(ink: Option<Option<String>>, invert: Option<bool>, default: Ink) -> Result<Ink> {
        const MUST: &str = "ink must be \"light\", \"dark\" or \"auto\"";
        match (ink, invert) {
            (Some(Some(name)), _) => {
                crate::Named::from_name(&name).map_err(|_| Error::InvalidInput(format!("{MUST}, not {name:?}")))
            }
            (Some(None), _) => Err(Error::InvalidInput(MUST.into())),
            (None, Some(invert)) => Ok(if invert { Ink::Dark } else { Ink::Light }),
            (None, None) => Ok(default),
        }
    }
}

/// The value of rank `rank(n)` (1-based) among `n` values in [0, 1] (to 1/256, from a
/// histogram); `None` for no values.
fn ranked(values: impl Iterator<Item = f32>, rank: impl Fn(usize) -> usize) -> Option<f32> {
    let mut histogram = [0usize; 256];
    let mut n = 0;
    for v in values {
        histogram[bin(v)] += 1;
        n += 1;
    }
    rank_in(&histogram, n, rank(n))
}

/// The bin of value `v` in [0, 1] in a histogram of 256 (to 1/255; rounded by truncating
/// v·255 + ½: `round` is a call a value on wasm).
fn bin(v: f32) -> usize {
    (v.clamp(0.0, 1.0) * 255.0 + 0.5) as usize
}

/// The value of rank `target` (1-based) among the `n` values counted in `histogram` ([`bin`]);
/// `None` for no values.
fn rank_in(histogram: &[usize], n: usize, target: usize) -> Option<f32> {
    let mut seen = 0;
    histogram.iter().enumerate().find_map(|(bin, count)| {
        seen += count;
        (n > 0 && seen >= target).then_some(bin as f32 / 255.0)
    })
}

/// The rank (1-based) of quantile `q` among `n` values.
fn quantile_rank(q: f32, n: usize) -> usize {
    (q * n as f32).ceil().max(1.0) as usize
}

/// A `width`×`height` image's pixels, rows and columns swapped.
fn transposed(pixels: &[f32], width: usize, height: usize) -> Vec<f32> {
    // In tiles of 16×16, so that both sides stay in cache (a column walk over a whole image
    // misses it at every pixel).
    const TILE: usize = 16;
    let mut out = vec![0.0; pixels.len()];
    for y0 in (0..height).step_by(TILE) {
        for x0 in (0..width).step_by(TILE) {
            for y in y0..(y0 + TILE).min(height) {
                for x in x0..(x0 + TILE).min(width) {
                    out[x * height + y] = pixels[y * width + x];
                }
            }
        }
    }
    out
}

/// A flattened page's pixel may be on a printed line where it is at least this much above both
/// pixels [`LINE_SIDE`] rows away (a thin ridge across: grain and slopes are not).
const LINE_ON: f32 = 0.02;
/// See [`LINE_ON`].
const LINE_SIDE: usize = 3;
/// Printed lines are found at slopes up to this (degrees), in steps of [`LINE_TILT_STEP`]: a
/// phone photo of a sheet is often a little turned (at ±6°, a sheet turned 8° kept its lines).
const LINE_TILT: f32 = 15.0;
/// See [`LINE_TILT`].
const LINE_TILT_STEP: f32 = 0.5;
/// A printed line has pixels on over at least this share of the image's width, and one run of
/// them (gaps of up to [`LINE_GAP`] pixels bridged) over at least [`LINE_RUN`] of it.
const LINE_SHARE: f32 = 0.3;
/// See [`LINE_SHARE`].
const LINE_RUN: f32 = 0.2;
/// See [`LINE_SHARE`].
const LINE_GAP: usize = 3;
/// A printed line the image's edge cuts short (under half the width left) is one from this
/// many pixels where a run covers [`LINE_STUB_RUN`] of what is left.
const LINE_STUB: usize = 12;
/// See [`LINE_STUB`].
const LINE_STUB_RUN: f32 = 0.8;
/// A printed line is at most this thick (pixels, for images up to 512 px; more in proportion
/// for larger ones): a thicker band is a stroke.
const LINE_THICK: usize = 6;
/// The quantile, over a printed line's length, of its strongest pixel across that is taken for
/// the line's own strength ([`ruled_lines_removed`]).
const LINE_LEVEL: f32 = 0.5;
/// A line alone (a notebook's margin, beside a ruling the other way) is removed where one run of
/// it covers at least this share of the sheet.
const LINE_ALONE: f32 = 0.8;
/// On a clean page (a scan, a drawing), a line whose own strength is this share of the ink's
/// (its 99.5th percentile) or more is drawn, not printed: hatching, a drawing's lines. A
/// notebook's printed lines are far fainter than a pen's ink.
const LINE_FAINT: f32 = 0.6;
/// Printed lines come as a ruling: fewer than this many parallel ones are left alone (the bar
/// of a large 7 is not a ruling).
const LINES_AT_LEAST: usize = 3;

/// Removes the near-horizontal printed lines of a ruled or squared sheet from a flattened page
/// (`pixels`, `width`×`height`, ink > 0): the slope whose sheared rows hold the most lined-up
/// ink (within ±[`LINE_TILT`]°), the rows along it that are lines ([`LINE_SHARE`],
/// [`LINE_RUN`], [`LINE_THICK`]), and, if at least [`LINES_AT_LEAST`] of them, each line's
/// pixels (and one more on each side, its soft edge) lowered to the greater of the pixels
/// just outside it: where a stroke crosses a line, the stroke goes on above and below and is
/// kept; elsewhere the line goes. A line whose own strength is `strongest` or more is left (a
/// drawn one, on a clean page: see [`LINE_FAINT`]).
fn ruled_lines_removed(pixels: &mut [f32], width: usize, height: usize, margins: bool, strongest: f32) -> usize {
    let (w, h) = (width, height);
    let blank = vec![0.0; w];
    let mut ridge = vec![false; w * h];
    for (y, on) in ridge.chunks_exact_mut(w.max(1)).enumerate().take(h) {
        let (row, above, below) = across_neighbours(pixels, &blank, (w, h), y, LINE_SIDE);
        for (((on, &v), &a), &b) in on.iter_mut().zip(row).zip(above).zip(below) {
            *on = is_ridge(v, a, b);
        }
    }
    let reach = (w as f32 * LINE_TILT.to_radians().tan()).ceil() as usize;
    let rows = h + 2 * reach;
    // Row r of a slope's profile runs through pixel (x, r − reach + shift(x)).
    let shifts = |slope: f32| -> Vec<isize> { (0..w).map(|x| (x as f32 * slope).round() as isize).collect() };
    // The ridge pixels (x, y), row by row: a drawing has few, so that the search below costs
    // little where there is no ruling.
    let ridges: Vec<(usize, usize)> =
        ridge.iter().enumerate().filter(|(_, on)| **on).map(|(i, _)| (i % w, i / w)).collect();
    // These ridge pixels, by the row of the profile they fall in.
    let profile = |shift: &[isize], ridges: &[(usize, usize)]| {
        let mut counts = vec![0u32; rows];
        for &(x, y) in ridges {
            counts[(y as isize + reach as isize - shift[x]) as usize] += 1;
        }
        counts
    };
    // The slope: the one whose profile is peakiest (sum of squares), from every other column.
    let even: Vec<(usize, usize)> = ridges.iter().filter(|(x, _)| x % 2 == 0).copied().collect();
    let steps = (LINE_TILT / LINE_TILT_STEP) as i32;
    let peaky = |counts: Vec<u32>| counts.iter().map(|&c| u64::from(c) * u64::from(c)).sum::<u64>();
    let Some(shift) = (-steps..=steps)
        .map(|k| shifts((k as f32 * LINE_TILT_STEP).to_radians().tan()))
        .max_by_key(|shift| peaky(profile(shift, &even)))
    else {
        return 0;
    };
    // The ridge pixels of every column along it (what bounds a row pair's line below).
    let crossed = profile(&shift, &ridges);
    let at = |r: usize, x: usize| {
        let y = r as isize - reach as isize + shift[x];
        (0..h as isize).contains(&y).then_some(y as usize)
    };
    // Columns where row r or r + 1 of the profile is inside the image, for every r (a column's
    // rows form one interval: summed from a difference array).
    let mut inside = vec![0isize; rows + 1];
    for &s in &shift {
        let first = (reach as isize - s - 1).clamp(0, rows as isize) as usize;
        let end = (reach as isize - s + h as isize).clamp(0, rows as isize) as usize;
        if first < end {
            inside[first] += 1;
            inside[end] -= 1;
        }
    }
    let inside: Vec<usize> =
        inside.iter().scan(0isize, |sum, d| Some(*sum + d).inspect(|v| *sum = *v)).map(|v| v as usize).collect();
    // Whether rows r and r + 1 of the profile hold a line (one that does not run exactly at the
    // slope found steps from one row to the next), and then its longest run.
    let line = |r: usize| {
        // A line the image's edge cuts short (a tilted ruling's corners) is one where it runs
        // on over nearly all of what is left of it.
        let inside = inside[r];
        let stub = inside < w / 2 && inside >= LINE_STUB;
        // What rows r and r + 1 could hold at most (ridge pixels along the slope; a run bridges
        // gaps of up to LINE_GAP): too little for a line, whole or cut short, is not looked at.
        let pair = crossed[r] + crossed.get(r + 1).copied().unwrap_or(0);
        let may_be_full = pair as f32 >= LINE_SHARE * w as f32;
        let may_be_cut_short = stub && ((LINE_GAP + 1) * pair as usize) as f32 >= LINE_STUB_RUN * inside as f32;
        if !(may_be_full || may_be_cut_short) {
            return None;
        }
        let on = |x: usize| [r, r + 1].iter().any(|&r| at(r, x).is_some_and(|y| ridge[y * w + x]));
        let (mut count, mut best, mut run, mut gap) = (0, 0, 0, 0);
        for x in 0..w {
            if on(x) {
                count += 1;
                run += gap + 1;
                gap = 0;
                best = best.max(run);
            } else if run > 0 && gap < LINE_GAP {
                gap += 1;
            } else {
                (run, gap) = (0, 0);
            }
        }
        let cut_short = stub && best as f32 >= LINE_STUB_RUN * inside as f32;
        let full = count as f32 >= LINE_SHARE * w as f32 && best as f32 >= LINE_RUN * w as f32;
        (full || cut_short).then_some(best)
    };
    // Bands of line rows, at most LINE_THICK (scaled) thick, with their longest run.
    let thick = LINE_THICK * w.min(h).div_ceil(512).max(1);
    let lines: Vec<Option<usize>> = (0..rows).map(line).collect();
    let mut bands = Vec::new();
    let mut r = 0;
    while r < rows {
        let start = r;
        let mut run = None;
        while let Some(Some(more)) = lines.get(r) {
            run = run.max(Some(*more));
            r += 1;
        }
        match run {
            // Pairs start .. r: rows start ..= r (the last pair's second row).
            Some(run) if r - start < thick => bands.push((start..r + 1, run)),
            Some(_) => {}
            None => r += 1,
        }
    }
    // The band's rows in column x, with one more on each side (its soft edge).
    let rows_of = |band: &Range<usize>, x: usize| {
        (band.start.saturating_sub(1)..(band.end + 1).min(rows)).filter_map(move |r| at(r, x))
    };
    // A line's own strength: most of it is bare line, so a high quantile of its strongest pixel
    // across is the line's, not a stroke's (over the columns where it is inside the image).
    let level = |pixels: &[f32], band: &Range<usize>| {
        let strongest = |x: usize| rows_of(band, x).map(|y| pixels[y * w + x]).reduce(f32::max);
        quantile((0..w).filter_map(strongest), LINE_LEVEL)
    };
    // Lines as strong as `strongest` are drawn, not printed.
    if strongest.is_finite() {
        bands.retain(|(band, _)| level(pixels, band) < strongest);
    }
    if bands.len() < LINES_AT_LEAST {
        // No ruling here: only a line along nearly all of the sheet goes, and only beside a
        // ruling the other way (a notebook's margin).
        let alone = |run: usize| margins && run as f32 >= LINE_ALONE * w as f32;
        bands.retain(|(_, run)| alone(*run));
    }
    let found = bands.len();
    for (band, _) in bands {
        let level = level(pixels, &band);
        for x in 0..w {
            let outside = |r: Option<usize>| r.and_then(|r| at(r, x)).map_or(0.0, |y| pixels[y * w + x]);
            let bound = outside(band.start.checked_sub(2)).max(outside(Some(band.end + 1)));
            for y in rows_of(&band, x) {
                let v = pixels[y * w + x];
                // What a stroke adds to the line stays (one that runs along it, or crosses it).
                pixels[y * w + x] = v.min(bound).max(v - level);
            }
        }
    }
    found
}

/// Whether a pixel of value `v` is on a thin ridge across: [`LINE_ON`] above both pixels
/// [`LINE_SIDE`] away (`a` and `b`; 0 outside the image).
fn is_ridge(v: f32, a: f32, b: f32) -> bool {
    v >= greater(a, b) + LINE_ON
}

/// Row `y` of a `width`×`height` image and the rows `distance` above and below it (`blank`,
/// `width` zeros, outside the image): at [`LINE_SIDE`], what [`is_ridge`] compares, a whole row
/// at a time.
fn across_neighbours<'a>(
    pixels: &'a [f32],
    blank: &'a [f32],
    (width, height): (usize, usize),
    y: usize,
    distance: usize,
) -> (&'a [f32], &'a [f32], &'a [f32]) {
    let row = |y: usize| &pixels[y * width..][..width];
    let near = |y: Option<usize>| y.filter(|&y| y < height).map_or(blank, row);
    (row(y), near(y.checked_sub(distance)), near(Some(y + distance)))
}

/// A notebook's printed lines, across and down, removed from `pixels` (`width`×`height`, ink >
/// 0; see [`ruled_lines_removed`], lines as strong as `strongest` left): they are no one's
/// ink. A margin line goes beside a ruling: the rows are looked at again if the columns were
/// one.
fn printed_lines_removed(mut pixels: Vec<f32>, width: usize, height: usize, strongest: f32) -> Vec<f32> {
    let (w, h) = (width, height);
    let across = ruled_lines_removed(&mut pixels, w, h, false, strongest);
    let mut down = transposed(&pixels, w, h);
    let ruled_down = ruled_lines_removed(&mut down, h, w, across >= LINES_AT_LEAST, strongest);
    // (No line removed down: the columns are as they were.)
    let mut pixels = if ruled_down > 0 { transposed(&down, h, w) } else { pixels };
    if across < LINES_AT_LEAST && ruled_down >= LINES_AT_LEAST {
        ruled_lines_removed(&mut pixels, w, h, true, strongest);
    }
    pixels
}

/// Whether a clean page (see [`GrayImage::flattened`]) may hold a ruling: faint crests
/// ([`faint_crest`]) across lines, or down lines in every 4th row, at least as many as
/// [`LINES_AT_LEAST`] lines over [`LINE_SHARE`] of the sheet give. Only a line fainter than
/// [`LINE_FAINT`] of the ink is removed from a clean page (its strength a median along it), and
/// the page's pixels are at most 1, so a line that goes is fainter than [`LINE_FAINT`] along at
/// least half of its length: a drawing in one pen's full ink, however thin the pen, then costs
/// this count alone (its soft edges are no crests), while a scan's printed lines, far fainter
/// than its ink, are still searched for.
fn may_hold_a_ruling(pixels: &[f32], width: usize, height: usize) -> bool {
    let (w, h, side) = (width, height, LINE_SIDE);
    // The faint crests of a line of pixels, each against the pixels `side` away (`a`, `b`) and
    // just beside it (`c`, `d`) across.
    let crests = |line: &[f32], (a, b): (&[f32], &[f32]), (c, d): (&[f32], &[f32])| {
        let pixels = line.iter().zip(a).zip(b).zip(c.iter().zip(d));
        pixels.map(|(((&v, &a), &b), (&c, &d))| u32::from(faint_crest(v, a, b, c, d))).sum::<u32>() as usize
    };
    // Across: as [`ruled_lines_removed`] finds them, whole rows at a time.
    let blank = vec![0.0; w];
    let across: usize = (0..h)
        .map(|y| {
            let (line, above, below) = across_neighbours(pixels, &blank, (w, h), y, side);
            let (_, up, down) = across_neighbours(pixels, &blank, (w, h), y, 1);
            crests(line, (above, below), (up, down))
        })
        .sum();
    if across as f32 >= LINES_AT_LEAST as f32 * LINE_SHARE * w as f32 {
        return true;
    }
    // Down: every 4th row against the columns `side` and 1 left and right (0 outside).
    let mut padded = vec![0.0; w + 2 * side];
    let down: usize = (0..h)
        .step_by(4)
        .map(|y| {
            padded[side..side + w].copy_from_slice(&pixels[y * w..][..w]);
            let (line, a, b) = (&padded[side..side + w], &padded[..w], &padded[2 * side..]);
            crests(line, (a, b), (&padded[side - 1..side - 1 + w], &padded[side + 1..side + 1 + w]))
        })
        .sum();
    down as f32 >= LINES_AT_LEAST as f32 * (LINE_SHARE * h as f32 / 4.0 - 1.0)
}

/// Whether a pixel of value `v` may lie along a printed line of a clean page: on a thin ridge
/// across ([`is_ridge`] against `a` and `b`), no lower than the pixels just beside it across
/// (`c` and `d`: the line's crest, not a stroke's soft edge), and fainter than [`LINE_FAINT`].
#[inline(always)]
fn faint_crest(v: f32, a: f32, b: f32, c: f32, d: f32) -> bool {
    is_ridge(v, a, b) & (v >= greater(c, d)) & (v < LINE_FAINT)
}

/// The greater of two pixels in one comparison. `f32::max` returns the other operand where one
/// is NaN, which wasm's `f32.max` does not, so on wasm it is a call to `fmaxf` a pixel (in
/// the hot loops here, a sixth of a live stroke's time); pixels are never NaN.
#[inline(always)]
pub(crate) fn greater(a: f32, b: f32) -> f32 {
    if a > b { a } else { b }
}

/// The lesser of two pixels in one comparison (see [`greater`]).
#[inline(always)]
pub(crate) fn lesser(a: f32, b: f32) -> f32 {
    if a < b { a } else { b }
}

/// `values` replaced by the running `op` ([`lesser`] or [`greater`], whose `identity` is ±∞) over
/// windows of `2·r + 1` centred on each (cut short at the ends), by van Herk's method: prefix
/// and suffix extremes within blocks of the window's length, two per window.
#[inline(never)]
fn running_extreme(values: &mut [f32], r: usize, op: fn(f32, f32) -> f32, identity: f32, scratch: &mut Vec<f32>) {
    let (n, k) = (values.len(), 2 * r + 1);
    // The line with r identities on each side, then its prefix and suffix extremes per block.
    let len = n + 2 * r;
    scratch.clear();
    scratch.resize(3 * len, identity);
    let (padded, rest) = scratch.split_at_mut(len);
    let (prefix, suffix) = rest.split_at_mut(len);
    padded[r..r + n].copy_from_slice(values);
    for i in 0..len {
        prefix[i] = if i % k == 0 { padded[i] } else { op(prefix[i - 1], padded[i]) };
    }
    for i in (0..len).rev() {
        suffix[i] = if i % k == k - 1 || i == len - 1 { padded[i] } else { op(suffix[i + 1], padded[i]) };
    }
    // The window of value i is padded[i .. i + k]: the suffix from its start, the prefix to its end.
    for (i, v) in values.iter_mut().enumerate() {
        *v = op(suffix[i], prefix[i + k - 1]);
    }
}

/// The median of values in [0, 1] (the upper one of an even count); `None` for no values.
fn median(values: impl Iterator<Item = f32>) -> Option<f32> {
    ranked(values, |n| n / 2 + 1)
}

/// The `q`-quantile (0–1) of values in [0, 1]; 0 for no values.
fn quantile(values: impl Iterator<Item = f32>, q: f32) -> f32 {
    ranked(values, |n| quantile_rank(q, n)).unwrap_or(0.0)
}

/// A caller's pixels, as they cross the wasm boundary.
#[derive(Debug, Clone, PartialEq)]
pub enum Pixels {
    /// RGBA (4 bytes a pixel) or gray (1 byte a pixel), 8-bit.
    Bytes(Vec<u8>),
    /// Intensities in [0, 1], one a pixel.
    Floats(Vec<f32>),
}

/// How the pyramid's coarser levels are made from the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Downscale {
    /// A box filter: thin strokes fade as the image shrinks.
    Box,
    /// A box filter, then the level's ink brought back to full strength (divided by the 95th
    /// percentile of its inked pixels): a thin stroke stays as bright as a thick one.
    Gain,
    /// The maximum of each `factor`×`factor` block: every stroke stays at full strength and at
    /// least a pixel wide.
    Max,
    /// [`Downscale::Gain`], then strokes thinner than MNIST's at the level's scale thickened
    /// (see [`GrayImage::thickened`]): a big digit drawn with a thin pen looks at ⅛ the way a
    /// small one drawn with a felt pen does.
    #[default]
    Stroke,
}

impl crate::Named for Downscale {
    const WHAT: &'static str = "downscale";
}

impl Downscale {
    /// The level from its box-filtered image (see [`GrayImage::downscaled`]) for the modes that
    /// start from one (`Box`, `Gain`, `Stroke`; `Max` does not and is returned as given).
    #[inline(never)]
    pub fn from_box(self, small: GrayImage) -> GrayImage {
        self.making(&small).made(small)
    }

    /// What [`Downscale::from_box`] does to `small`, decided from the whole of it: the gain its
    /// ink is divided by and how its strokes are grown.
    pub fn making(self, small: &GrayImage) -> Making {
        let gain = match self {
            Downscale::Box | Downscale::Max => None,
            Downscale::Gain | Downscale::Stroke => {
                gain_of(quantile(small.pixels.iter().copied().filter(|&v| v > INKED), INK_QUANTILE))
            }
        };
        let grow = match self {
            Downscale::Stroke => {
                let gained = |v: f32| gain.map_or(v, |ink| lesser(v / ink, 1.0));
                Grow::for_width(stroke_width_by(small.width, small.height, |i| gained(small.pixels[i])))
            }
            _ => Grow::No,
        };
        Making { gain, grow }
    }

    /// Whether [`Downscale::from_box`] makes this mode's levels (a live drawing then keeps the
    /// box-filtered levels and updates only the blocks a stroke changed).
    pub fn starts_from_box(self) -> bool {
        self != Downscale::Max
    }
}

/// A box-filtered level's pixels over this count as its ink for its gain ([`Downscale::making`]).
const INKED: f32 = 0.05;
/// The share of a level's inked pixels under the ink strength its gain is taken from.
const INK_QUANTILE: f32 = 0.95;

/// A level's gain for the strength of its ink (its inked pixels' [`INK_QUANTILE`]): up to
/// tenfold (a 2-px stroke at a sixteenth of the size is 1/8 as bright), none for ink at full
/// strength. Rounded down to a step of 1/8 octave, so that one more stroke seldom changes the
/// gain of the whole level (a live update then stays local).
fn gain_of(ink: f32) -> Option<f32> {
    (ink > 0.1 && ink < 1.0).then(|| ((ink.log2() * GAIN_STEPS).floor() / GAIN_STEPS).exp2())
}

/// [`Downscale::making`] of a box-filtered level that a live drawing changes block by block,
/// kept with what it is decided from, so that a change is not read over the whole level again:
/// the histogram of its inked pixels (exact counts: the gain comes out the same), and each row's
/// share of [`stroke_width_by`]'s two sums in `f64` (for the gain they were taken with). The
/// stroke width made from those differs from the `f32` sums of [`Downscale::making`] by their
/// rounding alone, bounded by the number of terms; where that bound leaves a threshold of
/// [`Grow::for_width`] (or the least ink) in doubt, the width is computed as `making` does.
/// So [`KeptMaking::making`] is always `making` of the level as it is.
#[derive(Debug, Clone)]
pub struct KeptMaking {
    mode: Downscale,
    histogram: Vec<usize>,
    gain: Option<f32>,
    /// Per row: its pixels' ink and edges ([`stroke_width_by`]), for `gain`.
    sums: Vec<(f64, f64)>,
    making: Making,
}

impl KeptMaking {
    /// For `small`, made whole.
    pub fn new(mode: Downscale, small: &GrayImage) -> Self {
        let mut kept = Self {
            mode,
            histogram: vec![0; 256],
            gain: None,
            sums: Vec::new(),
            making: Making { gain: None, grow: Grow::No },
        };
        kept.count(small, &(0..small.height), &(0..small.width), true);
        kept.decide(small, 0..small.height, true);
        kept
    }

    /// How the level is made ([`Downscale::making`]).
    pub fn making(&self) -> Making {
        self.making
    }

    /// Before `small`'s pixels in `rows` × `cols` change: they leave the histogram.
    pub fn forget(&mut self, small: &GrayImage, rows: &Range<usize>, cols: &Range<usize>) {
        self.count(small, rows, cols, false);
    }

    /// After they changed (those [`KeptMaking::forget`] was given): they join the histogram
    /// again and the making is decided again.
    pub fn update(&mut self, small: &GrayImage, rows: &Range<usize>, cols: &Range<usize>) {
        self.count(small, rows, cols, true);
        // A row's sums read it and the row below.
        self.decide(small, rows.start.saturating_sub(1)..rows.end.min(small.height), false);
    }

    fn count(&mut self, small: &GrayImage, rows: &Range<usize>, cols: &Range<usize>, add: bool) {
        if self.mode == Downscale::Box || self.mode == Downscale::Max || cols.is_empty() {
            return;
        }
        for y in rows.clone() {
            for &v in &small.pixels[y * small.width + cols.start..y * small.width + cols.end] {
                if v > INKED {
                    let count = &mut self.histogram[bin(v)];
                    *count = if add { *count + 1 } else { *count - 1 };
                }
            }
        }
    }

    /// The making from the histogram and the rows' sums, those of `changed` (all of them where
    /// `whole` or the gain changed) taken again.
    fn decide(&mut self, small: &GrayImage, changed: Range<usize>, whole: bool) {
        let gain = match self.mode {
            Downscale::Box | Downscale::Max => None,
            Downscale::Gain | Downscale::Stroke => {
                let n: usize = self.histogram.iter().sum();
                gain_of(rank_in(&self.histogram, n, quantile_rank(INK_QUANTILE, n)).unwrap_or(0.0))
            }
        };
        let grow = if self.mode == Downscale::Stroke {
            let (w, h) = (small.width, small.height);
            let gained = |v: f32| gain.map_or(v, |ink| lesser(v / ink, 1.0));
            let rows = if whole || gain.map(f32::to_bits) != self.gain.map(f32::to_bits) || self.sums.len() != h {
                self.sums = vec![(0.0, 0.0); h];
                0..h
            } else {
                changed
            };
            for y in rows {
                let line = &small.pixels[y * w..(y + 1) * w];
                let below = (y + 1 < h).then(|| &small.pixels[(y + 1) * w..(y + 2) * w]);
                let (mut ink, mut edges) = (0.0f64, 0.0f64);
                for x in 0..w {
                    let v = gained(line[x]);
                    let right = if x + 1 < w { gained(line[x + 1]) } else { 0.0 };
                    let down = below.map_or(0.0, |b| gained(b[x]));
                    ink += f64::from(v);
                    edges += f64::from((right - v).abs()) + f64::from((down - v).abs());
                    if x == 0 {
                        edges += f64::from(v);
                    }
                    if y == 0 {
                        edges += f64::from(v);
                    }
                }
                self.sums[y] = (ink, edges);
            }
            let (ink, edges) = self.sums.iter().fold((0.0, 0.0), |(i, e), &(a, b)| (i + a, e + b));
            // `stroke_width_by`'s `f32` sums of n terms (and w + h border terms) are within
            // (n + w + h + 3)·u of these, its width within the two bounds and 4 roundings more
            // (u = 2⁻²⁴); twice that is taken as doubt.
            let u = f64::from(f32::EPSILON) / 2.0;
            let doubt = 2.0 * (2.0 * (w * h) as f64 + (w + h) as f64 + 8.0) * u;
            let width = 2.0 * ink / edges * 4.0 / f64::from(std::f32::consts::PI);
            let near = |value: f64, bar: f32| (value - f64::from(bar)).abs() <= doubt * f64::from(bar);
            let sure = edges > 0.0 && !near(ink, 4.0) && !near(width, THIN_STROKE) && !near(width, MNIST_STROKE);
            if sure {
                Grow::for_width((ink >= 4.0).then_some(width as f32))
            } else if edges == 0.0 {
                Grow::for_width(None)
            } else {
                // (As `making` decides it: the same gain, from the same histogram.)
                self.mode.making(small).grow
            }
        } else {
            Grow::No
        };
        self.gain = gain;
        self.making = Making { gain, grow };
    }
}

/// How one box-filtered level becomes a pyramid level ([`Downscale::making`]): two levels made
/// the same way differ only where their box-filtered pixels (grown: or a neighbour of them)
/// differ, so that a live drawing remakes only those ([`Making::remake`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Making {
    /// The ink's strength the level is divided by (at most 1 after), if any.
    gain: Option<f32>,
    grow: Grow,
}

/// How a level's strokes are grown ([`GrayImage::thickened`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grow {
    No,
    /// By a plus-shaped maximum.
    Plus,
    /// By a 3×3 maximum.
    Square,
}

impl Grow {
    /// For strokes `width` px wide (none: too little ink to say).
    fn for_width(width: Option<f32>) -> Self {
        match width {
            Some(w) if w < THIN_STROKE => Grow::Square,
            Some(w) if w < MNIST_STROKE => Grow::Plus,
            _ => Grow::No,
        }
    }
}

impl Making {
    /// `small` made into its level.
    #[inline(never)]
    pub fn made(self, mut small: GrayImage) -> GrayImage {
        if let Some(ink) = self.gain {
            small.pixels.iter_mut().for_each(|v| *v = lesser(*v / ink, 1.0));
        }
        match self.grow {
            Grow::No => small,
            grow => small.grown(grow == Grow::Square),
        }
    }

    /// Brings `level` — a box-filtered image made into its level this same way and `margin`
    /// pixels of background added around it — up to date with `small`, which differs from the
    /// image it was made from only in `rows` × `cols`: only the pixels that can have changed
    /// are made again, to the same values as [`Making::made`] gives. Returns the rectangle of
    /// `level` whose pixels changed (bit patterns), `None` if none did.
    pub fn remake(
        self,
        small: &GrayImage,
        rows: Range<usize>,
        cols: Range<usize>,
        margin: usize,
        level: &mut GrayImage,
    ) -> Option<(Range<usize>, Range<usize>)> {
        let (w, h) = (small.width, small.height);
        let reach = usize::from(self.grow != Grow::No);
        let ys = rows.start.saturating_sub(reach)..(rows.end + reach).min(h);
        let xs = cols.start.saturating_sub(reach)..(cols.end + reach).min(w);
        if ys.is_empty() || xs.is_empty() {
            return None;
        }
        // Those pixels made from a window of `small` that holds their neighbours too (cut by
        // the image's edges only, where the whole level's growing also sees background).
        let (wy, wx) = (
            ys.start.saturating_sub(reach)..(ys.end + reach).min(h),
            xs.start.saturating_sub(reach)..(xs.end + reach).min(w),
        );
        let mut window = GrayImage::blank(wx.len(), wy.len());
        for (row, y) in window.pixels.chunks_exact_mut(wx.len()).zip(wy.clone()) {
            row.copy_from_slice(&small.pixels[y * w + wx.start..y * w + wx.end]);
        }
        let window = self.made(window);
        let (mut top, mut bottom, mut left, mut right) = (usize::MAX, 0, usize::MAX, 0);
        for y in ys {
            for x in xs.clone() {
                let v = window.pixels[(y - wy.start) * window.width + x - wx.start];
                let at = &mut level.pixels[(y + margin) * level.width + x + margin];
                if at.to_bits() != v.to_bits() {
                    *at = v;
                    (top, bottom, left, right) = (top.min(y), bottom.max(y), left.min(x), right.max(x));
                }
            }
        }
        (top <= bottom).then(|| (top + margin..bottom + margin + 1, left + margin..right + margin + 1))
    }
}

impl GrayImage {
    /// Converts 8-bit pixels. Colour is reduced to luminance (Rec. 601); transparent pixels
    /// count as the page. `ink` says which way the ink runs ([`Ink::Auto`]: decided from the
    /// opaque pixels); dark-on-light input is turned into the model's light-on-dark.
    pub fn from_bytes(width: usize, height: usize, bytes: &[u8], format: PixelFormat, ink: Ink) -> Result<Self> {
        check_size(width, height)?;
        let expected = width * height * format.channels();
        if bytes.len() != expected {
            return Err(Error::InvalidInput(format!(
                "{} bytes for a {width}×{height} {format:?} image; expected {expected}",
                bytes.len()
            )));
        }
        let invert = ink.inverts(|| dark_ink(&opaque_luma(bytes, format), width, height));
        let page = if invert { 1.0 } else { 0.0 };
        let pixels = bytes
            .chunks_exact(format.channels())
            .map(|p| {
                let (value, alpha) = sample(p);
                let alpha = alpha / 255.0;
                let v = value / 255.0 * alpha + page * (1.0 - alpha);
                if invert { 1.0 - v } else { v }
            })
            .collect();
        Ok(Self { width, height, pixels })
    }

    /// The wasm boundary's conversion of a caller's image: JS numbers for the size (checked by
    /// [`dimensions`]), RGBA or gray bytes (told apart by their length) or float intensities,
    /// with `ink`.
    pub fn from_pixels(width: f64, height: f64, pixels: Pixels, ink: Ink) -> Result<Self> {
        let (w, h) = dimensions(width, height)?;
        match pixels {
            Pixels::Bytes(bytes) => Self::from_bytes(w, h, &bytes, PixelFormat::from_len(bytes.len(), w, h)?, ink),
            Pixels::Floats(values) => Ok(Self::from_f32(w, h, values)?.with_ink(ink)),
        }
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
        // (Counted over every pixel first, which vectorizes; the first one found only then.)
        if pixels.iter().fold(false, |bad, v| bad | !v.is_finite())
            && let Some(i) = pixels.iter().position(|v| !v.is_finite())
        {
            return Err(Error::InvalidInput(format!("pixel {i} is {} (values must be finite)", pixels[i])));
        }
        Ok(Self { width, height, pixels })
    }

    /// With `ink` resolved for float intensities (`Dark`, or `Auto` where [`dark_ink`] says
    /// so: inverted; otherwise unchanged).
    pub fn with_ink(mut self, ink: Ink) -> Self {
        if ink.inverts(|| dark_ink(&self.pixels, self.width, self.height)) {
            self.pixels.iter_mut().for_each(|v| *v = 1.0 - *v);
        }
        self
    }

    /// The page flattened, for uploads of paper under uneven light: a smooth estimate of the
    /// page (per block of [`PAGE_BLOCK`] pixels, its 20th percentile; then the least of each
    /// block's 3×3 neighbourhood; bilinear between block centres) is subtracted, what stays
    /// under [`PAGE_NOISE`] (grain) is dropped, and the ink is stretched so that its 99.5th
    /// percentile is full strength. An image whose page is already clean (the estimate nowhere
    /// above 0.03) and whose ink is strong is returned unchanged (but for values outside
    /// [0, 1], clamped, and a notebook's printed lines removed where a cheap count finds it
    /// may hold some, [`may_hold_a_ruling`]: a scan whose page the scanner made white):
    /// drawings and MNIST-like scenes go through untouched.
    pub fn flattened(&self) -> Self {
        if self.clean_page() {
            return self.clamped().without_printed_lines();
        }
        self.flattened_by_histograms()
    }

    /// A clean page with a notebook's printed lines on it (a scan whose page the scanner made
    /// white) without them; any other image as it is.
    fn without_printed_lines(self) -> Self {
        if !may_hold_a_ruling(&self.pixels, self.width, self.height) {
            return self;
        }
        let (width, height) = (self.width, self.height);
        let strongest = LINE_FAINT * quantile(self.pixels.iter().copied(), 0.995);
        Self { width, height, pixels: printed_lines_removed(self.pixels, width, height, strongest) }
    }

    /// Values outside [0, 1] clamped.
    fn clamped(&self) -> Self {
        Self { width: self.width, height: self.height, pixels: self.pixels.iter().map(|v| v.clamp(0.0, 1.0)).collect() }
    }

    /// [`GrayImage::flattened`] without the counting shortcut.
    fn flattened_by_histograms(&self) -> Self {
        let (page, clean) = self.page_estimate();
        if clean {
            // Only values outside [0, 1] (a caller's floats) change, and printed lines go.
            return self.clamped().without_printed_lines();
        }
        let (w, h) = (self.width, self.height);
        let (bw, bh) = (w.div_ceil(PAGE_BLOCK), h.div_ceil(PAGE_BLOCK));
        // The page at pixel (x, y): bilinear between block centres.
        let at = |x: usize, y: usize| {
            let gx = ((x as f32 + 0.5) / PAGE_BLOCK as f32 - 0.5).clamp(0.0, (bw - 1) as f32);
            let gy = ((y as f32 + 0.5) / PAGE_BLOCK as f32 - 0.5).clamp(0.0, (bh - 1) as f32);
            let (x0, y0) = (gx.floor() as usize, gy.floor() as usize);
            let (x1, y1) = ((x0 + 1).min(bw - 1), (y0 + 1).min(bh - 1));
            let (fx, fy) = (gx - x0 as f32, gy - y0 as f32);
            let top = page[y0 * bw + x0] * (1.0 - fx) + page[y0 * bw + x1] * fx;
            let bottom = page[y1 * bw + x0] * (1.0 - fx) + page[y1 * bw + x1] * fx;
            top * (1.0 - fy) + bottom * fy
        };
        // A region lighter than the page and wider than any stroke (a desk around the sheet, in
        // a photo of paper, inverted) is page too: the opening keeps it and nothing thinner.
        let opened = self.opened(FLAT_REGION / 2);
        let pixels: Vec<f32> = (0..w * h)
            .map(|i| {
                let page = at(i % w, i / w);
                (self.pixels[i] - page - (opened[i] - page - FLAT_MARGIN).max(0.0) - PAGE_NOISE).max(0.0)
            })
            .collect();
        let mut pixels = printed_lines_removed(pixels, w, h, f32::INFINITY);
        let ink = quantile(pixels.iter().copied(), 0.995).max(0.25);
        pixels.iter_mut().for_each(|v| *v = (*v / ink).min(1.0));
        Self { width: w, height: h, pixels }
    }

    /// This image's grey-level opening by a square of side `2·r + 1`: the least value around
    /// each pixel, then the greatest of those around it — what remains of regions the square
    /// fits in, with every thinner stroke gone (van Herk's running extremes, O(1) a pixel).
    #[inline(never)]
    fn opened(&self, r: usize) -> Vec<f32> {
        let (w, h) = (self.width, self.height);
        let mut values = self.pixels.clone();
        let mut line = Vec::new();
        for (pass, identity) in [(lesser as fn(f32, f32) -> f32, f32::INFINITY), (greater, f32::NEG_INFINITY)] {
            for row in values.chunks_mut(w) {
                running_extreme(row, r, pass, identity, &mut line);
            }
            // The columns, as the rows of the transposed image.
            let mut down = transposed(&values, w, h);
            for column in down.chunks_mut(h) {
                running_extreme(column, r, pass, identity, &mut line);
            }
            values = transposed(&down, h, w);
        }
        values
    }

    /// The page's estimate per block (see [`GrayImage::flattened`]), from histograms, and whether
    /// the page is clean (nowhere above 0.03) and the ink strong.
    fn page_estimate(&self) -> (Vec<f32>, bool) {
        let (w, h) = (self.width, self.height);
        let (bw, bh) = (w.div_ceil(PAGE_BLOCK), h.div_ceil(PAGE_BLOCK));
        let mut blocks = vec![0.0f32; bw * bh];
        for by in 0..bh {
            for bx in 0..bw {
                let rows = by * PAGE_BLOCK..((by + 1) * PAGE_BLOCK).min(h);
                let values = rows.flat_map(|y| {
                    let row = &self.pixels[y * w..(y + 1) * w];
                    row[bx * PAGE_BLOCK..((bx + 1) * PAGE_BLOCK).min(w)].iter().copied()
                });
                blocks[by * bw + bx] = quantile(values, 0.2);
            }
        }
        let page: Vec<f32> = (0..bw * bh)
            .map(|i| {
                let (bx, by) = (i % bw, i / bw);
                let mut least = f32::MAX;
                for y in by.saturating_sub(1)..(by + 2).min(bh) {
                    for x in bx.saturating_sub(1)..(bx + 2).min(bw) {
                        least = least.min(blocks[y * bw + x]);
                    }
                }
                least
            })
            .collect();
        let strongest_ink = quantile(self.pixels.iter().copied(), 0.995);
        let clean = page.iter().all(|&p| p <= 0.03) && strongest_ink >= 0.5;
        (page, clean)
    }

    /// Whether [`GrayImage::flattened`] leaves the image as it is (its page nowhere above 0.03,
    /// its ink strong), decided by counting instead of by its histograms: a value's bin is
    /// `round(v·255)`, so "bin ≤ 7" is `v·255 < 7.5` and "bin ≥ 128" is `v·255 ≥ 127.5` (NaN is
    /// bin 0 in both). The same answer as the histograms give, in a fraction of the time: what
    /// a live drawing pays on every stroke.
    fn clean_page(&self) -> bool {
        let (w, h) = (self.width, self.height);
        let bin = |v: f32| v.clamp(0.0, 1.0) * 255.0;
        let low = |v: &f32| bin(*v) < 7.5 || v.is_nan();
        let (bw, bh) = (w.div_ceil(PAGE_BLOCK), h.div_ceil(PAGE_BLOCK));
        // Per block: whether its 20th percentile (rank ⌈0.2·n⌉) is at most 0.03.
        let mut counts = vec![0usize; bw * bh];
        for (y, row) in self.pixels.chunks(w).enumerate() {
            for (bx, part) in row.chunks(PAGE_BLOCK).enumerate() {
                counts[(y / PAGE_BLOCK) * bw + bx] += part.iter().filter(|v| low(v)).count();
            }
        }
        let clean: Vec<bool> = (0..bw * bh)
            .map(|i| {
                let n = PAGE_BLOCK.min(w - (i % bw) * PAGE_BLOCK) * PAGE_BLOCK.min(h - (i / bw) * PAGE_BLOCK);
                counts[i] >= ((0.2 * n as f32).ceil() as usize).max(1)
            })
            .collect();
        let page_clean = (0..bw * bh).all(|i| {
            let (bx, by) = (i % bw, i / bw);
            (by.saturating_sub(1)..(by + 2).min(bh))
                .any(|y| (bx.saturating_sub(1)..(bx + 2).min(bw)).any(|x| clean[y * bw + x]))
        });
        // The 99.5th percentile (rank ⌈0.995·n⌉) at least 0.5 (bin 128): fewer pixels below.
        let n = w * h;
        let below = self.pixels.iter().filter(|v| bin(**v) < 127.5 || v.is_nan()).count();
        page_clean && n > 0 && below < ((0.995 * n as f32).ceil() as usize).max(1)
    }

    /// Shrunk by `factor` for a pyramid level, the way `mode` says (see [`Downscale`]).
    pub fn level(&self, factor: usize, mode: Downscale) -> Self {
        match mode {
            Downscale::Box | Downscale::Gain | Downscale::Stroke => mode.from_box(self.downscaled(factor)),
            Downscale::Max => self.block_max(&(0..self.height), &(0..self.width), factor.max(1)),
        }
    }

    /// `rows` × `cols` of this image shrunk `f` (≥ 1) times, each pixel the maximum of its
    /// block (the last row and column of blocks may be cut short).
    pub fn block_max(&self, rows: &Range<usize>, cols: &Range<usize>, f: usize) -> Self {
        let (w, h) = (cols.len().div_ceil(f), rows.len().div_ceil(f));
        if f == 1 {
            // Blocks of one pixel: the window itself (as the fold below makes it, row by row).
            let mut pixels = Vec::with_capacity(w * h);
            for row in rows.clone() {
                pixels.extend_from_slice(&self.pixels[row * self.width + cols.start..row * self.width + cols.end]);
            }
            pixels.iter_mut().for_each(|v| *v = greater(f32::MIN, *v));
            return Self { width: w, height: h, pixels };
        }
        let mut out = Self { width: w, height: h, pixels: vec![f32::MIN; w * h] };
        // Each block row's lines folded into one (pixel by pixel: vectorized), then that line's
        // blocks into the shrunk row.
        let mut folded = vec![f32::MIN; cols.len()];
        for (by, shrunk) in out.pixels.chunks_exact_mut(w.max(1)).enumerate().take(h) {
            folded.fill(f32::MIN);
            for row in rows.start + by * f..(rows.start + (by + 1) * f).min(rows.end) {
                let line = &self.pixels[row * self.width + cols.start..row * self.width + cols.end];
                folded.iter_mut().zip(line).for_each(|(m, &v)| *m = greater(*m, v));
            }
            for (o, block) in shrunk.iter_mut().zip(folded.chunks(f)) {
                *o = block.iter().fold(f32::MIN, |m, &v| greater(m, v));
            }
        }
        out
    }

    /// The mean width of the strokes, in pixels: twice the ink over the length of its edges
    /// (for a stroke of width `w` and length `l`, ink `w·l` and edges `2·l`), edges measured
    /// as horizontal plus vertical steps, scaled by 4/π for strokes of every direction.
    /// `None` where there is too little ink to say.
    pub fn stroke_width(&self) -> Option<f32> {
        stroke_width_by(self.width, self.height, |i| self.pixels[i])
    }

    /// Thin strokes made as wide as MNIST's at its digits' size (about 2 px at a level's
    /// 12–30-px digits): a stroke under 1.4 px wide is grown by a 3×3 maximum, one under 2 px
    /// by a plus-shaped one. Thicker ink is left as it is.
    pub fn thickened(&self) -> Self {
        match Grow::for_width(self.stroke_width()) {
            Grow::No => self.clone(),
            grow => self.grown(grow == Grow::Square),
        }
    }

    /// Grown by a plus-shaped maximum, or a 3×3 one where `square` ([`GrayImage::thickened`]).
    fn grown(&self, square: bool) -> Self {
        let (w, h) = (self.width, self.height);
        // On a copy with a border of background (0) a pixel wide: every neighbour is in it.
        let pw = w + 2;
        let mut padded = vec![0.0f32; pw * (h + 2)];
        for (row, line) in padded.chunks_exact_mut(pw).skip(1).zip(self.pixels.chunks_exact(w)) {
            row[1..=w].copy_from_slice(line);
        }
        let mut pixels = vec![0.0; w * h];
        for (y, out) in pixels.chunks_exact_mut(w).enumerate() {
            // The row and its neighbours as slices of the same length (the loop vectorizes).
            let line = |dy: usize, dx: usize| &padded[(y + dy) * pw + dx..(y + dy) * pw + dx + w];
            let (left, mid, right, up, down) = (line(1, 0), line(1, 1), line(1, 2), line(0, 1), line(2, 1));
            for x in 0..w {
                out[x] = greater(greater(mid[x], left[x]), greater(right[x], greater(up[x], down[x])));
            }
            if square {
                let (ul, ur, dl, dr) = (line(0, 0), line(0, 2), line(2, 0), line(2, 2));
                for x in 0..w {
                    out[x] = greater(greater(out[x], ul[x]), greater(ur[x], greater(dl[x], dr[x])));
                }
            }
        }
        Self { width: w, height: h, pixels }
    }

    /// With `margin` pixels of background added on every side.
    pub fn padded(&self, margin: usize) -> Self {
        let (w, h) = (self.width + 2 * margin, self.height + 2 * margin);
        let mut pixels = vec![0.0; w * h];
        for (y, row) in self.pixels.chunks(self.width).enumerate() {
            let at = (y + margin) * w + margin;
            pixels[at..at + self.width].copy_from_slice(row);
        }
        Self { width: w, height: h, pixels }
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
        let mut small = Self::blank(w, h);
        self.downscale_into(&mut small, factor, 0..self.height, 0..self.width);
        small
    }

    /// Recomputes the pixels of `small`, this image [`GrayImage::downscaled`] by `factor`,
    /// that cover any of this image's `rows` × `cols` (what a stroke changed): the same values
    /// as downscaling it all again.
    pub fn downscale_into(&self, small: &mut GrayImage, factor: usize, rows: Range<usize>, cols: Range<usize>) {
        if rows.is_empty() || cols.is_empty() {
            return;
        }
        let w = small.width;
        for y in rows.start / factor..(rows.end - 1) / factor + 1 {
            for x in cols.start / factor..(cols.end - 1) / factor + 1 {
                let (mut sum, mut n) = (0.0, 0);
                for sy in y * factor..((y + 1) * factor).min(self.height) {
                    for sx in x * factor..((x + 1) * factor).min(self.width) {
                        sum += self.pixels[sy * self.width + sx];
                        n += 1;
                    }
                }
                small.pixels[y * w + x] = sum / n as f32;
            }
        }
    }

    /// 8-bit gray bytes (for writing a PNG).
    pub fn to_gray8(&self) -> Vec<u8> {
        self.pixels.iter().map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect()
    }
}

/// [`GrayImage::stroke_width`] of a `w`×`h` image whose pixel `i` (row-major) is `value(i)`
/// (asked for once a pixel).
#[inline(always)]
fn stroke_width_by(w: usize, h: usize, value: impl Fn(usize) -> f32) -> Option<f32> {
    let (mut ink, mut edges) = (0.0f32, 0.0f32);
    // This row and the next (zero below the last).
    let (mut row, mut next) = (vec![0.0f32; w + 1], vec![0.0f32; w + 1]);
    (0..w.min(w * h)).for_each(|x| row[x] = value(x));
    for y in 0..h {
        for (x, v) in next.iter_mut().take(w).enumerate() {
            *v = if y + 1 < h { value((y + 1) * w + x) } else { 0.0 };
        }
        for x in 0..w {
            let v = row[x];
            ink += v;
            // (`row[w]` is 0: right of the last pixel.)
            let (right, below) = (row[x + 1], next[x]);
            edges += (right - v).abs() + (below - v).abs();
            if x == 0 {
                edges += v;
            }
            if y == 0 {
                edges += v;
            }
        }
        std::mem::swap(&mut row, &mut next);
    }
    (ink >= 4.0 && edges > 0.0).then(|| 2.0 * ink / edges * 4.0 / std::f32::consts::PI)
}

/// Steps per octave of a level's gain (see [`Downscale::from_box`]).
const GAIN_STEPS: f32 = 8.0;
/// Strokes under this width (pixels) are grown by a 3×3 maximum at a pyramid level.
const THIN_STROKE: f32 = 1.4;
/// Strokes under this width (pixels) are grown at a pyramid level (MNIST's at its digits' size).
const MNIST_STROKE: f32 = 2.0;

fn luma(r: u8, g: u8, b: u8) -> f32 {
    0.299 * r as f32 + 0.587 * g as f32 + 0.114 * b as f32
}

/// One 8-bit pixel (1 to 4 bytes) as (luminance, alpha), both 0–255.
fn sample(p: &[u8]) -> (f32, f32) {
    match *p {
        [g] => (g as f32, 255.0),
        [g, a] => (g as f32, a as f32),
        [r, g, b] => (luma(r, g, b), 255.0),
        [r, g, b, a] => (luma(r, g, b), a as f32),
        _ => unreachable!("chunks_exact yields 1 to 4 bytes"),
    }
}

/// The luminance (0–1) of each 8-bit pixel as [`dark_ink`] reads it. A transparent pixel (alpha
/// under one half) is page, the opposite of what the opaque pixels mostly are: white where their
/// median is dark, black where it is light. Strokes on a transparent page (a drawing app's
/// export, dark or light) are its ink; a sheet with transparent margins keeps its thin strokes
/// as the evidence (its margins are a step, not a stroke). NaN where no pixel is opaque.
fn opaque_luma(bytes: &[u8], format: PixelFormat) -> Vec<f32> {
    let visible = |(v, a): (f32, f32)| if a >= 128.0 { v / 255.0 } else { f32::NAN };
    let mut luma: Vec<f32> = bytes.chunks_exact(format.channels()).map(sample).map(visible).collect();
    // An opaque image (the usual one) has no page to fill in: no median of it here, where
    // `dark_ink` takes one again.
    if !luma.iter().any(|v| v.is_nan()) {
        return luma;
    }
    if let Some(m) = median(luma.iter().copied().filter(|v| !v.is_nan())) {
        let page = if m > 0.5 { 0.0 } else { 1.0 };
        luma.iter_mut().filter(|v| v.is_nan()).for_each(|v| *v = page);
    }
    luma
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `w`×`h` page of `page` with a `ink` bar (rows 10–13, columns 5–w−5).
    fn bar(w: usize, h: usize, page: u8, ink: u8) -> Vec<u8> {
        (0..w * h)
            .map(|i| if (10..14).contains(&(i / w)) && (5..w - 5).contains(&(i % w)) { ink } else { page })
            .collect()
    }

    #[test]
    fn the_ink_option_wins_over_invert_and_bad_ones_say_what_is_allowed() {
        let name = |n: &str| Some(Some(n.to_string()));
        assert_eq!(Ink::from_options(name("dark"), Some(false), Ink::Auto).unwrap(), Ink::Dark);
        assert_eq!(Ink::from_options(None, Some(true), Ink::Auto).unwrap(), Ink::Dark);
        assert_eq!(Ink::from_options(None, Some(false), Ink::Auto).unwrap(), Ink::Light);
        assert_eq!(Ink::from_options(None, None, Ink::Auto).unwrap(), Ink::Auto);
        let bad = Ink::from_options(name("sideways"), None, Ink::Auto).unwrap_err().to_string();
        assert_eq!(bad, "invalid input: ink must be \"light\", \"dark\" or \"auto\", not \"sideways\"");
        assert!(Ink::from_options(Some(None), None, Ink::Auto).is_err(), "an ink that is not a string");
    }

    #[test]
    fn auto_ink_reads_dark_on_light_as_light_on_dark() {
        let dark_on_light =
            GrayImage::from_bytes(40, 30, &bar(40, 30, 230, 20), PixelFormat::Gray8, Ink::Auto).unwrap();
        let light_on_dark =
            GrayImage::from_bytes(40, 30, &bar(40, 30, 25, 235), PixelFormat::Gray8, Ink::Auto).unwrap();
        for image in [&dark_on_light, &light_on_dark] {
            assert!(image.pixels[11 * 40 + 20] > 0.9, "the bar is ink");
            assert!(image.pixels[0] < 0.1, "the page is background");
        }
        // Forcing it still works both ways.
        let forced = GrayImage::from_bytes(40, 30, &bar(40, 30, 230, 20), PixelFormat::Gray8, Ink::Light).unwrap();
        assert!(forced.pixels[0] > 0.9);
        // Transparent pixels are the page whatever the ink: dark ink on a transparent page.
        let rgba: Vec<u8> =
            bar(40, 30, 0, 20).into_iter().flat_map(|v| if v == 0 { [0, 0, 0, 0] } else { [v, v, v, 255] }).collect();
        let image = GrayImage::from_bytes(40, 30, &rgba, PixelFormat::Rgba8, Ink::Dark).unwrap();
        assert!(image.pixels[11 * 40 + 20] > 0.9 && image.pixels[0] < 0.1);
        let floats = GrayImage::from_f32(2, 2, vec![0.9, 0.9, 0.9, 0.1]).unwrap().with_ink(Ink::Auto);
        let expected = [0.1, 0.1, 0.1, 0.9];
        assert!(floats.pixels.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-6), "{:?}", floats.pixels);
    }

    /// A photo of a white sheet with three dark strokes, lying on a grey desk that is most of it.
    fn desk_photo(w: usize, h: usize) -> Vec<u8> {
        let pixel = |x: usize, y: usize| {
            let on_sheet = (60..140).contains(&x) && (40..110).contains(&y);
            let stroke = on_sheet && [80, 100, 120].iter().any(|&c| x.abs_diff(c) < 2) && (55..95).contains(&y);
            if stroke {
                30
            } else if on_sheet {
                235
            } else {
                70
            }
        };
        (0..w * h).map(|i| pixel(i % w, i / w)).collect()
    }

    #[test]
    fn auto_ink_reads_thin_strokes_before_the_median() {
        let (w, h) = (200, 150);
        let ink = |bytes: Vec<u8>| Ink::of_pixels(w as f64, h as f64, &Pixels::Bytes(bytes)).unwrap();
        // The desk is 81 % of the photo (its median is dark); the strokes are dark on the sheet.
        let photo = desk_photo(w, h);
        assert_eq!(ink(photo.clone()), Ink::Dark);
        let image = GrayImage::from_bytes(w, h, &photo, PixelFormat::Gray8, Ink::Auto).unwrap();
        assert!(image.pixels[75 * w + 80] > 0.8 && image.pixels[75 * w + 90] < 0.1, "strokes are ink, the sheet page");
        // White strokes of a 16-px pen on black, a third of the image: light ink; in black on
        // white, dark — whatever the median says.
        let bars: Vec<u8> = (0..w * h).map(|i| if (i % w) % 50 < 16 { 255 } else { 0 }).collect();
        assert_eq!(ink(bars.clone()), Ink::Light);
        assert_eq!(ink(bars.iter().map(|v| 255 - v).collect()), Ink::Dark);
        // No strokes at all: the median decides.
        assert_eq!(ink(vec![200; w * h]), Ink::Dark);
        assert_eq!(ink(vec![20; w * h]), Ink::Light);
        // A transparent desk: the sheet alone, its margins a step, reads the same.
        let rgba: Vec<u8> = photo.iter().flat_map(|&v| if v == 70 { [0, 0, 0, 0] } else { [v, v, v, 255] }).collect();
        assert_eq!(ink(rgba), Ink::Dark);
        // Strokes alone on a transparent page (a drawing app's export; the transparent pixels
        // black, as a canvas gives them): black strokes are dark ink, white ones light.
        let strokes = |v: u8| -> Vec<u8> {
            bars.iter().flat_map(|&b| if b == 255 { [v, v, v, 255] } else { [0, 0, 0, 0] }).collect()
        };
        assert_eq!(ink(strokes(0)), Ink::Dark);
        assert_eq!(ink(strokes(255)), Ink::Light);
        let image = GrayImage::from_bytes(w, h, &strokes(0), PixelFormat::Rgba8, Ink::Auto).unwrap();
        assert!(
            image.pixels[0] > 0.9 && image.pixels[20] < 0.1,
            "the black strokes are ink, the transparent page page"
        );
        assert!(Ink::of_pixels(2.0, 2.0, &Pixels::Bytes(vec![0; 3])).is_err());
    }

    #[test]
    fn flattening_takes_a_desk_around_the_sheet_for_page() {
        let (w, h) = (200, 150);
        let flat = GrayImage::from_bytes(w, h, &desk_photo(w, h), PixelFormat::Gray8, Ink::Dark).unwrap().flattened();
        let most = |xs: Range<usize>, y: usize| xs.map(|x| flat.pixels[y * w + x]).fold(0.0f32, f32::max);
        // The desk (0.73 after inversion) right up to the sheet's edge, and the sheet: page.
        assert!(most(0..60, 75) < 0.05 && most(140..200, 75) < 0.05, "desk beside the sheet: {}", most(0..60, 75));
        assert!(most(60..78, 75) < 0.05 && most(0..200, 20) < 0.05);
        // The strokes: ink at full strength.
        assert!([80, 100, 120].iter().all(|&x| flat.pixels[75 * w + x] > 0.9));
    }

    /// A sheet (0.85, a little uneven) with printed lines every 20 px tilted by `tilt`°, 25 %
    /// darker (and, if `squared`, vertical ones too), and a dark pen stroke down across them at
    /// x 100–103 for 80 px (on a squared sheet tilted 2°, along a vertical line for most of that).
    fn ruled_sheet(w: usize, h: usize, squared: bool, tilt: f32) -> GrayImage {
        let slope = tilt.to_radians().tan();
        let pixels = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                let mut v = 0.8 + 0.1 * x / w as f32;
                let on = |t: f32| t.rem_euclid(20.0) < 1.0;
                if on(y - 7.0 - slope * x) || (squared && on(x - 5.0 + slope * y)) {
                    v *= 0.75;
                }
                if (100.0..104.0).contains(&x) && (60.0..140.0).contains(&y) {
                    v = 0.1;
                }
                v
            })
            .collect();
        GrayImage { width: w, height: h, pixels }
    }

    /// The strongest pixel a flattened [`ruled_sheet`] keeps off its stroke, and 40 px from
    /// the sides (a line the tilt cuts short at a corner is no longer than a stroke, and stays).
    fn lines_left(flat: &GrayImage) -> f32 {
        let w = flat.width;
        let off_stroke = |i: &usize| !(96..108).contains(&(i % w)) && (40..w - 40).contains(&(i % w));
        (0..flat.pixels.len()).filter(off_stroke).map(|i| flat.pixels[i]).fold(0.0f32, f32::max)
    }

    #[test]
    fn a_notebooks_printed_lines_are_flattened_away_and_strokes_across_them_kept() {
        let (w, h) = (240, 200);
        for (squared, tilt) in [(false, 2.0), (true, 2.0), (false, 12.0), (true, -12.0)] {
            let flat = ruled_sheet(w, h, squared, tilt).with_ink(Ink::Auto).flattened();
            let left = lines_left(&flat);
            assert!(left < 0.1, "squared {squared}, tilt {tilt}: lines left at {left}");
            let stroke: Vec<f32> = (60..140).map(|y| flat.pixels[y * w + 101]).collect();
            // (Where it crosses a line at a shallow angle, it may lose the line's strength.)
            assert!(stroke.iter().all(|&v| v > 0.7), "squared {squared}, tilt {tilt}: stroke broken: {stroke:?}");
        }
        // Two long bars (a big 7's and 2's, say) are no ruling: kept.
        let mut bars = ruled_sheet(w, h, false, 2.0);
        for (i, v) in bars.pixels.iter_mut().enumerate() {
            *v = if (60..63).contains(&(i / w)) || (140..143).contains(&(i / w)) { 0.1 } else { 0.85 };
        }
        let flat = bars.with_ink(Ink::Auto).flattened();
        assert!((10..w - 10).all(|x| flat.pixels[61 * w + x] > 0.8 && flat.pixels[141 * w + x] > 0.8));
        // A margin line down a ruled sheet goes; the same line on a blank sheet (a tall 1) stays.
        let with_margin = |ruled: bool| {
            let mut sheet = ruled_sheet(w, h, false, 2.0);
            for (i, v) in sheet.pixels.iter_mut().enumerate() {
                if !ruled {
                    *v = 0.85;
                }
                if (30..32).contains(&(i % w)) && (5..h - 5).contains(&(i / w)) {
                    *v = 0.6;
                }
            }
            sheet.with_ink(Ink::Auto).flattened()
        };
        let margin = (20..180).map(|y| with_margin(true).pixels[y * w + 30]).fold(0.0f32, f32::max);
        assert!(margin < 0.1, "the margin line stayed: {margin}");
        assert!((20..180).all(|y| with_margin(false).pixels[y * w + 30] > 0.5), "a line alone was taken away");
    }

    #[test]
    fn a_scanned_ruled_sheet_whose_page_is_clean_loses_its_lines_and_a_thin_drawing_stays() {
        // As a scanner app gives a notebook page: the page white, the lines crisp.
        let (w, h) = (240, 200);
        for (squared, tilt) in [(false, 2.0), (true, -8.0)] {
            let mut scan = ruled_sheet(w, h, squared, tilt);
            scan.pixels.iter_mut().for_each(|v| {
                *v = if *v < 0.2 {
                    0.1
                } else if *v < 0.75 {
                    0.7
                } else {
                    1.0
                }
            });
            let scan = scan.with_ink(Ink::Auto);
            assert!(scan.clean_page(), "squared {squared}: the scan's page is not clean");
            let flat = scan.flattened();
            let left = lines_left(&flat);
            assert!(left < 0.1, "squared {squared}, tilt {tilt}: lines left at {left}");
            // (Where a line runs inside it for a few rows, the stroke loses the line's strength
            // there, 0.3 of its 0.9.)
            let stroke: Vec<f32> = (60..140).map(|y| flat.pixels[y * w + 101]).collect();
            assert!(stroke.iter().all(|&v| v > 0.55), "squared {squared}: stroke broken: {stroke:?}");
        }
        // A drawing with a thin pen (2 px): two rings and a long stroke, enough thin ink for a
        // ruling. In full ink it is not even searched (no line that strong is removed); drawn
        // faint (a pencil's grey, the strongest ink on the page) it is searched, and none found:
        // untouched either way.
        for ink in [1.0, 0.55] {
            let mut drawing = GrayImage::blank(w, h);
            for (i, v) in drawing.pixels.iter_mut().enumerate() {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                let ring = |cx: f32, cy: f32, r: f32| ((x - cx).hypot(y - cy) - r).abs() < 1.0;
                if ring(70.0, 60.0, 45.0) || ring(70.0, 150.0, 45.0) || ((y - 0.8 * x).abs() < 1.0 && x > 120.0) {
                    *v = ink;
                }
            }
            assert!(drawing.clean_page());
            assert_eq!(may_hold_a_ruling(&drawing.pixels, w, h), ink < LINE_FAINT, "ink {ink}");
            assert_eq!(drawing.flattened(), drawing, "ink {ink}");
        }
    }

    #[test]
    fn a_sheet_letterboxed_in_white_is_flattened_to_its_edge() {
        // As the element shows an upload: white bars (60 px) left and right of a grainy sheet
        // (0.82–0.88) with a dark stroke.
        let (w, h) = (300, 160);
        let mut seed = 7u32;
        let pixels: Vec<f32> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let grain = ((seed >> 16) % 1000) as f32 / 1000.0 * 0.06;
                match x {
                    _ if !(60..240).contains(&x) => 1.0,
                    110..114 if (40..120).contains(&y) => 0.1,
                    _ => 0.82 + grain,
                }
            })
            .collect();
        let flat = GrayImage { width: w, height: h, pixels }.with_ink(Ink::Dark).flattened();
        let sheet = (0..w * h).filter(|i| !(106..118).contains(&(i % w))).map(|i| flat.pixels[i]);
        let most = sheet.fold(0.0f32, f32::max);
        assert!(most < 0.05, "the sheet beside the bars stayed at {most}");
        assert!((40..120).all(|y| flat.pixels[y * w + 111] > 0.8), "the stroke faded");
    }

    #[test]
    fn running_extremes_are_the_extremes_of_each_window() {
        let values: Vec<f32> = (0..97).map(|i| ((i * 37) % 23) as f32 / 23.0).collect();
        let mut scratch = Vec::new();
        for r in [0, 1, 2, 5, 24, 60] {
            for (op, identity) in [(f32::min as fn(f32, f32) -> f32, f32::INFINITY), (f32::max, f32::NEG_INFINITY)] {
                let mut fast = values.clone();
                running_extreme(&mut fast, r, op, identity, &mut scratch);
                for (i, v) in fast.iter().enumerate() {
                    let window = &values[i.saturating_sub(r)..(i + r + 1).min(values.len())];
                    assert_eq!(*v, window.iter().copied().fold(identity, op), "r {r}, value {i}");
                }
            }
        }
    }

    #[test]
    fn flattening_leaves_a_clean_page_alone() {
        let image = GrayImage::from_bytes(64, 48, &bar(64, 48, 0, 255), PixelFormat::Gray8, Ink::Light).unwrap();
        assert_eq!(image.flattened(), image);
        // A caller's floats outside [0, 1] are clamped (found by the image_input fuzzer).
        let mut loud = image.clone();
        loud.pixels[11 * 64 + 20] = 7.5;
        loud.pixels[0] = -2.0;
        let flat = loud.flattened();
        assert!(flat.pixels.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!((flat.pixels[11 * 64 + 20], flat.pixels[0]), (1.0, 0.0));
    }

    #[test]
    fn flattening_removes_uneven_light_and_keeps_the_ink() {
        // A page lit from the left (0.05 → 0.45 after inversion) with a bar of ink 0.35 above it.
        let (w, h) = (256, 64);
        let pixels: Vec<f32> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                let page = 0.05 + 0.4 * x as f32 / w as f32;
                if (30..34).contains(&y) && (20..236).contains(&x) { page + 0.35 } else { page }
            })
            .collect();
        let flat = GrayImage { width: w, height: h, pixels }.flattened();
        let ink: Vec<f32> = (20..236).map(|x| flat.pixels[31 * w + x]).collect();
        let page: Vec<f32> = (0..w).map(|x| flat.pixels[5 * w + x]).collect();
        assert!(ink.iter().all(|&v| v > 0.8), "ink kept at full strength: {:?}", &ink[..8]);
        assert!(page.iter().all(|&v| v < 0.05), "page flattened: max {}", page.iter().fold(0.0f32, |m, v| m.max(*v)));
    }

    #[test]
    fn every_downscale_keeps_the_geometry_and_gain_and_max_keep_thin_strokes() {
        // A one-pixel line at full strength: a box filter at 8× leaves an eighth of it.
        let (w, h) = (64, 64);
        let pixels: Vec<f32> = (0..w * h).map(|i| if i % w == 17 { 1.0 } else { 0.0 }).collect();
        let image = GrayImage { width: w, height: h, pixels };
        let strongest = |g: &GrayImage| g.pixels.iter().fold(0.0f32, |m, v| m.max(*v));
        for mode in [Downscale::Box, Downscale::Gain, Downscale::Max, Downscale::Stroke] {
            let level = image.level(8, mode);
            assert_eq!((level.width, level.height), (8, 8));
        }
        assert!((strongest(&image.level(8, Downscale::Box)) - 0.125).abs() < 1e-6);
        assert!(strongest(&image.level(8, Downscale::Gain)) > 0.99);
        assert_eq!(strongest(&image.level(8, Downscale::Max)), 1.0);
        // Odd sides: partial blocks.
        assert_eq!(image.level(3, Downscale::Max).width, 22);
    }

    #[test]
    fn a_level_remade_where_its_blocks_changed_equals_the_level_made_whole() {
        // Box-filtered levels holding 12-px vertical strokes of a given profile across: faint
        // and 1 px wide (gained, then grown by a 3×3 maximum), with a half-strength edge (a
        // plus), 4 px at full strength (neither), or no ink; a stroke added in a corner, one in
        // the middle and one cut off by the right edge; a margin of 3.
        let stroke = |small: &mut GrayImage, x0: usize, y0: usize, profile: &[f32]| {
            for y in y0..(y0 + 12).min(small.height) {
                for (x, &v) in (x0..small.width).zip(profile) {
                    small.pixels[y * small.width + x] = v;
                }
            }
        };
        let (w, h, margin) = (23, 17, 3);
        let mut remade = [0; 3];
        for profile in [&[0.3][..], &[0.6, 0.3], &[1.0; 4], &[]] {
            for mode in [Downscale::Box, Downscale::Gain, Downscale::Stroke] {
                let mut small = GrayImage::blank(w, h);
                stroke(&mut small, 4, 2, profile);
                let making = mode.making(&small);
                let mut level = making.made(small.clone()).padded(margin);
                for (x0, y0) in [(0, 0), (14, 3), (21, 5)] {
                    let before = level.clone();
                    let mut next = small.clone();
                    let added = if profile.is_empty() { &[0.3][..] } else { profile };
                    stroke(&mut next, x0, y0, added);
                    if mode.making(&next) != making {
                        continue;
                    }
                    let (rows, cols) = (y0..(y0 + 12).min(h), x0..(x0 + added.len()).min(w));
                    let changed = making.remake(&next, rows, cols, margin, &mut level);
                    let whole = making.made(next.clone()).padded(margin);
                    assert_eq!(level, whole, "{mode:?}, {profile:?}, stroke at ({x0}, {y0})");
                    assert_eq!(changed, crate::bands::changed(&before, &whole), "{mode:?}, {profile:?}");
                    remade[making.grow as usize] += 1;
                    small = next;
                }
            }
        }
        // Every way of growing was remade at least once.
        assert!(remade.iter().all(|&n| n > 0), "{remade:?}");
    }

    #[test]
    fn a_making_kept_through_changes_is_the_making_of_the_level_as_it_is() {
        // Random strokes of random strength (faint ones move the gain) changed block by block
        // in a 41×29 level, 300 times: the kept making equals one decided from the whole.
        // Then a bar whose edge row fades from 0 to 1 in 2,001 steps: its width crosses both
        // thresholds of growing, where only the `f32` sums decide.
        let mut seed = 11u32;
        let mut random = |n: usize| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (seed >> 8) as usize % n
        };
        let (w, h) = (41, 29);
        let mut seen = [0; 3];
        for mode in [Downscale::Box, Downscale::Gain, Downscale::Stroke] {
            let mut small = GrayImage::blank(w, h);
            let mut kept = KeptMaking::new(mode, &small);
            for _ in 0..300 {
                let (y, x) = (random(h), random(w));
                let (rows, cols) = (y..(y + 1 + random(6)).min(h), x..(x + 1 + random(6)).min(w));
                kept.forget(&small, &rows, &cols);
                let value = [0.0, 0.04, 0.2, 0.45, 0.7, 1.0][random(6)];
                for y in rows.clone() {
                    for x in cols.clone() {
                        small.pixels[y * w + x] = if random(3) == 0 { 0.0 } else { value };
                    }
                }
                kept.update(&small, &rows, &cols);
                assert_eq!(kept.making(), mode.making(&small), "{mode:?}");
                seen[kept.making().grow as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n > 0), "every way of growing decided: {seen:?}");
        let mut grows = Vec::new();
        for step in 0..=2000 {
            let mut small = GrayImage::blank(w, h);
            let edge = step as f32 / 2000.0;
            for x in 5..35 {
                small.pixels[10 * w + x] = 1.0;
                small.pixels[11 * w + x] = edge;
            }
            let making = Downscale::Stroke.making(&small);
            let mut kept = KeptMaking::new(Downscale::Stroke, &GrayImage::blank(w, h));
            kept.forget(&GrayImage::blank(w, h), &(0..h), &(0..w));
            kept.update(&small, &(0..h), &(0..w));
            assert_eq!(kept.making(), making, "edge {edge}");
            assert_eq!(KeptMaking::new(Downscale::Stroke, &small).making(), making, "edge {edge}");
            if grows.last() != Some(&making.grow) {
                grows.push(making.grow);
            }
        }
        assert_eq!(grows, [Grow::Square, Grow::Plus, Grow::No]);
    }

    #[test]
    fn thin_strokes_are_thickened_to_mnists_width_and_thick_ones_left_alone() {
        // A 60-px square outline drawn 1, 2 and 5 px wide.
        let outline = |pen: usize| {
            let (w, h) = (80, 80);
            let pixels = (0..w * h)
                .map(|i| {
                    let (x, y) = (i % w, i / w);
                    let inside = |a: usize, b: usize| (a..b).contains(&x) && (a..b).contains(&y);
                    if inside(10, 70) && !inside(10 + pen, 70 - pen) { 1.0 } else { 0.0 }
                })
                .collect();
            GrayImage { width: w, height: h, pixels }
        };
        for (pen, low, high) in [(1, 0.8, 1.6), (2, 1.8, 3.0), (5, 4.5, 7.0)] {
            let width = outline(pen).stroke_width().unwrap();
            assert!((low..high).contains(&width), "a {pen}-px pen measured {width}");
        }
        let ink = |g: &GrayImage| g.pixels.iter().sum::<f32>();
        let thin = outline(1);
        let grown = thin.thickened();
        assert!(grown.stroke_width().unwrap() >= 2.0, "thickened to {}", grown.stroke_width().unwrap());
        assert!(ink(&grown) > 2.5 * ink(&thin));
        assert_eq!(outline(5).thickened(), outline(5));
        assert_eq!(GrayImage::blank(30, 30).stroke_width(), None, "no ink, no width");
    }

    #[test]
    fn the_clean_page_shortcut_decides_as_the_histograms_do() {
        // Pages around both thresholds (a block's 20th percentile near 0.03, the ink's 99.5th
        // percentile near 0.5), odd sizes with partial blocks, NaN and out-of-range floats.
        let mut seed = 7u64;
        let mut rand = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 40) as f32 / (1u64 << 24) as f32
        };
        let mut clean = 0;
        for case in 0..400 {
            let (w, h) = (20 + case % 70, 15 + (case * 7) % 90);
            let page = [0.0, 0.02, 7.4 / 255.0, 7.6 / 255.0, 0.05, 0.2][case % 6];
            let ink = [0.3, 127.4 / 255.0, 127.6 / 255.0, 1.0, 1.7][(case / 6) % 5];
            let share = [0.001, 0.004, 0.006, 0.05, 0.5, 0.85][(case / 30) % 6];
            let pixels = (0..w * h)
                .map(|_| {
                    let r = rand();
                    let scale = if case % 12 < 6 { 0.5 + rand() } else { 1.0 };
                    if r < share {
                        ink
                    } else if r > 0.999 {
                        f32::NAN
                    } else {
                        page * scale
                    }
                })
                .collect();
            let image = GrayImage { width: w, height: h, pixels };
            let (fast, slow) = (image.flattened(), image.flattened_by_histograms());
            let same = fast.pixels.iter().zip(&slow.pixels).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "case {case}: {w}×{h}, page {page}, ink {ink}, share {share}");
            assert_eq!(
                image.clean_page(),
                image.page_estimate().1,
                "case {case}: {w}×{h}, page {page}, ink {ink}, share {share}"
            );
            clean += image.clean_page() as usize;
        }
        assert!((50..350).contains(&clean), "both answers are tried: {clean} of 400 clean");
    }
}
