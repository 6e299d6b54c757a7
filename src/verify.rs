//! A second look at each detection. The heatmap locates digits well but reads each from a cell
//! whose window falls on it at whatever offset and scale the stride-8 grid and the pyramid's
//! levels give — the notebook's own verdict: "location is good but classification is not
//! always accurate". So the digit's own ink is cut out of the image and normalised, and the same
//! network reads it twice more:
//!
//! - as MNIST's digits were made (the ink's box scaled to fit 20×20, its centre of mass at the
//!   centre of 28×28), through the classifier (trunk, global max pool, head);
//! - as the scene training labels its cells (the same scaling, the box's centre on a cell of a
//!   48×48 canvas), through the FCN: that cell's background probability, trained against
//!   clutter, says whether the ink is a digit at all.
//!
//! The two readings' digit probabilities are averaged; the detection takes their digit, a box
//! tight around its ink, and the score √(heatmap score × the FCN cell's objectness). It is
//! dropped where that score or the objectness is low, and a 1 also where it scores under
//! [`VerifyOptions::min_score_one`] or leans like a slash ([`MAX_LEAN`]). A thin pen is thickened and a faint one
//! brought to full strength in both cut-outs ([`Downscale::Stroke`]), as at a pyramid level.
//!
//! A detection that is a piece of a larger drawing is dropped: where its strokes run on past its
//! window to more than twice its box ([`CutOut::part`]), or where, after the second look, its box
//! lies inside a much larger detection's ([`drop_pieces`]: a 5's detached bar, the loop of a
//! large 8 drawn in two strokes). The network was trained on these cut-outs too (the trainer's
//! `mine_looks`): what the heatmap proposes on generated scenes of MNIST **train** digits and on
//! clutter, cut out as here, labelled with the digit it holds or as background.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::detect::Detection;
use crate::image::{Downscale, GrayImage};
use crate::network::{BACKGROUND, CLASSES, STRIDE};

/// Side of the classifier's cut-out (MNIST's).
pub const SIDE: usize = 28;
/// Side of the FCN's cut-out: 6 cells, the digit on cell (2, 2), ink 12 px clear of every edge.
pub const CANVAS: usize = 48;
/// The cell of the FCN's cut-out that reads the digit (row and column).
pub const CELL: usize = 2;
/// The longer side of the digit's box in both cut-outs (MNIST's 20 px).
pub const BOX: f32 = 20.0;
/// Pixels at or above this are ink when the digit's strokes are traced.
pub const INK: f32 = 0.2;

/// Thresholds of the second look.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VerifyOptions {
    /// A detection whose √(heatmap score × objectness of its cut-out) is below this is dropped.
    pub min_score: f32,
    /// A detection whose cut-out's objectness (1 − P(background) of the FCN's cell) is below
    /// this is dropped.
    pub min_objectness: f32,
    /// A detection read as a 1 needs at least this score (instead of `min_score`): a lone
    /// straight stroke is the commonest mark that is not a digit (a line, an item's edge, a
    /// stroke the image's edge cuts short), and a 1 is nothing else. 0.6 (0.55 until stop 53):
    /// false detections on `make scenes`' negatives 0.038 → 0.032, and on scenes of two other
    /// seeds 0.052 → 0.044 and 0.048 → 0.046, every digit set's F1 within 0.001.
    pub min_score_one: f32,
    /// The image is a drawing: pen strokes on a blank pad, where a lone straight stroke within
    /// [`MAX_LEAN`] of upright is a 1 however the network reads it ([`as_drawn`]). Off for
    /// images (photos, scans, uploads), where such a stroke is as often a line or an edge.
    #[serde(default)]
    pub drawing: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self { min_score: 0.45, min_objectness: 0.3, min_score_one: 0.6, drawing: false }
    }
}

/// A detection's ink, cut out twice (see the module's text).
#[derive(Debug, Clone, PartialEq)]
pub struct CutOut {
    /// [`SIDE`]² with the ink's centre of mass in the middle: the classifier's input.
    pub mnist: GrayImage,
    /// [`CANVAS`]² with the ink box's centre on cell ([`CELL`], [`CELL`]): the FCN's input.
    pub canvas: GrayImage,
    /// The ink's box in image pixels: `[x0, y0, x1, y1]`, `x1` and `y1` exclusive.
    pub ink: [f32; 4],
    /// Whether the ink runs on far past the detection's box (see [`PART_HEIGHT`]): a piece of a
    /// larger drawing, dropped by [`combine`].
    pub part: bool,
    /// Whether strokes ran on past an edge of the window, so that [`CutOut::part`] was judged
    /// in the wider window of [`reads`].
    pub runs_on: bool,
    /// The fences it was cut out within ([`Fences`]): a cut-out depends on them as on its
    /// pixels.
    pub fences: Fences,
}

/// The centres (x, image pixels) of the nearest other detections written beside a detection in
/// its row, left and right ([`beside`]): where its strokes run on into a neighbour's (digits of
/// a number that touch), the cut-out stops between them ([`cut_out_within`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Beside {
    /// The nearest on the left.
    pub left: Option<f32>,
    /// The nearest on the right.
    pub right: Option<f32>,
}

/// The other detections of `all` written beside `detection` in its row: boxes of about its size
/// ([`BESIDE_ALIKE`]), centres within a third of the larger box's height up or down, at least
/// [`BESIDE_LEAST`] of the larger box's width and at most [`PART_WIDTH`] / 2 of `detection`'s
/// side across; the nearest on each side.
pub fn beside(detection: &Detection, all: &[Detection]) -> Beside {
    let mut out = Beside::default();
    for d in all.iter().filter(|d| stands_beside(detection, d)) {
        let dx = d.x - detection.x;
        let nearer = |o: Option<f32>| o.is_none_or(|x| (x - detection.x).abs() > dx.abs());
        if dx < 0.0 && nearer(out.left) {
            out.left = Some(d.x);
        } else if dx > 0.0 && nearer(out.right) {
            out.right = Some(d.x);
        }
    }
    out
}

/// Whether `d` is written beside `detection` in its row, as [`beside`] judges each of them (on
/// the left or the right, not at its very centre).
fn stands_beside(detection: &Detection, d: &Detection) -> bool {
    let side = detection.w.max(detection.h);
    let (dx, dy) = (d.x - detection.x, d.y - detection.y);
    let (h, w) = (detection.h.max(d.h), detection.w.max(d.w));
    let alike = d.w.max(d.h) <= BESIDE_ALIKE * side && side <= BESIDE_ALIKE * d.w.max(d.h);
    dx != 0.0 && alike && dy.abs() <= h / 3.0 && dx.abs() >= BESIDE_LEAST * w && dx.abs() <= 0.5 * PART_WIDTH * side
}

/// Digits of a number are written about one size: a neighbour's box side is at most this many
/// times the detection's, and at least its inverse ([`beside`]).
pub const BESIDE_ALIKE: f32 = 2.0;

/// How far apart (share of the larger box's width) two detections' centres are at least to be
/// two digits side by side ([`beside`]).
pub const BESIDE_LEAST: f32 = 0.3;

/// Strokes running on into a neighbour's are cut between them only where the ink is at least
/// this many times as wide as tall: two digits side by side, not one wide digit.
pub const BESIDE_WIDE: f32 = 1.2;

/// What the network reads in a cut-out: the classifier's and the FCN cell's 11 probabilities.
pub type Readings = ([f32; CLASSES], [f32; CLASSES]);

/// A detection as proposed, its cut-out, and what the network read in it: the classifier's and
/// the FCN cell's 11 probabilities.
pub type Reading = (Detection, CutOut, [f32; CLASSES], [f32; CLASSES]);

/// The pixels [`cut_out`] reads for `detection` in a `width`×`height` image: rows, then columns
/// (empty where it reads none). A cut-out whose window a change does not touch is the same again.
pub fn window(detection: &Detection, width: usize, height: usize) -> (Range<usize>, Range<usize>) {
    around(detection, 0.625 * detection.w.max(detection.h), width, height)
}

/// The pixels of a `width`×`height` image within `half` of `detection`'s centre (and one more
/// to the right and below): rows, then columns (empty where not finite).
fn around(detection: &Detection, half: f32, width: usize, height: usize) -> (Range<usize>, Range<usize>) {
    if !(half.is_finite() && detection.x.is_finite() && detection.y.is_finite()) {
        return (0..0, 0..0);
    }
    let clip = |v: f32, n: usize| (v.max(0.0) as usize).min(n);
    let (x0, x1) = (clip(detection.x - half, width), clip(detection.x + half + 1.0, width));
    let (y0, y1) = (clip(detection.y - half, height), clip(detection.y + half + 1.0, height));
    (y0..y1.max(y0), x0..x1.max(x0))
}

/// The pixels `cut` (made by [`cut_out`] for `detection` in a `width`×`height` image) depends
/// on: its [`window`], or where its strokes ran on past the window's edge, the wider window
/// in which they were judged a piece of a larger drawing or read whole ([`PART_WIDTH`]).
pub fn reads(detection: &Detection, cut: &CutOut, width: usize, height: usize) -> (Range<usize>, Range<usize>) {
    match cut.runs_on {
        false => window(detection, width, height),
        true => part_window(detection, width, height),
    }
}

/// Whether a change to the image's `rows` × `cols` reaches the pixels `cut` depends on
/// ([`reads`]): where it does not, [`cut_out`] would make the same cut-out again.
pub fn touches(
    detection: &Detection,
    cut: &CutOut,
    (width, height): (usize, usize),
    rows: &Range<usize>,
    cols: &Range<usize>,
) -> bool {
    let (r, c) = reads(detection, cut, width, height);
    meets((&r, &c), (rows, cols))
}

/// Whether two rectangles of pixels (rows, columns) share a pixel (an empty one meets none).
pub(crate) fn meets((r, c): (&Range<usize>, &Range<usize>), (rows, cols): (&Range<usize>, &Range<usize>)) -> bool {
    !(r.is_empty() || c.is_empty() || rows.is_empty() || cols.is_empty())
        && r.start < rows.end
        && rows.start < r.end
        && c.start < cols.end
        && cols.start < c.end
}

/// Pixel of the FCN canvas (continuous coordinates) where the ink box's centre goes: the centre
/// of cell [`CELL`] on a multiple-of-8 side without pooling (see [`crate::network::cell_centre`]).
const CANVAS_CENTRE: f32 = (STRIDE * CELL + STRIDE - 1) as f32 + 0.5;

/// The digit around `detection` in `image` (light ink on black, as the detector sees it), cut
/// out; `None` where no ink reaches the middle of its box.
///
/// Which ink is the digit's: the connected strokes (8-neighbourhood, pixels ≥ [`INK`]) inside a
/// window 1.25× the detection's box whose own boxes reach its middle fifth, then any other
/// stroke lying at least half inside their union (a 5's flag, a broken stroke). Strokes of a
/// neighbouring digit that merely enter the window are left out, as is everything else in it.
/// Where the strokes run on past the window's edge they are traced again in a window
/// [`PART_WIDTH`] box sides wide: reaching further than [`PART_HEIGHT`] sides down or
/// [`PART_WIDTH`] across, the detection is a piece of a larger drawing ([`CutOut::part`]);
/// ending within, the cut-out is made again around all of them (see [`reads`]).
pub fn cut_out(image: &GrayImage, detection: &Detection) -> Option<CutOut> {
    cut_out_within(image, detection, Fences::default())
}

/// Ink at least this many times as wide as tall that was read as no digit may be two digits
/// written touching, which neither the heatmap nor [`cut_out_within`] told apart: [`halves`]
/// (0.75 and 1.1 gave the `number` set the same F1 within 0.003).
pub const SPLIT_WIDE: f32 = 0.9;

/// A detection read as no digit whose FCN cell still gave it at least this objectness
/// (1 − P(background)) is looked at again as digits of a number written touching
/// ([`worth_another_look`]): two digits merged read as something like one (0.04–0.22 in the
/// `number` set's misses), a scribble as surely nothing. Without this bar, the browser
/// benchmark's pad of random strokes had its failing proposals cut in two at every live stroke:
/// natively 1.3× its time, for 0.004 of the `number` set's F1.
pub const SPLIT_OBJECTNESS: f32 = 0.02;

/// Whether a detection whose `cut` (not a piece of a larger drawing) was read as no digit, its
/// FCN cell's probabilities `fcn`, is looked at again: cut out fenced from its neighbours, or in
/// [`halves`] ([`SPLIT_OBJECTNESS`]).
pub fn worth_another_look(cut: &CutOut, fcn: &[f32; CLASSES]) -> bool {
    !cut.part && at_least(1.0 - fcn[BACKGROUND], SPLIT_OBJECTNESS)
}

/// Where `cut` (made for `detection`) is at least [`SPLIT_WIDE`] times as wide as tall and not a
/// piece of a larger drawing: its ink cut in two at the column of least ink in its middle
/// quarter, as two neighbours' would be ([`cut_out_within`]) — a detection at the middle of each
/// half (the height's side, or half the width where that is more) and the fences to cut it out
/// within ([`cut_out_within`]). `None` otherwise.
pub fn halves(detection: &Detection, cut: &CutOut) -> Option<[(Detection, Fences); 2]> {
    let [x0, y0, x1, y1] = cut.ink;
    let (w, h) = (x1 - x0, y1 - y0);
    if cut.part || !(w >= SPLIT_WIDE * h && h > 0.0) {
        return None;
    }
    let side = (w / 2.0).max(h);
    let at = |x: f32| Detection { x, y: (y0 + y1) / 2.0, w: side, h: side, ..*detection };
    let (l, r) = (x0 + 0.25 * w, x0 + 0.75 * w);
    let fences = |left, right| Fences { beside: Beside { left, right }, wide: SPLIT_WIDE, at: false };
    Some([(at(l), fences(None, Some(r))), (at(r), fences(Some(l), None))])
}

/// Ink read as one digit is looked at as two digits side by side ([`apart`]) where it is at least
/// this many times as wide as tall.
pub const APART_WIDE: f32 = 0.5;
/// ... where the ink on each side of the column it is cut at stands at least this share of the
/// whole's height: two digits of a number are written about one height (the two strokes of a
/// 4 drawn apart are not; 0.85 cut a few more digits of the scene sets wrongly, 0.95 found fewer
/// of the `number` set's).
pub const APART_TALL: f32 = 0.9;
/// ... and the column crosses the ink at most once, over at most this share of its height: a
/// gap, or the place where two digits touch.
pub const APART_THIN: f32 = 0.45;
/// The two parts are kept as two digits only where the classifier gives each its digit at
/// least this ([`read_apart`]): 0.95 read a few more of the `number` set's digits apart (F1
/// 0.911 against 0.907) but also cut some open 0s into a 6 and a 7 or a 1 (multi-scale, and on
/// scenes of seed 7 paper and desk, one to four false detections more in 500 scenes).
pub const APART_SURE: f32 = 0.98;

/// Where the ink of `cut` (made for `detection`, read as a digit) stands as two tall parts side
/// by side ([`APART_TALL`]), joined at most by one thin crossing ([`APART_THIN`]) — a 1 written
/// against a 3, two digits of a number that touch, which the heatmap and the cut-out took for
/// one: the two parts, each a detection of the ink's height at its middle, with a fence at the
/// column between them ([`Fences::at`]): the column that crosses the least ink, the one nearest
/// the middle of those. `None` otherwise. In three steps, so that a live drawing scans an ink
/// box that did not change only once ([`apart_box`], [`apart_column`], [`apart_parts`]).
pub fn apart(image: &GrayImage, detection: &Detection, cut: &CutOut) -> Option<[(Detection, Fences); 2]> {
    let ink = apart_box(image, cut)?;
    Some(apart_parts(detection, ink, apart_column(image, ink)?))
}

/// The pixels [`apart`] scans for `cut`: its ink box in the image, `[x0, y0, x1, y1]` (`x1`,
/// `y1` exclusive), where that ink is wide enough to be two digits ([`APART_WIDE`]) and not a
/// piece of a larger drawing; `None` otherwise.
pub fn apart_box(image: &GrayImage, cut: &CutOut) -> Option<[usize; 4]> {
    if cut.part {
        return None;
    }
    let [x0, y0, x1, y1] = cut.ink.map(|v| if v.is_finite() { v.max(0.0) as usize } else { 0 });
    let (x1, y1) = (x1.min(image.width), y1.min(image.height));
    if x1 <= x0 + 2 || y1 <= y0 {
        return None;
    }
    let (w, h) = (x1 - x0, y1 - y0);
    ((w as f32) >= APART_WIDE * h as f32).then_some([x0, y0, x1, y1])
}

/// The column (image x) at which the ink in `ink` ([`apart_box`]) stands as two tall parts, as
/// [`apart`] finds it; it reads the image's pixels in that box alone.
pub fn apart_column(image: &GrayImage, [x0, y0, x1, y1]: [usize; 4]) -> Option<usize> {
    let (w, h) = (x1 - x0, y1 - y0);
    // Each column's ink: pixels and runs, and its top and bottom row (`h`, 0 without ink); read
    // row by row (the image's order), the previous row's ink kept per column, without branches
    // (in the browser a loop branching per pixel made this cost a live stroke on the
    // benchmark's pad some 0.4 ms, this one some 0.2, before boxes a stroke does not touch
    // kept their answer).
    let (mut count, mut runs, mut top, mut bottom) = (vec![0u32; w], vec![0u32; w], vec![h as u32; w], vec![0u32; w]);
    let mut above = vec![false; w];
    for y in 0..h {
        let row = &image.pixels[(y0 + y) * image.width + x0..][..w];
        for i in 0..w {
            let ink = row[i] >= INK;
            count[i] += u32::from(ink);
            runs[i] += u32::from(ink && !above[i]);
            top[i] = if ink { top[i].min(y as u32) } else { top[i] };
            bottom[i] = if ink { y as u32 + 1 } else { bottom[i] };
            above[i] = ink;
        }
    }
    // How tall the ink of the columns before each column stands, and of those after it.
    let stand = |(t, b): (u32, u32), i: usize| (t.min(top[i]), b.max(bottom[i]));
    let before: Vec<(u32, u32)> = (0..w).scan((h as u32, 0), |a, i| Some(std::mem::replace(a, stand(*a, i)))).collect();
    let mut after: Vec<(u32, u32)> =
        (0..w).rev().scan((h as u32, 0), |a, i| Some(std::mem::replace(a, stand(*a, i)))).collect();
    after.reverse();
    let tall = |(t, b): (u32, u32)| b > t && (b - t) as f32 >= APART_TALL * h as f32;
    let split = (1..w - 1)
        .filter(|&i| runs[i] <= 1 && count[i] as f32 <= APART_THIN * h as f32)
        .filter(|&i| tall(before[i]) && tall(after[i]))
        .min_by_key(|&i| (count[i], (2 * i).abs_diff(w)))?;
    Some(x0 + split)
}

/// The two parts [`apart`] makes of `detection` whose ink box `ink` parts at column `at`.
pub fn apart_parts(detection: &Detection, [x0, y0, x1, y1]: [usize; 4], at: usize) -> [(Detection, Fences); 2] {
    let at = at as f32 + 0.5;
    let y = (y0 + y1) as f32 / 2.0;
    let side = (y1 - y0) as f32;
    let piece = |a: f32, b: f32| Detection { x: (a + b) / 2.0, y, w: side, h: side, ..*detection };
    let fences = |left, right| Fences { beside: Beside { left, right }, wide: 0.0, at: true };
    [(piece(x0 as f32, at), fences(None, Some(at))), (piece(at, x1 as f32), fences(Some(at), None))]
}

/// The two parts of a detection `whole` that [`apart`] cut, as their second look read them (each
/// part's detection, or `None`, the classifier's probabilities, and its cut-out): two digits
/// where each is a digit the classifier is sure of ([`APART_SURE`]) and scores at least the
/// whole's score (its FCN cell finds it at least as much a digit as the whole): an open 0 whose
/// sides read as a 6 and a 3 or a 5 fails the first, as does a 4 whose strokes stand apart. Or
/// where one part is a 1 standing beside a sure digit ([`a_one_beside`]; `drawing`: the image is
/// a drawing, as [`as_drawn`] reads it).
pub fn read_apart(whole: &Detection, parts: [ApartReading; 2], drawing: bool) -> Option<[Detection; 2]> {
    let sure = |(part, classifier, _): &ApartReading| {
        part.clone().filter(|d| at_least(classifier[d.digit as usize], APART_SURE) && d.score >= whole.score)
    };
    let [left, right] = &parts;
    match (sure(left), sure(right)) {
        (Some(l), Some(r)) => Some([l, r]),
        _ => a_one_beside(whole, parts, drawing),
    }
}

/// A part [`read_apart`] reads: its detection (or `None`), the classifier's probabilities, and
/// its cut-out.
pub type ApartReading<'a> = (Option<Detection>, &'a [f32; CLASSES], &'a CutOut);

/// [`read_apart`]'s second case: a 1 written against a digit, which the heatmap and the cut-out
/// took in with it and read as one digit, its FCN cell surer of the whole than of either part (a
/// 1 touching a 4's bar, or a 3's curve). One part is a 1: one unbroken stroke ([`unbroken`]) as
/// tall as the whole ([`APART_TALL`]), the classifier sure of it ([`APART_SURE`]; in a drawing
/// with what it gives background given to the 1, as [`as_drawn`] does); the other is a digit
/// the classifier is sure of. Not a 1 after a 4: a 4's stem drawn apart from its bar is such a
/// 1, and the 4's other strokes read as a 4 without it.
fn a_one_beside(whole: &Detection, [left, right]: [ApartReading; 2], drawing: bool) -> Option<[Detection; 2]> {
    let one = |(part, classifier, cut): &ApartReading| {
        let classifier = as_drawn(cut, classifier, classifier, drawing).0;
        part.as_ref().is_some_and(|d| {
            d.digit == 1 && at_least(classifier[1], APART_SURE) && d.h >= APART_TALL * whole.h && unbroken(&cut.mnist)
        })
    };
    let sure = |(part, classifier, _): &ApartReading| {
        part.as_ref().is_some_and(|d| at_least(classifier[d.digit as usize], APART_SURE))
    };
    let found = (one(&left) && sure(&right)) || (whole.digit != 4 && sure(&left) && one(&right));
    found.then(|| Some([left.0?, right.0?])).flatten()
}

/// Whether the ink of `image` is unbroken from its top row to its bottom one: every row between
/// holds some ink ([`INK`]) — a stroke, not a bar's end above a dot.
fn unbroken(image: &GrayImage) -> bool {
    let inked: Vec<bool> =
        image.pixels.chunks_exact(image.width.max(1)).map(|row| row.iter().any(|&v| v >= INK)).collect();
    match (inked.iter().position(|&i| i), inked.iter().rposition(|&i| i)) {
        (Some(top), Some(bottom)) => inked[top..=bottom].iter().all(|&i| i),
        _ => false,
    }
}

/// [`cut_out`] within `fences`: [`Fences::beside`] for a detection with neighbours beside it in
/// its row ([`beside`]), or [`halves`], or [`apart`]. Where its strokes, at least
/// [`Fences::wide`] times as wide as tall, run on past the column of least ink between its
/// centre and a neighbour's (searched in the middle half between them; [`Fences::at`]: past the
/// fence itself), what lies past that column is the neighbour's and is left out — digits of a
/// number that touch.
pub fn cut_out_within(image: &GrayImage, detection: &Detection, fences: Fences) -> Option<CutOut> {
    let (rows, cols) = window(detection, image.width, image.height);
    let first = cut_in(image, detection, &rows, &cols, 1.0, fences)?;
    if !first.runs_on {
        return Some(first);
    }
    match whole(image, detection, fences) {
        None => Some(first),
        Some(Whole::Part) => Some(CutOut { part: true, ..first }),
        // The strokes end within the wider window: the digit is all of them — a large digit
        // whose box the heatmap found smaller than its ink is read whole, not as the piece of
        // it that the window held (the top of a 9 read as a 4, of a 3 as a 2).
        Some(Whole::Within(rows, cols)) => {
            let scale = rows.len().max(cols.len()) as f32 / detection.w.max(detection.h);
            Some(
                cut_in(image, detection, &rows, &cols, scale.max(1.0), fences)
                    .map_or(first, |c| CutOut { runs_on: true, ..c }),
            )
        }
    }
}

/// [`cut_out`] in the window `rows` × `cols`, traced shrunk as a box `scale` times the
/// detection's would be; `part` left false.
fn cut_in(
    image: &GrayImage,
    detection: &Detection,
    rows: &Range<usize>,
    cols: &Range<usize>,
    scale: f32,
    fences: Fences,
) -> Option<CutOut> {
    let (x0, y0, w, h) = (cols.start, rows.start, cols.len(), rows.len());
    if w == 0 || h == 0 {
        return None;
    }
    let traced = Traced::new(image, detection, rows, cols, scale);
    let (f, strokes) = (traced.f, &traced.strokes);
    let mut kept: Vec<bool> = strokes.boxes.iter().map(|b| traced.reaches(b)).collect();
    let u = strokes.boxes.iter().zip(&kept).filter(|(_, k)| **k).map(|(b, _)| *b).reduce(union)?;
    // Strokes at least half inside the union join it (judged against the union of the strokes
    // that reach the middle, so that one joining does not draw in the next).
    let mut all = u;
    for (i, b) in strokes.boxes.iter().enumerate() {
        let ix = (b[2].min(u[2]) + 1).saturating_sub(b[0].max(u[0]));
        let iy = (b[3].min(u[3]) + 1).saturating_sub(b[1].max(u[1]));
        if !kept[i] && 2 * ix * iy >= (b[2] - b[0] + 1) * (b[3] - b[1] + 1) {
            kept[i] = true;
            all = union(all, *b);
        }
    }
    if strokes.areas.iter().zip(&kept).filter(|(_, k)| **k).map(|(a, _)| a).sum::<usize>() * f * f < 4 {
        return None;
    }
    // Digits side by side that touch: the ink past the column of least ink between this one and
    // a neighbour is the neighbour's.
    let all = fenced(&traced, &kept, all, (x0, f), detection.x, fences)?;
    // Strokes that run on past an edge of the window (one the image does not end at) may be
    // part of a larger drawing: traced again in a wider window, they are judged by their extent.
    let runs_on = (all[0] == 0 && x0 > 0)
        || (all[1] == 0 && y0 > 0)
        || (all[2] + 1 == traced.shrunk.width && x0 + w < image.width)
        || (all[3] + 1 == traced.shrunk.height && y0 + h < image.height);
    let digit = traced.shrunk.digit(&strokes.label, &kept, all);
    // The ink's box in image pixels (a shrunk block's pixels all count, up to the window's end).
    let ink = [
        (x0 + all[0] * f) as f32,
        (y0 + all[1] * f) as f32,
        (x0 + ((all[2] + 1) * f).min(w)) as f32,
        (y0 + ((all[3] + 1) * f).min(h)) as f32,
    ];
    let (bw, bh) = (digit.width as f32, digit.height as f32);
    let scale = BOX / bw.max(bh);
    let mass = digit.centre_of_mass()?;
    let box_centre = (bw / 2.0, bh / 2.0);
    Some(CutOut {
        mnist: Downscale::Stroke.from_box(digit.resampled(SIDE, mass, SIDE as f32 / 2.0, scale)),
        canvas: Downscale::Stroke.from_box(digit.resampled(CANVAS, box_centre, CANVAS_CENTRE, scale)),
        ink,
        part: false,
        runs_on,
        fences,
    })
}

/// The neighbours a cut-out is fenced from ([`cut_out_within`], [`halves`], [`apart`]), and how
/// many times as wide as tall its ink must be for a fence to cut it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Fences {
    /// The neighbours' centres (where `at`, the fences' own x).
    pub beside: Beside,
    /// [`BESIDE_WIDE`] for a detection's neighbours, [`SPLIT_WIDE`] for [`halves`]; 0 without
    /// neighbours, and for [`apart`].
    pub wide: f32,
    /// The fences stand at `beside`'s x themselves ([`apart`]), not at the column of least ink
    /// between the detection's centre and its neighbours'.
    pub at: bool,
}

impl Fences {
    /// The fences of a detection among the neighbours `beside` it ([`cut_out_within`]).
    pub fn beside(beside: Beside) -> Self {
        Self { beside, wide: if beside == Beside::default() { 0.0 } else { BESIDE_WIDE }, at: false }
    }
}

/// The kept strokes' box `all` (shrunk pixels of `traced`, whose column `i` is image columns
/// `x0 + f·i …`) narrowed to the columns between the fences [`cut_out_within`] puts toward the
/// neighbours `beside` the detection centred at `x`, and made tight around the kept ink left in
/// it; `all` itself where no fence cuts it; `None` where no ink is left.
fn fenced(
    traced: &Traced,
    kept: &[bool],
    all: [usize; 4],
    (x0, f): (usize, usize),
    x: f32,
    Fences { beside, wide, at }: Fences,
) -> Option<[usize; 4]> {
    let (width, height) = (all[2] - all[0] + 1, all[3] - all[1] + 1);
    if beside == Beside::default() || (width as f32) < wide * height as f32 {
        return Some(all);
    }
    let shrunk = &traced.shrunk;
    let label = &traced.strokes.label;
    let is_kept = |i: usize| label[i] != u32::MAX && kept[label[i] as usize];
    let column = |c: usize| (all[1]..=all[3]).filter(|&r| is_kept(r * shrunk.width + c)).count();
    // Image x to a shrunk column (clamped to the kept box).
    let to_col = |v: f32| (((v - x0 as f32) / f as f32).floor().max(0.0) as usize).clamp(all[0], all[2]);
    // The column of least kept ink in the middle half between the centre and a neighbour's.
    let least = |n: f32| {
        if at {
            return Some(to_col(n));
        }
        let (a, b) = (to_col(x + 0.25 * (n - x)), to_col(x + 0.75 * (n - x)));
        (a.min(b)..=a.max(b)).min_by_key(|&c| (column(c), (2 * c).abs_diff(a + b)))
    };
    let (mut lo, mut hi) = (all[0], all[2]);
    if let Some(c) = beside.left.and_then(least).filter(|&c| c > all[0]) {
        lo = c + 1;
    }
    if let Some(c) = beside.right.and_then(least).filter(|&c| c < all[2]) {
        hi = c.saturating_sub(1);
    }
    if (lo, hi) == (all[0], all[2]) {
        return Some(all);
    }
    // Tight around the kept ink between the fences.
    let mut b: Option<[usize; 4]> = None;
    for r in all[1]..=all[3] {
        for c in (lo..=hi).filter(|&c| is_kept(r * shrunk.width + c)) {
            b = Some(b.map_or([c, r, c, r], |b| union(b, [c, r, c, r])));
        }
    }
    b
}

/// A detection's window is traced at about this many pixels a box side at most: larger ones are
/// shrunk by a whole factor first (each pixel the maximum of its block, so that no stroke breaks),
/// since the cut-out is 20 px a side anyway. A pad-sized digit's window is then some 3,000 pixels
/// to trace instead of 150,000.
pub const SHRINK_SIDE: f32 = 96.0;

/// The factor a detection of box side `side` is traced shrunk by ([`SHRINK_SIDE`]).
fn shrink(side: f32) -> usize {
    // (At most 4,096: a block's area stays a `usize` on 32-bit targets.)
    if side.is_finite() { ((side / SHRINK_SIDE) as usize).clamp(1, 4096) } else { 1 }
}

/// The strokes around a detection: `rows` × `cols` of the image shrunk [`shrink`] times for its
/// box ([`SHRINK_SIDE`]: pixel `(x, y)` of `shrunk` is the maximum of the block `f·x .. f·x + f`,
/// `f·y .. f·y + f`), traced, and the middle of its box in those coordinates.
struct Traced {
    shrunk: GrayImage,
    f: usize,
    strokes: Strokes,
    /// The middle of the detection's box, and a tenth of its side (shrunk).
    centre: (f32, f32),
    core: f32,
}

impl Traced {
    fn new(image: &GrayImage, detection: &Detection, rows: &Range<usize>, cols: &Range<usize>, scale: f32) -> Self {
        let f = shrink(scale * detection.w.max(detection.h));
        let shrunk = image.block_max(rows, cols, f);
        let strokes = shrunk.strokes();
        let centre = ((detection.x - cols.start as f32) / f as f32, (detection.y - rows.start as f32) / f as f32);
        Self { shrunk, f, strokes, centre, core: 0.1 * detection.w.max(detection.h) / f as f32 }
    }

    /// Whether a stroke's box reaches the middle fifth of the detection's box.
    fn reaches(&self, b: &[usize; 4]) -> bool {
        let ((cx, cy), core) = (self.centre, self.core);
        b[0] as f32 <= cx + core && b[2] as f32 >= cx - core && b[1] as f32 <= cy + core && b[3] as f32 >= cy - core
    }
}

/// How far past a detection's box its strokes may run, in box sides, before they are a larger
/// drawing's: down ([`PART_HEIGHT`]) and across ([`PART_WIDTH`]; digits side by side may touch).
pub const PART_HEIGHT: f32 = 2.0;
/// See [`PART_HEIGHT`].
pub const PART_WIDTH: f32 = 3.0;

/// What the strokes of a detection whose cut-out runs on past its window are ([`whole`]).
enum Whole {
    /// A piece (a loop, a stroke) of a larger drawing.
    Part,
    /// A digit larger than its window: the rows and columns around all its strokes.
    Within(Range<usize>, Range<usize>),
}

/// The strokes reaching the middle of `detection`'s box, traced in a window [`PART_WIDTH`] box
/// sides wide: a [`Whole::Part`] where they span more than [`PART_HEIGHT`] sides down or
/// [`PART_WIDTH`] across, else the window around them. The window is traced shrunk as a box
/// [`PART_WIDTH`] times as large would be ([`SHRINK_SIDE`]): only the strokes' extent counts
/// here. (Against shrinking it as the box itself: natively a live stroke about 4 % faster,
/// 4.1–4.25 → 3.96–4.05 ms; the scene figures the same to the last digit at 300 and 500 a set.)
/// `None` where no stroke reaches the middle.
fn whole(image: &GrayImage, detection: &Detection, fences: Fences) -> Option<Whole> {
    let side = detection.w.max(detection.h);
    let (rows, cols) = part_window(detection, image.width, image.height);
    if rows.is_empty() || cols.is_empty() {
        return None;
    }
    let traced = Traced::new(image, detection, &rows, &cols, PART_WIDTH);
    let f = traced.f;
    let side = side / f as f32;
    let reaching: Vec<bool> = traced.strokes.boxes.iter().map(|b| traced.reaches(b)).collect();
    let u = traced.strokes.boxes.iter().zip(&reaching).filter(|(_, r)| **r).map(|(b, _)| *b).reduce(union)?;
    let u = fenced(&traced, &reaching, u, (cols.start, f), detection.x, fences)?;
    if ((u[3] - u[1] + 1) as f32) > PART_HEIGHT * side || ((u[2] - u[0] + 1) as f32) > PART_WIDTH * side {
        return Some(Whole::Part);
    }
    // The strokes' box in image pixels, a shrunk block wider on every side, within the window.
    let (x0, y0) = (cols.start + u[0].saturating_sub(1) * f, rows.start + u[1].saturating_sub(1) * f);
    let (x1, y1) = ((cols.start + (u[2] + 2) * f).min(cols.end), (rows.start + (u[3] + 2) * f).min(rows.end));
    Some(Whole::Within(y0..y1.max(y0), x0..x1.max(x0)))
}

/// The window [`whole`] traces: [`PART_WIDTH`] box sides wide.
fn part_window(detection: &Detection, width: usize, height: usize) -> (Range<usize>, Range<usize>) {
    around(detection, 0.5 * PART_WIDTH * detection.w.max(detection.h) + 1.0, width, height)
}

/// `v ≥ bar`, false for NaN.
fn at_least(v: f32, bar: f32) -> bool {
    v >= bar
}

fn union(a: [usize; 4], b: [usize; 4]) -> [usize; 4] {
    [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])]
}

/// An image's connected strokes: a label a pixel (`u32::MAX`: not ink), a box and an area a stroke.
struct Strokes {
    label: Vec<u32>,
    boxes: Vec<[usize; 4]>,
    areas: Vec<usize>,
}

impl GrayImage {
    fn at(&self, x: usize, y: usize) -> f32 {
        self.pixels[y * self.width + x]
    }

    fn strokes(&self) -> Strokes {
        let (w, h) = (self.width, self.height);
        // Ink not yet labelled, on a grid one pixel wider on every side (its border never ink),
        // so that the 8 neighbours of a pixel are at fixed offsets without bounds checks.
        let pw = w + 2;
        let mut open = vec![false; pw * (h + 2)];
        for (row, line) in open.chunks_exact_mut(pw).skip(1).zip(self.pixels.chunks_exact(w.max(1))) {
            row[1..=w].iter_mut().zip(line).for_each(|(o, &v)| *o = at_least(v, INK));
        }
        // Each stroke filled from its first pixel (row by row: labels are numbered in that
        // order), its pixels labelled in the image's own grid as they are reached, with its box
        // and area; each pixel on the stack with its place in both grids.
        let mut s = Strokes { label: vec![u32::MAX; w * h], boxes: Vec::new(), areas: Vec::new() };
        // The neighbours after a pixel in the padded grid, and their steps in x and y (those
        // before it: the same, negated).
        let neighbours = [(pw + 1, 1, 1), (pw, 0, 1), (pw - 1, usize::MAX, 1), (1, 1, 0)];
        let mut stack: Vec<(usize, usize, usize)> = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let start = (y + 1) * pw + x + 1;
                if !open[start] {
                    continue;
                }
                let id = s.boxes.len() as u32;
                let (mut b, mut area) = ([x, y, x, y], 0);
                open[start] = false;
                stack.push((start, x, y));
                while let Some((i, px, py)) = stack.pop() {
                    s.label[py * w + px] = id;
                    area += 1;
                    b = union(b, [px, py, px, py]);
                    for (d, dx, dy) in neighbours {
                        // (Wrapping: a step left from column 0 lands on the border, never open.)
                        if open[i - d] {
                            open[i - d] = false;
                            stack.push((i - d, px.wrapping_sub(dx), py - dy));
                        }
                        if open[i + d] {
                            open[i + d] = false;
                            stack.push((i + d, px.wrapping_add(dx), py + dy));
                        }
                    }
                }
                s.boxes.push(b);
                s.areas.push(area);
            }
        }
        s
    }

    /// The kept strokes alone (with their soft edges: fainter pixels touching them) inside `b`,
    /// as an image of `b`'s size.
    fn digit(&self, label: &[u32], kept: &[bool], b: [usize; 4]) -> GrayImage {
        let (w, h) = (self.width, self.height);
        let (dw, dh) = (b[2] - b[0] + 1, b[3] - b[1] + 1);
        // Whether each pixel of the box and of a margin of one around it (within the image) is
        // a kept stroke's, then whether any of its 3×3 neighbours is: across, then down.
        let (mx0, my0) = (b[0].saturating_sub(1), b[1].saturating_sub(1));
        let (mx1, my1) = ((b[2] + 2).min(w), (b[3] + 2).min(h));
        let mw = mx1 - mx0;
        let mut is_kept = Vec::with_capacity(mw * (my1 - my0));
        for y in my0..my1 {
            let labels = &label[y * w + mx0..y * w + mx1];
            is_kept.extend(labels.iter().map(|&l| l != u32::MAX && kept[l as usize]));
        }
        let mut across = is_kept.clone();
        for (a, k) in across.chunks_exact_mut(mw).zip(is_kept.chunks_exact(mw)) {
            for x in 1..mw {
                a[x] |= k[x - 1];
                a[x - 1] |= k[x];
            }
        }
        let mut out = GrayImage::blank(dw, dh);
        for y in b[1]..=b[3] {
            let row = (y - my0) * mw;
            let (up, down) = (row.checked_sub(mw), Some(row + mw).filter(|&r| r < across.len()));
            let line = &self.pixels[y * w + b[0]..=y * w + b[2]];
            let labels = &label[y * w + b[0]..=y * w + b[2]];
            let o = &mut out.pixels[(y - b[1]) * dw..][..dw];
            for (i, ((o, &v), &l)) in o.iter_mut().zip(line).zip(labels).enumerate() {
                let m = row + b[0] - mx0 + i;
                // A stroke's own pixel where the stroke is kept; a pixel of no stroke beside a
                // kept one (its soft edge).
                let near = if l != u32::MAX {
                    is_kept[m]
                } else {
                    across[m] || up.is_some_and(|u| across[u + m - row]) || down.is_some_and(|d| across[d + m - row])
                };
                if near {
                    *o = v.clamp(0.0, 1.0);
                }
            }
        }
        out
    }

    /// The centre of mass of the ink (continuous coordinates: pixel `i` spans `i .. i + 1`).
    fn centre_of_mass(&self) -> Option<(f32, f32)> {
        let (mut sx, mut sy, mut sm) = (0.0f64, 0.0f64, 0.0f64);
        for (y, row) in self.pixels.chunks_exact(self.width.max(1)).enumerate() {
            for (x, &v) in row.iter().enumerate() {
                let v = v as f64;
                sx += v * (x as f64 + 0.5);
                sy += v * (y as f64 + 0.5);
                sm += v;
            }
        }
        (sm > 0.0).then(|| ((sx / sm) as f32, (sy / sm) as f32))
    }

    /// This image scaled by `scale` onto a blank `side`×`side` one, its point `anchor` on the
    /// output's point (`to`, `to`): each output pixel averages the image over its footprint
    /// (up to 8×8 samples, nearest pixel).
    fn resampled(&self, side: usize, anchor: (f32, f32), to: f32, scale: f32) -> GrayImage {
        let footprint = 1.0 / scale;
        let n = (footprint.ceil() as usize).clamp(1, 8);
        // Each output row's and column's n sample positions, computed once (`None`: outside).
        let at = |o: usize, s: usize, origin: f32| origin + (o as f32 + (s as f32 + 0.5) / n as f32 - to) * footprint;
        let ys: Vec<Option<usize>> = (0..side * n)
            .map(|i| at(i / n, i % n, anchor.1))
            .map(|py| (!(py < 0.0 || py >= self.height as f32)).then_some(py as usize))
            .collect();
        let xs: Vec<Option<usize>> = (0..side * n)
            .map(|i| at(i / n, i % n, anchor.0))
            .map(|px| (px >= 0.0 && px < self.width as f32).then_some(px as usize))
            .collect();
        let mut out = GrayImage::blank(side, side);
        for (oy, line) in out.pixels.chunks_exact_mut(side).enumerate() {
            for (ox, o) in line.iter_mut().enumerate() {
                let mut sum = 0.0;
                for y in ys[oy * n..(oy + 1) * n].iter().flatten() {
                    let row = &self.pixels[y * self.width..(y + 1) * self.width];
                    for &x in xs[ox * n..(ox + 1) * n].iter().flatten() {
                        sum += row[x];
                    }
                }
                *o = sum / (n * n) as f32;
            }
        }
        out
    }
}

/// A detection after its second look: `classifier` and `fcn` are the two readings' 11
/// probabilities ([`CutOut::mnist`] through the classifier, [`CutOut::canvas`]'s cell through
/// the FCN). The digit is the one their averaged digit probabilities favour (where it has at
/// least half of them; else the heatmap's stays), the box the ink's, the score √(heatmap score ×
/// the FCN cell's objectness); `None` (dropped) below either threshold of `options`.
pub fn combine(
    detection: &Detection,
    cut: &CutOut,
    classifier: &[f32; CLASSES],
    fcn: &[f32; CLASSES],
    options: &VerifyOptions,
) -> Option<Detection> {
    let (classifier, fcn) = &as_drawn(cut, classifier, fcn, options.drawing);
    let objectness = 1.0 - fcn[BACKGROUND];
    let score = (detection.score * objectness).max(0.0).sqrt();
    if cut.part || !(at_least(objectness, options.min_objectness) && at_least(score, options.min_score)) {
        return None;
    }
    // Each reading's digit probabilities, as shares of its own objectness.
    let share = |p: &[f32; CLASSES], k: usize| p[k] / (1.0 - p[BACKGROUND]).max(1e-6);
    let votes: Vec<f32> = (0..BACKGROUND).map(|k| 0.5 * share(classifier, k) + 0.5 * share(fcn, k)).collect();
    let (digit, vote) = votes.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
    let digit = if *vote >= 0.5 { digit as u8 } else { detection.digit };
    if digit == 1 && (!at_least(score, options.min_score_one) || lean(&cut.mnist).is_some_and(|a| a > MAX_LEAN)) {
        return None;
    }
    let [x0, y0, x1, y1] = cut.ink;
    Some(Detection { digit, score: score.min(1.0), x: (x0 + x1) / 2.0, y: (y0 + y1) / 2.0, w: x1 - x0, h: y1 - y0 })
}

/// A stroke read as a 1 that leans further than this from upright (degrees) is a slash, not a
/// digit, and is dropped ([`combine`]). Of MNIST's 6,742 training 1s, 24 lean further than 45°
/// (0.36 %) and 2 further than 50°; a long line at any angle, the commonest false 1 on clutter,
/// leans further than 45° a half of the time.
pub const MAX_LEAN: f32 = 45.0;
/// The ink of a cut-out must be at least this many times longer along its axis than across
/// (the square root of its second moments' ratio) for its lean to count: a blob has no lean.
pub const LEAN_ELONGATION: f32 = 2.0;

/// How far the ink of `image` leans from upright: the angle (degrees, 0–90) between its
/// principal axis (second moments about its centre of mass) and the vertical; `None` where the
/// ink is not elongated enough to have an axis ([`LEAN_ELONGATION`]) or there is none.
pub fn lean(image: &GrayImage) -> Option<f32> {
    let (along, across, angle) = axes(image)?;
    let elongation = (LEAN_ELONGATION * LEAN_ELONGATION) as f64;
    (along > 0.0 && along >= elongation * across).then_some(angle)
}

/// The second moments of the ink of `image` about its centre of mass along its principal axis
/// and across it, and the axis's angle from the vertical (degrees, 0–90); `None` without ink.
fn axes(image: &GrayImage) -> Option<(f64, f64, f32)> {
    let (cx, cy) = image.centre_of_mass()?;
    let (mut xx, mut yy, mut xy) = (0.0f64, 0.0f64, 0.0f64);
    for (i, &v) in image.pixels.iter().enumerate() {
        let dx = (i % image.width) as f64 + 0.5 - cx as f64;
        let dy = (i / image.width) as f64 + 0.5 - cy as f64;
        let v = v as f64;
        xx += v * dx * dx;
        yy += v * dy * dy;
        xy += v * dx * dy;
    }
    let half_trace = (xx + yy) / 2.0;
    let spread = (half_trace * half_trace - (xx * yy - xy * xy)).max(0.0).sqrt();
    // The axis's angle from the x axis, folded to 0–90° from the vertical.
    let angle = 90.0 - (0.5 * (2.0 * xy).atan2(xx - yy)).to_degrees().abs() as f32;
    Some((half_trace + spread, half_trace - spread, angle))
}

/// In a drawing, ink at least this many times longer along its axis than across (the square
/// root of its second moments' ratio, in the classifier's cut-out) is a straight stroke.
/// Measured on the first 1,000 MNIST test digits drawn along their skeleton with an 8-px pen, 60
/// or 250 px tall, cut out at their true box: the 1s' median 6.7 and 6.1 (125 of 126 at 4 or
/// more), the other digits' medians 1.3–2.2 and 90th percentiles at most 3.4 (at 4 or more: 4 of
/// 107 threes and 1 of 94 nines, which keep their reading unless it is mostly background).
pub const STRAIGHT: f32 = 4.0;

/// The two readings of `cut` as the second look uses them: as read, or — in a drawing, where
/// the cut-out is one straight stroke ([`STRAIGHT`]) — with what they give background given to
/// the 1. Drawn tall with a thin pen, a bare 1 is a line to the network, which its training
/// teaches to read as background in clutter (measured: a slanted 1 drawn 150–300 px tall with a
/// 2–8 px pen, 0.14–0.45 a 1 by the classifier); on a pad nobody draws a line that is not one.
/// A stroke leaning further than [`MAX_LEAN`] is still dropped ([`combine`]).
pub fn as_drawn(
    cut: &CutOut,
    classifier: &[f32; CLASSES],
    fcn: &[f32; CLASSES],
    drawing: bool,
) -> ([f32; CLASSES], [f32; CLASSES]) {
    let straight = drawing
        && axes(&cut.mnist)
            .is_some_and(|(along, across, _)| along > 0.0 && along >= (STRAIGHT * STRAIGHT) as f64 * across);
    let given = |p: &[f32; CLASSES]| {
        let mut p = *p;
        if straight {
            p[1] += p[BACKGROUND];
            p[BACKGROUND] = 0.0;
        }
        p
    };
    (given(classifier), given(fcn))
}

/// A detection whose box lies this much (share of its area) inside a larger one's is a piece of
/// it ([`drop_pieces`]).
pub const PIECE_INSIDE: f32 = 0.9;
/// ... where the larger box has at least this many times its area;
pub const PIECE_AREA: f32 = 2.0;
/// ... or at least this many times, read surer than it by [`PIECE_SURER`]: the top of a 3 drawn
/// the pad's height read as a 2 (1.9 times its box) beside the whole 3. A digit written inside
/// a larger false detection (a 3 with a ruled line's piece above it, read as a 5 at 0.999
/// against the 3's 0.998) stays.
pub const PIECE_AREA_SURER: f32 = 1.6;
/// See [`PIECE_AREA_SURER`].
pub const PIECE_SURER: f32 = 0.02;
/// A box read as the same digit as a larger one is a piece of it where this much of it lies
/// inside: a 1 written with a long flag, 250 px tall, read as two 1s — the stem alone below the
/// whole 1 whose cut-out ended short of the stem's foot, or the top two thirds inside the
/// whole.
pub const PIECE_INSIDE_SAME: f32 = 0.6;

/// Drops the detections that are pieces of another: after the second look every box is its
/// ink's, and a box lying inside a much larger one holds ink that the larger one's cut-out took
/// in (strokes at least half inside its box join it: [`cut_out`]), read on its own — a 5's
/// detached bar, a 2's first stroke, read as a 1 or a 7 beside the whole digit; a box less
/// than twice its area holds it as a piece only where it reads surer ([`PIECE_AREA_SURER`]); one
/// read as the same digit is a piece of any larger box it lies mostly inside
/// ([`PIECE_INSIDE_SAME`]), and that box takes it in. Run on the
/// detections and the accepted ink proposals together (a digit as tall as the image is often
/// found only as a proposal, its pieces by the heatmap). Then, of detections holding the same
/// ink (boxes overlapping by [`SAME_INK`]), the best scored alone stays.
pub fn drop_pieces(detections: &mut Vec<Detection>) {
    let area = |d: &Detection| d.w.max(0.0) * d.h.max(0.0);
    let inside = |a: &Detection, b: &Detection, share: f32| intersection(corners(a), corners(b)) >= share * area(a);
    let holds = |b: &Detection, a: &Detection| {
        (area(b) >= PIECE_AREA * area(a) || area(b) >= PIECE_AREA_SURER * area(a) && b.score >= a.score + PIECE_SURER)
            && inside(a, b, PIECE_INSIDE)
            || b.digit == a.digit && area(b) > area(a) && inside(a, b, PIECE_INSIDE_SAME)
    };
    let holder: Vec<Option<usize>> = detections.iter().map(|a| detections.iter().position(|b| holds(b, a))).collect();
    // A piece read as the same digit as its holder is part of the same digit: the holder's box
    // takes it in (a 1's stem running on below the box of the whole 1).
    for (i, holder) in holder.iter().enumerate() {
        if let Some(j) = *holder
            && detections[j].digit == detections[i].digit
        {
            let [a, b] = [corners(&detections[i]), corners(&detections[j])];
            let [x0, y0, x1, y1] = [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])];
            let d = &mut detections[j];
            (d.x, d.y, d.w, d.h) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0, x1 - x0, y1 - y0);
        }
    }
    let mut keep = holder.iter().map(|h| h.is_none());
    detections.retain(|_| keep.next().unwrap_or(true));
    // The same ink read twice (two proposals whose cut-outs took in the same strokes): the
    // better reading stays.
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::with_capacity(detections.len());
    for d in detections.drain(..) {
        let same = |k: &Detection| {
            let shared = intersection(corners(k), corners(&d));
            shared >= SAME_INK * (area(k) + area(&d) - shared)
        };
        if !kept.iter().any(same) {
            kept.push(d);
        }
    }
    *detections = kept;
}

/// Two detections whose boxes overlap this much (intersection over union) hold the same ink
/// ([`drop_pieces`] keeps the better). On `make scenes` (500 a set): pad precision 0.933 →
/// 0.942 (F1 0.929 → 0.933), hands 0.915 → 0.916, no set worse.
pub const SAME_INK: f32 = 0.6;

/// A detection's box: `[x0, y0, x1, y1]`.
fn corners(d: &Detection) -> [f32; 4] {
    [d.x - d.w / 2.0, d.y - d.h / 2.0, d.x + d.w / 2.0, d.y + d.h / 2.0]
}

/// The longer side of a box (`[x0, y0, x1, y1]`).
fn longer_side(b: [f32; 4]) -> f32 {
    (b[2] - b[0]).max(b[3] - b[1])
}

/// The area of box `b` (`[x0, y0, x1, y1]`) that the boxes of `found` cover together: ink two
/// detections explain between them (two digits of a number grouped as one ink) is explained, as
/// is ink that one detection's box covers.
pub fn covered(b: [f32; 4], found: &[Detection]) -> f32 {
    let boxes: Vec<[f32; 4]> = found
        .iter()
        .map(|d| {
            let c = corners(d);
            [c[0].max(b[0]), c[1].max(b[1]), c[2].min(b[2]), c[3].min(b[3])]
        })
        .filter(|c| c[0] < c[2] && c[1] < c[3])
        .collect();
    // The grid the boxes' edges make, each cell counted where a box holds it. A handful of boxes
    // meet one group of ink; each edge's next is found by a scan, not a sort (a sort would add
    // kilobytes of code to every module).
    let cells = |edges: &[f32]| -> Vec<(f32, f32)> {
        let after = |e: f32| edges.iter().copied().filter(|&n| n > e).fold(f32::INFINITY, f32::min);
        let distinct = edges.iter().enumerate().filter(|&(i, e)| !edges[..i].contains(e));
        distinct.map(|(_, &e)| (e, after(e))).filter(|c| c.1.is_finite()).collect()
    };
    let columns = cells(&boxes.iter().flat_map(|c| [c[0], c[2]]).collect::<Vec<_>>());
    let rows = cells(&boxes.iter().flat_map(|c| [c[1], c[3]]).collect::<Vec<_>>());
    let mut area = 0.0;
    for &(x0, x1) in &columns {
        for &(y0, y1) in &rows {
            if boxes.iter().any(|c| c[0] <= x0 && x1 <= c[2] && c[1] <= y0 && y1 <= c[3]) {
                area += (x1 - x0) * (y1 - y0);
            }
        }
    }
    area
}

/// The area two boxes (`[x0, y0, x1, y1]`) share.
pub fn intersection(a: [f32; 4], b: [f32; 4]) -> f32 {
    (a[2].min(b[2]) - a[0].max(b[0])).max(0.0) * (a[3].min(b[3]) - a[1].max(b[1])).max(0.0)
}

/// At most this many detections a call are looked at again, or one per this many pixels of the
/// image where that is more (`(96 px)²`): the strongest, by heatmap score; the others are
/// dropped. A drawing or a page of digits holds far fewer; an image of dense scribble (the
/// browser benchmark's) makes the heatmap propose dozens, and each look costs two small forwards.
pub const MAX_LOOKS: usize = 16;
/// See [`MAX_LOOKS`].
pub const PIXELS_PER_LOOK: usize = 96 * 96;

/// How many detections of a `width`×`height` image are looked at again ([`MAX_LOOKS`]).
pub fn looks(width: usize, height: usize) -> usize {
    MAX_LOOKS.max(width * height / PIXELS_PER_LOOK)
}

/// Ink groups at least this tall or wide (pixels) are proposed where no detection explains them
/// ([`ink_proposals`]): the smallest digit the detector is meant to find. Such a group is a digit
/// no level of the pyramid saw whole (as tall as the image: at its coarsest level it is still
/// larger than the 12–30 px a level finds) or one the heatmap missed at any size (a small, stout
/// digit; a hand far from MNIST's); its two readings decide.
pub const INK_PROPOSAL_LEAST: f32 = 14.0;
/// Such a proposal is kept only where the FCN's cell is this sure it is a digit, and both readings
/// name the same digit: it has no heatmap score to back it.
pub const INK_OBJECTNESS: f32 = 0.9;
/// ... or this sure, where the classifier gives the digit at least [`INK_SURE`]. A digit as tall
/// as the image, shrunk into the FCN's 48² cut-out, is the kind of large ring or long stroke its
/// training also shows as clutter: the pad's 160–320 px 1s and 0s that the classifier reads at
/// 0.85–1.00 got 0.70–0.88 from the FCN's cell (measured in `make scenes`: see docs/benchmarks.md).
pub const INK_OBJECTNESS_SURE: f32 = 0.7;
/// See [`INK_OBJECTNESS_SURE`].
pub const INK_SURE: f32 = 0.85;
/// ... or this sure (a heatmap detection's own bar, [`VerifyOptions::min_objectness`]'s
/// default), where it stands beside a detection of its size in its row that scored at least
/// [`BESIDE_SURE`] ([`beside`]): a digit of a number the heatmap missed beside the one it found.
/// On `make scenes` (500 a set): *number* 0.874 → 0.879, pad 0.962 → 0.964 (its 160–320 px
/// bucket 0.951 → 0.967), every other set the same; 0.5 gave *number* 0.877, 0.15 0.878.
/// Beside any detection, not only a sure one, a false detection on seed 7's negatives drew in
/// another (0.046 → 0.048 false detections an image).
pub const INK_OBJECTNESS_BESIDE: f32 = 0.3;
/// See [`INK_OBJECTNESS_BESIDE`].
pub const BESIDE_SURE: f32 = 0.8;
/// The ink is grouped on a copy shrunk this many times (each pixel the maximum of its block).
const GROUPING_FACTOR: usize = 4;

/// Ink outside every detection's box that the shrinking had joined to a detection's is proposed
/// where it stands at least this share of that detection's height ([`ink_proposals`]).
pub const REMAINDER_TALL: f32 = 0.6;
/// ... and stands in its row: its middle within this share of that detection's height of the
/// detection's (not the lower piece of a 7 whose stem has a gap).
pub const REMAINDER_ROW: f32 = 0.25;
/// ... and does not lie within unexplained ink more than this many times as tall as the
/// detections beside it (a large digit of which a piece was found, proposed whole).
pub const REMAINDER_WITHIN: f32 = 1.5;

/// Ink the detections left unexplained, as proposals: groups of connected strokes (on a copy of
/// `image` shrunk [`GROUPING_FACTOR`] times by block maximum; strokes whose boxes come within a
/// tenth of their size of each other grouped, leaving out those the detections' boxes mostly
/// cover, one or several together: [`covered`]) at least [`INK_PROPOSAL_LEAST`] pixels tall or
/// wide, that the detections' boxes do not mostly cover and that do not lie along an edge of the
/// image ([`along_an_edge`]), each as a square box around
/// it: the largest first, at most as many as [`looks`] allows (an image of scattered marks —
/// a page of text — would otherwise ask for a reading of each).
pub fn ink_proposals(image: &GrayImage, found: &[Detection]) -> Vec<Detection> {
    ink_proposals_in(image, &InkStrokes::new(image), found)
}

/// The strokes [`ink_proposals`] groups: `image` shrunk [`GROUPING_FACTOR`] times (each pixel the
/// maximum of its block) and its strokes' boxes, which do not depend on the detections — made once
/// for two calls on one image.
#[derive(Debug, Clone)]
pub struct InkStrokes {
    small: GrayImage,
    boxes: Vec<[usize; 4]>,
}

impl InkStrokes {
    /// The strokes of `image`.
    pub fn new(image: &GrayImage) -> Self {
        let small = image.level(GROUPING_FACTOR, Downscale::Max);
        let boxes = small.strokes().boxes;
        Self { small, boxes }
    }
}

/// [`ink_proposals`] with the strokes of `image` already found (`strokes`).
pub fn ink_proposals_in(image: &GrayImage, strokes: &InkStrokes, found: &[Detection]) -> Vec<Detection> {
    let f = GROUPING_FACTOR;
    let small = &strokes.small;
    // Back to the image's pixels (block i covers f·i .. f·i + f − 1).
    let pixels = |g: [usize; 4]| {
        let x1 = ((g[2] + 1) * f).min(image.width) as f32;
        let y1 = ((g[3] + 1) * f).min(image.height) as f32;
        [(g[0] * f) as f32, (g[1] * f) as f32, x1, y1]
    };
    let explained = |b: [f32; 4]| {
        let area = (b[2] - b[0]) * (b[3] - b[1]);
        covered(b, found) >= 0.5 * area
    };
    // Strokes the detections explain (mostly inside their boxes) are left out before grouping,
    // so that a digit drawn close to a found one is proposed alone, not grouped with it. Boxes
    // together, not only one: two found digits of a number that touch are one stroke, which
    // neither box mostly covers, and a digit the heatmap missed beside them was grouped with
    // them and never read alone (`make scenes`: *number* 0.919 → 0.921, seed-like 0.991 →
    // 0.992; on seed 7 0.929 → 0.931 and 0.991 → 0.992; every other set the same).
    let mut groups: Vec<[usize; 4]> = strokes.boxes.iter().copied().filter(|&b| !explained(pixels(b))).collect();
    // A digit written so close beside a found one that the shrinking joins their strokes (a 1
    // a few pixels after a 3) is explained with it: the ink outside the detections' boxes,
    // grouped again, gives it back where it stands as tall as the digit beside it
    // ([`REMAINDER_TALL`]) — not a piece of that digit its box left out (a 5's flag).
    if !found.is_empty() {
        let mut rest = small.clone();
        let sw = rest.width;
        // The blocks whose middle lies in a box: block `i`'s middle is at f·i + (f − 1) / 2.
        let block = |v: f32| ((v - (f as f32 - 1.0) / 2.0) / f as f32).max(0.0);
        for d in found {
            let [x0, y0, x1, y1] = corners(d);
            let (bx0, by0) = (block(x0).ceil() as usize, block(y0).ceil() as usize);
            let (bx1, by1) =
                (((block(x1) + 1.0).floor() as usize).min(sw), ((block(y1) + 1.0).floor() as usize).min(rest.height));
            for by in by0..by1 {
                if bx0 < bx1 {
                    rest.pixels[by * sw + bx0..by * sw + bx1].fill(0.0);
                }
            }
        }
        let inside = |a: [usize; 4], b: [usize; 4]| b[0] <= a[0] && b[1] <= a[1] && a[2] <= b[2] && a[3] <= b[3];
        let beside_found = |g: [f32; 4]| {
            let r = f as f32;
            found.iter().filter(move |d| {
                let c = corners(d);
                c[0] - r <= g[2] && g[0] <= c[2] + r && c[1] - r <= g[3] && g[1] <= c[3] + r
            })
        };
        let tall = |b: [usize; 4]| {
            let g = pixels(b);
            let row = |d: &Detection| (0.5 * (g[1] + g[3]) - d.y).abs() <= REMAINDER_ROW * d.h;
            beside_found(g).next().is_some() && beside_found(g).all(|d| g[3] - g[1] >= REMAINDER_TALL * d.h && row(d))
        };
        // Not within ink left unexplained that stands much taller than the detections beside it
        // ([`REMAINDER_WITHIN`]): a large digit whose piece was found is proposed whole, not
        // around the hole its piece leaves.
        let larger = |b: [usize; 4]| {
            let most = beside_found(pixels(b)).map(|d| d.h).fold(0.0, f32::max);
            let height = |g: [usize; 4]| {
                let p = pixels(g);
                p[3] - p[1]
            };
            groups.iter().any(|&g| inside(b, g) && height(g) > REMAINDER_WITHIN * most)
        };
        let rest: Vec<[usize; 4]> =
            rest.strokes().boxes.into_iter().filter(|&b| !explained(pixels(b)) && tall(b) && !larger(b)).collect();
        // Ink holding such a digit is grouped as the digits it holds, not whole.
        groups.retain(|&g| !rest.iter().any(|&b| inside(b, g)));
        groups.extend(rest);
    }
    let near = |a: [usize; 4], b: [usize; 4]| {
        let reach = |g: [usize; 4]| ((g[2] - g[0]).max(g[3] - g[1]) / 10).max(1);
        let r = reach(a).max(reach(b));
        a[0] <= b[2] + r && b[0] <= a[2] + r && a[1] <= b[3] + r && b[1] <= a[3] + r
    };
    while let Some((i, j)) = (0..groups.len())
        .flat_map(|i| (i + 1..groups.len()).map(move |j| (i, j)))
        .find(|&(i, j)| near(groups[i], groups[j]))
    {
        groups[i] = union(groups[i], groups[j]);
        groups.swap_remove(j);
    }
    let mut left: Vec<Detection> = groups
        .into_iter()
        .map(pixels)
        .filter(|&g| longer_side(g) >= INK_PROPOSAL_LEAST)
        .filter(|g| !explained(*g) && !along_an_edge(image, *g))
        .map(|g| {
            let side = longer_side(g);
            Detection { digit: 0, score: 1.0, x: (g[0] + g[2]) / 2.0, y: (g[1] + g[3]) / 2.0, w: side, h: side }
        })
        .collect();
    // The largest first, ties in the grouping's order: a selection, not a sort (a sort of these
    // would be 8 KB of the module's code for a list that is seldom longer than the cap).
    let cap = looks(image.width, image.height);
    let mut proposals = Vec::with_capacity(cap.min(left.len()));
    while proposals.len() < cap {
        let Some(i) = (0..left.len()).reduce(|i, j| if left[j].w > left[i].w { j } else { i }) else {
            break;
        };
        proposals.push(left.remove(i));
    }
    proposals
}

/// Whether an ink group's box (`[x0, y0, x1, y1]` in `image`'s pixels) lies along an edge of the
/// image: its ink reaches the image's outermost column or row within the group's span — for a
/// tall group its left or right side only (a 1 may be drawn from the pad's top edge), for a wide
/// one any side. Such ink is the border of something larger — a sheet's edge on a desk, the
/// strip between a page and the photo's edge, which the classifier reads as a tall 1; clutter
/// spread across the whole image — not a digit drawn whole. Ink a few pixels clear of the edge
/// is not along it, though the grouping's blocks ([`GROUPING_FACTOR`]) reach the edge: a large
/// 0 drawn 3 px below the pad's top was not proposed when the blocks decided (`make scenes`:
/// pad's 160–320 px recall 0.931 → 0.934, every other figure the same; on the sets of seed 7,
/// negatives 0.058 → 0.056 false detections an image).
fn along_an_edge(image: &GrayImage, g: [f32; 4]) -> bool {
    let (w, h) = (image.width, image.height);
    if w == 0 || h == 0 {
        return false;
    }
    let span = |a: f32, b: f32, n: usize| (a.max(0.0) as usize).min(n)..(b.max(0.0) as usize).min(n);
    let inked_column = |x: usize| span(g[1], g[3], h).any(|y| at_least(image.at(x, y), INK));
    let inked_row = |y: usize| span(g[0], g[2], w).any(|x| at_least(image.at(x, y), INK));
    let sides = (g[0] <= 0.0 && inked_column(0)) || (g[2] >= w as f32 && inked_column(w - 1));
    let ends = (g[1] <= 0.0 && inked_row(0)) || (g[3] >= h as f32 && inked_row(h - 1));
    if g[3] - g[1] >= g[2] - g[0] { sides } else { sides || ends }
}

/// How an ink proposal stands to the sure detections (heatmap score at least [`BESIDE_SURE`])
/// around it ([`neighbours`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Neighbours {
    /// None of them is [`beside`] it.
    Alone,
    /// Beside one of them in its row, about its size ([`beside`]): a digit of a number the
    /// heatmap missed beside the ones it found.
    Beside,
    /// Beside one whose height its ink matches ([`IN_LINE_HEIGHT`]), its ink at least
    /// [`IN_LINE_WIDTH`] wide: a straight upright stroke there is a 1 (see [`as_drawn`]), in a
    /// picture as in a drawing. (`make scenes`: *number* 0.921 → 0.923, four 1s the heatmap
    /// missed; on scenes of seed 7, pad's 160–320 px recall 0.918 → 0.922; every other figure
    /// the same.)
    InLine,
}

/// An ink proposal's ink stands in line with a sure digit beside it where its height is within
/// this share of the digit's, up or down ([`Neighbours::InLine`]): written one after another in
/// a number, digits are one height; the detached stem of a 4 or a piece of a printed rule
/// between two rows is shorter. (`make scenes`: a straight stroke beside any sure digit read as
/// a 1 gave *paper* and *ruled* a false 1 each, a 4's stem and a rule's piece.)
pub const IN_LINE_HEIGHT: f32 = 0.2;
/// ... and where its ink is at least this wide (pixels; the cut-out's ink box, exact for a
/// proposal under 2 × [`SHRINK_SIDE`] a side, traced on a shrunk copy above): a pen's stroke,
/// not a printed rule one pixel thick (without it, *scan*'s margin line below a 2 and beside a
/// 4 of its height is a 1: 0.074 → 0.076 false detections an image).
pub const IN_LINE_WIDTH: f32 = 2.0;

/// How `proposal` (an ink proposal, its ink cut out as `cut`) stands to the `sure` detections.
pub fn neighbours(proposal: &Detection, cut: &CutOut, sure: &[Detection]) -> Neighbours {
    let mut beside_one = sure.iter().filter(|s| stands_beside(proposal, s)).peekable();
    if beside_one.peek().is_none() {
        return Neighbours::Alone;
    }
    let [x0, y0, x1, y1] = cut.ink;
    let h = y1 - y0;
    let alike = |s: &Detection| (h - s.h).abs() <= IN_LINE_HEIGHT * s.h;
    if x1 - x0 >= IN_LINE_WIDTH && beside_one.any(alike) { Neighbours::InLine } else { Neighbours::Beside }
}

/// An ink proposal ([`ink_proposals`]) after its two readings: kept, with the digit they agree
/// on and the score √(objectness), only where the ink its cut-out read is at least
/// [`INK_PROPOSAL_LEAST`] tall or wide, the FCN's cell's objectness is at least
/// [`INK_OBJECTNESS`] ([`INK_OBJECTNESS_SURE`] where the classifier gives the digit at least
/// [`INK_SURE`]; [`INK_OBJECTNESS_BESIDE`] where it stands beside a sure detection of its
/// size in its row: [`Neighbours`]), the classifier's most likely digit is the FCN's, and it
/// has half the averaged vote. A straight stroke is read as a drawing's ([`as_drawn`]) where
/// it is one or where it stands [`Neighbours::InLine`].
pub fn accept_proposal(
    cut: &CutOut,
    classifier: &[f32; CLASSES],
    fcn: &[f32; CLASSES],
    drawing: bool,
    neighbours: Neighbours,
) -> Option<Detection> {
    // The ink the cut-out read must be as large as the group proposed: a speck cut out of a
    // larger group (a fragment of a page's printed margin line) is no digit.
    if longer_side(cut.ink) < INK_PROPOSAL_LEAST {
        return None;
    }
    let (classifier, fcn) = &as_drawn(cut, classifier, fcn, drawing || neighbours == Neighbours::InLine);
    let objectness = 1.0 - fcn[BACKGROUND];
    let best = |p: &[f32; CLASSES]| (0..BACKGROUND).max_by(|&a, &b| p[a].total_cmp(&p[b]));
    let digit = best(classifier)?;
    let bar = if at_least(classifier[digit], INK_SURE) { INK_OBJECTNESS_SURE } else { INK_OBJECTNESS };
    let bar = if neighbours == Neighbours::Alone { bar } else { bar.min(INK_OBJECTNESS_BESIDE) };
    if !at_least(objectness, bar) || best(fcn)? != digit {
        return None;
    }
    // No digit of its own: where no digit has half the vote, `combine` leaves this one.
    let proposal = Detection { digit: BACKGROUND as u8, score: 1.0, x: 0.0, y: 0.0, w: 0.0, h: 0.0 };
    let strict = VerifyOptions { min_score: 0.0, min_objectness: bar, min_score_one: 0.0, drawing: false };
    combine(&proposal, cut, classifier, fcn, &strict).filter(|d| d.digit as usize == digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covered_counts_the_union_of_the_boxes_once() {
        // A detection of its centre and size; the box [x0, y0, x1, y1] it covers.
        let at = |x0: f32, y0: f32, x1: f32, y1: f32| Detection {
            digit: 1,
            score: 1.0,
            x: (x0 + x1) / 2.0,
            y: (y0 + y1) / 2.0,
            w: x1 - x0,
            h: y1 - y0,
        };
        let b = [0.0, 0.0, 100.0, 50.0];
        assert_eq!(covered(b, &[]), 0.0);
        assert_eq!(covered(b, &[at(200.0, 0.0, 300.0, 50.0)]), 0.0);
        // Two halves side by side: the whole; neither alone more than half.
        let halves = [at(0.0, 0.0, 50.0, 50.0), at(50.0, 0.0, 100.0, 50.0)];
        assert_eq!(covered(b, &halves), 5000.0);
        assert_eq!(covered(b, &halves[..1]), 2500.0);
        // Overlapping boxes count what they share once; a box reaching past `b` counts its part.
        let overlapping = [at(0.0, 0.0, 60.0, 40.0), at(40.0, 10.0, 100.0, 50.0), at(-20.0, -20.0, 10.0, 10.0)];
        assert_eq!(covered(b, &overlapping), 60.0 * 40.0 + 60.0 * 40.0 - 20.0 * 30.0 + 0.0);
        // One box inside another adds nothing.
        assert_eq!(covered(b, &[at(0.0, 0.0, 100.0, 50.0), at(10.0, 10.0, 20.0, 20.0)]), 5000.0);
    }

    /// A black `w`×`h` image with the given filled rectangles `(x0, y0, x1, y1)` (exclusive ends).
    fn image(w: usize, h: usize, rects: &[(usize, usize, usize, usize)]) -> GrayImage {
        let mut img = GrayImage::blank(w, h);
        for &(x0, y0, x1, y1) in rects {
            for y in y0..y1 {
                img.pixels[y * w + x0..y * w + x1].fill(1.0);
            }
        }
        img
    }

    fn at(x: f32, y: f32, side: f32) -> Detection {
        Detection { digit: 1, score: 0.8, x, y, w: side, h: side }
    }

    #[test]
    fn the_ink_box_is_scaled_to_20_px_and_its_centre_of_mass_centred() {
        // A 10×40 bar (a "1") whose detection is a few pixels off its centre.
        let img = image(200, 200, &[(95, 80, 105, 120)]);
        let cut = cut_out(&img, &at(103.0, 96.0, 56.0)).unwrap();
        assert_eq!(cut.ink, [95.0, 80.0, 105.0, 120.0]);
        // 40 px tall → 20: the bar is 5 px wide (11.5 to 16.5), 20 tall, centred on (14, 14).
        let rows: Vec<usize> = (0..SIDE).filter(|&y| cut.mnist.pixels[y * SIDE + 14] > 0.5).collect();
        assert_eq!((rows[0], rows[rows.len() - 1]), (4, 23));
        let row = &cut.mnist.pixels[14 * SIDE..15 * SIDE];
        assert_eq!((0..SIDE).filter(|&x| row[x] == 1.0).collect::<Vec<_>>(), [12, 13, 14, 15]);
        assert_eq!((row[10], row[11], row[16], row[17]), (0.0, 0.5, 0.5, 0.0), "half-covered edge pixels");
        let (mx, my) = cut.mnist.centre_of_mass().unwrap();
        assert!((mx - 14.0).abs() < 0.5 && (my - 14.0).abs() < 0.5, "{mx} {my}");
        // On the FCN's canvas, the box's centre on cell (2, 2)'s centre, pixel 23 (23.5): the
        // bar spans 13.5 to 33.5.
        let rows: Vec<usize> = (0..CANVAS).filter(|&y| cut.canvas.pixels[y * CANVAS + 23] > 0.5).collect();
        assert_eq!((rows[0], rows[rows.len() - 1]), (14, 32));
        assert_eq!((cut.canvas.pixels[13 * CANVAS + 23], cut.canvas.pixels[33 * CANVAS + 23]), (0.5, 0.5));
    }

    #[test]
    fn a_large_detection_is_traced_shrunk_without_breaking_a_thin_stroke() {
        // A 1-px outline of a 230×290 box (a "0" drawn with the thinnest pen) on a 448×336 pad:
        // its window is shrunk 3 times, the outline stays one stroke, the ink box holds it to
        // within a block.
        let (x0, y0, x1, y1) = (100, 20, 330, 310);
        let img =
            image(448, 336, &[(x0, y0, x1, y0 + 1), (x0, y1 - 1, x1, y1), (x0, y0, x0 + 1, y1), (x1 - 1, y0, x1, y1)]);
        let d = at(215.0, 165.0, 290.0);
        assert_eq!(shrink(290.0), 3);
        let cut = cut_out(&img, &d).unwrap();
        let truth = [x0 as f32, y0 as f32, x1 as f32, y1 as f32];
        assert!(cut.ink.iter().zip(truth).all(|(a, b)| (a - b).abs() < 3.0), "{:?}", cut.ink);
        assert!(!cut.part);
        // The outline reaches the cut-out's 20-px box on every side, at full strength.
        let rows: Vec<usize> =
            (0..SIDE).filter(|&y| cut.mnist.pixels[y * SIDE..(y + 1) * SIDE].iter().any(|&v| v > 0.5)).collect();
        assert!(rows.len() >= 19 && rows.len() <= 22, "{} rows of ink", rows.len());
        // Shrinking a window: each pixel the maximum of its 3×3 block of the window (the last
        // row and column of blocks cut short where the window ends).
        let (rows, cols) = (5..336, 7..440);
        let shrunk = img.block_max(&rows, &cols, 3);
        assert_eq!((shrunk.width, shrunk.height), (cols.len().div_ceil(3), rows.len().div_ceil(3)));
        for (i, &v) in shrunk.pixels.iter().enumerate() {
            let (bx, by) = (cols.start + 3 * (i % shrunk.width), rows.start + 3 * (i / shrunk.width));
            let block = (by..(by + 3).min(rows.end))
                .flat_map(|y| (bx..(bx + 3).min(cols.end)).map(move |x| (x, y)))
                .map(|(x, y)| img.pixels[y * 448 + x]);
            assert_eq!(v, block.fold(f32::MIN, f32::max), "block {i}");
        }
        assert_eq!((shrink(95.0), shrink(f32::NAN), shrink(1000.0), shrink(1e30)), (1, 1, 10, 4096));
        // A detection of absurd size: cut out without overflow.
        assert!(cut_out(&img, &at(215.0, 165.0, 1e30)).is_some());
    }

    #[test]
    fn strokes_are_8_connected_numbered_by_first_pixel_with_boxes_and_areas() {
        // A diagonal (one stroke, corners touching), a separate bar, a lone pixel at the image's
        // last corner, and faint pixels (under INK) that join nothing.
        let mut img = GrayImage::blank(7, 5);
        for (x, y) in [(4, 0), (3, 1), (2, 2), (0, 4), (1, 4), (2, 4), (6, 4)] {
            img.pixels[y * 7 + x] = 1.0;
        }
        img.pixels[6] = INK * 0.5;
        let s = img.strokes();
        assert_eq!(s.boxes, [[2, 0, 4, 2], [0, 4, 2, 4], [6, 4, 6, 4]]);
        assert_eq!(s.areas, [3, 3, 1]);
        assert_eq!((s.label[4], s.label[2 * 7 + 2], s.label[4 * 7], s.label[4 * 7 + 6]), (0, 0, 1, 2));
        assert_eq!(s.label.iter().filter(|&&l| l == u32::MAX).count(), 35 - 7);
        // An empty image and one of a single column.
        assert!(GrayImage::blank(0, 0).strokes().boxes.is_empty());
        let column = GrayImage { width: 1, height: 3, pixels: vec![1.0, 0.0, 1.0] };
        assert_eq!(column.strokes().boxes, [[0, 0, 0, 0], [0, 2, 0, 2]]);
    }

    #[test]
    fn the_same_ink_read_twice_is_kept_once_with_the_better_reading() {
        let d = |digit: u8, score: f32, x: f32, w: f32| Detection { digit, score, x, y: 50.0, w, h: w };
        // Two proposals whose cut-outs took in the same strokes (IoU 0.86), and a digit beside
        // them overlapping a little; then two boxes a third of a side apart (IoU 0.5: two
        // digits that touch).
        let mut found = vec![d(7, 0.8, 100.0, 40.0), d(1, 0.9, 102.0, 38.0), d(3, 0.7, 130.0, 40.0)];
        drop_pieces(&mut found);
        assert_eq!(found.iter().map(|d| d.digit).collect::<Vec<_>>(), [1, 3]);
        let mut found = vec![d(0, 0.9, 100.0, 30.0), d(6, 0.8, 110.0, 30.0)];
        drop_pieces(&mut found);
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn a_piece_of_a_larger_drawing_is_dropped_and_a_whole_digit_kept() {
        // A 28-px detection on the middle of a 200-px stroke: its ink runs past the window (and
        // past twice its box) — a piece; `combine` drops it however sure the readings are.
        let img = image(300, 300, &[(147, 50, 153, 250)]);
        let cut = cut_out(&img, &at(150.0, 150.0, 28.0)).unwrap();
        assert!(cut.part);
        let sure: [f32; CLASSES] = std::array::from_fn(|k| if k == 1 { 1.0 } else { 0.0 });
        assert_eq!(combine(&at(150.0, 150.0, 28.0), &cut, &sure, &sure, &VerifyOptions::default()), None);
        // The same stroke 20 px long: whole inside its window.
        let img = image(300, 300, &[(147, 140, 153, 160)]);
        let cut = cut_out(&img, &at(150.0, 150.0, 28.0)).unwrap();
        assert!(!cut.part);
        assert!(combine(&at(150.0, 150.0, 28.0), &cut, &sure, &sure, &VerifyOptions::default()).is_some());
        // Running past the window but not far (two digits side by side touching, 2.5 boxes
        // wide): not a piece.
        let img = image(300, 300, &[(115, 140, 185, 145), (147, 140, 153, 160)]);
        assert!(!cut_out(&img, &at(150.0, 150.0, 28.0)).unwrap().part);
        // Cut only by the image's edge: not a piece.
        let img = image(300, 300, &[(147, 0, 153, 20)]);
        assert!(!cut_out(&img, &at(150.0, 8.0, 28.0)).unwrap().part);
        // A 100-px detection (its wide window traced shrunk 3×) on a 1-px stroke 640 px long: a
        // piece; on one 90 px long with a 1-px neighbour 2 px beside it (joined by the shrinking,
        // still short): not.
        let img = image(700, 700, &[(350, 30, 351, 670)]);
        assert!(cut_out(&img, &at(350.0, 350.0, 100.0)).unwrap().part);
        let img = image(700, 700, &[(350, 305, 351, 395), (353, 300, 354, 400)]);
        assert!(!cut_out(&img, &at(350.0, 350.0, 100.0)).unwrap().part);
    }

    /// Two 30×40 rings (two 0s of a number) side by side, joined by a 4-px bridge at mid-height:
    /// one stroke.
    fn touching_zeros() -> GrayImage {
        let ring = |x0: usize| {
            [(x0, 60, x0 + 30, 64), (x0, 96, x0 + 30, 100), (x0, 60, x0 + 4, 100), (x0 + 26, 60, x0 + 30, 100)]
        };
        let mut rects: Vec<(usize, usize, usize, usize)> = ring(100).into_iter().chain(ring(134)).collect();
        rects.push((130, 78, 134, 82));
        image(300, 160, &rects)
    }

    #[test]
    fn a_digit_touching_its_neighbour_is_cut_out_without_it() {
        let img = touching_zeros();
        let (left, right) = (at(115.0, 80.0, 44.0), at(149.0, 80.0, 44.0));
        // Alone, the left 0's strokes run on into the right one's: both are cut out.
        assert_eq!(cut_out(&img, &left).unwrap().ink, [100.0, 60.0, 164.0, 100.0]);
        // Beside its neighbour, it stops at the bridge (the column of least ink between them).
        let found = beside(&left, &[left.clone(), right.clone()]);
        assert_eq!(found, Beside { left: None, right: Some(149.0) });
        let cut = cut_out_within(&img, &left, Fences::beside(found)).unwrap();
        assert!(cut.ink[0] == 100.0 && (130.0..=134.0).contains(&cut.ink[2]), "{:?}", cut.ink);
        let cut = cut_out_within(&img, &right, Fences::beside(beside(&right, &[left.clone(), right.clone()]))).unwrap();
        assert!(cut.ink[2] == 164.0 && (130.0..=134.0).contains(&cut.ink[0]), "{:?}", cut.ink);
        // Not a neighbour: a box 3× the size, another row, the same place.
        let big = at(149.0, 80.0, 132.0);
        let below = at(149.0, 100.0, 44.0);
        let same = at(120.0, 80.0, 44.0);
        assert_eq!(beside(&left, &[big, below, same]), Beside::default());
        // One wide digit is not fenced: a 0 70 px wide and 40 tall whose neighbour is close
        // enough to fence is cut, one 40 wide and 40 tall (ring of the same ink) is not.
        let square =
            image(300, 160, &[(100, 60, 140, 64), (100, 96, 140, 100), (100, 60, 104, 100), (136, 60, 140, 100)]);
        let d = at(120.0, 80.0, 44.0);
        let cut = cut_out_within(&square, &d, Fences::beside(Beside { left: None, right: Some(140.0) })).unwrap();
        assert_eq!(cut.ink, [100.0, 60.0, 140.0, 100.0]);
    }

    #[test]
    fn ink_read_as_no_digit_and_wide_is_cut_in_two_halves() {
        let img = touching_zeros();
        let whole = cut_out(&img, &at(132.0, 80.0, 64.0)).unwrap();
        assert_eq!(whole.ink, [100.0, 60.0, 164.0, 100.0]);
        // Read as no digit, but not surely nothing.
        let mut fcn = [0.0; CLASSES];
        fcn[BACKGROUND] = 0.9;
        assert!(worth_another_look(&whole, &fcn));
        let [(l, lf), (r, rf)] = halves(&at(132.0, 80.0, 64.0), &whole).unwrap();
        assert!(l.x < 132.0 && r.x > 132.0);
        let (left, right) = (cut_out_within(&img, &l, lf).unwrap(), cut_out_within(&img, &r, rf).unwrap());
        assert!(left.ink[0] == 100.0 && (130.0..=134.0).contains(&left.ink[2]), "{:?}", left.ink);
        assert!(right.ink[2] == 164.0 && (130.0..=134.0).contains(&right.ink[0]), "{:?}", right.ink);
        assert_eq!(left.fences.wide, SPLIT_WIDE);
        // Taller than wide: no halves; a piece of a larger drawing: none either.
        let one = image(300, 160, &[(100, 20, 110, 140)]);
        let cut = cut_out(&one, &at(105.0, 80.0, 120.0)).unwrap();
        assert!(halves(&at(105.0, 80.0, 120.0), &cut).is_none());
        let part = CutOut { part: true, ..whole.clone() };
        assert!(halves(&at(132.0, 80.0, 64.0), &part).is_none() && !worth_another_look(&part, &fcn));
        // Surely nothing (a scribble): not looked at again.
        fcn[BACKGROUND] = 0.99;
        assert!(!worth_another_look(&whole, &fcn));
    }

    #[test]
    fn ink_read_as_one_digit_that_stands_as_two_tall_parts_is_cut_apart() {
        // A "1" (a bar) written against a "0" (a ring), joined by a 4-px stroke: one cut-out.
        let ring = [(112, 20, 160, 26), (112, 94, 160, 100), (112, 20, 118, 100), (154, 20, 160, 100)];
        let one_zero = image(300, 160, &[&ring[..], &[(100, 20, 108, 100), (108, 56, 112, 60)]].concat());
        let d = at(130.0, 60.0, 80.0);
        let whole = cut_out(&one_zero, &d).unwrap();
        assert_eq!(whole.ink, [100.0, 20.0, 160.0, 100.0]);
        // Cut at the joining stroke (the column crossing the least ink, nearest the middle).
        let [(l, lf), (r, rf)] = apart(&one_zero, &d, &whole).unwrap();
        assert_eq!((lf.beside.right, rf.beside.left, lf.at && rf.at), (Some(111.5), Some(111.5), true));
        assert!(l.x < 111.5 && r.x > 111.5 && l.h == 80.0);
        let (left, right) = (cut_out_within(&one_zero, &l, lf).unwrap(), cut_out_within(&one_zero, &r, rf).unwrap());
        assert_eq!((left.ink[0], right.ink[2]), (100.0, 160.0));
        assert!(
            (108.0..=111.0).contains(&left.ink[2]) && (112.0..=113.0).contains(&right.ink[0]),
            "{left:?} {right:?}"
        );
        // The same two a gap of empty columns apart, in one cut-out's ink (as where the shrunk
        // tracing joins them): cut in the gap.
        let gap = image(300, 160, &[&ring[..], &[(100, 20, 108, 100)]].concat());
        let [(_, lf), _] = apart(&gap, &d, &whole).unwrap();
        assert_eq!(lf.beside.right, Some(111.5));
        // The ring alone: every column crosses it twice or along a side; no two parts.
        let zero = image(300, 160, &ring);
        assert!(apart(&zero, &at(136.0, 60.0, 80.0), &cut_out(&zero, &at(136.0, 60.0, 80.0)).unwrap()).is_none());
        // A 4 drawn in two strokes: its left part stands only half the height.
        let four = image(300, 160, &[(100, 20, 106, 64), (100, 58, 150, 64), (136, 20, 142, 100)]);
        let d4 = at(125.0, 60.0, 80.0);
        assert!(apart(&four, &d4, &cut_out(&four, &d4).unwrap()).is_none());
        // Too narrow for two digits; a piece of a larger drawing.
        let one = image(300, 160, &[(100, 20, 110, 100)]);
        assert!(apart(&one, &at(105.0, 60.0, 80.0), &cut_out(&one, &at(105.0, 60.0, 80.0)).unwrap()).is_none());
        assert!(apart(&one_zero, &d, &CutOut { part: true, ..whole }).is_none());
    }

    /// A cut-out whose classifier input is `mnist`, for the readings of parts cut apart.
    fn cut_of(mnist: GrayImage) -> CutOut {
        CutOut {
            mnist,
            canvas: GrayImage::blank(1, 1),
            ink: [0.0, 0.0, 1.0, 1.0],
            part: false,
            runs_on: false,
            fences: Fences::default(),
        }
    }

    fn sure(digit: usize, p: f32) -> [f32; CLASSES] {
        let mut r = [0.0; CLASSES];
        r[digit] = p;
        r[BACKGROUND] = 1.0 - p;
        r
    }

    #[test]
    fn parts_cut_apart_are_two_digits_only_where_both_are_sure() {
        let whole = Detection { digit: 0, score: 0.9, x: 130.0, y: 60.0, w: 60.0, h: 80.0 };
        let part = |digit: u8, score: f32| Some(Detection { digit, score, x: 0.0, y: 0.0, w: 10.0, h: 80.0 });
        // Cut-outs that are no stroke: only the first rule can read them as two.
        let blob = cut_of(GrayImage::blank(SIDE, SIDE));
        let (one, zero) = (sure(1, 0.99), sure(0, 0.985));
        let read = |l: (Option<Detection>, &[f32; CLASSES]), r: (Option<Detection>, &[f32; CLASSES])| {
            read_apart(&whole, [(l.0, l.1, &blob), (r.0, r.1, &blob)], false)
        };
        let two = read((part(1, 0.92), &one), (part(0, 0.9), &zero)).unwrap();
        assert_eq!(two.map(|d| d.digit), [1, 0]);
        // One part the classifier is not sure of, one scoring under the whole, one not a digit.
        assert!(read((part(1, 0.92), &sure(1, 0.97)), (part(0, 0.9), &zero)).is_none());
        assert!(read((part(1, 0.92), &one), (part(0, 0.89), &zero)).is_none());
        assert!(read((None, &one), (part(0, 0.9), &zero)).is_none());
        // The classifier's probability of the part's own digit counts, not its most likely one.
        assert!(read((part(7, 0.92), &one), (part(0, 0.9), &zero)).is_none());
    }

    #[test]
    fn a_one_written_against_a_digit_is_read_apart_from_it_however_the_whole_scored() {
        // A 4 whose FCN cell scored 0.86 as a whole, cut into an upright stroke and a 4 that
        // score 0.84 and 0.79 (the `number` set's "14", the 1 touching the 4's bar).
        let whole = Detection { digit: 4, score: 0.86, x: 155.0, y: 223.0, w: 134.0, h: 118.0 };
        let part = |digit: u8, h: f32| Some(Detection { digit, score: 0.8, x: 0.0, y: 0.0, w: 20.0, h });
        let stroke = cut_of(image(SIDE, SIDE, &[(12, 4, 16, 24)]));
        let broken = cut_of(image(SIDE, SIDE, &[(12, 4, 16, 8), (12, 20, 16, 24)]));
        let four = cut_of(image(SIDE, SIDE, &[(6, 4, 9, 16), (6, 14, 22, 17), (18, 4, 21, 24)]));
        let (one, sure_four) = (sure(1, 0.99), sure(4, 0.99));
        let read = |l: (Option<Detection>, &[f32; CLASSES], &CutOut),
                    r: (Option<Detection>, &[f32; CLASSES], &CutOut)| {
            read_apart(&whole, [l, r], false)
        };
        let two = read((part(1, 110.0), &one, &stroke), (part(4, 110.0), &sure_four, &four)).unwrap();
        assert_eq!(two.map(|d| d.digit), [1, 4]);
        // The other part need not be the whole's digit, but the classifier must be sure of it.
        let three = sure(3, 0.99);
        assert!(read((part(1, 110.0), &one, &stroke), (part(3, 110.0), &three, &four)).is_some());
        assert!(read((part(1, 110.0), &one, &stroke), (part(4, 110.0), &sure(4, 0.9), &four)).is_none());
        // The 1: sure, as tall as the whole, one unbroken stroke.
        assert!(read((part(1, 110.0), &sure(1, 0.9), &stroke), (part(4, 110.0), &sure_four, &four)).is_none());
        assert!(read((part(1, 60.0), &one, &stroke), (part(4, 110.0), &sure_four, &four)).is_none());
        assert!(read((part(1, 110.0), &one, &broken), (part(4, 110.0), &sure_four, &four)).is_none());
        // After a 4, an upright stroke is its stem: not read apart; after a 3 it is a 1.
        assert!(read((part(4, 110.0), &sure_four, &four), (part(1, 110.0), &one, &stroke)).is_none());
        let whole = Detection { digit: 3, ..whole };
        let two = read_apart(&whole, [(part(3, 110.0), &three, &four), (part(1, 110.0), &one, &stroke)], false);
        assert_eq!(two.unwrap().map(|d| d.digit), [3, 1]);
        // In a drawing, a straight stroke the classifier reads as half background is a 1.
        let faint = sure(1, 0.6);
        let parts = |stroke| [(part(1, 110.0), &faint, stroke), (part(4, 110.0), &sure_four, &four)];
        assert!(read_apart(&whole, parts(&stroke), false).is_none());
        assert!(read_apart(&whole, parts(&stroke), true).is_some());
        assert!(read_apart(&whole, parts(&broken), true).is_none(), "a broken stroke is not a 1");
    }

    #[test]
    fn a_digit_larger_than_its_detections_window_is_cut_out_whole() {
        // A 7 of 80 × 120 px (a bar and a stem) whose detection is a 60-px box on its top half,
        // as a coarse level finds a digit larger than its cells: the window (75 px) holds a
        // piece, but the strokes end within twice the box's height, so all of them are read.
        let img = image(300, 300, &[(100, 60, 180, 66), (174, 60, 180, 180)]);
        let d = at(140.0, 90.0, 60.0);
        let cut = cut_out(&img, &d).unwrap();
        assert!(!cut.part && cut.runs_on);
        assert_eq!(cut.ink, [100.0, 60.0, 180.0, 180.0]);
        // Every pixel it read lies in what `reads` says it depends on.
        let (rows, cols) = reads(&d, &cut, 300, 300);
        assert!(rows.start <= 60 && rows.end >= 180 && cols.start <= 100 && cols.end >= 180, "{rows:?} {cols:?}");
        // The stem 70 px longer (190 px, over twice the box): a piece of a larger drawing.
        let img = image(300, 300, &[(100, 60, 180, 66), (174, 60, 180, 250)]);
        assert!(cut_out(&img, &d).unwrap().part);
    }

    #[test]
    fn in_a_drawing_a_lone_straight_upright_stroke_is_a_1_whatever_the_readings() {
        // Readings that call the ink a line (background 0.75), as the network reads a 1 drawn
        // 200 px tall with a 6-px pen.
        let line: [f32; CLASSES] = std::array::from_fn(|k| match k {
            1 => 0.2,
            BACKGROUND => 0.75,
            _ => 0.05 / 9.0,
        });
        let (image_mode, drawing) = (VerifyOptions::default(), VerifyOptions { drawing: true, ..Default::default() });
        let d = Detection { digit: 1, score: 0.9, x: 150.0, y: 150.0, w: 60.0, h: 200.0 };
        let upright = image(300, 300, &[(147, 50, 153, 250)]);
        let cut = cut_out(&upright, &d).unwrap();
        assert_eq!(combine(&d, &cut, &line, &line, &image_mode), None, "an image: a line");
        let one = combine(&d, &cut, &line, &line, &drawing).unwrap();
        assert_eq!((one.digit, one.score), (1, 0.9f32.sqrt()));
        assert_eq!(accept_proposal(&cut, &line, &line, false, Neighbours::Alone), None);
        assert_eq!(accept_proposal(&cut, &line, &line, true, Neighbours::Alone).map(|d| d.digit), Some(1));
        // In a picture, in line with a sure digit of its height beside it: a 1 of a number.
        assert_eq!(accept_proposal(&cut, &line, &line, false, Neighbours::Beside), None);
        assert_eq!(accept_proposal(&cut, &line, &line, false, Neighbours::InLine).map(|d| d.digit), Some(1));
        // Lying down: no 1 even in a drawing.
        let flat = Detection { w: 200.0, h: 60.0, ..d };
        let cut = cut_out(&image(300, 300, &[(50, 147, 250, 153)]), &flat).unwrap();
        assert_eq!(combine(&flat, &cut, &line, &line, &drawing), None);
        // A 7 (a bar and a stem) is not one straight stroke: as read.
        let seven = image(300, 300, &[(100, 50, 200, 56), (194, 50, 200, 250)]);
        let d7 = Detection { w: 100.0, ..d };
        let cut = cut_out(&seven, &d7).unwrap();
        assert_eq!(combine(&d7, &cut, &line, &line, &drawing), None);
        // Readings sure of another digit keep it (the background is only ever given to the 1).
        let seven_read: [f32; CLASSES] = std::array::from_fn(|k| match k {
            7 => 0.8,
            BACKGROUND => 0.2,
            _ => 0.0,
        });
        let cut = cut_out(&upright, &d).unwrap();
        assert_eq!(combine(&d, &cut, &seven_read, &seven_read, &drawing).map(|d| d.digit), Some(7));
    }

    #[test]
    fn a_stroke_stands_in_line_only_beside_a_sure_digit_of_its_height_and_drawn_with_a_pen() {
        // A stroke 100 px tall, 6 px wide, proposed as a square box around its ink.
        let stroke = image(600, 300, &[(297, 50, 303, 150)]);
        let proposal = Detection { digit: 0, score: 1.0, x: 300.0, y: 100.0, w: 100.0, h: 100.0 };
        let cut = cut_out(&stroke, &proposal).unwrap();
        let digit = |x: f32, h: f32| Detection { digit: 4, score: 0.95, x, y: 100.0, w: 0.7 * h, h };
        assert_eq!(neighbours(&proposal, &cut, &[]), Neighbours::Alone);
        assert_eq!(neighbours(&proposal, &cut, &[digit(370.0, 95.0)]), Neighbours::InLine);
        // Beside a digit a third taller: beside, not in line (a 4's detached stem).
        assert_eq!(neighbours(&proposal, &cut, &[digit(370.0, 135.0)]), Neighbours::Beside);
        // In line with one of two: the one of its height counts.
        assert_eq!(neighbours(&proposal, &cut, &[digit(230.0, 135.0), digit(370.0, 100.0)]), Neighbours::InLine);
        // A digit in another row, or of another size, is not beside it.
        assert_eq!(neighbours(&proposal, &cut, &[Detection { y: 170.0, ..digit(370.0, 100.0) }]), Neighbours::Alone);
        assert_eq!(neighbours(&proposal, &cut, &[digit(370.0, 30.0)]), Neighbours::Alone);
        // A printed rule one pixel thick: never in line.
        let rule = image(600, 300, &[(300, 50, 301, 150)]);
        let cut = cut_out(&rule, &proposal).unwrap();
        assert_eq!(neighbours(&proposal, &cut, &[digit(370.0, 100.0)]), Neighbours::Beside);
    }

    #[test]
    fn a_detection_lying_inside_a_much_larger_one_is_a_piece_of_it() {
        let big = Detection { digit: 5, score: 0.7, x: 100.0, y: 100.0, w: 100.0, h: 120.0 };
        // The 5's detached bar, read alone as a 7 (more sure than the whole 5).
        let bar = Detection { digit: 7, score: 0.9, x: 110.0, y: 50.0, w: 60.0, h: 16.0 };
        // A digit beside it, and one as large overlapping it half.
        let beside = Detection { digit: 3, score: 0.6, x: 200.0, y: 100.0, w: 30.0, h: 40.0 };
        let overlapping = Detection { digit: 2, score: 0.6, x: 150.0, y: 100.0, w: 100.0, h: 120.0 };
        let mut found = vec![bar.clone(), big.clone(), beside.clone(), overlapping.clone()];
        drop_pieces(&mut found);
        assert_eq!(found, [big, beside, overlapping]);
        // Nothing larger: kept.
        let mut alone = vec![bar.clone()];
        drop_pieces(&mut alone);
        assert_eq!(alone, [bar]);
    }

    #[test]
    fn a_box_under_twice_as_large_holds_a_piece_only_where_it_reads_surer() {
        // A 3 drawn 266 px tall on the pad, and its top read as a 2 (1.92 times smaller a box,
        // sharing its top): the 2 is a piece where the 3 reads surer by 0.02.
        let three = Detection { digit: 3, score: 0.992, x: 223.0, y: 168.0, w: 160.0, h: 266.0 };
        let top = Detection { digit: 2, score: 0.961, x: 234.5, y: 117.0, w: 137.0, h: 162.0 };
        let mut found = vec![three.clone(), top.clone()];
        drop_pieces(&mut found);
        assert_eq!(found.iter().map(|d| d.digit).collect::<Vec<_>>(), [3]);
        // Read as sure as the whole (a 3 under a false 5 that took in a rule's piece): kept.
        let sure = Detection { score: 0.98, ..top };
        let mut found = vec![three.clone(), sure.clone()];
        drop_pieces(&mut found);
        assert_eq!(found, [three, sure]);
    }

    #[test]
    fn a_piece_read_as_the_same_digit_joins_the_larger_box_it_mostly_lies_in() {
        // A 1 with a long flag drawn 250 px tall: the whole 1 read short of its stem's foot
        // (7..215), and the stem read alone (68..266), 0.74 of it inside the 1's box.
        let whole = Detection { digit: 1, score: 0.788, x: 181.0, y: 111.0, w: 72.0, h: 208.0 };
        let stem = Detection { digit: 1, score: 0.792, x: 212.0, y: 167.0, w: 10.0, h: 198.0 };
        let mut found = vec![stem.clone(), whole.clone()];
        drop_pieces(&mut found);
        assert_eq!(found.len(), 1, "{found:?}");
        let d = &found[0];
        assert_eq!((d.digit, d.score), (1, 0.788));
        // The box takes the stem in: 145..217 × 7..266.
        assert_eq!((d.x - d.w / 2.0, d.y - d.h / 2.0, d.x + d.w / 2.0, d.y + d.h / 2.0), (145.0, 7.0, 217.0, 266.0));
        // Read as another digit, the same overlap is not a piece (under PIECE_INSIDE): both stay.
        let seven = Detection { digit: 7, ..stem.clone() };
        let mut found = vec![seven.clone(), whole.clone()];
        drop_pieces(&mut found);
        assert_eq!(found.len(), 2, "{found:?}");
        // Two 1s side by side, their boxes touching: both stay.
        let beside = Detection { x: 181.0 + 70.0, ..whole.clone() };
        let mut found = vec![whole.clone(), beside];
        drop_pieces(&mut found);
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn a_neighbours_stroke_entering_the_window_is_left_out_but_a_detached_part_joins() {
        // The digit: a 20×30 block at (90..110, 85..115); a neighbour's bar enters the window.
        let img = image(240, 200, &[(90, 85, 110, 115), (125, 60, 135, 140)]);
        let cut = cut_out(&img, &at(100.0, 100.0, 48.0)).unwrap();
        assert_eq!(cut.ink, [90.0, 85.0, 110.0, 115.0], "the bar at x 125 stays out");
        // A "C" (top, left and bottom bars, joined) and a detached flag off its middle, two
        // thirds of it inside the C's box: it joins, and widens the ink box.
        let c = [(90, 80, 120, 84), (90, 80, 94, 120), (90, 116, 120, 120)];
        let img = image(240, 200, &[c[0], c[1], c[2], (112, 100, 124, 104)]);
        let cut = cut_out(&img, &at(105.0, 100.0, 48.0)).unwrap();
        assert_eq!(cut.ink, [90.0, 80.0, 124.0, 120.0]);
        // Less than half inside: left out.
        let img = image(240, 200, &[c[0], c[1], c[2], (116, 100, 128, 104)]);
        assert_eq!(cut_out(&img, &at(105.0, 100.0, 48.0)).unwrap().ink, [90.0, 80.0, 120.0, 120.0]);
        // The neighbour's bar alone, no ink at the middle: nothing to cut out.
        let img = image(240, 200, &[(125, 60, 135, 140)]);
        assert!(cut_out(&img, &at(100.0, 100.0, 48.0)).is_none());
    }

    #[test]
    fn a_digit_at_the_images_edge_and_a_degenerate_detection_are_handled() {
        let img = image(60, 60, &[(0, 0, 8, 30)]);
        let cut = cut_out(&img, &at(3.0, 14.0, 28.0)).unwrap();
        assert_eq!(cut.ink, [0.0, 0.0, 8.0, 30.0]);
        assert!(cut_out(&img, &at(f32::NAN, 14.0, 28.0)).is_none());
        assert!(cut_out(&img, &at(500.0, 14.0, 28.0)).is_none(), "outside the image");
    }

    #[test]
    fn combining_rereads_the_digit_drops_background_and_tightens_the_box() {
        let cut = CutOut {
            mnist: GrayImage::blank(1, 1),
            canvas: GrayImage::blank(1, 1),
            ink: [10.0, 20.0, 30.0, 60.0],
            part: false,
            runs_on: false,
            fences: Fences::default(),
        };
        let d = Detection { digit: 1, score: 0.64, x: 22.0, y: 41.0, w: 56.0, h: 56.0 };
        let mut classifier = [0.0; CLASSES];
        classifier[7] = 0.9;
        classifier[1] = 0.1;
        let mut fcn = [0.0; CLASSES];
        fcn[7] = 0.5;
        fcn[1] = 0.3;
        fcn[BACKGROUND] = 0.2;
        let options = VerifyOptions::default();
        let out = combine(&d, &cut, &classifier, &fcn, &options).unwrap();
        assert_eq!(out.digit, 7, "7: 0.5·0.9 + 0.5·0.625 against 1's 0.5·0.1 + 0.5·0.375");
        assert!((out.score - (0.64f32 * 0.8).sqrt()).abs() < 1e-6);
        assert_eq!((out.x, out.y, out.w, out.h), (20.0, 40.0, 20.0, 40.0));
        // No digit with half the vote: the heatmap's digit stays.
        let mut split = [0.0; CLASSES];
        split[2] = 0.4;
        split[3] = 0.35;
        split[7] = 0.25;
        assert_eq!(combine(&d, &cut, &split, &split, &options).unwrap().digit, 1);
        // The FCN's cell says background: dropped, by either threshold.
        let mut bg = fcn;
        bg[BACKGROUND] = 0.75;
        assert!(combine(&d, &cut, &classifier, &bg, &options).is_none(), "objectness 0.25 < 0.3");
        let weak = Detection { score: 0.25, ..d.clone() };
        assert!(combine(&weak, &cut, &classifier, &fcn, &options).is_none(), "√(0.25·0.8) = 0.447 < 0.45");
    }

    /// A 28² cut-out holding a bar 18 px long and about 2 px wide through its centre, leaning
    /// `degrees` from upright (clockwise).
    fn bar(degrees: f32) -> GrayImage {
        let mut img = GrayImage::blank(SIDE, SIDE);
        let (s, c) = degrees.to_radians().sin_cos();
        for k in -36..=36 {
            for across in [-0.5f32, 0.5] {
                let t = k as f32 / 4.0;
                let (x, y) = (14.0 + t * s + across * c, 14.0 - t * c + across * s);
                img.pixels[y as usize * SIDE + x as usize] = 1.0;
            }
        }
        img
    }

    #[test]
    fn a_1_must_stand_within_45_degrees_of_upright_and_score_higher_than_other_digits() {
        for degrees in [0.0f32, 20.0, 40.0, 60.0, 80.0] {
            for signed in [degrees, -degrees] {
                let lean = lean(&bar(signed)).unwrap();
                assert!((lean - degrees).abs() < 3.0, "a bar at {signed}° leans {lean}°");
            }
        }
        assert_eq!(lean(&GrayImage::blank(SIDE, SIDE)), None, "no ink");
        assert_eq!(lean(&image(SIDE, SIDE, &[(8, 8, 20, 20)])), None, "a square has no axis");
        let cut = |degrees| CutOut {
            mnist: bar(degrees),
            canvas: GrayImage::blank(1, 1),
            ink: [0.0, 0.0, 18.0, 18.0],
            part: false,
            runs_on: false,
            fences: Fences::default(),
        };
        let d = Detection { digit: 1, score: 0.9, x: 9.0, y: 9.0, w: 18.0, h: 18.0 };
        let read_as = |digit: usize| {
            let mut p = [0.0; CLASSES];
            p[digit] = 1.0;
            p
        };
        let options = VerifyOptions::default();
        assert_eq!(combine(&d, &cut(30.0), &read_as(1), &read_as(1), &options).map(|d| d.digit), Some(1));
        assert_eq!(combine(&d, &cut(-40.0), &read_as(1), &read_as(1), &options).map(|d| d.digit), Some(1));
        assert_eq!(combine(&d, &cut(55.0), &read_as(1), &read_as(1), &options), None, "a slash");
        assert_eq!(combine(&d, &cut(-70.0), &read_as(1), &read_as(1), &options), None, "a slash");
        assert_eq!(combine(&d, &cut(55.0), &read_as(7), &read_as(7), &options).map(|d| d.digit), Some(7), "1s only");
        // A 1 needs a higher score than another digit: √(0.25 · 1) = 0.5 is enough for a 7 only.
        let weak = Detection { score: 0.25, ..d };
        assert_eq!(combine(&weak, &cut(0.0), &read_as(1), &read_as(1), &options), None);
        assert_eq!(combine(&weak, &cut(0.0), &read_as(7), &read_as(7), &options).map(|d| d.digit), Some(7));
    }

    #[test]
    fn ink_as_tall_as_the_image_that_no_detection_explains_is_proposed() {
        // A 30×120 "digit" of two strokes 3 px apart (one group) on 200×160, and a small mark.
        let img = image(200, 160, &[(60, 20, 70, 80), (60, 83, 90, 140), (150, 20, 160, 30)]);
        let proposals = ink_proposals(&img, &[]);
        assert_eq!(proposals.len(), 1, "{proposals:?}");
        let p = &proposals[0];
        // Boxes come back in whole blocks of 4 px: 60..92 × 20..140.
        assert_eq!((p.x, p.y, p.w, p.h), (76.0, 80.0, 120.0, 120.0));
        // A detection whose box covers most of it explains it.
        let covering = Detection { digit: 1, score: 0.9, x: 75.0, y: 80.0, w: 40.0, h: 120.0 };
        assert!(ink_proposals(&img, &[covering]).is_empty());
        // A mark under 14 px (the smallest digit): not proposed.
        let img = image(200, 160, &[(60, 20, 66, 32)]);
        assert!(ink_proposals(&img, &[]).is_empty());
    }

    #[test]
    fn ink_of_a_small_digit_that_no_detection_explains_is_proposed_and_so_many_at_most() {
        // A 16-px-tall mark: the size of the smallest digits the detector is meant to find.
        let img = image(200, 160, &[(60, 20, 66, 36)]);
        assert_eq!(ink_proposals(&img, &[]).len(), 1);
        // A page of 40 such marks, 6 px wide and 16 tall, 40 px apart in 5 rows of 8, one of
        // them 24 px tall and one 32: the largest first, no more than `looks` of them.
        let marks: Vec<(usize, usize, usize, usize)> = (0..40)
            .map(|i| {
                let (x, y) = (20 + 40 * (i % 8), 20 + 40 * (i / 8));
                let tall = match i {
                    30 => 32,
                    7 => 24,
                    _ => 16,
                };
                (x, y, x + 6, y + tall)
            })
            .collect();
        let img = image(340, 220, &marks);
        let proposals = ink_proposals(&img, &[]);
        assert!(looks(340, 220) < 40);
        assert_eq!(proposals.len(), looks(340, 220), "{proposals:?}");
        // In whole blocks of 4 px: 260..268 × 140..172, then 300..308 × 20..44.
        assert_eq!((proposals[0].x, proposals[0].y, proposals[0].h), (264.0, 156.0, 32.0), "{proposals:?}");
        assert_eq!((proposals[1].x, proposals[1].y, proposals[1].h), (304.0, 32.0, 24.0), "{proposals:?}");
    }

    #[test]
    fn a_tall_stroke_beside_a_found_digit_is_proposed_alone() {
        // A found digit (60..110 × 20..140) and, 8 px to its right, a bar as tall: near enough
        // to be grouped with it, which made one group that the detection mostly covered.
        let img = image(200, 160, &[(60, 20, 110, 30), (100, 20, 110, 140), (118, 20, 128, 140)]);
        let found = Detection { digit: 7, score: 0.9, x: 85.0, y: 80.0, w: 50.0, h: 120.0 };
        let proposals = ink_proposals(&img, std::slice::from_ref(&found));
        assert_eq!(proposals.len(), 1, "{proposals:?}");
        let p = &proposals[0];
        // The bar alone, in whole blocks of 4 px: 116..128 × 20..140.
        assert_eq!((p.x, p.y, p.h), (122.0, 80.0, 120.0));
        // With the bar inside the detection's box, nothing is left to propose.
        let wider = Detection { w: 80.0, x: 95.0, ..found };
        assert!(ink_proposals(&img, &[wider]).is_empty());
    }

    #[test]
    fn a_digit_written_touching_close_beside_a_found_one_is_proposed_alone() {
        // A found digit (60..110 × 20..140) and, 2 px to its right, a bar as tall: the grouping's
        // 4-px blocks join them into one group, which the detection's box mostly covers.
        let img = image(200, 160, &[(60, 20, 110, 30), (100, 20, 110, 140), (112, 20, 122, 140)]);
        let found = Detection { digit: 7, score: 0.9, x: 85.0, y: 80.0, w: 50.0, h: 120.0 };
        let proposals = ink_proposals(&img, std::slice::from_ref(&found));
        assert_eq!(proposals.len(), 1, "{proposals:?}");
        // The bar alone, in whole blocks of 4 px: 112..124 × 20..140.
        assert_eq!((proposals[0].x, proposals[0].y, proposals[0].h), (118.0, 80.0, 120.0));
        // A short stroke there (a piece of the digit its box left out, under 0.6 of its height):
        // not proposed.
        let img = image(200, 160, &[(60, 20, 110, 30), (100, 20, 110, 140), (112, 20, 122, 80)]);
        assert!(ink_proposals(&img, std::slice::from_ref(&found)).is_empty());
        // A large digit of which only a piece was found (a box a third of its height): proposed
        // whole, not around the piece.
        let ring = [(40, 10, 160, 16), (40, 144, 160, 150), (40, 10, 46, 150), (154, 10, 160, 150)];
        let piece = Detection { digit: 1, score: 0.9, x: 43.0, y: 80.0, w: 8.0, h: 46.0 };
        let proposed = ink_proposals(&image(200, 160, &ring), &[piece]);
        assert_eq!(proposed.len(), 1, "{proposed:?}");
        assert_eq!((proposed[0].x, proposed[0].h), (100.0, 144.0));
    }

    #[test]
    fn ink_along_an_edge_of_the_image_is_not_proposed() {
        // Tall bars touching the left and the right side (a sheet's edges), a wide one along the
        // bottom: borders, not digits.
        let img = image(200, 160, &[(0, 20, 8, 140), (192, 20, 200, 140), (40, 152, 160, 160)]);
        assert!(ink_proposals(&img, &[]).is_empty());
        // A tall bar touching the top (a 1 drawn from the pad's top edge) is still proposed.
        let img = image(200, 160, &[(96, 0, 104, 120)]);
        assert_eq!(ink_proposals(&img, &[]).len(), 1);
        // Ink a few pixels clear of an edge is not along it, though the grouping's 4-px blocks
        // reach the edge: a wide ring drawn 2 px below the top (a large 0), a tall bar 3 px from
        // the left side.
        let ring = [(20, 2, 180, 8), (20, 96, 180, 102), (20, 2, 26, 102), (174, 2, 180, 102)];
        let proposed = ink_proposals(&image(200, 160, &ring), &[]);
        assert_eq!(proposed.len(), 1);
        assert_eq!((proposed[0].x, proposed[0].w), (100.0, 160.0));
        assert_eq!(ink_proposals(&image(200, 160, &[(3, 20, 11, 140)]), &[]).len(), 1);
        // ... and the same touching the edge is; a wide one touching a side too.
        let ring = [(20, 0, 180, 6), (20, 94, 180, 100), (20, 0, 26, 100), (174, 0, 180, 100)];
        assert!(ink_proposals(&image(200, 160, &ring), &[]).is_empty());
        let ring = [(40, 2, 200, 8), (40, 96, 200, 102), (40, 2, 46, 102), (194, 2, 200, 102)];
        assert!(ink_proposals(&image(200, 160, &ring), &[]).is_empty());
    }

    #[test]
    fn a_proposal_is_kept_only_where_both_readings_are_sure_of_one_digit() {
        let cut = CutOut {
            mnist: GrayImage::blank(1, 1),
            canvas: GrayImage::blank(1, 1),
            ink: [0.0, 0.0, 100.0, 200.0],
            part: false,
            runs_on: false,
            fences: Fences::default(),
        };
        let reading = |digit: usize, p: f32| {
            let mut r = [0.0; CLASSES];
            r[digit] = p;
            r[BACKGROUND] = 1.0 - p;
            r
        };
        let kept = accept_proposal(&cut, &reading(2, 0.99), &reading(2, 0.95), false, Neighbours::Alone).unwrap();
        assert_eq!((kept.digit, kept.x, kept.y, kept.h), (2, 50.0, 100.0, 200.0));
        assert!((kept.score - 0.95f32.sqrt()).abs() < 1e-6);
        // The FCN's cell at 0.85: enough where the classifier is sure (≥ 0.85), not otherwise.
        assert_eq!(
            accept_proposal(&cut, &reading(2, 0.99), &reading(2, 0.85), false, Neighbours::Alone).map(|d| d.digit),
            Some(2)
        );
        assert!(
            accept_proposal(&cut, &reading(2, 0.8), &reading(2, 0.85), false, Neighbours::Alone).is_none(),
            "classifier not sure"
        );
        assert!(
            accept_proposal(&cut, &reading(2, 0.99), &reading(2, 0.65), false, Neighbours::Alone).is_none(),
            "FCN not sure"
        );
        assert!(
            accept_proposal(&cut, &reading(2, 0.99), &reading(3, 0.95), false, Neighbours::Alone).is_none(),
            "readings disagree"
        );
        // Beside a sure digit of its size in its row, the FCN's cell needs only a detection's bar.
        assert!(accept_proposal(&cut, &reading(2, 0.8), &reading(2, 0.4), false, Neighbours::Alone).is_none());
        assert_eq!(
            accept_proposal(&cut, &reading(2, 0.8), &reading(2, 0.4), false, Neighbours::Beside).map(|d| d.digit),
            Some(2)
        );
        assert!(accept_proposal(&cut, &reading(2, 0.8), &reading(2, 0.25), false, Neighbours::Beside).is_none());
        // Agreeing on their most likely digit, but with no digit half the vote: dropped.
        let mut spread = [0.0; CLASSES];
        spread[4] = 0.3;
        spread[9] = 0.29;
        spread[7] = 0.29;
        spread[BACKGROUND] = 0.02;
        assert!(accept_proposal(&cut, &spread, &spread, false, Neighbours::Alone).is_none());
        // Sure readings of a speck: ink under 14 px both ways is no digit; 14 px tall is one.
        let speck = CutOut { ink: [10.0, 20.0, 12.0, 30.0], ..cut.clone() };
        assert!(
            accept_proposal(&speck, &reading(1, 0.99), &reading(1, 0.99), false, Neighbours::Alone).is_none(),
            "a speck"
        );
        let small = CutOut { ink: [10.0, 20.0, 14.0, 34.0], ..cut };
        assert_eq!(
            accept_proposal(&small, &reading(1, 0.99), &reading(1, 0.99), false, Neighbours::Alone).map(|d| d.digit),
            Some(1)
        );
    }

    #[test]
    fn a_change_touches_a_cut_out_only_inside_what_it_reads() {
        // A 40-px box at (100, 80): the window is 1.25× it, x 75..126, y 55..106.
        let d = at(100.0, 80.0, 40.0);
        let size = (448, 336);
        let mut cut = CutOut {
            mnist: GrayImage::blank(1, 1),
            canvas: GrayImage::blank(1, 1),
            ink: [0.0; 4],
            part: false,
            runs_on: false,
            fences: Fences::default(),
        };
        assert_eq!(window(&d, 448, 336), (55..106, 75..126));
        assert!(touches(&d, &cut, size, &(100..101), &(120..130)), "its corner");
        assert!(!touches(&d, &cut, size, &(106..120), &(75..126)), "just below");
        assert!(!touches(&d, &cut, size, &(55..106), &(126..200)), "just right");
        assert!(!touches(&d, &cut, size, &(0..0), &(0..0)), "nothing changed");
        assert!(touches(&d, &cut, size, &(0..336), &(0..448)), "everything changed");
        // Clipped at the image's edges; a box outside it reads nothing.
        assert_eq!(window(&at(5.0, 5.0, 40.0), 448, 336), (0..31, 0..31));
        assert!(!touches(&at(900.0, 5.0, 40.0), &cut, size, &(0..336), &(0..448)));
        // Strokes that ran on past the window were judged in one 3 box sides wide (x 39..162,
        // y 19..142): a change there may make them a larger drawing's.
        cut.runs_on = true;
        assert_eq!(reads(&d, &cut, 448, 336), (19..142, 39..162));
        assert!(touches(&d, &cut, size, &(55..106), &(126..200)), "right of the window, inside the wider one");
        assert!(!touches(&d, &cut, size, &(55..106), &(162..200)), "right of the wider one");
    }
}
