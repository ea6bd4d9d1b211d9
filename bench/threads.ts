// One-thread versus two-thread binaryGemm of the WASM SIMD build at M = N = 1024, K = 4096,
// in binary multiply-accumulates (M * N * K sign pairs) per second.
// Usage: npm run build && node dist/bench/threads.js [--json] [--repeats N]
// Runs of the two backends alternate, and the median of each is reported, so a
// burst of load from other processes hits both alike. Times include copying the
// packed operands into WASM memory and the result out. The 1-minute load
// average is printed because other processes on the cores skew the speedup.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';

import { type WasmBackend } from '../sdk/backends/wasm-backend.js';
import { createWasmBackend } from '../sdk/backends/create-wasm-backend.js';

const M = 1024;
const N = 1024;
const K = 4096;

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    repeats: { type: 'string', default: '9' },
  },
});
const repeats = Number(values.repeats);
if (!Number.isInteger(repeats) || repeats < 1) {
  console.error(`--repeats ${values.repeats} is invalid, expected a positive integer`);
  process.exit(1);
}

/** Random packed signs. K is a multiple of 32, so there are no pad bits to clear. */
function randomWords(count: number, seed: number): Uint32Array {
  const out = new Uint32Array(count);
  let state = seed;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state;
  }
  return out;
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((x, y) => x - y);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function timeSeconds(backend: WasmBackend, a: Uint32Array, b: Uint32Array): number {
  const start = performance.now();
  backend.binaryGemm(a, b, M, N, K);
  return (performance.now() - start) / 1000;
}

const a = randomWords((M * K) / 32, 1);
const b = randomWords((N * K) / 32, 2);
const single = await createWasmBackend({ simd: true, threads: 1 });
const threaded = await createWasmBackend({ simd: true, threads: 2 });

try {
  if (threaded.threads !== 2) {
    console.error(`this runtime gave ${threaded.threads} thread(s), so there is no two-thread figure to measure`);
    process.exit(1);
  }
  const loadBefore = loadavg()[0];

  // Warm-up: compiles the kernels to optimized code and grows both memories.
  timeSeconds(single, a, b);
  timeSeconds(threaded, a, b);

  const singleSeconds: number[] = [];
  const threadedSeconds: number[] = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    singleSeconds.push(timeSeconds(single, a, b));
    threadedSeconds.push(timeSeconds(threaded, a, b));
  }

  const macs = M * N * K;
  const singleMacsPerSecond = macs / median(singleSeconds);
  const threadedMacsPerSecond = macs / median(threadedSeconds);
  const result = {
    shape: { m: M, n: N, k: K },
    repeats,
    loadAverage1m: { before: loadBefore, after: loadavg()[0] },
    oneThread: { backend: single.name, medianSeconds: median(singleSeconds), binaryMacsPerSecond: singleMacsPerSecond },
    twoThreads: { backend: threaded.name, medianSeconds: median(threadedSeconds), binaryMacsPerSecond: threadedMacsPerSecond },
    speedup: threadedMacsPerSecond / singleMacsPerSecond,
  };

  if (values.json) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    console.log(`binaryGemm M=${M} N=${N} K=${K}, median of ${repeats} runs each`);
    console.log(`1-minute load average: ${result.loadAverage1m.before.toFixed(2)} before, ${result.loadAverage1m.after.toFixed(2)} after`);
    console.log(`${single.name.padEnd(14)} ${(singleMacsPerSecond / 1e9).toFixed(2)} G binary MAC/s`);
    console.log(`${threaded.name.padEnd(14)} ${(threadedMacsPerSecond / 1e9).toFixed(2)} G binary MAC/s`);
    console.log(`speedup        ${result.speedup.toFixed(2)}x`);
  }
} finally {
  await threaded.dispose();
}
