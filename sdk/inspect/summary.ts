/** Statistics of a Sequential training graph, as model.summary() prints them. */
import { Dense } from '../layers/dense.js';
import type { Layer } from '../layers/layer.js';
import { QuantConv2D } from '../layers/quant-conv2d.js';
import type { Sequential } from '../layers/sequential.js';
import { ShapeError } from '../errors.js';
import { quantizerStorageBits } from '../quantizers/quantizer-spec.js';
import { type LayerCounts, type ModelStats, layerStats, modelStats } from './layer-stats.js';
import { formatStats } from './format-stats.js';

/**
 * Counts each layer's stored values by bit width (a kernel at its
 * quantizer's width, everything else, batch-norm running statistics
 * included, as float32), its multiply-accumulates per sample by operand
 * width, and the 45 nm energy estimate.
 */
export function sequentialStats(model: Sequential, name = 'sequential'): ModelStats {
  if (!model.isBuilt) throw new ShapeError('summary: the model is not built; call build(inputShape, seed) first');
  return modelStats(name, model.layers.map(layerCounts).map(layerStats));
}

/** Formats sequentialStats as a larq-style text table. */
export function summarizeSequential(model: Sequential, name?: string): string {
  return formatStats(sequentialStats(model, name));
}

function layerCounts(layer: Layer): LayerCounts {
  const outputShape = layer.outputShape(layer.inputShape);
  const counts: LayerCounts = { name: layer.name, type: layer.constructor.name, inputBits: null, outputShape, values: [], macs: [] };

  if (layer instanceof Dense || layer instanceof QuantConv2D) {
    const weightBits = quantizerStorageBits(layer.kernelQuantizer);
    const inputBits = quantizerStorageBits(layer.inputQuantizer);
    // A dense output is one position; a convolution repeats the kernel at every output position.
    const positions = layer instanceof QuantConv2D ? outputShape[0] * outputShape[1] : 1;
    counts.inputBits = inputBits;
    counts.values.push({ count: layer.kernel.size, bits: weightBits });
    if (layer.bias !== null) counts.values.push({ count: layer.bias.size, bits: 32 });
    counts.macs.push({ count: positions * layer.kernel.size, inputBits, weightBits });
    return counts;
  }

  // Limitation: layers other than Dense and QuantConv2D are counted as float32 values with no MACs.
  for (const parameter of layer.parameters()) counts.values.push({ count: parameter.value.size, bits: 32 });
  for (const state of layer.trainingState()) counts.values.push({ count: state.length, bits: 32 });
  return counts;
}
