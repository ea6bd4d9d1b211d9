import { wordsPerRow } from '../backends/backend.js';
import { QnnError } from '../errors.js';
import type { BatchNorm } from '../layers/batch-norm.js';
import type { Dense } from '../layers/dense.js';
import type { Quantizer } from '../quantizers/quantizer-spec.js';
import { foldLevelThresholds } from './fold-levels.js';
import { foldThresholds } from './fold-threshold.js';
import type { CodeOutput, DenseEpilogue, PackedDenseKbitLayer, ScoreOutput, SignOutput } from './graph.js';
import { type InputCoding, type KernelCoding, inputCoding, kernelCoding, linearSpec, oddWeight } from './kbit-operands.js';

/** Largest accumulator magnitude for which the training graph's float32 sums are exact integers times the unit. */
const MAX_EXACT_ACCUMULATOR = 2 ** 24;

/** Position of a dense block in the network and its neighbors' quantizers. */
export interface KbitBlockContext {
  first: boolean;
  last: boolean;
  /** Real value of one unit of the uint8 model input. */
  inputScale: number;
  /** Kind of the block before this one, or null for the first block. */
  previousKind: 'dense' | 'conv2d' | 'flatten' | null;
  /** Input quantizer of the next dense layer, or undefined when the next block is not dense or this is the last. */
  nextInputQuantizer: Quantizer | undefined;
}

/** True when a dense block needs the k-bit path: a linear kernel, a linear input or a linear next-layer input. */
export function needsKbitPath(dense: Dense, nextInputQuantizer: Quantizer | undefined): boolean {
  return linearSpec(dense.kernelQuantizer) !== null || linearSpec(dense.inputQuantizer) !== null || linearSpec(nextInputQuantizer ?? null) !== null;
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
  const input = inputCoding(dense, context.first, context.inputScale);
  if (input.kind === 'codes' && context.previousKind !== 'dense') {
    // Limitation: only dense layers output k-bit codes; convolution layers still output signs.
    throw new QnnError(`cannot compile layer '${dense.name}': a linear inputQuantizer needs a Dense layer before it, found a ${context.previousKind} layer`);
  }
  const kernel = kernelCoding(dense);
  const inputs = dense.inputs;
  const units = dense.units;

  const bound = accumulatorBound(inputs, input, kernel);
  if (bound > MAX_EXACT_ACCUMULATOR) {
    throw new QnnError(
      `cannot compile layer '${dense.name}': its accumulator reaches ${bound}, beyond 2^24, where float32 sums in training are no longer exact; ` +
        'use fewer weight or activation bits or fewer inputs',
    );
  }

  const { weights, weightSums } = packWeightPlanes(dense, kernel.bits);
  const correction = Int32Array.from(weightSums, (sum) => input.offset * (sum + kernel.offset * inputs));
  const affine = batchNorm?.inferenceAffine() ?? null;
  const epilogue: DenseEpilogue = {
    inputScale: input.scale * kernel.scale,
    bias: dense.bias === null ? null : Float32Array.from(dense.bias.data),
    scale: affine?.scale ?? null,
    shift: affine?.shift ?? null,
  };

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

function compileOutput(dense: Dense, epilogue: DenseEpilogue, bound: number, context: KbitBlockContext): SignOutput | CodeOutput | ScoreOutput {
  if (context.last) return { kind: 'scores', epilogue };

  const next = linearSpec(context.nextInputQuantizer ?? null);
  if (next === null) return { kind: 'signs', ...foldThresholds(epilogue, dense.units, -bound, bound) };
  return { kind: 'codes', bits: next.bits, ...foldLevelThresholds(epilogue, dense.units, -bound, bound, next) };
}

/** Largest |acc| over all inputs: K * max|x| * max|w' + t|, in accumulator units. */
function accumulatorBound(inputs: number, input: InputCoding, kernel: KernelCoding): number {
  const maxInput = Math.max(Math.abs(input.offset), Math.abs(input.multiplier * (2 ** input.bits - 1) + input.offset));
  const maxWeight = 2 ** kernel.bits - 1 + Math.abs(kernel.offset);
  return inputs * maxInput * maxWeight;
}

/**
 * Packs the odd weights w' of a [inputs, units] latent kernel as sign planes
 * [units, bits, ceil(inputs / 32)]. With v = (w' + 2^bits - 1) / 2 in [0, 2^bits),
 * w' = sum_j 2^j (2 v_j - 1), so plane j stores -1 (bit 1) where bit j of v is 0.
 */
function packWeightPlanes(dense: Dense, bits: number): { weights: Uint32Array; weightSums: Float64Array } {
  const inputs = dense.inputs;
  const units = dense.units;
  const words = wordsPerRow(inputs);
  const weights = new Uint32Array(units * bits * words);
  const weightSums = new Float64Array(units);
  const bias = 2 ** bits - 1;

  for (let i = 0; i < inputs; i++) {
    for (let u = 0; u < units; u++) {
      const odd = oddWeight(dense.kernel.data[i * units + u], dense);
      weightSums[u] += odd;
      const level = (odd + bias) / 2;
      for (let plane = 0; plane < bits; plane++) {
        if (((level >>> plane) & 1) === 0) weights[(u * bits + plane) * words + (i >>> 5)] |= 1 << (i & 31);
      }
    }
  }
  return { weights, weightSums };
}
