// Timing and input helpers shared by the benchmark harness (bench/main.ts).

/** How long each measured cell runs: at least `minRuns` timed runs, then stop once `maxSeconds` have passed or `maxRuns` ran. */
export interface TimingPlan {
  warmupRuns: number;
  minRuns: number;
  maxRuns: number;
  maxSeconds: number;
}

/** Per-run wall times of one measured cell, in seconds. */
export interface Timing {
  medianSeconds: number;
  runs: number;
}

/**
 * Times `run` (synchronous or returning a promise) after `plan.warmupRuns`
 * untimed runs and returns the median wall time. The median rather than the
 * best run is reported, because the machine may be shared and a median is
 * stable against single slow or lucky runs.
 */
export async function timeMedian(run: () => unknown, plan: TimingPlan): Promise<Timing> {
  for (let i = 0; i < plan.warmupRuns; i++) await run();

  const seconds: number[] = [];
  let total = 0;
  while (seconds.length < plan.minRuns || (seconds.length < plan.maxRuns && total < plan.maxSeconds)) {
    const start = performance.now();
    await run();
    const elapsed = (performance.now() - start) / 1000;
    seconds.push(elapsed);
    total += elapsed;
  }
  return { medianSeconds: median(seconds), runs: seconds.length };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Seeded linear congruential stream of 32-bit words, so every run measures the same inputs. */
export function randomWords(length: number, seed: number): Uint32Array {
  const out = new Uint32Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state;
  }
  return out;
}

/** Seeded floats uniform in [-1, 1). */
export function randomFloats(length: number, seed: number): Float32Array {
  const words = randomWords(length, seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = words[i] / 2 ** 31 - 1;
  return out;
}

/** Random packed signs [rows, ceil(k / 32)] with the pad bits of each row's last word cleared. */
export function randomPackedSigns(rows: number, k: number, seed: number): Uint32Array {
  const words = Math.ceil(k / 32);
  const out = randomWords(rows * words, seed);
  const tailBits = k % 32;
  if (tailBits !== 0) {
    for (let r = 0; r < rows; r++) out[r * words + words - 1] &= (1 << tailBits) - 1;
  }
  return out;
}
