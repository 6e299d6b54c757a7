// The static site: the <digit-detector> element plus sample scenes, the notebook's composite and
// uploads. Registers the service worker that makes the site work offline.
import './src/digit-detector.js';
import { loadSamples, notebookComposite, sampleScene } from './src/samples.js';

const detector = document.getElementById('detector');
const samples = loadSamples(new URL('samples/mnist-test-sample.bin', import.meta.url));

// `?seed=N` makes the sample scenes reproducible (the README's screenshot uses it).
let seed = Number(new URLSearchParams(location.search).get('seed')) || Date.now();

document.getElementById('sample').addEventListener('click', async () => {
  const { width, height } = detector.canvasSize();
  detector.detectImage(sampleScene(await samples, width, height, seed++));
});

document.getElementById('composite').addEventListener('click', async () => {
  detector.detectImage(notebookComposite(await samples));
});

// The element decodes the file (EXIF orientation applied); a file it cannot read, or a failed
// detection, is said on its status line.
document.getElementById('upload').addEventListener('change', (e) => {
  const file = e.target.files?.[0];
  if (file) detector.detectImage(file).catch(() => {});
});

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register(new URL('sw.js', import.meta.url), { type: 'module' }).catch((e) => {
    console.warn('offline mode unavailable:', e.message);
  });
  // Offline, the page needs the wasm module its detector loaded (and only that one): once the
  // detector runs, the service worker is told which files those were.
  const keep = (urls) => navigator.serviceWorker.ready.then((r) => r.active?.postMessage({ type: 'keep', urls }));
  if (detector.moduleUrls.length) keep(detector.moduleUrls);
  detector.addEventListener('ready', (e) => keep(e.detail.modules));
}
