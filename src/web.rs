//! The WebAssembly boundary (`wasm-bindgen`): conversions between JS values and the core types,
//! and the choice of backend. No detection logic lives here.
//!
//! ```js
//! const detector = await Detector.create({ backend: "auto" });   // "auto" | "webgpu" | "cpu"
//! detector.backend;   // { name: "webgpu" | "cpu", cpu: "direct" | "flex" | "ndarray", simd, relaxedSimd, reason, parityError }
//! const r = await detector.detect(imageData.data, width, height, { invert: false });
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use burn::tensor::Device;
use js_sys::{Array, Float32Array, Object, Promise, Reflect, Uint8Array, Uint8ClampedArray};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::Detector as Core;
use crate::Named;
use crate::detect::Detection;
use crate::error::Error;
use crate::image::{GrayImage, Ink, PixelFormat, dimensions};

/// Largest difference between the WebGPU and CPU heatmaps of the parity image that still passes.
pub const PARITY_TOLERANCE: f32 = 1e-3;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

thread_local! {
    /// burn registers one wgpu runtime per page: the device is kept after the first success.
    static WEBGPU: RefCell<Option<Device>> = const { RefCell::new(None) };
}

fn get(options: &JsValue, key: &str) -> JsValue {
    if options.is_object() {
        Reflect::get(options, &key.into()).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

fn set(target: &Object, key: &str, value: impl Into<JsValue>) {
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(target, &key.into(), &value.into());
}

/// The first line of a backend's error, without wasm-bindgen's `JsValue(…)` wrapping: a reason
/// short enough for a status line (wgpu's errors carry causes and backtraces on later lines).
fn headline(e: impl std::fmt::Display) -> String {
    let text = e.to_string();
    let line = text.lines().next().unwrap_or_default();
    match line.split_once("JsValue(") {
        // The wrapper's closing parenthesis ends the whole text, which may span several lines.
        Some((before, after)) if !text.contains('\n') => {
            format!("{before}{}", after.strip_suffix(')').unwrap_or(after))
        }
        Some((before, after)) => format!("{before}{after}"),
        None => line.to_string(),
    }
}

fn js_error(e: Error) -> JsValue {
    JsError::new(&e.to_string()).into()
}

/// A detector on a CPU engine: `direct` (the project's own kernels, see `direct.rs`; weights
/// loaded through burn-flex), `flex` (burn's recommended pure-Rust CPU backend) or `ndarray`.
fn cpu_core(name: &str, weights: &[u8]) -> Result<(Core, &'static str), Error> {
    match name {
        #[cfg(feature = "flex")]
        "direct" => Ok((Core::from_weights(weights, Device::flex())?.with_direct_kernels()?, "direct")),
        #[cfg(feature = "flex")]
        "flex" => Ok((Core::from_weights(weights, Device::flex())?, "flex")),
        // Deprecated in burn 0.22 in favour of flex; kept selectable as the design asks.
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        "ndarray" => Ok((Core::from_weights(weights, Device::ndarray())?, "ndarray")),
        other => {
            Err(Error::InvalidInput(format!("unknown or unavailable CPU backend {other:?} (direct, flex, ndarray)")))
        }
    }
}

/// Default CPU engine (the fastest measured in the browser; see the README).
const DEFAULT_CPU: &str = if cfg!(feature = "flex") { "direct" } else { "ndarray" };

#[cfg(feature = "webgpu")]
async fn webgpu_device() -> Result<Device, String> {
    if let Some(device) = WEBGPU.with(|d| d.borrow().clone()) {
        return Ok(device);
    }
    let device = Device::wgpu_options().init_async().await.map_err(headline)?;
    WEBGPU.with(|d| *d.borrow_mut() = Some(device.clone()));
    Ok(device)
}

#[cfg(not(feature = "webgpu"))]
async fn webgpu_device() -> Result<Device, String> {
    Err("this build has no WebGPU backend".into())
}

/// A fixed image for the parity self-test: strokes and a gradient, 64×48.
fn parity_image() -> GrayImage {
    let (w, h) = (64, 48);
    let pixels = (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32, (i / w) as f32);
            let ring = ((x - 20.0).hypot(y - 24.0) - 9.0).abs() < 2.0;
            let bar = (x - 45.0).abs() < 2.0 && (8.0..40.0).contains(&y);
            if ring || bar { 1.0 } else { x / w as f32 * 0.05 }
        })
        .collect();
    GrayImage { width: w, height: h, pixels }
}

/// Max |GPU − CPU| over the parity image's heatmap.
async fn parity_error(gpu: &Core, cpu: &Core) -> Result<f32, Error> {
    let image = parity_image();
    let a = gpu.heatmap_async(&image).await?;
    let b = cpu.heatmap_async(&image).await?;
    Ok(a.probs.iter().zip(&b.probs).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max))
}

struct State {
    core: Rc<Core>,
    /// `webgpu` or `cpu`.
    name: &'static str,
    /// The CPU engine's name (the fallback's).
    cpu: &'static str,
    /// The weights file the detector runs (for the fallback).
    weights: Rc<Vec<u8>>,
    reason: Option<String>,
    parity_error: Option<f32>,
}

/// The digit detector, with the embedded weights, on the best backend available.
#[wasm_bindgen]
pub struct Detector {
    state: Rc<RefCell<State>>,
}

#[wasm_bindgen]
impl Detector {
    /// Creates a detector. Options: `backend` (`"auto"` default, `"webgpu"`, `"cpu"`), `cpu`
    /// (`"direct"` default, `"flex"`, `"ndarray"`), `weights` (a weights file's bytes, as
    /// `Uint8Array`, instead of the embedded ones), `cpuReason` (what `backend.reason` says
    /// with `backend: "cpu"`; the loader passes why WebGPU was not used). `auto` tries WebGPU, checks it against the
    /// CPU on a fixed image and falls back to the CPU on no adapter, a failed initialisation or
    /// a mismatch; `webgpu` fails instead of falling back.
    pub async fn create(options: JsValue) -> Result<Detector, JsError> {
        let backend = get(&options, "backend").as_string().unwrap_or_else(|| "auto".into());
        let cpu_name = get(&options, "cpu").as_string().unwrap_or_else(|| DEFAULT_CPU.into());
        let weights = match get(&options, "weights") {
            w if w.is_undefined() || w.is_null() => crate::weights::EMBEDDED.to_vec(),
            w => w
                .dyn_into::<Uint8Array>()
                .map_err(|_| JsError::new("invalid input: weights must be a Uint8Array"))?
                .to_vec(),
        };
        let weights = Rc::new(weights);
        let cpu_reason = get(&options, "cpuReason").as_string().unwrap_or_else(|| "CPU requested".into());
        let (cpu_core, cpu) = cpu_core(&cpu_name, &weights).map_err(|e| JsError::new(&e.to_string()))?;
        let on_cpu = |core: Core, reason: String| State {
            core: Rc::new(core),
            name: "cpu",
            cpu,
            weights: weights.clone(),
            reason: Some(reason),
            parity_error: None,
        };
        let state = match backend.as_str() {
            "cpu" => on_cpu(cpu_core, cpu_reason),
            "auto" | "webgpu" => {
                let gpu = webgpu_device().await;
                let attempt = match gpu {
                    Err(e) => Err(format!("WebGPU unavailable: {e}")),
                    Ok(device) => match Core::from_weights(&weights, device) {
                        Err(e) => Err(format!("WebGPU failed: {}", headline(e))),
                        Ok(gpu_core) => match parity_error(&gpu_core, &cpu_core).await {
                            Err(e) => Err(format!("WebGPU failed the self-test: {}", headline(e))),
                            Ok(err) if err > PARITY_TOLERANCE => Err(format!(
                                "WebGPU disagrees with the CPU on the self-test (max difference {err:.2e} > {PARITY_TOLERANCE:.0e})"
                            )),
                            Ok(err) => Ok((gpu_core, err)),
                        },
                    },
                };
                match attempt {
                    Ok((gpu_core, err)) => State {
                        core: Rc::new(gpu_core),
                        name: "webgpu",
                        cpu,
                        weights: weights.clone(),
                        reason: None,
                        parity_error: Some(err),
                    },
                    Err(reason) if backend == "webgpu" => return Err(JsError::new(&reason)),
                    Err(reason) => on_cpu(cpu_core, reason),
                }
            }
            other => return Err(JsError::new(&format!("unknown backend {other:?} (auto, webgpu, cpu)"))),
        };
        Ok(Detector { state: Rc::new(RefCell::new(state)) })
    }

    /// The backend that actually runs: `{ name, cpu, simd, relaxedSimd, reason, parityError }`;
    /// `reason` says why the CPU runs (or is null on WebGPU); `simd`: this module uses wasm SIMD;
    /// `relaxedSimd`: its direct kernels use relaxed SIMD's fused multiply-add.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> JsValue {
        let s = self.state.borrow();
        let out = Object::new();
        set(&out, "name", s.name);
        set(&out, "cpu", s.cpu);
        set(&out, "simd", cfg!(target_feature = "simd128"));
        set(&out, "relaxedSimd", cfg!(feature = "relaxed-simd"));
        set(&out, "reason", s.reason.clone().map_or(JsValue::NULL, JsValue::from));
        set(&out, "parityError", s.parity_error.map_or(JsValue::NULL, JsValue::from));
        out.into()
    }

    /// Bytes of linear memory this module holds (wasm memory only grows: the soak test watches it).
    #[wasm_bindgen(js_name = memoryBytes)]
    pub fn memory_bytes(&self) -> f64 {
        (core::arch::wasm32::memory_size(0) * 65536) as f64
    }

    /// Multiply-adds of a full `detect` of a `width`×`height` image (every pyramid level), so
    /// that a benchmark's GFLOP/s counts what the detector really runs.
    #[wasm_bindgen(js_name = multiplyAdds)]
    pub fn multiply_adds(&self, width: f64, height: f64) -> Result<f64, JsValue> {
        let (w, h) = dimensions(width, height).map_err(js_error)?;
        Ok(self.state.borrow().core.multiply_adds(w, h) as f64)
    }

    /// The FCN's heatmap alone, at the image's own size (no pyramid, no decoding): what the
    /// benchmarks time. Same input and result fields as `detect`, with no detections; the ink
    /// is taken as light unless the options say otherwise.
    pub fn heatmap(&self, pixels: JsValue, width: f64, height: f64, options: JsValue) -> Promise {
        self.call(pixels, width, height, options, Ink::Light, async |core: &Core, image: &GrayImage| {
            Ok((core.heatmap_async(image).await?, Vec::new()))
        })
    }

    /// Detects digits. `pixels`: RGBA bytes (`Uint8ClampedArray` from a canvas, or
    /// `Uint8Array`) of `width × height × 4`, 8-bit gray of `width × height`, or a
    /// `Float32Array` of `width × height` intensities in [0, 1]. Options: `ink` (`"auto"`, the
    /// default: dark ink on a light page is recognised from the image; `"light"`; `"dark"`) or
    /// `invert` (`true` = dark ink, `false` = light ink). The input is copied before anything
    /// else happens, so the caller may reuse or transfer its buffer as soon as this returns.
    pub fn detect(&self, pixels: JsValue, width: f64, height: f64, options: JsValue) -> Promise {
        self.call(pixels, width, height, options, Ink::Auto, async |core: &Core, image: &GrayImage| {
            core.detect_async(image).await
        })
    }
}

impl Detector {
    /// Copies the caller's pixels now, then runs `work` on the current backend; if the GPU fails
    /// mid-session, the detector moves to the CPU for good (and says why) and `work` reruns there.
    fn call(
        &self,
        pixels: JsValue,
        width: f64,
        height: f64,
        options: JsValue,
        default_ink: Ink,
        work: impl AsyncFn(&Core, &GrayImage) -> Result<(crate::Heatmap, Vec<Detection>), Error> + 'static,
    ) -> Promise {
        let start = performance_now();
        let image = ink_option(&options, default_ink).and_then(|ink| read_image(&pixels, width, height, ink));
        let state = self.state.clone();
        future_to_promise(async move {
            let image = image.map_err(js_error)?;
            let (core, name) = {
                let s = state.borrow();
                (s.core.clone(), s.name)
            };
            let (heatmap, detections) = match work(&core, &image).await {
                Ok(r) => r,
                Err(e) if name == "webgpu" => {
                    let (cpu, weights) = (state.borrow().cpu, state.borrow().weights.clone());
                    let fallback = Rc::new(cpu_core(cpu, &weights).map_err(js_error)?.0);
                    {
                        let mut s = state.borrow_mut();
                        s.core = fallback.clone();
                        s.name = "cpu";
                        s.reason = Some(format!("WebGPU failed during detection: {}", headline(e)));
                        s.parity_error = None;
                    }
                    work(&fallback, &image).await.map_err(js_error)?
                }
                Err(e) => return Err(js_error(e)),
            };
            let backend = state.borrow().name;
            Ok(result_object(&heatmap, &detections, backend, performance_now() - start))
        })
    }
}

/// The ink of a call's options: `ink` ("light", "dark", "auto"), else `invert` (a boolean), else
/// `default`.
fn ink_option(options: &JsValue, default: Ink) -> Result<Ink, Error> {
    let ink = get(options, "ink");
    if let Some(name) = ink.as_string() {
        return Ink::from_name(&name)
            .map_err(|_| Error::InvalidInput(format!("ink must be \"light\", \"dark\" or \"auto\", not {name:?}")));
    }
    if !ink.is_undefined() && !ink.is_null() {
        return Err(Error::InvalidInput("ink must be \"light\", \"dark\" or \"auto\"".into()));
    }
    Ok(match get(options, "invert").as_bool() {
        Some(true) => Ink::Dark,
        Some(false) => Ink::Light,
        None => default,
    })
}

/// Validates and copies the caller's pixels. A detached buffer reads as empty, so it fails the
/// length check like any other wrong-sized buffer.
fn read_image(pixels: &JsValue, width: f64, height: f64, ink: Ink) -> Result<GrayImage, Error> {
    let (w, h) = dimensions(width, height)?;
    if let Some(a) = pixels.dyn_ref::<Uint8ClampedArray>() {
        let format = PixelFormat::from_len(a.length() as usize, w, h)?;
        GrayImage::from_bytes(w, h, &a.to_vec(), format, ink)
    } else if let Some(a) = pixels.dyn_ref::<Uint8Array>() {
        let format = PixelFormat::from_len(a.length() as usize, w, h)?;
        GrayImage::from_bytes(w, h, &a.to_vec(), format, ink)
    } else if let Some(a) = pixels.dyn_ref::<Float32Array>() {
        Ok(GrayImage::from_f32(w, h, a.to_vec())?.with_ink(ink))
    } else {
        Err(Error::InvalidInput("pixels must be a Uint8ClampedArray, Uint8Array or Float32Array".into()))
    }
}

fn detection_object(d: &Detection) -> Object {
    let o = Object::new();
    set(&o, "digit", d.digit);
    set(&o, "score", d.score);
    set(&o, "x", d.x);
    set(&o, "y", d.y);
    set(&o, "w", d.w);
    set(&o, "h", d.h);
    o
}

fn result_object(heatmap: &crate::Heatmap, detections: &[Detection], backend: &str, ms: f64) -> JsValue {
    let out = Object::new();
    set(&out, "width", heatmap.width as u32);
    set(&out, "height", heatmap.height as u32);
    set(&out, "stride", crate::Heatmap::STRIDE as u32);
    set(&out, "rows", heatmap.rows as u32);
    set(&out, "cols", heatmap.cols as u32);
    set(&out, "originX", heatmap.origin_x);
    set(&out, "originY", heatmap.origin_y);
    set(&out, "classes", Uint8Array::from(&heatmap.classes()[..]));
    set(&out, "probs", Float32Array::from(&heatmap.probs[..]));
    let list: Array = detections.iter().map(detection_object).collect();
    set(&out, "detections", list);
    set(&out, "backend", backend);
    set(&out, "ms", ms);
    out.into()
}
