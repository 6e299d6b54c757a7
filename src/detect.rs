//! Decoding a heatmap into detections — one implementation, shared by the CLI, the wasm module
//! and the trainer's evaluation.

use serde::{Deserialize, Serialize};

use crate::heatmap::Heatmap;
use crate::network::{BACKGROUND, INPUT_SIDE};

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
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self { method: Decoding::Peaks, min_objectness: 0.5, min_score: 0.3, nms_fraction: 0.45 }
    }
}

/// Decodes a heatmap with `options`; detections come sorted by decreasing score.
pub fn decode(heatmap: &Heatmap, options: &DecodeOptions) -> Vec<Detection> {
    let mut detections = match options.method {
        Decoding::Peaks => peaks(heatmap, options),
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

fn peaks(heatmap: &Heatmap, options: &DecodeOptions) -> Vec<Detection> {
    let mut found = Vec::new();
    for r in 0..heatmap.rows {
        for c in 0..heatmap.cols {
            let o = heatmap.objectness(r, c);
            if o < options.min_objectness {
                continue;
            }
            // A peak: no neighbour is higher, and equal neighbours earlier in raster order lose.
            let is_peak = neighbours(heatmap, r, c).all(|(nr, nc)| {
                let n = heatmap.objectness(nr, nc);
                n < o || (n == o && (nr, nc) >= (r, c))
            });
            if !is_peak {
                continue;
            }
            let cells: Vec<(usize, usize)> = neighbours(heatmap, r, c)
                .filter(|&(nr, nc)| heatmap.objectness(nr, nc) >= options.min_objectness / 2.0)
                .collect();
            found.extend(detection(heatmap, &cells, o));
        }
    }
    suppress(found, options.nms_fraction)
}

/// Greedy non-maximum suppression by centre distance, relative to the larger box's width.
pub fn suppress(mut detections: Vec<Detection>, fraction: f32) -> Vec<Detection> {
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for d in detections {
        if kept.iter().all(|k| (k.x - d.x).hypot(k.y - d.y) >= fraction * k.w.max(d.w)) {
            kept.push(d);
        }
    }
    kept
}

fn components(heatmap: &Heatmap, options: &DecodeOptions) -> Vec<Detection> {
    let (rows, cols) = (heatmap.rows, heatmap.cols);
    let foreground: Vec<bool> = (0..rows * cols)
        .map(|i| heatmap.argmax(i / cols, i % cols).0 != BACKGROUND)
        .collect();
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
