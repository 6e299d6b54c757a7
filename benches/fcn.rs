//! The FCN forward (image in, class-major probabilities read back) on each CPU engine, for the
//! notebook's small net and the shipped deep detector, at 128², 512² and 1024². Criterion's
//! throughput is set to the FLOPs of the forward (2 × multiply-adds), so its `elem/s` reads as
//! FLOP/s. Then the full detector on two drawn pads, with and without writing the outputs that
//! see only background. `make bench-native` (burn-ndarray needs `--features ndarray`).

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

/// The full detector (shipped weights, every level, the second look) on drawn 448×336 pads —
/// a 7 and a 3 (`common::SEVEN_AND_THREE`, `tests/bands.rs`'s strokes); 30 pen strokes of 40 px, 8-px pen, as the browser
/// benchmark's live row draws them — with the direct kernels writing the outputs that see only
/// background, and computing them.
fn pads(c: &mut Criterion) {
    let mut seven_three = GrayImage::blank(448, 336);
    for (a, b, r) in common::SEVEN_AND_THREE {
        common::stroke(&mut seven_three, a, b, r);
    }
    let mut thirty = GrayImage::blank(448, 336);
    for i in 1000..1030usize {
        let (cx, cy) = ((40 + (i * 97) % 368) as f32, (40 + (i * 61) % 256) as f32);
        let (dx, dy) = ((i as f32 * 2.4).cos() * 20.0, (i as f32 * 2.4).sin() * 20.0);
        common::stroke(&mut thirty, (cx - dx, cy - dy), (cx + dx, cy + dy), 4.0);
    }
    let direct = Detector::embedded(Device::flex()).expect("weights").with_direct_kernels().expect("direct");
    let computing = Detector::embedded(Device::flex()).expect("weights").with_direct_kernels().expect("direct");
    let computing = computing.computing_background();
    for (name, image) in [("7-and-3", &seven_three), ("30-strokes", &thirty)] {
        let mut group = c.benchmark_group(format!("detect-pad-{name}"));
        group.sample_size(10);
        group.bench_function("direct", |b| b.iter(|| direct.detect(image).expect("detect")));
        group.bench_function("direct, computing background", |b| b.iter(|| computing.detect(image).expect("detect")));
        group.finish();
    }
}

criterion_group!(benches, fcn, pads);
criterion_main!(benches);
