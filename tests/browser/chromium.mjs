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
export function launch({ webgpu = false } = {}) {
  const args = webgpu
    ? [...BASE, '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan']
    : [...BASE, '--disable-gpu'];
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args, headless: true });
}

/** A page that fails the test on console errors and page errors (collected in `errors`). */
export async function openPage(browser, url) {
  const page = await browser.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  return { page, errors };
}
