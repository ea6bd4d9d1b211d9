import type { AsyncBackend } from '../backends/async-backend.js';
import type { Backend } from '../backends/backend.js';
import type { PackedNetwork } from '../compile/graph.js';
import { runPackedAsync } from '../compile/run-packed.js';

/** Samples in the warm-up run: enough to compile WebGPU pipelines and warm the JIT, few enough to cost little. */
const WARM_UP_SAMPLES = 500;

/**
 * Runs packed inference over all samples and reports scores and throughput
 * (best of `repeats` timed runs over every sample, after one warm-up run on
 * the first samples, which also compiles WebGPU pipelines). Sync and async
 * backends go through the same graph walk.
 */
export async function timePackedInference(
  model: PackedNetwork,
  backend: Backend | AsyncBackend,
  samples: Uint8Array,
  count: number,
  repeats = 3,
): Promise<{ scores: Float32Array; imagesPerSecond: number }> {
  const sampleBytes = count === 0 ? 0 : samples.length / count;
  await runPackedAsync(model, backend, samples.subarray(0, Math.min(count, WARM_UP_SAMPLES) * sampleBytes));
  let scores: Float32Array = new Float32Array(0);
  let best = Infinity;

  for (let r = 0; r < repeats; r++) {
    const started = performance.now();
    scores = await runPackedAsync(model, backend, samples);
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  return { scores, imagesPerSecond: count / best };
}
