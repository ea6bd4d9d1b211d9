import type { MaxPool2dShape } from '../../sdk/backends/backend.js';
import { GpuContext } from '../host/gpu-context.js';
import { UniformWriter } from '../host/uniform-writer.js';
import { BINARY_MAX_POOL2D_WGSL } from '../shaders/binary-max-pool2d-wgsl.js';
import { flatChunks } from './flat-grid.js';

/**
 * Records binary max-pooling over VALID windows of input u32 [batch, height, width, ceil(channels/32)]
 * into out u32 [batch, outHeight, outWidth, ceil(channels/32)]: each word is the AND of its window's words.
 * `height` is the rows held per image; `outHeight` the output rows they give.
 */
export async function encodeBinaryMaxPool2d(
  gpu: GpuContext,
  input: GPUBuffer,
  out: GPUBuffer,
  pool: MaxPool2dShape & { outHeight: number; outWidth: number },
): Promise<void> {
  const channelWords = Math.ceil(pool.channels / 32);
  for (const chunk of flatChunks(gpu.limits, 'binaryMaxPool2d', pool.batch * pool.outHeight * pool.outWidth * channelWords)) {
    const params = new UniformWriter(11)
      .u32(channelWords)
      .u32(pool.height)
      .u32(pool.width)
      .u32(pool.outHeight)
      .u32(pool.outWidth)
      .u32(pool.poolHeight)
      .u32(pool.poolWidth)
      .u32(pool.strideHeight)
      .u32(pool.strideWidth)
      .u32(chunk.firstItem)
      .u32(chunk.endItem);
    await gpu.dispatch({
      kernel: 'binary-max-pool2d',
      wgsl: BINARY_MAX_POOL2D_WGSL,
      bindings: [gpu.uniform(params.bytes()), input, out],
      workgroups: [chunk.countX, chunk.countY],
    });
  }
}
