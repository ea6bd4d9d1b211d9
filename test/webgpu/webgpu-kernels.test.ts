// WebGPU packSigns and binaryGemm against the TypeScript reference, bit for bit, plus named cases.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { ReferenceBackend } from '../../sdk/backends/reference-backend.js';
import { acquireNodeDevice } from '../../gpu/host/device-node.js';
import { DeviceLimitError, DeviceLimits } from '../../gpu/host/device-limits.js';
import { WebGpuDeviceLostError } from '../../gpu/host/gpu-context.js';
import { WebGpuBackend } from '../../gpu/webgpu-backend.js';
import { ShapeError } from '../../sdk/errors.js';
import { SeededRandom } from '../helpers/random.js';
import { acquireTestDevice } from './webgpu-device.js';

const device = await acquireTestDevice();
const reference = new ReferenceBackend();

if (device.unavailable !== undefined && process.env.CI) {
  it('webgpu adapter is available in CI', () => {
    assert.fail(device.unavailable);
  });
}

describe('webgpu kernels', { skip: device.unavailable }, () => {
  const gpu = (): WebGpuBackend => device.kernels!;

  after(() => device.kernels?.destroy());

  it('sign_of_zero packs as +1', async () => {
    const words = await gpu().packSigns(Float32Array.from([-2, -0.0, 0.0, 1e-8, 3]), 1, 5);
    assert.deepEqual(Array.from(words), [0b1]);
  });

  it('xor_popcount on six signs', async () => {
    const a = await gpu().packSigns(Float32Array.from([1, -1, 1, -1, 1, 1]), 1, 6);
    const w = await gpu().packSigns(Float32Array.from([1, 1, -1, 1, 1, -1]), 1, 6);
    assert.deepEqual(Array.from(await gpu().binaryGemm(a, w, 1, 1, 6)), [-2]);
  });

  it('tail_bits with k = 33', async () => {
    const a = await gpu().packSigns(new Float32Array(33).fill(1), 1, 33);
    const w = await gpu().packSigns(Float32Array.from({ length: 33 }, (_, i) => (i % 2 === 0 ? 1 : -1)), 1, 33);
    // 17 agreeing +1 positions, 16 disagreeing ones.
    assert.deepEqual(Array.from(await gpu().binaryGemm(a, w, 1, 1, 33)), [1]);
  });

  it('tail_bits with k = 64', async () => {
    const a = await gpu().packSigns(new Float32Array(64).fill(1), 1, 64);
    const w = await gpu().packSigns(new Float32Array(64).fill(-1), 1, 64);
    assert.deepEqual(Array.from(w), [0xffffffff, 0xffffffff]);
    assert.deepEqual(Array.from(await gpu().binaryGemm(a, w, 1, 1, 64)), [-64]);
  });

  it('tail_bits with k = 160 and two filters', async () => {
    const input = await gpu().packSigns(new Float32Array(160).fill(1), 1, 160);
    const filters = new Float32Array(320);
    filters.fill(1, 0, 160);
    filters.fill(-1, 160, 320);
    const weights = await gpu().packSigns(filters, 2, 160);
    assert.deepEqual(Array.from(await gpu().binaryGemm(input, weights, 1, 2, 160)), [160, -160]);
  });

  it('bit intrinsics on the device', async () => {
    const [popcountSigned, popcountHighBit, reversedOne, literalSigned, literalHighBit, literalReversed] =
      await gpu().probeBitIntrinsics();
    assert.equal(popcountSigned, 32, 'countOneBits(-1i) read from a buffer');
    assert.equal(popcountHighBit, 1, 'countOneBits(0x80000000u) read from a buffer');
    assert.equal(reversedOne, 0x80000000, 'reverseBits(1u) read from a buffer');
    assert.equal(literalSigned, 32, 'countOneBits(-1i) on a literal');
    assert.equal(literalHighBit, 1, 'countOneBits(0x80000000u) on a literal');
    assert.equal(literalReversed, 0x80000000, 'reverseBits(1u) on a literal');
  });

  it('packSigns matches reference', async () => {
    const random = new SeededRandom(41);
    for (const k of [1, 31, 32, 33, 160, 1000]) {
      const rows = random.int(1, 9) * 2 + 1;
      const x = random.floats(rows * k);
      const expected = reference.packSigns(x, rows, k);
      assert.deepEqual(await gpu().packSigns(x, rows, k), expected, `rows = ${rows}, k = ${k}`);
    }
  });

  it('binaryGemm matches reference', async () => {
    const random = new SeededRandom(42);
    for (const k of [1, 31, 33, 160, 1000]) {
      const m = random.int(0, 10) * 2 + 1;
      const n = random.int(0, 10) * 2 + 1;
      const a = random.packedSigns(m, k);
      const b = random.packedSigns(n, k);
      const expected = reference.binaryGemm(a, b, m, n, k);
      assert.deepEqual(await gpu().binaryGemm(a, b, m, n, k), expected, `m = ${m}, n = ${n}, k = ${k}`);
    }
  });

  it('binaryGemm over several workgroups', async () => {
    // 37 x 53 outputs need 3 x 4 workgroups of 16 x 16, and 1000 signs need two 16-word K steps.
    const random = new SeededRandom(43);
    const [m, n, k] = [37, 53, 1000];
    const a = random.packedSigns(m, k);
    const b = random.packedSigns(n, k);
    assert.deepEqual(await gpu().binaryGemm(a, b, m, n, k), reference.binaryGemm(a, b, m, n, k));
  });

  it('binaryGemm with split dispatches', async () => {
    // With at most 2 workgroups per dimension, the 5 x 4 grid runs as 3 x 2 dispatches.
    const split = new WebGpuBackend(gpu().device, { maxComputeWorkgroupsPerDimension: 2 });
    const random = new SeededRandom(44);
    const [m, n, k] = [70, 50, 33];
    const a = random.packedSigns(m, k);
    const b = random.packedSigns(n, k);
    assert.deepEqual(await split.binaryGemm(a, b, m, n, k), reference.binaryGemm(a, b, m, n, k));
  });

  it('packSigns on a two-dimensional grid', async () => {
    // 10 rows of 32 words are 5 workgroups of 64, laid out as 3 x 2 with one surplus workgroup.
    const split = new WebGpuBackend(gpu().device, { maxComputeWorkgroupsPerDimension: 3 });
    const x = new SeededRandom(45).floats(10 * 1000);
    assert.deepEqual(await split.packSigns(x, 10, 1000), reference.packSigns(x, 10, 1000));
  });

  it('empty shapes return empty arrays', async () => {
    assert.equal((await gpu().packSigns(new Float32Array(0), 0, 7)).length, 0);
    assert.equal((await gpu().binaryGemm(new Uint32Array(0), new Uint32Array(3), 0, 3, 32)).length, 0);
    assert.deepEqual(Array.from(await gpu().binaryGemm(new Uint32Array(0), new Uint32Array(0), 2, 1, 0)), [0, 0]);
  });

  it('binaryGemm rejects b of the wrong length', async () => {
    await assert.rejects(gpu().binaryGemm(new Uint32Array(2), new Uint32Array(3), 1, 2, 33), ShapeError);
  });

  it('lost device rejects later calls', async () => {
    const lostDevice = new WebGpuBackend(await acquireNodeDevice());
    lostDevice.destroy();
    await assert.rejects(
      lostDevice.binaryGemm(new Uint32Array(1), new Uint32Array(1), 1, 1, 1),
      (error: unknown) => error instanceof WebGpuDeviceLostError && /device lost \(destroyed\)/.test(error.message),
    );
  });
});

describe('webgpu device limits', () => {
  const limits = new DeviceLimits({
    maxStorageBufferBindingSize: 1024,
    maxBufferSize: 4096,
    maxComputeWorkgroupsPerDimension: 4,
  });

  it('storage binding over the limit throws', () => {
    assert.throws(
      () => limits.checkStorageBinding('binaryGemm', 'a', 2048),
      (error: unknown) =>
        error instanceof DeviceLimitError && /a needs 2048 bytes, over the device's maxStorageBufferBindingSize of 1024/.test(error.message),
    );
  });

  it('storage binding at the limit passes', () => {
    assert.doesNotThrow(() => limits.checkStorageBinding('binaryGemm', 'a', 1024));
  });

  it('splitGrid covers every workgroup once', () => {
    const chunks = limits.splitGrid(9, 5);
    assert.equal(chunks.length, 6);
    const covered = new Set<string>();
    for (const chunk of chunks) {
      assert.ok(chunk.countX <= 4, `countX of ${JSON.stringify(chunk)}`);
      assert.ok(chunk.countY <= 4, `countY of ${JSON.stringify(chunk)}`);
      for (let y = 0; y < chunk.countY; y++) {
        for (let x = 0; x < chunk.countX; x++) covered.add(`${chunk.offsetX + x},${chunk.offsetY + y}`);
      }
    }
    assert.equal(covered.size, 9 * 5);
  });

  it('flatGrid over the square of the limit throws', () => {
    assert.deepEqual(limits.flatGrid('packSigns', 16), { countX: 4, countY: 4 });
    assert.throws(() => limits.flatGrid('packSigns', 17), /17 workgroups exceed 4 \* 4/);
  });
});
