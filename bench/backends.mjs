// Browser benchmark of the wasm detector's backends, in Debian's headless Chromium:
// median latency of `detect` (heatmap + decoding + read-back) on the same 512×512 and 280×280
// scenes for each CPU backend and for WebGPU (SwiftShader here: a CPU emulation, not a GPU).
// Usage: node bench/backends.mjs [runs]   (needs www/pkg: `make wasm`)
import { fileURLToPath } from 'node:url';
import { serve } from '../tests/browser/server.mjs';
import { launch } from '../tests/browser/chromium.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const runs = Number(process.argv[2] ?? 20);
const server = await serve({ '/pkg/': `${ROOT}www/pkg`, '/pkg-webgpu/': `${ROOT}www/pkg-webgpu`,
    '/pkg-simd/': `${ROOT}www/pkg-simd`, '/src/': `${ROOT}www/src`, '/samples/': `${ROOT}samples`, '/': `${ROOT}tests/browser/pages` });
const rows = [];
for (const webgpu of [false, true]) {
  const browser = await launch({ webgpu });
  const page = await browser.newPage();
  await page.goto(`${server.url}/index.html`);
  await page.waitForFunction(() => window.harness !== undefined, null, { timeout: 60_000 });
  const configs = webgpu
    ? [{ backend: 'webgpu' }]
    : [{ backend: 'cpu', cpu: 'direct' }, { backend: 'cpu', cpu: 'direct', simd: false }, { backend: 'cpu', cpu: 'flex' }, { backend: 'cpu', cpu: 'flex', simd: false }, { backend: 'cpu', cpu: 'ndarray' }];
  for (const options of configs) {
    for (const side of [512, 280]) {
      const ms = await page.evaluate(async ({ options, side, runs }) => {
        const d = await window.harness.createDetector(options);
        const px = new Uint8ClampedArray(side * side * 4);
        for (let i = 0; i < px.length; i += 4) { const v = (i * 2654435761 >>> 24) > 200 ? 255 : 0; px[i] = px[i + 1] = px[i + 2] = v; px[i + 3] = 255; }
        for (let i = 0; i < 3; i++) await d.detect(px, side, side, {});
        const times = [];
        for (let i = 0; i < runs; i++) { const t = performance.now(); await d.detect(px, side, side, {}); times.push(performance.now() - t); }
        times.sort((a, b) => a - b);
        return times[Math.floor(times.length / 2)];
      }, { options, side, runs });
      const name = options.backend === 'cpu' ? `cpu-${options.cpu}${options.simd === false || options.cpu === 'ndarray' ? '' : '-simd'}` : 'webgpu-swiftshader';
      rows.push({ backend: name, side, medianMs: Number(ms.toFixed(2)) });
      console.log(JSON.stringify(rows.at(-1)));
    }
  }
  await browser.close();
}
await server.close();
