import { WebGpuUnavailableError, adapterLimits, withTimeout } from './with-timeout.js';

export interface NodeDeviceOptions {
  /** Milliseconds to wait for requestAdapter and requestDevice before giving up. Default 10000. */
  timeoutMs?: number;
}

/**
 * Acquires a WebGPU device in Node through the `webgpu` package (Dawn).
 *
 * The Vulkan loader reads VK_ICD_FILENAMES when Dawn creates its instance, so
 * a caller that wants a software driver such as SwiftShader must set that
 * variable before the first call. Throws WebGpuUnavailableError when the
 * package cannot be loaded, no adapter exists or a request times out.
 */
export async function acquireNodeDevice(options: NodeDeviceOptions = {}): Promise<GPUDevice> {
  const timeoutMs = options.timeoutMs ?? 10_000;

  let gpu: GPU;
  try {
    gpu = await dawnInstance();
  } catch (error) {
    throw new WebGpuUnavailableError(
      `failed to load the 'webgpu' package (Dawn for Node): ${(error as Error).message}; install it with 'npm install webgpu'`,
    );
  }

  const adapter = await withTimeout(gpu.requestAdapter(), timeoutMs, 'requestAdapter');
  if (adapter === null) {
    throw new WebGpuUnavailableError(
      `no WebGPU adapter found (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? '<unset>'}); ` +
        'install a GPU driver or a software Vulkan driver such as SwiftShader and point VK_ICD_FILENAMES at its ICD file',
    );
  }

  return withTimeout(adapter.requestDevice({ requiredLimits: adapterLimits(adapter.limits) }), timeoutMs, 'requestDevice');
}

// One Dawn instance per process, held here for the process lifetime. In webgpu
// 0.3.10 and 0.6.2, garbage-collecting the GPU object returned by create() while
// its devices are in use crashes the process (abort or segfault at the next GC).
let dawnGpu: Promise<GPU> | undefined;

/**
 * Returns the process-wide Dawn `GPU` object. A peer such as TensorFlow.js's WebGPU backend
 * gets the same object as `navigator.gpu` in Node, so both share one instance.
 */
export function dawnInstance(): Promise<GPU> {
  dawnGpu ??= import('webgpu').then((dawn) => dawn.create([]));
  // A failed import is not cached, so a later call can retry after installing the package.
  dawnGpu.catch(() => (dawnGpu = undefined));
  return dawnGpu;
}
