// Single-thread binary GEMM throughput of the reference and both WASM builds,
// counted as 2 * M * N * K binary operations (one multiply and one add per sign pair).
// Usage: npm run build && node dist/bench/binary-gemm.js
// WASM figures include copying the packed operands into WASM memory and the result out.
import { type Backend } from '../sdk/backends/backend.js';
import { ReferenceBackend } from '../sdk/backends/reference-backend.js';
import { createWasmBackend } from '../sdk/backends/wasm-backend.js';

interface BinaryCase {
  m: number;
  k: number;
  n: number;
}

/** Minimum measuring time per cell. The fastest of the timed runs is reported. */
const MIN_SECONDS = 0.5;

function measureGops(backend: Backend, shape: BinaryCase, a: Uint32Array, b: Uint32Array): number {
  const run = () => backend.binaryGemm(a, b, shape.m, shape.n, shape.k);
  run();

  let best = Infinity;
  let total = 0;
  while (total < MIN_SECONDS) {
    const start = performance.now();
    run();
    const seconds = (performance.now() - start) / 1000;
    best = Math.min(best, seconds);
    total += seconds;
  }
  return (2 * shape.m * shape.n * shape.k) / best / 1e9;
}

/** Random packed signs with the pad bits of each row's last word cleared. */
function randomPackedSigns(rows: number, k: number, seed: number): Uint32Array {
  const words = Math.ceil(k / 32);
  const out = new Uint32Array(rows * words);
  let state = seed;
  for (let r = 0; r < rows; r++) {
    for (let w = 0; w < words; w++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      const validBits = Math.min(32, k - w * 32);
      out[r * words + w] = validBits === 32 ? state : state & ((1 << validBits) - 1);
    }
  }
  return out;
}

const backends: Backend[] = [
  new ReferenceBackend(),
  await createWasmBackend({ simd: false }),
  await createWasmBackend({ simd: true }),
];
const cases: BinaryCase[] = [
  { m: 128, k: 784, n: 512 },
  { m: 128, k: 512, n: 512 },
  { m: 128, k: 4096, n: 1024 },
];

const header = ['m x k x n', ...backends.map((backend) => `${backend.name} Gop/s`)];
const rows: string[][] = [];
for (const shape of cases) {
  const a = randomPackedSigns(shape.m, shape.k, 1);
  const b = randomPackedSigns(shape.n, shape.k, 2);
  const figures = backends.map((backend) => measureGops(backend, shape, a, b).toFixed(1));
  rows.push([`${shape.m} x ${shape.k} x ${shape.n}`, ...figures]);
}

const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
const formatRow = (row: string[]) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ');
console.log(formatRow(header));
for (const row of rows) console.log(formatRow(row));
