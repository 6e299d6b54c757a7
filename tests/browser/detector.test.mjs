// The wasm Detector in real headless Chromium: CPU path, WebGPU path (SwiftShader), forced
// fallbacks and bad input. Compared against the native CLI on the notebook's composite.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { packageMounts, serve } from './server.mjs';
import { launch, openPage } from './chromium.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NATIVE = process.env.DIGITSCOPE_BIN ?? `${process.env.CARGO_TARGET_DIR ?? `${ROOT}target`}/release/digitscope`;

let server;
before(async () => {
  server = await serve(packageMounts(ROOT));
});
after(() => server.close());

function native() {
  const out = execFileSync(NATIVE, ['detect', '--json', '--probs', `${ROOT}samples/notebook-composite.png`]);
  return JSON.parse(out.toString());
}

async function harnessPage(browser) {
  const { page, errors } = await openPage(browser, `${server.url}/index.html`);
  await page.waitForFunction(() => window.harness !== undefined);
  return { page, errors };
}

const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

function assertSameDetections(actual, expected, tolerance) {
  assert.equal(actual.length, expected.length, JSON.stringify({ actual, expected }));
  actual.forEach((d, i) => {
    const e = expected[i];
    assert.equal(d.digit, e.digit);
    for (const k of ['score', 'x', 'y', 'w', 'h']) assert.ok(Math.abs(d[k] - e[k]) <= tolerance, `${k}: ${d[k]} vs ${e[k]}`);
  });
}

describe('CPU path (no WebGPU adapter)', () => {
  let browser;
  before(async () => { browser = await launch({ webgpu: false }); });
  after(() => browser.close());

  test('auto falls back to the CPU, says why, and matches the native CLI', async () => {
    const { page, errors } = await harnessPage(browser);
    const { backend, result } = await page.evaluate(() => window.harness.detectPng({ backend: 'auto' }));
    assert.equal(backend.name, 'cpu');
    assert.match(backend.reason, /WebGPU/);
    const expected = native();
    assert.equal(result.rows, expected.heatmap.rows);
    assert.equal(result.cols, expected.heatmap.cols);
    const diff = maxDiff(result.probs, expected.heatmap.probs);
    assert.ok(diff <= 1e-4, `heatmap differs from native by ${diff}`);
    assertSameDetections(result.detections, expected.detections, 1e-3);
    assert.equal(result.detections.length, 7);
    assert.deepEqual(errors, []);
  });

  test('the second look fits each box to its ink; secondLook: false gives the heatmap\'s boxes', async () => {
    const { page, errors } = await harnessPage(browser);
    const looked = (await page.evaluate(() => window.harness.detectPng({ backend: 'cpu' }))).result.detections;
    const plain = (await page.evaluate(() => window.harness.detectPng({ backend: 'cpu' }, undefined, { secondLook: false })))
      .result.detections;
    const digits = (ds) => ds.map((d) => d.digit).sort();
    assert.deepEqual(digits(looked), [0, 1, 4, 5, 6, 9, 9]);
    // The heatmap's boxes are at least one 28-px training window; the composite's digits' ink is
    // 20 px tall at most, and the 1 is a few pixels wide.
    assert.ok(plain.every((d) => d.w >= 27.99 && d.h >= 27.99), JSON.stringify(plain));
    assert.ok(looked.every((d) => d.h <= 21 && d.w <= 21), JSON.stringify(looked));
    assert.ok(looked.some((d) => d.digit === 1 && d.w <= 8), JSON.stringify(looked));
    assert.deepEqual(errors, []);
  });

  test('every CPU module and backend agrees with the native CLI', async () => {
    const { page } = await harnessPage(browser);
    const expected = native();
    const configs = [
      // Chromium has relaxed SIMD: the default module is the relaxed one.
      [{}, 'direct', true, true],
      [{ relaxedSimd: false }, 'direct', true, false],
      [{ cpu: 'flex' }, 'flex', true, true],
      [{ cpu: 'flex', relaxedSimd: false }, 'flex', true, false],
      [{ cpu: 'ndarray' }, 'ndarray', true, false],
    ];
    for (const [options, cpu, simd, relaxedSimd] of configs) {
      const { backend, result } = await page.evaluate((o) => window.harness.detectPng({ backend: 'cpu', ...o }), options);
      assert.equal(backend.cpu, cpu);
      assert.equal(backend.simd, simd, JSON.stringify(options));
      assert.equal(backend.relaxedSimd, relaxedSimd, JSON.stringify(options));
      const diff = maxDiff(result.probs, expected.heatmap.probs);
      assert.ok(diff <= 1e-4, `${JSON.stringify(options)}: heatmap differs from native by ${diff}`);
      assertSameDetections(result.detections, expected.detections, 1e-3);
    }
  });

  test('asking for WebGPU where there is none is a clear error', async () => {
    const { page } = await harnessPage(browser);
    const message = await page.evaluate(() => window.harness.createDetector({ backend: 'webgpu' }).then(() => 'created', (e) => String(e.message)));
    assert.match(message, /WebGPU unavailable/);
  });

  test('multiplyAdds counts every pyramid level (as the native Detector::multiply_adds)', async () => {
    const { page } = await harnessPage(browser);
    const counts = await page.evaluate(async () => {
      const d = await window.harness.createDetector({ backend: 'cpu' });
      const bad = (() => { try { d.multiplyAdds(0, 512); return 'ok'; } catch (e) { return String(e.message); } })();
      return { pad: d.multiplyAdds(448, 336), square: d.multiplyAdds(512, 512), bad };
    });
    // 1, ½, ⅓, ¼, ⅙, ⅛, 1/12 (and 1/16 at 512²), each coarser level with 16 px of margin and
    // those from ⅙ once more with 20 px: the native Detector::multiply_adds gives these (its
    // unit test derives them level by level).
    assert.deepEqual([counts.pad, counts.square], [702479040, 1174012512]);
    assert.match(counts.bad, /width must be a whole number/);
  });

  test('dark digits on a light page are read without a flag (ink: auto), and ink forces it', async () => {
    const { page, errors } = await harnessPage(browser);
    const digits = await page.evaluate(async () => {
      const d = await window.harness.createDetector({ backend: 'cpu' });
      const image = await window.harness.pixelsOf('/samples/notebook-composite.png');
      const light = new Uint8ClampedArray(image.data);
      for (let i = 0; i < light.length; i += 4) for (let k = 0; k < 3; k++) light[i + k] = 255 - light[i + k];
      const found = async (pixels, options) => (await d.detect(pixels, image.width, image.height, options)).detections.map((x) => x.digit).sort();
      return {
        plain: await found(image.data, {}),
        auto: await found(light, {}),
        dark: await found(light, { ink: 'dark' }),
        invert: await found(light, { invert: true }),
        forcedLight: await found(light, { ink: 'light' }),
        inks: [d.inkOf(image.data, image.width, image.height), d.inkOf(light, image.width, image.height)],
        inkError: (() => { try { return d.inkOf(new Uint8ClampedArray(3), 2, 2); } catch (e) { return e.message; } })(),
      };
    });
    assert.equal(digits.plain.length, 7);
    assert.deepEqual(digits.auto, digits.plain);
    assert.deepEqual(digits.dark, digits.plain);
    assert.deepEqual(digits.invert, digits.plain);
    assert.notDeepEqual(digits.forcedLight, digits.plain, 'forced light ink reads the page as ink');
    assert.deepEqual(digits.inks, ['light', 'dark'], 'inkOf: the rule ink: "auto" follows');
    assert.match(digits.inkError, /^invalid input: pixels hold 3 bytes/);
    assert.deepEqual(errors, []);
  });

  test('bad input throws a clear error and the detector keeps working', async () => {
    const { page, errors } = await harnessPage(browser);
    const outcome = await page.evaluate(async () => {
      const d = await window.harness.createDetector({ backend: 'cpu' });
      const attempt = (...args) => d.detect(...args).then(() => 'ok', (e) => `${e.constructor.name}: ${e.message}`);
      const messages = [
        await attempt(new Uint8ClampedArray(10), 4, 4, {}),
        await attempt(new Uint8ClampedArray(0), 0, 0, {}),
        await attempt(new Uint8ClampedArray(16), -4, -1, {}),
        await attempt(new Uint8ClampedArray(4), 1e6, 1e6, {}),
        await attempt(new Float32Array([0, NaN, 0, 1]), 2, 2, {}),
        await attempt('pixels', 2, 2, {}),
        await attempt(new Float32Array([0, 0, Infinity, 1]), 2, 2, {}),
        await attempt(new Uint8ClampedArray(4), 2.5, 2, {}),
        await attempt(new Uint8ClampedArray(2049 * 2049), 2049, 2049, {}),
        await attempt(new Uint8ClampedArray(64), 4, 4, { ink: 'sideways' }),
        await attempt(new Uint8ClampedArray(64), 4, 4, { ink: 1 }),
      ];
      // A buffer detached before the call reads as empty: a length error.
      const detached = new Uint8ClampedArray(16 * 16 * 4);
      structuredClone(detached.buffer, { transfer: [detached.buffer] });
      messages.push(await attempt(detached, 16, 16, {}));
      // A buffer transferred away while the call is in flight: the input was already copied.
      const image = await window.harness.pixelsOf('/samples/notebook-composite.png');
      const pending = d.detect(image.data, image.width, image.height, {});
      structuredClone(image.data.buffer, { transfer: [image.data.buffer] });
      const transferred = await pending;
      const fresh = await window.harness.pixelsOf('/samples/notebook-composite.png');
      const after = await d.detect(fresh.data, fresh.width, fresh.height, {});
      return { messages, detections: after.detections.length, transferred: transferred.detections.length, emptied: image.data.length };
    });
    const [length, zero, negative, huge, nan, type, infinite, fraction, pixels, badInk, inkType, detached] = outcome.messages;
    assert.match(length, /^Error: invalid input: pixels hold 10 bytes; a 4×4 image needs 64 \(RGBA\) or 16 \(gray\)/);
    assert.match(zero, /^Error: invalid input: width must be a whole number/);
    assert.match(negative, /^Error: invalid input: width must be a whole number/);
    assert.match(huge, /^Error: invalid input: width must be a whole number from 1 to 4096/);
    assert.match(nan, /^Error: invalid input: pixel 1 is NaN/);
    assert.match(type, /^Error: invalid input: pixels must be a Uint8ClampedArray/);
    assert.match(infinite, /^Error: invalid input: pixel 2 is inf/);
    assert.match(fraction, /^Error: invalid input: width must be a whole number from 1 to 4096, not 2\.5/);
    assert.match(pixels, /^Error: invalid input: image is 2049×2049; the limit is 4194304 pixels in all/);
    assert.match(badInk, /^Error: invalid input: ink must be "light", "dark" or "auto", not "sideways"/);
    assert.match(inkType, /^Error: invalid input: ink must be "light", "dark" or "auto"/);
    assert.match(detached, /^Error: invalid input: pixels hold 0 bytes; a 16×16 image needs 1024 \(RGBA\)/);
    assert.equal(outcome.emptied, 0, 'the caller\'s buffer was transferred away mid-call');
    assert.equal(outcome.transferred, 7, 'the call in flight still saw the whole image');
    assert.equal(outcome.detections, 7);
    assert.deepEqual(errors, []);
  });

  test('a pool\'s part keeps its image for the propose that follows: another key or size is a clear error, the image stays kept', async () => {
    const { page, errors } = await harnessPage(browser);
    const outcome = await page.evaluate(async () => {
      const d = await window.harness.createDetector({ backend: 'cpu' });
      const { data, width, height } = await window.harness.pixelsOf('/samples/notebook-composite.png');
      const whole = await d.detect(data, width, height, {});
      const [jobs] = d.plan(width, height, 1);
      const probs = await d.detectPart(data, width, height, { keep: 7 }, jobs);
      const attempt = (key, w) => d.propose(null, w, height, { kept: key }, jobs, probs).then(() => 'ok', (e) => `${e.constructor.name}: ${e.message}`);
      const messages = [await attempt(8, width), await attempt(7, width + 1)];
      const proposed = await d.propose(null, width, height, { kept: 7 }, jobs, probs);
      const readings = await d.readCutOuts(proposed.mnist, proposed.canvas);
      const pooled = await d.settle(proposed.key, readings);
      // Served once: a second propose under the same key has no image.
      messages.push(await attempt(7, width));
      const same = pooled.probs.length === whole.probs.length && pooled.probs.every((v, i) => Object.is(v, whole.probs[i]));
      return { messages, same, detections: JSON.stringify(pooled.detections) === JSON.stringify(whole.detections) };
    });
    const [key, size, twice] = outcome.messages;
    assert.match(key, /^Error: invalid input: no 128×128 image kept under key 8$/);
    assert.match(size, /^Error: invalid input: no 129×128 image kept under key 7$/);
    assert.match(twice, /^Error: invalid input: no 128×128 image kept under key 7$/);
    assert.ok(outcome.same, 'the kept image gave the heatmap of a whole detection');
    assert.ok(outcome.detections, 'and its detections');
    assert.deepEqual(errors, []);
  });
});

describe('WebGPU path (SwiftShader adapter)', () => {
  let browser;
  before(async () => { browser = await launch({ webgpu: true }); });
  after(() => browser.close());

  test('auto runs on WebGPU after passing the parity self-test and matches the CPU', async () => {
    const { page, errors } = await harnessPage(browser);
    const gpu = await page.evaluate(() => window.harness.detectPng({ backend: 'auto' }));
    assert.equal(gpu.backend.name, 'webgpu', JSON.stringify(gpu.backend));
    assert.equal(gpu.backend.reason, null);
    assert.ok(gpu.backend.parityError <= 1e-3, `parity error ${gpu.backend.parityError}`);
    const cpu = await page.evaluate(() => window.harness.detectPng({ backend: 'cpu' }));
    const diff = maxDiff(gpu.result.probs, cpu.result.probs);
    assert.ok(diff <= 1e-3, `WebGPU heatmap differs from the CPU by ${diff}`);
    assert.deepEqual(gpu.result.detections.map((d) => d.digit), cpu.result.detections.map((d) => d.digit));
    assert.equal(gpu.result.backend, 'webgpu');
    assert.deepEqual(errors, []);
  });

  test('a failing WebGPU initialisation falls back to the CPU with the reason', async () => {
    const { page } = await harnessPage(browser);
    const { backend, result } = await page.evaluate(() => {
      window.harness.installFault('request-device');
      return window.harness.detectPng({ backend: 'auto' });
    });
    assert.equal(backend.name, 'cpu');
    assert.match(backend.reason, /WebGPU unavailable: Unable to request a wgpu device: Error: requestDevice failed \(test fault\)/);
    assert.equal(result.detections.length, 7);
  });

  test('a parity mismatch falls back to the CPU with the reason', async () => {
    const { page } = await harnessPage(browser);
    const { backend, result } = await page.evaluate(() => {
      window.harness.installFault(null, { parityOffset: 0.5 });
      return window.harness.detectPng({ backend: 'auto' });
    });
    assert.equal(backend.name, 'cpu');
    assert.match(backend.reason, /WebGPU disagrees with the CPU on the self-test \(max difference 5\.\d+e-1/);
    assert.equal(result.backend, 'cpu');
    assert.equal(result.detections.length, 7);
  });
});
