/** One found digit: (x, y) is its centre in input pixels, w × h its box. */
export interface Detection {
  digit: number;
  score: number;
  /** Centre of the box, in pixels. */
  x: number;
  y: number;
  /** The box around the digit's ink (one training window at its level without the second look). */
  w: number;
  h: number;
}

/** What a detection call returns. */
export interface DetectionResult {
  width: number;
  height: number;
  /** Pixels between heatmap cells (8). */
  stride: number;
  rows: number;
  cols: number;
  /** Pixel centre of the window of cell (0, 0). */
  originX: number;
  originY: number;
  /** Argmax class per cell (10 = background), row-major. */
  classes: Uint8Array;
  /** 11 × rows × cols class probabilities, class-major. */
  probs: Float32Array;
  detections: Detection[];
  /** "webgpu" or "cpu". */
  backend: string;
  /** Milliseconds for this call. */
  ms: number;
  /** With `live: true`: heatmap cells recomputed and all cells, over every pyramid level. */
  recomputed?: { cells: number; total: number };
  /** DetectorClient: how many workers shared this detection (absent: one). */
  workers?: number;
  /**
   * <digit-detector>: an upload larger than the canvas was also read at this many times the
   * canvas's resolution (up to 3), and the digits under 24 canvas pixels tall that only that
   * reading found were added to `detections` (in canvas pixels; `ms` counts both readings).
   * Absent: read at the canvas's resolution alone.
   */
  detail?: number;
}

/** The backend actually in use, and why the CPU runs if it does. */
export interface BackendState {
  name: 'webgpu' | 'cpu';
  cpu: 'direct' | 'flex' | 'ndarray';
  /** Whether the running module uses wasm SIMD. */
  simd: boolean;
  /** Whether its direct kernels use wasm relaxed SIMD (fused multiply-add). */
  relaxedSimd: boolean;
  /** Why the CPU runs, in full (null on WebGPU). */
  reason: string | null;
  /** Why the CPU runs, as a kind. */
  reasonKind: 'requested' | 'unavailable' | 'failed' | 'self-test-failed' | 'disagrees' | 'failed-during-detection' | null;
  /** Why the CPU runs, in a few words (for a status line). */
  reasonSummary: string | null;
  parityError: number | null;
}

export interface DetectorOptions {
  /** "auto" (default) tries WebGPU, self-tests it and falls back to the CPU. */
  backend?: 'auto' | 'webgpu' | 'cpu';
  /** CPU engine: "direct" (default: the project's kernels), "flex" (burn-flex) or the deprecated "ndarray". */
  cpu?: 'direct' | 'flex' | 'ndarray';
  /** A weights file's bytes (`.dsw`) instead of the embedded weights. */
  weights?: Uint8Array;
  /** false: use the SIMD module even where the browser has relaxed SIMD. */
  relaxedSimd?: boolean;
  /**
   * Where the package's folder (its `src/` and `pkg-*` folders) is served, for bundlers that do
   * not follow `new URL(…, import.meta.url)` (esbuild, Rollup): see "Bundlers" in the README.
   */
  baseUrl?: string | URL;
  /**
   * DetectorClient and <digit-detector> only: a module worker script of your own that imports
   * the package's `src/worker.js` (after setting up what it needs), instead of that file itself.
   */
  workerUrl?: string | URL;
  /**
   * DetectorClient and <digit-detector> only: at most this many workers share a detection
   * (default: the machine's cores, at most 4; 1: no pool). No SharedArrayBuffer or
   * cross-origin isolation is needed; results equal one worker's bit for bit. With more than 2,
   * the first detections of each image size time all of them against 2 and keep the faster
   * (Safari reports 4 cores on machines with 2).
   */
  workers?: number;
}

export interface DetectOptions {
  /**
   * Which way the ink runs: "auto" (detect's default: read from the image's thin strokes — a
   * photo of paper on a dark desk reads as dark ink — see `inkOf`), "light" on dark (MNIST's
   * way; heatmap's default) or "dark" on light.
   */
  ink?: 'auto' | 'light' | 'dark';
  /** The older switch: true = "dark", false = "light" (`ink` wins when both are given). */
  invert?: boolean;
  /**
   * detect only: the image is a drawing that changed a little since the last live call (same
   * size): only the heatmap cells that see a changed pixel are recomputed. Same result, bit for
   * bit, on the CPU's direct kernels; other engines recompute everything.
   */
  live?: boolean;
  /**
   * detect only: false leaves out the second look at each detection (its ink cut out and read
   * again, the box fitted to the ink, background dropped): the heatmap's detections as decoded.
   * Live calls always look.
   */
  secondLook?: boolean;
  /**
   * detect only: the image is a drawing — pen strokes on a blank pad, as the element's own — so
   * a lone straight stroke within 45° of upright is a 1 however faint the network finds it (in a
   * photo or a scan such a stroke is as often a line or an edge: leave it off for pictures).
   */
  drawing?: boolean;
}

export interface Detector {
  readonly backend: BackendState;
  /** The FCN's heatmap alone at the image's size (no pyramid, no decoding; `detections` is empty). */
  heatmap(pixels: Uint8ClampedArray | Uint8Array | Float32Array, width: number, height: number, options?: DetectOptions): Promise<DetectionResult>;
  /** Bytes of wasm linear memory the module holds (it only grows). */
  memoryBytes(): number;
  /** RGBA (width × height × 4) or gray (width × height) bytes, or Float32Array intensities in [0, 1]. */
  detect(pixels: Uint8ClampedArray | Uint8Array | Float32Array, width: number, height: number, options?: DetectOptions): Promise<DetectionResult>;
  /** The ink `ink: "auto"` finds in these pixels (transparent ones say nothing). Throws on bad input, as detect rejects. */
  inkOf(pixels: Uint8ClampedArray | Uint8Array | Float32Array, width: number, height: number): 'light' | 'dark';
}

/** Creates a detector with the embedded weights, in the calling thread. */
export function createDetector(options?: DetectorOptions): Promise<Detector>;

/** What requests pending on a stopped worker reject with. */
export class DetectorStoppedError extends Error {
  name: 'DetectorStoppedError';
}

/** The same detector in a module Web Worker. */
export class DetectorClient {
  constructor(options?: DetectorOptions);
  /** Rejects with an Error naming the URL that failed to load (and the server's answer). */
  readonly ready: Promise<BackendState>;
  backend: BackendState | null;
  /** URLs of the wasm module and its glue that the worker loaded (once ready). */
  modules: string[];
  detect(pixels: Uint8ClampedArray | Uint8Array | Float32Array, width: number, height: number, options?: DetectOptions): Promise<DetectionResult>;
  /**
   * The FCN's heatmap alone (as Detector.heatmap). A large image is shared out over the pool in
   * bands of rows, each worker sent only its band (`workers` in the result says how many); bit
   * for bit one worker's heatmap. `ink: "auto"` is decided on the whole image by one worker.
   */
  heatmap(pixels: Uint8ClampedArray | Uint8Array | Float32Array, width: number, height: number, options?: DetectOptions): Promise<DetectionResult>;
  /** The ink `ink: "auto"` finds in these pixels, computed in the worker (Detector.inkOf). */
  inkOf(pixels: Uint8ClampedArray | Uint8Array | Float32Array, width: number, height: number): Promise<'light' | 'dark'>;
  /** Stops the worker: pending and later requests reject with a DetectorStoppedError. */
  terminate(): void;
}

/**
 * <digit-detector width="280" height="280" backend="auto" base-url="…" workers="4" ink="light|dark" pen-width="8" show-heatmap show-boxes storage-key="...">
 * Fires `ready` (CustomEvent<{ backend: BackendState, modules: string[] }>) when its detector
 * runs, `detect` (CustomEvent<DetectionResult>) after each heatmap, and `backendchange`
 * (CustomEvent<BackendState>) when the detector moved to the CPU mid-session (a lost GPU).
 * Styling: custom properties --digitscope-text, --digitscope-status-color, --digitscope-border,
 * --digitscope-button-background, --digitscope-pressed-background, --digitscope-accent; parts
 * frame, canvas, toolbar, legend, status.
 */
export class DigitDetector extends HTMLElement {
  /** Extra detector options, read when the detector starts (set before adding the element). */
  detectorOptions: DetectorOptions;
  /** URLs of the wasm module and its glue the detector loaded (empty until `ready`). */
  readonly moduleUrls: string[];
  clear(): void;
  undo(): void;
  /**
   * Shows an image as the page and detects (an ImageData, a File or Blob such as an upload —
   * a phone's JPEG turned upright as its EXIF orientation says — an ImageBitmap, an <img> or a
   * canvas; a file the browser cannot decode rejects, and the status line says why); the ink
   * follows the image's unless given. An image
   * larger than the canvas is shrunk to fit by averaging (halvings), and is also read at up to
   * 3× the canvas's resolution for digits too small to find on the canvas (the result's
   * `detail`). Rejects with the reason when the detection fails or the detector cannot start.
   */
  detectImage(
    image: ImageData | Blob | ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas,
    options?: { ink?: 'light' | 'dark' },
  ): Promise<DetectionResult>;
  /** Sets the pen width in pixels (2–24; the `pen-width` attribute). */
  setPenWidth(width: number): void;
  canvasSize(): { width: number; height: number };
}

/** The notebook's colour of a class: matplotlib hsv(i / 12), as [r, g, b]. */
export function classColor(index: number): [number, number, number];
export const CLASS_LABELS: string[];

declare global {
  interface HTMLElementTagNameMap {
    'digit-detector': DigitDetector;
  }
}
