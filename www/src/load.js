// Loads the wasm detector: a CPU module first (a fast first heatmap everywhere) — built with wasm
// relaxed SIMD where the browser has it, else with wasm SIMD — and the WebGPU module only where
// the browser has a WebGPU adapter. Every module needs wasm SIMD (all current browsers: Chrome 91,
// Firefox 89, Safari 16.4 and later); without it the detector fails to start with that reason. All embed the same weights and the same Rust code; they differ only in the backends
// and target features compiled in (see the README for sizes and speeds).

const cpuModules = new Map();

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
  const name = ndarray ? 'pkg-ndarray' : relaxed ? 'pkg-relaxed' : 'pkg-simd';
  if (!cpuModules.has(name)) {
    // Literal specifiers, so that bundlers see every module.
    const load = ndarray ? import('../pkg-ndarray/digitscope.js')
      : relaxed ? import('../pkg-relaxed/digitscope.js') : import('../pkg-simd/digitscope.js');
    cpuModules.set(name, load.then(async (module) => { await module.default(); return module; }));
  }
  return cpuModules.get(name);
}

/** Whether this browser offers a WebGPU adapter at all. */
async function hasWebGpuAdapter(options) {
  if (options.testFault === 'no-adapter') return false;
  try {
    return Boolean(navigator.gpu && (await navigator.gpu.requestAdapter()));
  } catch {
    return false;
  }
}

/**
 * A detector on the CPU module (the direct kernels by default; flex or ndarray when asked);
 * `reason` is what its `backend.reason` reports.
 */
async function createCpuDetector(options, reason = 'CPU requested') {
  const { Detector } = await cpuModule(options);
  return Detector.create({ ...options, backend: 'cpu', cpuReason: reason });
}

/**
 * A detector per `options.backend`: "cpu"; "webgpu" (fails without WebGPU); "auto" (default):
 * WebGPU when an adapter exists and passes the self-test, else the CPU, with the reason.
 */
export async function createDetector(options = {}) {
  const backend = options.backend ?? 'auto';
  if (backend === 'cpu') return createCpuDetector(options);
  injectTestFault(options.testFault);
  if (!options.testFailWebGpu && !(await hasWebGpuAdapter(options))) {
    if (backend === 'webgpu') throw new Error('WebGPU unavailable: this browser offers no WebGPU adapter');
    return createCpuDetector(options, 'WebGPU unavailable: this browser offers no WebGPU adapter');
  }
  try {
    const gpu = await import('../pkg-webgpu/digitscope.js');
    await gpu.default();
    return await gpu.Detector.create(options);
  } catch (e) {
    if (backend === 'webgpu') throw e;
    return createCpuDetector(options, `WebGPU failed: ${e?.message ?? e}`);
  }
}

// Fault injection for the browser tests (the site never sets these options). `testFault`:
//   'no-adapter'      the browser is treated as offering no WebGPU adapter;
//   'request-device'  GPUAdapter.requestDevice rejects, as on a driver that refuses a device;
//   'lose-device'     devices are recorded so that loseGpuDevicesForTest() can destroy them
//                     mid-session (GPUDevice.destroy(), as when the GPU process is lost).
const testDevices = [];
let injectedFault = null;

function injectTestFault(fault) {
  if (!fault || injectedFault || typeof GPUAdapter === 'undefined') return;
  injectedFault = fault;
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    if (fault === 'request-device') throw new Error('requestDevice failed (test fault)');
    const device = await requestDevice.apply(this, args);
    testDevices.push(device);
    return device;
  };
}

/** Destroys every GPU device created since `testFault: 'lose-device'`; returns how many. */
export function loseGpuDevicesForTest() {
  for (const device of testDevices) device.destroy();
  return testDevices.length;
}
