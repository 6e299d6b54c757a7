// Serves a folder (default: www/) on http://127.0.0.1:PORT with the site's Content-Security-Policy.
// Usage: node scripts/serve.mjs [folder] [port]
import { serve } from '../tests/browser/server.mjs';

const [folder = 'www', port = '8080'] = process.argv.slice(2);
const server = await serve({ '/': folder }, { port: Number(port) });
console.log(`digitscope: serving ${folder}/ on ${server.url}/ (Ctrl-C to stop)`);
