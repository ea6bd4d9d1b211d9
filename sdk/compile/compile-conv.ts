import { getBackend } from '../backends/active-backend.js';
import { QnnError } from '../errors.js';
import type { BatchNorm } from '../layers/batch-norm.js';
import type { MaxPool2D } from '../layers/max-pool2d.js';
import type { QuantConv2D } from '../layers/quant-conv2d.js';
import type { DenseEpilogue, PackedConv2dLayer, PackedMaxPool2dLayer, PoolWindow } from './graph.js';
import { checkBinarizedLayer } from './check-binarized.js';
import { foldThresholds } from './fold-threshold.js';

/** QuantConv2D with the layers the compiler folds into it, in the order they follow it. */
export interface ConvBlock {
  kind: 'conv2d';
  conv: QuantConv2D;
  /** MaxPool2D between the convolution and batch norm: pools the integer accumulators. */
  poolBeforeNorm: MaxPool2D | null;
  batchNorm: BatchNorm | null;
  /** MaxPool2D after batch norm: pools the signs that the next layer takes. */
  poolAfterNorm: MaxPool2D | null;
}

/**
 * Compiles a hidden convolution block into a packed conv2d layer (plus a
 * maxPool2d layer for a pool after batch norm). Returns the packed layers.
 * `first` marks the layer on the uint8 model input, whose real value is uint8 * inputScale.
 */
export function compileConvBlock(block: ConvBlock, first: boolean, inputScale: number): (PackedConv2dLayer | PackedMaxPool2dLayer)[] {
  const { conv, batchNorm } = block;
  checkBinarizedLayer(conv, first);
  const [height, width, channels] = conv.inputShape;
  const padValue = first ? uint8PadValue(conv, inputScale) : conv.padValue;

  const affine = batchNorm?.inferenceAffine() ?? null;
  const epilogue: DenseEpilogue = {
    inputScale: first ? inputScale : 1,
    bias: conv.bias === null ? null : Float32Array.from(conv.bias.data),
    scale: affine?.scale ?? null,
    shift: affine?.shift ?? null,
  };

  // Reachable accumulators: every tap contributes at most 255 (uint8) or 1 (signs) per channel, or |padValue|.
  const reduction = conv.kernelHeight * conv.kernelWidth * channels;
  const bound = (first ? Math.max(255, Math.abs(padValue)) : 1) * reduction;
  const output = { kind: 'signs' as const, ...foldThresholds(epilogue, conv.filters, -bound, bound) };

  const layer: PackedConv2dLayer = {
    kind: 'conv2d',
    input: first ? 'uint8' : 'signs',
    height,
    width,
    channels,
    outChannels: conv.filters,
    kernelHeight: conv.kernelHeight,
    kernelWidth: conv.kernelWidth,
    strideHeight: conv.strideHeight,
    strideWidth: conv.strideWidth,
    padding: conv.padding,
    padValue,
    weights: first ? packKernelIm2col(conv) : packKernelPerTap(conv),
    pool: block.poolBeforeNorm === null ? null : poolWindow(block.poolBeforeNorm),
    output,
  };
  if (block.poolAfterNorm === null) return [layer];

  // A pool after batch norm takes the signs, and max of signs = sign of max because sign is non-decreasing.
  const [pooledHeight, pooledWidth, pooledChannels] = block.poolAfterNorm.inputShape;
  const pool: PackedMaxPool2dLayer = { kind: 'maxPool2d', height: pooledHeight, width: pooledWidth, channels: pooledChannels, ...poolWindow(block.poolAfterNorm) };
  return [layer, pool];
}

/** Returns the window and strides of a MaxPool2D layer. */
export function poolWindow(pool: MaxPool2D): PoolWindow {
  return { poolHeight: pool.poolHeight, poolWidth: pool.poolWidth, strideHeight: pool.strideHeight, strideWidth: pool.strideWidth };
}

/** The padValue of the first layer in uint8 units: the real pad value divided by inputScale, which must be an integer. */
function uint8PadValue(conv: QuantConv2D, inputScale: number): number {
  const units = conv.padValue / inputScale;
  if (!Number.isInteger(units) || Math.abs(units) > 0xffff) {
    throw new QnnError(
      `cannot compile layer '${conv.name}': its pad value ${conv.padValue} is not an integer number of input units ` +
        `at inputScale ${inputScale} (found ${units}); use an inputScale of 1 / 2^k or padValue 0`,
    );
  }
  return units;
}

/** Packs sign(W) of a [KH, KW, C, O] kernel as [O, KH, KW, ceil(C / 32)] words, each tap along channels. */
function packKernelPerTap(conv: QuantConv2D): Uint32Array {
  const { kernelHeight, kernelWidth, filters } = conv;
  const channels = conv.channels;
  const taps = kernelHeight * kernelWidth;
  const transposed = new Float32Array(filters * taps * channels);

  for (let t = 0; t < taps; t++) {
    for (let c = 0; c < channels; c++) {
      for (let o = 0; o < filters; o++) transposed[(o * taps + t) * channels + c] = conv.kernel.data[(t * channels + c) * filters + o];
    }
  }
  return getBackend().packSigns(transposed, filters * taps, channels);
}

/** Packs sign(W) of a [KH, KW, C, O] kernel as [O, ceil(KH * KW * C / 32)] words, each filter in im2col order. */
function packKernelIm2col(conv: QuantConv2D): Uint32Array {
  const filters = conv.filters;
  const reduction = conv.kernelHeight * conv.kernelWidth * conv.channels;
  const transposed = new Float32Array(filters * reduction);

  for (let i = 0; i < reduction; i++) {
    for (let o = 0; o < filters; o++) transposed[o * reduction + i] = conv.kernel.data[i * filters + o];
  }
  return getBackend().packSigns(transposed, filters, reduction);
}
