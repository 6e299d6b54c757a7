//! Digits of a number written so close that they touch: each is found and read on its own.

mod common;

use burn::tensor::Device;
use digitscope::Detector;
use digitscope::bands::Live;
use digitscope::image::GrayImage;
use digitscope::scene::{Truth, score};

/// MNIST test digit `i` at twice its size (bilinear), its ink box (threshold 0.1, inclusive).
fn doubled(test: &digitscope::mnist::Split, i: usize) -> (GrayImage, [usize; 4]) {
    let src = test.image(i);
    let px = |x: f32, y: f32| {
        let (x, y) = (x.clamp(0.0, 27.0), y.clamp(0.0, 27.0));
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(27), (y0 + 1).min(27));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let v = |x: usize, y: usize| src[y * 28 + x] as f32 / 255.0;
        (v(x0, y0) * (1.0 - fx) + v(x1, y0) * fx) * (1.0 - fy) + (v(x0, y1) * (1.0 - fx) + v(x1, y1) * fx) * fy
    };
    let mut img = GrayImage::blank(56, 56);
    let mut b = [usize::MAX, usize::MAX, 0, 0];
    for y in 0..56 {
        for x in 0..56 {
            let v = px((x as f32 + 0.5) / 2.0 - 0.5, (y as f32 + 0.5) / 2.0 - 0.5);
            img.pixels[y * 56 + x] = v;
            if v > 0.1 {
                b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
            }
        }
    }
    (img, b)
}

/// Of the first 20 pairs of MNIST test digits (0 and 1, 2 and 3 …), each 40 px tall, on a
/// 160×96 image, the second's ink starting `gap` pixels after the first's ends (negative: their
/// strokes cross where they meet), how many are read as both their digits.
fn pairs_read_apart(detector: &Detector, test: &digitscope::mnist::Split, gap: isize) -> usize {
    let mut both = 0;
    for k in 0..20 {
        let (a, b) = (2 * k, 2 * k + 1);
        let (image, truths) = pair(test, a, b, gap);
        let (_, found) = detector.detect(&image).unwrap();
        if score(&found, &truths).true_positives == 2 {
            both += 1;
        } else {
            println!("gap {gap}, pair {a}, {b} ({}{}): {found:?}", test.labels[a], test.labels[b]);
        }
    }
    both
}

/// MNIST test digits `a` and `b`, each 40 px tall, on a 160×96 image, `b`'s ink starting `gap`
/// pixels after `a`'s ends; their truths.
fn pair(test: &digitscope::mnist::Split, a: usize, b: usize, gap: isize) -> (GrayImage, [Truth; 2]) {
    let ((da, ba), (db, bb)) = (doubled(test, a), doubled(test, b));
    let mut image = GrayImage::blank(160, 96);
    let (ax, ay) = (20isize, 20isize);
    let bx = ax + ba[2] as isize + 1 + gap - bb[0] as isize;
    let mut paste = |d: &GrayImage, ox: isize| {
        for y in 0..56 {
            for x in 0..56 {
                let (tx, ty) = (ox + x as isize, ay + y as isize);
                if tx >= 0 && ty >= 0 && (tx as usize) < 160 && (ty as usize) < 96 {
                    let p = &mut image.pixels[ty as usize * 160 + tx as usize];
                    *p = p.max(d.pixels[y * 56 + x]);
                }
            }
        }
    };
    paste(&da, ax);
    paste(&db, bx);
    let truth = |digit: u8, b: [usize; 4], ox: isize| Truth {
        digit,
        x0: (ox + b[0] as isize) as usize,
        y0: (ay + b[1] as isize) as usize,
        x1: (ox + b[2] as isize) as usize,
        y1: (ay + b[3] as isize) as usize,
    };
    let truths = [truth(test.labels[a], ba, ax), truth(test.labels[b], bb, bx)];
    (image, truths)
}

/// `image` with a bar of ink joining the digits of `truths` (written side by side): 10 px wide
/// across the middle of their gap, over the middle half of the height they share — inside the
/// box of their ink.
fn joined(image: &GrayImage, truths: &[Truth; 2]) -> GrayImage {
    let mut image = image.clone();
    let middle = (truths[0].x1 + truths[1].x0) / 2;
    let (top, bottom) = (truths[0].y0.max(truths[1].y0), truths[0].y1.min(truths[1].y1));
    let h = bottom - top;
    for y in top + h / 4..top + 3 * h / 4 {
        image.pixels[y * image.width + middle - 5..][..10].fill(1.0);
    }
    image
}

#[test]
fn live_updates_of_a_number_written_touching_equal_a_full_detection() {
    // Touching pairs (read apart only when looked at again: fenced from the neighbour, in
    // halves, or cut apart where read as one digit) drawn in from left to right, 8 columns at
    // a time, then joined by a bar inside their ink's box (the box the same, the column they
    // were cut apart at no longer thin: the 0 and 4 of pair 24, 25 are one digit again): live,
    // the same detections as in full after every step.
    let test = common::mnist_test();
    let detector = Detector::embedded(Device::flex()).and_then(Detector::with_direct_kernels).unwrap();
    for (a, b) in [(0, 1), (14, 15), (24, 25), (38, 39)] {
        let (whole, truths) = pair(&test, a, b, 0);
        let mut image = GrayImage::blank(whole.width, whole.height);
        let mut live = Live::default();
        let steps = (8..=whole.width).step_by(8).map(Some).chain([None]);
        for end in steps {
            match end {
                Some(end) => {
                    for y in 0..whole.height {
                        let row = y * whole.width;
                        image.pixels[row..row + end].copy_from_slice(&whole.pixels[row..row + end]);
                    }
                }
                None => image = joined(&whole, &truths),
            }
            let (heatmap, found) = detector.detect(&image).unwrap();
            let (live_heatmap, live_found, _) = common::pollster(detector.detect_live_async(&image, &mut live, false));
            assert!(live_heatmap.probs.iter().zip(&heatmap.probs).all(|(a, b)| a.to_bits() == b.to_bits()));
            let step = end.map_or("joined".to_string(), |end| format!("{end} columns"));
            assert_eq!(live_found.len(), found.len(), "pair {a}, {b}, {step}: {live_found:?} live, {found:?}");
            for (l, f) in live_found.iter().zip(&found) {
                assert_eq!(
                    (l.digit, l.x, l.y, l.w, l.h, l.score.to_bits()),
                    (f.digit, f.x, f.y, f.w, f.h, f.score.to_bits())
                );
            }
        }
    }
}

#[test]
fn digits_of_a_number_written_touching_are_read_apart() {
    // Before the second look read touching neighbours apart (stop 45): 6 of 20 pairs whose inks
    // meet, 2 of 20 whose strokes cross by 2 px; since: 15 and 8; since a digit read as one
    // whose ink stands as two tall parts is read as two (stop 46): 17 and 13.
    let test = common::mnist_test();
    let detector = Detector::embedded(Device::flex()).and_then(Detector::with_direct_kernels).unwrap();
    let meeting = pairs_read_apart(&detector, &test, 0);
    let crossing = pairs_read_apart(&detector, &test, -2);
    println!("read as both their digits: {meeting} of 20 pairs whose inks meet, {crossing} of 20 crossing by 2 px");
    assert!(meeting >= 16, "{meeting} of 20 pairs whose inks meet read as both their digits");
    assert!(crossing >= 11, "{crossing} of 20 pairs crossing by 2 px read as both their digits");
}

/// Numbers of `make scenes`' `number` set (its default seed: scenes 129, 182 and 290; MNIST test
/// digits redrawn with a pen), each holding two digits that the heatmap missed, written so close
/// that the grouping of unexplained ink joined them into one proposal, which reads as no digit:
/// a 1 three pixels after another 1, a 1 touching a 9, a 0 beside a leaning 1. Their truths
/// (digit, ink box inclusive) as the set lists them.
const CLOSE_PAIRS: [(&str, &[Written]); 3] = [
    ("number-111.png", &[(1, [246, 227, 255, 252]), (1, [259, 226, 271, 251]), (1, [279, 226, 287, 251])]),
    (
        "number-1929.png",
        &[(1, [362, 61, 365, 89]), (9, [365, 60, 378, 88]), (2, [382, 61, 400, 89]), (9, [410, 60, 423, 88])],
    ),
    (
        "number-60179.png",
        &[
            (6, [85, 225, 137, 292]),
            (0, [151, 220, 203, 287]),
            (1, [207, 222, 261, 289]),
            (7, [276, 218, 333, 285]),
            (9, [330, 225, 372, 292]),
        ],
    ),
];

/// A digit of a number and its ink box (x0, y0, x1, y1, inclusive).
type Written = (u8, [usize; 4]);

#[test]
fn digits_the_heatmap_missed_written_close_together_are_read_apart() {
    // Until the ink proposal read as no digit was cut apart where it stands as two tall parts
    // (stop 48), one digit of three was found in the first, two of four in the second, three of
    // five in the third.
    let detector = Detector::embedded(Device::flex()).and_then(Detector::with_direct_kernels).unwrap();
    for (file, digits) in CLOSE_PAIRS {
        every_digit_found_whole_and_live(&detector, file, digits);
    }
}

/// Numbers of the `number` set (its default seed: scenes 384 and 479) whose 1, a straight
/// stroke that the heatmap missed and that the network reads as a line, stands in line with the
/// digits found beside it: 9 1 1 3, and 0 5 7 1 9 (the 1 eleven pixels wide, 58 tall).
const IN_LINE_ONES: [(&str, &[Written]); 2] = [
    (
        "number-9113.png",
        &[(9, [152, 27, 204, 106]), (1, [223, 26, 241, 105]), (1, [252, 32, 297, 111]), (3, [301, 24, 346, 103])],
    ),
    (
        "number-05719.png",
        &[
            (0, [155, 122, 195, 180]),
            (5, [205, 122, 278, 180]),
            (7, [287, 126, 316, 184]),
            (1, [334, 123, 345, 181]),
            (9, [350, 124, 387, 182]),
        ],
    ),
];

#[test]
fn a_straight_1_in_line_with_the_digits_of_a_number_is_read_in_a_picture() {
    // Read as a picture (an upload; a drawing already reads a lone straight stroke as a 1):
    // until a straight stroke standing in line with a sure digit of its height was read as a 1
    // there too (stop 49), the 1 was missed in both.
    let detector = Detector::embedded(Device::flex()).and_then(Detector::with_direct_kernels).unwrap();
    assert!(!detector.drawing());
    for (file, digits) in IN_LINE_ONES {
        every_digit_found_whole_and_live(&detector, file, digits);
    }
}

/// Reads the fixture `file` (light ink on dark): every digit of `digits` is found and nothing
/// else; and drawn in from left to right 16 columns at a time, live detection gives the same
/// detections as a full one after every step (read as the detector reads: a drawing or not).
fn every_digit_found_whole_and_live(detector: &Detector, file: &str, digits: &[Written]) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(file);
    let whole = digitscope::pngio::read_png(&path, digitscope::image::Ink::Light).unwrap();
    let truths: Vec<Truth> = digits.iter().map(|&(digit, [x0, y0, x1, y1])| Truth { digit, x0, y0, x1, y1 }).collect();
    let (_, found) = detector.detect(&whole).unwrap();
    let s = score(&found, &truths);
    assert_eq!((s.true_positives, found.len()), (truths.len(), truths.len()), "{file}: {found:?}");
    let mut image = GrayImage::blank(whole.width, whole.height);
    let mut live = Live::default();
    for end in (16..=whole.width).step_by(16) {
        for y in 0..whole.height {
            let row = y * whole.width;
            image.pixels[row..row + end].copy_from_slice(&whole.pixels[row..row + end]);
        }
        let (_, found) = detector.detect(&image).unwrap();
        let (_, live_found, _) = common::pollster(detector.detect_live_async(&image, &mut live, detector.drawing()));
        let bits = |d: &[digitscope::Detection]| {
            d.iter().map(|d| (d.digit, [d.x, d.y, d.w, d.h, d.score].map(f32::to_bits))).collect::<Vec<_>>()
        };
        assert_eq!(bits(&live_found), bits(&found), "{file}, {end} columns: {live_found:?} live, {found:?}");
    }
}

/// Numbers of the `number` set (its default seed: scenes 446 and 457) where a 1 the heatmap
/// missed stands a few pixels from a digit it also missed: the ink's grouping joined them, and
/// the group's cut-out read the other digit alone (a 0; a 0 whose ink touches the 1's).
const LEFT_IN_A_GROUP: [(&str, &[Written]); 2] = [
    ("number-108.png", &[(1, [281, 236, 299, 312]), (0, [298, 240, 345, 316]), (8, [363, 233, 420, 309])]),
    (
        "number-8019.png",
        &[(8, [149, 129, 191, 176]), (0, [205, 129, 251, 176]), (1, [251, 128, 266, 175]), (9, [271, 128, 304, 175])],
    ),
];

#[test]
fn ink_a_kept_proposal_left_out_of_its_group_is_proposed_again() {
    // Until the ink left unexplained was proposed again once the kept proposals explained their
    // own (stop 49), the 1 was missed in both.
    let detector = Detector::embedded(Device::flex()).and_then(Detector::with_direct_kernels).unwrap();
    for (file, digits) in LEFT_IN_A_GROUP {
        every_digit_found_whole_and_live(&detector, file, digits);
    }
}

/// Numbers of the `number` set (its default seed: scenes 25 and 123) where a 1 written against
/// the next digit was taken in with it, read as that digit alone: a 1 touching a 4's first
/// stroke, its FCN cell surer of the two together than of either; a 1 touching a 6's curve
/// that the classifier, in the 6's cut-out, reads as half background (a line), as a drawing
/// reads it a 1.
const ONE_AGAINST: [(&str, &[Written]); 2] = [
    (
        "number-1495.png",
        &[(1, [88, 172, 113, 281]), (4, [110, 164, 221, 273]), (9, [231, 167, 315, 276]), (5, [325, 169, 372, 278])],
    ),
    (
        "number-2615.png",
        &[(2, [18, 175, 107, 296]), (6, [121, 166, 220, 287]), (1, [224, 173, 228, 294]), (5, [261, 178, 377, 299])],
    ),
];

#[test]
fn a_1_written_against_the_next_digit_is_read_apart_from_it() {
    // Until a sure, unbroken, upright 1 beside a sure digit was read apart however the whole
    // scored (stop 53), the 1 was missed in both.
    let detector = Detector::embedded(Device::flex()).and_then(Detector::with_direct_kernels).unwrap();
    every_digit_found_whole_and_live(&detector, ONE_AGAINST[0].0, ONE_AGAINST[0].1);
    let drawing = detector.with_drawing(true);
    for (file, digits) in ONE_AGAINST {
        every_digit_found_whole_and_live(&drawing, file, digits);
    }
}
