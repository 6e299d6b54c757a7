//! The FCN's output: an 11-class probability map at stride 8, with its pixel geometry.

use crate::network::{BACKGROUND, CLASSES, STRIDE};

/// Class probabilities per cell, class-major (`probs[class * rows * cols + row * cols + col]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// Input width in pixels.
    pub width: usize,
    /// Input height in pixels.
    pub height: usize,
    /// Cell rows (`ceil(height / 8)`).
    pub rows: usize,
    /// Cell columns (`ceil(width / 8)`).
    pub cols: usize,
    /// Pixel x of the centre of the window of column 0 (see [`crate::network::cell_centre`]).
    pub origin_x: f32,
    /// Pixel y of the centre of the window of row 0.
    pub origin_y: f32,
    /// `11 × rows × cols` probabilities.
    pub probs: Vec<f32>,
}

impl Heatmap {
    /// Pixels between neighbouring cells.
    pub const STRIDE: usize = STRIDE;

    /// Probability of `class` at (`row`, `col`).
    pub fn prob(&self, class: usize, row: usize, col: usize) -> f32 {
        self.probs[(class * self.rows + row) * self.cols + col]
    }

    /// The most probable class of a cell and its probability.
    pub fn argmax(&self, row: usize, col: usize) -> (usize, f32) {
        (0..CLASSES)
            .map(|k| (k, self.prob(k, row, col)))
            .fold((BACKGROUND, f32::MIN), |best, cur| if cur.1 > best.1 { cur } else { best })
    }

    /// Argmax class of every cell, row-major.
    pub fn classes(&self) -> Vec<u8> {
        (0..self.rows)
            .flat_map(|r| (0..self.cols).map(move |c| (r, c)))
            .map(|(r, c)| self.argmax(r, c).0 as u8)
            .collect()
    }

    /// Pixel centre (x, y) of the window a cell sees.
    pub fn cell_centre(&self, row: usize, col: usize) -> (f32, f32) {
        (self.origin_x + (col * STRIDE) as f32, self.origin_y + (row * STRIDE) as f32)
    }

    /// Objectness of a cell: 1 − P(background).
    pub fn objectness(&self, row: usize, col: usize) -> f32 {
        1.0 - self.prob(BACKGROUND, row, col)
    }

    /// Merges a heatmap of the same image downscaled by `factor`: every cell takes the
    /// probabilities of the coarse cell whose window centre is nearest (in input pixels) when
    /// that cell's objectness is higher than its own.
    pub fn overlay(&mut self, coarse: &Heatmap, factor: usize) {
        self.overlay_all(&[(coarse, factor)]);
    }

    /// [`Heatmap::overlay`] of each of `coarse` (heatmaps and their factors) in turn, in one
    /// pass: each cell's probabilities are copied once, from the first of the most sure cells.
    pub fn overlay_all(&mut self, coarse: &[(&Heatmap, usize)]) {
        let plane = self.rows * self.cols;
        // Each cell's objectness so far, and where its probabilities come from (0: itself;
        // level `l + 1`, that level's cell).
        let mut sure: Vec<f32> = self.probs[BACKGROUND * plane..][..plane].iter().map(|p| 1.0 - p).collect();
        let mut from: Vec<(usize, usize)> = vec![(0, 0); plane];
        for (l, &(coarse, factor)) in coarse.iter().enumerate() {
            let f = factor as f32;
            // Input pixel p is at coarse coordinate (p − (f − 1)/2) / f; the nearest coarse cell
            // of each row and of each column (a cell's centre is its row's and its column's).
            let nearest = |p: f32, origin: f32, n: usize| {
                (((p - (f - 1.0) / 2.0) / f - origin) / STRIDE as f32).round().clamp(0.0, (n - 1) as f32) as usize
            };
            let rows: Vec<usize> =
                (0..self.rows).map(|r| nearest(self.cell_centre(r, 0).1, coarse.origin_y, coarse.rows)).collect();
            let cols: Vec<usize> =
                (0..self.cols).map(|c| nearest(self.cell_centre(0, c).0, coarse.origin_x, coarse.cols)).collect();
            let background = &coarse.probs[BACKGROUND * coarse.rows * coarse.cols..];
            for (r, &cr) in rows.iter().enumerate() {
                for (c, &cc) in cols.iter().enumerate() {
                    let (i, j) = (r * self.cols + c, cr * coarse.cols + cc);
                    let objectness = 1.0 - background[j];
                    if objectness > sure[i] {
                        sure[i] = objectness;
                        from[i] = (l + 1, j);
                    }
                }
            }
        }
        for k in 0..CLASSES {
            for (i, &(l, j)) in from.iter().enumerate() {
                if l > 0 {
                    let coarse = coarse[l - 1].0;
                    self.probs[k * plane + i] = coarse.probs[k * coarse.rows * coarse.cols + j];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uniform(rows: usize, cols: usize, origin: f32, digit: usize, p: f32) -> Heatmap {
        let plane = rows * cols;
        let mut probs = vec![0.0; CLASSES * plane];
        probs[BACKGROUND * plane..].fill(1.0 - p);
        probs[digit * plane..(digit + 1) * plane].fill(p);
        Heatmap { width: cols * 8, height: rows * 8, rows, cols, origin_x: origin, origin_y: origin, probs }
    }

    #[test]
    fn an_overlay_takes_the_coarse_cell_only_where_it_is_surer() {
        // Fine: a 3 at 0.6 everywhere. A coarse level at ½ that is surer (a 7 at 0.9) wins every
        // cell; one less sure (a 7 at 0.4) changes nothing.
        let mut fine = uniform(4, 4, 11.5, 3, 0.6);
        let before = fine.clone();
        fine.overlay(&uniform(2, 2, 11.5, 7, 0.4), 2);
        assert_eq!(fine, before);
        fine.overlay(&uniform(2, 2, 11.5, 7, 0.9), 2);
        assert!((0..4).all(|r| (0..4).all(|c| fine.argmax(r, c) == (7, 0.9))));
    }

    #[test]
    fn an_overlay_picks_the_nearest_coarse_cell() {
        // Coarse cells differ: the left column says 1, the right 2. Fine cells map to the coarse
        // cell whose window centre is nearest in input pixels.
        let mut coarse = uniform(2, 2, 11.5, 1, 0.9);
        let plane = 4;
        for r in 0..2 {
            coarse.probs[plane + r * 2 + 1] = 0.0;
            coarse.probs[2 * plane + r * 2 + 1] = 0.9;
        }
        let mut fine = uniform(4, 4, 11.5, 3, 0.1);
        fine.overlay(&coarse, 2);
        // Fine column c is at x = 11.5 + 8c; in coarse pixels (x − 0.5)/2 = 5.5 + 4c, nearest coarse
        // column round((5.5 + 4c − 11.5)/8): 0 for c ≤ 2, 1 for c = 3.
        let columns: Vec<usize> = (0..4).map(|c| fine.argmax(0, c).0).collect();
        assert_eq!(columns, [1, 1, 1, 2]);
    }

    #[test]
    fn overlays_in_one_pass_equal_overlays_one_after_another() {
        // Levels at ½, ⅓ and ¼ of varied probabilities (ties between them included) over a
        // 12×10 map: laid over all at once, bit for bit the same as one at a time.
        let mut seed = 7u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            ((seed >> 16) % 8) as f32 / 8.0
        };
        let mut random = |rows: usize, cols: usize, origin: f32| {
            let mut map = uniform(rows, cols, origin, 0, 0.0);
            map.probs.iter_mut().for_each(|p| *p = next());
            map
        };
        let mut fine = random(10, 12, 11.5);
        let levels = [(random(5, 6, 11.5), 2), (random(4, 4, 15.5), 3), (random(3, 3, 11.5), 4)];
        let mut one_by_one = fine.clone();
        for (level, factor) in &levels {
            one_by_one.overlay(level, *factor);
        }
        assert_ne!(one_by_one, fine);
        fine.overlay_all(&levels.iter().map(|(level, factor)| (level, *factor)).collect::<Vec<_>>());
        assert!(fine.probs.iter().zip(&one_by_one.probs).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
