/**
 * Checks of a packed network's layer chain that the `.qnn` encoder and
 * decoder share: each layer's input kind, input shape and output kind must fit
 * the layer before it, and its window fields must leave an output.
 * Array lengths and types are checked where the arrays are written or read.
 */
import { windowOutputSize } from '../backends/backend.js';
import type { PackedConv2dKbitLayer, PackedDenseKbitLayer, PackedGlobalAveragePool2dLayer, PackedLayer, PackedNetwork, PoolWindow } from '../compile/graph.js';
import { MAX_ARRAY_ELEMENTS } from './qnn-layout.js';

/** A rule that a layer breaks: its index and a message that names the field. */
export interface LayerProblem {
  index: number;
  message: string;
}

/** Returns the first broken rule of the layer chain, or null when the chain is valid. */
export function findNetworkProblem(network: PackedNetwork): LayerProblem | null {
  let shape = [...network.inputShape];
  let incoming: Activation = { kind: 'uint8', bits: 8 };

  for (let index = 0; index < network.layers.length; index++) {
    const layer = network.layers[index];
    const position = { first: index === 0, last: index === network.layers.length - 1 };
    const result = checkIncoming(layer, incoming) ?? checkLayer(layer, shape, position, incoming);
    if (typeof result === 'string') return { index, message: `layer ${index} (${String(layer.kind)}): ${result}` };
    shape = result;
    incoming = outputActivation(layer, incoming);
  }
  return null;
}

/** Activation encoding passed between layers: the uint8 model input, packed signs, unsigned codes of `bits` bits, or float32 values. */
interface Activation {
  kind: 'uint8' | 'signs' | 'codes' | 'floats';
  bits: number;
}

function outputActivation(layer: PackedLayer, incoming: Activation): Activation {
  // Flattening NHWC codes is the identity on their bytes, so codes pass through.
  if (layer.kind === 'flatten') return incoming.kind === 'codes' ? incoming : { kind: 'signs', bits: 1 };
  if (layer.kind === 'dense-kbit' || layer.kind === 'conv2d-kbit' || layer.kind === 'globalAveragePool2d') {
    const output = layer.output;
    if (output.kind === 'codes') return { kind: 'codes', bits: output.bits };
    if (output.kind === 'floats') return { kind: 'floats', bits: 32 };
  }
  return { kind: 'signs', bits: 1 };
}

/** Returns the message of the rule broken by a layer that cannot take the incoming codes or floats, or null. */
function checkIncoming(layer: PackedLayer, incoming: Activation): string | null {
  if (incoming.kind === 'codes' && layer.kind !== 'dense-kbit' && layer.kind !== 'conv2d-kbit' && layer.kind !== 'flatten') {
    return 'only a dense-kbit, conv2d-kbit or flatten layer takes the k-bit codes that the layer before outputs';
  }
  if (incoming.kind === 'floats' && layer.kind !== 'globalAveragePool2d') return 'only a globalAveragePool2d layer takes the float values that the layer before outputs';
  if (incoming.kind !== 'floats' && layer.kind === 'globalAveragePool2d') return `input must be the float values of a conv2d-kbit layer, found ${incoming.kind}`;
  return null;
}

/** Returns the conv2d-kbit layer's output shape, or the message of the rule it breaks. */
function checkConvKbit(layer: PackedConv2dKbitLayer, shape: number[], position: { first: boolean; last: boolean }, incoming: Activation): number[] | string {
  if (position.last) return 'the last layer must be a dense score layer';
  if (layer.input !== incoming.kind) return `input kind must be '${incoming.kind}' to match the layer before, found '${String(layer.input)}'`;
  if (incoming.kind === 'codes' && layer.activationBits !== incoming.bits) {
    return `activationBits must equal the ${incoming.bits} code bits that the layer before outputs, found ${layer.activationBits}`;
  }
  const fields = { height: layer.height, width: layer.width, channels: layer.channels, outChannels: layer.outChannels };
  const windowFields = { kernelHeight: layer.kernelHeight, kernelWidth: layer.kernelWidth, strideHeight: layer.strideHeight, strideWidth: layer.strideWidth };
  const problem = checkCounts({ ...fields, ...windowFields }) ?? checkImageShape(layer, shape);
  if (problem !== null) return problem;
  if (layer.padding !== 'same' && layer.padding !== 'valid') return `padding must be 'same' or 'valid', found '${String(layer.padding)}'`;
  if (layer.padding === 'valid' && (layer.kernelHeight > layer.height || layer.kernelWidth > layer.width)) {
    return `kernel ${layer.kernelHeight}x${layer.kernelWidth} is larger than the ${layer.height}x${layer.width} input, which leaves no output with 'valid' padding`;
  }
  const outputKind = String(layer.output.kind);
  if (outputKind !== 'signs' && outputKind !== 'codes' && outputKind !== 'floats') return `output kind must be 'signs', 'codes' or 'floats', found '${outputKind}'`;

  let result: number[] | string = [
    windowOutputSize(layer.height, layer.kernelHeight, layer.strideHeight, layer.padding),
    windowOutputSize(layer.width, layer.kernelWidth, layer.strideWidth, layer.padding),
    layer.outChannels,
  ];
  if (layer.pool !== null) result = pooledShape(layer.pool, result[0], result[1], layer.outChannels, 'pool.');
  if (typeof result === 'string' || layer.outputPool === null) return result;
  return pooledShape(layer.outputPool, result[0], result[1], layer.outChannels, 'outputPool.');
}

/** Returns the globalAveragePool2d layer's output shape, or the message of the rule it breaks. */
function checkGlobalPool(layer: PackedGlobalAveragePool2dLayer, shape: number[], position: { first: boolean; last: boolean }): number[] | string {
  if (position.first || position.last) return 'a globalAveragePool2d layer must sit between a conv2d-kbit layer and a dense layer';
  const problem = checkCounts({ height: layer.height, width: layer.width, channels: layer.channels }) ?? checkImageShape(layer, shape);
  if (problem !== null) return problem;
  const output = layer.output;
  if (output.kind === 'codes') {
    if (!Number.isInteger(output.bits) || output.bits < 1 || output.bits > 8) return `output bits must be an integer in 1..8, found ${output.bits}`;
    if (!Number.isFinite(output.step) || output.step <= 0) return `output step must be a finite number > 0, found ${output.step}`;
  } else if (output.kind !== 'signs') {
    return `output kind must be 'signs' or 'codes', found '${String((output as { kind: unknown }).kind)}'`;
  }
  return [layer.channels];
}

/** Returns the dense-kbit layer's output shape, or the message of the rule it breaks. */
function checkDenseKbit(layer: PackedDenseKbitLayer, shape: number[], position: { first: boolean; last: boolean }, incoming: Activation): number[] | string {
  if (layer.input !== incoming.kind) return `input kind must be '${incoming.kind}' to match the layer before, found '${String(layer.input)}'`;
  if (incoming.kind === 'codes' && layer.activationBits !== incoming.bits) {
    return `activationBits must equal the ${incoming.bits} code bits that the layer before outputs, found ${layer.activationBits}`;
  }
  if (!position.first && shape.length !== 1) return `inputs must be a flat row, but the layer before outputs [${shape.join(', ')}]; add a flatten layer`;
  const elements = shape.reduce((product, size) => product * size, 1);
  if (layer.inputs !== elements) return `inputs must equal the ${elements} elements of [${shape.join(', ')}], found ${layer.inputs}`;
  const outputKind = String(layer.output.kind);
  if (position.last && outputKind !== 'scores') return `output kind must be 'scores' for the last layer, found '${outputKind}'`;
  if (!position.last && outputKind !== 'signs' && outputKind !== 'codes') return `output kind must be 'signs' or 'codes' for a hidden layer, found '${outputKind}'`;
  return [layer.units];
}

/** Returns the layer's output shape, or the message of the rule it breaks. */
function checkLayer(layer: PackedLayer, shape: number[], position: { first: boolean; last: boolean }, incoming: Activation): number[] | string {
  const expectedInput = position.first ? 'uint8' : 'signs';
  if (layer.kind === 'dense-kbit') return checkDenseKbit(layer, shape, position, incoming);
  if (layer.kind === 'conv2d-kbit') return checkConvKbit(layer, shape, position, incoming);
  if (layer.kind === 'globalAveragePool2d') return checkGlobalPool(layer, shape, position);

  if (layer.kind === 'dense') {
    if (layer.input !== expectedInput) return `input kind must be '${expectedInput}', found '${String(layer.input)}'`;
    if (!position.first && shape.length !== 1) return `inputs must be a flat row, but the layer before outputs [${shape.join(', ')}]; add a flatten layer`;
    const elements = shape.reduce((product, size) => product * size, 1);
    if (layer.inputs !== elements) return `inputs must equal the ${elements} elements of [${shape.join(', ')}], found ${layer.inputs}`;
    const expectedOutput = position.last ? 'scores' : 'signs';
    if (layer.output.kind !== expectedOutput) return `output kind must be '${expectedOutput}', found '${String(layer.output.kind)}'`;
    return [layer.units];
  }

  if (layer.kind === 'conv2d') {
    if (position.last) return 'the last layer must be a dense score layer';
    if (layer.input !== expectedInput) return `input kind must be '${expectedInput}', found '${String(layer.input)}'`;
    const fields = { height: layer.height, width: layer.width, channels: layer.channels, outChannels: layer.outChannels };
    const windowFields = { kernelHeight: layer.kernelHeight, kernelWidth: layer.kernelWidth, strideHeight: layer.strideHeight, strideWidth: layer.strideWidth };
    const problem = checkCounts({ ...fields, ...windowFields }) ?? checkImageShape(layer, shape);
    if (problem !== null) return problem;
    if (layer.padding !== 'same' && layer.padding !== 'valid') return `padding must be 'same' or 'valid', found '${String(layer.padding)}'`;
    const padProblem = checkPadValue(layer.input, layer.padValue);
    if (padProblem !== null) return padProblem;
    if (layer.padding === 'valid' && (layer.kernelHeight > layer.height || layer.kernelWidth > layer.width)) {
      return `kernel ${layer.kernelHeight}x${layer.kernelWidth} is larger than the ${layer.height}x${layer.width} input, which leaves no output with 'valid' padding`;
    }
    if (layer.output.kind !== 'signs') return `output kind must be 'signs', found '${String(layer.output.kind)}'`;

    const outHeight = windowOutputSize(layer.height, layer.kernelHeight, layer.strideHeight, layer.padding);
    const outWidth = windowOutputSize(layer.width, layer.kernelWidth, layer.strideWidth, layer.padding);
    if (layer.pool === null) return [outHeight, outWidth, layer.outChannels];
    return pooledShape(layer.pool, outHeight, outWidth, layer.outChannels, 'pool.');
  }

  if (layer.kind === 'maxPool2d' || layer.kind === 'flatten') {
    if (position.first) return 'the first layer must take the uint8 input (dense or conv2d)';
    if (position.last) return 'the last layer must be a dense score layer';
    const problem = checkCounts({ height: layer.height, width: layer.width, channels: layer.channels }) ?? checkImageShape(layer, shape);
    if (problem !== null) return problem;
    if (layer.kind === 'flatten') return [layer.height * layer.width * layer.channels];
    return pooledShape(layer, layer.height, layer.width, layer.channels, '');
  }

  return `unknown layer kind '${String((layer as { kind: unknown }).kind)}'`;
}

function checkCounts(fields: Record<string, number>): string | null {
  for (const [field, value] of Object.entries(fields)) {
    if (!Number.isInteger(value) || value < 1 || value > MAX_ARRAY_ELEMENTS) return `${field} must be an integer in 1..${MAX_ARRAY_ELEMENTS}, found ${value}`;
  }
  return null;
}

function checkImageShape(layer: { height: number; width: number; channels: number }, shape: number[]): string | null {
  const expected = [layer.height, layer.width, layer.channels];
  if (shape.length === 3 && shape.every((size, axis) => size === expected[axis])) return null;
  return `height, width, channels [${expected.join(', ')}] must equal the shape [${shape.join(', ')}] that the layer before outputs`;
}

function checkPadValue(input: string, padValue: number): string | null {
  if (input === 'signs' && padValue !== 1 && padValue !== 0 && padValue !== -1) return `padValue must be 1, 0 or -1 for signs input, found ${padValue}`;
  if (!Number.isInteger(padValue) || Math.abs(padValue) > 0xffff) return `padValue must be an integer in -65535..65535, found ${padValue}`;
  return null;
}

function pooledShape(pool: PoolWindow, height: number, width: number, channels: number, prefix: string): number[] | string {
  const problem = checkCounts({
    [`${prefix}poolHeight`]: pool.poolHeight,
    [`${prefix}poolWidth`]: pool.poolWidth,
    [`${prefix}strideHeight`]: pool.strideHeight,
    [`${prefix}strideWidth`]: pool.strideWidth,
  });
  if (problem !== null) return problem;
  if (pool.poolHeight > height || pool.poolWidth > width) {
    return `${prefix}poolHeight x ${prefix}poolWidth ${pool.poolHeight}x${pool.poolWidth} is larger than the ${height}x${width} input, which leaves no output`;
  }
  return [windowOutputSize(height, pool.poolHeight, pool.strideHeight, 'valid'), windowOutputSize(width, pool.poolWidth, pool.strideWidth, 'valid'), channels];
}
