import { GpuContext } from '../host/gpu-context.js';
import { UniformWriter } from '../host/uniform-writer.js';
import { THRESHOLD_PACK_WGSL } from '../shaders/threshold-pack-wgsl.js';
import { flatChunks } from './flat-grid.js';

/**
 * Records threshold-and-pack of acc i32 [rows, cols] into words u32 [rows, ceil(cols/32)].
 * thresholds and directions are i32 buffers of cols elements (directions widened from
 * Int8Array). Column c is +1 (bit 0) when acc >= thresholds[c] for directions[c] >= 0 and
 * when acc <= thresholds[c] for directions[c] < 0. Pad bits are 0.
 */
export async function encodeThresholdPack(
  gpu: GpuContext,
  acc: GPUBuffer,
  thresholds: GPUBuffer,
  directions: GPUBuffer,
  words: GPUBuffer,
  rows: number,
  cols: number,
): Promise<void> {
  const wordsPerRow = Math.ceil(cols / 32);
  for (const chunk of flatChunks(gpu.limits, 'thresholdPack', rows * wordsPerRow)) {
    const params = gpu.uniform(new UniformWriter(5).u32(rows).u32(cols).u32(wordsPerRow).u32(chunk.firstItem).u32(chunk.endItem).bytes());
    await gpu.dispatch({
      kernel: 'threshold-pack',
      wgsl: THRESHOLD_PACK_WGSL,
      bindings: [params, acc, thresholds, directions, words],
      workgroups: [chunk.countX, chunk.countY],
    });
  }
}
