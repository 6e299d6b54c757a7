// The notebook's colour map: class i → matplotlib `hsv(i / 12)` (full saturation and value).
export function classColor(i) {
  const h = (i / 12) * 6;
  const x = 1 - Math.abs((h % 2) - 1);
  const [r, g, b] = [[1, x, 0], [x, 1, 0], [0, 1, x], [0, x, 1], [x, 0, 1], [1, 0, x]][Math.floor(h)];
  return [Math.floor(r * 255), Math.floor(g * 255), Math.floor(b * 255)];
}

export const CLASS_LABELS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'background'];
