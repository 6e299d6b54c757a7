//! The wasm detector's input validation on arbitrary sizes and buffers (JS numbers for width and
//! height, a byte or float buffer of any length, any ink), then what the detector does to what
//! passes: the page flattened and the pyramid's levels in each downscale mode.
#![no_main]
use digitscope::image::{Downscale, GrayImage, Ink, Pixels, dimensions};
use libfuzzer_sys::fuzz_target;

fn f64_at(data: &[u8], at: usize) -> f64 {
    f64::from_le_bytes(data[at..at + 8].try_into().unwrap())
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 17 {
        return;
    }
    // Small whole sizes most of the time (so that valid images are reached), raw doubles otherwise.
    let (mode, rest) = (data[16], &data[17..]);
    let (width, height) = if mode & 2 == 0 {
        (f64::from(data[0] % 64), f64::from(data[8] % 64))
    } else {
        (f64_at(data, 0), f64_at(data, 8))
    };
    // The wasm boundary's own conversion (what `detect` runs on a caller's pixels).
    let ink = [Ink::Light, Ink::Dark, Ink::Auto][(mode as usize >> 3) % 3];
    let pixels = if mode & 4 == 0 {
        Pixels::Bytes(rest.to_vec())
    } else {
        Pixels::Floats(rest.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect())
    };
    let image = GrayImage::from_pixels(width, height, pixels, ink);
    let Ok(image) = image else { return };
    let (w, h) = (image.width, image.height);
    assert!(dimensions(width, height) == Ok((w, h)) && w * h <= digitscope::image::MAX_PIXELS);
    assert!(image.pixels.iter().all(|v| v.is_finite()));
    let half = image.downscaled(2);
    assert_eq!((half.width, half.height), (w.div_ceil(2), h.div_ceil(2)));
    // The detector's preparation: the page flattened (any finite input → [0, 1]), and each way
    // of making a pyramid level.
    let flat = image.flattened();
    assert_eq!((flat.width, flat.height), (w, h));
    assert!(flat.pixels.iter().all(|v| (0.0..=1.0).contains(v)), "flattened pixels leave [0, 1]");
    let factor = 1 << (mode >> 5 & 3);
    for downscale in [Downscale::Box, Downscale::Gain, Downscale::Max] {
        let level = flat.level(factor, downscale);
        assert_eq!((level.width, level.height), (w.div_ceil(factor), h.div_ceil(factor)));
        assert!(level.pixels.iter().all(|v| v.is_finite()));
    }
});
