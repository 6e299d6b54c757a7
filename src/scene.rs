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
pub const NOTEBOOK_COMPOSITE: [(usize, usize, usize); 7] =
    [(12, 6, 15), (40, 30, 14), (15, 45, 13), (5, 75, 12), (45, 90, 11), (89, 70, 9), (80, 25, 6)];

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
            truths.push(Truth { digit: label(index), x0: col + x0, y0: row + y0, x1: col + x1, y1: row + y1 });
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

/// What became of one ground-truth digit of a scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// A detection of its class matched it.
    Found,
    /// No detection of its class did, but one of another class (the digit it carries) has its
    /// centre in the digit's box: the digit was located and misread.
    ReadAs(u8),
    /// Nothing was detected on it.
    Missed,
}

/// Whether a detection's centre lies in a digit's tight box grown by [`MATCH_MARGIN`].
fn centre_in(d: &Detection, t: &Truth) -> bool {
    d.x >= t.x0 as f32 - MATCH_MARGIN
        && d.x <= t.x1 as f32 + MATCH_MARGIN
        && d.y >= t.y0 as f32 - MATCH_MARGIN
        && d.y <= t.y1 as f32 + MATCH_MARGIN
}

/// Scores one scene: greedily by score, a detection matches an unmatched digit of the same class
/// whose tight box (grown by [`MATCH_MARGIN`]) contains its centre.
pub fn score(detections: &[Detection], truths: &[Truth]) -> Score {
    assess(detections, truths).0
}

/// [`score`], and what became of each digit (in the order of `truths`): found, read as another
/// digit (an unmatched detection of another class, the best-scoring one, has its centre in the
/// digit's box; each such detection explains one digit), or missed.
pub fn assess(detections: &[Detection], truths: &[Truth]) -> (Score, Vec<Outcome>) {
    let mut order: Vec<&Detection> = detections.iter().collect();
    order.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut matched = vec![false; truths.len()];
    let mut unmatched: Vec<&Detection> = Vec::new();
    let mut s = Score { images: 1, ..Score::default() };
    for d in order {
        let hit = truths.iter().enumerate().position(|(i, t)| !matched[i] && t.digit == d.digit && centre_in(d, t));
        match hit {
            Some(i) => {
                matched[i] = true;
                s.true_positives += 1;
            }
            None => {
                s.false_positives += 1;
                unmatched.push(d);
            }
        }
    }
    s.false_negatives = matched.iter().filter(|m| !**m).count();
    let mut used = vec![false; unmatched.len()];
    let outcomes = truths
        .iter()
        .zip(&matched)
        .map(|(t, &found)| {
            if found {
                return Outcome::Found;
            }
            // `unmatched` is in decreasing score order: the first free one inside is the best.
            match (0..unmatched.len()).find(|&j| !used[j] && centre_in(unmatched[j], t)) {
                Some(j) => {
                    used[j] = true;
                    Outcome::ReadAs(unmatched[j].digit)
                }
                None => Outcome::Missed,
            }
        })
        .collect();
    (s, outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(digit: u8, score: f32, x: f32, y: f32) -> Detection {
        Detection { digit, score, x, y, w: 28.0, h: 28.0 }
    }

    #[test]
    fn assess_tells_found_misread_and_missed_apart() {
        let truths = [
            Truth { digit: 3, x0: 0, y0: 0, x1: 20, y1: 20 },
            Truth { digit: 6, x0: 40, y0: 0, x1: 60, y1: 20 },
            Truth { digit: 1, x0: 80, y0: 0, x1: 100, y1: 20 },
        ];
        // A 3 found; the 6 read as 0 (and a weaker 5 there too); nothing on the 1; a stray 7.
        let detections =
            [det(3, 0.9, 10.0, 10.0), det(0, 0.8, 50.0, 10.0), det(5, 0.4, 52.0, 12.0), det(7, 0.7, 200.0, 200.0)];
        let (s, outcomes) = assess(&detections, &truths);
        assert_eq!((s.true_positives, s.false_positives, s.false_negatives), (1, 3, 2));
        assert_eq!(outcomes, [Outcome::Found, Outcome::ReadAs(0), Outcome::Missed]);
        assert_eq!(score(&detections, &truths), s);
    }

    #[test]
    fn a_detection_just_outside_the_margin_does_not_match() {
        let truths = [Truth { digit: 2, x0: 10, y0: 10, x1: 30, y1: 30 }];
        let inside = det(2, 0.9, 30.0 + MATCH_MARGIN, 20.0);
        let outside = det(2, 0.9, 30.0 + MATCH_MARGIN + 0.01, 20.0);
        assert_eq!(assess(&[inside], &truths).1, [Outcome::Found]);
        assert_eq!(assess(&[outside], &truths).1, [Outcome::Missed]);
    }
}
