import type { AsyncBackend } from '../backends/async-backend.js';
import type { Backend } from '../backends/backend.js';
import type { PackedNetwork } from '../compile/graph.js';
import { runPackedAsync } from '../compile/run-packed.js';

/**
 * Runs packed inference over all samples and reports scores and throughput
 * (best of `repeats` timed runs after one warm-up run, which also compiles
 * WebGPU pipelines). Sync and async backends go through the same graph walk.
 */
export async function timePackedInference(
  model: PackedNetwork,
  backend: Backend | AsyncBackend,
  samples: Uint8Array,
  count: number,
  repeats = 3,
): Promise<{ scores: Float32Array; imagesPerSecond: number }> {
  let scores = await runPackedAsync(model, backend, samples);
  let best = Infinity;

  for (let r = 0; r < repeats; r++) {
    const started = performance.now();
    scores = await runPackedAsync(model, backend, samples);
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  return { scores, imagesPerSecond: count / best };
}
