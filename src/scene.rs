//! Scenes with ground truth, and the scoring rule shared by tests and benchmarks.

use serde::{Deserialize, Serialize};

use crate::detect::Detection;
use crate::image::GrayImage;

/// A digit in a scene: its class and tight box (inclusive pixel bounds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// The digit.
    pub digit: u8,
    /// Left column.
    pub x0: usize,
    /// Top row.
    pub y0: usize,
    /// Right column (inclusive).
    pub x1: usize,
    /// Bottom row (inclusive).
    pub y1: usize,
}

/// The notebook's composite: `(row, col, index into the MNIST test set)`, pasted in this order
/// into a 128×128 black image (later pastes overwrite earlier ones).
pub const NOTEBOOK_COMPOSITE: [(usize, usize, usize); 7] = [
    (12, 6, 15),
    (40, 30, 14),
    (15, 45, 13),
    (5, 75, 12),
    (45, 90, 11),
    (89, 70, 9),
    (80, 25, 6),
];

/// Side of the notebook's composite.
pub const NOTEBOOK_SIDE: usize = 128;

/// Tight box of the ink (> 0) of a `side`×`side` patch, if any.
pub fn tight_box(patch: &[u8], side: usize) -> Option<(usize, usize, usize, usize)> {
    let mut b: Option<(usize, usize, usize, usize)> = None;
    for (i, _) in patch.iter().enumerate().filter(|(_, v)| **v > 0) {
        let (x, y) = (i % side, i / side);
        b = Some(match b {
            None => (x, y, x, y),
            Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
        });
    }
    b
}

/// Builds the notebook's composite from the MNIST test images (`image(i)` gives 784 bytes).
pub fn notebook_composite<'a>(
    image: impl Fn(usize) -> &'a [u8],
    label: impl Fn(usize) -> u8,
) -> (GrayImage, Vec<Truth>) {
    let mut scene = GrayImage::blank(NOTEBOOK_SIDE, NOTEBOOK_SIDE);
    let mut truths = Vec::new();
    for &(row, col, index) in &NOTEBOOK_COMPOSITE {
        let patch = image(index);
        scene.paste_u8(patch, 28, col, row);
        if let Some((x0, y0, x1, y1)) = tight_box(patch, 28) {
            truths.push(Truth {
                digit: label(index),
                x0: col + x0,
                y0: row + y0,
                x1: col + x1,
                y1: row + y1,
            });
        }
    }
    (scene, truths)
}

/// Match counts of one or more scenes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Detections that matched a digit.
    pub true_positives: usize,
    /// Detections that matched nothing.
    pub false_positives: usize,
    /// Digits no detection matched.
    pub false_negatives: usize,
    /// Scenes scored.
    pub images: usize,
}

impl Score {
    /// Adds another score.
    pub fn add(&mut self, other: Score) {
        self.true_positives += other.true_positives;
        self.false_positives += other.false_positives;
        self.false_negatives += other.false_negatives;
        self.images += other.images;
    }

    /// TP / (TP + FP), 1 when nothing was detected.
    pub fn precision(&self) -> f64 {
        let d = self.true_positives + self.false_positives;
        if d == 0 { 1.0 } else { self.true_positives as f64 / d as f64 }
    }

    /// TP / (TP + FN), 1 when there was nothing to find.
    pub fn recall(&self) -> f64 {
        let d = self.true_positives + self.false_negatives;
        if d == 0 { 1.0 } else { self.true_positives as f64 / d as f64 }
    }

    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }

    /// False positives per scene.
    pub fn false_positives_per_image(&self) -> f64 {
        if self.images == 0 { 0.0 } else { self.false_positives as f64 / self.images as f64 }
    }
}

/// Margin, in pixels, around a digit's tight box within which a detection's centre must fall.
pub const MATCH_MARGIN: f32 = 2.0;

/// Scores one scene: greedily by score, a detection matches an unmatched digit of the same class
/// whose tight box (grown by [`MATCH_MARGIN`]) contains its centre.
pub fn score(detections: &[Detection], truths: &[Truth]) -> Score {
    let mut order: Vec<&Detection> = detections.iter().collect();
    order.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut matched = vec![false; truths.len()];
    let mut s = Score { images: 1, ..Score::default() };
    for d in order {
        let hit = truths.iter().enumerate().position(|(i, t)| {
            !matched[i]
                && t.digit == d.digit
                && d.x >= t.x0 as f32 - MATCH_MARGIN
                && d.x <= t.x1 as f32 + MATCH_MARGIN
                && d.y >= t.y0 as f32 - MATCH_MARGIN
                && d.y <= t.y1 as f32 + MATCH_MARGIN
        });
        match hit {
            Some(i) => {
                matched[i] = true;
                s.true_positives += 1;
            }
            None => s.false_positives += 1,
        }
    }
    s.false_negatives = matched.iter().filter(|m| !**m).count();
    s
}
