// Soak: 2,000 consecutive detections in Chromium on each path (CPU; WebGPU on SwiftShader), with
// wasm linear memory and the JS heap (after a forced GC) measured after a warm-up and at the end.
// Prints a report (also written to out/soak.json); fails on growth of 5 % or more.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { packageMounts, serve } from './server.mjs';
import { launch, openPage } from './chromium.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DETECTIONS = Number(process.env.SOAK_DETECTIONS ?? 2000);
const SIZE = Number(process.env.SOAK_SIZE ?? 64);
const WARMUP = 50;
const MAX_GROWTH = 0.05;

let server;
const report = [];
before(async () => {
  server = await serve(packageMounts(ROOT));
});
after(async () => {
  await server.close();
  mkdirSync(`${ROOT}out`, { recursive: true });
  writeFileSync(`${ROOT}out/soak.json`, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`soak: ${DETECTIONS} detections of a ${SIZE}×${SIZE} image after ${WARMUP} warm-up`);
  console.table(report);
});

async function jsHeap(cdp) {
  await cdp.send('HeapProfiler.collectGarbage');
  return (await cdp.send('Runtime.getHeapUsage')).usedSize;
}

for (const [path, webgpu, backend] of [['cpu', false, 'cpu'], ['webgpu', true, 'webgpu']]) {
  test(`${DETECTIONS} detections on the ${path} path keep memory flat`, { timeout: 900_000 }, async () => {
    const browser = await launch({ webgpu });
    try {
      const { page, errors } = await openPage(browser, `${server.url}/index.html`);
      await page.waitForFunction(() => window.harness !== undefined, null, { timeout: 60_000 });
      const cdp = await page.context().newCDPSession(page);
      const start = await page.evaluate(([b, size, warmup]) => window.harness.soakStart({ backend: b }, size, warmup), [backend, SIZE, WARMUP]);
      assert.equal(start.backend.name, backend, JSON.stringify(start.backend));
      const heapStart = await jsHeap(cdp);
      const end = await page.evaluate((n) => window.harness.soakRun(n), DETECTIONS);
      const heapEnd = await jsHeap(cdp);
      assert.equal(end.backend, backend);
      assert.deepEqual(end.detections, end.firstDetections, 'the last detection equals the first');
      const row = {
        path,
        'ms/detection': Number(end.msPerDetection.toFixed(2)),
        'wasm start (B)': start.memory,
        'wasm end (B)': end.memory,
        'wasm growth %': Number((((end.memory - start.memory) / start.memory) * 100).toFixed(2)),
        'JS heap start (B)': heapStart,
        'JS heap end (B)': heapEnd,
        'JS heap growth %': Number((((heapEnd - heapStart) / heapStart) * 100).toFixed(2)),
      };
      report.push(row);
      assert.ok(end.memory <= start.memory * (1 + MAX_GROWTH), `wasm memory grew: ${JSON.stringify(row)}`);
      assert.ok(heapEnd <= heapStart * (1 + MAX_GROWTH), `JS heap grew: ${JSON.stringify(row)}`);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
}
