//! The wasm detector's input validation on arbitrary sizes and buffers (JS numbers for width and
//! height, a byte or float buffer of any length), then the pyramid's downscaling of what passes.
#![no_main]
use digitscope::image::{GrayImage, PixelFormat, dimensions};
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
    let Ok((w, h)) = dimensions(width, height) else { return };
    assert!(w >= 1 && h >= 1 && w * h <= digitscope::image::MAX_PIXELS);
    let image = if mode & 4 == 0 {
        let Ok(format) = PixelFormat::from_len(rest.len(), w, h) else { return };
        GrayImage::from_bytes(w, h, rest, format, mode & 1 == 1)
    } else {
        let values = rest.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        GrayImage::from_f32(w, h, values)
    };
    let Ok(image) = image else { return };
    assert!(image.pixels.iter().all(|v| v.is_finite()));
    let half = image.downscaled(2);
    assert_eq!((half.width, half.height), (w.div_ceil(2), h.div_ceil(2)));
});
