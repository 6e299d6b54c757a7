// Service worker: precaches the site's shell at install and answers from the cache first, so
// that after one visit the site loads and detects offline. Of the wasm modules it keeps only what
// this browser uses (one CPU module, ≈ 0.6 MB gzip; the WebGPU module where it runs): the page
// sends the URLs its detector loaded ({ type: 'keep', urls }, see app.js), and anything else it
// fetches while controlled (a later fallback's module) is cached on first use.
// `make site` replaces VERSION with a hash of the assets, so a new deployment replaces the cache.
const VERSION = 'dev';
const CACHE = `digitscope-${VERSION}`;
const ASSETS = [
  './',
  'index.html',
  'app.js',
  'app.css',
  'manifest.webmanifest',
  'icons/icon-192.png',
  'icons/icon-512.png',
  'src/digit-detector.js',
  'src/client.js',
  'src/errors.js',
  'src/worker.js',
  'src/colors.js',
  'src/samples.js',
  'src/index.js',
  'src/load.js',
  'src/modules.js',
  'samples/mnist-test-sample.bin',
];

self.addEventListener('message', (event) => {
  const { type, urls } = event.data ?? {};
  if (type !== 'keep' || !Array.isArray(urls)) return;
  const mine = urls.filter((u) => new URL(u, self.location.href).origin === self.location.origin);
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => Promise.all(mine.map((u) => cache.match(u).then((hit) => hit ?? cache.add(u)))))
      .then(() => event.source?.postMessage({ type: 'kept', urls: mine }), (e) => event.source?.postMessage({ type: 'keep-failed', error: String(e) })),
  );
});

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('digitscope-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    caches.match(request, { ignoreSearch: true }).then((hit) => hit ?? fetch(request).then((response) => {
      if (response.ok) {
        const copy = response.clone();
        caches.open(CACHE).then((cache) => cache.put(request, copy));
      }
      return response;
    })),
  );
});
