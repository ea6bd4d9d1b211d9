// Acquires a WebGPU device for tests, on SwiftShader when no other Vulkan driver is configured.
import { existsSync } from 'node:fs';

import { acquireNodeDevice } from '../../gpu/host/device-node.js';
import { WebGpuUnavailableError } from '../../gpu/host/with-timeout.js';
import { WebGpuBackend } from '../../gpu/webgpu-backend.js';

/** The SwiftShader Vulkan driver that Debian's `chromium` package installs. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export type TestDevice = { kernels: WebGpuBackend; unavailable?: undefined } | { kernels?: undefined; unavailable: string };

/**
 * Acquires a device, pointing VK_ICD_FILENAMES at SwiftShader first when the variable is unset and the file
 * exists. Returns the reason instead of throwing when no adapter is found, so callers decide to skip or fail.
 */
export async function acquireTestDevice(): Promise<TestDevice> {
  if (process.env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  const icd = process.env.VK_ICD_FILENAMES;
  const tried = icd === undefined
    ? `VK_ICD_FILENAMES is unset and ${SWIFTSHADER_ICD} does not exist (install Debian's chromium package)`
    : `tried VK_ICD_FILENAMES=${icd}${existsSync(icd) ? '' : ', a file that does not exist'}`;

  try {
    return { kernels: new WebGpuBackend(await acquireNodeDevice()) };
  } catch (error) {
    if (!(error instanceof WebGpuUnavailableError)) throw error;
    return { unavailable: `no WebGPU device: ${error.message}; ${tried}` };
  }
}
