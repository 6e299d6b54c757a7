//! Training the notebook's recipes on real MNIST with burn (autodiff + Adam on the Flex CPU backend).

pub mod scenes;

use std::time::Instant;

use rayon::prelude::*;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use digitscope::mnist::{Mnist, Split};
use digitscope::network::{Architecture, BACKGROUND, Network, Pooling};
use serde::Serialize;

/// Images per batch (the notebook's).
pub const BATCH: usize = 100;
/// Background images added to the training set (the notebook's).
pub const TRAIN_BACKGROUND: usize = 6000;
/// Background images added to the test set (the notebook's).
pub const TEST_BACKGROUND: usize = 1000;
/// Largest random shift, as a fraction of the side (Keras' `width_shift_range=0.2`).
pub const SHIFT_RANGE: f32 = 0.2;

/// A small, fast, seedable generator (SplitMix64): training is reproducible from its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform integer in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// A labelled set of 28×28 byte images (digits and the background class).
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Row-major images, 784 bytes each.
    pub images: Vec<u8>,
    /// Labels 0–10.
    pub labels: Vec<u8>,
}

impl Dataset {
    /// A split plus `background` near-black noise images (`randint(0, 5) / 255`), label 10.
    pub fn with_background(split: &Split, background: usize, rng: &mut Rng) -> Self {
        let mut images = split.images.clone();
        let mut labels = split.labels.clone();
        images.extend((0..background * 784).map(|_| rng.below(5) as u8));
        labels.extend(std::iter::repeat_n(BACKGROUND as u8, background));
        Self { images, labels }
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Example `i` as floats in [0, 1], optionally shifted.
    fn example(&self, i: usize, shift: Option<(f32, f32)>, out: &mut Vec<f32>) {
        let img = &self.images[i * 784..(i + 1) * 784];
        match shift {
            None => out.extend(img.iter().map(|&v| v as f32 / 255.0)),
            Some((dx, dy)) => shift_bilinear(img, dx, dy, out),
        }
    }
}

/// Shifts a 28×28 image by (`dx`, `dy`) pixels with bilinear interpolation and nearest-edge fill
/// (Keras' `ImageDataGenerator(fill_mode='nearest')`, order 1).
pub fn shift_bilinear(img: &[u8], dx: f32, dy: f32, out: &mut Vec<f32>) {
    let at = |x: isize, y: isize| img[(y.clamp(0, 27) * 28 + x.clamp(0, 27)) as usize] as f32;
    for y in 0..28 {
        for x in 0..28 {
            let (sx, sy) = (x as f32 - dx, y as f32 - dy);
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as isize, y0 as isize);
            let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
            let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
            out.push((top * (1.0 - fy) + bottom * fy) / 255.0);
        }
    }
}

/// One training recipe of the notebook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recipe {
    /// Small net, 10 epochs, no augmentation; FCN without pooling.
    Small,
    /// Recipe 1's weights trained 5 × 600 more steps with random shifts of ±20 %.
    SmallShift,
    /// Deep net, 5 × 600 steps with shifts; FCN with a 3×3 stride-1 max pool.
    DeepShift,
    /// digitscope's detector: recipe 3's weights trained further as an FCN on synthetic scene
    /// crops (centred digits 16–40 px, drawn-style strokes, neighbours and clutter as
    /// negatives); FCN without pooling, used over a two-level image pyramid.
    Scenes,
}

/// Names: `small`, `small-shift`, `deep-shift`, `scenes` (also the weights file stems).
impl digitscope::Named for Recipe {
    const WHAT: &'static str = "recipe";
}

impl Recipe {
    /// All recipes, in dependency order.
    pub const ALL: [Recipe; 4] = [Recipe::Small, Recipe::SmallShift, Recipe::DeepShift, Recipe::Scenes];

    /// The network trained.
    pub fn architecture(self) -> Architecture {
        match self {
            Recipe::DeepShift | Recipe::Scenes => Architecture::Deep,
            _ => Architecture::Small,
        }
    }

    /// The FCN pooling the notebook uses with it.
    pub fn pooling(self) -> Pooling {
        match self {
            Recipe::DeepShift => Pooling::Max3,
            _ => Pooling::None,
        }
    }

    /// The pyramid its weights ask the detector for: the image alone, or (scenes) the image and
    /// its half, which the detector extends adaptively.
    pub fn pyramid(self) -> Vec<usize> {
        if self == Recipe::Scenes { vec![1, 2] } else { vec![1] }
    }

    /// The header of its weights file.
    pub fn weights_info(self, test_accuracy: f32) -> digitscope::weights::WeightsInfo {
        digitscope::weights::WeightsInfo {
            recipe: digitscope::Named::name(self),
            architecture: self.architecture(),
            pooling: self.pooling(),
            test_accuracy,
            pyramid: self.pyramid(),
            checksum: None,
        }
    }

    /// `(epochs, steps per epoch or None for a full pass)`.
    pub fn schedule(self) -> (usize, Option<usize>) {
        match self {
            Recipe::Small => (10, None),
            _ => (5, Some(600)),
        }
    }

    /// Whether batches are randomly shifted.
    pub fn shifts(self) -> bool {
        self != Recipe::Small
    }
}

/// Per-epoch figures.
#[derive(Debug, Clone, Serialize)]
pub struct EpochReport {
    /// 1-based epoch.
    pub epoch: usize,
    /// Steps in this epoch.
    pub steps: usize,
    /// Mean training loss over the epoch.
    pub train_loss: f32,
    /// 11-class accuracy on the test split (+ background).
    pub test_accuracy: f32,
    /// Mean test loss.
    pub test_loss: f32,
    /// Seconds spent training in this epoch (evaluation excluded).
    pub train_seconds: f64,
}

/// Options of one training run.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Epochs.
    pub epochs: usize,
    /// Steps per epoch (`None`: one full pass).
    pub steps_per_epoch: Option<usize>,
    /// Random shifts.
    pub shifts: bool,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Seed of shuffling and augmentation.
    pub seed: u64,
    /// Show a progress bar.
    pub progress: bool,
}

/// A batch as tensors on `device`.
fn batch(data: &Dataset, indices: &[usize], shifts: Option<&mut Rng>, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    let mut pixels = Vec::with_capacity(indices.len() * 784);
    let mut rng = shifts;
    for &i in indices {
        let shift = rng.as_deref_mut().map(|r| {
            let max = SHIFT_RANGE * 28.0;
            ((r.uniform() * 2.0 - 1.0) * max, (r.uniform() * 2.0 - 1.0) * max)
        });
        data.example(i, shift, &mut pixels);
    }
    let labels: Vec<i64> = indices.iter().map(|&i| data.labels[i] as i64).collect();
    let n = indices.len();
    (
        Tensor::from_data(TensorData::new(pixels, [n, 1, 28, 28]), device),
        Tensor::from_data(TensorData::new(labels, [n]), device),
    )
}

/// Mean cross-entropy of logits against integer labels.
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let [n, classes] = logits.dims();
    let targets = labels.one_hot::<2>(classes).float();
    (log_softmax(logits, 1) * targets).sum().div_scalar(-(n as f32))
}

/// (accuracy, mean loss) of the classifier on `data`.
pub fn evaluate(network: &Network, data: &Dataset, device: &Device) -> (f32, f32) {
    let mut correct = 0usize;
    let mut loss = 0.0f64;
    let all: Vec<usize> = (0..data.len()).collect();
    for chunk in all.chunks(1000) {
        let (x, y) = batch(data, chunk, None, device);
        let logits = network.classify_logits(x);
        loss += cross_entropy(logits.clone(), y.clone()).into_scalar::<f32>() as f64 * chunk.len() as f64;
        let predicted = logits.argmax(1).reshape([chunk.len()]);
        correct += predicted.equal(y).int().sum().into_scalar::<i64>() as usize;
    }
    (correct as f32 / data.len() as f32, (loss / data.len() as f64) as f32)
}

/// A progress bar over `steps` training steps (hidden when `show` is false).
fn progress_bar(steps: u64, show: bool) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(steps);
    let template = "{elapsed_precise} [{bar:30}] {pos}/{len} steps ({per_sec}, eta {eta}) {msg}";
    bar.set_style(indicatif::ProgressStyle::with_template(template).expect("valid template"));
    bar
}

/// The fewest images a share of a data-parallel step holds (see [`data_parallel_step`]): at most
/// 4 shares of a 100-image batch. Measured with 16 rayon threads on 2 cores (a machine that
/// reports more cores than it runs): recipe 1's epochs took 7.3 s in 16 shares, 6.5 s in 4, 5.7 s
/// in 2 (5.0 s with 2 threads and 2 shares, unchanged by this).
const MIN_SHARE: usize = 25;

/// One batch's mean cross-entropy and its gradients, the batch split into one share per thread
/// of rayon's pool (burn-flex's, one per core): each share runs on a fork of `network` (its own
/// autodiff graph, the same parameter ids) with its loss weighted by the share's size, so that
/// the gradients summed over shares are the whole batch's mean-loss gradients — the same step as
/// on one thread, with every core busy (burn-flex runs its element-wise ops, swish among them,
/// on one thread each: without this, training used ~1.3 of 2 cores, 8.5 → 5.1 s per epoch).
fn data_parallel_step(
    network: &Network,
    data: &Dataset,
    indices: &[usize],
    mut shifts: Option<&mut Rng>,
    device: &Device,
) -> (f64, GradientsParams) {
    let n = indices.len();
    // The batches are drawn in order on this thread: the augmentation's random stream, and so
    // the batch, do not depend on the thread count.
    // One share per thread, but no share under MIN_SHARE images: a machine that reports more
    // cores than it runs (a container's quota) would otherwise cut a batch into slivers whose
    // per-graph overhead outweighs their work.
    let parts = rayon::current_num_threads().min(n / MIN_SHARE).max(1);
    let shares: Vec<_> = indices
        .chunks(n.div_ceil(parts))
        .map(|part| {
            (
                network.clone().fork(device),
                part.len() as f32 / n as f32,
                batch(data, part, shifts.as_deref_mut(), device),
            )
        })
        .collect();
    let results: Vec<(f64, GradientsParams)> = shares
        .into_par_iter()
        .map(|(fork, weight, (x, y))| backward(cross_entropy(fork.classify_logits(x), y).mul_scalar(weight), &fork))
        .collect();
    summed(network, results)
}

/// A fork's loss and its gradients (by the fork's parameter ids, which are `network`'s).
fn backward(loss: Tensor<1>, fork: &Network) -> (f64, GradientsParams) {
    let grads = GradientsParams::from_grads(loss.backward(), fork);
    (loss.into_scalar::<f32>() as f64, grads)
}

/// The forks' losses and gradients summed: the whole step's.
fn summed(network: &Network, parts: impl IntoIterator<Item = (f64, GradientsParams)>) -> (f64, GradientsParams) {
    let mut accumulator = GradientsAccumulator::<Network>::new();
    let mut loss = 0.0;
    for (part_loss, grads) in parts {
        loss += part_loss;
        accumulator.accumulate(network, grads);
    }
    (loss, accumulator.grads())
}

/// Trains `network` (which must live on an autodiff device) and returns it with per-epoch figures.
pub fn train(
    mut network: Network,
    train_set: &Dataset,
    test_set: &Dataset,
    options: &TrainOptions,
    mut on_epoch: impl FnMut(&EpochReport),
) -> (Network, Vec<EpochReport>) {
    let device = network.devices()[0].clone();
    let eval_device = device.clone().without_autodiff();
    let mut optimizer: ModuleOptimizer = AdamConfig::new().with_epsilon(1e-7).init();
    let mut rng = Rng::new(options.seed);
    let mut order: Vec<usize> = (0..train_set.len()).collect();
    let mut reports = Vec::new();
    let full = train_set.len().div_ceil(BATCH);
    let steps = options.steps_per_epoch.unwrap_or(full);
    let total = (options.epochs * steps) as u64;
    let bar = progress_bar(total, options.progress);
    let mut cursor = full * BATCH; // forces a shuffle first
    for epoch in 1..=options.epochs {
        let start = Instant::now();
        let mut loss_sum = 0.0f64;
        for _ in 0..steps {
            if cursor >= train_set.len() {
                rng.shuffle(&mut order);
                cursor = 0;
            }
            let end = (cursor + BATCH).min(train_set.len());
            let indices = &order[cursor..end];
            cursor = end;
            let mut aug_rng = options.shifts.then(|| Rng::new(rng.next_u64()));
            let (loss, grads) = data_parallel_step(&network, train_set, indices, aug_rng.as_mut(), &device);
            loss_sum += loss;
            network = optimizer.step(options.learning_rate, network, grads);
            bar.inc(1);
        }
        let train_seconds = start.elapsed().as_secs_f64();
        let (test_accuracy, test_loss) = evaluate(&network.valid(), test_set, &eval_device);
        let report = EpochReport {
            epoch,
            steps,
            train_loss: (loss_sum / steps as f64) as f32,
            test_accuracy,
            test_loss,
            train_seconds,
        };
        bar.set_message(format!("epoch {epoch}: test accuracy {:.2} %", test_accuracy * 100.0));
        on_epoch(&report);
        reports.push(report);
    }
    bar.finish_and_clear();
    (network, reports)
}

/// The train and test sets of the notebook (digits + background), from a seed.
pub fn notebook_sets(mnist: &Mnist, seed: u64) -> (Dataset, Dataset) {
    let mut rng = Rng::new(seed ^ 0xBAC6_0000);
    let train = Dataset::with_background(&mnist.train, TRAIN_BACKGROUND, &mut rng);
    let test = Dataset::with_background(&mnist.test, TEST_BACKGROUND, &mut rng);
    (train, test)
}

/// Options of a dense (fully convolutional) training run on synthetic scene crops.
#[derive(Debug, Clone)]
pub struct DenseOptions {
    /// Epochs.
    pub epochs: usize,
    /// Steps per epoch.
    pub steps_per_epoch: usize,
    /// Crops per step.
    pub batch: usize,
    /// Adam learning rate at the start (cosine-decayed to a tenth by the end).
    pub learning_rate: f64,
    /// Seed.
    pub seed: u64,
    /// Show a progress bar.
    pub progress: bool,
    /// Weight of the classifier's own loss (global max pool on 28×28 digits and background,
    /// randomly shifted), added at every step so that the same weights stay a classifier.
    pub classifier_weight: f32,
    /// Weight of the second look's loss ([`look_loss`] on `batch` of the mined [`Look`]s), where
    /// there are any.
    pub look_weight: f32,
    /// Share of the second look's picks made afresh at every step ([`hand_look`]: a digit in
    /// another hand, any height and pen) instead of drawn from the mined cut-outs.
    pub hand_looks: f32,
    /// What the 1s drawn in other hands become, in the crops and among the second look's digits
    /// made afresh: shares written with a flag or turned into 7s by a short bar
    /// ([`scenes::OneForms`]; `--flagged-ones`, `--barred-ones`).
    pub ones: scenes::OneForms,
}

/// Weighted cross-entropy over cells: logits `[N, rows, cols, 11]`, labels and weights per cell.
pub fn dense_loss(logits: Tensor<4>, labels: Tensor<1, Int>, weights: Tensor<1>) -> Tensor<1> {
    let [n, rows, cols, classes] = logits.dims();
    let flat = logits.reshape([n * rows * cols, classes]);
    let targets = labels.one_hot::<2>(classes).float();
    let per_cell = (log_softmax(flat, 1) * targets).sum_dim(1).reshape([n * rows * cols]);
    let total = weights.clone().sum().clamp_min(1.0);
    (per_cell * weights).sum().div(total).neg()
}

fn dense_batch(
    sources: &scenes::Sources,
    ones: scenes::OneForms,
    rng: &mut Rng,
    batch: usize,
    device: &Device,
) -> (Tensor<4>, Tensor<1, Int>, Tensor<1>) {
    let (mut pixels, mut labels, mut weights) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..batch {
        let (p, l, w) = scenes::training_crop(sources, ones, rng);
        pixels.extend(p);
        labels.extend(l);
        weights.extend(w);
    }
    let (side, cells) = (scenes::CROP, labels.len());
    (
        Tensor::from_data(TensorData::new(pixels, [batch, 1, side, side]), device),
        Tensor::from_data(TensorData::new(labels, [cells]), device),
        Tensor::from_data(TensorData::new(weights, [cells]), device),
    )
}

/// One step of [`train_dense`]: the loss and its gradients, the heatmap's term (`crops`) on one
/// thread and the classifier's (`digits`) and the second look's (`looks`: the cut-outs, the
/// picks, how many of them were mined) on another, each on a fork of `network` (its own
/// autodiff graph, the same parameter ids), the gradients summed — those of the three terms'
/// sum, the same step as one graph, with both cores busy (the two sides cost about the same: a
/// 64² crop is five 28² digits' work, a second look's pair about four). `train_dense` ran them
/// as one graph on one thread: its convolutions' products then ran on one core.
fn dense_step(
    network: &Network,
    crops: (Tensor<4>, Tensor<1, Int>, Tensor<1>),
    digits: Option<(Tensor<4>, Tensor<1, Int>)>,
    looks: Option<(&[&Look], &[usize], usize)>,
    options: &DenseOptions,
    device: &Device,
) -> (f64, GradientsParams) {
    let (heatmap_fork, other_fork) = (network.clone().fork(device), network.clone().fork(device));
    let (heatmap, other) = rayon::join(
        || {
            let (x, y, w) = crops;
            backward(dense_loss(heatmap_fork.heatmap_logits(x, Pooling::None), y, w), &heatmap_fork)
        },
        || {
            let classifier = digits.map(|(cx, cy)| {
                cross_entropy(other_fork.classify_logits(cx), cy).mul_scalar(options.classifier_weight)
            });
            let look = looks.map(|(all, picks, mined)| {
                look_loss(&other_fork, all, picks, mined, device).mul_scalar(options.look_weight)
            });
            let loss = match (classifier, look) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            loss.map(|loss| backward(loss, &other_fork))
        },
    );
    summed(network, std::iter::once(heatmap).chain(other))
}

/// Trains the FCN directly: every cell of a scene crop is labelled with the digit centred on it
/// (within half a cell), background, or ignored (near a digit, or a digit of a size left to
/// another pyramid level). `test_set` is the classifier's 11-class test set, reported per epoch.
pub fn train_dense(
    mut network: Network,
    sources: &scenes::Sources,
    looks: &[Look],
    train_set: &Dataset,
    test_set: &Dataset,
    options: &DenseOptions,
    mut on_epoch: impl FnMut(&EpochReport),
) -> (Network, Vec<EpochReport>) {
    let device = network.devices()[0].clone();
    let eval_device = device.clone().without_autodiff();
    let mut optimizer: ModuleOptimizer = AdamConfig::new().with_epsilon(1e-7).init();
    let mut rng = Rng::new(options.seed);
    let total = options.epochs * options.steps_per_epoch;
    let bar = progress_bar(total as u64, options.progress);
    let mut reports = Vec::new();
    let mut step = 0usize;
    let background: Vec<usize> = (0..looks.len()).filter(|&i| looks[i].label as usize == BACKGROUND).collect();
    for epoch in 1..=options.epochs {
        let start = Instant::now();
        let mut loss_sum = 0.0f64;
        for _ in 0..options.steps_per_epoch {
            let progress = step as f64 / total.max(1) as f64;
            let lr = options.learning_rate * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()));
            // Every batch is drawn here, in this order, on this thread: the random stream, and so
            // the step, do not depend on the thread count.
            let crops = dense_batch(sources, options.ones, &mut rng, options.batch, &device);
            let digits = (options.classifier_weight > 0.0).then(|| {
                let picks: Vec<usize> = (0..options.batch).map(|_| rng.below(train_set.len())).collect();
                let mut shift_rng = Rng::new(rng.next_u64());
                batch(train_set, &picks, Some(&mut shift_rng), &device)
            });
            let mut fresh = Vec::new();
            let mut look_picks = Vec::new();
            if options.look_weight > 0.0 && !looks.is_empty() {
                // Background cut-outs are few (the heatmap proposes little on clutter): drawn
                // for a [`LOOK_BACKGROUND_SHARE`] of the picks where there are any. A
                // `hand_looks` share of the others is made afresh.
                look_picks = (0..options.batch)
                    .map(|_| match background.is_empty() || rng.uniform() >= LOOK_BACKGROUND_SHARE {
                        true if rng.uniform() < options.hand_looks => {
                            let look = loop {
                                if let Some(look) = hand_look(sources.digits, options.ones, &mut rng) {
                                    break look;
                                }
                            };
                            fresh.push(look);
                            looks.len() + fresh.len() - 1
                        }
                        true => rng.below(looks.len()),
                        false => background[rng.below(background.len())],
                    })
                    .collect();
            }
            let all: Vec<&Look> = looks.iter().chain(&fresh).collect();
            let look_part = (!look_picks.is_empty()).then_some((&all[..], &look_picks[..], looks.len()));
            let (loss, grads) = dense_step(&network, crops, digits, look_part, options, &device);
            loss_sum += loss;
            network = optimizer.step(lr, network, grads);
            step += 1;
            bar.inc(1);
        }
        let train_seconds = start.elapsed().as_secs_f64();
        let (test_accuracy, test_loss) = evaluate(&network.valid(), test_set, &eval_device);
        let report = EpochReport {
            epoch,
            steps: options.steps_per_epoch,
            train_loss: (loss_sum / options.steps_per_epoch as f64) as f32,
            test_accuracy,
            test_loss,
            train_seconds,
        };
        bar.set_message(format!("epoch {epoch}: dense loss {:.4}", report.train_loss));
        on_epoch(&report);
        reports.push(report);
    }
    bar.finish_and_clear();
    (network, reports)
}

/// One round of hard-negative mining: what the detector made of digit-free scenes.
#[derive(Debug, Clone, Default)]
pub struct Mined {
    /// `CROP`×`CROP` crops centred (within a few pixels) on each false detection, taken from the
    /// pyramid level that made it, at that level's scale.
    pub crops: Vec<Vec<f32>>,
    /// The pyramid level (downscale factor) of each crop.
    pub crop_levels: Vec<usize>,
    /// Scenes searched.
    pub scenes: usize,
    /// False detections at the detector's own threshold, by pyramid level (factor, count).
    pub by_level: Vec<(usize, usize)>,
}

/// Mines hard negatives: runs every pyramid level of the detector made from `weights` over
/// `count` digit-free scenes ([`scenes::negative_scene`]: Fashion-MNIST **train** items and
/// generated clutter) and keeps a crop around each detection scoring at least `min_score`
/// (below the shipped threshold, so that near misses are mined too). Then, over `giants`
/// scenes of one large digit ([`scenes::giant_scene`]), the same at every level where that
/// digit is too large to be detected (its box over [`GIANT_BOX`] px at the level): there,
/// whatever is found is a part of it (a loop read as a 0, a stroke as a 1).
pub fn mine_negatives(
    weights: &[u8],
    sources: &scenes::Sources,
    seed: u64,
    count: usize,
    giants: usize,
    min_score: f32,
) -> digitscope::Result<Mined> {
    use digitscope::Detector;
    use digitscope::detector::LEVEL_MARGIN;
    use digitscope::image::Downscale;
    use scenes::CROP;
    let full = Detector::from_weights(weights, Device::flex())?;
    let threshold = full.options.min_score;
    let mut single = Detector::from_weights(weights, Device::flex())?.with_direct_kernels()?.with_pyramid(vec![1]);
    single.options.min_score = min_score;
    // The heatmap's own false detections are what the next round trains against: no second look.
    single.options.verify = None;
    let mut rng = Rng::new(seed);
    let mut mined = Mined { scenes: count + giants, ..Mined::default() };
    for k in 0..count + giants {
        // The image, and which of its levels are mined (all of a digit-free scene's; those of a
        // giant's where its box is over GIANT_BOX).
        let (image, giant_box) = if k < count {
            (scenes::negative_scene(sources, &mut rng).into_image().flattened(), None)
        } else {
            let (canvas, box_side) = scenes::giant_scene(sources, &mut rng);
            (canvas.into_image().flattened(), Some(box_side))
        };
        let levels = full.levels(image.width, image.height);
        for factor in levels.into_iter().filter(|&f| giant_box.is_none_or(|b| b / f as f32 > GIANT_BOX)) {
            let (level, margin) = match factor {
                1 => (image.clone(), 0),
                f => (image.level(f, Downscale::default()).padded(LEVEL_MARGIN), LEVEL_MARGIN),
            };
            let (_, detections) = single.detect(&level)?;
            let inside = |v: f32, side: usize| v >= margin as f32 && v < (side - margin) as f32;
            for d in detections.iter().filter(|d| inside(d.x, level.width) && inside(d.y, level.height)) {
                if d.score >= threshold {
                    match mined.by_level.iter_mut().find(|(f, _)| *f == factor) {
                        Some((_, n)) => *n += 1,
                        None => mined.by_level.push((factor, 1)),
                    }
                }
                let x0 = d.x.round() as isize - (CROP / 2) as isize + rng.below(9) as isize - 4;
                let y0 = d.y.round() as isize - (CROP / 2) as isize + rng.below(9) as isize - 4;
                let mut crop = vec![0.0f32; CROP * CROP];
                for y in 0..CROP {
                    for x in 0..CROP {
                        let (sx, sy) = (x0 + x as isize, y0 + y as isize);
                        if sx >= 0 && sy >= 0 && (sx as usize) < level.width && (sy as usize) < level.height {
                            crop[y * CROP + x] = level.pixels[sy as usize * level.width + sx as usize];
                        }
                    }
                }
                mined.crops.push(crop);
                mined.crop_levels.push(factor);
            }
        }
    }
    mined.by_level.sort();
    Ok(mined)
}

/// A digit whose box (28-px-MNIST-equivalent side) is larger than this at a level is too large
/// to be detected there: training ignores boxes of 40–48 px and leaves larger ones to coarser
/// levels, so 64 keeps a margin.
pub const GIANT_BOX: f32 = 64.0;

/// Share of the second look's training picks drawn from its background cut-outs (where there
/// are any); the rest are drawn from all of them.
pub const LOOK_BACKGROUND_SHARE: f32 = 0.25;

/// A cut-out as the second look reads it ([`digitscope::verify::cut_out`]), and what it should
/// read: a digit, or [`BACKGROUND`].
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    /// The classifier's input, [`digitscope::verify::SIDE`]².
    pub mnist: Vec<f32>,
    /// The FCN's input, [`digitscope::verify::CANVAS`]², read at cell
    /// ([`digitscope::verify::CELL`], [`digitscope::verify::CELL`]).
    pub canvas: Vec<f32>,
    /// The class it should read as.
    pub label: u8,
}

/// What [`mine_looks`] found.
#[derive(Debug, Clone, Default)]
pub struct Looks {
    /// The labelled cut-outs.
    pub looks: Vec<Look>,
    /// Scenes searched.
    pub scenes: usize,
    /// Cut-outs labelled a digit (a proposal's on a digit, or a digit's own from its true box).
    pub digits: usize,
    /// Cut-outs labelled background (a proposal's ink that overlaps no digit).
    pub background: usize,
    /// Proposals' cut-outs left out: part of a digit (a detached stroke) or of two.
    pub left_out: usize,
}

/// Heatmap score from which [`mine_looks`] takes proposals (the detector proposes from 0.25).
pub const LOOK_MIN_SCORE: f32 = 0.15;

/// The scene sets a [`mine_looks`] scene is drawn from (with **train** digits), besides
/// digit-free training clutter ([`scenes::negative_scene`]).
const LOOK_SETS: [scenes::SceneSet; 6] = [
    scenes::SceneSet::Pad,
    scenes::SceneSet::Hands,
    scenes::SceneSet::Drawn,
    scenes::SceneSet::MultiScale,
    scenes::SceneSet::Paper,
    scenes::SceneSet::SeedLike,
];

/// A cut-out's ink box against a digit's tight box (inclusive corners): intersection over union,
/// and the share of the ink box inside the digit's.
fn overlap(ink: [f32; 4], t: &digitscope::scene::Truth) -> (f32, f32) {
    let b = [t.x0 as f32, t.y0 as f32, (t.x1 + 1) as f32, (t.y1 + 1) as f32];
    let area = |r: [f32; 4]| (r[2] - r[0]) * (r[3] - r[1]);
    let inter = digitscope::verify::intersection(ink, b);
    (inter / (area(ink) + area(b) - inter).max(1e-6), inter / area(ink).max(1e-6))
}

/// Mines the second look's training examples: over `count` scenes (a quarter digit-free training
/// clutter, the others drawn like [`LOOK_SETS`] from `sources`' **train** digits), the heatmap of
/// the network in `weights` proposes as the shipped detector does (its strongest
/// [`digitscope::verify::looks`], then the ink it leaves unexplained) but from heatmap score
/// [`LOOK_MIN_SCORE`], so that near misses are mined too, and each proposal's ink is cut out. A cut-out whose ink box matches a digit's (IoU ≥ 0.6) is that digit; one whose ink
/// lies mostly (> 80 %) outside every digit is background; the rest (a detached stroke, two
/// digits at once) are left out. Each digit's own cut-out, from its true box, is added too, so
/// that digits the heatmap misses are still read right.
pub fn mine_looks(weights: &[u8], sources: &scenes::Sources, seed: u64, count: usize) -> digitscope::Result<Looks> {
    use digitscope::Detector;
    use digitscope::image::Ink;
    use digitscope::verify;
    let mut detector = Detector::from_weights(weights, Device::flex())?.with_direct_kernels()?;
    detector.options.verify = None;
    // Near misses too: a proposal a little under the bar is read the next time the heatmap moves.
    detector.options.min_score = LOOK_MIN_SCORE;
    let mut rng = Rng::new(seed);
    let mut found = Looks { scenes: count, ..Looks::default() };
    for k in 0..count {
        let (image, truths) = if k % 4 == 3 {
            (scenes::negative_scene(sources, &mut rng).into_image(), Vec::new())
        } else {
            let s = scenes::scene(LOOK_SETS[rng.below(LOOK_SETS.len())], sources, seed, k);
            (s.image, s.truths)
        };
        let image = image.with_ink(Ink::Auto);
        let (_, mut proposals) = detector.detect(&image)?;
        let flat = image.flattened();
        proposals.sort_by(|a, b| b.score.total_cmp(&a.score));
        proposals.truncate(verify::looks(flat.width, flat.height));
        let unexplained = verify::ink_proposals(&flat, &proposals);
        let keep = |cut: verify::CutOut, label: u8, found: &mut Looks| {
            found.looks.push(Look { mnist: cut.mnist.pixels, canvas: cut.canvas.pixels, label });
        };
        for d in proposals.iter().chain(&unexplained) {
            let Some(cut) = verify::cut_out(&flat, d) else { continue };
            let best = truths.iter().map(|t| (overlap(cut.ink, t), t.digit)).max_by(|a, b| a.0.0.total_cmp(&b.0.0));
            match best {
                Some(((iou, _), digit)) if iou >= 0.6 => {
                    found.digits += 1;
                    keep(cut, digit, &mut found);
                }
                _ if truths.iter().all(|t| overlap(cut.ink, t).1 < 0.2) => {
                    found.background += 1;
                    keep(cut, BACKGROUND as u8, &mut found);
                }
                _ => found.left_out += 1,
            }
        }
        for t in &truths {
            let at = detection_at(t.digit, (t.x0, t.y0, t.x1, t.y1));
            if let Some(cut) = verify::cut_out(&flat, &at).filter(|c| overlap(c.ink, t).0 >= 0.6) {
                found.digits += 1;
                keep(cut, t.digit, &mut found);
            }
        }
    }
    Ok(found)
}

/// A sure detection of `digit` on the box `(x0, y0, x1, y1)` (inclusive corners), square as
/// the heatmap's are: how a digit's own cut-out is taken from its known box.
fn detection_at(digit: u8, (x0, y0, x1, y1): (usize, usize, usize, usize)) -> digitscope::detect::Detection {
    let (w, h) = ((x1 + 1 - x0) as f32, (y1 + 1 - y0) as f32);
    let side = w.max(h);
    digitscope::detect::Detection {
        digit,
        score: 1.0,
        x: x0 as f32 + w / 2.0,
        y: y0 as f32 + h / 2.0,
        w: side,
        h: side,
    }
}

/// A second-look example made afresh: a MNIST **train** digit in another hand (its skeleton
/// slanted ±25°, turned ±12°, stretched ±25 % and bent, as the `hands` scenes draw theirs but
/// from training digits), 14–240 px tall, redrawn with a round pen either 3–30 % of its height
/// or 2–16 px whatever the height (a drawing pad's pen; at most 30 % of the height), sometimes
/// blurred or faint, alone on a blank image and cut out at its own box as the detector cuts a
/// detection's ink. `None` where the digit has no skeleton to redraw.
pub fn hand_look(digits: &Split, ones: scenes::OneForms, rng: &mut Rng) -> Option<Look> {
    use digitscope::verify;
    let i = rng.below(digits.len());
    let height = 14.0 * (240.0f32 / 14.0).powf(rng.uniform());
    let pen = match rng.uniform() < 0.5 {
        true => height * (0.03 + 0.27 * rng.uniform()),
        false => 2.0 + 14.0 * rng.uniform(),
    };
    let pen = pen.min(0.3 * height).max(1.0);
    let bend = 3.0 * rng.uniform();
    let warp = scenes::Warp::random(rng, 25f32.to_radians(), 12f32.to_radians(), 0.25, bend);
    let (mut patch, label) =
        scenes::pen_digit_in_hand(digits.image(i), digits.labels[i], height, pen, &warp, ones, rng);
    if rng.uniform() < 0.5 {
        patch = patch.blurred();
    }
    let gain = if rng.uniform() < 0.2 { 0.5 + 0.5 * rng.uniform() } else { 1.0 };
    let margin = 8 + patch.w.max(patch.h) / 2;
    let mut canvas = scenes::Canvas::new(patch.w + 2 * margin, patch.h + 2 * margin);
    canvas.paste(&patch, margin as isize, margin as isize, gain, false);
    let at = detection_at(label, canvas.ink_box(0.1)?);
    let cut = verify::cut_out(&canvas.into_image(), &at)?;
    Some(Look { mnist: cut.mnist.pixels, canvas: cut.canvas.pixels, label })
}

/// The second look's loss on `picks` of `looks`: cross-entropy of the classifier on their
/// [`Look::mnist`] and of the FCN's cell ([`digitscope::verify::CELL`]) on their
/// [`Look::canvas`], summed. Looks from index `fresh` on were made afresh ([`hand_look`]): the
/// FCN cell learns from them only which digit each is (its background logit left out), so that
/// what the detector takes for a digit at all (the cell's objectness) is learnt from the mined
/// cut-outs alone, whose digits and clutter are as the heatmap proposes them.
fn look_loss(network: &Network, looks: &[&Look], picks: &[usize], fresh: usize, device: &Device) -> Tensor<1> {
    use digitscope::verify::{CANVAS, CELL, SIDE};
    let n = picks.len();
    let gather =
        |pick: fn(&Look) -> &Vec<f32>| picks.iter().flat_map(|&i| pick(looks[i]).iter().copied()).collect::<Vec<f32>>();
    let labels: Vec<i64> = picks.iter().map(|&i| looks[i].label as i64).collect();
    let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), device);
    let mnist = Tensor::from_data(TensorData::new(gather(|l| &l.mnist), [n, 1, SIDE, SIDE]), device);
    let canvas = Tensor::from_data(TensorData::new(gather(|l| &l.canvas), [n, 1, CANVAS, CANVAS]), device);
    let cells = network.heatmap_logits(canvas, Pooling::None);
    let [_, _, _, classes] = cells.dims();
    let cell = cells.slice([0..n, CELL..CELL + 1, CELL..CELL + 1, 0..classes]).reshape([n, classes]);
    let masked: Vec<f32> = picks
        .iter()
        .flat_map(|&i| (0..classes).map(move |k| if i >= fresh && k == BACKGROUND { -1e4 } else { 0.0 }))
        .collect();
    let cell = cell + Tensor::from_data(TensorData::new(masked, [n, classes]), device);
    cross_entropy(network.classify_logits(mnist), labels.clone()) + cross_entropy(cell, labels)
}

/// Row-major strides of a tensor of `shape` (elements between neighbours along each axis).
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * shape[a + 1];
    }
    strides
}

/// `network` widened to `widths` output channels in its trunk's convolutions and `hidden` units
/// in its head's dense layer, computing the same function: every old weight is kept; a new
/// channel or unit gets a fresh network's incoming weights (Glorot) and zero bias, and every
/// weight from a new channel or unit into an old one is zero, so that training goes on from
/// where `network` was. A width below the network's own is an error.
pub fn widen(network: Network, widths: &[usize], hidden: usize, device: &Device) -> Result<Network, String> {
    use digitscope::weights;
    let (old_widths, old_h) = (network.widths(), network.hidden());
    if widths.len() != old_widths.len() {
        return Err(format!("{} widths for a trunk of {} convolutions", widths.len(), old_widths.len()));
    }
    if let Some((w, old)) = widths.iter().zip(&old_widths).find(|(w, old)| w < old) {
        return Err(format!("--widen-trunk {w}: that convolution already has {old} channels"));
    }
    if hidden < old_h {
        return Err(format!("--widen-head {hidden}: the network already has {old_h} hidden units"));
    }
    let wide = Network::with_widths(network.architecture(), widths, hidden, device);
    let old = weights::parameters(&network);
    let mut tensors = weights::parameters(&wide);
    // The parameters in the record's order: each convolution's weight `[outputs, inputs, 3, 3]`
    // and bias, the dense layer's weight `[channels, hidden]` and bias, the output layer's
    // `[hidden, classes]` and bias. Each tensor: (its output axis, its input axis if any).
    let convs = old_widths.len();
    for (i, ((shape, values), (old_shape, before))) in tensors.iter_mut().zip(&old).enumerate() {
        let (out_axis, in_axis) = match (i < 2 * convs, i % 2) {
            (true, 0) => (0, Some(1)),
            (false, 0) => (1, Some(0)),
            _ => (0, None),
        };
        let (new_strides, old_strides) = (strides(shape), strides(old_shape));
        for (k, v) in values.iter_mut().enumerate() {
            let index: Vec<usize> = new_strides.iter().zip(shape.iter()).map(|(s, n)| k / s % n).collect();
            if index[out_axis] >= old_shape[out_axis] {
                // A new channel or unit: fresh incoming weights, zero bias.
                if in_axis.is_none() {
                    *v = 0.0;
                }
            } else if in_axis.is_some_and(|a| index[a] >= old_shape[a]) {
                // From a new channel or unit into an old one.
                *v = 0.0;
            } else {
                *v = before[index.iter().zip(&old_strides).map(|(i, s)| i * s).sum::<usize>()];
            }
        }
    }
    weights::load(wide, tensors).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::optim::SgdConfig;

    fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n).map(|i| (((i + seed) * 7919 % 2003) as f32) / 2003.0).collect()
    }

    /// The two-fork step's loss and gradients are the one-graph step's: one SGD step (learning
    /// rate 1: the parameters minus the gradients) from each lands on the same network.
    #[test]
    fn a_dense_step_on_two_forks_equals_one_graph() {
        use digitscope::verify::{CANVAS, SIDE};
        let device = Device::flex().autodiff();
        let network = Network::new(Architecture::Deep, &device);
        let options = DenseOptions {
            epochs: 1,
            steps_per_epoch: 1,
            batch: 3,
            learning_rate: 1e-3,
            seed: 1,
            progress: false,
            classifier_weight: 0.5,
            look_weight: 0.5,
            hand_looks: 0.0,
            ones: scenes::OneForms::default(),
        };
        let crops = || {
            let x = Tensor::<4>::from_data(TensorData::new(values(2 * 64 * 64, 1), [2, 1, 64, 64]), &device);
            let labels: Vec<i64> = (0..2 * 8 * 8).map(|i| (i % 11) as i64).collect();
            let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [128]), &device);
            let w = Tensor::<1>::from_data(TensorData::new(values(128, 5), [128]), &device);
            (x, y, w)
        };
        let digits = || {
            let x = Tensor::<4>::from_data(TensorData::new(values(3 * 28 * 28, 2), [3, 1, 28, 28]), &device);
            (x, Tensor::<1, Int>::from_data(TensorData::new(vec![3i64, 7, 10], [3]), &device))
        };
        let looks: Vec<Look> = (0..2)
            .map(|k| Look {
                mnist: values(SIDE * SIDE, 3 + k),
                canvas: values(CANVAS * CANVAS, 9 + k),
                label: 4 + k as u8,
            })
            .collect();
        let all: Vec<&Look> = looks.iter().collect();
        let picks = [0usize, 1, 1];

        let (loss, grads) = dense_step(&network, crops(), Some(digits()), Some((&all, &picks, 1)), &options, &device);
        let (x, y, w) = crops();
        let (cx, cy) = digits();
        let one = dense_loss(network.heatmap_logits(x, Pooling::None), y, w)
            + cross_entropy(network.classify_logits(cx), cy).mul_scalar(options.classifier_weight)
            + look_loss(&network, &all, &picks, 1, &device).mul_scalar(options.look_weight);
        let one_grads = GradientsParams::from_grads(one.backward(), &network);
        let one_loss = one.into_scalar::<f32>() as f64;
        assert!((loss - one_loss).abs() < 1e-5 * (1.0 + one_loss.abs()), "{loss} against {one_loss}");

        let mut sgd = SgdConfig::new().init();
        let mut stepped = |grads| sgd.step(1.0, network.clone(), grads).parameters().expect("parameters");
        let (a, b) = (stepped(grads), stepped(one_grads));
        let pairs = a.convs.iter().zip(&b.convs).flat_map(|(a, b)| [(&a.weight, &b.weight), (&a.bias, &b.bias)]);
        let pairs = pairs.chain([(&a.dense.weight, &b.dense.weight), (&a.output.weight, &b.output.weight)]);
        for (a, b) in pairs {
            for (a, b) in a.iter().zip(b) {
                assert!((a - b).abs() < 1e-5, "{a} against {b}");
            }
        }
        // A step that moved nothing would pass the above: the parameters did move.
        let before = network.parameters().expect("parameters");
        assert!(before.convs[5].weight.iter().zip(&a.convs[5].weight).any(|(p, q)| (p - q).abs() > 1e-6));
    }
}
