// The blocked binary GEMM, the fused GEMM-threshold-pack kernel and the k-bit plane GEMM
// of both WASM builds, against the reference and against hand-computed cases.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { wordsPerRow } from '../../sdk/backends/backend.js';
import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { type WasmBackend } from '../../sdk/backends/wasm-backend.js';
import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import { QnnError } from '../../sdk/errors.js';
import { SeededRandom } from '../helpers/random.js';

const reference = new ReferenceBackend();

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Shapes around the 2 x 4 tile edges, the 128-bit vector and 31-vector widening
 * boundaries, the 8192-bit K block and the b panel (254 columns at k = 4100).
 */
const GEMM_SHAPES = [
  { m: 1, n: 1, k: 1 },
  { m: 2, n: 4, k: 128 },
  { m: 3, n: 5, k: 97 },
  { m: 7, n: 11, k: 3967 },
  { m: 4, n: 13, k: 3969 },
  { m: 5, n: 3, k: 8191 },
  { m: 3, n: 6, k: 8192 },
  { m: 2, n: 7, k: 8225 },
  { m: 5, n: 9, k: 20001 },
  { m: 5, n: 261, k: 4100 },
  { m: 9, n: 70, k: 33 },
];

/** Asserts equal length and equal elements, naming the first differing index. */
function assertSameElements(actual: ArrayLike<number>, expected: ArrayLike<number>, context: string): void {
  assert.equal(actual.length, expected.length, `${context}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.equal(actual[i], expected[i], `${context}: element ${i} differs`);
    }
  }
}

/** Packs rows of +1/-1 values (bit 1 for -1). */
function packRows(values: number[][]): Uint32Array {
  const k = values[0].length;
  const words = wordsPerRow(k);
  const out = new Uint32Array(values.length * words);
  values.forEach((row, r) => {
    row.forEach((value, i) => {
      if (value < 0) out[r * words + (i >>> 5)] |= 1 << (i & 31);
    });
  });
  return out;
}

/** Returns `rows` rows of k signs that are all -1 (every valid bit set, pad bits clear). */
function allNegativeRows(rows: number, k: number): Uint32Array {
  const words = wordsPerRow(k);
  const out = new Uint32Array(rows * words).fill(0xffffffff);
  if (k % 32 !== 0) {
    for (let r = 0; r < rows; r++) out[r * words + words - 1] = (1 << k % 32) - 1;
  }
  return out;
}

/**
 * Oracle for bitplaneGemmBits written independently of the plane identity: decodes
 * each weight as sum_j 2^j * s_j and sums x * w in doubles.
 */
function decodedGemm(x: Uint8Array, w: Uint32Array, weightBits: number, m: number, n: number, k: number): Int32Array {
  const words = wordsPerRow(k);
  const out = new Int32Array(m * n);
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) {
      let sum = 0;
      for (let i = 0; i < k; i++) {
        let weight = 0;
        for (let j = 0; j < weightBits; j++) {
          const bit = (w[(c * weightBits + j) * words + (i >>> 5)] >>> (i & 31)) & 1;
          weight += (bit ? -1 : 1) * 2 ** j;
        }
        sum += x[r * k + i] * weight;
      }
      out[r * n + c] = sum;
    }
  }
  return out;
}

/** Random unsigned activations below 2^bits. */
function randomActivations(random: SeededRandom, length: number, bits: number): Uint8Array {
  return random.bytes(length).map((value) => value & ((1 << bits) - 1));
}

const BIT_PAIRS = [
  { activationBits: 8, weightBits: 1 },
  { activationBits: 2, weightBits: 2 },
  { activationBits: 4, weightBits: 4 },
  { activationBits: 8, weightBits: 8 },
  { activationBits: 1, weightBits: 1 },
  { activationBits: 1, weightBits: 8 },
  { activationBits: 3, weightBits: 5 },
  { activationBits: 7, weightBits: 2 },
];

for (const simd of [true, false]) {
  describe(`${simd ? 'wasm-simd' : 'wasm-scalar'} binary GEMM kernels`, () => {
    let backend: WasmBackend;

    before(async () => {
      backend = await createWasmBackend({ simd });
    });

    it('binaryGemm on tile, block and panel edges', () => {
      const random = new SeededRandom(711);
      for (const { m, n, k } of GEMM_SHAPES) {
        const a = random.packedSigns(m, k);
        const b = random.packedSigns(n, k);
        assertSameElements(backend.binaryGemm(a, b, m, n, k), reference.binaryGemm(a, b, m, n, k), `m=${m} n=${n} k=${k}`);
      }
    });

    it('binaryGemm with k = 2^20 + 5 all differing', () => {
      // Every XOR bit is 1, so each u8 lane gains the maximum 8 per vector: a lane widened
      // after 32 vectors would wrap to 0, and u16 lanes kept over the whole row would wrap.
      const k = 2 ** 20 + 5;
      const m = 3;
      const n = 5;
      const a = new Uint32Array(m * wordsPerRow(k));
      const b = allNegativeRows(n, k);
      const out = backend.binaryGemm(a, b, m, n, k);
      assert.equal(out.length, m * n);
      for (let i = 0; i < out.length; i++) assert.equal(out[i], -k, `element ${i}`);

      const same = backend.binaryGemm(b.subarray(0, 2 * wordsPerRow(k)), b, 2, n, k);
      for (let i = 0; i < same.length; i++) assert.equal(same[i], k, `all agreeing element ${i}`);
    });

    it('binaryGemm with k = 2^20 + 5 random', () => {
      const random = new SeededRandom(712);
      const k = 2 ** 20 + 5;
      const a = random.packedSigns(3, k);
      const b = random.packedSigns(6, k);
      assertSameElements(backend.binaryGemm(a, b, 3, 6, k), reference.binaryGemm(a, b, 3, 6, k), `k=${k}`);
    });

    it('binaryGemmThresholdPack on random thresholds', () => {
      const random = new SeededRandom(713);
      for (const { m, n, k } of GEMM_SHAPES) {
        const a = random.packedSigns(m, k);
        const b = random.packedSigns(n, k);
        // Thresholds near the accumulators' spread around 0 make acc == threshold occur.
        const spread = Math.max(1, Math.round(Math.sqrt(k)));
        const thresholds = random.ints(n, -spread, spread);
        const directions = Int8Array.from({ length: n }, () => (random.next() < 0.5 ? -1 : 1));
        const context = `m=${m} n=${n} k=${k}`;
        assertSameElements(
          backend.binaryGemmThresholdPack(a, b, m, n, k, thresholds, directions),
          reference.binaryGemmThresholdPack(a, b, m, n, k, thresholds, directions),
          context,
        );
      }
    });

    it('binaryGemmThresholdPack hits thresholds exactly', () => {
      // Thresholds copied from the accumulators themselves: >= and <= both hold at the tie.
      const random = new SeededRandom(714);
      const m = 3;
      const n = 37;
      const k = 161;
      const a = random.packedSigns(m, k);
      const b = random.packedSigns(n, k);
      const acc = reference.binaryGemm(a, b, m, n, k);
      const thresholds = Int32Array.from({ length: n }, (_, c) => acc[c]);
      const directions = Int8Array.from({ length: n }, (_, c) => (c % 2 === 0 ? 1 : -1));
      const packed = backend.binaryGemmThresholdPack(a, b, m, n, k, thresholds, directions);
      assertSameElements(packed, reference.thresholdPack(acc, m, n, thresholds, directions), 'tie');
      // Row 0 meets every threshold with equality, so all its 37 signs are +1.
      assert.equal(packed[0], 0);
      assert.equal(packed[1], 0);
    });

    it('binaryGemmThresholdPack with constant channels', () => {
      // -2^31 and 2^31 - 1 bound every accumulator, so these columns are the same for all rows.
      const random = new SeededRandom(715);
      const m = 5;
      const n = 4;
      const k = 300;
      const a = random.packedSigns(m, k);
      const b = random.packedSigns(n, k);
      const thresholds = Int32Array.from([INT32_MIN, INT32_MIN, INT32_MAX, INT32_MAX]);
      const directions = Int8Array.from([1, -1, 1, -1]);
      const packed = backend.binaryGemmThresholdPack(a, b, m, n, k, thresholds, directions);
      // acc >= -2^31 always (+1), acc <= -2^31 never (-1), acc >= 2^31 - 1 never (-1), acc <= 2^31 - 1 always (+1).
      assert.deepEqual(Array.from(packed), new Array(m).fill(0b0110));
      assertSameElements(packed, reference.binaryGemmThresholdPack(a, b, m, n, k, thresholds, directions), 'reference');
    });

    it('binaryGemmThresholdPack of hand-computed signs', () => {
      // a = [+1, -1, +1], b0 = [+1, +1, +1] -> 1, b1 = [-1, +1, -1] -> -3, b2 = [+1, -1, -1] -> 1.
      const a = packRows([[1, -1, 1]]);
      const b = packRows([
        [1, 1, 1],
        [-1, 1, -1],
        [1, -1, -1],
      ]);
      const thresholds = Int32Array.from([1, -3, 2]);
      const directions = Int8Array.from([1, -1, 1]);
      // 1 >= 1 -> +1, -3 <= -3 -> +1, 1 >= 2 fails -> -1 (bit 2).
      assert.deepEqual(Array.from(backend.binaryGemmThresholdPack(a, b, 1, 3, 3, thresholds, directions)), [0b100]);
    });

    for (const { activationBits, weightBits } of BIT_PAIRS) {
      it(`bitplaneGemmBits with ${activationBits}-bit x and ${weightBits}-bit w`, () => {
        const random = new SeededRandom(720 + 10 * activationBits + weightBits);
        for (const k of [1, 31, 33, 127, 129, 300]) {
          const m = 1 + random.int(0, 4);
          const n = 1 + random.int(0, 9);
          const x = randomActivations(random, m * k, activationBits);
          const w = random.packedSigns(n * weightBits, k);
          const context = `m=${m} n=${n} k=${k}`;
          const expected = decodedGemm(x, w, weightBits, m, n, k);
          assertSameElements(backend.bitplaneGemmBits(x, activationBits, w, weightBits, m, n, k), expected, context);
          assertSameElements(reference.bitplaneGemmBits(x, activationBits, w, weightBits, m, n, k), expected, `reference ${context}`);
        }
      });
    }

    it('bitplaneGemmBits at its largest magnitude', () => {
      // x = 255 and w = -255 everywhere: out = -255 * 255 * k, with k the largest that fits in i32.
      const k = Math.floor(INT32_MAX / (255 * 255));
      const x = new Uint8Array(k).fill(255);
      const w = allNegativeRows(8, k);
      assert.deepEqual(Array.from(backend.bitplaneGemmBits(x, 8, w, 8, 1, 1, k)), [-255 * 255 * k]);
    });

    it('bitplaneGemmBits of a hand-computed dot', () => {
      // x = [3, 1] (2 bits), w = [3, -1] (2 bits): 3 = 1 + 2 has no -1 plane, -1 = 1 - 2 sets plane 1 of element 1.
      const x = Uint8Array.from([3, 1]);
      const w = Uint32Array.from([0b00, 0b10]);
      assert.deepEqual(Array.from(backend.bitplaneGemmBits(x, 2, w, 2, 1, 1, 2)), [3 * 3 + 1 * -1]);
    });

    it('bitplaneGemmBits with one weight bit equals bitplaneGemm', () => {
      const random = new SeededRandom(730);
      const m = 3;
      const n = 7;
      const k = 333;
      const x = random.bytes(m * k);
      const w = random.packedSigns(n, k);
      assertSameElements(backend.bitplaneGemmBits(x, 8, w, 1, m, n, k), backend.bitplaneGemm(x, w, m, n, k), 'k=333');
    });

    it('bitplaneGemmBits rejects invalid arguments', () => {
      assert.throws(() => backend.bitplaneGemmBits(new Uint8Array(2), 0, new Uint32Array(1), 1, 1, 1, 2), QnnError);
      assert.throws(() => backend.bitplaneGemmBits(new Uint8Array(2), 9, new Uint32Array(1), 1, 1, 1, 2), QnnError);
      assert.throws(
        () => backend.bitplaneGemmBits(Uint8Array.from([1, 4]), 2, new Uint32Array(1), 1, 1, 1, 2),
        /x\[1\] = 4 does not fit in activationBits = 2/,
      );
      assert.throws(() => backend.bitplaneGemmBits(new Uint8Array(2), 2, new Uint32Array(1), 2, 1, 1, 2), /w has 1 elements/);
      assert.throws(
        () => backend.bitplaneGemmBits(new Uint8Array(0), 8, new Uint32Array(0), 8, 0, 0, 33026),
        /past the int32 maximum/,
      );
    });

    it('binaryGemmThresholdPack rejects thresholds of the wrong length', () => {
      assert.throws(
        () => backend.binaryGemmThresholdPack(new Uint32Array(1), new Uint32Array(2), 1, 2, 3, new Int32Array(1), new Int8Array(2)),
        /thresholds has 1 elements, expected n = 2/,
      );
    });

    it('popcountRoofline counts 32768 MACs per iteration', () => {
      assert.equal(backend.popcountRoofline(3), 3 * 2 * 4 * 4096);
      assert.equal(backend.popcountRoofline(0), 0);
    });
  });
}
