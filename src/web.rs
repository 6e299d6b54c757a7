//! The WebAssembly boundary (`wasm-bindgen`): JS values to and from the core types, nothing else
//! (the backend decision is [`crate::backend`]'s, the pixel conversion [`GrayImage::from_pixels`]).

use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;

use js_sys::{Float32Array, Promise, Reflect, Uint8Array, Uint8ClampedArray};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::backend::{self, Engine, FallbackKind, FallbackReason, Requested, Session};
use crate::bands::{Job, Live};
use crate::detector::{Page, Proposals};
use crate::image::{GrayImage, Ink, Pixels, dimensions};
use crate::network::CLASSES;
use crate::verify::{self, CutOut};
use crate::{Detection, Detector as Core, Error, Heatmap, Named};

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// An option (`undefined` when absent, or when the options are not an object).
fn get(options: &JsValue, key: &str) -> JsValue {
    Reflect::get(options, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// A plain JS object (or array, string …) from a serialisable value.
fn to_js<T: Serialize>(value: &T) -> JsValue {
    serde_json::to_string(value).ok().and_then(|json| js_sys::JSON::parse(&json).ok()).unwrap_or(JsValue::NULL)
}

fn js_error(e: impl std::fmt::Display) -> JsValue {
    JsError::new(&e.to_string()).into()
}

/// A named option (`key`), `default` when absent.
fn named<T: Named>(options: &JsValue, key: &str, default: T) -> Result<T, JsValue> {
    get(options, key).as_string().map_or(Ok(default), |name| T::from_name(&name).map_err(js_error))
}

/// The digit detector, with the embedded weights, on the best backend available.
#[wasm_bindgen]
pub struct Detector {
    session: Rc<RefCell<Session>>,
    /// What live updates (`detect` with `live: true`) keep between calls.
    live: Rc<RefCell<Live>>,
    /// Pooled detections waiting for their cut-outs' readings (`propose` → `settle`), by key.
    proposed: Rc<RefCell<Vec<(u32, Heatmap, Proposals)>>>,
    /// The next `propose` key.
    next_key: Rc<RefCell<u32>>,
    /// The image of the last `detectPart` asked to keep it, flattened, under the caller's key: a
    /// pool's coordinating worker then `propose`s or `finish`es without being sent the image
    /// again or flattening it again.
    kept: Rc<RefCell<Option<(f64, GrayImage)>>>,
}

#[wasm_bindgen]
impl Detector {
    /// Creates a detector. Options: `backend` (`"auto"` default, `"webgpu"`, `"cpu"`), `cpu`
    /// (`"direct"` default, `"flex"`, `"ndarray"`), `weights` (a weights file's bytes instead of
    /// the embedded ones), `cpuReason` and `cpuReasonKind` (why the loader asks for the CPU).
    /// See [`backend::choose`] for the rules.
    pub async fn create(options: JsValue) -> Result<Detector, JsValue> {
        let requested = named(&options, "backend", Requested::Auto)?;
        let engine = named(&options, "cpu", backend::DEFAULT_CPU)?;
        let weights = match get(&options, "weights").dyn_into::<Uint8Array>() {
            Ok(bytes) => bytes.to_vec(),
            Err(none) if none.is_undefined() || none.is_null() => crate::weights::EMBEDDED.to_vec(),
            Err(_) => return Err(js_error("invalid input: weights must be a Uint8Array")),
        };
        let kind = named(&options, "cpuReasonKind", FallbackKind::Requested)?;
        let reason = get(&options, "cpuReason").as_string().unwrap_or_else(|| kind.summary().into());
        let session = Session::start(requested, engine, weights, FallbackReason::with_message(kind, reason)).await;
        Ok(Detector {
            session: Rc::new(RefCell::new(session.map_err(js_error)?)),
            live: Rc::default(),
            proposed: Rc::default(),
            next_key: Rc::default(),
            kept: Rc::default(),
        })
    }

    /// The backend that runs ([`backend::BackendState`]).
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> JsValue {
        to_js(&self.session.borrow().backend.state(cfg!(target_feature = "simd128"), cfg!(feature = "relaxed-simd")))
    }

    /// Bytes of linear memory this module holds (wasm memory only grows: the soak test watches it).
    #[wasm_bindgen(js_name = memoryBytes)]
    pub fn memory_bytes(&self) -> f64 {
        (core::arch::wasm32::memory_size(0) * 65536) as f64
    }

    /// Multiply-adds of a full `detect` of a `width`×`height` image (every pyramid level).
    #[wasm_bindgen(js_name = multiplyAdds)]
    pub fn multiply_adds(&self, width: f64, height: f64) -> Result<f64, JsValue> {
        let (w, h) = dimensions(width, height).map_err(js_error)?;
        Ok(self.session.borrow().core.multiply_adds(w, h) as f64)
    }

    /// The FCN's heatmap alone at the image's size (no pyramid, no decoding; ink light unless
    /// told): what the benchmarks time.
    pub fn heatmap(&self, pixels: JsValue, width: f64, height: f64, options: JsValue) -> Promise {
        self.call(pixels, width, height, options, Ink::Light, Mode::Heatmap)
    }

    /// Detects digits in RGBA or gray bytes, or float intensities (see
    /// [`GrayImage::from_pixels`]); options `ink` (`"auto"` default, `"light"`, `"dark"`) or
    /// `invert`, `secondLook` (`false`: the heatmap's detections as decoded, without the second
    /// look at each one; live calls always look), `drawing` (`true`: the image is pen strokes on a
    /// blank pad, where a lone straight upright stroke is a 1 — the element's own drawings), and `live` (a drawing that changes a little between calls: only what changed
    /// since the last live call is recomputed, [`Core::detect_live_async`]; the result's
    /// `recomputed` says how much). The input is copied first: the caller may transfer its
    /// buffer right after.
    pub fn detect(&self, pixels: JsValue, width: f64, height: f64, options: JsValue) -> Promise {
        let mode = if get(&options, "live").as_bool() == Some(true) { Mode::Live } else { Mode::Detect };
        self.call(pixels, width, height, options, Ink::Auto, mode)
    }

    /// The ink `ink: "auto"` finds in these pixels (as `detect` takes them; transparent ones
    /// say nothing): `"dark"` or `"light"`. What the element follows for a picture it is given.
    #[wasm_bindgen(js_name = inkOf)]
    pub fn ink_of(&self, pixels: JsValue, width: f64, height: f64) -> Result<String, JsValue> {
        let ink = read_pixels(&pixels).and_then(|p| Ink::of_pixels(width, height, &p)).map_err(js_error)?;
        Ok(ink.name())
    }

    /// A detection of a `width`×`height` image cut into `parts` lists of jobs of about equal
    /// cost, for a pool of workers ([`Core::plan`]): an array of `Uint32Array`s, one a part,
    /// each job three numbers (level, first row, end row).
    pub fn plan(&self, width: f64, height: f64, parts: f64) -> Result<js_sys::Array, JsValue> {
        let (w, h) = dimensions(width, height).map_err(js_error)?;
        let parts = parts_from(parts);
        let plan = self.session.borrow().core.plan(w, h, parts);
        Ok(plan.iter().map(|jobs| js_sys::Uint32Array::from(&Job::flatten(jobs)[..])).collect())
    }

    /// The FCN's heatmap alone (as `heatmap`) of an image `height` pixels tall cut into at most
    /// `parts` bands of cell rows for a pool of workers that each get only their band of the
    /// image ([`Core::heatmap_bands`]): a `Uint32Array` of quadruples (first cell row, end cell
    /// row, first pixel row, end pixel row), in order.
    #[wasm_bindgen(js_name = heatmapBands)]
    pub fn heatmap_bands(&self, height: f64, parts: f64) -> Result<js_sys::Uint32Array, JsValue> {
        let (_, h) = dimensions(1.0, height).map_err(js_error)?;
        let parts = parts_from(parts);
        let bands = self.session.borrow().core.heatmap_bands(h, parts);
        let flat: Vec<u32> =
            bands.into_iter().flat_map(|(r, p)| [r.start, r.end, p.start, p.end].map(|v| v as u32)).collect();
        Ok(js_sys::Uint32Array::from(&flat[..]))
    }

    /// One band of a pooled `heatmap` ([`Self::heatmap_bands`]): `pixels` are the image's pixel
    /// rows of `band` (a `Uint32Array` quadruple as `heatmapBands` gives it) alone, `height` the
    /// whole image's (ink as for `heatmap`, but not `"auto"`, which a band cannot decide).
    /// Resolves to a result object as `heatmap`'s for the band's cell rows (`originY` the first
    /// one's): bit for bit those rows of one worker's `heatmap` of the whole image.
    #[wasm_bindgen(js_name = heatmapRows)]
    pub fn heatmap_rows(&self, pixels: JsValue, width: f64, height: f64, options: JsValue, band: JsValue) -> Promise {
        match band_from(&band, height, &options) {
            Ok((full, pixel_rows, rows)) => {
                let band_height = pixel_rows.len() as f64;
                self.call(pixels, width, band_height, options, Ink::Light, Mode::Rows(full, pixel_rows, rows))
            }
            Err(e) => Promise::reject(&js_error(e)),
        }
    }

    /// One part of a plan (`jobs`, a `Uint32Array` of [`Detector::plan`]) for these pixels
    /// (options as for `detect`): resolves to one `Float32Array` of probabilities a job. With
    /// the option `keep` (a number), the image is kept under that key for this detector's next
    /// `propose` or `finish` (which are then given `kept` instead of pixels).
    #[wasm_bindgen(js_name = detectPart)]
    pub fn detect_part(&self, pixels: JsValue, width: f64, height: f64, options: JsValue, jobs: JsValue) -> Promise {
        let mut input = jobs_from(&jobs)
            .and_then(|jobs| Ok((jobs, read_image(&pixels, width, height, &options, Ink::Auto)?, false)));
        // Kept flattened: the page is made once here, for this part and for the assembly.
        if let (Ok((_, image, flattened)), Some(key)) = (&mut input, get(&options, "keep").as_f64()) {
            *image = image.flattened();
            *flattened = true;
            self.kept.replace(Some((key, image.clone())));
        }
        let session = self.session.clone();
        future_to_promise(async move {
            let (jobs, image, flattened) = input.map_err(js_error)?;
            let page = Page::new(&image, flattened);
            let parts = Session::run(&session, async |core: &Core| core.run_jobs_async(page, &jobs).await);
            let array = js_sys::Array::new();
            for part in parts.await.map_err(js_error)? {
                array.push(&Float32Array::from(&part[..]));
            }
            Ok(array.into())
        })
    }

    /// Assembles a pooled detection of these pixels (options as for `detect`) from every
    /// part's `jobs` (one `Uint32Array` of triples, in any order) and their `probs` (an array of
    /// `Float32Array`s, one a job), and looks at each detection again: resolves to the same
    /// result object as `detect`.
    pub fn finish(
        &self,
        pixels: JsValue,
        width: f64,
        height: f64,
        options: JsValue,
        jobs: JsValue,
        probs: js_sys::Array,
    ) -> Promise {
        let start = performance_now();
        let input = pooled_input(&pixels, width, height, &options, &jobs, &probs, &self.kept);
        let (look, drawing) = (look_again(&options), is_drawing(&options));
        let session = self.session.clone();
        future_to_promise(async move {
            let (jobs, probs, image, flattened) = input.map_err(js_error)?;
            let page = Page::new(&image, flattened);
            let work = async |core: &Core| core.finish_jobs_async(page, &jobs, probs.clone(), look, drawing).await;
            let (heatmap, detections) = Session::run(&session, work).await.map_err(js_error)?;
            let engine = session.borrow().backend.engine;
            Ok(result_object(&heatmap, &detections, engine, performance_now() - start))
        })
    }
}

#[wasm_bindgen]
impl Detector {
    /// The first half of `finish` with the second look shared out: assembles a pooled detection
    /// of these pixels from every part's `jobs` and `probs` (as `finish`) and cuts out the
    /// detections to look at again. Resolves to `{ key, count, mnist, canvas }`: `count`
    /// cut-outs as two `Float32Array`s (28² and 48² values each), for any worker's
    /// `readCutOuts`; `settle(key, readings)` ends it. At most 4 wait at once (the oldest go).
    pub fn propose(
        &self,
        pixels: JsValue,
        width: f64,
        height: f64,
        options: JsValue,
        jobs: JsValue,
        probs: js_sys::Array,
    ) -> Promise {
        let input = pooled_input(&pixels, width, height, &options, &jobs, &probs, &self.kept);
        let drawing = is_drawing(&options);
        let (session, proposed, next_key) = (self.session.clone(), self.proposed.clone(), self.next_key.clone());
        future_to_promise(async move {
            let (jobs, probs, image, flattened) = input.map_err(js_error)?;
            let page = Page::new(&image, flattened);
            let work = async |core: &Core| core.propose_jobs(page, &jobs, probs.clone(), drawing);
            let (heatmap, proposals) = Session::run(&session, work).await.map_err(js_error)?;
            let (mut mnist, mut canvas) = (Vec::new(), Vec::new());
            let mut count = 0;
            for cut in proposals.unread() {
                mnist.extend_from_slice(&cut.mnist.pixels);
                canvas.extend_from_slice(&cut.canvas.pixels);
                count += 1;
            }
            let key = {
                let mut next = next_key.borrow_mut();
                *next = next.wrapping_add(1);
                *next
            };
            let mut waiting = proposed.borrow_mut();
            if waiting.len() >= 4 {
                waiting.remove(0);
            }
            waiting.push((key, heatmap, proposals));
            let out = to_js(&serde_json::json!({ "key": key, "count": count }));
            Reflect::set(&out, &"mnist".into(), &Float32Array::from(&mnist[..])).ok();
            Reflect::set(&out, &"canvas".into(), &Float32Array::from(&canvas[..])).ok();
            Ok(out)
        })
    }

    /// Reads cut-outs of a `propose` (`mnist`: 28² values each, `canvas`: 48² each, as many of
    /// both): resolves to a `Float32Array` of 22 values a cut-out (the classifier's 11
    /// probabilities, then the FCN cell's).
    #[wasm_bindgen(js_name = readCutOuts)]
    pub fn read_cut_outs(&self, mnist: Float32Array, canvas: Float32Array) -> Promise {
        let (m, c) = (verify::SIDE * verify::SIDE, verify::CANVAS * verify::CANVAS);
        let (mnist, canvas) = (mnist.to_vec(), canvas.to_vec());
        let session = self.session.clone();
        future_to_promise(async move {
            let count = mnist.len() / m;
            if mnist.len() != count * m || canvas.len() != count * c {
                return Err(js_error("invalid input: cut-outs must be 28² and 48² values each, as many of both"));
            }
            let cuts: Vec<CutOut> = (0..count)
                .map(|i| CutOut {
                    mnist: GrayImage {
                        width: verify::SIDE,
                        height: verify::SIDE,
                        pixels: mnist[i * m..(i + 1) * m].to_vec(),
                    },
                    canvas: GrayImage {
                        width: verify::CANVAS,
                        height: verify::CANVAS,
                        pixels: canvas[i * c..(i + 1) * c].to_vec(),
                    },
                    ink: [0.0; 4],
                    part: false,
                    runs_on: false,
                    fences: verify::Fences::default(),
                })
                .collect();
            let work = async |core: &Core| core.read_cut_outs_async(&cuts).await;
            let readings = Session::run(&session, work).await.map_err(js_error)?;
            let flat: Vec<f32> = readings.iter().flat_map(|(a, b)| a.iter().chain(b).copied()).collect();
            Ok(Float32Array::from(&flat[..]).into())
        })
    }

    /// Ends a `propose` (`key`) with the readings of its cut-outs, in order (a `Float32Array` of 22
    /// values a cut-out, `readCutOuts`' output concatenated): the same result object as
    /// `detect` (and as `finish`).
    pub fn settle(&self, key: f64, readings: Float32Array) -> Promise {
        let start = performance_now();
        let readings = readings.to_vec();
        let (session, proposed) = (self.session.clone(), self.proposed.clone());
        future_to_promise(async move {
            let taken = {
                let mut waiting = proposed.borrow_mut();
                waiting.iter().position(|w| f64::from(w.0) == key).map(|i| waiting.remove(i))
            };
            let (_, heatmap, proposals) =
                taken.ok_or_else(|| js_error("invalid input: no proposed detection with this key"))?;
            if !readings.len().is_multiple_of(2 * CLASSES) {
                return Err(js_error("invalid input: readings must be 22 values a cut-out"));
            }
            let readings: Vec<verify::Readings> = readings
                .chunks(2 * CLASSES)
                .map(|r| (std::array::from_fn(|k| r[k]), std::array::from_fn(|k| r[CLASSES + k])))
                .collect();
            let work = async |core: &Core| core.settle_async(proposals.clone(), readings.clone()).await;
            let detections = Session::run(&session, work).await.map_err(js_error)?;
            let engine = session.borrow().backend.engine;
            Ok(result_object(&heatmap, &detections, engine, performance_now() - start))
        })
    }
}

/// A pooled call's jobs, their probabilities, the image and whether it is flattened already.
type Pooled = (Vec<Job>, Vec<Vec<f32>>, GrayImage, bool);

/// A pooled call's jobs, probabilities and image, read now: the pixels, or with the option
/// `kept` (a key), the image a `detectPart` kept under that key, flattened (taken: it serves
/// once).
fn pooled_input(
    pixels: &JsValue,
    width: f64,
    height: f64,
    options: &JsValue,
    jobs: &JsValue,
    probs: &js_sys::Array,
    kept: &RefCell<Option<(f64, GrayImage)>>,
) -> Result<Pooled, Error> {
    let jobs = jobs_from(jobs)?;
    let probs: Vec<Vec<f32>> = probs
        .iter()
        .map(|p| p.dyn_into::<Float32Array>().map(|a| a.to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|_| Error::InvalidInput("probs must be an array of Float32Arrays".into()))?;
    let (image, flattened) = match get(options, "kept").as_f64() {
        None => (read_image(pixels, width, height, options, Ink::Auto)?, false),
        Some(key) => {
            let size = dimensions(width, height)?;
            let mut kept = kept.borrow_mut();
            let kept = kept.take_if(|(k, image)| *k == key && (image.width, image.height) == size);
            let missing = || Error::InvalidInput(format!("no {}×{} image kept under key {key}", size.0, size.1));
            (kept.ok_or_else(missing)?.1, true)
        }
    };
    Ok((jobs, probs, image, flattened))
}

/// What [`Detector::call`] runs.
enum Mode {
    Heatmap,
    /// A band of a pooled heatmap: the whole image's height, the band's pixel rows, its cell rows.
    Rows(usize, Range<usize>, Range<usize>),
    Detect,
    Live,
}

/// A pooled heatmap's band (`heatmapBands`' quadruple) of an image `height` pixels tall: the
/// height, the band's pixel rows and its cell rows. `ink: "auto"` is refused: a band alone could
/// decide otherwise than the whole image.
fn band_from(band: &JsValue, height: f64, options: &JsValue) -> Result<(usize, Range<usize>, Range<usize>), Error> {
    let (_, full) = dimensions(1.0, height)?;
    if get(options, "ink").as_string().as_deref() == Some("auto") {
        return Err(Error::InvalidInput("a band of a heatmap needs ink \"light\" or \"dark\", not \"auto\"".into()));
    }
    let flat = band.dyn_ref::<js_sys::Uint32Array>().map(|b| b.to_vec()).filter(|b| b.len() == 4).ok_or_else(|| {
        Error::InvalidInput("a band must be a Uint32Array of 4 numbers, as heatmapBands gives".into())
    })?;
    let [first, end, top, bottom] = [flat[0], flat[1], flat[2], flat[3]].map(|v| v as usize);
    if top >= bottom || bottom > full {
        return Err(Error::InvalidInput(format!("pixel rows {top}..{bottom} of an image {full} pixels tall")));
    }
    Ok((full, top..bottom, first..end))
}

/// A pool's size as a plan asks for it: 1 to 64 (1 for anything else).
fn parts_from(parts: f64) -> usize {
    if parts.is_finite() && (1.0..=64.0).contains(&parts) { parts as usize } else { 1 }
}

fn jobs_from(jobs: &JsValue) -> Result<Vec<Job>, Error> {
    let flat = jobs
        .dyn_ref::<js_sys::Uint32Array>()
        .ok_or_else(|| Error::InvalidInput("jobs must be a Uint32Array".into()))?;
    Job::from_flat(&flat.to_vec())
}

impl Detector {
    /// Copies the caller's pixels now, then runs `mode` in the session (see [`Session::run`]).
    fn call(&self, pixels: JsValue, w: f64, h: f64, options: JsValue, ink: Ink, mode: Mode) -> Promise {
        let start = performance_now();
        let image = read_image(&pixels, w, h, &options, ink);
        let (session, live) = (self.session.clone(), self.live.clone());
        let (look, drawing) = (look_again(&options), is_drawing(&options));
        future_to_promise(async move {
            let image = image.map_err(js_error)?;
            let recomputed = std::cell::Cell::new(None);
            let work = async |core: &Core| match mode {
                Mode::Detect => core.detect_looking_async(&image, look, drawing).await,
                Mode::Heatmap => Ok((core.heatmap_async(&image).await?, Vec::new())),
                Mode::Rows(height, ref pixels, ref rows) => {
                    Ok((core.heatmap_rows_async(&image, height, pixels.clone(), rows.clone()).await?, Vec::new()))
                }
                Mode::Live => {
                    // Taken out while it runs: a call that overlaps it starts afresh.
                    let mut kept = live.take();
                    let (heatmap, detections, done) = core.detect_live_async(&image, &mut kept, drawing).await?;
                    live.replace(kept);
                    recomputed.set(Some(done));
                    Ok((heatmap, detections))
                }
            };
            let (heatmap, detections) = Session::run(&session, work).await.map_err(js_error)?;
            let engine = session.borrow().backend.engine;
            let out = result_object(&heatmap, &detections, engine, performance_now() - start);
            if let Some(done) = recomputed.get() {
                Reflect::set(&out, &"recomputed".into(), &to_js(&done)).ok();
            }
            Ok(out)
        })
    }
}

/// The `secondLook` option: `false` leaves out the second look at each detection (the heatmap's
/// detections as decoded); anything else keeps it.
fn look_again(options: &JsValue) -> bool {
    get(options, "secondLook").as_bool() != Some(false)
}

/// The `drawing` option: `true` says the image is a drawing, pen strokes on a blank pad
/// ([`crate::verify::VerifyOptions::drawing`]: a lone straight upright stroke is a 1); anything
/// else, an image.
fn is_drawing(options: &JsValue) -> bool {
    get(options, "drawing").as_bool() == Some(true)
}

/// The caller's pixels as the model's image, copied now (the caller may transfer its buffer right
/// after), with the `ink` or `invert` option (`ink` when neither is given).
fn read_image(pixels: &JsValue, w: f64, h: f64, options: &JsValue, ink: Ink) -> Result<GrayImage, Error> {
    let (named_ink, invert) = (get(options, "ink"), get(options, "invert").as_bool());
    let named_ink = (!named_ink.is_undefined() && !named_ink.is_null()).then(|| named_ink.as_string());
    Ink::from_options(named_ink, invert, ink).and_then(|ink| GrayImage::from_pixels(w, h, read_pixels(pixels)?, ink))
}

/// Copies the caller's typed array (a detached one reads as empty, to fail the length check).
fn read_pixels(p: &JsValue) -> Result<Pixels, Error> {
    match (p.dyn_ref::<Uint8ClampedArray>(), p.dyn_ref::<Uint8Array>(), p.dyn_ref::<Float32Array>()) {
        (Some(a), _, _) => Ok(Pixels::Bytes(if a.length() == 0 { Vec::new() } else { a.to_vec() })),
        (_, Some(a), _) => Ok(Pixels::Bytes(if a.length() == 0 { Vec::new() } else { a.to_vec() })),
        (_, _, Some(a)) => Ok(Pixels::Floats(if a.length() == 0 { Vec::new() } else { a.to_vec() })),
        _ => Err(Error::InvalidInput("pixels must be a Uint8ClampedArray, Uint8Array or Float32Array".into())),
    }
}

/// The result of `detect` or `heatmap`: plain fields, the detections, and the heatmap's typed arrays.
fn result_object(heatmap: &Heatmap, detections: &[Detection], backend: Engine, ms: f64) -> JsValue {
    let out = to_js(&serde_json::json!({
        "width": heatmap.width, "height": heatmap.height, "stride": Heatmap::STRIDE, "rows": heatmap.rows,
        "cols": heatmap.cols, "originX": heatmap.origin_x, "originY": heatmap.origin_y,
        "detections": detections, "backend": backend, "ms": ms,
    }));
    // Setting a property on a fresh plain object cannot fail.
    Reflect::set(&out, &"classes".into(), &Uint8Array::from(&heatmap.classes()[..])).ok();
    Reflect::set(&out, &"probs".into(), &Float32Array::from(&heatmap.probs[..])).ok();
    out
}
