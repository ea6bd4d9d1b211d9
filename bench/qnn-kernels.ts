// Our WASM kernels, measured through the Backend API, so every figure
// includes copying the operands into WASM memory and the result out.
import { type WasmBackend, type WasmBackendOptions } from '../sdk/backends/wasm-backend.js';
import { createWasmBackend } from '../sdk/backends/create-wasm-backend.js';
import { randomPackedSigns, timeMedian, type TimingPlan } from './timing.js';

/** Times binaryGemm on random packed signs a[M, K] and b[N, K] and returns the median in seconds. */
export async function timeBinaryGemm(backend: WasmBackend, m: number, n: number, k: number, plan: TimingPlan): Promise<number> {
  const a = randomPackedSigns(m, k, 1);
  const b = randomPackedSigns(n, k, 2);
  const timing = await timeMedian(() => backend.binaryGemm(a, b, m, n, k), plan);
  return timing.medianSeconds;
}

/**
 * Peak binary MACs/s of the binaryGemm inner loop on L1-resident data, timed
 * around `backend.popcountRoofline(iterations)`, which returns the MACs it did.
 * Returns null when the backend has no such method.
 */
export async function measurePopcountRoofline(backend: WasmBackend, plan: TimingPlan): Promise<number | null> {
  const probe = backend as unknown as { popcountRoofline?: (iterations: number) => number };
  if (typeof probe.popcountRoofline !== 'function') return null;
  const roofline = (iterations: number) => probe.popcountRoofline!.call(backend, iterations);

  // Grow the iteration count until one call takes at least 50 ms, so timer resolution does not matter.
  let iterations = 256;
  while (iterations < 2 ** 30) {
    const start = performance.now();
    roofline(iterations);
    if (performance.now() - start >= 50) break;
    iterations *= 2;
  }

  const macs = roofline(iterations);
  const timing = await timeMedian(() => roofline(iterations), plan);
  return macs / timing.medianSeconds;
}

export interface TwoThreadResult {
  oneThreadSeconds: number;
  twoThreadSeconds: number;
  speedup: number;
}

/**
 * Times binaryGemm on one and on two threads, or returns null when
 * createWasmBackend does not give a two-thread backend: the backend must report
 * `threads === 2`, because an unknown option is otherwise ignored silently.
 */
export async function measureTwoThreadSpeedup(
  oneThread: WasmBackend,
  m: number,
  n: number,
  k: number,
  plan: TimingPlan,
): Promise<TwoThreadResult | null> {
  const options = { simd: true, threads: 2 } as WasmBackendOptions;
  const twoThreads = await createWasmBackend(options);
  if ((twoThreads as unknown as { threads?: number }).threads !== 2) return null;

  const oneThreadSeconds = await timeBinaryGemm(oneThread, m, n, k, plan);
  const twoThreadSeconds = await timeBinaryGemm(twoThreads, m, n, k, plan);
  // A threaded backend may hold workers that keep Node alive, so stop them where it has a dispose method.
  await (twoThreads as unknown as { dispose?: () => unknown }).dispose?.();
  return { oneThreadSeconds, twoThreadSeconds, speedup: oneThreadSeconds / twoThreadSeconds };
}
