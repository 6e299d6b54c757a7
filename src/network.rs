//! The notebook's two networks, as one burn [`Module`] each with two forwards.
//!
//! * [`Network::classify`]: trunk → global max pool → dense 64 swish → dense 11 (the classifier
//!   the weights are trained as);
//! * [`Network::heatmap_logits`]: the *convolutionalized* form. The trunk runs over an image of
//!   any size and the two dense layers are applied over the channels of every cell of the last
//!   feature map (burn's `Linear` acts on the last dimension of any rank, so NCHW is permuted to
//!   NHWC). No parameter is added: the FCN loads the very same record.
//!
//! What replaces the global max pool in the FCN is a [`Pooling`] choice made at run time:
//! the notebook drops it ([`Pooling::None`], recipes 1–2) or keeps a 3×3 stride-1 max pool
//! ([`Pooling::Max3`], the deep recipe); [`Pooling::Window`] is the exact convolutionalization —
//! a 4×4 stride-1 max pool over trunk cells, i.e. the global pool of a 28×28 input slid over the
//! map — under which a cell *is* the classifier applied to its window.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::{silu, softmax};
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Number of classes: the ten digits and `background` (label 10).
pub const CLASSES: usize = 11;
/// The background class index.
pub const BACKGROUND: usize = 10;
/// The side of a training image.
pub const INPUT_SIDE: usize = 28;
/// Total stride of the trunk: one heatmap cell per 8×8 pixels.
pub const STRIDE: usize = 8;
/// Side, in trunk cells, of the trunk map of a 28×28 input (= `ceil(28 / 8)`).
pub const WINDOW_CELLS: usize = 4;
/// Width of the dense hidden layer.
pub const HIDDEN: usize = 64;

/// Which of the notebook's networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// Conv 3×3 s2 16 → 32 → 64 (28,171 parameters with the head).
    Small,
    /// Conv 3×3: 16 s2, 16 s1, 32 s2, 32 s1, 64 s2, 64 s1.
    Deep,
}

impl Architecture {
    /// `(out_channels, stride)` of each 3×3 'same' convolution of the trunk.
    pub fn layers(self) -> &'static [(usize, usize)] {
        match self {
            Architecture::Small => &[(16, 2), (32, 2), (64, 2)],
            Architecture::Deep => &[(16, 2), (16, 1), (32, 2), (32, 1), (64, 2), (64, 1)],
        }
    }

    /// Side, in pixels, of the window one trunk cell sees (15 for `Small`, 43 for `Deep`).
    pub fn receptive_field(self) -> usize {
        let (mut field, mut jump) = (1, 1);
        for &(_, stride) in self.layers() {
            field += 2 * jump;
            jump *= stride;
        }
        field
    }

    /// Output channels of each convolution of the trunk, as the notebook has them.
    pub fn widths(self) -> Vec<usize> {
        self.layers().iter().map(|&(out, _)| out).collect()
    }

    /// Multiply-adds of the FCN (no pooling counted) on an `h`×`w` input.
    pub fn multiply_adds(self, h: usize, w: usize) -> u64 {
        self.multiply_adds_with(h, w, &self.widths(), HIDDEN)
    }

    /// [`Architecture::multiply_adds`] with `widths` output channels in the trunk's convolutions
    /// and `hidden` units in the head's dense layer.
    pub fn multiply_adds_with(self, h: usize, w: usize, widths: &[usize], hidden: usize) -> u64 {
        let (mut h, mut w, mut c) = (h as u64, w as u64, 1u64);
        let mut total = 0u64;
        for (&(_, stride), &out) in self.layers().iter().zip(widths) {
            h = h.div_ceil(stride as u64);
            w = w.div_ceil(stride as u64);
            total += h * w * out as u64 * c * 9;
            c = out as u64;
        }
        total + h * w * (c * hidden as u64 + hidden as u64 * CLASSES as u64)
    }
}

impl crate::Named for Architecture {
    const WHAT: &'static str = "architecture";
}

/// What the FCN puts between the trunk and the head (the classifier always pools globally).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// No pooling: the head sees one trunk cell (notebook recipes 1 and 2).
    None,
    /// 3×3 stride-1 'same' max pool (notebook recipe 3, the deep net).
    Max3,
    /// 4×4 stride-1 'same' max pool: each cell equals the classifier on its 28×28 window.
    Window,
}

impl crate::Named for Pooling {
    const WHAT: &'static str = "pooling";
}

impl Pooling {
    /// Kernel side of the stride-1 max pool, if any.
    pub fn kernel(self) -> Option<usize> {
        match self {
            Pooling::None => None,
            Pooling::Max3 => Some(3),
            Pooling::Window => Some(WINDOW_CELLS),
        }
    }
}

/// Swish, `x · sigmoid(x)`: burn's `silu`, or with feature `training-ops` one vectorized operation
/// where the tensor is on an autodiff device over burn-flex (training; `swish.rs`).
fn swish<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "training-ops")]
    if crate::swish::applies(&x.device()) {
        return crate::swish::swish(x);
    }
    silu(x)
}

/// A trunk convolution: burn's, or with feature `training-ops` one operation whose gradients are
/// matrix products where the tensor is on an autodiff device over burn-flex (training;
/// `conv_train.rs`).
fn convolve(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "training-ops")]
    if let Some(bias) = conv.bias.as_ref().filter(|_| crate::swish::applies(&x.device())) {
        return crate::conv_train::conv3x3_same(x, conv.weight.val(), bias.val(), conv.stride[0]);
    }
    conv.forward(x)
}

/// `(start, end)` padding of a 'same' operator (TensorFlow's rule: the odd pixel goes to the end).
pub fn same_padding(size: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = size.div_ceil(stride);
    let total = ((out.max(1) - 1) * stride + kernel).saturating_sub(size);
    (total / 2, total - total / 2)
}

/// The trunk and head shared by the classifier and its convolutionalized form.
#[derive(Module, Debug)]
pub struct Network {
    convs: Vec<Conv2d>,
    dense: Linear,
    output: Linear,
}

impl Network {
    /// A freshly initialised network (Glorot-uniform weights, like Keras).
    pub fn new(architecture: Architecture, device: &Device) -> Self {
        Self::with_hidden(architecture, HIDDEN, device)
    }

    /// [`Network::new`] with `hidden` units in the head's dense layer instead of [`HIDDEN`].
    pub fn with_hidden(architecture: Architecture, hidden: usize, device: &Device) -> Self {
        Self::with_widths(architecture, &architecture.widths(), hidden, device)
    }

    /// [`Network::with_hidden`] with `widths[i]` output channels in the trunk's convolution `i`
    /// instead of the notebook's (a wider trunk: strides and receptive field unchanged).
    /// `widths` has one entry per convolution of `architecture`.
    pub fn with_widths(architecture: Architecture, widths: &[usize], hidden: usize, device: &Device) -> Self {
        assert_eq!(widths.len(), architecture.layers().len(), "one width per convolution");
        let init = Initializer::XavierUniform { gain: 1.0 };
        let mut channels = 1;
        let convs = architecture
            .layers()
            .iter()
            .zip(widths)
            .map(|(&(_, stride), &out)| {
                let conv = Conv2dConfig::new([channels, out], [3, 3])
                    .with_stride([stride, stride])
                    .with_padding(PaddingConfig2d::Same)
                    .with_initializer(init.clone())
                    .init(device);
                channels = out;
                conv
            })
            .collect();
        Self {
            convs,
            dense: LinearConfig::new(channels, hidden).with_initializer(init.clone()).init(device),
            output: LinearConfig::new(hidden, CLASSES).with_initializer(init).init(device),
        }
    }

    /// Units in the head's dense layer.
    pub fn hidden(&self) -> usize {
        self.dense.weight.dims()[1]
    }

    /// Output channels of each convolution of the trunk.
    pub fn widths(&self) -> Vec<usize> {
        self.convs.iter().map(|conv| conv.weight.dims()[0]).collect()
    }

    /// Which architecture this network is (from its number of convolutions).
    pub fn architecture(&self) -> Architecture {
        if self.convs.len() == Architecture::Deep.layers().len() { Architecture::Deep } else { Architecture::Small }
    }

    /// Trunk: `[N, 1, H, W]` in [0, 1] → `[N, channels, ceil(H/8), ceil(W/8)]` (64 channels as the
    /// notebook has it).
    pub fn trunk(&self, input: Tensor<4>) -> Tensor<4> {
        self.convs.iter().fold(input, |x, conv| swish(convolve(conv, x)))
    }

    /// Head over the last dimension: `[..., 64]` → `[..., 11]` logits.
    fn head<const D: usize>(&self, features: Tensor<D>) -> Tensor<D> {
        self.output.forward(swish(self.dense.forward(features)))
    }

    /// Classifier logits: `[N, 1, H, W]` → `[N, 11]` (global max pool between trunk and head).
    pub fn classify_logits(&self, input: Tensor<4>) -> Tensor<2> {
        let features = self.trunk(input);
        let [n, c, h, w] = features.dims();
        let pooled = features.reshape([n, c, h * w]).max_dim(2).reshape([n, c]);
        self.head(pooled)
    }

    /// Classifier probabilities `[N, 11]`.
    pub fn classify(&self, input: Tensor<4>) -> Tensor<2> {
        softmax(self.classify_logits(input), 1)
    }

    /// FCN logits: `[N, 1, H, W]` → `[N, rows, cols, 11]` with `rows = ceil(H/8)`.
    pub fn heatmap_logits(&self, input: Tensor<4>, pooling: Pooling) -> Tensor<4> {
        let mut features = self.trunk(input);
        if let Some(k) = pooling.kernel() {
            let [_, _, h, w] = features.dims();
            let options = MaxPoolOptions::new([k, k])
                .with_stride([1, 1])
                .with_padding_pairs([same_padding(h, k, 1), same_padding(w, k, 1)]);
            features = max_pool2d(features, options);
        }
        self.head(features.permute([0, 2, 3, 1]))
    }

    /// FCN probabilities, class-major: `[N, 11, rows, cols]`.
    pub fn heatmap(&self, input: Tensor<4>, pooling: Pooling) -> Tensor<4> {
        softmax(self.heatmap_logits(input, pooling), 3).permute([0, 3, 1, 2])
    }
}

/// Pixel coordinate of the centre of the window seen by cell `index` along an axis of `size`
/// input pixels, for this architecture and pooling.
///
/// Each 3×3 'same' layer maps output position `o` to input centre `stride·o − pad_start + 1`,
/// where `pad_start` is 1 only when a stride-2 layer's input length is odd. On any size that is
/// a multiple of 8 with no pooling, this is `8·index + 7` (the window spans `8·index ..= 8·index + 14`).
pub fn cell_centre(architecture: Architecture, pooling: Pooling, size: usize, index: usize) -> f32 {
    let mut pads = Vec::new();
    let mut n = size;
    for &(_, stride) in architecture.layers() {
        pads.push((stride, same_padding(n, 3, stride).0));
        n = n.div_ceil(stride);
    }
    let mut pos = index as f32;
    if let Some(k) = pooling.kernel() {
        pos += (k as f32 - 1.0) / 2.0 - same_padding(n, k, 1).0 as f32;
    }
    for &(stride, pad) in pads.iter().rev() {
        pos = stride as f32 * pos - pad as f32 + 1.0;
    }
    pos
}

/// Heatmap rows (or cols) for an input side: `ceil(size / 8)`.
pub fn cells(size: usize) -> usize {
    size.div_ceil(STRIDE)
}

/// A 3×3 'same' convolution's parameters as plain arrays: `weight` is `[out, in, 3, 3]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvParameters {
    /// Input channels.
    pub inputs: usize,
    /// Output channels.
    pub outputs: usize,
    /// 1 or 2.
    pub stride: usize,
    /// `[out, in, 3, 3]`, row-major.
    pub weight: Vec<f32>,
    /// `[out]`.
    pub bias: Vec<f32>,
}

/// A dense layer's parameters as plain arrays: `weight` is `[in, out]`.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseParameters {
    /// Input features.
    pub inputs: usize,
    /// Output features.
    pub outputs: usize,
    /// `[in, out]`, row-major.
    pub weight: Vec<f32>,
    /// `[out]`.
    pub bias: Vec<f32>,
}

/// Every parameter of a [`Network`], read back as plain arrays (for the direct CPU kernels and
/// for exporting the weights to other frameworks).
#[derive(Debug, Clone, PartialEq)]
pub struct Parameters {
    /// Which network.
    pub architecture: Architecture,
    /// The trunk's convolutions, in order.
    pub convs: Vec<ConvParameters>,
    /// Dense 64 (swish).
    pub dense: DenseParameters,
    /// Dense 11 (logits).
    pub output: DenseParameters,
}

fn values<const D: usize>(tensor: Tensor<D>) -> crate::Result<Vec<f32>> {
    let backend = |e: &dyn std::fmt::Debug| crate::Error::Backend(format!("reading parameters: {e:?}"));
    tensor.try_into_data().map_err(|e| backend(&e))?.try_into_vec::<f32>().map_err(|e| backend(&e))
}

/// A float tensor of f32 `values` on `device`. On burn-flex it is made from the values as they
/// are: burn's `Tensor::from_data` first converts the data to the device's float type, and that
/// conversion (every element type to every other, for a value the compiler cannot see) is some
/// 110 KB of the CPU modules' code, where nothing ever needs converting (every tensor the
/// detector makes is f32, burn-flex's float type). Other backends take burn's path.
pub fn float_tensor<const D: usize>(values: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    let data = TensorData::new(values, shape);
    match device.as_dispatch() {
        #[cfg(feature = "flex")]
        burn::backend::DispatchDevice::Flex(_) => {
            Tensor::from_primitive::<burn::backend::Flex>(burn::backend::flex::FlexTensor::from_data(data))
        }
        #[allow(unreachable_patterns)] // the CPU modules have no other device
        _ => Tensor::from_data(data, device),
    }
}

impl Network {
    /// Reads every parameter back (needs a device that reads back synchronously: a CPU).
    pub fn parameters(&self) -> crate::Result<Parameters> {
        let bias = |b: &Option<burn::module::Param<Tensor<1>>>, n: usize| match b {
            Some(p) => values(p.val()),
            None => Ok(vec![0.0; n]),
        };
        let mut convs = Vec::new();
        for (conv, &(_, stride)) in self.convs.iter().zip(self.architecture().layers()) {
            let [outputs, inputs, _, _] = conv.weight.val().dims();
            convs.push(ConvParameters {
                inputs,
                outputs,
                stride,
                weight: values(conv.weight.val())?,
                bias: bias(&conv.bias, outputs)?,
            });
        }
        let dense = |layer: &Linear| -> crate::Result<DenseParameters> {
            let [inputs, outputs] = layer.weight.val().dims();
            Ok(DenseParameters {
                inputs,
                outputs,
                weight: values(layer.weight.val())?,
                bias: bias(&layer.bias, outputs)?,
            })
        };
        Ok(Parameters {
            architecture: self.architecture(),
            convs,
            dense: dense(&self.dense)?,
            output: dense(&self.output)?,
        })
    }
}
