// Runs the packed k-bit network WebGPU conformance cases (conformance/kbit-network-cases.ts) under node:test on the
// device of acquireTestDevice.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { WebGpuBackend } from '../../gpu/webgpu-backend.js';
import { kbitNetworkCases } from './conformance/kbit-network-cases.js';
import { acquireTestDevice } from './webgpu-device.js';

const device = await acquireTestDevice();

if (device.unavailable !== undefined && process.env.CI) {
  it('webgpu adapter is available in CI', () => {
    assert.fail(device.unavailable);
  });
}

describe('webgpu packed k-bit network conformance', { skip: device.unavailable }, () => {
  const gpu = (): WebGpuBackend => device.kernels!;

  after(() => device.kernels?.destroy());

  for (const testCase of kbitNetworkCases) {
    it(testCase.name, () => testCase.run(gpu()));
  }
});
