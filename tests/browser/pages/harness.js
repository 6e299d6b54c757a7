// Loads the wasm detector the way the package does (src/load.js: CPU module first, WebGPU module
// where an adapter exists) and exposes helpers to the browser tests. No inline script: the pages
// are served under a strict Content-Security-Policy.
import { createDetector } from '/src/load.js';

/** RGBA pixels of a PNG, through a canvas, as a user's page would get them. */
async function pixelsOf(url) {
  const bitmap = await createImageBitmap(await (await fetch(url)).blob());
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0);
  return ctx.getImageData(0, 0, bitmap.width, bitmap.height);
}

/** Creates a detector and runs it on a PNG; returns plain data. */
async function detectPng(options, url = '/samples/notebook-composite.png') {
  const detector = await createDetector(options);
  const image = await pixelsOf(url);
  const result = await detector.detect(image.data, image.width, image.height, {});
  return {
    backend: detector.backend,
    result: { ...result, probs: Array.from(result.probs), classes: Array.from(result.classes) },
  };
}

window.harness = { createDetector, pixelsOf, detectPng };
