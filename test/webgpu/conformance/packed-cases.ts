// The packed WebGPU kernels against the TypeScript reference, bit for bit, plus named cases with known answers:
// sign of zero, XOR popcount, tail bits, negative-gamma thresholds, conv padding and bit intrinsics.
// Runtime-agnostic, so the same cases run in Node, Deno and Chromium: no node: imports, no process.
import { DeviceLimitError } from '../../../gpu/host/device-limits.js';
import type { GpuContextOptions } from '../../../gpu/host/gpu-context.js';
import { encodeBinaryGemm, encodeBinaryGemmThresholdPack } from '../../../gpu/kernels/binary-gemm.js';
import { encodePackSigns } from '../../../gpu/kernels/pack-signs.js';
import { WebGpuBackend } from '../../../gpu/webgpu-backend.js';
import type { BinaryConv2dShape, MaxPool2dShape } from '../../../sdk/backends/backend.js';
import { ReferenceBackend } from '../../../sdk/backends/reference-backend.js';
import { foldThresholds } from '../../../sdk/compile/fold-threshold.js';
import { QnnError, ShapeError } from '../../../sdk/errors.js';
import { SeededRandom } from '../../helpers/random.js';
import { type ConformanceCase, expectEqual, expectRejects } from './conformance-case.js';

const reference = new ReferenceBackend();

/** K values that end inside a word, on a word, and past a 16-word K step. */
const K_VALUES = [1, 31, 33, 100, 160, 1000];

const limitedBackends = new WeakMap<GPUDevice, Map<string, WebGpuBackend>>();

/** A backend on the same device with lowered limits; one per device and limits, so its pipelines compile once. */
function limited(backend: WebGpuBackend, options: GpuContextOptions): WebGpuBackend {
  let backends = limitedBackends.get(backend.device);
  if (backends === undefined) limitedBackends.set(backend.device, (backends = new Map()));
  const key = JSON.stringify(options);
  let result = backends.get(key);
  if (result === undefined) backends.set(key, (result = new WebGpuBackend(backend.device, options)));
  return result;
}

/**
 * Binds at most 4096 bytes per storage buffer and dispatches at most 2 workgroups per
 * dimension, so operands are cut into blocks and grids into several dispatches.
 */
function constrained(backend: WebGpuBackend): WebGpuBackend {
  return limited(backend, { maxStorageBufferBindingSize: 4096, maxComputeWorkgroupsPerDimension: 2 });
}

/** Packs rows of ±1 given as numbers. */
function signs(values: number[]): Float32Array {
  return Float32Array.from(values);
}

/** Unsigned activations below 2^bits. */
function activations(random: SeededRandom, length: number, bits: number): Uint8Array {
  const x = random.bytes(length);
  for (let i = 0; i < length; i++) x[i] &= (1 << bits) - 1;
  return x;
}

/** ±1 directions and thresholds around the reachable accumulators [-k, k], plus both int32 extremes. */
function thresholdsFor(random: SeededRandom, columns: number, k: number): { thresholds: Int32Array; directions: Int8Array } {
  const thresholds = random.ints(columns, -k - 1, k + 1);
  const directions = Int8Array.from({ length: columns }, () => (random.next() < 0.5 ? -1 : 1));
  if (columns > 2) {
    thresholds[0] = -0x80000000;
    thresholds[1] = 0x7fffffff;
  }
  return { thresholds, directions };
}

function convShape(shape: Partial<BinaryConv2dShape> & Pick<BinaryConv2dShape, 'height' | 'width' | 'channels'>): BinaryConv2dShape {
  return {
    batch: 1,
    outChannels: 1,
    kernelHeight: 3,
    kernelWidth: 3,
    strideHeight: 1,
    strideWidth: 1,
    padding: 'same',
    padValue: 1,
    ...shape,
  };
}

function convOperands(random: SeededRandom, shape: BinaryConv2dShape): { input: Uint32Array; weights: Uint32Array } {
  return {
    input: random.packedSigns(shape.batch * shape.height * shape.width, shape.channels),
    weights: random.packedSigns(shape.outChannels * shape.kernelHeight * shape.kernelWidth, shape.channels),
  };
}

async function expectConvMatches(backend: WebGpuBackend, random: SeededRandom, shape: BinaryConv2dShape): Promise<void> {
  const { input, weights } = convOperands(random, shape);
  expectEqual(await backend.binaryConv2d(input, weights, shape), reference.binaryConv2d(input, weights, shape), `binaryConv2d ${JSON.stringify(shape)}`);
}

async function expectPoolMatches(backend: WebGpuBackend, random: SeededRandom, shape: MaxPool2dShape): Promise<void> {
  const input = random.packedSigns(shape.batch * shape.height * shape.width, shape.channels);
  expectEqual(await backend.binaryMaxPool2d(input, shape), reference.binaryMaxPool2d(input, shape), `binaryMaxPool2d ${JSON.stringify(shape)}`);
}

/**
 * Field case 5: batch norm with gamma, mu = 1, sigma = 1 and beta after accumulators in [-3, 3], folded
 * into `units` equal thresholds. gamma = -2, beta = 0 gives y = -2 * acc + 2, so {-3, -1, 1, 3} map to
 * [8, 4, 0, -4] and signs [+1, +1, +1, -1]: +1 iff acc <= 1, the tie included. gamma = 0 gives sign(beta).
 */
function foldBatchNorm(units: number, gamma: number, beta: number): { thresholds: Int32Array; directions: Int8Array } {
  const epilogue = {
    inputScale: 1,
    bias: null,
    // y = gamma * (acc - mu) / sigma + beta = gamma * acc + (beta - gamma).
    scale: new Float32Array(units).fill(gamma),
    shift: new Float32Array(units).fill(beta - gamma),
  };
  return foldThresholds(epilogue, units, -3, 3);
}

/** a = [+1, +1, +1] against four filters with 3, 2, 1 and 0 minus signs: accumulators [-3, -1, 1, 3]. */
async function accumulatorsMinus3To3(backend: WebGpuBackend): Promise<{ a: Uint32Array; b: Uint32Array }> {
  const a = await backend.packSigns(signs([1, 1, 1]), 1, 3);
  const b = await backend.packSigns(signs([-1, -1, -1, -1, -1, 1, -1, 1, 1, 1, 1, 1]), 4, 3);
  return { a, b };
}

export const packedCases: ConformanceCase[] = [
  // Field case 1.
  {
    name: 'sign_of_zero packs as +1',
    async run(backend) {
      expectEqual(await backend.packSigns(signs([-2, -0.0, 0.0, 1e-8, 3]), 1, 5), [0b1], 'packSigns([-2, -0, 0, 1e-8, 3])');
    },
  },
  // Field case 2.
  {
    name: 'xor_popcount on six signs',
    async run(backend) {
      const a = await backend.packSigns(signs([1, -1, 1, -1, 1, 1]), 1, 6);
      const w = await backend.packSigns(signs([1, 1, -1, 1, 1, -1]), 1, 6);
      expectEqual(await backend.binaryGemm(a, w, 1, 1, 6), [-2], 'dot of six signs');
    },
  },
  // Field case 3.
  {
    name: 'tail_bits with k = 33',
    async run(backend) {
      const a = await backend.packSigns(new Float32Array(33).fill(1), 1, 33);
      const w = await backend.packSigns(Float32Array.from({ length: 33 }, (_, i) => (i % 2 === 0 ? 1 : -1)), 1, 33);
      // 17 agreeing +1 positions, 16 disagreeing ones.
      expectEqual(await backend.binaryGemm(a, w, 1, 1, 33), [1], 'k = 33');
    },
  },
  {
    name: 'tail_bits with k = 64',
    async run(backend) {
      const a = await backend.packSigns(new Float32Array(64).fill(1), 1, 64);
      const w = await backend.packSigns(new Float32Array(64).fill(-1), 1, 64);
      expectEqual(w, [0xffffffff, 0xffffffff], 'all -1 packed');
      expectEqual(await backend.binaryGemm(a, w, 1, 1, 64), [-64], 'k = 64');
    },
  },
  {
    name: 'tail_bits with k = 160 and two filters',
    async run(backend) {
      const input = await backend.packSigns(new Float32Array(160).fill(1), 1, 160);
      const filters = new Float32Array(320);
      filters.fill(1, 0, 160);
      filters.fill(-1, 160, 320);
      const weights = await backend.packSigns(filters, 2, 160);
      expectEqual(await backend.binaryGemm(input, weights, 1, 2, 160), [160, -160], 'k = 160');
    },
  },
  // Field case 8.
  {
    name: 'bit intrinsics on the device',
    async run(backend) {
      expectEqual(
        await backend.probeBitIntrinsics(),
        [32, 1, 0x80000000, 32, 1, 0x80000000],
        'countOneBits(-1i), countOneBits(0x80000000u), reverseBits(1u), read from a buffer then on literals',
      );
    },
  },

  {
    name: 'packSigns matches reference',
    async run(backend) {
      const random = new SeededRandom(41);
      for (const k of [1, 31, 32, 33, 100, 160, 1000]) {
        const rows = random.int(1, 9) * 2 + 1;
        const x = random.floats(rows * k);
        expectEqual(await backend.packSigns(x, rows, k), reference.packSigns(x, rows, k), `rows = ${rows}, k = ${k}`);
      }
    },
  },
  {
    name: 'packSigns on a two-dimensional grid',
    async run(backend) {
      // 10 rows of 32 words are 5 workgroups of 64, laid out as 3 x 2 with one surplus workgroup.
      const split = limited(backend, { maxComputeWorkgroupsPerDimension: 3 });
      const x = new SeededRandom(45).floats(10 * 1000);
      expectEqual(await split.packSigns(x, 10, 1000), reference.packSigns(x, 10, 1000), '10 x 1000');
    },
  },

  {
    name: 'binaryGemm matches reference',
    async run(backend) {
      const random = new SeededRandom(42);
      for (const k of K_VALUES) {
        const m = random.int(0, 10) * 2 + 1;
        const n = random.int(0, 10) * 2 + 1;
        const a = random.packedSigns(m, k);
        const b = random.packedSigns(n, k);
        expectEqual(await backend.binaryGemm(a, b, m, n, k), reference.binaryGemm(a, b, m, n, k), `m = ${m}, n = ${n}, k = ${k}`);
      }
    },
  },
  {
    name: 'binaryGemm at tile edges',
    async run(backend) {
      // A workgroup tile is 64 x 64 outputs; each invocation holds rows y + 16 r and columns x + 16 c.
      const random = new SeededRandom(43);
      for (const [m, n, k] of [[63, 65, 1000], [64, 64, 33], [65, 63, 31], [129, 17, 160], [16, 127, 100], [1, 193, 513]]) {
        const a = random.packedSigns(m, k);
        const b = random.packedSigns(n, k);
        expectEqual(await backend.binaryGemm(a, b, m, n, k), reference.binaryGemm(a, b, m, n, k), `m = ${m}, n = ${n}, k = ${k}`);
      }
    },
  },
  {
    name: 'binaryGemm with every bit differing',
    async run(backend) {
      const k = 16045;
      const input = await backend.packSigns(new Float32Array(k).fill(-1), 1, k);
      const weights = await backend.packSigns(new Float32Array(5 * k).fill(1), 5, k);
      expectEqual(await backend.binaryGemm(input, weights, 1, 5, k), Array(5).fill(-k), 'k = 16045, all differing');
    },
  },
  {
    name: 'binaryGemm with split dispatches',
    async run(backend) {
      // With at most 2 workgroups per dimension, the 3 x 4 tile grid runs as 2 x 2 dispatches.
      const split = limited(backend, { maxComputeWorkgroupsPerDimension: 2 });
      const random = new SeededRandom(44);
      const [m, n, k] = [250, 150, 33];
      const a = random.packedSigns(m, k);
      const b = random.packedSigns(n, k);
      expectEqual(await split.binaryGemm(a, b, m, n, k), reference.binaryGemm(a, b, m, n, k), `m = ${m}, n = ${n}, k = ${k}`);
    },
  },
  {
    name: 'binaryGemm in row and column blocks',
    async run(backend) {
      // 4096-byte bindings hold 32 rows of 1000 signs and 1024 outputs, so 150 x 70 runs as 5 x 3 blocks.
      const random = new SeededRandom(46);
      for (const [m, n, k] of [[150, 70, 1000], [300, 9, 31]]) {
        const a = random.packedSigns(m, k);
        const b = random.packedSigns(n, k);
        expectEqual(await constrained(backend).binaryGemm(a, b, m, n, k), reference.binaryGemm(a, b, m, n, k), `m = ${m}, n = ${n}, k = ${k}`);
      }
    },
  },

  {
    name: 'bitplane_gemm on 8-bit extremes',
    async run(backend) {
      // 255 * (-1) + 0 * (+1) + 128 * (+1) + 1 * (-1) = -128.
      const w = await backend.packSigns(signs([-1, 1, 1, -1]), 1, 4);
      expectEqual(await backend.bitplaneGemm(Uint8Array.of(255, 0, 128, 1), w, 1, 1, 4), [-128], 'x = [255, 0, 128, 1]');
    },
  },
  {
    name: 'bitplaneGemm with every bit set',
    async run(backend) {
      const k = 16045;
      const weights = await backend.packSigns(new Float32Array(5 * k).fill(-1), 5, k);
      expectEqual(await backend.bitplaneGemm(new Uint8Array(k).fill(255), weights, 1, 5, k), Array(5).fill(-255 * k), 'x = 255, w = -1');
    },
  },
  {
    name: 'bitplaneGemm matches reference',
    async run(backend) {
      const random = new SeededRandom(47);
      for (const k of [...K_VALUES, 2, 3, 5]) {
        const m = random.int(0, 40) * 2 + 1;
        const n = random.int(0, 40) * 2 + 1;
        const x = random.bytes(m * k);
        const w = random.packedSigns(n, k);
        expectEqual(await backend.bitplaneGemm(x, w, m, n, k), reference.bitplaneGemm(x, w, m, n, k), `m = ${m}, n = ${n}, k = ${k}`);
      }
    },
  },
  {
    name: 'bitplaneGemm in row and column blocks',
    async run(backend) {
      // A row of 1000 bytes has 1024 bytes of bit-planes, so blocks of 4 rows run.
      const random = new SeededRandom(48);
      for (const [m, n, k] of [[13, 70, 1000], [70, 130, 33]]) {
        const x = random.bytes(m * k);
        const w = random.packedSigns(n, k);
        expectEqual(await constrained(backend).bitplaneGemm(x, w, m, n, k), reference.bitplaneGemm(x, w, m, n, k), `m = ${m}, n = ${n}, k = ${k}`);
      }
    },
  },
  {
    name: 'bitplaneGemmBits matches reference',
    async run(backend) {
      const random = new SeededRandom(49);
      const widths = [[1, 1], [8, 1], [1, 8], [8, 8], [3, 5], [6, 2]];
      for (const [index, [activationBits, weightBits]] of widths.entries()) {
        const k = K_VALUES[index % K_VALUES.length];
        const m = random.int(1, 70);
        const n = random.int(1, 70);
        const x = activations(random, m * k, activationBits);
        const w = random.packedSigns(n * weightBits, k);
        expectEqual(
          await backend.bitplaneGemmBits(x, activationBits, w, weightBits, m, n, k),
          reference.bitplaneGemmBits(x, activationBits, w, weightBits, m, n, k),
          `activationBits = ${activationBits}, weightBits = ${weightBits}, m = ${m}, n = ${n}, k = ${k}`,
        );
      }
    },
  },
  {
    name: 'bitplaneGemmBits with 8 and 1 bits equals bitplaneGemm',
    async run(backend) {
      const random = new SeededRandom(50);
      const [m, n, k] = [9, 21, 100];
      const x = random.bytes(m * k);
      const w = random.packedSigns(n, k);
      expectEqual(await backend.bitplaneGemmBits(x, 8, w, 1, m, n, k), await backend.bitplaneGemm(x, w, m, n, k), 'bitplaneGemmBits(8, 1)');
    },
  },
  {
    name: 'bitplaneGemmBits at the int32 limit',
    async run(backend) {
      // 255 * 255 * 33025 = 2147450625, the largest |out| under 2^31 for 8-bit by 8-bit; the u32 sums wrap on the way.
      const k = 33025;
      const x = new Uint8Array(k).fill(255);
      const words = Math.ceil(k / 32);
      const allPlus = new Uint32Array(8 * words);
      const allMinus = new Uint32Array(8 * words).fill(0xffffffff);
      for (let plane = 0; plane < 8; plane++) allMinus[plane * words + words - 1] = (1 << (k % 32)) - 1;
      expectEqual(await backend.bitplaneGemmBits(x, 8, allPlus, 8, 1, 1, k), [255 * 255 * k], 'all +255');
      expectEqual(await backend.bitplaneGemmBits(x, 8, allMinus, 8, 1, 1, k), [-255 * 255 * k], 'all -255');
      await expectRejects(backend.bitplaneGemmBits(new Uint8Array(k + 1), 8, new Uint32Array(8 * Math.ceil((k + 1) / 32)), 8, 1, 1, k + 1), QnnError, /past the int32 maximum/);
    },
  },
  {
    name: 'bitplaneGemmBits in row and column blocks',
    async run(backend) {
      const random = new SeededRandom(51);
      const [m, n, k, activationBits, weightBits] = [11, 45, 300, 4, 3];
      const x = activations(random, m * k, activationBits);
      const w = random.packedSigns(n * weightBits, k);
      expectEqual(
        await constrained(backend).bitplaneGemmBits(x, activationBits, w, weightBits, m, n, k),
        reference.bitplaneGemmBits(x, activationBits, w, weightBits, m, n, k),
        `m = ${m}, n = ${n}, k = ${k}`,
      );
    },
  },
  {
    name: 'bitplaneGemmBits rejects bad arguments',
    async run(backend) {
      const w = new Uint32Array(2);
      await expectRejects(backend.bitplaneGemmBits(new Uint8Array(4), 0, w, 1, 1, 2, 4), QnnError, /activationBits = 0 is invalid/);
      await expectRejects(backend.bitplaneGemmBits(new Uint8Array(4), 8, w, 9, 1, 2, 4), QnnError, /weightBits = 9 is invalid/);
      await expectRejects(backend.bitplaneGemmBits(Uint8Array.of(0, 1, 4, 2), 2, w, 1, 1, 2, 4), QnnError, /x\[2\] = 4 does not fit in activationBits = 2/);
      await expectRejects(backend.bitplaneGemmBits(new Uint8Array(4), 8, new Uint32Array(3), 1, 1, 2, 4), ShapeError, /w has 3 elements/);
      await expectRejects(backend.bitplaneGemm(new Uint8Array(5), w, 1, 2, 4), ShapeError, /x has 5 elements/);
    },
  },

  {
    name: 'threshold_pack with negative direction',
    async run(backend) {
      // Direction -1: +1 where acc <= 1, so only acc = 3 sets its bit (bit 3).
      const words = await backend.thresholdPack(Int32Array.of(-3, -1, 1, 3), 1, 4, Int32Array.of(1, 1, 1, 1), Int8Array.of(-1, -1, -1, -1));
      expectEqual(words, [0b1000], 'direction -1');
    },
  },
  {
    name: 'threshold_pack with positive direction',
    async run(backend) {
      // Direction 1: +1 where acc >= 1, so acc = -3 and -1 set bits 0 and 1.
      const words = await backend.thresholdPack(Int32Array.of(-3, -1, 1, 3), 1, 4, Int32Array.of(1, 1, 1, 1), Int8Array.of(1, 1, 1, 1));
      expectEqual(words, [0b0011], 'direction 1');
    },
  },
  // Field case 5.
  {
    name: 'negative_gamma folds to direction -1 in thresholdPack and the fused kernel',
    async run(backend) {
      const folded = foldBatchNorm(4, -2, 0);
      expectEqual(folded.directions, [-1, -1, -1, -1], 'directions of gamma = -2');
      expectEqual(folded.thresholds, [1, 1, 1, 1], 'thresholds of gamma = -2');
      expectEqual(await backend.thresholdPack(Int32Array.of(-3, -1, 1, 3), 1, 4, folded.thresholds, folded.directions), [0b1000], 'thresholdPack');

      const { a, b } = await accumulatorsMinus3To3(backend);
      expectEqual(await backend.binaryGemm(a, b, 1, 4, 3), [-3, -1, 1, 3], 'accumulators');
      expectEqual(await backend.binaryGemmThresholdPack(a, b, 1, 4, 3, folded.thresholds, folded.directions), [0b1000], 'binaryGemmThresholdPack');
    },
  },
  {
    name: 'zero_gamma gives the constant sign of beta',
    async run(backend) {
      const { a, b } = await accumulatorsMinus3To3(backend);
      for (const [beta, expected] of [[0.5, 0b0000], [-0.5, 0b1111]]) {
        const folded = foldBatchNorm(4, 0, beta);
        const acc = Int32Array.of(-3, -1, 1, 3);
        expectEqual(await backend.thresholdPack(acc, 1, 4, folded.thresholds, folded.directions), [expected], `thresholdPack, beta = ${beta}`);
        expectEqual(await backend.binaryGemmThresholdPack(a, b, 1, 4, 3, folded.thresholds, folded.directions), [expected], `fused, beta = ${beta}`);
      }
    },
  },
  {
    name: 'thresholdPack matches reference',
    async run(backend) {
      const random = new SeededRandom(52);
      for (const [rows, cols] of [[1, 1], [3, 31], [7, 33], [5, 100], [9, 160], [2, 1000]]) {
        const acc = random.ints(rows * cols, -50, 50);
        const { thresholds, directions } = thresholdsFor(random, cols, 50);
        expectEqual(
          await backend.thresholdPack(acc, rows, cols, thresholds, directions),
          reference.thresholdPack(acc, rows, cols, thresholds, directions),
          `rows = ${rows}, cols = ${cols}`,
        );
      }
    },
  },
  {
    name: 'thresholdPack in row and column blocks',
    async run(backend) {
      // 1500 columns of 4 bytes exceed a 4096-byte binding, so blocks of 1024 columns (32 words) and 1 row run.
      const random = new SeededRandom(53);
      for (const [rows, cols] of [[3, 1500], [300, 37]]) {
        const acc = random.ints(rows * cols, -9, 9);
        const { thresholds, directions } = thresholdsFor(random, cols, 9);
        expectEqual(
          await constrained(backend).thresholdPack(acc, rows, cols, thresholds, directions),
          reference.thresholdPack(acc, rows, cols, thresholds, directions),
          `rows = ${rows}, cols = ${cols}`,
        );
      }
    },
  },
  {
    name: 'binaryGemmThresholdPack matches reference',
    async run(backend) {
      const random = new SeededRandom(54);
      const shapes = [[1, 1], [3, 31], [65, 33], [63, 64], [17, 65], [5, 100], [70, 129], [1, 200]];
      for (const [index, [m, n]] of shapes.entries()) {
        const k = K_VALUES[index % K_VALUES.length];
        const a = random.packedSigns(m, k);
        const b = random.packedSigns(n, k);
        const { thresholds, directions } = thresholdsFor(random, n, k);
        expectEqual(
          await backend.binaryGemmThresholdPack(a, b, m, n, k, thresholds, directions),
          reference.binaryGemmThresholdPack(a, b, m, n, k, thresholds, directions),
          `m = ${m}, n = ${n}, k = ${k}`,
        );
      }
    },
  },
  {
    name: 'binaryGemmThresholdPack in blocks with split dispatches',
    async run(backend) {
      // b rows of 16 words: 64 fit a binding, so 200 columns run as blocks of 64 (two output words each).
      const random = new SeededRandom(55);
      for (const [m, n, k] of [[150, 200, 500], [40, 70, 1000]]) {
        const a = random.packedSigns(m, k);
        const b = random.packedSigns(n, k);
        const { thresholds, directions } = thresholdsFor(random, n, k);
        expectEqual(
          await constrained(backend).binaryGemmThresholdPack(a, b, m, n, k, thresholds, directions),
          reference.binaryGemmThresholdPack(a, b, m, n, k, thresholds, directions),
          `m = ${m}, n = ${n}, k = ${k}`,
        );
      }
    },
  },
  {
    name: 'binaryGemmThresholdPack with k = 0 applies the thresholds to 0',
    async run(backend) {
      const thresholds = Int32Array.of(0, 1, 0, -1, 0);
      const directions = Int8Array.of(1, 1, -1, -1, -1);
      // acc = 0: +1, -1, +1, -1, +1.
      expectEqual(await backend.binaryGemmThresholdPack(new Uint32Array(0), new Uint32Array(0), 2, 5, 0, thresholds, directions), [0b01010, 0b01010], 'k = 0');
    },
  },

  // Field case 6.
  {
    name: 'binaryConv2d padding values on a 1x3 input',
    async run(backend) {
      // Input [+1, +1, +1], kernel [+1, +1, +1], SAME: each edge output has one padded tap. Times the scale 0.5
      // these are the training graph's [1.0, 1.5, 1.0], [1.5, 1.5, 1.5] and [0.5, 1.5, 0.5].
      const shape = convShape({ height: 1, width: 3, channels: 1, kernelHeight: 1, kernelWidth: 3 });
      const cases: [BinaryConv2dShape['padValue'], number[]][] = [[0, [1.0, 1.5, 1.0]], [1, [1.5, 1.5, 1.5]], [-1, [0.5, 1.5, 0.5]]];
      for (const [padValue, scaled] of cases) {
        const out = await backend.binaryConv2d(new Uint32Array(3), new Uint32Array(3), { ...shape, padValue });
        expectEqual(Array.from(out, (value) => value * 0.5), scaled, `padValue = ${padValue}`);
      }
    },
  },
  {
    name: 'binaryConv2d matches reference',
    async run(backend) {
      const random = new SeededRandom(56);
      const shapes: BinaryConv2dShape[] = [
        convShape({ batch: 2, height: 5, width: 7, channels: 1, outChannels: 3 }),
        convShape({ height: 6, width: 6, channels: 31, outChannels: 5, strideHeight: 2, strideWidth: 2, padValue: 0 }),
        convShape({ batch: 3, height: 4, width: 9, channels: 33, outChannels: 2, padValue: -1 }),
        convShape({ height: 8, width: 5, channels: 64, outChannels: 7, kernelHeight: 5, kernelWidth: 3, padding: 'valid' }),
        convShape({ height: 7, width: 7, channels: 100, outChannels: 9, strideHeight: 3, strideWidth: 2, padValue: -1 }),
        convShape({ height: 3, width: 4, channels: 5, outChannels: 4, kernelHeight: 4, kernelWidth: 5, padValue: 0 }),
        convShape({ height: 9, width: 9, channels: 160, outChannels: 70, kernelHeight: 1, kernelWidth: 1, padding: 'valid' }),
        convShape({ batch: 2, height: 10, width: 9, channels: 3, outChannels: 65, strideHeight: 2, strideWidth: 3, padValue: 0 }),
      ];
      for (const shape of shapes) await expectConvMatches(backend, random, shape);
    },
  },
  {
    name: 'binaryConv2d in bands of rows and filters',
    async run(backend) {
      const random = new SeededRandom(57);
      const shapes: BinaryConv2dShape[] = [
        // Whole images: 6 of the 648-byte input images fit a binding, but only 1 of the 2592-byte outputs.
        convShape({ batch: 3, height: 9, width: 9, channels: 64, outChannels: 8, padValue: 0 }),
        // One 20x20x2-word image is 3200 bytes but its output is 12800: bands of 6 output rows.
        convShape({ batch: 2, height: 20, width: 20, channels: 64, outChannels: 8, padValue: -1 }),
        // Input rows of 1600 bytes: 2 fit, so bands of 1 output row, the last one half in the padding.
        convShape({ height: 6, width: 20, channels: 640, outChannels: 3, kernelHeight: 2, kernelWidth: 3, strideHeight: 1, padValue: 0 }),
        // Filters of 144 bytes: 28 per block, so 40 filters run as 2 blocks, each in bands of 7 output rows.
        convShape({ height: 24, width: 5, channels: 100, outChannels: 40, strideHeight: 2, padValue: -1 }),
        convShape({ height: 11, width: 6, channels: 200, outChannels: 4, kernelHeight: 3, kernelWidth: 2, padding: 'valid', strideHeight: 2 }),
      ];
      for (const shape of shapes) await expectConvMatches(constrained(backend), random, shape);
    },
  },
  {
    name: 'binaryConv2d rejects bad shapes',
    async run(backend) {
      const shape = convShape({ height: 2, width: 2, channels: 3 });
      await expectRejects(backend.binaryConv2d(new Uint32Array(4), new Uint32Array(9), { ...shape, padValue: 2 as 0 }), QnnError, /padValue = 2 is invalid/);
      await expectRejects(backend.binaryConv2d(new Uint32Array(4), new Uint32Array(8), shape), ShapeError, /weights has 8 words/);
      await expectRejects(backend.binaryConv2d(new Uint32Array(4), new Uint32Array(9), { ...shape, padding: 'valid' }), ShapeError, /larger than the 2x2 input/);
    },
  },

  {
    name: 'binaryMaxPool2d matches reference',
    async run(backend) {
      const random = new SeededRandom(58);
      const shapes: MaxPool2dShape[] = [
        { batch: 1, height: 4, width: 4, channels: 1, poolHeight: 2, poolWidth: 2, strideHeight: 2, strideWidth: 2 },
        { batch: 3, height: 7, width: 5, channels: 33, poolHeight: 3, poolWidth: 2, strideHeight: 2, strideWidth: 1 },
        { batch: 2, height: 9, width: 9, channels: 100, poolHeight: 3, poolWidth: 3, strideHeight: 3, strideWidth: 3 },
        { batch: 1, height: 6, width: 11, channels: 1000, poolHeight: 1, poolWidth: 4, strideHeight: 1, strideWidth: 3 },
      ];
      for (const shape of shapes) await expectPoolMatches(backend, random, shape);
    },
  },
  {
    name: 'binaryMaxPool2d in bands of rows with split dispatches',
    async run(backend) {
      const random = new SeededRandom(59);
      const shapes: MaxPool2dShape[] = [
        // 8 KiB images: bands of output rows whose input rows fit 4096 bytes.
        { batch: 2, height: 16, width: 16, channels: 256, poolHeight: 2, poolWidth: 2, strideHeight: 2, strideWidth: 2 },
        { batch: 1, height: 13, width: 10, channels: 300, poolHeight: 3, poolWidth: 2, strideHeight: 1, strideWidth: 2 },
        // Small images: 14 per block.
        { batch: 20, height: 6, width: 6, channels: 40, poolHeight: 2, poolWidth: 3, strideHeight: 2, strideWidth: 3 },
      ];
      for (const shape of shapes) await expectPoolMatches(constrained(backend), random, shape);
    },
  },
  {
    name: 'binaryMaxPool2d rejects a window larger than the input',
    async run(backend) {
      const shape: MaxPool2dShape = { batch: 1, height: 2, width: 2, channels: 1, poolHeight: 3, poolWidth: 1, strideHeight: 1, strideWidth: 1 };
      await expectRejects(backend.binaryMaxPool2d(new Uint32Array(4), shape), ShapeError, /3x1 window is larger than the 2x2 input/);
    },
  },

  {
    name: 'empty shapes return empty arrays',
    async run(backend) {
      const empty = (values: ArrayLike<number>, context: string): void => expectEqual(values, [], context);
      empty(await backend.packSigns(new Float32Array(0), 0, 7), 'packSigns rows = 0');
      empty(await backend.binaryGemm(new Uint32Array(0), new Uint32Array(3), 0, 3, 32), 'binaryGemm m = 0');
      expectEqual(await backend.binaryGemm(new Uint32Array(0), new Uint32Array(0), 2, 1, 0), [0, 0], 'binaryGemm k = 0');
      empty(await backend.bitplaneGemm(new Uint8Array(0), new Uint32Array(4), 0, 2, 40), 'bitplaneGemm m = 0');
      expectEqual(await backend.bitplaneGemm(new Uint8Array(0), new Uint32Array(0), 1, 2, 0), [0, 0], 'bitplaneGemm k = 0');
      empty(await backend.bitplaneGemmBits(new Uint8Array(3), 2, new Uint32Array(0), 3, 1, 0, 3), 'bitplaneGemmBits n = 0');
      empty(await backend.thresholdPack(new Int32Array(0), 0, 4, new Int32Array(4), new Int8Array(4)), 'thresholdPack rows = 0');
      empty(await backend.thresholdPack(new Int32Array(0), 3, 0, new Int32Array(0), new Int8Array(0)), 'thresholdPack cols = 0');
      empty(await backend.binaryGemmThresholdPack(new Uint32Array(4), new Uint32Array(0), 2, 0, 33, new Int32Array(0), new Int8Array(0)), 'fused n = 0');
      const conv = convShape({ batch: 0, height: 3, width: 3, channels: 2, outChannels: 2 });
      empty(await backend.binaryConv2d(new Uint32Array(0), new Uint32Array(18), conv), 'binaryConv2d batch = 0');
      empty(await backend.binaryConv2d(new Uint32Array(9), new Uint32Array(0), { ...conv, batch: 1, outChannels: 0 }), 'binaryConv2d outChannels = 0');
      const pool: MaxPool2dShape = { batch: 0, height: 2, width: 2, channels: 5, poolHeight: 2, poolWidth: 2, strideHeight: 2, strideWidth: 2 };
      empty(await backend.binaryMaxPool2d(new Uint32Array(0), pool), 'binaryMaxPool2d batch = 0');
    },
  },
  {
    name: 'packed kernels reject operands of the wrong length',
    async run(backend) {
      await expectRejects(backend.binaryGemm(new Uint32Array(2), new Uint32Array(3), 1, 2, 33), ShapeError, /b has 3 elements, expected n \* ceil\(k \/ 32\) = 2 \* 2 = 4/);
      await expectRejects(backend.thresholdPack(new Int32Array(4), 1, 4, new Int32Array(4), new Int8Array(3)), ShapeError, /directions has 3 elements/);
      await expectRejects(
        backend.binaryGemmThresholdPack(new Uint32Array(1), new Uint32Array(2), 1, 2, 5, new Int32Array(1), new Int8Array(2)),
        ShapeError,
        /thresholds has 1 elements/,
      );
      await expectRejects(backend.binaryGemm(new Uint32Array(1), new Uint32Array(1), 1.5, 1, 1), ShapeError, /m = 1.5 is invalid/);
    },
  },
  {
    name: 'a row over the storage binding limit throws DeviceLimitError',
    async run(backend) {
      // One row of 40000 signs is 5000 bytes, over the 4096-byte bindings of the constrained backend.
      const k = 40000;
      const words = Math.ceil(k / 32);
      await expectRejects(constrained(backend).binaryGemm(new Uint32Array(words), new Uint32Array(words), 1, 1, k), DeviceLimitError, /needs 5000 bytes/);
    },
  },
  {
    name: 'encode functions chain layers on the device',
    async run(backend) {
      // sign(x) -> hidden layer (fused GEMM + threshold + pack) -> binary GEMM scores, with one read at the end.
      const random = new SeededRandom(60);
      const [batch, inputs, hidden, classes] = [5, 70, 100, 10];
      const x = random.floats(batch * inputs);
      const w1 = random.packedSigns(hidden, inputs);
      const w2 = random.packedSigns(classes, hidden);
      const { thresholds, directions } = thresholdsFor(random, hidden, inputs);

      const gpu = backend.gpu;
      const buffers = [
        gpu.upload(x),
        gpu.storage(batch * Math.ceil(inputs / 32) * 4),
        gpu.upload(w1),
        gpu.upload(thresholds),
        gpu.upload(Int32Array.from(directions)),
        gpu.storage(batch * Math.ceil(hidden / 32) * 4),
        gpu.upload(w2),
        gpu.storage(batch * classes * 4),
      ];
      const [input, packed, weights1, thresholdsBuffer, directionsBuffer, hiddenSigns, weights2, scores] = buffers;
      gpu.flush();
      await encodePackSigns(gpu, input, packed, batch, inputs);
      await encodeBinaryGemmThresholdPack(gpu, packed, weights1, thresholdsBuffer, directionsBuffer, hiddenSigns, batch, hidden, inputs);
      await encodeBinaryGemm(gpu, hiddenSigns, weights2, scores, batch, classes, hidden);
      if (gpu.pending !== 3) throw new Error(`expected 3 dispatches recorded before the read, got ${gpu.pending}`);
      const actual = new Int32Array(await gpu.read(scores, batch * classes * 4, 'chain'));
      gpu.release(...buffers);

      const expectedHidden = reference.binaryGemmThresholdPack(reference.packSigns(x, batch, inputs), w1, batch, hidden, inputs, thresholds, directions);
      expectEqual(actual, reference.binaryGemm(expectedHidden, w2, batch, classes, hidden), 'scores');
    },
  },
];
