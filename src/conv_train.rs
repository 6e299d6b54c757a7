//! The trunk's 3×3 'same' convolution for training on burn-flex as one backend operation whose
//! backward pass is two matrix products (feature `training-ops`, which the trainer turns on).
//!
//! burn computes a convolution's weight gradient as another convolution (the input's channels
//! taken as the batch, the output gradient as a kernel as large as the output map) and its
//! input gradient as a transposed convolution. Profiled on a 2-core machine (recipe 1, data-
//! parallel steps), the weight gradient alone was 32 % of a training step and the input
//! gradient 16 %. Here the input is unrolled once (`cols`, `[in·9, batch·out pixels]`, kept from
//! the forward pass) and every product is one GEMM (the `gemm` crate burn-flex itself uses):
//!
//! * forward: `y = W · cols + b` (`W` is `[out, in·9]`);
//! * weight gradient: `dW = dY · colsᵀ`, bias gradient: `dY`'s row sums;
//! * input gradient: `dcols = Wᵀ · dY`, folded back onto the input's pixels.
//!
//! (`dY` is the output gradient as `[out, batch·out pixels]`.) Only tensors on an autodiff
//! device over burn-flex take this path ([`applies`]); inference on every engine keeps burn's
//! convolution (and the direct kernels their own), so no detector's output depends on it.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Tensor, TensorData};

use crate::network::same_padding;

pub use crate::swish::applies;

/// The operation, registered with burn's dispatch for burn-flex and autodiff over it.
#[backend_extension(Flex, Autodiff)]
pub trait ConvBackend: Backend {
    /// A 3×3 'same' convolution (TensorFlow's padding: the odd pixel at the end) of
    /// `x` `[n, in, h, w]` by `weight` `[out, in, 3, 3]` plus `bias` `[out]`.
    fn conv3x3_same(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self>;
}

/// `x` convolved as [`ConvBackend::conv3x3_same`]; the tensors must be on a device where
/// [`applies`] holds.
pub fn conv3x3_same(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>, stride: usize) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as ConvBackend>::conv3x3_same(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        stride,
    ))
}

/// burn's options for the same convolution of `x` (the fallback for dtypes other than f32).
fn options(x: &FloatTensor<Flex>, stride: usize) -> ConvOptions<2> {
    let [h, w] = [x.layout().shape()[2], x.layout().shape()[3]];
    ConvOptions::new_with_padding([stride, stride], [same_padding(h, 3, stride), same_padding(w, 3, stride)], [1, 1], 1)
}

/// The convolution, and what the backward pass needs of it on this crate's path: its sizes
/// and the input unrolled (none where burn's own convolution ran).
fn convolve(
    x: &FloatTensor<Flex>,
    weight: &FloatTensor<Flex>,
    bias: &FloatTensor<Flex>,
    stride: usize,
) -> (FloatTensor<Flex>, Option<(Geometry, Vec<f32>)>) {
    match Geometry::of(x, weight, bias, stride) {
        Some(g) => {
            let x = x.to_contiguous();
            let cols = g.unroll(x.as_slice::<f32>().expect("f32, checked"));
            (g.forward(&cols, weight, bias), Some((g, cols)))
        }
        None => (Flex::conv2d(x.clone(), weight.clone(), Some(bias.clone()), options(x, stride)), None),
    }
}

impl ConvBackend for Flex {
    fn conv3x3_same(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self> {
        convolve(&x, &weight, &bias, stride).0
    }
}

impl<C: CheckpointStrategy> ConvBackend for Autodiff<Flex, C> {
    fn conv3x3_same(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self> {
        /// What the backward pass keeps: the sizes and the unrolled input (f32), the input
        /// itself and the parameters (burn's gradients, other dtypes).
        #[derive(Debug, Clone)]
        struct Kept {
            unrolled: Option<(Geometry, Arc<Vec<f32>>)>,
            x: FloatTensor<Flex>,
            weight: FloatTensor<Flex>,
            bias: FloatTensor<Flex>,
            stride: usize,
        }

        #[derive(Debug)]
        struct ConvBackward;

        impl Backward<Flex, 3> for ConvBackward {
            type State = Kept;

            fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [node_x, node_weight, node_bias] = ops.parents;
                let grad = grads.consume::<Flex>(&ops.node);
                let Kept { unrolled, x, weight, bias, stride } = ops.state;
                let Some((g, cols)) = unrolled else {
                    // Other dtypes: burn-flex's own gradients.
                    let o = options(&x, stride);
                    if let Some(node) = node_x {
                        let dx = Flex::conv2d_x_backward(x.clone(), weight.clone(), grad.clone(), o.clone());
                        grads.register::<Flex>(node.id, dx);
                    }
                    if let Some(node) = node_weight {
                        grads.register::<Flex>(
                            node.id,
                            Flex::conv2d_weight_backward(x.clone(), weight, grad.clone(), o),
                        );
                    }
                    if let Some(node) = node_bias {
                        grads.register::<Flex>(node.id, Flex::conv2d_bias_backward(x, bias, grad));
                    }
                    return;
                };
                let grad = grad.to_contiguous();
                let dy = g.gather_grad(grad.as_slice::<f32>().expect("f32 gradient of an f32 output"));
                if let Some(node) = node_weight {
                    grads.register::<Flex>(node.id, g.weight_grad(&dy, &cols));
                }
                if let Some(node) = node_bias {
                    grads.register::<Flex>(node.id, g.bias_grad(&dy));
                }
                if let Some(node) = node_x {
                    grads.register::<Flex>(node.id, g.input_grad(&dy, &weight));
                }
            }
        }

        let prep = ConvBackward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful();
        let (x, weight, bias) = (x.into_primitive(), weight.into_primitive(), bias.into_primitive());
        let (output, unrolled) = convolve(&x, &weight, &bias, stride);
        match prep {
            OpsKind::Tracked(prep) => {
                let unrolled = unrolled.map(|(g, cols)| (g, Arc::new(cols)));
                prep.finish(Kept { unrolled, x, weight, bias, stride }, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }
}

/// The sizes of one convolution (f32 tensors only).
#[derive(Debug, Clone, Copy)]
struct Geometry {
    n: usize,
    inputs: usize,
    outputs: usize,
    h: usize,
    w: usize,
    ho: usize,
    wo: usize,
    stride: usize,
    top: usize,
    left: usize,
}

impl Geometry {
    /// `None` unless the three tensors are f32 of the shapes the operation takes (burn's own
    /// convolution then runs, and reports what does not fit).
    fn of(x: &FloatTensor<Flex>, weight: &FloatTensor<Flex>, bias: &FloatTensor<Flex>, stride: usize) -> Option<Self> {
        let (xs, ws, bs) = (x.layout().shape(), weight.layout().shape(), bias.layout().shape());
        if [x.dtype(), weight.dtype(), bias.dtype()] != [DType::F32; 3] || xs.num_dims() != 4 || ws.num_dims() != 4 {
            return None;
        }
        let (n, inputs, h, w) = (xs[0], xs[1], xs[2], xs[3]);
        if ws[1] != inputs || ws[2] != 3 || ws[3] != 3 || bs.num_dims() != 1 || bs[0] != ws[0] || stride == 0 {
            return None;
        }
        Some(Self {
            n,
            inputs,
            outputs: ws[0],
            h,
            w,
            ho: h.div_ceil(stride),
            wo: w.div_ceil(stride),
            stride,
            top: same_padding(h, 3, stride).0,
            left: same_padding(w, 3, stride).0,
        })
    }

    /// Unrolled taps (`in·9`) a column.
    fn k(&self) -> usize {
        self.inputs * 9
    }

    /// Output pixels over the batch (columns of the unrolled input).
    fn m(&self) -> usize {
        self.n * self.ho * self.wo
    }

    /// Every run of taps that reads inside the input: for unrolled row `(i·3 + ky)·3 + kx`, image
    /// `b` and output row `oy`, `f(at, from, count)` — `cols[at + j]` is input element
    /// `x[from + j·stride]` for `j < count` (NCHW; the rest of the row is padding).
    fn taps(&self, mut f: impl FnMut(usize, usize, usize)) {
        let (s, w, wo, m, plane) = (self.stride, self.w, self.wo, self.m(), self.h * self.w);
        for i in 0..self.inputs {
            for ky in 0..3 {
                for kx in 0..3 {
                    // Output column `ox` reads input column `ox·s + x0`, inside `0..w` for
                    // `first..last`.
                    let x0 = kx as isize - self.left as isize;
                    let first = if x0 < 0 { ((-x0) as usize).div_ceil(s).min(wo) } else { 0 };
                    let last = if (w as isize) <= x0 { 0 } else { ((w as isize - x0 - 1) as usize / s + 1).min(wo) };
                    if last <= first {
                        continue;
                    }
                    let row = ((i * 3 + ky) * 3 + kx) * m;
                    for b in 0..self.n {
                        for oy in 0..self.ho {
                            let iy = (oy * s + ky) as isize - self.top as isize;
                            if iy < 0 || iy >= self.h as isize {
                                continue;
                            }
                            let at = row + (b * self.ho + oy) * wo + first;
                            let from = (b * self.inputs + i) * plane
                                + iy as usize * w
                                + (first as isize * s as isize + x0) as usize;
                            f(at, from, last - first);
                        }
                    }
                }
            }
        }
    }

    /// The input unrolled: `cols[(i·3 + ky)·3 + kx][(b·ho + oy)·wo + ox]` is the input pixel that
    /// tap `(ky, kx)` of output pixel `(oy, ox)` of image `b` reads in channel `i` (0 in the padding).
    fn unroll(&self, x: &[f32]) -> Vec<f32> {
        let s = self.stride;
        let mut cols = vec![0.0f32; self.k() * self.m()];
        self.taps(|at, from, count| {
            for (j, c) in cols[at..at + count].iter_mut().enumerate() {
                *c = x[from + j * s];
            }
        });
        cols
    }

    /// `y = W · cols + b`, laid out `[n, out, ho, wo]`.
    fn forward(&self, cols: &[f32], weight: &FloatTensor<Flex>, bias: &FloatTensor<Flex>) -> FloatTensor<Flex> {
        let (k, m, o, p) = (self.k(), self.m(), self.outputs, self.ho * self.wo);
        let weight = weight.to_contiguous();
        let bias = bias.to_contiguous();
        let (weight, bias) =
            (weight.as_slice::<f32>().expect("f32 weights"), bias.as_slice::<f32>().expect("f32 bias"));
        let mut ym = vec![0.0f32; o * m];
        // SAFETY: `ym` is `o×m`, `weight` `o×k`, `cols` `k×m`, all row-major, as the strides say.
        unsafe { matmul(o, m, k, &mut ym, (m, 1), weight, (k, 1), cols, (m, 1)) };
        let mut y = vec![0.0f32; self.n * o * p];
        for (c, row) in ym.chunks_exact(m).enumerate() {
            for (b, image) in row.chunks_exact(p).enumerate() {
                let out = &mut y[(b * o + c) * p..][..p];
                for (v, &t) in out.iter_mut().zip(image) {
                    *v = t + bias[c];
                }
            }
        }
        tensor(y, [self.n, o, self.ho, self.wo])
    }

    /// The output gradient `[n, out, ho, wo]` as `[out, n·ho·wo]`.
    fn gather_grad(&self, grad: &[f32]) -> Vec<f32> {
        let (o, p, m) = (self.outputs, self.ho * self.wo, self.m());
        let mut dy = vec![0.0f32; o * m];
        for (bc, plane) in grad.chunks_exact(p).enumerate() {
            let (b, c) = (bc / o, bc % o);
            dy[c * m + b * p..][..p].copy_from_slice(plane);
        }
        dy
    }

    /// `dW = dY · colsᵀ`, `[out, in, 3, 3]`.
    fn weight_grad(&self, dy: &[f32], cols: &[f32]) -> FloatTensor<Flex> {
        let (k, m, o) = (self.k(), self.m(), self.outputs);
        let mut dw = vec![0.0f32; o * k];
        // SAFETY: `dw` is `o×k` row-major; `dy` `o×m` row-major; `colsᵀ` read from `cols`
        // (`k×m` row-major) with its strides swapped.
        unsafe { matmul(o, k, m, &mut dw, (k, 1), dy, (m, 1), cols, (1, m)) };
        tensor(dw, [o, self.inputs, 3, 3])
    }

    /// The bias gradient: `dY`'s row sums.
    fn bias_grad(&self, dy: &[f32]) -> FloatTensor<Flex> {
        let sums = dy.chunks_exact(self.m()).map(|row| row.iter().sum()).collect();
        tensor(sums, [self.outputs])
    }

    /// `dcols = Wᵀ · dY`, folded back onto the input's pixels: `[n, in, h, w]`.
    fn input_grad(&self, dy: &[f32], weight: &FloatTensor<Flex>) -> FloatTensor<Flex> {
        let (k, m, o, s) = (self.k(), self.m(), self.outputs, self.stride);
        let weight = weight.to_contiguous();
        let weight = weight.as_slice::<f32>().expect("f32 weights");
        let mut dcols = vec![0.0f32; k * m];
        // SAFETY: `dcols` is `k×m` row-major; `Wᵀ` read from `weight` (`o×k` row-major) with its
        // strides swapped; `dy` `o×m` row-major.
        unsafe { matmul(k, m, o, &mut dcols, (m, 1), weight, (1, k), dy, (m, 1)) };
        let mut dx = vec![0.0f32; self.n * self.inputs * self.h * self.w];
        self.taps(|at, from, count| {
            for (j, d) in dcols[at..at + count].iter().enumerate() {
                dx[from + j * s] += d;
            }
        });
        tensor(dx, [self.n, self.inputs, self.h, self.w])
    }
}

/// A new f32 tensor on burn-flex.
fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> FloatTensor<Flex> {
    FloatTensor::<Flex>::from_data(TensorData::new(values, shape))
}

/// `dst = lhs · rhs` (`m×k` by `k×n`), each matrix given with its `(row, column)` strides, on
/// this thread (the trainer runs one share of a batch on each core).
///
/// # Safety
/// Every element the strides address must lie inside its slice.
#[allow(clippy::too_many_arguments)]
unsafe fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    dst_strides: (usize, usize),
    lhs: &[f32],
    lhs_strides: (usize, usize),
    rhs: &[f32],
    rhs_strides: (usize, usize),
) {
    debug_assert!(m == 0 || n == 0 || (m - 1) * dst_strides.0 + (n - 1) * dst_strides.1 < dst.len());
    debug_assert!(m == 0 || k == 0 || (m - 1) * lhs_strides.0 + (k - 1) * lhs_strides.1 < lhs.len());
    debug_assert!(k == 0 || n == 0 || (k - 1) * rhs_strides.0 + (n - 1) * rhs_strides.1 < rhs.len());
    // SAFETY: the caller's; `read_dst` false: `dst` is only written.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_strides.1 as isize,
            dst_strides.0 as isize,
            false,
            lhs.as_ptr(),
            lhs_strides.1 as isize,
            lhs_strides.0 as isize,
            rhs.as_ptr(),
            rhs_strides.1 as isize,
            rhs_strides.0 as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::Device;

    fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n).map(|i| (((i + seed) * 7919 % 2003) as f32 - 1001.0) * 1e-3).collect()
    }

    /// The output and the three gradients of a weighted sum of the output, fused against burn's
    /// convolution, on odd and even sizes at both strides (the padding's odd pixel at the end).
    #[test]
    fn fused_convolution_and_its_gradients_match_burns() {
        let device = Device::flex().autodiff();
        assert!(applies(&device));
        for (n, inputs, outputs, h, w, stride) in
            [(2, 1, 8, 28, 28, 2), (3, 5, 4, 7, 9, 2), (2, 3, 6, 6, 5, 1), (1, 16, 16, 14, 14, 1), (2, 2, 3, 1, 2, 2)]
        {
            let conv = Conv2dConfig::new([inputs, outputs], [3, 3])
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Same)
                .init(&device);
            let x_data = TensorData::new(values(n * inputs * h * w, 3), [n, inputs, h, w]);
            let (ho, wo) = (h.div_ceil(stride), w.div_ceil(stride));
            let mix = Tensor::<4>::from_data(
                TensorData::new(values(n * outputs * ho * wo, 11), [n, outputs, ho, wo]),
                &device,
            );
            let run = |fused: bool| {
                let x = Tensor::<4>::from_data(x_data.clone(), &device).require_grad();
                let bias = conv.bias.as_ref().expect("a bias").val();
                let y = if fused {
                    conv3x3_same(x.clone(), conv.weight.val(), bias.clone(), stride)
                } else {
                    conv.forward(x.clone())
                };
                let grads = (y.clone() * mix.clone()).sum().backward();
                let read = |t: Tensor<4>| t.into_data().try_into_vec::<f32>().unwrap();
                let dw = conv.weight.val().grad(&grads).expect("a weight gradient");
                let db = bias.grad(&grads).expect("a bias gradient");
                let dx = x.grad(&grads).expect("an input gradient");
                (read(y), read(dw), db.into_data().try_into_vec::<f32>().unwrap(), read(dx))
            };
            let (fused, plain) = (run(true), run(false));
            let pairs = [
                (&fused.0, &plain.0, "y"),
                (&fused.1, &plain.1, "dW"),
                (&fused.2, &plain.2, "db"),
                (&fused.3, &plain.3, "dx"),
            ];
            for (a, b, what) in pairs {
                assert_eq!(a.len(), b.len(), "{what}");
                for (a, b) in a.iter().zip(b.iter()) {
                    assert!(
                        (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                        "{what} at {n}×{inputs}×{h}×{w} s{stride}: {a} against {b}"
                    );
                }
            }
        }
    }
}
