// Loads the wasm detector: a CPU module first (a fast first heatmap everywhere) — built with wasm
// relaxed SIMD where the browser has it, else with wasm SIMD — and the WebGPU module only where
// the browser has a WebGPU adapter. Every module needs wasm SIMD (all current browsers: Chrome 91,
// Firefox 89, Safari 16.4 and later); without it the detector fails to start with that reason. All embed the same weights and the same Rust code; they differ only in the backends
// and target features compiled in (see the README for sizes and speeds).

import { loadFailure, packageUrl } from './errors.js';
import { MODULES } from './modules.js';

const HERE = import.meta.url;
const cpuModules = new Map();
/** URLs of the modules (glue and wasm) loaded so far, for a service worker to keep offline. */
const loaded = new Set();

/** The URLs of every wasm module (and its glue) this page has loaded. */
export function loadedModules() {
  return [...loaded];
}

/**
 * Imports the package's module for `role` (wasm-modules.tsv: relaxed, simd, ndarray, webgpu) and
 * instantiates its wasm: through its literal `import()` (modules.js), which bundlers follow, or,
 * with `baseUrl`, from the package's own files there. A file that does not load is named in the
 * error, with the server's answer.
 */
async function instantiate(role, options) {
  const { name, glue: importGlue } = MODULES.find((m) => m.role === role);
  const stem = `digitscope-${name.slice('pkg-'.length)}`;
  const base = options.baseUrl ? packageUrl(options.baseUrl) : null;
  // (Not `new URL(…, import.meta.url)`, which bundlers would try to resolve as assets.)
  const glueUrl = new URL(base ? `${name}/${stem}.js` : `../${name}/${stem}.js`, base ?? HERE).href;
  let module;
  try {
    module = base ? await import(/* @vite-ignore */ /* webpackIgnore: true */ glueUrl) : await importGlue();
  } catch (e) {
    throw await loadFailure(`digitscope's ${name} module`, glueUrl, 'javascript', e);
  }
  // The glue finds its wasm next to itself (wasm-bindgen's `new URL(…, import.meta.url)`, which
  // bundlers rewrite to wherever they put the file); with a base URL it is asked for there.
  const wasmUrl = base ? new URL(`${name}/${stem}_bg.wasm`, base) : undefined;
  // Where the wasm was asked for: the base URL's, else what the page's resource timing saw.
  const fetched = () => (performance.getEntriesByType?.('resource') ?? []).map((r) => r.name).filter((u) => u.includes(`${stem}_bg`));
  try {
    await module.default(wasmUrl ? { module_or_path: wasmUrl } : undefined);
  } catch (e) {
    const url = wasmUrl?.href ?? fetched().at(-1) ?? `${stem}_bg.wasm`;
    throw await loadFailure(`digitscope's ${name} wasm`, url, 'application/wasm', e);
  }
  for (const url of [glueUrl, ...fetched()]) loaded.add(url);
  return module;
}

/** Whether this browser runs wasm SIMD (validates a module with one v128 instruction). */
export function hasWasmSimd() {
  return WebAssembly.validate(new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
  ]));
}

/**
 * Whether this browser runs wasm relaxed SIMD (validates a module with one
 * `f32x4.relaxed_madd`; Chromium has it since version 114).
 */
export function hasWasmRelaxedSimd() {
  return WebAssembly.validate(new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 19, 1, 17,
    0, 65, 0, 253, 15, 65, 0, 253, 15, 65, 0, 253, 15, 253, 133, 2, 11,
  ]));
}

/**
 * The CPU module to use: the relaxed-SIMD build (fused multiply-add in the direct kernels)
 * where the browser has relaxed SIMD, else the SIMD build (`relaxedSimd: false` skips the
 * first); for `cpu: "ndarray"`, the module that carries burn-ndarray.
 */
async function cpuModule(options) {
  if (!hasWasmSimd()) {
    throw new Error('WebAssembly SIMD unavailable: this browser is too old for digitscope (it needs Chrome 91, Firefox 89, Safari 16.4 or later)');
  }
  const ndarray = options.cpu === 'ndarray';
  const relaxed = !ndarray && options.relaxedSimd !== false && hasWasmRelaxedSimd();
  const role = ndarray ? 'ndarray' : relaxed ? 'relaxed' : 'simd';
  if (!cpuModules.has(role)) {
    const load = instantiate(role, options);
    // A failed load is not kept: the next detector tries again.
    load.catch(() => cpuModules.delete(role));
    cpuModules.set(role, load);
  }
  return cpuModules.get(role);
}

/** Whether this browser offers a WebGPU adapter at all. */
async function hasWebGpuAdapter() {
  try {
    return Boolean(navigator.gpu && (await navigator.gpu.requestAdapter()));
  } catch {
    return false;
  }
}

/**
 * A detector on the CPU module (the direct kernels by default; flex or ndarray when asked);
 * `reason` and `kind` are what its `backend.reason` and `backend.reasonKind` report.
 */
export async function createCpuDetector(options, reason = 'CPU requested', kind = 'requested') {
  const { Detector } = await cpuModule(options);
  return Detector.create({ ...options, backend: 'cpu', cpuReason: reason, cpuReasonKind: kind });
}

/**
 * A detector per `options.backend`: "cpu"; "webgpu" (fails without WebGPU); "auto" (default):
 * WebGPU when an adapter exists and passes the self-test, else the CPU, with the reason. When
 * WebGPU does not pass, the CPU module of this browser runs (relaxed SIMD where it validates),
 * not the WebGPU module's own CPU engine.
 */
export async function createDetector(options = {}) {
  const backend = options.backend ?? 'auto';
  if (backend === 'cpu') return createCpuDetector(options);
  if (!(await hasWebGpuAdapter())) {
    if (backend === 'webgpu') throw new Error('WebGPU unavailable: this browser offers no WebGPU adapter');
    return createCpuDetector(options, 'WebGPU unavailable: this browser offers no WebGPU adapter', 'unavailable');
  }
  let detector;
  try {
    const gpu = await instantiate('webgpu', options);
    detector = await gpu.Detector.create(options);
  } catch (e) {
    if (backend === 'webgpu') throw e;
    return createCpuDetector(options, `WebGPU failed: ${e?.message ?? e}`, 'failed');
  }
  return detector.backend.name === 'webgpu' ? withCpuFallback(detector, options) : cpuInstead(detector, options, { free: true });
}

/**
 * A WebGPU detector that, once WebGPU has failed in the middle of a session (the WebGPU module
 * answered on its own CPU engine and reports the CPU), runs its next calls on this browser's
 * CPU module instead. The swap happens before the next call, so that `backend` always describes
 * the engine that computed the last result.
 */
function withCpuFallback(gpu, options) {
  let current = gpu;
  let swap = null;
  const ready = async () => {
    if (current === gpu && gpu.backend.name !== 'webgpu') {
      swap ??= cpuInstead(gpu, options).then((cpu) => (current = cpu));
      await swap;
    }
    return current;
  };
  return {
    get backend() { return current.backend; },
    detect: async (...args) => (await ready()).detect(...args),
    heatmap: async (...args) => (await ready()).heatmap(...args),
    memoryBytes: () => current.memoryBytes(),
    inkOf: (...args) => current.inkOf(...args),
    multiplyAdds: (width, height) => current.multiplyAdds(width, height),
    free: () => current.free(),
  };
}

/**
 * The CPU module's detector in place of a WebGPU-module detector that runs on its own CPU
 * engine (WebGPU failed, at the start or in the middle of a session), with the same reason.
 * `free`: release the old one (only when no call can still be running on it).
 */
async function cpuInstead(detector, options, { free = false } = {}) {
  const { reason, reasonKind } = detector.backend;
  const cpu = await createCpuDetector(options, reason, reasonKind);
  if (free) detector.free();
  return cpu;
}
