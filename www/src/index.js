// digitscope: a digit detector made from a convolutionalized MNIST classifier, in WebAssembly.
//
//   import { createDetector } from 'digitscope';          // plain API (runs where it is called)
//   import 'digitscope/element';                           // defines <digit-detector> (worker-backed)
//
// The wasm module is found next to this file (import.meta.url): Vite and webpack need nothing
// more; with esbuild or Rollup, pass `baseUrl` (see "Bundlers" in the README).
export { DigitDetector } from './digit-detector.js';
export { DetectorClient, DetectorStoppedError } from './client.js';
export { classColor, CLASS_LABELS } from './colors.js';

/**
 * Creates a detector with the embedded weights, in the calling thread. Options: `backend`
 * ("auto" | "webgpu" | "cpu"), `cpu` ("direct" | "flex" | "ndarray"), `baseUrl`. Resolves to an object with `backend`
 * and `detect(pixels, width, height, { ink })`.
 */
export { createDetector } from './load.js';
