// See fault-worker.js.
import { installFault, loseDevices } from './faults.js';

const query = new URL(self.location.href).searchParams;
installFault(query.get('fault'), { parityOffset: Number(query.get('parity') ?? 0) });
self.addEventListener('message', (event) => {
  if (event.data?.type !== 'test-lose-device') return;
  event.stopImmediatePropagation();
  self.postMessage({ id: event.data.id, lost: loseDevices() });
});
