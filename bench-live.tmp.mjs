import { packageMounts, serve } from './tests/browser/server.mjs';
import { launch } from './tests/browser/chromium.mjs';
const ROOT = process.cwd() + '/';
const OUT = `${ROOT}out/bench`;
const server = await serve(packageMounts(ROOT, { '/weights/': `${ROOT}weights`, '/tfjs/': `${OUT}/tfjs`, '/out/': OUT, '/': `${ROOT}bench/pages` }), { csp: false, isolated: true });
const browser = await launch({ webgpu: false });
const page = await browser.newPage();
page.on('pageerror', (e) => console.log('pageerror', String(e)));
await page.goto(`${server.url}/index.html`);
await page.waitForFunction(() => window.bench !== undefined);
for (const o of [{ backend: 'cpu', cpu: 'direct' }, { backend: 'cpu', cpu: 'direct', relaxedSimd: false }]) {
  const r = await page.evaluate(([o]) => window.bench.brief('live', o, [448, 336], { warmup: 3, runs: 30 }), [o]);
  console.log(JSON.stringify(r));
}
await browser.close(); await server.close();
