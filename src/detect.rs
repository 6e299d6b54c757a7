//! Decoding a heatmap into detections — one implementation, shared by the CLI, the wasm module
//! and the trainer's evaluation.

use serde::{Deserialize, Serialize};

use crate::heatmap::Heatmap;
use crate::network::{BACKGROUND, INPUT_SIDE};
use crate::verify::VerifyOptions;

/// One found digit: `(x, y)` is its centre in input pixels, `w`×`h` its box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// The digit, 0–9.
    pub digit: u8,
    /// Confidence in [0, 1].
    pub score: f32,
    /// Centre x in input pixels.
    pub x: f32,
    /// Centre y in input pixels.
    pub y: f32,
    /// Box width in pixels.
    pub w: f32,
    /// Box height in pixels.
    pub h: f32,
}

/// How cells become detections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decoding {
    /// Local maxima of objectness (1 − P(background)), class by a 3×3 vote, non-maximum
    /// suppression by distance.
    Peaks,
    /// The notebook's reading: connected components of non-background cells.
    Components,
}

impl crate::Named for Decoding {
    const WHAT: &'static str = "decoding";
}

/// Knobs of the decoding.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DecodeOptions {
    /// Which decoding.
    pub method: Decoding,
    /// Cells (or components) below this objectness are background.
    pub min_objectness: f32,
    /// Detections below this score are dropped.
    pub min_score: f32,
    /// A detection whose centre is closer to a better one than this fraction of the larger
    /// box's width is suppressed (0.45 × 28 px ≈ 12.6 px at native scale).
    pub nms_fraction: f32,
    /// The second look at each detection ([`crate::verify`]), and its thresholds; `None`: the
    /// heatmap's reading as it is.
    pub verify: Option<VerifyOptions>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            method: Decoding::Peaks,
            min_objectness: 0.4,
            min_score: 0.25,
            nms_fraction: 0.45,
            verify: Some(VerifyOptions::default()),
        }
    }
}

/// Decodes a heatmap (of an image at its own size) with `options`; detections come sorted by
/// decreasing score.
pub fn decode(heatmap: &Heatmap, options: &DecodeOptions) -> Vec<Detection> {
    decode_level(heatmap, options, 1)
}

/// [`decode`] for a pyramid level shrunk `factor` times: from [`SPLIT_FROM`] on, neighbouring
/// cells sure of different digits are two digits' (see [`SURE`]).
pub fn decode_level(heatmap: &Heatmap, options: &DecodeOptions, factor: usize) -> Vec<Detection> {
    let mut detections = match options.method {
        Decoding::Peaks => peaks(heatmap, options, factor >= SPLIT_FROM),
        Decoding::Components => components(heatmap, options),
    };
    detections.retain(|d| d.score >= options.min_score);
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    detections
}

/// In-bounds cells of the 3×3 neighbourhood of (`row`, `col`), itself included.
fn neighbours(heatmap: &Heatmap, row: usize, col: usize) -> impl Iterator<Item = (usize, usize)> {
    let (rows, cols) = (heatmap.rows, heatmap.cols);
    (row.saturating_sub(1)..(row + 2).min(rows))
        .flat_map(move |r| (col.saturating_sub(1)..(col + 2).min(cols)).map(move |c| (r, c)))
}

/// A detection from a group of cells: digit by summed probability, centre by objectness-weighted
/// mean, score = `level` (an objectness) × the digit's share of the cells' digit probabilities.
fn detection(heatmap: &Heatmap, cells: &[(usize, usize)], level: f32) -> Option<Detection> {
    let digit = (0..BACKGROUND)
        .map(|k| (k, cells.iter().map(|&(r, c)| heatmap.prob(k, r, c)).sum::<f32>()))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let (mut sx, mut sy, mut so) = (0.0f32, 0.0f32, 0.0f32);
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for &(r, c) in cells {
        let o = heatmap.objectness(r, c);
        let (x, y) = heatmap.cell_centre(r, c);
        sx += o * x;
        sy += o * y;
        so += o;
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    if so <= 0.0 {
        return None;
    }
    let (cx, cy) = (sx / so, sy / so);
    // The box: the cells' spread, never narrower than one training window, clipped to the image.
    let half = INPUT_SIDE as f32 / 2.0;
    let (bx0, by0) = ((x0.min(cx - half)).max(0.0), (y0.min(cy - half)).max(0.0));
    let bx1 = x1.max(cx + half).min(heatmap.width as f32);
    let by1 = y1.max(cy + half).min(heatmap.height as f32);
    Some(Detection {
        digit: digit.0 as u8,
        score: (level * digit.1 / so.max(digit.1)).clamp(0.0, 1.0),
        x: cx,
        y: cy,
        w: bx1 - bx0,
        h: by1 - by0,
    })
}

/// A cell is sure of its digit when that digit holds at least this share of its objectness. At
/// a coarse level ([`SPLIT_FROM`] on), of two neighbouring cells sure of different digits,
/// neither makes the other less of a peak, nor votes on its digit: two digits drawn side by side
/// are a cell or two apart there, and a large digit's cells used to swallow its neighbour's peak.
/// On `make scenes` (500 a set, with the duplicates this brings dropped after the second look):
/// pad F1 0.933 → 0.936 (recall by height 0.922 / 0.953 / 0.943 / 0.882 → 0.922 / 0.947 / 0.951
/// / 0.892), hands 0.916 → 0.919, multi-scale 0.985 → 0.986, negatives' false detections 0.078 →
/// 0.080, the other sets unchanged. At every level (300 a set): pad 0.946 but multi-scale 0.986
/// → 0.985, and the notebook's deep net (noisy neighbouring cells at the image's size) 0.963 →
/// 0.87 on seed-like; any two digits, sure or not: negatives 0.100; a share of 0.85: no gain.
pub const SURE: f32 = 0.6;

/// The first pyramid factor at which [`SURE`] cells split (see [`decode_level`]).
pub const SPLIT_FROM: usize = 2;

/// The digit a cell reads most (background aside).
fn digit_at(heatmap: &Heatmap, row: usize, col: usize) -> usize {
    (0..BACKGROUND).max_by(|&a, &b| heatmap.prob(a, row, col).total_cmp(&heatmap.prob(b, row, col))).unwrap_or(0)
}

fn peaks(heatmap: &Heatmap, options: &DecodeOptions, split: bool) -> Vec<Detection> {
    let mut found = Vec::new();
    for r in 0..heatmap.rows {
        for c in 0..heatmap.cols {
            let o = heatmap.objectness(r, c);
            if o < options.min_objectness {
                continue;
            }
            // A peak: no neighbour of the same digit is higher, and equal ones earlier in raster
            // order lose. Where `split`, a neighbour sure of another digit while this cell is sure
            // of its own is another digit's cell (see [`SURE`]).
            let digit = digit_at(heatmap, r, c);
            let sure =
                |k: usize, row: usize, col: usize| heatmap.prob(k, row, col) >= SURE * heatmap.objectness(row, col);
            let same = |&(nr, nc): &(usize, usize)| {
                let other = digit_at(heatmap, nr, nc);
                other == digit || !(split && sure(digit, r, c) && sure(other, nr, nc))
            };
            let is_peak = neighbours(heatmap, r, c).filter(same).all(|(nr, nc)| {
                let n = heatmap.objectness(nr, nc);
                n < o || (n == o && (nr, nc) >= (r, c))
            });
            if !is_peak {
                continue;
            }
            let cells: Vec<(usize, usize)> = neighbours(heatmap, r, c)
                .filter(same)
                .filter(|&(nr, nc)| heatmap.objectness(nr, nc) >= options.min_objectness / 2.0)
                .collect();
            found.extend(detection(heatmap, &cells, o));
        }
    }
    suppress(found, options.nms_fraction)
}

/// How near (times the NMS fraction) two detections' centres may be before the weaker goes: the
/// larger box's width, or 0.7 of it where one box is 3× the other or more and the smaller one is
/// sure of itself (score ≥ 0.5): levels far apart, a small digit written beside a large one, not
/// a weak reading of a part of it. Measured on `make scenes` (300 a set): the `pad` set's F1
/// 0.862 → 0.865, recall of its 160–320-px digits 0.69 → 0.71, the other sets unchanged.
fn reach(a: &Detection, b: &Detection) -> f32 {
    let (big, small) = if a.w >= b.w { (a, b) } else { (b, a) };
    if big.w >= 3.0 * small.w && small.score >= 0.5 { 0.7 * big.w } else { big.w }
}

/// Greedy non-maximum suppression by centre distance, relative to the larger box's width (see
/// `reach`).
pub fn suppress(mut detections: Vec<Detection>, fraction: f32) -> Vec<Detection> {
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for d in detections {
        if kept.iter().all(|k| (k.x - d.x).hypot(k.y - d.y) >= fraction * reach(k, &d)) {
            kept.push(d);
        }
    }
    kept
}

fn components(heatmap: &Heatmap, options: &DecodeOptions) -> Vec<Detection> {
    let (rows, cols) = (heatmap.rows, heatmap.cols);
    let foreground: Vec<bool> = (0..rows * cols).map(|i| heatmap.argmax(i / cols, i % cols).0 != BACKGROUND).collect();
    let mut seen = vec![false; rows * cols];
    let mut found = Vec::new();
    for start in 0..rows * cols {
        if !foreground[start] || seen[start] {
            continue;
        }
        let mut cells = Vec::new();
        let mut stack = vec![start];
        seen[start] = true;
        while let Some(i) = stack.pop() {
            let (r, c) = (i / cols, i % cols);
            cells.push((r, c));
            for (nr, nc) in neighbours(heatmap, r, c) {
                let j = nr * cols + nc;
                if foreground[j] && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        let mean = cells.iter().map(|&(r, c)| heatmap.objectness(r, c)).sum::<f32>() / cells.len() as f32;
        if mean >= options.min_objectness {
            found.extend(detection(heatmap, &cells, mean));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::CLASSES;

    /// A `rows`×`cols` heatmap (cells 8 px apart from (12, 12)), background everywhere except
    /// the listed cells: (row, col, digit, probability), background taking the rest.
    pub(crate) fn heatmap(rows: usize, cols: usize, cells: &[(usize, usize, usize, f32)]) -> Heatmap {
        let plane = rows * cols;
        let mut probs = vec![0.0; CLASSES * plane];
        probs[BACKGROUND * plane..].fill(1.0);
        for &(r, c, digit, p) in cells {
            probs[digit * plane + r * cols + c] += p;
            probs[BACKGROUND * plane + r * cols + c] -= p;
        }
        Heatmap { width: cols * 8 + 16, height: rows * 8 + 16, rows, cols, origin_x: 12.0, origin_y: 12.0, probs }
    }

    fn peaks_default() -> DecodeOptions {
        DecodeOptions::default()
    }

    #[test]
    fn one_confident_cell_is_one_detection_centred_on_it_with_a_window_sized_box() {
        let found = decode(&heatmap(6, 8, &[(2, 3, 7, 0.9)]), &peaks_default());
        assert_eq!(found.len(), 1);
        let d = &found[0];
        assert_eq!((d.digit, d.x, d.y), (7, 12.0 + 24.0, 12.0 + 16.0));
        assert!((d.score - 0.9).abs() < 1e-6, "score = objectness × the digit's whole share: {}", d.score);
        assert_eq!((d.w, d.h), (28.0, 28.0), "one training window");
    }

    #[test]
    fn cells_below_the_objectness_bar_are_background() {
        assert!(decode(&heatmap(6, 8, &[(2, 3, 4, 0.39)]), &peaks_default()).is_empty());
        assert_eq!(decode(&heatmap(6, 8, &[(2, 3, 4, 0.41)]), &peaks_default()).len(), 1);
    }

    #[test]
    fn two_equal_neighbours_give_one_peak_centred_between_them() {
        let found = decode(&heatmap(6, 8, &[(2, 3, 5, 0.8), (2, 4, 5, 0.8)]), &peaks_default());
        assert_eq!(found.len(), 1, "a tie is not two peaks: {found:?}");
        assert_eq!((found[0].x, found[0].y), (12.0 + 28.0, 12.0 + 16.0));
    }

    #[test]
    fn the_digit_is_voted_over_the_neighbourhood_not_taken_from_the_peak_alone() {
        // The peak leans to 1 (0.35 of its 0.6, not sure); two neighbours say 7 (0.35 and 0.2
        // for 1 each): 7 wins, 0.95 to 0.75, and the score is the peak's objectness times 7's
        // share of the digit probability.
        let cells =
            [(2, 3, 1, 0.35), (2, 3, 7, 0.25), (2, 4, 7, 0.35), (2, 4, 1, 0.2), (3, 3, 7, 0.35), (3, 3, 1, 0.2)];
        let found = decode(&heatmap(6, 8, &cells), &peaks_default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].digit, 7);
        assert!((found[0].score - 0.6 * 0.95 / 1.7).abs() < 1e-6, "{}", found[0].score);
        // Neighbours below half the bar take no part.
        let found = decode(&heatmap(6, 8, &[(2, 3, 1, 0.6), (2, 4, 7, 0.2), (3, 3, 7, 0.2)]), &peaks_default());
        assert_eq!(found[0].digit, 1);
        assert_eq!((found[0].x, found[0].y), (36.0, 28.0));
    }

    #[test]
    fn neighbouring_cells_sure_of_different_digits_are_two_digits() {
        // An 8 over cells (2, 2) and (2, 3), a 1 over (2, 4) and (2, 5): the 1's best cell is
        // below the 8's next to it, and still a peak of its own; the two are 15.5 px apart.
        let cells = [(2, 2, 8, 0.9), (2, 3, 8, 0.8), (2, 4, 1, 0.7), (2, 5, 1, 0.5)];
        let found = decode_level(&heatmap(6, 8, &cells), &peaks_default(), SPLIT_FROM);
        assert_eq!(found.iter().map(|d| d.digit).collect::<Vec<_>>(), [8, 1], "{found:?}");
        assert!(
            (found[0].x - (12.0 + 8.0 * 4.2 / 1.7)).abs() < 1e-4
                && (found[1].x - (12.0 + 8.0 * 5.3 / 1.2)).abs() < 1e-4
        );
        // Where the cell beside the 1 is not sure of its 8 (the 1 holds 0.35 of its 0.8), it
        // is the same drawing's: one detection.
        let unsure = [(2, 2, 8, 0.9), (2, 3, 8, 0.45), (2, 3, 1, 0.35), (2, 4, 1, 0.7), (2, 5, 1, 0.5)];
        assert_eq!(decode_level(&heatmap(6, 8, &unsure), &peaks_default(), SPLIT_FROM).len(), 1);
        // At the image's own size (digits there are two cells or more apart): one detection.
        assert_eq!(decode(&heatmap(6, 8, &cells), &peaks_default()).len(), 1);
    }

    #[test]
    fn distant_peaks_are_separate_detections_sorted_by_score_and_weak_ones_dropped() {
        let map = heatmap(6, 12, &[(1, 1, 2, 0.7), (4, 9, 3, 0.95)]);
        let found = decode(&map, &peaks_default());
        assert_eq!(found.iter().map(|d| d.digit).collect::<Vec<_>>(), [3, 2], "best first");
        let strict = DecodeOptions { min_score: 0.8, ..peaks_default() };
        assert_eq!(decode(&map, &strict).iter().map(|d| d.digit).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn suppression_keeps_the_better_of_two_close_detections_only() {
        let d = |x: f32, score: f32| Detection { digit: 1, score, x, y: 40.0, w: 28.0, h: 28.0 };
        // 0.45 × 28 = 12.6 px: 10 px apart is one digit, 13 px apart two.
        let kept = suppress(vec![d(40.0, 0.6), d(50.0, 0.9)], 0.45);
        assert_eq!(kept, [d(50.0, 0.9)]);
        assert_eq!(suppress(vec![d(40.0, 0.6), d(53.0, 0.9)], 0.45).len(), 2);
        // Relative to the larger box: a 56-px box suppresses within 25.2 px.
        let big = Detection { w: 56.0, ..d(60.0, 0.95) };
        assert_eq!(suppress(vec![d(40.0, 0.6), big.clone()], 0.45), [big]);
    }

    #[test]
    fn components_read_one_connected_blob_as_one_digit() {
        let options = DecodeOptions { method: Decoding::Components, ..peaks_default() };
        let blob = [(2, 2, 8, 0.9), (2, 3, 8, 0.8), (3, 2, 8, 0.7), (3, 3, 0, 0.6)];
        let found = decode(&heatmap(6, 8, &blob), &options);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].digit, 8);
        // Two blobs apart (no 8-neighbourhood contact) are two digits.
        let found = decode(&heatmap(6, 8, &[(0, 0, 4, 0.9), (4, 6, 9, 0.9)]), &options);
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn a_small_digit_beside_a_large_one_survives_suppression_but_a_part_inside_does_not() {
        let d = |x: f32, w: f32, score: f32, digit: u8| Detection { digit, score, x, y: 200.0, w, h: w };
        // A 448-px 0 (weaker) with a 112-px 2 beside it, 160 px from its centre: both stay.
        let kept = suppress(vec![d(200.0, 448.0, 0.6, 0), d(360.0, 112.0, 0.9, 2)], 0.45);
        assert_eq!(kept.iter().map(|k| k.digit).collect::<Vec<_>>(), [2, 0]);
        // The same 2 near the 0's centre is taken for a part of it: the surer one stays.
        let kept = suppress(vec![d(200.0, 448.0, 0.6, 0), d(240.0, 112.0, 0.9, 2)], 0.45);
        assert_eq!(kept.iter().map(|k| k.digit).collect::<Vec<_>>(), [2]);
        // A weak small reading beside the 0 is taken for a part of it.
        let kept = suppress(vec![d(200.0, 448.0, 0.6, 0), d(360.0, 112.0, 0.4, 1)], 0.45);
        assert_eq!(kept.iter().map(|k| k.digit).collect::<Vec<_>>(), [0]);
        // Boxes of like size: the larger one's width, as before.
        let kept = suppress(vec![d(200.0, 200.0, 0.6, 0), d(280.0, 112.0, 0.9, 2)], 0.45);
        assert_eq!(kept.len(), 1);
    }
}
