// A static file server on 127.0.0.1 for the browser tests: correct MIME types (application/wasm),
// a strict Content-Security-Policy on every response, and a log of every request it answered.
import { createServer } from 'node:http';
import { readdirSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.bin': 'application/octet-stream',
  '.d.ts': 'text/plain; charset=utf-8',
};

/** The package's files as the test pages load them: the wasm modules built, the JS, the pages. */
export function packageMounts(root, extra = {}) {
  const modules = readdirSync(`${root}www`).filter((d) => d.startsWith('pkg-'));
  return {
    ...Object.fromEntries(modules.map((d) => [`/${d}/`, `${root}www/${d}`])),
    '/src/': `${root}www/src`,
    '/samples/': `${root}samples`,
    '/': `${root}tests/browser/pages`,
    ...extra,
  };
}

export const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'self'";

/**
 * Serves `mounts` ({ urlPrefix: directory }) and returns { url, requests, close }. `csp: false`
 * omits the Content-Security-Policy header (for a third-party page, such as a package consumer's);
 * `isolated: true` adds COOP/COEP, so that pages are cross-origin isolated (`performance.now()`
 * then ticks in microseconds, not Chromium's 0.1 ms).
 */
export async function serve(mounts, { csp = true, port = 0, isolated = false } = {}) {
  const requests = [];
  const roots = Object.entries(mounts).sort((a, b) => b[0].length - a[0].length);
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    requests.push(path);
    const mount = roots.find(([prefix]) => path.startsWith(prefix));
    if (!mount) return void res.writeHead(404).end();
    let file = normalize(join(resolve(mount[1]), path.slice(mount[0].length)));
    if (!file.startsWith(resolve(mount[1]))) return void res.writeHead(403).end();
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      const type = file.endsWith('.d.ts') ? TYPES['.d.ts'] : TYPES[extname(file)] ?? 'application/octet-stream';
      const headers = { 'content-type': type, 'cache-control': 'no-cache' };
      if (csp) headers['content-security-policy'] = CSP;
      if (isolated) Object.assign(headers, { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
      res.writeHead(200, headers);
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  const bound = server.address().port;
  return {
    url: `http://127.0.0.1:${bound}`,
    requests,
    close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(ok); }),
  };
}
