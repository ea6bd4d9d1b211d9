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

export interface RooflinePair {
  /** Median binary MACs/s of the measured kernel. */
  rate: number;
  /** Median binary MACs/s of the popcount roofline (the binaryGemm inner tile on L1-resident data). */
  roofline: number;
  /** Median of the per-pair ratios rate / roofline. */
  ratio: number;
}

/**
 * Times `run` (which performs `macs` binary MACs) alternately with a roofline run
 * of about the same work, so both see the same load and the same core speed.
 * On the shared development host, core speed was seen to change by up to 2x between runs.
 */
export function measureRooflinePaired(backend: WasmBackend, run: () => void, macs: number, minRuns: number, minSeconds: number): RooflinePair {
  const macsPerIteration = backend.popcountRoofline(1);
  const iterations = Math.max(1, Math.round(macs / macsPerIteration));
  const runRoofline = (): void => void backend.popcountRoofline(iterations);
  run();
  runRoofline();

  const rates: number[] = [];
  const rooflines: number[] = [];
  const ratios: number[] = [];
  let total = 0;
  while (rates.length < minRuns || total < minSeconds) {
    const rooflineSeconds = timeSeconds(runRoofline);
    const seconds = timeSeconds(run);
    const rate = macs / seconds;
    const roofline = (iterations * macsPerIteration) / rooflineSeconds;
    rates.push(rate);
    rooflines.push(roofline);
    ratios.push(rate / roofline);
    total += seconds + rooflineSeconds;
  }
  return { rate: median(rates), roofline: median(rooflines), ratio: median(ratios) };
}

/** Roofline pair for binaryGemm on random packed signs a[M, K] and b[N, K]. */
export function measureBinaryGemmRoofline(backend: WasmBackend, m: number, n: number, k: number, plan: TimingPlan): RooflinePair {
  const a = randomPackedSigns(m, k, 1);
  const b = randomPackedSigns(n, k, 2);
  return measureRooflinePaired(backend, () => void backend.binaryGemm(a, b, m, n, k), m * n * k, plan.minRuns, plan.maxSeconds);
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function timeSeconds(run: () => void): number {
  const start = performance.now();
  run();
  return (performance.now() - start) / 1000;
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
