// The consumer's code, the same for every bundler: the element, and the plain API in the page.
import { createDetector } from 'digitscope';

// Where the recipe copies the package for bundlers that do not follow the package's
// `new URL(…, import.meta.url)` (see the package README); empty where the bundler does.
const baseUrl = document.querySelector('digit-detector').getAttribute('base-url') ?? undefined;
const detector = await createDetector({ backend: 'cpu', baseUrl });
const { rows, detections } = await detector.detect(new Uint8ClampedArray(64 * 64 * 4), 64, 64);
window.plainApi = { backend: detector.backend.name, rows, detections: detections.length };
