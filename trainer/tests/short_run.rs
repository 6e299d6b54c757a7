//! A short real training run on MNIST: the loss falls and accuracy beats chance by a wide margin.

use std::path::PathBuf;

use burn::tensor::Device;
use digitscope::mnist;
use digitscope::network::{Architecture, Network};
use digitscope_trainer::{Dataset, Rng, TrainOptions, evaluate, notebook_sets, train};

fn mnist_dir() -> PathBuf {
    std::env::var_os("DIGITSCOPE_MNIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(mnist::DEFAULT_DIR))
}

#[test]
fn three_hundred_steps_learn_mnist() {
    let data = mnist::load(&mnist_dir()).unwrap_or_else(|e| panic!("{e}"));
    let (train_set, test_set) = notebook_sets(&data, 7);
    // A 2,000-example slice of the test split keeps evaluation quick.
    let test_set = Dataset { images: test_set.images[..2000 * 784].to_vec(), labels: test_set.labels[..2000].to_vec() };
    let device = Device::flex().autodiff();
    device.seed(7);
    let network = Network::new(Architecture::Small, &device);
    let before = evaluate(&burn::module::Module::valid(&network), &test_set, &Device::flex());
    let options = TrainOptions {
        epochs: 3,
        steps_per_epoch: Some(100),
        shifts: true,
        learning_rate: 1e-3,
        seed: 7,
        progress: false,
    };
    let (_, reports) = train(network, &train_set, &test_set, &options, |_| {});
    let (first, last) = (&reports[0], &reports[2]);
    println!(
        "accuracy before {:.3}, after {:.3}; train loss {:.3} → {:.3}",
        before.0, last.test_accuracy, first.train_loss, last.train_loss
    );
    assert!(last.train_loss < first.train_loss * 0.8, "{reports:?}");
    assert!(last.test_loss < before.1, "{reports:?}");
    assert!(last.test_accuracy > 0.6, "11 classes, chance ≈ 0.09: {reports:?}");
}

#[test]
fn corrupt_mnist_is_a_clear_error() {
    // Under Cargo's folder for test files: a copy of MNIST (55 MB) must not pile up in /tmp.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad-mnist");
    std::fs::create_dir_all(&dir).unwrap();
    let src = mnist_dir();
    for (name, _) in mnist::FILES {
        std::fs::copy(src.join(name), dir.join(name)).unwrap();
    }
    // Truncate the test labels: sha256 no longer matches.
    let labels = dir.join("t10k-labels-idx1-ubyte");
    let bytes = std::fs::read(&labels).unwrap();
    std::fs::write(&labels, &bytes[..bytes.len() - 10]).unwrap();
    let err = mnist::load(&dir).unwrap_err().to_string();
    assert!(err.contains("corrupt or truncated") && err.contains("sha256"), "{err}");
    std::fs::remove_file(&labels).unwrap();
    let err = mnist::load(&dir).unwrap_err().to_string();
    assert!(err.contains("make mnist"), "{err}");
    // One pixel altered, same length: the checksum still catches it.
    let images = dir.join("train-images-idx3-ubyte");
    let mut bytes = std::fs::read(&images).unwrap();
    bytes[5000] ^= 1;
    std::fs::write(&images, &bytes).unwrap();
    let err = mnist::load(&dir).unwrap_err().to_string();
    assert!(err.contains("train-images-idx3-ubyte is corrupt") && err.contains("sha256"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn malformed_idx_is_a_clear_error() {
    let header = |magic: u32, dims: &[u32]| -> Vec<u8> {
        std::iter::once(magic).chain(dims.iter().copied()).flat_map(u32::to_be_bytes).collect()
    };
    let err = |r: Result<(usize, Vec<u8>), digitscope::Error>| r.unwrap_err().to_string();
    assert!(err(mnist::parse_images(&[])).contains("not an IDX image file"));
    assert!(err(mnist::parse_images(&header(0x801, &[1, 28, 28]))).contains("not an IDX image file"));
    // Claims 1,000,000 images but holds one: no huge allocation, a clear error.
    let mut one = header(0x803, &[1_000_000, 28, 28]);
    one.extend_from_slice(&[0; 784]);
    assert!(err(mnist::parse_images(&one)).contains("holds 800 bytes for 1000000×28×28"));
    assert!(err(mnist::parse_images(&header(0x803, &[0, 32, 32]))).contains("0×32×32"));
    let mut labels = header(0x801, &[2]);
    labels.extend_from_slice(&[3, 11]);
    assert!(mnist::parse_labels(&labels).unwrap_err().to_string().contains("labels above 9"));
    assert!(mnist::parse_labels(&labels[..9]).unwrap_err().to_string().contains("truncated"));
    labels[9] = 9;
    assert_eq!(mnist::parse_labels(&labels).unwrap(), vec![3, 9]);
}

#[test]
fn shifted_images_keep_their_content() {
    let mut rng = Rng::new(1);
    let img: Vec<u8> = (0..784).map(|_| rng.below(256) as u8).collect();
    let mut same = Vec::new();
    digitscope_trainer::shift_bilinear(&img, 0.0, 0.0, &mut same);
    assert!(same.iter().zip(&img).all(|(a, &b)| (a - b as f32 / 255.0).abs() < 1e-6));
    let mut moved = Vec::new();
    digitscope_trainer::shift_bilinear(&img, 3.0, -2.0, &mut moved);
    // Pixel (x, y) of the shifted image is pixel (x − 3, y + 2) of the original.
    assert!((moved[10 * 28 + 10] - img[12 * 28 + 7] as f32 / 255.0).abs() < 1e-6);
}

#[test]
fn bad_usage_exits_2_with_one_line_and_a_failed_run_exits_1() {
    let run = |args: &[&str]| {
        let out =
            std::process::Command::new(env!("CARGO_BIN_EXE_trainer")).args(args).output().expect("the trainer runs");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    for args in [
        &["bogus"][..],
        &["train", "--widen-head", "7"],
        &["train", "--widen-trunk", "16,x"],
        &["train", "--seed"],
        &["scenes", "--scene-seed", "x"],
        &["scenes", "--wrong"],
    ] {
        let (code, stderr) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("trainer: "), "{args:?}: {stderr}");
    }
    // Usage that parses, a file that is not there: a failure, not bad usage.
    let (code, stderr) = run(&["half", "/nonexistent/weights.dsw", "-o", "/tmp/never.dsw"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
