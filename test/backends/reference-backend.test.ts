// Field cases for the packed kernels of the reference backend, the oracle the other backends are compared with.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';

const backend = new ReferenceBackend();

describe('reference packed kernels', () => {
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
    const w = backend.packSigns(Float32Array.from({ length: 33 }, (_, i) => (i % 2 === 0 ? 1 : -1)), 1, 33);
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

  it('bitplane_gemm on 8-bit extremes', () => {
    // 255 * (-1) + 0 * (+1) + 128 * (+1) + 1 * (-1) = -128.
    const x = Uint8Array.from([255, 0, 128, 1]);
    const w = backend.packSigns(Float32Array.from([-1, 1, 1, -1]), 1, 4);
    assert.deepEqual(Array.from(backend.bitplaneGemm(x, w, 1, 1, 4)), [-128]);
  });

  it('threshold_pack with negative direction', () => {
    const acc = Int32Array.from([-3, -1, 1, 3]);
    const words = backend.thresholdPack(acc, 1, 4, Int32Array.from([1, 1, 1, 1]), Int8Array.from([-1, -1, -1, -1]));
    assert.deepEqual(Array.from(words), [0b1000]);
  });
});
