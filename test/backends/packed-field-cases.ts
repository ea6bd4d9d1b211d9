// Packed-kernel cases with hand-computed results that every backend must pass.
import assert from 'node:assert/strict';
import { it } from 'node:test';

import type { Backend } from '../../sdk/backends/backend.js';

/** Registers the cases in the enclosing describe; `backend` returns the backend under test once it is created. */
export function definePackedFieldCases(backend: () => Backend): void {
  it('sign_of_zero packs as +1', () => {
    const words = backend().packSigns(Float32Array.from([-2, -0.0, 0.0, 1e-8, 3]), 1, 5);
    assert.deepEqual(Array.from(words), [0b1]);
  });

  it('xor_popcount on six signs', () => {
    const a = backend().packSigns(Float32Array.from([1, -1, 1, -1, 1, 1]), 1, 6);
    const w = backend().packSigns(Float32Array.from([1, 1, -1, 1, 1, -1]), 1, 6);
    assert.deepEqual(Array.from(backend().binaryGemm(a, w, 1, 1, 6)), [-2]);
  });

  it('tail_bits with k = 33', () => {
    const a = backend().packSigns(new Float32Array(33).fill(1), 1, 33);
    const w = backend().packSigns(
      Float32Array.from({ length: 33 }, (_, i) => (i % 2 === 0 ? 1 : -1)),
      1,
      33,
    );
    // 17 agreeing +1 positions, 16 disagreeing ones.
    assert.deepEqual(Array.from(backend().binaryGemm(a, w, 1, 1, 33)), [1]);
  });

  it('tail_bits with k = 64', () => {
    const a = backend().packSigns(new Float32Array(64).fill(1), 1, 64);
    const w = backend().packSigns(new Float32Array(64).fill(-1), 1, 64);
    assert.deepEqual(Array.from(backend().binaryGemm(a, w, 1, 1, 64)), [-64]);
  });

  it('tail_bits with k = 160 and two filters', () => {
    const input = backend().packSigns(new Float32Array(160).fill(1), 1, 160);
    const filters = new Float32Array(320);
    filters.fill(1, 0, 160);
    filters.fill(-1, 160, 320);
    const weights = backend().packSigns(filters, 2, 160);
    assert.deepEqual(Array.from(backend().binaryGemm(input, weights, 1, 2, 160)), [160, -160]);
  });

  it('binaryGemm block and remainder columns', () => {
    // Filter j is -1 on its first 10 * j positions, so dot = 64 - 20 * j.
    const k = 64;
    const input = backend().packSigns(new Float32Array(k).fill(1), 1, k);
    const filters = Float32Array.from({ length: 5 * k }, (_, i) => (i % k < 10 * Math.floor(i / k) ? -1 : 1));
    const weights = backend().packSigns(filters, 5, k);
    assert.deepEqual(Array.from(backend().binaryGemm(input, weights, 1, 5, k)), [64, 44, 24, 4, -16]);
  });

  it('binaryGemm with every bit differing', () => {
    // Every byte counts 8 per vector, the worst case for the u8 counters widened every 31 vectors.
    const k = 16045;
    const input = backend().packSigns(new Float32Array(k).fill(-1), 1, k);
    const weights = backend().packSigns(new Float32Array(5 * k).fill(1), 5, k);
    assert.deepEqual(Array.from(backend().binaryGemm(input, weights, 1, 5, k)), [-k, -k, -k, -k, -k]);
  });

  it('bitplaneGemm with every bit set', () => {
    // x = 255 against all -1 weights: each plane counts 8 per byte and vector.
    const k = 16045;
    const x = new Uint8Array(k).fill(255);
    const weights = backend().packSigns(new Float32Array(5 * k).fill(-1), 5, k);
    assert.deepEqual(Array.from(backend().bitplaneGemm(x, weights, 1, 5, k)), Array(5).fill(-255 * k));
  });

  it('threshold_pack with negative direction', () => {
    // Direction -1: +1 where acc <= 1, so only acc = 3 sets its bit (bit 3).
    const acc = Int32Array.from([-3, -1, 1, 3]);
    const words = backend().thresholdPack(acc, 1, 4, Int32Array.from([1, 1, 1, 1]), Int8Array.from([-1, -1, -1, -1]));
    assert.deepEqual(Array.from(words), [0b1000]);
  });

  it('threshold_pack with positive direction', () => {
    // Direction 1: +1 where acc >= 1, so acc = -3 and -1 set bits 0 and 1.
    const acc = Int32Array.from([-3, -1, 1, 3]);
    const words = backend().thresholdPack(acc, 1, 4, Int32Array.from([1, 1, 1, 1]), Int8Array.from([1, 1, 1, 1]));
    assert.deepEqual(Array.from(words), [0b0011]);
  });

  it('bitplane_gemm on 8-bit extremes', () => {
    // 255 * (-1) + 0 * (+1) + 128 * (+1) + 1 * (-1) = -128.
    const x = Uint8Array.from([255, 0, 128, 1]);
    const w = backend().packSigns(Float32Array.from([-1, 1, 1, -1]), 1, 4);
    assert.deepEqual(Array.from(backend().bitplaneGemm(x, w, 1, 1, 4)), [-128]);
  });
}
