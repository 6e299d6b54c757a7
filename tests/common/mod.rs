//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use burn::tensor::Device;
use digitscope::image::GrayImage;
use digitscope::mnist::{self, Split};
use digitscope::network::{Architecture, Network, Pooling};
use digitscope::weights::{self, WeightsInfo};

/// The MNIST directory (`make mnist` fetches it); tests that need it fail loudly without it.
pub fn mnist_dir() -> PathBuf {
    std::env::var_os("DIGITSCOPE_MNIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(mnist::DEFAULT_DIR))
}

/// The verified MNIST test split.
pub fn mnist_test() -> Split {
    mnist::load_test(&mnist_dir()).unwrap_or_else(|e| panic!("{e}"))
}

/// Deterministic pseudo-random floats in [0, 1).
pub fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

/// Sparse ink: [`noise`], cubed, as a `width`×`height` image.
pub fn sparse_ink(width: usize, height: usize, seed: u64) -> GrayImage {
    GrayImage { width, height, pixels: noise(width * height, seed).into_iter().map(|v| v.powi(3)).collect() }
}

/// A round pen of radius `r` dragged from (x0, y0) to (x1, y1), ink 1.
pub fn stroke(image: &mut GrayImage, (x0, y0): (f32, f32), (x1, y1): (f32, f32), r: f32) {
    let steps = ((x1 - x0).hypot(y1 - y0) / 0.5).ceil().max(1.0) as usize;
    for i in 0..=steps {
        let t = i as f32 / steps as f32;
        let (cx, cy) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
        let (ys, xs) = ((cy - r).floor().max(0.0) as usize, (cx - r).floor().max(0.0) as usize);
        for y in ys..((cy + r).ceil() as usize + 1).min(image.height) {
            for x in xs..((cx + r).ceil() as usize + 1).min(image.width) {
                if (x as f32 - cx).hypot(y as f32 - cy) <= r {
                    image.pixels[y * image.width + x] = 1.0;
                }
            }
        }
    }
}

/// One pen stroke: from, to, the pen's radius ([`stroke`]).
pub type Stroke = ((f32, f32), (f32, f32), f32);

/// A 7, then a 3 beside it, stroke by stroke, on a 448×336 pad.
pub const SEVEN_AND_THREE: [Stroke; 6] = [
    ((40.0, 40.0), (180.0, 40.0), 5.0),
    ((180.0, 40.0), (90.0, 290.0), 5.0),
    ((300.0, 120.0), (330.0, 110.0), 2.0),
    ((330.0, 110.0), (320.0, 135.0), 2.0),
    ((320.0, 135.0), (335.0, 150.0), 2.0),
    ((335.0, 150.0), (305.0, 165.0), 2.0),
];

/// A drawing: a blank (0) `width`×`height` image with a few patches of [`sparse_ink`] and
/// lone pixels, so that most of it is background and its edges meet ink in places.
pub fn drawing(width: usize, height: usize, seed: u64) -> GrayImage {
    let mut image = GrayImage { width, height, pixels: vec![0.0; width * height] };
    let r = noise(24, seed);
    let ink = sparse_ink(width, height, seed + 100);
    for p in r.chunks_exact(4) {
        let (x0, y0) = ((p[0] * width as f32) as usize, (p[1] * height as f32) as usize);
        let (x1, y1) = ((x0 + 1 + (p[2] * 12.0) as usize).min(width), (y0 + 1 + (p[3] * 20.0) as usize).min(height));
        for y in y0..y1 {
            for x in x0..x1 {
                image.pixels[y * width + x] = ink.pixels[y * width + x].max(0.05);
            }
        }
    }
    image
}

/// A weights file of a freshly initialised (Glorot-uniform) network of `architecture`, one
/// pyramid level: every layer, bias and padding path is exercised with weights no training shaped.
pub fn random_weights(architecture: Architecture) -> Vec<u8> {
    encoded(Network::new(architecture, &Device::flex()))
}

/// [`random_weights`] of a deep network with a wider trunk and head than the notebook's
/// (widths that are not multiples of 16, so that packing pads them), as `trainer train
/// --widen-trunk` makes them.
pub fn random_wide_weights() -> Vec<u8> {
    encoded(Network::with_widths(Architecture::Deep, &[24, 16, 40, 32, 96, 104], 72, &Device::flex()))
}

/// `network` as a weights file of one pyramid level, no pooling.
fn encoded(network: Network) -> Vec<u8> {
    let info = WeightsInfo {
        recipe: "test".into(),
        architecture: network.architecture(),
        pooling: Pooling::None,
        test_accuracy: 0.0,
        pyramid: vec![1],
        checksum: None,
    };
    weights::encode(network, &info).unwrap()
}

/// The CPU engines complete without waiting: polling once finishes the future.
pub fn pollster<T>(future: impl std::future::Future<Output = digitscope::Result<T>>) -> T {
    finished(future).unwrap()
}

/// [`pollster`], the result as it is.
pub fn finished<T>(future: impl std::future::Future<Output = digitscope::Result<T>>) -> digitscope::Result<T> {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("a CPU detection did not complete at once"),
    }
}
