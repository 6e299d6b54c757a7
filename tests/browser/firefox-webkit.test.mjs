// The site in Firefox (Debian's firefox-esr, over WebDriver BiDi) and in WebKit (WebKitGTK's
// MiniBrowser, Safari's engine, under Xvfb): it loads, picks its backend, shows the notebook's
// composite with the CLI's seven digits, finds a digit drawn with the mouse and the digits of a
// phone's photo written small, with no console errors. The backend each browser picked is printed and written to
// out/browser-backends.json.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { serve } from './server.mjs';
import { openFirefox, openWebKit } from './browsers.mjs';
import { MORE_STROKES, STROKES, detectPhoto } from './drawing.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NATIVE = process.env.DIGITSCOPE_BIN ?? `${process.env.CARGO_TARGET_DIR ?? `${ROOT}target`}/release/digitscope`;
const BACKENDS = `${ROOT}out/browser-backends.json`;

let server;
before(async () => {
  server = await serve({ '/': `${ROOT}www` });
});
after(async () => {
  await server.close();
});

/** In the page: the element has shown the result of its current drawing. */
function idle() {
  const el = document.querySelector('digit-detector');
  return Boolean(el?.result && el.shownGeneration === el.generation && !el.pending);
}

function record(name, entry) {
  mkdirSync(`${ROOT}out`, { recursive: true });
  let all = {};
  try { all = JSON.parse(readFileSync(BACKENDS, 'utf8')); } catch { /* first */ }
  all[name] = entry;
  writeFileSync(BACKENDS, `${JSON.stringify(all, null, 2)}\n`);
}

describe('Firefox and WebKit', () => {
  for (const [name, open] of [['Firefox', openFirefox], ['WebKit', openWebKit]]) {
    test(`${name}: the site detects the composite and a digit drawn with the mouse`, async () => {
      const browser = await open();
      try {
        await browser.goto(`${server.url}/index.html`);
        await browser.waitFor(() => customElements.get('digit-detector') !== undefined);
        await browser.waitFor(idle);
        const backend = await browser.evaluate(() => document.querySelector('digit-detector').client.backend);
        const modules = await browser.evaluate(() => document.querySelector('digit-detector').moduleUrls.map((u) => new URL(u).pathname));
        console.log(`${name} ${browser.version}: ${JSON.stringify(backend)} ${modules.join(' ')}`);
        record(name, { version: browser.version, backend, modules });

        await browser.evaluate(() => document.getElementById('composite').click());
        await browser.waitFor(() => document.querySelector('digit-detector').baseImage !== null);
        await browser.waitFor(idle);
        const composite = await browser.evaluate(() => document.querySelector('digit-detector').result.detections.map((d) => d.digit));
        const expected = JSON.parse(execFileSync(NATIVE, ['detect', '--json', `${ROOT}samples/notebook-composite.png`]).toString()).detections.map((d) => d.digit);
        assert.deepEqual([...composite].sort(), [...expected].sort(), `${name} composite`);

        await browser.evaluate(() => document.querySelector('digit-detector').clear());
        await browser.waitFor(idle);
        const box = await browser.evaluate(() => {
          const r = document.querySelector('digit-detector').shadowRoot.querySelector('canvas.ink').getBoundingClientRect();
          return { x: r.x, y: r.y };
        });
        const two = STROKES.find((s) => s.digit === 2);
        for (const stroke of two.strokes) await browser.stroke(stroke.map(([x, y]) => [box.x + 100 + x * 5, box.y + 60 + y * 5]));
        await browser.waitFor(() => document.querySelector('digit-detector').strokes.length > 0);
        await browser.waitFor(idle);
        const drawn = await browser.evaluate(() => document.querySelector('digit-detector').result.detections.map((d) => d.digit));
        assert.deepEqual(drawn, [2], `${name} drawn digit`);

        // A phone's photo of six digits written 70 px tall (8 px once shrunk to the pad):
        // shrunk by averaging and read in 3× detail, in this browser's canvas too.
        const traced = [...STROKES, ...MORE_STROKES];
        const photo = await browser.evaluate(detectPhoto, traced, 70, 3);
        assert.deepEqual(photo, { digits: traced.map((d) => d.digit).sort(), detail: 3 }, `${name} photo`);
        if (browser.readErrors) await browser.readErrors();
        assert.deepEqual(browser.errors, []);
      } finally {
        await browser.close();
      }
    });
  }
});
