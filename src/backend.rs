//! Which backend runs a detector, as types: the engines, why the CPU runs when it does, the
//! WebGPU parity self-test and the fallback rules. Compiled natively (unit-tested below with
//! fake GPUs) and used by the wasm boundary (`web.rs`), which only converts to and from JS.

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::image::GrayImage;
use crate::{Detector, Named};

/// Largest difference between the WebGPU and CPU heatmaps of the parity image that still passes.
pub const PARITY_TOLERANCE: f32 = 1e-3;

/// The backend a caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Requested {
    /// WebGPU when it works (and agrees with the CPU), else the CPU.
    #[default]
    Auto,
    /// WebGPU or an error.
    Webgpu,
    /// The CPU.
    Cpu,
}

impl Named for Requested {
    const WHAT: &'static str = "backend";
}

/// The engine that runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// burn-wgpu on the browser's WebGPU.
    Webgpu,
    /// A CPU engine ([`CpuEngine`]).
    Cpu,
}

impl Named for Engine {
    const WHAT: &'static str = "engine";
}

/// The CPU engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CpuEngine {
    /// The project's own kernels (`direct.rs`; weights loaded through burn-flex).
    Direct,
    /// burn-flex, burn's recommended pure-Rust CPU backend.
    Flex,
    /// burn-ndarray (deprecated in burn 0.22; kept selectable).
    Ndarray,
}

impl Named for CpuEngine {
    const WHAT: &'static str = "CPU engine";
}

/// Why the CPU runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FallbackKind {
    /// The caller asked for the CPU.
    Requested,
    /// No WebGPU here (no adapter, no device, a build without it).
    Unavailable,
    /// WebGPU started but the detector could not be set up on it (or its module not loaded).
    Failed,
    /// The self-test could not run on WebGPU.
    SelfTestFailed,
    /// WebGPU's heatmap of the parity image differs from the CPU's beyond the tolerance.
    Disagrees,
    /// WebGPU failed in the middle of a session (a lost device, a driver error).
    FailedDuringDetection,
}

impl Named for FallbackKind {
    const WHAT: &'static str = "fallback reason";
}

impl FallbackKind {
    /// A few words for a status line.
    pub fn summary(self) -> &'static str {
        match self {
            FallbackKind::Requested => "CPU requested",
            FallbackKind::Unavailable => "WebGPU unavailable",
            FallbackKind::Failed => "WebGPU failed",
            FallbackKind::SelfTestFailed => "WebGPU failed the self-test",
            FallbackKind::Disagrees => "WebGPU disagrees with the CPU",
            FallbackKind::FailedDuringDetection => "WebGPU failed during detection",
        }
    }
}

/// Why the CPU runs: the kind, and the whole message (the summary, then the details).
#[derive(Debug, Clone, PartialEq)]
pub struct FallbackReason {
    /// What happened.
    pub kind: FallbackKind,
    /// `"<summary>: <details>"`, or the summary alone.
    pub message: String,
}

impl FallbackReason {
    /// A reason with `details` after the kind's summary.
    pub fn new(kind: FallbackKind, details: impl std::fmt::Display) -> Self {
        let details = headline(details);
        let message =
            if details.is_empty() { kind.summary().to_string() } else { format!("{}: {details}", kind.summary()) };
        Self { kind, message }
    }

    /// A reason whose message is given whole (the loader's, which says it its own way).
    pub fn with_message(kind: FallbackKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

/// The backend in use.
#[derive(Debug, Clone, PartialEq)]
pub struct Backend {
    /// What runs.
    pub engine: Engine,
    /// The CPU engine (what runs on the CPU, or what a fallback would run).
    pub cpu: CpuEngine,
    /// Why the CPU runs (`None` on WebGPU).
    pub reason: Option<FallbackReason>,
    /// Max |GPU − CPU| of the self-test (on WebGPU).
    pub parity_error: Option<f32>,
}

/// What JS sees of a backend (`detector.backend`): `{ name, cpu, simd, relaxedSimd, reason,
/// reasonKind, reasonSummary, parityError }`, the `reason…` fields null on WebGPU.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendState {
    /// The engine that runs.
    pub name: Engine,
    /// The CPU engine.
    pub cpu: CpuEngine,
    /// Whether the module runs wasm SIMD.
    pub simd: bool,
    /// Whether its direct kernels use relaxed SIMD's fused multiply-add.
    pub relaxed_simd: bool,
    /// Why the CPU runs, in full.
    pub reason: Option<String>,
    /// Why the CPU runs, as a kind.
    pub reason_kind: Option<FallbackKind>,
    /// Why the CPU runs, in a few words (for a status line).
    pub reason_summary: Option<&'static str>,
    /// Max |GPU − CPU| of the self-test.
    pub parity_error: Option<f32>,
}

impl Backend {
    /// What JS sees of it, in a module built with or without SIMD and relaxed SIMD.
    pub fn state(&self, simd: bool, relaxed_simd: bool) -> BackendState {
        BackendState {
            name: self.engine,
            cpu: self.cpu,
            simd,
            relaxed_simd,
            reason: self.reason.as_ref().map(|r| r.message.clone()),
            reason_kind: self.reason.as_ref().map(|r| r.kind),
            reason_summary: self.reason.as_ref().map(|r| r.kind.summary()),
            parity_error: self.parity_error,
        }
    }

    /// The CPU, for `reason`.
    pub fn cpu(cpu: CpuEngine, reason: FallbackReason) -> Self {
        Self { engine: Engine::Cpu, cpu, reason: Some(reason), parity_error: None }
    }

    /// The fallback rule in a session: a WebGPU error moves the detector to the CPU for good
    /// (returns true: rerun the work there); an error on the CPU is the caller's to report.
    pub fn fall_back(&mut self, error: impl std::fmt::Display) -> bool {
        if self.engine != Engine::Webgpu {
            return false;
        }
        *self = Self::cpu(self.cpu, FallbackReason::new(FallbackKind::FailedDuringDetection, error));
        true
    }
}

/// The CPU engine a build uses unless asked otherwise (the fastest measured; see the README).
pub const DEFAULT_CPU: CpuEngine = if cfg!(feature = "flex") { CpuEngine::Direct } else { CpuEngine::Ndarray };

/// A detector on a CPU engine compiled into this build.
pub fn cpu_detector(engine: CpuEngine, weights: &[u8]) -> Result<Detector> {
    use burn::tensor::Device;
    match engine {
        #[cfg(feature = "flex")]
        CpuEngine::Direct => Detector::from_weights(weights, Device::flex())?.with_direct_kernels(),
        #[cfg(feature = "flex")]
        CpuEngine::Flex => Detector::from_weights(weights, Device::flex()),
        // Deprecated in burn 0.22 in favour of flex; kept selectable as the design asks.
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        CpuEngine::Ndarray => Detector::from_weights(weights, Device::ndarray()),
        #[allow(unreachable_patterns)]
        other => Err(Error::InvalidInput(format!("the CPU engine {:?} is not in this build", other.name()))),
    }
}

/// The first line of a backend's error, without wasm-bindgen's `JsValue(…)` wrapping: a reason
/// short enough for a status line (wgpu's errors carry causes and backtraces on later lines).
pub fn headline(e: impl std::fmt::Display) -> String {
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

/// A fixed image for the parity self-test: strokes and a gradient, 64×48.
pub fn parity_image() -> GrayImage {
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
pub async fn parity_error(gpu: &Detector, cpu: &Detector) -> Result<f32> {
    let image = parity_image();
    let a = gpu.heatmap_async(&image).await?;
    let b = cpu.heatmap_async(&image).await?;
    if a.probs.len() != b.probs.len() {
        return Err(Error::Backend(format!("heatmaps of {} and {} values", a.probs.len(), b.probs.len())));
    }
    Ok(a.probs.iter().zip(&b.probs).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max))
}

/// Chooses the backend for `requested`: the CPU detector `cpu` (on engine `engine`) is made
/// first; `gpu` makes the WebGPU detector (an error: the reason it could not). `auto` takes
/// WebGPU when it passes the parity self-test against the CPU and falls back to the CPU with the
/// reason otherwise; `webgpu` returns that reason as an error; `cpu` runs the CPU for
/// `cpu_reason`. Returns the WebGPU detector when it is chosen, and the backend.
pub async fn choose<G, F>(
    requested: Requested,
    engine: CpuEngine,
    cpu: &Detector,
    cpu_reason: FallbackReason,
    gpu: G,
) -> std::result::Result<(Option<Detector>, Backend), FallbackReason>
where
    G: FnOnce() -> F,
    F: std::future::Future<Output = std::result::Result<Detector, FallbackReason>>,
{
    if requested == Requested::Cpu {
        return Ok((None, Backend::cpu(engine, cpu_reason)));
    }
    let attempt = match gpu().await {
        Err(reason) => Err(reason),
        Ok(detector) => match parity_error(&detector, cpu).await {
            Err(e) => Err(FallbackReason::new(FallbackKind::SelfTestFailed, e)),
            Ok(err) if err > PARITY_TOLERANCE => Err(FallbackReason::with_message(
                FallbackKind::Disagrees,
                format!(
                    "WebGPU disagrees with the CPU on the self-test (max difference {err:.2e} > {PARITY_TOLERANCE:.0e})"
                ),
            )),
            Ok(err) => Ok((detector, err)),
        },
    };
    match attempt {
        Ok((detector, err)) => {
            Ok((Some(detector), Backend { engine: Engine::Webgpu, cpu: engine, reason: None, parity_error: Some(err) }))
        }
        Err(reason) if requested == Requested::Webgpu => Err(reason),
        Err(reason) => Ok((None, Backend::cpu(engine, reason))),
    }
}

/// The WebGPU detector for `weights` on the browser's (or the machine's) WebGPU; an error is why
/// it could not be had. burn registers one wgpu runtime per page: the device is kept after the
/// first success.
#[cfg(feature = "webgpu")]
pub async fn webgpu_detector(weights: &[u8]) -> std::result::Result<Detector, FallbackReason> {
    thread_local! {
        static WEBGPU: RefCell<Option<burn::tensor::Device>> = const { RefCell::new(None) };
    }
    let device = match WEBGPU.with(|d| d.borrow().clone()) {
        Some(device) => device,
        None => burn::tensor::Device::wgpu_options()
            .init_async()
            .await
            .map_err(|e| FallbackReason::new(FallbackKind::Unavailable, e))?,
    };
    WEBGPU.with(|d| *d.borrow_mut() = Some(device.clone()));
    Detector::from_weights(weights, device).map_err(|e| FallbackReason::new(FallbackKind::Failed, e))
}

/// A build without WebGPU: never available.
#[cfg(not(feature = "webgpu"))]
pub async fn webgpu_detector(_: &[u8]) -> std::result::Result<Detector, FallbackReason> {
    Err(FallbackReason::new(FallbackKind::Unavailable, "this build has no WebGPU backend"))
}

/// A detector in use: what runs, on which backend, and the weights a fallback reloads.
pub struct Session {
    /// The detector that runs.
    pub core: Rc<Detector>,
    /// Its backend.
    pub backend: Backend,
    weights: Rc<Vec<u8>>,
}

impl Session {
    /// Starts a session on the backend [`choose`] picks (WebGPU from [`webgpu_detector`]).
    pub async fn start(
        requested: Requested,
        engine: CpuEngine,
        weights: Vec<u8>,
        cpu_reason: FallbackReason,
    ) -> std::result::Result<Self, String> {
        let cpu = Rc::new(cpu_detector(engine, &weights).map_err(|e| e.to_string())?);
        let (gpu, backend) =
            choose(requested, engine, &cpu, cpu_reason, || webgpu_detector(&weights)).await.map_err(|r| r.message)?;
        Ok(Self { core: gpu.map_or(cpu, Rc::new), backend, weights: Rc::new(weights) })
    }

    /// Runs `work` on the session's detector; a WebGPU error moves the session to the CPU for
    /// good ([`Backend::fall_back`], the reason kept) and `work` runs again there.
    pub async fn run<T>(session: &RefCell<Session>, work: impl AsyncFn(&Detector) -> Result<T>) -> Result<T> {
        let core = session.borrow().core.clone();
        let error = match work(&core).await {
            Ok(out) => return Ok(out),
            Err(e) => e,
        };
        if !session.borrow_mut().backend.fall_back(&error) {
            return Err(error);
        }
        let (engine, weights) = (session.borrow().backend.cpu, session.borrow().weights.clone());
        let cpu = Rc::new(cpu_detector(engine, &weights)?);
        session.borrow_mut().core = cpu.clone();
        work(&cpu).await
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::weights::EMBEDDED;

    fn cpu() -> Detector {
        Detector::from_weights(EMBEDDED, Device::flex()).unwrap()
    }

    fn requested() -> FallbackReason {
        FallbackReason::new(FallbackKind::Requested, "")
    }

    /// Runs `choose` to completion (the CPU backends complete without waiting).
    fn run<T>(future: impl std::future::Future<Output = T>) -> T {
        use std::task::{Context, Poll, Waker};
        let mut future = std::pin::pin!(future);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                return out;
            }
        }
    }

    #[test]
    fn auto_takes_a_gpu_that_agrees_with_the_cpu() {
        // A "GPU" that is another CPU detector: it agrees exactly.
        let (gpu, backend) =
            run(choose(Requested::Auto, CpuEngine::Flex, &cpu(), requested(), || async { Ok(cpu()) })).unwrap();
        assert!(gpu.is_some());
        assert_eq!(
            backend,
            Backend { engine: Engine::Webgpu, cpu: CpuEngine::Flex, reason: None, parity_error: Some(0.0) }
        );
    }

    #[test]
    fn auto_falls_back_with_the_reason_and_webgpu_fails_with_it() {
        let unavailable = || async { Err(FallbackReason::new(FallbackKind::Unavailable, "no adapter")) };
        let (gpu, backend) = run(choose(Requested::Auto, CpuEngine::Direct, &cpu(), requested(), unavailable)).unwrap();
        assert!(gpu.is_none());
        assert_eq!(backend.engine, Engine::Cpu);
        assert_eq!(backend.reason.unwrap().message, "WebGPU unavailable: no adapter");
        let error = run(choose(Requested::Webgpu, CpuEngine::Direct, &cpu(), requested(), unavailable)).unwrap_err();
        assert_eq!(error.kind, FallbackKind::Unavailable);
    }

    #[test]
    fn a_gpu_that_disagrees_is_not_used() {
        // A "GPU" running other weights (the notebook's small net): its heatmap differs.
        let other = include_bytes!("../weights/small.dsw");
        let disagrees = || async { Ok(Detector::from_weights(other, Device::flex()).unwrap()) };
        let (gpu, backend) = run(choose(Requested::Auto, CpuEngine::Direct, &cpu(), requested(), disagrees)).unwrap();
        assert!(gpu.is_none());
        let reason = backend.reason.unwrap();
        assert_eq!(reason.kind, FallbackKind::Disagrees);
        assert!(
            reason.message.starts_with("WebGPU disagrees with the CPU on the self-test (max difference "),
            "{}",
            reason.message
        );
    }

    #[test]
    fn the_cpu_when_asked_says_why() {
        let reason = FallbackReason::with_message(
            FallbackKind::Unavailable,
            "WebGPU unavailable: this browser offers no WebGPU adapter",
        );
        let (gpu, backend) = run(choose(Requested::Cpu, CpuEngine::Direct, &cpu(), reason.clone(), || async {
            unreachable!("no GPU is tried")
        }))
        .unwrap();
        assert!(gpu.is_none());
        assert_eq!(backend, Backend::cpu(CpuEngine::Direct, reason));
    }

    #[test]
    fn a_gpu_error_mid_session_moves_to_the_cpu_once() {
        let mut backend =
            Backend { engine: Engine::Webgpu, cpu: CpuEngine::Direct, reason: None, parity_error: Some(1e-6) };
        assert!(backend.fall_back("JsValue(OperationError: device lost)"));
        assert_eq!(backend.engine, Engine::Cpu);
        assert_eq!(backend.parity_error, None);
        let reason = backend.reason.clone().unwrap();
        assert_eq!(reason.kind, FallbackKind::FailedDuringDetection);
        assert_eq!(reason.message, "WebGPU failed during detection: OperationError: device lost");
        // On the CPU an error is not a fallback.
        assert!(!backend.fall_back("out of memory"));
        assert_eq!(backend.reason.unwrap(), reason);
    }

    #[test]
    fn a_session_on_a_failing_gpu_reruns_the_work_on_the_cpu_and_stays_there() {
        // A "GPU" session whose device fails on its first use (a fake: its work errs once).
        let gpu = Backend { engine: Engine::Webgpu, cpu: CpuEngine::Direct, reason: None, parity_error: Some(0.0) };
        let session = RefCell::new(Session { core: Rc::new(cpu()), backend: gpu, weights: Rc::new(EMBEDDED.to_vec()) });
        let failing = Rc::new(RefCell::new(true));
        let work = async |core: &Detector| {
            if failing.replace(false) {
                return Err(Error::Backend("JsValue(device lost)".into()));
            }
            core.heatmap_async(&parity_image()).await
        };
        let heatmap = run(Session::run(&session, work)).unwrap();
        assert_eq!((heatmap.width, heatmap.height), (64, 48));
        let backend = session.borrow().backend.clone();
        assert_eq!(backend.engine, Engine::Cpu);
        assert_eq!(backend.reason.unwrap().message, "WebGPU failed during detection: backend error: device lost");
        assert!(session.borrow().core.uses_direct_kernels(), "the fallback runs the session's CPU engine");
        // On the CPU, an error is the caller's.
        let error = run(Session::run(&session, async |_: &Detector| Err::<(), _>(Error::InvalidInput("bad".into()))));
        assert_eq!(error.unwrap_err().to_string(), "invalid input: bad");
    }

    #[test]
    fn a_session_starts_on_the_cpu_without_webgpu() {
        let session = run(Session::start(Requested::Auto, CpuEngine::Direct, EMBEDDED.to_vec(), requested())).unwrap();
        assert_eq!(session.backend.engine, Engine::Cpu);
        assert_eq!(session.backend.reason.unwrap().kind, FallbackKind::Unavailable, "this build has no WebGPU backend");
        let error =
            run(Session::start(Requested::Webgpu, CpuEngine::Direct, EMBEDDED.to_vec(), requested())).err().unwrap();
        assert_eq!(error, "WebGPU unavailable: this build has no WebGPU backend");
    }

    #[test]
    fn headlines_drop_wrappers_and_later_lines() {
        assert_eq!(headline("JsValue(TypeError: x)"), "TypeError: x");
        assert_eq!(
            headline("Unable to request a device: JsValue(Error: refused\nstack…)"),
            "Unable to request a device: Error: refused"
        );
        assert_eq!(headline("plain"), "plain");
    }

    #[test]
    fn cpu_engines_of_this_build() {
        let image = parity_image();
        let direct = cpu_detector(CpuEngine::Direct, EMBEDDED).unwrap().heatmap(&image).unwrap();
        let flex = cpu_detector(CpuEngine::Flex, EMBEDDED).unwrap().heatmap(&image).unwrap();
        assert!(direct.probs.iter().zip(&flex.probs).all(|(a, b)| (a - b).abs() < 1e-4));
        assert!(
            cpu_detector(CpuEngine::Ndarray, EMBEDDED)
                .unwrap_err()
                .to_string()
                .contains("\"ndarray\" is not in this build")
        );
        assert_eq!(DEFAULT_CPU, CpuEngine::Direct);
    }

    #[test]
    fn js_sees_the_backend_as_plain_fields() {
        let backend = Backend::cpu(CpuEngine::Direct, FallbackReason::new(FallbackKind::Unavailable, "no adapter"));
        assert_eq!(
            serde_json::to_value(backend.state(true, false)).unwrap(),
            serde_json::json!({ "name": "cpu", "cpu": "direct", "simd": true, "relaxedSimd": false,
                "reason": "WebGPU unavailable: no adapter", "reasonKind": "unavailable",
                "reasonSummary": "WebGPU unavailable", "parityError": null })
        );
    }

    #[test]
    fn names() {
        assert_eq!(Requested::from_name("webgpu"), Ok(Requested::Webgpu));
        assert!(Requested::from_name("gpu").unwrap_err().contains("expected one of `auto`, `webgpu`, `cpu`"));
        assert_eq!(FallbackKind::FailedDuringDetection.name(), "failed-during-detection");
        assert_eq!(CpuEngine::Ndarray.name(), "ndarray");
    }
}
