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

/** Images smaller than this (pixels) are not worth sharing out: one worker detects them. */
const POOL_MIN_PIXELS = 160 * 160;

/** The pool size for `workers` (a number caps it): the machine's cores, at most 4. */
function poolSize(workers) {
  const cores = globalThis.navigator?.hardwareConcurrency || 1;
  const wanted = Number.isFinite(workers) && workers >= 1 ? Math.floor(workers) : 4;
  return Math.max(1, Math.min(wanted, cores, 16));
}

/**
 * How many of a pool's `max` workers share the work of one image size (`key`). WebKit reports 4
 * cores on any machine with fewer than 8 (a fingerprinting clamp), and 4 workers on 2 cores are
 * slower than one (measured: 90 against 57 ms a detection): so where the pool has more than 2,
 * its first detections of a size alternate between all of them and 2, twice each, and the
 * faster (by its quickest run) is kept for that size. Every count gives the same result, bit for
 * bit; only the time differs.
 */
export class PoolChooser {
  constructor(max) {
    this.max = max;
    this.timings = new Map();
  }

  /** The counts tried: all the workers, and 2 where there are more. */
  candidates() {
    return this.max > 2 ? [this.max, 2] : [this.max];
  }

  /** The count to use for the next job of `key`. */
  count(key) {
    const times = this.timings.get(key) ?? new Map();
    const tried = (c) => times.get(c)?.length ?? 0;
    const candidates = this.candidates();
    const least = candidates.reduce((a, c) => (tried(c) < tried(a) ? c : a));
    if (tried(least) < 2) return least;
    const best = (c) => Math.min(...times.get(c));
    return candidates.reduce((a, c) => (best(c) < best(a) ? c : a));
  }

  /** A job of `key` on `count` workers took `ms`. */
  record(key, count, ms) {
    if (!this.timings.has(key)) this.timings.set(key, new Map());
    const times = this.timings.get(key);
    const kept = times.get(count) ?? [];
    if (kept.length < 2) times.set(count, [...kept, ms]);
  }
}

/** How long the first pooled job waits for the pool's helpers to start (see `poolPlan`). */
const HELPER_START_MS = 5000;

export class DetectorClient {
  /**
   * Starts the worker and creates the wasm detector in it. `options.baseUrl`: where the package's
   * folder is served (for bundlers that do not follow `new URL('./worker.js', import.meta.url)`;
   * see the package README); `options.workerUrl`: a worker script of one's own that imports the
   * package's `src/worker.js`; `options.workers`: at most this many workers share a detection
   * (default: the machine's cores, at most 4; they need no SharedArrayBuffer — each runs its own
   * wasm instance on a band of the image — and give the same result, bit for bit, as one; with
   * more than 2, the first detections of each image size time all of them against 2 and keep
   * the faster: `PoolChooser`); the
   * other options go to `createDetector`.
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
    const { baseUrl, workerUrl, workers, ...rest } = options;
    /** How many workers may share a detection (this one included). */
    this.poolSize = poolSize(workers);
    /** The other workers of the pool, once this one runs the direct CPU kernels (else none). */
    this.helpers = [];
    this.plans = new Map();
    this.helperOptions = { ...options, backend: 'cpu', workers: 1 };
    this.ready = this.request({ type: 'create', options: { ...rest, baseUrl: base?.href } }).then(({ backend, modules }) => {
      this.modules = modules ?? [];
      this.backend = backend;
      this.startPool();
      return backend;
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

  /** Rejects every pending request (and every later one) with `error`; stops the worker(s). */
  fail(error) {
    if (!this.failure) this.failure = error;
    this.worker.terminate();
    this.stopPool();
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  /**
   * Starts the pool's other workers where they help: more than one allowed, and this worker on
   * the direct CPU kernels (a WebGPU detector keeps the work on the GPU).
   */
  startPool() {
    if (this.poolSize < 2 || this.backend?.name !== 'cpu' || this.backend?.cpu !== 'direct') return;
    this.helpers = Array.from({ length: this.poolSize - 1 }, () => new DetectorClient(this.helperOptions));
    this.chooser = new PoolChooser(this.poolSize);
    // A helper that cannot start leaves the work to the others; one that has started takes part.
    for (const helper of this.helpers) helper.ready.then(() => { helper.started = true; }, () => this.stopPool());
  }

  stopPool() {
    for (const helper of this.helpers) helper.terminate();
    this.helpers = [];
  }

  /**
   * Detects digits in RGBA (or gray) pixels; resolves to the wasm detector's result object.
   * Options: `ink` or `invert`; `live: true` for a drawing that changed a little since the last
   * live call (this worker recomputes only that; the result's `recomputed` says how much). A
   * large image without `live` is shared out over the pool (the result's `workers` says over how
   * many); a pool that fails leaves this worker to detect alone.
   */
  async detect(pixels, width, height, options = {}) {
    await this.ready;
    const pooled = !options.live && width * height >= POOL_MIN_PIXELS && (() => this.detectPooled(pixels, width, height, options));
    return this.pooledOrAlone(pooled, { type: 'detect', pixels, width, height, options });
  }

  /**
   * The FCN's heatmap alone at the image's size (no pyramid, no decoding; ink light unless
   * `ink: 'dark'` or `invert`): the `detect` result's fields with no detections. A large image is
   * shared out over the pool in bands of rows, each worker sent only its band's pixels (the
   * result's `workers` says over how many); bit for bit one worker's heatmap. `ink: 'auto'` is
   * decided on the whole image, by one worker.
   */
  async heatmap(pixels, width, height, options = {}) {
    await this.ready;
    // Pixels the detector takes (gray or RGBA bytes, gray floats), else one worker says what is wrong.
    const perPixel = pixels?.length / (width * height);
    const shaped = perPixel === 1 || (perPixel === 4 && !(pixels instanceof Float32Array));
    const pooled = width * height >= POOL_MIN_PIXELS && options.ink !== 'auto' && shaped
      && (() => this.heatmapPooled(pixels, width, height, options, perPixel));
    return this.pooledOrAlone(pooled, { type: 'heatmap', pixels, width, height, options });
  }

  /**
   * `pooled()` where there is a pool and it is given (not false), else (or once the pool fails:
   * it is stopped, this worker goes on alone) this worker's answer to `request`.
   */
  async pooledOrAlone(pooled, request) {
    if (pooled && this.helpers.length) {
      try {
        return await pooled();
      } catch (e) {
        if (this.failure) throw e;
        this.stopPool();
      }
    }
    return (await this.request(request)).result;
  }

  /**
   * This worker and as many of its helpers as the chooser gives for `key` (see `PoolChooser`),
   * once all are ready, and the plan for them of the image `key` names: `ask(parts)`'s answer,
   * kept for the next call; `took(ms)` tells the chooser how long the job took.
   */
  async poolPlan(key, ask) {
    // The first pooled job waits for the helpers to start, at most HELPER_START_MS: a worker that
    // never answers (a browser that once in a while does not start one) must not hold up every
    // detection. Later jobs take the helpers started by then.
    if (!this.helpersAwaited) {
      const late = new Promise((resolve) => { setTimeout(resolve, HELPER_START_MS); });
      await Promise.race([Promise.all(this.helpers.map((h) => h.ready)), late]).catch(() => {});
      this.helpersAwaited = true;
    }
    const started = this.helpers.filter((h) => h.started);
    const workers = [this, ...started].slice(0, this.chooser.count(key));
    const planKey = `${key}×${workers.length}`;
    if (!this.plans.has(planKey)) this.plans.set(planKey, await ask(workers.length));
    const took = (ms) => this.chooser.record(key, workers.length, ms);
    return { workers, plan: this.plans.get(planKey), took };
  }

  /** One heatmap shared out over this worker and its helpers, in bands (see `heatmap`). */
  async heatmapPooled(pixels, width, height, options, perPixel) {
    const start = performance.now();
    const { workers, plan: bands, took } = await this.poolPlan(`heatmap ${height}`,
      async (parts) => (await this.request({ type: 'heatmapBands', height, parts })).bands);
    const count = bands.length / 4;
    // Each worker is sent a copy of its band's pixel rows alone (transferred, not cloned again).
    const parts = await Promise.all(Array.from({ length: count }, (_, i) => {
      const band = bands.slice(4 * i, 4 * i + 4);
      const rowsOf = pixels.slice(band[2] * width * perPixel, band[3] * width * perPixel);
      return workers[i].request({ type: 'heatmapRows', pixels: rowsOf, width, height, options, band }, [rowsOf.buffer]).then((r) => r.result);
    }));
    // The bands' cell rows, in order, make the whole heatmap's (class-major planes).
    const [rows, cols] = [bands[bands.length - 3], parts[0].cols];
    const probs = new Float32Array(11 * rows * cols);
    const classes = new Uint8Array(rows * cols);
    parts.forEach((part, i) => {
      const first = bands[4 * i];
      const n = part.rows * cols;
      for (let k = 0; k < 11; k++) probs.set(part.probs.subarray(k * n, (k + 1) * n), (k * rows + first) * cols);
      classes.set(part.classes, first * cols);
    });
    const { stride, originX, originY, backend } = parts[0];
    const ms = performance.now() - start;
    took(ms);
    return { width, height, stride, rows, cols, originX, originY, detections: [], backend, ms, probs, classes, workers: count };
  }

  /** The ink `ink: 'auto'` finds in these pixels: 'light' or 'dark' (the detector's own rule). */
  async inkOf(pixels, width, height) {
    await this.ready;
    return (await this.request({ type: 'ink', pixels, width, height })).ink;
  }

  /** One detection shared out over this worker and its helpers (see `detect`). */
  async detectPooled(pixels, width, height, options) {
    const start = performance.now();
    const { workers, plan, took } = await this.poolPlan(`${width}×${height}`,
      async (parts) => (await this.request({ type: 'plan', width, height, parts })).plan);
    // This worker keeps the image its part reads, for the propose (or finish) that follows.
    const kept = this.nextId;
    const parts = await Promise.all(workers.map((w, i) =>
      w.request({ type: 'part', pixels, width, height, options: i ? options : { ...options, keep: kept }, jobs: plan[i] }).then(({ probs }) => probs)));
    const own = { ...options, kept };
    const probs = parts.flat();
    // Each part's jobs are triples (level, first row, end row): all of them, in the parts' order.
    const jobs = new Uint32Array(plan.reduce((n, p) => n + p.length, 0));
    plan.reduce((at, p) => (jobs.set(p, at), at + p.length), 0);
    const transfer = probs.map((p) => p.buffer);
    let result;
    if (options.secondLook === false) {
      ({ result } = await this.request({ type: 'finish', pixels: null, width, height, options: own, jobs, probs }, transfer));
    } else {
      // The second look shared out too: this worker cuts the detections out, every worker reads
      // a share of the cut-outs, this worker ends it (the same result as one worker's).
      const { proposed } = await this.request({ type: 'propose', pixels: null, width, height, options: own, jobs, probs }, transfer);
      const { count, mnist, canvas } = proposed;
      const [m, c] = [count ? mnist.length / count : 0, count ? canvas.length / count : 0];
      const per = Math.ceil(count / workers.length);
      const shares = workers.map((w, i) => [w, i * per, Math.min(count, (i + 1) * per)]).filter(([, a, b]) => b > a);
      const read = await Promise.all(shares.map(([w, a, b]) =>
        w.request({ type: 'read', mnist: mnist.slice(a * m, b * m), canvas: canvas.slice(a * c, b * c) }).then((r) => r.readings)));
      const readings = new Float32Array(read.reduce((n, r) => n + r.length, 0));
      read.reduce((at, r) => (readings.set(r, at), at + r.length), 0);
      ({ result } = await this.request({ type: 'settle', key: proposed.key, readings }, [readings.buffer]));
    }
    result.ms = performance.now() - start;
    result.workers = workers.length;
    took(result.ms);
    return result;
  }

  /** Stops the worker(s): what is pending rejects with a `DetectorStoppedError`. */
  terminate() {
    this.fail(new DetectorStoppedError());
  }
}
