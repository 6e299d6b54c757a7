// <digit-detector> where people put it, in headless Chromium: it never gets stuck (a worker
// stopped mid-detection, a failed detection, the element moved or switched between backends),
// errors name what failed to load and where, its text reads on light and dark pages, and the
// site's pad fits a phone and draws with touch.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

import { packageMounts, serve } from './server.mjs';
import { launch } from './chromium.mjs';
import { MORE_STROKES, STROKES, detectPhoto, drawDigitTall, settled } from './drawing.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let server;
let browser;
before(async () => {
  server = await serve(packageMounts(ROOT, { '/site/': `${ROOT}www` }));
  browser = await launch({ webgpu: false });
});
after(async () => {
  await browser.close();
  await server.close();
});

/** A page with one <digit-detector> (`query`: see pages/element.js), settled. */
async function openElement(query = 'backend=cpu', contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`${server.url}/element.html?${query}`);
  await settled(page);
  // window.composite(): the notebook's composite as ImageData (test code, in the page).
  await page.evaluate(() => {
    window.composite = async () => {
      const bitmap = await createImageBitmap(await (await fetch('/samples/notebook-composite.png')).blob());
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      canvas.getContext('2d').drawImage(bitmap, 0, 0);
      return canvas.getContext('2d').getImageData(0, 0, bitmap.width, bitmap.height);
    };
  });
  return { context, page, errors };
}

/** A phone's screen: 390×844 CSS px, 3 device pixels a CSS pixel, touch. */
const PHONE = { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 3 };

/** The site (its pad 448×336) in a new context with `contextOptions`, settled. */
async function openSite(contextOptions) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${server.url}/site/index.html`);
  await settled(page);
  return { context, page, errors };
}

/**
 * The element's drawing canvas and view, each against a full repaint (`redraw`, which it then
 * has): `{ differ, inked }`, its bytes that differ and its pixels of ink (red over 128) as drawn.
 */
function againstRepaint(page) {
  return page.evaluate(() => {
    const el = document.querySelector('digit-detector');
    const pixels = () => [el.canvas, el.view].map((c) => c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
    const live = pixels();
    el.redraw();
    const whole = pixels();
    return live.map((a, i) => ({ differ: a.filter((v, j) => v !== whole[i][j]).length, inked: a.filter((v, j) => j % 4 === 0 && v > 128).length }));
  });
}

/**
 * Starts `detectImage(composite)` on the element, waits until its request is with the worker,
 * then interrupts it (`'backend'`: switches to the CPU backend; `'move'`: removes the element
 * and adds it back); resolves to what the detectImage call gave. With the picture's ink given
 * (`options.ink`) the request interrupted is the detection; without, the question of its ink.
 */
function interruptedDetection(page, interrupt, options = { ink: 'light' }) {
  return page.evaluate(async ([interrupt, options]) => {
    const el = document.querySelector('digit-detector');
    const image = await window.composite();
    const before = el.client;
    const call = el.detectImage(image, options).then((r) => ({ found: r.detections.length }), (e) => ({ error: e.message }));
    const t0 = performance.now();
    while (before.pending.size === 0 && performance.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 1));
    const inFlight = before.pending.size > 0;
    if (interrupt === 'backend') el.setAttribute('backend', 'cpu');
    else { el.remove(); document.body.append(el); }
    const outcome = await call;
    return { ...outcome, inFlight, replaced: el.client !== before, pending: el.pending };
  }, [interrupt, options]);
}

describe('never stuck', () => {
  test('terminating a worker rejects what is pending, and every later request', async () => {
    const { context, page, errors } = await openElement();
    const outcome = await page.evaluate(async () => {
      const { DetectorClient } = await import('/src/client.js');
      const client = new DetectorClient({ backend: 'cpu' });
      await client.ready;
      const pixels = new Uint8ClampedArray(1024 * 1024 * 4);
      const pending = client.detect(pixels, 1024, 1024).then(() => 'resolved', (e) => `${e.name}: ${e.message}`);
      while (client.pending.size === 0) await new Promise((r) => setTimeout(r, 1));
      client.terminate();
      const later = await client.detect(pixels, 8, 8).then(() => 'resolved', (e) => e.name);
      return { pending: await pending, later, left: client.pending.size };
    });
    assert.equal(outcome.pending, 'DetectorStoppedError: the detector was stopped before it answered');
    assert.equal(outcome.later, 'DetectorStoppedError');
    assert.equal(outcome.left, 0);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('a pool helper that never starts does not hold up detections: they go on with the workers that did', async () => {
    const { context, page, errors } = await openElement();
    const outcome = await page.evaluate(async () => {
      const { DetectorClient } = await import('/src/client.js');
      // One of the pool's helpers stands in for a worker the browser never started: it never
      // answers, so its `ready` never settles.
      const start = DetectorClient.prototype.startPool;
      let real = null;
      DetectorClient.prototype.startPool = function () {
        start.call(this);
        if (this.helpers.length) {
          real = this.helpers[0];
          this.helpers[0] = { ready: new Promise(() => {}), terminate() {} };
        }
      };
      const client = new DetectorClient({ backend: 'cpu', workers: 2 });
      await client.ready;
      DetectorClient.prototype.startPool = start;
      const { data } = await window.composite();
      const big = new Uint8ClampedArray(448 * 336 * 4);
      for (let y = 0; y < 128; y++) big.set(data.subarray(y * 512, (y + 1) * 512), ((y + 96) * 448 + 160) * 4);
      const t0 = performance.now();
      const first = await client.detect(big, 448, 336);
      const firstMs = performance.now() - t0;
      const second = await client.detect(big, 448, 336);
      const alone = new DetectorClient({ backend: 'cpu', workers: 1 });
      const reference = await alone.detect(big, 448, 336);
      alone.terminate();
      client.terminate();
      real?.terminate();
      const digits = (r) => r.detections.map((d) => d.digit).sort().join('');
      return { first: digits(first), second: digits(second), reference: digits(reference), workers: second.workers ?? 1, firstMs };
    });
    assert.equal(outcome.reference, '0145699');
    assert.equal(outcome.first, outcome.reference);
    assert.equal(outcome.second, outcome.reference);
    assert.equal(outcome.workers, 1, 'the helper that never started takes no part');
    assert.ok(outcome.firstMs < 30_000, `the first detection waited ${outcome.firstMs} ms`);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('a failed detectImage() rejects with the reason, and the element detects afterwards', async () => {
    const { context, page, errors } = await openElement();
    const outcome = await page.evaluate(async () => {
      const el = document.querySelector('digit-detector');
      const image = await window.composite();
      // The worker answers this one detection with an error (a fault injected by this test).
      const detect = el.client.detect;
      el.client.detect = async () => { el.client.detect = detect; throw new Error('injected detection failure'); };
      const failed = await el.detectImage(image).then(() => 'resolved', (e) => e.message);
      const status = el.shadowRoot.querySelector('[role=status]').textContent;
      const again = await el.detectImage(image);
      return { failed, status, found: again.detections.length, pending: el.pending };
    });
    assert.equal(outcome.failed, 'injected detection failure');
    assert.match(outcome.status, /Detection failed: injected detection failure/);
    assert.equal(outcome.found, 7);
    assert.equal(outcome.pending, false);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('switched to another backend mid-detection: it detects again on the new detector', async () => {
    const { context, page, errors } = await openElement('backend=auto&size=1024');
    const outcome = await interruptedDetection(page, 'backend');
    assert.ok(outcome.inFlight, 'the detection was with the worker when the backend changed');
    assert.ok(outcome.replaced);
    assert.deepEqual({ found: outcome.found, error: outcome.error }, { found: 7, error: undefined });
    const after = await settled(page);
    assert.equal(after.detections.length, 7);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('a photo of paper on a dark desk, the desk most of it: the element reads dark ink and finds the digits', async () => {
    const { context, page, errors } = await openElement('backend=cpu');
    const outcome = await page.evaluate(async () => {
      const el = document.querySelector('digit-detector');
      const sheet = await window.composite();
      // The composite as dark ink on a white sheet, in the middle of a 400×300 grey desk.
      const photo = new ImageData(400, 300);
      for (let i = 0; i < photo.data.length; i += 4) photo.data.set([60, 58, 55, 255], i);
      for (let y = 0; y < 128; y++) {
        for (let x = 0; x < 128; x++) {
          const v = 255 - sheet.data[(y * 128 + x) * 4];
          photo.data.set([v, v, v, 255], ((y + 86) * 400 + x + 136) * 4);
        }
      }
      const r = await el.detectImage(photo);
      return { ink: el.getAttribute('ink'), digits: r.detections.map((d) => d.digit).sort() };
    });
    assert.equal(outcome.ink, 'dark', 'the desk is most of the photo; the ink is still dark');
    assert.deepEqual(outcome.digits, [0, 1, 4, 5, 6, 9, 9]);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('a notebook page as a scanner app gives it (white page, printed lines): the lines go, the digits are found', async () => {
    const { context, page, errors } = await openElement('backend=cpu');
    const outcome = await page.evaluate(async () => {
      const el = document.querySelector('digit-detector');
      const sheet = await window.composite();
      // The composite twice its size, dark ink on a pure white 320×300 page ruled every 22 px
      // (2-px grey lines across the whole page, under and between the digits).
      const scan = new ImageData(320, 300);
      for (let y = 0; y < 300; y++) {
        for (let x = 0; x < 320; x++) {
          const [sx, sy] = [Math.floor((x - 32) / 2), Math.floor((y - 22) / 2)];
          const ink = sx >= 0 && sy >= 0 && sx < 128 && sy < 128 ? 255 - sheet.data[(sy * 128 + sx) * 4] : 255;
          const v = Math.min(ink, y % 22 < 2 ? 175 : 255);
          scan.data.set([v, v, v, 255], (y * 320 + x) * 4);
        }
      }
      const r = await el.detectImage(scan);
      return { ink: el.getAttribute('ink'), digits: r.detections.map((d) => d.digit).sort() };
    });
    assert.equal(outcome.ink, 'dark');
    assert.deepEqual(outcome.digits, [0, 1, 4, 5, 6, 9, 9]);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('backend switched while the picture\'s ink is asked: asked again, then detected', async () => {
    const { context, page, errors } = await openElement('backend=auto&size=1024');
    const outcome = await interruptedDetection(page, 'backend', {});
    assert.ok(outcome.inFlight, 'the question was with the worker when the backend changed');
    assert.ok(outcome.replaced);
    assert.deepEqual({ found: outcome.found, error: outcome.error }, { found: 7, error: undefined });
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('removed and re-attached mid-detection: it detects again', async () => {
    const { context, page, errors } = await openElement('backend=cpu&size=1024');
    const outcome = await interruptedDetection(page, 'move');
    assert.ok(outcome.inFlight);
    assert.ok(outcome.replaced, 'a new worker after re-attaching');
    assert.equal(outcome.found, 7, JSON.stringify(outcome));
    await settled(page);
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('errors that say what failed and where', () => {
  test('a worker that is not there: the URL, the HTTP status and the option that fixes it', async () => {
    const { context, page } = await openElement();
    const message = await page.evaluate(async () => {
      const { DetectorClient } = await import('/src/client.js');
      const client = new DetectorClient({ backend: 'cpu', baseUrl: '/not/here' });
      return client.ready.then(() => 'started', (e) => e.message);
    });
    assert.match(message, new RegExp(`the detector worker could not be loaded from ${server.url}/not/here/src/worker.js: HTTP 404`));
    assert.match(message, /baseUrl option \(the base-url attribute/);
    await context.close();
  });

  test('a wasm module served with the wrong type (an HTML fallback page): the URL and the type', async () => {
    const { context, page } = await openElement();
    // The package's files under /site/ (the site's folder), whose pkg-relaxed/ is replaced by
    // a server answering index.html for it, as a single-page app's host would.
    await page.route('**/site/pkg-*/*_bg.wasm', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><p>app</p>' }));
    const message = await page.evaluate(async () => {
      const { createDetector } = await import('/src/load.js');
      return createDetector({ backend: 'cpu', baseUrl: '/site/' }).then(() => 'started', (e) => e.message);
    });
    assert.match(message, new RegExp(`digitscope's pkg-(relaxed|simd) wasm could not be loaded from ${server.url}/site/pkg-(relaxed|simd)/digitscope-(relaxed|simd)_bg.wasm: it is served as text/html, not application/wasm`));
    await context.close();
  });
});

/** WCAG contrast ratio of two CSS rgb() colours. */
function contrast(a, b) {
  const luminance = (css) => {
    const [r, g, b] = css.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (l1 + 0.05) / (l2 + 0.05);
}

describe('theming', () => {
  for (const [name, scheme, background] of [['a white page', 'light', 'rgb(255, 255, 255)'], ['a black page', 'dark', 'rgb(0, 0, 0)']]) {
    test(`on ${name} the status line, legend and pen label read (contrast ≥ 4.5:1)`, async () => {
      const { context, page } = await openElement('backend=cpu', { colorScheme: scheme });
      const colours = await page.evaluate(([scheme, background]) => {
        // A page as its author would write it: a background and the colour scheme it suits.
        document.documentElement.style.colorScheme = scheme;
        document.body.style.background = background;
        const root = document.querySelector('digit-detector').shadowRoot;
        const colour = (selector) => getComputedStyle(root.querySelector(selector)).color;
        const own = (selector) => getComputedStyle(root.querySelector(selector)).backgroundColor;
        return { status: colour('[part=status]'), legend: colour('[part=legend] span'), pen: colour('.size'), statusBackground: own('[part=status]') };
      }, [scheme, background]);
      assert.equal(colours.statusBackground, 'rgba(0, 0, 0, 0)', 'the page shows through');
      for (const [part, colour] of Object.entries(colours).filter(([k]) => k !== 'statusBackground')) {
        const ratio = contrast(colour, background);
        assert.ok(ratio >= 4.5, `${part}: ${colour} on ${background} has contrast ${ratio.toFixed(2)}`);
      }
      await context.close();
    });
  }

  test("the site follows the reader's colour scheme, its text readable on its page in both", async () => {
    const pages = {};
    for (const scheme of ['light', 'dark']) {
      const context = await browser.newContext({ colorScheme: scheme });
      const page = await context.newPage();
      await page.goto(`${server.url}/site/index.html`);
      await settled(page);
      pages[scheme] = await page.evaluate(() => {
        const colour = (el) => getComputedStyle(el).color;
        const root = document.querySelector('digit-detector').shadowRoot;
        const texts = {
          heading: colour(document.querySelector('h1')),
          tagline: colour(document.querySelector('header p')),
          hint: colour(document.querySelector('.hint')),
          legal: colour(document.querySelector('.legal')),
          button: colour(document.querySelector('#sample')),
          status: colour(root.querySelector('[part=status]')),
          legend: colour(root.querySelector('[part=legend] span')),
        };
        return { background: getComputedStyle(document.body).backgroundColor, button: getComputedStyle(document.querySelector('#sample')).backgroundColor, texts };
      });
      await context.close();
    }
    const light = (css) => css.match(/[\d.]+/g).slice(0, 3).map(Number).reduce((a, b) => a + b) / 3 > 128;
    assert.ok(light(pages.light.background) && !light(pages.dark.background), `backgrounds: ${pages.light.background} (light), ${pages.dark.background} (dark)`);
    for (const [scheme, { background, button, texts }] of Object.entries(pages)) {
      for (const [part, colour] of Object.entries(texts)) {
        const ratio = contrast(colour, part === 'button' ? button : background);
        assert.ok(ratio >= 4.5, `${scheme}: ${part} ${colour} on ${background} has contrast ${ratio.toFixed(2)}`);
      }
    }
  });

  test('custom properties and ::part() style the element', async () => {
    const { context, page } = await openElement();
    const styled = await page.evaluate(() => {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync('digit-detector { --digitscope-status-color: rgb(1, 2, 3); } digit-detector::part(toolbar) { gap: 17px; } digit-detector::part(canvas), digit-detector::part(view) { filter: grayscale(1); }');
      document.adoptedStyleSheets = [sheet];
      const root = document.querySelector('digit-detector').shadowRoot;
      const filter = (c) => getComputedStyle(root.querySelector(`canvas.${c}`)).filter;
      return { status: getComputedStyle(root.querySelector('[part=status]')).color, gap: getComputedStyle(root.querySelector('[part=toolbar]')).columnGap, canvas: filter('ink'), view: filter('view') };
    });
    assert.deepEqual(styled, { status: 'rgb(1, 2, 3)', gap: '17px', canvas: 'grayscale(1)', view: 'grayscale(1)' });
    await context.close();
  });
});

describe('what people draw first', () => {
  test('on the package\'s 280×280 widget, a 1 and a 0 drawn about 70 px tall with the mouse and the default pen are both found', async () => {
    const { context, page, errors } = await openElement('backend=cpu&size=280');
    const pen = await page.evaluate(() => document.querySelector('digit-detector').penWidth);
    const box = await page.locator('digit-detector canvas.ink').boundingBox();
    const one = MORE_STROKES.find((s) => s.digit === 1);
    const zero = MORE_STROKES.find((s) => s.digit === 0);
    await drawDigitTall(page, box, one, 60, 100, 70);
    await drawDigitTall(page, box, zero, 160, 90, 70);
    const { detections } = await settled(page);
    assert.deepEqual(detections.map((d) => d.digit).sort(), [0, 1], `pen ${pen} px: ${JSON.stringify(detections)}`);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("on the site's pad, a 1 written with a flag and a 7 with a short bar, 120 px tall with the mouse and the default pen, are a 1 and a 7", async () => {
    const { context, page, errors } = await openSite({ viewport: { width: 1000, height: 900 } });
    const box = await page.locator('digit-detector canvas.ink').boundingBox();
    // One stroke each, in a 28-unit-tall shape: the 1's flag 8 units across, 39° below level
    // (as many write it: MNIST's writers seldom do); the 7's bar 8 units, nearly level.
    const stroke = (points) => points.slice(1).flatMap((to, i) => Array.from({ length: 8 }, (_, t) => points[i].map((v, k) => v + ((to[k] - v) * t) / 8))).concat([points.at(-1)]);
    await drawDigitTall(page, box, { strokes: [stroke([[2, 6.4], [10, 0], [10, 28]])] }, 80, 80, 120);
    await drawDigitTall(page, box, { strokes: [stroke([[0, 2], [8, 0], [5, 28]])] }, 280, 80, 120);
    const { detections } = await settled(page);
    assert.deepEqual([...detections].sort((a, b) => a.x - b.x).map((d) => d.digit), [1, 7], JSON.stringify(detections));
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('what it shows', () => {
  test("a digit drawn against the canvas's top edge keeps its label in sight (inside its box)", async () => {
    const { context, page, errors } = await openElement('backend=cpu&size=280');
    await page.evaluate(() => document.querySelector('digit-detector').setAttribute('show-heatmap', 'false'));
    const box = await page.locator('digit-detector canvas.ink').boundingBox();
    await drawDigitTall(page, box, MORE_STROKES.find((s) => s.digit === 7), 100, 2, 120);
    const { detections } = await settled(page);
    assert.deepEqual(detections.map((d) => d.digit), [7], JSON.stringify(detections));
    // The label's text (opaque pixels; its backing is translucent, the heatmap is off) inside
    // the box's top 16 rows, clear of the box's 2-px outline.
    const text = await page.evaluate((d) => {
      const { overlay, canvas } = document.querySelector('digit-detector');
      const s = overlay.width / canvas.width;
      const [x0, y0] = [Math.ceil(d.x - d.w / 2) + 2, Math.ceil(d.y - d.h / 2) + 2];
      const { data } = overlay.getContext('2d').getImageData(Math.round(x0 * s), Math.round(y0 * s), Math.round((Math.floor(d.w) - 4) * s), Math.round(14 * s));
      let opaque = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] === 255) opaque++;
      return { opaque, top: d.y - d.h / 2 };
    }, detections[0]);
    assert.ok(text.top < 16, `the 7's box starts ${text.top} px from the top: no room for a label above it`);
    assert.ok(text.opaque >= 20, `label text pixels inside the box: ${text.opaque}`);
    assert.deepEqual(errors, []);
    await context.close();
  });
  test('a stroke drawn while the window shrinks the pad: what it painted matches a full repaint', async () => {
    const { context, page, errors } = await openSite({ viewport: { width: 1100, height: 900 } });
    const state = () => page.evaluate(() => {
      const el = document.querySelector('digit-detector');
      return { view: !el.view.hidden, copies: Boolean(el.under) };
    });
    assert.equal((await state()).view, false, 'shown pixel for pixel, the view is hidden');
    const box = await page.locator('digit-detector canvas.ink').boundingBox();
    await page.mouse.move(box.x + 100, box.y + 60);
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(box.x + 100 + 4 * i, box.y + 60 + 10 * i);
    assert.equal((await state()).copies, true, 'the moves paint over copies');
    // A phone-sized window: the pad is shrunk to fit and the view shows it; the stroke goes on.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction(() => !document.querySelector('digit-detector').view.hidden);
    const shrunk = await page.locator('digit-detector canvas.ink').boundingBox();
    const k = shrunk.width / box.width;
    for (let i = 11; i <= 20; i++) await page.mouse.move(shrunk.x + (100 + 4 * i) * k, shrunk.y + (60 + 10 * i) * k);
    await page.mouse.up();
    assert.equal((await state()).copies, false, 'the copies are let go when the stroke ends');
    const tall = await page.evaluate(() => {
      const ys = document.querySelector('digit-detector').strokes[0].points.map((p) => p[1]);
      return Math.max(...ys) - Math.min(...ys);
    });
    assert.ok(tall > 150, `one stroke, drawn on both sides of the resize: ${tall} px tall`);
    const repainted = await againstRepaint(page);
    assert.deepEqual(repainted.map((c) => c.differ), [0, 0], 'bytes of the drawing canvas and of the view that differ from a full repaint');
    assert.deepEqual(errors, []);
    await context.close();
  });

  /** `detectPhoto` (see drawing.mjs) in the element's page. */
  function photo(page, traced, tall, pen) {
    return page.evaluate(`(${detectPhoto})(${JSON.stringify(traced)}, ${tall}, ${pen})`);
  }

  test("a phone's photo of a number on paper, shrunk 9× to the pad, keeps its ballpoint strokes: every digit found", async () => {
    const { context, page, errors } = await openElement('backend=cpu&size=448');
    // Six digits 180 px tall in a 4-px pen: 20 px on the pad, their strokes under half a pixel
    // wide. One bilinear draw found two of them.
    const traced = [...STROKES, ...MORE_STROKES];
    const found = await photo(page, traced, 180, 4);
    assert.deepEqual(found.digits, traced.map((d) => d.digit).sort());
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('digits written small on a photographed sheet (8 px on the pad) are read in the photo\'s detail, with strokes drawn over it', async () => {
    const { context, page, errors } = await openElement('backend=cpu&size=448');
    // 70 px tall in the photo: 8 px on the pad, under the detector's 14; read at 3× the pad.
    const traced = [...STROKES, ...MORE_STROKES];
    const found = await photo(page, traced, 70, 3);
    assert.equal(found.detail, 3);
    assert.deepEqual(found.digits, traced.map((d) => d.digit).sort());
    // A 7 drawn with the mouse over the photo, clear of the row: read with them, and they stay.
    const box = await page.locator('digit-detector canvas.ink').boundingBox();
    await drawDigitTall(page, box, MORE_STROKES.find((s) => s.digit === 7), 300, 220, 120);
    const { detections } = await settled(page);
    assert.deepEqual(detections.map((d) => d.digit).sort(), [...traced.map((d) => d.digit), 7].sort());
    // The row rubbed out with the eraser: gone from the detail's reading too; the 7 stays.
    const small = detections.filter((d) => d.h < 20);
    const [x0, x1] = [Math.min(...small.map((d) => d.x - d.w / 2)) - 6, Math.max(...small.map((d) => d.x + d.w / 2)) + 6];
    const [y0, y1] = [Math.min(...small.map((d) => d.y - d.h / 2)), Math.max(...small.map((d) => d.y + d.h / 2))];
    await page.getByRole('button', { name: 'Eraser' }).click();
    for (let y = y0; y <= y1 + 4; y += 4) {
      await page.mouse.move(box.x + x0 * box.width / 448, box.y + y * box.height / 448);
      await page.mouse.down();
      await page.mouse.move(box.x + x1 * box.width / 448, box.y + y * box.height / 448, { steps: 8 });
      await page.mouse.up();
    }
    const rubbed = await settled(page);
    assert.deepEqual(rubbed.detections.map((d) => d.digit), [7], JSON.stringify(rubbed.detections));
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('digits on a transparent page (a drawing app\'s PNG), in black or in white, are found', async () => {
    const { context, page, errors } = await openElement('backend=cpu&size=448');
    for (const colour of ['#000', '#fff']) {
      const found = await page.evaluate(async ([traced, colour]) => {
        const [W, H] = [600, 400];
        const g = new OffscreenCanvas(W, H).getContext('2d');
        Object.assign(g, { strokeStyle: colour, lineWidth: 10, lineCap: 'round', lineJoin: 'round' });
        let x = 80;
        for (const d of traced) {
          const [xs, ys] = [d.strokes.flat().map((p) => p[0]), d.strokes.flat().map((p) => p[1])];
          const s = 160 / (Math.max(...ys) - Math.min(...ys));
          const [x0, y0] = [Math.min(...xs) * s, Math.min(...ys) * s];
          for (const stroke of d.strokes) {
            g.beginPath();
            for (const [px, py] of stroke) g.lineTo(x - x0 + px * s, 120 - y0 + py * s);
            g.stroke();
          }
          x += (Math.max(...xs) - Math.min(...xs)) * s + 50;
        }
        const el = document.querySelector('digit-detector');
        const result = await el.detectImage(g.getImageData(0, 0, W, H));
        return { ink: el.getAttribute('ink'), digits: result.detections.map((d) => d.digit).sort() };
      }, [STROKES, colour]);
      assert.deepEqual(found, { ink: colour === '#000' ? 'dark' : 'light', digits: STROKES.map((d) => d.digit).sort() }, colour);
    }
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('detectImage takes a File or Blob, an <img>, an ImageBitmap or a canvas as it takes ImageData; anything else is a clear error', async () => {
    const { context, page, errors } = await openElement('backend=cpu&size=280');
    const outcome = await page.evaluate(async () => {
      const el = document.querySelector('digit-detector');
      const digits = (r) => r.detections.map((d) => d.digit).sort().join('');
      const blob = await (await fetch('/samples/notebook-composite.png')).blob();
      const img = new Image();
      img.src = URL.createObjectURL(blob);
      await img.decode();
      const bitmap = await createImageBitmap(blob);
      const canvas = document.createElement('canvas');
      [canvas.width, canvas.height] = [128, 128];
      canvas.getContext('2d').drawImage(bitmap, 0, 0);
      const out = { reference: digits(await el.detectImage(await window.composite())) };
      for (const [name, image] of [['blob', blob], ['img', img], ['bitmap', bitmap], ['canvas', canvas]]) out[name] = digits(await el.detectImage(image));
      const failure = async (image) => el.detectImage(image).then(() => 'resolved', (e) => `${e.name}: ${e.message} | ${el.status.textContent}`);
      out.number = await failure(42);
      out.text = await failure(new File(['not a picture'], 'notes.txt', { type: 'text/plain' }));
      out.after = digits(await el.detectImage(blob));
      return out;
    });
    assert.equal(outcome.reference, '0145699');
    for (const name of ['blob', 'img', 'bitmap', 'canvas', 'after']) assert.equal(outcome[name], outcome.reference, name);
    assert.match(outcome.number, /^TypeError: detectImage takes an ImageData, a Blob or File, .* not Number \| Cannot read that picture/);
    assert.match(outcome.text, /^Error: the file notes\.txt \(text\/plain\) is not a picture this browser can read: .* \| Cannot read that picture/);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('labels of digits written side by side do not cover each other; the status reads them in rows, left to right', async () => {
    const { context, page, errors } = await openElement('backend=cpu&size=280');
    const labels = await page.evaluate(() => {
      const el = document.querySelector('digit-detector');
      el.setAttribute('show-heatmap', 'false');
      // "1 0 7" in a row, 80 px tall, the 1's box narrower than its label; "4 2" against the
      // canvas's top edge, where the labels go inside the boxes; a 9 against the right edge.
      // Given as the detector gives them: surest first.
      const box = (digit, score, x0, y0, w, h) => ({ digit, score, x: x0 + w / 2, y: y0 + h / 2, w, h });
      const detections = [box(7, 0.99, 120, 100, 48, 80), box(9, 0.98, 236, 180, 44, 70), box(2, 0.96, 84, 0, 40, 60), box(4, 0.93, 40, 0, 40, 60), box(1, 0.85, 40, 100, 22, 80), box(0, 0.85, 66, 100, 50, 80)];
      el.show({ ...el.result, detections });
      const status = el.shadowRoot.querySelector('.status').textContent;
      return { boxes: detections, labels: el.labelBoxes, width: el.canvas.width, height: el.canvas.height, status };
    });
    const { boxes, width, height } = labels;
    assert.match(labels.status, /^6 digits: 4, 2, 1, 0, 7, 9 · /);
    assert.deepEqual(labels.labels.map((l) => l.digit), boxes.map((b) => b.digit));
    for (const [i, a] of labels.labels.entries()) {
      const b = boxes[i];
      assert.ok(a.left >= 0 && a.top >= 0 && a.left + a.width <= width && a.top + a.height <= height, `label ${i} (${JSON.stringify(a)}) off the ${width}×${height} canvas`);
      // Beside its own box: touching it, within three label heights above or one below.
      const [x0, y0, x1, y1] = [b.x - b.w / 2, b.y - b.h / 2, b.x + b.w / 2, b.y + b.h / 2];
      assert.ok(a.left < x1 && a.left + a.width > x0 && a.top >= y0 - 3 * a.height && a.top <= y1, `label ${i} (${JSON.stringify(a)}) away from its box ${JSON.stringify([x0, y0, x1, y1])}`);
      for (const c of labels.labels.slice(i + 1)) {
        const apart = a.left + a.width <= c.left || c.left + c.width <= a.left || a.top + a.height <= c.top || c.top + c.height <= a.top;
        assert.ok(apart, `the labels of ${a.digit} and ${c.digit} overlap: ${JSON.stringify(a)} ${JSON.stringify(c)}`);
      }
    }
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('on a phone (390×844, touch)', () => {
  test("the notebook's composite: every label beside its box (short where full ones would stack), none covering another", async () => {
    const { context, page, errors } = await openSite(PHONE);
    await page.click('#composite');
    await page.waitForFunction(() => document.querySelector('digit-detector').result?.detections.length >= 6);
    const { detections } = await settled(page);
    const labels = await page.evaluate(() => {
      const el = document.querySelector('digit-detector');
      return { labels: el.labelBoxes, shown: el.canvas.getBoundingClientRect().width / el.canvas.width };
    });
    assert.ok(detections.length >= 6, JSON.stringify(detections));
    // The digits are some 23 CSS px tall here, the labels 16: the full ones, some 40 wide, do not
    // all fit beside their boxes.
    assert.ok(labels.labels.some((l) => l.narrow), `short labels: ${JSON.stringify(labels.labels)}`);
    for (const [i, a] of labels.labels.entries()) {
      const b = detections[i];
      assert.equal(a.digit, b.digit);
      const [x0, y0, x1, y1] = [b.x - b.w / 2, b.y - b.h / 2, b.x + b.w / 2, b.y + b.h / 2];
      // Touching its box: right above it, on it, or right below it.
      assert.ok(a.left < x1 && a.left + a.width > x0 && a.top >= y0 - a.height - 0.5 && a.top <= y1 + 0.5, `label ${i} (${JSON.stringify(a)}) away from its box ${JSON.stringify([x0, y0, x1, y1])}`);
      for (const c of labels.labels.slice(i + 1)) {
        const apart = a.left + a.width <= c.left || c.left + c.width <= a.left || a.top + a.height <= c.top || c.top + c.height <= a.top;
        assert.ok(apart, `the labels of ${a.digit} and ${c.digit} overlap: ${JSON.stringify(a)} ${JSON.stringify(c)}`);
      }
    }
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("the site's pad fits, every control is on screen, and a digit drawn with a finger is found", async () => {
    const { context, page, errors } = await openSite(PHONE);
    const layout = await page.evaluate(() => {
      const el = document.querySelector('digit-detector');
      const controls = [...el.shadowRoot.querySelectorAll('button, input, canvas.ink'), ...document.querySelectorAll('.actions button, .actions input')];
      const outside = controls.map((c) => [c.getAttribute('aria-label') ?? c.id ?? c.className, c.getBoundingClientRect()])
        .filter(([, r]) => r.left < 0 || r.right > innerWidth || r.width === 0)
        .map(([name, r]) => `${name}: ${r.left.toFixed(0)}–${r.right.toFixed(0)}`);
      const canvas = el.shadowRoot.querySelector('canvas.ink').getBoundingClientRect();
      return { scrollWidth: document.documentElement.scrollWidth, innerWidth, outside, canvas: [canvas.width, canvas.height], size: [el.canvas.width, el.canvas.height] };
    });
    assert.ok(layout.scrollWidth <= layout.innerWidth, `the page scrolls sideways: ${layout.scrollWidth} > ${layout.innerWidth}`);
    assert.deepEqual(layout.outside, [], 'controls off screen');
    assert.deepEqual(layout.size, [448, 336], 'the drawing resolution stays the attributes');
    assert.ok(Math.abs(layout.canvas[0] / layout.canvas[1] - 448 / 336) < 0.01, `aspect kept: ${layout.canvas}`);
    assert.ok(layout.canvas[0] <= 390);
    // A "3" drawn with one finger, about 150 canvas px tall, through the Chrome DevTools
    // protocol's touch events (pointer events of type touch in the page).
    const box = await page.locator('digit-detector canvas.ink').boundingBox();
    const cdp = await context.newCDPSession(page);
    const three = STROKES.find((s) => s.digit === 3);
    const scale = (150 / 28) * (box.width / 448);
    for (const stroke of three.strokes) {
      const at = ([x, y]) => ({ x: box.x + 60 * (box.width / 448) + x * scale, y: box.y + 20 * (box.width / 448) + y * scale });
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [at(stroke[0])] });
      for (const p of stroke.slice(1)) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [at(p)] });
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    }
    const { detections } = await settled(page);
    assert.deepEqual(detections.map((d) => d.digit), [3], JSON.stringify(detections));
    const ink = await page.evaluate(() => {
      const el = document.querySelector('digit-detector');
      return { strokes: el.strokes.length, tall: Math.max(...el.strokes.flatMap((s) => s.points.map((p) => p[1]))) - Math.min(...el.strokes.flatMap((s) => s.points.map((p) => p[1]))) };
    });
    assert.equal(ink.strokes, three.strokes.length);
    const ys = three.strokes.flat().map(([, y]) => y);
    const expected = ((Math.max(...ys) - Math.min(...ys)) * 150) / 28;
    assert.ok(Math.abs(ink.tall - expected) < 0.05 * expected, `the strokes are in canvas pixels (mapped from the displayed size): ${ink.tall} for ${expected}`);
    // The overlay is painted at the screen's pixels (3 a CSS pixel), its label 16 CSS px tall
    // whatever the pad's scale on screen, and the label's text is there at that resolution.
    const overlay = await page.evaluate(() => {
      const el = document.querySelector('digit-detector');
      const shown = el.canvas.getBoundingClientRect();
      const label = el.labelBoxes[0];
      const [sx, sy] = [el.overlay.width / el.canvas.width, el.overlay.height / el.canvas.height];
      const { data } = el.overlay.getContext('2d').getImageData(Math.round(label.left * sx), Math.round(label.top * sy), Math.round(label.width * sx), Math.round(label.height * sy));
      let text = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i + 3] === 255) text++;
      return { backing: [el.overlay.width, el.overlay.height], shown: [shown.width, shown.height], labelCss: (label.height * shown.width) / el.canvas.width, text };
    });
    assert.ok(Math.abs(overlay.backing[0] - 3 * overlay.shown[0]) <= 2 && Math.abs(overlay.backing[1] - 3 * overlay.shown[1]) <= 2, `overlay backing ${overlay.backing} for a pad shown ${overlay.shown} at 3 device px a CSS px`);
    assert.ok(Math.abs(overlay.labelCss - 16) < 0.5, `label ${overlay.labelCss} CSS px tall`);
    assert.ok(overlay.text >= 100, `label text pixels at the screen's resolution: ${overlay.text}`);
    // The strokes are shown at the screen's pixels too (the view, under the overlay): as much
    // ink as the drawing canvas holds, with edges as thin as the screen's pixels, where the
    // drawing canvas stretched 3× (as it would be shown) has edges three times as wide.
    const view = await page.evaluate(() => {
      const el = document.querySelector('digit-detector');
      const { width: cw, height: ch } = el.canvas;
      const [w, h] = [el.view.width, el.view.height];
      const stretched = new OffscreenCanvas(w, h);
      const sctx = stretched.getContext('2d');
      sctx.imageSmoothingEnabled = true;
      sctx.drawImage(el.canvas, 0, 0, w, h);
      // Pixels solidly ink, and on an edge (neither ink nor page), of a picture's red channel.
      const count = (data) => {
        let [solid, edge] = [0, 0];
        for (let i = 0; i < data.length; i += 4) {
          if (data[i] > 223) solid++;
          else if (data[i] > 32) edge++;
        }
        return { solid, edge };
      };
      const shown = count(el.view.getContext('2d').getImageData(0, 0, w, h).data);
      const stretch = count(sctx.getImageData(0, 0, w, h).data);
      const drawn = count(el.canvas.getContext('2d').getImageData(0, 0, cw, ch).data);
      return { backing: [w, h], overlay: [el.overlay.width, el.overlay.height], shown, stretch, drawn, k: (w * h) / (cw * ch), visible: getComputedStyle(el.view).display !== 'none' };
    });
    assert.deepEqual(view.backing, view.overlay, 'the view is as sharp as the overlay');
    assert.ok(view.visible);
    const inked = (c) => c.solid + c.edge / 2;
    assert.ok(Math.abs(inked(view.shown) - inked(view.drawn) * view.k) < 0.15 * inked(view.drawn) * view.k, `the view shows the drawing's ink: ${JSON.stringify(view)}`);
    assert.ok(view.shown.edge / view.shown.solid < 0.5 * (view.stretch.edge / view.stretch.solid), `the view's strokes are sharp: ${JSON.stringify(view)}`);
    // Each finger move painted only its own stroke over what lay under it (paintStroke): the
    // drawing canvas and the view hold the pixels a repaint of every stroke gives.
    const repainted = await againstRepaint(page);
    for (const [i, { differ, inked }] of repainted.entries()) {
      assert.ok(inked > 1000, `${['canvas', 'view'][i]} holds the strokes: ${inked}`);
      assert.equal(differ, 0, `${['canvas', 'view'][i]}: bytes that differ from a full repaint`);
    }
    assert.deepEqual(errors, []);
    await context.close();
  });
});
