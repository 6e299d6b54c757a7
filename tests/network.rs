//! The network and its convolutionalization.

mod common;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use digitscope::network::{Architecture, CLASSES, Network, Pooling, cell_centre, cells};
use digitscope::{Detector, GrayImage};

const ARCHS: [Architecture; 2] = [Architecture::Small, Architecture::Deep];
const POOLINGS: [Pooling; 3] = [Pooling::None, Pooling::Max3, Pooling::Window];

fn tensor(pixels: Vec<f32>, n: usize, h: usize, w: usize) -> Tensor<4> {
    Tensor::from_data(TensorData::new(pixels, [n, 1, h, w]), &Device::flex())
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

fn random_network(arch: Architecture, seed: u64) -> Network {
    let device = Device::flex();
    device.seed(seed);
    Network::new(arch, &device)
}

#[test]
fn small_network_has_the_notebooks_28171_parameters() {
    assert_eq!(random_network(Architecture::Small, 1).num_params(), 28_171);
    // 16·9+16 + 16·16·9+16 + 32·16·9+32 + 32·32·9+32 + 64·32·9+64 + 64·64·9+64 + head.
    assert_eq!(random_network(Architecture::Deep, 1).num_params(), 76_667);
}

#[test]
fn heatmap_has_ceil_h_over_8_cells() {
    for arch in ARCHS {
        let net = random_network(arch, 2);
        for (h, w) in [(1, 1), (7, 9), (28, 28), (29, 33), (64, 100), (128, 128)] {
            for pooling in POOLINGS {
                let dims = net.heatmap(tensor(common::noise(h * w, 3), 1, h, w), pooling).dims();
                assert_eq!(dims, [1, CLASSES, h.div_ceil(8), w.div_ceil(8)], "{arch:?} {pooling:?} {h}×{w}");
                assert_eq!((cells(h), cells(w)), (dims[2], dims[3]));
            }
        }
    }
}

/// A 28×28 input's trunk map is 4×4; under `Window` pooling cell (1, 1) pools all of it, so it is
/// the classifier's output exactly.
fn assert_window_cell_equals_classifier(net: &Network, inputs: Vec<f32>, n: usize) {
    let classes = values(net.classify(tensor(inputs.clone(), n, 28, 28)));
    let maps = values(net.heatmap(tensor(inputs, n, 28, 28), Pooling::Window));
    let mut worst = 0.0f32;
    for i in 0..n {
        for k in 0..CLASSES {
            let cell = maps[((i * CLASSES + k) * 4 + 1) * 4 + 1];
            worst = worst.max((cell - classes[i * CLASSES + k]).abs());
        }
    }
    assert!(worst <= 1e-5, "max |FCN cell − classifier| = {worst}");
}

#[test]
fn convolutionalization_is_exact_with_random_weights() {
    for arch in ARCHS {
        for seed in 0..3 {
            let net = random_network(arch, 10 + seed);
            assert_window_cell_equals_classifier(&net, common::noise(8 * 784, seed), 8);
        }
    }
}

#[test]
fn convolutionalization_is_exact_with_trained_weights() {
    let test = common::mnist_test();
    let inputs: Vec<f32> = test.images[..32 * 784].iter().map(|&v| v as f32 / 255.0).collect();
    let mut found = 0;
    for file in ["small", "small-shift", "deep-shift"] {
        let path = format!("{}/weights/{file}.dsw", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let detector = Detector::from_weights(&bytes, Device::flex()).unwrap();
        assert_window_cell_equals_classifier(detector.network(), inputs.clone(), 32);
        found += 1;
    }
    assert_eq!(found, 3);
}

/// On a larger image, a `Window` cell sees the classifier's window, except that hidden layers
/// see neighbouring content instead of zero padding at the window's edges: digits pasted on
/// a black page at stride-aligned places are classified the same way by both.
#[test]
fn window_cells_agree_with_the_classifier_on_aligned_windows() {
    let test = common::mnist_test();
    let detector = Detector::embedded(Device::flex()).unwrap();
    let net = detector.network();
    let mut page = GrayImage::blank(160, 160);
    let mut placed = Vec::new();
    for (n, (r, c)) in [(0, 0), (0, 2), (1, 1), (2, 0), (2, 3), (3, 2)].into_iter().enumerate() {
        let (x, y) = (8 + 40 * c, 8 + 40 * r);
        page.paste_u8(test.image(n), 28, x, y);
        placed.push((n, x, y));
    }
    let map = values(net.heatmap(tensor(page.pixels.clone(), 1, 160, 160), Pooling::Window));
    let cols = 20;
    let mut worst = 0.0f32;
    for (n, x, y) in placed {
        let crop: Vec<f32> = test.image(n).iter().map(|&v| v as f32 / 255.0).collect();
        let probs = values(net.classify(tensor(crop, 1, 28, 28)));
        // The window of the crop, x..x+28, is centred at x + 14: the cell whose centre is there.
        let col =
            (0..cols).find(|&c| cell_centre(net.architecture(), Pooling::Window, 160, c) >= x as f32 + 13.0).unwrap();
        let row =
            (0..cols).find(|&r| cell_centre(net.architecture(), Pooling::Window, 160, r) >= y as f32 + 13.0).unwrap();
        let cell: Vec<f32> = (0..CLASSES).map(|k| map[(k * cols + row) * cols + col]).collect();
        let argmax = |v: &[f32]| (0..CLASSES).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
        assert_eq!(argmax(&cell), argmax(&probs), "digit {n} at ({x}, {y})");
        for k in 0..CLASSES {
            worst = worst.max((cell[k] - probs[k]).abs());
        }
    }
    println!("aligned windows: max |FCN cell − classifier| = {worst:.4}");
    assert!(worst < 0.2, "max |FCN cell − classifier| = {worst}");
}

/// An impulse at one pixel changes exactly the cells whose window (centre ± half the receptive
/// field, from `cell_centre`) contains it: the documented geometry is the network's.
#[test]
fn cell_geometry_matches_an_impulse() {
    for arch in ARCHS {
        let net = random_network(arch, 7);
        let half = (arch.receptive_field() / 2) as f32;
        for (h, w) in [(64, 72), (61, 75)] {
            let base = values(net.heatmap_logits(tensor(vec![0.0; h * w], 1, h, w), Pooling::None));
            for (py, px) in [(0, 0), (30, 41), (h - 1, w - 1), (17, 8)] {
                let mut img = vec![0.0; h * w];
                img[py * w + px] = 1.0;
                let hit = values(net.heatmap_logits(tensor(img, 1, h, w), Pooling::None));
                let (rows, cols) = (cells(h), cells(w));
                for r in 0..rows {
                    for c in 0..cols {
                        let at = (r * cols + c) * CLASSES;
                        let changed = (0..CLASSES).any(|k| hit[at + k] != base[at + k]);
                        let cy = cell_centre(arch, Pooling::None, h, r);
                        let cx = cell_centre(arch, Pooling::None, w, c);
                        let inside = (cx - px as f32).abs() <= half && (cy - py as f32).abs() <= half;
                        assert_eq!(
                            changed, inside,
                            "{arch:?} {h}×{w} impulse ({px}, {py}) cell ({r}, {c}) centre ({cx}, {cy})"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn cell_centres_of_multiples_of_8_are_8c_plus_7() {
    for arch in ARCHS {
        for c in 0..10 {
            assert_eq!(cell_centre(arch, Pooling::None, 128, c), (8 * c + 7) as f32);
            assert_eq!(cell_centre(arch, Pooling::Max3, 128, c), (8 * c + 7) as f32);
            assert_eq!(cell_centre(arch, Pooling::Window, 128, c), (8 * c + 11) as f32);
        }
    }
}

#[test]
fn multiply_adds_of_the_small_fcn_at_512() {
    // 256²·16·9 + 128²·32·16·9 + 64²·64·32·9 + 64²·(64·64 + 64·11)
    assert_eq!(Architecture::Small.multiply_adds(512, 512), 180_092_928);
}
