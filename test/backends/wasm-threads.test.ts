// The threaded WASM backend against ReferenceBackend and the single-thread backend,
// its fallback to one thread, and the shutdown of its workers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { BinaryConv2dShape } from '../../sdk/backends/backend.js';
import { QnnError } from '../../sdk/errors.js';
import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { type WasmBackend } from '../../sdk/backends/wasm-backend.js';
import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import { ControlBlock, type Job, SHARED_MEMORY_MAX_PAGES, TaskCode, type ThreadKernels, chunkRows, runChunks } from '../../sdk/backends/wasm-threads.js';
import { defaultWasmUrl, instantiateWasm, readWasmBytes } from '../../sdk/backends/wasm-loader.js';
import { SeededRandom } from '../helpers/random.js';
import { definePackedFieldCases } from './packed-field-cases.js';

const reference = new ReferenceBackend();

/** Row counts below, at and above 2 threads, odd and even. */
const M_VALUES = [1, 2, 3, 5, 8, 17, 33];
const K_VALUES = [1, 31, 33, 64, 129, 1000];

/** Kernel sizes, strides, paddings and pad values of the binaryConv2d cases. */
const CONV_KERNELS = [
  { kernelHeight: 3, kernelWidth: 3 },
  { kernelHeight: 2, kernelWidth: 3 },
];
const CONV_STRIDES = [1, 2];
const CONV_PADDINGS = ['same', 'valid'] as const;
const CONV_PAD_VALUES = [1, 0, -1] as const;

/** Returns random packed input and weights for `shape`. */
function randomConv2dOperands(random: SeededRandom, shape: BinaryConv2dShape): { input: Uint32Array; weights: Uint32Array } {
  const input = random.packedSigns(shape.batch * shape.height * shape.width, shape.channels);
  const weights = random.packedSigns(shape.outChannels * shape.kernelHeight * shape.kernelWidth, shape.channels);
  return { input, weights };
}

/** Formats the fields of a convolution shape for assertion messages. */
function describeShape(shape: BinaryConv2dShape): string {
  return (
    `N=${shape.batch} ${shape.height}x${shape.width}x${shape.channels} -> ${shape.outChannels}, ` +
    `kernel ${shape.kernelHeight}x${shape.kernelWidth}, stride ${shape.strideHeight}x${shape.strideWidth}, ` +
    `${shape.padding}, padValue ${shape.padValue}`
  );
}

/** Asserts equal length and equal elements, naming the first differing index. */
function assertSameElements(actual: ArrayLike<number>, expected: ArrayLike<number>, context: string): void {
  assert.equal(actual.length, expected.length, `${context}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.equal(actual[i], expected[i], `${context}: element ${i} differs`);
    }
  }
}

describe('chunkRows', () => {
  it('splits rows into chunks', () => {
    assert.equal(chunkRows(1024, 2, 8), 64);
    assert.equal(chunkRows(1025, 2, 8), 65);
    assert.equal(chunkRows(5, 2, 1), 3);
    assert.equal(chunkRows(1, 2, 8), 1);
  });
});

for (const simd of [true, false]) {
  const build = simd ? 'simd' : 'scalar';

  describe(`wasm-${build} with 2 threads`, () => {
    let threaded: WasmBackend;
    let single: WasmBackend;

    before(async () => {
      // minOpsPerThread = 1 splits even the smallest call, so every shape below runs on both threads.
      threaded = await createWasmBackend({ simd, threads: 2, minOpsPerThread: 1 });
      single = await createWasmBackend({ simd });
    });

    after(async () => {
      await threaded.dispose();
    });

    it('reports its thread count', () => {
      assert.equal(threaded.threads, 2);
      assert.equal(threaded.name, `wasm-${build}-2t`);
      assert.equal(threaded.build, build);
    });

    definePackedFieldCases(() => threaded);

    it('binaryGemm on random shapes', () => {
      const random = new SeededRandom(1201);
      for (const m of M_VALUES) {
        for (const k of K_VALUES) {
          const n = random.int(1, 23);
          const a = random.packedSigns(m, k);
          const b = random.packedSigns(n, k);
          const context = `m=${m} n=${n} k=${k}`;
          assertSameElements(threaded.binaryGemm(a, b, m, n, k), reference.binaryGemm(a, b, m, n, k), context);
        }
      }
    });

    it('binaryGemmThresholdPack on random shapes', () => {
      const random = new SeededRandom(1202);
      for (const m of M_VALUES) {
        for (const k of K_VALUES) {
          const n = random.int(1, 70);
          const a = random.packedSigns(m, k);
          const b = random.packedSigns(n, k);
          // Thresholds near the accumulators' range make both signs and ties common.
          const thresholds = random.ints(n, -Math.min(k, 8), Math.min(k, 8));
          const directions = Int8Array.from({ length: n }, () => (random.next() < 0.5 ? -1 : 1));
          const context = `m=${m} n=${n} k=${k}`;
          assertSameElements(
            threaded.binaryGemmThresholdPack(a, b, m, n, k, thresholds, directions),
            reference.binaryGemmThresholdPack(a, b, m, n, k, thresholds, directions),
            context,
          );
        }
      }
    });

    it('bitplaneGemm on random shapes', () => {
      const random = new SeededRandom(1203);
      for (const m of M_VALUES) {
        for (const k of K_VALUES) {
          const n = random.int(1, 19);
          const x = random.bytes(m * k);
          const w = random.packedSigns(n, k);
          const context = `m=${m} n=${n} k=${k}`;
          assertSameElements(threaded.bitplaneGemm(x, w, m, n, k), reference.bitplaneGemm(x, w, m, n, k), context);
        }
      }
    });

    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        const label = `${transposeA ? 'T' : 'N'}${transposeB ? 'T' : 'N'}`;

        it(`matmul ${label} on random shapes`, () => {
          const random = new SeededRandom(1204);
          for (const m of M_VALUES) {
            const k = random.int(1, 200);
            const n = random.int(1, 41);
            const a = random.floats(m * k);
            const b = random.floats(k * n);
            const context = `m=${m} k=${k} n=${n}`;
            const actual = threaded.matmul(a, b, m, k, n, transposeA, transposeB);

            // Each part runs the single-thread kernel on its rows, so the sums are identical.
            assertSameElements(actual, single.matmul(a, b, m, k, n, transposeA, transposeB), `${context} vs 1 thread`);

            // float32 accumulation over k steps errs by at most about k * 2^-24 * sum |a_ip * b_pj|.
            const expected = reference.matmul(a, b, m, k, n, transposeA, transposeB);
            const magnitudes = reference.matmul(a.map(Math.abs), b.map(Math.abs), m, k, n, transposeA, transposeB);
            for (let i = 0; i < expected.length; i++) {
              const tolerance = 1e-6 + k * 2 ** -24 * magnitudes[i];
              if (!(Math.abs(actual[i] - expected[i]) <= tolerance)) {
                assert.fail(`${context}: element ${i} is ${actual[i]}, expected ${expected[i]} within ${tolerance}`);
              }
            }
          }
        });
      }
    }

    it('binaryConv2d on random shapes', () => {
      const random = new SeededRandom(1205);
      for (const batch of [1, 3]) {
        for (const channels of [1, 33, 100]) {
          for (const kernel of CONV_KERNELS) {
            for (const stride of CONV_STRIDES) {
              for (const padding of CONV_PADDINGS) {
                for (const padValue of CONV_PAD_VALUES) {
                  const shape: BinaryConv2dShape = {
                    batch,
                    height: random.int(kernel.kernelHeight, 9),
                    width: random.int(kernel.kernelWidth, 9),
                    channels,
                    outChannels: random.int(1, 9),
                    ...kernel,
                    strideHeight: stride,
                    strideWidth: stride,
                    padding,
                    padValue,
                  };
                  const { input, weights } = randomConv2dOperands(random, shape);
                  const context = describeShape(shape);
                  const actual = threaded.binaryConv2d(input, weights, shape);
                  assertSameElements(actual, reference.binaryConv2d(input, weights, shape), context);
                  assertSameElements(actual, single.binaryConv2d(input, weights, shape), `${context} vs 1 thread`);
                }
              }
            }
          }
        }
      }
    });

    it('binaryConv2d with fewer output rows than threads', () => {
      // A call of one output row in all falls back to one thread. Three images
      // of one row each split by whole images, and one image of 2 or 3 rows splits by rows.
      const random = new SeededRandom(1206);
      for (const batch of [1, 3]) {
        for (const height of [1, 2, 3]) {
          for (const padValue of CONV_PAD_VALUES) {
            const shape: BinaryConv2dShape = {
              batch,
              height,
              width: 5,
              channels: 33,
              outChannels: 6,
              kernelHeight: 3,
              kernelWidth: 3,
              strideHeight: 1,
              strideWidth: 2,
              padding: 'same',
              padValue,
            };
            const { input, weights } = randomConv2dOperands(random, shape);
            const context = describeShape(shape);
            assertSameElements(threaded.binaryConv2d(input, weights, shape), reference.binaryConv2d(input, weights, shape), context);
          }
        }
      }
    });

    it('kernels on empty dimensions', () => {
      assertSameElements(threaded.binaryGemm(new Uint32Array(0), new Uint32Array(0), 2, 3, 0), new Int32Array(6), 'binaryGemm k=0');
      assertSameElements(threaded.binaryGemm(new Uint32Array(0), new Uint32Array(6), 0, 3, 64), [], 'binaryGemm m=0');
      assertSameElements(threaded.matmul(new Float32Array(0), new Float32Array(12), 0, 4, 3, false, false), [], 'matmul m=0');
      assertSameElements(threaded.bitplaneGemm(new Uint8Array(0), new Uint32Array(0), 2, 3, 0), new Int32Array(6), 'bitplaneGemm k=0');
      const emptyBatch: BinaryConv2dShape = {
        batch: 0,
        height: 4,
        width: 4,
        channels: 8,
        outChannels: 2,
        kernelHeight: 3,
        kernelWidth: 3,
        strideHeight: 1,
        strideWidth: 1,
        padding: 'same',
        padValue: 1,
      };
      assertSameElements(threaded.binaryConv2d(new Uint32Array(0), new Uint32Array(18), emptyBatch), [], 'binaryConv2d batch=0');
    });

    it('binaryGemm rejects a of the wrong length', () => {
      assert.throws(
        () => threaded.binaryGemm(new Uint32Array(5), new Uint32Array(6), 3, 3, 64),
        /binaryGemm: a has 5 elements, expected m \* ceil\(k \/ 32\) = 3 \* 2 = 6/,
      );
    });
  });
}

describe('wasm-simd with 3 threads', () => {
  let threaded: WasmBackend;

  before(async () => {
    threaded = await createWasmBackend({ simd: true, threads: 3, minOpsPerThread: 1 });
  });

  after(async () => {
    await threaded.dispose();
  });

  it('binaryConv2d with fewer output rows than threads', () => {
    // 1 or 2 images with 1 to 3 output rows each, so one image's rows are
    // split across threads, and a call of 2 output rows runs on 2 of the 3 threads.
    const random = new SeededRandom(1207);
    for (const [batch, height] of [
      [1, 2],
      [2, 1],
      [1, 3],
      [2, 3],
    ]) {
      for (const padValue of CONV_PAD_VALUES) {
        const shape: BinaryConv2dShape = {
          batch,
          height,
          width: 4,
          channels: 100,
          outChannels: 5,
          kernelHeight: 2,
          kernelWidth: 3,
          strideHeight: 1,
          strideWidth: 2,
          padding: 'same',
          padValue,
        };
        const { input, weights } = randomConv2dOperands(random, shape);
        const context = describeShape(shape);
        assertSameElements(threaded.binaryConv2d(input, weights, shape), reference.binaryConv2d(input, weights, shape), context);
      }
    }
  });
});

describe('threaded backend lifecycle', () => {
  it('dispose stops the workers', async () => {
    const backend = await createWasmBackend({ threads: 2, minOpsPerThread: 1 });
    await backend.dispose();
    const a = new Uint32Array(4);
    assert.throws(
      () => backend.binaryGemm(a, a, 4, 4, 32),
      (error: unknown) => error instanceof QnnError && /was disposed/.test(error.message),
    );
    // A second dispose is a no-op.
    await backend.dispose();
  });

  it('worker trap raises QnnError', async () => {
    const backend = await createWasmBackend({ threads: 2, minOpsPerThread: 1 });
    try {
      // No public call passes a bad address, so post a job through the private pool.
      const internals = backend as unknown as {
        pool: { run(kernels: unknown, job: Job, threads: number, kernelName: string): void };
        kernels: unknown;
      };
      // Every chunk reads past the end of memory, so whichever thread claims one fails.
      const outOfBounds: Job = {
        code: TaskCode.BinaryGemm,
        args: [0xfffffff0, 0, 4, 4, 4096, 0],
        rowStrides: [0, 0, 0, 0, 0, 0],
        chunkRows: 1,
        scratchIndex: -1,
        scratch: [],
      };
      assert.throws(
        () => internals.pool.run(internals.kernels, outOfBounds, 2, 'binaryGemm'),
        (error: unknown) => error instanceof QnnError && /binaryGemm failed in the WASM kernel \(.*out of bounds/.test(error.message),
      );

      // The worker keeps serving tasks after a failed one.
      const a = Uint32Array.of(1, 2, 3, 4);
      assert.deepEqual(Array.from(backend.binaryGemm(a, Uint32Array.of(1), 4, 1, 32)), [32, 28, 30, 28]);
    } finally {
      await backend.dispose();
    }
  });

  it('threads auto uses the core count', async () => {
    const backend = await createWasmBackend({ threads: 'auto' });
    try {
      assert.equal(backend.threads, Math.min(8, availableParallelism()));
    } finally {
      await backend.dispose();
    }
  });

  it('threads 0 is rejected', async () => {
    await assert.rejects(
      createWasmBackend({ threads: 0 }),
      (error: unknown) => error instanceof QnnError && /threads = 0 is invalid/.test(error.message),
    );
  });

  it('falls back without SharedArrayBuffer', async () => {
    const saved = globalThis.SharedArrayBuffer;
    // Simulates a runtime without shared memory, such as a page that is not cross-origin isolated.
    Reflect.deleteProperty(globalThis, 'SharedArrayBuffer');
    let backend: WasmBackend;
    try {
      backend = await createWasmBackend({ simd: true, threads: 2 });
    } finally {
      globalThis.SharedArrayBuffer = saved;
    }
    assert.equal(backend.threads, 1);
    assert.equal(backend.name, 'wasm-simd');
    assert.deepEqual(Array.from(backend.binaryGemm(Uint32Array.of(1), Uint32Array.of(3), 1, 1, 2)), [0]);
  });

  it('process exits without dispose', () => {
    // The workers are unref'd, so a script that never calls dispose() must still exit.
    const backendUrl = new URL('../../sdk/backends/create-wasm-backend.js', import.meta.url).href;
    const script =
      `const { createWasmBackend } = await import(${JSON.stringify(backendUrl)});\n` +
      'const backend = await createWasmBackend({ threads: 2, minOpsPerThread: 1 });\n' +
      'const a = new Uint32Array(64).fill(0xffffffff);\n' +
      'console.log(backend.threads, backend.binaryGemm(a, a, 8, 8, 256)[0]);\n';
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('.', import.meta.url)),
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(result.signal, null, `the child was killed after 30 s: ${result.stderr}`);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), '2 256');
  });
});

describe('floatGemmAtB chunks', () => {
  it('one thread running both chunks gives the bits of two threads', async () => {
    // The worker may wake late, so the calling thread can run every chunk. The result must not depend on it.
    const memory = new WebAssembly.Memory({ initial: 16, maximum: SHARED_MEMORY_MAX_PAGES, shared: true });
    const instance = await instantiateWasm(await readWasmBytes(defaultWasmUrl('simd', true)), 'qnn-simd-threads.wasm', memory);
    const kernels = instance.exports as unknown as ThreadKernels & { heapBase(): number; floatGemmAtBScratchBytes(m: number, n: number): number };
    const [k, m, n] = [1000, 9, 7];
    const random = new SeededRandom(17);
    const a = Float32Array.from({ length: k * m }, () => random.next() * 2 - 1);
    const b = Float32Array.from({ length: k * n }, () => random.next() * 2 - 1);
    const scratchBytes = Math.ceil(kernels.floatGemmAtBScratchBytes(m, n) / 16) * 16;
    const aPtr = Math.ceil(kernels.heapBase() / 16) * 16;
    const bPtr = aPtr + a.byteLength;
    const scratch = [0, 1, 2, 3].map((i) => bPtr + b.byteLength + i * scratchBytes);
    new Float32Array(memory.buffer, aPtr, a.length).set(a);
    new Float32Array(memory.buffer, bPtr, b.length).set(b);

    const rows = chunkRows(k, 2, 1);
    const job: Job = { code: TaskCode.FloatGemmAtB, args: [aPtr, bPtr, k, m, n, 0], rowStrides: [m * 4, n * 4, 0, 0, 0, 0], chunkRows: rows, scratchIndex: 5, scratch: scratch.slice(0, 2) };
    runChunks(kernels, job, 0, ControlBlock.create(1));

    // Each chunk alone, as a second thread would have run it, into the spare regions.
    kernels.floatGemmAtB(aPtr, bPtr, rows, m, n, scratch[2]);
    kernels.floatGemmAtB(aPtr + rows * m * 4, bPtr + rows * n * 4, k - rows, m, n, scratch[3]);
    const accumulator = (i: number): Float32Array => new Float32Array(memory.buffer, scratch[i], m * n);
    assert.deepEqual(accumulator(0), accumulator(2), 'chunk 0 accumulator');
    assert.deepEqual(accumulator(1), accumulator(3), 'chunk 1 accumulator');
  });
});
