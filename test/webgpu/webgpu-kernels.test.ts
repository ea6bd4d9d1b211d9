// Node-only WebGPU checks: the device-limit arithmetic and a lost device. The kernel checks that every
// runtime shares live in conformance/packed-cases.ts and run in packed-conformance.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { acquireNodeDevice } from '../../gpu/host/device-node.js';
import { DeviceLimitError, DeviceLimits } from '../../gpu/host/device-limits.js';
import { WebGpuDeviceLostError } from '../../gpu/host/gpu-context.js';
import { WebGpuBackend } from '../../gpu/webgpu-backend.js';
import { acquireTestDevice } from './webgpu-device.js';

const device = await acquireTestDevice();
// Only the lost-device test opens its own device; this one just tells whether an adapter exists.
device.kernels?.destroy();

if (device.unavailable !== undefined && process.env.CI) {
  it('webgpu adapter is available in CI', () => {
    assert.fail(device.unavailable);
  });
}

describe('webgpu device', { skip: device.unavailable }, () => {
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
