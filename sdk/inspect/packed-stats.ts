/** Statistics of a packed inference graph (a .qnn file), as `qnn info` prints them. */
import type { CodeOutput, PackedConv2dKbitLayer, PackedConv2dLayer, PackedLayer, PackedModel, PackedNetwork, ScoreOutput, SignOutput } from '../compile/graph.js';
import { convGeometry } from '../layers/im2col.js';
import { type LayerCounts, type ModelStats, layerStats, modelStats } from './layer-stats.js';

/**
 * Counts what the file stores: packed weights at their width, threshold
 * directions as 1-bit values, integer thresholds, k-bit corrections and
 * float epilogues as 32-bit values. A uint8 input layer is counted as 8-bit
 * activations times 1-bit weights, as its bit-plane GEMM computes it.
 */
export function packedStats(network: PackedNetwork | PackedModel, name = 'packed network'): ModelStats {
  let shape = [...network.inputShape];
  const layers = network.layers.map((layer, index) => {
    const counts = layerCounts(layer, index, shape);
    shape = counts.outputShape;
    return layerStats(counts);
  });
  return modelStats(name, layers);
}

function layerCounts(layer: PackedLayer, index: number, inputShape: number[]): LayerCounts {
  const name = `${index}`;
  switch (layer.kind) {
    case 'dense': {
      const inputBits = layer.input === 'uint8' ? 8 : 1;
      const values = [{ count: layer.inputs * layer.units, bits: 1 }, ...outputValues(layer.output)];
      return { name, type: 'dense', inputBits, outputShape: [layer.units], values, macs: [{ count: layer.inputs * layer.units, inputBits, weightBits: 1 }] };
    }
    case 'dense-kbit': {
      let inputBits = layer.activationBits;
      if (layer.input === 'uint8') inputBits = 8;
      if (layer.input === 'signs') inputBits = 1;
      const values = [
        { count: layer.inputs * layer.units, bits: layer.weightBits },
        { count: layer.correction.length, bits: 32 },
        ...outputValues(layer.output),
      ];
      return { name, type: `dense-kbit (w${layer.weightBits}a${layer.activationBits})`, inputBits, outputShape: [layer.units], values, macs: [{ count: layer.inputs * layer.units, inputBits, weightBits: layer.weightBits }] };
    }
    case 'conv2d': {
      const inputBits = layer.input === 'uint8' ? 8 : 1;
      const [convHeight, convWidth] = convOutput(layer);
      const kernelSize = layer.kernelHeight * layer.kernelWidth * layer.channels * layer.outChannels;
      const pool = layer.pool;
      const outputShape = pool === null ? [convHeight, convWidth, layer.outChannels] : [pooled(convHeight, pool.poolHeight, pool.strideHeight), pooled(convWidth, pool.poolWidth, pool.strideWidth), layer.outChannels];
      const values = [{ count: kernelSize, bits: 1 }, ...outputValues(layer.output)];
      return { name, type: pool === null ? 'conv2d' : 'conv2d + max-pool', inputBits, outputShape, values, macs: [{ count: convHeight * convWidth * kernelSize, inputBits, weightBits: 1 }] };
    }
    case 'conv2d-kbit': {
      let inputBits = layer.activationBits;
      if (layer.input === 'uint8') inputBits = 8;
      if (layer.input === 'signs') inputBits = 1;
      const [convHeight, convWidth] = convOutput(layer);
      const kernelSize = layer.kernelHeight * layer.kernelWidth * layer.channels * layer.outChannels;
      let outputShape = [convHeight, convWidth, layer.outChannels];
      for (const pool of [layer.pool, layer.outputPool]) {
        if (pool !== null) outputShape = [pooled(outputShape[0], pool.poolHeight, pool.strideHeight), pooled(outputShape[1], pool.poolWidth, pool.strideWidth), layer.outChannels];
      }
      const values = [
        { count: kernelSize, bits: layer.weightBits },
        { count: layer.correction.length + layer.padTapSums.length, bits: 32 },
        ...outputValues(layer.output.kind === 'floats' ? { kind: 'scores', epilogue: layer.output.epilogue } : layer.output),
      ];
      const type = `conv2d-kbit (w${layer.weightBits}a${inputBits})${layer.pool !== null || layer.outputPool !== null ? ' + max-pool' : ''}`;
      return { name, type, inputBits, outputShape, values, macs: [{ count: convHeight * convWidth * kernelSize, inputBits, weightBits: layer.weightBits }] };
    }
    case 'globalAveragePool2d':
      return { name, type: 'global-average-pool', inputBits: 32, outputShape: [layer.channels], values: [], macs: [] };
    case 'maxPool2d':
      return { name, type: 'max-pool', inputBits: null, outputShape: [pooled(layer.height, layer.poolHeight, layer.strideHeight), pooled(layer.width, layer.poolWidth, layer.strideWidth), layer.channels], values: [], macs: [] };
    case 'flatten':
      return { name, type: 'flatten', inputBits: null, outputShape: [inputShape.reduce((a, b) => a * b, 1)], values: [], macs: [] };
  }
}

/** Thresholds (32-bit) with their directions (1-bit), or the float epilogue of a score layer. */
function outputValues(output: SignOutput | CodeOutput | ScoreOutput): { count: number; bits: number }[] {
  if (output.kind === 'scores') {
    const epilogue = output.epilogue;
    const floats = (epilogue.bias?.length ?? 0) + (epilogue.scale?.length ?? 0) + (epilogue.shift?.length ?? 0);
    return [{ count: floats, bits: 32 }];
  }
  return [
    { count: output.thresholds.length, bits: 32 },
    { count: output.directions.length, bits: 1 },
  ];
}

/** Computes the output size with the training layer's geometry, so the counts agree with what the packed kernel computes. */
function convOutput(layer: PackedConv2dLayer | PackedConv2dKbitLayer): [number, number] {
  const { height, width, channels, kernelHeight, kernelWidth, strideHeight, strideWidth, padding } = layer;
  const { outHeight, outWidth } = convGeometry({ batch: 1, height, width, channels, kernelHeight, kernelWidth, strideHeight, strideWidth, padding });
  return [outHeight, outWidth];
}

function pooled(size: number, window: number, stride: number): number {
  return Math.floor((size - window) / stride) + 1;
}
