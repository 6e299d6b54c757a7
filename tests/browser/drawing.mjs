// Helpers for tests that drive <digit-detector> like a user: traced MNIST digits drawn with the
// mouse, and waiting for the element to show the result of its current drawing.
import { readFileSync } from 'node:fs';

/** Three MNIST test digits (2, 35, 18 of the test set) traced into strokes on a 28×28 grid. */
export const STROKES = JSON.parse(readFileSync(new URL('./fixtures/strokes.json', import.meta.url), 'utf8'));

/** More traced MNIST test digits, by digit: a 7, a 1 and a 0 (test images 0, 2, 3). */
export const MORE_STROKES = JSON.parse(readFileSync(new URL('./fixtures/more-strokes.json', import.meta.url), 'utf8'));

/** Waits until the element shows the result of its current drawing; returns that result. */
export async function settled(page) {
  await page.waitForFunction(() => {
    const el = document.querySelector('digit-detector');
    return el?.result && el.shownGeneration === el.generation && !el.pending;
  });
  return page.evaluate(() => {
    const { detections, backend, rows, cols } = document.querySelector('digit-detector').result;
    return { detections, backend, rows, cols };
  });
}

/** Draws a traced MNIST digit with the mouse, its 28×28 grid scaled by `scale`, at (x, y). */
export async function drawDigit(page, box, digit, x, y, scale) {
  for (const stroke of digit.strokes) {
    const [first, ...rest] = stroke;
    await page.mouse.move(box.x + x + first[0] * scale, box.y + y + first[1] * scale);
    await page.mouse.down();
    for (const [px, py] of rest) await page.mouse.move(box.x + x + px * scale, box.y + y + py * scale, { steps: 2 });
    await page.mouse.up();
  }
}

/**
 * Draws a traced digit with the mouse so that its skeleton spans `height` pixels (the pen adds
 * its width), its top-left at (x, y) of the canvas.
 */
export async function drawDigitTall(page, box, digit, x, y, height) {
  const ys = digit.strokes.flat().map(([, py]) => py);
  const xs = digit.strokes.flat().map(([px]) => px);
  const scale = height / (Math.max(...ys) - Math.min(...ys));
  const [x0, y0] = [Math.min(...xs) * scale, Math.min(...ys) * scale];
  await drawDigit(page, box, digit, x - x0, y - y0, scale);
}

/**
 * Run in the page (self-contained: pass it to `evaluate`): a 4032×3024 phone photo of paper lit
 * unevenly, the traced digits `traced` written on it in a row, `tall` px tall in a `pen`-px
 * ballpoint, given to the page's <digit-detector> as an upload. Resolves to the digits found
 * (sorted) and the result's `detail`.
 */
export async function detectPhoto(traced, tall, pen) {
  const [W, H] = [4032, 3024];
  const canvas = new OffscreenCanvas(W, H);
  const g = canvas.getContext('2d');
  const light = g.createLinearGradient(0, 0, W, H);
  light.addColorStop(0, '#f4f1ea');
  light.addColorStop(1, '#9d978c');
  g.fillStyle = light;
  g.fillRect(0, 0, W, H);
  Object.assign(g, { strokeStyle: '#1b1d2a', lineWidth: pen, lineCap: 'round', lineJoin: 'round' });
  let x = W / 4;
  for (const d of traced) {
    const [xs, ys] = [d.strokes.flat().map((p) => p[0]), d.strokes.flat().map((p) => p[1])];
    const s = tall / (Math.max(...ys) - Math.min(...ys));
    const [x0, y0] = [Math.min(...xs) * s, Math.min(...ys) * s];
    for (const stroke of d.strokes) {
      g.beginPath();
      for (const [px, py] of stroke) g.lineTo(x - x0 + px * s, H * 0.4 - y0 + py * s);
      g.stroke();
    }
    x += (Math.max(...xs) - Math.min(...xs)) * s + tall / 2;
  }
  const result = await document.querySelector('digit-detector').detectImage(g.getImageData(0, 0, W, H));
  return { digits: result.detections.map((d) => d.digit).sort(), detail: result.detail };
}
