import type { BinaryConv2dShape } from '../../sdk/backends/backend.js';
import type { Conv2dGeometry } from '../../sdk/backends/reference-conv.js';
import { GpuContext } from '../host/gpu-context.js';
import { BINARY_CONV2D_WGSL } from '../shaders/binary-conv2d-wgsl.js';
import { dispatchGemmTiles } from './gemm-tiles.js';

/**
 * A convolution with its geometry resolved (binaryConv2dGeometry of
 * sdk/backends/reference-conv.ts): `height` is the rows held per image in the
 * input buffer, padTop the padded rows above them, and outHeight the output
 * rows to compute. A band of image rows is thus a convolution of its own.
 */
export interface ResolvedBinaryConv2d extends Omit<BinaryConv2dShape, 'padding'>, Conv2dGeometry {}

/**
 * Records the binary convolution of input u32 [batch, height, width, ceil(channels/32)]
 * with weights u32 [outChannels, kernelHeight, kernelWidth, ceil(channels/32)] into
 * out i32 [batch, outHeight, outWidth, outChannels]. Padded taps take padValue on every channel.
 */
export async function encodeBinaryConv2d(
  gpu: GpuContext,
  input: GPUBuffer,
  weights: GPUBuffer,
  out: GPUBuffer,
  conv: ResolvedBinaryConv2d,
): Promise<void> {
  const channelWords = Math.ceil(conv.channels / 32);
  const taps = conv.kernelHeight * conv.kernelWidth;
  await dispatchGemmTiles(gpu, {
    kernel: 'binary-conv2d',
    wgsl: BINARY_CONV2D_WGSL,
    m: conv.batch * conv.outHeight * conv.outWidth,
    n: conv.outChannels,
    wordsPerRow: taps * channelWords,
    extraParams: 14,
    writeParams: (params) =>
      params
        .u32(taps * conv.channels)
        .u32(conv.channels)
        .u32(channelWords)
        .u32(conv.height)
        .u32(conv.width)
        .u32(conv.outHeight)
        .u32(conv.outWidth)
        .u32(conv.kernelHeight)
        .u32(conv.kernelWidth)
        .u32(conv.strideHeight)
        .u32(conv.strideWidth)
        .u32(conv.padTop)
        .u32(conv.padLeft)
        .i32(conv.padValue),
    bindings: [input, weights, out],
  });
}
