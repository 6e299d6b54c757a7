// <digit-detector>: draw digits, see the convolutionalized classifier's heatmap and detections live.
// The wasm detector runs in a module Web Worker (see worker.js); this element is only UI.
import { DetectorClient, DetectorStoppedError } from './client.js';
import { CLASS_LABELS, classColor } from './colors.js';

// Colours follow the page: text inherits the page's colour, and borders, buttons and the focus
// ring are mixed from it, so the element reads on light and dark pages alike. Each can be set
// with a custom property (--digitscope-*), and ::part(frame | canvas | toolbar | legend | status)
// styles the pieces. The drawing area keeps its own page (black, or white with dark ink).
const CSS = `
:host {
  display: inline-block; max-width: 100%; font: 14px/1.4 system-ui, sans-serif; color-scheme: light dark;
  --_text: var(--digitscope-text, currentColor);
  --_border: var(--digitscope-border, color-mix(in srgb, currentColor 45%, transparent));
  --_button: var(--digitscope-button-background, color-mix(in srgb, currentColor 10%, transparent));
  --_pressed: var(--digitscope-pressed-background, color-mix(in srgb, #3b7bdc 40%, transparent));
  --_accent: var(--digitscope-accent, #3b7bdc);
  color: var(--_text);
}
.frame { position: relative; width: fit-content; max-width: 100%; line-height: 0; border: 1px solid var(--_border); border-radius: 6px; overflow: hidden; }
canvas { display: block; touch-action: none; }
canvas.ink { max-width: 100%; height: auto; }
canvas.view, canvas.overlay { position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; }
canvas.view[hidden] { display: none; }
canvas.ink:focus-visible, canvas.ink:focus-visible + canvas.view { outline: 3px solid var(--_accent); outline-offset: -3px; }
.toolbar { display: flex; flex-wrap: wrap; gap: 4px; margin: 6px 0; align-items: center; }
button { font: inherit; background: var(--_button); color: inherit; border: 1px solid var(--_border); border-radius: 4px; padding: 3px 8px; cursor: pointer; }
button[aria-pressed="true"] { background: var(--_pressed); border-color: var(--_accent); }
button:focus-visible, input:focus-visible { outline: 2px solid var(--_accent); }
.legend { display: flex; flex-wrap: wrap; gap: 6px; font-size: 12px; margin: 4px 0; }
.legend span { display: inline-flex; align-items: center; gap: 3px; }
.legend i { width: 12px; height: 12px; display: inline-block; border-radius: 2px; }
.status { font-size: 13px; min-height: 1.4em; color: var(--digitscope-status-color, inherit); }
.size { display: inline-flex; align-items: center; gap: 4px; font-size: 12px; }
.size input { accent-color: var(--_accent); max-width: 110px; }
`;

const BOOLEAN_ATTRS = ['show-heatmap', 'show-boxes'];
/** Height of a box's label, in CSS pixels (see `cssScale`). */
const LABEL_HEIGHT = 16;
/** The overlay's backing store at most this many times the drawing canvas's, and this wide or high. */
const OVERLAY_MAX_SCALE = 4;
const OVERLAY_MAX_SIDE = 4096;
/** Each class's heatmap colour as RGBA bytes. */
const CLASS_RGBA = CLASS_LABELS.map((_, k) => [...classColor(k), 255]);

/**
 * Where each detection's label goes on a canvas `canvasWidth`×`canvasHeight` (`widths[i]`: the
 * width of `detections[i]`'s label, `narrowWidths[i]` that of its short form, the digit alone;
 * all `height` tall), as `{ left, top, narrow }` in the detections' order. A label goes above its
 * box, at the box's left edge; inside the box's top where there is no room above it (a digit
 * drawn against the canvas's top edge); moved left where it would run past the right edge. Where
 * that place would cover a label already placed — digits written side by side, whose boxes nearly
 * touch, each with a label wider than a 1's box — the first place that covers none of: above the
 * box at its right edge, below it (at its left edge, then its right), inside its top, inside its
 * bottom. Where some label finds none of those free, every label is short (`narrow`: small digits
 * close together, as on a phone, where labels keep their size on screen) and may also go further
 * above and below its box (two to six label heights above, two to four below). Labels are placed
 * left to right; where every place is taken, the first.
 */
function labelPlaces(detections, widths, height, canvasWidth, canvasHeight, narrowWidths = widths) {
  const order = detections.map((d, i) => i).sort((a, b) => (detections[a].x - detections[a].w / 2) - (detections[b].x - detections[b].w / 2));
  const clampTop = (y) => Math.max(0, Math.min(y, canvasHeight - height));
  // The places beside box `d` for a label `width` wide, then (`far`) those stacked further off.
  const spots = (d, width, far) => {
    const [x0, y0, x1, y1] = [d.x - d.w / 2, d.y - d.h / 2, d.x + d.w / 2, d.y + d.h / 2];
    const at = (left, top) => ({ left: Math.max(0, Math.min(left, canvasWidth - width)), top, width });
    const list = [at(x0, y0 >= height ? y0 - height : clampTop(y0))];
    if (y0 >= height) list.push(at(x1 - width, y0 - height));
    if (y1 + height <= canvasHeight) list.push(at(x0, y1), at(x1 - width, y1));
    list.push(at(x0, clampTop(y0)), at(x0, clampTop(y1 - height)));
    // Digits too small for their labels (a number written small on a photographed sheet): a
    // stack of them above and below.
    for (let k = 2; far && k <= 6; k++) {
      if (y0 >= k * height) list.push(at(x0, y0 - k * height));
      if (k <= 4 && y1 + k * height <= canvasHeight) list.push(at(x0, y1 + (k - 1) * height));
    }
    return list;
  };
  const place = (narrow) => {
    const placed = [];
    const places = new Array(detections.length);
    for (const i of order) {
      const free = (c) => placed.every((p) => c.left + c.width <= p.left || p.left + p.width <= c.left || c.top + height <= p.top || p.top + height <= c.top);
      const candidates = spots(detections[i], narrow ? narrowWidths[i] : widths[i], narrow);
      const spot = candidates.find(free);
      if (!spot && !narrow) return null;
      placed.push(spot ?? candidates[0]);
      places[i] = { left: placed.at(-1).left, top: placed.at(-1).top, narrow };
    }
    return places;
  };
  return place(false) ?? place(true);
}

/**
 * A detection result on an image `k` times the canvas's resolution, in canvas pixels: the size,
 * boxes, the heatmap's origin and stride divided by `k`.
 */
function scaledResult(result, k) {
  return {
    ...result,
    width: result.width / k,
    height: result.height / k,
    originX: result.originX / k,
    originY: result.originY / k,
    stride: result.stride / k,
    detections: result.detections.map((d) => ({ ...d, x: d.x / k, y: d.y / k, w: d.w / k, h: d.h / k })),
  };
}

/**
 * `result` (the canvas's reading) with the small digits of `fine` (the same picture read at `k`
 * times its resolution, scaled to the canvas) that it missed: under DETAIL_HEIGHT tall, their
 * boxes clear of every box of `result`. Surest first, as the detector gives them.
 */
function withSmallDigits(result, fine, k) {
  const clear = (d) => result.detections.every((c) => Math.abs(c.x - d.x) * 2 >= c.w + d.w || Math.abs(c.y - d.y) * 2 >= c.h + d.h);
  const small = fine.detections.filter((d) => d.h < DETAIL_HEIGHT && clear(d));
  const detections = [...result.detections, ...small].sort((a, b) => b.score - a.score);
  return { ...result, detections, ms: result.ms + fine.ms, detail: k };
}

/**
 * `detections` in reading order: rows from the top, each row left to right. A detection joins the
 * first row whose span its centre lies in (a small digit written beside a tall one shares its
 * row); rows are ordered by their tops.
 */
function readingOrder(detections) {
  const rows = [];
  for (const d of [...detections].sort((a, b) => (a.y - a.h / 2) - (b.y - b.h / 2))) {
    const row = rows.find((r) => d.y >= r.top && d.y <= r.bottom);
    if (row) {
      row.digits.push(d);
      row.bottom = Math.max(row.bottom, d.y + d.h / 2);
    } else {
      rows.push({ top: d.y - d.h / 2, bottom: d.y + d.h / 2, digits: [d] });
    }
  }
  return rows.flatMap((r) => r.digits.sort((a, b) => a.x - b.x));
}

/**
 * `image` (see `detectImage`) as something to draw from with its own pixel size: an ImageData
 * on a canvas of its own (pixels exactly as given), anything else decoded by the browser into
 * an ImageBitmap. Rejects with what is wrong: not a picture, one the browser cannot decode, an
 * empty one.
 */
async function pictureOf(image) {
  let picture;
  if (typeof ImageData !== 'undefined' && image instanceof ImageData) {
    picture = new OffscreenCanvas(image.width, image.height);
    picture.getContext('2d').putImageData(image, 0, 0);
    return picture;
  }
  const drawable = ['Blob', 'ImageBitmap', 'HTMLImageElement', 'HTMLCanvasElement', 'OffscreenCanvas', 'SVGImageElement', 'VideoFrame']
    .some((name) => typeof globalThis[name] === 'function' && image instanceof globalThis[name]);
  if (!drawable) {
    const what = image === null ? 'null' : image?.constructor?.name ?? typeof image;
    throw new TypeError(`detectImage takes an ImageData, a Blob or File, an ImageBitmap, an <img> or a canvas, not ${what}`);
  }
  try {
    picture = await createImageBitmap(image);
  } catch (e) {
    const what = image instanceof Blob ? `the file${image.name ? ` ${image.name}` : ''} (${image.type || 'no type'})` : 'the picture';
    throw new Error(`${what} is not a picture this browser can read: ${e.message}`);
  }
  if (!picture.width || !picture.height) throw new Error(`the picture is empty (${picture.width}×${picture.height})`);
  return picture;
}

/**
 * `src` (a canvas) drawn `w`×`h`, no larger than it, each pixel the average of those it covers: a
 * phone's photo shrunk 9× to the pad keeps a ballpoint's strokes. One draw samples the source
 * bilinearly (2×2 pixels an output pixel, whatever the factor), which drops most of a stroke
 * narrower than the factor; so the image is halved first — each halving an exact 2×2 average —
 * until one draw of at most 2× is left, made with the browser's best smoothing.
 */
function shrunk(src, w, h) {
  let [cur, cw, ch] = [src, src.width, src.height];
  while (cw >= 2 * w && ch >= 2 * h) {
    const [nw, nh] = [Math.ceil(cw / 2), Math.ceil(ch / 2)];
    const half = new OffscreenCanvas(nw, nh);
    const ctx = half.getContext('2d');
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(cur, 0, 0, cw, ch, 0, 0, nw, nh);
    [cur, cw, ch] = [half, nw, nh];
  }
  const out = new OffscreenCanvas(w, h);
  const ctx = out.getContext('2d');
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(cur, 0, 0, cw, ch, 0, 0, w, h);
  return out;
}

/**
 * An upload shrunk to the pad is also kept at up to this many times the pad's resolution (and
 * at most DETAIL_PIXELS in all) and read there too: a number written small on a photographed
 * sheet is a few pixels tall on the pad, under the 14 px the detector finds. Of what that
 * reading finds, digits under DETAIL_HEIGHT canvas pixels that no digit found on the canvas
 * overlaps are added; the rest (larger digits, the heatmap) is the canvas's own reading, the
 * size the detector is tuned for.
 */
const MAX_DETAIL = 3;
const DETAIL_PIXELS = 2048 * 1024;
const DETAIL_HEIGHT = 24;

/** The pen's range, in canvas pixels (the `pen-width` attribute). */
const MIN_PEN_WIDTH = 2;
const MAX_PEN_WIDTH = 24;

/**
 * The default pen, which most people never change: 1/42 of the pad's shorter side, within 4–16
 * px (8 px on the site's 448×336 pad, 7 px on 280×280). It must suit a digit the size of the pad
 * and a small one alike: measured on the pad, a 250-px 7 is found with any pen from 6 to 12 px,
 * while a 30–60 px 3 stays a 3 up to 8 px and turns into an 8 at 12.
 */
function defaultPenWidth(width, height) {
  return Math.min(16, Math.max(4, Math.round(Math.min(width, height) / 42)));
}

export class DigitDetector extends HTMLElement {
  static observedAttributes = ['width', 'height', 'backend', 'base-url', 'workers', 'ink', 'pen-width', ...BOOLEAN_ATTRS];

  constructor() {
    super();
    /** Whether the next detection must be a full one (see schedule). */
    this.fullNext = true;
    this.strokes = [];
    this.baseImage = null;
    /** An upload at `k` times the canvas's resolution (`{ k, image }`), read by the detector. */
    this.detail = null;
    this.tool = 'pen';
    this.penWidth = defaultPenWidth(280, 280);
    this.penChosen = false;
    this.result = null;
    this.pending = false;
    this.dirty = false;
    this.client = null;
    /** Extra options for the wasm detector (see load.js), read when the detector starts. */
    this.detectorOptions = {};
    // Counts changes to the drawing; each result carries the count it was computed for.
    this.generation = 0;
    this.shownGeneration = -1;
    // detectImage() calls waiting for a result: { generation, resolve, reject }.
    this.waiters = [];
    const root = this.attachShadow({ mode: 'open' });
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
    root.append(this.build());
  }

  /** Builds the element's DOM without parsing any markup. */
  build() {
    const el = (tag, props = {}, ...children) => {
      const node = document.createElement(tag);
      for (const [k, v] of Object.entries(props)) {
        if (k.startsWith('aria-') || ['role', 'tabindex', 'for', 'part'].includes(k)) node.setAttribute(k, v);
        else node[k] = v;
      }
      node.append(...children);
      return node;
    };
    const wrap = el('div', { className: 'wrap' });
    this.canvas = el('canvas', { className: 'ink', part: 'canvas', tabindex: '0', 'aria-label': 'Drawing area: draw digits with the mouse, a finger or a pen' });
    // What is shown: the drawing repainted at the screen's resolution (`view`), under the
    // heatmap and boxes (`overlay`); the drawing canvas beneath them takes the pointer and is
    // what the detector reads.
    this.view = el('canvas', { className: 'view', part: 'view', 'aria-hidden': 'true' });
    this.overlay = el('canvas', { className: 'overlay', 'aria-hidden': 'true' });
    const frame = el('div', { className: 'frame', part: 'frame' }, this.canvas, this.view, this.overlay);
    const button = (text, label, onclick, pressed) => {
      const b = el('button', { type: 'button', textContent: text, 'aria-label': label, onclick });
      if (pressed !== undefined) b.setAttribute('aria-pressed', String(pressed));
      return b;
    };
    this.penButton = button('Pen', 'Pen', () => this.setTool('pen'), true);
    this.eraserButton = button('Eraser', 'Eraser', () => this.setTool('eraser'), false);
    this.heatmapButton = button('Heatmap', 'Show heatmap', () => this.toggle('show-heatmap'), true);
    this.boxesButton = button('Boxes', 'Show detection boxes', () => this.toggle('show-boxes'), true);
    this.inkButton = button('Dark ink', 'Draw dark ink on a light page', () => this.setAttribute('ink', this.darkInk ? 'light' : 'dark'), false);
    this.penInput = el('input', { type: 'range', min: String(MIN_PEN_WIDTH), max: String(MAX_PEN_WIDTH), step: '1', value: String(this.penWidth), 'aria-label': 'Pen width in pixels' });
    this.penInput.addEventListener('input', () => { this.penChosen = true; this.setPenWidth(Number(this.penInput.value)); });
    this.penValue = el('output', { textContent: `${this.penWidth}px` });
    const toolbar = el('div', { className: 'toolbar', part: 'toolbar', role: 'toolbar', 'aria-label': 'Drawing tools' },
      this.penButton, this.eraserButton,
      button('Undo', 'Undo last stroke', () => this.undo()),
      button('Clear', 'Clear the drawing', () => this.clear()),
      el('span', { className: 'size' }, 'pen', this.penInput, this.penValue),
      this.heatmapButton, this.boxesButton, this.inkButton);
    this.legend = el('div', { className: 'legend', part: 'legend', 'aria-label': 'Heatmap colours' });
    CLASS_LABELS.slice(0, 10).forEach((label, i) => {
      const swatch = el('i');
      swatch.style.background = `rgb(${classColor(i)})`;
      this.legend.append(el('span', {}, swatch, label));
    });
    this.status = el('div', { className: 'status', part: 'status', role: 'status', 'aria-live': 'polite' }, 'Loading the detector…');
    wrap.append(frame, toolbar, this.legend, this.status);
    this.attachPointer();
    this.canvas.addEventListener('keydown', (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === 'z') { e.preventDefault(); this.undo(); }
      if (e.key === 'Delete') { e.preventDefault(); this.clear(); }
    });
    return wrap;
  }

  /** The drawing canvas size in pixels. */
  canvasSize() { return { width: this.canvas.width, height: this.canvas.height }; }

  get darkInk() { return this.getAttribute('ink') === 'dark'; }
  flag(name) { return this.getAttribute(name) !== 'false'; }
  get storageKey() { return this.getAttribute('storage-key'); }

  connectedCallback() {
    this.resize();
    this.restore();
    this.watchSize();
    if (!this.client) this.startDetector();
  }

  disconnectedCallback() {
    this.client?.terminate();
    this.client = null;
    this.sizeObserver?.disconnect();
    this.sizeObserver = null;
  }

  /**
   * Keeps the view's and the overlay's backing stores at the screen's pixels where the pad is
   * shown (a phone's 3 device pixels a CSS pixel; a pad shrunk to the page's width), so that
   * strokes, boxes and labels are sharp, and its labels a fixed size on screen. The drawing
   * canvas keeps its own size: it is what the detector reads.
   */
  watchSize() {
    if (this.sizeObserver || typeof ResizeObserver === 'undefined') return;
    this.sizeObserver = new ResizeObserver(([entry]) => this.fitOverlay(entry.contentRect.width, entry.contentRect.height));
    try {
      // Told of device-pixel changes too where the browser can (Chromium, Firefox): a page zoom.
      this.sizeObserver.observe(this.canvas, { box: 'device-pixel-content-box' });
    } catch {
      this.sizeObserver.observe(this.canvas);
    }
  }

  /**
   * Sizes the view's and the overlay's backing stores to the device pixels of a pad shown
   * `cssWidth`×`cssHeight` CSS pixels (by default as it is laid out now), and `cssScale` to the
   * canvas pixels a CSS pixel; repaints where either changed. Nothing where the pad is not laid
   * out.
   */
  fitOverlay(cssWidth = this.canvas.clientWidth, cssHeight = this.canvas.clientHeight) {
    const { width: cw, height: ch } = this.canvas;
    if (!(cssWidth > 0 && cssHeight > 0)) return;
    const ratio = globalThis.devicePixelRatio || 1;
    const scale = Math.min(Math.round(cssWidth * ratio) / cw, Math.round(cssHeight * ratio) / ch, OVERLAY_MAX_SCALE, OVERLAY_MAX_SIDE / cw, OVERLAY_MAX_SIDE / ch);
    const [w, h] = [Math.max(1, Math.round(cw * scale)), Math.max(1, Math.round(ch * scale))];
    const cssScale = Math.min(3, Math.max(0.5, cw / cssWidth));
    if (w === this.overlay.width && h === this.overlay.height && cssScale === this.cssScale) return;
    this.cssScale = cssScale;
    for (const c of [this.view, this.overlay]) { c.width = w; c.height = h; }
    // Shown pixel for pixel, the drawing canvas is as sharp as the view: it shows itself, and
    // each stroke is painted once.
    this.view.hidden = w === cw && h === ch;
    this.paintView();
    this.paintOverlay();
  }

  attributeChangedCallback(name) {
    if (!this.canvas) return;
    if (name === 'width' || name === 'height') { this.resize(); this.redraw(); this.schedule(); }
    if ((name === 'backend' || name === 'base-url' || name === 'workers') && this.isConnected) { this.client?.terminate(); this.startDetector(); }
    if (name === 'pen-width') this.setPenWidth(Number(this.getAttribute('pen-width')));
    if (name === 'ink') { this.inkButton.setAttribute('aria-pressed', String(this.darkInk)); this.redraw(); this.schedule(); }
    if (BOOLEAN_ATTRS.includes(name)) {
      this.heatmapButton.setAttribute('aria-pressed', String(this.flag('show-heatmap')));
      this.boxesButton.setAttribute('aria-pressed', String(this.flag('show-boxes')));
      this.paintOverlay();
    }
  }

  toggle(name) { this.setAttribute(name, this.flag(name) ? 'false' : 'true'); }

  setTool(tool) {
    this.tool = tool;
    this.penButton.setAttribute('aria-pressed', String(tool === 'pen'));
    this.eraserButton.setAttribute('aria-pressed', String(tool === 'eraser'));
  }

  /**
   * Starts a detector (a worker) for the current `backend` and `base-url`. A detection still
   * running on the one it replaces is dropped (its worker is stopped) and run again on this one.
   */
  startDetector() {
    const baseUrl = this.getAttribute('base-url') ?? undefined;
    const workers = this.hasAttribute('workers') ? Number(this.getAttribute('workers')) : undefined;
    const client = new DetectorClient({ ...this.detectorOptions, backend: this.getAttribute('backend') ?? 'auto', baseUrl, workers });
    this.client = client;
    client.ready.then(
      () => {
        if (client !== this.client) return;
        this.describeBackend();
        this.dispatchEvent(new CustomEvent('ready', { detail: { backend: client.backend, modules: client.modules }, bubbles: true, composed: true }));
        this.dirty = true;
        this.schedule();
      },
      (e) => {
        if (client !== this.client) return;
        this.status.textContent = `The detector failed to start: ${e.message}`;
        this.settle(Infinity, e);
      },
    );
  }

  /** URLs of the wasm module (and its glue) the element's detector loaded (empty until ready). */
  get moduleUrls() { return this.client?.modules ?? []; }

  /** Settles the detectImage() calls waiting for a drawing up to `generation`. */
  settle(generation, error, result) {
    const done = this.waiters.filter((w) => w.generation <= generation);
    this.waiters = this.waiters.filter((w) => w.generation > generation);
    for (const w of done) error ? w.reject(error) : w.resolve(result);
  }

  /** "WebGPU", or "CPU (direct) — <why>" with the reason's summary (the full text goes in a tooltip). */
  describeBackend() {
    const b = this.client?.backend;
    if (!b) return '';
    this.status.title = b.reason ?? '';
    if (b.name === 'webgpu') return 'WebGPU';
    return b.reasonSummary ? `CPU (${b.cpu}) — ${b.reasonSummary}` : `CPU (${b.cpu})`;
  }

  resize() {
    const w = Number(this.getAttribute('width') ?? 280);
    const h = Number(this.getAttribute('height') ?? 280);
    // The view's and overlay's backing stores follow the pad's size on screen (fitOverlay: now,
    // and on every change the ResizeObserver reports); until the pad is laid out, the canvas's.
    for (const c of [this.canvas, this.view, this.overlay]) { c.width = w; c.height = h; }
    this.view.hidden = true;
    this.cssScale = 1;
    // Until a width is chosen, the pen follows the pad's size (see defaultPenWidth).
    if (!this.hasAttribute('pen-width') && !this.penChosen) this.setPenWidth(defaultPenWidth(w, h));
    this.redraw();
    this.fitOverlay();
  }

  attachPointer() {
    let stroke = null;
    const point = (e) => {
      const r = this.canvas.getBoundingClientRect();
      return [((e.clientX - r.left) * this.canvas.width) / r.width, ((e.clientY - r.top) * this.canvas.height) / r.height];
    };
    this.canvas.addEventListener('pointerdown', (e) => {
      if (e.button !== 0 && e.pointerType === 'mouse') return;
      this.canvas.setPointerCapture(e.pointerId);
      stroke = { tool: this.tool, width: this.strokeWidth(), points: [point(e)] };
      this.strokes.push(stroke);
      this.redraw();
    });
    this.canvas.addEventListener('pointermove', (e) => {
      if (!stroke) return;
      const events = e.getCoalescedEvents?.() ?? [e];
      for (const ev of events.length ? events : [e]) stroke.points.push(point(ev));
      this.paintStroke(stroke);
      this.schedule({ stroke: true });
    });
    const end = () => {
      if (!stroke) return;
      stroke = null;
      // The copies under the stroke are not needed once it ends (a phone's view: 3.7 MB).
      this.under = null;
      this.save();
      this.schedule({ stroke: true });
    };
    this.canvas.addEventListener('pointerup', end);
    this.canvas.addEventListener('pointercancel', end);
  }

  /**
   * Sets the pen width in pixels (clamped to MIN_PEN_WIDTH..MAX_PEN_WIDTH; not a positive
   * number: the default for the pad's size). A plain pen: digits of any size are found with any
   * width in that range.
   */
  setPenWidth(width) {
    const { width: w, height: h } = this.canvas ?? { width: 280, height: 280 };
    this.penWidth = Number.isFinite(width) && width > 0 ? Math.min(MAX_PEN_WIDTH, Math.max(MIN_PEN_WIDTH, Math.round(width))) : defaultPenWidth(w, h);
    if (this.penInput) {
      this.penInput.value = String(this.penWidth);
      this.penValue.textContent = `${this.penWidth}px`;
    }
  }

  /** The width of the next stroke. */
  strokeWidth() { return this.penWidth; }

  /** Paints the drawing canvas and the view afresh: the page, the picture, `strokes`. */
  redraw(strokes = this.strokes) {
    this.generation++;
    this.under = null;
    const ctx = this.canvas.getContext('2d', { willReadFrequently: true });
    ctx.fillStyle = this.darkInk ? '#fff' : '#000';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    if (this.baseImage) {
      ctx.putImageData(this.baseImage, 0, 0);
    }
    this.paintStrokes(ctx, strokes);
    this.paintView(strokes);
  }

  /**
   * Repaints the drawing while `stroke`, the last stroke, is drawn: what lies under it (the
   * page, the picture, the strokes before it) is painted once, at its first move, and kept
   * (`under`: copies of the drawing canvas and of the view); each move after that puts those
   * copies back and paints this one stroke, on both, as `redraw` would paint it last. The same
   * pixels as `redraw`'s, and a long drawing costs a move no more than its first stroke did.
   */
  paintStroke(stroke) {
    const keep = (canvas) => {
      const copy = document.createElement('canvas');
      [copy.width, copy.height] = [canvas.width, canvas.height];
      copy.getContext('2d').drawImage(canvas, 0, 0);
      return copy;
    };
    const fits = (copy, canvas) => copy.width === canvas.width && copy.height === canvas.height;
    const u = this.under;
    const view = !this.view.hidden;
    if (!u || u.stroke !== stroke || !fits(u.canvas, this.canvas) || (view && !(u.view && fits(u.view, this.view)))) {
      this.redraw(this.strokes.filter((s) => s !== stroke));
      this.under = { stroke, canvas: keep(this.canvas), view: view ? keep(this.view) : null };
    }
    this.generation++;
    const { width: cw, height: ch } = this.canvas;
    const put = (canvas, copy, options) => {
      const ctx = canvas.getContext('2d', options);
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.globalCompositeOperation = 'copy';
      ctx.drawImage(copy, 0, 0);
      ctx.globalCompositeOperation = 'source-over';
      ctx.setTransform(canvas.width / cw, 0, 0, canvas.height / ch, 0, 0);
      return ctx;
    };
    this.paintStrokes(put(this.canvas, this.under.canvas, { willReadFrequently: true }), [stroke]);
    if (view) this.paintStrokes(put(this.view, this.under.view), [stroke]);
  }

  /**
   * Paints what the drawing canvas holds on the view at its own resolution (the screen's; see
   * `fitOverlay`): the picture, from its more detailed copy where there is one, and the strokes
   * drawn afresh, so that they are as sharp as the screen.
   */
  paintView(strokes = this.strokes) {
    if (this.view.hidden) return;
    const ctx = this.view.getContext('2d');
    const { width: cw, height: ch } = this.canvas;
    ctx.setTransform(this.view.width / cw, 0, 0, this.view.height / ch, 0, 0);
    ctx.fillStyle = this.darkInk ? '#fff' : '#000';
    ctx.fillRect(0, 0, cw, ch);
    if (this.baseImage) {
      const { image: picture, k } = this.detail ?? { image: this.baseImage, k: 1 };
      if (this.pictureCanvas?.picture !== picture) {
        const canvas = document.createElement('canvas');
        [canvas.width, canvas.height] = [picture.width, picture.height];
        canvas.getContext('2d').putImageData(picture, 0, 0);
        this.pictureCanvas = { picture, canvas };
      }
      ctx.imageSmoothingEnabled = true;
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(this.pictureCanvas.canvas, 0, 0, picture.width / k, picture.height / k);
    } else {
      this.pictureCanvas = null;
    }
    this.paintStrokes(ctx, strokes);
  }

  /** Paints `strokes` on `ctx` (in canvas coordinates, under `ctx`'s transform). */
  paintStrokes(ctx, strokes = this.strokes) {
    const [ink, page] = this.darkInk ? ['#000', '#fff'] : ['#fff', '#000'];
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    for (const s of strokes) {
      ctx.strokeStyle = s.tool === 'eraser' ? page : ink;
      ctx.fillStyle = ctx.strokeStyle;
      ctx.lineWidth = s.width;
      if (s.points.length === 1) {
        ctx.beginPath();
        ctx.arc(s.points[0][0], s.points[0][1], s.width / 2, 0, Math.PI * 2);
        ctx.fill();
        continue;
      }
      ctx.beginPath();
      ctx.moveTo(...s.points[0]);
      for (const p of s.points.slice(1)) ctx.lineTo(...p);
      ctx.stroke();
    }
  }

  /**
   * Runs detection on the current drawing, at most one request in flight. `stroke`: only a pen
   * stroke changed it (a live update, which recomputes only what the stroke touched); anything
   * else (a picture, a resize, the ink) makes the next detection a full one, shared out over
   * the worker pool.
   */
  schedule({ stroke = false } = {}) {
    if (!stroke) this.fullNext = true;
    if (!this.client) return;
    if (this.pending) { this.dirty = true; return; }
    this.pending = true;
    this.dirty = false;
    requestAnimationFrame(() => this.runDetection());
  }

  async runDetection() {
    const client = this.client;
    const { width, height } = this.canvas;
    const generation = this.generation;
    try {
      // Removed from the page since it was scheduled: detect once it is back.
      if (!client) { this.dirty = true; return; }
      const pixels = this.canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, width, height).data;
      const live = !this.fullNext;
      this.fullNext = false;
      // Strokes alone are a drawing (a lone upright stroke is a 1); on a picture, an image.
      const drawing = !this.baseImage;
      let result = await client.detect(pixels, width, height, { invert: this.darkInk, live, drawing });
      const detail = this.detailPixels();
      if (detail && client === this.client) {
        const { k, pixels: fine } = detail;
        const more = await client.detect(fine, width * k, height * k, { invert: this.darkInk, drawing });
        result = withSmallDigits(result, scaledResult(more, k), k);
      }
      if (client !== this.client) { this.dirty = true; return; }
      this.shownGeneration = generation;
      this.show(result);
      this.settle(generation, null, result);
    } catch (e) {
      // The detector was replaced (backend switched, element moved) while it ran: run again on
      // the new one, which schedules as soon as it is ready.
      if (client !== this.client || e instanceof DetectorStoppedError) { this.dirty = true; return; }
      this.status.textContent = `Detection failed: ${e.message}`;
      this.settle(generation, e);
    } finally {
      this.pending = false;
      // What changed meanwhile already set `fullNext` if it was more than strokes.
      if (this.dirty) this.schedule({ stroke: true });
    }
  }

  /**
   * Where an upload is kept in more detail (see MAX_DETAIL): that upload with the strokes drawn
   * over it, at its scale `k`, as `{ k, pixels }`; else null.
   */
  detailPixels() {
    const { width, height } = this.canvas;
    const detail = this.detail;
    if (!detail || detail.image.width !== width * detail.k || detail.image.height !== height * detail.k) return null;
    const { k, image } = detail;
    const canvas = new OffscreenCanvas(image.width, image.height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.putImageData(image, 0, 0);
    ctx.setTransform(k, 0, 0, k, 0, 0);
    this.paintStrokes(ctx);
    return { k, pixels: ctx.getImageData(0, 0, image.width, image.height).data };
  }

  show(result) {
    const switched = this.result && this.result.backend !== result.backend;
    this.result = result;
    this.paintOverlay();
    const digits = readingOrder(result.detections).map((d) => d.digit).join(', ');
    const found = result.detections.length === 0 ? 'no digits' : `${result.detections.length} digit${result.detections.length > 1 ? 's' : ''}: ${digits}`;
    this.status.textContent = `${found} · ${this.describeBackend()} · ${result.ms.toFixed(0)} ms`;
    if (switched) this.dispatchEvent(new CustomEvent('backendchange', { detail: this.client.backend, bubbles: true, composed: true }));
    this.dispatchEvent(new CustomEvent('detect', { detail: result, bubbles: true, composed: true }));
  }

  /**
   * Paints the heatmap, boxes and labels on the overlay, in the drawing canvas's coordinates
   * scaled to the overlay's backing store (device pixels, see `fitOverlay`). Outlines and labels
   * keep one size on screen: `cssScale` canvas pixels a CSS pixel.
   */
  paintOverlay() {
    const ctx = this.overlay.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    const r = this.result;
    if (!r) return;
    const { width: cw, height: ch } = this.canvas;
    ctx.setTransform(this.overlay.width / cw, 0, 0, this.overlay.height / ch, 0, 0);
    if (this.flag('show-heatmap') && r.rows > 0 && r.cols > 0) {
      // One pixel a cell, drawn scaled up without smoothing: cells meet edge to edge at any scale.
      const cells = new ImageData(r.cols, r.rows);
      for (let i = 0; i < r.rows * r.cols; i++) {
        const k = r.classes[i];
        if (k !== 10) cells.data.set(CLASS_RGBA[k], 4 * i);
      }
      this.cellCanvas ??= document.createElement('canvas');
      [this.cellCanvas.width, this.cellCanvas.height] = [r.cols, r.rows];
      this.cellCanvas.getContext('2d').putImageData(cells, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.globalAlpha = 0.45;
      ctx.drawImage(this.cellCanvas, r.originX - 0.5 * r.stride, r.originY - 0.5 * r.stride, r.cols * r.stride, r.rows * r.stride);
      ctx.globalAlpha = 1;
    }
    if (this.flag('show-boxes')) {
      const unit = this.cssScale;
      const labelHeight = LABEL_HEIGHT * unit;
      ctx.lineWidth = 2 * unit;
      ctx.font = `bold ${13 * unit}px system-ui, sans-serif`;
      const labels = r.detections.map((d) => `${d.digit} ${(d.score * 100).toFixed(0)}%`);
      const widths = labels.map((label) => ctx.measureText(label).width + 6 * unit);
      const narrowWidths = r.detections.map((d) => ctx.measureText(String(d.digit)).width + 6 * unit);
      const places = labelPlaces(r.detections, widths, labelHeight, cw, ch, narrowWidths);
      for (const d of r.detections) {
        ctx.strokeStyle = `rgb(${classColor(d.digit)})`;
        ctx.strokeRect(d.x - d.w / 2, d.y - d.h / 2, d.w, d.h);
      }
      // Labels over every box's outline, each where `labelPlaces` put it (read by the tests; in
      // canvas pixels).
      this.labelBoxes = r.detections.map((d, i) => ({ digit: d.digit, ...places[i], width: places[i].narrow ? narrowWidths[i] : widths[i], height: labelHeight }));
      for (const [i, d] of r.detections.entries()) {
        const { left, top, width, narrow } = this.labelBoxes[i];
        ctx.fillStyle = 'rgba(0,0,0,0.7)';
        ctx.fillRect(left, top, width, labelHeight);
        ctx.fillStyle = `rgb(${classColor(d.digit)})`;
        ctx.fillText(narrow ? String(d.digit) : labels[i], left + 3 * unit, top + labelHeight - 3 * unit);
      }
    }
  }

  /** Clears strokes and any loaded image. */
  clear() {
    this.strokes = [];
    this.baseImage = null;
    this.detail = null;
    this.save();
    this.redraw();
    this.schedule();
  }

  undo() {
    this.strokes.pop();
    this.save();
    this.redraw();
    this.schedule();
  }

  /**
   * Shows `image` as the page to draw on (at its own size, centred; shrunk to fit if larger)
   * and detects. `image`: an `ImageData`, a `Blob` or `File` (a PNG, a JPEG from a phone —
   * turned upright as its EXIF orientation says — or any picture the browser decodes), an
   * `ImageBitmap`, an `<img>` or a canvas. Resolves to the detection result of that image. The
   * element's ink follows the picture's, as the detector reads it (`inkOf`: a photo or scan of
   * paper is dark ink, even on a dark desk), unless `ink` ('light' or 'dark') says otherwise;
   * uneven light on paper is evened out by the detector. Rejects with the reason when the
   * picture cannot be read (the status line says so; the element keeps what it showed), when
   * the detection fails or when the detector cannot start.
   */
  async detectImage(image, { ink } = {}) {
    const { width, height } = this.canvas;
    let src;
    try {
      src = await pictureOf(image);
    } catch (e) {
      this.status.textContent = `Cannot read that picture: ${e.message}`;
      throw e;
    }
    const scale = Math.min(1, width / src.width, height / src.height);
    const [w, h] = [Math.max(1, Math.round(src.width * scale)), Math.max(1, Math.round(src.height * scale))];
    const fitted = shrunk(src, w, h);
    ink ??= await this.inkOf(fitted.getContext('2d').getImageData(0, 0, w, h));
    if (ink !== (this.darkInk ? 'dark' : 'light')) this.setAttribute('ink', ink);
    const dst = new OffscreenCanvas(width, height);
    const ctx = dst.getContext('2d');
    ctx.fillStyle = this.darkInk ? '#fff' : '#000';
    ctx.fillRect(0, 0, width, height);
    // Centred, on a multiple of 16 pixels (the stride of the halved pyramid level), so that an
    // image that fits gives exactly the heatmap and detections the CLI gives for it.
    const at = (free) => Math.max(0, Math.floor(free / 2 / 16) * 16);
    ctx.drawImage(fitted, at(width - w), at(height - h));
    this.baseImage = ctx.getImageData(0, 0, width, height);
    // Shrunk: kept at k times the canvas's resolution too, for the detector (same place, k× size).
    const k = Math.floor(Math.min(MAX_DETAIL, 1 / scale, Math.sqrt(DETAIL_PIXELS / (width * height))));
    this.detail = null;
    if (k >= 2) {
      const big = new OffscreenCanvas(width * k, height * k);
      const bctx = big.getContext('2d');
      bctx.fillStyle = ctx.fillStyle;
      bctx.fillRect(0, 0, width * k, height * k);
      bctx.drawImage(shrunk(src, w * k, h * k), at(width - w) * k, at(height - h) * k);
      this.detail = { k, image: bctx.getImageData(0, 0, width * k, height * k) };
    }
    this.strokes = [];
    this.save();
    this.redraw();
    const generation = this.generation;
    const result = new Promise((resolve, reject) => this.waiters.push({ generation, resolve, reject }));
    this.schedule();
    return result;
  }

  /**
   * The ink the detector reads in `imageData` (its worker's `inkOf`, the rule of `ink: 'auto'`);
   * asked again of the new detector when the element's detector is replaced while it answers.
   */
  async inkOf({ data, width, height }) {
    for (;;) {
      const client = this.client;
      if (!client) throw new Error('the element is not in a page: it has no detector to read the picture');
      try {
        return await client.inkOf(data, width, height);
      } catch (e) {
        if (!(e instanceof DetectorStoppedError) || !this.client || this.client === client) throw e;
      }
    }
  }

  save() {
    if (!this.storageKey) return;
    try {
      localStorage.setItem(this.storageKey, JSON.stringify({ strokes: this.strokes }));
    } catch { /* storage full or disabled: drawing still works */ }
  }

  restore() {
    if (!this.storageKey) return;
    try {
      const saved = JSON.parse(localStorage.getItem(this.storageKey) ?? 'null');
      if (saved && Array.isArray(saved.strokes)) {
        this.strokes = saved.strokes.filter((s) => Array.isArray(s.points) && s.points.length && typeof s.width === 'number');
        this.redraw();
      }
    } catch { /* unreadable: start empty */ }
  }
}

if (!customElements.get('digit-detector')) customElements.define('digit-detector', DigitDetector);
