// The browser benchmark (`make bench-browser`): in Debian's headless Chromium, on the same
// deterministic image and the same weights, digitscope's wasm detector — every CPU engine, with
// and without wasm SIMD (and the direct kernels on relaxed SIMD), and WebGPU (SwiftShader here: a CPU emulation, not a GPU) — against
// TensorFlow.js running the same network with the weights exported by the trainer (`trainer
// export-tf`): its wasm backend (XNNPACK, SIMD, one thread) and its WebGPU backend. Median of
// RUNS runs after 5 warm-up runs, each timed from the pixels to the probabilities read back
// into JS, each CPU engine's runs interleaved with TF.js-wasm's; every heatmap's max |difference|
// from TF.js-wasm's is printed (they must agree). The page is cross-origin isolated, so its
// timer ticks in microseconds (Chromium coarsens it to 0.1 ms otherwise).
// Then the full detector (deep net over its whole pyramid, decoding) at the site's 448×336 pad
// and at 512² and 280², the time to the first
// heatmap after a cold page load, and the shipped size per part. Writes out/bench/browser.json.
// Usage: node bench/browser.mjs [runs]   (needs `make wasm` and out/bench/small-tf.json)
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { packageMounts, serve } from '../tests/browser/server.mjs';
import { launch } from '../tests/browser/chromium.mjs';
import { openFirefox, openWebKit } from '../tests/browser/browsers.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RUNS = Number(process.argv[2] ?? 25);
const WARMUP = 5;
const SIDES = [512, 280];
const OUT = `${ROOT}out/bench`;

/** The full detector's image sizes: the site's pad, and squares. */
const FULL_SIZES = [[448, 336], [512, 512], [280, 280]];
/** The small FCN's multiply-adds by side, from the detector itself (`multiplyAdds`). */
const smallMacs = {};

// TF.js's browser bundles and wasm binaries, from node_modules (devDependencies, pinned).
mkdirSync(`${OUT}/tfjs`, { recursive: true });
const TF = `${ROOT}node_modules/@tensorflow`;
for (const f of ['tfjs-core/dist/tf-core.min.js', 'tfjs-backend-wasm/dist/tf-backend-wasm.min.js', 'tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js',
  'tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm', 'tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm']) {
  copyFileSync(`${TF}/${f}`, `${OUT}/tfjs/${f.split('/').at(-1)}`);
}

const server = await serve(packageMounts(ROOT, {
  '/weights/': `${ROOT}weights`, '/tfjs/': `${OUT}/tfjs`, '/out/': OUT, '/': `${ROOT}bench/pages`,
}), { csp: false, isolated: true });

const maxDiff = (a, b) => (a.length !== b.length ? Infinity : a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0));
const rows = [];
const reference = {};
let tfjsWasm = null;

async function onPage(webgpu, body, { init } = {}) {
  const browser = await launch({ webgpu });
  try {
    const page = await browser.newPage();
    if (init) await page.addInitScript(init);
    page.on('pageerror', (e) => console.error('page error:', String(e)));
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => window.bench !== undefined && window.tf !== undefined, null, { timeout: 60_000 });
    await body(page);
  } finally {
    await browser.close();
  }
}

/**
 * A table row. Small-FCN rows compare with TF.js-wasm: `tf` is its measurement interleaved with
 * this one (CPU engines), else the side's first TF.js-wasm measurement (WebGPU rows).
 */
function record(name, side, r, macs, group, tf = reference[side]) {
  const row = { group, engine: name, side, ms: Number(r.ms.toFixed(2)), 'GFLOP/s': Number(((2 * macs) / r.ms / 1e6).toFixed(1)) };
  if (group === 'small FCN') {
    row['vs tfjs-wasm'] = tf ? Number((r.ms / tf.ms).toFixed(2)) : null;
    row['tfjs-wasm ms'] = tf ? Number(tf.ms.toFixed(2)) : null;
    row['max |diff|'] = tf ? Number(maxDiff(r.probs, tf.probs).toExponential(2)) : null;
  }
  rows.push(row);
  console.log(JSON.stringify(row));
}

const smallOptions = { warmup: WARMUP, runs: RUNS, weightsUrl: '/weights/small.dsw', tfWeightsUrl: '/out/small-tf.json' };
const CPU = [
  ['direct+relaxed', { backend: 'cpu', cpu: 'direct' }],
  ['direct+simd', { backend: 'cpu', cpu: 'direct', relaxedSimd: false }],
  ['flex+simd', { backend: 'cpu', cpu: 'flex', relaxedSimd: false }],
  ['ndarray', { backend: 'cpu', cpu: 'ndarray' }],
];

// 1. The small FCN (the notebook's recipe 1 with its own weights), CPU engines vs TF.js-wasm.
await onPage(false, async (page) => {
  for (const side of SIDES) {
    // Each engine's runs interleaved with TF.js-wasm's (the ratio compares the same stretch of
    // time); TF.js's own row is its run alongside the default engine. First, one discarded TF.js
    // measurement at this size: TF.js's first pairing at a new size ran up to 25 % slower than
    // the later ones, which flattered the engine paired with it.
    await page.evaluate(([s, o]) => window.bench.tfjs('wasm', s, o), [side, smallOptions]);
    for (const [name, options] of CPU) {
      const { tfjs, ours } = await page.evaluate(([o, s, b]) => window.bench.paired(o, s, b), [options, side, smallOptions]);
      const macs = (smallMacs[side] = ours.macs);
      if (!reference[side]) {
        reference[side] = tfjs;
        tfjsWasm = tfjs.backend;
        console.log('TF.js wasm:', JSON.stringify(tfjs.backend));
        record('tfjs-wasm', side, tfjs, macs, 'small FCN');
      }
      record(name, side, ours, macs, 'small FCN', tfjs);
    }
  }
  // 2. The full detector (deep net over its whole pyramid, decoding), CPU engines; its
  // multiply-adds come from the detector itself (`multiplyAdds`: every level it runs).
  for (const [w, h] of FULL_SIZES) {
    for (const [name, options] of CPU) {
      const r = await page.evaluate(([o, s, b]) => window.bench.ours(o, s, b), [options, [w, h], { warmup: 3, runs: Math.max(10, Math.floor(RUNS / 2)), full: true }]);
      record(name, `${w}×${h}`, r, r.macs, 'full detector');
    }
  }
});

// 2b. Past one core: the full detector through DetectorClient (module workers, as the element
// runs it) with a pool of 2 and 4 workers (the pool never exceeds the machine's cores: the row
// says how many ran), each against one worker with their runs interleaved, beside the machine's
// ceiling for that many workers (`poolPaired`: that many whole detections at once), and live
// drawing: one stroke's update against a full detection.
const cores = [];
await onPage(false, async (page) => {
  for (const [w, h] of [[448, 336], [512, 512]]) {
    for (const workers of [2, 4]) {
      const r = await page.evaluate(([n, s, o]) => window.bench.poolPaired(n, s, o), [workers, [w, h], { warmup: 3, runs: Math.max(10, Math.floor(RUNS / 2)) }]);
      cores.push(r.backend.cores);
      const speedUp = r.oneMs / r.ms;
      const row = { group: 'pool', engine: `direct, ${workers} worker(s) asked, ${r.backend.workers} ran`, side: `${w}×${h}`, ms: Number(r.ms.toFixed(2)),
        '1 worker ms': Number(r.oneMs.toFixed(2)), 'speed-up': Number(speedUp.toFixed(2)),
        'machine ceiling': Number(r.ceiling.toFixed(2)), 'of ceiling': Number((speedUp / r.ceiling).toFixed(2)),
        'max |diff|': maxDiff(r.probs, r.oneProbs) };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
  // The pad's default pen on both SIMD modules, and a 2-px pen on the default one (thin strokes:
  // the clean page's count for a notebook's printed lines sees ridges in them).
  for (const [[name, options], pen] of [...CPU.slice(0, 2).map((c) => [c, 8]), [CPU[0], 2]]) {
    const r = await page.evaluate(([o, s, b]) => window.bench.live(o, s, b), [options, [448, 336], { warmup: 3, runs: Math.max(20, RUNS), pen }]);
    const row = { group: 'live stroke', engine: `${name}, ${pen}-px pen`, side: '448×336', ms: Number(r.live.toFixed(2)), 'full detect ms': Number(r.full.toFixed(2)),
      'vs full': Number((r.live / r.full).toFixed(2)), 'cells recomputed': Number(r.recomputed.toFixed(3)), 'same as full': r.sameAsFull };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
});

// 2d. The full detector in Firefox (ESR, WebDriver BiDi) and WebKit (WebKitGTK's MiniBrowser,
// Safari's engine, under Xvfb) beside Chromium's figures above: the default CPU module of
// each (relaxed SIMD where it validates), in the page's thread and through the pool.
// Each browser's runs take turns with Chromium's (a Chromium page open beside it, one run each
// in turn), so that the ratio compares the same stretch of machine time: this machine's speed
// drifts by a third within a minute, and a ratio against Chromium's row above, measured minutes
// earlier, swung as much.
for (const [name, open] of [['Firefox', openFirefox], ['WebKit', openWebKit]]) {
  let browser;
  const chromium = await launch({ webgpu: false });
  try {
    const reference = await chromium.newPage();
    await reference.goto(`${server.url}/index.html`);
    await reference.waitForFunction(() => window.bench !== undefined, null, { timeout: 60_000 });
    browser = await open();
    await browser.goto(`${server.url}/index.html`);
    await browser.waitFor(() => window.bench !== undefined);
    for (const [w, h] of [[448, 336], [512, 512]]) {
      const o = { warmup: 3, runs: 10, full: true };
      const key = `${w}×${h}`;
      await reference.evaluate(([k, s, b]) => window.bench.prepare(k, { backend: 'cpu' }, s, b), [key, [w, h], o]);
      const backend = await browser.evaluate((k, s, b) => window.bench.prepare(k, { backend: 'cpu' }, s, b), key, [w, h], o);
      const times = [[], []];
      for (let i = 0; i < o.runs; i++) {
        times[0].push(await reference.evaluate((k) => window.bench.timeOnce(k), key));
        times[1].push(await browser.evaluate((k) => window.bench.timeOnce(k), key));
      }
      const [chromiumMs, ms] = times.map((t) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]);
      const pooled = await browser.evaluate((s, b) => window.bench.brief('pool', 4, s, b), [w, h], o);
      const row = { group: 'other browsers', engine: `${name} ${browser.version} (${backend.relaxedSimd ? 'relaxed' : 'simd'})`, side: key,
        ms: Number(ms.toFixed(2)), 'Chromium ms': Number(chromiumMs.toFixed(2)), 'vs Chromium': Number((ms / chromiumMs).toFixed(2)),
        'pool ms': Number(pooled.ms.toFixed(2)), 'pool workers': pooled.backend.workers };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  } catch (e) {
    const row = { group: 'other browsers', engine: name, error: String(e.message ?? e).split('\n')[0] };
    rows.push(row);
    console.log(JSON.stringify(row));
  } finally {
    await browser?.close();
    await chromium.close();
  }
}

// 2c. The small FCN at 512²: our pool (no isolation needed) against TF.js-wasm with threads
// (this page is cross-origin isolated; TF.js's threaded SIMD binary, as many threads as
// cores), on a fresh page, runs interleaved. TF.js 4.22's threaded build sizes its pthread
// pool as half of navigator.hardwareConcurrency (at most 4): one thread on a 2-core machine,
// whatever setThreadsCount asks. So this page reports twice the machine's cores, and TF.js
// gets one thread per core; our pool is given the real count.
// Run back to back (the usual benchmark loop: TF.js's threads spin between operators and runs,
// ready at once) and PACE_MS apart (a drawing's pace: each detection after a pause, when TF.js's
// threads and our workers have gone idle), both sides alike.
const realCores = (await import('node:os')).availableParallelism();
const PACE_MS = 50;
await onPage(false, async (page) => {
  const n = realCores;
  for (const gap of [0, PACE_MS]) {
    for (const side of SIDES) {
      const o = { ...smallOptions, gapMs: gap };
      const { tfjs, ours } = await page.evaluate(([w, t, s, o]) => window.bench.pairedPool(w, t, s, o), [n, n, side, o]);
      if (side === SIDES[0] && !gap) console.log('TF.js wasm, threaded:', JSON.stringify(tfjs.backend));
      const group = gap ? `small FCN, every core, runs ${gap} ms apart` : 'small FCN, every core';
      const row = { group, engine: `pool of ${ours.backend.workers}`, side, ms: Number(ours.ms.toFixed(2)),
        'vs tfjs-wasm threads': Number((ours.ms / tfjs.ms).toFixed(2)), 'tfjs-wasm threads ms': Number(tfjs.ms.toFixed(2)),
        'tfjs threads': tfjs.backend.threads, 'max |diff|': Number(maxDiff(ours.probs, tfjs.probs).toExponential(2)) };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
}, { init: `Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => ${2 * realCores} });` });

// 3. WebGPU (SwiftShader: Chromium's CPU emulation of a GPU; a real GPU's figures differ).
await onPage(true, async (page) => {
  for (const side of SIDES) {
    const macs = smallMacs[side];
    const gpuRuns = { ...smallOptions, warmup: 3, runs: 10 };
    for (const [name, call] of [['tfjs-webgpu', () => page.evaluate(([s, o]) => window.bench.tfjs('webgpu', s, o), [side, gpuRuns])],
      ['webgpu', () => page.evaluate(([s, o]) => window.bench.ours({ backend: 'webgpu' }, s, o), [side, gpuRuns])]]) {
      try {
        record(name, side, await call(), macs, 'small FCN');
      } catch (e) {
        console.log(JSON.stringify({ engine: name, side, error: String(e.message ?? e).split('\n')[0] }));
        rows.push({ group: 'small FCN', engine: name, side, error: String(e.message ?? e).split('\n')[0] });
      }
    }
  }
});

// 4. Time to the first heatmap after a cold page load of the site (no cache, no service worker).
const site = await serve({ '/': `${ROOT}www` });
const firstHeatmap = [];
{
  const browser = await launch({ webgpu: false });
  for (let i = 0; i < 5; i++) {
    const context = await browser.newContext({ serviceWorkers: 'block' });
    const page = await context.newPage();
    await page.goto(`${site.url}/index.html`);
    const ms = await page.evaluate(() => new Promise((resolve) => {
      const el = document.querySelector('digit-detector');
      const done = () => resolve(performance.now());
      if (el.result) done(); else el.addEventListener('detect', done, { once: true });
    }));
    firstHeatmap.push(ms);
    await context.close();
  }
  await browser.close();
}
await site.close();
await server.close();
firstHeatmap.sort((a, b) => a - b);

// 5. Shipped size per part (gzip -9 of each file; a browser downloads one CPU module).
const gz = (path) => gzipSync(readFileSync(path), { level: 9 }).length;
const jsOf = (dir) => readdirSync(dir).filter((f) => f.endsWith('.js') && f !== 'samples.js').reduce((n, f) => n + gz(`${dir}/${f}`), 0);
// The modules from the one list (wasm-modules.tsv).
const modules = readFileSync(`${ROOT}wasm-modules.tsv`, 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t'));
const sizes = {
  ...Object.fromEntries(modules.map(([name, , , what]) => [`${name} wasm (${what})`, gz(`${ROOT}www/${name}/digitscope-${name.slice(4)}_bg.wasm`)])),
  'wasm-bindgen JS glue (each module; the site minifies it)': gz(`${ROOT}out/site/pkg-simd/digitscope-simd.js`),
  'weights inside each module (default.dsw)': gz(`${ROOT}weights/default.dsw`),
  // What the site serves (make site minifies each file), and the package's readable sources,
  // which a bundler minifies as the site does.
  'element, worker and loader (the site: src/*.js minified)': jsOf(`${ROOT}out/site/src`),
  'the same, as the npm package ships them (www/src/*.js)': jsOf(`${ROOT}www/src`),
  'wasm-bindgen JS glue, as the npm package ships it': gz(`${ROOT}www/pkg-simd/digitscope-simd.js`),
  // The default download: the default CPU module, its glue and the package's JS as the site serves them.
  'default download (pkg-relaxed, its glue, src/*.js; the site)': gz(`${ROOT}out/site/pkg-relaxed/digitscope-relaxed_bg.wasm`) + gz(`${ROOT}out/site/pkg-relaxed/digitscope-relaxed.js`) + jsOf(`${ROOT}out/site/src`),
};
const report = { runs: RUNS, warmup: WARMUP, tfjsWasm, cores: cores[0] ?? null, chromium: statSync('/usr/bin/chromium').isFile() ? 'Debian /usr/bin/chromium' : null, rows, firstHeatmapMs: { median: firstHeatmap[2], all: firstHeatmap }, sizesGzip: sizes };
writeFileSync(`${OUT}/browser.json`, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nmedian of ${RUNS} runs after ${WARMUP} warm-up; GFLOP/s = 2 × multiply-adds / time`);
console.table(rows.map(({ group, engine, side, ms, ...rest }) => ({ group, engine, side, ms, ...rest })));
console.log(`time to first heatmap after a cold load of the site: median ${firstHeatmap[2].toFixed(0)} ms (${firstHeatmap.map((t) => t.toFixed(0)).join(', ')})`);
console.table(Object.entries(sizes).map(([part, bytes]) => ({ part, 'gzip bytes': bytes })));
console.log(`written to out/bench/browser.json`);
