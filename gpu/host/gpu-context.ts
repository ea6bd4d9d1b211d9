import { QnnError } from '../../sdk/errors.js';
import { BufferPool } from './buffer-pool.js';
import { DeviceLimits } from './device-limits.js';
import { PipelineCache } from './pipeline-cache.js';

// Flag values fixed by the WebGPU specification. Spelled out here because Node
// has no GPUBufferUsage or GPUMapMode globals unless a package installs them.
export const BUFFER_MAP_READ = 0x0001;
export const BUFFER_COPY_SRC = 0x0004;
export const BUFFER_COPY_DST = 0x0008;
export const BUFFER_UNIFORM = 0x0040;
export const BUFFER_STORAGE = 0x0080;
const MAP_MODE_READ = 0x0001;

/** Usage of every storage buffer the kernels allocate: bindable, writable from the host, readable back. */
export const STORAGE_USAGE = BUFFER_STORAGE | BUFFER_COPY_DST | BUFFER_COPY_SRC;

/** The WebGPU device was lost or destroyed; the message carries the reason the driver gave. */
export class WebGpuDeviceLostError extends QnnError {}

export interface GpuContextOptions {
  /** Lowers the device's maxComputeWorkgroupsPerDimension (never raises it), so tests can force split dispatches. */
  maxComputeWorkgroupsPerDimension?: number;
  /** Lowers the device's maxStorageBufferBindingSize, so tests can force operands to be tiled. */
  maxStorageBufferBindingSize?: number;
}

/** One compute dispatch: a pipeline, its bindings in binding order, and the workgroup counts. */
export interface Dispatch {
  /** Pipeline cache key; kernels with the same key must have the same WGSL. */
  kernel: string;
  wgsl: string;
  /** Buffers bound at @group(0) @binding(0..n-1), in that order. */
  bindings: GPUBuffer[];
  workgroups: [number, number?, number?];
}

/**
 * The host side of every WebGPU kernel: the device, its limits, compiled
 * pipelines, a buffer pool, and one command encoder that collects dispatches
 * until `flush()` or a read submits them. Kernels therefore chain on the GPU,
 * and only `read()` waits for the device.
 *
 * A lost device rejects every pending and later call with
 * WebGpuDeviceLostError, so no caller waits forever.
 */
export class GpuContext {
  readonly limits: DeviceLimits;
  readonly pipelines: PipelineCache;
  readonly pool: BufferPool;
  private encoder: GPUCommandEncoder | null = null;
  private pendingDispatches = 0;
  private lostReason: string | undefined;
  private readonly lost: Promise<never>;

  constructor(
    readonly device: GPUDevice,
    options: GpuContextOptions = {},
  ) {
    this.limits = new DeviceLimits({
      maxStorageBufferBindingSize: Math.min(device.limits.maxStorageBufferBindingSize, options.maxStorageBufferBindingSize ?? Infinity),
      maxBufferSize: device.limits.maxBufferSize,
      maxComputeWorkgroupsPerDimension: Math.min(
        device.limits.maxComputeWorkgroupsPerDimension,
        options.maxComputeWorkgroupsPerDimension ?? Infinity,
      ),
    });
    this.pipelines = new PipelineCache(device);
    this.pool = new BufferPool(device);
    this.lost = device.lost.then((info) => {
      this.lostReason = `WebGPU device lost (${info.reason}): ${info.message || 'no message from the driver'}`;
      throw new WebGpuDeviceLostError(this.lostReason);
    });
    // Keeps the rejection handled when no call is waiting on it.
    this.lost.catch(() => undefined);
  }

  /** Returns a pooled storage buffer with `data` written into it. Release it with `release()` when done. */
  upload(data: ArrayBufferView, label?: string): GPUBuffer {
    this.throwIfLost();
    const buffer = this.pool.acquire(data.byteLength, STORAGE_USAGE, label);
    this.writeUnused(buffer, data);
    return buffer;
  }

  /** Writes `data` at the start of `buffer`, ordered after every dispatch recorded so far. */
  writeBuffer(buffer: GPUBuffer, data: ArrayBufferView): void {
    // Queue writes run before the commands of the next submit, so recorded work goes first.
    this.flush();
    this.writeUnused(buffer, data);
  }

  /**
   * Writes into a buffer that no recorded, unsubmitted command uses (a fresh or recycled pool
   * buffer), which needs no flush: submitted commands are ordered before the write.
   */
  private writeUnused(buffer: GPUBuffer, data: ArrayBufferView): void {
    this.throwIfLost();
    // writeBuffer sizes must be multiples of 4, so a byte operand is padded to whole words.
    const padded = data.byteLength % 4 === 0 ? data : padToWords(data);
    // An empty write does nothing, and Deno 2.9.6 panics on one instead of returning.
    if (padded.byteLength > 0) this.device.queue.writeBuffer(buffer, 0, padded.buffer, padded.byteOffset, padded.byteLength);
  }

  /** Returns a pooled storage buffer of at least `bytes` bytes with undefined contents. */
  storage(bytes: number, label?: string): GPUBuffer {
    this.throwIfLost();
    return this.pool.acquire(bytes, STORAGE_USAGE, label);
  }

  /** Returns a pooled storage buffer of at least `bytes` bytes, zero-filled on the GPU before the next dispatch. */
  zeros(bytes: number, label?: string): GPUBuffer {
    const buffer = this.storage(bytes, label);
    this.commandEncoder().clearBuffer(buffer);
    return buffer;
  }

  /** Returns a uniform buffer holding `bytes`, which goes back to the pool after the next submit. */
  uniform(bytes: Uint8Array): GPUBuffer {
    this.throwIfLost();
    const buffer = this.pool.acquire(bytes.byteLength, BUFFER_UNIFORM | BUFFER_COPY_DST);
    this.writeUnused(buffer, bytes);
    this.pool.release(buffer);
    return buffer;
  }

  /** Hands pooled buffers back. They are reused only after the commands recorded so far are submitted. */
  release(...buffers: GPUBuffer[]): void {
    for (const buffer of buffers) this.pool.release(buffer);
  }

  /** Records one dispatch. Each dispatch gets its own compute pass, so it reads the writes of the one before. */
  async dispatch(dispatch: Dispatch): Promise<void> {
    const pipeline = await this.pipelines.get(dispatch.kernel, dispatch.wgsl);
    this.throwIfLost();
    const bindGroup = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: dispatch.bindings.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });

    const pass = this.commandEncoder().beginComputePass({ label: dispatch.kernel });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = dispatch.workgroups;
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    this.pendingDispatches++;
  }

  /** Records a copy of `bytes` bytes between two buffers. */
  copy(source: GPUBuffer, sourceOffset: number, target: GPUBuffer, targetOffset: number, bytes: number): void {
    this.commandEncoder().copyBufferToBuffer(source, sourceOffset, target, targetOffset, bytes);
  }

  /** Submits the recorded commands and makes the buffers released before them reusable. */
  flush(): void {
    if (this.encoder === null) return;
    const commands = this.encoder.finish();
    this.encoder = null;
    this.pendingDispatches = 0;
    this.device.queue.submit([commands]);
    this.pool.recycle();
  }

  /**
   * Submits the recorded commands and returns a copy of the first `bytes` bytes
   * of `buffer`. Validation and out-of-memory errors and a lost device reject
   * instead of hanging.
   */
  async read(buffer: GPUBuffer, bytes: number, label = 'read'): Promise<ArrayBuffer> {
    this.throwIfLost();
    if (bytes === 0) return new ArrayBuffer(0);
    const readback = this.device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: BUFFER_MAP_READ | BUFFER_COPY_DST });
    this.copy(buffer, 0, readback, 0, Math.ceil(bytes / 4) * 4);

    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.flush();
    const validationError = this.device.popErrorScope();
    const memoryError = this.device.popErrorScope();

    try {
      const [validation, memory] = await Promise.race([Promise.all([validationError, memoryError]), this.lost]);
      const error = validation ?? memory;
      if (error !== null) throw new QnnError(`${label}: the device rejected the commands: ${error.message}`);

      await Promise.race([readback.mapAsync(MAP_MODE_READ), this.lost]);
      return readback.getMappedRange(0, Math.ceil(bytes / 4) * 4).slice(0, bytes);
    } finally {
      if (readback.mapState === 'mapped') readback.unmap();
      readback.destroy();
    }
  }

  /** Waits until the device has finished the submitted work, or rejects when it is lost. */
  async finish(): Promise<void> {
    this.flush();
    await Promise.race([this.device.queue.onSubmittedWorkDone(), this.lost]);
  }

  /** Destroys the device. Later calls throw WebGpuDeviceLostError. */
  destroy(): void {
    this.device.destroy();
  }

  /** Counts the dispatches recorded since the last submit, so tests can see that kernels chain without reads. */
  get pending(): number {
    return this.pendingDispatches;
  }

  throwIfLost(): void {
    if (this.lostReason !== undefined) throw new WebGpuDeviceLostError(this.lostReason);
  }

  private commandEncoder(): GPUCommandEncoder {
    this.throwIfLost();
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }
}

function padToWords(data: ArrayBufferView): Uint8Array {
  const padded = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
  padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return padded;
}
