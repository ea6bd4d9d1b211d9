// Runs the runtime-agnostic packed WebGPU conformance cases (conformance/packed-cases.ts) under node:test,
// one `it` per case, on the device of acquireTestDevice (SwiftShader when no other Vulkan driver is set).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { WebGpuBackend } from '../../gpu/webgpu-backend.js';
import { packedCases } from './conformance/packed-cases.js';
import { acquireTestDevice } from './webgpu-device.js';

const device = await acquireTestDevice();

if (device.unavailable !== undefined && process.env.CI) {
  it('webgpu adapter is available in CI', () => {
    assert.fail(device.unavailable);
  });
}

describe('webgpu packed kernels conformance', { skip: device.unavailable }, () => {
  const gpu = (): WebGpuBackend => device.kernels!;

  after(() => device.kernels?.destroy());

  for (const testCase of packedCases) {
    it(testCase.name, () => testCase.run(gpu()));
  }
});
