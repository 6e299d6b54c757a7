//! Arbitrary bytes as a weights file: an error or a network, never a panic.
#![no_main]
use digitscope::weights;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let device = burn::tensor::Device::flex();
    let _ = weights::decode(data, &device);
});
