//! The direct CPU kernels against the burn network they are read from.

use burn::tensor::Device;
use digitscope::Detector;
use digitscope::image::GrayImage;
use digitscope::network::{Architecture, Pooling};
use digitscope::weights::EMBEDDED;

mod common;

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn direct_kernels_match_burn_on_every_architecture_pooling_and_odd_size() {
    let device = Device::flex();
    let networks = [
        (Architecture::Small, common::random_weights(Architecture::Small)),
        (Architecture::Deep, common::random_weights(Architecture::Deep)),
        (Architecture::Deep, common::random_wide_weights()),
    ];
    for (architecture, bytes) in networks {
        // Random (Glorot-uniform) weights: every layer, bias and padding path is exercised.
        for pooling in [Pooling::None, Pooling::Max3, Pooling::Window] {
            let burn = Detector::from_weights(&bytes, device.clone()).unwrap().with_pooling(pooling);
            let direct = Detector::from_weights(&bytes, device.clone())
                .unwrap()
                .with_pooling(pooling)
                .with_direct_kernels()
                .unwrap();
            assert!(direct.uses_direct_kernels());
            for (w, h, seed) in [(28, 28, 1), (61, 37, 2), (8, 8, 3), (1, 5, 4), (130, 96, 5)] {
                let image = common::sparse_ink(w, h, seed);
                let (a, b) = (burn.heatmap(&image).unwrap(), direct.heatmap(&image).unwrap());
                assert_eq!((a.rows, a.cols, a.origin_x, a.origin_y), (b.rows, b.cols, b.origin_x, b.origin_y));
                let diff = max_diff(&a.probs, &b.probs);
                assert!(diff < 2e-5, "{architecture:?} {pooling:?} {w}×{h}: max difference {diff}");
            }
        }
    }
}

#[test]
fn direct_kernels_match_burn_on_the_shipped_detector() {
    let burn = Detector::embedded(Device::flex()).unwrap();
    let direct = Detector::embedded(Device::flex()).unwrap().with_direct_kernels().unwrap();
    let image = common::sparse_ink(200, 150, 9);
    let (a, da) = burn.detect(&image).unwrap();
    let (b, db) = direct.detect(&image).unwrap();
    assert!(max_diff(&a.probs, &b.probs) < 2e-5, "{}", max_diff(&a.probs, &b.probs));
    assert_eq!(da.len(), db.len());
    // Repeated calls reuse the scratch buffers and give the same result.
    assert_eq!(direct.heatmap(&image).unwrap(), direct.heatmap(&image).unwrap());
    let _ = EMBEDDED;
}

#[test]
fn polynomial_exp_is_accurate() {
    let mut worst = 0.0f32;
    let mut x = -87.0f32;
    while x < 88.0 {
        let rel = ((digitscope::direct::exp(x) as f64 - (x as f64).exp()) / (x as f64).exp()).abs() as f32;
        worst = worst.max(rel);
        x += 0.0137;
    }
    assert!(worst < 5e-7, "worst relative error {worst}");
    assert_eq!(digitscope::direct::exp(-1000.0), digitscope::direct::exp(-87.0));
}

#[test]
fn one_cell_alone_equals_that_cell_of_the_whole_heatmap_bit_for_bit() {
    use digitscope::direct::DirectNet;
    let device = Device::flex();
    for architecture in [Architecture::Small, Architecture::Deep] {
        let bytes = common::random_weights(architecture);
        let (network, _) = digitscope::weights::decode(&bytes, &device).unwrap();
        let direct = DirectNet::new(&network.parameters().unwrap()).unwrap();
        // The second look's 48² canvas, odd sizes (uneven 'same' padding), one cell, a thin strip.
        for (w, h, seed) in [(48, 48, 1), (61, 37, 2), (8, 8, 3), (9, 70, 4), (130, 96, 5)] {
            let image = common::sparse_ink(w, h, seed);
            let whole = direct.heatmap(&image, Pooling::None).unwrap();
            let (rows, cols) = (h.div_ceil(8), w.div_ceil(8));
            for row in 0..rows {
                for col in 0..cols {
                    let cell = direct.cell(&image, row, col).unwrap();
                    let expected: Vec<f32> = (0..11).map(|k| whole[k * rows * cols + row * cols + col]).collect();
                    assert_eq!(cell.to_vec(), expected, "{architecture:?} {w}×{h} cell ({row}, {col})");
                }
            }
            assert!(direct.cell(&image, rows, 0).is_err() && direct.cell(&image, 0, cols).is_err());
        }
    }
}

#[test]
fn outputs_that_see_only_background_are_written_as_computed_bit_for_bit() {
    use digitscope::direct::DirectNet;
    let device = Device::flex();
    let networks = [
        common::random_weights(Architecture::Small),
        common::random_weights(Architecture::Deep),
        common::random_wide_weights(),
        EMBEDDED.to_vec(),
    ];
    for bytes in networks {
        let (network, _) = digitscope::weights::decode(&bytes, &device).unwrap();
        let parameters = network.parameters().unwrap();
        let (skipping, computing) =
            (DirectNet::new(&parameters).unwrap(), DirectNet::new(&parameters).unwrap().computing_background());
        // Every parity of size modulo 8 (each stride-2 layer's windows start on either parity
        // of the background pattern), a blank image, one lone pixel, ink on the edges.
        let mut skipped = 0;
        for (w, h, seed) in [(64, 64, 1), (61, 37, 2), (8, 8, 3), (1, 5, 4), (130, 96, 5), (75, 83, 6), (98, 90, 7)] {
            for pooling in [Pooling::None, Pooling::Max3, Pooling::Window] {
                for image in [common::drawing(w, h, seed), GrayImage::blank(w, h)] {
                    let a = skipping.heatmap(&image, pooling).unwrap();
                    skipped += skipping.skipped();
                    let b = computing.heatmap(&image, pooling).unwrap();
                    assert_eq!(computing.skipped(), 0);
                    let same = a.iter().zip(&b).all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same && a.len() == b.len(), "{w}×{h} {pooling:?}");
                    if pooling != Pooling::None {
                        continue;
                    }
                    // A live drawing's first heatmap, and single cells (the second look's).
                    let trace = skipping.trace(&image).unwrap();
                    assert!(trace.probs.iter().zip(&b).all(|(a, b)| a.to_bits() == b.to_bits()), "{w}×{h} trace");
                    let (rows, cols) = (h.div_ceil(8), w.div_ceil(8));
                    for (row, col) in [(0, 0), (rows / 2, cols / 2), (rows - 1, cols - 1)] {
                        let cell = skipping.cell(&image, row, col).unwrap();
                        let expected: Vec<f32> = (0..11).map(|k| b[k * rows * cols + row * cols + col]).collect();
                        assert_eq!(cell.to_vec(), expected, "{w}×{h} cell ({row}, {col})");
                    }
                }
            }
        }
        assert!(skipped > 0, "no output was skipped");
    }
}
