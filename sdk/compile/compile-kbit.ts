import { QnnError } from '../errors.js';
import type { BatchNorm } from '../layers/batch-norm.js';
import type { Dense } from '../layers/dense.js';
import type { Quantizer } from '../quantizers/quantizer-spec.js';
import type { Tensor } from '../tensor/tensor.js';
import { foldLevelThresholds } from './fold-levels.js';
import { foldThresholds } from './fold-threshold.js';
import type { CodeOutput, DenseEpilogue, PackedDenseKbitLayer, ScoreOutput, SignOutput } from './graph.js';
import { layerInputCoding, nextLayerCodeMap } from './input-codes.js';
import type { InputCoding, KernelCoding } from './kbit-operands.js';
import { codeKernel } from './kernel-codes.js';
import { packOddWeightPlanes } from './pack-odd-weights.js';

/** Largest accumulator magnitude for which the training graph's float32 sums are exact integers times the unit. */
export const MAX_EXACT_ACCUMULATOR = 2 ** 24;

/** Position of a dense block in the network and its neighbors' quantizers. */
export interface KbitBlockContext {
  first: boolean;
  last: boolean;
  /** Real value of one unit of the uint8 model input. */
  inputScale: number;
  /** True when the packed layer before this one emits k-bit codes (a k-bit dense or conv layer, or a global pool). */
  previousEmitsCodes: boolean;
  /** Input quantizer of the next dense layer, or undefined when the next block is not dense or this is the last. */
  nextInputQuantizer: Quantizer | undefined;
}

/**
 * True when a dense block needs the k-bit path: a k-bit spec (linear, ternary,
 * log or DoReFa) as its kernel quantizer, its input quantizer or the next
 * layer's input quantizer. Binarized blocks keep the 'dense' layer.
 */
export function needsKbitPath(dense: Dense, nextInputQuantizer: Quantizer | undefined): boolean {
  return isKbitSpec(dense.kernelQuantizer) || isKbitSpec(dense.inputQuantizer) || isKbitSpec(nextInputQuantizer ?? null);
}

/** True for a k-bit spec (linear, ternary, log or DoReFa), false for a binarizer or float. */
export function isKbitSpec(quantizer: Quantizer): boolean {
  return quantizer !== null && typeof quantizer === 'object';
}

/**
 * Compiles a Dense [-> BatchNorm] block with k-bit weights or activations.
 *
 * With the input x = p u + q (InputCoding) and the weight w = w' + t (KernelCoding,
 * in units of its scale), the integer sum over the inputs is
 *   sum x w = p sum u w' + p t sum u + q (sum w' + t K),
 * so acc = gemmScale * bitplaneGemmBits + rowSumScale * rowSum(u) + correction[unit]
 * with gemmScale = p, rowSumScale = p t and correction = q (W_unit + t K), W_unit the
 * unit's sum of w'. Its real value is acc * inputScale * weightScale, which the epilogue applies.
 */
export function compileKbitDenseBlock(dense: Dense, batchNorm: BatchNorm | null, context: KbitBlockContext): PackedDenseKbitLayer {
  const input = layerInputCoding(dense, context.first, context.inputScale);
  if (input.kind === 'codes' && !context.previousEmitsCodes) {
    const kind = (dense.inputQuantizer as { kind: string }).kind;
    throw new QnnError(`cannot compile layer '${dense.name}': a ${kind} inputQuantizer needs a layer before it that emits k-bit codes, and the layer before it does not`);
  }
  const { coding: kernel, oddWeights } = codeKernel(dense);
  const inputs = dense.inputs;
  const units = dense.units;

  const bound = accumulatorBound(inputs, input, kernel);
  if (bound > MAX_EXACT_ACCUMULATOR) {
    throw new QnnError(
      `cannot compile layer '${dense.name}': its accumulator reaches ${bound}, beyond 2^24, where float32 sums in training are no longer exact; ` +
        'use fewer weight or activation bits or fewer inputs',
    );
  }

  // NOTE: a DoReFa scale 1/(2^bits - 1) (bits >= 2) is not a power of two, so the training graph rounds each
  // quantized weight and activation to float32 and its scores can differ from the exact integer sum here in the
  // last bits, and a code or sign at a threshold can flip. A DoReFa 1-bit kernel (scale mean|W|) matches exactly
  // only a training graph that sums in float64, as the reference backend does. docs/results.md has the measurements.
  const { weights, correction, epilogue } = integerOperands(oddWeights, inputs, units, input, kernel, dense.bias, batchNorm);

  return {
    kind: 'dense-kbit',
    input: input.kind,
    inputs,
    units,
    activationBits: input.bits,
    weightBits: kernel.bits,
    weights,
    gemmScale: input.multiplier,
    rowSumScale: input.multiplier * kernel.offset,
    correction,
    output: compileOutput(dense, epilogue, bound, context),
  };
}

/**
 * Returns the packed sign planes of the odd weights, the per-unit correction q (W_unit + t K) and
 * the float32 epilogue (the real value of one accumulator unit, bias, batch norm) that the dense and
 * convolution k-bit layers share.
 */
export function integerOperands(
  oddWeights: Int32Array,
  reduction: number,
  units: number,
  input: InputCoding,
  kernel: KernelCoding,
  bias: Tensor | null,
  batchNorm: BatchNorm | null,
): { weights: Uint32Array; correction: Int32Array; epilogue: DenseEpilogue } {
  const { weights, weightSums } = packOddWeightPlanes(oddWeights, reduction, units, kernel.bits);
  const correction = Int32Array.from(weightSums, (sum) => input.offset * (sum + kernel.offset * reduction));

  const affine = batchNorm?.inferenceAffine() ?? null;
  const epilogue: DenseEpilogue = {
    inputScale: input.scale * kernel.scale,
    bias: bias === null ? null : Float32Array.from(bias.data),
    scale: affine?.scale ?? null,
    shift: affine?.shift ?? null,
  };
  return { weights, correction, epilogue };
}

function compileOutput(dense: Dense, epilogue: DenseEpilogue, bound: number, context: KbitBlockContext): SignOutput | CodeOutput | ScoreOutput {
  if (context.last) return { kind: 'scores', epilogue };

  const next = nextLayerCodeMap(context.nextInputQuantizer, dense.name);
  if (next === null) return { kind: 'signs', ...foldThresholds(epilogue, dense.units, -bound, bound) };
  return { kind: 'codes', bits: next.bits, ...foldLevelThresholds(epilogue, dense.units, -bound, bound, next) };
}

/**
 * Returns the largest |acc| over all inputs, K * max|x| * max|w' + t| in accumulator units,
 * where a padded convolution tap contributes |padUnits| in place of an input.
 */
export function accumulatorBound(reduction: number, input: InputCoding, kernel: KernelCoding, padUnits = 0): number {
  const maxValue = input.multiplier * input.maxCode + input.offset;
  const maxInput = Math.max(Math.abs(input.offset), Math.abs(maxValue), Math.abs(padUnits));
  return reduction * maxInput * kernel.maxWeight;
}
