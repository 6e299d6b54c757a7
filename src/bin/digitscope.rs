//! `digitscope`: detect digits in pictures (PNG or JPEG), or draw the class heatmap.
//!
//! ```text
//! digitscope detect FILE... [--json [--probs]] [--ink auto|light|dark] [--invert] [--weights FILE] [--pooling none|max3|window] [--cpu direct|flex] [--drawing]
//! digitscope heatmap FILE -o OUT.png [--ink auto|light|dark] [--invert] [--weights FILE] [--pooling P] [--scale N] [--cpu direct|flex] [--drawing]
//! ```
//!
//! `--cpu`: the FCN on the project's direct CPU kernels (default) or on burn-flex. `--drawing`:
//! the images are drawings (pen strokes on a blank pad), where a lone straight upright stroke is
//! a 1 (see `VerifyOptions::drawing`).

use std::path::PathBuf;
use std::process::ExitCode;

use burn::tensor::Device;
use digitscope::image::Ink;
use digitscope::pngio::{read_picture, write_png};
use digitscope::render::render;
use digitscope::{Detector, Named, Pooling};

const USAGE: &str = "usage: digitscope detect FILE... [--json [--probs]] [--ink auto|light|dark] [--invert] [--weights FILE] [--pooling none|max3|window] [--cpu direct|flex] [--drawing]
       digitscope heatmap FILE -o OUT.png [--ink auto|light|dark] [--invert] [--weights FILE] [--pooling P] [--scale N] [--cpu direct|flex] [--drawing]";

/// `digitscope --help`: the usage and what each option does.
const HELP: &str = "digitscope: find handwritten digits in pictures (a convolutionalized MNIST classifier, run over
the whole picture at every scale).

Commands:
  detect FILE...            print each picture's digits: the digit, its score, its box's centre and size
  heatmap FILE -o OUT.png   draw the picture with its class heatmap and boxes into OUT.png

FILE: a PNG or a JPEG (a phone's photo is turned upright as its EXIF orientation says). A picture
over the detector's limit (4096 pixels a side, 2048×2048 in all) is read shrunk to fit, by the
smallest whole factor (a note on stderr); positions are given in the file's own pixels.

Options:
  --json            one JSON object per image (detect)
  --probs           with --json: the heatmap's 11 class probabilities per cell too (cells of
                    the picture as read: \"scale\" file pixels to a pixel)
  --ink auto|light|dark
                    the digits' ink: auto (default) reads it from the image (dark digits on
                    light paper, a photo or scan, are found without a flag)
  --invert          the same as --ink dark
  --drawing         the images are drawings (pen strokes on a blank pad): a lone straight
                    upright stroke is a 1
  --weights FILE    a weights file written by the trainer instead of the embedded weights
  --pooling none|max3|window
                    the FCN's pooling before its head (default: the weights' own)
  --cpu direct|flex the CPU engine: the project's SIMD kernels (default) or burn-flex
  --scale N         heatmap: pixels per image pixel, 1 to 16 (default: fit about 512 px)
  -o, --output OUT  heatmap: the PNG to write
  -h, --help        this text
  -V, --version     the version

Exit status: 0 on success, 1 when an image cannot be read or written, 2 on a usage error.";

#[derive(Default)]
struct Args {
    command: String,
    files: Vec<PathBuf>,
    json: bool,
    probs: bool,
    ink: Ink,
    weights: Option<PathBuf>,
    pooling: Option<Pooling>,
    output: Option<PathBuf>,
    scale: Option<usize>,
    /// Run the FCN on burn-flex instead of the direct kernels.
    burn: bool,
    /// The images are drawings.
    drawing: bool,
}

/// What the command line asks for: a run, or a text to print and exit with success.
enum Asked {
    Run(Args),
    Print(String),
}

fn parse(argv: impl Iterator<Item = String>) -> Result<Asked, String> {
    let argv: Vec<String> = argv.collect();
    if argv.iter().any(|a| matches!(a.as_str(), "-h" | "--help")) || argv.first().is_some_and(|a| a == "help") {
        return Ok(Asked::Print(format!("{USAGE}\n\n{HELP}")));
    }
    if argv.iter().any(|a| matches!(a.as_str(), "-V" | "--version")) {
        return Ok(Asked::Print(format!("digitscope {}", env!("CARGO_PKG_VERSION"))));
    }
    let mut argv = argv.into_iter();
    let mut args = Args { command: argv.next().ok_or("missing command")?, ..Args::default() };
    while let Some(arg) = argv.next() {
        let mut value = |name: &str| argv.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--json" => args.json = true,
            "--probs" => args.probs = true,
            "--drawing" => args.drawing = true,
            "--invert" => args.ink = Ink::Dark,
            "--ink" => {
                let v = value("--ink")?;
                args.ink = Ink::from_name(&v)?;
            }
            "--weights" => args.weights = Some(value("--weights")?.into()),
            "--pooling" => {
                let v = value("--pooling")?;
                args.pooling = Some(Pooling::from_name(&v)?);
            }
            "--cpu" => match value("--cpu")?.as_str() {
                "direct" => args.burn = false,
                "flex" => args.burn = true,
                other => return Err(format!("unknown CPU engine {other:?} (direct, flex)")),
            },
            "-o" | "--output" => args.output = Some(value("-o")?.into()),
            "--scale" => {
                let v = value("--scale")?;
                args.scale = Some(
                    v.parse()
                        .ok()
                        .filter(|s| (1..=16).contains(s))
                        .ok_or(format!("--scale must be 1 to 16, not {v:?}"))?,
                );
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            file => args.files.push(file.into()),
        }
    }
    match args.command.as_str() {
        "detect" if args.files.is_empty() => Err("detect needs at least one FILE".into()),
        "heatmap" if args.files.len() != 1 || args.output.is_none() => {
            Err("heatmap needs one FILE and -o OUT.png".into())
        }
        "detect" | "heatmap" => Ok(Asked::Run(args)),
        other => Err(format!("unknown command {other:?}")),
    }
}

fn run(args: Args) -> Result<(), String> {
    let device = Device::flex();
    let detector = match &args.weights {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Detector::from_weights(&bytes, device)
        }
        None => Detector::embedded(device),
    }
    .map_err(|e| e.to_string())?;
    let detector = match args.pooling {
        Some(p) => detector.with_pooling(p),
        None => detector,
    };
    let detector = if args.burn { detector } else { detector.with_direct_kernels().map_err(|e| e.to_string())? };
    let detector = detector.with_drawing(args.drawing);
    for file in &args.files {
        let picture = read_picture(file, args.ink).map_err(|e| e.to_string())?;
        let (image, scale) = (&picture.image, picture.scale);
        if scale > 1 {
            eprintln!(
                "digitscope: {}: {}×{} read at 1/{scale} ({}×{}, the detector's limit: {} pixels in all); positions are the file's",
                file.display(),
                picture.width,
                picture.height,
                image.width,
                image.height,
                digitscope::image::MAX_PIXELS
            );
        }
        let (heatmap, mut detections) = detector.detect(image).map_err(|e| e.to_string())?;
        if args.command == "heatmap" {
            let out = args.output.as_ref().expect("checked by parse");
            let zoom = args.scale.unwrap_or_else(|| (512 / image.width.max(image.height)).clamp(1, 8));
            let pic = render(image, &heatmap, &detections, zoom);
            write_png(out, pic.width, pic.height, &pic.rgb).map_err(|e| e.to_string())?;
            continue;
        }
        // In the file's pixels.
        let s = scale as f32;
        for d in &mut detections {
            (d.x, d.y, d.w, d.h) = (d.x * s, d.y * s, d.w * s, d.h * s);
        }
        if args.json {
            let mut line = serde_json::json!({
                "file": file.display().to_string(),
                "width": picture.width,
                "height": picture.height,
                "scale": scale,
                "detections": detections,
            });
            if args.probs {
                line["heatmap"] = serde_json::json!({
                    "rows": heatmap.rows,
                    "cols": heatmap.cols,
                    "stride": digitscope::Heatmap::STRIDE,
                    "probs": heatmap.probs,
                });
            }
            out(format_args!("{line}\n"))?;
        } else {
            out(format_args!(
                "{}: {}×{}, {} digit(s)\n",
                file.display(),
                picture.width,
                picture.height,
                detections.len()
            ))?;
            for d in &detections {
                out(format_args!(
                    "  {} score {:.3} at ({:.1}, {:.1}) box {:.0}×{:.0}\n",
                    d.digit, d.score, d.x, d.y, d.w, d.h
                ))?;
            }
        }
    }
    Ok(())
}

/// Writes to stdout; a closed pipe (`digitscope detect … | head`) or a full disk is an error
/// with a one-line message, not a panic.
fn out(text: std::fmt::Arguments) -> Result<(), String> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_fmt(text).and_then(|()| stdout.flush()).map_err(|e| format!("writing the output: {e}"))
}

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)) {
        Ok(Asked::Print(text)) => match out(format_args!("{text}\n")) {
            Ok(()) => ExitCode::SUCCESS,
            Err(msg) => {
                eprintln!("digitscope: {msg}");
                ExitCode::FAILURE
            }
        },
        Err(msg) => {
            eprintln!("digitscope: {msg}\n{USAGE}\n(digitscope --help: what each option does)");
            ExitCode::from(2)
        }
        Ok(Asked::Run(args)) => match run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(msg) => {
                eprintln!("digitscope: {msg}");
                ExitCode::FAILURE
            }
        },
    }
}
