// Single-thread binary GEMM throughput of both WASM builds against the popcount roofline
// of the same build, in binary multiply-accumulates per second (M * N * K / seconds).
// Usage: npm run build && node dist/bench/binary-gemm.js [--json]
// popcountRoofline runs the GEMM's inner loop (a 2 x 4 tile at K = 4096) on L1-resident data.
// Runs alternate between the GEMM and the roofline so both see the same load on a shared host,
// and every figure is a median. GEMM figures include copying the packed operands into WASM
// memory and the result out.
import { type WasmBackend } from '../sdk/backends/wasm-backend.js';
import { createWasmBackend } from '../sdk/backends/create-wasm-backend.js';
import { measureRooflinePaired } from './qnn-kernels.js';

interface GemmCase {
  m: number;
  n: number;
  k: number;
}

interface GemmFigure extends GemmCase {
  build: string;
  kernel: 'binaryGemm' | 'binaryGemmThresholdPack';
  macsPerSecond: number;
  /** Median roofline rate of the runs interleaved with this kernel's runs. */
  rooflineMacsPerSecond: number;
  /** Median over run pairs of 100 * kernel rate / roofline rate. */
  percentOfRoofline: number;
}

/** Timed run pairs per figure: at least MIN_RUNS, and more until MIN_SECONDS have passed. */
const MIN_RUNS = 7;
const MIN_SECONDS = 1.5;

const CASES: GemmCase[] = [
  { m: 256, n: 256, k: 1024 },
  { m: 256, n: 256, k: 4096 },
  { m: 1024, n: 1024, k: 1024 },
  { m: 1024, n: 1024, k: 4096 },
];

/** Random packed signs from a linear congruential generator, pad bits of each row's last word cleared. */
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

function measureGemms(backend: WasmBackend): GemmFigure[] {
  const figures: GemmFigure[] = [];
  for (const shape of CASES) {
    const { m, n, k } = shape;
    const a = randomPackedSigns(m, k, 1);
    const b = randomPackedSigns(n, k, 2);
    const thresholds = new Int32Array(n);
    const directions = new Int8Array(n).fill(1);

    const kernels = {
      binaryGemm: () => backend.binaryGemm(a, b, m, n, k),
      binaryGemmThresholdPack: () => backend.binaryGemmThresholdPack(a, b, m, n, k, thresholds, directions),
    };
    for (const [kernel, run] of Object.entries(kernels)) {
      const { rate, roofline, ratio } = measureRooflinePaired(backend, run, m * n * k, MIN_RUNS, MIN_SECONDS);
      figures.push({
        build: backend.name,
        kernel: kernel as GemmFigure['kernel'],
        ...shape,
        macsPerSecond: rate,
        rooflineMacsPerSecond: roofline,
        percentOfRoofline: 100 * ratio,
      });
    }
  }
  return figures;
}

const json = process.argv.includes('--json');
const figures: GemmFigure[] = [];
for (const simd of [true, false]) {
  figures.push(...measureGemms(await createWasmBackend({ simd })));
}

if (json) {
  console.log(
    JSON.stringify({
      unit: 'binary MACs per second (M * N * K / seconds), medians over interleaved runs, single thread',
      gemm: figures,
    }),
  );
} else {
  const header = ['build', 'kernel', 'M = N', 'K', 'GMAC/s', 'roofline GMAC/s', '% of roofline'];
  const rows = figures.map((figure) => [
    figure.build,
    figure.kernel,
    String(figure.m),
    String(figure.k),
    (figure.macsPerSecond / 1e9).toFixed(1),
    (figure.rooflineMacsPerSecond / 1e9).toFixed(1),
    figure.percentOfRoofline.toFixed(0),
  ]);

  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const formatRow = (row: string[]) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ');
  console.log(formatRow(header));
  for (const row of rows) console.log(formatRow(row));
  console.log(
    'Medians of at least 7 run pairs. Each GEMM run is paired with a popcountRoofline run of the same work ' +
      'on the same build, and % of roofline is the median of the per-pair ratios, which cancels most of the ' +
      'noise from other processes on a shared host.',
  );
}
