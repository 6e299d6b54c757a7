/** One found digit: (x, y) is its centre in input pixels, w × h its box. */
export interface Detection {
  digit: number;
  score: number;
  x: number;
  y: number;
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
}

/** The backend actually in use, and why the CPU runs if it does. */
export interface BackendState {
  name: 'webgpu' | 'cpu';
  cpu: 'direct' | 'flex' | 'ndarray';
  /** Whether the running module uses wasm SIMD. */
  simd: boolean;
  /** Whether its direct kernels use wasm relaxed SIMD (fused multiply-add). */
  relaxedSimd: boolean;
  reason: string | null;
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
}

export interface DetectOptions {
  /**
   * Which way the ink runs: "auto" (detect's default: dark ink when most of the image is light,
   * as paper), "light" on dark (MNIST's way; heatmap's default) or "dark" on light.
   */
  ink?: 'auto' | 'light' | 'dark';
  /** The older switch: true = "dark", false = "light" (`ink` wins when both are given). */
  invert?: boolean;
}

export interface Detector {
  readonly backend: BackendState;
  /** The FCN's heatmap alone at the image's size (no pyramid, no decoding; `detections` is empty). */
  heatmap(pixels: Uint8ClampedArray | Uint8Array | Float32Array, width: number, height: number, options?: DetectOptions): Promise<DetectionResult>;
  /** Bytes of wasm linear memory the module holds (it only grows). */
  memoryBytes(): number;
  /** RGBA (width × height × 4) or gray (width × height) bytes, or Float32Array intensities in [0, 1]. */
  detect(pixels: Uint8ClampedArray | Uint8Array | Float32Array, width: number, height: number, options?: DetectOptions): Promise<DetectionResult>;
}

/** Creates a detector with the embedded weights, in the calling thread. */
export function createDetector(options?: DetectorOptions): Promise<Detector>;

/** The same detector in a module Web Worker. */
export class DetectorClient {
  constructor(options?: DetectorOptions);
  readonly ready: Promise<BackendState>;
  backend: BackendState | null;
  detect(pixels: Uint8ClampedArray | Uint8Array | Float32Array, width: number, height: number, options?: DetectOptions): Promise<DetectionResult>;
  terminate(): void;
}

/**
 * <digit-detector width="280" height="280" backend="auto" ink="light|dark" pen-width="8" show-heatmap show-boxes storage-key="...">
 * Fires `detect` (CustomEvent<DetectionResult>) after each heatmap, and `backendchange`
 * (CustomEvent<BackendState>) when the detector moved to the CPU mid-session (a lost GPU).
 */
export class DigitDetector extends HTMLElement {
  /** Extra detector options, read when the detector starts (set before adding the element). */
  detectorOptions: DetectorOptions;
  clear(): void;
  undo(): void;
  /** Shows an image as the page and detects; the ink follows the image's unless given. */
  detectImage(image: ImageData, options?: { ink?: 'light' | 'dark' }): Promise<DetectionResult>;
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
