import { QnnError } from '../../sdk/errors.js';

/** A request exceeds a WebGPU device limit. The message names the limit, its value and the requested size. */
export class DeviceLimitError extends QnnError {}

/** One dispatch of a split grid: the workgroup counts and the offset of its first workgroup, per dimension. */
export interface DispatchChunk {
  countX: number;
  countY: number;
  offsetX: number;
  offsetY: number;
}

/**
 * Checks the device limits that the kernels depend on, in one place.
 * Buffers over maxStorageBufferBindingSize are rejected, and 2-D grids over
 * maxComputeWorkgroupsPerDimension are split into several dispatches.
 */
export class DeviceLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupsPerDimension: number;

  constructor(limits: Pick<GPUSupportedLimits, 'maxStorageBufferBindingSize' | 'maxBufferSize' | 'maxComputeWorkgroupsPerDimension'>) {
    this.maxStorageBufferBindingSize = limits.maxStorageBufferBindingSize;
    this.maxBufferSize = limits.maxBufferSize;
    this.maxComputeWorkgroupsPerDimension = limits.maxComputeWorkgroupsPerDimension;
  }

  /** Throws DeviceLimitError when a storage binding of `bytes` bytes for `operand` exceeds the device limits. */
  checkStorageBinding(operation: string, operand: string, bytes: number): void {
    // Limitation: an operand over the limit is rejected, not split into several bindings.
    const limit = Math.min(this.maxStorageBufferBindingSize, this.maxBufferSize);
    if (bytes > limit) {
      const name = limit === this.maxStorageBufferBindingSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
      throw new DeviceLimitError(
        `${operation}: ${operand} needs ${bytes} bytes, over the device's ${name} of ${limit} bytes; split the input into smaller batches`,
      );
    }
  }

  /** Splits a grid of countX by countY workgroups into chunks of at most maxComputeWorkgroupsPerDimension per dimension. */
  splitGrid(countX: number, countY: number): DispatchChunk[] {
    const max = this.maxComputeWorkgroupsPerDimension;
    const chunks: DispatchChunk[] = [];
    for (let offsetY = 0; offsetY < countY; offsetY += max) {
      for (let offsetX = 0; offsetX < countX; offsetX += max) {
        chunks.push({
          countX: Math.min(max, countX - offsetX),
          countY: Math.min(max, countY - offsetY),
          offsetX,
          offsetY,
        });
      }
    }
    return chunks;
  }

  /**
   * Lays `workgroups` out as an x by y grid with x at most maxComputeWorkgroupsPerDimension,
   * for kernels that rebuild a flat index as y * x_count + x and skip the surplus.
   */
  flatGrid(operation: string, workgroups: number): { countX: number; countY: number } {
    const max = this.maxComputeWorkgroupsPerDimension;
    const countX = Math.min(workgroups, max);
    const countY = Math.ceil(workgroups / countX);
    if (countY > max) {
      throw new DeviceLimitError(
        `${operation}: ${workgroups} workgroups exceed ${max} * ${max}, the square of the device's maxComputeWorkgroupsPerDimension`,
      );
    }
    return { countX, countY };
  }
}
