// MNIST test digits shipped with the site, and scenes made of them.
// File format: u32 LE count, count labels (u8), count × 784 image bytes (test set, file order).

/** Loads the sample digits: { count, labels, image(i) → Uint8Array(784), index(i) → test index }. */
export async function loadSamples(url) {
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const count = new DataView(bytes.buffer).getUint32(0, true);
  const labels = bytes.subarray(4, 4 + count);
  const images = bytes.subarray(4 + count);
  if (images.length !== count * 784) throw new Error('corrupt sample digits file');
  return { count, labels, image: (i) => images.subarray(i * 784, (i + 1) * 784) };
}

/** The notebook's composite: (row, col, test index), pasted in order into 128×128 black. */
export const NOTEBOOK_COMPOSITE = [[12, 6, 15], [40, 30, 14], [15, 45, 13], [5, 75, 12], [45, 90, 11], [89, 70, 9], [80, 25, 6]];

function toImageData(gray, width, height) {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < gray.length; i++) {
    rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = gray[i];
    rgba[4 * i + 3] = 255;
  }
  return new ImageData(rgba, width, height);
}

export function notebookComposite(samples) {
  const gray = new Uint8ClampedArray(128 * 128);
  for (const [row, col, index] of NOTEBOOK_COMPOSITE) {
    const img = samples.image(index);
    for (let r = 0; r < 28; r++) gray.set(img.subarray(r * 28, r * 28 + 28), (row + r) * 128 + col);
  }
  return toImageData(gray, 128, 128);
}

/** mulberry32: a small seeded generator of floats in [0, 1). */
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A random scene: 4–7 sample digits at 28–76 px, not overlapping, on black. */
export function sampleScene(samples, width, height, seed) {
  const rand = generator(seed);
  const gray = new Uint8ClampedArray(width * height);
  const boxes = [];
  const n = 4 + Math.floor(rand() * 4);
  for (let k = 0; k < n; k++) {
    const size = 28 + Math.floor(rand() * 49);
    for (let attempt = 0; attempt < 100; attempt++) {
      const x = Math.floor(rand() * (width - size));
      const y = Math.floor(rand() * (height - size));
      if (boxes.some((b) => x < b.x + b.s + 4 && b.x < x + size + 4 && y < b.y + b.s + 4 && b.y < y + size + 4)) continue;
      boxes.push({ x, y, s: size });
      const img = samples.image(Math.floor(rand() * samples.count));
      for (let r = 0; r < size; r++) {
        for (let c = 0; c < size; c++) {
          // Bilinear resize of the 28×28 digit.
          const sy = ((r + 0.5) * 28) / size - 0.5, sx = ((c + 0.5) * 28) / size - 0.5;
          const y0 = Math.max(0, Math.floor(sy)), x0 = Math.max(0, Math.floor(sx));
          const y1 = Math.min(27, y0 + 1), x1 = Math.min(27, x0 + 1);
          const fy = Math.min(1, Math.max(0, sy - y0)), fx = Math.min(1, Math.max(0, sx - x0));
          const v = (img[y0 * 28 + x0] * (1 - fx) + img[y0 * 28 + x1] * fx) * (1 - fy) + (img[y1 * 28 + x0] * (1 - fx) + img[y1 * 28 + x1] * fx) * fy;
          const at = (y + r) * width + x + c;
          gray[at] = Math.max(gray[at], v);
        }
      }
      break;
    }
  }
  return toImageData(gray, width, height);
}
