import { wordsPerRow } from '../backends/backend.js';
import { QnnError } from '../errors.js';
import type { RecurrentLayer } from '../layers/recurrent-layer.js';
import type { LanguageModel, RecurrentCellKind } from '../models/language-model.js';
import type { Quantizer } from '../quantizers/quantizer-spec.js';
import { type LinearSpec, describeQuantizer, linearCode, linearSpec } from './kbit-operands.js';

/** A fused kernel as sign planes of odd weights w' = 2c + 1, with c the signed linear code of each latent weight. */
export interface PackedGateKernel {
  /** Reduction length (features for the input kernel, units for the recurrent kernel). */
  inputs: number;
  /** gates * units output columns. */
  outputs: number;
  /** [outputs, weightBits, ceil(inputs / 32)] words, as bitplaneGemmBits reads them. */
  planes: Uint32Array;
  /** Per output column, the sum of w' over the inputs, for the offset correction. */
  oddSums: Int32Array;
}

/**
 * A recurrent layer ready for packed inference: both fused kernels as k-bit
 * sign planes, the float bias, and the steps of the two linear quantizers.
 * The gate pre-activations are integer bit-plane GEMMs on activation codes;
 * everything after them (bias, gates, cell, re-quantization) is float32,
 * computed in the training graph's order.
 */
export interface PackedRecurrentCell {
  cell: RecurrentCellKind;
  gates: number;
  features: number;
  units: number;
  weight: LinearSpec;
  activation: LinearSpec;
  inputKernel: PackedGateKernel;
  recurrentKernel: PackedGateKernel;
  bias: Float32Array;
}

// Limitation: a packed language model lives in memory only. The .qnn format
// has no record for recurrent layers or embeddings yet, so it cannot be saved.
// Limitation: only linear quantizers compile. Binarized ('ste_sign') weights or
// activations in a recurrent layer are rejected by requireLinear below.

/** A language model for packed inference: float embedding table and softmax head around a packed recurrent cell. */
export interface PackedLanguageModel {
  vocabularySize: number;
  embeddingUnits: number;
  /** [vocabularySize, embeddingUnits] */
  embedding: Float32Array;
  cell: PackedRecurrentCell;
  /** [units, vocabularySize] */
  headKernel: Float32Array;
  headBias: Float32Array;
}

/**
 * Compiles a recurrent layer whose weight and activation quantizers are both
 * linear with power-of-two steps, the case where the training graph's float32
 * gate sums are exact and so equal the integer accumulators times a scale.
 */
export function compileRecurrentCell(layer: RecurrentLayer): PackedRecurrentCell {
  const weight = requireLinear(layer.name, 'weightQuantizer', layer.weightQuantizer);
  const activation = requireLinear(layer.name, 'activationQuantizer', layer.activationQuantizer);
  const outputs = layer.gates * layer.units;

  return {
    cell: layer.gates === 4 ? 'lstm' : 'gru',
    gates: layer.gates,
    features: layer.features,
    units: layer.units,
    weight,
    activation,
    inputKernel: packGateKernel(layer.kernel.data as Float32Array, layer.features, outputs, weight),
    recurrentKernel: packGateKernel(layer.recurrentKernel.data as Float32Array, layer.units, outputs, weight),
    bias: Float32Array.from(layer.bias.data),
  };
}

/** Compiles a language model: copies of the float embedding and head, and the packed recurrent cell. */
export function compileLanguageModel(model: LanguageModel): PackedLanguageModel {
  const head = model.head;
  if (head.kernelQuantizer !== null || head.inputQuantizer !== null) {
    throw new QnnError(`cannot compile the language model: its head '${head.name}' must be float (no kernel or input quantizer)`);
  }
  return {
    vocabularySize: model.vocabularySize,
    embeddingUnits: model.embedding.units,
    embedding: Float32Array.from(model.embedding.table.data),
    cell: compileRecurrentCell(model.recurrent),
    headKernel: Float32Array.from(head.kernel.data),
    headBias: head.bias === null ? new Float32Array(head.units) : Float32Array.from(head.bias.data),
  };
}

/**
 * Packs a latent kernel [inputs, outputs] as sign planes. With the linear
 * code c in [-2^(bits-1), 2^(bits-1)), the odd weight is w' = 2c + 1 and its
 * level v = c + 2^(bits-1) is in [0, 2^bits); w' = sum_j 2^j (2 v_j - 1), so
 * plane j has bit 1 (meaning -1) where bit j of v is 0.
 */
function packGateKernel(latent: Float32Array, inputs: number, outputs: number, spec: LinearSpec): PackedGateKernel {
  const words = wordsPerRow(inputs);
  const bits = spec.bits;
  const half = 2 ** (bits - 1);
  const planes = new Uint32Array(outputs * bits * words);
  const oddSums = new Int32Array(outputs);

  for (let i = 0; i < inputs; i++) {
    for (let o = 0; o < outputs; o++) {
      const code = linearCode(latent[i * outputs + o], spec);
      oddSums[o] += 2 * code + 1;
      const level = code + half;
      for (let plane = 0; plane < bits; plane++) {
        if (((level >>> plane) & 1) === 0) planes[(o * bits + plane) * words + (i >>> 5)] |= 1 << (i & 31);
      }
    }
  }
  return { inputs, outputs, planes, oddSums };
}

function requireLinear(layer: string, field: string, quantizer: Quantizer): LinearSpec {
  const spec = linearSpec(quantizer);
  if (spec === null) {
    throw new QnnError(
      `cannot compile recurrent layer '${layer}': ${field} ${describeQuantizer(quantizer)} is not supported by the packed cell; use { kind: 'linear', bits } with a power-of-two step`,
    );
  }
  if (!Number.isInteger(Math.log2(spec.step))) {
    throw new QnnError(`cannot compile recurrent layer '${layer}': ${field} step ${spec.step} is not a power of two, so float32 gate sums in training are not exact; use a step of 2^k`);
  }
  return spec;
}
