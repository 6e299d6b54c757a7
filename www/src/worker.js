// The module Web Worker that owns the wasm Detector: the page stays responsive while it runs.
// Protocol: { id, type: 'create', options } → { id, backend, modules } (the wasm files loaded)
//           { id, type: 'detect', pixels, width, height, options } → { id, result } | { id, error }
import { createDetector, loadedModules } from './load.js';

let detector = null;
let ready = null;

async function create(options) {
  detector = await createDetector(options ?? {});
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
      // The backend that computed this result (after a WebGPU failure, the next request runs
      // on this browser's CPU module: see load.js).
      self.postMessage({ id, result, backendState: detector.backend }, [result.probs.buffer, result.classes.buffer]);
    } else {
      throw new Error(`unknown request ${type}`);
    }
  } catch (e) {
    self.postMessage({ id, error: String(e?.message ?? e) });
  }
};
