//! Detection decoding (both methods), the pyramid's heatmap merge and the second look's cut-outs
//! on arbitrary heatmaps: any probabilities (NaN and infinities included), any geometry, any
//! options.
#![no_main]
use digitscope::detect::{DecodeOptions, Decoding, decode};
use digitscope::{GrayImage, Heatmap, verify};
use libfuzzer_sys::fuzz_target;

fn heatmap(bytes: &[u8], rows: usize, cols: usize, origin: f32) -> Heatmap {
    let n = 11 * rows * cols;
    let probs = (0..n)
        .map(|i| {
            let at = (i * 4) % bytes.len().max(1);
            let b = |k: usize| bytes.get(at + k).copied().unwrap_or(0);
            f32::from_le_bytes([b(0), b(1), b(2), b(3)])
        })
        .collect();
    Heatmap { width: cols * 8, height: rows * 8, rows, cols, origin_x: origin, origin_y: origin, probs }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    let (rows, cols) = (1 + data[0] as usize % 24, 1 + data[1] as usize % 24);
    let float = |at: usize| f32::from_le_bytes(data[at..at + 4].try_into().unwrap());
    let options = DecodeOptions {
        method: if data[2] & 1 == 0 { Decoding::Peaks } else { Decoding::Components },
        min_objectness: float(4),
        min_score: float(8),
        nms_fraction: float(12),
        verify: None,
    };
    let body = &data[16..];
    let mut fine = heatmap(body, rows, cols, 3.5);
    // The second look cuts each detection's ink out of an image of the heatmap's size, made of
    // the same bytes: any box, anywhere, gives a cut-out of the right sides or none.
    let image = GrayImage {
        width: fine.width,
        height: fine.height,
        pixels: (0..fine.width * fine.height)
            .map(|i| body.get(i % body.len().max(1)).map_or(0.0, |&b| b as f32 / 255.0))
            .collect(),
    };
    for d in decode(&fine, &options) {
        assert!(d.digit <= 9);
        if let Some(cut) = verify::cut_out(&image, &d) {
            assert_eq!(cut.mnist.pixels.len(), verify::SIDE * verify::SIDE);
            assert_eq!(cut.canvas.pixels.len(), verify::CANVAS * verify::CANVAS);
        }
    }
    verify::ink_proposals(&image, &[]);
    let coarse = heatmap(body.get(7..).unwrap_or_default(), rows.div_ceil(2), cols.div_ceil(2), 7.5);
    fine.overlay(&coarse, 2);
    decode(&fine, &options);
});
