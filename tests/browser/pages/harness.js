// Loads the wasm detector the way the package does (src/load.js: CPU module first, WebGPU module
// where an adapter exists) and exposes helpers to the browser tests. No inline script: the pages
// are served under a strict Content-Security-Policy.
import { createDetector } from '/src/load.js';
import { installFault } from './faults.js';

/** RGBA pixels of a PNG, through a canvas, as a user's page would get them. */
async function pixelsOf(url) {
  const bitmap = await createImageBitmap(await (await fetch(url)).blob());
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0);
  return ctx.getImageData(0, 0, bitmap.width, bitmap.height);
}

/** Creates a detector and runs it on a PNG (with `detectOptions`); returns plain data. */
async function detectPng(options, url = '/samples/notebook-composite.png', detectOptions = {}) {
  const detector = await createDetector(options);
  const image = await pixelsOf(url);
  const result = await detector.detect(image.data, image.width, image.height, detectOptions);
  return {
    backend: detector.backend,
    result: { ...result, probs: Array.from(result.probs), classes: Array.from(result.classes) },
  };
}

window.harness = { createDetector, pixelsOf, detectPng, installFault };

/** The soak test's state: one detector and one image, kept across calls. */
const soak = {};

/** Creates the soak detector and a `size`×`size` crop of the composite; runs `warmup` detections. */
async function soakStart(options, size, warmup) {
  soak.detector = await createDetector(options);
  const image = await pixelsOf('/samples/notebook-composite.png');
  const canvas = new OffscreenCanvas(size, size);
  canvas.getContext('2d').putImageData(image, 0, 0);
  soak.image = canvas.getContext('2d').getImageData(0, 0, size, size);
  soak.first = await soakRun(warmup);
  return { backend: soak.detector.backend, memory: soak.detector.memoryBytes(), msPerDetection: soak.first.msPerDetection };
}

/** Runs `n` detections on the soak image; returns the wasm memory after and the ms per detection. */
async function soakRun(n) {
  const { detector, image } = soak;
  const start = performance.now();
  let last = null;
  for (let i = 0; i < n; i++) last = await detector.detect(image.data, image.width, image.height, {});
  return {
    memory: detector.memoryBytes(),
    msPerDetection: (performance.now() - start) / n,
    backend: last.backend,
    detections: last.detections.map((d) => d.digit),
    firstDetections: soak.first?.detections ?? null,
  };
}

window.harness.soakStart = soakStart;
window.harness.soakRun = soakRun;
