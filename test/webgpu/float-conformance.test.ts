// The float32 WebGPU training kernels against the reference backend and the CPU layers, in Node on the test device.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { floatCases } from './conformance/float-cases.js';
import { acquireTestDevice } from './webgpu-device.js';

const device = await acquireTestDevice();

if (device.unavailable !== undefined && process.env.CI) {
  it('webgpu adapter is available in CI', () => {
    assert.fail(device.unavailable);
  });
}

describe('webgpu float kernels', { skip: device.unavailable }, () => {
  after(() => device.kernels?.destroy());

  for (const conformanceCase of floatCases) {
    it(conformanceCase.name, () => conformanceCase.run(device.kernels!));
  }
});
