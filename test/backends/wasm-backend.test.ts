// Named cases with hand-computed results, input checks and module loading of the WASM backend.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';

import { QnnError, ShapeError } from '../../sdk/errors.js';
import { type WasmBackend } from '../../sdk/backends/wasm-backend.js';
import { createWasmBackend } from '../../sdk/backends/create-wasm-backend.js';
import { definePackedFieldCases } from './packed-field-cases.js';

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

    definePackedFieldCases(() => backend);

    it('i8x16_popcnt on edge bytes', () => {
      const bytes = Uint8Array.from([0x00, 0x01, 0x03, 0x7f, 0x80, 0xff, 0x55, 0xaa, 0x00, 0x01, 0x03, 0x7f, 0x80, 0xff, 0x55, 0xaa]);
      assert.deepEqual(Array.from(backend.popcountBytes16(bytes)), [0, 1, 2, 7, 1, 8, 4, 4, 0, 1, 2, 7, 1, 8, 4, 4]);
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
