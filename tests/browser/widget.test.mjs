// <digit-detector> and the static site in real headless Chromium: drawing with pointer input,
// the notebook's composite, offline use through the service worker, and the npm tarball.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

import { CSP, serve } from './server.mjs';
import { launch } from './chromium.mjs';
import { MORE_STROKES, STROKES, drawDigit, drawDigitTall, settled } from './drawing.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NATIVE = process.env.DIGITSCOPE_BIN ?? `${process.env.CARGO_TARGET_DIR ?? `${ROOT}target`}/release/digitscope`;

/** The native CLI's detections on the notebook's composite. */
function nativeComposite() {
  return JSON.parse(execFileSync(NATIVE, ['detect', '--json', `${ROOT}samples/notebook-composite.png`]).toString()).detections;
}

let server;
let browser;
before(async () => {
  server = await serve({ '/': `${ROOT}www` });
  browser = await launch({ webgpu: false });
});
after(async () => {
  await browser.close();
  await server.close();
});

/** A fresh context and page that records console errors and every request URL. */
async function open(url, base = server.url, contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  const errors = [];
  const requests = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  context.on('request', (r) => requests.push(r.url()));
  await page.goto(url);
  const assertClean = () => {
    assert.deepEqual(errors, []);
    const foreign = requests.filter((u) => !u.startsWith(base) && !u.startsWith('blob:') && !u.startsWith('data:'));
    assert.deepEqual(foreign, [], 'requests left the origin');
  };
  return { context, page, errors, requests, assertClean };
}

describe('the static site', () => {
  /**
   * Opens the site, lets `draw(page, box)` draw on its pad with the mouse, and checks that the
   * last `detect` event carries the shown result, whose digits are `expected` (any order).
   */
  async function drawAndDetect(draw, expected) {
    const { context, page, assertClean } = await open(`${server.url}/index.html`);
    await page.evaluate(() => {
      window.detectEvents = [];
      document.querySelector('digit-detector').addEventListener('detect', (e) => window.detectEvents.push(e.detail.detections));
    });
    await settled(page);
    await draw(page, await page.locator('digit-detector canvas.ink').boundingBox());
    const { detections } = await settled(page);
    const last = await page.evaluate(() => window.detectEvents.at(-1));
    assert.deepEqual(last, detections, 'the last detect event carries the shown result');
    assert.deepEqual(detections.map((d) => d.digit).sort(), [...expected].sort(), JSON.stringify(detections));
    assertClean();
    await context.close();
  }

  test('drawing three digits emits a detect event with those three digits', async () => {
    const placements = [[40, 60], [180, 120], [320, 40]];
    await drawAndDetect(async (page, box) => {
      for (const [i, digit] of STROKES.entries()) await drawDigit(page, box, digit, ...placements[i], 2.6);
    }, STROKES.map((s) => s.digit));
  });

  test('a 7 drawn 250 px tall and a 3 drawn 40 px tall with the default pen are both found', async () => {
    const seven = MORE_STROKES.find((s) => s.digit === 7);
    const three = STROKES.find((s) => s.digit === 3);
    await drawAndDetect(async (page, box) => {
      await drawDigitTall(page, box, seven, 30, 40, 250);
      await drawDigitTall(page, box, three, 340, 150, 40);
    }, [3, 7]);
  });

  test('a 1 drawn as one slanted stroke 280 px tall with the default pen is found', async () => {
    // A bare 1 that tall with a pen that thin is a line to the network (which reads lines in
    // pictures as background): the pad's own strokes are read as a drawing, where it is a 1.
    const one = { digit: 1, strokes: [[[0, 0], [4, 7], [8, 14], [12, 21], [16, 28]]] };
    await drawAndDetect((page, box) => drawDigitTall(page, box, one, 190, 28, 280), [1]);
  });

  test('strokes are live updates and a pool of workers shares a detection: both equal one full detection bit for bit', async () => {
    const { context, page, assertClean } = await open(`${server.url}/index.html`);
    await settled(page);
    await page.evaluate(() => {
      window.recomputed = [];
      document.querySelector('digit-detector').addEventListener('detect', (e) => window.recomputed.push(e.detail.recomputed ?? null));
    });
    const box = await page.locator('digit-detector canvas.ink').boundingBox();
    await drawDigitTall(page, box, MORE_STROKES.find((s) => s.digit === 7), 60, 50, 200);
    await drawDigitTall(page, box, STROKES.find((s) => s.digit === 3), 330, 120, 60);
    await settled(page);
    const check = await page.evaluate(async () => {
      const el = document.querySelector('digit-detector');
      const { width, height } = el.canvas;
      const pixels = el.canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, width, height).data;
      const { DetectorClient } = await import('./src/client.js');
      const results = [];
      const heatmaps = [];
      for (const workers of [1, 2]) {
        const client = new DetectorClient({ workers });
        results.push(await client.detect(pixels.slice(), width, height, { invert: el.darkInk }));
        // The heatmap alone, pooled in bands of the image (each worker sent only its band).
        heatmaps.push(await client.heatmap(pixels.slice(), width, height, { invert: el.darkInk }));
        heatmaps.push(await client.heatmap(pixels.slice(), width, height, { ink: 'auto' }));
        client.terminate();
      }
      const same = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
      const [one, pooled] = results;
      const [oneMap, oneAuto, pooledMap, pooledAuto] = heatmaps;
      const fields = (r) => JSON.stringify([r.width, r.height, r.rows, r.cols, r.stride, r.originX, r.originY, r.detections, r.backend]);
      return {
        cores: navigator.hardwareConcurrency,
        workers: pooled.workers ?? 1,
        poolSame: same(pooled.probs, one.probs) && JSON.stringify(pooled.detections) === JSON.stringify(one.detections),
        heatmapWorkers: [oneMap.workers ?? 1, pooledMap.workers ?? 1, pooledAuto.workers ?? 1],
        heatmapSame: same(pooledMap.probs, oneMap.probs) && same(pooledMap.classes, oneMap.classes) && fields(pooledMap) === fields(oneMap),
        autoSame: same(pooledAuto.probs, oneAuto.probs) && fields(pooledAuto) === fields(oneAuto),
        heatmapRows: [oneMap.rows, Math.ceil(height / 8), oneMap.probs.length, 11 * oneMap.rows * oneMap.cols],
        liveSame: same(el.result.probs, one.probs) && JSON.stringify(el.result.detections) === JSON.stringify(one.detections),
        shownWasLive: Boolean(el.result.recomputed),
        partial: window.recomputed.filter((r) => r && r.cells < r.total).length,
        updates: window.recomputed.length,
        digits: one.detections.map((d) => d.digit).sort(),
      };
    });
    assert.equal(check.workers, Math.min(2, check.cores), 'the pool ran on as many workers as asked and the machine has');
    assert.ok(check.poolSame, 'the pooled detection equals one worker\'s');
    assert.deepEqual(check.heatmapWorkers, [1, Math.min(2, check.cores), 1], 'the heatmap was pooled in bands, but not with ink "auto"');
    assert.ok(check.heatmapSame, 'the pooled heatmap equals one worker\'s bit for bit');
    assert.ok(check.autoSame, 'with ink "auto" the heatmap is one worker\'s either way');
    const [rows, expectedRows, values, expectedValues] = check.heatmapRows;
    assert.ok(rows === expectedRows && values === expectedValues, 'the heatmap has a cell row every 8 pixels, 11 values a cell');
    assert.ok(check.shownWasLive, 'the last stroke was shown from a live update');
    assert.ok(check.liveSame, 'the live result equals a full detection of the same drawing');
    assert.ok(check.partial >= 3, `strokes recomputed a part of the heatmap (${check.partial} of ${check.updates} updates)`);
    assert.deepEqual(check.digits, [3, 7]);
    assertClean();
    await context.close();
  });

  test("the notebook's composite shows its seven detections, the CLI's", async () => {
    const { context, page, assertClean } = await open(`${server.url}/index.html`);
    await settled(page);
    await page.getByRole('button', { name: "The notebook's composite" }).click();
    await page.waitForFunction(() => document.querySelector('digit-detector').baseImage !== null);
    const { detections } = await settled(page);
    assert.equal(detections.length, 7, JSON.stringify(detections));
    // The 128×128 composite sits at (160, 96) in the 448×336 canvas (centred on the 16-px grid).
    // Same grid, same digits; near the composite's edges the values move a little, since the
    // CLI's network pads with zeros where the element's sees black pixels (hidden layers then
    // differ), so a digit there may be found by the other pyramid level, a few pixels away.
    const expected = nativeComposite();
    assert.equal(expected.length, 7);
    for (const e of expected) {
      const d = detections.find((d) => d.digit === e.digit && Math.hypot(d.x - 160 - e.x, d.y - 96 - e.y) <= 8);
      assert.ok(d, `no ${e.digit} within 8 px of the CLI's ${JSON.stringify(e)}: ${JSON.stringify(detections)}`);
    }
    const status = await page.locator('digit-detector').locator('[role=status]').textContent();
    assert.match(status, /7 digits: .* · CPU \(direct\)/);
    assertClean();
    await context.close();
  });

  test("uploading a phone's JPEG (stored turned, EXIF orientation 6) finds the digits the CLI finds in it", async () => {
    const { context, page, assertClean } = await open(`${server.url}/index.html`);
    await settled(page);
    const jpeg = `${ROOT}tests/data/composite-paper-turned.jpg`;
    await page.locator('#upload').setInputFiles(jpeg);
    await page.waitForFunction(() => document.querySelector('digit-detector').baseImage !== null);
    const { detections } = await settled(page);
    const cli = JSON.parse(execFileSync(NATIVE, ['detect', '--json', jpeg]).toString()).detections.map((d) => d.digit);
    assert.deepEqual(detections.map((d) => d.digit).sort(), [...cli].sort(), JSON.stringify(detections));
    assert.equal(await page.locator('digit-detector').getAttribute('ink'), 'dark', 'dark ink on paper');
    // A file that is no picture: the status line says so, and the page stays as it was.
    await page.locator('#upload').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture') });
    await page.waitForFunction(() => /Cannot read that picture/.test(document.querySelector('digit-detector').status.textContent));
    const after = await page.evaluate(() => document.querySelector('digit-detector').result.detections.length);
    assert.equal(after, detections.length);
    assertClean();
    await context.close();
  });

  test('offline after one visit: reload renders, detects, and keeps the strokes', async () => {
    const { context, page, assertClean } = await open(`${server.url}/index.html`);
    await page.evaluate(() => navigator.serviceWorker.ready);
    await settled(page);
    const box = await page.locator('digit-detector canvas.ink').boundingBox();
    await drawDigit(page, box, STROKES[0], 60, 60, 2.6);
    const before = await settled(page);
    const strokes = await page.evaluate(() => document.querySelector('digit-detector').strokes.length);
    assert.ok(strokes > 0);
    // The page told the service worker which module it runs; wait until it is kept.
    await page.waitForFunction(async () => {
      const cache = await caches.open((await caches.keys()).find((k) => k.startsWith('digitscope-')));
      return (await cache.keys()).some((r) => r.url.endsWith('_bg.wasm'));
    });
    await context.setOffline(true);
    await page.reload();
    const afterReload = await settled(page);
    assert.equal(await page.evaluate(() => document.querySelector('digit-detector').strokes.length), strokes);
    assert.deepEqual(afterReload.detections.map((d) => d.digit), before.detections.map((d) => d.digit));
    await page.getByRole('button', { name: "The notebook's composite" }).click();
    await page.waitForFunction(() => document.querySelector('digit-detector').baseImage !== null);
    const composite = await settled(page);
    assert.equal(composite.detections.length, 7);
    const controlled = await page.evaluate(() => navigator.serviceWorker.controller !== null);
    assert.ok(controlled, 'the page is served by the service worker');
    assertClean();
    await context.close();
  });
});

describe('security', () => {
  test('the site runs under its strict Content-Security-Policy: no inline script, no eval', async () => {
    const html = readFileSync(`${ROOT}www/index.html`, 'utf8');
    const meta = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]+)">/);
    assert.ok(meta, 'index.html carries the policy for hosts that send no header');
    assert.equal(meta[1], CSP, 'the page and the test server use the same policy');
    for (const directive of ["default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "object-src 'none'"]) assert.ok(CSP.includes(directive), directive);
    assert.doesNotMatch(CSP, /'unsafe-inline'|'unsafe-eval'|\*/);
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script in index.html');
    // Service workers blocked: the probe below is answered by the test driver, not by the cache.
    const { context, page, requests } = await open(`${server.url}/index.html`, server.url, { serviceWorkers: 'block' });
    await settled(page);
    // A same-origin script (allowed by script-src 'self') that tries eval: the page's policy must
    // refuse it. (Code run through the test driver itself is exempt from the policy's eval rule.)
    await page.route('**/csp-probe.js', (route) => route.fulfill({
      contentType: 'text/javascript',
      body: "try { window.evalResult = String(eval('1 + 1')); } catch (e) { window.evalResult = e.name; }",
    }));
    const probe = await page.evaluate(async () => {
      const violations = [];
      document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
      const inline = document.createElement('script');
      inline.textContent = 'window.inlineRan = true;';
      document.head.append(inline);
      const external = document.createElement('script');
      external.src = 'csp-probe.js';
      await new Promise((resolve) => { external.onload = resolve; external.onerror = resolve; document.head.append(external); });
      await new Promise((r) => setTimeout(r, 100));
      return { inlineRan: window.inlineRan === true, evalResult: window.evalResult, violations };
    });
    assert.equal(probe.inlineRan, false, 'an injected inline script did not run');
    assert.equal(probe.evalResult, 'EvalError');
    assert.ok(probe.violations.some((v) => v.startsWith('script-src')), JSON.stringify(probe.violations));
    // The detector still works under the policy (wasm compiles with 'wasm-unsafe-eval' only).
    await page.getByRole('button', { name: "The notebook's composite" }).click();
    await page.waitForFunction(() => document.querySelector('digit-detector').baseImage !== null);
    assert.equal((await settled(page)).detections.length, 7);
    const foreign = requests.filter((u) => !u.startsWith(server.url) && !/^(blob|data):/.test(u));
    assert.deepEqual(foreign, [], 'every request stays on the origin');
    assert.ok(requests.some((u) => u.endsWith('.wasm')), 'the recorder saw the wasm module');
    await context.close();
  });

  test('the shipped JavaScript has no eval, no Function constructor and no HTML parsing of data', () => {
    const files = [
      ...readdirSync(`${ROOT}www/src`).filter((f) => f.endsWith('.js')).map((f) => `www/src/${f}`),
      'www/app.js', 'www/sw.js',
      ...readdirSync(`${ROOT}www`).filter((d) => d.startsWith('pkg-')).map((d) => `www/${d}/digitscope-${d.slice(4)}.js`),
    ];
    const forbidden = [/\beval\s*\(/, /\bnew\s+Function\s*\(/, /\.(inner|outer)HTML\b/, /insertAdjacentHTML/, /document\.write/, /setTimeout\(\s*['"`]/];
    const hits = files.flatMap((f) => {
      const text = readFileSync(`${ROOT}${f}`, 'utf8');
      return forbidden.filter((re) => re.test(text)).map((re) => `${f}: ${re}`);
    });
    assert.equal(files.length >= 10, true, files.join(' '));
    assert.deepEqual(hits, []);
  });
});

describe('the deployable site (make site)', () => {
  test('works from a sub-path, service worker included', async () => {
    const site = await serve({ '/some/sub/path/': `${ROOT}out/site` });
    try {
      const { context, page, assertClean } = await open(`${site.url}/some/sub/path/`, site.url);
      await page.evaluate(() => navigator.serviceWorker.ready);
      await settled(page);
      await page.getByRole('button', { name: "The notebook's composite" }).click();
      await page.waitForFunction(() => document.querySelector('digit-detector').baseImage !== null);
      const { detections } = await settled(page);
      assert.equal(detections.length, 7);
      assert.ok(site.requests.every((p) => p.startsWith('/some/sub/path/')), site.requests.join(' '));
      const version = await page.evaluate(() => caches.keys());
      assert.ok(version.some((k) => /^digitscope-[0-9a-f]{16}$/.test(k)), `cache names: ${version}`);
      // Offline needs the module this browser runs, and only that one.
      await page.waitForFunction(async () => {
        const cache = await caches.open((await caches.keys()).find((k) => k.startsWith('digitscope-')));
        return (await cache.keys()).some((r) => r.url.endsWith('_bg.wasm'));
      });
      const wasm = await page.evaluate(async () => {
        const cache = await caches.open((await caches.keys()).find((k) => k.startsWith('digitscope-')));
        return (await cache.keys()).map((r) => new URL(r.url).pathname).filter((p) => p.endsWith('.wasm'));
      });
      assert.deepEqual(wasm, ['/some/sub/path/pkg-relaxed/digitscope-relaxed_bg.wasm']);
      // The first visit's transfer: every file requested (once), gzip-compressed as a static
      // host serves it.
      const files = [...new Set(site.requests)].map((p) => p.slice('/some/sub/path/'.length) || 'index.html');
      const bytes = files.reduce((sum, f) => sum + gzipSync(readFileSync(`${ROOT}out/site/${f}`), { level: 9 }).length, 0);
      console.log(`first visit: ${files.length} files, ${(bytes / 1e6).toFixed(3)} MB gzip`);
      assert.ok(bytes <= 1e6, `first visit transfers ${bytes} bytes gzip: ${files.join(' ')}`);
      // The site serves its JavaScript minified (make site), source maps beside it and not fetched.
      assert.ok(files.includes('src/digit-detector.js'), files.join(' '));
      for (const f of ['src/digit-detector.js', 'src/client.js', 'pkg-relaxed/digitscope-relaxed.js']) {
        const text = readFileSync(`${ROOT}out/site/${f}`, 'utf8');
        assert.ok(text.length < 0.75 * readFileSync(`${ROOT}www/${f}`, 'utf8').length, `${f} is not minified`);
        assert.match(text, new RegExp(`//# sourceMappingURL=${f.split('/').at(-1)}\\.map\\n?$`));
      }
      assert.deepEqual(files.filter((f) => f.endsWith('.map')), [], 'source maps fetched');
      // The minified element and worker draw and detect live: a 7 250 px tall and a 3 40 px tall.
      await page.getByRole('button', { name: 'Clear the drawing' }).click();
      const box = await page.locator('digit-detector canvas.ink').boundingBox();
      await drawDigitTall(page, box, MORE_STROKES.find((s) => s.digit === 7), 30, 40, 250);
      await drawDigitTall(page, box, STROKES.find((s) => s.digit === 3), 340, 150, 40);
      assert.deepEqual((await settled(page)).detections.map((d) => d.digit).sort(), [3, 7]);
      assertClean();
      await context.close();
    } finally {
      await site.close();
    }
  });
});

describe('the npm package', () => {
  test('npm pack → install in a fresh project → a page imports it, renders the element and detects', async () => {
    const work = mkdtempSync(join(tmpdir(), 'digitscope-npm-'));
    const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: `${ROOT}www` }).toString().trim().split('\n').at(-1);
    writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', join(work, tarball)], { cwd: work, stdio: 'pipe' });
    // No test hook ships: fault injection lives in the tests' own pages.
    const shipped = join(work, 'node_modules/digitscope/src');
    const hooks = readdirSync(shipped).filter((f) => /test(Fault|FailWebGpu|ParityOffset)|test-lose-device|loseGpuDevices/.test(readFileSync(join(shipped, f), 'utf8')));
    assert.deepEqual(hooks, [], 'test hooks in the package');
    writeFileSync(join(work, 'index.html'), `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="importmap">{"imports": {"digitscope": "./node_modules/digitscope/src/index.js"}}</script>
</head><body><digit-detector width="160" height="160"></digit-detector><script type="module" src="main.js"></script></body></html>`);
    writeFileSync(join(work, 'main.js'), `import { createDetector } from 'digitscope';
const detector = await createDetector({ backend: 'cpu' });
const px = new Uint8ClampedArray(64 * 64 * 4);
const r = await detector.detect(px, 64, 64);
window.plainApi = { backend: detector.backend.name, rows: r.rows, detections: r.detections.length };`);
    copyFileSync(`${ROOT}samples/notebook-composite.png`, join(work, 'composite.png'));
    const consumer = await serve({ '/': work }, { csp: false });
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      await page.goto(`${consumer.url}/index.html`);
      await page.waitForFunction(() => window.plainApi);
      assert.deepEqual(await page.evaluate(() => window.plainApi), { backend: 'cpu', rows: 8, detections: 0 });
      const result = await page.evaluate(async () => {
        const el = document.querySelector('digit-detector');
        const bitmap = await createImageBitmap(await (await fetch('composite.png')).blob());
        const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
        canvas.getContext('2d').drawImage(bitmap, 0, 0);
        const r = await el.detectImage(canvas.getContext('2d').getImageData(0, 0, 128, 128));
        return { found: r.detections.length, shadow: el.shadowRoot.querySelectorAll('canvas').length };
      });
      assert.equal(result.shadow, 3, 'the element rendered its canvases (drawing, view, overlay)');
      assert.equal(result.found, 7, "the element finds the composite's seven digits");
      assert.deepEqual(errors, []);
      assert.ok(consumer.requests.every((p) => !p.includes('..')));
      // The wasm came from the installed package, found relative to its modules.
      assert.ok(consumer.requests.includes('/node_modules/digitscope/pkg-relaxed/digitscope-relaxed_bg.wasm'), consumer.requests.join(' '));
      await context.close();
    } finally {
      await consumer.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
