import { getBackend } from '../backends/active-backend.js';
import { QnnError } from '../errors.js';
import { BatchNorm } from '../layers/batch-norm.js';
import { Dense } from '../layers/dense.js';
import { Dropout } from '../layers/dropout.js';
import type { Layer } from '../layers/layer.js';
import type { Sequential } from '../layers/sequential.js';
import { PackedTensor } from '../tensor/packed-tensor.js';
import { Tensor } from '../tensor/tensor.js';
import { foldThresholds } from './fold-threshold.js';
import type { DenseEpilogue, PackedDenseLayer, PackedModel } from './graph.js';

export interface CompileOptions {
  /**
   * Real value of one unit of the uint8 model input: the training inputs must
   * be exactly uint8 * inputScale. The default 1/256 is a power of two, so the
   * first layer's float32 sums are exact and the packed integer result matches.
   */
  inputScale?: number;
}

/**
 * Compiles a trained binarized model into the packed inference graph:
 * binary kernels packed as bits, batch norm + the next layer's sign folded into
 * integer thresholds, packed activations between layers, and float scores from
 * the last layer's integer accumulator.
 *
 * Supported stack: Dense layers with a binarized kernel, each optionally
 * followed by BatchNorm and Dropout. The first layer takes the uint8 input
 * unquantized, and every later layer binarizes its input. Anything else throws,
 * naming the layer, instead of compiling to something that computes otherwise.
 */
export function compileModel(model: Sequential, options: CompileOptions = {}): PackedModel {
  const inputScale = options.inputScale ?? 1 / 256;
  const blocks = groupBlocks(model.layers);
  const layers: PackedDenseLayer[] = [];

  blocks.forEach((block, index) => {
    const { dense, batchNorm } = block;
    const first = index === 0;
    const last = index === blocks.length - 1;
    checkDense(dense, first);

    const inputs = dense.inputs;
    const units = dense.units;
    const affine = batchNorm?.inferenceAffine() ?? null;
    const epilogue: DenseEpilogue = {
      inputScale: first ? inputScale : 1,
      bias: dense.bias === null ? null : Float32Array.from(dense.bias.data),
      scale: affine?.scale ?? null,
      shift: affine?.shift ?? null,
    };
    const weights = packKernel(dense);

    if (last) {
      layers.push({ kind: 'dense', input: first ? 'uint8' : 'signs', inputs, units, weights, output: { kind: 'scores', epilogue } });
      return;
    }
    // Reachable accumulators: uint8 input gives [-255 K, 255 K], sign input [-K, K].
    const bound = first ? 255 * inputs : inputs;
    const { thresholds, directions } = foldThresholds(epilogue, units, -bound, bound);
    layers.push({ kind: 'dense', input: first ? 'uint8' : 'signs', inputs, units, weights, output: { kind: 'signs', thresholds, directions } });
  });

  return { inputShape: [...model.inputShape], layers };
}

interface Block {
  dense: Dense;
  batchNorm: BatchNorm | null;
}

function groupBlocks(modelLayers: Layer[]): Block[] {
  const blocks: Block[] = [];
  for (const layer of modelLayers) {
    if (layer instanceof Dropout) continue;
    if (layer instanceof Dense) {
      blocks.push({ dense: layer, batchNorm: null });
      continue;
    }
    const current = blocks[blocks.length - 1];
    if (layer instanceof BatchNorm && current !== undefined && current.batchNorm === null) {
      current.batchNorm = layer;
      continue;
    }
    throw new QnnError(`cannot compile layer '${layer.name}' (${layer.constructor.name}) here: the packed engine takes Dense [-> BatchNorm] [-> Dropout] blocks`);
  }
  if (blocks.length === 0) throw new QnnError('cannot compile a model without Dense layers');
  return blocks;
}

function checkDense(dense: Dense, first: boolean): void {
  if (dense.kernelQuantizer === null) {
    throw new QnnError(`cannot compile layer '${dense.name}': its kernel is not binarized (kernelQuantizer is null)`);
  }
  if (first && dense.inputQuantizer !== null) {
    throw new QnnError(`cannot compile layer '${dense.name}': the first layer must take the uint8 input unquantized (inputQuantizer: null)`);
  }
  if (!first && dense.inputQuantizer === null) {
    throw new QnnError(`cannot compile layer '${dense.name}': hidden layers must binarize their input (inputQuantizer 'ste_sign')`);
  }
}

/** Packs sign(W) of a [inputs, units] latent kernel along inputs, one row of words per unit. */
function packKernel(dense: Dense): Uint32Array {
  const inputs = dense.inputs;
  const units = dense.units;
  const transposed = new Float32Array(inputs * units);
  for (let i = 0; i < inputs; i++) {
    for (let u = 0; u < units; u++) transposed[u * inputs + i] = dense.kernel.data[i * units + u];
  }
  return PackedTensor.fromTensor(new Tensor(transposed, [units, inputs]), getBackend()).words;
}
