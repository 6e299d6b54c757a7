// Loads the wasm detector: the small CPU module first (a fast first heatmap everywhere), and the
// WebGPU module only where the browser has a WebGPU adapter. Both embed the same weights and the
// same Rust code; they differ only in the backends compiled in (see the README for the sizes).
import initCpu, { Detector as CpuDetector } from '../pkg/digitscope.js';

let cpuReady = null;

/** Whether this browser offers a WebGPU adapter at all. */
async function hasWebGpuAdapter() {
  try {
    return Boolean(navigator.gpu && (await navigator.gpu.requestAdapter()));
  } catch {
    return false;
  }
}

/** A detector on the CPU module (flex, or ndarray when asked). */
export async function createCpuDetector(options = {}, reason = 'CPU requested') {
  cpuReady ??= initCpu();
  await cpuReady;
  const detector = await CpuDetector.create({ ...options, backend: 'cpu' });
  return { detector, reason };
}

/**
 * A detector per `options.backend`: "cpu"; "webgpu" (fails without WebGPU); "auto" (default):
 * WebGPU when an adapter exists and passes the self-test, else the CPU, with the reason.
 */
export async function createDetector(options = {}) {
  const backend = options.backend ?? 'auto';
  if (backend === 'cpu') return (await createCpuDetector(options)).detector;
  if (!options.testFailWebGpu && !(await hasWebGpuAdapter())) {
    if (backend === 'webgpu') throw new Error('WebGPU unavailable: this browser offers no WebGPU adapter');
    return CpuWithReason.create(options, 'WebGPU unavailable: this browser offers no WebGPU adapter');
  }
  try {
    const gpu = await import('../pkg-webgpu/digitscope.js');
    await gpu.default();
    return await gpu.Detector.create(options);
  } catch (e) {
    if (backend === 'webgpu') throw e;
    return CpuWithReason.create(options, `WebGPU failed: ${e?.message ?? e}`);
  }
}

/** The CPU detector, reporting why it runs instead of WebGPU. */
class CpuWithReason {
  static async create(options, reason) {
    const { detector } = await createCpuDetector(options, reason);
    return new CpuWithReason(detector, reason);
  }

  constructor(detector, reason) {
    this.inner = detector;
    this.reason = reason;
  }

  get backend() {
    return { ...this.inner.backend, reason: this.reason };
  }

  detect(...args) {
    return this.inner.detect(...args);
  }
}
