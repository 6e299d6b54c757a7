//! The FCN on the CPU without a tensor framework: the same weights as the burn [`Network`]
//! (read back once), run as direct 3×3 convolutions over an NHWC image.
//!
//! Every layer — the trunk's convolutions and the head's two dense layers, which are 1×1
//! convolutions here — is one register-blocked micro-kernel: 4 output pixels × 8 output channels
//! of accumulators, fed from the zero-padded input one window row at a time (its 3 taps × the
//! input channels are contiguous in NHWC, as are their weights, packed `[tap][in][8]`). The 3×3
//! stride-1 layers go by Winograd's F(2×2, 3×3) (`Layer::run_winograd`), whose 16 point-wise
//! products are that micro-kernel's too. Written
//! with fixed-size arrays and no branches in the inner loop, so LLVM turns it into `f32x4` code
//! on wasm `simd128` and SSE/AVX natively, with no `unsafe`; with the `relaxed-simd` feature
//! (wasm only) the kernel and swish use `f32x4.relaxed_madd`. Swish runs over each computed
//! output while it is in cache; swish and softmax use a polynomial `exp` (relative error about
//! 2e-7). Scratch buffers live in the engine and are reused across calls; outputs and padded
//! inputs are overwritten, never cleared.
//!
//! Most of a drawing is blank, and an output whose window sees nothing but background has the
//! same value wherever it lies ([`Background`]: a 2×2 pattern by the parity of its row and
//! column, made once for each chain of map sizes): such outputs are written, not computed —
//! the same values bit for bit (`tests/direct.rs`), at a fraction of the work on a sparse
//! drawing (the whole-image heatmap and the live trace; a live update computes its few outputs).
//!
//! The burn network stays the definition (training, WebGPU, the classifier); `tests/direct.rs`
//! checks this engine against it on every architecture and pooling.

use std::ops::Range;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::image::GrayImage;
use crate::network::{CLASSES, ConvParameters, DenseParameters, Parameters, Pooling, same_padding};

/// Output pixels per micro-kernel call.
const MR: usize = 4;
/// Output channels per micro-kernel call (two `f32x4`).
const NR: usize = 8;
/// Outputs a band of [`Layer::run`] holds at least (whole rows of them).
const BAND_OUTPUTS: usize = 64;
/// Tiles a band of a Winograd layer holds at least (whole rows of them).
const WINOGRAD_TILES: usize = 32;

/// One layer as the micro-kernel wants it: `k`×`k` taps, stride, weights packed per block of
/// [`NR`] output channels as `[block][tap][in][NR]` (output channels padded with zeros).
#[derive(Debug)]
struct Layer {
    k: usize,
    stride: usize,
    inputs: usize,
    outputs: usize,
    /// Output channels rounded up to a multiple of [`NR`].
    padded_outputs: usize,
    packed: Vec<f32>,
    /// For a 3×3 stride-1 layer, its weights Winograd-transformed ([`winograd`]): `[block][ξ][in][NR]`,
    /// 16 points ξ; empty for other layers.
    winograd: Vec<f32>,
    bias: Vec<f32>,
    swish: bool,
}

impl Layer {
    /// `weight(o, i, tap)` gives the weight from input `i` to output `o` at tap `ky·k + kx`.
    fn pack(
        k: usize,
        stride: usize,
        inputs: usize,
        outputs: usize,
        bias: &[f32],
        swish: bool,
        weight: impl Fn(usize, usize, usize) -> f32,
    ) -> Self {
        let padded_outputs = outputs.div_ceil(NR) * NR;
        let taps = k * k;
        let mut packed = vec![0.0; padded_outputs * taps * inputs];
        for block in 0..padded_outputs / NR {
            for tap in 0..taps {
                for i in 0..inputs {
                    for j in 0..NR {
                        let o = block * NR + j;
                        if o < outputs {
                            packed[((block * taps + tap) * inputs + i) * NR + j] = weight(o, i, tap);
                        }
                    }
                }
            }
        }
        // (Four input channels at a time: every stride-1 layer's inputs are a multiple of 8.)
        let winograd = if (k, stride) == (3, 1) && inputs.is_multiple_of(4) {
            winograd::weights(inputs, outputs, padded_outputs, weight)
        } else {
            Vec::new()
        };
        let mut b = bias.to_vec();
        b.resize(padded_outputs, 0.0);
        Self { k, stride, inputs, outputs, padded_outputs, packed, winograd, bias: b, swish }
    }

    fn conv(p: &ConvParameters) -> Self {
        Self::pack(3, p.stride, p.inputs, p.outputs, &p.bias, true, |o, i, tap| p.weight[(o * p.inputs + i) * 9 + tap])
    }

    fn dense(p: &DenseParameters, swish: bool) -> Self {
        Self::pack(1, 1, p.inputs, p.outputs, &p.bias, swish, |o, i, _| p.weight[i * p.outputs + o])
    }

    /// Runs the layer on an `h`×`w`×`inputs` NHWC map. `rect: None`: the whole output map,
    /// `ho`×`wo`×`padded_outputs`, is written to `out` (resized to it); `Some((rows, cols))`:
    /// only those outputs are written into `out`, which holds the whole map already (see
    /// [`DirectNet::update`]). Returns `(ho, wo)`.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        input: &[f32],
        h: usize,
        w: usize,
        work: &mut Work,
        out: &mut Vec<f32>,
        rect: Option<Rect>,
        bg: Option<&Background>,
    ) -> (usize, usize) {
        // (Safe on wasm: an engine without relaxed SIMD refuses the whole module.)
        #[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
        return self.run_relaxed(input, h, w, work, out, rect, bg);
        #[cfg(not(all(target_arch = "wasm32", feature = "relaxed-simd")))]
        if self.winograd.is_empty() {
            // (A closure of its own for each body: each inlines the micro-kernel.)
            let kernel = |acc: &mut _, source: &_, at, wt: &_, c| kernel(acc, source, at, wt, c);
            self.run_with(kernel, swish, input, h, w, work, out, rect, bg)
        } else {
            self.run_tiled(input, h, w, work, out, rect, bg)
        }
    }

    /// [`Self::run_winograd`] with the plain kernel, a function of its own.
    #[cfg(not(all(target_arch = "wasm32", feature = "relaxed-simd")))]
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn run_tiled(
        &self,
        input: &[f32],
        h: usize,
        w: usize,
        work: &mut Work,
        out: &mut Vec<f32>,
        rect: Option<Rect>,
        bg: Option<&Background>,
    ) -> (usize, usize) {
        let kernel = |acc: &mut _, source: &_, at, wt: &_, c| kernel(acc, source, at, wt, c);
        self.run_winograd(kernel, swish, input, h, w, work, out, rect, bg)
    }

    /// [`Self::run`] with the relaxed-SIMD kernel (fused multiply-add), compiled with the feature
    /// so that the kernel inlines into the loops.
    #[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
    #[target_feature(enable = "simd128,relaxed-simd")]
    #[allow(clippy::too_many_arguments)]
    fn run_relaxed(
        &self,
        input: &[f32],
        h: usize,
        w: usize,
        work: &mut Work,
        out: &mut Vec<f32>,
        rect: Option<Rect>,
        bg: Option<&Background>,
    ) -> (usize, usize) {
        if !self.winograd.is_empty() {
            return self.run_tiled_relaxed(input, h, w, work, out, rect, bg);
        }
        let kernel = |acc: &mut _, source: &_, at, wt: &_, c| relaxed::kernel(acc, source, at, wt, c);
        self.run_with(kernel, |row: &mut _| relaxed::swish(row), input, h, w, work, out, rect, bg)
    }

    /// [`Self::run_winograd`] with the relaxed-SIMD kernel, a function of its own (each body
    /// with one call of its micro-kernel, which then inlines).
    #[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
    #[target_feature(enable = "simd128,relaxed-simd")]
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn run_tiled_relaxed(
        &self,
        input: &[f32],
        h: usize,
        w: usize,
        work: &mut Work,
        out: &mut Vec<f32>,
        rect: Option<Rect>,
        bg: Option<&Background>,
    ) -> (usize, usize) {
        let kernel = |acc: &mut _, source: &_, at, wt: &_, c| relaxed::kernel(acc, source, at, wt, c);
        self.run_winograd(kernel, |row: &mut _| relaxed::swish(row), input, h, w, work, out, rect, bg)
    }

    /// [`Self::run`]'s body, with the micro-kernel and swish as parameters (inlined into each
    /// caller, so that each compiles with its caller's target features). The outputs' window of
    /// input is copied into `work.patch` with the layer's 'same' zero padding (for the whole map:
    /// the padded input), so that an output is the same sum, in the same order, whether it is
    /// computed alone or with the whole map.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn run_with(
        &self,
        kernel: impl Fn(&mut [[f32; NR]; MR], &[f32], [usize; MR], &[f32], usize),
        swish: impl Fn(&mut [f32]),
        input: &[f32],
        h: usize,
        w: usize,
        work: &mut Work,
        out: &mut Vec<f32>,
        rect: Option<Rect>,
        bg: Option<&Background>,
    ) -> (usize, usize) {
        let (c, s, k) = (self.inputs, self.stride, self.k);
        let ((top, _), (left, _)) = (same_padding(h, k, s), same_padding(w, k, s));
        let (ho, wo) = (h.div_ceil(s), w.div_ceil(s));
        let n = self.padded_outputs;
        let Some((rows, cols)) = outputs(rect, (ho, wo), n, out) else {
            return (ho, wo);
        };
        // Input pixel (oy·s − top + ky, ox·s − left + kx) feeds output (oy, ox) at tap (ky, kx).
        let (ph, pw) = ((rows.len() - 1) * s + k, (cols.len() - 1) * s + k);
        let (y0, x0) = ((rows.start * s) as isize - top as isize, (cols.start * s) as isize - left as isize);
        let Work { patch, mask, todo, skipped, .. } = work;
        let source: &[f32] = if (y0, x0, ph, pw) == (0, 0, h, w) {
            input
        } else {
            fill_patch(input, (h, w, c), (y0, x0), (ph, pw), patch);
            patch
        };
        if let Some(bg) = bg {
            background_mask(source, (ph, pw), c, (y0, x0), &bg.input, mask);
        }
        let taps = k * k;
        let panel = taps * c * NR;
        // The rectangle's outputs in bands of whole rows, each band's outputs that see anything
        // but background taken MR at a time in reading order (a group may run on into the next
        // row): a narrow rectangle — a live update's, a single cell's — wastes no more than one
        // partial group a band. An output whose window is all background is the layer's
        // background output, written as it is.
        let width = cols.len();
        let band = BAND_OUTPUTS.div_ceil(width).max(1);
        let mut y = rows.start;
        while y < rows.end {
            let band_rows = y..(y + band).min(rows.end);
            *skipped += plan_band(bg, mask, (pw, s, k), (&band_rows, &cols, rows.start), (out, wo, n), todo);
            let count = todo.len();
            for block in 0..n / NR {
                let weights = &self.packed[block * panel..(block + 1) * panel];
                let bias: &[f32; NR] = self.bias[block * NR..][..NR].try_into().expect("NR biases");
                for first in (0..count).step_by(MR) {
                    let valid = MR.min(count - first);
                    // Outputs past the band's end repeat the last one (computed, not stored).
                    let mut spots = [todo[first]; MR];
                    for (i, spot) in spots.iter_mut().enumerate().skip(1) {
                        *spot = todo[first + i.min(valid - 1)];
                    }
                    // (Loops, not `array::map`, which does not always inline here.)
                    let mut base = [0; MR];
                    for (b, &(y, x)) in base.iter_mut().zip(&spots) {
                        *b = ((y - rows.start) * s * pw + (x - cols.start) * s) * c;
                    }
                    let mut acc = [*bias; MR];
                    // A window row's k taps × c channels are contiguous in the padded NHWC
                    // input, as are their weights: one kernel call per window row.
                    for ky in 0..k {
                        let wt = &weights[ky * k * c * NR..][..k * c * NR];
                        let mut at = base;
                        at.iter_mut().for_each(|a| *a += ky * pw * c);
                        kernel(&mut acc, source, at, wt, k * c);
                    }
                    for (a, &(y, x)) in acc.iter().zip(&spots).take(valid) {
                        let at = (y * wo + x) * n + block * NR;
                        out[at..at + NR].copy_from_slice(a);
                    }
                }
            }
            if self.swish {
                for &(y, x) in todo.iter() {
                    swish(&mut out[(y * wo + x) * n..][..n]);
                }
            }
            y = band_rows.end;
        }
        (ho, wo)
    }

    /// [`Self::run_with`] for a 3×3 stride-1 layer, by Winograd's F(2×2, 3×3): the outputs in
    /// 2×2 tiles on the map's even rows and columns, each tile's 4×4 input window transformed
    /// (`Bᵀ d B`), multiplied point by point with the transformed weights — 16 products of
    /// `[tiles, in] × [in, out]`, each by the same micro-kernel — and transformed back (`Aᵀ m A`):
    /// 16 multiplies where the direct convolution makes 36 for four outputs. The tiles that hold
    /// any output of `rows` × `cols` are computed and all their outputs inside the map written.
    /// An output's value depends on its own 3×3 window only (each of the four sums of `Aᵀ m A`
    /// takes the three rows and columns of `Bᵀ d B` that its window makes), computed by the same
    /// operations wherever its tile falls in the rectangle, so that a rectangle equals the whole
    /// map's outputs bit for bit; a tile's other outputs, whose windows may reach past what was
    /// computed of the input, are written too and never read for a requested output. The tiles
    /// sit on the map's even rows and columns: a window of the image must start on them
    /// ([`crate::bands::WINDOW_GRID`]).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn run_winograd(
        &self,
        kernel: impl Fn(&mut [[f32; NR]; MR], &[f32], [usize; MR], &[f32], usize),
        swish: impl Fn(&mut [f32]),
        input: &[f32],
        h: usize,
        w: usize,
        work: &mut Work,
        out: &mut Vec<f32>,
        rect: Option<Rect>,
        bg: Option<&Background>,
    ) -> (usize, usize) {
        let (c, n) = (self.inputs, self.padded_outputs);
        let Some((rows, cols)) = outputs(rect, (h, w), n, out) else {
            return (h, w);
        };
        let (ty, tx) = (rows.start / 2..rows.end.div_ceil(2), cols.start / 2..cols.end.div_ceil(2));
        // The tiles' input window (one pixel of 'same' padding before the first), zero outside.
        let (ph, pw) = (2 * ty.len() + 2, 2 * tx.len() + 2);
        let (y0, x0) = (2 * ty.start as isize - 1, 2 * tx.start as isize - 1);
        let Work { patch, v, m, mask, tiles: computed, skipped, .. } = work;
        fill_patch(input, (h, w, c), (y0, x0), (ph, pw), patch);
        if let Some(bg) = bg {
            background_mask(patch, (ph, pw), c, (y0, x0), &bg.input, mask);
        }
        let (y_end, x_end) = ((2 * ty.end).min(h), (2 * tx.end).min(w));
        let band = (WINOGRAD_TILES / tx.len()).max(1);
        // (Every element read is written first: no clear.)
        v.resize(band * tx.len() * 16 * c, 0.0);
        m.resize(band * tx.len() * 16 * NR, 0.0);
        let mut t0 = ty.start;
        while t0 < ty.end {
            let band_rows = t0..(t0 + band).min(ty.end);
            // The band's tiles with an output (inside the map) that sees anything but
            // background; the others' outputs are the layer's background output.
            *skipped += plan_tiles(bg, mask, pw, (&band_rows, &ty, &tx), (y_end, x_end), (out, w, n), computed);
            let tiles = computed.len();
            // Each tile's 16 transformed inputs, `[tile][ξ][in]`.
            for (&t, v) in computed.iter().zip(v.chunks_exact_mut(16 * c)) {
                let (py, px) = (2 * (band_rows.start - ty.start + t / tx.len()), 2 * (t % tx.len()));
                let d: [&[f32]; 16] = std::array::from_fn(|k| &patch[((py + k / 4) * pw + px + k % 4) * c..][..c]);
                winograd::input(&d, v, c);
            }
            for block in 0..n / NR {
                let weights = &self.winograd[block * 16 * c * NR..][..16 * c * NR];
                for xi in 0..16 {
                    let wt = &weights[xi * c * NR..][..c * NR];
                    for first in (0..tiles).step_by(MR) {
                        let valid = MR.min(tiles - first);
                        let at: [usize; MR] = std::array::from_fn(|i| ((first + i.min(valid - 1)) * 16 + xi) * c);
                        let mut acc = [[0.0f32; NR]; MR];
                        kernel(&mut acc, v, at, wt, c);
                        for (i, a) in acc.iter().enumerate().take(valid) {
                            m[((first + i) * 16 + xi) * NR..][..NR].copy_from_slice(a);
                        }
                    }
                }
                let bias: &[f32; NR] = self.bias[block * NR..][..NR].try_into().expect("NR biases");
                for (i, &t) in computed.iter().enumerate() {
                    let y = winograd::output(m[i * 16 * NR..][..16 * NR].try_into().expect("16 points"), bias);
                    let (oy, ox) = (2 * (band_rows.start + t / tx.len()), 2 * (tx.start + t % tx.len()));
                    for (k, y) in y.iter().enumerate() {
                        let (oy, ox) = (oy + k / 2, ox + k % 2);
                        if oy < y_end && ox < x_end {
                            out[(oy * w + ox) * n + block * NR..][..NR].copy_from_slice(y);
                        }
                    }
                }
            }
            if self.swish {
                for &t in computed.iter() {
                    let (oy, ox) = (2 * (band_rows.start + t / tx.len()), 2 * (tx.start + t % tx.len()));
                    for oy in oy..(oy + 2).min(y_end) {
                        swish(&mut out[(oy * w + ox) * n..(oy * w + (ox + 2).min(x_end)) * n]);
                    }
                }
            }
            t0 = band_rows.end;
        }
        (h, w)
    }

    /// The input rows (or columns) of a `size`-long input that outputs `outputs` read (the
    /// layer's 'same' padding outside it).
    fn reads(&self, outputs: &Range<usize>, size: usize) -> Range<usize> {
        let (pad, _) = same_padding(size, self.k, self.stride);
        let start = (outputs.start * self.stride).saturating_sub(pad);
        let end = ((outputs.end - 1) * self.stride + self.k).saturating_sub(pad).min(size);
        start.min(end)..end
    }

    /// The outputs (rows or columns, of `outputs`) whose windows see any of input `changed`
    /// (of an input `size` long).
    fn seeing(&self, changed: &Range<usize>, size: usize, outputs: usize) -> Range<usize> {
        let (k, s) = (self.k, self.stride);
        let (pad, _) = same_padding(size, k, s);
        let start = (changed.start + pad).saturating_sub(k - 1).div_ceil(s);
        let end = ((changed.end - 1 + pad) / s + 1).min(outputs);
        start.min(end)..end
    }
}

/// The outputs a layer's run computes: `rect`, or the whole `ho`×`wo` map (`out` sized for it,
/// `n` channels an output: every element is written, so no clear); `None` when there are none.
fn outputs(rect: Option<Rect>, (ho, wo): (usize, usize), n: usize, out: &mut Vec<f32>) -> Option<Rect> {
    let (rows, cols) = rect.unwrap_or_else(|| {
        out.resize(ho * wo * n, 0.0);
        (0..ho, 0..wo)
    });
    (!rows.is_empty() && !cols.is_empty()).then_some((rows, cols))
}

/// `patch` becomes the `ph`×`pw` window of an `h`×`w`×`c` NHWC `input` whose first pixel is
/// input pixel (`y0`, `x0`), zero outside the input (every element written: no full clear).
fn fill_patch(
    input: &[f32],
    (h, w, c): (usize, usize, usize),
    (y0, x0): (isize, isize),
    (ph, pw): (usize, usize),
    patch: &mut Vec<f32>,
) {
    patch.resize(ph * pw * c, 0.0);
    let (xa, xb) = (x0.clamp(0, w as isize) as usize, (x0 + pw as isize).clamp(0, w as isize) as usize);
    let skip = (xa as isize - x0) as usize * c;
    for (py, row) in patch.chunks_mut(pw * c).enumerate() {
        let iy = y0 + py as isize;
        if iy < 0 || iy >= h as isize || xa >= xb {
            row.fill(0.0);
            continue;
        }
        let from = &input[(iy as usize * w + xa) * c..(iy as usize * w + xb) * c];
        row[..skip].fill(0.0);
        row[skip..skip + from.len()].copy_from_slice(from);
        row[skip + from.len()..].fill(0.0);
    }
}

/// Rows and columns of a layer's output.
type Rect = (Range<usize>, Range<usize>);

/// What a layer computes where it sees nothing but background — the blank of a drawing, a page
/// made flat — so that it need not compute it there. The image's background is 0; each layer's
/// output over a background window is the same wherever the window lies, up to the parity of
/// its row and column (the Winograd layers compute the four outputs of a 2×2 tile by four
/// formulas, and a stride-2 layer's windows then start on one parity of that pattern or the
/// other, by the parity of its input's size), so each map's background is a 2×2 pattern.
#[derive(Debug)]
struct Background {
    /// The layer's input where it is background, `[parity][channel]` with parity
    /// `2·(row mod 2) + column mod 2` in the input map's own rows and columns.
    input: Vec<f32>,
    /// The layer's output over such a window, `[parity][padded output]` (by the output's own
    /// row and column).
    output: Vec<f32>,
}

impl Background {
    /// Writes the background output at output `(y, x)` of a map `width` wide of `n` channels.
    fn write(&self, out: &mut [f32], (y, x): (usize, usize), width: usize, n: usize) {
        let q = 2 * (y % 2) + x % 2;
        out[(y * width + x) * n..][..n].copy_from_slice(&self.output[q * n..][..n]);
    }
}

/// `mask` becomes, for each pixel of an `sh`×`sw`×`c` NHWC map whose first pixel is pixel
/// (`y0`, `x0`) of a layer's input, whether it equals that input's background `pattern` at its
/// parity, bit for bit (the zero padding outside the input is background only where the
/// pattern is zero: then the arithmetic is the same too).
fn background_mask(
    source: &[f32],
    (sh, sw): (usize, usize),
    c: usize,
    (y0, x0): (isize, isize),
    pattern: &[f32],
    mask: &mut Vec<bool>,
) {
    mask.clear();
    for (py, row) in source.chunks_exact(sw * c).take(sh).enumerate() {
        let qy = (y0 + py as isize).rem_euclid(2) as usize;
        let first = (x0.rem_euclid(2)) as usize;
        for (px, pixel) in row.chunks_exact(c).enumerate() {
            let p = &pattern[(2 * qy + (first + px) % 2) * c..][..c];
            // (Every channel's bits compared without an early exit: a loop that vectorizes.)
            mask.push(pixel.iter().zip(p).fold(0, |d, (a, b)| d | (a.to_bits() ^ b.to_bits())) == 0);
        }
    }
}

/// The outputs of `band` × `cols` (rows and columns of a layer's output; the rectangle's first
/// row `top`) to compute, into `todo` in reading order: those whose window (`k`×`k` at stride `s`
/// in a source `pw` wide that starts at the rectangle's first window) is not all background
/// (`mask`); the others are written as the background output into `out`, a map `wo` wide of `n`
/// channels. Returns how many were written. (Shared by every kernel's body: one copy in a module.)
#[inline(never)]
fn plan_band(
    bg: Option<&Background>,
    mask: &[bool],
    (pw, s, k): (usize, usize, usize),
    (band, cols, top): (&Range<usize>, &Range<usize>, usize),
    (out, wo, n): (&mut [f32], usize, usize),
    todo: &mut Vec<(usize, usize)>,
) -> usize {
    todo.clear();
    let mut written = 0;
    for oy in band.clone() {
        for ox in cols.clone() {
            match bg {
                Some(bg) if window_is_background(mask, pw, ((oy - top) * s, (ox - cols.start) * s), k) => {
                    bg.write(out, (oy, ox), wo, n);
                    written += 1;
                }
                _ => todo.push((oy, ox)),
            }
        }
    }
    written
}

/// [`plan_band`] for a Winograd band: of the tiles of tile rows `band` × tile columns `tx` (the
/// patch, `pw` wide, starts at tile row `ty.start`'s window), those with an output inside the map
/// (`y_end` × `x_end`) whose 3×3 window is not all background, into `computed` by their index in
/// the band; the others' outputs inside the map are written as the background output into `out`,
/// `w` wide of `n` channels. Returns how many outputs were written.
#[inline(never)]
fn plan_tiles(
    bg: Option<&Background>,
    mask: &[bool],
    pw: usize,
    (band, ty, tx): (&Range<usize>, &Range<usize>, &Range<usize>),
    (y_end, x_end): (usize, usize),
    (out, w, n): (&mut [f32], usize, usize),
    computed: &mut Vec<usize>,
) -> usize {
    computed.clear();
    let mut written = 0;
    for t in 0..band.len() * tx.len() {
        let (py, px) = (2 * (band.start - ty.start + t / tx.len()), 2 * (t % tx.len()));
        let (oy, ox) = (2 * (band.start + t / tx.len()), 2 * (tx.start + t % tx.len()));
        let inside = |k: usize| oy + k / 2 < y_end && ox + k % 2 < x_end;
        match bg {
            Some(bg) if (0..4).all(|k| !inside(k) || window_is_background(mask, pw, (py + k / 2, px + k % 2), 3)) => {
                for k in (0..4).filter(|&k| inside(k)) {
                    bg.write(out, (oy + k / 2, ox + k % 2), w, n);
                    written += 1;
                }
            }
            _ => computed.push(t),
        }
    }
    written
}

/// Whether the `k`×`k` window at `(y, x)` of a map `width` wide is all background (`mask`).
#[inline]
fn window_is_background(mask: &[bool], width: usize, (y, x): (usize, usize), k: usize) -> bool {
    (0..k).all(|ky| mask[(y + ky) * width + x..][..k].iter().all(|&b| b))
}

/// Each map's background pattern ([`Background`]), layer by layer, for a chain of map sizes:
/// `parities[i]` is `2·(rows mod 2) + columns mod 2` of layer `i`'s input (the head's layers
/// share the last). Each layer is run on a small map of its input's pattern with the same
/// parities of size, and its outputs read where their windows lie inside it.
fn backgrounds(
    layers: &[&Layer],
    trunk: usize,
    pooling: Pooling,
    parities: &[usize],
    work: &mut Work,
) -> Vec<Background> {
    let mut pattern = vec![0.0f32; 4];
    let mut c = 1;
    let mut all = Vec::with_capacity(layers.len());
    // Output (2 − row parity, 2 − column parity) of a map of side 8 or 9: its window lies inside
    // the map for every layer here (3×3 at stride 1 or 2, 1×1, a 3×3 or 4×4 pool).
    fn pick(map: &[f32], width: usize, n: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(4 * n);
        for q in 0..4 {
            out.extend_from_slice(&map[((2 - q / 2) * width + 2 - q % 2) * n..][..n]);
        }
        out
    }
    fn tiled(pattern: &[f32], c: usize, (h, w): (usize, usize)) -> Vec<f32> {
        let mut map = Vec::with_capacity(h * w * c);
        for i in 0..h * w {
            map.extend_from_slice(&pattern[(2 * (i / w % 2) + i % w % 2) * c..][..c]);
        }
        map
    }
    for (i, layer) in layers.iter().enumerate() {
        let q = parities[i.min(trunk)];
        let (h, w) = (8 + q / 2, 8 + q % 2);
        if i == trunk
            && let Some(k) = pooling.kernel()
        {
            let mut pooled = Vec::new();
            max_pool(&tiled(&pattern, c, (h, w)), h, w, c, k, &mut pooled);
            pattern = pick(&pooled, w, c);
        }
        let mut out = Vec::new();
        let (_, wo) = layer.run(&tiled(&pattern, c, (h, w)), h, w, work, &mut out, None, None);
        let n = layer.padded_outputs;
        let output = pick(&out, wo, n);
        all.push(Background { input: std::mem::replace(&mut pattern, output.clone()), output });
        c = n;
    }
    all
}

/// `acc[i][j] += Σ_ci source[at[i] + ci] · wt[ci·NR + j]`: the one micro-kernel.
#[inline(always)]
#[cfg_attr(all(target_arch = "wasm32", feature = "relaxed-simd"), allow(dead_code))]
fn kernel(acc: &mut [[f32; NR]; MR], source: &[f32], at: [usize; MR], wt: &[f32], c: usize) {
    let (r0, r1, r2, r3) = (&source[at[0]..][..c], &source[at[1]..][..c], &source[at[2]..][..c], &source[at[3]..][..c]);
    for ((((b, &a0), &a1), &a2), &a3) in wt.chunks_exact(NR).zip(r0).zip(r1).zip(r2).zip(r3) {
        let b: &[f32; NR] = b.try_into().expect("NR weights");
        for j in 0..NR {
            acc[0][j] += a0 * b[j];
            acc[1][j] += a1 * b[j];
            acc[2][j] += a2 * b[j];
            acc[3][j] += a3 * b[j];
        }
    }
}

/// [`kernel`] on wasm relaxed SIMD: `f32x4.relaxed_madd` (one fused multiply-add where the
/// CPU has FMA, a multiply and an add elsewhere) instead of a multiply and an add.
#[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
mod relaxed {
    use core::arch::wasm32::*;

    use super::{MR, NR};

    /// [`super::swish`] on `f32x4` with [`super::exp`]'s polynomial as fused multiply-adds.
    #[inline]
    #[target_feature(enable = "simd128,relaxed-simd")]
    pub(super) fn swish(values: &mut [f32]) {
        let mut chunks = values.chunks_exact_mut(4);
        for c in &mut chunks {
            let x = f32x4(c[0], c[1], c[2], c[3]);
            let y = f32x4_div(x, f32x4_add(f32x4_splat(1.0), exp(f32x4_neg(x))));
            c.copy_from_slice(&[
                f32x4_extract_lane::<0>(y),
                f32x4_extract_lane::<1>(y),
                f32x4_extract_lane::<2>(y),
                f32x4_extract_lane::<3>(y),
            ]);
        }
        super::swish(chunks.into_remainder());
    }

    /// [`super::exp`] on four lanes, the same steps and constants.
    #[inline]
    #[target_feature(enable = "simd128,relaxed-simd")]
    fn exp(x: v128) -> v128 {
        use super::exp_constants::{LN2_HI, LN2_LO, LOG2E, MAX, MIN, P, ROUND};
        let k = f32x4_splat;
        let madd = f32x4_relaxed_madd;
        let x = f32x4_pmin(f32x4_pmax(x, k(MIN)), k(MAX));
        let t = madd(x, k(LOG2E), k(ROUND));
        let n = f32x4_sub(t, k(ROUND));
        let exponent = i32x4_sub(t, i32x4_splat(ROUND.to_bits() as i32));
        let r = madd(n, k(-LN2_HI), x);
        let r = madd(n, k(-LN2_LO), r);
        let p = madd(k(P[0]), r, k(P[1]));
        let p = madd(p, r, k(P[2]));
        let p = madd(p, r, k(P[3]));
        let p = madd(p, r, k(P[4]));
        let p = madd(p, r, k(P[5]));
        let e = f32x4_add(madd(p, f32x4_mul(r, r), r), k(1.0));
        f32x4_mul(e, i32x4_shl(i32x4_add(exponent, i32x4_splat(127)), 23))
    }

    #[inline]
    #[target_feature(enable = "simd128,relaxed-simd")]
    pub(super) fn kernel(acc: &mut [[f32; NR]; MR], source: &[f32], at: [usize; MR], wt: &[f32], c: usize) {
        let half = |a: &[f32; NR], h: usize| f32x4(a[4 * h], a[4 * h + 1], a[4 * h + 2], a[4 * h + 3]);
        let mut v: [[v128; 2]; MR] = acc.map(|a| [half(&a, 0), half(&a, 1)]);
        let (r0, r1, r2, r3) =
            (&source[at[0]..][..c], &source[at[1]..][..c], &source[at[2]..][..c], &source[at[3]..][..c]);
        for ((((b, &a0), &a1), &a2), &a3) in wt.chunks_exact(NR).zip(r0).zip(r1).zip(r2).zip(r3) {
            let b: &[f32; NR] = b.try_into().expect("NR weights");
            let (b0, b1) = (half(b, 0), half(b, 1));
            for (v, a) in v.iter_mut().zip([a0, a1, a2, a3]) {
                let a = f32x4_splat(a);
                v[0] = f32x4_relaxed_madd(a, b0, v[0]);
                v[1] = f32x4_relaxed_madd(a, b1, v[1]);
            }
        }
        for (a, v) in acc.iter_mut().zip(v) {
            *a = [
                f32x4_extract_lane::<0>(v[0]),
                f32x4_extract_lane::<1>(v[0]),
                f32x4_extract_lane::<2>(v[0]),
                f32x4_extract_lane::<3>(v[0]),
                f32x4_extract_lane::<0>(v[1]),
                f32x4_extract_lane::<1>(v[1]),
                f32x4_extract_lane::<2>(v[1]),
                f32x4_extract_lane::<3>(v[1]),
            ];
        }
    }
}

/// The constants of [`exp`], shared by its scalar and relaxed-SIMD forms.
mod exp_constants {
    pub const LOG2E: f32 = std::f32::consts::LOG2_E;
    /// ln 2 in two parts (Cephes): `n · ln 2` subtracted exactly.
    pub const LN2_HI: f32 = 0.693_359_4;
    pub const LN2_LO: f32 = -2.121_944_4e-4;
    /// 1.5 · 2^23: adding it rounds to an integer, kept in the mantissa.
    pub const ROUND: f32 = 12_582_912.0;
    /// The input clamps.
    pub const MIN: f32 = -87.0;
    pub const MAX: f32 = 88.0;
    /// The degree-6 polynomial's coefficients, highest first (Cephes' `expf`).
    pub const P: [f32; 6] = [1.987_569_1e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 0.5];
}

/// `e^x` by range reduction to `[-ln2/2, ln2/2]` and a degree-6 polynomial (Cephes' `expf`
/// coefficients). Branch-free, with no float-to-int conversion (the exponent is read from the
/// rounding constant's mantissa) and clamps written as selects (one `min`/`max` instruction
/// each on wasm and x86), so loops over it vectorize into a few dozen `f32x4` operations.
/// Inputs are clamped to [-87, 88]; NaN stays NaN.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    use exp_constants::{LN2_HI, LN2_LO, LOG2E, MAX, MIN, P, ROUND};
    let x = if x < MIN { MIN } else { x };
    let x = if x > MAX { MAX } else { x };
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let exponent = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = ((((P[0] * r + P[1]) * r + P[2]) * r + P[3]) * r + P[4]) * r + P[5];
    let e = p * r * r + r + 1.0;
    e * f32::from_bits((exponent.wrapping_add(127) << 23) as u32)
}

/// `x · sigmoid(x)` in place: a plain loop over a row, which the loop vectorizer widens.
fn swish(values: &mut [f32]) {
    for x in values.iter_mut() {
        *x /= 1.0 + exp(-*x);
    }
}

/// Winograd's F(2×2, 3×3) (Lavin and Gray, 2016): `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A` for a 4×4
/// input window `d` and a 3×3 kernel `g`, with
/// `Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]`, `G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]`,
/// `Aᵀ = [1 1 1 0; 0 1 −1 −1]`.
mod winograd {
    use super::NR;

    /// The weights transformed, `G g Gᵀ` for each output and input channel (in f64, rounded
    /// once), packed `[block][ξ][in][NR]` with `ξ = 4·row + column` (padding outputs zero).
    pub(super) fn weights(
        inputs: usize,
        outputs: usize,
        padded_outputs: usize,
        weight: impl Fn(usize, usize, usize) -> f32,
    ) -> Vec<f32> {
        const G: [[f64; 3]; 4] = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]];
        let mut packed = vec![0.0f32; padded_outputs * 16 * inputs];
        for o in 0..outputs {
            let (block, j) = (o / NR, o % NR);
            for i in 0..inputs {
                let g: [[f64; 3]; 3] = std::array::from_fn(|y| std::array::from_fn(|x| weight(o, i, y * 3 + x) as f64));
                for (r, gr) in G.iter().enumerate() {
                    for (q, gq) in G.iter().enumerate() {
                        let mut u = 0.0;
                        for y in 0..3 {
                            for x in 0..3 {
                                u += gr[y] * g[y][x] * gq[x];
                            }
                        }
                        packed[((block * 16 + r * 4 + q) * inputs + i) * NR + j] = u as f32;
                    }
                }
            }
        }
        packed
    }

    /// `Bᵀ d B` of each input channel: `d[4·row + column]` holds that pixel's `c` channels;
    /// `v` gets `[ξ][c]`. Four channels at a time as `[f32; 4]` (one SIMD vector): `c` is a
    /// multiple of 4.
    #[inline(always)]
    pub(super) fn input(d: &[&[f32]; 16], v: &mut [f32], c: usize) {
        type X4 = [f32; 4];
        let add = |a: X4, b: X4| -> X4 { std::array::from_fn(|l| a[l] + b[l]) };
        let sub = |a: X4, b: X4| -> X4 { std::array::from_fn(|l| a[l] - b[l]) };
        debug_assert!(c.is_multiple_of(4), "Winograd layers take a multiple of 4 input channels");
        for i in (0..c).step_by(4) {
            let p: [X4; 16] = std::array::from_fn(|k| d[k][i..i + 4].try_into().expect("four channels"));
            // Bᵀ d, row by row (t[r][q]).
            let t: [[X4; 4]; 4] = [
                std::array::from_fn(|q| sub(p[q], p[8 + q])),
                std::array::from_fn(|q| add(p[4 + q], p[8 + q])),
                std::array::from_fn(|q| sub(p[8 + q], p[4 + q])),
                std::array::from_fn(|q| sub(p[4 + q], p[12 + q])),
            ];
            // (Bᵀ d) B.
            for (r, t) in t.iter().enumerate() {
                let row = [sub(t[0], t[2]), add(t[1], t[2]), sub(t[2], t[1]), sub(t[1], t[3])];
                for (q, x) in row.iter().enumerate() {
                    v[(r * 4 + q) * c + i..][..4].copy_from_slice(x);
                }
            }
        }
    }

    /// `Aᵀ m A + bias` for [`NR`] output channels: `m[ξ]` the 16 products; the 2×2 outputs in
    /// reading order.
    #[inline(always)]
    pub(super) fn output(m: &[f32; 16 * NR], bias: &[f32; NR]) -> [[f32; NR]; 4] {
        let mut y = [[0.0f32; NR]; 4];
        for j in 0..NR {
            let p = |k: usize| m[k * NR + j];
            let s0: [f32; 4] = std::array::from_fn(|q| p(q) + p(4 + q) + p(8 + q));
            let s1: [f32; 4] = std::array::from_fn(|q| p(4 + q) - p(8 + q) - p(12 + q));
            y[0][j] = s0[0] + s0[1] + s0[2] + bias[j];
            y[1][j] = s0[1] - s0[2] - s0[3] + bias[j];
            y[2][j] = s1[0] + s1[1] + s1[2] + bias[j];
            y[3][j] = s1[1] - s1[2] - s1[3] + bias[j];
        }
        y
    }
}

/// A pooling kernel (0: none) and the parities of the maps' sizes ([`backgrounds`]).
type BackgroundKey = (usize, Vec<usize>);

/// Scratch buffers reused across calls (the engine is used by one caller at a time).
#[derive(Debug, Default)]
struct Scratch {
    a: Vec<f32>,
    b: Vec<f32>,
    work: Work,
    /// The background patterns made so far, by pooling kernel (0: none) and the parities of the
    /// maps' sizes (an image's size modulo 8 decides them: at most 64 chains a pooling).
    backgrounds: Vec<(BackgroundKey, Arc<[Background]>)>,
}

/// What one layer's run works in, reused across layers and calls.
#[derive(Debug, Default)]
struct Work {
    /// The padded window of the layer's input.
    patch: Vec<f32>,
    /// A Winograd layer's transformed input tiles and their point-wise products.
    v: Vec<f32>,
    m: Vec<f32>,
    /// Which pixels of the layer's input window are background ([`Background`]).
    mask: Vec<bool>,
    /// A band's outputs to compute (the others are background), and a Winograd band's tiles.
    todo: Vec<(usize, usize)>,
    tiles: Vec<usize>,
    /// Outputs written as background since the last call began.
    skipped: usize,
}

/// The FCN as direct CPU kernels.
#[derive(Debug)]
pub struct DirectNet {
    trunk: Vec<Layer>,
    dense: Layer,
    output: Layer,
    scratch: Mutex<Scratch>,
    /// Whether outputs that see nothing but background are written instead of computed.
    skip_background: bool,
}

impl DirectNet {
    /// Packs a network's parameters for the kernels. Every layer but the last must have a
    /// multiple of 8 outputs (16, 32, 64 here): a layer reads its input's channels unpadded.
    pub fn new(parameters: &Parameters) -> Result<Self> {
        let inner = parameters.convs.iter().map(|c| c.outputs).chain([parameters.dense.outputs]);
        if let Some(n) = inner.into_iter().find(|n| n % NR != 0) {
            return Err(Error::Backend(format!("the direct kernels need multiples of {NR} channels, not {n}")));
        }
        Ok(Self {
            trunk: parameters.convs.iter().map(Layer::conv).collect(),
            dense: Layer::dense(&parameters.dense, true),
            output: Layer::dense(&parameters.output, false),
            scratch: Mutex::new(Scratch::default()),
            skip_background: true,
        })
    }

    /// The same engine computing every output, background or not (for comparison: both give the
    /// same values bit for bit).
    pub fn computing_background(mut self) -> Self {
        self.skip_background = false;
        self
    }

    /// Outputs the last call wrote as background instead of computing them.
    pub fn skipped(&self) -> usize {
        self.scratch.lock().map_or(0, |s| s.work.skipped)
    }

    /// Every layer's [`Background`] for an `h`×`w` image (made once for each chain of map-size
    /// parities); `None` where the engine computes every output.
    fn backgrounds(
        &self,
        scratch: &mut Scratch,
        (h, w): (usize, usize),
        pooling: Pooling,
    ) -> Option<Arc<[Background]>> {
        scratch.work.skipped = 0;
        if !self.skip_background {
            return None;
        }
        let (mut h, mut w) = (h, w);
        let mut parities = Vec::with_capacity(self.trunk.len() + 1);
        for layer in &self.trunk {
            parities.push(2 * (h % 2) + w % 2);
            (h, w) = (h.div_ceil(layer.stride), w.div_ceil(layer.stride));
        }
        parities.push(2 * (h % 2) + w % 2);
        let key = (pooling.kernel().unwrap_or(0), parities);
        if let Some((_, found)) = scratch.backgrounds.iter().find(|(k, _)| *k == key) {
            return Some(found.clone());
        }
        let layers: Vec<&Layer> = self.layers().collect();
        let made: Arc<[Background]> = backgrounds(&layers, self.trunk.len(), pooling, &key.1, &mut scratch.work).into();
        scratch.work.skipped = 0;
        scratch.backgrounds.push((key, made.clone()));
        Some(made)
    }

    /// The heatmap's probabilities, class-major `[11, rows, cols]`, as [`crate::Network::heatmap`].
    pub fn heatmap(&self, image: &GrayImage, pooling: Pooling) -> Result<Vec<f32>> {
        let mut guard = self.scratch()?;
        let (mut h, mut w) = (image.height, image.width);
        let bg = self.backgrounds(&mut guard, (h, w), pooling);
        let bg = |i: usize| bg.as_ref().map(|b| &b[i]);
        let Scratch { a, b, work, .. } = &mut *guard;
        a.clear();
        a.extend_from_slice(&image.pixels);
        for (i, layer) in self.trunk.iter().enumerate() {
            (h, w) = layer.run(a, h, w, work, b, None, bg(i));
            std::mem::swap(a, b);
        }
        if let Some(k) = pooling.kernel() {
            let c = self.trunk.last().map_or(1, |l| l.padded_outputs);
            max_pool(a, h, w, c, k, b);
            std::mem::swap(a, b);
        }
        let head = self.trunk.len();
        self.dense.run(a, h, w, work, b, None, bg(head));
        self.output.run(b, h, w, work, a, None, bg(head + 1));
        let mut probs = vec![0.0; CLASSES * h * w];
        self.softmax(a, h * w, 0..h, 0..w, w, &mut probs);
        Ok(probs)
    }

    /// A heatmap (no pooling) kept for [`DirectNet::update`]: every layer's output map.
    pub fn trace(&self, image: &GrayImage) -> Result<Trace> {
        let mut guard = self.scratch()?;
        let (mut h, mut w) = (image.height, image.width);
        let bg = self.backgrounds(&mut guard, (h, w), Pooling::None);
        let mut maps: Vec<Vec<f32>> = Vec::with_capacity(self.trunk.len() + 2);
        for (i, layer) in self.layers().enumerate() {
            let mut out = Vec::new();
            let input = maps.last().map_or(&image.pixels[..], |m| &m[..]);
            (h, w) = layer.run(input, h, w, &mut guard.work, &mut out, None, bg.as_ref().map(|b| &b[i]));
            maps.push(out);
        }
        let mut probs = vec![0.0; CLASSES * h * w];
        self.softmax(maps.last().map_or(&[][..], |m| &m[..]), h * w, 0..h, 0..w, w, &mut probs);
        Ok(Trace { width: image.width, height: image.height, maps, probs })
    }

    /// Brings `trace` up to date with `image`, which differs from the image it was made from
    /// only inside pixel rows `rows` × columns `cols`: each layer recomputes only the outputs
    /// whose windows see a changed input. The result equals a new [`DirectNet::trace`] bit for
    /// bit (`tests/bands.rs`). Returns the heatmap cells recomputed.
    pub fn update(
        &self,
        trace: &mut Trace,
        image: &GrayImage,
        rows: Range<usize>,
        cols: Range<usize>,
    ) -> Result<usize> {
        if (trace.width, trace.height) != (image.width, image.height) || trace.maps.len() != self.trunk.len() + 2 {
            return Err(Error::InvalidInput("a live update of an image of another size".into()));
        }
        if rows.is_empty() || cols.is_empty() {
            return Ok(0);
        }
        let mut guard = self.scratch()?;
        let (mut h, mut w) = (image.height, image.width);
        // (Every output computed: a stroke's outputs see its ink, and the mask would cost more
        // than the few it spares.)
        guard.work.skipped = 0;
        let (mut rows, mut cols) = (rows, cols);
        for (i, layer) in self.layers().enumerate() {
            let (before, after) = trace.maps.split_at_mut(i);
            let input = before.last().map_or(&image.pixels[..], |m| &m[..]);
            let (ho, wo) = (h.div_ceil(layer.stride), w.div_ceil(layer.stride));
            (rows, cols) = (layer.seeing(&rows, h, ho), layer.seeing(&cols, w, wo));
            let rect = Some((rows.clone(), cols.clone()));
            (h, w) = layer.run(input, h, w, &mut guard.work, &mut after[0], rect, None);
        }
        let logits = trace.maps.last().map_or(&[][..], |m| &m[..]);
        self.softmax(logits, h * w, rows.clone(), cols.clone(), w, &mut trace.probs);
        Ok(rows.len() * cols.len())
    }

    /// One cell of the heatmap without pooling — the class probabilities at `row`, `col` — from
    /// the outputs it depends on alone (each layer computes only the rectangle the next one
    /// reads): the same values, bit for bit, as that cell of [`DirectNet::heatmap`] with
    /// [`Pooling::None`]. On the second look's 48² canvas, a third of the whole map's work.
    pub fn cell(&self, image: &GrayImage, row: usize, col: usize) -> Result<[f32; CLASSES]> {
        let layers: Vec<&Layer> = self.layers().collect();
        let mut sizes = vec![(image.height, image.width)];
        for layer in &layers {
            let (h, w) = sizes[sizes.len() - 1];
            sizes.push((h.div_ceil(layer.stride), w.div_ceil(layer.stride)));
        }
        let (rows, cols) = sizes[layers.len()];
        if row >= rows || col >= cols || image.pixels.len() != image.width * image.height {
            return Err(Error::InvalidInput(format!("cell ({row}, {col}) outside a {rows}×{cols} heatmap")));
        }
        // Back from the cell: the outputs of each layer that the next one reads.
        let mut rects: Vec<Rect> = vec![(0..0, 0..0); layers.len()];
        let mut need = (row..row + 1, col..col + 1);
        for (i, layer) in layers.iter().enumerate().rev() {
            let (h, w) = sizes[i];
            let next = (layer.reads(&need.0, h), layer.reads(&need.1, w));
            rects[i] = std::mem::replace(&mut need, next);
        }
        let mut guard = self.scratch()?;
        let bg = self.backgrounds(&mut guard, sizes[0], Pooling::None);
        let Scratch { a, b, work, .. } = &mut *guard;
        a.clear();
        a.extend_from_slice(&image.pixels);
        for (i, layer) in layers.iter().enumerate() {
            let ((h, w), (ho, wo)) = (sizes[i], sizes[i + 1]);
            b.clear();
            b.resize(ho * wo * layer.padded_outputs, 0.0);
            layer.run(a, h, w, work, b, Some(rects[i].clone()), bg.as_ref().map(|b| &b[i]));
            std::mem::swap(a, b);
        }
        let mut probs = vec![0.0; CLASSES * rows * cols];
        self.softmax(a, rows * cols, row..row + 1, col..col + 1, cols, &mut probs);
        Ok(std::array::from_fn(|k| probs[k * rows * cols + row * cols + col]))
    }

    /// The trunk's layers and the head's.
    fn layers(&self) -> impl Iterator<Item = &Layer> {
        self.trunk.iter().chain([&self.dense, &self.output])
    }

    fn scratch(&self) -> Result<std::sync::MutexGuard<'_, Scratch>> {
        self.scratch.lock().map_err(|_| Error::Backend("direct engine poisoned by an earlier panic".into()))
    }

    /// Softmax of the output layer's logits (NHWC, `padded_outputs` a cell) of the cells in
    /// `rows` × `cols` of a map `width` wide, into class-major `probs` (`cells` a class).
    fn softmax(
        &self,
        logits: &[f32],
        cells: usize,
        rows: Range<usize>,
        cols: Range<usize>,
        width: usize,
        probs: &mut [f32],
    ) {
        let n = self.output.padded_outputs;
        for r in rows {
            for cell in r * width + cols.start..r * width + cols.end {
                let logits = &logits[cell * n..cell * n + self.output.outputs];
                let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut e = [0.0f32; CLASSES];
                for (e, &l) in e.iter_mut().zip(logits) {
                    *e = exp(l - max);
                }
                let sum: f32 = e.iter().sum();
                for (class, e) in e.iter().enumerate() {
                    probs[class * cells + cell] = e / sum;
                }
            }
        }
    }
}

/// One image's run on the direct kernels, kept so that a small change can be recomputed
/// ([`DirectNet::update`]): every layer's output map and the probabilities.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    width: usize,
    height: usize,
    maps: Vec<Vec<f32>>,
    /// The heatmap's probabilities, class-major.
    pub probs: Vec<f32>,
}

/// `k`×`k` stride-1 'same' max pool of an NHWC map (padding never wins).
fn max_pool(input: &[f32], h: usize, w: usize, c: usize, k: usize, out: &mut Vec<f32>) {
    let ((top, _), (left, _)) = (same_padding(h, k, 1), same_padding(w, k, 1));
    out.clear();
    out.resize(h * w * c, f32::NEG_INFINITY);
    for y in 0..h {
        for x in 0..w {
            let dst = (y * w + x) * c;
            for sy in y.saturating_sub(top)..(y + k - top).min(h) {
                for sx in x.saturating_sub(left)..(x + k - left).min(w) {
                    let src = (sy * w + sx) * c;
                    for ch in 0..c {
                        out[dst + ch] = out[dst + ch].max(input[src + ch]);
                    }
                }
            }
        }
    }
}
