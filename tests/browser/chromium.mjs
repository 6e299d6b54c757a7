// Debian's Chromium, headless, driven by playwright-core (no browser download).
import { chromium } from 'playwright-core';

const BASE = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** `webgpu`: give Chromium a SwiftShader (CPU-emulated) WebGPU adapter; otherwise it has none. */
export async function launch({ webgpu = false } = {}) {
  const args = webgpu
    ? [...BASE, '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan']
    : [...BASE, '--disable-gpu'];
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args, headless: true });
  // Every context (and so every page) waits up to PAGE_TIMEOUT_MS, not Playwright's 30 s.
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...options) => {
    const context = await newContext(...options);
    context.setDefaultTimeout(PAGE_TIMEOUT_MS);
    return context;
  };
  return browser;
}

/**
 * How long a page waits for anything (module compilation, WebGPU pipelines, an event) before a
 * test fails: Playwright's 30 s default is within reach of a slow machine's first WebGPU run.
 */
export const PAGE_TIMEOUT_MS = 300_000;

/** A page that fails the test on console errors and page errors (collected in `errors`). */
export async function openPage(browser, url) {
  const page = await browser.newPage();
  page.setDefaultTimeout(PAGE_TIMEOUT_MS);
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  return { page, errors };
}
