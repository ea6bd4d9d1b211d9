import { acquireDevice } from '../../gpu/host/acquire-device.js';
import { describeAdapter, isSoftwareAdapter } from '../../gpu/host/software-adapter.js';
import { WebGpuUnavailableError } from '../../gpu/host/with-timeout.js';
import { WebGpuBackend } from '../../gpu/webgpu-backend.js';
import { QnnError } from '../errors.js';
import type { Backend } from './backend.js';
import { selectBackend } from './select-backend.js';

export const BACKEND_CHOICES = ['auto', 'webgpu', 'wasm', 'wasm-simd', 'wasm-scalar', 'reference'] as const;

/** The backends of a job: WebGPU when chosen, and always a synchronous CPU backend for the training graph's own ops. */
export interface BackendSelection {
  /** 'webgpu' or the CPU backend's name; what summaries report. */
  name: string;
  /** The CPU backend: WASM, or the reference when asked for. */
  cpu: Backend;
  /** The WebGPU backend, or null when the job runs on the CPU. */
  webgpu: WebGpuBackend | null;
  /** The adapter in use, e.g. "NVIDIA GeForce RTX 4090" or "SwiftShader driver 5.0.0 (software)"; null on the CPU. */
  adapter: string | null;
}

export interface SelectBackendsOptions {
  /** Worker threads of the WASM backend, a count or 'auto'. */
  threads?: number | 'auto';
  /** Log function for the one line that 'auto' writes when it falls back to WASM. Default: console.warn. */
  log?: (line: string) => void;
  /** Lets 'auto' take a software adapter (SwiftShader, llvmpipe), which it passes by otherwise. */
  allowSoftwareAdapter?: boolean;
}

/**
 * Picks the backends for a job. 'webgpu' requires a WebGPU device and throws
 * when none can be had. 'auto' takes a hardware WebGPU adapter when one exists,
 * else falls back to WASM with one log line saying why. The CPU names
 * ('wasm', 'wasm-simd', 'wasm-scalar', 'reference') never touch WebGPU.
 */
export async function selectBackends(name: string, options: SelectBackendsOptions = {}): Promise<BackendSelection> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(name)) {
    throw new QnnError(`unknown backend '${name}'; expected one of: ${BACKEND_CHOICES.join(', ')}`);
  }
  const cpu = await selectBackend(name === 'webgpu' || name === 'auto' ? 'wasm' : name, { threads: options.threads ?? 1 });
  if (name !== 'webgpu' && name !== 'auto') return { name: cpu.name, cpu, webgpu: null, adapter: null };

  let device: GPUDevice;
  try {
    device = await acquireDevice();
  } catch (error) {
    if (name === 'webgpu' || !(error instanceof WebGpuUnavailableError)) throw error;
    (options.log ?? console.warn)(`backend auto: using ${cpu.name}, because no WebGPU device could be had: ${error.message}`);
    return { name: cpu.name, cpu, webgpu: null, adapter: null };
  }

  const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  const adapter = describeAdapter(info);
  if (name === 'auto' && isSoftwareAdapter(info) && options.allowSoftwareAdapter !== true) {
    device.destroy();
    (options.log ?? console.warn)(`backend auto: the only WebGPU adapter is ${adapter}, slower than the CPU kernels; using ${cpu.name}`);
    return { name: cpu.name, cpu, webgpu: null, adapter: null };
  }
  return { name: 'webgpu', cpu, webgpu: new WebGpuBackend(device), adapter };
}
