// The browser benchmark's page: the same network and weights on digitscope's wasm detector (each
// CPU engine, with and without wasm SIMD, and WebGPU) and on TensorFlow.js (its wasm backend:
// XNNPACK, SIMD, one thread; its WebGPU backend). Each run is timed from the pixels to the
// probabilities read back into JS. Driven by bench/browser.mjs.
import { createDetector } from '/src/load.js';

/** A deterministic test image: sparse strokes of ink on black, intensities in [0, 1]. */
function image(side) {
  const px = new Float32Array(side * side);
  let s = 12345;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let k = 0; k < (side * side) / 300; k++) {
    let x = rand() * side, y = rand() * side;
    const [dx, dy] = [rand() - 0.5, rand() - 0.5];
    for (let t = 0; t < 20; t++, x += dx * 2, y += dy * 2) {
      const [ix, iy] = [Math.floor(x), Math.floor(y)];
      if (ix >= 0 && iy >= 0 && ix < side && iy < side) px[iy * side + ix] = 1;
    }
  }
  return px;
}

function median(times) {
  const t = [...times].sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

async function timeRuns(run, warmup, runs) {
  let probs = null;
  for (let i = 0; i < warmup; i++) probs = await run();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    probs = await run();
    times.push(performance.now() - t);
  }
  return { ms: median(times), min: Math.min(...times), probs };
}

const weightCache = new Map();
async function bytes(url) {
  if (!weightCache.has(url)) weightCache.set(url, new Uint8Array(await (await fetch(url)).arrayBuffer()));
  return weightCache.get(url);
}

/** digitscope: `options` for createDetector; `full`: the whole detector (pyramid, decoding). */
async function ours(options, side, { warmup, runs, weightsUrl, full }) {
  const weights = weightsUrl ? await bytes(weightsUrl) : undefined;
  const detector = await createDetector({ ...options, weights });
  const px = image(side);
  const call = full ? (p) => detector.detect(p, side, side, {}) : (p) => detector.heatmap(p, side, side, {});
  const result = await timeRuns(async () => (await call(px)).probs, warmup, runs);
  return { ...result, backend: detector.backend, probs: Array.from(result.probs) };
}

/** The FCN in TF.js ops: 'same' convolutions with fused bias, swish, 1×1 convolutions for the head. */
function tfModel(w) {
  const t = (a, shape) => tf.tensor(a, shape, 'float32');
  const convs = w.convs.map((c) => ({ kernel: t(c.kernel, c.shape), bias: t(c.bias, [c.bias.length]), stride: c.stride }));
  const dense = (d) => ({ kernel: t(d.kernel, [1, 1, ...d.shape]), bias: t(d.bias, [d.bias.length]) });
  const [hidden, output] = [dense(w.dense), dense(w.output)];
  const swish = (x) => tf.mul(x, tf.sigmoid(x));
  return (x) => {
    let h = x;
    for (const c of convs) h = swish(tf.fused.conv2d({ x: h, filter: c.kernel, strides: c.stride, pad: 'same', bias: c.bias }));
    if (w.pooling === 'max3') h = tf.maxPool(h, 3, 1, 'same');
    h = swish(tf.fused.conv2d({ x: h, filter: hidden.kernel, strides: 1, pad: 'valid', bias: hidden.bias }));
    const logits = tf.fused.conv2d({ x: h, filter: output.kernel, strides: 1, pad: 'valid', bias: output.bias });
    return tf.transpose(tf.softmax(logits), [0, 3, 1, 2]); // class-major, like digitscope's
  };
}

/** TF.js on `backend` ("wasm" or "webgpu") with the exported weights. */
async function tfjs(backend, side, { warmup, runs, tfWeightsUrl }) {
  if (backend === 'wasm') {
    tf.wasm.setWasmPaths('/tfjs/');
    tf.wasm.setThreadsCount?.(1);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} unavailable`);
  await tf.ready();
  const model = tfModel(await (await fetch(tfWeightsUrl)).json());
  const px = image(side);
  const run = async () => {
    const out = tf.tidy(() => model(tf.tensor4d(px, [1, side, side, 1])));
    const data = await out.data();
    out.dispose();
    return data;
  };
  const result = await timeRuns(run, warmup, runs);
  const wasm = backend === 'wasm';
  const simd = wasm ? await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') : null;
  const threads = wasm ? tf.wasm.getThreadsCount?.() ?? null : null;
  return { ...result, probs: Array.from(result.probs), backend: { name: `tfjs-${backend}`, simd, threads } };
}

window.bench = { ours, tfjs };
