import { acquireNavigatorDevice } from './device-navigator.js';

export interface AcquireDeviceOptions {
  /** Milliseconds to wait for the adapter and the device before giving up. Default 10000. */
  timeoutMs?: number;
}

/**
 * Acquires a WebGPU device in whichever runtime this is: `navigator.gpu` in
 * browsers and Deno, the `webgpu` package (Dawn) in Node. Throws
 * WebGpuUnavailableError with the reason when none can be had.
 */
export async function acquireDevice(options: AcquireDeviceOptions = {}): Promise<GPUDevice> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const hasNavigatorGpu = (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu !== undefined;
  if (hasNavigatorGpu) return acquireNavigatorDevice(timeoutMs);

  // A page without navigator.gpu (an insecure context, or WebGPU switched off) gets no advice to install a Node package.
  const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;
  if (!isNode) return acquireNavigatorDevice(timeoutMs);

  // Loaded on demand so that browser bundles never pull in the Node-only path.
  const { acquireNodeDevice } = await import('./device-node.js');
  return acquireNodeDevice({ timeoutMs });
}
