// GPU faults under <digit-detector> in real headless Chromium with a (SwiftShader) WebGPU
// adapter: no adapter, requestDevice failing, a parity mismatch, and the device destroyed in the
// middle of a session. Each time the element carries on on the CPU and says so, the user's
// strokes are kept, and the heatmap it shows is the one a CPU-only detector computes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

import { packageMounts, serve } from './server.mjs';
import { launch } from './chromium.mjs';
import { STROKES, drawDigit, settled } from './drawing.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PLACES = [[16, 20], [110, 30], [60, 120]];
const SCALE = 2;

let server;
let browser;
before(async () => {
  server = await serve(packageMounts(ROOT));
  browser = await launch({ webgpu: true });
});
after(async () => {
  await browser.close();
  await server.close();
});

async function openElement(context, query) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${server.url}/element.html?${query}`);
  await settled(page);
  const box = await page.locator('digit-detector canvas.ink').boundingBox();
  return { page, errors, box };
}

const status = (page) => page.locator('digit-detector').locator('[role=status]').textContent();

/**
 * The largest difference between the heatmap the element shows and a CPU-only detector's
 * heatmap of the element's current canvas (created in the page from the package's loader, from
 * the module whose kernels the element runs: the relaxed-SIMD one after a fallback in the loader,
 * the WebGPU module's own SIMD kernels after one inside it — fused multiply-adds round
 * differently, so the two differ by about 4e-7).
 */
function differenceFromCpu(page) {
  return page.evaluate(async () => {
    const el = document.querySelector('digit-detector');
    const { createDetector } = await import('/src/load.js');
    const cpu = await createDetector({ backend: 'cpu', relaxedSimd: Boolean(el.client.backend?.relaxedSimd) });
    const { width, height } = el.canvas;
    const pixels = el.canvas.getContext('2d').getImageData(0, 0, width, height).data;
    const expected = await cpu.detect(pixels, width, height, { invert: el.darkInk });
    const shown = el.result.probs;
    if (shown.length !== expected.probs.length) return Infinity;
    return shown.reduce((m, v, i) => Math.max(m, Math.abs(v - expected.probs[i])), 0);
  });
}

const digits = (result) => result.detections.map((d) => d.digit).sort();

describe('GPU faults under <digit-detector> (Chromium with a SwiftShader WebGPU adapter)', () => {
  const startFaults = [
    ['no adapter', 'fault=no-adapter', /WebGPU unavailable: this browser offers no WebGPU adapter/],
    ['requestDevice failing', 'fault=request-device', /WebGPU unavailable: Unable to request a wgpu device: Error: requestDevice failed \(test fault\)/],
    ['a parity mismatch', 'parity=0.5', /WebGPU disagrees with the CPU on the self-test \(max difference 5\.\d+e-1 > 1e-3\)/],
  ];
  for (const [name, query, reason] of startFaults) {
    test(`${name}: the element runs on the CPU, says why, and shows the CPU's heatmap`, async () => {
      const context = await browser.newContext();
      const { page, errors, box } = await openElement(context, query);
      const backend = await page.evaluate(() => document.querySelector('digit-detector').client.backend);
      assert.equal(backend.name, 'cpu');
      assert.match(backend.reason, reason);
      for (const [i, digit] of STROKES.entries()) await drawDigit(page, box, digit, ...PLACES[i], SCALE);
      const result = await settled(page);
      assert.equal(result.backend, 'cpu');
      assert.deepEqual(digits(result), STROKES.map((s) => s.digit).sort(), JSON.stringify(result.detections));
      assert.match(await status(page), /^3 digits: .* · CPU \(direct\) — WebGPU (unavailable|disagrees)/);
      assert.equal(await differenceFromCpu(page), 0);
      assert.deepEqual(errors, []);
      await context.close();
    });
  }

  test('the device destroyed mid-session: the next heatmap comes from the CPU, strokes kept', async () => {
    const context = await browser.newContext();
    const { page, errors, box } = await openElement(context, 'fault=lose-device');
    for (const [i, digit] of STROKES.slice(0, 2).entries()) await drawDigit(page, box, digit, ...PLACES[i], SCALE);
    const onGpu = await settled(page);
    assert.equal(onGpu.backend, 'webgpu');
    assert.match(await status(page), /· WebGPU ·/);
    const strokesBefore = await page.evaluate(() => document.querySelector('digit-detector').strokes.length);

    const lost = await page.evaluate(() => document.querySelector('digit-detector').client.request({ type: 'test-lose-device' }));
    assert.ok(lost.lost >= 1, 'a device was destroyed');
    await drawDigit(page, box, STROKES[2], ...PLACES[2], SCALE);
    const onCpu = await settled(page);
    assert.equal(onCpu.backend, 'cpu');
    assert.deepEqual(digits(onCpu), STROKES.map((s) => s.digit).sort(), JSON.stringify(onCpu.detections));
    assert.match(await status(page), /^3 digits: .* · CPU \(direct\) — WebGPU failed during detection/);
    const changes = await page.evaluate(() => window.backendChanges);
    assert.equal(changes.length, 1);
    assert.match(changes[0].reason, /^WebGPU failed during detection: .*(destroyed|lost|poisoned)/i);
    const strokesAfter = await page.evaluate(() => document.querySelector('digit-detector').strokes.length);
    assert.equal(strokesAfter, strokesBefore + STROKES[2].strokes.length, 'no stroke lost in the fallback');
    assert.equal(await differenceFromCpu(page), 0);

    // The strokes also survive a reload (local storage), on a fresh detector.
    await page.reload();
    const reloaded = await settled(page);
    assert.equal(await page.evaluate(() => document.querySelector('digit-detector').strokes.length), strokesAfter);
    assert.deepEqual(digits(reloaded), digits(onCpu));
    assert.deepEqual(errors, []);
    await context.close();
  });
});
