//! Picture files for the native tools: PNG reading (gray, gray+alpha, RGB, RGBA, palette; 1 to
//! 16 bits) and writing, JPEG reading (a phone's photo, turned upright), and shrinking a picture
//! over the detector's limit to fit it.

use std::fs::File;
use std::io::{BufWriter, Cursor};
use std::path::Path;

use crate::error::{Error, Result};
use crate::image::{GrayImage, Ink, PixelFormat, check_size, check_size_within};

/// Decodes PNG bytes into the model's convention (see [`GrayImage::from_bytes`]).
pub fn decode_png(bytes: &[u8], ink: Ink) -> Result<GrayImage> {
    let (width, height, pixels, format) = png_pixels(bytes, check_size)?;
    GrayImage::from_bytes(width, height, &pixels, format, ink)
}

/// A PNG's 8-bit pixels, its size first passed by `fits` (before the pixels are decoded).
fn png_pixels(bytes: &[u8], fits: fn(usize, usize) -> Result<()>) -> Result<(usize, usize, Vec<u8>, PixelFormat)> {
    let bad = |e: png::DecodingError| Error::InvalidInput(format!("not a readable PNG: {e}"));
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    // Palettes and low bit depths expand to 8 bits; 16-bit samples keep their high byte.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    // The picture limit's rows are larger than the png crate's default memory cap.
    decoder.set_limits(png::Limits { bytes: 4 * MAX_PICTURE_PIXELS + (1 << 20) });
    let mut reader = decoder.read_info().map_err(bad)?;
    let (width, height) = {
        let info = reader.info();
        (info.width as usize, info.height as usize)
    };
    fits(width, height)?;
    let (colour, depth) = reader.output_color_type();
    if depth != png::BitDepth::Eight {
        return Err(Error::InvalidInput(format!("{}-bit PNG; only 8-bit PNGs are supported", depth as u8)));
    }
    let format = match colour {
        png::ColorType::Grayscale => PixelFormat::Gray8,
        png::ColorType::GrayscaleAlpha => PixelFormat::GrayAlpha8,
        png::ColorType::Rgb => PixelFormat::Rgb8,
        png::ColorType::Rgba => PixelFormat::Rgba8,
        png::ColorType::Indexed => {
            return Err(Error::InvalidInput("unexpanded palette PNG".into()));
        }
    };
    let size = reader.output_buffer_size().ok_or_else(|| Error::InvalidInput("PNG too large".into()))?;
    let mut buf = vec![0; size];
    let frame = reader.next_frame(&mut buf).map_err(bad)?;
    buf.truncate(frame.buffer_size());
    Ok((width, height, buf, format))
}

/// Reads and decodes a PNG file.
pub fn read_png(path: &Path, ink: Ink) -> Result<GrayImage> {
    read_with(path, |bytes| decode_png(bytes, ink))
}

/// The file at `path` decoded by `decode`, its errors naming the file.
fn read_with<T>(path: &Path, decode: impl FnOnce(&[u8]) -> Result<T>) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
    decode(&bytes).map_err(|e| match e {
        Error::InvalidInput(why) => Error::InvalidInput(format!("{}: {why}", path.display())),
        e => e,
    })
}

/// The largest picture file [`decode_picture`] reads: 16,384 pixels a side, 64 Mi pixels in all
/// (a 50-megapixel camera's photo). One over the detector's limit is shrunk to fit.
pub const MAX_PICTURE_SIDE: usize = 16384;
pub const MAX_PICTURE_PIXELS: usize = 64 << 20;

/// A picture file as the detector reads it: `image`, the file's pixels shrunk `scale` times
/// (each pixel the average of a `scale`×`scale` block; 1: as they are) to fit the detector's
/// limit ([`MAX_SIDE`](crate::image::MAX_SIDE), [`MAX_PIXELS`](crate::image::MAX_PIXELS)), and
/// the file's own size, turned upright as its EXIF orientation says.
pub struct Picture {
    pub image: GrayImage,
    pub scale: usize,
    pub width: usize,
    pub height: usize,
}

fn fits_picture(width: usize, height: usize) -> Result<()> {
    check_size_within(width, height, MAX_PICTURE_SIDE, MAX_PICTURE_PIXELS)
}

/// Decodes a PNG or a JPEG (a phone's photo: baseline or progressive, turned upright as its
/// EXIF orientation says) for the detector, shrinking it to fit the detector's limit.
pub fn decode_picture(bytes: &[u8], ink: Ink) -> Result<Picture> {
    let (width, height, pixels, format) = if bytes.starts_with(b"\x89PNG") {
        png_pixels(bytes, fits_picture)?
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        jpeg_pixels(bytes)?
    } else {
        return Err(Error::InvalidInput("neither a PNG nor a JPEG file".into()));
    };
    let mut scale = 1;
    while check_size(width.div_ceil(scale), height.div_ceil(scale)).is_err() {
        scale += 1;
    }
    let (w, h, pixels) = shrunk(width, height, &pixels, format, scale);
    Ok(Picture { image: GrayImage::from_bytes(w, h, &pixels, format, ink)?, scale, width, height })
}

/// Reads and decodes a PNG or JPEG file (see [`decode_picture`]).
pub fn read_picture(path: &Path, ink: Ink) -> Result<Picture> {
    read_with(path, |bytes| decode_picture(bytes, ink))
}

/// A JPEG's luma, upright.
fn jpeg_pixels(bytes: &[u8]) -> Result<(usize, usize, Vec<u8>, PixelFormat)> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;
    let bad = |e: zune_jpeg::errors::DecodeErrors| Error::InvalidInput(format!("not a readable JPEG: {e}"));
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::Luma)
        .set_max_width(MAX_PICTURE_SIDE)
        .set_max_height(MAX_PICTURE_SIDE);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(bad)?;
    let info = decoder.info().ok_or_else(|| Error::InvalidInput("JPEG without a size".into()))?;
    let (width, height) = (usize::from(info.width), usize::from(info.height));
    fits_picture(width, height)?;
    let luma = decoder.decode().map_err(bad)?;
    if luma.len() != width * height {
        return Err(Error::InvalidInput(format!("JPEG gave {} bytes for {width}×{height} gray pixels", luma.len())));
    }
    let turn = decoder.exif().map_or(1, |exif| exif_orientation(exif));
    let (w, h, upright) = oriented(width, height, &luma, turn);
    Ok((w, h, upright, PixelFormat::Gray8))
}

/// The orientation tag (0x0112) of EXIF data that starts at its TIFF header: 1 to 8; 1 (as
/// stored) where it is absent or unreadable.
pub fn exif_orientation(exif: &[u8]) -> u16 {
    let read = |at: usize, n: usize| exif.get(at..at + n);
    let big = match read(0, 2) {
        Some(b"MM") => true,
        Some(b"II") => false,
        _ => return 1,
    };
    let u16_at =
        |at| read(at, 2).map(|b| if big { u16::from_be_bytes([b[0], b[1]]) } else { u16::from_le_bytes([b[0], b[1]]) });
    let u32_at = |at| {
        read(at, 4).map(|b| {
            let b = [b[0], b[1], b[2], b[3]];
            if big { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) }
        })
    };
    let Some(ifd) = u32_at(4).map(|o| o as usize) else { return 1 };
    let Some(entries) = u16_at(ifd) else { return 1 };
    (0..entries as usize)
        .map(|i| ifd + 2 + 12 * i)
        .find(|&entry| u16_at(entry) == Some(0x0112))
        .and_then(|entry| u16_at(entry + 8))
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1)
}

/// One byte a pixel, `width`×`height`, turned upright as EXIF orientation `turn` says (2: mirrored,
/// 3: upside down, 6: to be turned a quarter clockwise, 8: anticlockwise, 5 and 7: those
/// mirrored); the new size first.
pub fn oriented(width: usize, height: usize, pixels: &[u8], turn: u16) -> (usize, usize, Vec<u8>) {
    let (w, h) = if turn >= 5 { (height, width) } else { (width, height) };
    let from = |x: usize, y: usize| -> (usize, usize) {
        match turn {
            2 => (width - 1 - x, y),
            3 => (width - 1 - x, height - 1 - y),
            4 => (x, height - 1 - y),
            5 => (y, x),
            6 => (y, height - 1 - x),
            7 => (width - 1 - y, height - 1 - x),
            8 => (width - 1 - y, x),
            _ => (x, y),
        }
    };
    if turn <= 1 || turn > 8 {
        return (w, h, pixels.to_vec());
    }
    let out = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| {
            let (sx, sy) = from(x, y);
            pixels[sy * width + sx]
        })
        .collect();
    (w, h, out)
}

/// `pixels` shrunk `scale` times: each pixel the average of a `scale`×`scale` block (fewer at
/// the right and bottom edges), colour weighted by alpha where there is alpha.
fn shrunk(width: usize, height: usize, pixels: &[u8], format: PixelFormat, scale: usize) -> (usize, usize, Vec<u8>) {
    if scale == 1 {
        return (width, height, pixels.to_vec());
    }
    let c = format.channels();
    let alpha = matches!(format, PixelFormat::GrayAlpha8 | PixelFormat::Rgba8);
    let colours = if alpha { c - 1 } else { c };
    let (w, h) = (width.div_ceil(scale), height.div_ceil(scale));
    let mut out = vec![0u8; w * h * c];
    let mut sums = vec![0u64; w * c];
    let mut counts = vec![0u64; w];
    for by in 0..h {
        sums.fill(0);
        counts.fill(0);
        for y in by * scale..((by + 1) * scale).min(height) {
            let row = &pixels[y * width * c..(y + 1) * width * c];
            for (x, p) in row.chunks_exact(c).enumerate() {
                let bx = x / scale;
                let a = if alpha { u64::from(p[c - 1]) } else { 1 };
                for k in 0..colours {
                    sums[bx * c + k] += u64::from(p[k]) * a;
                }
                if alpha {
                    sums[bx * c + c - 1] += a;
                }
                counts[bx] += 1;
            }
        }
        for bx in 0..w {
            let weight = if alpha { sums[bx * c + c - 1] } else { counts[bx] };
            let px = &mut out[(by * w + bx) * c..(by * w + bx + 1) * c];
            for k in 0..colours {
                px[k] = (sums[bx * c + k] + weight / 2).checked_div(weight).unwrap_or(0) as u8;
            }
            if alpha {
                px[c - 1] = ((sums[bx * c + c - 1] + counts[bx] / 2) / counts[bx]) as u8;
            }
        }
    }
    (w, h, out)
}

/// Writes an 8-bit gray (1 byte/pixel) or RGB (3 bytes/pixel) PNG.
pub fn write_png(path: &Path, width: usize, height: usize, bytes: &[u8]) -> Result<()> {
    let io = |e: std::io::Error| Error::Io(format!("cannot write {}: {e}", path.display()));
    let colour = match bytes.len() / (width * height).max(1) {
        1 => png::ColorType::Grayscale,
        3 => png::ColorType::Rgb,
        n => return Err(Error::InvalidInput(format!("{n} bytes per pixel"))),
    };
    let file = File::create(path).map_err(io)?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), width as u32, height as u32);
    encoder.set_color(colour);
    encoder.set_depth(png::BitDepth::Eight);
    let enc = |e: png::EncodingError| Error::Io(format!("cannot write {}: {e}", path.display()));
    let mut writer = encoder.write_header().map_err(enc)?;
    writer.write_image_data(bytes).map_err(enc)?;
    writer.finish().map_err(enc)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// EXIF data with one IFD0 entry, the orientation tag set to `turn`, in either byte order.
    fn exif(big: bool, turn: u16) -> Vec<u8> {
        let u16b = |v: u16| if big { v.to_be_bytes() } else { v.to_le_bytes() };
        let u32b = |v: u32| if big { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut b = if big { b"MM".to_vec() } else { b"II".to_vec() };
        b.extend(u16b(42));
        b.extend(u32b(8));
        b.extend(u16b(2));
        // An entry before it (the image width), then the orientation: SHORT, count 1.
        b.extend(u16b(0x0100));
        b.extend(u16b(3));
        b.extend(u32b(1));
        b.extend(u16b(640));
        b.extend([0, 0]);
        b.extend(u16b(0x0112));
        b.extend(u16b(3));
        b.extend(u32b(1));
        b.extend(u16b(turn));
        b.extend([0, 0]);
        b
    }

    #[test]
    fn exif_orientation_is_read_in_both_byte_orders_and_unreadable_data_is_as_stored() {
        for turn in 1..=8 {
            assert_eq!(exif_orientation(&exif(true, turn)), turn);
            assert_eq!(exif_orientation(&exif(false, turn)), turn);
        }
        assert_eq!(exif_orientation(&exif(false, 9)), 1);
        let whole = exif(true, 6);
        for cut in 0..whole.len() - 2 {
            assert_eq!(exif_orientation(&whole[..cut]), 1, "cut at {cut}");
        }
        assert_eq!(exif_orientation(b"garbage!"), 1);
    }

    #[test]
    fn oriented_turns_each_exif_orientation_upright() {
        // Stored 3×2:  a b c / d e f. Each orientation's stored pixels, turned, read `abc/def`
        // upright; 5–8 are stored 2×3.
        let upright = (3, 2, b"abcdef".to_vec());
        let stored: [(u16, usize, usize, &[u8]); 8] = [
            (1, 3, 2, b"abcdef"),
            (2, 3, 2, b"cbafed"),
            (3, 3, 2, b"fedcba"),
            (4, 3, 2, b"defabc"),
            (5, 2, 3, b"adbecf"),
            (6, 2, 3, b"cfbead"),
            (7, 2, 3, b"fcebda"),
            (8, 2, 3, b"daebfc"),
        ];
        for (turn, w, h, pixels) in stored {
            assert_eq!(oriented(w, h, pixels, turn), upright, "orientation {turn}");
        }
    }

    #[test]
    fn shrinking_averages_blocks_alpha_weighted_and_edges_over_what_they_hold() {
        // 5×3 gray, shrunk 2×: blocks of 4, 2 (right edge), 2 (bottom), 1 (corner).
        let gray: Vec<u8> = vec![0, 10, 20, 30, 40, 100, 110, 120, 130, 140, 200, 210, 220, 230, 240];
        assert_eq!(shrunk(5, 3, &gray, PixelFormat::Gray8, 2), (3, 2, vec![55, 75, 90, 205, 225, 240]));
        // Gray+alpha: a transparent pixel's gray does not count.
        let ga = [255, 255, 7, 0, 255, 255, 7, 0];
        assert_eq!(shrunk(2, 2, &ga, PixelFormat::GrayAlpha8, 2), (1, 1, vec![255, 128]));
    }

    #[test]
    fn a_picture_is_a_png_or_a_jpeg_and_fits_its_limit() {
        let err = |r: Result<Picture>| r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err(decode_picture(b"GIF89a....", Ink::Auto)).contains("neither a PNG nor a JPEG"));
        assert!(err(decode_picture(&[0xff, 0xd8, 0xff, 0xe0, 0, 4], Ink::Auto)).contains("JPEG"));
    }
}
