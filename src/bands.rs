//! A detection cut into pieces: the pyramid's levels, and rectangles of one level's heatmap
//! computed from a window of its input with the receptive field's halo.
//!
//! Two things are built on it. A **pool** of workers (each its own wasm instance, no shared
//! memory) shares one detection: [`plan`] cuts the levels into row bands of about equal cost,
//! each worker computes its bands ([`crate::Detector::cells_async`]) and one of them
//! assembles the result ([`crate::Detector::finish`]). **Live drawing** recomputes only what a
//! stroke changed: [`Live`] keeps every level's input and every layer's output on the direct
//! kernels, finds the rectangle of each level's input that differs from the last call, and each
//! layer recomputes only the outputs that see it ([`crate::direct::DirectNet::update`]).
//!
//! On the direct CPU kernels a cell computed from a window equals, bit for bit, the same cell of
//! the whole heatmap (`tests/bands.rs`): every output of the kernels is the same sum in the same
//! order wherever it lies, the window starts on the stride grid, and its size is congruent to the
//! image's modulo 8, so that 'same' padding puts the odd pixel in the same place at every layer.

use std::ops::Range;

use crate::direct::Trace;
use crate::image::GrayImage;
use crate::network::{Architecture, CLASSES, Pooling, STRIDE, cells};

/// One level of the pyramid: its downscale factor and the image the FCN runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Downscale factor (1: the image itself).
    pub factor: usize,
    /// The level's size (the image's size divided by `factor`, rounded up).
    pub width: usize,
    /// See `width`.
    pub height: usize,
    /// Background added on every side before the FCN runs (0 at factor 1).
    pub margin: usize,
}

impl Shape {
    /// Width of what the FCN sees (the level and its margins).
    pub fn input_width(&self) -> usize {
        self.width + 2 * self.margin
    }

    /// Height of what the FCN sees.
    pub fn input_height(&self) -> usize {
        self.height + 2 * self.margin
    }

    /// Heatmap rows of the level.
    pub fn rows(&self) -> usize {
        cells(self.input_height())
    }

    /// Heatmap columns of the level.
    pub fn cols(&self) -> usize {
        cells(self.input_width())
    }

    /// Values of the level's heatmap (11 classes per cell).
    pub fn values(&self) -> usize {
        CLASSES * self.rows() * self.cols()
    }
}

/// Pixels of input, beyond a rectangle of cells' stride-grid positions, that a window must
/// include for those cells to come out as in the whole heatmap: half the receptive field and the
/// pooling's cells, rounded up to the stride (24 px for the deep net without pooling). One
/// stride less is measured to change cells (`tests/bands.rs`).
pub fn halo(architecture: Architecture, pooling: Pooling) -> usize {
    let pool = pooling.kernel().map_or(0, |k| k / 2 * STRIDE);
    (architecture.receptive_field() / 2 + pool).next_multiple_of(STRIDE)
}

/// Where a window may start: every second stride-grid position, so that the 2×2 tiles in which
/// the direct kernels compute every stride-1 layer (8 input pixels a step at most) fall where the
/// whole image's do.
pub const WINDOW_GRID: usize = 2 * STRIDE;

/// The input window (pixel rows or columns) that computes cells `cells` of an input `size`
/// long: it starts on the [`WINDOW_GRID`], and its length is congruent to `size` modulo 8 (or it
/// runs to the end), so that every stride-2 layer pads it as it pads the whole input.
pub fn window(cells: &Range<usize>, size: usize, halo: usize) -> Range<usize> {
    let start = (cells.start * STRIDE).saturating_sub(halo) / WINDOW_GRID * WINDOW_GRID;
    let mut end = (cells.end * STRIDE + halo).min(size);
    end += (size - (end - start)) % STRIDE;
    start..end.min(size)
}

/// A rectangle of a level's heatmap: cell rows and columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cells {
    /// Cell rows.
    pub rows: Range<usize>,
    /// Cell columns.
    pub cols: Range<usize>,
}

impl Cells {
    /// Values of the rectangle (11 classes per cell).
    pub fn values(&self) -> usize {
        CLASSES * self.rows.len() * self.cols.len()
    }
}

/// Copies `part`, the class-major probabilities of `rect`, into `whole`, the class-major
/// probabilities of a `rows`×`cols` heatmap.
pub fn splice(whole: &mut [f32], rows: usize, cols: usize, rect: &Cells, part: &[f32]) {
    let (h, w) = (rect.rows.len(), rect.cols.len());
    for k in 0..CLASSES {
        for (i, r) in rect.rows.clone().enumerate() {
            let to = (k * rows + r) * cols + rect.cols.start;
            let from = (k * h + i) * w;
            whole[to..to + w].copy_from_slice(&part[from..from + w]);
        }
    }
}

/// Copies the class-major probabilities of `rect` out of a `rows`×`cols` heatmap's.
pub fn extract(whole: &[f32], rows: usize, cols: usize, rect: &Cells) -> Vec<f32> {
    let mut part = Vec::with_capacity(rect.values());
    for k in 0..CLASSES {
        for r in rect.rows.clone() {
            let from = (k * rows + r) * cols;
            part.extend_from_slice(&whole[from + rect.cols.start..from + rect.cols.end]);
        }
    }
    part
}

/// One piece of a pooled detection: a band of heatmap rows (all columns) of level `level`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Index into the detector's levels for the image ([`crate::Detector::shapes`]).
    pub level: usize,
    /// Cell rows.
    pub rows: Range<usize>,
}

impl Job {
    /// Jobs as flat triples `level, first row, end row` (how they cross the wasm boundary).
    pub fn flatten(jobs: &[Job]) -> Vec<u32> {
        jobs.iter().flat_map(|j| [j.level, j.rows.start, j.rows.end]).map(|v| v as u32).collect()
    }

    /// Jobs from [`Job::flatten`]'s triples.
    pub fn from_flat(flat: &[u32]) -> crate::Result<Vec<Job>> {
        if !flat.len().is_multiple_of(3) {
            return Err(crate::Error::InvalidInput(format!("jobs come in triples, not {} numbers", flat.len())));
        }
        Ok(flat.chunks(3).map(|t| Job { level: t[0] as usize, rows: t[1] as usize..t[2] as usize }).collect())
    }
}

/// Cuts a detection over `shapes` into `parts` lists of jobs of about equal cost (multiply-adds,
/// counting each band's halo). Whole levels go, largest first, to the least loaded part while
/// that keeps it under an equal share; the rest (the finest levels) are cut into row bands that
/// fill every part to the same total. Every cell of every level is in exactly one job.
pub fn plan(shapes: &[Shape], architecture: Architecture, pooling: Pooling, parts: usize) -> Vec<Vec<Job>> {
    let parts = parts.max(1);
    let halo = halo(architecture, pooling);
    let cost = |s: &Shape, rows: &Range<usize>| {
        let band = window(rows, s.input_height(), halo);
        architecture.multiply_adds(band.len(), s.input_width()) as f64
    };
    let whole: Vec<f64> = shapes.iter().map(|s| cost(s, &(0..s.rows()))).collect();
    let share = whole.iter().sum::<f64>() / parts as f64;
    let mut load = vec![0.0f64; parts];
    let mut jobs: Vec<Vec<Job>> = vec![Vec::new(); parts];
    let mut order: Vec<usize> = (0..shapes.len()).collect();
    order.sort_by(|&a, &b| whole[b].total_cmp(&whole[a]));
    let mut split = Vec::new();
    for level in order {
        let least = (0..parts).min_by(|&a, &b| load[a].total_cmp(&load[b])).unwrap_or(0);
        if parts > 1 && load[least] + whole[level] <= share * 1.05 {
            load[least] += whole[level];
            jobs[least].push(Job { level, rows: 0..shapes[level].rows() });
        } else {
            split.push(level);
        }
    }
    // The levels left are cut into bands, finest first, each part taking rows until it holds
    // its share (the last part takes what remains).
    split.sort();
    let mut part = 0;
    for level in split {
        let s = &shapes[level];
        let (rows, per_row) = (s.rows(), whole[level] / s.rows() as f64);
        let mut start = 0;
        while start < rows {
            while part + 1 < parts && load[part] + per_row / 2.0 >= share {
                part += 1;
            }
            let room = ((share - load[part]) / per_row).round().max(1.0) as usize;
            let end = if part + 1 == parts { rows } else { (start + room).min(rows) };
            load[part] += cost(s, &(start..end));
            jobs[part].push(Job { level, rows: start..end });
            start = end;
        }
    }
    jobs
}

/// What live drawing keeps between two detections of one drawing: every level's input and its
/// run on the direct kernels (every layer's output).
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// The flattened image of the last call.
    pub(crate) image: Option<GrayImage>,
    pub(crate) levels: Vec<LiveLevel>,
    /// What the last call's second looks ([`crate::verify`]) read and scanned: a detection
    /// whose cut-outs are the same again is not read again.
    pub(crate) seen: crate::detector::Seen,
}

/// One level of a [`Live`] drawing.
#[derive(Debug, Clone)]
pub(crate) struct LiveLevel {
    pub(crate) shape: Shape,
    /// The box-filtered level (coarser levels made from one; see [`crate::image::Downscale`]),
    /// updated block by block.
    pub(crate) boxed: Option<GrayImage>,
    /// How the level was made from `boxed` ([`crate::image::Downscale::making`]), kept with
    /// what that is decided from.
    pub(crate) making: Option<crate::image::KeptMaking>,
    /// What the FCN ran on; none for the native level, which runs on [`Live`]'s image.
    pub(crate) input: Option<GrayImage>,
    pub(crate) trace: Trace,
}

/// What one live update recomputed.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recomputed {
    /// Heatmap cells recomputed, over all levels.
    pub cells: usize,
    /// Heatmap cells of all levels.
    pub total: usize,
}

/// The smallest rectangle (pixel rows, pixel columns) holding every pixel where `a` and `b`
/// differ (bit patterns: −0 and +0 differ); `None` when they are equal. Both have the same size.
pub fn changed(a: &GrayImage, b: &GrayImage) -> Option<(Range<usize>, Range<usize>)> {
    let w = a.width;
    if w == 0 {
        return None;
    }
    let differs = |x: &f32, y: &f32| x.to_bits() != y.to_bits();
    // Each row tested whole, without an early exit: a branch-free OR of XORs that vectorizes.
    let row_differs =
        |ra: &[f32], rb: &[f32]| ra.iter().zip(rb).fold(0u32, |acc, (x, y)| acc | (x.to_bits() ^ y.to_bits())) != 0;
    let rows = || a.pixels.chunks_exact(w).zip(b.pixels.chunks_exact(w)).map(|(ra, rb)| row_differs(ra, rb));
    let top = rows().position(|d| d)?;
    let bottom = a.height - 1 - rows().rev().position(|d| d)?;
    let (mut left, mut right) = (w, 0);
    for y in top..=bottom {
        let (ra, rb) = (&a.pixels[y * w..(y + 1) * w], &b.pixels[y * w..(y + 1) * w]);
        if let Some(x) = ra.iter().zip(rb).position(|(x, y)| differs(x, y)) {
            left = left.min(x);
            right = right.max(w - 1 - ra.iter().zip(rb).rev().position(|(x, y)| differs(x, y)).unwrap_or(0));
        }
    }
    Some((top..bottom + 1, left..right + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(factor: usize, width: usize, height: usize, margin: usize) -> Shape {
        Shape { factor, width, height, margin }
    }

    #[test]
    fn a_window_starts_on_the_grid_and_keeps_the_size_modulo_8() {
        for size in [37, 64, 101, 336, 448] {
            let n = cells(size);
            for a in 0..n {
                for b in a + 1..=n {
                    let w = window(&(a..b), size, 48);
                    assert_eq!(w.start % STRIDE, 0);
                    assert!(w.end == size || (w.end - w.start) % STRIDE == size % STRIDE, "{size} {a}..{b} {w:?}");
                    assert!(w.start <= (a * STRIDE).saturating_sub(48) && w.end >= (b * STRIDE + 48).min(size));
                }
            }
        }
    }

    #[test]
    fn a_plan_covers_every_cell_once_and_shares_the_cost() {
        let shapes = [shape(1, 512, 512, 0), shape(2, 256, 256, 8), shape(3, 171, 171, 8), shape(4, 128, 128, 8)];
        for parts in 1..=4 {
            let jobs = plan(&shapes, Architecture::Deep, Pooling::None, parts);
            assert_eq!(jobs.len(), parts);
            for (level, s) in shapes.iter().enumerate() {
                let mut rows: Vec<usize> =
                    jobs.iter().flatten().filter(|j| j.level == level).flat_map(|j| j.rows.clone()).collect();
                rows.sort();
                assert_eq!(rows, (0..s.rows()).collect::<Vec<_>>(), "level {level}, {parts} parts");
            }
            let cost = |j: &Job| {
                let s = &shapes[j.level];
                Architecture::Deep.multiply_adds(s.input_height() * j.rows.len() / s.rows(), s.input_width()) as f64
            };
            let loads: Vec<f64> = jobs.iter().map(|p| p.iter().map(cost).sum()).collect();
            let (most, least) = loads.iter().fold((0f64, f64::MAX), |(m, l), &x| (m.max(x), l.min(x)));
            assert!(most / least < 1.25, "{parts} parts: loads {loads:?}");
        }
    }

    #[test]
    fn jobs_cross_as_triples_and_a_broken_list_is_an_error() {
        let jobs = vec![Job { level: 0, rows: 3..9 }, Job { level: 4, rows: 0..2 }];
        assert_eq!(Job::flatten(&jobs), [0, 3, 9, 4, 0, 2]);
        assert_eq!(Job::from_flat(&Job::flatten(&jobs)).unwrap(), jobs);
        assert!(Job::from_flat(&[0, 3]).unwrap_err().to_string().contains("triples"));
    }

    #[test]
    fn splicing_a_rectangle_back_gives_the_whole() {
        let (rows, cols) = (5, 7);
        let whole: Vec<f32> = (0..CLASSES * rows * cols).map(|i| i as f32).collect();
        let rect = Cells { rows: 1..4, cols: 2..6 };
        let part = extract(&whole, rows, cols, &rect);
        assert_eq!(part.len(), rect.values());
        let mut copy = vec![0.0; whole.len()];
        splice(&mut copy, rows, cols, &rect, &part);
        for k in 0..CLASSES {
            for r in 0..rows {
                for c in 0..cols {
                    let i = (k * rows + r) * cols + c;
                    let inside = rect.rows.contains(&r) && rect.cols.contains(&c);
                    assert_eq!(copy[i], if inside { whole[i] } else { 0.0 });
                }
            }
        }
    }

    #[test]
    fn the_changed_rectangle_bounds_every_difference() {
        let a = GrayImage::blank(20, 10);
        assert_eq!(changed(&a, &a), None);
        let mut b = a.clone();
        b.pixels[3 * 20 + 15] = 1.0;
        b.pixels[6 * 20 + 4] = 0.5;
        assert_eq!(changed(&a, &b), Some((3..7, 4..16)));
    }
}
