//! Synthetic scenes from MNIST: evaluation sets with ground truth, and dense training crops.
//!
//! Every scene is white ink on black, made from real MNIST digits (the **test** split for
//! evaluation sets, the train split for training) with fixed seeds.

use digitscope::GrayImage;
use digitscope::image::Downscale;
use digitscope::mnist::Split;
use digitscope::network::BACKGROUND;
use digitscope::scene::Truth;

use crate::Rng;

/// A float image used while composing (ink in [0, 1]).
#[derive(Debug, Clone)]
pub struct Canvas {
    /// Width.
    pub w: usize,
    /// Height.
    pub h: usize,
    /// Row-major ink.
    pub px: Vec<f32>,
}

impl Canvas {
    /// A black canvas.
    pub fn new(w: usize, h: usize) -> Self {
        Self { w, h, px: vec![0.0; w * h] }
    }

    fn at(&self, x: isize, y: isize) -> f32 {
        if x < 0 || y < 0 || x >= self.w as isize || y >= self.h as isize {
            0.0
        } else {
            self.px[y as usize * self.w + x as usize]
        }
    }

    /// Bilinear sample (zero outside).
    pub fn sample(&self, x: f32, y: f32) -> f32 {
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let (x0, y0) = (x0 as isize, y0 as isize);
        let top = self.at(x0, y0) * (1.0 - fx) + self.at(x0 + 1, y0) * fx;
        let bottom = self.at(x0, y0 + 1) * (1.0 - fx) + self.at(x0 + 1, y0 + 1) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    /// A 28×28 MNIST image.
    pub fn from_mnist(img: &[u8]) -> Self {
        Self { w: 28, h: 28, px: img.iter().map(|&v| v as f32 / 255.0).collect() }
    }

    /// Resized to `w`×`h` (bilinear; box-averaged first when shrinking by 2 or more).
    pub fn resized(&self, w: usize, h: usize) -> Self {
        let mut src = self.clone();
        while src.w >= 2 * w && src.h >= 2 * h {
            src = src.halved();
        }
        let (sx, sy) = (src.w as f32 / w as f32, src.h as f32 / h as f32);
        let mut out = Canvas::new(w, h);
        for y in 0..h {
            for x in 0..w {
                out.px[y * w + x] = src.sample((x as f32 + 0.5) * sx - 0.5, (y as f32 + 0.5) * sy - 0.5);
            }
        }
        out
    }

    /// 2×2 box-filtered half size.
    pub fn halved(&self) -> Self {
        let (w, h) = (self.w / 2, self.h / 2);
        let mut out = Canvas::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let i = 2 * y * self.w + 2 * x;
                out.px[y * w + x] = (self.px[i] + self.px[i + 1] + self.px[i + self.w] + self.px[i + self.w + 1]) / 4.0;
            }
        }
        out
    }

    /// 3×3 binomial blur.
    pub fn blurred(&self) -> Self {
        let k = [0.25, 0.5, 0.25];
        let mut tmp = Canvas::new(self.w, self.h);
        for y in 0..self.h {
            for x in 0..self.w {
                tmp.px[y * self.w + x] =
                    (-1..=1).map(|d| k[(d + 1) as usize] * self.at(x as isize + d, y as isize)).sum();
            }
        }
        let mut out = Canvas::new(self.w, self.h);
        for y in 0..self.h {
            for x in 0..self.w {
                out.px[y * self.w + x] =
                    (-1..=1).map(|d| k[(d + 1) as usize] * tmp.at(x as isize, y as isize + d)).sum();
            }
        }
        out
    }

    /// Copies `patch` with its top-left at (`x`, `y`), keeping the brighter ink (`max`), or
    /// overwriting the square (`overwrite`, the notebook's slice assignment).
    pub fn paste(&mut self, patch: &Canvas, x: isize, y: isize, gain: f32, overwrite: bool) {
        for py in 0..patch.h {
            for px in 0..patch.w {
                let (cx, cy) = (x + px as isize, y + py as isize);
                if cx < 0 || cy < 0 || cx >= self.w as isize || cy >= self.h as isize {
                    continue;
                }
                let v = patch.px[py * patch.w + px] * gain;
                let dst = &mut self.px[cy as usize * self.w + cx as usize];
                *dst = if overwrite { v } else { dst.max(v) };
            }
        }
    }

    /// Draws an anti-aliased round-capped segment of `width` pixels.
    pub fn line(&mut self, a: (f32, f32), b: (f32, f32), width: f32, ink: f32) {
        let r = width / 2.0;
        let (minx, maxx) = (a.0.min(b.0) - r - 1.0, a.0.max(b.0) + r + 1.0);
        let (miny, maxy) = (a.1.min(b.1) - r - 1.0, a.1.max(b.1) + r + 1.0);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = (dx * dx + dy * dy).max(1e-6);
        for y in (miny.max(0.0) as usize)..(maxy.max(0.0) as usize).min(self.h) {
            for x in (minx.max(0.0) as usize)..(maxx.max(0.0) as usize).min(self.w) {
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                let t = (((px - a.0) * dx + (py - a.1) * dy) / len2).clamp(0.0, 1.0);
                let d = (px - a.0 - t * dx).hypot(py - a.1 - t * dy);
                let cover = (r + 0.5 - d).clamp(0.0, 1.0) * ink;
                let dst = &mut self.px[y * self.w + x];
                *dst = dst.max(cover);
            }
        }
    }

    /// Tight box of ink above `threshold`.
    pub fn ink_box(&self, threshold: f32) -> Option<(usize, usize, usize, usize)> {
        let mut b: Option<(usize, usize, usize, usize)> = None;
        for (i, _) in self.px.iter().enumerate().filter(|(_, v)| **v > threshold) {
            let (x, y) = (i % self.w, i / self.w);
            b = Some(match b {
                None => (x, y, x, y),
                Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
            });
        }
        b
    }

    /// As the library's image type.
    pub fn into_image(self) -> GrayImage {
        GrayImage { width: self.w, height: self.h, pixels: self.px.into_iter().map(|v| v.clamp(0.0, 1.0)).collect() }
    }
}

/// Zhang–Suen thinning of a binary 28×28 digit: the one-pixel skeleton of its strokes.
pub fn skeleton(img: &[u8]) -> Vec<bool> {
    let mut on: Vec<bool> = img.iter().map(|&v| v > 100).collect();
    let at = |on: &Vec<bool>, x: isize, y: isize| x >= 0 && y >= 0 && x < 28 && y < 28 && on[(y * 28 + x) as usize];
    loop {
        let mut changed = false;
        for pass in 0..2 {
            let mut remove = Vec::new();
            for y in 0..28isize {
                for x in 0..28isize {
                    if !at(&on, x, y) {
                        continue;
                    }
                    // P2..P9 clockwise from north.
                    let n = [(0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1)]
                        .map(|(dx, dy)| at(&on, x + dx, y + dy));
                    let b = n.iter().filter(|v| **v).count();
                    let a = (0..8).filter(|&i| !n[i] && n[(i + 1) % 8]).count();
                    let (p2, p4, p6, p8) = (n[0], n[2], n[4], n[6]);
                    // Zhang–Suen's conditions, written as the paper states them.
                    #[allow(clippy::nonminimal_bool)]
                    let cond = if pass == 0 {
                        !(p2 && p4 && p6) && !(p4 && p6 && p8)
                    } else {
                        !(p2 && p4 && p8) && !(p2 && p6 && p8)
                    };
                    if (2..=6).contains(&b) && a == 1 && cond {
                        remove.push((y * 28 + x) as usize);
                    }
                }
            }
            changed |= !remove.is_empty();
            for i in remove {
                on[i] = false;
            }
        }
        if !changed {
            return on;
        }
    }
}

/// The skeleton of a digit as pen strokes: polylines in 28×28 pixel coordinates (pixel
/// centres), walked from stroke ends first, then around any remaining loops.
pub fn strokes(img: &[u8]) -> Vec<Vec<(f32, f32)>> {
    let skel = skeleton(img);
    let on = |x: isize, y: isize| x >= 0 && y >= 0 && x < 28 && y < 28 && skel[(y * 28 + x) as usize];
    let neighbours = |x: isize, y: isize| -> Vec<(isize, isize)> {
        [(0, -1), (1, 0), (0, 1), (-1, 0), (1, -1), (1, 1), (-1, 1), (-1, -1)]
            .iter()
            .map(|&(dx, dy)| (x + dx, y + dy))
            .filter(|&(a, b)| on(a, b))
            .collect()
    };
    let mut visited = vec![false; 784];
    let mut out = Vec::new();
    let pixels: Vec<(isize, isize)> =
        (0..784).filter(|&i| skel[i]).map(|i| ((i % 28) as isize, (i / 28) as isize)).collect();
    // Ends (one neighbour) first, then whatever is left (loops).
    let mut starts: Vec<(isize, isize)> =
        pixels.iter().copied().filter(|&(x, y)| neighbours(x, y).len() == 1).collect();
    starts.extend(pixels.iter().copied());
    for start in starts {
        if visited[(start.1 * 28 + start.0) as usize] {
            continue;
        }
        let mut path = vec![start];
        visited[(start.1 * 28 + start.0) as usize] = true;
        let mut at = start;
        while let Some(next) = neighbours(at.0, at.1).into_iter().find(|&(x, y)| !visited[(y * 28 + x) as usize]) {
            visited[(next.1 * 28 + next.0) as usize] = true;
            path.push(next);
            at = next;
        }
        if path.len() >= 2 {
            out.push(path.into_iter().map(|(x, y)| (x as f32 + 0.5, y as f32 + 0.5)).collect());
        }
    }
    out
}

/// A digit redrawn as a pen would: its skeleton traced with a round brush `width` pixels wide
/// (in output pixels), at `size`×`size`, then softened — what a canvas drawing looks like.
pub fn drawn_digit(img: &[u8], size: usize, width: f32, blur: bool) -> Canvas {
    let skel = skeleton(img);
    let s = size as f32 / 28.0;
    let mut out = Canvas::new(size, size);
    let on = |x: isize, y: isize| x >= 0 && y >= 0 && x < 28 && y < 28 && skel[(y * 28 + x) as usize];
    for y in 0..28isize {
        for x in 0..28isize {
            if !on(x, y) {
                continue;
            }
            let a = ((x as f32 + 0.5) * s, (y as f32 + 0.5) * s);
            out.line(a, a, width, 1.0);
            for (dx, dy) in [(1, 0), (0, 1), (1, 1), (-1, 1)] {
                if on(x + dx, y + dy) {
                    out.line(a, ((x + dx) as f32 * s + 0.5 * s, (y + dy) as f32 * s + 0.5 * s), width, 1.0);
                }
            }
        }
    }
    if blur { out.blurred() } else { out }
}

/// A geometric distortion of a digit's strokes, in 28×28 MNIST coordinates: what other hands do
/// to the same digit.
#[derive(Debug, Clone, Default)]
pub struct Warp {
    /// Slant: x shifts by `tan(slant) · (centre − y)` (radians; positive leans right).
    pub slant: f32,
    /// Rotation about the centre (radians).
    pub rotation: f32,
    /// Width over height (1 = MNIST's).
    pub aspect: f32,
    /// Elastic displacement on a 4×4 grid of control points (pixels, 28×28 units), interpolated
    /// bilinearly: empty for none.
    pub elastic: Vec<(f32, f32)>,
}

impl Warp {
    /// No distortion.
    pub fn none() -> Self {
        Self { aspect: 1.0, ..Self::default() }
    }

    /// A random hand: slant within ±`slant`, rotation within ±`rotation`, aspect within
    /// 1 ± `aspect`, elastic control points displaced up to `elastic` pixels.
    pub fn random(rng: &mut Rng, slant: f32, rotation: f32, aspect: f32, elastic: f32) -> Self {
        let mut sym = |a: f32| (rng.uniform() * 2.0 - 1.0) * a;
        let (slant, rotation, aspect) = (sym(slant), sym(rotation), 1.0 + sym(aspect));
        let elastic = (0..16).map(|_| (sym(elastic), sym(elastic))).collect();
        Self { slant, rotation, aspect, elastic }
    }

    /// Where the point `p` (28×28 coordinates) goes.
    pub fn apply(&self, p: (f32, f32)) -> (f32, f32) {
        let (mut x, mut y) = (p.0, p.1);
        if self.elastic.len() == 16 {
            // Control points at 0, 28/3, 56/3, 28 on each axis.
            let (gx, gy) = ((x / 28.0 * 3.0).clamp(0.0, 2.999), (y / 28.0 * 3.0).clamp(0.0, 2.999));
            let (ix, iy) = (gx as usize, gy as usize);
            let (fx, fy) = (gx - ix as f32, gy - iy as f32);
            let at = |i: usize, j: usize| self.elastic[j * 4 + i];
            let lerp = |a: (f32, f32), b: (f32, f32), t: f32| (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
            let d = lerp(lerp(at(ix, iy), at(ix + 1, iy), fx), lerp(at(ix, iy + 1), at(ix + 1, iy + 1), fx), fy);
            x += d.0;
            y += d.1;
        }
        let (cx, cy) = (x - 14.0, y - 14.0);
        let cx = (cx - self.slant.tan() * cy) * self.aspect;
        let (s, c) = self.rotation.sin_cos();
        (14.0 + c * cx - s * cy, 14.0 + s * cx + c * cy)
    }
}

/// A stroke's straight piece: its two ends.
pub type Segment = ((f32, f32), (f32, f32));

/// The skeleton of a digit as a graph of smooth segments: every pair of 8-connected skeleton
/// pixels is a segment (so no stroke is broken where the skeleton branches), and every pixel is
/// moved to the mean of itself and its skeleton neighbours, twice (so the pixel staircase of
/// a diagonal or a curve becomes the smooth line a pen draws). 28×28 coordinates.
pub fn smooth_segments(img: &[u8]) -> Vec<Segment> {
    let skel = skeleton(img);
    let on = |x: isize, y: isize| x >= 0 && y >= 0 && x < 28 && y < 28 && skel[(y * 28 + x) as usize];
    let mut pos: Vec<(f32, f32)> = (0..784).map(|i| ((i % 28) as f32 + 0.5, (i / 28) as f32 + 0.5)).collect();
    let around = |i: usize| {
        let (x, y) = ((i % 28) as isize, (i / 28) as isize);
        (-1..=1).flat_map(move |dy| (-1..=1).map(move |dx| (x + dx, y + dy)))
    };
    for _ in 0..2 {
        let next: Vec<(f32, f32)> = (0..784)
            .map(|i| {
                if !skel[i] {
                    return pos[i];
                }
                let near: Vec<usize> =
                    around(i).filter(|&(x, y)| on(x, y)).map(|(x, y)| (y * 28 + x) as usize).collect();
                let n = near.len() as f32;
                (near.iter().map(|&j| pos[j].0).sum::<f32>() / n, near.iter().map(|&j| pos[j].1).sum::<f32>() / n)
            })
            .collect();
        pos = next;
    }
    let mut segments = Vec::new();
    for i in (0..784).filter(|&i| skel[i]) {
        let (x, y) = ((i % 28) as isize, (i / 28) as isize);
        // Each pair once: the neighbours to the right and below.
        for (dx, dy) in [(1, 0), (0, 1), (1, 1), (-1, 1)] {
            if on(x + dx, y + dy) {
                segments.push((pos[i], pos[((y + dy) * 28 + x + dx) as usize]));
            }
        }
        if around(i).all(|(nx, ny)| (nx, ny) == (x, y) || !on(nx, ny)) {
            segments.push((pos[i], pos[i]));
        }
    }
    segments
}

/// A digit drawn as a person draws it on a canvas: its skeleton's smoothed segments
/// ([`smooth_segments`]), distorted by `warp`, traced with a round pen `pen` pixels wide and
/// scaled so that the ink is `height` pixels tall (pen included; the width follows the digit's
/// own proportions). Returns the patch; the ink fills it but for a 2-pixel margin.
pub fn pen_digit(img: &[u8], height: f32, pen: f32, warp: &Warp) -> Canvas {
    pen_segments(smooth_segments(img), height, pen, warp)
}

/// What the 1s drawn in other hands may become, as shares of them (`train --flagged-ones`,
/// `--barred-ones`; both 0 by default).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OneForms {
    /// Written with a flag ([`flag_one`]): still a 1 (MNIST's writers seldom flag a 1, many
    /// others always do).
    pub flagged: f32,
    /// Given a short, nearly level bar from the stem's top ([`bar_one`]): a 7 as some write it,
    /// the flag's counterpart, so that learning the flag does not teach that a short sloping bar
    /// over an upright stem is a 1.
    pub barred: f32,
}

/// [`pen_digit`] for training in other hands: the 1s (`label`) take the [`OneForms`] `ones`
/// asks for. Returns the patch and its digit (a barred 1 is a 7). The scene sets keep
/// [`pen_digit`].
pub fn pen_digit_in_hand(
    img: &[u8],
    mut label: u8,
    height: f32,
    pen: f32,
    warp: &Warp,
    ones: OneForms,
    rng: &mut Rng,
) -> (Canvas, u8) {
    let mut segments = smooth_segments(img);
    if label == 1 && ones.flagged + ones.barred > 0.0 {
        let u = rng.uniform();
        if u < ones.flagged {
            flag_one(&mut segments, rng);
        } else if u < ones.flagged + ones.barred && bar_one(&mut segments, rng) {
            label = 7;
        }
    }
    (pen_segments(segments, height, pen, warp), label)
}

/// A 1's stem in its skeleton: the top and bottom points, the length between them and the unit
/// vector from top to bottom.
struct Stem {
    top: (f32, f32),
    bottom: (f32, f32),
    length: f32,
    down: (f32, f32),
}

/// The stem of a 1's skeleton; `None` where it is under 4 units long.
fn stem(segments: &[Segment]) -> Option<Stem> {
    let points = || segments.iter().flat_map(|&(a, b)| [a, b]);
    let top = points().min_by(|a, b| a.1.total_cmp(&b.1))?;
    let bottom = points().max_by(|a, b| a.1.total_cmp(&b.1))?;
    let (dx, dy) = (bottom.0 - top.0, bottom.1 - top.1);
    let length = dx.hypot(dy);
    (length >= 4.0).then(|| Stem { top, bottom, length, down: (dx / length, dy / length) })
}

/// The stem's direction `u` turned by 90° − `phi` (degrees) towards the left: down and to the
/// left at `phi` below the stem's perpendicular (an upright stem: (−cos φ, sin φ)).
fn from_stem(u: (f32, f32), phi: f32) -> (f32, f32) {
    let (s, c) = (std::f32::consts::FRAC_PI_2 - phi.to_radians()).sin_cos();
    (u.0 * c - u.1 * s, u.0 * s + u.1 * c)
}

/// Adds to a 1's skeleton (28×28 coordinates) a flag from the stem's top, down and to the left at
/// 35–70° below the stem's perpendicular, 15–35 % of the stem's length (steeper and shorter than a
/// 7's bar: flags from 25° and to 45 % taught the network that a 7 with a short sloping bar is a 1);
/// a quarter of the time also a foot across its bottom, 30–60 % of its length wide.
pub fn flag_one(segments: &mut Vec<Segment>, rng: &mut Rng) {
    let Some(Stem { top, bottom, length, down: u }) = stem(segments) else { return };
    let (fx, fy) = from_stem(u, 35.0 + 35.0 * rng.uniform());
    let flag = length * (0.15 + 0.2 * rng.uniform());
    // In two pieces, the second bent a little, as a pen's flick is.
    let bend = (rng.uniform() - 0.5) * 0.3;
    let mid = (top.0 + fx * flag * 0.5, top.1 + fy * flag * 0.5);
    let (s2, c2) = bend.sin_cos();
    let end = (mid.0 + (fx * c2 - fy * s2) * flag * 0.5, mid.1 + (fx * s2 + fy * c2) * flag * 0.5);
    segments.push((top, mid));
    segments.push((mid, end));
    if rng.uniform() < 0.25 {
        let half = length * (0.15 + 0.15 * rng.uniform());
        let (px, py) = (-u.1, u.0);
        segments.push(((bottom.0 - px * half, bottom.1 - py * half), (bottom.0 + px * half, bottom.1 + py * half)));
    }
}

/// Turns a 1's skeleton (28×28 coordinates) into a 7's: a bar from the stem's top to the left,
/// from 5° above to 20° below the stem's perpendicular, 30–60 % of the stem's length (longer and
/// nearer level than [`flag_one`]'s flags). Returns `false` (and changes nothing) where the stem is
/// too short to tell.
pub fn bar_one(segments: &mut Vec<Segment>, rng: &mut Rng) -> bool {
    let Some(Stem { top, length, down: u, .. }) = stem(segments) else { return false };
    let (bx, by) = from_stem(u, -5.0 + 25.0 * rng.uniform());
    let bar = length * (0.3 + 0.3 * rng.uniform());
    segments.push((top, (top.0 + bx * bar, top.1 + by * bar)));
    true
}

/// Draws skeleton `segments` (28×28 coordinates) bent by `warp` with a round pen `pen` px wide,
/// the ink `height` px tall.
fn pen_segments(segments: Vec<Segment>, height: f32, pen: f32, warp: &Warp) -> Canvas {
    let segments: Vec<Segment> = segments.into_iter().map(|(a, b)| (warp.apply(a), warp.apply(b))).collect();
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for &(x, y) in segments.iter().flat_map(|(a, b)| [a, b]) {
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    if x0 > x1 {
        return Canvas::new(1, 1);
    }
    let pen = pen.min(height);
    let k = (height - pen).max(1.0) / (y1 - y0).max(1.0);
    let margin = 2.0 + pen / 2.0;
    let w = ((x1 - x0) * k + 2.0 * margin).ceil() as usize;
    let h = ((y1 - y0) * k + 2.0 * margin).ceil() as usize;
    let mut out = Canvas::new(w.max(1), h.max(1));
    let to = |p: (f32, f32)| ((p.0 - x0) * k + margin, (p.1 - y0) * k + margin);
    for (a, b) in segments {
        out.line(to(a), to(b), pen, 1.0);
    }
    out
}

/// The height buckets (ink height, px) that `make scenes` reports recall for on the `pad` set.
pub const HEIGHT_BUCKETS: [(usize, usize); 4] = [(14, 40), (40, 80), (80, 160), (160, 320)];

/// Places rectangles (`(w, h)`, largest first) without overlap, `gap` pixels apart (up to 200
/// tries each); returns `(index into sizes, x, y)` of those placed.
fn place_rects(rng: &mut Rng, w: usize, h: usize, sizes: &[(usize, usize)], gap: isize) -> Vec<(usize, isize, isize)> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i].0 * sizes[i].1));
    let mut placed: Vec<(usize, isize, isize)> = Vec::new();
    for i in order {
        let (sw, sh) = sizes[i];
        if sw > w || sh > h {
            continue;
        }
        for _ in 0..200 {
            let (x, y) = (rng.below(w - sw + 1) as isize, rng.below(h - sh + 1) as isize);
            let b = (x, y, x + sw as isize - 1, y + sh as isize - 1);
            let clear = placed.iter().all(|&(j, px, py)| {
                !boxes_overlap(b, (px, py, px + sizes[j].0 as isize - 1, py + sizes[j].1 as isize - 1), gap)
            });
            if clear {
                placed.push((i, x, y));
                break;
            }
        }
    }
    placed
}

/// Paper under uneven light: a bright sheet with a lighting gradient, broad shading and grain
/// (values in [0, 1], 1 = white).
fn paper(rng: &mut Rng, w: usize, h: usize) -> Vec<f32> {
    let base = 0.72 + 0.2 * rng.uniform();
    let angle = rng.uniform() * std::f32::consts::TAU;
    let (gx, gy) = (angle.cos(), angle.sin());
    let gradient = 0.1 + 0.2 * rng.uniform();
    let blobs: Vec<(f32, f32, f32, f32)> = (0..3)
        .map(|_| {
            (
                rng.uniform() * w as f32,
                rng.uniform() * h as f32,
                30.0 + 80.0 * rng.uniform(),
                (rng.uniform() - 0.6) * 0.25,
            )
        })
        .collect();
    let side = w.max(h) as f32;
    let mut px = vec![0.0; w * h];
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 / side - 0.5, y as f32 / side - 0.5);
            let mut v = base + gradient * (fx * gx + fy * gy);
            for &(bx, by, r, a) in &blobs {
                let d2 = ((x as f32 - bx).powi(2) + (y as f32 - by).powi(2)) / (r * r);
                v += a * (-d2).exp();
            }
            // Grain: the sum of three uniforms, centred (σ ≈ 0.02).
            v += (rng.uniform() + rng.uniform() + rng.uniform() - 1.5) * 0.04;
            px[y * w + x] = v.clamp(0.0, 1.0);
        }
    }
    px
}

/// A scene and its digits.
#[derive(Debug, Clone)]
pub struct Scene {
    /// The image.
    pub image: GrayImage,
    /// Ground truth: digit and tight ink box.
    pub truths: Vec<Truth>,
}

/// The evaluation sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SceneSet {
    /// 128×128, 5–7 digits at native size, no overlap.
    SeedLike,
    /// 256×256, digits scaled to 16–64 px.
    MultiScale,
    /// 128×128, no digits: Fashion-MNIST items, noise, random strokes.
    Negatives,
    /// 256×256, digits redrawn with a round pen (skeleton + brush), softened, 24–64 px.
    Drawn,
    /// The site's pad, 448×336: 1–4 digits of 14–320 px ink height (a quarter of them in each
    /// of [`HEIGHT_BUCKETS`]), drawn along their skeleton with one round pen of 2–16 px per
    /// scene (at most a quarter of the digit's height: nobody writes a 14-px digit with a
    /// 16-px pen).
    Pad,
    /// 256×256, 3–6 digits of 20–64 px in other hands: strong elastic distortion, slant ±25°,
    /// rotation ±10°, aspect ±25 %, pen 5–25 % of the height.
    Hands,
    /// 128×128, 3–6 Fashion-MNIST items of 28–64 px and no digit.
    Clutter,
    /// 256×256, 3–6 digits of 20–64 px, dark ink on light paper under uneven light, with grain:
    /// an upload of a photo or scan, detected without any polarity flag.
    Paper,
    /// A photo of such a sheet lying on a desk: another `paper` scene in a frame of 320–512 ×
    /// 256–384 px whose rest (20–67 % of it) is the desk — dark to mid grey, unevenly lit,
    /// grained, sometimes wood-grained, with the sheet's shadow along two edges.
    Desk,
    /// `paper` on ruled or squared paper, as a notebook's: printed lines 18–32 px apart, 1–2 px
    /// thick, 15–40 % darker than the sheet, tilted by up to ±10° (a photo is seldom square);
    /// a third of the sheets squared (vertical lines too), a third with a margin line.
    Ruled,
    /// `ruled` as a scanner app gives it: the page made white (no light, no grain), the
    /// printed lines and the ink left as they are.
    Scan,
    /// A number written on the pad, 448×336: 2–5 digits of one height (24–200 px) side by side
    /// in a row, as people write one — gaps between their inks of −6 % to +30 % of the height
    /// (about a fifth of the digits touch or cross the one before), baselines ±6 %, one pen of
    /// 2–16 px (at most a quarter of the height), a mild other hand (slant ±12°, rotation ±5°,
    /// aspect ±10 %).
    Number,
}

impl SceneSet {
    /// All sets.
    pub const ALL: [SceneSet; 12] = [
        SceneSet::SeedLike,
        SceneSet::MultiScale,
        SceneSet::Negatives,
        SceneSet::Drawn,
        SceneSet::Pad,
        SceneSet::Hands,
        SceneSet::Clutter,
        SceneSet::Paper,
        SceneSet::Desk,
        SceneSet::Ruled,
        SceneSet::Scan,
        SceneSet::Number,
    ];
}

/// Names: `seed-like`, `multi-scale`, `negatives`, `drawn`, `pad`, `hands`, `clutter`, `paper`,
/// `desk`, `ruled`, `scan`.
impl digitscope::Named for SceneSet {
    const WHAT: &'static str = "scene set";
}

/// Sources of ink: digits, and (optionally) Fashion-MNIST items for clutter.
pub struct Sources<'a> {
    /// MNIST digits.
    pub digits: &'a Split,
    /// Fashion-MNIST images (784 bytes each), if available.
    pub fashion: Option<&'a [u8]>,
    /// Hard negatives: `CROP`×`CROP` crops around the false detections of an earlier round, at
    /// the pyramid level where they were made ([`crate::mine_negatives`]); empty at first.
    pub mined: &'a [Vec<f32>],
}

fn boxes_overlap(a: (isize, isize, isize, isize), b: (isize, isize, isize, isize), gap: isize) -> bool {
    a.0 - gap <= b.2 && b.0 - gap <= a.2 && a.1 - gap <= b.3 && b.1 - gap <= a.3
}

/// Places `n` squares of the given sizes without overlap (up to 200 tries each); returns their
/// top-left corners and sizes.
fn place(rng: &mut Rng, w: usize, h: usize, sizes: &[usize], gap: isize) -> Vec<(isize, isize, usize)> {
    let mut placed: Vec<(isize, isize, usize)> = Vec::new();
    for &s in sizes {
        for _ in 0..200 {
            if s > w || s > h {
                break;
            }
            let (x, y) = (rng.below(w - s + 1) as isize, rng.below(h - s + 1) as isize);
            let b = (x, y, x + s as isize - 1, y + s as isize - 1);
            if placed
                .iter()
                .all(|&(px, py, ps)| !boxes_overlap(b, (px, py, px + ps as isize - 1, py + ps as isize - 1), gap))
            {
                placed.push((x, y, s));
                break;
            }
        }
    }
    placed
}

/// Pastes digit `index` as `patch` at (`x`, `y`) and records its truth (ink above 0.1).
fn add_digit(
    canvas: &mut Canvas,
    truths: &mut Vec<Truth>,
    patch: &Canvas,
    x: isize,
    y: isize,
    digit: u8,
    overwrite: bool,
) {
    canvas.paste(patch, x, y, 1.0, overwrite);
    if let Some((x0, y0, x1, y1)) = patch.ink_box(0.1) {
        truths.push(Truth {
            digit,
            x0: (x + x0 as isize).max(0) as usize,
            y0: (y + y0 as isize).max(0) as usize,
            x1: ((x + x1 as isize) as usize).min(canvas.w - 1),
            y1: ((y + y1 as isize) as usize).min(canvas.h - 1),
        });
    }
}

/// Kinds of [`clutter`]: the first five are the original ones (the `negatives` set draws from
/// them), the rest the hard negatives of training.
pub const CLUTTER_KINDS: usize = 10;

/// Random clutter that is not a digit: long lines, rectangles, zig-zags, a noise patch, a
/// Fashion-MNIST item; then (kinds 5–9) a large circle or ellipse, hatching, a row of small
/// text-like marks, a letter-like looping scribble, several Fashion-MNIST items at once.
pub fn clutter(canvas: &mut Canvas, rng: &mut Rng, fashion: Option<&[u8]>, kind: usize) {
    scaled_clutter(canvas, rng, fashion, kind, 1.0)
}

/// [`clutter`] drawn `scale` times as large (sizes and pens of the drawn kinds; Fashion-MNIST
/// items keep their sizes): a crop composed at `scale`× and then shrunk to its pyramid level
/// shows the clutter at the size the kind was designed for, not `scale` times smaller (a
/// 48-px circle shrunk fourfold is a 12-px "0").
pub fn scaled_clutter(canvas: &mut Canvas, rng: &mut Rng, fashion: Option<&[u8]>, kind: usize, scale: f32) {
    let (w, h) = (canvas.w as f32, canvas.h as f32);
    let width = (1.5 + rng.uniform() * 4.0) * scale;
    match kind % CLUTTER_KINDS {
        5 => {
            // A circle or ellipse larger than any digit at this scale (≥ 48 px across).
            let (rx, ry) = ((24.0 + rng.uniform() * 24.0) * scale, (24.0 + rng.uniform() * 24.0) * scale);
            let (cx, cy) = (rng.uniform() * w, rng.uniform() * h);
            let n = 48;
            for i in 0..n {
                let (a0, a1) =
                    (i as f32 / n as f32 * std::f32::consts::TAU, (i + 1) as f32 / n as f32 * std::f32::consts::TAU);
                canvas.line(
                    (cx + rx * a0.cos(), cy + ry * a0.sin()),
                    (cx + rx * a1.cos(), cy + ry * a1.sin()),
                    width,
                    1.0,
                );
            }
        }
        6 => {
            // Hatching: parallel strokes 4–10 px apart over a patch.
            let (pw, ph) = ((20.0 + rng.uniform() * 40.0) * scale, (20.0 + rng.uniform() * 40.0) * scale);
            let (x0, y0) = (rng.uniform() * (w - pw).max(1.0), rng.uniform() * (h - ph).max(1.0));
            let gap = (4.0 + rng.uniform() * 6.0) * scale;
            let slope = rng.uniform() * 2.0 - 1.0;
            let pen = (1.0 + rng.uniform() * 2.0) * scale;
            let mut t = 0.0;
            while t < pw {
                canvas.line((x0 + t, y0), (x0 + t + slope * ph, y0 + ph), pen, 1.0);
                t += gap;
            }
        }
        7 => {
            // A row of small text-like marks (4–9 px tall, too small to be digits here).
            let size = (4.0 + rng.uniform() * 5.0) * scale;
            let (mut x, y) = (rng.uniform() * w * 0.5, size + rng.uniform() * (h - 2.0 * size).max(1.0));
            let pen = (1.0 + rng.uniform() * 1.0) * scale;
            while x < w - size {
                let mut p = (x, y + rng.uniform() * size);
                for _ in 0..3 {
                    let q = (x + rng.uniform() * size * 0.8, y + rng.uniform() * size);
                    canvas.line(p, q, pen, 1.0);
                    p = q;
                }
                x += size * (1.0 + rng.uniform() * 0.6);
            }
        }
        8 => {
            // A cursive, letter-like scribble: loops along a line (like handwriting, not digits).
            let (mut x, y) = (rng.uniform() * w * 0.4, rng.uniform() * h);
            let (loop_w, loop_h) = ((6.0 + rng.uniform() * 10.0) * scale, (8.0 + rng.uniform() * 14.0) * scale);
            let pen = (1.5 + rng.uniform() * 2.5) * scale;
            let mut p = (x, y);
            for i in 0..(4 + rng.below(6)) {
                let steps = 10;
                for k in 1..=steps {
                    let a = k as f32 / steps as f32 * std::f32::consts::TAU;
                    let q = (
                        x + loop_w * (k as f32 / steps as f32) - 0.6 * loop_w * a.sin(),
                        y - loop_h * 0.5 * (1.0 - a.cos()) * if i % 3 == 2 { 1.6 } else { 1.0 },
                    );
                    canvas.line(p, q, pen, 1.0);
                    p = q;
                }
                x += loop_w;
            }
        }
        9 => {
            for _ in 0..(2 + rng.below(3)) {
                clutter(canvas, rng, fashion, 4);
            }
        }
        0 => {
            // A long straight line (at least 60 % of the canvas side), wholly inside the canvas.
            let side = w.min(h);
            let len = 0.6 * side + rng.uniform() * 0.35 * side;
            let angle = rng.uniform() * std::f32::consts::TAU;
            let (dx, dy) = (len * angle.cos(), len * angle.sin());
            let (lo_x, hi_x) = (dx.min(0.0).abs() + 2.0, w - dx.max(0.0) - 2.0);
            let (lo_y, hi_y) = (dy.min(0.0).abs() + 2.0, h - dy.max(0.0) - 2.0);
            let a = (lo_x + rng.uniform() * (hi_x - lo_x).max(0.0), lo_y + rng.uniform() * (hi_y - lo_y).max(0.0));
            canvas.line(a, (a.0 + dx, a.1 + dy), width, 1.0);
        }
        1 => {
            // A large rectangle outline, wholly inside the canvas.
            let (rw, rh) = (
                40.0 * scale + rng.uniform() * (w - 44.0 * scale).max(0.0) * 0.6,
                40.0 * scale + rng.uniform() * (h - 44.0 * scale).max(0.0) * 0.6,
            );
            let (x0, y0) =
                (2.0 + rng.uniform() * (w - rw - 4.0).max(0.0), 2.0 + rng.uniform() * (h - rh - 4.0).max(0.0));
            let (x1, y1) = (x0 + rw, y0 + rh);
            for (a, b) in [((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))] {
                canvas.line(a, b, width, 1.0);
            }
        }
        2 => {
            // A zig-zag scribble of many short segments.
            let mut p = (rng.uniform() * w, rng.uniform() * h);
            for i in 0..(8 + rng.below(8)) {
                let step = (10.0 + rng.uniform() * 10.0) * scale;
                let angle = if i % 2 == 0 { 0.3 } else { -0.3 } + rng.uniform() * 0.6;
                let q = (
                    p.0 + step * angle.cos() * 1.5,
                    p.1 + step * angle.sin() * 2.0 * if i % 2 == 0 { 1.0 } else { -1.0 },
                );
                canvas.line(p, q, width, 1.0);
                p = q;
            }
        }
        3 => {
            // A patch of speckle noise.
            let s = ((20 + rng.below(40)) as f32 * scale) as usize;
            let (x, y) = (rng.below(canvas.w.saturating_sub(s).max(1)), rng.below(canvas.h.saturating_sub(s).max(1)));
            for yy in y..(y + s).min(canvas.h) {
                for xx in x..(x + s).min(canvas.w) {
                    if rng.uniform() < 0.3 {
                        canvas.px[yy * canvas.w + xx] = canvas.px[yy * canvas.w + xx].max(rng.uniform());
                    }
                }
            }
        }
        _ => match fashion {
            Some(items) if !items.is_empty() => {
                let n = items.len() / 784;
                let item = Canvas::from_mnist(&items[rng.below(n) * 784..][..784]);
                let s = 16 + rng.below(57);
                let patch = item.resized(s, s);
                let (x, y) =
                    (rng.below(canvas.w.saturating_sub(s).max(1)), rng.below(canvas.h.saturating_sub(s).max(1)));
                canvas.paste(&patch, x as isize, y as isize, 0.6 + 0.4 * rng.uniform(), false);
            }
            _ => {
                let kind = rng.below(4);
                clutter(canvas, rng, None, kind)
            }
        },
    }
}

/// Scene `index` of a set (deterministic in `seed` and `index`).
pub fn scene(set: SceneSet, sources: &Sources, seed: u64, index: usize) -> Scene {
    let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0x9E37_79B9) ^ (set as u64 * 0x5151));
    let digits = sources.digits;
    let pick = |rng: &mut Rng| rng.below(digits.len());
    match set {
        SceneSet::SeedLike => {
            let n = 5 + rng.below(3);
            let mut canvas = Canvas::new(128, 128);
            let mut truths = Vec::new();
            for (x, y, _) in place(&mut rng, 128, 128, &vec![28; n], 0) {
                let i = pick(&mut rng);
                add_digit(&mut canvas, &mut truths, &Canvas::from_mnist(digits.image(i)), x, y, digits.labels[i], true);
            }
            Scene { image: canvas.into_image(), truths }
        }
        SceneSet::MultiScale | SceneSet::Drawn => {
            let drawn = set == SceneSet::Drawn;
            let n = 3 + rng.below(4);
            let sizes: Vec<usize> =
                (0..n).map(|_| if drawn { 24 + rng.below(41) } else { 16 + rng.below(49) }).collect();
            let mut canvas = Canvas::new(256, 256);
            let mut truths = Vec::new();
            for (x, y, s) in place(&mut rng, 256, 256, &sizes, 2) {
                let i = pick(&mut rng);
                let patch = if drawn {
                    let width = s as f32 * (0.06 + 0.06 * rng.uniform());
                    drawn_digit(digits.image(i), s, width.max(2.0), true)
                } else {
                    Canvas::from_mnist(digits.image(i)).resized(s, s)
                };
                add_digit(&mut canvas, &mut truths, &patch, x, y, digits.labels[i], false);
            }
            Scene { image: canvas.into_image(), truths }
        }
        SceneSet::Negatives => {
            let mut canvas = Canvas::new(128, 128);
            for k in 0..(1 + rng.below(3)) {
                // The five original kinds (`% 5`: kinds 5–6, a large circle and hatching,
                // came in when the training clutter grew; a circle filling a 128² image is a 0).
                let kind = (rng.below(5) + k) % 5;
                clutter(&mut canvas, &mut rng, sources.fashion, kind);
            }
            Scene { image: canvas.into_image(), truths: Vec::new() }
        }
        SceneSet::Pad => {
            let (w, h) = (448, 336);
            let pen = 2.0 + 14.0 * rng.uniform();
            let n = 1 + rng.below(4);
            let patches: Vec<(Canvas, u8)> = (0..n)
                .map(|_| {
                    let (lo, hi) = HEIGHT_BUCKETS[rng.below(HEIGHT_BUCKETS.len())];
                    let height = lo as f32 * (hi as f32 / lo as f32).powf(rng.uniform());
                    let i = pick(&mut rng);
                    (
                        pen_digit(digits.image(i), height, pen.min(height / 4.0).max(1.5), &Warp::none()),
                        digits.labels[i],
                    )
                })
                .collect();
            compose(&mut rng, w, h, &patches, 4)
        }
        SceneSet::Number => {
            let n = 2 + rng.below(4);
            number(&mut rng, digits, n)
        }
        SceneSet::Hands => {
            let n = 3 + rng.below(4);
            let patches: Vec<(Canvas, u8)> = (0..n)
                .map(|_| {
                    let height = 20.0 + 44.0 * rng.uniform();
                    let pen = height * (0.05 + 0.2 * rng.uniform());
                    let warp = Warp::random(&mut rng, 25f32.to_radians(), 10f32.to_radians(), 0.25, 2.5);
                    let i = pick(&mut rng);
                    (pen_digit(digits.image(i), height, pen.max(1.5), &warp).blurred(), digits.labels[i])
                })
                .collect();
            compose(&mut rng, 256, 256, &patches, 2)
        }
        SceneSet::Clutter => {
            let mut canvas = Canvas::new(128, 128);
            let items = sources.fashion.unwrap_or(&[]);
            let count = items.len() / 784;
            if count > 0 {
                let n = 3 + rng.below(4);
                let sizes: Vec<usize> = (0..n).map(|_| 28 + rng.below(37)).collect();
                let spots = place(&mut rng, 128, 128, &sizes, -8);
                for (x, y, s) in spots {
                    let item = Canvas::from_mnist(&items[rng.below(count) * 784..][..784]).resized(s, s);
                    canvas.paste(&item, x, y, 0.6 + 0.4 * rng.uniform(), false);
                }
            }
            Scene { image: canvas.into_image(), truths: Vec::new() }
        }
        SceneSet::Paper | SceneSet::Ruled | SceneSet::Scan => {
            let n = 3 + rng.below(4);
            let patches: Vec<(Canvas, u8)> = (0..n)
                .map(|_| {
                    let s = 28 + rng.below(62);
                    let i = pick(&mut rng);
                    (Canvas::from_mnist(digits.image(i)).resized(s, s), digits.labels[i])
                })
                .collect();
            let mut scene = compose(&mut rng, 256, 256, &patches, 2);
            // Dark ink on the paper: the ink darkens the sheet by up to 85 %.
            let mut sheet = paper(&mut rng, 256, 256);
            if set == SceneSet::Scan {
                sheet.fill(1.0);
            }
            if set != SceneSet::Paper {
                rule(&mut rng, &mut sheet, 256, 256);
            }
            let strength = 0.7 + 0.15 * rng.uniform();
            for (v, p) in scene.image.pixels.iter_mut().zip(sheet) {
                *v = p * (1.0 - strength * *v);
            }
            scene
        }
        SceneSet::Desk => {
            let sheet = scene(SceneSet::Paper, sources, seed ^ 0xDE5C, index);
            let (sw, sh) = (sheet.image.width, sheet.image.height);
            let (w, h) = (320 + rng.below(193), 256 + rng.below(129));
            let (x0, y0) = (rng.below(w - sw + 1), rng.below(h - sh + 1));
            let mut image = GrayImage { width: w, height: h, pixels: desk(&mut rng, w, h) };
            // The sheet's shadow on the desk, below and to the right of it, then the sheet.
            let reach = 4.0 + 10.0 * rng.uniform();
            for y in y0..h {
                for x in x0..w {
                    let (dx, dy) = (x as f32 - (x0 + sw) as f32, y as f32 - (y0 + sh) as f32);
                    let d = dx.max(dy);
                    if d >= 0.0 && d < reach && x >= x0 + 6 && y >= y0 + 6 {
                        image.pixels[y * w + x] *= 0.65 + 0.35 * d / reach;
                    }
                }
            }
            for (y, row) in sheet.image.pixels.chunks(sw).enumerate() {
                image.pixels[(y0 + y) * w + x0..][..sw].copy_from_slice(row);
            }
            let truths = sheet
                .truths
                .iter()
                .map(|t| Truth { x0: t.x0 + x0, x1: t.x1 + x0, y0: t.y0 + y0, y1: t.y1 + y0, ..*t })
                .collect();
            Scene { image, truths }
        }
    }
}

/// Prints a notebook's lines on a `w`×`h` sheet (see [`SceneSet::Ruled`]).
fn rule(rng: &mut Rng, sheet: &mut [f32], w: usize, h: usize) {
    let gap = 18.0 + 14.0 * rng.uniform();
    let thick = 1.0 + rng.uniform();
    let dark = 0.15 + 0.25 * rng.uniform();
    let tilt = (rng.uniform() - 0.5) * 20f32.to_radians();
    let (sin, cos) = tilt.sin_cos();
    let (offset_x, offset_y) = (gap * rng.uniform(), gap * rng.uniform());
    let style = rng.below(3);
    let margin = 20.0 + 30.0 * rng.uniform();
    // Distance from pixel (x, y) to the nearest line of a family `gap` apart, along `t`.
    let nearest = |t: f32, offset: f32| {
        let d = (t - offset).rem_euclid(gap);
        d.min(gap - d)
    };
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32, y as f32);
            // Coordinates across the tilted lines: v for the ruled ones, u for the vertical ones.
            let (u, v) = (fx * cos + fy * sin, fy * cos - fx * sin);
            let mut d = nearest(v, offset_y);
            if style == 1 {
                d = d.min(nearest(u, offset_x));
            } else if style == 2 {
                d = d.min((u - margin).abs());
            }
            // A line `thick` px wide with a soft edge half a pixel wide.
            let cover = (thick / 2.0 + 0.5 - d).clamp(0.0, 1.0);
            sheet[y * w + x] *= 1.0 - dark * cover;
        }
    }
}

/// A desk under a photo's light: a grey of 0.1–0.45 with a gradient, grain and, half the time,
/// the stripes of wood.
fn desk(rng: &mut Rng, w: usize, h: usize) -> Vec<f32> {
    let tone = 0.1 + 0.35 * rng.uniform();
    let angle = rng.uniform() * std::f32::consts::TAU;
    let (gx, gy) = (angle.cos(), angle.sin());
    let gradient = 0.4 * rng.uniform();
    let wood = rng.uniform() < 0.5;
    let (period, across) = (5.0 + 15.0 * rng.uniform(), rng.uniform() < 0.5);
    let side = w.max(h) as f32;
    let mut px = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 / side - 0.5, y as f32 / side - 0.5);
            let mut v = tone * (1.0 + gradient * (fx * gx + fy * gy));
            if wood {
                let t = if across { x as f32 + 3.0 * (y as f32 / 40.0).sin() } else { y as f32 };
                v += 0.04 * (t * std::f32::consts::TAU / period).sin();
            }
            v += 0.03 * (rng.uniform() + rng.uniform() + rng.uniform() - 1.5);
            px.push(v.clamp(0.0, 1.0));
        }
    }
    px
}

/// Pastes `patches` (ink patch, digit) at places found by [`place_rects`] on a black `w`×`h`
/// canvas and records each digit's truth.
fn compose(rng: &mut Rng, w: usize, h: usize, patches: &[(Canvas, u8)], gap: isize) -> Scene {
    let sizes: Vec<(usize, usize)> = patches.iter().map(|(p, _)| (p.w, p.h)).collect();
    let mut canvas = Canvas::new(w, h);
    let mut truths = Vec::new();
    for (i, x, y) in place_rects(rng, w, h, &sizes, gap) {
        add_digit(&mut canvas, &mut truths, &patches[i].0, x, y, patches[i].1, false);
    }
    Scene { image: canvas.into_image(), truths }
}

/// A [`SceneSet::Number`] scene: `n` digits drawn from `digits`, written in a row on the pad,
/// one height for all, as many as fit its width.
fn number(rng: &mut Rng, digits: &Split, n: usize) -> Scene {
    let (w, h) = (448usize, 336usize);
    // The tallest height whose row fits the pad (digits about 0.7 of their height wide).
    let most = 200.0f32.min((w - 16) as f32 / (n as f32 * 0.85));
    let height = 24.0 * (most / 24.0).powf(rng.uniform());
    let pen = (2.0 + 14.0 * rng.uniform()).min(height / 4.0).max(1.5);
    struct Written {
        patch: Canvas,
        digit: u8,
        /// Ink box: x0, y0, x1, y1 (inclusive).
        ink: (usize, usize, usize, usize),
    }
    let written: Vec<Written> = (0..n)
        .filter_map(|_| {
            let warp = Warp::random(rng, 12f32.to_radians(), 5f32.to_radians(), 0.10, 1.0);
            let i = rng.below(digits.len());
            let patch = pen_digit(digits.image(i), height, pen, &warp);
            let ink = patch.ink_box(0.1)?;
            Some(Written { patch, digit: digits.labels[i], ink })
        })
        .collect();
    let gaps: Vec<f32> = (0..written.len()).map(|_| height * (-0.06 + 0.36 * rng.uniform())).collect();
    // The digits that fit the pad's width in a row (the first always does).
    let (mut row, mut fit) = (0.0f32, 0);
    for (k, d) in written.iter().enumerate() {
        let more = (d.ink.2 - d.ink.0 + 1) as f32 + if k > 0 { gaps[k] } else { 0.0 };
        if k > 0 && row + more > (w - 8) as f32 {
            break;
        }
        (row, fit) = (row + more, k + 1);
    }
    let mut canvas = Canvas::new(w, h);
    let mut truths = Vec::new();
    let mut x = 4.0 + rng.uniform() * (w as f32 - 8.0 - row).max(0.0);
    let base = height / 2.0 + 4.0 + rng.uniform() * (h as f32 - height - 8.0).max(0.0);
    for (k, d) in written.iter().take(fit).enumerate() {
        if k > 0 {
            x += gaps[k];
        }
        let (x0, y0, x1, y1) = d.ink;
        let y = base + height * (rng.uniform() * 0.12 - 0.06) - (y0 + y1) as f32 / 2.0;
        add_digit(
            &mut canvas,
            &mut truths,
            &d.patch,
            (x - x0 as f32).round() as isize,
            y.round() as isize,
            d.digit,
            false,
        );
        x += (x1 - x0 + 1) as f32;
    }
    Scene { image: canvas.into_image(), truths }
}

/// A digit-free scene for mining hard negatives (training sources: Fashion-MNIST **train**
/// items and generated clutter): 128–256 px square, several Fashion items of 16–96 px (often
/// overlapping), and some of the other clutter kinds.
pub fn negative_scene(sources: &Sources, rng: &mut Rng) -> Canvas {
    let side = [128, 128, 160, 192, 256][rng.below(5)];
    let mut canvas = Canvas::new(side, side);
    let items = sources.fashion.unwrap_or(&[]);
    let count = items.len() / 784;
    if count > 0 && rng.uniform() < 0.75 {
        let n = (3 + rng.below(4)) * side / 128;
        let sizes: Vec<usize> = (0..n).map(|_| 16 + rng.below(81)).collect();
        for (x, y, s) in place(rng, side, side, &sizes, -8) {
            let item = Canvas::from_mnist(&items[rng.below(count) * 784..][..784]).resized(s, s);
            canvas.paste(&item, x, y, 0.6 + 0.4 * rng.uniform(), false);
        }
    }
    // No circle (kind 5): at the pyramid level where it is digit-sized, a ring is a 0, and a
    // false detection mined from it would teach the network that 0s are background.
    for _ in 0..[0, 1, 1, 2][rng.below(4)] {
        let kind = [0, 1, 2, 3, 4, 6, 7, 8, 9][rng.below(CLUTTER_KINDS - 1)];
        clutter(&mut canvas, rng, sources.fashion, kind);
    }
    canvas
}

/// A scene of one large digit for mining (MNIST **train** digits): 80–330 px of ink on the
/// site's 448×336 pad, in another hand (slant, rotation, bend) with a round pen of 2–16 px, as
/// people draw on it. Returns the canvas and the digit's box side (28-px-MNIST equivalent, ink
/// height × 28/20).
pub fn giant_scene(sources: &Sources, rng: &mut Rng) -> (Canvas, f32) {
    let digits = sources.digits;
    let height = 80.0 * (330.0f32 / 80.0).powf(rng.uniform());
    let pen = 2.0 + 14.0 * rng.uniform();
    let bend = 1.5 * rng.uniform();
    let warp = Warp::random(rng, 15f32.to_radians(), 8f32.to_radians(), 0.2, bend);
    let digit = pen_digit(digits.image(rng.below(digits.len())), height, pen.min(height / 4.0), &warp);
    let mut canvas = Canvas::new(448, 336);
    let x = rng.below(448usize.saturating_sub(digit.w).max(1)) as isize;
    let y = rng.below(336usize.saturating_sub(digit.h).max(1)) as isize;
    canvas.paste(&digit, x, y, 1.0, false);
    (canvas, digit.h as f32 * 28.0 / 20.0)
}

/// Share of native-scale crops that hold part of a digit too large for the level.
pub const GIANT_SHARE: f32 = 0.25;

/// Side of a training crop (8 × 8 cells).
pub const CROP: usize = 64;
/// Digit box sizes (px) the network is trained to detect at one pyramid level.
pub const DETECT_SIZES: (usize, usize) = (16, 40);

/// A dense training example: a `CROP`×`CROP` image, one label per cell (`0..=10`) and a
/// per-cell weight (0 = ignored).
pub fn training_crop(sources: &Sources, ones: OneForms, rng: &mut Rng) -> (Vec<f32>, Vec<i64>, Vec<f32>) {
    let digits = sources.digits;
    // A quarter of the crops (once there are some) start from a mined hard negative: what an
    // earlier round of the network took for a digit, flipped or turned for variety.
    let mined = !sources.mined.is_empty() && rng.uniform() < 0.25;
    // Some crops are composed at twice or four times the size and brought down the way the
    // detector makes its pyramid levels: clutter and digits as they look after the shrinking
    // (thin pens included). A mined crop is already at its level's scale.
    let factor = if mined { 1 } else { [1, 1, 1, 2, 2, 4][rng.below(6)] };
    let side = CROP * factor;
    let mut canvas = Canvas::new(side, side);
    if mined {
        let crop = &sources.mined[rng.below(sources.mined.len())];
        let (flip_x, flip_y, turn) = (rng.uniform() < 0.5, rng.uniform() < 0.5, rng.uniform() < 0.5);
        for y in 0..CROP {
            for x in 0..CROP {
                let (sx, sy) = (if flip_x { CROP - 1 - x } else { x }, if flip_y { CROP - 1 - y } else { y });
                let (sx, sy) = if turn { (sy, sx) } else { (sx, sy) };
                canvas.px[y * CROP + x] = crop[sy * CROP + sx];
            }
        }
    } else if rng.uniform() < 0.3 {
        for v in canvas.px.iter_mut() {
            *v = rng.below(5) as f32 / 255.0 * 3.0 * rng.uniform();
        }
    }
    // Part of a digit far too large for this level (2–5× the crop), drawn with a thin or thick
    // pen: its long strokes and loops are background here, a coarser level finds it.
    // (Native-scale crops only: at ×2 and ×4 the redrawing would cost more than the step.)
    if !mined && factor == 1 && rng.uniform() < GIANT_SHARE {
        let height = side as f32 * (1.5 + 3.5 * rng.uniform());
        let pen = (height * (0.01 + 0.07 * rng.uniform())).max(1.5);
        let warp = Warp::random(rng, 15f32.to_radians(), 8f32.to_radians(), 0.2, 1.0);
        let giant = pen_digit(digits.image(rng.below(digits.len())), height, pen, &warp);
        let x = -(rng.below(giant.w.saturating_sub(side / 2).max(1)) as isize);
        let y = -(rng.below(giant.h.saturating_sub(side / 2).max(1)) as isize);
        canvas.paste(&giant, x, y, 1.0, false);
    }
    // (centre x, centre y, box size, digit) of each pasted digit.
    let mut pasted: Vec<(f32, f32, usize, u8)> = Vec::new();
    let n = if mined { [0, 0, 1, 2][rng.below(4)] } else { [0, 1, 1, 2, 2, 3, 3, 4][rng.below(8)] };
    for _ in 0..n {
        // Log-uniform sizes from 12 to 64 (after the halving, if any): the ends teach what to
        // leave to another level.
        let s = (12.0 * (64.0f32 / 12.0).powf(rng.uniform())) as usize * factor;
        let i = rng.below(digits.len());
        let style = rng.uniform();
        let mut label = digits.labels[i];
        let mut patch = if style < 0.2 {
            let width = s as f32 * (0.05 + 0.08 * rng.uniform());
            drawn_digit(digits.image(i), s, width.max(1.5), rng.uniform() < 0.7)
        } else if style < 0.6 {
            // Another hand: the skeleton slanted, rotated, stretched and bent, redrawn with a pen
            // of 3–30 % of the digit's height, sometimes broken or doubled.
            let height = s as f32 * 20.0 / 28.0;
            let bend = 2.5 * rng.uniform();
            let warp = Warp::random(rng, 25f32.to_radians(), 12f32.to_radians(), 0.25, bend);
            let pen = (height * (0.03 + 0.27 * rng.uniform() * rng.uniform())).max(1.0);
            let (mut c, read) = pen_digit_in_hand(digits.image(i), label, height, pen, &warp, ones, rng);
            label = read;
            if rng.uniform() < 0.15 {
                // A gap cut across the ink.
                let (gx, gy) = (rng.uniform() * c.w as f32, rng.uniform() * c.h as f32);
                let r = pen.max(1.5);
                for (k, v) in c.px.iter_mut().enumerate() {
                    let (x, y) = ((k % c.w) as f32, (k / c.w) as f32);
                    if (x - gx).abs() < r && (y - gy).abs() < r * 2.0 {
                        *v = 0.0;
                    }
                }
            } else if rng.uniform() < 0.15 {
                // Doubled strokes: the same digit again, a little offset.
                let copy = c.clone();
                let d = 1 + rng.below(3) as isize;
                c.paste(&copy, d, d / 2, 1.0, false);
            }
            if rng.uniform() < 0.5 { c.blurred() } else { c }
        } else {
            let mut c = Canvas::from_mnist(digits.image(i)).resized(s, s);
            if style > 0.85 {
                c = c.blurred();
            }
            c
        };
        let gain = if rng.uniform() < 0.25 { 0.5 + 0.5 * rng.uniform() } else { 1.0 };
        for v in patch.px.iter_mut() {
            *v *= gain;
        }
        let Some((x0, y0, x1, y1)) = patch.ink_box(0.1) else { continue };
        // The box centre anywhere in the crop.
        let x = rng.below(side + 1) as isize - (s / 2) as isize;
        let y = rng.below(side + 1) as isize - (s / 2) as isize;
        let (cx, cy) = (x as f32 + (x0 + x1) as f32 / 2.0 + 0.5, y as f32 + (y0 + y1) as f32 / 2.0 + 0.5);
        if pasted.iter().any(|&(px, py, ps, _)| (px - cx).hypot(py - cy) < 0.45 * (ps.max(s)) as f32) {
            continue;
        }
        canvas.paste(&patch, x, y, 1.0, false);
        pasted.push((cx, cy, s, label));
    }
    // Clutter in most crops, sometimes twice or three times: non-digit ink is background.
    let clutters = if mined { [0, 0, 0, 1][rng.below(4)] } else { [0, 1, 1, 1, 2, 2, 3][rng.below(7)] };
    for _ in 0..clutters {
        let kind = rng.below(CLUTTER_KINDS);
        scaled_clutter(&mut canvas, rng, sources.fashion, kind, factor as f32);
    }
    if factor > 1 {
        let image = GrayImage { width: side, height: side, pixels: canvas.px }.level(factor, Downscale::default());
        canvas = Canvas { w: CROP, h: CROP, px: image.pixels };
        // Pixel i of the halved crop covers pixels f·i .. f·i + f − 1.
        let f = factor as f32;
        for p in &mut pasted {
            *p = ((p.0 - (f - 1.0) / 2.0 - 0.5) / f + 0.5, (p.1 - (f - 1.0) / 2.0 - 0.5) / f + 0.5, p.2 / factor, p.3);
        }
    }
    let cells = CROP / 8;
    let mut labels = vec![BACKGROUND as i64; cells * cells];
    let mut weights = vec![1.0f32; cells * cells];
    for r in 0..cells {
        for c in 0..cells {
            let (x, y) = ((8 * c + 7) as f32 + 0.5, (8 * r + 7) as f32 + 0.5);
            for &(cx, cy, s, digit) in &pasted {
                let d = (cx - x).abs().max((cy - y).abs());
                let in_range = (DETECT_SIZES.0..=DETECT_SIZES.1).contains(&s);
                // (The detected range lies inside this one.)
                let near_range = (13..=48).contains(&s);
                let k = r * cells + c;
                if in_range && d <= 4.0 {
                    labels[k] = digit as i64;
                    weights[k] = 2.0;
                } else if ((near_range && d <= 9.0) || (s > 48 && d <= 6.0)) && labels[k] == BACKGROUND as i64 {
                    weights[k] = 0.0;
                }
            }
        }
    }
    (canvas.px, labels, weights)
}
