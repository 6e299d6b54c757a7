// The module Web Worker that owns the wasm Detector: the page stays responsive while it runs.
// Protocol: { id, type: 'create', options } → { id, backend, modules } (the wasm files loaded)
//           { id, type: 'detect', pixels, width, height, options } → { id, result } | { id, error }
//           { id, type: 'heatmap', pixels, width, height, options } → { id, result }   (the FCN's heatmap alone)
//           { id, type: 'heatmapBands', height, parts } → { id, bands }   (a pooled heatmap's bands)
//           { id, type: 'heatmapRows', pixels, width, height, options, band } → { id, result }
//           (`pixels`: the band's pixel rows alone; `height`: the whole image's)
//           { id, type: 'plan', width, height, parts } → { id, plan }   (a pool's jobs, see client.js)
//           { id, type: 'part', pixels, width, height, options, jobs } → { id, probs }
//           { id, type: 'finish', pixels, width, height, options, jobs, probs } → { id, result }
//           { id, type: 'propose', pixels, width, height, options, jobs, probs } → { id, proposed }
//           (a part with `options.keep: key` keeps its image: the finish or propose that follows
//           on this worker is then sent `pixels: null` and `options.kept: key`)
//           { id, type: 'read', mnist, canvas } → { id, readings }   (any worker: a share of the cut-outs)
//           { id, type: 'ink', pixels, width, height } → { id, ink }   ('light' or 'dark', as ink: 'auto' reads it)
//           { id, type: 'settle', key, readings } → { id, result }
import { createDetector, loadedModules } from './load.js';

let detector = null;
let ready = null;

async function create(options) {
  detector = await createDetector(options ?? {});
  return detector.backend;
}

self.onmessage = async ({ data }) => {
  const { id, type } = data;
  try {
    if (type === 'create') {
      ready = create(data.options);
      const backend = await ready;
      self.postMessage({ id, backend, modules: loadedModules() });
    } else if (type === 'detect') {
      await ready;
      const result = await detector.detect(data.pixels, data.width, data.height, data.options ?? {});
      // The backend that computed this result (after a WebGPU failure, the next request runs
      // on this browser's CPU module: see load.js).
      self.postMessage({ id, result, backendState: detector.backend }, [result.probs.buffer, result.classes.buffer]);
    } else if (type === 'heatmap') {
      await ready;
      const result = await detector.heatmap(data.pixels, data.width, data.height, data.options ?? {});
      self.postMessage({ id, result, backendState: detector.backend }, [result.probs.buffer, result.classes.buffer]);
    } else if (type === 'heatmapBands') {
      await ready;
      self.postMessage({ id, bands: detector.heatmapBands(data.height, data.parts) });
    } else if (type === 'heatmapRows') {
      await ready;
      const result = await detector.heatmapRows(data.pixels, data.width, data.height, data.options ?? {}, data.band);
      self.postMessage({ id, result }, [result.probs.buffer, result.classes.buffer]);
    } else if (type === 'plan') {
      await ready;
      self.postMessage({ id, plan: detector.plan(data.width, data.height, data.parts) });
    } else if (type === 'part') {
      await ready;
      const probs = await detector.detectPart(data.pixels, data.width, data.height, data.options ?? {}, data.jobs);
      self.postMessage({ id, probs }, probs.map((p) => p.buffer));
    } else if (type === 'finish') {
      await ready;
      const result = await detector.finish(data.pixels, data.width, data.height, data.options ?? {}, data.jobs, data.probs);
      self.postMessage({ id, result, backendState: detector.backend }, [result.probs.buffer, result.classes.buffer]);
    } else if (type === 'propose') {
      await ready;
      const proposed = await detector.propose(data.pixels, data.width, data.height, data.options ?? {}, data.jobs, data.probs);
      self.postMessage({ id, proposed }, [proposed.mnist.buffer, proposed.canvas.buffer]);
    } else if (type === 'read') {
      await ready;
      const readings = await detector.readCutOuts(data.mnist, data.canvas);
      self.postMessage({ id, readings }, [readings.buffer]);
    } else if (type === 'ink') {
      await ready;
      self.postMessage({ id, ink: detector.inkOf(data.pixels, data.width, data.height) });
    } else if (type === 'settle') {
      await ready;
      const result = await detector.settle(data.key, data.readings);
      self.postMessage({ id, result, backendState: detector.backend }, [result.probs.buffer, result.classes.buffer]);
    } else {
      throw new Error(`unknown request ${type}`);
    }
  } catch (e) {
    self.postMessage({ id, error: String(e?.message ?? e) });
  }
};
