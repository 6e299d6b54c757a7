// Takes the README's screenshots: the site with a detected sample scene (docs/site.png), the site
// on a phone (docs/phone.png, 390×844) and the element on a white page (docs/white-page.png).
// Usage: node scripts/screenshot.mjs   (needs the wasm modules: `make wasm`)
import { fileURLToPath } from 'node:url';
import { packageMounts, serve } from '../tests/browser/server.mjs';
import { launch } from '../tests/browser/chromium.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const server = await serve({ '/': `${ROOT}www` });
const browser = await launch({ webgpu: false });
/** Waits until the page's element shows the result of its current drawing. */
const idle = (page) => page.waitForFunction(() => {
  const el = document.querySelector('digit-detector');
  return el?.result && el.shownGeneration === el.generation && !el.pending;
}, null, { timeout: 60_000 });

/** The site in `page` with sample scene 4 detected; a screenshot to `file`; the detections. */
async function sampleScene(page, file) {
  await page.goto(`${server.url}/index.html?seed=4`);
  await idle(page);
  await page.getByRole('button', { name: 'Sample scene' }).click();
  await page.waitForFunction(() => document.querySelector('digit-detector').baseImage !== null);
  await idle(page);
  await page.screenshot({ path: `${ROOT}docs/${file}` });
  return page.evaluate(() => document.querySelector('digit-detector').result.detections);
}

const detections = await sampleScene(await browser.newPage({ viewport: { width: 1000, height: 640 } }), 'site.png');
console.log(`docs/site.png: ${detections.length} detections: ${detections.map((d) => d.digit).join(', ')}`);
await sampleScene(await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }), 'phone.png');
console.log('docs/phone.png');

// The element alone on a plain white page (the test pages' element.html, nothing styled).
const white = await browser.newPage({ viewport: { width: 480, height: 460 } });
const pages = await serve(packageMounts(ROOT));
await white.goto(`${pages.url}/element.html?backend=cpu&size=280`);
await white.waitForFunction(() => document.querySelector('digit-detector')?.result);
const box = await white.locator('digit-detector canvas.ink').boundingBox();
const stroke = async (points) => {
  await white.mouse.move(box.x + points[0][0], box.y + points[0][1]);
  await white.mouse.down();
  for (const [x, y] of points.slice(1)) await white.mouse.move(box.x + x, box.y + y, { steps: 4 });
  await white.mouse.up();
};
// A 7 and a 1, drawn with the mouse.
await stroke([[40, 70], [130, 70], [80, 210]]);
await stroke([[215, 80], [220, 210]]);
await idle(white);
await white.screenshot({ path: `${ROOT}docs/white-page.png` });
console.log('docs/white-page.png');
await pages.close();
await browser.close();
await server.close();
