//! The notebook's own 128×128 composite.

mod common;

use burn::tensor::Device;
use digitscope::scene::{MATCH_MARGIN, notebook_composite, score};
use digitscope::{DecodeOptions, Detector};

#[test]
fn composite_has_the_notebooks_digits() {
    let test = common::mnist_test();
    let (scene, truths) = notebook_composite(|i| test.image(i), |i| test.labels[i]);
    assert_eq!((scene.width, scene.height), (128, 128));
    let digits: Vec<u8> = truths.iter().map(|t| t.digit).collect();
    assert_eq!(digits, [5, 1, 0, 9, 6, 9, 4]);
}

#[test]
fn embedded_weights_find_all_seven_locations() {
    let test = common::mnist_test();
    let (scene, truths) = notebook_composite(|i| test.image(i), |i| test.labels[i]);
    let detector = Detector::embedded(Device::flex()).unwrap();
    let (heatmap, detections) = detector.detect(&scene).unwrap();
    assert_eq!((heatmap.rows, heatmap.cols), (16, 16));
    for t in &truths {
        let found = detections.iter().any(|d| {
            d.x >= t.x0 as f32 - MATCH_MARGIN
                && d.x <= t.x1 as f32 + MATCH_MARGIN
                && d.y >= t.y0 as f32 - MATCH_MARGIN
                && d.y <= t.y1 as f32 + MATCH_MARGIN
        });
        assert!(found, "no detection inside the {} at {:?}; detections: {detections:?}", t.digit, t);
    }
    let s = score(&detections, &truths);
    println!(
        "composite: {} detections, {}/7 right digit and place, {} false positives",
        detections.len(),
        s.true_positives,
        s.false_positives
    );
    assert_eq!(s.true_positives, 7, "{detections:?}");
    // The second look runs the classifier and the FCN through burn here and through the direct
    // kernels on the CPU engine: the same detections.
    let direct = Detector::embedded(Device::flex()).and_then(Detector::with_direct_kernels).unwrap();
    let (_, on_direct) = direct.detect(&scene).unwrap();
    assert_eq!(on_direct.len(), detections.len());
    for (a, b) in detections.iter().zip(&on_direct) {
        assert_eq!((a.digit, a.x, a.y, a.w, a.h), (b.digit, b.x, b.y, b.w, b.h));
        assert!((a.score - b.score).abs() < 1e-4, "{a:?} {b:?}");
    }
}

#[test]
fn a_black_image_has_no_detections() {
    let detector = Detector::embedded(Device::flex()).unwrap();
    let (_, detections) = detector.detect(&digitscope::GrayImage::blank(96, 80)).unwrap();
    assert!(detections.is_empty(), "{detections:?}");
    assert_eq!(detector.options, DecodeOptions::default());
}
