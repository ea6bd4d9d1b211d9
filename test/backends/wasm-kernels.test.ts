// Every kernel of both WASM builds against ReferenceBackend on seeded random shapes.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { type WasmBackend } from '../../sdk/backends/wasm-backend.js';
import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import { SeededRandom } from '../helpers/random.js';

/** Reduction lengths around the 32-bit word and 128-bit vector boundaries, plus one long row. */
const K_VALUES = [1, 7, 31, 32, 33, 63, 64, 65, 127, 128, 129, 160, 1000];

const reference = new ReferenceBackend();

function randomOdd(random: SeededRandom, max: number): number {
  return 2 * random.int(0, (max - 1) / 2) + 1;
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

const MATMUL_VARIANTS = [
  { label: 'NN', transposeA: false, transposeB: false },
  { label: 'NT', transposeA: false, transposeB: true },
  { label: 'TN', transposeA: true, transposeB: false },
  { label: 'TT', transposeA: true, transposeB: true },
];

for (const simd of [true, false]) {
  describe(`${simd ? 'wasm-simd' : 'wasm-scalar'} against reference`, () => {
    let backend: WasmBackend;

    before(async () => {
      backend = await createWasmBackend({ simd });
    });

    it('packSigns on random rows', () => {
      const random = new SeededRandom(101);
      for (const k of K_VALUES) {
        const rows = randomOdd(random, 9);
        const x = random.floats(rows * k);
        const context = `rows=${rows} k=${k}`;
        assertSameElements(backend.packSigns(x, rows, k), reference.packSigns(x, rows, k), context);
      }
    });

    it('binaryGemm on random shapes', () => {
      const random = new SeededRandom(202);
      for (const k of K_VALUES) {
        const m = randomOdd(random, 9);
        const n = randomOdd(random, 23);
        const a = random.packedSigns(m, k);
        const b = random.packedSigns(n, k);
        const context = `m=${m} n=${n} k=${k}`;
        assertSameElements(backend.binaryGemm(a, b, m, n, k), reference.binaryGemm(a, b, m, n, k), context);
      }
    });

    it('binaryGemm across widening chunks', () => {
      // The u8 counters are widened every 31 vectors of 128 bits. 16045 bits are 502 words:
      // 125 full vectors (five widening chunks) and 2 tail words.
      const random = new SeededRandom(203);
      const m = 3;
      const n = 9;
      const k = 16045;
      const a = random.packedSigns(m, k);
      const b = random.packedSigns(n, k);
      assertSameElements(backend.binaryGemm(a, b, m, n, k), reference.binaryGemm(a, b, m, n, k), `k=${k}`);
    });

    it('bitplaneGemm on random shapes', () => {
      const random = new SeededRandom(303);
      for (const k of K_VALUES) {
        const m = randomOdd(random, 7);
        const n = randomOdd(random, 19);
        const x = random.bytes(m * k);
        const w = random.packedSigns(n, k);
        const context = `m=${m} n=${n} k=${k}`;
        assertSameElements(backend.bitplaneGemm(x, w, m, n, k), reference.bitplaneGemm(x, w, m, n, k), context);
      }
    });

    it('thresholdPack on random accumulators', () => {
      const random = new SeededRandom(404);
      for (const cols of K_VALUES) {
        const rows = randomOdd(random, 9);
        // Narrow ranges make acc == threshold common, the case where the two directions differ.
        const acc = random.ints(rows * cols, -12, 12);
        const thresholds = random.ints(cols, -6, 6);
        const directions = Int8Array.from({ length: cols }, () => (random.next() < 0.5 ? -1 : 1));
        const context = `rows=${rows} cols=${cols}`;
        assertSameElements(
          backend.thresholdPack(acc, rows, cols, thresholds, directions),
          reference.thresholdPack(acc, rows, cols, thresholds, directions),
          context,
        );
      }
    });

    for (const variant of MATMUL_VARIANTS) {
      it(`matmul ${variant.label} on random shapes`, () => {
        const random = new SeededRandom(505);
        for (const k of K_VALUES) {
          const m = randomOdd(random, 25);
          const n = randomOdd(random, 41);
          const a = random.floats(m * k);
          const b = random.floats(k * n);
          const { transposeA, transposeB } = variant;
          const actual = backend.matmul(a, b, m, k, n, transposeA, transposeB);
          const expected = reference.matmul(a, b, m, k, n, transposeA, transposeB);
          // float32 accumulation over k steps errs by at most about k * 2^-24 * sum |a_ip * b_pj|.
          const magnitudes = reference.matmul(a.map(Math.abs), b.map(Math.abs), m, k, n, transposeA, transposeB);

          assert.equal(actual.length, expected.length);
          for (let i = 0; i < expected.length; i++) {
            const tolerance = 1e-6 + k * 2 ** -24 * magnitudes[i];
            const error = Math.abs(actual[i] - expected[i]);
            if (!(error <= tolerance)) {
              assert.fail(
                `m=${m} k=${k} n=${n}: element ${i} is ${actual[i]}, expected ${expected[i]} within ${tolerance}`,
              );
            }
          }
        }
      });
    }

    it('matmul on exact multiples of the tile', () => {
      // Every tile is full here, so no result goes through the edge-tile copy.
      const random = new SeededRandom(606);
      const m = 16;
      const k = 64;
      const n = 32;
      const a = random.floats(m * k);
      const b = random.floats(k * n);
      const actual = backend.matmul(a, b, m, k, n, false, false);
      const expected = reference.matmul(a, b, m, k, n, false, false);
      for (let i = 0; i < expected.length; i++) {
        assert.ok(Math.abs(actual[i] - expected[i]) <= 1e-5, `element ${i}: ${actual[i]} vs ${expected[i]}`);
      }
    });

    it('kernels on empty dimensions', () => {
      assertSameElements(backend.matmul(new Float32Array(0), new Float32Array(0), 3, 0, 5, false, false), new Float32Array(15), 'matmul k=0');
      assertSameElements(backend.matmul(new Float32Array(0), new Float32Array(12), 0, 4, 3, false, false), [], 'matmul m=0');
      assertSameElements(backend.packSigns(new Float32Array(0), 2, 0), [], 'packSigns k=0');
      assertSameElements(backend.binaryGemm(new Uint32Array(0), new Uint32Array(0), 2, 3, 0), new Int32Array(6), 'binaryGemm k=0');
      assertSameElements(backend.bitplaneGemm(new Uint8Array(0), new Uint32Array(0), 2, 3, 0), new Int32Array(6), 'bitplaneGemm k=0');
      assertSameElements(
        backend.thresholdPack(new Int32Array(0), 0, 5, new Int32Array(5), new Int8Array(5)),
        [],
        'thresholdPack rows=0',
      );
    });
  });
}
