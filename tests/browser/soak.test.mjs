// Soak: consecutive detections in Chromium on each path (CPU; WebGPU on SwiftShader), bounded by
// time and by count: each path runs until SOAK_DETECTIONS detections (default 2000) or
// SOAK_SECONDS seconds (default 60; 0 = no time bound, as `make soak` runs it), whichever comes
// first, so that a slow machine runs fewer detections instead of timing out — but never fewer than
// the path's minimum: where the time is up first, the path runs on until its minimum, at its own
// pace (SwiftShader's WebGPU took 3.3 s a detection on a slow machine: 19 in 60 s)
// (SOAK_PATHS=cpu runs one path). Wasm linear memory
// and the JS heap (after a forced GC) are sampled after a warm-up and then about a dozen times
// along the run; growth is judged on what ran: the least-squares line through the samples must
// rise less than 5 % over the run, and so must the last sample over the first. A path must run
// at least its minimum of detections (CPU 300, WebGPU 30) for the verdict to count.
// Prints a report (also written to out/soak.json).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { packageMounts, serve } from './server.mjs';
import { launch, openPage } from './chromium.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DETECTIONS = Number(process.env.SOAK_DETECTIONS ?? 2000);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const SIZE = Number(process.env.SOAK_SIZE ?? 64);
const WARMUP = 50;
const SAMPLES = 12;
const MAX_GROWTH = 0.05;
// Startup (browser, module compilation, WebGPU pipelines) and the final GC, on a slow machine.
const STARTUP_ALLOWANCE_MS = 600_000;
// A slow machine's run past SOAK_SECONDS up to the path's minimum of detections.
const MINIMUM_ALLOWANCE_MS = 600_000;

let server;
const report = [];
before(async () => {
  server = await serve(packageMounts(ROOT));
});
after(async () => {
  await server.close();
  mkdirSync(`${ROOT}out`, { recursive: true });
  writeFileSync(`${ROOT}out/soak.json`, `${JSON.stringify(report, null, 2)}\n`);
  const bound = SECONDS > 0 ? `${DETECTIONS} detections or ${SECONDS} s a path` : `${DETECTIONS} detections a path`;
  console.log(`soak: ${SIZE}×${SIZE} image, ${WARMUP} warm-up detections, then ${bound}`);
  console.table(report.map(({ samples, ...row }) => row));
});

/**
 * The JS heap in use after a forced GC: the least of three readings, each after its own GC (a
 * single reading now and then catches garbage not yet swept, hundreds of KB above the rest).
 */
async function jsHeap(cdp) {
  let least = Infinity;
  for (let i = 0; i < 3; i++) {
    await cdp.send('HeapProfiler.collectGarbage');
    least = Math.min(least, (await cdp.send('Runtime.getHeapUsage')).usedSize);
  }
  return least;
}

/** Least-squares slope of `y` against `x` (0 for fewer than two distinct x). */
function slope(points, y) {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.detections, 0) / n;
  const my = points.reduce((s, p) => s + p[y], 0) / n;
  const sxx = points.reduce((s, p) => s + (p.detections - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.detections - mx) * (p[y] - my), 0);
  return sxx > 0 ? sxy / sxx : 0;
}

const percent = (x) => Number((x * 100).toFixed(2));

const PATHS = (process.env.SOAK_PATHS ?? 'cpu,webgpu').split(',');
for (const [path, webgpu, minimum] of [['cpu', false, 300], ['webgpu', true, 30]].filter(([p]) => PATHS.includes(p))) {
  const timeout = SECONDS > 0 ? SECONDS * 1000 + STARTUP_ALLOWANCE_MS + MINIMUM_ALLOWANCE_MS : undefined;
  test(`detections on the ${path} path keep memory flat (up to ${DETECTIONS}${SECONDS > 0 ? ` or ${SECONDS} s` : ''})`, { timeout }, async () => {
    const browser = await launch({ webgpu });
    try {
      const { page, errors } = await openPage(browser, `${server.url}/index.html`);
      await page.waitForFunction(() => window.harness !== undefined);
      const cdp = await page.context().newCDPSession(page);
      const start = await page.evaluate(([b, size, warmup]) => window.harness.soakStart({ backend: b }, size, warmup), [path, SIZE, WARMUP]);
      assert.equal(start.backend.name, path, JSON.stringify(start.backend));
      const samples = [{ detections: 0, wasm: start.memory, heap: await jsHeap(cdp) }];
      // Chunks sized from the warm-up's pace, so that about SAMPLES samples fall in the run.
      const budgetMs = SECONDS > 0 ? SECONDS * 1000 : DETECTIONS * start.msPerDetection;
      const chunk = Math.max(1, Math.min(Math.ceil(DETECTIONS / SAMPLES), Math.round(budgetMs / SAMPLES / Math.max(start.msPerDetection, 0.01))));
      const began = Date.now();
      let ran = 0;
      let last;
      while (ran < DETECTIONS && (SECONDS <= 0 || Date.now() - began < SECONDS * 1000 || ran < minimum)) {
        const n = Math.min(chunk, DETECTIONS - ran);
        last = await page.evaluate((k) => window.harness.soakRun(k), n);
        assert.equal(last.backend, path);
        assert.deepEqual(last.detections, last.firstDetections, 'the last detection equals the first');
        ran += n;
        samples.push({ detections: ran, wasm: last.memory, heap: await jsHeap(cdp) });
      }
      const seconds = (Date.now() - began) / 1000;
      const first = samples[0];
      const end = samples.at(-1);
      const fitted = (y) => (slope(samples, y) * ran) / first[y];
      const row = {
        path,
        detections: ran,
        seconds: Number(seconds.toFixed(1)),
        'ms/detection': Number(((seconds * 1000) / ran).toFixed(2)),
        samples: samples.length,
        'wasm start (B)': first.wasm,
        'wasm end (B)': end.wasm,
        'wasm growth %': percent((end.wasm - first.wasm) / first.wasm),
        'wasm fitted growth %': percent(fitted('wasm')),
        'JS heap start (B)': first.heap,
        'JS heap end (B)': end.heap,
        'JS heap growth %': percent((end.heap - first.heap) / first.heap),
        'JS heap fitted growth %': percent(fitted('heap')),
        'JS heap B/detection': Math.round(slope(samples, 'heap')),
      };
      report.push({ ...row, samples });
      assert.ok(ran >= minimum, `only ${ran} detections ran in ${seconds.toFixed(1)} s (at least ${minimum} are needed to judge growth): ${JSON.stringify(row)}`);
      assert.ok(end.wasm <= first.wasm * (1 + MAX_GROWTH), `wasm memory grew: ${JSON.stringify(row)}`);
      assert.ok(fitted('wasm') < MAX_GROWTH, `wasm memory rises along the run: ${JSON.stringify(row)}`);
      assert.ok(end.heap <= first.heap * (1 + MAX_GROWTH), `JS heap grew: ${JSON.stringify(row)}`);
      assert.ok(fitted('heap') < MAX_GROWTH, `JS heap rises along the run: ${JSON.stringify(row)}`);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
}
