// Service worker: precaches every asset of the site (the wasm module included) at install, then
// answers from the cache first, so that after one visit the site loads and detects offline.
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
  'src/worker.js',
  'src/colors.js',
  'src/samples.js',
  'src/index.js',
  'src/load.js',
  'pkg-simd/digitscope.js',
  'pkg-simd/digitscope_bg.wasm',
  'pkg-relaxed/digitscope.js',
  'pkg-relaxed/digitscope_bg.wasm',
  'pkg-ndarray/digitscope.js',
  'pkg-ndarray/digitscope_bg.wasm',
  'pkg-webgpu/digitscope.js',
  'pkg-webgpu/digitscope_bg.wasm',
  'samples/mnist-test-sample.bin',
];

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
