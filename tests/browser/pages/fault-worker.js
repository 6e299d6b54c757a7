// The package's detector worker with GPU faults injected first (test code): the fault comes
// from this script's query (?fault=lose-device&parity=0.5), and { type: 'test-lose-device' }
// destroys the recorded devices. Imported before src/worker.js, so both run before it.
import './fault-worker-setup.js';
import '/src/worker.js';
