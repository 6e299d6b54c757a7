//! Swish (`x · sigmoid(x)`) for training on burn-flex as one backend operation, forward and
//! backward each one vectorized pass (feature `training-ops`, which the trainer turns on).
//!
//! burn's `silu` is `x * sigmoid(x)`: on burn-flex, sigmoid is one libm `expf` call per element,
//! and under autodiff the product and the sigmoid each record a node, so that a step makes five
//! element-wise passes over every activation (sigmoid, product; the product's two gradients,
//! sigmoid's, their sum) and keeps two tensors per activation for the backward pass. Profiled
//! on a 2-core machine, `expf` alone was 17 % of a training step and burn-flex's unary op 8 %.
//! Here the forward is one pass whose `exp` is a polynomial the compiler vectorizes (AVX2 where
//! the CPU has it), the backward one pass from the saved input, `g · s · (1 + x · (1 − s))`.
//!
//! Only tensors on an autodiff device over burn-flex take this path ([`applies`]); inference on
//! every engine keeps burn's `silu` (and the direct kernels their own), so no detector's output
//! depends on this feature.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::{ActivationOps, FloatTensorOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, DispatchDevice, Flex, backend_extension};
use burn::tensor::{DType, Device, Tensor, TensorData};

/// The operation, registered with burn's dispatch for burn-flex and autodiff over it.
#[backend_extension(Flex, Autodiff)]
pub trait SwishBackend: Backend {
    /// `x · sigmoid(x)`, element-wise.
    fn swish(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Whether [`swish`] runs fused on this device: autodiff over burn-flex (training).
pub fn applies(device: &Device) -> bool {
    matches!(device.as_dispatch(), DispatchDevice::Autodiff(inner) if matches!(**inner, DispatchDevice::Flex(_)))
}

/// `x · sigmoid(x)` as one operation; `x` must be on a device where [`applies`] holds.
pub fn swish<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as SwishBackend>::swish(x.into_dispatch()))
}

impl SwishBackend for Flex {
    fn swish(x: FloatTensor<Self>) -> FloatTensor<Self> {
        map_f32(&x, None, swish_slice).unwrap_or_else(|| Flex::float_mul(x.clone(), Flex::sigmoid(x)))
    }
}

impl<C: CheckpointStrategy> SwishBackend for Autodiff<Flex, C> {
    fn swish(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct SwishBackward;

        impl Backward<Flex, 1> for SwishBackward {
            type State = FloatTensor<Flex>;

            fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [parent] = ops.parents;
                let grad = grads.consume::<Flex>(&ops.node);
                if let Some(node) = parent {
                    let x = ops.state;
                    let input_grad = map_f32(&x, Some(&grad), swish_grad_slice).unwrap_or_else(|| {
                        // Other dtypes: g · s · (1 + x · (1 − s)) from burn-flex's own ops.
                        let s = Flex::sigmoid(x.clone());
                        let one_minus = Flex::float_add_scalar(Flex::float_neg(s.clone()), 1.0.into());
                        let inner = Flex::float_add_scalar(Flex::float_mul(x, one_minus), 1.0.into());
                        Flex::float_mul(grad, Flex::float_mul(s, inner))
                    });
                    grads.register::<Flex>(node.id, input_grad);
                }
            }
        }

        // Compute-bound in burn's terms: the input is kept for the backward pass (burn's own
        // sigmoid is memory-bound, recomputing itself — another `exp` pass — in the backward).
        match SwishBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let input = x.into_primitive();
                let output = <Flex as SwishBackend>::swish(input.clone());
                prep.finish(input, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(<Flex as SwishBackend>::swish(x.into_primitive())),
        }
    }
}

/// `f` over `x` (and `other`, of the same shape) into a new contiguous f32 tensor; `None` where
/// either is not f32.
fn map_f32(
    x: &FloatTensor<Flex>,
    other: Option<&FloatTensor<Flex>>,
    f: fn(&[f32], &[f32], &mut [f32]),
) -> Option<FloatTensor<Flex>> {
    if x.dtype() != DType::F32 || other.is_some_and(|o| o.dtype() != DType::F32) {
        return None;
    }
    let x = x.to_contiguous();
    let other = other.map(|o| o.to_contiguous());
    let xs = x.as_slice::<f32>()?;
    let os = match &other {
        Some(o) => o.as_slice::<f32>()?,
        None => &[],
    };
    let mut out = vec![0.0f32; xs.len()];
    f(xs, os, &mut out);
    Some(FloatTensor::<Flex>::from_data(TensorData::new(out, x.layout().shape().clone())))
}

/// `out = x · sigmoid(x)` (`_unused` is empty).
fn swish_slice(x: &[f32], _unused: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked above.
        return unsafe { swish_avx2(x, out) };
    }
    swish_plain(x, out)
}

/// `out = g · swish'(x)`.
fn swish_grad_slice(x: &[f32], g: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked above.
        return unsafe { swish_grad_avx2(x, g, out) };
    }
    swish_grad_plain(x, g, out)
}

#[inline(always)]
fn swish_plain(x: &[f32], out: &mut [f32]) {
    for (o, &x) in out.iter_mut().zip(x) {
        *o = x * sigmoid(x);
    }
}

#[inline(always)]
fn swish_grad_plain(x: &[f32], g: &[f32], out: &mut [f32]) {
    for ((o, &x), &g) in out.iter_mut().zip(x).zip(g) {
        let s = sigmoid(x);
        *o = g * s * (1.0 + x * (1.0 - s));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn swish_avx2(x: &[f32], out: &mut [f32]) {
    swish_plain(x, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn swish_grad_avx2(x: &[f32], g: &[f32], out: &mut [f32]) {
    swish_grad_plain(x, g, out)
}

/// `1 / (1 + exp(−x))` without a branch or a call, so that loops over it vectorize: `exp(t)` as
/// `2ⁿ · exp(r)`, `n = round(t / ln 2)`, `|r| ≤ ln 2 / 2`, `exp(r)` by Cephes' `expf` polynomial
/// (relative error about 1e-7), `2ⁿ` built in the exponent bits. `t` is clamped to [−87, 88], where
/// `2ⁿ` stays a normal float; the sigmoid there is already 0 or 1 to f32 precision.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // 1.5 · 2²³: adding it rounds to an integer held in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let t = (-x).clamp(-87.0, 88.0);
    let k = t * LOG2E + ROUND;
    let n = k - ROUND;
    let r = t - n * LN2_HI - n * LN2_LO;
    // Cephes' coefficients (its last, 0.5000000120, is 0.5 in f32).
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    let power = f32::from_bits(((k.to_bits() as i32 - ROUND.to_bits() as i32 + 127) << 23) as u32);
    1.0 / (1.0 + e * power)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::activation::silu;

    #[test]
    fn sigmoid_matches_libm() {
        let mut worst = 0.0f32;
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-3;
            let exact = 1.0 / (1.0 + (-x as f64).exp());
            let error = (sigmoid(x) as f64 - exact).abs();
            // Relative where the clamp does not act; beyond it, both under 1e-37.
            worst = worst.max(if x >= -87.0 { (error / exact) as f32 } else { (error * 1e30) as f32 });
        }
        assert!(worst < 3e-7, "relative error {worst}");
        assert_eq!(sigmoid(1e30), 1.0);
        assert_eq!(sigmoid(-1e30), 1.0 / (1.0 + 88f32.exp()));
        assert!(sigmoid(f32::NAN).is_nan());
    }

    fn values(n: usize) -> Vec<f32> {
        (0..n).map(|i| ((i * 7919 % 2003) as f32 - 1001.0) * 0.013).collect()
    }

    #[test]
    fn fused_swish_and_its_gradient_match_silu_under_autodiff() {
        let device = Device::flex().autodiff();
        assert!(applies(&device));
        assert!(!applies(&Device::flex()));
        // 2·3·5·7 elements: not a multiple of any vector width.
        let data = TensorData::new(values(210), [2, 3, 5, 7]);
        let weights =
            Tensor::<4>::from_data(TensorData::new(values(210).into_iter().rev().collect(), [2, 3, 5, 7]), &device);
        let run = |fused: bool| {
            let x = Tensor::<4>::from_data(data.clone(), &device).require_grad();
            let y = if fused { swish(x.clone()) } else { silu(x.clone()) };
            let loss = (y.clone() * weights.clone()).sum();
            let grads = loss.backward();
            let dx = x.grad(&grads).expect("a gradient for x");
            (y.into_data().try_into_vec::<f32>().unwrap(), dx.into_data().try_into_vec::<f32>().unwrap())
        };
        let (y_fused, dx_fused) = run(true);
        let (y_silu, dx_silu) = run(false);
        for (a, b) in y_fused.iter().zip(&y_silu).chain(dx_fused.iter().zip(&dx_silu)) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} against {b}");
        }
        // A transposed (non-contiguous) input takes the same path.
        let x = Tensor::<4>::from_data(data, &device).swap_dims(1, 3);
        let fused = swish(x.clone()).into_data().try_into_vec::<f32>().unwrap();
        let plain = silu(x).into_data().try_into_vec::<f32>().unwrap();
        for (a, b) in fused.iter().zip(&plain) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} against {b}");
        }
    }
}
