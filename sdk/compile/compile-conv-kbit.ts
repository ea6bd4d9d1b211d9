import { QnnError } from '../errors.js';
import type { MaxPool2D } from '../layers/max-pool2d.js';
import type { QuantConv2D } from '../layers/quant-conv2d.js';
import { type ConvBlock, poolWindow } from './compile-conv.js';
import { foldLevelThresholds } from './fold-levels.js';
import { foldThresholds } from './fold-threshold.js';
import type { CodeOutput, DenseEpilogue, FloatOutput, PackedConv2dKbitLayer, PoolWindow, SignOutput } from './graph.js';
import { type InputCodeMap, layerInputCoding } from './input-codes.js';
import type { InputCoding, KernelCoding } from './kbit-operands.js';
import { codeKernel } from './kernel-codes.js';
import { MAX_EXACT_ACCUMULATOR, accumulatorBound, integerOperands } from './compile-kbit.js';

/** Output that the next layer takes from a k-bit convolution block: signs, k-bit codes, or the float values (for GlobalAveragePooling2D). */
export type ConvBlockTarget = { kind: 'signs' } | { kind: 'codes'; codes: InputCodeMap } | { kind: 'floats' };

/**
 * Compiles a QuantConv2D [-> MaxPool2D] [-> BatchNorm] [-> MaxPool2D] block
 * into one 'conv2d-kbit' layer: any mix of binarized or k-bit kernel (linear,
 * ternary, log, DoReFa) and sign, k-bit or uint8 input, with the output the
 * next layer needs. The kernel and input codings are the dense layers' (kernel-codes.ts, input-codes.ts).
 *
 * The integer algebra is compile-kbit.ts's, with the input x = m u + q and the
 * weight w = w' + t in integer units. im2col writes u = 0 (x = q) for a padded
 * tap, while the training graph pads the quantized input with the real
 * padValue, P = padValue / input scale units. So each padded tap adds
 * (P - q) * sum_c (w' + t) on top, per filter and tap: padTapSums. P need not be
 * a code (1.0 at a 2-bit step of 0.5 is 2, one past the largest code), so this
 * stays exact for every pad value.
 */
export function compileConvKbitBlock(block: ConvBlock, first: boolean, inputScale: number, target: ConvBlockTarget): PackedConv2dKbitLayer {
  const { conv, batchNorm } = block;
  const input = layerInputCoding(conv, first, inputScale);
  const { coding: kernel, oddWeights } = codeKernel(conv);
  const [height, width, channels] = conv.inputShape;
  const taps = conv.kernelHeight * conv.kernelWidth;
  const reduction = taps * channels;
  const padUnits = padValueUnits(conv, input);

  const bound = accumulatorBound(reduction, input, kernel, conv.padding === 'same' ? padUnits : 0);
  if (bound > MAX_EXACT_ACCUMULATOR) {
    throw new QnnError(
      `cannot compile layer '${conv.name}': its accumulator reaches ${bound}, beyond 2^24, where float32 sums in training are no longer exact; ` +
        'use fewer weight or activation bits, channels or taps',
    );
  }

  const { weights, correction, epilogue } = integerOperands(oddWeights, reduction, conv.filters, input, kernel, conv.bias, batchNorm);

  return {
    kind: 'conv2d-kbit',
    input: input.kind,
    height,
    width,
    channels,
    outChannels: conv.filters,
    kernelHeight: conv.kernelHeight,
    kernelWidth: conv.kernelWidth,
    strideHeight: conv.strideHeight,
    strideWidth: conv.strideWidth,
    padding: conv.padding,
    activationBits: input.bits,
    weightBits: kernel.bits,
    weights,
    gemmScale: input.multiplier,
    rowSumScale: input.multiplier * kernel.offset,
    correction,
    padTapSums: padTapSums(conv, oddWeights, kernel, padUnits - input.offset),
    pool: optionalPoolWindow(block.poolBeforeNorm),
    outputPool: optionalPoolWindow(block.poolAfterNorm),
    output: compileOutput(epilogue, conv.filters, bound, target),
  };
}

function compileOutput(epilogue: DenseEpilogue, channels: number, bound: number, target: ConvBlockTarget): SignOutput | CodeOutput | FloatOutput {
  if (target.kind === 'floats') return { kind: 'floats', epilogue };
  if (target.kind === 'signs') return { kind: 'signs', ...foldThresholds(epilogue, channels, -bound, bound) };
  return { kind: 'codes', bits: target.codes.bits, ...foldLevelThresholds(epilogue, channels, -bound, bound, target.codes) };
}

/** Returns the training graph's pad value in integer units of the layer input, and throws when it is not an integer there. */
function padValueUnits(conv: QuantConv2D, input: InputCoding): number {
  const units = conv.padValue / input.scale;
  if (!Number.isInteger(units) || Math.abs(units) > 0xffff) {
    throw new QnnError(
      `cannot compile layer '${conv.name}': its pad value ${conv.padValue} is not an integer number of input units of ${input.scale} ` +
        `(found ${units}); use an input scale or step of 1 / 2^k, or padValue 0`,
    );
  }
  return units;
}

/** [filters, taps]: excess * sum over the tap's channels of (w' + t), the accumulator a padded tap adds beyond code 0. */
function padTapSums(conv: QuantConv2D, oddWeights: Int32Array, kernel: KernelCoding, excess: number): Int32Array {
  const { filters } = conv;
  const taps = conv.kernelHeight * conv.kernelWidth;
  const channels = conv.channels;
  const sums = new Int32Array(filters * taps);
  if (excess === 0 || conv.padding === 'valid') return sums;

  for (let tap = 0; tap < taps; tap++) {
    for (let c = 0; c < channels; c++) {
      for (let o = 0; o < filters; o++) {
        const weight = oddWeights[(tap * channels + c) * filters + o] + kernel.offset;
        sums[o * taps + tap] += excess * weight;
      }
    }
  }
  return sums;
}

function optionalPoolWindow(pool: MaxPool2D | null): PoolWindow | null {
  return pool === null ? null : poolWindow(pool);
}
