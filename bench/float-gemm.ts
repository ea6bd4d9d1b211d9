// Single-thread float GEMM throughput of the reference and both WASM builds on
// the matmuls of an MLP training step (batch 128, layers 784 -> 512 -> 512).
// Usage: npm run build && node dist/bench/float-gemm.js
// WASM figures include copying the operands into WASM memory and the result out.
import { type Backend } from '../sdk/backends/backend.js';
import { ReferenceBackend } from '../sdk/backends/reference-backend.js';
import { createWasmBackend } from '../sdk/backends/create-wasm-backend.js';

interface GemmCase {
  /** Layer shape as [batch x in] x [in x out]. */
  layer: string;
  /** NN forward, NT input gradient (dY · W^T), TN weight gradient (X^T · dY). */
  variant: 'NN' | 'NT' | 'TN';
  m: number;
  k: number;
  n: number;
  transposeA: boolean;
  transposeB: boolean;
}

function layerCases(batch: number, inputs: number, outputs: number): GemmCase[] {
  const layer = `[${batch} x ${inputs}] x [${inputs} x ${outputs}]`;
  return [
    { layer, variant: 'NN', m: batch, k: inputs, n: outputs, transposeA: false, transposeB: false },
    { layer, variant: 'NT', m: batch, k: outputs, n: inputs, transposeA: false, transposeB: true },
    { layer, variant: 'TN', m: inputs, k: batch, n: outputs, transposeA: true, transposeB: false },
  ];
}

/** Minimum measuring time per cell. The fastest of the timed runs is reported. */
const MIN_SECONDS = 0.5;

function measureGflops(backend: Backend, gemm: GemmCase, a: Float32Array, b: Float32Array): number {
  const run = () => backend.matmul(a, b, gemm.m, gemm.k, gemm.n, gemm.transposeA, gemm.transposeB);
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
  return (2 * gemm.m * gemm.n * gemm.k) / best / 1e9;
}

function randomFloats(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

const backends: Backend[] = [
  new ReferenceBackend(),
  await createWasmBackend({ simd: false }),
  await createWasmBackend({ simd: true }),
];
const cases = [...layerCases(128, 784, 512), ...layerCases(128, 512, 512)];

const header = ['shape', 'variant', 'm x k x n', ...backends.map((backend) => `${backend.name} GFLOP/s`)];
const rows: string[][] = [];
for (const gemm of cases) {
  const a = randomFloats(gemm.m * gemm.k, 1);
  const b = randomFloats(gemm.k * gemm.n, 2);
  const figures = backends.map((backend) => measureGflops(backend, gemm, a, b).toFixed(2));
  rows.push([gemm.layer, gemm.variant, `${gemm.m} x ${gemm.k} x ${gemm.n}`, ...figures]);
}

const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
const formatRow = (row: string[]) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ');
console.log(formatRow(header));
for (const row of rows) console.log(formatRow(row));
