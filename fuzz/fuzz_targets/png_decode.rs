//! Arbitrary bytes as a picture file: the CLI's decoding (PNG alone, or PNG and JPEG with EXIF
//! orientation and the shrinking of a picture over the limit) must return an image or an error.
#![no_main]
use digitscope::image::Ink;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, bytes)) = data.split_first() else { return };
    let ink = [Ink::Light, Ink::Dark, Ink::Auto][flags as usize % 3];
    let image = if flags & 0x80 == 0 {
        digitscope::pngio::decode_png(bytes, ink)
    } else {
        digitscope::pngio::decode_picture(bytes, ink).map(|p| {
            assert!(
                p.scale >= 1
                    && p.image.width == p.width.div_ceil(p.scale)
                    && p.image.height == p.height.div_ceil(p.scale)
            );
            p.image
        })
    };
    if let Ok(image) = image {
        assert_eq!(image.pixels.len(), image.width * image.height);
        assert!(image.pixels.iter().all(|v| (0.0..=1.0).contains(v)));
    }
});
