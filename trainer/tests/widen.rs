//! Widening the head keeps what the network computes, and the widened weights load back.

use burn::tensor::{Device, Tensor, TensorData};
use digitscope::network::{Architecture, Network, Pooling};
use digitscope::weights::{self, WeightsInfo};
use digitscope_trainer::widen_head;

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

#[test]
fn a_widened_head_computes_the_same_heatmap_and_loads_back() {
    let device = Device::flex();
    device.seed(3);
    let network = Network::new(Architecture::Deep, &device);
    let input = || Tensor::<4>::from_data(TensorData::new(image(40, 9), [1, 1, 40, 40]), &device);
    let before = values(network.heatmap(input(), Pooling::None));
    let params = burn::module::Module::num_params(&network);
    let wide = widen_head(network, 128, &device).unwrap();
    assert_eq!(wide.hidden(), 128);
    // 64 more units: their incoming weights and biases, and their weights to the 11 classes.
    assert_eq!(burn::module::Module::num_params(&wide), params + 64 * 64 + 64 + 64 * 11);
    let after = values(wide.heatmap(input(), Pooling::None));
    let most = before.iter().zip(&after).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(most < 1e-5, "the widened head differs by {most}");
    let info = WeightsInfo {
        recipe: "test".into(),
        architecture: Architecture::Deep,
        pooling: Pooling::None,
        test_accuracy: 0.0,
        pyramid: vec![1],
        checksum: None,
    };
    let bytes = weights::encode(wide, &info).unwrap();
    let (loaded, _) = weights::decode(&bytes, &device).unwrap();
    assert_eq!(loaded.hidden(), 128);
    assert_eq!(values(loaded.heatmap(input(), Pooling::None)), after);
    // Narrowing is refused.
    let error = widen_head(loaded, 64, &device).unwrap_err();
    assert!(error.contains("already has 128"), "{error}");
}
