// A <digit-detector> for the fault tests: the query string picks the backend and an injected
// fault (?backend=auto&fault=lose-device&parity=0.5), run by the test worker (fault-worker.js)
// that the element's detectorOptions name before it starts. No inline script: the page runs under the strict CSP.
import '/src/index.js';

const query = new URLSearchParams(location.search);
const el = document.createElement('digit-detector');
el.setAttribute('width', query.get('size') ?? '224');
el.setAttribute('height', query.get('size') ?? '224');
el.setAttribute('backend', query.get('backend') ?? 'auto');
el.setAttribute('storage-key', 'digitscope-fault-test');
// Faults run in a test build of the worker (fault-worker.js), never in the package.
const faults = new URLSearchParams();
for (const key of ['fault', 'parity']) if (query.has(key)) faults.set(key, query.get(key));
el.detectorOptions = faults.size ? { workerUrl: `/fault-worker.js?${faults}` } : {};
document.body.append(el);
window.backendChanges = [];
el.addEventListener('backendchange', (e) => window.backendChanges.push(e.detail));
