// A <digit-detector> for the fault tests: the query string picks the backend and an injected
// fault (?backend=auto&fault=lose-device&parity=0.5), applied through the element's
// detectorOptions before it starts. No inline script: the page runs under the strict CSP.
import '/src/index.js';

const query = new URLSearchParams(location.search);
const el = document.createElement('digit-detector');
el.setAttribute('width', query.get('size') ?? '224');
el.setAttribute('height', query.get('size') ?? '224');
el.setAttribute('backend', query.get('backend') ?? 'auto');
el.setAttribute('storage-key', 'digitscope-fault-test');
const options = {};
if (query.has('fault')) options.testFault = query.get('fault');
if (query.has('parity')) options.testParityOffset = Number(query.get('parity'));
el.detectorOptions = options;
document.body.append(el);
window.backendChanges = [];
el.addEventListener('backendchange', (e) => window.backendChanges.push(e.detail));
