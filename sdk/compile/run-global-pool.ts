import { wordsPerRow } from '../backends/backend.js';
import type { PackedGlobalAveragePool2dLayer } from './graph.js';
import { linearCode } from './kbit-operands.js';
import type { WalkActivation } from './run-conv-kbit.js';

/**
 * Runs GlobalAveragePooling2D on float32 NHWC values of `rows` samples with
 * the training layer's arithmetic (float64 sums in row-major pixel order,
 * one float64 division, one rounding to float32), then applies the next Dense
 * layer's input quantizer: packed signs (bit 1 for a mean < 0) or unsigned codes
 * u = linearCode(mean) + 2^(bits-1).
 */
export function runGlobalAveragePool(layer: PackedGlobalAveragePool2dLayer, values: Float32Array, rows: number): WalkActivation {
  const { channels } = layer;
  const pixels = layer.height * layer.width;
  const means = new Float32Array(rows * channels);
  for (let n = 0; n < rows; n++) {
    const sums = new Float64Array(channels);
    for (let p = 0; p < pixels; p++) {
      for (let c = 0; c < channels; c++) sums[c] += values[(n * pixels + p) * channels + c];
    }
    for (let c = 0; c < channels; c++) means[n * channels + c] = sums[c] / pixels;
  }

  const output = layer.output;
  if (output.kind === 'codes') {
    const spec = { bits: output.bits, step: output.step };
    const offset = 2 ** (output.bits - 1);
    return { kind: 'codes', codes: Uint8Array.from(means, (mean) => linearCode(mean, spec) + offset) };
  }

  const words = wordsPerRow(channels);
  const packed = new Uint32Array(rows * words);
  for (let n = 0; n < rows; n++) {
    for (let c = 0; c < channels; c++) if (means[n * channels + c] < 0) packed[n * words + (c >>> 5)] |= 1 << (c & 31);
  }
  return { kind: 'signs', packed };
}
