// Firefox and WebKit for the browser tests, behind one small driver: Debian's firefox-esr driven
// by puppeteer-core over WebDriver BiDi, and Debian's WebKitGTK (Safari's engine) through
// WebKitWebDriver, which starts MiniBrowser (no headless mode) under Xvfb, spoken to in plain
// W3C WebDriver over HTTP.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { PAGE_TIMEOUT_MS } from './chromium.mjs';

export const FIREFOX = process.env.FIREFOX ?? '/usr/bin/firefox-esr';
export const MINIBROWSER = process.env.MINIBROWSER ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

/**
 * A driver: `goto(url)`, `evaluate(fn, ...args)` (fn may return a promise), `waitFor(fn, ...args)`
 * (until fn returns something truthy), `stroke(points)` (a mouse stroke through viewport
 * points), `errors` (console errors and uncaught exceptions seen so far), `close()`.
 */
export async function openFirefox() {
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true });
  const page = await browser.newPage();
  page.setDefaultTimeout(PAGE_TIMEOUT_MS);
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  return {
    name: 'Firefox',
    version: await browser.version(),
    errors,
    goto: (url) => page.goto(url),
    evaluate: (fn, ...args) => page.evaluate(fn, ...args),
    waitFor: (fn, ...args) => page.waitForFunction(fn, { polling: 100, timeout: PAGE_TIMEOUT_MS }, ...args),
    async stroke(points) {
      await page.mouse.move(...points[0]);
      await page.mouse.down();
      for (const p of points.slice(1)) await page.mouse.move(...p, { steps: 2 });
      await page.mouse.up();
    },
    close: () => browser.close(),
  };
}

async function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** WebKitGTK's MiniBrowser under Xvfb through WebKitWebDriver (see openFirefox for the driver). */
export async function openWebKit() {
  const port = await freePort();
  // Its own process group, so that close() stops Xvfb and the driver with it; its own temporary
  // folder, removed by close() (xvfb-run, stopped by a signal, leaves its Xauthority folder).
  const tmp = mkdtempSync(join(tmpdir(), 'digitscope-webkit-'));
  const env = { ...process.env, TMPDIR: tmp };
  const driver = spawn('xvfb-run', ['-a', '-s', '-screen 0 1280x1024x24', 'WebKitWebDriver', `--port=${port}`], { detached: true, stdio: 'ignore', env });
  const base = `http://127.0.0.1:${port}`;
  const call = async (method, path, body) => {
    const response = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    const { value } = await response.json();
    if (value?.error) throw new Error(`WebDriver ${path}: ${value.error}: ${value.message}`);
    return value;
  };
  let session;
  for (const deadline = Date.now() + 30_000; !session;) {
    try {
      session = await call('POST', '/session', { capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] } } } });
    } catch (e) {
      if (Date.now() > deadline) {
        try { process.kill(-driver.pid); } catch { /* already gone */ }
        rmSync(tmp, { recursive: true, force: true, maxRetries: 5 });
        throw e;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const id = session.sessionId;
  // Classic WebDriver has no console events: the page's errors are collected by a listener
  // installed after each navigation (an error before it would go unseen).
  const collect = `window.__errors = window.__errors || [];
    if (!window.__collecting) {
      window.__collecting = true;
      addEventListener('error', (e) => window.__errors.push(String(e.message)));
      addEventListener('unhandledrejection', (e) => window.__errors.push(String(e.reason?.message ?? e.reason)));
      const error = console.error.bind(console);
      console.error = (...a) => { window.__errors.push(a.map(String).join(' ')); error(...a); };
    }`;
  const evaluate = async (fn, ...args) => {
    const script = `const done = arguments[arguments.length - 1];
      Promise.resolve().then(() => (${fn})(...Array.prototype.slice.call(arguments, 0, -1)))
        .then((value) => done({ value }), (e) => done({ error: String(e?.message ?? e) }));`;
    const out = await call('POST', `/session/${id}/execute/async`, { script, args });
    if (out.error) throw new Error(out.error);
    return out.value;
  };
  const driverApi = {
    name: 'WebKit',
    version: session.capabilities.browserVersion,
    errors: [],
    async goto(url) {
      await call('POST', `/session/${id}/url`, { url });
      // WebKitWebDriver's navigation returns before the page's modules have run.
      await call('POST', `/session/${id}/execute/sync`, { script: collect, args: [] });
    },
    evaluate,
    async waitFor(fn, ...args) {
      for (const deadline = Date.now() + PAGE_TIMEOUT_MS; ;) {
        const value = await evaluate(fn, ...args);
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${fn}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stroke(points) {
      const [x0, y0] = points[0].map(Math.round);
      const actions = [{ type: 'pointerMove', x: x0, y: y0, origin: 'viewport', duration: 0 }, { type: 'pointerDown', button: 0 }];
      for (const [x, y] of points.slice(1)) actions.push({ type: 'pointerMove', x: Math.round(x), y: Math.round(y), origin: 'viewport', duration: 16 });
      actions.push({ type: 'pointerUp', button: 0 });
      await call('POST', `/session/${id}/actions`, { actions: [{ type: 'pointer', id: 'mouse', parameters: { pointerType: 'mouse' }, actions }] });
      await call('DELETE', `/session/${id}/actions`);
    },
    async close() {
      try {
        await call('DELETE', `/session/${id}`);
      } finally {
        try { process.kill(-driver.pid); } catch { /* already gone */ }
        rmSync(tmp, { recursive: true, force: true, maxRetries: 5 });
      }
    },
  };
  // Errors seen by the page, read back on demand.
  Object.defineProperty(driverApi, 'errors', { get: () => driverApi.lastErrors ?? [] });
  driverApi.readErrors = async () => (driverApi.lastErrors = await evaluate(() => window.__errors ?? []));
  return driverApi;
}
