//! The detector: embedded (or given) weights on a burn device, image in, heatmap and detections out.

use burn::tensor::{Device, Tensor, TensorData};

use crate::detect::{DecodeOptions, Detection, decode, suppress};
use crate::direct::DirectNet;
use crate::error::{Error, Result};
use crate::heatmap::Heatmap;
use crate::image::GrayImage;
use crate::network::{CLASSES, Network, Pooling, cell_centre, cells};
use crate::weights::{self, WeightsInfo};

/// A network ready to run over images of any size.
#[derive(Debug)]
pub struct Detector {
    network: Network,
    device: Device,
    info: WeightsInfo,
    pooling: Pooling,
    pyramid: Vec<usize>,
    /// The direct CPU kernels, when they run the FCN instead of burn (see [`Detector::with_direct_kernels`]).
    direct: Option<DirectNet>,
    /// Decoding thresholds.
    pub options: DecodeOptions,
}

impl Detector {
    /// The project's default detector (weights embedded in the crate).
    pub fn embedded(device: Device) -> Result<Self> {
        Self::from_weights(weights::EMBEDDED, device)
    }

    /// A detector from a weights file's bytes.
    pub fn from_weights(bytes: &[u8], device: Device) -> Result<Self> {
        let (network, info) = weights::decode(bytes, &device)?;
        let pooling = info.pooling()?;
        let pyramid = info.pyramid.clone();
        Ok(Self { network, device, info, pooling, pyramid, direct: None, options: DecodeOptions::default() })
    }

    /// Runs the FCN on the direct CPU kernels ([`crate::direct`]) instead of burn: the same
    /// weights, read back once from a CPU device.
    pub fn with_direct_kernels(mut self) -> Result<Self> {
        self.direct = Some(DirectNet::new(&self.network.parameters()?)?);
        Ok(self)
    }

    /// Whether the FCN runs on the direct CPU kernels.
    pub fn uses_direct_kernels(&self) -> bool {
        self.direct.is_some()
    }

    /// Overrides the FCN pooling the weights file asks for.
    pub fn with_pooling(mut self, pooling: Pooling) -> Self {
        self.pooling = pooling;
        self
    }

    /// Overrides the image pyramid (downscale factors; `[1]` = native size only).
    pub fn with_pyramid(mut self, pyramid: Vec<usize>) -> Self {
        self.pyramid = pyramid;
        self
    }

    /// The downscale factors the detector runs at.
    pub fn pyramid(&self) -> &[usize] {
        &self.pyramid
    }

    /// What the weights file says about itself.
    pub fn info(&self) -> &WeightsInfo {
        &self.info
    }

    /// The FCN pooling in use.
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The device the network runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Runs the FCN; the result is `[1, 11, rows, cols]` probabilities (not yet read back).
    pub fn forward(&self, image: &GrayImage) -> Tensor<4> {
        let data = TensorData::new(image.pixels.clone(), [1, 1, image.height, image.width]);
        let input = Tensor::<4>::from_data(data, &self.device);
        self.network.heatmap(input, self.pooling)
    }

    /// Wraps read-back probabilities into a [`Heatmap`] with this detector's geometry.
    pub fn assemble(&self, image: &GrayImage, probs: Vec<f32>) -> Result<Heatmap> {
        let (rows, cols) = (cells(image.height), cells(image.width));
        if probs.len() != CLASSES * rows * cols {
            return Err(Error::Backend(format!(
                "heatmap has {} values, expected {}",
                probs.len(),
                CLASSES * rows * cols
            )));
        }
        let arch = self.network.architecture();
        Ok(Heatmap {
            width: image.width,
            height: image.height,
            rows,
            cols,
            origin_x: cell_centre(arch, self.pooling, image.width, 0),
            origin_y: cell_centre(arch, self.pooling, image.height, 0),
            probs,
        })
    }

    /// The heatmap of an image, read back asynchronously (what a browser's WebGPU needs).
    pub async fn heatmap_async(&self, image: &GrayImage) -> Result<Heatmap> {
        if let Some(direct) = &self.direct {
            return self.assemble(image, direct.heatmap(image, self.pooling)?);
        }
        let data = self
            .forward(image)
            .into_data_async()
            .await
            .map_err(|e| Error::Backend(format!("{e:?}")))?;
        let probs = data.try_into_vec::<f32>().map_err(|e| Error::Backend(format!("{e:?}")))?;
        self.assemble(image, probs)
    }

    /// The native-size heatmap and the detections of every pyramid level, merged.
    ///
    /// The heatmap returned is the one to show: on the native-size grid, each cell takes the
    /// probabilities of the level that is most sure there is a digit there (see
    /// [`Heatmap::overlay`]), so digits found by a coarser level are coloured too.
    pub async fn detect_async(&self, image: &GrayImage) -> Result<(Heatmap, Vec<Detection>)> {
        let mut heatmap = self.heatmap_async(image).await?;
        let mut levels = vec![decode(&heatmap, &self.options)];
        for &factor in self.pyramid.iter().filter(|&&f| f > 1) {
            let small = image.downscaled(factor);
            let coarse = self.heatmap_async(&small).await?;
            levels.push(rescale(decode(&coarse, &self.options), factor));
            heatmap.overlay(&coarse, factor);
        }
        Ok((heatmap, merge(levels, &self.options)))
    }

    /// The heatmap of an image (blocking; CPU backends).
    pub fn heatmap(&self, image: &GrayImage) -> Result<Heatmap> {
        block_on(self.heatmap_async(image))
    }

    /// [`Detector::detect_async`], blocking (CPU backends).
    pub fn detect(&self, image: &GrayImage) -> Result<(Heatmap, Vec<Detection>)> {
        block_on(self.detect_async(image))
    }
}

/// Runs a future to completion on this thread. The CPU backends complete read-backs without
/// waiting on anything, so this only polls.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

/// Maps detections of a level downscaled by `factor` back to input pixels.
pub fn rescale(mut detections: Vec<Detection>, factor: usize) -> Vec<Detection> {
    let f = factor as f32;
    for d in &mut detections {
        // Pixel i of the level covers input pixels f·i .. f·i + f − 1.
        d.x = d.x * f + (f - 1.0) / 2.0;
        d.y = d.y * f + (f - 1.0) / 2.0;
        d.w *= f;
        d.h *= f;
    }
    detections
}

/// Merges the detections of several pyramid levels: non-maximum suppression across levels, by
/// score. (Letting the finer level win instead was measured worse on the multi-scale and drawn
/// scene sets: the native-size level misreads parts of large digits.)
pub fn merge(levels: Vec<Vec<Detection>>, options: &DecodeOptions) -> Vec<Detection> {
    if levels.len() == 1 {
        return levels.into_iter().next().unwrap_or_default();
    }
    suppress(levels.into_iter().flatten().collect(), options.nms_fraction)
}
