// Takes the README's screenshot of the site with a detected sample scene: docs/site.png.
// Usage: node scripts/screenshot.mjs   (needs www/pkg: `make wasm`)
import { fileURLToPath } from 'node:url';
import { serve } from '../tests/browser/server.mjs';
import { launch } from '../tests/browser/chromium.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const server = await serve({ '/': `${ROOT}www` });
const browser = await launch({ webgpu: false });
const page = await browser.newPage({ viewport: { width: 1000, height: 640 } });
await page.goto(`${server.url}/index.html?seed=4`);
const idle = () => page.waitForFunction(() => {
  const el = document.querySelector('digit-detector');
  return el?.result && el.shownGeneration === el.generation && !el.pending;
}, null, { timeout: 60_000 });
await idle();
await page.getByRole('button', { name: 'Sample scene' }).click();
await page.waitForFunction(() => document.querySelector('digit-detector').baseImage !== null);
await idle();
await page.screenshot({ path: `${ROOT}docs/site.png` });
const { detections } = await page.evaluate(() => document.querySelector('digit-detector').result);
console.log(`docs/site.png: ${detections.length} detections: ${detections.map((d) => d.digit).join(', ')}`);
await browser.close();
await server.close();
