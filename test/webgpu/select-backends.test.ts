// Backend selection: 'auto' takes WebGPU only on a hardware adapter and logs why it falls back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { describeAdapter, isSoftwareAdapter } from '../../gpu/host/software-adapter.js';
import { selectBackends } from '../../sdk/backends/select-backends.js';
import { QnnError } from '../../sdk/errors.js';
import { acquireTestDevice } from './webgpu-device.js';

// Points Dawn at SwiftShader before its instance is created; the device itself is not used here.
const device = await acquireTestDevice();
device.kernels?.destroy();

if (device.unavailable !== undefined && process.env.CI) {
  it('webgpu adapter is available in CI', () => {
    assert.fail(device.unavailable);
  });
}

describe('selectBackends', () => {
  it('rejects an unknown name', async () => {
    await assert.rejects(selectBackends('cuda'), (error: unknown) => {
      assert.ok(error instanceof QnnError);
      assert.match(error.message, /unknown backend 'cuda'; expected one of: auto, webgpu, wasm, wasm-simd, wasm-scalar, reference/);
      return true;
    });
  });

  it('wasm never opens a device', async () => {
    const lines: string[] = [];
    const selection = await selectBackends('wasm', { log: (line) => lines.push(line) });
    assert.equal(selection.webgpu, null);
    assert.equal(selection.adapter, null);
    assert.match(selection.name, /^wasm-(simd|scalar)$/);
    assert.deepEqual(lines, []);
  });

  describe('with the software adapter', { skip: device.unavailable }, () => {
    it('auto passes a software adapter by, in one line', async () => {
      const lines: string[] = [];
      const selection = await selectBackends('auto', { log: (line) => lines.push(line) });
      assert.equal(selection.webgpu, null);
      assert.equal(selection.name, selection.cpu.name);
      assert.equal(lines.length, 1);
      assert.match(lines[0], /^backend auto: the only WebGPU adapter is .+ \(software\), slower than the CPU kernels; using wasm-/);
    });

    it('auto takes it when allowed', async () => {
      const lines: string[] = [];
      const selection = await selectBackends('auto', { log: (line) => lines.push(line), allowSoftwareAdapter: true });
      assert.equal(selection.name, 'webgpu');
      assert.ok(selection.webgpu !== null);
      assert.match(selection.adapter ?? '', /\(software\)$/);
      assert.deepEqual(lines, []);
      selection.webgpu.destroy();
    });

    it('webgpu takes any adapter', async () => {
      const selection = await selectBackends('webgpu');
      assert.equal(selection.name, 'webgpu');
      assert.ok(selection.webgpu !== null);
      // The CPU backend still serves the training graph's own ops.
      assert.match(selection.cpu.name, /^wasm-/);
      selection.webgpu.destroy();
    });
  });
});

describe('software adapter detection', () => {
  const info = (fields: Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean }): GPUAdapterInfo =>
    ({ vendor: '', architecture: '', device: '', description: '', ...fields }) as GPUAdapterInfo;

  it('flags SwiftShader, llvmpipe and fallback adapters', () => {
    assert.equal(isSoftwareAdapter(info({ vendor: 'google', architecture: 'swiftshader' })), true);
    assert.equal(isSoftwareAdapter(info({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)' })), true);
    assert.equal(isSoftwareAdapter(info({ description: 'some GPU', isFallbackAdapter: true })), true);
  });

  it('keeps hardware adapters', () => {
    assert.equal(isSoftwareAdapter(info({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' })), false);
    assert.equal(isSoftwareAdapter(undefined), false);
    assert.equal(describeAdapter(info({ description: 'NVIDIA H200' })), 'NVIDIA H200');
    assert.equal(describeAdapter(info({ vendor: 'google', architecture: 'swiftshader' })), 'google swiftshader (software)');
  });
});
