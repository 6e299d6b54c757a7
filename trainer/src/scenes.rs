//! Synthetic scenes from MNIST: evaluation sets with ground truth, and dense training crops.
//!
//! Every scene is white ink on black, made from real MNIST digits (the **test** split for
//! evaluation sets, the train split for training) with fixed seeds.

use digitscope::GrayImage;
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
                tmp.px[y * self.w + x] = (-1..=1).map(|d| k[(d + 1) as usize] * self.at(x as isize + d, y as isize)).sum();
            }
        }
        let mut out = Canvas::new(self.w, self.h);
        for y in 0..self.h {
            for x in 0..self.w {
                out.px[y * self.w + x] = (-1..=1).map(|d| k[(d + 1) as usize] * tmp.at(x as isize, y as isize + d)).sum();
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
                    let cond = if pass == 0 { !(p2 && p4 && p6) && !(p4 && p6 && p8) } else { !(p2 && p4 && p8) && !(p2 && p6 && p8) };
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
    let pixels: Vec<(isize, isize)> = (0..784).filter(|&i| skel[i]).map(|i| ((i % 28) as isize, (i / 28) as isize)).collect();
    // Ends (one neighbour) first, then whatever is left (loops).
    let mut starts: Vec<(isize, isize)> = pixels.iter().copied().filter(|&(x, y)| neighbours(x, y).len() == 1).collect();
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

/// A scene and its digits.
#[derive(Debug, Clone)]
pub struct Scene {
    /// The image.
    pub image: GrayImage,
    /// Ground truth: digit and tight ink box.
    pub truths: Vec<Truth>,
}

/// The evaluation sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SceneSet {
    /// 128×128, 5–7 digits at native size, no overlap.
    SeedLike,
    /// 256×256, digits scaled to 16–64 px.
    MultiScale,
    /// 128×128, no digits: Fashion-MNIST items, noise, random strokes.
    Negatives,
    /// 256×256, digits redrawn with a round pen (skeleton + brush), softened, 24–64 px.
    Drawn,
}

impl SceneSet {
    /// All sets.
    pub const ALL: [SceneSet; 4] = [SceneSet::SeedLike, SceneSet::MultiScale, SceneSet::Negatives, SceneSet::Drawn];

    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            SceneSet::SeedLike => "seed-like",
            SceneSet::MultiScale => "multi-scale",
            SceneSet::Negatives => "negatives",
            SceneSet::Drawn => "drawn",
        }
    }

    /// Parses [`SceneSet::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// Sources of ink: digits, and (optionally) Fashion-MNIST items for clutter.
pub struct Sources<'a> {
    /// MNIST digits.
    pub digits: &'a Split,
    /// Fashion-MNIST images (784 bytes each), if available.
    pub fashion: Option<&'a [u8]>,
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
            if placed.iter().all(|&(px, py, ps)| !boxes_overlap(b, (px, py, px + ps as isize - 1, py + ps as isize - 1), gap)) {
                placed.push((x, y, s));
                break;
            }
        }
    }
    placed
}

/// Pastes digit `index` as `patch` at (`x`, `y`) and records its truth (ink above 0.1).
fn add_digit(canvas: &mut Canvas, truths: &mut Vec<Truth>, patch: &Canvas, x: isize, y: isize, digit: u8, overwrite: bool) {
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

/// Random clutter that is not a digit: long lines, rectangles, zig-zags, a noise patch, a
/// Fashion-MNIST item.
pub fn clutter(canvas: &mut Canvas, rng: &mut Rng, fashion: Option<&[u8]>, kind: usize) {
    let (w, h) = (canvas.w as f32, canvas.h as f32);
    let width = 1.5 + rng.uniform() * 4.0;
    match kind % 5 {
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
            let (rw, rh) = (40.0 + rng.uniform() * (w - 44.0).max(0.0) * 0.6, 40.0 + rng.uniform() * (h - 44.0).max(0.0) * 0.6);
            let (x0, y0) = (2.0 + rng.uniform() * (w - rw - 4.0).max(0.0), 2.0 + rng.uniform() * (h - rh - 4.0).max(0.0));
            let (x1, y1) = (x0 + rw, y0 + rh);
            for (a, b) in [((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))] {
                canvas.line(a, b, width, 1.0);
            }
        }
        2 => {
            // A zig-zag scribble of many short segments.
            let mut p = (rng.uniform() * w, rng.uniform() * h);
            for i in 0..(8 + rng.below(8)) {
                let step = 10.0 + rng.uniform() * 10.0;
                let angle = if i % 2 == 0 { 0.3 } else { -0.3 } + rng.uniform() * 0.6;
                let q = (p.0 + step * angle.cos() * 1.5, p.1 + step * angle.sin() * 2.0 * if i % 2 == 0 { 1.0 } else { -1.0 });
                canvas.line(p, q, width, 1.0);
                p = q;
            }
        }
        3 => {
            // A patch of speckle noise.
            let s = 20 + rng.below(40);
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
                let s = 24 + rng.below(48);
                let patch = item.resized(s, s);
                let (x, y) = (rng.below(canvas.w.saturating_sub(s).max(1)), rng.below(canvas.h.saturating_sub(s).max(1)));
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
    let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0x9E37_79B9) ^ set as u64 * 0x5151);
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
            let sizes: Vec<usize> = (0..n)
                .map(|_| if drawn { 24 + rng.below(41) } else { 16 + rng.below(49) })
                .collect();
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
                let kind = rng.below(5) + k;
                clutter(&mut canvas, &mut rng, sources.fashion, kind);
            }
            Scene { image: canvas.into_image(), truths: Vec::new() }
        }
    }
}

/// Side of a training crop (8 × 8 cells).
pub const CROP: usize = 64;
/// Digit box sizes (px) the network is trained to detect at one pyramid level.
pub const DETECT_SIZES: (usize, usize) = (16, 40);

/// A dense training example: a `CROP`×`CROP` image, one label per cell (`0..=10`) and a
/// per-cell weight (0 = ignored).
pub fn training_crop(sources: &Sources, rng: &mut Rng) -> (Vec<f32>, Vec<i64>, Vec<f32>) {
    let digits = sources.digits;
    // A third of the crops are composed at twice the size and box-filtered down, as the second
    // pyramid level sees its input: clutter and digits as they look after the halving.
    let factor = if rng.uniform() < 0.33 { 2 } else { 1 };
    let side = CROP * factor;
    let mut canvas = Canvas::new(side, side);
    if rng.uniform() < 0.3 {
        for v in canvas.px.iter_mut() {
            *v = rng.below(5) as f32 / 255.0 * 3.0 * rng.uniform();
        }
    }
    // (centre x, centre y, box size, digit) of each pasted digit.
    let mut pasted: Vec<(f32, f32, usize, u8)> = Vec::new();
    let n = [0, 1, 1, 2, 2, 3, 3, 4][rng.below(8)];
    for _ in 0..n {
        // Log-uniform sizes from 12 to 64 (after the halving, if any): the ends teach what to
        // leave to another level.
        let s = (12.0 * (64.0f32 / 12.0).powf(rng.uniform())) as usize * factor;
        let i = rng.below(digits.len());
        let style = rng.uniform();
        let mut patch = if style < 0.3 {
            let width = s as f32 * (0.05 + 0.08 * rng.uniform());
            drawn_digit(digits.image(i), s, width.max(1.5), rng.uniform() < 0.7)
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
        pasted.push((cx, cy, s, digits.labels[i]));
    }
    // Clutter in most crops, sometimes twice: non-digit ink is background.
    for _ in 0..[0, 1, 1, 1, 2][rng.below(5)] {
        let kind = rng.below(5);
        clutter(&mut canvas, rng, sources.fashion, kind);
    }
    if factor > 1 {
        let image = GrayImage { width: side, height: side, pixels: canvas.px }.downscaled(factor);
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
                let near_range = s >= 13 && s <= 48;
                let k = r * cells + c;
                if in_range && d <= 4.0 {
                    labels[k] = digit as i64;
                    weights[k] = 2.0;
                } else if (in_range && d <= 9.0) || (near_range && d <= 9.0) || (s > 48 && d <= 6.0) {
                    if labels[k] == BACKGROUND as i64 {
                        weights[k] = 0.0;
                    }
                }
            }
        }
    }
    (canvas.px, labels, weights)
}
