// The browser benchmark's page: the same network and weights on digitscope's wasm detector (each
// CPU engine, with and without wasm SIMD, and WebGPU) and on TensorFlow.js (its wasm backend:
// XNNPACK, SIMD, one thread; its WebGPU backend). Each run is timed from the pixels to the
// probabilities read back into JS. Driven by bench/browser.mjs.
import { createDetector } from '/src/load.js';
import { DetectorClient } from '/src/client.js';

/** A deterministic w×h test image: sparse strokes of ink on black, intensities in [0, 1]. */
function image(w, h = w) {
  const px = new Float32Array(w * h);
  let s = 12345;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let k = 0; k < (w * h) / 300; k++) {
    let x = rand() * w, y = rand() * h;
    const [dx, dy] = [rand() - 0.5, rand() - 0.5];
    for (let t = 0; t < 20; t++, x += dx * 2, y += dy * 2) {
      const [ix, iy] = [Math.floor(x), Math.floor(y)];
      if (ix >= 0 && iy >= 0 && ix < w && iy < h) px[iy * w + ix] = 1;
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

/**
 * digitscope: `options` for createDetector; `side` a number or [width, height]; `full`: the whole
 * detector (pyramid, decoding).
 */
async function oursRunner(options, side, { weightsUrl, full }) {
  const weights = weightsUrl ? await bytes(weightsUrl) : undefined;
  const detector = await createDetector({ ...options, weights });
  const [w, h] = Array.isArray(side) ? side : [side, side];
  const px = image(w, h);
  const call = full ? (p) => detector.detect(p, w, h, { ink: 'light' }) : (p) => detector.heatmap(p, w, h, {});
  // The detector's own count: every level `detect` runs; for `heatmap` (the small net's weights,
  // whose pyramid is the image alone) the FCN at the image's size.
  return { run: async () => (await call(px)).probs, backend: async () => detector.backend, macs: detector.multiplyAdds(w, h) };
}

/** Median time of `runs` runs after `warmup`, the last run's probabilities, and the backend. */
async function measure(runner, { warmup, runs }) {
  const result = await timeRuns(runner.run, warmup, runs);
  return { ...result, backend: await runner.backend(), probs: Array.from(result.probs), macs: runner.macs ?? null };
}

const ours = async (options, side, o) => measure(await oursRunner(options, side, o), o);

/**
 * The detector through DetectorClient (module workers, as the element runs it) with a pool of
 * `workers` on the CPU's direct kernels: `detect` (every pyramid level the weights ask for, and
 * decoding), or with `o.heatmap` the FCN's heatmap alone, timed from the pixels posted to the
 * result received.
 */
async function poolRunner(workers, side, o) {
  const weights = o.weightsUrl ? await bytes(o.weightsUrl) : undefined;
  const client = new DetectorClient({ backend: 'cpu', workers, weights });
  await client.ready;
  await Promise.all(client.helpers.map((h) => h.ready));
  const [w, h] = Array.isArray(side) ? side : [side, side];
  const px = image(w, h);
  let used = 1;
  // `o.heatmap`: the FCN's heatmap alone (pooled in bands of the image), else `detect`.
  const call = o.heatmap ? () => client.heatmap(px, w, h, { ink: 'light' }) : () => client.detect(px, w, h, { ink: 'light' });
  const run = async () => {
    const r = await call();
    used = r.workers ?? 1;
    return r.probs;
  };
  const backend = async () => ({ ...client.backend, workers: used, cores: navigator.hardwareConcurrency });
  return { run, backend, close: () => client.terminate() };
}

async function pool(workers, side, o) {
  const runner = await poolRunner(workers, side, o);
  try {
    return await measure(runner, o);
  } finally {
    runner.close();
  }
}

/**
 * The pool of `workers` against one worker, their runs interleaved (one worker, the pool, …) so
 * that both medians come from the same stretch of machine time: a 2-core VM's speed drifts by a
 * third within a minute, and a speed-up from two back-to-back measurements is that drift as much
 * as the pool. With them, the machine's own ceiling for as many workers as the pool ran: that many
 * single workers, each detecting the whole image at once (no sharing, nothing to coordinate),
 * timed together — `ceiling` = n × one worker's time / their time together, the most any split
 * of the work over n workers can gain here (cores that share a physical core, memory, or a
 * hypervisor's time give less than n).
 */
async function poolPaired(workers, side, o) {
  const one = await poolRunner(1, side, o);
  const pool = await poolRunner(workers, side, o);
  const solos = [];
  try {
    await pool.run();
    const ran = (await pool.backend()).workers;
    for (let i = 0; i < ran; i++) solos.push(await poolRunner(1, side, o));
    // n whole detections at once; the first one's probabilities and backend stand for them.
    const together = { run: async () => (await Promise.all(solos.map((s) => s.run())))[0], backend: solos[0].backend };
    const [single, pooled, all] = await interleavedRuns([one, pool, together], o);
    return {
      oneMs: single.ms, ms: pooled.ms, togetherMs: all.ms, ceiling: (ran * single.ms) / all.ms,
      probs: pooled.probs, oneProbs: single.probs, backend: pooled.backend,
    };
  } finally {
    for (const r of [one, pool, ...solos]) r.close();
  }
}

/**
 * The pool (`workers`) and TF.js-wasm with `threads` threads (this page must be fresh: TF.js
 * keeps the threads it started with), runs interleaved as in `paired`.
 */
async function pairedPool(workers, threads, side, o) {
  // TF.js computes the heatmap only: ours too (the client's pooled `heatmap`, each worker given
  // its band of the image).
  const pool = await poolRunner(workers, side, { ...o, heatmap: true });
  try {
    return await interleaved([await tfjsRunner('wasm', side, { ...o, threads }), pool], o);
  } finally {
    pool.close();
  }
}

/** A w×h drawing's pixels with one more pen stroke: a `length`-px segment of pen `pen`, the i-th of a walk over the pad. */
function addStroke(px, w, h, i, { length = 40, pen = 8 } = {}) {
  const cx = 40 + ((i * 97) % (w - 80)), cy = 40 + ((i * 61) % (h - 80));
  const angle = i * 2.4;
  const [dx, dy] = [Math.cos(angle) * length, Math.sin(angle) * length];
  for (let t = 0; t <= 1; t += 0.5 / length) {
    const [x, y] = [cx + dx * (t - 0.5), cy + dy * (t - 0.5)];
    for (let yy = Math.floor(y - pen / 2); yy <= y + pen / 2; yy++) {
      for (let xx = Math.floor(x - pen / 2); xx <= x + pen / 2; xx++) {
        if (xx >= 0 && yy >= 0 && xx < w && yy < h && (xx - x) ** 2 + (yy - y) ** 2 <= (pen / 2) ** 2) px[yy * w + xx] = 1;
      }
    }
  }
}

/**
 * Live drawing: a w×h pad holding a drawing (30 strokes: 40-px segments, an `o.pen`-px pen, by
 * default 8 px, the pad's default); each run adds one more stroke and runs `detect(…, { live:
 * true, drawing: true })` in this thread (the wasm call alone, as in the element's worker,
 * which reads its own strokes as a drawing). Also a full
 * `detect` of the same pads, and whether the last live heatmap equals the full one bit for bit.
 */
async function live(options, side, o) {
  const detector = await createDetector(options);
  const [w, h] = side;
  const pen = o.pen ?? 8;
  const px = new Float32Array(w * h);
  for (let k = 0; k < 30; k++) addStroke(px, w, h, 1000 + k, { pen });
  await detector.detect(px, w, h, { ink: 'light', live: true, drawing: true });
  let i = 0, cells = 0, total = 0;
  const update = async () => {
    addStroke(px, w, h, i++, { pen });
    const r = await detector.detect(px, w, h, { ink: 'light', live: true, drawing: true });
    cells += r.recomputed.cells;
    total += r.recomputed.total;
    return r.probs;
  };
  const liveRuns = await timeRuns(update, o.warmup, o.runs);
  const full = await timeRuns(async () => (await detector.detect(px, w, h, { ink: 'light', drawing: true })).probs, o.warmup, o.runs);
  const same = liveRuns.probs.length === full.probs.length && liveRuns.probs.every((v, k) => Object.is(v, full.probs[k]));
  return { live: liveRuns.ms, full: full.ms, recomputed: cells / total, sameAsFull: same, backend: detector.backend };
}
const tfjs = async (backend, side, o) => measure(await tfjsRunner(backend, side, o), o);

/**
 * digitscope (`options`) and TF.js-wasm on the same image, their runs interleaved (TF.js, ours,
 * TF.js, ours…), so that both medians come from the same stretch of machine time: the ratio is
 * not skewed by a background task that slows one of two back-to-back measurements.
 */
async function paired(options, side, o) {
  return interleaved([await tfjsRunner('wasm', side, o), await oursRunner(options, side, o)], o);
}

/** A TF.js runner and one of ours, their runs interleaved (see `paired`): `{ tfjs, ours }`. */
async function interleaved(runners, o) {
  const [tf, us] = await interleavedRuns(runners, o);
  return { tfjs: tf, ours: us };
}

/**
 * `runners` taking turns, one run each (first, second, …, first again …), after `o.warmup`
 * rounds: each runner's median and least time, last probabilities, backend and multiply-adds.
 */
async function interleavedRuns(runners, o) {
  const times = runners.map(() => []);
  const probs = runners.map(() => null);
  for (let i = 0; i < o.warmup; i++) for (const [k, r] of runners.entries()) probs[k] = await r.run();
  for (let i = 0; i < o.runs; i++) {
    for (const [k, r] of runners.entries()) {
      // `gapMs`: a pause before each timed run (a drawing's pace; both sides alike).
      if (o.gapMs) await new Promise((resolve) => setTimeout(resolve, o.gapMs));
      const t = performance.now();
      probs[k] = await r.run();
      times[k].push(performance.now() - t);
    }
  }
  return Promise.all(runners.map(async (r, k) => ({
    ms: median(times[k]), min: Math.min(...times[k]), probs: Array.from(probs[k]), backend: await r.backend(), macs: r.macs ?? null,
  })));
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
async function tfjsRunner(backend, side, { tfWeightsUrl, threads = 1 }) {
  if (backend === 'wasm') {
    // The page is cross-origin isolated (for a fine timer and for TF.js's threads). One thread:
    // the single-threaded SIMD binary; more: the threaded one with that many threads (a page
    // runs one TF.js configuration: the bench opens a fresh page for it).
    if (threads === 1) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    tf.wasm.setWasmPaths('/tfjs/');
    tf.wasm.setThreadsCount?.(threads);
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
  const describe = async () => {
    const wasm = backend === 'wasm';
    const simd = wasm ? await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') : null;
    const threads = wasm ? tf.wasm.getThreadsCount?.() ?? null : null;
    const binary = performance.getEntriesByType('resource').map((e) => e.name.split('/').at(-1)).filter((n) => n.endsWith('.wasm') && n.startsWith('tfjs-'));
    return { name: `tfjs-${backend}`, simd, threads, binary, crossOriginIsolated };
  };
  return { run, backend: describe };
}

/**
 * A runner kept in the page under `key` (`ours` with `options`, `side` and `o`), warmed up, for
 * `timeOnce`: two pages (two browsers) can then take turns, one run each, so that their medians
 * come from the same stretch of machine time.
 */
const prepared = new Map();
async function prepare(key, options, side, o) {
  const runner = await oursRunner(options, side, o);
  for (let i = 0; i < (o.warmup ?? 0); i++) await runner.run();
  prepared.set(key, runner);
  const backend = await runner.backend();
  return { relaxedSimd: backend.relaxedSimd ?? null, name: backend.name ?? null };
}

/** One timed run of the runner `prepare` kept under `key` (ms). */
async function timeOnce(key) {
  const runner = prepared.get(key);
  const t = performance.now();
  await runner.run();
  return performance.now() - t;
}

/** `bench[name](...args)` without the probabilities (for WebDriver, which sends results as JSON). */
async function brief(name, ...args) {
  const { probs, ...rest } = await window.bench[name](...args);
  return rest;
}

window.bench = { ours, tfjs, paired, pool, poolPaired, pairedPool, live, brief, prepare, timeOnce };
