//! The FCN forward (image in, class-major probabilities read back) on each CPU engine, for the
//! notebook's small net and the shipped deep detector, at 128², 512² and 1024². Criterion's
//! throughput is set to the FLOPs of the forward (2 × multiply-adds), so its `elem/s` reads as
//! FLOP/s. `make bench-native` (burn-ndarray needs `--features ndarray`).

use burn::tensor::Device;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use digitscope::{Detector, GrayImage};

#[path = "../tests/common/mod.rs"]
mod common;

/// Sparse ink: the tests' noise to the fourth power.
fn image(side: usize) -> GrayImage {
    GrayImage {
        width: side,
        height: side,
        pixels: common::noise(side * side, 7).into_iter().map(|v| v.powi(4)).collect(),
    }
}

fn engines(weights: &[u8]) -> Vec<(&'static str, Detector)> {
    let load = |device: Device| Detector::from_weights(weights, device).expect("weights").with_pyramid(vec![1]);
    #[cfg_attr(not(feature = "ndarray"), allow(unused_mut))]
    let mut out =
        vec![("direct", load(Device::flex()).with_direct_kernels().expect("direct")), ("flex", load(Device::flex()))];
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)]
    out.push(("ndarray", load(Device::ndarray())));
    out
}

fn fcn(c: &mut Criterion) {
    let root = env!("CARGO_MANIFEST_DIR");
    for (name, file) in [("small", "weights/small.dsw"), ("deep", "weights/default.dsw")] {
        let weights = std::fs::read(format!("{root}/{file}")).expect("weights file");
        let engines = engines(&weights);
        for side in [128, 512, 1024] {
            let image = image(side);
            let macs = engines[0].1.network().architecture().multiply_adds(side, side);
            let mut group = c.benchmark_group(format!("fcn-{name}-{side}"));
            group.throughput(Throughput::Elements(2 * macs));
            group.sample_size(10);
            for (engine, detector) in &engines {
                group.bench_function(*engine, |b| b.iter(|| detector.heatmap(&image).expect("heatmap")));
            }
            group.finish();
        }
    }
}

criterion_group!(benches, fcn);
criterion_main!(benches);
