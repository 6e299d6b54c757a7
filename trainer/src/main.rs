//! `trainer`: trains the notebook's recipes on MNIST and writes the weights; evaluates weights.
//!
//! ```text
//! trainer train [--recipe small|small-shift|deep-shift|scenes|all] [--mnist DIR] [--out DIR] [--seed N]
//!               [--from WEIGHTS.dsw [--widen-head UNITS] [--widen-trunk W,W,…]] [--rounds N] [--mine SCENES] [--looks SCENES] [--hand-looks SHARE [--flagged-ones SHARE] [--barred-ones SHARE]] [--steps N]
//! trainer eval WEIGHTS.dsw... [--mnist DIR] [--pooling none|max3|window]
//! trainer scenes WEIGHTS.dsw... [--count N] [--sets a,b] [--pyramid 1,2] [--downscale box|gain|max|stroke]
//!                [--min-score S] [--decoding peaks|components] [--no-verify] [--verify MIN_SCORE,MIN_OBJECTNESS[,MIN_SCORE_ONE]] [--pooling P] [--fashion DIR]
//!                [--scene-seed N] [--wrong DIR]  (another draw of every set; the scenes read wrong, as PNGs)
//!                [--drawing]  (every scene read as a drawing: a lone straight upright stroke is a 1)
//! trainer scene-pngs -o DIR [--count N] [--scene-seed N]  (the first scenes of every set, with truths)
//! trainer tall WEIGHTS.dsw... [--count N] [--heights 60,150,250,300] [--pen 8] [--drawing]  (one digit alone on the pad, drawn tall)
//! trainer flags WEIGHTS.dsw... [--drawing]  (1s written with a flag and 7s with a short bar, one stroke each, on the pad)
//! trainer composite -o OUT.png [--mnist DIR]
//! trainer half WEIGHTS.dsw -o OUT.dsw           (f16 tensors; reports what it changes)
//! trainer export-sample -o OUT.bin [--count N]   (MNIST test digits for the website)
//! trainer export-strokes INDEX... -o OUT.json    (pen strokes traced from MNIST test digits)
//! trainer export-tf WEIGHTS.dsw -o OUT.json      (TensorFlow layouts, for the TF.js benchmark)
//! ```

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use burn::tensor::Device;
use digitscope::detect::{DecodeOptions, Decoding, decode};
use digitscope::image::{Downscale, Ink};
use digitscope::mnist;
use digitscope::network::Architecture;
use digitscope::network::Network;
use digitscope::pngio::write_png;
use digitscope::scene::{Outcome, assess, notebook_composite, score};
use digitscope::verify::VerifyOptions;
use digitscope::weights;
use digitscope::{Detector, Named, Pooling};
use digitscope_trainer::scenes::{Canvas, OneForms, SceneSet, Sources, Warp, scene};
use digitscope_trainer::{
    DenseOptions, EpochReport, Recipe, TrainOptions, evaluate, notebook_sets, train, train_dense,
};
use serde::Serialize;

#[derive(Serialize)]
struct RecipeReport {
    recipe: String,
    architecture: Architecture,
    pooling: Pooling,
    parameters: usize,
    seed: u64,
    epochs: Vec<EpochReport>,
    test_accuracy: f32,
    train_seconds: f64,
    composite_found_components: usize,
    composite_found_detector: usize,
}

struct Args {
    command: String,
    positional: Vec<String>,
    recipe: String,
    mnist: PathBuf,
    out: PathBuf,
    output: Option<PathBuf>,
    seed: u64,
    pooling: Option<Pooling>,
    fashion: PathBuf,
    count: usize,
    steps: Option<usize>,
    pyramid: Option<Vec<usize>>,
    min_score: Option<f32>,
    /// `scenes`: the heatmap's reading alone (no second look at each detection).
    no_verify: bool,
    verify: Option<VerifyOptions>,
    decoding: Option<Decoding>,
    sets: Vec<SceneSet>,
    /// `scenes`, `scene-pngs`: the seed the scene sets are drawn with ([`SCENE_SEED`] unless set).
    scene_seed: u64,
    /// `scenes --wrong DIR`: every scene with a false, misread or missed digit written there.
    wrong: Option<PathBuf>,
    downscale: Option<Downscale>,
    from: Option<PathBuf>,
    rounds: usize,
    mine: usize,
    looks: usize,
    hand_looks: f32,
    /// `train --flagged-ones`, `--barred-ones`: see `scenes::OneForms`.
    ones: OneForms,
    /// `--widen-head N`: the head's dense layer widened to N units before training.
    widen_head: Option<usize>,
    /// `--widen-trunk W,W,…`: the trunk's convolutions widened to these channels before training.
    widen_trunk: Option<Vec<usize>>,
    /// `tall --heights`: the digits' ink heights, pixels.
    heights: Vec<f32>,
    /// `tall --pen`: the pen's width, pixels.
    pen: f32,
    /// `scenes`, `tall --drawing`: the images read as drawings (`VerifyOptions::drawing`).
    drawing: bool,
}

fn parse() -> Result<Args, String> {
    let mut argv = std::env::args().skip(1);
    let mut args = Args {
        command: argv.next().ok_or("missing command (train, eval, composite)")?,
        positional: Vec::new(),
        recipe: "all".into(),
        mnist: mnist::DEFAULT_DIR.into(),
        out: "weights".into(),
        output: None,
        seed: 42,
        pooling: None,
        fashion: FASHION_DIR.into(),
        count: 200,
        steps: None,
        pyramid: None,
        min_score: None,
        no_verify: false,
        verify: None,
        decoding: None,
        sets: SceneSet::ALL.to_vec(),
        scene_seed: SCENE_SEED,
        wrong: None,
        downscale: None,
        from: None,
        rounds: 2,
        mine: 3000,
        looks: 0,
        hand_looks: 0.0,
        ones: OneForms::default(),
        widen_head: None,
        widen_trunk: None,
        heights: vec![60.0, 150.0, 250.0, 300.0],
        pen: 8.0,
        drawing: false,
    };
    while let Some(arg) = argv.next() {
        let mut value = || argv.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--recipe" => args.recipe = value()?,
            "--mnist" => args.mnist = value()?.into(),
            "--out" => args.out = value()?.into(),
            "-o" => args.output = Some(value()?.into()),
            "--seed" => args.seed = value()?.parse().map_err(|_| "--seed needs an integer")?,
            "--fashion" => args.fashion = value()?.into(),
            "--decoding" => args.decoding = Some(Decoding::from_name(&value()?)?),
            "--no-verify" => args.no_verify = true,
            "--drawing" => args.drawing = true,
            "--verify" => {
                let v = value()?;
                let bad =
                    || format!("--verify takes MIN_SCORE,MIN_OBJECTNESS[,MIN_SCORE_ONE] like 0.45,0.3,0.55, not {v:?}");
                let values: Vec<f32> = v.split(',').map(|x| x.parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
                let [min_score, min_objectness, ref one @ ..] = values[..] else { return Err(bad()) };
                if one.len() > 1 {
                    return Err(bad());
                }
                let min_score_one = one.first().copied().unwrap_or(VerifyOptions::default().min_score_one);
                args.verify = Some(VerifyOptions { min_score, min_objectness, min_score_one, drawing: false });
            }
            "--min-score" => args.min_score = Some(value()?.parse().map_err(|_| "--min-score needs a number")?),
            "--from" => args.from = Some(value()?.into()),
            "--widen-head" => {
                let hidden: usize = value()?.parse().map_err(|_| "--widen-head needs a number of units")?;
                if hidden == 0 || !hidden.is_multiple_of(8) {
                    return Err(format!("--widen-head needs a multiple of 8 units, not {hidden}"));
                }
                args.widen_head = Some(hidden);
            }
            "--widen-trunk" => {
                let v = value()?;
                let bad = || {
                    format!("--widen-trunk takes one multiple of 8 per convolution, like 16,16,32,32,96,96, not {v:?}")
                };
                let widths: Vec<usize> =
                    v.split(',').map(|w| w.parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
                if widths.iter().any(|&w| w == 0 || !w.is_multiple_of(8)) {
                    return Err(bad());
                }
                args.widen_trunk = Some(widths);
            }
            "--rounds" => args.rounds = value()?.parse().map_err(|_| "--rounds needs an integer")?,
            "--hand-looks" => {
                let share: f32 = value()?.parse().map_err(|_| "--hand-looks needs a share from 0 to 1")?;
                if !(0.0..=1.0).contains(&share) {
                    return Err(format!("--hand-looks needs a share from 0 to 1, not {share}"));
                }
                args.hand_looks = share;
            }
            "--flagged-ones" | "--barred-ones" => {
                let share: f32 = value()?.parse().map_err(|_| format!("{arg} needs a share from 0 to 1"))?;
                if !(0.0..=1.0).contains(&share) {
                    return Err(format!("{arg} needs a share from 0 to 1, not {share}"));
                }
                match arg.as_str() {
                    "--flagged-ones" => args.ones.flagged = share,
                    _ => args.ones.barred = share,
                }
                if args.ones.flagged + args.ones.barred > 1.0 {
                    return Err("--flagged-ones and --barred-ones together can be at most 1".into());
                }
            }
            "--looks" => args.looks = value()?.parse().map_err(|_| "--looks needs an integer")?,
            "--mine" => args.mine = value()?.parse().map_err(|_| "--mine needs an integer")?,
            "--count" => args.count = value()?.parse().map_err(|_| "--count needs an integer")?,
            "--steps" => args.steps = Some(value()?.parse().map_err(|_| "--steps needs an integer")?),
            "--pyramid" => {
                let v = value()?;
                let levels: Result<Vec<usize>, _> = v.split(',').map(str::parse).collect();
                args.pyramid = Some(levels.map_err(|_| format!("--pyramid takes factors like 1,2, not {v:?}"))?);
            }
            "--downscale" => {
                let v = value()?;
                args.downscale = Some(Downscale::from_name(&v)?);
            }
            "--heights" => {
                let v = value()?;
                let heights: Result<Vec<f32>, _> = v.split(',').map(str::parse).collect();
                args.heights = heights
                    .ok()
                    .filter(|h| h.iter().all(|&h| (14.0..=336.0).contains(&h)))
                    .ok_or(format!("--heights takes pixels from 14 to 336 like 150,250, not {v:?}"))?;
            }
            "--pen" => {
                args.pen = value()?
                    .parse()
                    .ok()
                    .filter(|p| (1.0..=32.0).contains(p))
                    .ok_or("--pen needs a width from 1 to 32 pixels")?;
            }
            "--scene-seed" => args.scene_seed = value()?.parse().map_err(|_| "--scene-seed needs an integer")?,
            "--wrong" => args.wrong = Some(value()?.into()),
            "--sets" => {
                let v = value()?;
                args.sets = v.split(',').map(SceneSet::from_name).collect::<Result<_, _>>()?;
            }
            "--pooling" => {
                let v = value()?;
                args.pooling = Some(Pooling::from_name(&v)?);
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ => args.positional.push(arg),
        }
    }
    Ok(args)
}

/// Digits of the notebook composite found (right digit, right place): with the notebook's reading
/// (connected components of the native-size heatmap), and by the detector as it ships (peaks,
/// over its pyramid).
fn composite_found(detector: &Detector, mnist: &mnist::Split) -> Result<(usize, usize), Box<dyn Error>> {
    let (scene, truths) = notebook_composite(|i| mnist.image(i), |i| mnist.labels[i]);
    let heatmap = detector.heatmap(&scene)?;
    let options = DecodeOptions { method: Decoding::Components, ..DecodeOptions::default() };
    let components = score(&decode(&heatmap, &options), &truths).true_positives;
    let (_, detections) = detector.detect(&scene)?;
    Ok((components, score(&detections, &truths).true_positives))
}

/// The seed of the scene sets that `make scenes` and the README's figures use.
const SCENE_SEED: u64 = 2026;

/// Where `make fashion` puts Fashion-MNIST (Debian's dataset-fashion-mnist, gunzipped).
const FASHION_DIR: &str = "data/fashion-mnist";

/// Fashion-MNIST images of one split (`train` or `t10k`), if present.
fn load_fashion(dir: &Path, split: &str) -> Result<Vec<u8>, Box<dyn Error>> {
    let path = dir.join(format!("{split}-images-idx3-ubyte"));
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e} (run `make fashion`)", path.display()))?;
    Ok(mnist::parse_images(&bytes).map_err(|e| format!("{}: {e}", path.display()))?.1)
}

fn run_train(args: &Args) -> Result<(), Box<dyn Error>> {
    let recipes: Vec<Recipe> =
        if args.recipe == "all" { Recipe::ALL.to_vec() } else { vec![Recipe::from_name(&args.recipe)?] };
    let data = mnist::load(&args.mnist)?;
    let (train_set, test_set) = notebook_sets(&data, args.seed);
    std::fs::create_dir_all(&args.out)?;
    let mut reports = Vec::new();
    for recipe in recipes {
        let device = Device::flex().autodiff();
        device.seed(args.seed);
        let start_from = |name: &str| -> Result<Network, Box<dyn Error>> {
            let path = args.out.join(format!("{name}.dsw"));
            let bytes =
                std::fs::read(&path).map_err(|e| format!("{}: {e} (train recipe {name} first)", path.display()))?;
            Ok(weights::decode(&bytes, &device)?.0)
        };
        let network = match (&args.from, recipe) {
            (Some(path), _) => {
                let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
                weights::decode(&bytes, &device)?.0
            }
            (None, Recipe::SmallShift) => start_from("small")?,
            (None, Recipe::Scenes) => start_from("deep-shift")?,
            (None, _) => Network::new(recipe.architecture(), &device),
        };
        let network = match (&args.widen_trunk, args.widen_head) {
            (None, None) => network,
            (widths, hidden) => {
                let widths = widths.clone().unwrap_or_else(|| network.widths());
                let hidden = hidden.unwrap_or_else(|| network.hidden());
                digitscope_trainer::widen(network, &widths, hidden, &device)?
            }
        };
        let parameters = burn::module::Module::num_params(&network);
        let (epochs, steps_per_epoch) = recipe.schedule();
        let options = TrainOptions {
            epochs,
            steps_per_epoch,
            shifts: recipe.shifts(),
            learning_rate: 1e-3,
            seed: args.seed,
            progress: true,
        };
        eprintln!("recipe {} ({parameters} parameters)", recipe.name());
        let start = Instant::now();
        let log = |r: &EpochReport| {
            eprintln!(
                "  epoch {:2}: train loss {:.4}, test loss {:.4}, test accuracy {:.2} % ({:.1} s)",
                r.epoch,
                r.train_loss,
                r.test_loss,
                r.test_accuracy * 100.0,
                r.train_seconds
            )
        };
        let (network, epochs) = if recipe == Recipe::Scenes {
            let fashion = load_fashion(&args.fashion, "train")?;
            let steps = args.steps.unwrap_or(1000);
            let mut dense = DenseOptions {
                epochs: 8,
                steps_per_epoch: steps,
                batch: 32,
                learning_rate: 1e-3,
                seed: args.seed,
                progress: true,
                classifier_weight: 0.5,
                look_weight: 0.5,
                hand_looks: args.hand_looks,
                ones: args.ones,
            };
            // Round 0 (skipped when starting `--from` trained weights): scene crops with
            // generated clutter. Then `--rounds` rounds of hard-negative mining: the false
            // detections of the network so far, on `--mine` digit-free scenes, join the crops
            // of a shorter, gentler round; each round mines afresh and keeps the earlier crops.
            let (mut network, mut epochs) = (network, Vec::new());
            if args.from.is_none() {
                let sources = Sources { digits: &data.train, fashion: Some(&fashion), mined: &[] };
                let (n, e) = train_dense(network, &sources, &[], &train_set, &test_set, &dense, log);
                (network, epochs) = (n, e);
            }
            let (mut mined, mut looks) = (Vec::new(), Vec::new());
            for round in 1..=args.rounds {
                let bytes = weights::encode(burn::module::Module::valid(&network), &recipe.weights_info(0.0))?;
                let sources = Sources { digits: &data.train, fashion: Some(&fashion), mined: &[] };
                let seed = args.seed.wrapping_add(1000 * round as u64);
                let found = digitscope_trainer::mine_negatives(&bytes, &sources, seed, args.mine, args.mine / 3, 0.15)?;
                let at_threshold: usize = found.by_level.iter().map(|(_, n)| n).sum();
                eprintln!(
                    "  mining round {round}: {} crops from {} digit-free and giant-digit scenes; {:.3} false detections per scene at the threshold, by level {:?}",
                    found.crops.len(),
                    found.scenes,
                    at_threshold as f64 / found.scenes.max(1) as f64,
                    found.by_level
                );
                mined.extend(found.crops);
                if args.looks > 0 {
                    let found = digitscope_trainer::mine_looks(&bytes, &sources, seed ^ 0x100c, args.looks)?;
                    eprintln!(
                        "  second look: {} cut-outs from {} scenes ({} digits, {} background, {} parts left out)",
                        found.looks.len(),
                        found.scenes,
                        found.digits,
                        found.background,
                        found.left_out
                    );
                    looks.extend(found.looks);
                }
                let sources = Sources { digits: &data.train, fashion: Some(&fashion), mined: &mined };
                dense.epochs = 3;
                dense.learning_rate = 3e-4;
                dense.seed = seed;
                let (n, e) = train_dense(network, &sources, &looks, &train_set, &test_set, &dense, log);
                network = n;
                epochs.extend(e);
            }
            (network, epochs)
        } else {
            train(network, &train_set, &test_set, &options, log)
        };
        let train_seconds = start.elapsed().as_secs_f64();
        let info = recipe.weights_info(epochs.last().map_or(0.0, |e| e.test_accuracy));
        let bytes = weights::encode(burn::module::Module::valid(&network), &info)?;
        let path = args.out.join(format!("{}.dsw", recipe.name()));
        std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        let detector = Detector::from_weights(&bytes, Device::flex())?;
        let found = composite_found(&detector, &data.test)?;
        eprintln!(
            "  wrote {} — notebook composite: {}/7 digits found by components, {}/7 by the detector",
            path.display(),
            found.0,
            found.1
        );
        reports.push(RecipeReport {
            recipe: info.recipe.clone(),
            architecture: info.architecture,
            pooling: info.pooling,
            parameters,
            seed: args.seed,
            test_accuracy: info.test_accuracy,
            epochs,
            train_seconds,
            composite_found_components: found.0,
            composite_found_detector: found.1,
        });
    }
    let path = args.out.join(format!("report-{}.json", args.recipe));
    let json = serde_json::to_string_pretty(&reports)?;
    std::fs::write(&path, json + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("report: {}", path.display());
    Ok(())
}

/// The notebook's 11-class test set (MNIST test + 1,000 background images, seed 42), built from
/// the test split alone, as `eval` and `half` measure accuracy on it.
fn eval_set(test: &mnist::Split) -> digitscope_trainer::Dataset {
    let data = mnist::Mnist { train: test.clone(), test: test.clone() };
    notebook_sets(&data, 42).1
}

fn run_eval(args: &Args) -> Result<(), Box<dyn Error>> {
    if args.positional.is_empty() {
        return Err("eval needs at least one WEIGHTS.dsw".into());
    }
    let test = mnist::load_test(&args.mnist)?;
    let test_set = eval_set(&test);
    for file in &args.positional {
        let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
        let mut detector = Detector::from_weights(&bytes, Device::flex())?;
        if let Some(p) = args.pooling {
            detector = detector.with_pooling(p);
        }
        let (accuracy, loss) = evaluate(detector.network(), &test_set, &Device::flex());
        let found = composite_found(&detector, &test)?;
        println!(
            "{file}: recipe {}, 11-class test accuracy {:.2} % (loss {loss:.4}); notebook composite (pooling {}): {}/7 by components, {}/7 by the detector",
            detector.info().recipe,
            accuracy * 100.0,
            detector.pooling().name(),
            found.0,
            found.1
        );
    }
    Ok(())
}

/// Scores weights files on the project's scene sets: one table row per (weights, set).
fn run_scenes(args: &Args) -> Result<(), Box<dyn Error>> {
    if args.positional.is_empty() {
        return Err("scenes needs at least one WEIGHTS.dsw".into());
    }
    let test = mnist::load_test(&args.mnist)?;
    let fashion = load_fashion(&args.fashion, "t10k")?;
    let sources = Sources { digits: &test, fashion: Some(&fashion), mined: &[] };
    let sets: Vec<(SceneSet, Vec<_>)> = args
        .sets
        .iter()
        .map(|&set| (set, (0..args.count).map(|i| scene(set, &sources, args.scene_seed, i)).collect()))
        .collect();
    let buckets = digitscope_trainer::scenes::HEIGHT_BUCKETS;
    let bucket_names: Vec<String> = buckets.iter().map(|(lo, hi)| format!("R {lo}–{hi} px")).collect();
    println!("| weights | set | scenes | precision | recall | F1 | FP/img | {} |", bucket_names.join(" | "));
    println!("|---|---|---:|---:|---:|---:|---:|{}", "---:|".repeat(buckets.len()));
    let mut confusions = Vec::new();
    for file in &args.positional {
        let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
        // The direct kernels, as the CLI and the browser run it (within 1e-5 of burn-flex; faster).
        let mut detector = Detector::from_weights(&bytes, Device::flex()).and_then(Detector::with_direct_kernels)?;
        if let Some(p) = args.pooling {
            detector = detector.with_pooling(p);
        }
        if let Some(p) = &args.pyramid {
            detector = detector.with_pyramid(p.clone());
        }
        if let Some(d) = args.downscale {
            detector = detector.with_downscale(d);
        }
        if let Some(t) = args.min_score {
            detector.options.min_score = t;
        }
        if let Some(d) = args.decoding {
            detector.options.method = d;
            // The notebook's reading is the heatmap's alone.
            if d == Decoding::Components {
                detector.options.verify = None;
            }
        }
        if let Some(verify) = args.verify {
            detector.options.verify = Some(verify);
        }
        if args.no_verify {
            detector.options.verify = None;
        }
        detector = detector.with_drawing(args.drawing);
        // Rows are named after the file (`weights/small.dsw` → `small`): two files of one recipe
        // (the shipped f16 default and its f32 source, a retrained candidate) stay apart.
        let stem = Path::new(file).file_stem().map_or_else(|| file.clone(), |s| s.to_string_lossy().into_owned());
        let label = match (args.decoding, args.verify) {
            (Some(Decoding::Components), _) => format!("{stem} (components)"),
            _ if args.no_verify => format!("{stem} (heatmap only)"),
            _ if args.drawing => format!("{stem} (as drawings)"),
            (_, Some(v)) => {
                format!("{stem} (second look at {}, {}, 1s {})", v.min_score, v.min_objectness, v.min_score_one)
            }
            _ => stem.clone(),
        };
        // Rows: the true digit; columns: found, read as 0–9, missed (all sets with digits).
        let mut confusion = [[0usize; 12]; 10];
        // `--wrong DIR`: the folder and its listing for these weights.
        let mut wrong = match args.wrong.as_deref() {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let path = dir.join(format!("{stem}.txt"));
                Some((dir, std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?))
            }
            None => None,
        };
        for (set, scenes) in &sets {
            let mut total = digitscope::scene::Score::default();
            let mut by_height = vec![(0usize, 0usize); buckets.len()];
            for (index, s) in scenes.iter().enumerate() {
                // As a user's upload: the ink's direction decided from the image.
                let image = s.image.clone().with_ink(Ink::Auto);
                let (_, detections) = detector.detect(&image)?;
                let (score, outcomes) = assess(&detections, &s.truths);
                if let Some(wrong) = wrong.as_mut()
                    && (score.false_positives > 0 || outcomes.iter().any(|o| *o != Outcome::Found))
                {
                    write_wrong(wrong, &stem, *set, index, s, &detections, &outcomes)?;
                }
                total.add(score);
                for (t, outcome) in s.truths.iter().zip(&outcomes) {
                    let column = match outcome {
                        Outcome::Found => 0,
                        Outcome::ReadAs(d) => 1 + *d as usize,
                        Outcome::Missed => 11,
                    };
                    confusion[t.digit as usize][column] += 1;
                    let height = t.y1 - t.y0 + 1;
                    // The last bucket whose lower bound the height reaches (taller ones go in the last).
                    if let Some(b) = buckets.iter().rposition(|&(lo, _)| height >= lo) {
                        by_height[b].1 += 1;
                        by_height[b].0 += usize::from(*outcome == Outcome::Found);
                    }
                }
            }
            // Precision, recall and F1 mean nothing on a set without digits.
            let figure = |v: f64| {
                if total.true_positives + total.false_negatives == 0 { "—".to_string() } else { format!("{v:.3}") }
            };
            let heights: Vec<String> = by_height
                .iter()
                .map(
                    |&(found, n)| {
                        if n == 0 { "—".to_string() } else { format!("{:.3} ({n})", found as f64 / n as f64) }
                    },
                )
                .collect();
            println!(
                "| {} | {} | {} | {} | {} | {} | {:.3} | {} |",
                label,
                set.name(),
                total.images,
                figure(total.precision()),
                figure(total.recall()),
                figure(total.f1()),
                total.false_positives_per_image(),
                heights.join(" | ")
            );
        }
        confusions.push((label, confusion));
    }
    for (label, confusion) in confusions {
        println!("\nWhat became of each digit, {label} (all sets with digits): found, read as another digit, missed");
        println!(
            "\n| digit | found | {} | missed |",
            (0..10).map(|d| format!("as {d}")).collect::<Vec<_>>().join(" | ")
        );
        println!("|---:|---:|{}---:|", "---:|".repeat(10));
        for (digit, row) in confusion.iter().enumerate() {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(k, n)| if k == digit + 1 { "·".to_string() } else { n.to_string() })
                .collect();
            println!("| {digit} | {} |", cells.join(" | "));
        }
    }
    Ok(())
}

/// One scene that `weights` read wrong (`scenes --wrong DIR`; `wrong` is the folder and its
/// listing): the scene as `DIR/<weights>-<set>-<index>.png`, and a line in `DIR/<weights>.txt`
/// with every digit's box and what became of it, then every detection (digit, score, box), so
/// that the false ones can be told from the right.
fn write_wrong(
    (dir, file): &mut (&Path, std::fs::File),
    weights: &str,
    set: SceneSet,
    index: usize,
    scene: &digitscope_trainer::scenes::Scene,
    detections: &[digitscope::Detection],
    outcomes: &[Outcome],
) -> Result<(), Box<dyn Error>> {
    use std::io::Write;
    let name = format!("{weights}-{}-{index}", set.name());
    let path = dir.join(format!("{name}.png"));
    write_png(&path, scene.image.width, scene.image.height, &scene.image.to_gray8())?;
    let truths: Vec<String> = scene
        .truths
        .iter()
        .zip(outcomes)
        .map(|(t, o)| {
            let what = match o {
                Outcome::Found => "found".to_string(),
                Outcome::ReadAs(d) => format!("read as {d}"),
                Outcome::Missed => "missed".to_string(),
            };
            format!("{} {what}", truth_text(t))
        })
        .collect();
    let found: Vec<String> = detections
        .iter()
        .map(|d| format!("{} {:.3} at {:.0},{:.0} {:.0}×{:.0}", d.digit, d.score, d.x, d.y, d.w, d.h))
        .collect();
    writeln!(file, "{name}.png: digits [{}]; detections [{}]", truths.join("; "), found.join("; "))?;
    Ok(())
}

/// A digit of a scene as `scene-pngs` and `scenes --wrong` list it: the digit and its box.
fn truth_text(t: &digitscope::scene::Truth) -> String {
    format!("{} at {},{}–{},{}", t.digit, t.x0, t.y0, t.x1, t.y1)
}

/// The detector on the weights `file` (direct kernels; reading drawings where `drawing`), and
/// the name of its table rows.
fn pad_detector(file: &str, drawing: bool) -> Result<(Detector, String), Box<dyn Error>> {
    let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let detector =
        Detector::from_weights(&bytes, Device::flex()).and_then(Detector::with_direct_kernels)?.with_drawing(drawing);
    let stem = Path::new(file).file_stem().map_or_else(|| file.to_string(), |s| s.to_string_lossy().into_owned());
    Ok((detector, if drawing { format!("{stem} (as drawings)") } else { stem }))
}

/// One MNIST test digit alone, centred on the site's 448×336 pad and drawn along its skeleton
/// `--heights` pixels tall with a `--pen`-pixel pen (8: the pad's default), as someone draws one
/// digit the size of the pad: for each weights file and height, how many of the first
/// `--count` test digits are found and named right (one detection, the right digit), and which
/// are not (`index:true→detections`). `--drawing`: read as the site's pad reads its own drawings.
fn run_tall(args: &Args) -> Result<(), Box<dyn Error>> {
    if args.positional.is_empty() {
        return Err("tall needs at least one WEIGHTS.dsw".into());
    }
    let test = mnist::load_test(&args.mnist)?;
    let (w, h) = (448, 336);
    let count = args.count.min(test.labels.len());
    println!("| weights | ink height | pen | right | share | not right (test index: digit → detections) |");
    println!("|---|---:|---:|---:|---:|---|");
    for file in &args.positional {
        let (detector, stem) = pad_detector(file, args.drawing)?;
        for &height in &args.heights {
            let mut wrong = Vec::new();
            for i in 0..count {
                let patch = digitscope_trainer::scenes::pen_digit(test.image(i), height, args.pen, &Warp::none());
                let mut pad = Canvas::new(w, h);
                pad.paste(&patch, (w as isize - patch.w as isize) / 2, (h as isize - patch.h as isize) / 2, 1.0, false);
                let image = pad.into_image().with_ink(Ink::Auto);
                let (_, found) = detector.detect(&image)?;
                if !(found.len() == 1 && found[0].digit == test.labels[i]) {
                    let read: Vec<String> = found.iter().map(|d| format!("{} ({:.2})", d.digit, d.score)).collect();
                    let read = if read.is_empty() { "none".to_string() } else { read.join(" + ") };
                    wrong.push(format!("{i}: {} → {read}", test.labels[i]));
                }
            }
            let right = count - wrong.len();
            let share = right as f64 / count.max(1) as f64;
            println!("| {stem} | {height} | {} | {right}/{count} | {share:.3} | {} |", args.pen, wrong.join("; "));
        }
    }
    Ok(())
}

/// 1s written with a flag and 7s with a short bar, each one stroke (a polyline in 28-unit
/// coordinates, the digit's ink 28 units tall) drawn alone in the middle of the 448×336 pad with
/// a round pen of 4, 8 and 14 px at 30–300 px of height: how a hand MNIST seldom has (many
/// writers flag every 1) reads, and whether the 7s it resembles stay 7s. The 1s: flags 3, 5, 7
/// and 10 units long across, at 31°, 45° and 58° below the horizontal. The 7s: bars 8, 12 and 16
/// units, level with a stem slanting 6 units left, sloping 2 units down to the left with a stem
/// slanting 3, and 3 units down with an upright stem. Right = one detection, the right digit.
fn run_flags(args: &Args) -> Result<(), Box<dyn Error>> {
    if args.positional.is_empty() {
        return Err("flags needs at least one WEIGHTS.dsw".into());
    }
    const HEIGHTS: [f32; 6] = [30.0, 60.0, 120.0, 180.0, 250.0, 300.0];
    const PENS: [f32; 3] = [4.0, 8.0, 14.0];
    let mut ones: Vec<Vec<(f32, f32)>> = Vec::new();
    for flag in [3.0, 5.0, 7.0, 10.0] {
        for steep in [0.6, 1.0, 1.6] {
            ones.push(vec![(10.0 - flag, flag * steep), (10.0, 0.0), (10.0, 28.0)]);
        }
    }
    let mut sevens: Vec<Vec<(f32, f32)>> = Vec::new();
    for bar in [8.0, 12.0, 16.0] {
        for (slant, drop) in [(-6.0, 0.0), (-3.0, 2.0), (0.0, 3.0)] {
            sevens.push(vec![(0.0, drop), (bar, 0.0), (bar + slant, 28.0)]);
        }
    }
    let (w, h) = (448usize, 336usize);
    let draw = |shape: &[(f32, f32)], height: f32, pen: f32| {
        let (x0, x1) = shape.iter().fold((f32::MAX, f32::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
        let (y0, y1) = shape.iter().fold((f32::MAX, f32::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
        let k = height / (y1 - y0);
        let at =
            |p: &(f32, f32)| ((p.0 - (x0 + x1) / 2.0) * k + w as f32 / 2.0, (p.1 - y0) * k + (h as f32 - height) / 2.0);
        let mut pad = Canvas::new(w, h);
        for pair in shape.windows(2) {
            pad.line(at(&pair[0]), at(&pair[1]), pen, 1.0);
        }
        pad.into_image().with_ink(Ink::Auto)
    };
    println!("| weights | digit | {} | all | read instead |", HEIGHTS.map(|h| format!("{h} px")).join(" | "));
    println!("|---|---|{}---:|---|", "---:|".repeat(HEIGHTS.len()));
    for file in &args.positional {
        let (detector, stem) = pad_detector(file, args.drawing)?;
        for (digit, shapes, name) in [(1u8, &ones, "1 with a flag"), (7, &sevens, "7 with a bar")] {
            let mut cells = Vec::new();
            let (mut right, mut all) = (0, 0);
            let mut instead = std::collections::BTreeMap::<String, usize>::new();
            for height in HEIGHTS {
                let mut here = 0;
                for shape in shapes.iter() {
                    for pen in PENS {
                        let (_, found) = detector.detect(&draw(shape, height, pen))?;
                        if found.len() == 1 && found[0].digit == digit {
                            here += 1;
                        } else {
                            let read: Vec<String> = found.iter().map(|d| d.digit.to_string()).collect();
                            *instead
                                .entry(if read.is_empty() { "none".into() } else { read.join("+") })
                                .or_default() += 1;
                        }
                    }
                }
                let n = shapes.len() * PENS.len();
                cells.push(format!("{here}/{n}"));
                (right, all) = (right + here, all + n);
            }
            let instead: Vec<String> = instead.iter().map(|(k, v)| format!("{k} ×{v}")).collect();
            println!(
                "| {stem} | {name} | {} | {right}/{all} ({:.3}) | {} |",
                cells.join(" | "),
                right as f64 / all as f64,
                instead.join(", ")
            );
        }
    }
    Ok(())
}

/// Writes the first scenes of every set as PNGs into `-o DIR` (to look at).
fn run_scene_pngs(args: &Args) -> Result<(), Box<dyn Error>> {
    let out = args.output.as_deref().ok_or("scene-pngs needs -o DIR")?;
    std::fs::create_dir_all(out)?;
    let test = mnist::load_test(&args.mnist)?;
    let fashion = load_fashion(&args.fashion, "t10k")?;
    let sources = Sources { digits: &test, fashion: Some(&fashion), mined: &[] };
    for set in SceneSet::ALL {
        for i in 0..args.count.min(20) {
            let s = scene(set, &sources, args.scene_seed, i);
            let path = out.join(format!("{}-{i}.png", set.name()));
            write_png(&path, s.image.width, s.image.height, &s.image.to_gray8())?;
            let truths: Vec<String> = s.truths.iter().map(truth_text).collect();
            println!("{}-{i}: {}", set.name(), truths.join("; "));
        }
    }
    let mut rng = digitscope_trainer::Rng::new(1);
    for i in 0..args.count.min(20) {
        let (px, labels, weights) = digitscope_trainer::scenes::training_crop(&sources, OneForms::default(), &mut rng);
        let image = digitscope::GrayImage { width: 64, height: 64, pixels: px };
        let path = out.join(format!("crop-{i}.png"));
        write_png(&path, 64, 64, &image.to_gray8())?;
        let grid: Vec<String> = labels
            .chunks(8)
            .zip(weights.chunks(8))
            .map(|(l, w)| {
                l.iter()
                    .zip(w)
                    .map(|(l, w)| {
                        if *w == 0.0 {
                            "·".to_string()
                        } else if *l == 10 {
                            "-".into()
                        } else {
                            l.to_string()
                        }
                    })
                    .collect::<String>()
            })
            .collect();
        println!("crop-{i}: {}", grid.join(" "));
    }
    Ok(())
}

/// Writes the first `--count` MNIST test digits for the website: u32 LE count, the labels, then
/// the 28×28 images.
fn run_export_sample(args: &Args) -> Result<(), Box<dyn Error>> {
    let out = args.output.as_deref().ok_or("export-sample needs -o FILE")?;
    let test = mnist::load_test(&args.mnist)?;
    let n = args.count.min(test.len());
    let mut bytes = (n as u32).to_le_bytes().to_vec();
    bytes.extend_from_slice(&test.labels[..n]);
    bytes.extend_from_slice(&test.images[..n * 784]);
    Ok(std::fs::write(out, bytes).map_err(|e| format!("{}: {e}", out.display()))?)
}

/// Writes pen strokes traced from MNIST test digits (given as positional test indices) as JSON:
/// `[{"index": i, "digit": d, "strokes": [[[x, y], ...], ...]}]`, coordinates in the 28×28 grid.
fn run_export_strokes(args: &Args) -> Result<(), Box<dyn Error>> {
    let out = args.output.as_deref().ok_or("export-strokes needs -o FILE")?;
    let test = mnist::load_test(&args.mnist)?;
    let mut list = Vec::new();
    for index in &args.positional {
        let i: usize = index.parse().map_err(|_| format!("not a test index: {index}"))?;
        if i >= test.len() {
            return Err(format!("test index {i} out of range").into());
        }
        let strokes = digitscope_trainer::scenes::strokes(test.image(i));
        list.push(serde_json::json!({ "index": i, "digit": test.labels[i], "strokes": strokes }));
    }
    Ok(std::fs::write(out, serde_json::to_string(&list)? + "\n").map_err(|e| format!("{}: {e}", out.display()))?)
}

/// Writes a weights file's parameters in TensorFlow's layouts, as JSON, for the TF.js side of
/// the browser benchmark: convolution kernels `[3, 3, in, out]` (HWIO), dense kernels
/// `[in, out]`, flattened row-major, with biases, strides, the architecture and the pooling.
fn run_export_tf(args: &Args) -> Result<(), Box<dyn Error>> {
    let out = args.output.as_deref().ok_or("export-tf needs -o FILE.json")?;
    let [file] = args.positional.as_slice() else { return Err("export-tf needs one WEIGHTS.dsw".into()) };
    let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let detector = Detector::from_weights(&bytes, Device::flex())?;
    let p = detector.network().parameters()?;
    let convs: Vec<_> = p
        .convs
        .iter()
        .map(|c| {
            // burn [out, in, ky, kx] → TF [ky, kx, in, out]
            let mut kernel = vec![0.0f32; c.weight.len()];
            for o in 0..c.outputs {
                for i in 0..c.inputs {
                    for tap in 0..9 {
                        kernel[(tap * c.inputs + i) * c.outputs + o] = c.weight[(o * c.inputs + i) * 9 + tap];
                    }
                }
            }
            serde_json::json!({ "shape": [3, 3, c.inputs, c.outputs], "stride": c.stride, "kernel": kernel, "bias": c.bias })
        })
        .collect();
    let dense = |d: &digitscope::network::DenseParameters| serde_json::json!({ "shape": [d.inputs, d.outputs], "kernel": d.weight, "bias": d.bias });
    let json = serde_json::json!({
        "recipe": detector.info().recipe,
        "architecture": p.architecture.name(),
        "pooling": detector.pooling().name(),
        "convs": convs,
        "dense": dense(&p.dense),
        "output": dense(&p.output),
    });
    Ok(std::fs::write(out, json.to_string() + "\n").map_err(|e| format!("{}: {e}", out.display()))?)
}

/// Rewrites a weights file with f16 tensors (half the bytes; see `weights::encode_half`) and
/// reports what that does to it: the 11-class test accuracy of both, and the largest heatmap
/// difference between them on the notebook's composite.
fn run_half(args: &Args) -> Result<(), Box<dyn Error>> {
    let out = args.output.as_deref().ok_or("half needs -o OUT.dsw")?;
    let [file] = args.positional.as_slice() else { return Err("half needs one WEIGHTS.dsw".into()) };
    let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let full = Detector::from_weights(&bytes, Device::flex())?;
    let half_bytes = weights::encode_half(full.network().clone(), full.info())?;
    let half = Detector::from_weights(&half_bytes, Device::flex())?;
    let test = mnist::load_test(&args.mnist)?;
    let test_set = eval_set(&test);
    let device = Device::flex();
    let (acc_full, _) = evaluate(full.network(), &test_set, &device);
    let (acc_half, _) = evaluate(half.network(), &test_set, &device);
    let (scene, _) = notebook_composite(|i| test.image(i), |i| test.labels[i]);
    let (a, b) = (full.heatmap(&scene)?, half.heatmap(&scene)?);
    let diff = a.probs.iter().zip(&b.probs).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    let (found_full, found_half) = (full.detect(&scene)?.1, half.detect(&scene)?.1);
    let labels = |d: &[digitscope::Detection]| d.iter().map(|d| d.digit.to_string()).collect::<String>();
    println!(
        "{file}: {} bytes, test accuracy {:.2} %, composite {}",
        bytes.len(),
        acc_full * 100.0,
        labels(&found_full)
    );
    println!(
        "{}: {} bytes, test accuracy {:.2} %, composite {}",
        out.display(),
        half_bytes.len(),
        acc_half * 100.0,
        labels(&found_half)
    );
    println!("largest heatmap difference on the composite: {diff:.2e}");
    Ok(std::fs::write(out, half_bytes).map_err(|e| format!("{}: {e}", out.display()))?)
}

fn run_composite(args: &Args) -> Result<(), Box<dyn Error>> {
    let out = args.output.as_deref().ok_or("composite needs -o OUT.png")?;
    let test = mnist::load_test(&args.mnist)?;
    let (scene, _) = notebook_composite(|i| test.image(i), |i| test.labels[i]);
    Ok(write_png(Path::new(out), scene.width, scene.height, &scene.to_gray8())?)
}

/// Exit status of bad usage (a missing or unknown command, an option it does not take or a value
/// it cannot parse), as the CLI's; 1 is any other failure.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let fail = |msg: &dyn std::fmt::Display, code: u8| {
        eprintln!("trainer: {msg}");
        ExitCode::from(code)
    };
    let args = match parse() {
        Ok(args) => args,
        Err(msg) => return fail(&msg, USAGE),
    };
    let result = match args.command.as_str() {
        "train" => run_train(&args),
        "eval" => run_eval(&args),
        "composite" => run_composite(&args),
        "scenes" => run_scenes(&args),
        "scene-pngs" => run_scene_pngs(&args),
        "tall" => run_tall(&args),
        "flags" => run_flags(&args),
        "export-sample" => run_export_sample(&args),
        "export-strokes" => run_export_strokes(&args),
        "export-tf" => run_export_tf(&args),
        "half" => run_half(&args),
        other => {
            let msg = format!(
                "unknown command {other:?} (train, eval, scenes, scene-pngs, composite, half, export-sample, export-strokes, export-tf)"
            );
            return fail(&msg, USAGE);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => fail(&msg, 1),
    }
}
