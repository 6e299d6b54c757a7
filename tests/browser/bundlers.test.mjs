// The npm package in apps built by real bundlers: the tarball from `npm pack` installed into a
// copy of one consumer app (tests/bundlers/), built by Vite, webpack, esbuild and Rollup (each
// with the recipe the package README gives), served, opened in Chromium, and a digit drawn with
// the mouse on its <digit-detector> detected. Plus Vite's dev server, and esbuild without the
// recipe: the error must name the URL that failed and the option that fixes it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { serve } from './server.mjs';
import { launch } from './chromium.mjs';
import { STROKES, drawDigit, settled } from './drawing.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = `${ROOT}tests/bundlers`;
const BIN = `${ROOT}node_modules/.bin`;

let browser;
let tarball;
/** Every folder the tests make (the tarball's, each app's): removed at the end. */
const folders = [];
before(async () => {
  const packed = mkdtempSync(join(tmpdir(), 'digitscope-pack-'));
  folders.push(packed);
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', packed], { cwd: `${ROOT}www` }).toString().trim().split('\n').at(-1);
  tarball = join(packed, name);
  browser = await launch({ webgpu: false });
});
after(async () => {
  await browser.close();
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the consumer app with the tarball installed and `bundler`'s files beside it. */
function app(bundler) {
  const dir = mkdtempSync(join(tmpdir(), `digitscope-${bundler}-`));
  folders.push(dir);
  for (const f of ['index.html', 'main.js']) cpSync(join(FIXTURES, f), join(dir, f));
  for (const f of readdirSync(join(FIXTURES, bundler))) cpSync(join(FIXTURES, bundler, f), join(dir, f));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${bundler}`, private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', tarball], { cwd: dir, stdio: 'pipe' });
  return dir;
}

function build(dir, script = './build.sh') {
  execFileSync('bash', ['-c', script], { cwd: dir, stdio: 'pipe', env: { ...process.env, BIN, NODE_PATH: `${ROOT}node_modules` } });
}

/** Opens `url`, checks the plain API ran, draws a 2 and expects the element to find it. */
async function drawAndDetect(url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url);
  await page.waitForFunction(() => window.plainApi);
  assert.deepEqual(await page.evaluate(() => window.plainApi), { backend: 'cpu', rows: 8, detections: 0 });
  await settled(page);
  const two = STROKES.find((s) => s.digit === 2);
  await drawDigit(page, await page.locator('digit-detector canvas.ink').boundingBox(), two, 60, 40, 5);
  const { detections } = await settled(page);
  assert.deepEqual(detections.map((d) => d.digit), [2], JSON.stringify(detections));
  assert.deepEqual(errors, []);
  await context.close();
}

describe('bundlers (built from the npm pack tarball)', () => {
  for (const bundler of ['vite', 'webpack', 'esbuild', 'rollup']) {
    test(`${bundler}: builds, loads and detects a drawn digit`, async () => {
      const dir = app(bundler);
      build(dir);
      const site = await serve({ '/': join(dir, 'dist') }, { csp: false });
      try {
        await drawAndDetect(`${site.url}/index.html`);
        assert.ok(site.requests.some((p) => p.endsWith('.wasm')), site.requests.join(' '));
      } finally {
        await site.close();
      }
    });
  }

  test('vite dev server: loads and detects a drawn digit', async () => {
    const dir = app('vite');
    const port = await new Promise((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => { const { port } = probe.address(); probe.close(() => resolve(port)); });
    });
    const dev = spawn(`${BIN}/vite`, ['--port', String(port), '--strictPort', '--host', '127.0.0.1'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise((resolve, reject) => {
        let out = '';
        dev.stdout.on('data', (d) => { out += d; if (out.includes(`${port}`)) resolve(); });
        dev.on('exit', (code) => reject(new Error(`vite exited with ${code}: ${out}`)));
      });
      await drawAndDetect(`http://127.0.0.1:${port}/`);
    } finally {
      dev.kill();
    }
  });

  test('esbuild without the recipe: the element says which URL failed and which option fixes it', async () => {
    const dir = app('esbuild');
    build(dir, '"$BIN/esbuild" main.js --bundle --format=esm --outdir=dist --log-level=error && cp index.html dist/');
    const site = await serve({ '/': join(dir, 'dist') }, { csp: false });
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${site.url}/index.html`);
      const status = page.locator('digit-detector').locator('[role=status]');
      await page.waitForFunction(() => /failed/.test(document.querySelector('digit-detector').shadowRoot.querySelector('[role=status]').textContent));
      const text = await status.textContent();
      assert.match(text, new RegExp(`The detector failed to start: the detector worker could not be loaded from ${site.url}/worker.js: HTTP 404`));
      assert.match(text, /baseUrl option \(the base-url attribute of <digit-detector>\)/);
      await context.close();
    } finally {
      await site.close();
    }
  });
});
