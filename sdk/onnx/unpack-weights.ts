/**
 * Conversion between packed sign weights (bit 1 means -1, element i in bit
 * i mod 32 of word i / 32) and the float +-1 tensors of ONNX MatMul and Conv.
 */
import { wordsPerRow } from '../backends/backend.js';
import type { PackedConv2dLayer, PackedDenseKbitLayer, PackedDenseLayer } from '../compile/graph.js';

function bitAt(words: Uint32Array, base: number, index: number): number {
  return (words[base + (index >>> 5)] >>> (index & 31)) & 1;
}

/** Returns a dense layer's weights as a float MatMul operand [inputs, units] of +-1. */
export function denseWeightsToMatrix(layer: Pick<PackedDenseLayer, 'inputs' | 'units' | 'weights'>): Float32Array {
  const { inputs, units } = layer;
  const words = wordsPerRow(inputs);
  const matrix = new Float32Array(inputs * units);

  for (let unit = 0; unit < units; unit++) {
    for (let i = 0; i < inputs; i++) matrix[i * units + unit] = bitAt(layer.weights, unit * words, i) === 1 ? -1 : 1;
  }
  return matrix;
}

/** Packs signs of a MatMul operand [inputs, units] (sign(x) = +1 for x >= 0) into [units, ceil(inputs / 32)] words. */
export function packMatrixSigns(matrix: Float32Array, inputs: number, units: number): Uint32Array {
  const words = wordsPerRow(inputs);
  const packed = new Uint32Array(units * words);

  for (let unit = 0; unit < units; unit++) {
    for (let i = 0; i < inputs; i++) {
      if (matrix[i * units + unit] < 0) packed[unit * words + (i >>> 5)] |= 1 << (i & 31);
    }
  }
  return packed;
}

/**
 * Returns a conv layer's weights as an ONNX Conv kernel [outChannels, channels, kernelHeight, kernelWidth] of +-1.
 * The packed layout depends on the input kind (see PackedConv2dLayer.weights).
 */
export function convWeightsToKernel(layer: PackedConv2dLayer): Float32Array {
  const { outChannels, channels, kernelHeight, kernelWidth } = layer;
  const kernel = new Float32Array(outChannels * channels * kernelHeight * kernelWidth);
  const tapWords = wordsPerRow(channels);
  const filterWords = wordsPerRow(kernelHeight * kernelWidth * channels);

  for (let o = 0; o < outChannels; o++) {
    for (let ky = 0; ky < kernelHeight; ky++) {
      for (let kx = 0; kx < kernelWidth; kx++) {
        for (let c = 0; c < channels; c++) {
          const negative = layer.input === 'uint8'
            ? bitAt(layer.weights, o * filterWords, (ky * kernelWidth + kx) * channels + c)
            : bitAt(layer.weights, ((o * kernelHeight + ky) * kernelWidth + kx) * tapWords, c);
          kernel[((o * channels + c) * kernelHeight + ky) * kernelWidth + kx] = negative === 1 ? -1 : 1;
        }
      }
    }
  }
  return kernel;
}

/** Packs the signs of an ONNX Conv kernel [O, C, KH, KW] in the layout a conv layer with this input kind expects. */
export function packKernelSigns(kernel: Float32Array, shape: { outChannels: number; channels: number; kernelHeight: number; kernelWidth: number }, input: 'uint8' | 'signs'): Uint32Array {
  const { outChannels, channels, kernelHeight, kernelWidth } = shape;
  const tapWords = wordsPerRow(channels);
  const filterWords = wordsPerRow(kernelHeight * kernelWidth * channels);
  const packed = new Uint32Array(input === 'uint8' ? outChannels * filterWords : outChannels * kernelHeight * kernelWidth * tapWords);

  for (let o = 0; o < outChannels; o++) {
    for (let ky = 0; ky < kernelHeight; ky++) {
      for (let kx = 0; kx < kernelWidth; kx++) {
        for (let c = 0; c < channels; c++) {
          if (kernel[((o * channels + c) * kernelHeight + ky) * kernelWidth + kx] >= 0) continue;
          if (input === 'uint8') {
            const bit = (ky * kernelWidth + kx) * channels + c;
            packed[o * filterWords + (bit >>> 5)] |= 1 << (bit & 31);
          } else {
            packed[((o * kernelHeight + ky) * kernelWidth + kx) * tapWords + (c >>> 5)] |= 1 << (c & 31);
          }
        }
      }
    }
  }
  return packed;
}

/**
 * Returns a k-bit dense layer's odd weights w' = sum_j 2^j s_j as a float MatMul
 * operand [inputs, units], reading sign plane j of unit n at words
 * (n * weightBits + j) * ceil(inputs / 32).
 */
export function kbitWeightsToMatrix(layer: Pick<PackedDenseKbitLayer, 'inputs' | 'units' | 'weights' | 'weightBits'>): Float32Array {
  const { inputs, units, weightBits } = layer;
  const words = wordsPerRow(inputs);
  const matrix = new Float32Array(inputs * units);

  for (let unit = 0; unit < units; unit++) {
    for (let plane = 0; plane < weightBits; plane++) {
      const base = (unit * weightBits + plane) * words;
      for (let i = 0; i < inputs; i++) matrix[i * units + unit] += (bitAt(layer.weights, base, i) === 1 ? -1 : 1) * 2 ** plane;
    }
  }
  return matrix;
}
