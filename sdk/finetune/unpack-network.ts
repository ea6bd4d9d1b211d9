/**
 * Turns a packed dense network (a .qnn MLP) back into a trainable Sequential
 * whose inference-mode forward pass gives the same class scores as runPacked,
 * so a model trained elsewhere can be fine-tuned on the device.
 */
import { type DenseEpilogue, type PackedDenseLayer, type PackedNetwork, type SignOutput } from '../compile/graph.js';
import { foldThresholds } from '../compile/fold-threshold.js';
import { QnnError } from '../errors.js';
import { QuantDense } from '../layers/dense.js';
import type { Layer } from '../layers/layer.js';
import { Sequential } from '../layers/sequential.js';
import { FrozenBatchNorm } from './frozen-batch-norm.js';

export interface UnpackOptions {
  /**
   * Magnitude c of the latent weights: a packed +1 becomes +c and a packed -1
   * becomes -c. A larger c needs more optimizer steps to flip a sign, so
   * fine-tuning moves fewer weights. Default 0.1: with Adam at 1e-3 and the
   * Glorot learning-rate scale of binary kernels, a sign flips after a few
   * consistent steps, which a short fine-tuning run needs.
   */
  latentMagnitude?: number;
  /**
   * Real value of one unit of the uint8 input when the first layer is hidden
   * (its thresholds hold no scale). Default 1/256, a power of two, so the
   * first layer's float32 sums are exact. A one-layer network keeps its own scale.
   */
  inputScale?: number;
}

export interface UnpackedNetwork {
  /** QuantDense -> FrozenBatchNorm blocks; only the latent kernels are trainable. */
  model: Sequential;
  /** Feed the model uint8 * inputScale; compile it back with compileModel(model, { inputScale }). */
  inputScale: number;
}

/**
 * Unpacks a network of dense layers with binary weights. Each kernel becomes
 * latent weights of +-c with the packed signs. Each hidden layer's threshold
 * and direction become a batch norm with scale +-g (a power of two) and a
 * shift halfway between two accumulators, so sign(BN(x)) is +1 exactly where
 * the threshold rule says so. A constant channel gets scale 0 and shift +-1.
 * The score layer gets its bias and its batch-norm scale and shift as they are.
 * Throws QnnError for a layer kind other than binary dense, and when a rebuilt
 * batch norm would fold to another threshold than the packed one.
 */
export function unpackNetwork(network: PackedNetwork, options: UnpackOptions = {}): UnpackedNetwork {
  const latent = options.latentMagnitude ?? 0.1;
  if (!(latent > 0 && latent <= 1)) throw new QnnError(`unpackNetwork: latentMagnitude must be in (0, 1] (the clip range of binary kernels), got ${latent}`);
  const layers = checkDenseLayers(network);

  const last = layers[layers.length - 1];
  const oneLayer = layers.length === 1;
  const inputScale = oneLayer && last.output.kind === 'scores' ? last.output.epilogue.inputScale : (options.inputScale ?? 1 / 256);
  if (!(inputScale > 0) || !Number.isFinite(inputScale)) throw new QnnError(`unpackNetwork: inputScale must be a positive number, got ${inputScale}`);

  const blocks: { dense: QuantDense; batchNorm: FrozenBatchNorm | null }[] = [];
  const sequentialLayers: Layer[] = [];
  layers.forEach((layer, index) => {
    const useBias = layer.output.kind === 'scores' && layer.output.epilogue.bias !== null;
    const dense = new QuantDense(layer.units, { inputQuantizer: index === 0 ? null : 'ste_sign', useBias, name: `dense_${index}` });
    const hasNorm = layer.output.kind === 'signs' || layer.output.epilogue.scale !== null;
    const batchNorm = hasNorm ? new FrozenBatchNorm({ name: `batch_norm_${index}` }) : null;
    sequentialLayers.push(dense);
    if (batchNorm !== null) sequentialLayers.push(batchNorm);
    blocks.push({ dense, batchNorm });
  });
  const model = new Sequential(sequentialLayers).build([...network.inputShape], 0);

  layers.forEach((layer, index) => {
    const { dense, batchNorm } = blocks[index];
    dense.kernel.data.set(unpackKernel(layer, latent));
    const layerScale = index === 0 ? inputScale : 1;

    if (layer.output.kind === 'scores') {
      const epilogue = layer.output.epilogue;
      if (epilogue.bias !== null) dense.bias!.data.set(epilogue.bias);
      if (batchNorm !== null) batchNorm.setAffine(epilogue.scale!, epilogue.shift!);
      return;
    }

    const { scale, shift } = thresholdAffine(layer.output, layer, index === 0, layerScale);
    batchNorm!.setAffine(scale, shift);
    checkRefold(layer, index, layerScale, scale, shift);
  });

  return { model, inputScale };
}

function checkDenseLayers(network: PackedNetwork): PackedDenseLayer[] {
  if (network.layers.length === 0) throw new QnnError('unpackNetwork: the packed network has no layers');
  if (network.inputShape.length !== 1) {
    throw new QnnError(`unpackNetwork: only flat inputs are supported (a packed MLP), got input shape [${network.inputShape.join(', ')}]`);
  }

  const layers: PackedDenseLayer[] = [];
  network.layers.forEach((layer, index) => {
    if (layer.kind !== 'dense') {
      // Limitation: convolution, pooling and k-bit layers are not unpacked; only binary MLPs can be fine-tuned.
      throw new QnnError(`unpackNetwork: layer ${index} is '${layer.kind}', but only binary 'dense' layers (a packed MLP) can be unpacked for fine-tuning`);
    }
    const expectedInput = index === 0 ? 'uint8' : 'signs';
    if (layer.input !== expectedInput) throw new QnnError(`unpackNetwork: layer ${index} takes '${layer.input}' input, expected '${expectedInput}'`);
    const last = index === network.layers.length - 1;
    if (last !== (layer.output.kind === 'scores')) {
      throw new QnnError(`unpackNetwork: layer ${index} has '${layer.output.kind}' output, but only the last layer may output scores`);
    }
    layers.push(layer);
  });
  return layers;
}

/** Expands packed weights [units, ceil(inputs / 32)] (bit 1 means -1) into a latent [inputs, units] kernel of +-c. */
function unpackKernel(layer: PackedDenseLayer, latent: number): Float32Array {
  const { inputs, units, weights } = layer;
  const words = Math.ceil(inputs / 32);
  const kernel = new Float32Array(inputs * units);

  for (let u = 0; u < units; u++) {
    for (let i = 0; i < inputs; i++) {
      const bit = (weights[u * words + (i >>> 5)] >>> (i & 31)) & 1;
      kernel[i * units + u] = bit === 1 ? -latent : latent;
    }
  }
  return kernel;
}

/** The largest accumulator magnitude a layer can reach: 255 per input on uint8, 1 per input on signs. */
function accumulatorBound(layer: PackedDenseLayer, first: boolean): number {
  return first ? 255 * layer.inputs : layer.inputs;
}

/**
 * Builds the batch-norm scale and shift for threshold rules. For direction 1,
 * y = g * (x - (t - 1/2) * s), which is >= 0 exactly when acc >= t, because x
 * is acc * s. For direction -1, y = -g * (x - (t + 1/2) * s). With power-of-two
 * s and g every term is exact in float32, so the comparison is exact.
 * The gain g does not change any sign, but the straight-through estimator of
 * the next layer passes gradients only where |y| <= 1, so g scales y to about
 * unit spread, as the trained batch norm did: g is the power of two nearest to
 * 1 / sqrt(K * E[x^2]), the standard deviation of a sum of K random-sign terms.
 */
function thresholdAffine(output: SignOutput, layer: PackedDenseLayer, first: boolean, inputScale: number): { scale: Float32Array; shift: Float32Array } {
  const bound = accumulatorBound(layer, first);
  const scale = new Float32Array(layer.units);
  const shift = new Float32Array(layer.units);
  // Limitation: E[x^2] of the uint8 input is taken as 0.1, the value for MNIST digits scaled to [0, 1); other data gets a gain off by a power of two or so.
  const meanSquare = first ? 0.1 : 1;
  const gain = Math.pow(2, -Math.round(Math.log2(Math.sqrt(layer.inputs * meanSquare))));

  for (let c = 0; c < layer.units; c++) {
    const threshold = output.thresholds[c];
    const constant = constantSign(threshold, output.directions[c], bound);
    if (constant !== 0) {
      scale[c] = 0;
      shift[c] = constant;
    } else if (output.directions[c] === 1) {
      scale[c] = gain;
      shift[c] = -(threshold - 0.5) * inputScale * gain;
    } else {
      scale[c] = -gain;
      shift[c] = (threshold + 0.5) * inputScale * gain;
    }
  }
  return { scale, shift };
}

/** Returns +1 or -1 when the rule gives that sign for every reachable accumulator in [-bound, bound], else 0. */
function constantSign(threshold: number, direction: number, bound: number): number {
  if (direction === 1) {
    if (threshold <= -bound) return 1;
    if (threshold > bound) return -1;
    return 0;
  }
  if (threshold >= bound) return 1;
  if (threshold < -bound) return -1;
  return 0;
}

/**
 * Folds the rebuilt batch norm again, as compileModel would, and checks that
 * every channel keeps the packed rule. This catches an input scale whose
 * float32 rounding moves a threshold.
 */
function checkRefold(layer: PackedDenseLayer, index: number, inputScale: number, scale: Float32Array, shift: Float32Array): void {
  const output = layer.output as SignOutput;
  const bound = accumulatorBound(layer, index === 0);
  const epilogue: DenseEpilogue = { inputScale, bias: null, scale, shift };
  const refolded = foldThresholds(epilogue, layer.units, -bound, bound);

  for (let c = 0; c < layer.units; c++) {
    const packed = ruleOf(output.thresholds[c], output.directions[c], bound);
    const rebuilt = ruleOf(refolded.thresholds[c], refolded.directions[c], bound);
    if (packed !== rebuilt) {
      throw new QnnError(
        `unpackNetwork: layer ${index}, channel ${c}: the rebuilt batch norm folds to ${rebuilt} instead of ${packed}; ` +
          `use a power-of-two inputScale (got ${inputScale})`,
      );
    }
  }
}

/** A canonical text for a threshold rule over [-bound, bound], so equal rules compare equal. */
function ruleOf(threshold: number, direction: number, bound: number): string {
  const constant = constantSign(threshold, direction, bound);
  if (constant !== 0) return `constant ${constant}`;
  return `${direction === 1 ? 'acc >=' : 'acc <='} ${threshold}`;
}
