//! Arbitrary bytes as a PNG file: the CLI's image decoding must return an image or an error.
#![no_main]
use digitscope::image::Ink;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, bytes)) = data.split_first() else { return };
    if let Ok(image) = digitscope::pngio::decode_png(bytes, [Ink::Light, Ink::Dark, Ink::Auto][flags as usize % 3]) {
        assert_eq!(image.pixels.len(), image.width * image.height);
        assert!(image.pixels.iter().all(|v| (0.0..=1.0).contains(v)));
    }
});
