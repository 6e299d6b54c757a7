//! PNG reading and writing for the native tools (gray, gray+alpha, RGB, RGBA, palette; 1 to 16 bits).

use std::fs::File;
use std::io::{BufWriter, Cursor};
use std::path::Path;

use crate::error::{Error, Result};
use crate::image::{GrayImage, Ink, PixelFormat, check_size};

/// Decodes PNG bytes into the model's convention (see [`GrayImage::from_bytes`]).
pub fn decode_png(bytes: &[u8], ink: Ink) -> Result<GrayImage> {
    let bad = |e: png::DecodingError| Error::InvalidInput(format!("not a readable PNG: {e}"));
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    // Palettes and low bit depths expand to 8 bits; 16-bit samples keep their high byte.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(bad)?;
    let (width, height) = {
        let info = reader.info();
        (info.width as usize, info.height as usize)
    };
    check_size(width, height)?;
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
    GrayImage::from_bytes(width, height, &buf, format, ink)
}

/// Reads and decodes a PNG file.
pub fn read_png(path: &Path, ink: Ink) -> Result<GrayImage> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
    decode_png(&bytes, ink).map_err(|e| Error::InvalidInput(format!("{}: {e}", path.display())))
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
