import type { Backend } from '../backends/backend.js';
import type { PackedModel } from '../compile/graph.js';
import { runPacked } from '../compile/run-packed.js';

/** Runs packed inference over all samples and reports scores and throughput (best of `repeats` timed runs). */
export function timePackedInference(model: PackedModel, backend: Backend, samples: Uint8Array, count: number, repeats = 3): { scores: Float32Array; imagesPerSecond: number } {
  let scores = runPacked(model, backend, samples);
  let best = Infinity;

  for (let r = 0; r < repeats; r++) {
    const started = performance.now();
    scores = runPacked(model, backend, samples);
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  return { scores, imagesPerSecond: count / best };
}
