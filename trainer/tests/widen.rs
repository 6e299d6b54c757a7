//! Widening the head or the trunk keeps what the network computes, and the widened weights load
//! back.

use burn::tensor::{Device, Tensor, TensorData};
use digitscope::network::{Architecture, Network, Pooling};
use digitscope::weights::{self, WeightsInfo};
use digitscope_trainer::widen;

fn image(side: usize, seed: u32) -> Vec<f32> {
    let mut s = seed;
    (0..side * side)
        .map(|_| {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            ((s >> 16) % 256) as f32 / 255.0
        })
        .collect()
}

fn values(t: Tensor<4>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
}

/// The envelope of a deep test network's weights file.
fn info() -> WeightsInfo {
    WeightsInfo {
        recipe: "test".into(),
        architecture: Architecture::Deep,
        pooling: Pooling::None,
        test_accuracy: 0.0,
        pyramid: vec![1],
        checksum: None,
    }
}

#[test]
fn a_widened_head_computes_the_same_heatmap_and_loads_back() {
    let device = Device::flex();
    device.seed(3);
    let network = Network::new(Architecture::Deep, &device);
    let input = || Tensor::<4>::from_data(TensorData::new(image(40, 9), [1, 1, 40, 40]), &device);
    let before = values(network.heatmap(input(), Pooling::None));
    let params = burn::module::Module::num_params(&network);
    let widths = network.widths();
    let wide = widen(network, &widths, 128, &device).unwrap();
    assert_eq!(wide.hidden(), 128);
    // 64 more units: their incoming weights and biases, and their weights to the 11 classes.
    assert_eq!(burn::module::Module::num_params(&wide), params + 64 * 64 + 64 + 64 * 11);
    let after = values(wide.heatmap(input(), Pooling::None));
    let most = before.iter().zip(&after).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(most < 1e-5, "the widened head differs by {most}");
    let info = info();
    let bytes = weights::encode(wide, &info).unwrap();
    let (loaded, _) = weights::decode(&bytes, &device).unwrap();
    assert_eq!(loaded.hidden(), 128);
    assert_eq!(values(loaded.heatmap(input(), Pooling::None)), after);
    // Narrowing is refused.
    let error = widen(loaded, &widths, 64, &device).unwrap_err();
    assert!(error.contains("already has 128"), "{error}");
}

#[test]
fn a_widened_trunk_computes_the_same_classifier_and_heatmap_and_loads_back() {
    let device = Device::flex();
    device.seed(5);
    let network = Network::new(Architecture::Deep, &device);
    let input = |side: usize| Tensor::<4>::from_data(TensorData::new(image(side, 4), [1, 1, side, side]), &device);
    let heatmap = |n: &Network| values(n.heatmap(input(56), Pooling::Max3));
    let classify = |n: &Network| n.classify(input(28)).into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
    let (before, classes) = (heatmap(&network), classify(&network));
    let widths = [24, 16, 48, 32, 96, 128];
    let wide = widen(network, &widths, 80, &device).unwrap();
    assert_eq!(wide.widths(), widths);
    assert_eq!(wide.hidden(), 80);
    let most = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    let after = heatmap(&wide);
    assert!(most(&before, &after) < 1e-5, "the widened trunk's heatmap differs by {}", most(&before, &after));
    let wide_classes = classify(&wide);
    assert!(most(&classes, &wide_classes) < 1e-5, "its classifier differs by {}", most(&classes, &wide_classes));
    // The new channels compute something (fresh incoming weights), so training can use them.
    let trunk = values(wide.trunk(input(56)));
    let fresh = trunk.chunks(trunk.len() / 128).skip(64).flatten().filter(|v| v.abs() > 1e-6).count();
    assert!(fresh > 0, "the new channels are all zero");
    let info = info();
    let (loaded, _) = weights::decode(&weights::encode(wide, &info).unwrap(), &device).unwrap();
    assert_eq!(loaded.widths(), widths);
    assert_eq!(heatmap(&loaded), after);
    // Narrowing a convolution is refused, as is a width list of the wrong length.
    let error = widen(loaded, &[16, 16, 32, 32, 64, 64], 80, &device).unwrap_err();
    assert!(error.contains("already has 24"), "{error}");
    let loaded = weights::decode(&weights::encode(Network::new(Architecture::Deep, &device), &info).unwrap(), &device);
    let error = widen(loaded.unwrap().0, &[16, 16], 64, &device).unwrap_err();
    assert!(error.contains("2 widths"), "{error}");
}
