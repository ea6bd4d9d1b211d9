// Named cases with hand-computed results, input checks and module loading of the WASM backend.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';

import { QnnError, ShapeError } from '../../sdk/errors.js';
import { type WasmBackend, createWasmBackend } from '../../sdk/backends/wasm-backend.js';

const wasmDir = new URL('../../asm/', import.meta.url);

for (const simd of [true, false]) {
  const name = simd ? 'wasm-simd' : 'wasm-scalar';

  describe(`${name} named cases`, () => {
    let backend: WasmBackend;

    before(async () => {
      backend = await createWasmBackend({ simd });
    });

    it('reports its build', () => {
      assert.equal(backend.name, name);
      assert.equal(backend.build, simd ? 'simd' : 'scalar');
    });

    it('sign_of_zero packs as +1', () => {
      const words = backend.packSigns(Float32Array.from([-2, -0.0, 0.0, 1e-8, 3]), 1, 5);
      assert.deepEqual(Array.from(words), [0b1]);
    });

    it('xor_popcount on six signs', () => {
      const a = backend.packSigns(Float32Array.from([1, -1, 1, -1, 1, 1]), 1, 6);
      const w = backend.packSigns(Float32Array.from([1, 1, -1, 1, 1, -1]), 1, 6);
      assert.deepEqual(Array.from(backend.binaryGemm(a, w, 1, 1, 6)), [-2]);
    });

    it('tail_bits with k = 33', () => {
      const a = backend.packSigns(new Float32Array(33).fill(1), 1, 33);
      const w = backend.packSigns(
        Float32Array.from({ length: 33 }, (_, i) => (i % 2 === 0 ? 1 : -1)),
        1,
        33,
      );
      // 17 agreeing +1 positions, 16 disagreeing ones.
      assert.deepEqual(Array.from(backend.binaryGemm(a, w, 1, 1, 33)), [1]);
    });

    it('tail_bits with k = 64', () => {
      const a = backend.packSigns(new Float32Array(64).fill(1), 1, 64);
      const w = backend.packSigns(new Float32Array(64).fill(-1), 1, 64);
      assert.deepEqual(Array.from(backend.binaryGemm(a, w, 1, 1, 64)), [-64]);
    });

    it('tail_bits with k = 160 and two filters', () => {
      const input = backend.packSigns(new Float32Array(160).fill(1), 1, 160);
      const filters = new Float32Array(320);
      filters.fill(1, 0, 160);
      filters.fill(-1, 160, 320);
      const weights = backend.packSigns(filters, 2, 160);
      assert.deepEqual(Array.from(backend.binaryGemm(input, weights, 1, 2, 160)), [160, -160]);
    });

    it('binaryGemm block and remainder columns', () => {
      // Filter j is -1 on its first 10 * j positions, so dot = 64 - 20 * j.
      const k = 64;
      const input = backend.packSigns(new Float32Array(k).fill(1), 1, k);
      const filters = Float32Array.from({ length: 5 * k }, (_, i) => (i % k < 10 * Math.floor(i / k) ? -1 : 1));
      const weights = backend.packSigns(filters, 5, k);
      assert.deepEqual(Array.from(backend.binaryGemm(input, weights, 1, 5, k)), [64, 44, 24, 4, -16]);
    });

    it('binaryGemm with every bit differing', () => {
      // Every byte counts 8 per vector, the worst case for the u8 counters widened every 31 vectors.
      const k = 16045;
      const input = backend.packSigns(new Float32Array(k).fill(-1), 1, k);
      const weights = backend.packSigns(new Float32Array(5 * k).fill(1), 5, k);
      assert.deepEqual(Array.from(backend.binaryGemm(input, weights, 1, 5, k)), [-k, -k, -k, -k, -k]);
    });

    it('bitplaneGemm with every bit set', () => {
      // x = 255 against all -1 weights: each plane counts 8 per byte and vector.
      const k = 16045;
      const x = new Uint8Array(k).fill(255);
      const weights = backend.packSigns(new Float32Array(5 * k).fill(-1), 5, k);
      assert.deepEqual(Array.from(backend.bitplaneGemm(x, weights, 1, 5, k)), Array(5).fill(-255 * k));
    });

    it('i8x16_popcnt on edge bytes', () => {
      const bytes = Uint8Array.from([0x00, 0x01, 0x03, 0x7f, 0x80, 0xff, 0x55, 0xaa, 0x00, 0x01, 0x03, 0x7f, 0x80, 0xff, 0x55, 0xaa]);
      assert.deepEqual(Array.from(backend.popcountBytes16(bytes)), [0, 1, 2, 7, 1, 8, 4, 4, 0, 1, 2, 7, 1, 8, 4, 4]);
    });

    it('threshold_pack with negative direction', () => {
      // Direction -1: +1 where acc <= 1, so only acc = 3 sets its bit (bit 3).
      const acc = Int32Array.from([-3, -1, 1, 3]);
      const words = backend.thresholdPack(acc, 1, 4, Int32Array.from([1, 1, 1, 1]), Int8Array.from([-1, -1, -1, -1]));
      assert.deepEqual(Array.from(words), [0b1000]);
    });

    it('threshold_pack with positive direction', () => {
      // Direction 1: +1 where acc >= 1, so acc = -3 and -1 set bits 0 and 1.
      const acc = Int32Array.from([-3, -1, 1, 3]);
      const words = backend.thresholdPack(acc, 1, 4, Int32Array.from([1, 1, 1, 1]), Int8Array.from([1, 1, 1, 1]));
      assert.deepEqual(Array.from(words), [0b0011]);
    });

    it('bitplane_gemm on 8-bit extremes', () => {
      // 255 * (-1) + 0 * (+1) + 128 * (+1) + 1 * (-1) = -128.
      const x = Uint8Array.from([255, 0, 128, 1]);
      const w = backend.packSigns(Float32Array.from([-1, 1, 1, -1]), 1, 4);
      assert.deepEqual(Array.from(backend.bitplaneGemm(x, w, 1, 1, 4)), [-128]);
    });

    it('matmul of 2x3 by 3x2', () => {
      const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
      const b = Float32Array.from([7, 8, 9, 10, 11, 12]);
      // [1 2 3; 4 5 6] · [7 8; 9 10; 11 12] = [58 64; 139 154].
      assert.deepEqual(Array.from(backend.matmul(a, b, 2, 3, 2, false, false)), [58, 64, 139, 154]);
    });

    it('results survive later calls', () => {
      const first = backend.matmul(Float32Array.from([2]), Float32Array.from([3]), 1, 1, 1, false, false);
      backend.matmul(new Float32Array(300 * 300).fill(1), new Float32Array(300 * 300).fill(1), 300, 300, 300, false, false);
      assert.deepEqual(Array.from(first), [6]);
    });

    it('memory grows for large operands', () => {
      // 1,000,000 floats per operand need more than the memory any earlier test grew to.
      const k = 1000;
      const m = 1000;
      const a = new Float32Array(m * k).fill(1);
      const b = new Float32Array(k).fill(0.5);
      const c = backend.matmul(a, b, m, k, 1, false, false);
      assert.equal(c.length, m);
      assert.equal(c[0], 500);
      assert.equal(c[m - 1], 500);
    });

    it('matmul rejects a of the wrong length', () => {
      assert.throws(
        () => backend.matmul(new Float32Array(11), new Float32Array(20), 3, 4, 5, false, false),
        (error: unknown) => error instanceof ShapeError && /a has 11 elements, expected m \* k = 3 \* 4 = 12/.test(error.message),
      );
    });

    it('matmul rejects b with transposeB', () => {
      assert.throws(
        () => backend.matmul(new Float32Array(12), new Float32Array(19), 3, 4, 5, false, true),
        (error: unknown) => error instanceof ShapeError && /b has 19 elements, expected n \* k = 5 \* 4 \(transposeB\) = 20/.test(error.message),
      );
    });

    it('binaryGemm rejects packed rows of the wrong length', () => {
      assert.throws(() => backend.binaryGemm(new Uint32Array(2), new Uint32Array(3), 1, 1, 33), ShapeError);
      assert.throws(() => backend.binaryGemm(new Uint32Array(1), new Uint32Array(2), 1, 1, 33), ShapeError);
    });

    it('bitplaneGemm rejects inputs of the wrong length', () => {
      assert.throws(() => backend.bitplaneGemm(new Uint8Array(5), new Uint32Array(1), 1, 1, 4), ShapeError);
      assert.throws(() => backend.bitplaneGemm(new Uint8Array(4), new Uint32Array(2), 1, 1, 4), ShapeError);
    });

    it('packSigns rejects x of the wrong length', () => {
      assert.throws(() => backend.packSigns(new Float32Array(9), 2, 5), ShapeError);
    });

    it('thresholdPack rejects wrong lengths', () => {
      assert.throws(() => backend.thresholdPack(new Int32Array(8), 2, 4, new Int32Array(3), new Int8Array(4)), ShapeError);
      assert.throws(() => backend.thresholdPack(new Int32Array(8), 2, 4, new Int32Array(4), new Int8Array(5)), ShapeError);
      assert.throws(() => backend.thresholdPack(new Int32Array(7), 2, 4, new Int32Array(4), new Int8Array(4)), ShapeError);
    });

    it('matmul rejects results past 4 GiB', () => {
      // With k = 0 both operands are empty, but c would need 70000 * 70000 * 4 bytes.
      assert.throws(
        () => backend.matmul(new Float32Array(0), new Float32Array(0), 70000, 0, 70000, false, false),
        (error: unknown) => error instanceof QnnError && /more than the 4 GiB/.test(error.message),
      );
    });

    it('kernels reject dimensions past i32', () => {
      assert.throws(() => backend.packSigns(new Float32Array(0), 2 ** 31, 0), ShapeError);
    });

    it('kernels reject negative and fractional dimensions', () => {
      assert.throws(() => backend.matmul(new Float32Array(0), new Float32Array(0), -1, 0, 0, false, false), ShapeError);
      assert.throws(() => backend.packSigns(new Float32Array(3), 1.5, 2), ShapeError);
      assert.throws(() => backend.binaryGemm(new Uint32Array(0), new Uint32Array(0), 0, 0, Number.NaN), ShapeError);
    });
  });
}

describe('createWasmBackend loading', () => {
  it('picks scalar when SIMD validation fails', async () => {
    const validate = WebAssembly.validate;
    WebAssembly.validate = () => false;
    try {
      const backend = await createWasmBackend();
      assert.equal(backend.name, 'wasm-scalar');
    } finally {
      WebAssembly.validate = validate;
    }
  });

  it('rejects forced SIMD on a host without it', async () => {
    const validate = WebAssembly.validate;
    WebAssembly.validate = () => false;
    try {
      await assert.rejects(createWasmBackend({ simd: true }), (error: unknown) => {
        return error instanceof QnnError && /does not support it/.test(error.message);
      });
    } finally {
      WebAssembly.validate = validate;
    }
  });

  it('picks SIMD by default on this host', async () => {
    const backend = await createWasmBackend();
    assert.equal(backend.name, 'wasm-simd');
  });

  it('reads the build from wasmBytes', async () => {
    const bytes = new Uint8Array(await readFile(new URL('qnn-scalar.wasm', wasmDir)));
    const backend = await createWasmBackend({ wasmBytes: bytes });
    assert.equal(backend.name, 'wasm-scalar');
  });

  it('rejects wasmBytes of the other build', async () => {
    const bytes = new Uint8Array(await readFile(new URL('qnn-scalar.wasm', wasmDir)));
    await assert.rejects(createWasmBackend({ simd: true, wasmBytes: bytes }), /is the scalar build/);
  });

  it('loads a module from wasmUrl', async () => {
    const backend = await createWasmBackend({ wasmUrl: new URL('qnn-simd.wasm', wasmDir) });
    assert.equal(backend.name, 'wasm-simd');
  });

  it('rejects a relative wasmUrl string', async () => {
    await assert.rejects(createWasmBackend({ wasmUrl: 'qnn-simd.wasm' }), /not an absolute URL/);
  });

  it('rejects a missing module file', async () => {
    await assert.rejects(createWasmBackend({ wasmUrl: new URL('missing.wasm', wasmDir) }), /npm run build:asm/);
  });

  it('rejects bytes that are not a qnn module', async () => {
    const empty = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    await assert.rejects(createWasmBackend({ wasmBytes: empty }), /lacks the exports/);
  });
});
