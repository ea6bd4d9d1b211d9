import { getBackend } from '../backends/active-backend.js';
import { QnnError } from '../errors.js';
import { BatchNorm } from '../layers/batch-norm.js';
import { Dense } from '../layers/dense.js';
import { Dropout } from '../layers/dropout.js';
import { Flatten } from '../layers/flatten.js';
import { GlobalAveragePooling2D } from '../layers/global-average-pooling2d.js';
import type { Layer } from '../layers/layer.js';
import { MaxPool2D } from '../layers/max-pool2d.js';
import { QuantConv2D } from '../layers/quant-conv2d.js';
import type { Sequential } from '../layers/sequential.js';
import { PackedTensor } from '../tensor/packed-tensor.js';
import { Tensor } from '../tensor/tensor.js';
import { checkBinarizedLayer } from './check-binarized.js';
import { type ConvBlock, compileConvBlock } from './compile-conv.js';
import { compileConvKbitBlock, type ConvBlockTarget } from './compile-conv-kbit.js';
import { compileKbitDenseBlock, isKbitSpec, needsKbitPath } from './compile-kbit.js';
import { foldThresholds } from './fold-threshold.js';
import { describeQuantizer, linearSpec } from './kbit-operands.js';
import { nextLayerCodeMap } from './input-codes.js';
import { type Quantizer, isBinaryQuantizer } from '../quantizers/quantizer-spec.js';
import { type DenseEpilogue, type PackedDenseLayer, type PackedGlobalAveragePool2dLayer, type PackedLayer, type PackedModel, type PackedNetwork, isPackedModel } from './graph.js';

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
 * Supported stack: QuantConv2D blocks (each optionally followed by one
 * MaxPool2D, before or after its BatchNorm), then Flatten, then Dense layers
 * with a binarized kernel, each optionally followed by BatchNorm, with Dropout
 * anywhere. The first layer takes the uint8 input unquantized, every later
 * layer binarizes its input, and the last layer is a Dense score layer.
 * Dense layers may instead use linear k-bit kernels and linear k-bit inputs
 * (bits 1..8, power-of-two steps): such a block compiles to a 'dense-kbit'
 * layer (compile-kbit.ts). QuantConv2D blocks may too, and compile to a
 * 'conv2d-kbit' layer (compile-conv-kbit.ts), as does a binary conv block whose
 * next layer takes k-bit codes or that feeds GlobalAveragePooling2D. A
 * GlobalAveragePooling2D between the last conv block and a Dense layer compiles
 * to a 'globalAveragePool2d' layer that applies the Dense layer's input quantizer.
 * Anything else throws, naming the layer, instead of compiling to something
 * that computes otherwise.
 */
export function compileNetwork(model: Sequential, options: CompileOptions = {}): PackedNetwork {
  const inputScale = options.inputScale ?? 1 / 256;
  const blocks = groupBlocks(model.layers);
  const layers: PackedLayer[] = [];

  blocks.forEach((block, index) => {
    const first = layers.length === 0;
    const last = index === blocks.length - 1;

    if (block.kind === 'flatten') {
      // On the uint8 input, flattening is the row-major order the samples already have.
      if (first) return;
      const [height, width, channels] = block.flatten.inputShape;
      layers.push({ kind: 'flatten', height, width, channels });
      return;
    }
    if (block.kind === 'globalPool') {
      layers.push(compileGlobalPool(block, blocks[index - 1], blocks[index + 1]));
      return;
    }
    if (block.kind === 'conv2d') {
      if (last) throw new QnnError(`cannot compile layer '${block.conv.name}': the last layer must be a Dense score layer`);
      const target = convTarget(block, blocks.slice(index + 1));
      if (needsConvKbitPath(block, target)) layers.push(compileConvKbitBlock(block, first, inputScale, target));
      else layers.push(...compileConvBlock(block, first, inputScale));
      return;
    }
    const next = blocks[index + 1];
    const nextInputQuantizer = next?.kind === 'dense' ? next.dense.inputQuantizer : undefined;
    if (needsKbitPath(block.dense, nextInputQuantizer)) {
      const previousEmits = previousEmitsCodes(layers);
      layers.push(compileKbitDenseBlock(block.dense, block.batchNorm, { first, last, inputScale, previousEmitsCodes: previousEmits, nextInputQuantizer }));
      return;
    }
    layers.push(compileDenseBlock(block, first, last, inputScale));
  });

  return { inputShape: [...model.inputShape], layers };
}

/**
 * Compiles a binarized MLP (see compileNetwork for the rules) into a packed
 * model of dense layers. A model with convolution layers throws; compile it
 * with compileNetwork.
 */
export function compileModel(model: Sequential, options: CompileOptions = {}): PackedModel {
  const network = compileNetwork(model, options);
  if (!isPackedModel(network)) {
    throw new QnnError('cannot compile this model with compileModel: it has convolution or k-bit dense layers, so compile it with compileNetwork');
  }
  return network;
}

function compileDenseBlock(block: DenseBlock, first: boolean, last: boolean, inputScale: number): PackedDenseLayer {
  const { dense, batchNorm } = block;
  checkBinarizedLayer(dense, first);

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

  if (last) return { kind: 'dense', input: first ? 'uint8' : 'signs', inputs, units, weights, output: { kind: 'scores', epilogue } };

  // Reachable accumulators: uint8 input gives [-255 K, 255 K], sign input [-K, K].
  const bound = first ? 255 * inputs : inputs;
  const { thresholds, directions } = foldThresholds(epilogue, units, -bound, bound);
  return { kind: 'dense', input: first ? 'uint8' : 'signs', inputs, units, weights, output: { kind: 'signs', thresholds, directions } };
}

interface DenseBlock {
  kind: 'dense';
  dense: Dense;
  batchNorm: BatchNorm | null;
}

interface FlattenBlock {
  kind: 'flatten';
  flatten: Flatten;
}

interface GlobalPoolBlock {
  kind: 'globalPool';
  pool: GlobalAveragePooling2D;
}

type Block = DenseBlock | ConvBlock | FlattenBlock | GlobalPoolBlock;

/**
 * Returns what the layer after a conv block takes. GlobalAveragePooling2D takes the float values.
 * Otherwise the input quantizer of the next conv, or of the Dense layer after Flatten, decides:
 * k-bit codes for a k-bit spec, signs for a binarizer.
 */
function convTarget(block: ConvBlock, rest: Block[]): ConvBlockTarget {
  const next = rest[0];
  if (next?.kind === 'globalPool') return { kind: 'floats' };

  const consumer = next?.kind === 'flatten' ? rest[1] : next;
  let quantizer: Quantizer = null;
  let name = block.conv.name;
  if (consumer?.kind === 'conv2d') {
    quantizer = consumer.conv.inputQuantizer;
    name = consumer.conv.name;
  } else if (consumer?.kind === 'dense') {
    quantizer = consumer.dense.inputQuantizer;
    name = consumer.dense.name;
  }

  const codes = nextLayerCodeMap(quantizer, block.conv.name);
  if (codes !== null) return { kind: 'codes', codes };
  if (quantizer === null && consumer !== undefined) {
    throw new QnnError(`cannot compile layer '${name}': a layer after a convolution must quantize its input (inputQuantizer 'ste_sign' or a k-bit spec)`);
  }
  return { kind: 'signs' };
}

/** True when a conv block needs 'conv2d-kbit': a k-bit kernel or input, or an output other than signs. */
function needsConvKbitPath(block: ConvBlock, target: ConvBlockTarget): boolean {
  return target.kind !== 'signs' || isKbitSpec(block.conv.kernelQuantizer) || isKbitSpec(block.conv.inputQuantizer);
}

/** True when the last packed layer so far emits k-bit codes. */
function previousEmitsCodes(layers: PackedLayer[]): boolean {
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i];
    if (layer.kind === 'flatten') continue;
    if (layer.kind === 'globalAveragePool2d' || layer.kind === 'conv2d-kbit' || layer.kind === 'dense-kbit') return layer.output.kind === 'codes';
    return false;
  }
  return false;
}

/**
 * Compiles GlobalAveragePooling2D between a conv block (which then emits its
 * float32 values) and a Dense layer, whose input quantizer it applies to the means.
 */
function compileGlobalPool(block: GlobalPoolBlock, previous: Block | undefined, next: Block | undefined): PackedGlobalAveragePool2dLayer {
  const name = block.pool.name;
  if (previous?.kind !== 'conv2d') throw new QnnError(`cannot compile layer '${name}': GlobalAveragePooling2D must follow a QuantConv2D block`);
  if (next?.kind !== 'dense') throw new QnnError(`cannot compile layer '${name}': GlobalAveragePooling2D must be followed by a Dense layer`);

  const [height, width, channels] = block.pool.inputShape;
  const quantizer = next.dense.inputQuantizer;
  const spec = linearSpec(quantizer);
  if (spec !== null) return { kind: 'globalAveragePool2d', height, width, channels, output: { kind: 'codes', bits: spec.bits, step: spec.step } };
  if (isBinaryQuantizer(quantizer)) return { kind: 'globalAveragePool2d', height, width, channels, output: { kind: 'signs' } };
  throw new QnnError(
    `cannot compile layer '${next.dense.name}': after GlobalAveragePooling2D its inputQuantizer must be 'ste_sign', 'stochastic_binary' or { kind: 'linear', bits }, ` +
      `got ${describeQuantizer(quantizer)}`,
  );
}

const SUPPORTED_STACK =
  'the packed engine takes QuantConv2D [-> MaxPool2D] [-> BatchNorm] [-> MaxPool2D] blocks (one MaxPool2D at most), ' +
  'then Flatten or GlobalAveragePooling2D, then Dense [-> BatchNorm] blocks, with Dropout anywhere';

function groupBlocks(modelLayers: Layer[]): Block[] {
  const blocks: Block[] = [];
  for (const layer of modelLayers) {
    if (layer instanceof Dropout) continue;
    if (layer instanceof Dense) {
      blocks.push({ kind: 'dense', dense: layer, batchNorm: null });
      continue;
    }
    if (layer instanceof QuantConv2D) {
      blocks.push({ kind: 'conv2d', conv: layer, poolBeforeNorm: null, batchNorm: null, poolAfterNorm: null });
      continue;
    }
    if (layer instanceof Flatten) {
      blocks.push({ kind: 'flatten', flatten: layer });
      continue;
    }
    if (layer instanceof GlobalAveragePooling2D) {
      blocks.push({ kind: 'globalPool', pool: layer });
      continue;
    }
    if (!attachToBlock(blocks[blocks.length - 1], layer)) {
      throw new QnnError(`cannot compile layer '${layer.name}' (${layer.constructor.name}) here: ${SUPPORTED_STACK}`);
    }
  }
  if (!blocks.some((block) => block.kind === 'dense')) throw new QnnError('cannot compile a model without Dense layers');
  return blocks;
}

/** Attaches a BatchNorm or MaxPool2D to the block before it; returns false where the order is unsupported. */
function attachToBlock(current: Block | undefined, layer: Layer): boolean {
  if (current === undefined || current.kind === 'flatten' || current.kind === 'globalPool') return false;

  if (layer instanceof BatchNorm && current.batchNorm === null) {
    if (current.kind === 'conv2d' && current.poolAfterNorm !== null) return false;
    current.batchNorm = layer;
    return true;
  }
  if (layer instanceof MaxPool2D && current.kind === 'conv2d' && current.poolBeforeNorm === null && current.poolAfterNorm === null) {
    if (current.batchNorm === null) current.poolBeforeNorm = layer;
    else current.poolAfterNorm = layer;
    return true;
  }
  return false;
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
