// A promise-based client of the detector worker.
import { loadFailure, packageUrl } from './errors.js';

const HERE = import.meta.url;

/** The error every request still pending gets when its worker is stopped. */
export class DetectorStoppedError extends Error {
  constructor() {
    super('the detector was stopped before it answered');
    this.name = 'DetectorStoppedError';
  }
}

export class DetectorClient {
  /**
   * Starts the worker and creates the wasm detector in it. `options.baseUrl`: where the package's
   * folder is served (for bundlers that do not follow `new URL('./worker.js', import.meta.url)`;
   * see the package README); `options.workerUrl`: a worker script of one's own that imports the
   * package's `src/worker.js`; the other options go to `createDetector`.
   */
  constructor(options = {}) {
    const base = options.baseUrl ? packageUrl(options.baseUrl) : null;
    // The literal `new Worker(new URL('./worker.js', import.meta.url))` is what Vite, webpack and
    // Rollup recognise and bundle; with a base URL the package's own worker file is used as is.
    // `options.workerUrl`: a worker script of one's own, which imports the package's
    // src/worker.js (after setting up what it needs).
    this.worker = options.workerUrl
      ? new Worker(options.workerUrl, { type: 'module' })
      : base
        ? new Worker(new URL('src/worker.js', base), { type: 'module' })
        : new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    // For error messages only: where an unbundled worker is asked for. (Not written as
    // `new URL('./worker.js', import.meta.url)`: bundlers would take that for another asset.)
    this.workerUrl = options.workerUrl
      ? new URL(options.workerUrl, globalThis.location?.href).href
      : new URL(base ? 'src/worker.js' : './worker.js', base ?? HERE).href;
    this.pending = new Map();
    this.nextId = 1;
    this.backend = null;
    /** URLs of the wasm module (and its glue) the worker loaded, once it is ready. */
    this.modules = [];
    /** Set once the worker is gone (failed or stopped): every later request rejects with it. */
    this.failure = null;
    this.worker.onmessage = ({ data }) => {
      const waiter = this.pending.get(data.id);
      if (!waiter) return;
      this.pending.delete(data.id);
      if (data.backendState) this.backend = data.backendState;
      if (data.error !== undefined) waiter.reject(new Error(data.error));
      else waiter.resolve(data);
    };
    this.worker.onerror = (event) => {
      // A module worker that cannot be fetched or parsed reports a bare "error" event: find out
      // what the server answered, so that the message names the URL and the fix.
      event.preventDefault?.();
      loadFailure('the detector worker', this.workerUrl, 'javascript', event.message).then((error) => this.fail(error));
    };
    this.worker.onmessageerror = () => this.fail(new Error('the detector worker sent a message that could not be read'));
    const { baseUrl, workerUrl, ...rest } = options;
    this.ready = this.request({ type: 'create', options: { ...rest, baseUrl: base?.href } }).then(({ backend, modules }) => {
      this.modules = modules ?? [];
      return (this.backend = backend);
    });
    // Nobody may be listening to `ready` (a page that only calls detect): it must not be reported
    // as an unhandled rejection; detect() rethrows its error.
    this.ready.catch(() => {});
  }

  request(message, transfer = []) {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  /** Rejects every pending request (and every later one) with `error`; stops the worker. */
  fail(error) {
    if (!this.failure) this.failure = error;
    this.worker.terminate();
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  /** Detects digits in RGBA (or gray) pixels; resolves to the wasm detector's result object. */
  async detect(pixels, width, height, options = {}) {
    await this.ready;
    const { result } = await this.request({ type: 'detect', pixels, width, height, options });
    return result;
  }

  /** Stops the worker: what is pending rejects with a `DetectorStoppedError`. */
  terminate() {
    this.fail(new DetectorStoppedError());
  }
}
