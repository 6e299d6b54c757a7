// A promise-based client of the detector worker.
export class DetectorClient {
  /** Starts the worker and creates the wasm detector in it. */
  constructor(options = {}) {
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this.pending = new Map();
    this.nextId = 1;
    this.backend = null;
    this.worker.onmessage = ({ data }) => {
      const waiter = this.pending.get(data.id);
      if (!waiter) return;
      this.pending.delete(data.id);
      if (data.backendState) this.backend = data.backendState;
      if (data.error !== undefined) waiter.reject(new Error(data.error));
      else waiter.resolve(data);
    };
    this.worker.onerror = (e) => {
      for (const w of this.pending.values()) w.reject(new Error(e.message || 'detector worker failed'));
      this.pending.clear();
    };
    this.ready = this.request({ type: 'create', options }).then(({ backend }) => (this.backend = backend));
  }

  request(message, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  /** Detects digits in RGBA (or gray) pixels; resolves to the wasm detector's result object. */
  async detect(pixels, width, height, options = {}) {
    await this.ready;
    const { result } = await this.request({ type: 'detect', pixels, width, height, options });
    return result;
  }

  terminate() {
    this.worker.terminate();
  }
}
