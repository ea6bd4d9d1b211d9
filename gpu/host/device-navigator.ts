import { WebGpuUnavailableError, adapterLimits, withTimeout } from './with-timeout.js';

/**
 * Acquires a WebGPU device from `navigator.gpu`, the API of browsers and Deno.
 * Throws WebGpuUnavailableError when the runtime has no `navigator.gpu`, no
 * adapter is found or a request takes longer than `timeoutMs`.
 */
export async function acquireNavigatorDevice(timeoutMs = 10_000): Promise<GPUDevice> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (gpu === undefined) {
    throw new WebGpuUnavailableError('this runtime has no navigator.gpu (WebGPU is disabled or unsupported here)');
  }

  const adapter = await withTimeout(gpu.requestAdapter(), timeoutMs, 'navigator.gpu.requestAdapter');
  if (adapter === null) {
    throw new WebGpuUnavailableError('navigator.gpu.requestAdapter() found no adapter (no GPU driver, or WebGPU is blocked for this GPU)');
  }
  return withTimeout(adapter.requestDevice({ requiredLimits: adapterLimits(adapter.limits) }), timeoutMs, 'requestDevice');
}
