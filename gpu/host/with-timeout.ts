import { QnnError } from '../../sdk/errors.js';

/** No WebGPU adapter or device could be acquired: the package is missing, no driver was found, or the request timed out. */
export class WebGpuUnavailableError extends QnnError {}

/** Resolves like `promise`, or rejects with WebGpuUnavailableError after `timeoutMs`, so a silent driver cannot hang the caller. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, operation: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new WebGpuUnavailableError(`${operation} timed out after ${timeoutMs} ms; the WebGPU driver did not respond`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Returns the limits the kernels depend on, raised to what the adapter supports, because
 * WebGPU's defaults (128 MiB maxStorageBufferBindingSize) can be lower than the hardware's.
 */
export function adapterLimits(limits: GPUSupportedLimits): Record<string, number> {
  return {
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    maxBufferSize: limits.maxBufferSize,
    maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
    maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
  };
}
