// The module Web Worker that owns the wasm Detector: the page stays responsive while it runs.
// Protocol: { id, type: 'create', options } → { id, backend, modules } (the wasm files loaded)
//           { id, type: 'detect', pixels, width, height, options } → { id, result } | { id, error }
import { cpuInstead, createDetector, loadedModules } from './load.js';

let detector = null;
let ready = null;
let onGpu = false;
let createOptions = {};

async function create(options) {
  createOptions = options ?? {};
  detector = await createDetector(createOptions);
  onGpu = detector.backend.name === 'webgpu';
  return detector.backend;
}

self.onmessage = async ({ data }) => {
  const { id, type } = data;
  try {
    if (type === 'create') {
      ready = create(data.options);
      const backend = await ready;
      self.postMessage({ id, backend, modules: loadedModules() });
    } else if (type === 'detect') {
      await ready;
      const result = await detector.detect(data.pixels, data.width, data.height, data.options ?? {});
      // The backend that computed this result; then, if WebGPU failed during it, the CPU module
      // of this browser takes over from the WebGPU module's own CPU engine.
      const backendState = detector.backend;
      self.postMessage({ id, result, backendState }, [result.probs.buffer, result.classes.buffer]);
      if (onGpu && backendState.name === 'cpu') {
        onGpu = false;
        // Later requests wait for the swap.
        ready = cpuInstead(detector, createOptions).then((cpu) => (detector = cpu).backend);
      }
    } else {
      throw new Error(`unknown request ${type}`);
    }
  } catch (e) {
    self.postMessage({ id, error: String(e?.message ?? e) });
  }
};
